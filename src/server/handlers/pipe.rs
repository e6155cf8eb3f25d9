//! Named pipes on IPC$ (MS-SMB2 3.3.5.9 on a pipe share): `srvsvc` only, carrying DCE/RPC for
//! share enumeration ([`crate::server::rpc`]). READ, WRITE and FSCTL_PIPE_TRANSCEIVE move PDUs;
//! a reply longer than the client's buffer comes back with STATUS_BUFFER_OVERFLOW and the
//! rest on the next READ (message mode).
use super::body_of;
use crate::server::dispatch::{Ctx, Reply};
use crate::server::open::{Open, OpenKind};
use crate::server::rpc::{ShareInfo, SrvsvcPipe};
use crate::server::session::TreeConnect;
use crate::server::share::ShareKind;
use crate::wire::create::{CreateAction, CreateRequest, CreateResponse, OplockLevel};
use crate::wire::ioctl::IoctlRequest;
use crate::wire::read::{ReadRequest, ReadResponse};
use crate::wire::write::{WriteRequest, WriteResponse};
use crate::wire::{Bytes, NtStatus};
use parking_lot::Mutex;
use std::sync::Arc;

/// FILE_ATTRIBUTE_NORMAL, what a pipe reports.
const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;

/// The pipe of an open, if it is one.
pub fn pipe_of(open: &Open) -> Option<&Mutex<SrvsvcPipe>> {
    match &open.kind {
        OpenKind::Pipe(p) => Some(p),
        OpenKind::File(_) => None,
    }
}

fn share_list(ctx: &Ctx) -> Vec<ShareInfo> {
    ctx.conn
        .server
        .shares
        .iter()
        .map(|s| ShareInfo {
            name: s.name.clone(),
            share_type: if s.kind == ShareKind::Ipc {
                0x8000_0003
            } else {
                0
            },
            comment: s.config.comment.clone(),
            path: if s.kind == ShareKind::Ipc {
                String::new()
            } else {
                s.config.path.display().to_string()
            },
        })
        .collect()
}

/// CREATE on IPC$: opens a pipe by name.
pub fn create(ctx: &Ctx, tree: Arc<TreeConnect>, req: &CreateRequest) -> Result<Reply, NtStatus> {
    let name = req.name.as_deref().ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    let name = name.trim_start_matches('\\').to_ascii_lowercase();
    let name = name.strip_prefix("pipe\\").unwrap_or(&name);
    if name != "srvsvc" {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    let server = &ctx.conn.server;
    let session = ctx.session()?;
    if !server.opens.reserve_slot(
        session.id,
        server.config.limits.max_opens_per_session as usize,
    ) {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    let pipe = SrvsvcPipe::new(server.config.server_name.clone(), share_list(ctx));
    let file_id = server.opens.new_file_id();
    server.opens.insert(Arc::new(Open {
        file_id,
        session_id: session.id,
        tree,
        granted_access: req.desired_access,
        name: name.to_string(),
        kind: OpenKind::Pipe(Mutex::new(pipe)),
    }));
    let body = body_of(|b| {
        CreateResponse {
            oplock_level: OplockLevel(0),
            flags: 0,
            create_action: CreateAction(1),
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 0,
            change_time: 0,
            allocation_size: 4096,
            end_of_file: 0,
            file_attributes: FILE_ATTRIBUTE_NORMAL,
            file_id,
            create_contexts: vec![],
        }
        .encode(b)
    });
    let mut r = Reply::ok(body);
    r.file_id = Some(file_id);
    Ok(r)
}

/// READ from a pipe.
pub fn read(open: &Open, req: &ReadRequest) -> Result<Reply, NtStatus> {
    let pipe = pipe_of(open).ok_or(NtStatus::INVALID_HANDLE)?;
    let (data, more) = pipe.lock().read(req.length as usize);
    if data.is_empty() {
        return Err(NtStatus::PIPE_EMPTY);
    }
    let status = if more {
        NtStatus::BUFFER_OVERFLOW
    } else {
        NtStatus::SUCCESS
    };
    let body = body_of(|b| {
        ReadResponse {
            data_remaining: 0,
            flags: 0,
            data: Bytes::from(data),
        }
        .encode(b)
    });
    Ok(Reply::with_status(status, body))
}

/// WRITE to a pipe.
pub fn write(open: &Open, req: &WriteRequest) -> Result<Reply, NtStatus> {
    let pipe = pipe_of(open).ok_or(NtStatus::INVALID_HANDLE)?;
    let mut p = pipe.lock();
    if p.pending_output() > 0 {
        return Err(NtStatus::PIPE_BUSY);
    }
    match p.write(&req.data) {
        Ok(()) | Err(crate::server::rpc::PipeError::Protocol(_)) => {}
        Err(crate::server::rpc::PipeError::Overflow) => {
            return Err(NtStatus::INSUFFICIENT_RESOURCES)
        }
    }
    let body = body_of(|b| {
        WriteResponse {
            count: req.data.len() as u32,
            remaining: 0,
            write_channel_info_offset: 0,
            write_channel_info_length: 0,
        }
        .encode(b)
    });
    Ok(Reply::ok(body))
}

/// FSCTL_PIPE_TRANSCEIVE: one request PDU in, its reply out.
pub fn transceive(open: &Open, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let pipe = pipe_of(open).ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    let mut p = pipe.lock();
    if p.pending_output() > 0 {
        return Err(NtStatus::PIPE_BUSY);
    }
    let (out, more) = p
        .transceive(&req.input, req.max_output_response as usize)
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    let status = if more {
        NtStatus::BUFFER_OVERFLOW
    } else {
        NtStatus::SUCCESS
    };
    Ok(super::ioctl::ioctl_reply(
        status,
        req,
        open.file_id,
        Bytes::from(out),
    ))
}
