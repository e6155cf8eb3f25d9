//! smbtorture: the smb2.streams suite. The passing tests are listed in tests/torture/streams.pass.
mod common;

#[test]
fn streams_suite() {
    common::torture::run_group("streams");
}
