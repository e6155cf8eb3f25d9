//! Security descriptors as carried by QUERY_INFO/SET_INFO with InfoType
//! SMB2_0_INFO_SECURITY and by the SD_BUFFER create context: MS-DTYP 2.4.2 SID
//! (2.4.2.2 binary form, 2.4.2.1 string form), 2.4.4 ACE, 2.4.5 ACL and 2.4.6
//! SECURITY_DESCRIPTOR in self-relative form.
//!
//! Decoding checks every offset and size against the buffer: a SID has at most 15
//! sub-authorities, an ACL's AclSize must fit in the buffer and contain its ACEs, an ACE's
//! AceSize must be a multiple of 4 and contain its SID, and AceCount cannot exceed what
//! AclSize can hold. Unknown ACE types are refused (Windows refuses them too).
//!
//! Encoding writes the self-relative form in the order Windows writes it (MS-DTYP 2.5.1.4
//! example): header, SACL, DACL, owner SID, group SID, each part present only when set.

use super::Reader;
use crate::wire::{BytesMut, Error, Guid, Result};
use bytes::BufMut;
use std::fmt;
use std::str::FromStr;

/// Maximum number of sub-authorities in a SID (SID_MAX_SUB_AUTHORITIES).
pub const SID_MAX_SUB_AUTHORITIES: usize = 15;

/// A security identifier (MS-DTYP 2.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    /// Revision (always 1)
    pub revision: u8,
    /// IdentifierAuthority, a 48-bit big-endian value
    pub identifier_authority: [u8; 6],
    /// SubAuthority values (at most 15)
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// A revision-1 SID from a numeric authority (its low 48 bits) and sub-authorities.
    pub fn new(authority: u64, sub_authorities: &[u32]) -> Sid {
        let b = authority.to_be_bytes();
        let mut identifier_authority = [0u8; 6];
        identifier_authority.copy_from_slice(&b[2..8]);
        Sid {
            revision: 1,
            identifier_authority,
            sub_authorities: sub_authorities.to_vec(),
        }
    }
    /// Everyone, S-1-1-0.
    pub fn everyone() -> Sid {
        Sid::new(1, &[0])
    }
    /// CREATOR OWNER, S-1-3-0.
    pub fn creator_owner() -> Sid {
        Sid::new(3, &[0])
    }
    /// CREATOR GROUP, S-1-3-1.
    pub fn creator_group() -> Sid {
        Sid::new(3, &[1])
    }
    /// ANONYMOUS LOGON, S-1-5-7.
    pub fn anonymous() -> Sid {
        Sid::new(5, &[7])
    }
    /// Authenticated Users, S-1-5-11.
    pub fn authenticated_users() -> Sid {
        Sid::new(5, &[11])
    }
    /// LOCAL SYSTEM, S-1-5-18.
    pub fn local_system() -> Sid {
        Sid::new(5, &[18])
    }
    /// BUILTIN\Administrators, S-1-5-32-544.
    pub fn builtin_administrators() -> Sid {
        Sid::new(5, &[32, 544])
    }
    /// BUILTIN\Users, S-1-5-32-545.
    pub fn builtin_users() -> Sid {
        Sid::new(5, &[32, 545])
    }

    /// The IdentifierAuthority as a number.
    pub fn authority(&self) -> u64 {
        let mut b = [0u8; 8];
        b[2..].copy_from_slice(&self.identifier_authority);
        u64::from_be_bytes(b)
    }

    /// The last sub-authority (the RID of an account SID).
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }

    /// Size of the binary form: 8 + 4 per sub-authority.
    pub fn len(&self) -> usize {
        8 + 4 * self.sub_authorities.len()
    }

    /// Always false: a SID has at least its 8-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the binary form. Fails with more than 15 sub-authorities.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        if self.sub_authorities.len() > SID_MAX_SUB_AUTHORITIES {
            return Err(Error::Invalid("SubAuthorityCount"));
        }
        out.put_u8(self.revision);
        out.put_u8(self.sub_authorities.len() as u8);
        out.put_slice(&self.identifier_authority);
        for s in &self.sub_authorities {
            out.put_u32_le(*s);
        }
        Ok(())
    }

    /// Decodes a SID at the start of `b` (trailing bytes ignored).
    pub fn decode(b: &[u8]) -> Result<Sid> {
        Self::read(&mut Reader::new(b))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Sid> {
        let revision = r.u8()?;
        if revision != 1 {
            return Err(Error::Invalid("SID Revision"));
        }
        let n = r.u8()? as usize;
        if n > SID_MAX_SUB_AUTHORITIES {
            return Err(Error::Invalid("SubAuthorityCount"));
        }
        let identifier_authority = r.array()?;
        let mut sub_authorities = Vec::with_capacity(n);
        for _ in 0..n {
            sub_authorities.push(r.u32()?);
        }
        Ok(Sid {
            revision,
            identifier_authority,
            sub_authorities,
        })
    }
}

impl fmt::Display for Sid {
    /// The string form of MS-DTYP 2.4.2.1: `S-1-5-21-...`; an authority of 2^32 or more is
    /// written in hexadecimal (`0x...`, 12 digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.authority();
        if a >> 32 == 0 {
            write!(f, "S-{}-{}", self.revision, a)?;
        } else {
            write!(f, "S-{}-0x{:012X}", self.revision, a)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = Error;
    /// Parses `S-1-<authority>-<sub>...` (authority decimal or `0x` hex, at most 15
    /// sub-authorities).
    fn from_str(s: &str) -> Result<Sid> {
        let bad = Error::Invalid("SID string");
        let mut parts = s.split('-');
        match parts.next() {
            Some(p) if p.eq_ignore_ascii_case("s") => {}
            _ => return Err(bad),
        }
        let revision: u8 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(bad.clone())?;
        let auth = parts.next().ok_or(bad.clone())?;
        let authority = match auth.strip_prefix("0x").or_else(|| auth.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).map_err(|_| bad.clone())?,
            None => auth.parse::<u64>().map_err(|_| bad.clone())?,
        };
        if authority >> 48 != 0 {
            return Err(bad);
        }
        let mut subs = Vec::new();
        for p in parts {
            if subs.len() == SID_MAX_SUB_AUTHORITIES {
                return Err(Error::Invalid("SubAuthorityCount"));
            }
            subs.push(p.parse::<u32>().map_err(|_| bad.clone())?);
        }
        let mut sid = Sid::new(authority, &subs);
        sid.revision = revision;
        Ok(sid)
    }
}

/// AceType values (MS-DTYP 2.4.4.1).
pub mod ace_type {
    /// ACCESS_ALLOWED_ACE_TYPE
    pub const ACCESS_ALLOWED: u8 = 0x00;
    /// ACCESS_DENIED_ACE_TYPE
    pub const ACCESS_DENIED: u8 = 0x01;
    /// SYSTEM_AUDIT_ACE_TYPE
    pub const SYSTEM_AUDIT: u8 = 0x02;
    /// SYSTEM_ALARM_ACE_TYPE
    pub const SYSTEM_ALARM: u8 = 0x03;
    /// ACCESS_ALLOWED_OBJECT_ACE_TYPE
    pub const ACCESS_ALLOWED_OBJECT: u8 = 0x05;
    /// ACCESS_DENIED_OBJECT_ACE_TYPE
    pub const ACCESS_DENIED_OBJECT: u8 = 0x06;
    /// SYSTEM_AUDIT_OBJECT_ACE_TYPE
    pub const SYSTEM_AUDIT_OBJECT: u8 = 0x07;
    /// SYSTEM_ALARM_OBJECT_ACE_TYPE
    pub const SYSTEM_ALARM_OBJECT: u8 = 0x08;
    /// ACCESS_ALLOWED_CALLBACK_ACE_TYPE
    pub const ACCESS_ALLOWED_CALLBACK: u8 = 0x09;
    /// ACCESS_DENIED_CALLBACK_ACE_TYPE
    pub const ACCESS_DENIED_CALLBACK: u8 = 0x0A;
    /// ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE
    pub const ACCESS_ALLOWED_CALLBACK_OBJECT: u8 = 0x0B;
    /// ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE
    pub const ACCESS_DENIED_CALLBACK_OBJECT: u8 = 0x0C;
    /// SYSTEM_AUDIT_CALLBACK_ACE_TYPE
    pub const SYSTEM_AUDIT_CALLBACK: u8 = 0x0D;
    /// SYSTEM_ALARM_CALLBACK_ACE_TYPE
    pub const SYSTEM_ALARM_CALLBACK: u8 = 0x0E;
    /// SYSTEM_AUDIT_CALLBACK_OBJECT_ACE_TYPE
    pub const SYSTEM_AUDIT_CALLBACK_OBJECT: u8 = 0x0F;
    /// SYSTEM_ALARM_CALLBACK_OBJECT_ACE_TYPE
    pub const SYSTEM_ALARM_CALLBACK_OBJECT: u8 = 0x10;
    /// SYSTEM_MANDATORY_LABEL_ACE_TYPE
    pub const SYSTEM_MANDATORY_LABEL: u8 = 0x11;
    /// SYSTEM_RESOURCE_ATTRIBUTE_ACE_TYPE
    pub const SYSTEM_RESOURCE_ATTRIBUTE: u8 = 0x12;
    /// SYSTEM_SCOPED_POLICY_ID_ACE_TYPE
    pub const SYSTEM_SCOPED_POLICY_ID: u8 = 0x13;

    /// Whether the type has the object-ACE layout (Flags, ObjectType, InheritedObjectType).
    pub fn is_object(t: u8) -> bool {
        matches!(t, 0x05..=0x08 | 0x0B | 0x0C | 0x0F | 0x10)
    }
    /// Whether the type is one this codec knows (0x00-0x13 except the reserved 0x04).
    pub fn is_known(t: u8) -> bool {
        t <= 0x13 && t != 0x04
    }
}

/// AceFlags bits (MS-DTYP 2.4.4.1).
pub mod ace_flags {
    /// OBJECT_INHERIT_ACE
    pub const OBJECT_INHERIT: u8 = 0x01;
    /// CONTAINER_INHERIT_ACE
    pub const CONTAINER_INHERIT: u8 = 0x02;
    /// NO_PROPAGATE_INHERIT_ACE
    pub const NO_PROPAGATE_INHERIT: u8 = 0x04;
    /// INHERIT_ONLY_ACE
    pub const INHERIT_ONLY: u8 = 0x08;
    /// INHERITED_ACE
    pub const INHERITED: u8 = 0x10;
    /// SUCCESSFUL_ACCESS_ACE_FLAG (audit ACEs)
    pub const SUCCESSFUL_ACCESS: u8 = 0x40;
    /// FAILED_ACCESS_ACE_FLAG (audit ACEs)
    pub const FAILED_ACCESS: u8 = 0x80;
}

/// Common access mask values for files (MS-SMB2 2.2.13.1.1, MS-DTYP 2.4.3).
pub mod access_mask {
    /// FILE_ALL_ACCESS
    pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
    /// FILE_GENERIC_READ
    pub const FILE_GENERIC_READ: u32 = 0x0012_0089;
    /// FILE_GENERIC_WRITE
    pub const FILE_GENERIC_WRITE: u32 = 0x0012_0116;
    /// FILE_GENERIC_EXECUTE
    pub const FILE_GENERIC_EXECUTE: u32 = 0x0012_00A0;
    /// GENERIC_ALL
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GENERIC_EXECUTE
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// GENERIC_WRITE
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GENERIC_READ
    pub const GENERIC_READ: u32 = 0x8000_0000;
}

/// ACE_OBJECT_TYPE_PRESENT in [`ObjectAceData::flags`].
pub const ACE_OBJECT_TYPE_PRESENT: u32 = 0x1;
/// ACE_INHERITED_OBJECT_TYPE_PRESENT in [`ObjectAceData::flags`].
pub const ACE_INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// The extra fields of an object ACE (MS-DTYP 2.4.4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectAceData {
    /// Flags; the two "present" bits are recomputed from the options on encode.
    pub flags: u32,
    /// ObjectType
    pub object_type: Option<Guid>,
    /// InheritedObjectType
    pub inherited_object_type: Option<Guid>,
}

/// An access control entry (MS-DTYP 2.4.4). Every known ACE type is a header, a Mask, for
/// object types the [`ObjectAceData`], a SID, and type-specific trailing data (callback
/// ApplicationData, resource attribute) kept raw in `application_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// AceType ([`ace_type`])
    pub ace_type: u8,
    /// AceFlags ([`ace_flags`])
    pub ace_flags: u8,
    /// Mask (access rights)
    pub mask: u32,
    /// Object ACE fields; `Some` exactly for object ACE types.
    pub object: Option<ObjectAceData>,
    /// Sid
    pub sid: Sid,
    /// Bytes after the SID up to AceSize, kept as is.
    pub application_data: Vec<u8>,
}

impl Ace {
    /// A non-object ACE with no trailing data.
    pub fn new(ace_type: u8, ace_flags: u8, mask: u32, sid: Sid) -> Ace {
        Ace {
            ace_type,
            ace_flags,
            mask,
            object: None,
            sid,
            application_data: Vec::new(),
        }
    }

    /// AceSize of the encoded ACE (application data is padded to 4 bytes).
    pub fn len(&self) -> usize {
        let obj = match &self.object {
            Some(o) => {
                4 + 16
                    * (o.object_type.is_some() as usize
                        + o.inherited_object_type.is_some() as usize)
            }
            None => 0,
        };
        let body = 8 + obj + self.sid.len() + self.application_data.len();
        (body + 3) & !3
    }

    /// Always false: an ACE has at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the ACE. Fails for an unknown type, a mismatch between the type and
    /// `object`, or an ACE larger than 65535 bytes.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        if !ace_type::is_known(self.ace_type)
            || ace_type::is_object(self.ace_type) != self.object.is_some()
        {
            return Err(Error::Invalid("AceType"));
        }
        let size = u16::try_from(self.len()).map_err(|_| Error::Invalid("AceSize"))?;
        let start = out.len();
        out.put_u8(self.ace_type);
        out.put_u8(self.ace_flags);
        out.put_u16_le(size);
        out.put_u32_le(self.mask);
        if let Some(o) = &self.object {
            let mut flags =
                o.flags & !(ACE_OBJECT_TYPE_PRESENT | ACE_INHERITED_OBJECT_TYPE_PRESENT);
            if o.object_type.is_some() {
                flags |= ACE_OBJECT_TYPE_PRESENT;
            }
            if o.inherited_object_type.is_some() {
                flags |= ACE_INHERITED_OBJECT_TYPE_PRESENT;
            }
            out.put_u32_le(flags);
            for g in [&o.object_type, &o.inherited_object_type]
                .into_iter()
                .flatten()
            {
                out.put_slice(&g.0);
            }
        }
        self.sid.encode(out)?;
        out.put_slice(&self.application_data);
        crate::wire::pad_to(out, start, 4);
        Ok(())
    }

    /// Decodes one ACE at the start of `b`, returning it and its AceSize.
    pub fn decode(b: &[u8]) -> Result<(Ace, usize)> {
        let mut r = Reader::new(b);
        let t = r.u8()?;
        let ace_flags = r.u8()?;
        let size = r.u16()? as usize;
        if size < 16 || !size.is_multiple_of(4) {
            return Err(Error::Invalid("AceSize"));
        }
        if !ace_type::is_known(t) {
            return Err(Error::Invalid("AceType"));
        }
        let mut body = Reader::new(r.bytes(size - 4)?);
        let mask = body.u32()?;
        let object = if ace_type::is_object(t) {
            let flags = body.u32()?;
            let mut g = |bit: u32| -> Result<Option<Guid>> {
                if flags & bit != 0 {
                    Ok(Some(Guid(body.array()?)))
                } else {
                    Ok(None)
                }
            };
            let object_type = g(ACE_OBJECT_TYPE_PRESENT)?;
            let inherited_object_type = g(ACE_INHERITED_OBJECT_TYPE_PRESENT)?;
            Some(ObjectAceData {
                flags,
                object_type,
                inherited_object_type,
            })
        } else {
            None
        };
        let sid = Sid::read(&mut body)?;
        let rest = body.remaining();
        let application_data = body.bytes(rest)?.to_vec();
        Ok((
            Ace {
                ace_type: t,
                ace_flags,
                mask,
                object,
                sid,
                application_data,
            },
            size,
        ))
    }
}

/// ACL_REVISION (ACLs without object ACEs).
pub const ACL_REVISION: u8 = 2;
/// ACL_REVISION_DS (ACLs that may contain object ACEs).
pub const ACL_REVISION_DS: u8 = 4;

/// An access control list (MS-DTYP 2.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// AclRevision (2 or 4; 3 is accepted on decode)
    pub acl_revision: u8,
    /// The ACEs in order.
    pub aces: Vec<Ace>,
}

impl Acl {
    /// Size of the ACL header.
    pub const HEADER_LEN: usize = 8;

    /// An ACL of revision 2 with `aces`.
    pub fn new(aces: Vec<Ace>) -> Acl {
        Acl {
            acl_revision: ACL_REVISION,
            aces,
        }
    }

    /// AclSize of the encoded ACL.
    pub fn len(&self) -> usize {
        Self::HEADER_LEN + self.aces.iter().map(Ace::len).sum::<usize>()
    }

    /// True when the ACL has no ACE (which denies everything when used as a DACL).
    pub fn is_empty(&self) -> bool {
        self.aces.is_empty()
    }

    /// Appends the ACL. Fails when it would exceed 65535 bytes or 65535 ACEs.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let size = u16::try_from(self.len()).map_err(|_| Error::Invalid("AclSize"))?;
        let count = u16::try_from(self.aces.len()).map_err(|_| Error::Invalid("AceCount"))?;
        out.put_u8(self.acl_revision);
        out.put_u8(0);
        out.put_u16_le(size);
        out.put_u16_le(count);
        out.put_u16_le(0);
        for a in &self.aces {
            a.encode(out)?;
        }
        Ok(())
    }

    /// Decodes an ACL at the start of `b`. AclSize must fit in `b` and hold all AceCount
    /// ACEs (bytes after the last ACE inside AclSize are ignored).
    pub fn decode(b: &[u8]) -> Result<Acl> {
        let mut r = Reader::new(b);
        let acl_revision = r.u8()?;
        if !(2..=4).contains(&acl_revision) {
            return Err(Error::Invalid("AclRevision"));
        }
        r.skip(1)?;
        let size = r.u16()? as usize;
        let count = r.u16()? as usize;
        r.skip(2)?;
        if size < Self::HEADER_LEN {
            return Err(Error::Invalid("AclSize"));
        }
        let body = b.get(Self::HEADER_LEN..size).ok_or(Error::Truncated)?;
        // The smallest ACE is 16 bytes (header, mask, SID with no sub-authority).
        if count > body.len() / 16 {
            return Err(Error::Invalid("AceCount"));
        }
        let mut aces = Vec::with_capacity(count);
        let mut off = 0usize;
        for _ in 0..count {
            let rest = body.get(off..).ok_or(Error::Invalid("AclSize"))?;
            let (ace, n) = Ace::decode(rest).map_err(|e| match e {
                Error::Truncated => Error::Invalid("AclSize"),
                e => e,
            })?;
            aces.push(ace);
            off += n;
        }
        Ok(Acl { acl_revision, aces })
    }
}

/// SECURITY_DESCRIPTOR Control bits (MS-DTYP 2.4.6).
pub mod control {
    /// SE_OWNER_DEFAULTED (OD)
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    /// SE_GROUP_DEFAULTED (GD)
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    /// SE_DACL_PRESENT (DP)
    pub const DACL_PRESENT: u16 = 0x0004;
    /// SE_DACL_DEFAULTED (DD)
    pub const DACL_DEFAULTED: u16 = 0x0008;
    /// SE_SACL_PRESENT (SP)
    pub const SACL_PRESENT: u16 = 0x0010;
    /// SE_SACL_DEFAULTED (SD)
    pub const SACL_DEFAULTED: u16 = 0x0020;
    /// SE_DACL_TRUSTED (DT)
    pub const DACL_TRUSTED: u16 = 0x0040;
    /// SE_SERVER_SECURITY (SS)
    pub const SERVER_SECURITY: u16 = 0x0080;
    /// SE_DACL_AUTO_INHERIT_REQ (DC)
    pub const DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
    /// SE_SACL_AUTO_INHERIT_REQ (SC)
    pub const SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
    /// SE_DACL_AUTO_INHERITED (DI)
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    /// SE_SACL_AUTO_INHERITED (SI)
    pub const SACL_AUTO_INHERITED: u16 = 0x0800;
    /// SE_DACL_PROTECTED (PD)
    pub const DACL_PROTECTED: u16 = 0x1000;
    /// SE_SACL_PROTECTED (PS)
    pub const SACL_PROTECTED: u16 = 0x2000;
    /// SE_RM_CONTROL_VALID (RM)
    pub const RM_CONTROL_VALID: u16 = 0x4000;
    /// SE_SELF_RELATIVE (SR)
    pub const SELF_RELATIVE: u16 = 0x8000;
    /// The bits that describe the DACL.
    pub const DACL_BITS: u16 = DACL_PRESENT
        | DACL_DEFAULTED
        | DACL_TRUSTED
        | DACL_AUTO_INHERIT_REQ
        | DACL_AUTO_INHERITED
        | DACL_PROTECTED;
    /// The bits that describe the SACL.
    pub const SACL_BITS: u16 = SACL_PRESENT
        | SACL_DEFAULTED
        | SACL_AUTO_INHERIT_REQ
        | SACL_AUTO_INHERITED
        | SACL_PROTECTED;
}

/// A security descriptor (MS-DTYP 2.4.6), decoded from or encoded to the self-relative
/// form. `dacl: None` with [`control::DACL_PRESENT`] set is a NULL DACL (no protection);
/// without it, there is no DACL. The same holds for the SACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityDescriptor {
    /// Control ([`control`]); SE_SELF_RELATIVE is always set on encode.
    pub control: u16,
    /// OwnerSid
    pub owner: Option<Sid>,
    /// GroupSid
    pub group: Option<Sid>,
    /// Sacl
    pub sacl: Option<Acl>,
    /// Dacl
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// Size of the fixed header.
    pub const HEADER_LEN: usize = 20;

    /// Decodes a self-relative security descriptor. Each non-zero offset must point inside
    /// `b` past the header, and the part it points at must fit in `b`. The SACL/DACL are
    /// read only when their PRESENT bit is set.
    pub fn decode(b: &[u8]) -> Result<SecurityDescriptor> {
        let mut r = Reader::new(b);
        if r.u8()? != 1 {
            return Err(Error::Invalid("SD Revision"));
        }
        r.skip(1)?;
        let control = r.u16()?;
        let offsets = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let part = |off: u32| -> Result<Option<&[u8]>> {
            let off = off as usize;
            if off == 0 {
                return Ok(None);
            }
            if off < Self::HEADER_LEN {
                return Err(Error::Invalid("SD offset"));
            }
            b.get(off..).map(Some).ok_or(Error::Truncated)
        };
        let owner = part(offsets[0])?.map(Sid::decode).transpose()?;
        let group = part(offsets[1])?.map(Sid::decode).transpose()?;
        let sacl = if control & control::SACL_PRESENT != 0 {
            part(offsets[2])?.map(Acl::decode).transpose()?
        } else {
            None
        };
        let dacl = if control & control::DACL_PRESENT != 0 {
            part(offsets[3])?.map(Acl::decode).transpose()?
        } else {
            None
        };
        Ok(SecurityDescriptor {
            control,
            owner,
            group,
            sacl,
            dacl,
        })
    }

    /// Appends the self-relative form: header, SACL, DACL, owner, group (the order Windows
    /// uses). Sets SE_SELF_RELATIVE, and SE_SACL_PRESENT/SE_DACL_PRESENT for a present ACL.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let start = out.len();
        let mut c = self.control | control::SELF_RELATIVE;
        if self.sacl.is_some() {
            c |= control::SACL_PRESENT;
        }
        if self.dacl.is_some() {
            c |= control::DACL_PRESENT;
        }
        out.put_u8(1);
        out.put_u8(0);
        out.put_u16_le(c);
        out.put_bytes(0, 16);
        let mut offs = [0u32; 4];
        let to_u32 = |n: usize| u32::try_from(n).map_err(|_| Error::Invalid("SD size"));
        if let Some(a) = &self.sacl {
            offs[2] = to_u32(out.len() - start)?;
            a.encode(out)?;
        }
        if let Some(a) = &self.dacl {
            offs[3] = to_u32(out.len() - start)?;
            a.encode(out)?;
        }
        if let Some(s) = &self.owner {
            offs[0] = to_u32(out.len() - start)?;
            s.encode(out)?;
        }
        if let Some(s) = &self.group {
            offs[1] = to_u32(out.len() - start)?;
            s.encode(out)?;
        }
        for (i, o) in offs.iter().enumerate() {
            let at = start + 4 + 4 * i;
            if let Some(slot) = out.get_mut(at..at + 4) {
                slot.copy_from_slice(&o.to_le_bytes());
            }
        }
        Ok(())
    }

    /// The self-relative form as a vector.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.to_vec())
    }

    /// The parts asked for by a QUERY_INFO AdditionalInformation (MS-SMB2 2.2.37):
    /// OWNER/GROUP/DACL/SACL_SECURITY_INFORMATION select those parts and their control
    /// bits; LABEL/ATTRIBUTE/SCOPE_SECURITY_INFORMATION without SACL select only the
    /// mandatory-label / resource-attribute / scoped-policy ACEs of the SACL;
    /// BACKUP_SECURITY_INFORMATION selects everything.
    pub fn filter(&self, additional_information: u32) -> SecurityDescriptor {
        use super::*;
        let ai = if additional_information & BACKUP_SECURITY_INFORMATION != 0 {
            OWNER_SECURITY_INFORMATION
                | GROUP_SECURITY_INFORMATION
                | DACL_SECURITY_INFORMATION
                | SACL_SECURITY_INFORMATION
        } else {
            additional_information
        };
        let mut c = control::SELF_RELATIVE
            | (self.control & (control::RM_CONTROL_VALID | control::SERVER_SECURITY));
        let mut sd = SecurityDescriptor::default();
        if ai & OWNER_SECURITY_INFORMATION != 0 {
            sd.owner = self.owner.clone();
            c |= self.control & control::OWNER_DEFAULTED;
        }
        if ai & GROUP_SECURITY_INFORMATION != 0 {
            sd.group = self.group.clone();
            c |= self.control & control::GROUP_DEFAULTED;
        }
        if ai & DACL_SECURITY_INFORMATION != 0 {
            sd.dacl = self.dacl.clone();
            c |= self.control & control::DACL_BITS;
        }
        if ai & SACL_SECURITY_INFORMATION != 0 {
            sd.sacl = self.sacl.clone();
            c |= self.control & control::SACL_BITS;
        } else {
            let mut types = Vec::new();
            if ai & LABEL_SECURITY_INFORMATION != 0 {
                types.push(ace_type::SYSTEM_MANDATORY_LABEL);
            }
            if ai & ATTRIBUTE_SECURITY_INFORMATION != 0 {
                types.push(ace_type::SYSTEM_RESOURCE_ATTRIBUTE);
            }
            if ai & SCOPE_SECURITY_INFORMATION != 0 {
                types.push(ace_type::SYSTEM_SCOPED_POLICY_ID);
            }
            if let (false, Some(sacl)) = (types.is_empty(), &self.sacl) {
                let aces: Vec<Ace> = sacl
                    .aces
                    .iter()
                    .filter(|a| types.contains(&a.ace_type))
                    .cloned()
                    .collect();
                sd.sacl = Some(Acl {
                    acl_revision: sacl.acl_revision,
                    aces,
                });
                c |= self.control & control::SACL_BITS;
            }
        }
        sd.control = c;
        sd
    }
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
