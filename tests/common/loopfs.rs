//! Loop-mounted file-system images for tests that need what the host's own file system lacks
//! (reflink on XFS, compression and checksums on btrfs): a sparse image file in a temporary
//! directory, formatted and mounted with `mount -o loop` (needs root, as CI is), unmounted on
//! drop.
use super::require_tool;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted image; `path` is the mount point (mode 0777).
pub struct LoopImage {
    /// The mount point.
    pub path: PathBuf,
    dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl LoopImage {
    /// Creates a sparse `size_mb` MiB image, formats it with `mkfs` (from Debian package
    /// `package`) and `mkfs_args`, and mounts it. Panics with what to install or why, when it
    /// cannot (not root, no loop devices).
    pub fn new(mkfs: &str, package: &str, mkfs_args: &[&str], size_mb: u64) -> LoopImage {
        assert!(
            super::torture::is_root(),
            "a loop-mounted {mkfs} image needs root; CI runs as root"
        );
        let mkfs = require_tool(mkfs, package);
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("fs.img");
        let f = std::fs::File::create(&img).unwrap();
        f.set_len(size_mb << 20).unwrap();
        drop(f);
        run(Command::new(mkfs).args(mkfs_args).arg(&img));
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&img)
            .arg(&path));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        LoopImage { path, dir }
    }

    /// The directory holding the image and the mount point.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for LoopImage {
    fn drop(&mut self) {
        // A lazy unmount never fails on a busy mount (a server still shutting down); the
        // loop device is released when the last user goes.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
