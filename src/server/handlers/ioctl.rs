//! IOCTL (MS-SMB2 3.3.5.15): VALIDATE_NEGOTIATE_INFO, named-pipe transceive, and the FSCTLs
//! on files (routed to [`super::fsctl`]).
use super::{bad_request, body_of, files, fsctl, pipe};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::fsctl::validate_negotiate::{
    ValidateNegotiateInfoRequest, ValidateNegotiateInfoResponse,
};
use crate::wire::fsctl::*;
use crate::wire::ioctl::{IoctlRequest, IoctlResponse, SMB2_0_IOCTL_IS_FSCTL};
use crate::wire::negotiate::Dialect;
use crate::wire::{Bytes, FileId, NtStatus};

/// Handles an IOCTL.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = IoctlRequest::decode(&ctx.msg).map_err(bad_request)?;
    if req.flags & SMB2_0_IOCTL_IS_FSCTL == 0 {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let limit = ctx.conn.server.config.limits.max_message_size;
    if req.max_output_response > limit
        || req.max_input_response > limit
        || req.input.len() as u32 > limit
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    match req.ctl_code {
        FSCTL_VALIDATE_NEGOTIATE_INFO => validate_negotiate(&ctx, &req),
        FSCTL_PIPE_TRANSCEIVE => {
            let open = files::find_open(&ctx, req.file_id)?;
            pipe::transceive(&open, &req)
        }
        FSCTL_PIPE_WAIT => Err(NtStatus::NOT_SUPPORTED),
        FSCTL_QUERY_NETWORK_INTERFACE_INFO => fsctl::network_interfaces(&ctx, &req).await,
        _ => {
            let open = files::find_open(&ctx, req.file_id)?;
            if files::is_pipe(&open) {
                return Err(NtStatus::NOT_SUPPORTED);
            }
            fsctl::handle(&ctx, open, &req).await
        }
    }
}

/// An IOCTL response carrying `output`.
pub fn ioctl_reply(status: NtStatus, req: &IoctlRequest, file_id: FileId, output: Bytes) -> Reply {
    let body = body_of(|b| {
        IoctlResponse {
            ctl_code: req.ctl_code,
            file_id,
            input: Bytes::new(),
            output,
            flags: 0,
        }
        .encode(b)
    });
    Reply::with_status(status, body)
}

/// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12): every mismatch ends the connection
/// (returned as [`DISCONNECT`]).
fn validate_negotiate(ctx: &Ctx, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let n = ctx
        .conn
        .negotiated
        .lock()
        .clone()
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    let disconnect = Err(DISCONNECT);
    if n.dialect == 0x0311 || (req.max_output_response as usize) < 24 {
        return disconnect;
    }
    let Ok(v) = ValidateNegotiateInfoRequest::decode(&req.input) else {
        return disconnect;
    };
    let offered: Vec<u16> = v.dialects.iter().map(|d| d.0).collect();
    let cfg = &ctx.conn.server.config;
    let best = [0x0311u16, 0x0302, 0x0300, 0x0210, 0x0202]
        .into_iter()
        .filter(|d| (cfg.min_dialect..=cfg.max_dialect).contains(d))
        .find(|d| offered.contains(d));
    if offered != n.client_dialects
        || best != Some(n.dialect)
        || v.guid != n.client_guid
        || v.security_mode != n.client_security_mode
        || v.capabilities != n.client_capabilities
    {
        return disconnect;
    }
    let mut out = Vec::with_capacity(24);
    ValidateNegotiateInfoResponse {
        capabilities: n.server_capabilities,
        guid: ctx.conn.server.guid,
        security_mode: n.server_security_mode,
        dialect: Dialect(n.dialect),
    }
    .encode(&mut out);
    Ok(ioctl_reply(
        NtStatus::SUCCESS,
        req,
        req.file_id,
        Bytes::from(out),
    ))
}

/// A status no handler returns to clients: the dispatcher turns it into a disconnect
/// (MS-SMB2 3.3.5.15.12 "terminate the transport connection").
pub const DISCONNECT: NtStatus = NtStatus(0xDEAD_C0DE);
