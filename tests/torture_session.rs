//! smbtorture: the session-core suites (smb2.connect, tcon, credits, session, session-id).
mod common;

#[test]
fn session_core_suites() {
    common::torture::run_group("session");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
