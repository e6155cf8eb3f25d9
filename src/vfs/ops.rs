//! The [`Share`] operations of [`LocalShare`]: open/create (MS-FSA 2.1.5.1), rename
//! (MS-FSA 2.1.5.14.11), hard links (2.1.5.14.6), deletion and volume information.

use super::attrs::{self, DosInfo};
use super::ci_cache::DirEdit;
use super::error::{VfsError, VfsResult};
use super::handle::LocalHandle;
use super::local::{fold, LocalShare};
use super::stream::{self, StreamHandle};
use super::sys::{self, XTarget};
use super::{
    CreateAction, CreateDisposition as D, FsInfo, Handle, OpenOutcome, OpenRequest, Share,
    SharePath,
};
use super::{
    FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_SYSTEM,
};
use crate::wire::NtStatus;
use parking_lot::RwLock;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

fn st(s: NtStatus) -> VfsError {
    VfsError::status_only(s)
}

fn e(errno: i32) -> VfsError {
    VfsError::from_errno(errno)
}

fn file_type(stx: &libc::statx) -> u32 {
    stx.stx_mode as u32 & libc::S_IFMT
}

fn dev_of(stx: &libc::statx) -> u64 {
    libc::makedev(stx.stx_dev_major, stx.stx_dev_minor)
}

/// Attempts before giving up on a create/open race.
const RACE_RETRIES: usize = 8;

impl LocalShare {
    /// Opens an entry of `dir` found by lookup; checks that what was opened is a regular file
    /// or a directory (never a symlink, device or FIFO).
    fn open_entry(
        &self,
        dir: RawFd,
        name: &str,
        is_dir: bool,
        req: &OpenRequest,
    ) -> Result<(OwnedFd, bool, libc::statx), i32> {
        let c = sys::cstr(name)?;
        let mut flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
        if is_dir {
            flags |= libc::O_RDONLY | libc::O_DIRECTORY;
        } else {
            flags |= if req.write {
                libc::O_RDWR
            } else {
                libc::O_RDONLY
            };
            if req.write_through {
                flags |= libc::O_DSYNC;
            }
        }
        let (fd, o_path) = match self.open_final(dir, name, &c, flags) {
            Ok(f) => (f, false),
            Err(libc::EACCES) if !req.read && !req.write => {
                let pf =
                    libc::O_PATH | libc::O_NOFOLLOW | if is_dir { libc::O_DIRECTORY } else { 0 };
                (self.open_final(dir, name, &c, pf)?, true)
            }
            Err(er) => return Err(er),
        };
        let stx = sys::fstatx(fd.as_raw_fd())?;
        match file_type(&stx) {
            libc::S_IFDIR | libc::S_IFREG => Ok((fd, o_path, stx)),
            libc::S_IFLNK => Err(libc::ELOOP),
            _ => Err(libc::EACCES),
        }
    }

    fn open_final(
        &self,
        dir: RawFd,
        name: &str,
        c: &std::ffi::CStr,
        flags: i32,
    ) -> Result<OwnedFd, i32> {
        if self.opts.follow_symlinks {
            // Links are followed, but only beneath the parent (openat2 RESOLVE_BENEATH).
            return self.open_beneath(dir, &[name], flags & !libc::O_NOFOLLOW, 0);
        }
        sys::openat(dir, c, flags, 0)
    }

    fn make_handle(
        &self,
        fd: OwnedFd,
        o_path: bool,
        stx: &libc::statx,
        path: SharePath,
    ) -> LocalHandle {
        // SAFETY: F_GETFL on a descriptor we own.
        let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        LocalHandle {
            sync_writes: fl != -1 && fl & (libc::O_DSYNC | libc::O_SYNC) != 0,
            no_nowait_writes: false.into(),
            no_nowait_reads: false.into(),
            fd,
            o_path,
            is_dir: file_type(stx) == libc::S_IFDIR,
            dev: dev_of(stx),
            ino: stx.stx_ino,
            path: RwLock::new(path),
        }
    }

    /// Opens the default stream of `path` (a file or directory).
    fn open_plain(
        &self,
        path: &SharePath,
        req: &OpenRequest,
    ) -> VfsResult<(LocalHandle, CreateAction)> {
        if req.directory == Some(false) && path.has_trailing_separator() {
            return Err(st(NtStatus::OBJECT_NAME_INVALID));
        }
        let want_dir = req.directory == Some(true) || path.has_trailing_separator();
        let overwrite = matches!(
            req.disposition,
            D::Supersede | D::Overwrite | D::OverwriteIf
        );
        if req.directory == Some(true) && overwrite {
            return Err(st(NtStatus::INVALID_PARAMETER));
        }
        let Some(name) = path.file_name() else {
            // The root.
            if req.directory == Some(false) {
                return Err(st(NtStatus::FILE_IS_A_DIRECTORY));
            }
            match req.disposition {
                D::Create => return Err(st(NtStatus::OBJECT_NAME_COLLISION)),
                D::Open | D::OpenIf => {}
                _ => return Err(st(NtStatus::INVALID_PARAMETER)),
            }
            let (fd, o_path, stx) = self
                .open_entry(self.root.as_raw_fd(), ".", true, req)
                .map_err(e)?;
            return Ok((
                self.make_handle(fd, o_path, &stx, SharePath::root()),
                CreateAction::Opened,
            ));
        };
        let (dir, mut names) = self.open_dir(path.parent_components())?;
        let dfd = dir.as_raw_fd();
        for _ in 0..RACE_RETRIES {
            if let Some((actual, stx)) = self.lookup(dfd, name)? {
                if req.disposition == D::Create {
                    return Err(st(NtStatus::OBJECT_NAME_COLLISION));
                }
                let mut ft = file_type(&stx);
                if ft == libc::S_IFLNK {
                    if !self.opts.follow_symlinks {
                        return Err(st(NtStatus::ACCESS_DENIED));
                    }
                    // Type of the (confined) link target.
                    let f = self
                        .open_beneath(dfd, &[actual.as_str()], libc::O_PATH, 0)
                        .map_err(e)?;
                    ft = file_type(&sys::fstatx(f.as_raw_fd()).map_err(e)?);
                }
                let is_dir = ft == libc::S_IFDIR;
                if is_dir && (req.directory == Some(false) || overwrite) {
                    return Err(st(NtStatus::FILE_IS_A_DIRECTORY));
                }
                if !is_dir && want_dir {
                    return Err(st(NtStatus::NOT_A_DIRECTORY));
                }
                let (fd, o_path, stx) = match self.open_entry(dfd, &actual, is_dir, req) {
                    Ok(r) => r,
                    Err(libc::ENOENT) => continue,
                    Err(er) => return Err(e(er)),
                };
                let is_dir = file_type(&stx) == libc::S_IFDIR;
                if is_dir && (req.directory == Some(false) || overwrite) {
                    return Err(st(NtStatus::FILE_IS_A_DIRECTORY));
                }
                if !is_dir && want_dir {
                    return Err(st(NtStatus::NOT_A_DIRECTORY));
                }
                names.push(actual);
                let h = self.make_handle(fd, o_path, &stx, SharePath::from_components(names)?);
                let action = self.finish_existing(&h, req)?;
                return Ok((h, action));
            }
            if matches!(req.disposition, D::Open | D::Overwrite) {
                return Err(st(NtStatus::OBJECT_NAME_NOT_FOUND));
            }
            let c = sys::cstr(name).map_err(e)?;
            if want_dir {
                // SAFETY: plain mkdirat relative to our directory fd.
                match self.ci_edit(&[DirEdit::add(dfd, name)], || {
                    sys::check(|| unsafe { libc::mkdirat(dfd, c.as_ptr(), 0o777) as libc::c_long })
                }) {
                    Ok(_) => {}
                    Err(libc::EEXIST) => continue,
                    Err(er) => return Err(e(er)),
                }
            }
            let mut flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
            if want_dir {
                flags |= libc::O_RDONLY | libc::O_DIRECTORY;
            } else {
                flags |= libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
                if req.write_through {
                    flags |= libc::O_DSYNC;
                }
            }
            let created = || sys::openat(dfd, &c, flags, 0o666);
            let opened = if want_dir {
                created()
            } else {
                self.ci_edit(&[DirEdit::add(dfd, name)], created)
            };
            let fd = match opened {
                Ok(f) => f,
                Err(libc::EEXIST) => continue,
                Err(er) => return Err(e(er)),
            };
            let stx = sys::fstatx(fd.as_raw_fd()).map_err(e)?;
            names.push(name.to_string());
            let h = self.make_handle(fd, false, &stx, SharePath::from_components(names)?);
            let a = req.create_attributes & super::STORED_ATTRIBUTES_MASK;
            if !want_dir && a & !FILE_ATTRIBUTE_ARCHIVE != 0 {
                attrs::write_dos(
                    h.xtarget(),
                    &DosInfo {
                        attributes: a | FILE_ATTRIBUTE_ARCHIVE,
                        creation_time: 0,
                    },
                )?;
            } else if want_dir && a != 0 {
                attrs::write_dos(
                    h.xtarget(),
                    &DosInfo {
                        attributes: a,
                        creation_time: 0,
                    },
                )?;
            }
            if !want_dir && req.allocation_size > 0 {
                h.allocate(req.allocation_size)?;
            }
            return Ok((h, CreateAction::Created));
        }
        Err(st(NtStatus::OBJECT_NAME_COLLISION))
    }

    /// READONLY check and overwrite/supersede of an existing file (MS-FSA 2.1.5.1.2).
    fn finish_existing(&self, h: &LocalHandle, req: &OpenRequest) -> VfsResult<CreateAction> {
        if h.is_dir {
            return Ok(CreateAction::Opened);
        }
        let overwrite = matches!(
            req.disposition,
            D::Supersede | D::Overwrite | D::OverwriteIf
        );
        let dos = h.dos();
        let cur = dos.map_or(0, |d| d.attributes);
        if cur & FILE_ATTRIBUTE_READONLY != 0 && (req.write || overwrite) {
            return Err(st(NtStatus::ACCESS_DENIED));
        }
        if !overwrite {
            return Ok(CreateAction::Opened);
        }
        let want = req.create_attributes & super::STORED_ATTRIBUTES_MASK;
        for bit in [FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_SYSTEM] {
            if cur & bit != 0 && want & bit == 0 {
                return Err(st(NtStatus::ACCESS_DENIED));
            }
        }
        if h.o_path || !req.write {
            return Err(st(NtStatus::ACCESS_DENIED));
        }
        h.set_len(0)?;
        if req.disposition == D::Supersede {
            for (s, _) in h.streams()? {
                if let Ok(x) = stream::xname(&s) {
                    let _ = sys::removexattr(h.xtarget(), &x);
                }
            }
        }
        let creation_time = dos.map_or(0, |d| d.creation_time);
        attrs::write_dos(
            h.xtarget(),
            &DosInfo {
                attributes: want | FILE_ATTRIBUTE_ARCHIVE,
                creation_time,
            },
        )?;
        if req.allocation_size > 0 {
            h.allocate(req.allocation_size)?;
        }
        Ok(if req.disposition == D::Supersede {
            CreateAction::Superseded
        } else {
            CreateAction::Overwritten
        })
    }

    /// Opens a named stream, creating its file first when the disposition allows.
    fn open_stream(
        &self,
        path: &SharePath,
        sname: &str,
        req: &OpenRequest,
    ) -> VfsResult<(StreamHandle, CreateAction)> {
        if req.directory == Some(true) {
            return Err(st(NtStatus::NOT_A_DIRECTORY));
        }
        if !self.caps.streams {
            return Err(st(NtStatus::OBJECT_NAME_INVALID));
        }
        let base_req = OpenRequest {
            disposition: if matches!(req.disposition, D::Open | D::Overwrite) {
                D::Open
            } else {
                D::OpenIf
            },
            directory: None,
            read: true,
            write: false,
            write_through: false,
            create_attributes: req.create_attributes,
            allocation_size: 0,
        };
        let (base, _) = self.open_plain(&path.without_stream(), &base_req)?;
        if !base.is_dir && (req.write || req.disposition != D::Open && req.disposition != D::OpenIf)
        {
            let ro = base
                .dos()
                .is_some_and(|d| d.attributes & FILE_ATTRIBUTE_READONLY != 0);
            if ro {
                return Err(st(NtStatus::ACCESS_DENIED));
            }
        }
        let t: XTarget<'_> = base.xtarget();
        let mut sname = sname.to_string();
        let mut xname = stream::xname(&sname)?;
        let mut exists = match sys::getxattr(t, &xname, &mut []) {
            Ok(_) => true,
            Err(libc::ENODATA) => false,
            Err(er) => return Err(e(er)),
        };
        if !exists {
            // Stream names compare case-insensitively, whatever the share's file names do
            // (NTFS; smb2.streams.names3).
            let folded = fold(&sname);
            if let Some((n, _)) = base.streams()?.into_iter().find(|(n, _)| fold(n) == folded) {
                xname = stream::xname(&n)?;
                sname = n;
                exists = true;
            }
        }
        let action = match (exists, req.disposition) {
            (true, D::Create) => return Err(st(NtStatus::OBJECT_NAME_COLLISION)),
            (false, D::Open | D::Overwrite) => return Err(st(NtStatus::OBJECT_NAME_NOT_FOUND)),
            (false, _) => match sys::setxattr(t, &xname, b"", libc::XATTR_CREATE) {
                Ok(()) => CreateAction::Created,
                Err(libc::EEXIST) if req.disposition != D::Create => CreateAction::Opened,
                Err(er) => return Err(e(er)),
            },
            (true, D::Open | D::OpenIf) => CreateAction::Opened,
            (true, d) => {
                sys::setxattr(t, &xname, b"", 0).map_err(e)?;
                if d == D::Supersede {
                    CreateAction::Superseded
                } else {
                    CreateAction::Overwritten
                }
            }
        };
        let h = StreamHandle::new(
            base,
            sname,
            xname,
            self.caps.max_stream_size,
            self.stream_locks.clone(),
        );
        Ok((h, action))
    }

    /// The parent directory fd and actual name of an open handle's object, checked by inode.
    fn locate(&self, h: &LocalHandle) -> VfsResult<(OwnedFd, String, SharePath)> {
        let remembered = h.path();
        let candidates = [Some(remembered), self.proc_path(h.raw())];
        for p in candidates.into_iter().flatten() {
            let Some(name) = p.file_name() else {
                return Err(st(NtStatus::ACCESS_DENIED));
            };
            let Ok((dir, mut names)) = self.open_dir(p.parent_components()) else {
                continue;
            };
            let Ok(Some((actual, stx))) = self.lookup(dir.as_raw_fd(), name) else {
                continue;
            };
            if stx.stx_ino == h.ino && dev_of(&stx) == h.dev {
                names.push(actual.clone());
                return Ok((dir, actual, SharePath::from_components(names)?));
            }
        }
        Err(st(NtStatus::OBJECT_NAME_NOT_FOUND))
    }

    fn renameat2(&self, sd: RawFd, sn: &str, dd: RawFd, dn: &str, flags: u32) -> VfsResult<()> {
        let (a, b) = (sys::cstr(sn).map_err(e)?, sys::cstr(dn).map_err(e)?);
        // SAFETY: NUL-terminated names relative to our directory fds.
        let edits = [DirEdit::remove(sd, sn), DirEdit::add(dd, dn)];
        self.ci_edit(&edits, || {
            sys::check(|| unsafe {
                libc::renameat2(sd, a.as_ptr(), dd, b.as_ptr(), flags) as libc::c_long
            })
        })
        .map(|_| ())
        .map_err(|er| match er {
            libc::EXDEV => e(er).with_status(NtStatus::NOT_SAME_DEVICE),
            _ => e(er),
        })
    }

    fn unlink_in(&self, dir: RawFd, name: &str, is_dir: bool) -> VfsResult<()> {
        let c = sys::cstr(name).map_err(e)?;
        let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: NUL-terminated name relative to our directory fd.
        self.ci_edit(&[DirEdit::remove(dir, name)], || {
            sys::check(|| unsafe { libc::unlinkat(dir, c.as_ptr(), flags) as libc::c_long })
        })
        .map(|_| ())
        .map_err(e)
    }

    fn remove_path(&self, path: &SharePath, dir_wanted: bool) -> VfsResult<()> {
        let Some(name) = path.file_name() else {
            return Err(st(NtStatus::ACCESS_DENIED));
        };
        if let Some(s) = path.stream() {
            let req = OpenRequest::default();
            let (h, _) = self.open_stream(path, s, &req)?;
            return h.remove();
        }
        let (dir, _) = self.open_dir(path.parent_components())?;
        let Some((actual, stx)) = self.lookup(dir.as_raw_fd(), name)? else {
            return Err(st(NtStatus::OBJECT_NAME_NOT_FOUND));
        };
        let is_dir = file_type(&stx) == libc::S_IFDIR;
        match (is_dir, dir_wanted) {
            (true, false) => Err(st(NtStatus::FILE_IS_A_DIRECTORY)),
            (false, true) => Err(st(NtStatus::NOT_A_DIRECTORY)),
            _ => self.unlink_in(dir.as_raw_fd(), &actual, is_dir),
        }
    }
}

impl Share for LocalShare {
    fn open(
        &self,
        path: &SharePath,
        req: &OpenRequest,
    ) -> VfsResult<(Arc<dyn Handle>, OpenOutcome)> {
        if let Some(s) = path.stream() {
            let (h, action) = self.open_stream(path, s, req)?;
            return Ok((Arc::new(h), OpenOutcome { action }));
        }
        let (h, action) = self.open_plain(path, req)?;
        Ok((Arc::new(h), OpenOutcome { action }))
    }

    fn rename(&self, from: &dyn Handle, to: &SharePath, replace: bool) -> VfsResult<()> {
        if from.as_any().is::<StreamHandle>() || to.stream().is_some() {
            return self.rename_stream(from, to, replace);
        }
        let h = LocalHandle::downcast(from)?;
        let Some(dst_name) = to.file_name() else {
            return Err(st(NtStatus::ACCESS_DENIED));
        };
        let (sdir, sname, spath) = self.locate(h)?;
        if h.is_dir && to.starts_with(&spath) && to != &spath {
            return Err(st(NtStatus::INVALID_PARAMETER));
        }
        let (ddir, mut dnames) = self.open_dir(to.parent_components())?;
        let (s, d) = (sdir.as_raw_fd(), ddir.as_raw_fd());
        match self.lookup(d, dst_name)? {
            Some((actual, stx)) if stx.stx_ino == h.ino && dev_of(&stx) == h.dev => {
                // Same file: a case change, or a rename onto itself.
                if actual != dst_name {
                    self.renameat2(s, &sname, d, dst_name, libc::RENAME_NOREPLACE)?;
                }
            }
            Some(_) if !replace => return Err(st(NtStatus::OBJECT_NAME_COLLISION)),
            Some((_, stx)) if file_type(&stx) == libc::S_IFDIR => {
                return Err(st(NtStatus::ACCESS_DENIED))
            }
            Some((actual, _)) => {
                self.renameat2(s, &sname, d, &actual, 0)?;
                if actual != dst_name {
                    self.renameat2(d, &actual, d, dst_name, libc::RENAME_NOREPLACE)?;
                }
            }
            None => self.renameat2(s, &sname, d, dst_name, libc::RENAME_NOREPLACE)?,
        }
        dnames.push(dst_name.to_string());
        *h.path.write() = SharePath::from_components(dnames)?;
        Ok(())
    }

    fn link(&self, existing: &dyn Handle, new_path: &SharePath, replace: bool) -> VfsResult<()> {
        if existing.as_any().is::<StreamHandle>() || new_path.stream().is_some() {
            return Err(st(NtStatus::NOT_SUPPORTED));
        }
        let h = LocalHandle::downcast(existing)?;
        if h.is_dir {
            return Err(st(NtStatus::FILE_IS_A_DIRECTORY));
        }
        let Some(name) = new_path.file_name() else {
            return Err(st(NtStatus::ACCESS_DENIED));
        };
        let (ddir, _) = self.open_dir(new_path.parent_components())?;
        let d = ddir.as_raw_fd();
        let src = sys::cstr(&format!("/proc/self/fd/{}", h.raw())).map_err(e)?;
        let link_as = |n: &str| -> VfsResult<()> {
            let c = sys::cstr(n).map_err(e)?;
            // SAFETY: the /proc magic link names exactly our open inode; `c` is one component.
            self.ci_edit(&[DirEdit::add(d, n)], || {
                sys::check(|| unsafe {
                    libc::linkat(
                        libc::AT_FDCWD,
                        src.as_ptr(),
                        d,
                        c.as_ptr(),
                        libc::AT_SYMLINK_FOLLOW,
                    ) as libc::c_long
                })
            })
            .map(|_| ())
            .map_err(|er| {
                if er == libc::EXDEV {
                    e(er).with_status(NtStatus::NOT_SAME_DEVICE)
                } else {
                    e(er)
                }
            })
        };
        match self.lookup(d, name)? {
            None => link_as(name),
            Some((_, stx)) if stx.stx_ino == h.ino && dev_of(&stx) == h.dev => Ok(()),
            Some(_) if !replace => Err(st(NtStatus::OBJECT_NAME_COLLISION)),
            Some((_, stx)) if file_type(&stx) == libc::S_IFDIR => Err(st(NtStatus::ACCESS_DENIED)),
            Some((actual, _)) => {
                // Link under a temporary name, then rename over the target atomically.
                let mut rnd = [0u8; 8];
                // SAFETY: writes into a local buffer.
                unsafe { libc::getrandom(rnd.as_mut_ptr() as *mut libc::c_void, rnd.len(), 0) };
                let tmp = format!(".rsmbd-link-{:016x}", u64::from_ne_bytes(rnd));
                link_as(&tmp)?;
                if let Err(er) = self.renameat2(d, &tmp, d, &actual, 0) {
                    let _ = self.unlink_in(d, &tmp, false);
                    return Err(er);
                }
                if actual != name {
                    self.renameat2(d, &actual, d, name, libc::RENAME_NOREPLACE)?;
                }
                Ok(())
            }
        }
    }

    fn delete(&self, handle: &dyn Handle) -> VfsResult<()> {
        if let Some(s) = handle.as_any().downcast_ref::<StreamHandle>() {
            return s.remove();
        }
        let h = LocalHandle::downcast(handle)?;
        let (dir, name, _) = self.locate(h)?;
        self.unlink_in(dir.as_raw_fd(), &name, h.is_dir)
    }

    fn unlink(&self, path: &SharePath) -> VfsResult<()> {
        self.remove_path(path, false)
    }

    fn rmdir(&self, path: &SharePath) -> VfsResult<()> {
        self.remove_path(path, true)
    }

    fn fs_info(&self) -> VfsResult<FsInfo> {
        let fd = self.root.as_raw_fd();
        let mut v: libc::statvfs = unsafe { std::mem::zeroed() };
        let mut f: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: writable out-structs.
        sys::check(|| unsafe { libc::fstatvfs(fd, &mut v) as libc::c_long }).map_err(e)?;
        // SAFETY: writable out-struct.
        sys::check(|| unsafe { libc::fstatfs(fd, &mut f) as libc::c_long }).map_err(e)?;
        let bs = v.f_frsize as u64;
        Ok(FsInfo {
            total_bytes: (v.f_blocks as u64).saturating_mul(bs),
            free_bytes: (v.f_bfree as u64).saturating_mul(bs),
            available_bytes: (v.f_bavail as u64).saturating_mul(bs),
            block_size: bs,
            name_max: v.f_namemax as u64,
            fs_type: f.f_type as u64,
            dev: self.dev,
            capabilities: self.caps,
        })
    }

    fn supports_block_refcounting(&self) -> bool {
        self.caps.reflink
    }
}
