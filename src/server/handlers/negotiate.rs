//! NEGOTIATE (MS-SMB2 3.3.5.4) and the answer to an SMB1 NEGOTIATE (3.3.5.3.1): dialect
//! selection, capabilities, and the 3.1.1 contexts (preauth integrity, encryption, signing).
use super::bad_request;
use crate::auth::Authenticator;
use crate::crypto::{Cipher, PreauthHash, SigningAlgorithm};
use crate::server::connection::{Connection, Negotiated};
use crate::server::dispatch::{Ctx, Outcome, PreauthTarget, Reply};
use crate::server::filetime_now;
use crate::wire::negotiate::*;
use crate::wire::negotiate_contexts::{self as nc, NegotiateContext};
use crate::wire::{Bytes, BytesMut, NtStatus};
use std::sync::Arc;

/// Dialects this server implements, best first.
const DIALECTS: [u16; 5] = [0x0311, 0x0302, 0x0300, 0x0210, 0x0202];
/// Ciphers in the server's order of preference.
const CIPHERS: [Cipher; 4] = [
    Cipher::Aes128Gcm,
    Cipher::Aes128Ccm,
    Cipher::Aes256Gcm,
    Cipher::Aes256Ccm,
];

fn security_mode(conn: &Connection) -> u16 {
    SMB2_NEGOTIATE_SIGNING_ENABLED
        | if conn.server.config.require_signing {
            SMB2_NEGOTIATE_SIGNING_REQUIRED
        } else {
            0
        }
}

fn max_io(conn: &Connection, dialect: u16) -> u32 {
    if dialect == 0x0202 {
        65536
    } else {
        conn.server.config.limits.max_message_size
    }
}

fn response(
    conn: &Connection,
    dialect: u16,
    capabilities: u32,
    contexts: Vec<NegotiateContext>,
) -> NegotiateResponse {
    let io = max_io(conn, dialect);
    NegotiateResponse {
        security_mode: security_mode(conn),
        dialect_revision: Dialect(dialect),
        server_guid: conn.server.guid,
        capabilities,
        max_transact_size: io,
        max_read_size: io,
        max_write_size: io,
        system_time: filetime_now(),
        server_start_time: 0,
        security_buffer: Bytes::from(Authenticator::negotiate_blob(&conn.server.auth)),
        negotiate_contexts: contexts,
    }
}

/// The SMB2 NEGOTIATE response body sent for an SMB1 NEGOTIATE, recording the outcome.
pub fn smb1_response_body(conn: &Connection, dialect: u16) -> BytesMut {
    *conn.negotiated.lock() = Some(Negotiated {
        dialect,
        client_guid: Default::default(),
        client_capabilities: 0,
        client_security_mode: 0,
        client_dialects: vec![],
        server_capabilities: 0,
        server_security_mode: security_mode(conn),
        cipher: None,
        signing: SigningAlgorithm::HmacSha256,
        preauth: None,
    });
    let mut b = BytesMut::new();
    response(conn, dialect, 0, vec![]).encode(&mut b);
    b
}

/// Handles NEGOTIATE.
pub async fn handle(ctx: Ctx) -> Outcome {
    let conn = ctx.conn.clone();
    if conn.dialect().is_some_and(|d| d != 0x02FF) {
        // MS-SMB2 3.3.5.4: a second NEGOTIATE ends the connection.
        return Outcome::Disconnect("second NEGOTIATE");
    }
    let req = match NegotiateRequest::decode(&ctx.msg) {
        Ok(r) => r,
        Err(e) => return Outcome::Reply(Reply::error(bad_request(e))),
    };
    match negotiate(&conn, &req) {
        Ok((resp, hash)) => {
            let mut body = BytesMut::with_capacity(256);
            resp.encode(&mut body);
            let mut reply = Reply::ok(body);
            if hash {
                reply.preauth = PreauthTarget::Connection;
            }
            Outcome::Reply(reply)
        }
        Err(status) if status == NtStatus::NOT_SUPPORTED => {
            // No common dialect: answer, then the client goes away (MS-SMB2 3.3.5.4).
            Outcome::Reply(Reply::error(status))
        }
        Err(status) => Outcome::Reply(Reply::error(status)),
    }
}

fn negotiate(
    conn: &Arc<Connection>,
    req: &NegotiateRequest,
) -> Result<(NegotiateResponse, bool), NtStatus> {
    if req.dialects.is_empty() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let cfg = &conn.server.config;
    let dialect = DIALECTS
        .into_iter()
        .filter(|d| (cfg.min_dialect..=cfg.max_dialect).contains(d))
        .find(|d| req.dialects.contains(&Dialect(*d)))
        .ok_or(NtStatus::NOT_SUPPORTED)?;
    let mut caps = 0;
    if dialect >= 0x0210 {
        // Leases: MS-SMB2 3.3.5.4.
        caps |= SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_LEASING;
    }
    caps |= crate::server::persistent::global_capabilities(&conn.server, dialect);
    if crate::server::dir_lease::offered(&conn.server, dialect) {
        // Directory leases (MS-SMB2 3.3.5.4, 3.3.5.9.11; src/server/dir_lease.rs).
        caps |= crate::wire::negotiate::SMB2_GLOBAL_CAP_DIRECTORY_LEASING;
    }
    if dialect >= 0x0300 && cfg.multichannel {
        // Session binding (MS-SMB2 3.3.5.5.2) is accepted.
        caps |= SMB2_GLOBAL_CAP_MULTI_CHANNEL;
    }
    let mut cipher = None;
    let mut signing = match dialect {
        0x0202 | 0x0210 => SigningAlgorithm::HmacSha256,
        _ => SigningAlgorithm::AesCmac,
    };
    let mut contexts = Vec::new();
    let mut preauth = None;
    if dialect == 0x0311 {
        let (mut seen_preauth, mut seen_enc, mut seen_sign) = (false, false, false);
        for c in &req.negotiate_contexts {
            match c {
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms, ..
                } => {
                    if seen_preauth {
                        return Err(NtStatus::INVALID_PARAMETER);
                    }
                    seen_preauth = true;
                    if !hash_algorithms.contains(&nc::SHA_512) {
                        return Err(NtStatus::SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP);
                    }
                }
                NegotiateContext::Encryption { ciphers } => {
                    if seen_enc {
                        return Err(NtStatus::INVALID_PARAMETER);
                    }
                    seen_enc = true;
                    cipher = CIPHERS.into_iter().find(|c| ciphers.contains(&c.id()));
                }
                NegotiateContext::Signing { algorithms } => {
                    if seen_sign || algorithms.is_empty() {
                        return Err(NtStatus::INVALID_PARAMETER);
                    }
                    seen_sign = true;
                    signing = [
                        SigningAlgorithm::AesGmac,
                        SigningAlgorithm::AesCmac,
                        SigningAlgorithm::HmacSha256,
                    ]
                    .into_iter()
                    .find(|a| algorithms.contains(&a.id()))
                    .unwrap_or(SigningAlgorithm::AesCmac);
                }
                _ => {}
            }
        }
        if !seen_preauth {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let mut salt = [0u8; 32];
        getrandom::getrandom(&mut salt).map_err(|_| NtStatus::INTERNAL_ERROR)?;
        contexts.push(NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![nc::SHA_512],
            salt: Bytes::copy_from_slice(&salt),
        });
        if seen_enc {
            contexts.push(NegotiateContext::Encryption {
                ciphers: vec![cipher.map_or(0, |c| c.id())],
            });
        }
        if seen_sign {
            contexts.push(NegotiateContext::Signing {
                algorithms: vec![signing.id()],
            });
        }
        preauth = Some(PreauthHash::new());
    } else if dialect >= 0x0300 && req.capabilities & SMB2_GLOBAL_CAP_ENCRYPTION != 0 {
        caps |= SMB2_GLOBAL_CAP_ENCRYPTION;
        cipher = Some(Cipher::Aes128Ccm);
    }
    *conn.negotiated.lock() = Some(Negotiated {
        dialect,
        client_guid: req.client_guid,
        client_capabilities: req.capabilities,
        client_security_mode: req.security_mode,
        client_dialects: req.dialects.iter().map(|d| d.0).collect(),
        server_capabilities: caps,
        server_security_mode: security_mode(conn),
        cipher,
        signing,
        preauth,
    });
    Ok((response(conn, dialect, caps, contexts), dialect == 0x0311))
}
