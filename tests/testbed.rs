//! The Linux kernel client against rsmbd, in the QEMU test bed (tools/testbed): the cifs
//! matrix (vers 2.1/3.0/3.1.1 × plain/sign/seal: write-read-compare, mkdir, rename, ls,
//! unlink, flock, fcntl, 8 KiB O_DIRECT fio). Needs root (it installs QEMU and Debian's kernel
//! packages on first use, cached in /var/cache/rsmbd-testbed); it fails, never skips, when the
//! guest cannot boot. Set RSMBD_TESTBED_MB to change the transfer size (default 64).
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest cannot see the host's /tmp or /run, and a checkout may live there: copy the
/// scripts and the binary to a staging directory under the bed's cache.
fn stage() -> PathBuf {
    let cache =
        std::env::var("TESTBED_CACHE").unwrap_or_else(|_| "/var/cache/rsmbd-testbed".into());
    let stage = Path::new(&cache).join(format!("stage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(stage.join("target/release"))
        .expect("create the staging directory (root needed)");
    let repo = env!("CARGO_MANIFEST_DIR");
    let ok = Command::new("cp")
        .args(["-a", &format!("{repo}/tools"), stage.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "copying tools/ to {}", stage.display());
    std::fs::copy(
        env!("CARGO_BIN_EXE_rsmbd"),
        stage.join("target/release/rsmbd"),
    )
    .unwrap();
    stage
}

#[test]
fn kernel_client_matrix_against_rsmbd() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the test bed needs root (QEMU, apt-get); run the tests as root as CI does"
    );
    let stage = stage();
    let bed = stage.join("tools/testbed");
    let setup = Command::new(bed.join("setup.sh"))
        .status()
        .expect("run tools/testbed/setup.sh");
    assert!(
        setup.success(),
        "tools/testbed/setup.sh failed: the guest cannot be built"
    );
    let mb = std::env::var("RSMBD_TESTBED_MB").unwrap_or_else(|_| "64".into());
    let out = Command::new(bed.join("run-in-guest.sh"))
        .args(["-t", "2400"])
        .arg(bed.join("tests/cifs-matrix.sh"))
        .arg("rsmbd")
        .env("MATRIX_MB", &mb)
        .env("RSMBD_BIN", stage.join("target/release/rsmbd"))
        .output()
        .expect("run tools/testbed/run-in-guest.sh");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&stage);
    for line in text
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.contains(" passed, "))
    {
        println!("{line}");
    }
    match out.status.code() {
        Some(125) => panic!("the test bed guest did not boot:\n{text}"),
        Some(124) => panic!("the test bed run timed out:\n{text}"),
        _ => {}
    }
    assert!(
        out.status.success() && text.contains(" passed, 0 failed"),
        "kernel client matrix failed:\n{text}"
    );
}
