//! A loop-mounted XFS image with reflink (`mkfs.xfs -m reflink=1`) for copy-offload tests.
use super::loopfs::LoopImage;

/// Smallest image mkfs.xfs accepts (xfsprogs ≥ 5.19 refuses file systems under 300 MB).
pub const MIN_MB: u64 = 300;

/// A mounted XFS image of `size_mb` MiB (at least [`MIN_MB`]).
pub fn image(size_mb: u64) -> LoopImage {
    LoopImage::new(
        "mkfs.xfs",
        "xfsprogs",
        &["-q", "-f", "-m", "reflink=1"],
        size_mb.max(MIN_MB),
    )
}
