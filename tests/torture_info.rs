//! smbtorture: directory listing, QUERY_INFO/SET_INFO, renames, timestamps, attributes,
//! streams and ACLs (smb2.dir, getinfo, setinfo, rename, timestamps, winattr, streams, acls,
//! compound_find). The passing tests are listed in tests/torture/info.pass.
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
