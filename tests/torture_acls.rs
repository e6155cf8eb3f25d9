//! smbtorture: the smb2.acls suite. The passing tests are listed in tests/torture/acls.pass.
mod common;

#[test]
fn acls_suite() {
    common::torture::run_group("acls");
}
