//! Debian's smbclient against rsmbd: files and directories over SMB3_11 sealed and SMB2_10
//! signed — mkdir, put/get of 100 MiB compared by hash, ls, allinfo, setmode, rename, rm,
//! rmdir.
mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn smbclient(port: u16, dialect: &str, protection: &str, cmds: &str, cwd: &Path) -> (bool, String) {
    let bin = require_tool("smbclient", "smbclient");
    let mut c = Command::new(bin);
    c.current_dir(cwd).args([
        "//127.0.0.1/share",
        "-p",
        &port.to_string(),
        "-U",
        &format!("{USER}%{PASS}"),
        "-m",
        dialect,
        "--option=client min protocol=SMB2_02",
        &format!("--client-protection={protection}"),
        "-c",
        cmds,
    ]);
    run_with_timeout(&mut c, Duration::from_secs(120))
}

fn sha256(p: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn round_trip(dialect: &str, protection: &str) {
    let mut server = TestServer::start();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    {
        // 100 MiB of varied data, made without pulling in a RNG crate.
        let mut data = vec![0u8; 100 << 20];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for chunk in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(&src, &data).unwrap();
    }
    let (ok, out) = smbclient(
        server.port,
        dialect,
        protection,
        "mkdir d1; put src.bin d1\\big.bin; get d1\\big.bin back.bin",
        local.path(),
    );
    assert!(ok, "{dialect}/{protection}: {out}\n{}", server.log());
    let on_server = server.share_dir.join("d1").join("big.bin");
    assert!(on_server.is_file(), "{out}");
    let want = sha256(&src);
    assert_eq!(sha256(&on_server), want, "server copy differs");
    assert_eq!(
        sha256(&local.path().join("back.bin")),
        want,
        "download differs: {out}"
    );
    let (ok, out) = smbclient(
        server.port,
        dialect,
        protection,
        "ls d1\\*; setmode d1\\big.bin +r; allinfo d1\\big.bin; setmode d1\\big.bin -r; \
         rename d1\\big.bin d1\\moved.bin; ls d1\\*",
        local.path(),
    );
    assert!(ok, "{dialect}/{protection}: {out}\n{}", server.log());
    assert!(
        out.contains("big.bin") && out.contains("moved.bin"),
        "{out}"
    );
    assert!(out.contains("attributes: R"), "setmode +r: {out}");
    assert!(
        server.share_dir.join("d1").join("moved.bin").is_file(),
        "rename: {out}"
    );
    let (ok, out) = smbclient(
        server.port,
        dialect,
        protection,
        "rm d1\\moved.bin; rmdir d1",
        local.path(),
    );
    assert!(ok, "{dialect}/{protection}: {out}\n{}", server.log());
    assert!(
        !server.share_dir.join("d1").exists(),
        "rm/rmdir left d1: {out}"
    );
    assert!(server.alive(), "server died: {}", server.log());
}

#[test]
fn smb3_11_sealed_put_get_100mib() {
    round_trip("SMB3_11", "encrypt");
}

#[test]
fn smb2_10_signed_put_get_100mib() {
    round_trip("SMB2_10", "sign");
}
