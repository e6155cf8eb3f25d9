//! The Linux kernel client keeps an open file across a SIGKILL and restart of rsmbd on a
//! continuously available share (mount option `persistenthandles`, vers 3.0 and 3.1.1), in the
//! QEMU test bed: tools/testbed/tests/persistent.sh (a writer holds the file open and fsyncs
//! through the restart; the content must be byte-exact and the restarted server must have
//! restored the persistent handle and seen it reclaimed). Needs root, as CI runs it; fails,
//! never skips, when the guest cannot boot.
mod common;
use common::testbed::Stage;

#[test]
fn kernel_client_keeps_open_file_across_restart() {
    let stage = Stage::new("persistent");
    let (code, text) = stage.run(600, "persistent.sh", &[], &[]);
    for line in text
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL") || l.starts_with("==="))
    {
        println!("{line}");
    }
    assert!(
        code == 0 && text.contains("ALL CHECKS PASSED"),
        "persistent handles in the test bed failed:\n{text}"
    );
}
