//! Shares as the server sees them: a configuration and, for disk shares, a VFS backend.
use crate::config::ShareConfig;
use crate::vfs;
use std::sync::Arc;

/// What kind of share (MS-SMB2 2.2.10 ShareType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    /// A directory served through the VFS.
    Disk,
    /// IPC$: named pipes for DCE/RPC (share enumeration).
    Ipc,
}

/// One share.
pub struct Share {
    /// Its name as configured.
    pub name: String,
    /// Disk or IPC.
    pub kind: ShareKind,
    /// The configuration (for IPC$, a synthetic one).
    pub config: ShareConfig,
    /// The backend of a disk share.
    pub vfs: Option<Arc<dyn vfs::Share>>,
    /// Server-side copy counters (`rsmbd status`).
    pub copy_stats: super::copy_stats::CopyStats,
}

impl Share {
    /// A disk share on the local file system.
    pub fn disk(config: ShareConfig) -> std::io::Result<Share> {
        let opts = vfs::local::LocalOptions {
            case_insensitive: config.case_insensitive,
            ..Default::default()
        };
        let backend = vfs::local::LocalShare::new(&config.path, opts).map_err(|e| {
            std::io::Error::other(format!(
                "share {}: {}: {:?}",
                config.name,
                config.path.display(),
                e.status()
            ))
        })?;
        Ok(Share {
            name: config.name.clone(),
            kind: ShareKind::Disk,
            vfs: Some(Arc::new(backend)),
            copy_stats: Default::default(),
            config,
        })
    }

    /// The IPC$ share.
    pub fn ipc() -> Share {
        Share {
            name: "IPC$".into(),
            kind: ShareKind::Ipc,
            vfs: None,
            copy_stats: Default::default(),
            config: ShareConfig {
                name: "IPC$".into(),
                path: "/".into(),
                read_only: true,
                encrypt: false,
                guest_ok: true,
                comment: "IPC Service".into(),
                case_insensitive: true,
                continuous_availability: false,
            },
        }
    }
}

impl Share {
    /// Whether the share's file system can share extents (reflink, probed at start; false for
    /// IPC$): FILE_SUPPORTS_BLOCK_REFCOUNTING and FSCTL_DUPLICATE_EXTENTS_TO_FILE.
    pub fn supports_block_refcounting(&self) -> bool {
        self.vfs
            .as_ref()
            .is_some_and(|v| v.supports_block_refcounting())
    }
}
