//! python smbprotocol against rsmbd: server-side copy offload on an XFS reflink image
//! (tests/python/offload.py): smbclient.copyfile of 1 GiB byte-exact and at least as fast as
//! Samba 4.17 on the same image, an ODX round trip across connections and shares, refused
//! tokens (forged, altered, expired, after a write), the zero-data token, and
//! DUPLICATE_EXTENTS leaving shared extents. Needs root (loop mount), xfsprogs, samba and
//! e2fsprogs (filefrag).
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Size of the copychunk file (MiB).
const BIG_MIB: u64 = 1024;

/// A Samba started by the repo's tools/bench/start-samba.sh in `base`; stopped on drop.
struct Samba {
    base: PathBuf,
    script: PathBuf,
}

impl Samba {
    fn start(base: &Path, port: u16) -> Samba {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/bench/start-samba.sh");
        let out = Command::new(&script)
            .env("SAMBA_BASE", base)
            .env("SAMBA_PORT", port.to_string())
            .output()
            .expect("run start-samba.sh");
        assert!(
            out.status.success(),
            "start-samba.sh failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Samba {
            base: base.to_path_buf(),
            script,
        }
    }
}

impl Drop for Samba {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .env("SAMBA_BASE", &self.base)
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shares_toml(s1: &Path, s2: &Path, lifetime: u64) -> String {
    format!(
        "[limits]\nodx_token_lifetime_secs = {lifetime}\n\
         [[share]]\nname = \"share\"\npath = \"{}\"\n\
         [[share]]\nname = \"share2\"\npath = \"{}\"\n",
        s1.display(),
        s2.display()
    )
}

#[test]
fn offload() {
    let py = python();
    require_tool("smbd", "samba");
    require_tool("filefrag", "e2fsprogs");
    // 1 GiB of data, its reflinked copies, Samba's state: 3 GiB, sparse.
    let img = common::xfs::image(3072);
    let (s1, s2) = (img.path.join("rs1"), img.path.join("rs2"));
    for d in [&s1, &s2] {
        std::fs::create_dir(d).unwrap();
    }
    let server = TestServer::start_with(&shares_toml(&s1, &s2, 60));
    let short = TestServer::start_with(&shares_toml(&s1, &s2, 1));
    let samba_port = free_port();
    let samba_base = img.path.join("samba");
    let _samba = Samba::start(&samba_base, samba_port);
    // JSON by hand (no serde_json in the crate); Debug quoting suits these ASCII paths.
    let cfg = format!(
        "{{\"host\": \"127.0.0.1\", \"port\": {}, \"short_port\": {}, \"user\": {USER:?}, \
         \"password\": {PASS:?}, \"share1\": {:?}, \"share2\": {:?}, \"samba_port\": {samba_port}, \
         \"samba_user\": \"smbbench\", \"samba_password\": \"Bench-Pass-1\", \
         \"samba_dir\": {:?}, \"big_mib\": {BIG_MIB}}}",
        server.port,
        short.port,
        s1.display().to_string(),
        s2.display().to_string(),
        samba_base.join("share").display().to_string(),
    );
    let script = format!("{}/tests/python/offload.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script).arg(cfg);
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(300));
    println!("{out}");
    assert!(
        ok,
        "offload.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
