//! smbtorture: locks, change notify, compounds and IOCTLs (smb2.lock, smb2.notify,
//! smb2.compound, smb2.compound_async, smb2.ioctl).
mod common;

#[test]
fn locks_notify_compound_ioctl_suites() {
    common::torture::run_group("locks");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
