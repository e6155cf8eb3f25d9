//! smbtorture: the smb2.bench suite (echo, oplock1, path-contention-shared: many opens and
//! requests under load for a fixed time). The passing tests are listed in
//! tests/torture/bench.pass.
mod common;

#[test]
fn bench_suite() {
    common::torture::run_group("bench");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey();
}
