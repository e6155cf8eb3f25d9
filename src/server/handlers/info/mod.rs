//! QUERY_INFO (MS-SMB2 3.3.5.20) and SET_INFO (3.3.5.21).
//!
//! Routing by InfoType: file classes ([`query_file`], [`set_file`]; MS-FSA 2.1.5.12 and
//! 2.1.5.15), file system classes ([`query_fs`]; MS-FSA 2.1.5.13), security descriptors
//! ([`security`]; MS-SMB2 3.3.5.20.3 and 3.3.5.21.3). Quota information is not supported.
//!
//! Output sizing (MS-SMB2 3.3.5.20.1/2): an OutputBufferLength smaller than the fixed part of
//! the class (its C `sizeof`, as Windows computes it) is STATUS_INFO_LENGTH_MISMATCH; when only
//! the variable part does not fit, the answer is cut and STATUS_BUFFER_OVERFLOW returned
//! (lists keep whole entries). Security descriptors are never cut: STATUS_BUFFER_TOO_SMALL
//! with the required size as error data (3.3.5.20.3).
pub mod ea;
pub mod query_file;
pub mod query_fs;
pub mod security;
pub mod set_file;
pub mod set_stream;
pub mod times;

use super::{bad_request, body_of, files};
use crate::server::dispatch::{self, Ctx, Reply};
use crate::server::open::{FileOpen, Open};
use crate::wire::error::{encode_error_body, ErrorContext, ErrorResponse};
use crate::wire::query_info::{InfoType, QueryInfoRequest, QueryInfoResponse};
use crate::wire::set_info::{SetInfoRequest, SetInfoResponse};
use crate::wire::{Bytes, BytesMut, NtStatus};
use std::sync::Arc;

/// FILE_READ_DATA / FILE_LIST_DIRECTORY.
pub const FILE_READ_DATA: u32 = 0x0000_0001;
/// FILE_WRITE_DATA / FILE_ADD_FILE.
pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
/// FILE_APPEND_DATA.
pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
/// FILE_READ_EA.
pub const FILE_READ_EA: u32 = 0x0000_0008;
/// FILE_WRITE_EA.
pub const FILE_WRITE_EA: u32 = 0x0000_0010;
/// FILE_READ_ATTRIBUTES.
pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
/// FILE_WRITE_ATTRIBUTES.
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
/// DELETE.
pub const DELETE: u32 = 0x0001_0000;
/// READ_CONTROL.
pub const READ_CONTROL: u32 = 0x0002_0000;
/// WRITE_DAC.
pub const WRITE_DAC: u32 = 0x0004_0000;
/// WRITE_OWNER.
pub const WRITE_OWNER: u32 = 0x0008_0000;
/// ACCESS_SYSTEM_SECURITY.
pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;

/// How an answer longer than OutputBufferLength is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Cut anywhere after the fixed part (a trailing name).
    Bytes,
    /// Keep only whole entries of a NextEntryOffset chain: (start, end) of each entry, in
    /// order; the last kept entry gets NextEntryOffset 0.
    Entries(Vec<(usize, usize)>),
}

/// A class encoded in full, before it is fitted to OutputBufferLength.
#[derive(Debug)]
pub struct Answer {
    /// The whole encoding.
    pub data: BytesMut,
    /// The fixed part: a smaller OutputBufferLength is INFO_LENGTH_MISMATCH.
    pub fixed: usize,
    /// How to cut the variable part.
    pub cut: Cut,
}

impl Answer {
    /// A fixed-size class.
    pub fn fixed(data: BytesMut) -> Answer {
        let fixed = data.len();
        Answer {
            data,
            fixed,
            cut: Cut::Bytes,
        }
    }
    /// A class with a variable part that may be cut anywhere.
    pub fn variable(data: BytesMut, fixed: usize) -> Answer {
        Answer {
            data,
            fixed,
            cut: Cut::Bytes,
        }
    }
}

/// Fits `a` into `max` bytes (MS-SMB2 3.3.5.20.1): (status, bytes).
pub fn fit(a: Answer, max: usize) -> Result<(NtStatus, BytesMut), NtStatus> {
    if max < a.fixed {
        return Err(NtStatus::INFO_LENGTH_MISMATCH);
    }
    let mut data = a.data;
    if data.len() <= max {
        return Ok((NtStatus::SUCCESS, data));
    }
    match a.cut {
        Cut::Bytes => data.truncate(max),
        Cut::Entries(spans) => match spans.iter().rev().find(|(_, end)| *end <= max) {
            Some(&(start, end)) => {
                data.truncate(end);
                if let Some(slot) = data.get_mut(start..start + 4) {
                    slot.copy_from_slice(&[0; 4]);
                }
            }
            None => data.truncate(0),
        },
    }
    Ok((NtStatus::BUFFER_OVERFLOW, data))
}

/// Encodes `items` as a NextEntryOffset chain (entries `align`-aligned, the last unpadded);
/// `put` writes one entry starting with a 4-byte NextEntryOffset placeholder.
pub fn chain<T>(
    items: &[T],
    align: usize,
    fixed: usize,
    mut put: impl FnMut(&T, &mut BytesMut) -> Result<(), NtStatus>,
) -> Result<Answer, NtStatus> {
    let mut data = BytesMut::new();
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(items.len());
    for item in items {
        if let Some(&(prev, _)) = spans.last() {
            crate::wire::pad_to(&mut data, 0, align);
            let next = u32::try_from(data.len() - prev).map_err(|_| NtStatus::INTERNAL_ERROR)?;
            if let Some(slot) = data.get_mut(prev..prev + 4) {
                slot.copy_from_slice(&next.to_le_bytes());
            }
        }
        let start = data.len();
        put(item, &mut data)?;
        spans.push((start, data.len()));
    }
    Ok(Answer {
        data,
        fixed,
        cut: Cut::Entries(spans),
    })
}

/// The error reply of STATUS_INFO_LENGTH_MISMATCH (3.1.1 carries one empty error context).
fn length_mismatch(ctx: &Ctx) -> Reply {
    let mut body = BytesMut::new();
    if ctx.dialect() == 0x0311 {
        ErrorResponse::with_contexts(&[ErrorContext {
            error_id: 0,
            error_context_data: Bytes::new(),
        }])
        .encode(&mut body);
    } else {
        encode_error_body(&mut body, &[]);
    }
    Reply::with_status(NtStatus::INFO_LENGTH_MISMATCH, body)
}

/// The error reply of STATUS_BUFFER_TOO_SMALL carrying the size needed (MS-SMB2 2.2.2.2).
pub fn buffer_too_small(ctx: &Ctx, needed: usize) -> Reply {
    let needed = u32::try_from(needed).unwrap_or(u32::MAX).to_le_bytes();
    let mut body = BytesMut::new();
    if ctx.dialect() == 0x0311 {
        ErrorResponse::with_contexts(&[ErrorContext {
            error_id: 0,
            error_context_data: Bytes::copy_from_slice(&needed),
        }])
        .encode(&mut body);
    } else {
        encode_error_body(&mut body, &needed);
    }
    Reply::with_status(NtStatus::BUFFER_TOO_SMALL, body)
}

/// The file part of an open, or INVALID_PARAMETER for pipes.
pub fn file_of(open: &Open) -> Result<&FileOpen, NtStatus> {
    open.file().ok_or(NtStatus::NOT_SUPPORTED)
}

/// Fails with ACCESS_DENIED unless the open was granted one of `bits`.
pub fn need(open: &Open, bits: u32) -> Result<(), NtStatus> {
    if open.granted_access & bits == 0 {
        Err(NtStatus::ACCESS_DENIED)
    } else {
        Ok(())
    }
}

/// The backend of the open's share.
pub fn vfs_of(open: &Open) -> Result<Arc<dyn crate::vfs::Share>, NtStatus> {
    open.tree
        .share
        .vfs
        .clone()
        .ok_or(NtStatus::INVALID_DEVICE_REQUEST)
}

/// A backend stat through the blocking pool.
pub async fn stat(f: &FileOpen) -> Result<crate::vfs::FileStat, NtStatus> {
    let h = f.handle.clone();
    let mut st = files::blocking(move || h.stat())
        .await?
        .map_err(|e| e.status())?;
    times::adjust(f, &mut st);
    Ok(st)
}

/// QUERY_INFO.
pub async fn query(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = QueryInfoRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    let limit = ctx.conn.server.config.limits.max_message_size;
    if req.output_buffer_length > limit || req.input_buffer.len() as u64 > u64::from(limit) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let max = req.output_buffer_length as usize;
    let answer = match req.info_type {
        InfoType::FILE => query_file::query(&ctx, &open, &req).await?,
        InfoType::FILESYSTEM => query_fs::query(&ctx, &open, &req).await?,
        InfoType::SECURITY => {
            let sd = security::query(&ctx, &open, req.additional_information).await?;
            if sd.len() > max {
                return Ok(buffer_too_small(&ctx, sd.len()));
            }
            Answer::fixed(sd)
        }
        InfoType::QUOTA => return Err(NtStatus::NOT_SUPPORTED),
        _ => return Err(NtStatus::INVALID_PARAMETER),
    };
    let (status, data) = match fit(answer, max) {
        Ok(r) => r,
        Err(s) if s == NtStatus::INFO_LENGTH_MISMATCH => return Ok(length_mismatch(&ctx)),
        Err(s) => return Err(s),
    };
    let body = body_of(|b| {
        QueryInfoResponse {
            output: data.freeze(),
        }
        .encode(b)
    });
    Ok(Reply::with_status(status, body))
}

/// SET_INFO.
pub async fn set(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = SetInfoRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    let tree = dispatch::tree(&ctx)?;
    let limit = ctx.conn.server.config.limits.max_message_size;
    if req.buffer.len() as u64 > u64::from(limit) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if files::is_pipe(&open) {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    match req.info_type {
        InfoType::FILE => {
            set_file::set(&ctx, &open, &tree, &req).await?;
            // A persistent open's record holds its name and delete-on-close (a restart must
            // reopen the renamed file, and delete it on the reclaimed handle's close).
            use crate::wire::info::FileInformationClass as C;
            if matches!(
                C(req.file_info_class),
                C::FILE_RENAME_INFORMATION
                    | C::FILE_RENAME_INFORMATION_EX
                    | C::FILE_DISPOSITION_INFORMATION
                    | C::FILE_DISPOSITION_INFORMATION_EX
            ) {
                crate::server::persistent::save(&ctx.conn.server, &open).await;
            }
        }
        InfoType::SECURITY => {
            security::set(&ctx, &open, req.additional_information, &req.buffer).await?
        }
        InfoType::FILESYSTEM | InfoType::QUOTA => return Err(NtStatus::NOT_SUPPORTED),
        _ => return Err(NtStatus::INVALID_PARAMETER),
    }
    Ok(Reply::ok(body_of(|b| SetInfoResponse.encode(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_rules() {
        let mut d = BytesMut::new();
        d.extend_from_slice(&[1u8; 30]);
        let a = || Answer::variable(d.clone(), 8);
        assert_eq!(fit(a(), 7).unwrap_err(), NtStatus::INFO_LENGTH_MISMATCH);
        let (s, b) = fit(a(), 10).unwrap();
        assert_eq!((s, b.len()), (NtStatus::BUFFER_OVERFLOW, 10));
        let (s, b) = fit(a(), 30).unwrap();
        assert_eq!((s, b.len()), (NtStatus::SUCCESS, 30));
        let e = chain(&[10usize, 10], 8, 4, |n, o| {
            o.extend_from_slice(&[0xFF; 4]);
            o.extend_from_slice(&vec![7u8; *n - 4]);
            Ok(())
        })
        .unwrap();
        assert_eq!(e.data.len(), 26);
        assert_eq!(&e.data[0..4], &16u32.to_le_bytes());
        let (s, b) = fit(e, 20).unwrap();
        assert_eq!((s, b.len()), (NtStatus::BUFFER_OVERFLOW, 10));
        assert_eq!(&b[0..4], &[0; 4]);
        assert_eq!(
            fit(Answer::fixed(d.clone()), 29).unwrap_err(),
            NtStatus::INFO_LENGTH_MISMATCH
        );
    }
}
