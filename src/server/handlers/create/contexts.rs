//! Create contexts of a CREATE on a disk share (MS-SMB2 3.3.5.9.1 – 3.3.5.9.14).
//!
//! Handled: ExtA (EAs stored as user extended attributes, 3.3.5.9.2), SecD (the security
//! descriptor stored opaque, 3.3.5.9.3), AlSi (allocation size, 3.3.5.9.4), MxAc (maximal
//! access, 3.3.5.9.5), QFid (on-disk id: the inode and the device, 3.3.5.9.9), TWrp (snapshots
//! are not supported: STATUS_OBJECT_NAME_NOT_FOUND as for an unknown timestamp, 3.3.5.9.6).
//! Lease requests (RqLs v1 and v2, 3.3.5.9.8/11) are decoded here and granted with the
//! oplocks ([`super::oplocks`], [`crate::server::lease`]), which add the response context.
//! Durable handle requests (DHnQ/DH2Q, 3.3.5.9.6/3.3.5.9.10) and reconnects (DHnC/DH2C,
//! 3.3.5.9.7/3.3.5.9.12) are decoded and their combinations checked here (DH2Q or DH2C with
//! any other durable context is STATUS_INVALID_PARAMETER; DHnQ beside DHnC is ignored); the
//! grant and the reconnect are [`crate::server::durable`] and [`super::reconnect`]. The
//! AppInstanceId (3.3.5.9.13) is recorded for durable v2 opens. Unknown contexts are
//! ignored; malformed known ones are STATUS_INVALID_PARAMETER.
use crate::wire::create_contexts::{
    names, CreateAllocationSize, CreateContext, CreateContextData, CreateDurableHandleReconnect,
    CreateDurableHandleReconnectV2, CreateDurableHandleRequest, CreateDurableHandleRequestV2,
    CreateEaBuffer, CreateQueryMaximalAccessRequest, CreateQueryMaximalAccessResponse,
    CreateQueryOnDiskIdResponse, CreateTimewarpToken, FileFullEaInformation, Lease,
};
use crate::wire::create_contexts::{
    CreateAppInstanceId, CreateDurableHandleResponse, CreateDurableHandleResponseV2,
};
use crate::wire::{Bytes, FileId, Guid, NtStatus};

/// A durable handle request of a CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableRequest {
    /// DHnQ.
    V1,
    /// DH2Q: Timeout (ms), Flags, CreateGuid.
    V2(CreateDurableHandleRequestV2),
}

/// A durable reconnect of a CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// DHnC: the FileId of the open.
    V1(FileId),
    /// DH2C: the FileId and the CreateGuid of the open.
    V2 {
        /// Data.FileId.
        file_id: FileId,
        /// CreateGuid.
        create_guid: Guid,
    },
}

impl Reconnect {
    /// The FileId to reconnect.
    pub fn file_id(&self) -> FileId {
        match *self {
            Reconnect::V1(f) | Reconnect::V2 { file_id: f, .. } => f,
        }
    }
}

/// The response context of a granted durable handle request (MS-SMB2 2.2.14.2.3 / .12):
/// a v2 one carries the timeout in milliseconds and never the persistent flag (no share is
/// continuously available).
pub fn durable_response(req: &DurableRequest, timeout_ms: u32) -> CreateContext {
    match req {
        DurableRequest::V1 => CreateDurableHandleResponse.to_context(),
        DurableRequest::V2(_) => CreateDurableHandleResponseV2 {
            timeout: timeout_ms,
            // SMB2_DHANDLE_FLAG_PERSISTENT only on continuously available shares.
            flags: 0,
        }
        .to_context(),
    }
}

/// The request's create contexts, decoded.
#[derive(Debug, Default, Clone)]
pub struct RequestContexts {
    /// ExtA entries to set on a created or overwritten file.
    pub eas: Vec<FileFullEaInformation>,
    /// SecD: the security descriptor of a new file.
    pub security_descriptor: Option<Bytes>,
    /// AlSi.
    pub allocation_size: Option<u64>,
    /// MxAc was asked for.
    pub query_maximal_access: bool,
    /// QFid was asked for.
    pub query_on_disk_id: bool,
    /// TWrp: a snapshot timestamp.
    pub timewarp: Option<u64>,
    /// DHnQ or DH2Q: a durable handle request.
    pub durable: Option<DurableRequest>,
    /// DHnC or DH2C: a durable reconnect.
    pub reconnect: Option<Reconnect>,
    /// SMB2_CREATE_APP_INSTANCE_ID.
    pub app_instance_id: Option<Guid>,
    /// RqLs: a lease request (v1 or v2).
    pub lease: Option<Lease>,
}

fn bad<T>(_: T) -> NtStatus {
    NtStatus::INVALID_PARAMETER
}

/// Decodes and validates the contexts (MS-SMB2 3.3.5.9: a malformed one, or the same one
/// twice, is STATUS_INVALID_PARAMETER).
pub fn parse(list: &[CreateContext]) -> Result<RequestContexts, NtStatus> {
    let mut out = RequestContexts::default();
    let mut seen: Vec<&[u8]> = Vec::new();
    let (mut dh1, mut dh2) = (false, false);
    let (mut dc1, mut dc2) = (false, false);
    for c in list {
        let name = c.name.as_ref();
        // Windows refuses context names shorter than four bytes (smb2.create.blob).
        if name.len() < 4 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let known = [
            names::EA_BUFFER,
            names::SD_BUFFER,
            names::ALLOCATION_SIZE,
            names::QUERY_MAXIMAL_ACCESS,
            names::QUERY_ON_DISK_ID,
            names::TIMEWARP_TOKEN,
            names::DURABLE_HANDLE_REQUEST,
            names::DURABLE_HANDLE_REQUEST_V2,
            names::DURABLE_HANDLE_RECONNECT,
            names::DURABLE_HANDLE_RECONNECT_V2,
            names::REQUEST_LEASE,
            names::APP_INSTANCE_ID,
        ];
        if !known.contains(&name) {
            continue;
        }
        if seen.contains(&name) {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        seen.push(name);
        match name {
            n if n == names::EA_BUFFER => {
                let eas = CreateEaBuffer::decode(&c.data).map_err(bad)?.entries;
                for e in &eas {
                    if e.ea_name.is_empty() || std::str::from_utf8(&e.ea_name).is_err() {
                        return Err(NtStatus::INVALID_PARAMETER);
                    }
                }
                out.eas = eas;
            }
            n if n == names::SD_BUFFER => {
                // A self-relative SECURITY_DESCRIPTOR is at least 20 bytes, Revision 1.
                if c.data.len() < 20 || c.data[0] != 1 {
                    return Err(NtStatus::INVALID_PARAMETER);
                }
                out.security_descriptor = Some(c.data.clone());
            }
            n if n == names::ALLOCATION_SIZE => {
                out.allocation_size = Some(
                    CreateAllocationSize::decode(&c.data)
                        .map_err(bad)?
                        .allocation_size,
                );
            }
            n if n == names::QUERY_MAXIMAL_ACCESS => {
                CreateQueryMaximalAccessRequest::decode(&c.data).map_err(bad)?;
                out.query_maximal_access = true;
            }
            n if n == names::QUERY_ON_DISK_ID => out.query_on_disk_id = true,
            n if n == names::TIMEWARP_TOKEN => {
                out.timewarp = Some(CreateTimewarpToken::decode(&c.data).map_err(bad)?.timestamp);
            }
            n if n == names::DURABLE_HANDLE_REQUEST => {
                CreateDurableHandleRequest::decode(&c.data).map_err(bad)?;
                dh1 = true;
                out.durable = Some(DurableRequest::V1);
            }
            n if n == names::DURABLE_HANDLE_REQUEST_V2 => {
                let r = CreateDurableHandleRequestV2::decode(&c.data).map_err(bad)?;
                dh2 = true;
                out.durable = Some(DurableRequest::V2(r));
            }
            n if n == names::DURABLE_HANDLE_RECONNECT => {
                let r = CreateDurableHandleReconnect::decode(&c.data).map_err(bad)?;
                dc1 = true;
                out.reconnect = Some(Reconnect::V1(r.file_id));
            }
            n if n == names::DURABLE_HANDLE_RECONNECT_V2 => {
                let r = CreateDurableHandleReconnectV2::decode(&c.data).map_err(bad)?;
                dc2 = true;
                out.reconnect = Some(Reconnect::V2 {
                    file_id: r.file_id,
                    create_guid: r.create_guid,
                });
            }
            n if n == names::APP_INSTANCE_ID => {
                let r = CreateAppInstanceId::decode(&c.data).map_err(bad)?;
                out.app_instance_id = Some(r.app_instance_id);
            }
            _ => {
                out.lease = Some(Lease::decode(&c.data).map_err(bad)?);
            }
        }
    }
    // MS-SMB2 3.3.5.9.10 / 3.3.5.9.12: DH2Q or DH2C together with any other durable
    // context is invalid; DHnQ beside DHnC is ignored (3.3.5.9.7).
    if dh2 && (dh1 || dc1 || dc2) || dc2 && (dh1 || dc1) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if dc1 && dh1 {
        out.durable = None;
    }
    Ok(out)
}

/// The response contexts: MxAc and QFid when asked for.
pub fn response(
    req: &RequestContexts,
    maximal_access: u32,
    file_id: u64,
    volume_id: u64,
) -> Vec<CreateContext> {
    let mut v = Vec::new();
    if req.query_maximal_access {
        v.push(
            CreateQueryMaximalAccessResponse {
                query_status: NtStatus::SUCCESS,
                maximal_access,
            }
            .to_context(),
        );
    }
    if req.query_on_disk_id {
        v.push(
            CreateQueryOnDiskIdResponse {
                disk_file_id: file_id,
                volume_id,
            }
            .to_context(),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(name: &'static [u8], data: &'static [u8]) -> CreateContext {
        CreateContext::new(name, Bytes::from_static(data))
    }

    #[test]
    fn parses_and_rejects() {
        let r = parse(&[
            ctx(names::QUERY_MAXIMAL_ACCESS, b""),
            ctx(names::QUERY_ON_DISK_ID, b""),
            ctx(b"ZZZZ", b"whatever"),
        ])
        .unwrap();
        assert!(r.query_maximal_access && r.query_on_disk_id);
        assert_eq!(
            parse(&[ctx(names::ALLOCATION_SIZE, b"\x01")]).unwrap_err(),
            NtStatus::INVALID_PARAMETER
        );
        assert_eq!(
            parse(&[
                ctx(names::QUERY_ON_DISK_ID, b""),
                ctx(names::QUERY_ON_DISK_ID, b"")
            ])
            .unwrap_err(),
            NtStatus::INVALID_PARAMETER
        );
        assert_eq!(
            parse(&[ctx(names::SD_BUFFER, b"\x01\x00")]).unwrap_err(),
            NtStatus::INVALID_PARAMETER
        );
        let r = parse(&[ctx(names::ALLOCATION_SIZE, &[0, 16, 0, 0, 0, 0, 0, 0])]).unwrap();
        assert_eq!(r.allocation_size, Some(4096));
    }

    #[test]
    fn response_contexts() {
        let r = RequestContexts {
            query_maximal_access: true,
            query_on_disk_id: true,
            ..Default::default()
        };
        let v = response(&r, 0x1f01ff, 7, 9);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].data.len(), 8);
        assert_eq!(v[1].data.len(), 32);
    }

    #[test]
    fn durable_context_combinations() {
        let dhnq = ctx(names::DURABLE_HANDLE_REQUEST, &[0; 16]);
        let dh2q = ctx(names::DURABLE_HANDLE_REQUEST_V2, &[0; 32]);
        let dhnc = ctx(names::DURABLE_HANDLE_RECONNECT, &[0; 16]);
        let dh2c = ctx(names::DURABLE_HANDLE_RECONNECT_V2, &[0; 36]);
        let invalid = [
            vec![dh2q.clone(), dhnq.clone()],
            vec![dh2q.clone(), dhnc.clone()],
            vec![dh2q.clone(), dh2c.clone()],
            vec![dh2c.clone(), dhnq.clone()],
            vec![dh2c.clone(), dhnc.clone()],
        ];
        for list in invalid {
            assert_eq!(parse(&list).unwrap_err(), NtStatus::INVALID_PARAMETER);
        }
        // DHnQ beside DHnC is ignored (MS-SMB2 3.3.5.9.7).
        let r = parse(&[dhnc, dhnq.clone()]).unwrap();
        assert!(r.durable.is_none() && matches!(r.reconnect, Some(Reconnect::V1(_))));
        assert_eq!(parse(&[dhnq]).unwrap().durable, Some(DurableRequest::V1));
        assert!(matches!(
            parse(&[dh2c]).unwrap().reconnect,
            Some(Reconnect::V2 { .. })
        ));
        assert!(matches!(
            parse(&[dh2q]).unwrap().durable,
            Some(DurableRequest::V2(_))
        ));
    }
}
