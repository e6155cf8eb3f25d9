//! Multichannel with the Linux kernel client, in the QEMU test bed (issue 8;
//! tools/testbed/tests/multichannel.sh): two veth pairs, rsmbd listening on both server
//! addresses and advertising them (RSS) in FSCTL_QUERY_NETWORK_INTERFACE_INFO, cifs mounting
//! with `vers=3.1.1,multichannel,max_channels=4`. Asserts: 4 channels in
//! /proc/fs/cifs/DebugData; `rsmbd status` shows the one session with its 4 channels on both
//! client addresses, and data moving on every channel during a multi-file copy; a copy during
//! which one link goes down completes without losing data, and the session lives on.
//! Needs root (see tests/common/testbed.rs); fails, never skips, when the guest cannot boot.
//! RSMBD_TESTBED_MC_MB sets the size of the link-down copy (default 128 MiB).
mod common;
use common::testbed::Stage;

#[test]
fn kernel_client_multichannel_against_rsmbd() {
    let stage = Stage::new("multichannel");
    let mb = std::env::var("RSMBD_TESTBED_MC_MB").unwrap_or_else(|_| "128".into());
    let (code, text) = stage.run(600, "multichannel.sh", &[], &[("MC_BIG_MB", &mb)]);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL ") || l.contains(" passed, "))
        .collect();
    for l in &lines {
        println!("{l}");
    }
    for case in [
        "setup",
        "mount",
        "channels",
        "status-session",
        "spread",
        "link-down",
        "survives",
        "umount",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("PASS {case}"))),
            "case {case} did not pass:\n{text}"
        );
    }
    assert!(
        code == 0 && text.contains(" passed, 0 failed"),
        "multichannel test bed run failed ({code}):\n{text}"
    );
}
