//! The benchmark's NTLM client: `rsmbd::auth::ntlm_client` in SPNEGO or raw mode.

pub use rsmbd::auth::ntlm_client::NtlmClient;

/// A client for `user` (optionally `DOMAIN\user`) and `password`, SPNEGO-wrapped if `spnego`.
pub fn client(user: &str, password: &str, spnego: bool) -> NtlmClient {
    let mut c = NtlmClient::new(user, password);
    c.workstation = "RSMBD-BENCH".into();
    c.spnego = spnego;
    c
}
