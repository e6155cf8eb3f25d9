//! SESSION_SETUP (MS-SMB2 3.3.5.5): authentication legs, re-authentication, key derivation
//! (3.3.5.5.3), PreviousSessionId, session binding (3.3.5.5.2, in `bind`) and the growing
//! delay after failed logons.
use super::{bad_request, body_of};
use crate::auth::{AuthOutcome, Authenticator};
use crate::crypto::{self, NonceGenerator, Sealer, Signer};
use crate::server::dispatch::{Ctx, Outcome, PreauthTarget, Reply};
use crate::server::session::{Identity, Session, SessionPhase, SessionSecrets};
use crate::server::Server;
use crate::wire::session_setup::*;
use crate::wire::{Bytes, NtStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::{info, warn};

/// Handles one SESSION_SETUP leg.
pub async fn handle(ctx: Ctx) -> Outcome {
    match setup(&ctx).await {
        Ok(r) => Outcome::Reply(r),
        Err(status) => {
            tracing::debug!(status = ?status, "session setup failed");
            Outcome::Reply(Reply::error(status))
        }
    }
}

async fn setup(ctx: &Ctx) -> Result<Reply, NtStatus> {
    let req = SessionSetupRequest::decode(&ctx.msg).map_err(bad_request)?;
    let server = &ctx.conn.server;
    let negotiated = ctx
        .conn
        .negotiated
        .lock()
        .clone()
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    if req.flags & SMB2_SESSION_FLAG_BINDING != 0 {
        return bind::bind(ctx, &req, &negotiated).await;
    }
    let session = if ctx.session_id == 0 {
        let id = new_session_id(server);
        let s = Arc::new(Session::new(
            id,
            negotiated.dialect,
            ctx.conn.id,
            negotiated.preauth.clone().unwrap_or_default(),
            negotiated.cipher,
            negotiated.signing,
        ));
        server.sessions.insert(id, s.clone());
        s
    } else {
        let s = ctx.session.clone().ok_or(NtStatus::USER_SESSION_DELETED)?;
        if !s.has_channel(ctx.conn.id) {
            return Err(NtStatus::USER_SESSION_DELETED);
        }
        s
    };
    let fail = |status: NtStatus| {
        let mut st = session.state.lock();
        match st.phase {
            SessionPhase::InProgress => {
                drop(st);
                server.sessions.remove(&session.id);
            }
            SessionPhase::Reauthenticating => {
                // A failed re-authentication ends the session (MS-SMB2 3.3.5.5.3).
                st.phase = SessionPhase::Valid;
                drop(st);
                server.sessions.remove(&session.id);
                // ...and its opens, as LOGOFF does (pending CHANGE_NOTIFYs answer
                // STATUS_NOTIFY_CLEANUP, smb2.notify.invalid-reauth).
                let (server, session) = (server.clone(), session.clone());
                tokio::spawn(async move {
                    crate::server::handlers::files::close_session(&server, &session).await;
                });
            }
            SessionPhase::Valid => {}
        }
        status
    };
    let outcome = {
        let mut st = session.state.lock();
        if st.auth.is_none() {
            if st.phase == SessionPhase::Valid {
                st.phase = SessionPhase::Reauthenticating;
                st.preauth = negotiated.preauth.clone().unwrap_or_default();
            }
            st.auth = Some(Authenticator::new(server.auth.clone()));
        }
        if negotiated.dialect == 0x0311 {
            st.preauth.update(&ctx.msg);
        }
        let auth = st.auth.as_mut().ok_or(NtStatus::INTERNAL_ERROR)?;
        auth.step(&req.security_buffer)
    };
    let peer = ctx.conn.writer.peer().ip();
    match outcome {
        AuthOutcome::Continue(blob) => {
            let body = body_of(|b| {
                SessionSetupResponse {
                    session_flags: 0,
                    security_buffer: Bytes::from(blob),
                }
                .encode(b)
            });
            let mut r = Reply::with_status(NtStatus::MORE_PROCESSING_REQUIRED, body);
            r.session_id = Some(session.id);
            if negotiated.dialect == 0x0311 {
                r.preauth = PreauthTarget::Session(session.clone());
            }
            Ok(r)
        }
        AuthOutcome::LogonFailure | AuthOutcome::Invalid(_) => {
            let status = if matches!(outcome, AuthOutcome::LogonFailure) {
                NtStatus::LOGON_FAILURE
            } else {
                NtStatus::INVALID_PARAMETER
            };
            warn!(%peer, outcome = ?outcome, "logon failed");
            server.note_failed_logon(peer);
            let delay = server.logon_delay(peer);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Err(fail(status))
        }
        AuthOutcome::Success {
            user,
            domain,
            session_key,
            anonymous,
            blob,
        } => {
            server.note_good_logon(peer);
            ctx.conn.authenticated.store(true, Ordering::Relaxed);
            let (reauth, same, preauth) = {
                let mut st = session.state.lock();
                st.auth = None;
                let reauth = st.phase == SessionPhase::Reauthenticating;
                let mut same = true;
                if reauth {
                    same = st.identity.as_ref().is_some_and(|i| {
                        i.user.eq_ignore_ascii_case(&user) && i.anonymous == anonymous
                    });
                    st.phase = SessionPhase::Valid;
                } else {
                    st.phase = SessionPhase::Valid;
                    st.identity = Some(Identity {
                        user: user.clone(),
                        domain,
                        anonymous,
                    });
                }
                (reauth, same, *st.preauth.value())
            };
            if !same {
                server.sessions.remove(&session.id);
                crate::server::handlers::files::close_session(server, &session).await;
                return Err(NtStatus::USER_SESSION_DELETED);
            }
            let cfg = &server.config;
            let mut flags = 0u16;
            if anonymous {
                flags |= SMB2_SESSION_FLAG_IS_NULL;
            } else if !reauth {
                let keys = crypto::derive_session_keys(
                    negotiated.dialect,
                    &session_key,
                    &preauth,
                    negotiated.cipher,
                );
                let encryptor = negotiated.cipher.map(|c| Sealer::new(c, &keys.encryption));
                let decryptor = negotiated.cipher.map(|c| Sealer::new(c, &keys.decryption));
                let signer = Arc::new(Signer::new(negotiated.signing, &keys.signing));
                session
                    .channels
                    .lock()
                    .entry(ctx.conn.id)
                    .or_default()
                    .signer = Some(signer.clone());
                *session.secrets.write() = Some(Arc::new(SessionSecrets {
                    signer,
                    nonces: negotiated.cipher.map(NonceGenerator::new),
                    encryptor,
                    decryptor,
                    application_key: keys.application,
                }));
                let client_requires = u16::from(req.security_mode) & 0x0002 != 0;
                session
                    .signing_required
                    .store(cfg.require_signing || client_requires, Ordering::Relaxed);
                if cfg.encrypt && negotiated.dialect >= 0x0300 {
                    if negotiated.cipher.is_none() {
                        server.sessions.remove(&session.id);
                        return Err(NtStatus::ACCESS_DENIED);
                    }
                    session.encrypt_data.store(true, Ordering::Relaxed);
                }
            }
            if session.encrypt_data.load(Ordering::Relaxed) {
                flags |= SMB2_SESSION_FLAG_ENCRYPT_DATA;
            }
            if !reauth && req.previous_session_id != 0 && req.previous_session_id != session.id {
                logoff_previous(server, req.previous_session_id, &user, anonymous).await;
            }
            info!(session = session.id, user = %user, anonymous, reauth, "session established");
            let body = body_of(|b| {
                SessionSetupResponse {
                    session_flags: flags,
                    security_buffer: Bytes::from(blob),
                }
                .encode(b)
            });
            let mut r = Reply::ok(body);
            r.session_id = Some(session.id);
            if !anonymous
                && (negotiated.dialect == 0x0311
                    || session.signing_required.load(Ordering::Relaxed)
                    || ctx.hdr.is_signed())
            {
                r.sign_with = session.channel_signer(ctx.conn.id);
            }
            Ok(r)
        }
    }
}

/// A new SessionId: random, non-zero, below 2^32 and never one in use. Clients (smbtorture's
/// session-id test among them) keep SessionIds in 32-bit variables, as Windows and Samba hand
/// out 32-bit ones.
fn new_session_id(server: &Server) -> u64 {
    loop {
        let mut b = [0u8; 4];
        if getrandom::getrandom(&mut b).is_err() {
            return server.new_session_id();
        }
        let id = u64::from(u32::from_le_bytes(b));
        if id != 0 && id != u64::from(u32::MAX) && !server.sessions.contains_key(&id) {
            return id;
        }
    }
}

/// PreviousSessionId (MS-SMB2 3.3.5.5.3): the client reconnected and asks that its earlier
/// session, if it belongs to the same user, be ended along with its opens.
async fn logoff_previous(server: &Arc<Server>, previous: u64, user: &str, anonymous: bool) {
    let Some(prev) = server.sessions.get(&previous).map(|s| s.clone()) else {
        return;
    };
    let same_user = prev
        .state
        .lock()
        .identity
        .as_ref()
        .is_some_and(|i| !anonymous && !i.anonymous && i.user.eq_ignore_ascii_case(user));
    if !same_user {
        return;
    }
    if server.sessions.remove(&previous).is_some() {
        info!(session = previous, "previous session logged off");
        // Its durable opens stay for the client to reconnect (MS-SMB2 3.3.5.5.3, 3.3.7.1).
        crate::server::handlers::files::disconnect_session(server, &prev).await;
    }
}

/// Fails with `status` after recording a failed logon and waiting out the growing delay.
async fn logon_failed(ctx: &Ctx, status: NtStatus) -> NtStatus {
    let server = &ctx.conn.server;
    let peer = ctx.conn.writer.peer().ip();
    warn!(%peer, "logon failed");
    server.note_failed_logon(peer);
    let delay = server.logon_delay(peer);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    status
}

mod bind;
