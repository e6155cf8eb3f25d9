//! Copies on a Linux cifs mount of rsmbd run on the server, in the QEMU test bed:
//! tools/testbed/tests/reflink.sh (a share on a loop-mounted XFS image; `cp --reflink=always`
//! becomes FSCTL_DUPLICATE_EXTENTS_TO_FILE, copy_file_range(2) becomes FSCTL_SRV_COPYCHUNK;
//! the copies are byte-exact, the clone shares extents, and `rsmbd status` counts the bytes
//! per FSCTL and per method). Needs root, as CI runs it; fails, never skips, when the guest
//! cannot boot.
mod common;
use common::testbed::Stage;

#[test]
fn kernel_client_copies_run_server_side() {
    let stage = Stage::new("offload");
    let (code, text) = stage.run(600, "reflink.sh", &[], &[]);
    for line in text.lines().filter(|l| {
        l.starts_with("PASS")
            || l.starts_with("FAIL")
            || l.starts_with("===")
            || l.starts_with("share ")
    }) {
        println!("{line}");
    }
    assert!(
        code == 0 && text.contains("ALL CHECKS PASSED"),
        "server-side copy in the test bed failed:\n{text}"
    );
}
