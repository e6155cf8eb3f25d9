//! Access masks of CREATE: validation of DesiredAccess (MS-SMB2 3.3.5.9), mapping of the
//! GENERIC_* bits (MS-DTYP 2.4.3, MS-FSA 2.1.5.1 with the file mapping of MS-SMB2 2.2.13.1.1),
//! MAXIMUM_ALLOWED, and what a read-only share or a read-only file leaves of them.
//!
//! What a session may do is bounded by the tree connect's MaximalAccess (the share's
//! read-only setting), by the file's FILE_ATTRIBUTE_READONLY (MS-FSA 2.1.5.1.2.1), and by
//! the object's security descriptor evaluated against the session's token
//! ([`super::acl::existing_rights`], MS-DTYP 2.5.3.2).
use crate::wire::create::access_mask::*;
use crate::wire::NtStatus;

/// Bits of DesiredAccess that MUST make the request fail with STATUS_ACCESS_DENIED
/// (MS-SMB2 3.3.5.9: 0x0CE0FE00 are reserved).
pub const RESERVED_ACCESS: u32 = 0x0CE0_FE00;

/// Every specific and standard right on a file (FILE_ALL_ACCESS, MS-SMB2 2.2.13.1.1).
pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
/// FILE_GENERIC_READ.
pub const FILE_GENERIC_READ: u32 =
    READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
/// FILE_GENERIC_WRITE.
pub const FILE_GENERIC_WRITE: u32 = READ_CONTROL
    | FILE_WRITE_DATA
    | FILE_WRITE_ATTRIBUTES
    | FILE_WRITE_EA
    | FILE_APPEND_DATA
    | SYNCHRONIZE;
/// FILE_GENERIC_EXECUTE.
pub const FILE_GENERIC_EXECUTE: u32 =
    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE;

/// Rights a FILE_ATTRIBUTE_READONLY file never grants (MS-FSA 2.1.5.1.2.1: data writes;
/// deletion fails with STATUS_CANNOT_DELETE).
pub const READONLY_FILE_DENIES: u32 = FILE_WRITE_DATA | FILE_APPEND_DATA;

/// Replaces GENERIC_* bits by the file rights they stand for (MS-SMB2 2.2.13.1.1).
pub fn map_generic(mut a: u32) -> u32 {
    if a & GENERIC_READ != 0 {
        a |= FILE_GENERIC_READ;
    }
    if a & GENERIC_WRITE != 0 {
        a |= FILE_GENERIC_WRITE;
    }
    if a & GENERIC_EXECUTE != 0 {
        a |= FILE_GENERIC_EXECUTE;
    }
    if a & GENERIC_ALL != 0 {
        a |= FILE_ALL_ACCESS;
    }
    a & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL)
}

/// The requested access after validation and generic mapping, MAXIMUM_ALLOWED kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requested {
    /// The specific and standard rights asked for.
    pub access: u32,
    /// MAXIMUM_ALLOWED was set.
    pub maximum: bool,
}

/// Validates DesiredAccess (MS-SMB2 3.3.5.9): reserved bits and an empty mask are
/// STATUS_ACCESS_DENIED (SYNCHRONIZE alone is accepted: smb2.sharemode opens with it); ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which no session
/// holds here (STATUS_PRIVILEGE_NOT_HELD).
pub fn validate(desired: u32) -> Result<Requested, NtStatus> {
    if desired & RESERVED_ACCESS != 0 || desired == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if desired & ACCESS_SYSTEM_SECURITY != 0 {
        return Err(NtStatus::PRIVILEGE_NOT_HELD);
    }
    Ok(Requested {
        access: map_generic(desired & !MAXIMUM_ALLOWED),
        maximum: desired & MAXIMUM_ALLOWED != 0,
    })
}

/// The most an open may get: the tree connect's MaximalAccess, less the data-write rights
/// on a read-only file. DELETE stays grantable there (only deleting fails, with
/// STATUS_CANNOT_DELETE).
pub fn maximal(tree_max: u32, readonly_file: bool, is_dir: bool) -> u32 {
    let mut m = tree_max & FILE_ALL_ACCESS;
    if readonly_file && !is_dir {
        m &= !READONLY_FILE_DENIES;
    }
    m
}

/// GrantedAccess for a request against `max` (MS-FSA 2.1.5.1.2.1 access check): every bit
/// asked for must be in `max`; MAXIMUM_ALLOWED adds all of `max`.
pub fn grant(req: Requested, max: u32) -> Result<u32, NtStatus> {
    if req.access & !max & !SYNCHRONIZE != 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    Ok(if req.maximum {
        req.access | max
    } else {
        req.access
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_mapping() {
        assert_eq!(map_generic(GENERIC_ALL), FILE_ALL_ACCESS);
        assert_eq!(map_generic(GENERIC_READ), 0x0012_0089);
        assert_eq!(map_generic(GENERIC_WRITE), 0x0012_0116);
        assert_eq!(map_generic(GENERIC_EXECUTE), 0x0012_00A0);
        assert_eq!(map_generic(FILE_READ_DATA), FILE_READ_DATA);
    }

    #[test]
    fn validation() {
        assert_eq!(validate(0), Err(NtStatus::ACCESS_DENIED));
        assert!(validate(SYNCHRONIZE).is_ok());
        assert_eq!(validate(0x0800_0000), Err(NtStatus::ACCESS_DENIED));
        assert_eq!(validate(0x0000_0200), Err(NtStatus::ACCESS_DENIED));
        assert_eq!(
            validate(ACCESS_SYSTEM_SECURITY),
            Err(NtStatus::PRIVILEGE_NOT_HELD)
        );
        let r = validate(MAXIMUM_ALLOWED).unwrap();
        assert!(r.maximum && r.access == 0);
    }

    #[test]
    fn grants() {
        let ro = 0x0012_00A9;
        let r = validate(FILE_WRITE_DATA).unwrap();
        assert_eq!(grant(r, ro), Err(NtStatus::ACCESS_DENIED));
        let r = validate(MAXIMUM_ALLOWED).unwrap();
        assert_eq!(grant(r, ro), Ok(ro));
        assert_eq!(
            maximal(FILE_ALL_ACCESS, true, false) & (FILE_WRITE_DATA | DELETE),
            DELETE
        );
        assert_eq!(maximal(FILE_ALL_ACCESS, true, true), FILE_ALL_ACCESS);
    }
}
