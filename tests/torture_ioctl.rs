//! smbtorture: smb2.ioctl, smb2.set-sparse-ioctl and smb2.zero-data-ioctl on a share on a
//! loop-mounted XFS image with reflink (copy offload by cloning, sparse files), so the
//! DUPLICATE_EXTENTS tests run rather than skip; and smb2.ioctl again on a loop-mounted btrfs
//! image, where files can be compressed (the compress_* tests run). Needs root (CI is).
mod common;
use common::TestServer;

/// A server whose share `share` is the directory `path`.
fn server_at(path: &std::path::Path) -> TestServer {
    TestServer::start_with(&format!(
        "[[share]]\nname = \"share\"\npath = \"{}\"\n",
        path.display()
    ))
}

/// A server whose share `share` is the root of `img`.
fn server_on(img: &common::loopfs::LoopImage) -> TestServer {
    server_at(&img.path)
}

#[test]
fn ioctl_suites_on_xfs() {
    let img = common::xfs::image(common::xfs::MIN_MB);
    common::torture::run_group_on("ioctl", || server_on(&img));
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    let img = common::xfs::image(common::xfs::MIN_MB);
    common::torture::survey_on(|| server_on(&img));
}

/// smb2.ioctl on btrfs: tests/torture/ioctl-btrfs.pass (compression included).
#[test]
fn ioctl_suite_on_btrfs() {
    let img = common::btrfs::image(common::btrfs::MIN_MB);
    common::torture::run_listed_on("ioctl-btrfs", || server_at(&img.path));
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey_btrfs() {
    let img = common::btrfs::image(common::btrfs::MIN_MB);
    common::torture::survey_on(|| server_at(&img.path));
}

/// Runs one smbtorture test with `--option=torture:K=V` settings; true if it passed.
fn torture_with(server: &TestServer, test: &str, opts: &[(&str, &str)]) -> (bool, String) {
    let bin = common::require_tool("smbtorture", "samba-testsuite");
    let mut c = std::process::Command::new(bin);
    c.args([
        "//127.0.0.1/share",
        "-p",
        &server.port.to_string(),
        "-U",
        &format!("{}%{}", common::USER, common::PASS),
    ]);
    for (k, v) in opts {
        c.arg(format!("--option=torture:{k}={v}"));
    }
    c.arg(test);
    let (ok, out) = common::run_with_timeout(&mut c, std::time::Duration::from_secs(60));
    let passed = ok && out.contains("\nsuccess:") && !out.contains("\nfailure:");
    (passed, out)
}

/// FILE_ATTRIBUTE_SPARSE_FILE as stored in `user.DOSATTRIB` (rsmbd format: version u16,
/// attributes u32).
fn stored_sparse(path: &std::path::Path) -> bool {
    let v = xattr_get(path, "user.DOSATTRIB");
    v.len() >= 6 && u32::from_le_bytes([v[2], v[3], v[4], v[5]]) & 0x200 != 0
}

fn xattr_get(path: &std::path::Path, name: &str) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid NUL-terminated strings and a writable buffer of the given size.
    let r = unsafe {
        libc::getxattr(
            p.as_ptr(),
            n.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    buf.truncate(r.max(0) as usize);
    buf
}

/// smb2.set-sparse-ioctl and smb2.zero-data-ioctl take the file and range as options; the
/// effect is checked on the file system: the stored sparse attribute, and a punched hole.
#[test]
fn set_sparse_and_zero_data() {
    let img = common::xfs::image(common::xfs::MIN_MB);
    let server = server_on(&img);
    let f = img.path.join("sparse.bin");
    std::fs::write(&f, vec![0xA5u8; 1 << 20]).unwrap();
    let (ok, out) = torture_with(
        &server,
        "smb2.set-sparse-ioctl",
        &[("filename", "sparse.bin")],
    );
    assert!(ok, "{out}");
    assert!(stored_sparse(&f), "sparse attribute not stored");
    let (ok, out) = torture_with(
        &server,
        "smb2.zero-data-ioctl",
        &[
            ("filename", "sparse.bin"),
            ("offset", "65536"),
            ("beyond_final_zero", "327680"),
        ],
    );
    assert!(ok, "{out}");
    let data = std::fs::read(&f).unwrap();
    assert_eq!(data.len(), 1 << 20, "size kept");
    assert!(data[..65536].iter().all(|&b| b == 0xA5));
    assert!(data[65536..327680].iter().all(|&b| b == 0));
    assert!(data[327680..].iter().all(|&b| b == 0xA5));
    // The range is a hole: the next data after its start is its end.
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(&f).unwrap();
    // SAFETY: plain lseek on an open descriptor.
    let next = unsafe { libc::lseek(file.as_raw_fd(), 65536, libc::SEEK_DATA) };
    assert_eq!(next, 327680, "no hole punched");
    let (ok, out) = torture_with(
        &server,
        "smb2.set-sparse-ioctl",
        &[("filename", "sparse.bin"), ("set_sparse", "no")],
    );
    assert!(ok, "{out}");
    assert!(!stored_sparse(&f), "sparse attribute not cleared");
}

/// The value of `key=` on an `rsmbd status` line.
fn num(line: &str, key: &str) -> u64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key}= in {line:?}"))
}

/// `rsmbd status` counts server-side copies per share, by method and by FSCTL: COPYCHUNK on
/// XFS clones block-aligned chunks, DUPLICATE_EXTENTS always clones.
#[test]
fn status_counts_copies() {
    let img = common::xfs::image(common::xfs::MIN_MB);
    let server = server_on(&img);
    let share_line = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_rsmbd"));
        c.args(["status", "--state-dir"])
            .arg(server.dir.path().join("state"));
        let (ok, text) = common::run_with_timeout(&mut c, std::time::Duration::from_secs(30));
        assert!(ok, "rsmbd status failed: {text}");
        text.lines()
            .find(|l| l.starts_with("share name=share "))
            .unwrap_or_else(|| panic!("no share line:\n{text}"))
            .to_string()
    };
    let l = share_line();
    assert!(l.contains(" reflink=yes "), "{l}");
    assert_eq!(num(&l, "copychunk_bytes"), 0, "{l}");
    for t in [
        "smb2.ioctl.copy_chunk_simple",
        "smb2.ioctl.dup_extents_simple",
    ] {
        let (ok, out) = common::torture::torture(&server, t);
        assert!(ok, "{t}: {out}");
    }
    let l = share_line();
    // copy_chunk_simple copies one 4 KiB chunk, dup_extents_simple 4096 bytes.
    assert_eq!(num(&l, "copychunk_bytes"), 4096, "{l}");
    assert_eq!(num(&l, "duplicate_extents_bytes"), 4096, "{l}");
    assert_eq!(
        num(&l, "clone_bytes") + num(&l, "copy_file_range_bytes") + num(&l, "read_write_bytes"),
        8192,
        "{l}"
    );
    assert!(num(&l, "clone_bytes") >= 4096, "{l}");
    assert_eq!(num(&l, "odx_bytes"), 0, "{l}");
}

/// Whether FS_COMPR_FL is set on `path` (`lsattr -d`: a `c` in the flags column).
fn fs_compressed(path: &std::path::Path) -> bool {
    let out = std::process::Command::new(common::require_tool("lsattr", "e2fsprogs"))
        .arg("-d")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "lsattr: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().unwrap_or("").contains('c')
}

/// Runs one smbclient command on the share; its output.
fn smbclient(server: &TestServer, cmd: &str) -> String {
    let mut c = std::process::Command::new(common::require_tool("smbclient", "smbclient"));
    c.args([
        "//127.0.0.1/share",
        "-p",
        &server.port.to_string(),
        "-U",
        &format!("{}%{}", common::USER, common::PASS),
        "-c",
        cmd,
    ]);
    let (ok, out) = common::run_with_timeout(&mut c, std::time::Duration::from_secs(30));
    assert!(ok, "smbclient: {out}");
    out
}

/// `smbclient allinfo` of `name` on the share: the line with the attributes.
fn allinfo_attributes(server: &TestServer, name: &str) -> String {
    let out = smbclient(server, &format!("allinfo {name}"));
    out.lines()
        .find(|l| l.starts_with("attributes:"))
        .unwrap_or_else(|| panic!("no attributes in {out}"))
        .to_string()
}

/// Compression on btrfs is the file system's: FSCTL_SET_COMPRESSION sets FS_COMPR_FL (seen
/// with lsattr), a flag set locally (chattr +c) shows as FILE_ATTRIBUTE_COMPRESSED, and a
/// NO_COMPRESSION create in a compressed directory does not inherit it.
#[test]
fn compression_is_the_file_systems() {
    let img = common::btrfs::image(common::btrfs::MIN_MB);
    let server = server_at(&img.path);
    for t in [
        "smb2.ioctl.compress_file_flag",
        "smb2.ioctl.compress_inherit_disable",
    ] {
        let (ok, out) = common::torture::torture(&server, t);
        assert!(ok, "{t}: {out}");
    }
    let f = img.path.join("plain.bin");
    std::fs::write(&f, b"data").unwrap();
    assert!(!fs_compressed(&f));
    let a = allinfo_attributes(&server, "plain.bin");
    assert!(!a.contains("C"), "{a}");
    let st = std::process::Command::new(common::require_tool("chattr", "e2fsprogs"))
        .arg("+c")
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let a = allinfo_attributes(&server, "plain.bin");
    // smbclient prints the attribute letters then the hex value: 0x820 = ARCHIVE|COMPRESSED.
    assert!(a.contains("(820)"), "{a}");
    assert!(fs_compressed(&f));
    // Directory listings show it too (smbclient's attribute letters: A archive, c compressed).
    let ls = smbclient(&server, "ls plain.bin");
    let line = ls
        .lines()
        .find(|l| l.trim_start().starts_with("plain.bin"))
        .unwrap_or_else(|| panic!("no listing line in {ls}"));
    assert_eq!(line.split_whitespace().nth(1), Some("Ac"), "{line}");
}

/// FSCTL_GET/SET_INTEGRITY_INFORMATION (tests/python/integrity.py): btrfs data checksums as
/// the integrity state on a btrfs share (NOCOW = CHECKSUM_TYPE_NONE, shown by `lsattr`),
/// INVALID_DEVICE_REQUEST on an XFS share, FILE_SUPPORT_INTEGRITY_STREAMS only on btrfs.
/// Needs root, btrfs-progs, xfsprogs, e2fsprogs (lsattr) and python smbprotocol.
#[test]
fn integrity_on_btrfs() {
    let py = common::python();
    common::require_tool("lsattr", "e2fsprogs");
    let bimg = common::btrfs::image(common::btrfs::MIN_MB);
    let ximg = common::xfs::image(common::xfs::MIN_MB);
    let bsrv = server_at(&bimg.path);
    let xsrv = server_on(&ximg);
    // JSON by hand (no serde_json in the crate); Debug quoting suits these ASCII paths.
    let cfg = format!(
        "{{\"host\": \"127.0.0.1\", \"btrfs_port\": {}, \"xfs_port\": {}, \"user\": {:?}, \
         \"password\": {:?}, \"btrfs_dir\": {:?}, \"xfs_dir\": {:?}}}",
        bsrv.port,
        xsrv.port,
        common::USER,
        common::PASS,
        bimg.path.display().to_string(),
        ximg.path.display().to_string(),
    );
    let script = format!("{}/tests/python/integrity.py", env!("CARGO_MANIFEST_DIR"));
    let mut c = std::process::Command::new(py);
    c.arg(script).arg(cfg);
    let (ok, out) = common::run_with_timeout(&mut c, std::time::Duration::from_secs(120));
    println!("{out}");
    assert!(
        ok,
        "integrity.py failed:\n{out}\nbtrfs server log:\n{}",
        bsrv.log()
    );
    assert!(out.contains("9 passed, 0 failed"), "{out}");
}
