//! smbtorture: the file-core suites (smb2.read, rw, create, delete-on-close-perms, sharemode,
//! deny, openattr, mkdir, maxfid, fileid).
mod common;

#[test]
fn file_core_suites() {
    common::torture::run_group("files");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
