//! smbtorture: the smaller smb2 suites (charset, kernel-oplocks, ioctl-on-stream,
//! async_dosmode, check-sharemode, sdread, secleak). The passing tests are listed in
//! tests/torture/misc.pass.
mod common;

#[test]
fn misc_suites() {
    common::torture::run_group("misc");
}
