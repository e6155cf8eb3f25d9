//! smbtorture: the oplock suite (smb2.oplock).
mod common;

#[test]
fn oplock_suite() {
    common::torture::run_group("oplock");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
