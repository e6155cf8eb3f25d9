//! smbtorture: directory listing, QUERY_INFO/SET_INFO, renames and attributes (smb2.dir,
//! getinfo, setinfo, rename, winattr, compound_find); acls, streams and timestamps have their
//! own files. The passing tests are listed in tests/torture/info.pass.
mod common;

#[test]
fn info_suites() {
    common::torture::run_group("info");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
