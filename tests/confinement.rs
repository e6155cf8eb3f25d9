//! Share confinement over SMB (tests/python/confinement.py): `..` components, absolute names,
//! symlinks inside the share pointing outside (open, create through, rename onto, delete
//! through, list), a directory swapped for a symlink to outside while a client creates files
//! beneath it, stream-name tricks, embedded NUL, lone surrogates, DOS device names, characters
//! illegal on Windows and over-long names. Each case asserts the exact NTSTATUS; afterwards
//! nothing beside the share (a sentinel directory) was read, created or written.
mod common;
use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Everything under `root` (without reading it): path → (mode, size, mtime ns, link target).
fn tree(root: &Path) -> BTreeMap<PathBuf, (u32, u64, i64, Option<PathBuf>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let md = std::fs::symlink_metadata(&d).unwrap();
        let link = std::fs::read_link(&d).ok();
        out.insert(
            d.clone(),
            (
                md.mode(),
                md.size(),
                md.mtime() * 1_000_000_000 + md.mtime_nsec(),
                link,
            ),
        );
        if md.is_dir() {
            for e in std::fs::read_dir(&d).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out
}

#[test]
fn confinement_over_smb() {
    let server = TestServer::start();
    let outside = server.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let py = python();
    let script = format!("{}/tests/python/confinement.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(py);
    c.arg(script)
        .args(["127.0.0.1", &server.port.to_string(), USER, PASS])
        .arg(&server.share_dir)
        .arg(&outside)
        .args(["--race-secs", "4"]);
    // The script creates the sentinel files (and checks by lstat and atime that they were
    // neither read, listed nor changed).
    let (ok, out) = run_with_timeout(&mut c, Duration::from_secs(300));
    println!("{out}");
    assert!(
        ok,
        "confinement.py failed:\n{out}\nserver log:\n{}",
        server.log()
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
    // Independently of the script: outside holds only the fixtures, unchanged.
    let t = tree(&outside);
    let names: Vec<String> = t
        .keys()
        .map(|p| p.strip_prefix(&outside).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        ["", "secret.txt", "sub", "sub/inner.txt"],
        "entries outside the share changed"
    );
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"TOP SECRET\n"
    );
    assert_eq!(
        std::fs::read(outside.join("sub/inner.txt")).unwrap(),
        b"inner\n"
    );
    // Nothing was created beside the share or above it either.
    let mut siblings: Vec<String> = std::fs::read_dir(server.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    siblings.sort();
    for s in &siblings {
        assert!(
            [
                "outside",
                "rsmbd.log",
                "rsmbd.toml",
                "share",
                "state",
                "users"
            ]
            .contains(&s.as_str()),
            "unexpected entry beside the share: {s} (all: {siblings:?})"
        );
    }
}
