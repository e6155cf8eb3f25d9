//! Create contexts of SMB2 CREATE (MS-SMB2 2.2.13.2 request values, 2.2.14.2 response values).
//!
//! [`CreateContext::decode_list`] / [`CreateContext::encode_list`] handle the generic chain of
//! SMB2_CREATE_CONTEXT structures; the typed structs below decode and encode the `Data` of the
//! contexts a server handles (through the [`CreateContextData`] trait). The EA list of `ExtA`
//! is a chain of FILE_FULL_EA_INFORMATION entries (MS-FSCC 2.4.15).
use super::{buffer_at, Error, FileId, Guid, NtStatus, Result};
use bytes::{BufMut, Bytes, BytesMut};

/// Most create contexts accepted in one request (Windows clients send fewer than 10).
pub const MAX_CREATE_CONTEXTS: usize = 256;
/// Most entries accepted in one FILE_FULL_EA_INFORMATION chain.
pub const MAX_EA_ENTRIES: usize = 4096;

/// Create context names (MS-SMB2 2.2.13.2 and 2.2.14.2), as they appear on the wire.
pub mod names {
    /// SMB2_CREATE_EA_BUFFER.
    pub const EA_BUFFER: &[u8] = b"ExtA";
    /// SMB2_CREATE_SD_BUFFER.
    pub const SD_BUFFER: &[u8] = b"SecD";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST / _RESPONSE.
    pub const DURABLE_HANDLE_REQUEST: &[u8] = b"DHnQ";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT.
    pub const DURABLE_HANDLE_RECONNECT: &[u8] = b"DHnC";
    /// SMB2_CREATE_ALLOCATION_SIZE.
    pub const ALLOCATION_SIZE: &[u8] = b"AlSi";
    /// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST / _RESPONSE.
    pub const QUERY_MAXIMAL_ACCESS: &[u8] = b"MxAc";
    /// SMB2_CREATE_TIMEWARP_TOKEN.
    pub const TIMEWARP_TOKEN: &[u8] = b"TWrp";
    /// SMB2_CREATE_QUERY_ON_DISK_ID.
    pub const QUERY_ON_DISK_ID: &[u8] = b"QFid";
    /// SMB2_CREATE_REQUEST_LEASE and _V2 (told apart by the data length, 32 or 52).
    pub const REQUEST_LEASE: &[u8] = b"RqLs";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 / _RESPONSE_V2.
    pub const DURABLE_HANDLE_REQUEST_V2: &[u8] = b"DH2Q";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
    pub const DURABLE_HANDLE_RECONNECT_V2: &[u8] = b"DH2C";
    /// SMB2_CREATE_APP_INSTANCE_ID.
    pub const APP_INSTANCE_ID: &[u8] = &[
        0x45, 0xBC, 0xA6, 0x6A, 0xEF, 0xA7, 0xF7, 0x4A, 0x90, 0x08, 0xFA, 0x46, 0x2E, 0x14, 0x4D,
        0x74,
    ];
    /// SMB2_CREATE_APP_INSTANCE_VERSION.
    pub const APP_INSTANCE_VERSION: &[u8] = &[
        0xB9, 0x82, 0xD0, 0xB7, 0x3B, 0x56, 0x07, 0x4F, 0xA0, 0x7B, 0x52, 0x4A, 0x81, 0x16, 0xA0,
        0x10,
    ];
    /// SVHDX_OPEN_DEVICE_CONTEXT (MS-RSVD).
    pub const SVHDX_OPEN_DEVICE_CONTEXT: &[u8] = &[
        0x9C, 0xCB, 0xCF, 0x9E, 0x04, 0xC1, 0xE6, 0x43, 0x98, 0x0E, 0x15, 0x8D, 0xA1, 0xF6, 0xEC,
        0x83,
    ];
}

/// LeaseState bits (MS-SMB2 2.2.13.2.8).
pub mod lease_state {
    /// SMB2_LEASE_NONE.
    pub const NONE: u32 = 0x00;
    /// SMB2_LEASE_READ_CACHING.
    pub const READ_CACHING: u32 = 0x01;
    /// SMB2_LEASE_HANDLE_CACHING.
    pub const HANDLE_CACHING: u32 = 0x02;
    /// SMB2_LEASE_WRITE_CACHING.
    pub const WRITE_CACHING: u32 = 0x04;
}

/// LeaseFlags / Flags bits of a lease context (MS-SMB2 2.2.13.2.8, 2.2.13.2.10).
pub mod lease_flags {
    /// SMB2_LEASE_FLAG_BREAK_IN_PROGRESS (responses).
    pub const BREAK_IN_PROGRESS: u32 = 0x02;
    /// SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET (v2).
    pub const PARENT_LEASE_KEY_SET: u32 = 0x04;
}

/// Flags of DH2Q / DH2C (MS-SMB2 2.2.13.2.11).
pub mod durable_flags {
    /// SMB2_DHANDLE_FLAG_PERSISTENT.
    pub const PERSISTENT: u32 = 0x02;
}

/// FILE_FULL_EA_INFORMATION Flags (MS-FSCC 2.4.15): FILE_NEED_EA.
pub const FILE_NEED_EA: u8 = 0x80;

fn u16_at(b: &[u8], o: usize) -> Result<u16> {
    match b.get(o..o + 2) {
        Some(s) => Ok(u16::from_le_bytes([s[0], s[1]])),
        None => Err(Error::Truncated),
    }
}

fn u32_at(b: &[u8], o: usize) -> Result<u32> {
    match b.get(o..o + 4) {
        Some(s) => Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(Error::Truncated),
    }
}

fn u64_at(b: &[u8], o: usize) -> Result<u64> {
    match b.get(o..o + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            Ok(u64::from_le_bytes(a))
        }
        None => Err(Error::Truncated),
    }
}

fn bytes16_at(b: &[u8], o: usize) -> Result<[u8; 16]> {
    let s = b.get(o..o + 16).ok_or(Error::Truncated)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(s);
    Ok(a)
}

fn align(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

/// One SMB2_CREATE_CONTEXT: its name and its data, as zero-copy slices of the message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateContext {
    /// The Name (4 ASCII bytes or a 16-byte GUID, see [`names`]).
    pub name: Bytes,
    /// The Data.
    pub data: Bytes,
}

impl CreateContext {
    /// A context from a name constant and its data.
    pub fn new(name: &'static [u8], data: Bytes) -> Self {
        CreateContext {
            name: Bytes::from_static(name),
            data,
        }
    }

    /// Decodes the chain of contexts at `msg[offset..offset + length]` (CreateContextsOffset /
    /// CreateContextsLength, relative to the header). The first context must be 8-byte aligned,
    /// each Next must be a forward, 8-byte aligned step inside the region, and each name and
    /// data must lie inside its own context. A zero `length` yields an empty list.
    pub fn decode_list(msg: &Bytes, offset: usize, length: usize) -> Result<Vec<CreateContext>> {
        if length == 0 {
            return Ok(Vec::new());
        }
        if !offset.is_multiple_of(8) {
            return Err(Error::Invalid("CreateContextsOffset"));
        }
        let region = buffer_at(msg, offset, length)?;
        let mut list = Vec::new();
        let mut pos = 0usize;
        loop {
            if list.len() >= MAX_CREATE_CONTEXTS {
                return Err(Error::Invalid("too many create contexts"));
            }
            let rest = region.len() - pos;
            let h = region.get(pos..pos + 16).ok_or(Error::Truncated)?;
            let next = u32_at(h, 0)? as usize;
            let name_offset = u16_at(h, 4)? as usize;
            let name_length = u16_at(h, 6)? as usize;
            let data_offset = u16_at(h, 10)? as usize;
            let data_length = u32_at(h, 12)? as usize;
            let extent = if next == 0 {
                rest
            } else if !next.is_multiple_of(8) || next < 16 || next > rest {
                return Err(Error::Invalid("create context Next"));
            } else {
                next
            };
            if name_length == 0 || name_offset < 16 {
                return Err(Error::Invalid("create context NameOffset"));
            }
            let name_end = name_offset + name_length;
            if name_end > extent {
                return Err(Error::Invalid("create context NameLength"));
            }
            let data = if data_length == 0 {
                Bytes::new()
            } else {
                if !data_offset.is_multiple_of(8) || data_offset < name_end {
                    return Err(Error::Invalid("create context DataOffset"));
                }
                let data_end = data_offset
                    .checked_add(data_length)
                    .ok_or(Error::Invalid("create context DataLength"))?;
                if data_end > extent {
                    return Err(Error::Invalid("create context DataLength"));
                }
                region.slice(pos + data_offset..pos + data_end)
            };
            list.push(CreateContext {
                name: region.slice(pos + name_offset..pos + name_end),
                data,
            });
            if next == 0 {
                return Ok(list);
            }
            pos += next;
        }
    }

    /// Appends the chain of contexts. `out` must be at an 8-byte aligned offset of its message
    /// (the caller pads before writing CreateContextsOffset). Names longer than 65535 bytes
    /// are not representable and must not be passed.
    pub fn encode_list(list: &[CreateContext], out: &mut BytesMut) {
        for (i, c) in list.iter().enumerate() {
            let start = out.len();
            let last = i + 1 == list.len();
            let name_end = 16 + c.name.len();
            let (data_offset, end) = if c.data.is_empty() {
                (0, name_end)
            } else {
                let o = align(name_end, 8);
                (o, o + c.data.len())
            };
            let next = if last { 0 } else { align(end, 8) };
            out.put_u32_le(next as u32);
            out.put_u16_le(16);
            out.put_u16_le(c.name.len() as u16);
            out.put_u16_le(0);
            out.put_u16_le(data_offset as u16);
            out.put_u32_le(c.data.len() as u32);
            out.put_slice(&c.name);
            if !c.data.is_empty() {
                super::pad_to(out, start, 8);
                out.put_slice(&c.data);
            }
            if !last {
                super::pad_to(out, start, 8);
            }
        }
    }

    /// The first context of `list` named `name`.
    pub fn find<'a>(list: &'a [CreateContext], name: &[u8]) -> Option<&'a CreateContext> {
        list.iter().find(|c| c.name == name)
    }
}

/// The Data of a typed create context.
pub trait CreateContextData: Sized {
    /// The context name this data goes with.
    const NAME: &'static [u8];
    /// Decodes the Data of a context (extra trailing bytes are ignored).
    fn decode(data: &Bytes) -> Result<Self>;
    /// Appends the Data.
    fn encode(&self, out: &mut BytesMut);
    /// A [`CreateContext`] carrying this data.
    fn to_context(&self) -> CreateContext {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        CreateContext::new(Self::NAME, b.freeze())
    }
}

/// One FILE_FULL_EA_INFORMATION entry (MS-FSCC 2.4.15).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFullEaInformation {
    /// Flags ([`FILE_NEED_EA`]).
    pub flags: u8,
    /// EaName (8-bit characters, without the terminating NUL; at most 255 bytes).
    pub ea_name: Bytes,
    /// EaValue (at most 65535 bytes).
    pub ea_value: Bytes,
}

/// SMB2_CREATE_EA_BUFFER ("ExtA"): the extended attributes to set on a new file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateEaBuffer {
    /// The chain of FILE_FULL_EA_INFORMATION entries.
    pub entries: Vec<FileFullEaInformation>,
}

impl CreateEaBuffer {
    /// Decodes a FILE_FULL_EA_INFORMATION chain (also used by QUERY_INFO / SET_INFO with
    /// FileFullEaInformation). Empty input yields no entries.
    pub fn decode_chain(data: &Bytes) -> Result<Vec<FileFullEaInformation>> {
        let mut entries = Vec::new();
        let mut pos = 0usize;
        while pos < data.len() {
            if entries.len() >= MAX_EA_ENTRIES {
                return Err(Error::Invalid("too many EA entries"));
            }
            let rest = data.len() - pos;
            let h = data.get(pos..pos + 8).ok_or(Error::Truncated)?;
            let next = u32_at(h, 0)? as usize;
            let name_len = h[5] as usize;
            let value_len = u16_at(h, 6)? as usize;
            let need = 8 + name_len + 1 + value_len;
            let extent = if next == 0 {
                rest
            } else if !next.is_multiple_of(4) || next < need || next > rest {
                return Err(Error::Invalid("EA NextEntryOffset"));
            } else {
                next
            };
            if need > extent {
                return Err(Error::Truncated);
            }
            let name_start = pos + 8;
            let value_start = name_start + name_len + 1;
            entries.push(FileFullEaInformation {
                flags: h[4],
                ea_name: data.slice(name_start..name_start + name_len),
                ea_value: data.slice(value_start..value_start + value_len),
            });
            if next == 0 {
                break;
            }
            pos += next;
        }
        Ok(entries)
    }

    /// Appends a FILE_FULL_EA_INFORMATION chain, entries 4-byte aligned.
    pub fn encode_chain(entries: &[FileFullEaInformation], out: &mut BytesMut) {
        for (i, e) in entries.iter().enumerate() {
            let start = out.len();
            let last = i + 1 == entries.len();
            let need = 8 + e.ea_name.len() + 1 + e.ea_value.len();
            out.put_u32_le(if last { 0 } else { align(need, 4) as u32 });
            out.put_u8(e.flags);
            out.put_u8(e.ea_name.len() as u8);
            out.put_u16_le(e.ea_value.len() as u16);
            out.put_slice(&e.ea_name);
            out.put_u8(0);
            out.put_slice(&e.ea_value);
            if !last {
                super::pad_to(out, start, 4);
            }
        }
    }
}

impl CreateContextData for CreateEaBuffer {
    const NAME: &'static [u8] = names::EA_BUFFER;
    fn decode(data: &Bytes) -> Result<Self> {
        Ok(CreateEaBuffer {
            entries: Self::decode_chain(data)?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        Self::encode_chain(&self.entries, out)
    }
}

/// SMB2_CREATE_SD_BUFFER ("SecD"): a self-relative security descriptor, kept opaque here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateSdBuffer {
    /// The SECURITY_DESCRIPTOR bytes (MS-DTYP 2.4.6).
    pub security_descriptor: Bytes,
}

impl CreateContextData for CreateSdBuffer {
    const NAME: &'static [u8] = names::SD_BUFFER;
    fn decode(data: &Bytes) -> Result<Self> {
        Ok(CreateSdBuffer {
            security_descriptor: data.clone(),
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.security_descriptor)
    }
}

macro_rules! fixed_context {
    ($(#[$m:meta])* $ty:ident, $name:expr, $len:expr, |$d:ident| $dec:expr, |$s:ident, $o:ident| $enc:block) => {
        impl CreateContextData for $ty {
            const NAME: &'static [u8] = $name;
            fn decode(data: &Bytes) -> Result<Self> {
                let $d: &[u8] = data.get(..$len).ok_or(Error::Truncated)?;
                $dec
            }
            fn encode(&self, out: &mut BytesMut) {
                let ($s, $o) = (self, out);
                $enc
            }
        }
    };
}

/// SMB2_CREATE_DURABLE_HANDLE_REQUEST ("DHnQ", 16 reserved bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleRequest;
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleRequest, names::DURABLE_HANDLE_REQUEST, 16, |_d|
    Ok(CreateDurableHandleRequest), |_s, o| { o.put_bytes(0, 16) }
);

/// SMB2_CREATE_DURABLE_HANDLE_RESPONSE ("DHnQ", 8 reserved bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleResponse;
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleResponse, names::DURABLE_HANDLE_REQUEST, 8, |_d|
    Ok(CreateDurableHandleResponse), |_s, o| { o.put_bytes(0, 8) }
);

/// SMB2_CREATE_DURABLE_HANDLE_RECONNECT ("DHnC").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleReconnect {
    /// Data: the FileId of the open to reconnect.
    pub file_id: FileId,
}
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleReconnect, names::DURABLE_HANDLE_RECONNECT, 16, |d|
    Ok(CreateDurableHandleReconnect { file_id: FileId { persistent: u64_at(d, 0)?, volatile:
    u64_at(d, 8)? } }), |s, o| { s.file_id.encode(o) }
);

/// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST ("MxAc"): data empty or an 8-byte Timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateQueryMaximalAccessRequest {
    /// Timestamp (FILETIME), when present.
    pub timestamp: Option<u64>,
}

impl CreateContextData for CreateQueryMaximalAccessRequest {
    const NAME: &'static [u8] = names::QUERY_MAXIMAL_ACCESS;
    fn decode(data: &Bytes) -> Result<Self> {
        let timestamp = if data.is_empty() {
            None
        } else {
            Some(u64_at(data, 0)?)
        };
        Ok(CreateQueryMaximalAccessRequest { timestamp })
    }
    fn encode(&self, out: &mut BytesMut) {
        if let Some(t) = self.timestamp {
            out.put_u64_le(t);
        }
    }
}

/// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_RESPONSE ("MxAc").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateQueryMaximalAccessResponse {
    /// QueryStatus.
    pub query_status: NtStatus,
    /// MaximalAccess (an access mask).
    pub maximal_access: u32,
}
#[rustfmt::skip]
fixed_context!(
    CreateQueryMaximalAccessResponse, names::QUERY_MAXIMAL_ACCESS, 8, |d|
    Ok(CreateQueryMaximalAccessResponse { query_status: NtStatus(u32_at(d, 0)?), maximal_access:
    u32_at(d, 4)? }), |s, o| { o.put_u32_le(s.query_status.0); o.put_u32_le(s.maximal_access); }
);

/// SMB2_CREATE_ALLOCATION_SIZE ("AlSi").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateAllocationSize {
    /// AllocationSize.
    pub allocation_size: u64,
}
#[rustfmt::skip]
fixed_context!(
    CreateAllocationSize, names::ALLOCATION_SIZE, 8, |d| Ok(CreateAllocationSize {
    allocation_size: u64_at(d, 0)? }), |s, o| { o.put_u64_le(s.allocation_size) }
);

/// SMB2_CREATE_TIMEWARP_TOKEN ("TWrp").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateTimewarpToken {
    /// Timestamp (FILETIME) of the snapshot to open.
    pub timestamp: u64,
}
#[rustfmt::skip]
fixed_context!(
    CreateTimewarpToken, names::TIMEWARP_TOKEN, 8, |d| Ok(CreateTimewarpToken { timestamp:
    u64_at(d, 0)? }), |s, o| { o.put_u64_le(s.timestamp) }
);

/// SMB2_CREATE_QUERY_ON_DISK_ID response ("QFid"; the request carries no data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateQueryOnDiskIdResponse {
    /// DiskFileId.
    pub disk_file_id: u64,
    /// VolumeId.
    pub volume_id: u64,
}
#[rustfmt::skip]
fixed_context!(
    CreateQueryOnDiskIdResponse, names::QUERY_ON_DISK_ID, 32, |d| Ok(CreateQueryOnDiskIdResponse {
    disk_file_id: u64_at(d, 0)?, volume_id: u64_at(d, 8)? }), |s, o| {
    o.put_u64_le(s.disk_file_id); o.put_u64_le(s.volume_id); o.put_bytes(0, 16); }
);

/// SMB2_CREATE_REQUEST_LEASE ("RqLs", 32 bytes); also SMB2_CREATE_RESPONSE_LEASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateRequestLease {
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState ([`lease_state`]).
    pub lease_state: u32,
    /// LeaseFlags ([`lease_flags`]).
    pub lease_flags: u32,
    /// LeaseDuration.
    pub lease_duration: u64,
}
/// SMB2_CREATE_RESPONSE_LEASE has the layout of the request.
pub type CreateResponseLease = CreateRequestLease;
#[rustfmt::skip]
fixed_context!(
    CreateRequestLease, names::REQUEST_LEASE, 32, |d| Ok(CreateRequestLease { lease_key:
    bytes16_at(d, 0)?, lease_state: u32_at(d, 16)?, lease_flags: u32_at(d, 20)?, lease_duration:
    u64_at(d, 24)? }), |s, o| { o.put_slice(&s.lease_key); o.put_u32_le(s.lease_state);
    o.put_u32_le(s.lease_flags); o.put_u64_le(s.lease_duration); }
);

/// SMB2_CREATE_REQUEST_LEASE_V2 ("RqLs", 52 bytes); also SMB2_CREATE_RESPONSE_LEASE_V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateRequestLeaseV2 {
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState ([`lease_state`]).
    pub lease_state: u32,
    /// Flags ([`lease_flags`]).
    pub flags: u32,
    /// LeaseDuration.
    pub lease_duration: u64,
    /// ParentLeaseKey.
    pub parent_lease_key: [u8; 16],
    /// Epoch.
    pub epoch: u16,
}
/// SMB2_CREATE_RESPONSE_LEASE_V2 has the layout of the request.
pub type CreateResponseLeaseV2 = CreateRequestLeaseV2;
#[rustfmt::skip]
fixed_context!(
    CreateRequestLeaseV2, names::REQUEST_LEASE, 52, |d| Ok(CreateRequestLeaseV2 { lease_key:
    bytes16_at(d, 0)?, lease_state: u32_at(d, 16)?, flags: u32_at(d, 20)?, lease_duration:
    u64_at(d, 24)?, parent_lease_key: bytes16_at(d, 32)?, epoch: u16_at(d, 48)? }), |s, o| {
    o.put_slice(&s.lease_key); o.put_u32_le(s.lease_state); o.put_u32_le(s.flags);
    o.put_u64_le(s.lease_duration); o.put_slice(&s.parent_lease_key); o.put_u16_le(s.epoch);
    o.put_u16_le(0); }
);

/// An "RqLs" context of either version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// 32-byte SMB2_CREATE_REQUEST_LEASE.
    V1(CreateRequestLease),
    /// 52-byte SMB2_CREATE_REQUEST_LEASE_V2.
    V2(CreateRequestLeaseV2),
}

impl Lease {
    /// Decodes "RqLs" data: 52 bytes or more is v2, 32 to 51 bytes is v1, less is refused.
    pub fn decode(data: &Bytes) -> Result<Lease> {
        if data.len() >= 52 {
            Ok(Lease::V2(CreateRequestLeaseV2::decode(data)?))
        } else {
            Ok(Lease::V1(CreateRequestLease::decode(data)?))
        }
    }
    /// Appends the data of the context.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Lease::V1(l) => l.encode(out),
            Lease::V2(l) => l.encode(out),
        }
    }
}

/// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 ("DH2Q").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleRequestV2 {
    /// Timeout in milliseconds (0: server's choice).
    pub timeout: u32,
    /// Flags ([`durable_flags`]).
    pub flags: u32,
    /// CreateGuid.
    pub create_guid: Guid,
}
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleRequestV2, names::DURABLE_HANDLE_REQUEST_V2, 32, |d|
    Ok(CreateDurableHandleRequestV2 { timeout: u32_at(d, 0)?, flags: u32_at(d, 4)?, create_guid:
    Guid(bytes16_at(d, 16)?) }), |s, o| { o.put_u32_le(s.timeout); o.put_u32_le(s.flags);
    o.put_u64_le(0); o.put_slice(&s.create_guid.0); }
);

/// SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2 ("DH2Q").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleResponseV2 {
    /// Timeout in milliseconds.
    pub timeout: u32,
    /// Flags ([`durable_flags`]).
    pub flags: u32,
}
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleResponseV2, names::DURABLE_HANDLE_REQUEST_V2, 8, |d|
    Ok(CreateDurableHandleResponseV2 { timeout: u32_at(d, 0)?, flags: u32_at(d, 4)? }), |s, o| {
    o.put_u32_le(s.timeout); o.put_u32_le(s.flags); }
);

/// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 ("DH2C").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateDurableHandleReconnectV2 {
    /// FileId of the open to reconnect.
    pub file_id: FileId,
    /// CreateGuid.
    pub create_guid: Guid,
    /// Flags ([`durable_flags`]).
    pub flags: u32,
}
#[rustfmt::skip]
fixed_context!(
    CreateDurableHandleReconnectV2, names::DURABLE_HANDLE_RECONNECT_V2, 36, |d|
    Ok(CreateDurableHandleReconnectV2 { file_id: FileId { persistent: u64_at(d, 0)?, volatile:
    u64_at(d, 8)? }, create_guid: Guid(bytes16_at(d, 16)?), flags: u32_at(d, 32)? }), |s, o| {
    s.file_id.encode(o); o.put_slice(&s.create_guid.0); o.put_u32_le(s.flags); }
);

/// SMB2_CREATE_APP_INSTANCE_ID (StructureSize 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateAppInstanceId {
    /// AppInstanceId.
    pub app_instance_id: Guid,
}
#[rustfmt::skip]
fixed_context!(
    CreateAppInstanceId, names::APP_INSTANCE_ID, 20, |d| { if u16_at(d, 0)? != 20 { return
    Err(Error::Invalid("StructureSize")); } Ok(CreateAppInstanceId { app_instance_id:
    Guid(bytes16_at(d, 4)?), }) }, |s, o| { o.put_u16_le(20); o.put_u16_le(0);
    o.put_slice(&s.app_instance_id.0); }
);

/// SMB2_CREATE_APP_INSTANCE_VERSION (StructureSize 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateAppInstanceVersion {
    /// AppInstanceVersionHigh.
    pub app_instance_version_high: u64,
    /// AppInstanceVersionLow.
    pub app_instance_version_low: u64,
}
#[rustfmt::skip]
fixed_context!(
    CreateAppInstanceVersion, names::APP_INSTANCE_VERSION, 24, |d| { if u16_at(d, 0)? != 24 {
    return Err(Error::Invalid("StructureSize")); } Ok(CreateAppInstanceVersion {
    app_instance_version_high: u64_at(d, 8)?, app_instance_version_low: u64_at(d, 16)?, }) }, |s,
    o| { o.put_u16_le(24); o.put_u16_le(0); o.put_u32_le(0);
    o.put_u64_le(s.app_instance_version_high); o.put_u64_le(s.app_instance_version_low); }
);

#[cfg(test)]
mod tests;
