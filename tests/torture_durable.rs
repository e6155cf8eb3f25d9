//! smbtorture: durable handles (smb2.durable-open, smb2.durable-open-disconnect,
//! smb2.durable-v2-open, smb2.durable-v2-delay), and the same on a continuously available
//! share (persistent handles). smb2.replay runs in tests/torture_replay.rs.
mod common;

#[test]
fn durable_suite() {
    common::torture::run_group("durable");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}

/// smb2.durable-v2-open on a continuously available share (`continuous_availability = true`):
/// persistent-open-oplock and persistent-open-lease then expect a persistent handle for every
/// oplock level and lease state (their CA tables), the other tests behave as on a plain share
/// (src/server/persistent.rs). Pass list: tests/torture/durable-ca.pass.
#[test]
fn durable_ca_suite() {
    let dir = std::env::temp_dir().join(format!("rsmbd-durable-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let share = dir.clone();
    common::torture::run_group_on("durable-ca", move || {
        common::TestServer::start_with(&format!(
            "[[share]]\nname = \"share\"\npath = \"{}\"\ncontinuous_availability = true\n",
            share.display()
        ))
    });
    let _ = std::fs::remove_dir_all(&dir);
}
