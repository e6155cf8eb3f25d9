//! Security descriptors at CREATE: the access check of an existing object against its stored
//! descriptor (MS-FSA 2.1.5.1.2.1, MS-DTYP 2.5.3.2, with DELETE also granted through the
//! parent's FILE_DELETE_CHILD and FILE_READ_ATTRIBUTES through its FILE_LIST_DIRECTORY), and
//! the descriptor of a new object (MS-DTYP 2.5.3.4 CreateSecurityDescriptor): owner = the
//! creator, the ACEs inherited from the parent (2.5.3.4.2, CREATOR OWNER and CREATOR GROUP
//! mapped, generic rights mapped), or full control for the owner and SYSTEM when nothing is
//! inherited, then the parts an SMB2_CREATE_SD_BUFFER supplies (owner, group, and the
//! DACL/SACL when present, MS-SMB2 3.3.5.9.3); and the parent-directory check of a CREATE
//! that creates (FILE_ADD_FILE / FILE_ADD_SUBDIRECTORY, MS-FSA 2.1.5.1.1).
//!
//! A descriptor is stored only below a directory that has one (or when the client supplies
//! one): an object without a stored descriptor has the default one
//! ([`crate::server::handlers::info::security::default_sd`]), whose owner is whoever asks,
//! so it restricts nothing.
use crate::server::handlers::info::security::{
    self as sec, access_check, default_sd, map_generic, merge, Token,
};
use crate::vfs::{self, Handle, OpenRequest, SharePath};
use crate::wire::create::access_mask as am;
use crate::wire::info::security::access_mask::FILE_ALL_ACCESS;
use crate::wire::info::security::{
    ace_flags, ace_type, control, Ace, Acl, SecurityDescriptor, Sid,
};
use crate::wire::info::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    SACL_SECURITY_INFORMATION,
};
use crate::wire::{BytesMut, NtStatus};

/// Who opens, for the access checks.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session's token.
    pub token: Token,
    /// The primary group of new objects.
    pub group: Sid,
}

fn stored_sd(h: &dyn Handle) -> Option<SecurityDescriptor> {
    h.security_descriptor()
        .ok()
        .flatten()
        .and_then(|b| SecurityDescriptor::decode(&b).ok())
}

/// The stored descriptor of the directory containing `path` (`None` for the share root,
/// which has no parent here, or a parent without one).
fn parent_stored_sd(vfs: &dyn vfs::Share, path: &SharePath) -> Option<SecurityDescriptor> {
    let base = path.without_stream();
    base.file_name()?;
    let req = OpenRequest {
        disposition: vfs::CreateDisposition::Open,
        directory: Some(true),
        read: false,
        write: false,
        ..Default::default()
    };
    let (h, _) = vfs.open(&base.parent(), &req).ok()?;
    stored_sd(&*h)
}

/// The descriptor of the directory containing `path`: its stored one, or the default one
/// (owned by the caller, so granting it everything) when it has none.
fn parent_sd(vfs: &dyn vfs::Share, path: &SharePath, caller: &Caller) -> SecurityDescriptor {
    parent_stored_sd(vfs, path)
        .unwrap_or_else(|| default_sd(caller.token.user.clone(), caller.group.clone(), true))
}

/// The rights the stored descriptors allow on an existing object, or `None` when it has no
/// stored descriptor (nothing restricted). Rights the object's DACL does not grant may come
/// from the parent directory (MS-FSA 2.1.5.1.2.1): DELETE through FILE_DELETE_CHILD (looked
/// up only when `want_delete`), FILE_READ_ATTRIBUTES through FILE_LIST_DIRECTORY.
pub fn existing_rights(
    vfs: &dyn vfs::Share,
    path: &SharePath,
    h: &dyn Handle,
    caller: &Caller,
    want_delete: bool,
) -> Option<u32> {
    let sd = stored_sd(h)?;
    let mut rights = access_check(&sd, &caller.token, sec::MAXIMUM_ALLOWED);
    let need_delete = want_delete && rights & am::DELETE == 0;
    let need_read_attr = rights & am::FILE_READ_ATTRIBUTES == 0;
    if need_delete || need_read_attr {
        let by_parent = access_check(
            &parent_sd(vfs, path, caller),
            &caller.token,
            sec::MAXIMUM_ALLOWED,
        );
        if need_delete && by_parent & am::FILE_DELETE_CHILD != 0 {
            rights |= am::DELETE;
        }
        if need_read_attr && by_parent & am::FILE_LIST_DIRECTORY != 0 {
            rights |= am::FILE_READ_ATTRIBUTES;
        }
    }
    // SYNCHRONIZE is never refused on an object one may open.
    Some(rights | am::SYNCHRONIZE)
}

/// Whether a CREATE with `disposition` may create a new object.
fn may_create(d: vfs::CreateDisposition) -> bool {
    use vfs::CreateDisposition::*;
    matches!(d, Supersede | Create | OpenIf | OverwriteIf)
}

/// The parent-directory check of a CREATE that may create an object (MS-FSA 2.1.5.1.1):
/// the parent's descriptor must grant FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a
/// directory). When it does not, `req` is narrowed to the dispositions that only open or
/// overwrite an existing object and `true` is returned: the caller then reports a missing
/// object as STATUS_ACCESS_DENIED ([`creation_error`]). FILE_CREATE fails here already:
/// STATUS_OBJECT_NAME_COLLISION when the object exists, else STATUS_ACCESS_DENIED. A new
/// stream is checked against its file's rights by the open itself, not here.
pub fn restrict_creation(
    vfs: &dyn vfs::Share,
    path: &SharePath,
    req: &mut OpenRequest,
    caller: &Caller,
) -> Result<bool, NtStatus> {
    if !may_create(req.disposition) || path.stream().is_some() {
        return Ok(false);
    }
    let need = if req.directory == Some(true) {
        am::FILE_ADD_SUBDIRECTORY
    } else {
        am::FILE_ADD_FILE
    };
    let allowed =
        parent_stored_sd(vfs, path).is_none_or(|p| access_check(&p, &caller.token, need) == need);
    if allowed {
        return Ok(false);
    }
    use vfs::CreateDisposition::*;
    req.disposition = match req.disposition {
        Create => {
            let probe = OpenRequest {
                disposition: Open,
                ..Default::default()
            };
            return Err(match vfs.open(path, &probe) {
                Ok(_) => NtStatus::OBJECT_NAME_COLLISION,
                Err(_) => NtStatus::ACCESS_DENIED,
            });
        }
        OpenIf => Open,
        _ => Overwrite,
    };
    Ok(true)
}

/// The status of a failed open narrowed by [`restrict_creation`]: a missing object would
/// have been created, which the parent refused.
pub fn creation_error(restricted: bool, status: NtStatus) -> NtStatus {
    if restricted && status == NtStatus::OBJECT_NAME_NOT_FOUND {
        NtStatus::ACCESS_DENIED
    } else {
        status
    }
}

/// CREATOR OWNER becomes the new object's owner, CREATOR GROUP its group.
fn map_creator(sid: &Sid, owner: &Sid, group: &Sid) -> Sid {
    if *sid == Sid::creator_owner() {
        owner.clone()
    } else if *sid == Sid::creator_group() {
        group.clone()
    } else {
        sid.clone()
    }
}

/// The ACEs a new child inherits from its parent's DACL (MS-DTYP 2.5.3.4.2
/// ComputeInheritedACLfromParent, without object types). A file takes the OBJECT_INHERIT
/// ACEs as effective ACEs. A directory takes the CONTAINER_INHERIT ACEs (effective, and
/// still inheritable unless NO_PROPAGATE_INHERIT), and keeps OBJECT_INHERIT-only ACEs as
/// inherit-only ones for the files below. An inheritable ACE whose SID is CREATOR OWNER /
/// CREATOR GROUP or whose mask holds generic rights is split in two: an effective ACE with
/// the SID and rights mapped, and an inherit-only ACE kept as it was. With `auto`
/// (the parent's DACL is SE_DACL_AUTO_INHERITED), every ACE is marked INHERITED_ACE.
fn inherit(parent: &Acl, is_dir: bool, owner: &Sid, group: &Sid, auto: bool) -> Vec<Ace> {
    use ace_flags::*;
    let base_flags = if auto { INHERITED } else { 0 };
    let mut out = Vec::new();
    for a in &parent.aces {
        let oi = a.ace_flags & OBJECT_INHERIT != 0;
        let ci = a.ace_flags & CONTAINER_INHERIT != 0;
        let no_prop = a.ace_flags & NO_PROPAGATE_INHERIT != 0;
        let flags = base_flags | (a.ace_flags & (SUCCESSFUL_ACCESS | FAILED_ACCESS));
        let effective = || {
            let mut e = a.clone();
            e.sid = map_creator(&a.sid, owner, group);
            e.mask = map_generic(a.mask);
            e.ace_flags = flags;
            e
        };
        if !is_dir {
            if oi {
                out.push(effective());
            }
            continue;
        }
        if !(ci || (oi && !no_prop)) {
            continue;
        }
        if no_prop {
            out.push(effective());
            continue;
        }
        if !ci {
            let mut e = a.clone();
            e.ace_flags = flags | OBJECT_INHERIT | INHERIT_ONLY;
            out.push(e);
            continue;
        }
        let keep = a.ace_flags & (OBJECT_INHERIT | CONTAINER_INHERIT);
        let creator = a.sid == Sid::creator_owner() || a.sid == Sid::creator_group();
        if creator || map_generic(a.mask) != a.mask {
            out.push(effective());
            let mut e = a.clone();
            e.ace_flags = flags | keep | INHERIT_ONLY;
            out.push(e);
        } else {
            let mut e = a.clone();
            e.ace_flags = flags | keep;
            out.push(e);
        }
    }
    out
}

/// The DACL of a new object that inherits nothing: full control for its owner and for
/// SYSTEM (the default DACL of a Windows token).
fn creator_default_dacl(owner: &Sid) -> Acl {
    let full = |sid| Ace::new(ace_type::ACCESS_ALLOWED, 0, FILE_ALL_ACCESS, sid);
    Acl::new(vec![full(owner.clone()), full(Sid::local_system())])
}

/// The descriptor to store on a new object (MS-DTYP 2.5.3.4 CreateSecurityDescriptor):
/// owner and group from the caller, the DACL inherited from the parent (or the creator
/// default when nothing is inherited), then the parts an SMB2_CREATE_SD_BUFFER supplies.
/// `None` — nothing stored — for a new stream, which shares its file's descriptor, and for
/// an object whose parent has no stored descriptor when the request supplies none: such an
/// object has the default descriptor like its parent, and storing one would cost every new
/// file an xattr block (a descriptor does not fit in an ext4 inode), which the
/// AllocationSize clients see would include.
pub fn new_object_sd(
    vfs: &dyn vfs::Share,
    path: &SharePath,
    is_dir: bool,
    caller: &Caller,
    supplied: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, NtStatus> {
    if path.stream().is_some() {
        return Ok(None);
    }
    let owner = caller.token.user.clone();
    let group = caller.group.clone();
    let mut sd = SecurityDescriptor {
        control: control::SELF_RELATIVE | control::DACL_PRESENT,
        owner: Some(owner.clone()),
        group: Some(group.clone()),
        sacl: None,
        dacl: None,
    };
    let Some(parent) = parent_stored_sd(vfs, path)
        .or_else(|| supplied.map(|_| default_sd(owner.clone(), group.clone(), true)))
    else {
        // Nothing to record: the object has the default descriptor, as its parent does.
        return Ok(None);
    };
    let auto = parent.control & control::DACL_AUTO_INHERITED != 0;
    let inherited = parent
        .dacl
        .map(|d| inherit(&d, is_dir, &owner, &group, auto))
        .unwrap_or_default();
    if inherited.is_empty() {
        sd.dacl = Some(creator_default_dacl(&owner));
    } else {
        sd.dacl = Some(Acl::new(inherited));
        if auto {
            sd.control |= control::DACL_AUTO_INHERITED;
        }
    }
    if let Some(raw) = supplied {
        let mut new = SecurityDescriptor::decode(raw).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let mut ai = 0;
        if let Some(o) = &new.owner {
            if !caller.token.has(o) {
                return Err(sec::INVALID_OWNER);
            }
            ai |= OWNER_SECURITY_INFORMATION;
        }
        if new.group.is_some() {
            ai |= GROUP_SECURITY_INFORMATION;
        }
        if new.control & control::DACL_PRESENT != 0 {
            ai |= DACL_SECURITY_INFORMATION;
        }
        if new.control & control::SACL_PRESENT != 0 {
            ai |= SACL_SECURITY_INFORMATION;
        }
        sec::normalize(&mut new);
        sd = merge(&sd, &new, ai);
    }
    let mut b = BytesMut::new();
    sd.encode(&mut b).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    Ok(Some(b.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inheritance_to_files_and_directories() {
        let owner = Sid::new(5, &[21, 1, 2, 3, 1000]);
        let acl = Acl::new(vec![
            Ace::new(
                ace_type::ACCESS_ALLOWED,
                ace_flags::OBJECT_INHERIT,
                0x1e01bf,
                owner.clone(),
            ),
            Ace::new(
                ace_type::ACCESS_ALLOWED,
                ace_flags::CONTAINER_INHERIT,
                0x1f01ff,
                Sid::creator_owner(),
            ),
            Ace::new(ace_type::ACCESS_ALLOWED, 0, 0x1f01ff, Sid::everyone()),
        ]);
        let group = Sid::new(5, &[21, 1, 2, 3, 513]);
        let f = inherit(&acl, false, &owner, &group, true);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ace_flags, ace_flags::INHERITED);
        let d = inherit(&acl, true, &owner, &group, false);
        // The OI-only ACE stays inherit-only; the CREATOR OWNER CI ACE splits in two.
        assert_eq!(d.len(), 3);
        assert_eq!(
            d[0].ace_flags,
            ace_flags::INHERIT_ONLY | ace_flags::OBJECT_INHERIT
        );
        assert_eq!((d[1].sid.clone(), d[1].ace_flags), (owner.clone(), 0));
        assert_eq!(d[2].sid, Sid::creator_owner());
        assert_eq!(
            d[2].ace_flags,
            ace_flags::CONTAINER_INHERIT | ace_flags::INHERIT_ONLY
        );
        // NO_PROPAGATE_INHERIT: effective only.
        let np = Acl::new(vec![Ace::new(
            ace_type::ACCESS_ALLOWED,
            ace_flags::CONTAINER_INHERIT | ace_flags::NO_PROPAGATE_INHERIT,
            0x1000_0000,
            Sid::creator_owner(),
        )]);
        let d = inherit(&np, true, &owner, &group, false);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].mask, d[0].ace_flags), (FILE_ALL_ACCESS, 0));
        assert_eq!(d[0].sid, owner);
        // Only OBJECT_INHERIT with NO_PROPAGATE_INHERIT: nothing for a directory.
        let np_oi = Acl::new(vec![Ace::new(
            ace_type::ACCESS_ALLOWED,
            ace_flags::OBJECT_INHERIT | ace_flags::NO_PROPAGATE_INHERIT,
            0x2,
            Sid::creator_owner(),
        )]);
        assert!(inherit(&np_oi, true, &owner, &group, false).is_empty());
        assert_eq!(inherit(&np_oi, false, &owner, &group, false).len(), 1);
    }

    #[test]
    fn restricted_creation_reports_access_denied() {
        assert_eq!(
            creation_error(true, NtStatus::OBJECT_NAME_NOT_FOUND),
            NtStatus::ACCESS_DENIED
        );
        assert_eq!(
            creation_error(false, NtStatus::OBJECT_NAME_NOT_FOUND),
            NtStatus::OBJECT_NAME_NOT_FOUND
        );
        assert!(may_create(vfs::CreateDisposition::OpenIf));
        assert!(!may_create(vfs::CreateDisposition::Overwrite));
    }
}
