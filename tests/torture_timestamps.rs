//! smbtorture: the smb2.timestamps suite. The passing tests are listed in tests/torture/timestamps.pass.
mod common;

#[test]
fn timestamps_suite() {
    common::torture::run_group("timestamps");
}
