//! Security descriptors at CREATE: the access check of an existing object against its stored
//! descriptor (MS-FSA 2.1.5.1.2.1, MS-DTYP 2.5.3.2, with DELETE also granted through the
//! parent's FILE_DELETE_CHILD), and the descriptor of a new object (MS-DTYP 2.5.3.4
//! CreateSecurityDescriptor, simplified): the parent's inheritable ACEs, then the parts an
//! SMB2_CREATE_SD_BUFFER supplies (owner, group, and the DACL/SACL when present, MS-SMB2
//! 3.3.5.9.3). An object without a stored descriptor has the default one
//! ([`info::security::default_sd`]): its owner is whoever asks, so it restricts nothing.
use crate::server::handlers::info::security::{
    self as sec, access_check, default_sd, merge, Token,
};
use crate::vfs::{self, Handle, OpenRequest, SharePath};
use crate::wire::create::access_mask as am;
use crate::wire::info::security::{ace_flags, control, Ace, Acl, SecurityDescriptor, Sid};
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

/// The stored descriptor of the directory containing `path` (none for the root).
fn parent_sd(vfs: &dyn vfs::Share, path: &SharePath) -> Option<SecurityDescriptor> {
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

/// The rights the stored descriptors allow on an existing object, or `None` when it has no
/// stored descriptor (nothing restricted). `want_delete`: look for DELETE through the
/// parent's FILE_DELETE_CHILD when the object's DACL does not grant it.
pub fn existing_rights(
    vfs: &dyn vfs::Share,
    path: &SharePath,
    h: &dyn Handle,
    caller: &Caller,
    want_delete: bool,
) -> Option<u32> {
    let sd = stored_sd(h)?;
    let mut rights = access_check(&sd, &caller.token, sec::MAXIMUM_ALLOWED);
    if want_delete && rights & am::DELETE == 0 {
        // A parent without a stored descriptor has the default one, which gives its owner —
        // the caller — FILE_DELETE_CHILD.
        let by_parent = parent_sd(vfs, path)
            .is_none_or(|p| access_check(&p, &caller.token, am::FILE_DELETE_CHILD) != 0);
        if by_parent {
            rights |= am::DELETE;
        }
    }
    // SYNCHRONIZE is never refused on an object one may open.
    Some(rights | am::SYNCHRONIZE)
}

/// The ACEs a new child inherits from its parent's DACL (MS-DTYP 2.5.3.4.2, without object
/// types): CREATOR OWNER becomes the new owner; a directory keeps propagating ACEs.
fn inherit(parent: &Acl, is_dir: bool, owner: &Sid) -> Vec<Ace> {
    let mut out = Vec::new();
    for a in &parent.aces {
        let oi = a.ace_flags & ace_flags::OBJECT_INHERIT != 0;
        let ci = a.ace_flags & ace_flags::CONTAINER_INHERIT != 0;
        let no_prop = a.ace_flags & ace_flags::NO_PROPAGATE_INHERIT != 0;
        let audit_bits = a.ace_flags & (ace_flags::SUCCESSFUL_ACCESS | ace_flags::FAILED_ACCESS);
        let sid = if a.sid == Sid::creator_owner() {
            owner.clone()
        } else {
            a.sid.clone()
        };
        if !is_dir {
            if oi {
                let mut e = a.clone();
                e.sid = sid;
                e.ace_flags = ace_flags::INHERITED | audit_bits;
                out.push(e);
            }
            continue;
        }
        if ci {
            let mut e = a.clone();
            e.sid = sid;
            e.ace_flags = ace_flags::INHERITED
                | audit_bits
                | if no_prop {
                    0
                } else {
                    a.ace_flags & (ace_flags::OBJECT_INHERIT | ace_flags::CONTAINER_INHERIT)
                };
            out.push(e);
        } else if oi && !no_prop {
            // Only for files below: kept inherit-only on the directory.
            let mut e = a.clone();
            e.ace_flags = ace_flags::INHERITED
                | ace_flags::INHERIT_ONLY
                | ace_flags::OBJECT_INHERIT
                | audit_bits;
            out.push(e);
        }
    }
    out
}

/// The descriptor to store on a new object, or `None` to leave the default.
pub fn new_object_sd(
    vfs: &dyn vfs::Share,
    path: &SharePath,
    is_dir: bool,
    caller: &Caller,
    supplied: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, NtStatus> {
    let owner = caller.token.user.clone();
    let inherited = parent_sd(vfs, path)
        .and_then(|p| p.dacl)
        .map(|d| inherit(&d, is_dir, &owner))
        .filter(|v| !v.is_empty());
    if inherited.is_none() && supplied.is_none() {
        return Ok(None);
    }
    let mut sd = default_sd(owner, caller.group.clone(), is_dir);
    if let Some(aces) = inherited {
        sd.dacl = Some(Acl::new(aces));
        sd.control |= control::DACL_AUTO_INHERITED;
    }
    if let Some(raw) = supplied {
        let new = SecurityDescriptor::decode(raw).map_err(|_| NtStatus::INVALID_PARAMETER)?;
        let mut ai = 0;
        if new.owner.is_some() {
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
        sd = merge(&sd, &new, ai);
    }
    let mut b = BytesMut::new();
    sd.encode(&mut b).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    Ok(Some(b.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::info::security::ace_type;

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
        let f = inherit(&acl, false, &owner);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ace_flags, ace_flags::INHERITED);
        let d = inherit(&acl, true, &owner);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].ace_flags,
            ace_flags::INHERITED | ace_flags::INHERIT_ONLY | ace_flags::OBJECT_INHERIT
        );
        assert_eq!(d[1].sid, owner);
        assert_eq!(
            d[1].ace_flags,
            ace_flags::INHERITED | ace_flags::CONTAINER_INHERIT
        );
    }
}
