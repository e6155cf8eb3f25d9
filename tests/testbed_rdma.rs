//! SMB Direct (MS-SMBD) with the Linux kernel client over soft-RoCE, in the QEMU test bed
//! (issue 10; tools/testbed/tests/rdma.sh): rsmbd listens with rdma_cm on 10.99.0.2:5445
//! (rxe1); cifs mounts with `rdma` for vers=3.1.1 and 3.0; /proc/fs/cifs/DebugData shows the
//! RDMA transport (SMBDirect protocol version 100); a file written through the mount
//! (WRITE by RDMA Read) matches on the server and reads back equal (READ by RDMA Write);
//! fio 8 KiB random read/write at QD1 with the client's default rdma_readwrite_threshold
//! (4096: 8 KiB I/O is placed by RDMA) and with 65536 (inline in SMB Direct messages), and
//! at QD16 (libaio) with both thresholds (default: many RDMA_V1_INVALIDATE requests in
//! flight, each Send with Invalidate no later than its own response); multichannel: `rdma,multichannel,max_channels=2` over two rxe links
//! binds a second SMB Direct channel (DebugData: 2 channels; `rsmbd status`: both
//! transport=rdma), FSCTL_QUERY_NETWORK_INTERFACE_INFO advertises both server addresses
//! RDMA_CAPABLE, and a write/read/compare runs requests on both channels.
//! Needs root (see tests/common/testbed.rs); fails, never skips, when the guest cannot boot.
//! RSMBD_RDMA_MB sets the size of the write/read/compare file (default 256 MiB, as issue 10
//! asks; the whole run takes ~4 minutes of guest time with a debug build).
mod common;
use common::testbed::Stage;

#[test]
fn kernel_client_smb_direct_against_rsmbd() {
    let stage = Stage::new("rdma");
    let (code, text) = stage.run(900, "rdma.sh", &[], &[]);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("PASS")
                || l.starts_with("FAIL")
                || l.contains("IOPS")
                || l.contains("MiB/s")
                || l.contains("requests per channel")
        })
        .collect();
    for l in &lines {
        println!("{l}");
    }
    let mb = std::env::var("RSMBD_RDMA_MB").unwrap_or_else(|_| "256".into());
    let big = format!("write/read/compare {mb} MiB");
    for case in [
        "SMB Direct listener announced",
        "mount vers=3.1.1 rdma",
        "DebugData shows the RDMA transport (3.1.1)",
        big.as_str(),
        "mount vers=3.0 rdma",
        "DebugData shows the RDMA transport (3.0)",
        "fio randread 8k QD1 (threshold default)",
        "fio randwrite 8k QD1 (threshold default)",
        "fio randread 8k QD1 (threshold 65536)",
        "fio randwrite 8k QD1 (threshold 65536)",
        "fio randread 8k QD16 libaio (threshold default)",
        "fio randwrite 8k QD16 libaio (threshold default)",
        "fio randread 8k QD16 libaio (threshold 65536)",
        "fio randwrite 8k QD16 libaio (threshold 65536)",
        "mount rdma,multichannel,max_channels=2",
        "two SMB Direct channels (DebugData, rsmbd status)",
        "interfaces advertised RDMA_CAPABLE",
        "I/O on both RDMA channels",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("PASS: ") && l.contains(case)),
            "case {case} did not pass:\n{text}"
        );
    }
    assert!(
        code == 0 && text.contains("ALL CHECKS PASSED"),
        "SMB Direct test bed run failed ({code}):\n{text}"
    );
}
