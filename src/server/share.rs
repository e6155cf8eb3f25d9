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
            config,
        })
    }

    /// The IPC$ share.
    pub fn ipc() -> Share {
        Share {
            name: "IPC$".into(),
            kind: ShareKind::Ipc,
            vfs: None,
            config: ShareConfig {
                name: "IPC$".into(),
                path: "/".into(),
                read_only: true,
                encrypt: false,
                guest_ok: true,
                comment: "IPC Service".into(),
                case_insensitive: true,
            },
        }
    }
}
