//! rsmbd vs the kernel's ksmbd over TCP in the QEMU test bed (issue 6;
//! tools/testbed/tests/bench-tcp.sh): both servers run in one guest on the same tmpfs, and the
//! same 8 KiB random read/write layouts run against each, rsmbd-bench straight over TCP
//! (1x16 and 16x1, plain and AES-128-GCM) and fio through a cifs mount (QD1 and QD16).
//! This is a smoke test with tiny durations: it asserts that every layout produced a figure
//! for both servers and a rsmbd/ksmbd ratio, never a speed (the guest is TCG-emulated; the
//! real figures come from a release build run by hand, see the script's header).
//! Needs root (see tests/common/testbed.rs); fails, never skips, when the guest cannot boot.
mod common;
use common::testbed::Stage;

/// The layouts bench-tcp.sh runs by default; each must have a complete table row.
const LAYOUTS: [&str; 12] = [
    "randread-8k-1x16",
    "randread-8k-16x1",
    "randwrite-8k-1x16",
    "randwrite-8k-16x1",
    "randread-8k-1x16-aes128gcm",
    "randread-8k-16x1-aes128gcm",
    "randwrite-8k-1x16-aes128gcm",
    "randwrite-8k-16x1-aes128gcm",
    "cifs-fio-randread-8k-qd1",
    "cifs-fio-randwrite-8k-qd1",
    "cifs-fio-randread-8k-qd16",
    "cifs-fio-randwrite-8k-qd16",
];

impl Stage {
    /// Stages the rsmbd-bench binary next to the staged rsmbd, where bench-tcp.sh (and
    /// bench-channels.sh) look for it by default.
    fn stage_bench(&self) {
        let dst = self.rsmbd().with_file_name("rsmbd-bench");
        std::fs::copy(env!("CARGO_BIN_EXE_rsmbd-bench"), &dst)
            .unwrap_or_else(|e| panic!("staging rsmbd-bench to {}: {e}", dst.display()));
    }
}

/// A positive number (an IOPS figure or a ratio) in a table cell.
fn positive(cell: &str) -> bool {
    cell.parse::<f64>().is_ok_and(|v| v > 0.0)
}

#[test]
fn rsmbd_and_ksmbd_over_tcp_side_by_side() {
    let stage = Stage::new("bench-tcp");
    stage.stage_bench();
    let (code, text) = stage.run(
        900,
        "bench-tcp.sh",
        &[],
        &[
            ("RSMBD_BENCH_ROUNDS", "1"),
            ("RSMBD_BENCH_DURATION", "0.5"),
            ("RSMBD_BENCH_WARMUP", "0.2"),
            ("RSMBD_BENCH_SIZE", "4m"),
            ("FIO_RUNTIME", "1"),
            ("FIO_SIZE", "4m"),
        ],
    );
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("=== rsmbd / ksmbd over TCP"))
        .filter(|l| l.starts_with('|') || l.starts_with("==="))
        .collect();
    for l in &table {
        println!("{l}");
    }
    assert!(
        !table.is_empty(),
        "no result table in the output ({code}):\n{text}"
    );
    for layout in LAYOUTS {
        let row = table
            .iter()
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
            .find(|c| c.len() > 4 && c[1] == layout)
            .unwrap_or_else(|| panic!("no table row for {layout}:\n{text}"));
        // | layout | rsmbd IOPS | ksmbd IOPS | ratio | ...
        assert!(
            positive(row[2]) && positive(row[3]) && positive(row[4]),
            "{layout}: want rsmbd IOPS, ksmbd IOPS and a ratio, got {row:?}:\n{text}"
        );
    }
    assert_eq!(code, 0, "bench-tcp.sh failed:\n{text}");
}
