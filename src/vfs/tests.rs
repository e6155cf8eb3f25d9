//! Tests of the local backend against a temporary directory (ext4/xfs with user xattrs).

use super::local::{LocalOptions, LocalShare};
use super::*;
use crate::wire::NtStatus;
use std::fs;

fn setup(opts: LocalOptions) -> (tempfile::TempDir, LocalShare) {
    let t = tempfile::tempdir().expect("tempdir");
    fs::create_dir(t.path().join("share")).unwrap();
    let s = LocalShare::new(&t.path().join("share"), opts).expect("share");
    assert!(
        s.capabilities().xattrs,
        "user.* xattrs do not work in {:?}; run the tests on ext4/xfs",
        t.path()
    );
    (t, s)
}

fn p(s: &str) -> SharePath {
    SharePath::parse(s).unwrap()
}

fn req(d: CreateDisposition) -> OpenRequest {
    OpenRequest {
        disposition: d,
        read: true,
        write: true,
        ..Default::default()
    }
}

fn open_st(s: &LocalShare, name: &str, r: &OpenRequest) -> NtStatus {
    match SharePath::parse(name) {
        Err(e) => e.status(),
        Ok(path) => match s.open(&path, r) {
            Ok(_) => NtStatus::SUCCESS,
            Err(e) => e.status(),
        },
    }
}

fn read_all(h: &dyn Handle) -> Vec<u8> {
    let mut b = vec![0u8; 1 << 16];
    let n = h.read_at(&mut b, 0).unwrap();
    b.truncate(n);
    b
}

#[test]
fn confinement_names() {
    let (_t, s) = setup(LocalOptions::default());
    let r = OpenRequest::default();
    assert_eq!(open_st(&s, "..\\x", &r), NtStatus::OBJECT_PATH_SYNTAX_BAD);
    assert_eq!(
        open_st(&s, "a\\..\\..\\x", &r),
        NtStatus::OBJECT_PATH_SYNTAX_BAD
    );
    // `/` separates components: this names `etc\passwd` inside the share (CREATE refuses
    // the leading separator before it gets here).
    assert_eq!(
        open_st(&s, "/etc/passwd", &r),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(open_st(&s, "\\\\etc", &r), NtStatus::OBJECT_NAME_INVALID);
    assert_eq!(open_st(&s, "a\0b", &r), NtStatus::OBJECT_NAME_INVALID);
    assert_eq!(open_st(&s, "a*", &r), NtStatus::OBJECT_NAME_INVALID);
    assert_eq!(
        open_st(&s, "f:..\\x:$DATA", &r),
        NtStatus::OBJECT_NAME_INVALID
    );
    assert_eq!(open_st(&s, "f:a:b:c", &r), NtStatus::OBJECT_NAME_INVALID);
    assert_eq!(open_st(&s, "missing", &r), NtStatus::OBJECT_NAME_NOT_FOUND);
    assert_eq!(
        open_st(&s, "missing\\x", &r),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    // "file::$DATA" is the file itself.
    let (h, _) = s.open(&p("f"), &req(CreateDisposition::Create)).unwrap();
    h.write_at(b"data", 0).unwrap();
    let (h2, o) = s.open(&p("f::$DATA"), &OpenRequest::default()).unwrap();
    assert_eq!(o.action, CreateAction::Opened);
    assert_eq!(read_all(&*h2), b"data");
    assert_eq!(open_st(&s, "f\\x", &r), NtStatus::OBJECT_PATH_NOT_FOUND);
}

#[test]
fn confinement_symlinks() {
    symlinks_case(false);
}

#[test]
fn confinement_symlinks_without_openat2() {
    symlinks_case(true);
}

fn symlinks_case(walk: bool) {
    let (t, s) = setup(LocalOptions::default());
    if walk {
        s.disable_openat2();
    }
    let out = t.path().join("outside");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("secret"), b"secret").unwrap();
    let root = t.path().join("share");
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("d/inside"), b"inside").unwrap();
    std::os::unix::fs::symlink(out.join("secret"), root.join("lf")).unwrap();
    std::os::unix::fs::symlink(&out, root.join("ld")).unwrap();
    std::os::unix::fs::symlink("../outside", root.join("d/rel")).unwrap();
    std::os::unix::fs::symlink("inside", root.join("d/inlink")).unwrap();
    let r = OpenRequest::default();
    assert_eq!(open_st(&s, "lf", &r), NtStatus::ACCESS_DENIED);
    assert_eq!(open_st(&s, "ld", &r), NtStatus::ACCESS_DENIED);
    assert_eq!(
        open_st(&s, "ld\\secret", &r),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(
        open_st(&s, "d\\rel\\secret", &r),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(open_st(&s, "d\\inlink", &r), NtStatus::ACCESS_DENIED);
    // Creating through a dangling or escaping link never creates outside.
    assert_eq!(
        open_st(&s, "lf", &req(CreateDisposition::OverwriteIf)),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        open_st(&s, "ld\\new", &req(CreateDisposition::Create)),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert!(!out.join("new").exists());
    assert_eq!(fs::read(out.join("secret")).unwrap(), b"secret");
    // Unlink through a link refuses too.
    assert_eq!(
        s.unlink(&p("ld\\secret")).unwrap_err().status(),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );

    // Following links: inside ones work, escaping ones do not.
    let f = LocalShare::new(
        &root,
        LocalOptions {
            follow_symlinks: true,
            ..Default::default()
        },
    )
    .unwrap();
    let (h, _) = f.open(&p("d\\inlink"), &r).unwrap();
    assert_eq!(read_all(&*h), b"inside");
    assert_eq!(open_st(&f, "lf", &r), NtStatus::ACCESS_DENIED);
    assert_ne!(open_st(&f, "ld\\secret", &r), NtStatus::SUCCESS);
    assert_ne!(open_st(&f, "d\\rel\\secret", &r), NtStatus::SUCCESS);
}

#[test]
fn confinement_symlink_race() {
    race_case(false);
}

#[test]
fn confinement_symlink_race_without_openat2() {
    race_case(true);
}

fn race_case(walk: bool) {
    let (t, s) = setup(LocalOptions {
        case_insensitive: false,
        ..Default::default()
    });
    if walk {
        s.disable_openat2();
    }
    let out = t.path().join("outside");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("f"), b"OUTSIDE").unwrap();
    let root = t.path().join("share");
    fs::create_dir(root.join("d")).unwrap();
    fs::write(root.join("d/f"), b"inside").unwrap();
    std::os::unix::fs::symlink(&out, root.join("alt")).unwrap();
    let s = std::sync::Arc::new(s);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let root = root.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let a = std::ffi::CString::new(root.join("d").into_os_string().into_encoded_bytes())
                .unwrap();
            let b = std::ffi::CString::new(root.join("alt").into_os_string().into_encoded_bytes())
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: test-only exchange of two names.
                unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
            }
        })
    };
    let mut opened = 0;
    for _ in 0..2000 {
        if let Ok((h, _)) = s.open(&p("d\\f"), &OpenRequest::default()) {
            assert_eq!(read_all(&*h), b"inside", "escaped the share");
            opened += 1;
        }
        let r = req(CreateDisposition::OpenIf);
        if let Ok((h, _)) = s.open(&p("d\\g"), &r) {
            h.write_at(b"x", 0).unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(!out.join("g").exists(), "created a file outside the share");
    assert_eq!(fs::read(out.join("f")).unwrap(), b"OUTSIDE");
    assert!(opened > 0);
}

#[test]
fn dispositions() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    assert_eq!(
        open_st(&s, "a", &req(D::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    assert_eq!(
        open_st(&s, "a", &req(D::Overwrite)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    let (h, o) = s.open(&p("a"), &req(D::Create)).unwrap();
    assert_eq!(o.action, CreateAction::Created);
    h.write_at(b"hello", 0).unwrap();
    assert_eq!(
        open_st(&s, "a", &req(D::Create)),
        NtStatus::OBJECT_NAME_COLLISION
    );
    assert_eq!(
        s.open(&p("a"), &req(D::OpenIf)).unwrap().1.action,
        CreateAction::Opened
    );
    let (h, o) = s.open(&p("a"), &req(D::OverwriteIf)).unwrap();
    assert_eq!(
        (o.action, h.stat().unwrap().size),
        (CreateAction::Overwritten, 0)
    );
    assert_eq!(
        s.open(&p("a"), &req(D::Supersede)).unwrap().1.action,
        CreateAction::Superseded
    );
    assert_eq!(
        s.open(&p("b"), &req(D::Supersede)).unwrap().1.action,
        CreateAction::Created
    );
    // Directories.
    let dreq = |d| OpenRequest {
        directory: Some(true),
        ..req(d)
    };
    let (h, o) = s.open(&p("dir"), &dreq(D::Create)).unwrap();
    assert!(h.is_dir() && o.action == CreateAction::Created);
    assert!(h.stat().unwrap().attributes & FILE_ATTRIBUTE_DIRECTORY != 0);
    assert_eq!(
        open_st(&s, "dir", &dreq(D::Create)),
        NtStatus::OBJECT_NAME_COLLISION
    );
    assert_eq!(
        open_st(&s, "dir", &dreq(D::OverwriteIf)),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(open_st(&s, "a", &dreq(D::Open)), NtStatus::NOT_A_DIRECTORY);
    assert_eq!(open_st(&s, "a\\", &req(D::Open)), NtStatus::NOT_A_DIRECTORY);
    let nd = OpenRequest {
        directory: Some(false),
        ..req(D::Open)
    };
    assert_eq!(open_st(&s, "dir", &nd), NtStatus::FILE_IS_A_DIRECTORY);
    assert_eq!(open_st(&s, "dir\\", &nd), NtStatus::OBJECT_NAME_INVALID);
    assert_eq!(
        open_st(&s, "dir", &req(D::OverwriteIf)),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    assert!(s.open(&p("dir\\"), &req(D::Open)).unwrap().0.is_dir());
    // Root.
    let (r, _) = s.open(&SharePath::root(), &OpenRequest::default()).unwrap();
    assert!(r.is_dir());
    assert_eq!(
        open_st(&s, "", &req(D::Create)),
        NtStatus::OBJECT_NAME_COLLISION
    );
    // A directory listing of the root sees the entries.
    let mut names: Vec<String> = r.list_dir().unwrap().map(|e| e.unwrap().name).collect();
    names.sort();
    assert_eq!(names, ["a", "b", "dir"]);
}

#[test]
fn case_insensitive() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    let dreq = OpenRequest {
        directory: Some(true),
        ..req(D::Create)
    };
    s.open(&p("Dir"), &dreq).unwrap();
    let (h, _) = s.open(&p("DIR\\Foo.txt"), &req(D::Create)).unwrap();
    assert_eq!(h.path().to_smb_string(), "Dir\\Foo.txt");
    h.write_at(b"x", 0).unwrap();
    let (h2, o) = s.open(&p("dir\\FOO.TXT"), &req(D::OpenIf)).unwrap();
    assert_eq!(o.action, CreateAction::Opened);
    assert_eq!(h2.stat().unwrap().file_id, h.stat().unwrap().file_id);
    assert_eq!(
        open_st(&s, "dIr\\foo.txt", &req(D::Create)),
        NtStatus::OBJECT_NAME_COLLISION
    );
    // Unicode folding.
    s.open(&p("Ärger"), &req(D::Create)).unwrap();
    assert_eq!(open_st(&s, "äRGER", &req(D::Open)), NtStatus::SUCCESS);
    // Cached lookups stay right after changes.
    for i in 0..3 {
        let n = format!("dir\\NEW{i}");
        s.open(&p(&n), &req(D::Create)).unwrap();
        assert_eq!(
            open_st(&s, &n.to_lowercase(), &req(D::Create)),
            NtStatus::OBJECT_NAME_COLLISION
        );
    }
    // Case-sensitive share.
    let cs = LocalShare::new(
        &_t.path().join("share"),
        LocalOptions {
            case_insensitive: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        open_st(&cs, "dir\\foo.txt", &req(D::Open)),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(
        open_st(&cs, "Dir\\FOO.txt", &req(D::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn big_directory_streamed() {
    let (t, s) = setup(LocalOptions::default());
    let d = t.path().join("share/big");
    fs::create_dir(&d).unwrap();
    const N: usize = 100_000;
    for i in 0..N {
        fs::File::create(d.join(format!("entry-{i:06}"))).unwrap();
    }
    let (h, _) = s
        .open(
            &p("big"),
            &OpenRequest {
                directory: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    let mut ds = h.list_dir().unwrap();
    let mut count = 0;
    let mut max_buf = 0;
    let mut first = None;
    while let Some(e) = ds.next() {
        let e = e.unwrap();
        if first.is_none() {
            first = Some(e.clone());
            let stx = ds.stat_entry(&e).unwrap();
            assert_eq!(stx.file_id, e.ino);
            assert_eq!(stx.attributes, FILE_ATTRIBUTE_ARCHIVE);
        }
        max_buf = max_buf.max(ds.buffered_bytes());
        count += 1;
    }
    assert_eq!(count, N);
    assert!(max_buf <= 32 * 1024, "buffer grew to {max_buf}");
    ds.rewind().unwrap();
    assert_eq!(ds.next().unwrap().unwrap(), first.clone().unwrap());
    // Seek/resume.
    for _ in 0..9 {
        ds.next();
    }
    let cookie = ds.tell();
    let tenth_next = ds.next().unwrap().unwrap();
    ds.rewind().unwrap();
    ds.seek(cookie).unwrap();
    assert_eq!(ds.next().unwrap().unwrap(), tenth_next);
    // Case-insensitive lookup in the big directory (scan once, then cached).
    assert_eq!(
        open_st(&s, "BIG\\ENTRY-099999", &OpenRequest::default()),
        NtStatus::SUCCESS
    );
    assert_eq!(
        open_st(&s, "big\\ENTRY-000001", &OpenRequest::default()),
        NtStatus::SUCCESS
    );
}

#[test]
fn dos_attributes_and_times() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    let (h, _) = s.open(&p("f"), &req(D::Create)).unwrap();
    let st0 = h.stat().unwrap();
    assert_eq!(st0.attributes, FILE_ATTRIBUTE_ARCHIVE);
    assert!(st0.creation_time > 0);
    h.set_dos_attributes(FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_DIRECTORY)
        .unwrap();
    assert_eq!(h.stat().unwrap().attributes, FILE_ATTRIBUTE_HIDDEN);
    let ct = 132_000_000_000_000_000u64;
    let wt = 133_000_000_000_000_000u64;
    h.set_times(&SetTimes {
        creation_time: Some(ct),
        last_write_time: Some(wt),
        ..Default::default()
    })
    .unwrap();
    let st1 = h.stat().unwrap();
    assert_eq!((st1.creation_time, st1.last_write_time), (ct, wt));
    assert_eq!(st1.attributes, FILE_ATTRIBUTE_HIDDEN);
    // Overwrite must keep HIDDEN requested.
    assert_eq!(
        open_st(&s, "f", &req(D::Overwrite)),
        NtStatus::ACCESS_DENIED
    );
    let ow = OpenRequest {
        create_attributes: FILE_ATTRIBUTE_HIDDEN,
        ..req(D::Overwrite)
    };
    let (h, _) = s.open(&p("f"), &ow).unwrap();
    assert_eq!(
        h.stat().unwrap().attributes,
        FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE
    );
    assert_eq!(h.stat().unwrap().creation_time, ct);
    // READONLY honoured.
    h.set_dos_attributes(FILE_ATTRIBUTE_READONLY).unwrap();
    assert_eq!(open_st(&s, "f", &req(D::Open)), NtStatus::ACCESS_DENIED);
    assert_eq!(open_st(&s, "f", &OpenRequest::default()), NtStatus::SUCCESS);
    // Created with attributes; NORMAL when none.
    let cr = OpenRequest {
        create_attributes: FILE_ATTRIBUTE_SYSTEM,
        ..req(D::Create)
    };
    let (g, _) = s.open(&p("g"), &cr).unwrap();
    assert_eq!(
        g.stat().unwrap().attributes,
        FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE
    );
    g.set_dos_attributes(FILE_ATTRIBUTE_NORMAL).unwrap();
    assert_eq!(g.stat().unwrap().attributes, FILE_ATTRIBUTE_NORMAL);
    // Security descriptor and EAs.
    assert_eq!(g.security_descriptor().unwrap(), None);
    g.set_security_descriptor(&[1, 0, 4, 0x80, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(
        g.security_descriptor().unwrap().unwrap(),
        [1, 0, 4, 0x80, 0, 0, 0, 0]
    );
    g.set_xattr("myea", b"v").unwrap();
    assert_eq!(g.get_xattr("myea").unwrap().unwrap(), b"v");
    assert_eq!(g.list_xattr().unwrap(), ["myea"]);
    assert_eq!(
        g.set_xattr("NTACL", b"x").unwrap_err().status(),
        NtStatus::INVALID_PARAMETER
    );
    g.remove_xattr("myea").unwrap();
    assert_eq!(g.get_xattr("myea").unwrap(), None);
}

#[test]
fn streams() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    let max = s.capabilities().max_stream_size;
    eprintln!("capabilities: {:?}", s.capabilities());
    assert!(s.capabilities().streams && max >= 1000, "max {max}");
    assert_eq!(
        open_st(&s, "f:s", &req(D::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    let (h, o) = s.open(&p("f:s:$DATA"), &req(D::Create)).unwrap();
    assert_eq!(o.action, CreateAction::Created);
    assert_eq!(h.path().to_smb_string(), "f:s");
    h.write_at(b"hello", 0).unwrap();
    h.write_at(b"world", 10).unwrap();
    assert_eq!(read_all(&*h), b"hello\0\0\0\0\0world");
    assert_eq!(h.stat().unwrap().size, 15);
    h.set_len(5).unwrap();
    assert_eq!(read_all(&*h), b"hello");
    let (base, _) = s.open(&p("f"), &OpenRequest::default()).unwrap();
    assert_eq!(base.stat().unwrap().size, 0);
    s.open(&p("f:t"), &req(D::Create)).unwrap();
    let mut l = base.streams().unwrap();
    l.sort();
    assert_eq!(l, [("s".to_string(), 5), ("t".to_string(), 0)]);
    assert_eq!(
        open_st(&s, "f:s", &req(D::Create)),
        NtStatus::OBJECT_NAME_COLLISION
    );
    let (h2, o) = s.open(&p("F:S"), &req(D::OpenIf)).unwrap();
    assert_eq!(o.action, CreateAction::Opened);
    assert_eq!(read_all(&*h2), b"hello");
    // Limit.
    let e = h.write_at(b"x", max as u64).unwrap_err();
    assert_eq!(e.status(), NtStatus::FILE_SYSTEM_LIMITATION);
    assert_eq!(
        h.set_len(max as u64 + 1).unwrap_err().status(),
        NtStatus::FILE_SYSTEM_LIMITATION
    );
    // Overwrite empties, delete removes.
    let (h3, o) = s.open(&p("f:s"), &req(D::OverwriteIf)).unwrap();
    assert_eq!(
        (o.action, h3.stat().unwrap().size),
        (CreateAction::Overwritten, 0)
    );
    s.delete(&*h3).unwrap();
    assert_eq!(base.streams().unwrap(), [("t".to_string(), 0)]);
    s.unlink(&p("f:t")).unwrap();
    assert!(base.streams().unwrap().is_empty());
    // Reserved xattrs stay hidden from EAs.
    assert!(base.list_xattr().unwrap().is_empty());
}

#[test]
fn rename_and_link() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    let dreq = OpenRequest {
        directory: Some(true),
        ..req(D::Create)
    };
    let (d, _) = s.open(&p("d"), &dreq).unwrap();
    s.open(&p("d\\sub"), &dreq).unwrap();
    let (a, _) = s.open(&p("a"), &req(D::Create)).unwrap();
    a.write_at(b"A", 0).unwrap();
    let (b, _) = s.open(&p("b"), &req(D::Create)).unwrap();
    assert_eq!(
        s.rename(&*a, &p("b"), false).unwrap_err().status(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    assert_eq!(
        s.rename(&*a, &p("B"), false).unwrap_err().status(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    s.rename(&*a, &p("B"), true).unwrap();
    assert_eq!(a.path().to_smb_string(), "B");
    assert_eq!(
        open_st(&s, "a", &req(D::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    let (bb, _) = s.open(&p("b"), &OpenRequest::default()).unwrap();
    assert_eq!(bb.path().to_smb_string(), "B");
    assert_eq!(read_all(&*bb), b"A");
    drop(b);
    // Case-only rename.
    s.rename(&*a, &p("b"), false).unwrap();
    assert_eq!(a.path().to_smb_string(), "b");
    // Into a subdirectory.
    s.rename(&*a, &p("d\\sub\\moved"), false).unwrap();
    assert_eq!(a.path().to_smb_string(), "d\\sub\\moved");
    // Directory over a directory, into its own subtree.
    assert_eq!(
        s.rename(&*d, &p("d\\sub\\x"), false).unwrap_err().status(),
        NtStatus::INVALID_PARAMETER
    );
    s.open(&p("e"), &dreq).unwrap();
    assert_eq!(
        s.rename(&*a, &p("e"), true).unwrap_err().status(),
        NtStatus::ACCESS_DENIED
    );
    // Rename a parent, then the handle still finds its file (via /proc).
    s.rename(&*d, &p("d2"), false).unwrap();
    let (g, _) = s
        .open(&p("d2\\sub\\moved"), &OpenRequest::default())
        .unwrap();
    assert_eq!(g.stat().unwrap().file_id, a.stat().unwrap().file_id);
    s.rename(&*a, &p("top"), false).unwrap();
    assert_eq!(a.path().to_smb_string(), "top");
    // Links.
    s.link(&*a, &p("d2\\l"), false).unwrap();
    assert_eq!(a.stat().unwrap().nlink, 2);
    let (c, _) = s.open(&p("c"), &req(D::Create)).unwrap();
    assert_eq!(
        s.link(&*a, &p("c"), false).unwrap_err().status(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    s.link(&*a, &p("C"), true).unwrap();
    assert_eq!(a.stat().unwrap().nlink, 3);
    assert_eq!(c.stat().unwrap().nlink, 0);
    assert_eq!(
        s.link(&*d, &p("dl"), false).unwrap_err().status(),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    // Delete by handle and by path.
    s.delete(&*a).unwrap();
    assert_eq!(
        open_st(&s, "top", &OpenRequest::default()),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    assert_eq!(
        s.rmdir(&p("d2")).unwrap_err().status(),
        NtStatus::DIRECTORY_NOT_EMPTY
    );
    assert_eq!(
        s.rmdir(&p("c")).unwrap_err().status(),
        NtStatus::NOT_A_DIRECTORY
    );
    assert_eq!(
        s.unlink(&p("e")).unwrap_err().status(),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    s.unlink(&p("D2\\L")).unwrap();
    s.rmdir(&p("d2\\sub")).unwrap();
    s.delete(&*d).unwrap();
    assert_eq!(
        open_st(&s, "d2", &OpenRequest::default()),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn sparse_large_clone_copy() {
    let (_t, s) = setup(LocalOptions::default());
    use CreateDisposition as D;
    let (h, _) = s.open(&p("sparse"), &req(D::Create)).unwrap();
    let mib = 1u64 << 20;
    h.write_at(&vec![7u8; (4 * mib) as usize], 0).unwrap();
    if s.capabilities().sparse {
        h.punch_hole(mib, mib).unwrap();
        let r = h.allocated_ranges(0, 4 * mib, 16).unwrap();
        assert_eq!(r, [(0, mib), (2 * mib, 2 * mib)]);
        assert_eq!(h.allocated_ranges(0, 4 * mib, 1).unwrap().len(), 1);
        let mut b = [1u8; 16];
        h.read_at(&mut b, mib + 5).unwrap();
        assert_eq!(b, [0u8; 16]);
    }
    // Offsets above 4 GiB.
    let off = 5u64 << 30;
    assert_eq!(h.write_at(b"far", off).unwrap(), 3);
    let st = h.stat().unwrap();
    assert_eq!(st.size, off + 3);
    assert!(st.allocation_size < 64 * mib);
    let mut b = [0u8; 3];
    assert_eq!(h.read_at(&mut b, off).unwrap(), 3);
    assert_eq!(&b, b"far");
    assert_eq!(h.read_at(&mut b, off + 3).unwrap(), 0);
    assert_eq!(
        h.write_at(b"x", u64::MAX - 1).unwrap_err().status(),
        NtStatus::INVALID_PARAMETER
    );
    let r = h.allocated_ranges(4 * mib, off, 16).unwrap();
    assert_eq!(r.last().map(|x| x.0 + x.1), Some(off + 3));
    h.set_len(off - 1).unwrap();
    h.allocate(mib).unwrap();
    assert_eq!(h.stat().unwrap().size, mib);
    // clone_range vs copy_range.
    let (dst, _) = s.open(&p("dst"), &req(D::Create)).unwrap();
    let r = dst.clone_range(&*h, 0, 0, 4096);
    if s.capabilities().reflink {
        r.unwrap();
    } else {
        assert_eq!(r.unwrap_err().status(), NtStatus::NOT_SUPPORTED);
    }
    assert_eq!(dst.copy_range(&*h, 0, 100, 1000).unwrap(), 1000);
    let mut b = [0u8; 4];
    dst.read_at(&mut b, 100).unwrap();
    assert_eq!(b, [7; 4]);
    // Copy past the source end stops at EOF.
    assert_eq!(dst.copy_range(&*h, mib - 10, 0, 100).unwrap(), 10);
    // Stream sources use read/write.
    let (st, _) = s.open(&p("dst:s"), &req(D::Create)).unwrap();
    st.write_at(b"stream", 0).unwrap();
    assert_eq!(dst.copy_range(&*st, 0, 0, 100).unwrap(), 6);
    dst.flush().unwrap();
    let fi = s.fs_info().unwrap();
    assert!(fi.total_bytes > 0 && fi.block_size > 0 && fi.name_max >= 255);
}

#[test]
fn write_through_and_concurrency() {
    let (_t, s) = setup(LocalOptions::default());
    let r = OpenRequest {
        write_through: true,
        ..req(CreateDisposition::Create)
    };
    let (h, _) = s.open(&p("wt"), &r).unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|i| {
            let h = h.clone();
            std::thread::spawn(move || {
                for j in 0..50u64 {
                    h.write_at(&[i as u8; 16], (i * 50 + j) * 16).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(h.stat().unwrap().size, 4 * 50 * 16);
    let (st, _) = s.open(&p("wt:s"), &req(CreateDisposition::Create)).unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|i| {
            let st = st.clone();
            std::thread::spawn(move || {
                for j in 0..10u64 {
                    st.write_at(&[1 + i as u8; 8], (i * 10 + j) * 8).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let v = read_all(&*st);
    assert_eq!(v.len(), 320);
    assert!(v.iter().all(|b| *b != 0), "a stream write was lost");
}

#[test]
fn big_directory_is_not_rescanned_for_every_new_name() {
    let (t, s) = setup(LocalOptions::default());
    fs::create_dir(t.path().join("share/Big")).unwrap();
    let scans = || s.ci_cache.scans.load(std::sync::atomic::Ordering::Relaxed);
    let start = scans();
    for i in 0..2000 {
        // A new name (case differs from the directory's) and its reopen in another case.
        s.open(
            &p(&format!("big\\File{i}")),
            &req(CreateDisposition::Create),
        )
        .unwrap();
        s.open(&p(&format!("BIG\\FILE{i}")), &req(CreateDisposition::Open))
            .unwrap();
    }
    let used = scans() - start;
    assert!(used < 20, "{used} directory scans for 2000 creates");
    // Renames and deletes keep the index right.
    let (h, _) = s
        .open(&p("big\\file7"), &req(CreateDisposition::Open))
        .unwrap();
    s.rename(h.as_ref(), &p("Big\\Renamed7"), false).unwrap();
    assert_eq!(
        open_st(&s, "BIG\\FILE7", &req(CreateDisposition::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    assert_eq!(
        open_st(&s, "big\\renamed7", &req(CreateDisposition::Open)),
        NtStatus::SUCCESS
    );
    s.unlink(&p("big\\RENAMED7")).unwrap();
    assert_eq!(
        open_st(&s, "big\\renamed7", &req(CreateDisposition::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    // A name created by another program is found (after the racy window at the latest).
    fs::write(t.path().join("share/Big/Outside"), b"x").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(
        open_st(&s, "big\\OUTSIDE", &req(CreateDisposition::Open)),
        NtStatus::SUCCESS
    );
    // And one removed by another program is gone.
    fs::remove_file(t.path().join("share/Big/File9")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(
        open_st(&s, "big\\file9", &req(CreateDisposition::Open)),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}
