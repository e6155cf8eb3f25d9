//! SMB2 CREATE request and response (MS-SMB2 2.2.13, 2.2.14), with the access mask
//! (2.2.13.1, MS-DTYP 2.4.3), share access, disposition, options and file attribute
//! (MS-FSCC 2.6) constants. Create contexts are in [`super::create_contexts`].
use super::create_contexts::CreateContext;
use super::variable_buffer;
use super::{body, check_structure_size, pad_to, utf16le_to_string, Error, FileId, Result};
use super::{IResult, HEADER_LEN};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};

/// RequestedOplockLevel / OplockLevel (MS-SMB2 2.2.13, 2.2.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct OplockLevel(pub u8);

impl OplockLevel {
    /// SMB2_OPLOCK_LEVEL_NONE.
    pub const NONE: OplockLevel = OplockLevel(0x00);
    /// SMB2_OPLOCK_LEVEL_II.
    pub const LEVEL_II: OplockLevel = OplockLevel(0x01);
    /// SMB2_OPLOCK_LEVEL_EXCLUSIVE.
    pub const EXCLUSIVE: OplockLevel = OplockLevel(0x08);
    /// SMB2_OPLOCK_LEVEL_BATCH.
    pub const BATCH: OplockLevel = OplockLevel(0x09);
    /// SMB2_OPLOCK_LEVEL_LEASE.
    pub const LEASE: OplockLevel = OplockLevel(0xFF);
}

/// ImpersonationLevel (MS-SMB2 2.2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImpersonationLevel(pub u32);

impl ImpersonationLevel {
    /// Anonymous.
    pub const ANONYMOUS: ImpersonationLevel = ImpersonationLevel(0);
    /// Identification.
    pub const IDENTIFICATION: ImpersonationLevel = ImpersonationLevel(1);
    /// Impersonation.
    pub const IMPERSONATION: ImpersonationLevel = ImpersonationLevel(2);
    /// Delegate.
    pub const DELEGATE: ImpersonationLevel = ImpersonationLevel(3);
}

/// CreateDisposition (MS-SMB2 2.2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CreateDisposition(pub u32);

impl CreateDisposition {
    /// FILE_SUPERSEDE.
    pub const SUPERSEDE: CreateDisposition = CreateDisposition(0);
    /// FILE_OPEN.
    pub const OPEN: CreateDisposition = CreateDisposition(1);
    /// FILE_CREATE.
    pub const CREATE: CreateDisposition = CreateDisposition(2);
    /// FILE_OPEN_IF.
    pub const OPEN_IF: CreateDisposition = CreateDisposition(3);
    /// FILE_OVERWRITE.
    pub const OVERWRITE: CreateDisposition = CreateDisposition(4);
    /// FILE_OVERWRITE_IF.
    pub const OVERWRITE_IF: CreateDisposition = CreateDisposition(5);
}

/// CreateAction of the response (MS-SMB2 2.2.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CreateAction(pub u32);

impl CreateAction {
    /// FILE_SUPERSEDED.
    pub const SUPERSEDED: CreateAction = CreateAction(0);
    /// FILE_OPENED.
    pub const OPENED: CreateAction = CreateAction(1);
    /// FILE_CREATED.
    pub const CREATED: CreateAction = CreateAction(2);
    /// FILE_OVERWRITTEN.
    pub const OVERWRITTEN: CreateAction = CreateAction(3);
}

/// Access mask bits (MS-SMB2 2.2.13.1.1 / 2.2.13.1.2).
pub mod access_mask {
    /// FILE_READ_DATA (files) / FILE_LIST_DIRECTORY (directories).
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    /// FILE_LIST_DIRECTORY.
    pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
    /// FILE_WRITE_DATA (files) / FILE_ADD_FILE (directories).
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    /// FILE_ADD_FILE.
    pub const FILE_ADD_FILE: u32 = 0x0000_0002;
    /// FILE_APPEND_DATA (files) / FILE_ADD_SUBDIRECTORY (directories).
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    /// FILE_ADD_SUBDIRECTORY.
    pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
    /// FILE_READ_EA.
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    /// FILE_WRITE_EA.
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    /// FILE_EXECUTE (files) / FILE_TRAVERSE (directories).
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    /// FILE_TRAVERSE.
    pub const FILE_TRAVERSE: u32 = 0x0000_0020;
    /// FILE_DELETE_CHILD.
    pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
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
    /// SYNCHRONIZE.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// ACCESS_SYSTEM_SECURITY.
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// MAXIMUM_ALLOWED.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// GENERIC_ALL.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GENERIC_EXECUTE.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// GENERIC_WRITE.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GENERIC_READ.
    pub const GENERIC_READ: u32 = 0x8000_0000;
}

/// ShareAccess bits (MS-SMB2 2.2.13).
pub mod share_access {
    /// FILE_SHARE_READ.
    pub const FILE_SHARE_READ: u32 = 0x01;
    /// FILE_SHARE_WRITE.
    pub const FILE_SHARE_WRITE: u32 = 0x02;
    /// FILE_SHARE_DELETE.
    pub const FILE_SHARE_DELETE: u32 = 0x04;
}

/// CreateOptions bits (MS-SMB2 2.2.13).
pub mod create_options {
    /// FILE_DIRECTORY_FILE.
    pub const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;
    /// FILE_WRITE_THROUGH.
    pub const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
    /// FILE_SEQUENTIAL_ONLY.
    pub const FILE_SEQUENTIAL_ONLY: u32 = 0x0000_0004;
    /// FILE_NO_INTERMEDIATE_BUFFERING.
    pub const FILE_NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
    /// FILE_SYNCHRONOUS_IO_ALERT.
    pub const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
    /// FILE_SYNCHRONOUS_IO_NONALERT.
    pub const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;
    /// FILE_NON_DIRECTORY_FILE.
    pub const FILE_NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    /// FILE_COMPLETE_IF_OPLOCKED.
    pub const FILE_COMPLETE_IF_OPLOCKED: u32 = 0x0000_0100;
    /// FILE_NO_EA_KNOWLEDGE.
    pub const FILE_NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
    /// FILE_OPEN_REMOTE_INSTANCE.
    pub const FILE_OPEN_REMOTE_INSTANCE: u32 = 0x0000_0400;
    /// FILE_RANDOM_ACCESS.
    pub const FILE_RANDOM_ACCESS: u32 = 0x0000_0800;
    /// FILE_DELETE_ON_CLOSE.
    pub const FILE_DELETE_ON_CLOSE: u32 = 0x0000_1000;
    /// FILE_OPEN_BY_FILE_ID.
    pub const FILE_OPEN_BY_FILE_ID: u32 = 0x0000_2000;
    /// FILE_OPEN_FOR_BACKUP_INTENT.
    pub const FILE_OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
    /// FILE_NO_COMPRESSION.
    pub const FILE_NO_COMPRESSION: u32 = 0x0000_8000;
    /// FILE_OPEN_REQUIRING_OPLOCK.
    pub const FILE_OPEN_REQUIRING_OPLOCK: u32 = 0x0001_0000;
    /// FILE_DISALLOW_EXCLUSIVE.
    pub const FILE_DISALLOW_EXCLUSIVE: u32 = 0x0002_0000;
    /// FILE_RESERVE_OPFILTER.
    pub const FILE_RESERVE_OPFILTER: u32 = 0x0010_0000;
    /// FILE_OPEN_REPARSE_POINT.
    pub const FILE_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    /// FILE_OPEN_NO_RECALL.
    pub const FILE_OPEN_NO_RECALL: u32 = 0x0040_0000;
    /// FILE_OPEN_FOR_FREE_SPACE_QUERY.
    pub const FILE_OPEN_FOR_FREE_SPACE_QUERY: u32 = 0x0080_0000;
}

/// File attribute bits (MS-FSCC 2.6).
pub mod file_attributes {
    /// FILE_ATTRIBUTE_READONLY.
    pub const READONLY: u32 = 0x0000_0001;
    /// FILE_ATTRIBUTE_HIDDEN.
    pub const HIDDEN: u32 = 0x0000_0002;
    /// FILE_ATTRIBUTE_SYSTEM.
    pub const SYSTEM: u32 = 0x0000_0004;
    /// FILE_ATTRIBUTE_DIRECTORY.
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// FILE_ATTRIBUTE_ARCHIVE.
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// FILE_ATTRIBUTE_NORMAL.
    pub const NORMAL: u32 = 0x0000_0080;
    /// FILE_ATTRIBUTE_TEMPORARY.
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// FILE_ATTRIBUTE_SPARSE_FILE.
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// FILE_ATTRIBUTE_REPARSE_POINT.
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    /// FILE_ATTRIBUTE_COMPRESSED.
    pub const COMPRESSED: u32 = 0x0000_0800;
    /// FILE_ATTRIBUTE_OFFLINE.
    pub const OFFLINE: u32 = 0x0000_1000;
    /// FILE_ATTRIBUTE_NOT_CONTENT_INDEXED.
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    /// FILE_ATTRIBUTE_ENCRYPTED.
    pub const ENCRYPTED: u32 = 0x0000_4000;
    /// FILE_ATTRIBUTE_INTEGRITY_STREAM.
    pub const INTEGRITY_STREAM: u32 = 0x0000_8000;
    /// FILE_ATTRIBUTE_NO_SCRUB_DATA.
    pub const NO_SCRUB_DATA: u32 = 0x0002_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_OPEN.
    pub const RECALL_ON_OPEN: u32 = 0x0004_0000;
    /// FILE_ATTRIBUTE_PINNED.
    pub const PINNED: u32 = 0x0008_0000;
    /// FILE_ATTRIBUTE_UNPINNED.
    pub const UNPINNED: u32 = 0x0010_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS.
    pub const RECALL_ON_DATA_ACCESS: u32 = 0x0040_0000;
}

/// Flags of the CREATE response (MS-SMB2 2.2.14): SMB2_CREATE_FLAG_REPARSEPOINT.
pub const SMB2_CREATE_FLAG_REPARSEPOINT: u8 = 0x01;

/// Length of the fixed part of the request body (StructureSize 57 counts one buffer byte).
const REQUEST_FIXED: usize = 56;
/// Length of the fixed part of the response body (StructureSize 89).
const RESPONSE_FIXED: usize = 88;

/// SMB2 CREATE Request (MS-SMB2 2.2.13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest {
    /// SecurityFlags (reserved, kept).
    pub security_flags: u8,
    /// RequestedOplockLevel.
    pub requested_oplock_level: OplockLevel,
    /// ImpersonationLevel.
    pub impersonation_level: ImpersonationLevel,
    /// SmbCreateFlags (reserved, kept).
    pub smb_create_flags: u64,
    /// DesiredAccess ([`access_mask`]).
    pub desired_access: u32,
    /// FileAttributes ([`file_attributes`]).
    pub file_attributes: u32,
    /// ShareAccess ([`share_access`]).
    pub share_access: u32,
    /// CreateDisposition.
    pub create_disposition: CreateDisposition,
    /// CreateOptions ([`create_options`]).
    pub create_options: u32,
    /// The name as sent (UTF-16LE, even length). `encode` writes this field.
    pub name_bytes: Bytes,
    /// The name decoded from `name_bytes`, or `None` when it is not valid UTF-16
    /// (the server answers STATUS_OBJECT_NAME_INVALID then).
    pub name: Option<String>,
    /// The create contexts.
    pub create_contexts: Vec<CreateContext>,
}

type RequestFixed = (
    u8,
    u8,
    u32,
    u64,
    u32,
    u32,
    u32,
    u32,
    u32,
    u16,
    u16,
    u32,
    u32,
);

fn parse_request_fixed(i: &[u8]) -> IResult<'_, RequestFixed> {
    let (i, _structure_size) = le_u16(i)?;
    let (i, security_flags) = le_u8(i)?;
    let (i, oplock) = le_u8(i)?;
    let (i, impersonation) = le_u32(i)?;
    let (i, smb_create_flags) = le_u64(i)?;
    let (i, _reserved) = le_u64(i)?;
    let (i, desired_access) = le_u32(i)?;
    let (i, file_attributes) = le_u32(i)?;
    let (i, share_access) = le_u32(i)?;
    let (i, disposition) = le_u32(i)?;
    let (i, options) = le_u32(i)?;
    let (i, name_offset) = le_u16(i)?;
    let (i, name_length) = le_u16(i)?;
    let (i, ctx_offset) = le_u32(i)?;
    let (i, ctx_length) = le_u32(i)?;
    Ok((
        i,
        (
            security_flags,
            oplock,
            impersonation,
            smb_create_flags,
            desired_access,
            file_attributes,
            share_access,
            disposition,
            options,
            name_offset,
            name_length,
            ctx_offset,
            ctx_length,
        ),
    ))
}

impl CreateRequest {
    /// Sets `name` and `name_bytes` from a string.
    pub fn set_name(&mut self, name: &str) {
        self.name_bytes = super::string_to_utf16le(name).into();
        self.name = Some(name.to_owned());
    }

    /// Decodes the request in `msg`. Invalid UTF-16 in the name is not an error
    /// (`name` is `None`); an odd NameLength is.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 57)?;
        let (_, f) = parse_request_fixed(b)?;
        let (name_offset, name_length) = (f.9 as usize, f.10 as usize);
        if !name_length.is_multiple_of(2) {
            return Err(Error::Invalid("NameLength"));
        }
        let name_bytes =
            variable_buffer(msg, name_offset, name_length, REQUEST_FIXED, "NameOffset")?;
        let (ctx_offset, ctx_length) = (f.11 as usize, f.12 as usize);
        if ctx_length > 0 && ctx_offset < HEADER_LEN + REQUEST_FIXED {
            return Err(Error::Invalid("CreateContextsOffset"));
        }
        let create_contexts = CreateContext::decode_list(msg, ctx_offset, ctx_length)?;
        let name = utf16le_to_string(&name_bytes).ok();
        Ok(CreateRequest {
            security_flags: f.0,
            requested_oplock_level: OplockLevel(f.1),
            impersonation_level: ImpersonationLevel(f.2),
            smb_create_flags: f.3,
            desired_access: f.4,
            file_attributes: f.5,
            share_access: f.6,
            create_disposition: CreateDisposition(f.7),
            create_options: f.8,
            name_bytes,
            name,
            create_contexts,
        })
    }

    /// Appends the body: fixed part, name, then the contexts 8-byte aligned.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        let name_len = self.name_bytes.len().min(u16::MAX as usize & !1);
        out.put_u16_le(57);
        out.put_u8(self.security_flags);
        out.put_u8(self.requested_oplock_level.0);
        out.put_u32_le(self.impersonation_level.0);
        out.put_u64_le(self.smb_create_flags);
        out.put_u64_le(0);
        out.put_u32_le(self.desired_access);
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(self.share_access);
        out.put_u32_le(self.create_disposition.0);
        out.put_u32_le(self.create_options);
        out.put_u16_le((HEADER_LEN + REQUEST_FIXED) as u16);
        out.put_u16_le(name_len as u16);
        let ctx_at = out.len();
        out.put_u64_le(0); // CreateContextsOffset / Length, patched below
        out.put_slice(&self.name_bytes[..name_len]);
        write_contexts(out, start, ctx_at, &self.create_contexts);
    }
}

/// Appends `contexts` 8-byte aligned and patches the offset/length pair at `ctx_at`; appends
/// one byte when the body would otherwise have no variable part.
fn write_contexts(out: &mut BytesMut, start: usize, ctx_at: usize, contexts: &[CreateContext]) {
    if contexts.is_empty() {
        if out.len() == ctx_at + 8 {
            out.put_u8(0);
        }
        return;
    }
    pad_to(out, start, 8);
    let offset = super::offset_in_message(out, start);
    let before = out.len();
    CreateContext::encode_list(contexts, out);
    let length = out.len() - before;
    out[ctx_at..ctx_at + 4].copy_from_slice(&(offset as u32).to_le_bytes());
    out[ctx_at + 4..ctx_at + 8].copy_from_slice(&(length as u32).to_le_bytes());
}

/// SMB2 CREATE Response (MS-SMB2 2.2.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    /// OplockLevel granted.
    pub oplock_level: OplockLevel,
    /// Flags ([`SMB2_CREATE_FLAG_REPARSEPOINT`]).
    pub flags: u8,
    /// CreateAction.
    pub create_action: CreateAction,
    /// CreationTime (FILETIME).
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime.
    pub last_write_time: u64,
    /// ChangeTime.
    pub change_time: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
    /// FileId of the new open.
    pub file_id: FileId,
    /// The response create contexts.
    pub create_contexts: Vec<CreateContext>,
}

impl CreateResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 89)?;
        let (i, _) = le_u16(b)?;
        let (i, oplock_level) = le_u8(i)?;
        let (i, flags) = le_u8(i)?;
        let (i, create_action) = le_u32(i)?;
        let (i, creation_time) = le_u64(i)?;
        let (i, last_access_time) = le_u64(i)?;
        let (i, last_write_time) = le_u64(i)?;
        let (i, change_time) = le_u64(i)?;
        let (i, allocation_size) = le_u64(i)?;
        let (i, end_of_file) = le_u64(i)?;
        let (i, file_attributes) = le_u32(i)?;
        let (i, _reserved2) = le_u32(i)?;
        let (i, file_id) = FileId::parse(i)?;
        let (i, ctx_offset) = le_u32(i)?;
        let (_, ctx_length) = le_u32(i)?;
        let (ctx_offset, ctx_length) = (ctx_offset as usize, ctx_length as usize);
        if ctx_length > 0 && ctx_offset < HEADER_LEN + RESPONSE_FIXED {
            return Err(Error::Invalid("CreateContextsOffset"));
        }
        Ok(CreateResponse {
            oplock_level: OplockLevel(oplock_level),
            flags,
            create_action: CreateAction(create_action),
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
            file_id,
            create_contexts: CreateContext::decode_list(msg, ctx_offset, ctx_length)?,
        })
    }

    /// Appends the body (contexts at offset 0x98 when present).
    pub fn encode(&self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u16_le(89);
        out.put_u8(self.oplock_level.0);
        out.put_u8(self.flags);
        out.put_u32_le(self.create_action.0);
        out.put_u64_le(self.creation_time);
        out.put_u64_le(self.last_access_time);
        out.put_u64_le(self.last_write_time);
        out.put_u64_le(self.change_time);
        out.put_u64_le(self.allocation_size);
        out.put_u64_le(self.end_of_file);
        out.put_u32_le(self.file_attributes);
        out.put_u32_le(0);
        self.file_id.encode(out);
        let ctx_at = out.len();
        out.put_u64_le(0);
        write_contexts(out, start, ctx_at, &self.create_contexts);
    }
}

#[cfg(test)]
mod tests {
    use super::super::create_contexts::names;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    fn contexts() -> impl Strategy<Value = Vec<CreateContext>> {
        proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 1..17),
                proptest::collection::vec(any::<u8>(), 0..40),
            )
                .prop_map(|(n, d)| CreateContext {
                    name: n.into(),
                    data: d.into(),
                }),
            0..4,
        )
    }

    prop_compose! {
        fn request()(f in any::<(u8, u8, u32, u64, u32, u32, u32, u32, u32)>(),
                     units in proptest::collection::vec(any::<u16>(), 0..40),
                     create_contexts in contexts()) -> CreateRequest {
            let name_bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            let name = utf16le_to_string(&name_bytes).ok();
            CreateRequest { security_flags: f.0, requested_oplock_level: OplockLevel(f.1),
                impersonation_level: ImpersonationLevel(f.2), smb_create_flags: f.3,
                desired_access: f.4, file_attributes: f.5, share_access: f.6,
                create_disposition: CreateDisposition(f.7), create_options: f.8,
                name_bytes: name_bytes.into(), name, create_contexts }
        }
    }

    prop_compose! {
        fn response()(f in any::<(u8, u8, u32, [u64; 6], u32, u64, u64)>(),
                      create_contexts in contexts()) -> CreateResponse {
            CreateResponse { oplock_level: OplockLevel(f.0), flags: f.1,
                create_action: CreateAction(f.2), creation_time: f.3[0], last_access_time: f.3[1],
                last_write_time: f.3[2], change_time: f.3[3], allocation_size: f.3[4],
                end_of_file: f.3[5], file_attributes: f.4,
                file_id: FileId { persistent: f.5, volatile: f.6 }, create_contexts }
        }
    }

    proptest! {
        #[test]
        fn request_round_trip(r in request()) {
            let m = frame(|o| r.encode(o));
            prop_assert_eq!(CreateRequest::decode(&m).unwrap(), r);
        }

        #[test]
        fn response_round_trip(r in response()) {
            let m = frame(|o| r.encode(o));
            prop_assert_eq!(CreateResponse::decode(&m).unwrap(), r);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = CreateRequest::decode(&m);
            let _ = CreateResponse::decode(&m);
            let _ = CreateRequest::decode(&Bytes::from(b));
        }

        #[test]
        fn never_panics_mutated(r in request(), at in any::<prop::sample::Index>(), v: u8) {
            let mut m = frame(|o| r.encode(o)).to_vec();
            let i = at.index(m.len() - HEADER_LEN) + HEADER_LEN;
            m[i] = v;
            let _ = CreateRequest::decode(&Bytes::from(m));
        }
    }

    /// A CREATE of "a\b" with an MxAc context, as a Windows client lays it out.
    #[test]
    fn request_vector() {
        let body = hex::decode(concat!(
            "3900",
            "00",
            "00",
            "02000000",
            "0000000000000000",
            "0000000000000000",
            "89001200",
            "80000000",
            "07000000",
            "01000000",
            "20000000",
            "7800",
            "0600",
            "80000000",
            "14000000",
            "61005c006200",
            "0000",
            "00000000",
            "1000",
            "0400",
            "0000",
            "0000",
            "00000000",
            "4d784163"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = CreateRequest::decode(&m).unwrap();
        assert_eq!(r.name.as_deref(), Some("a\\b"));
        assert_eq!(r.desired_access, 0x0012_0089);
        assert_eq!(r.create_disposition, CreateDisposition::OPEN);
        assert_eq!(r.impersonation_level, ImpersonationLevel::IMPERSONATION);
        assert_eq!(r.create_contexts.len(), 1);
        assert_eq!(&r.create_contexts[0].name[..], names::QUERY_MAXIMAL_ACCESS);
        assert!(r.create_contexts[0].data.is_empty());
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn keeps_invalid_utf16_name() {
        let r = CreateRequest {
            name_bytes: Bytes::from_static(&[0x00, 0xD8]), // lone high surrogate
            ..Default::default()
        };
        let got = CreateRequest::decode(&frame(|o| r.encode(o))).unwrap();
        assert_eq!(got.name, None);
        assert_eq!(&got.name_bytes[..], &[0x00, 0xD8]);
    }

    #[test]
    fn refuses_bad_structure_size_odd_name_and_bad_offsets() {
        let mut r = CreateRequest::default();
        r.set_name("x");
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN] = 56;
        assert_eq!(
            CreateRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 46] = 3; // NameLength
        assert_eq!(
            CreateRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("NameLength"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 44] = 0x70; // NameOffset inside the fixed part
        assert_eq!(
            CreateRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("NameOffset"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 46] = 0x40; // NameLength past the end
        assert_eq!(
            CreateRequest::decode(&Bytes::from(m)),
            Err(Error::Truncated)
        );
        let mut m = good;
        m[HEADER_LEN + 48..HEADER_LEN + 56]
            .copy_from_slice(&[0x78, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(CreateRequest::decode(&Bytes::from(m)).is_err());
        assert_eq!(
            CreateResponse::decode(&frame(|o| o.put_bytes(0, 10))),
            Err(Error::Invalid("StructureSize"))
        );
    }
}
