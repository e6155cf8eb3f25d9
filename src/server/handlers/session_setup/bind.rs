//! Session binding (MS-SMB2 3.3.5.5.2): a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING on a
//! new connection authenticates that connection as one more channel of an existing session.
//!
//! The request names a session of another connection, so dispatch finds it in the server-wide
//! table and verifies the request with Session.SigningKey (3.3.5.2.4); rejections are signed
//! with that key too, so the client can trust them. The checks run in the order smbtorture's
//! `bind_negative_*` tests and Windows expect: signing-algorithm compatibility first (a GMAC
//! session never binds a non-GMAC channel and the reverse), then the dialect of the new
//! connection, multichannel being enabled, the signature, dialect and cipher equality, and the
//! session being a real user's. A successful exchange must authenticate the session's own user;
//! the channel then signs with its own key, derived from this exchange's session key and, for
//! 3.1.1, from the preauth hash of this connection's NEGOTIATE and binding legs (3.3.5.5.3).
use super::{body_of, logon_failed};
use crate::auth::{AuthOutcome, Authenticator};
use crate::crypto::{self, Signer, SigningAlgorithm};
use crate::server::connection::Negotiated;
use crate::server::dispatch::{Ctx, PreauthTarget, Reply};
use crate::server::session::Channel;
use crate::wire::session_setup::*;
use crate::wire::{Bytes, NtStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::info;

/// Channels one session may have (32, as Windows Server 2012 R2 and later).
pub const MAX_CHANNELS: usize = 32;

/// Handles one leg of a binding SESSION_SETUP.
pub(super) async fn bind(
    ctx: &Ctx,
    req: &SessionSetupRequest,
    negotiated: &Negotiated,
) -> Result<Reply, NtStatus> {
    if ctx.session_id == 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let session = ctx.session.clone().ok_or(NtStatus::USER_SESSION_DELETED)?;
    let conn_id = ctx.conn.id;
    let continuing = session
        .channels
        .lock()
        .get(&conn_id)
        .is_some_and(|c| c.auth.is_some());
    if !continuing {
        let gmac = SigningAlgorithm::AesGmac;
        if session.signing == gmac && negotiated.signing != gmac {
            return Err(NtStatus::REQUEST_OUT_OF_SEQUENCE);
        }
        if negotiated.signing == gmac && session.signing != gmac {
            return Err(NtStatus::NOT_SUPPORTED);
        }
        if negotiated.dialect < 0x0300 || !ctx.conn.server.config.multichannel {
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        if !ctx.hdr.is_signed() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if !session.is_valid() {
            return Err(NtStatus::USER_SESSION_DELETED);
        }
        if session.dialect != negotiated.dialect || session.cipher != negotiated.cipher {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if session.is_anonymous() {
            return Err(NtStatus::NOT_SUPPORTED);
        }
        let mut channels = session.channels.lock();
        if channels.contains_key(&conn_id) {
            // Already a channel of this session (MS-SMB2 3.3.5.5.2).
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        if channels.len() >= MAX_CHANNELS {
            // Windows Server's limit of channels per session, which smbtorture's
            // multichannel.generic.num_channels expects.
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        channels.insert(
            conn_id,
            Channel {
                signer: None,
                auth: Some(Authenticator::new(ctx.conn.server.auth.clone())),
                preauth: negotiated.preauth.clone(),
            },
        );
    }
    let outcome = {
        let mut channels = session.channels.lock();
        let ch = channels
            .get_mut(&conn_id)
            .ok_or(NtStatus::USER_SESSION_DELETED)?;
        if let Some(p) = ch.preauth.as_mut() {
            p.update(&ctx.msg);
        }
        let auth = ch.auth.as_mut().ok_or(NtStatus::REQUEST_NOT_ACCEPTED)?;
        auth.step(&req.security_buffer)
    };
    tracing::debug!(?outcome, "binding authentication step");
    let drop_channel = || {
        session.channels.lock().remove(&conn_id);
    };
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
                r.preauth = PreauthTarget::Channel(session.clone());
            }
            Ok(r)
        }
        AuthOutcome::LogonFailure => {
            drop_channel();
            Err(logon_failed(ctx, NtStatus::LOGON_FAILURE).await)
        }
        AuthOutcome::Invalid(_) => {
            drop_channel();
            Err(logon_failed(ctx, NtStatus::INVALID_PARAMETER).await)
        }
        AuthOutcome::Success {
            user,
            session_key,
            anonymous,
            blob,
            ..
        } => {
            let same_user = !anonymous
                && session
                    .state
                    .lock()
                    .identity
                    .as_ref()
                    .is_some_and(|i| !i.anonymous && i.user.eq_ignore_ascii_case(&user));
            if !same_user {
                // MS-SMB2 3.3.5.5.2: another user may not bind to this session.
                drop_channel();
                return Err(NtStatus::ACCESS_DENIED);
            }
            let signer = {
                let mut channels = session.channels.lock();
                let ch = channels
                    .get_mut(&conn_id)
                    .ok_or(NtStatus::USER_SESSION_DELETED)?;
                let preauth = ch.preauth.take().unwrap_or_default();
                let key =
                    crypto::derive_signing_key(negotiated.dialect, &session_key, preauth.value());
                let signer = Arc::new(Signer::new(negotiated.signing, &key));
                ch.signer = Some(signer.clone());
                ch.auth = None;
                signer
            };
            ctx.conn.server.note_good_logon(ctx.conn.writer.peer().ip());
            ctx.conn.authenticated.store(true, Ordering::Relaxed);
            let mut flags = 0u16;
            if session.encrypt_data.load(Ordering::Relaxed) {
                flags |= SMB2_SESSION_FLAG_ENCRYPT_DATA;
            }
            info!(session = session.id, user = %user, "channel bound");
            let body = body_of(|b| {
                SessionSetupResponse {
                    session_flags: flags,
                    security_buffer: Bytes::from(blob),
                }
                .encode(b)
            });
            let mut r = Reply::ok(body);
            r.session_id = Some(session.id);
            r.sign_with = Some(signer);
            Ok(r)
        }
    }
}
