//! The Linux kernel client against rsmbd, in the QEMU test bed (tools/testbed): the cifs
//! matrix (vers 2.1/3.0/3.1.1 × plain/sign/seal: write-read-compare, mkdir, rename, ls,
//! unlink, flock, fcntl, 8 KiB O_DIRECT fio). Needs root (it installs QEMU and Debian's kernel
//! packages on first use, cached in /var/cache/rsmbd-testbed); it fails, never skips, when the
//! guest cannot boot. Set RSMBD_TESTBED_MB to change the transfer size (default 64).
mod common;
use common::testbed::Stage;

#[test]
fn kernel_client_matrix_against_rsmbd() {
    let stage = Stage::new("matrix");
    let mb = std::env::var("RSMBD_TESTBED_MB").unwrap_or_else(|_| "64".into());
    let (code, text) = stage.run(2400, "cifs-matrix.sh", &["rsmbd"], &[("MATRIX_MB", &mb)]);
    for line in text
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.contains(" passed, "))
    {
        println!("{line}");
    }
    assert!(
        code == 0 && text.contains(" passed, 0 failed"),
        "kernel client matrix failed:\n{text}"
    );
}
