//! Server-side authentication for SMB2 SESSION_SETUP: SPNEGO carrying NTLMSSP (NTLMv2
//! only), raw NTLMSSP (as the Linux kernel client sends it), and the user database.
//!
//! Specifications implemented:
//! - MS-NLMP 2.2.1 (NEGOTIATE / CHALLENGE / AUTHENTICATE messages), 2.2.2.1 (AV_PAIR),
//!   3.2.5 (server processing), 3.3.2 (NTLM v2), 3.1.5.1.2 (MIC), 3.4.4.2 (message
//!   signature with extended session security), 3.4.5 (KXKEY, SIGNKEY, SEALKEY):
//!   [`ntlm`], [`ntlm_messages`].
//! - RFC 4178 and MS-SPNG 2.2.1 / 3.2.5 (NegTokenInit, NegTokenInit2, NegTokenResp,
//!   mechListMIC), RFC 2743 3.1 (0x60 framing): [`spnego`].
//!
//! This is hand-written on purpose: the maintained `sspi` crate (0.23) has no per-user
//! credential lookup for a server and does not verify the NTLMv2 proof when the client
//! sends no MIC (sspi-rs issue 172), which would let any password through.
//!
//! SPNEGO exchange as the server runs it (matching Windows and Samba):
//! 1. client `NegTokenInit{mechTypes, mechToken = NEGOTIATE}` -> server
//!    `NegTokenResp{negState accept-incomplete (1), supportedMech NTLMSSP, responseToken =
//!    CHALLENGE}`. If NTLMSSP is not the client's first mech, the optimistic token is
//!    ignored and the reply is `{negState request-mic (3), supportedMech NTLMSSP}`; the
//!    client then sends the NEGOTIATE in a NegTokenResp and a mechListMIC becomes mandatory.
//! 2. client `NegTokenResp{responseToken = AUTHENTICATE, mechListMIC?}` -> on success
//!    `NegTokenResp{negState accept-completed (0), mechListMIC?}` with no supportedMech
//!    and no responseToken. The server's mechListMIC is present exactly when the client
//!    sent one (and it verified); it is the NTLMSSP signature (server signing/sealing keys,
//!    sequence number 0) over the DER MechTypeList the client sent.

pub mod ntlm;
pub mod ntlm_client;
pub mod ntlm_messages;
pub mod spnego;
pub mod users;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use ntlm::nt_hash;
pub use users::{User, UserDb};

use ntlm::{NtlmResult, NtlmServer};
use ntlm_messages::{
    message_type, MESSAGE_TYPE_AUTHENTICATE, MESSAGE_TYPE_NEGOTIATE,
    NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
};
use spnego::{NegTokenResp, NegotiationToken, OID_NTLMSSP};

/// Server identity and policy for authentication.
pub struct AuthConfig {
    /// The user database.
    pub users: Arc<UserDb>,
    /// NetBIOS computer name, e.g. "RSMBD".
    pub netbios_name: String,
    /// NetBIOS domain (workgroup) name, e.g. "WORKGROUP".
    pub domain: String,
    /// DNS host name of the server.
    pub dns_name: String,
    /// Accept anonymous (null session) logons.
    pub allow_anonymous: bool,
}

/// Result of one [`Authenticator::step`]. Its `Debug` output never shows the session key.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Send this blob back with STATUS_MORE_PROCESSING_REQUIRED.
    Continue(Vec<u8>),
    /// Authenticated. `blob` is the final security blob for the response (SPNEGO
    /// accept-completed with the server's mechListMIC when the client spoke SPNEGO and sent
    /// one; empty for raw NTLMSSP).
    Success {
        /// User name as stored in the user database (empty for anonymous).
        user: String,
        /// Domain name the client sent.
        domain: String,
        /// The SMB session key: NTLM ExportedSessionKey (zeros for anonymous).
        session_key: [u8; 16],
        /// Anonymous (null session) logon.
        anonymous: bool,
        /// Security blob for the final SESSION_SETUP response.
        blob: Vec<u8>,
    },
    /// Wrong user/password, bad proof, bad MIC: STATUS_LOGON_FAILURE.
    LogonFailure,
    /// A malformed token: STATUS_INVALID_PARAMETER (the caller may also map to LOGON_FAILURE).
    Invalid(&'static str),
}

impl std::fmt::Debug for AuthOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Continue(b) => f.debug_tuple("Continue").field(&b.len()).finish(),
            Self::Success {
                user,
                domain,
                anonymous,
                blob,
                ..
            } => f
                .debug_struct("Success")
                .field("user", user)
                .field("domain", domain)
                .field("anonymous", anonymous)
                .field("session_key", &"<redacted>")
                .field("blob_len", &blob.len())
                .finish(),
            Self::LogonFailure => f.write_str("LogonFailure"),
            Self::Invalid(why) => f.debug_tuple("Invalid").field(why).finish(),
        }
    }
}

/// SPNEGO context kept across legs.
struct SpnegoCtx {
    /// The client's MechTypeList, DER, as received.
    mech_types_der: Vec<u8>,
    /// NTLMSSP was not the client's first choice: a mechListMIC is mandatory.
    mic_required: bool,
}

enum State {
    /// Nothing (or only an empty blob) received.
    Initial,
    /// SPNEGO selected NTLMSSP but the NEGOTIATE message has not arrived yet.
    AwaitNegotiate(SpnegoCtx),
    /// CHALLENGE sent; waiting for AUTHENTICATE (`None` = raw NTLMSSP).
    AwaitAuthenticate(Box<NtlmServer>, Option<SpnegoCtx>),
    /// Finished (successfully or not); further input is refused.
    Done,
}

/// One in-progress SESSION_SETUP authentication exchange.
pub struct Authenticator {
    config: Arc<AuthConfig>,
    state: State,
    /// Fixed server challenge and timestamp (tests only; `None` = random challenge, now).
    fixed_challenge: Option<([u8; 8], u64)>,
}

impl Authenticator {
    /// Starts an exchange.
    pub fn new(config: Arc<AuthConfig>) -> Self {
        Self {
            config,
            state: State::Initial,
            fixed_challenge: None,
        }
    }

    /// The SPNEGO NegTokenInit2 for the NEGOTIATE response (mechTypes: NTLMSSP; negHints
    /// hintName "not_defined_in_RFC4178@please_ignore").
    pub fn negotiate_blob(_config: &AuthConfig) -> Vec<u8> {
        spnego::encode_neg_token_init2(&[OID_NTLMSSP])
    }

    /// Feeds one client security blob and returns what to answer.
    pub fn step(&mut self, blob: &[u8]) -> AuthOutcome {
        let state = std::mem::replace(&mut self.state, State::Done);
        let (outcome, next) = self.step_inner(state, blob);
        self.state = next;
        outcome
    }

    /// Test hook: use a fixed server challenge and timestamp instead of random/now ones.
    #[cfg(test)]
    fn with_fixed_challenge(mut self, challenge: [u8; 8], timestamp: u64) -> Self {
        self.fixed_challenge = Some((challenge, timestamp));
        self
    }

    fn start_ntlm(&self, negotiate: &[u8]) -> Result<(Box<NtlmServer>, Vec<u8>), &'static str> {
        if message_type(negotiate) != Some(MESSAGE_TYPE_NEGOTIATE) {
            return Err("expected an NTLMSSP NEGOTIATE message");
        }
        if let Some((c, t)) = self.fixed_challenge {
            return NtlmServer::with_challenge(self.config.clone(), negotiate, c, t)
                .map(|(s, c)| (Box::new(s), c));
        }
        NtlmServer::new(self.config.clone(), negotiate).map(|(s, c)| (Box::new(s), c))
    }

    fn step_inner(&self, state: State, blob: &[u8]) -> (AuthOutcome, State) {
        use AuthOutcome::{Continue, Invalid};
        match state {
            State::Initial if blob.is_empty() => {
                (Continue(Self::negotiate_blob(&self.config)), State::Initial)
            }
            State::Initial if message_type(blob).is_some() => match self.start_ntlm(blob) {
                Ok((server, challenge)) => {
                    (Continue(challenge), State::AwaitAuthenticate(server, None))
                }
                Err(e) => (Invalid(e), State::Done),
            },
            State::Initial => {
                let init = match spnego::decode_negotiation_token(blob) {
                    Ok(NegotiationToken::Init(i)) => i,
                    Ok(NegotiationToken::Resp(_)) => {
                        return (Invalid("unexpected NegTokenResp"), State::Done)
                    }
                    Err(e) => return (Invalid(e.0), State::Done),
                };
                let Some(idx) = init.mech_types.iter().position(|m| m == OID_NTLMSSP) else {
                    return (Invalid("client offers no NTLMSSP mechanism"), State::Done);
                };
                let ctx = SpnegoCtx {
                    mech_types_der: init.mech_types_der,
                    mic_required: idx != 0,
                };
                let mut resp = NegTokenResp {
                    supported_mech: Some(OID_NTLMSSP.to_vec()),
                    ..Default::default()
                };
                match init.mech_token {
                    Some(tok) if idx == 0 => match self.start_ntlm(&tok) {
                        Ok((server, challenge)) => {
                            resp.neg_state = Some(spnego::NEG_STATE_ACCEPT_INCOMPLETE);
                            resp.response_token = Some(challenge);
                            (
                                Continue(resp.encode()),
                                State::AwaitAuthenticate(server, Some(ctx)),
                            )
                        }
                        Err(e) => (Invalid(e), State::Done),
                    },
                    _ => {
                        resp.neg_state = Some(if ctx.mic_required {
                            spnego::NEG_STATE_REQUEST_MIC
                        } else {
                            spnego::NEG_STATE_ACCEPT_INCOMPLETE
                        });
                        (Continue(resp.encode()), State::AwaitNegotiate(ctx))
                    }
                }
            }
            State::AwaitNegotiate(ctx) => {
                let token = match client_resp_token(blob) {
                    Ok(t) => t,
                    Err(o) => return (o, State::Done),
                };
                match self.start_ntlm(&token) {
                    Ok((server, challenge)) => {
                        let resp = NegTokenResp {
                            neg_state: Some(spnego::NEG_STATE_ACCEPT_INCOMPLETE),
                            response_token: Some(challenge),
                            ..Default::default()
                        };
                        (
                            Continue(resp.encode()),
                            State::AwaitAuthenticate(server, Some(ctx)),
                        )
                    }
                    Err(e) => (Invalid(e), State::Done),
                }
            }
            State::AwaitAuthenticate(server, None) => {
                if message_type(blob) != Some(MESSAGE_TYPE_AUTHENTICATE) {
                    return (
                        Invalid("expected an NTLMSSP AUTHENTICATE message"),
                        State::Done,
                    );
                }
                let outcome = match server.authenticate(blob) {
                    NtlmResult::Ok(a) => AuthOutcome::Success {
                        user: a.user,
                        domain: a.domain,
                        session_key: a.session_key,
                        anonymous: a.anonymous,
                        blob: Vec::new(),
                    },
                    NtlmResult::LogonFailure => AuthOutcome::LogonFailure,
                    NtlmResult::Invalid(e) => Invalid(e),
                };
                (outcome, State::Done)
            }
            State::AwaitAuthenticate(server, Some(ctx)) => {
                (Self::finish_spnego(&server, &ctx, blob), State::Done)
            }
            State::Done => (
                Invalid("authentication exchange already finished"),
                State::Done,
            ),
        }
    }

    /// Last SPNEGO leg: verifies the AUTHENTICATE and the client's mechListMIC, and builds
    /// the accept-completed NegTokenResp.
    fn finish_spnego(server: &NtlmServer, ctx: &SpnegoCtx, blob: &[u8]) -> AuthOutcome {
        let resp = match spnego::decode_negotiation_token(blob) {
            Ok(NegotiationToken::Resp(r)) => r,
            Ok(NegotiationToken::Init(_)) => {
                return AuthOutcome::Invalid("unexpected NegTokenInit")
            }
            Err(e) => return AuthOutcome::Invalid(e.0),
        };
        if resp.neg_state == Some(spnego::NEG_STATE_REJECT) {
            return AuthOutcome::LogonFailure;
        }
        let Some(token) = resp.response_token else {
            return AuthOutcome::Invalid("NegTokenResp without responseToken");
        };
        if message_type(&token) != Some(MESSAGE_TYPE_AUTHENTICATE) {
            return AuthOutcome::Invalid("expected an NTLMSSP AUTHENTICATE message");
        }
        let a = match server.authenticate(&token) {
            NtlmResult::Ok(a) => a,
            NtlmResult::LogonFailure => return AuthOutcome::LogonFailure,
            NtlmResult::Invalid(e) => return AuthOutcome::Invalid(e),
        };
        let mut out = NegTokenResp {
            neg_state: Some(spnego::NEG_STATE_ACCEPT_COMPLETED),
            ..Default::default()
        };
        // Anonymous logons have no session security: no mechListMIC either way (as Samba).
        if !a.anonymous {
            match resp.mech_list_mic {
                Some(mic) => {
                    if a.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
                        return AuthOutcome::LogonFailure;
                    }
                    let client = ntlm::direction_keys(&a.session_key, a.flags, true);
                    let expected = ntlm::sign(&client, a.flags, 0, &ctx.mech_types_der);
                    if !ntlm::ct_eq(&expected, &mic) {
                        return AuthOutcome::LogonFailure;
                    }
                    let server_keys = ntlm::direction_keys(&a.session_key, a.flags, false);
                    let ours = ntlm::sign(&server_keys, a.flags, 0, &ctx.mech_types_der);
                    out.mech_list_mic = Some(ours.to_vec());
                }
                None if ctx.mic_required => return AuthOutcome::LogonFailure,
                None => {}
            }
        }
        AuthOutcome::Success {
            user: a.user,
            domain: a.domain,
            session_key: a.session_key,
            anonymous: a.anonymous,
            blob: out.encode(),
        }
    }
}

/// Extracts the responseToken of a client NegTokenResp (middle leg).
fn client_resp_token(blob: &[u8]) -> Result<Vec<u8>, AuthOutcome> {
    match spnego::decode_negotiation_token(blob) {
        Ok(NegotiationToken::Resp(r)) => {
            if r.neg_state == Some(spnego::NEG_STATE_REJECT) {
                return Err(AuthOutcome::LogonFailure);
            }
            r.response_token
                .ok_or(AuthOutcome::Invalid("NegTokenResp without responseToken"))
        }
        Ok(NegotiationToken::Init(_)) => Err(AuthOutcome::Invalid("unexpected NegTokenInit")),
        Err(e) => Err(AuthOutcome::Invalid(e.0)),
    }
}
