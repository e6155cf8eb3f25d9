//! smbtorture: durable handles (smb2.durable-open, smb2.durable-open-disconnect,
//! smb2.durable-v2-open, smb2.durable-v2-delay) and the smb2.replay tests of durable v2
//! CREATE replays.
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
