//! A loop-mounted btrfs image for compression and integrity tests (btrfs honours FS_COMPR_FL,
//! `chattr +c`, checksums data and shares extents).
use super::loopfs::LoopImage;

/// Smallest image used (mkfs.btrfs refuses file systems under ~110 MiB).
pub const MIN_MB: u64 = 256;

/// A mounted btrfs image of `size_mb` MiB (at least [`MIN_MB`]).
pub fn image(size_mb: u64) -> LoopImage {
    LoopImage::new(
        "mkfs.btrfs",
        "btrfs-progs",
        &["-q", "-f"],
        size_mb.max(MIN_MB),
    )
}
