//! Security descriptors of files (MS-SMB2 3.3.5.20.3 query, 3.3.5.21.3 set; MS-FSA 2.1.5.13
//! and 2.1.5.16), default descriptors, and the access check (MS-DTYP 2.5.3.2).
//!
//! A file's descriptor is the one stored by the backend ([`crate::vfs::Handle::security_descriptor`],
//! self-relative bytes). A file without one gets a default descriptor: owner = the session
//! user (`S-1-5-21-<server id>-<RID>`; the server id is three 32-bit words of the ServerGuid),
//! group = the same domain's "None" (RID 513), and a DACL granting the owner and SYSTEM full
//! control and Everyone read/execute (0x1200A9), inheritable on directories.
//!
//! A SET stores the merged descriptor ([`merge`], MS-FSA 2.1.5.16) after [`normalize`]:
//! generic rights of effective ACEs mapped, SE_DACL_AUTO_INHERITED kept only with
//! SE_DACL_AUTO_INHERIT_REQ (which is never stored). A new owner must be a SID of the
//! session's token (STATUS_INVALID_OWNER otherwise; no SeRestorePrivilege). QUERY answers
//! with the parts AdditionalInformation selects; a too-small OutputBufferLength gets
//! STATUS_BUFFER_TOO_SMALL with the needed size (in [`super::query`]).
//!
//! Identities: every SMB user has a SID in the server's domain (DESIGN.md "Identity");
//! anonymous sessions are S-1-5-7. A session's token holds its user SID, Everyone, and
//! Authenticated Users (not for anonymous).
use super::{file_of, need, ACCESS_SYSTEM_SECURITY, READ_CONTROL, WRITE_DAC, WRITE_OWNER};
use crate::server::dispatch::Ctx;
use crate::server::handlers::files;
use crate::server::open::Open;
use crate::server::Server;
use crate::wire::info::security::{
    access_mask, ace_flags, ace_type, control, Ace, Acl, SecurityDescriptor, Sid,
};
use crate::wire::info::{
    ATTRIBUTE_SECURITY_INFORMATION, BACKUP_SECURITY_INFORMATION, DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION, LABEL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    SACL_SECURITY_INFORMATION, SCOPE_SECURITY_INFORMATION,
};
use crate::wire::{BytesMut, Guid, NtStatus};

/// MAXIMUM_ALLOWED.
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// STATUS_INVALID_SECURITY_DESCR (MS-ERREF).
pub const INVALID_SECURITY_DESCR: NtStatus = NtStatus(0xC000_0079);
/// STATUS_INVALID_OWNER (MS-ERREF): the SID may not be the owner of an object.
pub const INVALID_OWNER: NtStatus = NtStatus(0xC000_005A);
/// Read/execute for Everyone in default descriptors (FILE_GENERIC_READ | FILE_GENERIC_EXECUTE).
pub const READ_EXECUTE: u32 = 0x0012_00A9;
/// Domain RID of the "None" group (DOMAIN_GROUP_RID_USERS is 513).
pub const DOMAIN_GROUP_RID_NONE: u32 = 513;
/// RID used for a session user missing from the user database (DOMAIN_USER_RID_GUEST).
pub const DOMAIN_USER_RID_GUEST: u32 = 501;

/// Every AdditionalInformation bit MS-SMB2 2.2.37 defines.
const KNOWN_INFO: u32 = OWNER_SECURITY_INFORMATION
    | GROUP_SECURITY_INFORMATION
    | DACL_SECURITY_INFORMATION
    | SACL_SECURITY_INFORMATION
    | LABEL_SECURITY_INFORMATION
    | ATTRIBUTE_SECURITY_INFORMATION
    | SCOPE_SECURITY_INFORMATION
    | BACKUP_SECURITY_INFORMATION;

/// OWNER RIGHTS, S-1-3-4.
pub fn owner_rights() -> Sid {
    Sid::new(3, &[4])
}

/// The server's domain SID S-1-5-21-a-b-c, from the ServerGuid bytes.
pub fn domain_sid(guid: &Guid) -> Sid {
    let w = |i: usize| {
        let b = &guid.0[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    Sid::new(5, &[21, w(0), w(1), w(2)])
}

/// A SID of the server's domain with `rid`.
pub fn domain_member(guid: &Guid, rid: u32) -> Sid {
    let mut s = domain_sid(guid);
    s.sub_authorities.push(rid);
    s
}

/// Who a request acts as: the user SID and the groups of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The user.
    pub user: Sid,
    /// Groups (Everyone, Authenticated Users, the domain's None group).
    pub groups: Vec<Sid>,
}

impl Token {
    /// A token for `user`, with Everyone (and Authenticated Users unless anonymous).
    pub fn for_user(user: Sid) -> Token {
        let mut groups = vec![Sid::everyone()];
        if user != Sid::anonymous() {
            groups.push(Sid::authenticated_users());
        }
        Token { user, groups }
    }
    /// Whether the token holds `sid`.
    pub fn has(&self, sid: &Sid) -> bool {
        &self.user == sid || self.groups.contains(sid)
    }
}

/// The SID of a session's user (S-1-5-7 for anonymous sessions).
pub fn session_user_sid(server: &Server, session: &crate::server::session::Session) -> Sid {
    let ident = session.state.lock().identity.clone();
    match ident {
        Some(i) if i.anonymous => Sid::anonymous(),
        Some(i) => {
            let rid = server
                .auth
                .users
                .lookup(&i.user)
                .map(|u| u.rid)
                .unwrap_or(DOMAIN_USER_RID_GUEST);
            domain_member(&server.guid, rid)
        }
        None => Sid::anonymous(),
    }
}

/// The token of the request's session.
pub fn session_token(ctx: &Ctx) -> Result<Token, NtStatus> {
    let session = ctx.session()?;
    let user = session_user_sid(&ctx.conn.server, session);
    let mut t = Token::for_user(user);
    if t.user != Sid::anonymous() {
        t.groups
            .push(domain_member(&ctx.conn.server.guid, DOMAIN_GROUP_RID_NONE));
    }
    Ok(t)
}

/// The default descriptor of a file without a stored one.
pub fn default_sd(owner: Sid, group: Sid, is_dir: bool) -> SecurityDescriptor {
    let inherit = if is_dir {
        ace_flags::OBJECT_INHERIT | ace_flags::CONTAINER_INHERIT
    } else {
        0
    };
    let allow = |mask, sid| Ace::new(ace_type::ACCESS_ALLOWED, inherit, mask, sid);
    let aces = vec![
        allow(access_mask::FILE_ALL_ACCESS, owner.clone()),
        allow(access_mask::FILE_ALL_ACCESS, Sid::local_system()),
        allow(READ_EXECUTE, Sid::everyone()),
    ];
    SecurityDescriptor {
        control: control::SELF_RELATIVE | control::DACL_PRESENT,
        owner: Some(owner),
        group: Some(group),
        sacl: None,
        dacl: Some(Acl::new(aces)),
    }
}

/// Maps GENERIC_* bits to the file-specific rights (MS-SMB2 2.2.13.1.1 / MS-DTYP 2.4.3).
pub fn map_generic(mut a: u32) -> u32 {
    use access_mask::*;
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

/// The access check of MS-DTYP 2.5.3.2 against `sd`'s DACL for `token`: returns the rights
/// granted among `desired` (generic bits mapped), or every right the DACL allows when
/// `desired` has MAXIMUM_ALLOWED. ACCESS_SYSTEM_SECURITY is a privilege, never granted here.
/// A missing (NULL) DACL grants everything; the owner implicitly has READ_CONTROL and
/// WRITE_DAC unless an OWNER RIGHTS ACE is present. The caller compares the result with
/// what it needs.
pub fn access_check(sd: &SecurityDescriptor, token: &Token, desired: u32) -> u32 {
    let desired = map_generic(desired);
    let maximum = desired & MAXIMUM_ALLOWED != 0;
    let want = desired & !(MAXIMUM_ALLOWED | ACCESS_SYSTEM_SECURITY);
    let Some(dacl) = sd.dacl.as_ref() else {
        return if maximum {
            access_mask::FILE_ALL_ACCESS
        } else {
            want
        };
    };
    let is_owner = sd.owner.as_ref().is_some_and(|o| token.has(o));
    let rights = owner_rights();
    let live = |a: &&Ace| a.ace_flags & ace_flags::INHERIT_ONLY == 0;
    let owner_rights_present = dacl.aces.iter().filter(live).any(|a| a.sid == rights);
    let mut granted = 0u32;
    let mut denied = 0u32;
    if is_owner && !owner_rights_present {
        granted |= READ_CONTROL | WRITE_DAC;
    }
    for ace in dacl.aces.iter().filter(live) {
        let applies = token.has(&ace.sid) || (is_owner && ace.sid == rights);
        if !applies {
            continue;
        }
        let mask = map_generic(ace.mask);
        match ace.ace_type {
            ace_type::ACCESS_ALLOWED => granted |= mask & !denied,
            ace_type::ACCESS_DENIED => denied |= mask & !granted,
            _ => {}
        }
    }
    if maximum {
        granted
    } else {
        want & granted
    }
}

/// [`access_check`] for a user SID (with Everyone and Authenticated Users), for CREATE:
/// the rights granted among `desired`.
pub fn access_allowed(sd: &SecurityDescriptor, sid: &Sid, desired: u32) -> u32 {
    access_check(sd, &Token::for_user(sid.clone()), desired)
}

/// Puts a descriptor supplied by a client in the form it is stored in (MS-DTYP 2.5.3.4,
/// as Windows does on a set): generic rights of the ACEs that apply to the object itself
/// are mapped to the file rights (inherit-only ACEs keep them, to be mapped in each child);
/// SE_DACL_AUTO_INHERITED (SE_SACL_AUTO_INHERITED) is kept only when the request also
/// carried SE_DACL_AUTO_INHERIT_REQ (SE_SACL_AUTO_INHERIT_REQ), and the two _REQ bits are
/// never stored.
pub fn normalize(sd: &mut SecurityDescriptor) {
    for acl in [sd.dacl.as_mut(), sd.sacl.as_mut()].into_iter().flatten() {
        for ace in &mut acl.aces {
            if ace.ace_flags & ace_flags::INHERIT_ONLY == 0 {
                ace.mask = map_generic(ace.mask);
            }
        }
    }
    let c = sd.control;
    for (auto, req) in [
        (control::DACL_AUTO_INHERITED, control::DACL_AUTO_INHERIT_REQ),
        (control::SACL_AUTO_INHERITED, control::SACL_AUTO_INHERIT_REQ),
    ] {
        if c & req == 0 {
            sd.control &= !auto;
        }
        sd.control &= !req;
    }
}

/// Replaces in `cur` the parts `ai` names with those of `new` (MS-FSA 2.1.5.16).
pub fn merge(cur: &SecurityDescriptor, new: &SecurityDescriptor, ai: u32) -> SecurityDescriptor {
    let mut out = cur.clone();
    if ai & OWNER_SECURITY_INFORMATION != 0 {
        out.owner = new.owner.clone().or(out.owner);
        out.control =
            (out.control & !control::OWNER_DEFAULTED) | (new.control & control::OWNER_DEFAULTED);
    }
    if ai & GROUP_SECURITY_INFORMATION != 0 {
        out.group = new.group.clone().or(out.group);
        out.control =
            (out.control & !control::GROUP_DEFAULTED) | (new.control & control::GROUP_DEFAULTED);
    }
    if ai & DACL_SECURITY_INFORMATION != 0 {
        out.dacl = new.dacl.clone();
        out.control = (out.control & !control::DACL_BITS) | (new.control & control::DACL_BITS);
        if out.dacl.is_some() {
            out.control |= control::DACL_PRESENT;
        }
    }
    if ai & SACL_SECURITY_INFORMATION != 0 {
        out.sacl = new.sacl.clone();
        out.control = (out.control & !control::SACL_BITS) | (new.control & control::SACL_BITS);
        if out.sacl.is_some() {
            out.control |= control::SACL_PRESENT;
        }
    }
    out.control |= control::SELF_RELATIVE;
    out
}

/// The descriptor of an open's file: stored, or the default.
pub async fn current_sd(ctx: &Ctx, open: &Open) -> Result<SecurityDescriptor, NtStatus> {
    let f = file_of(open)?;
    let h = f.handle.clone();
    let stored = files::blocking(move || h.security_descriptor())
        .await?
        .map_err(|e| e.status())?;
    if let Some(sd) = stored.and_then(|b| SecurityDescriptor::decode(&b).ok()) {
        return Ok(sd);
    }
    let token = session_token(ctx)?;
    let group = domain_member(&ctx.conn.server.guid, DOMAIN_GROUP_RID_NONE);
    Ok(default_sd(token.user, group, f.is_dir))
}

/// The rights a query (or set, with `set`) of the parts `ai` needs (MS-FSA 2.1.5.13/16).
fn rights_for(ai: u32, set: bool) -> (u32, bool) {
    let mut need = 0;
    if ai & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION)
        != 0
    {
        need |= if set { WRITE_OWNER } else { READ_CONTROL };
    }
    if ai & DACL_SECURITY_INFORMATION != 0 {
        need |= if set { WRITE_DAC } else { READ_CONTROL };
    }
    if ai & (ATTRIBUTE_SECURITY_INFORMATION | SCOPE_SECURITY_INFORMATION) != 0 {
        need |= if set { WRITE_DAC } else { READ_CONTROL };
    }
    let sacl = ai & (SACL_SECURITY_INFORMATION | BACKUP_SECURITY_INFORMATION) != 0;
    (need, sacl)
}

fn check_rights(open: &Open, ai: u32, set: bool) -> Result<(), NtStatus> {
    let (need_bits, sacl) = rights_for(ai, set);
    if need_bits != 0 && open.granted_access & need_bits != need_bits {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if sacl {
        need(open, ACCESS_SYSTEM_SECURITY)?;
    }
    Ok(())
}

/// QUERY_INFO SMB2_0_INFO_SECURITY: the descriptor parts `ai` selects, self-relative.
pub async fn query(ctx: &Ctx, open: &Open, ai: u32) -> Result<BytesMut, NtStatus> {
    let ai = ai & KNOWN_INFO;
    check_rights(open, ai, false)?;
    let sd = current_sd(ctx, open).await?;
    let mut out = BytesMut::new();
    sd.filter(ai)
        .encode(&mut out)
        .map_err(|_| NtStatus::INTERNAL_ERROR)?;
    Ok(out)
}

/// SET_INFO SMB2_0_INFO_SECURITY: merges the parts `ai` names and stores the result.
pub async fn set(ctx: &Ctx, open: &Open, ai: u32, buf: &[u8]) -> Result<(), NtStatus> {
    let ai = ai & KNOWN_INFO;
    if open.tree.share.config.read_only {
        return Err(NtStatus::MEDIA_WRITE_PROTECTED);
    }
    check_rights(open, ai, true)?;
    let mut new = SecurityDescriptor::decode(buf).map_err(|_| INVALID_SECURITY_DESCR)?;
    if ai & OWNER_SECURITY_INFORMATION != 0 {
        let owner = new.owner.as_ref().ok_or(INVALID_SECURITY_DESCR)?;
        // A session may only make itself, or a group it belongs to, the owner (no
        // SeRestorePrivilege here).
        if !session_token(ctx)?.has(owner) {
            return Err(INVALID_OWNER);
        }
    }
    normalize(&mut new);
    let cur = current_sd(ctx, open).await?;
    let merged = merge(&cur, &new, ai);
    let bytes = merged.to_vec().map_err(|_| INVALID_SECURITY_DESCR)?;
    let h = file_of(open)?.handle.clone();
    let path = h.path();
    files::blocking(move || h.set_security_descriptor(&bytes))
        .await?
        .map_err(|e| e.status())?;
    crate::server::notify_bus::report(
        &ctx.conn.server,
        &open.tree.share.name,
        &path,
        crate::wire::change_notify::notify_action::FILE_ACTION_MODIFIED,
        crate::wire::change_notify::completion_filter::FILE_NOTIFY_CHANGE_SECURITY,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guid() -> Guid {
        Guid([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0])
    }

    #[test]
    fn domain_sids() {
        assert_eq!(domain_sid(&guid()).to_string(), "S-1-5-21-1-2-3");
        assert_eq!(
            domain_member(&guid(), 1000).to_string(),
            "S-1-5-21-1-2-3-1000"
        );
    }

    #[test]
    fn default_descriptor_round_trips_and_grants() {
        let me = domain_member(&guid(), 1000);
        let other = domain_member(&guid(), 1001);
        let sd = default_sd(me.clone(), domain_member(&guid(), 513), true);
        let b = sd.to_vec().unwrap();
        let back = SecurityDescriptor::decode(&b).unwrap();
        assert_eq!(back, sd);
        assert_eq!(
            access_allowed(&sd, &me, MAXIMUM_ALLOWED),
            access_mask::FILE_ALL_ACCESS
        );
        assert_eq!(access_allowed(&sd, &other, MAXIMUM_ALLOWED), READ_EXECUTE);
        assert_eq!(access_allowed(&sd, &other, 0x2), 0);
        assert_eq!(
            access_allowed(&sd, &other, access_mask::GENERIC_READ),
            access_mask::FILE_GENERIC_READ
        );
        let d = back.dacl.unwrap();
        assert!(d.aces.iter().all(|a| a.ace_flags == 3));
    }

    #[test]
    fn deny_ace_wins_when_first_and_owner_rights() {
        let me = domain_member(&guid(), 1000);
        let mut sd = default_sd(me.clone(), Sid::everyone(), false);
        sd.dacl.as_mut().unwrap().aces.insert(
            0,
            Ace::new(ace_type::ACCESS_DENIED, 0, 0x2, Sid::everyone()),
        );
        assert_eq!(access_allowed(&sd, &me, 0x3), 0x1);
        // An empty DACL grants nothing but the owner's implicit rights.
        sd.dacl = Some(Acl::new(vec![]));
        assert_eq!(
            access_allowed(&sd, &me, MAXIMUM_ALLOWED),
            READ_CONTROL | WRITE_DAC
        );
        // OWNER RIGHTS replaces them.
        sd.dacl = Some(Acl::new(vec![Ace::new(
            ace_type::ACCESS_ALLOWED,
            0,
            0x1,
            owner_rights(),
        )]));
        assert_eq!(access_allowed(&sd, &me, MAXIMUM_ALLOWED), 0x1);
        // A NULL DACL grants everything.
        sd.dacl = None;
        sd.control &= !control::DACL_PRESENT;
        assert_eq!(access_allowed(&sd, &me, 0x7), 0x7);
    }

    #[test]
    fn normalize_maps_generic_rights_and_auto_inherit_bits() {
        let mut sd = default_sd(Sid::everyone(), Sid::everyone(), false);
        let dacl = sd.dacl.as_mut().unwrap();
        dacl.aces[0].mask = access_mask::GENERIC_READ | WRITE_DAC;
        dacl.aces.push(Ace::new(
            ace_type::ACCESS_ALLOWED,
            ace_flags::INHERIT_ONLY | ace_flags::OBJECT_INHERIT,
            access_mask::GENERIC_ALL,
            Sid::creator_owner(),
        ));
        sd.control |= control::DACL_AUTO_INHERITED;
        let mut a = sd.clone();
        normalize(&mut a);
        let aces = &a.dacl.as_ref().unwrap().aces;
        assert_eq!(aces[0].mask, access_mask::FILE_GENERIC_READ | WRITE_DAC);
        // Inherit-only ACEs keep their generic rights for the children to map.
        assert_eq!(aces[3].mask, access_mask::GENERIC_ALL);
        // AUTO_INHERITED without AUTO_INHERIT_REQ is dropped...
        assert_eq!(a.control & control::DACL_AUTO_INHERITED, 0);
        // ...and kept with it, the _REQ bit itself never stored.
        let mut b = sd.clone();
        b.control |= control::DACL_AUTO_INHERIT_REQ;
        normalize(&mut b);
        assert_eq!(
            b.control & (control::DACL_AUTO_INHERITED | control::DACL_AUTO_INHERIT_REQ),
            control::DACL_AUTO_INHERITED
        );
    }

    #[test]
    fn merge_parts() {
        let a = default_sd(Sid::everyone(), Sid::everyone(), false);
        let b = default_sd(Sid::local_system(), Sid::local_system(), false);
        let m = merge(&a, &b, OWNER_SECURITY_INFORMATION);
        assert_eq!(m.owner, Some(Sid::local_system()));
        assert_eq!(m.group, Some(Sid::everyone()));
        let mut nodacl = b.clone();
        nodacl.dacl = None;
        nodacl.control &= !control::DACL_PRESENT;
        let m = merge(&a, &nodacl, DACL_SECURITY_INFORMATION);
        assert_eq!(m.dacl, None);
        assert_eq!(m.control & control::DACL_PRESENT, 0);
    }
}
