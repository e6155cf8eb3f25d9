//! smbtorture: the lease suite (smb2.lease).
mod common;

#[test]
fn lease_suite() {
    common::torture::run_group("lease");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
