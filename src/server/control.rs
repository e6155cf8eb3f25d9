//! The local control socket: `<state_dir>/control.sock`, a Unix stream socket that answers
//! `rsmbd status`.
//!
//! Only root and the user the server runs as may use it: the socket file is mode 0600 and
//! each peer's credentials (SO_PEERCRED) are checked, so a socket file made reachable by
//! loosened directory or file permissions still refuses other users. The protocol is one
//! request line (`status\n`) answered by the text of [`super::status::report`], after which
//! the server closes the connection; an error is answered by one line `error: ...`. Requests
//! are bounded (256 bytes, read within a few seconds) and so is the number of clients served
//! at once.
use super::Server;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Semaphore};
use tracing::{debug, info, warn};

/// The socket's file name in the state directory.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request accepted.
const MAX_REQUEST: usize = 256;
/// Time a client has to send its request, and the server to write the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Control clients served at once; more are turned away.
const MAX_CLIENTS: usize = 4;

/// Where the control socket of a server with state directory `state_dir` is.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// Creates the control socket at `path`, mode 0600. A socket file left by a server that is
/// gone is replaced; one a live server answers on is left alone (Err AddrInUse), and so is
/// anything that is not a socket.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use by another running server", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let l = UnixListener::bind(path)?;
    // Between bind and chmod the file has the umask's mode: the peer check covers that moment.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

/// Starts the control socket of `server`, logging (and going on without it) if it cannot be
/// created. Returns the task serving it; it ends, removing the socket file, when `stop` fires.
pub fn start(
    server: Arc<Server>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let path = socket_path(&server.config.state_dir);
    match bind(&path) {
        Ok(l) => {
            info!(path = %path.display(), "control socket");
            Some(tokio::spawn(serve(server, l, path, stop)))
        }
        Err(e) => {
            warn!(path = %path.display(), error = %e, "no control socket; `rsmbd status` will not work");
            None
        }
    }
}

/// Accepts control clients until `stop` fires, then removes the socket file.
pub async fn serve(
    server: Arc<Server>,
    l: UnixListener,
    path: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::symlink_metadata(&path).map(|m| m.ino()).ok();
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    loop {
        let stream = tokio::select! {
            a = l.accept() => match a {
                Ok((s, _)) => s,
                Err(e) => {
                    warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!("too many control clients; closing one");
            continue;
        };
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(e) = tokio::time::timeout(IO_TIMEOUT * 2, handle(&server, stream, euid))
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
            {
                debug!(error = %e, "control client");
            }
            drop(permit);
        });
    }
    drop(l);
    // Only remove the file if it is still ours (someone may have replaced it).
    if ino.is_some() && std::fs::symlink_metadata(&path).map(|m| m.ino()).ok() == ino {
        let _ = std::fs::remove_file(&path);
    }
}

/// Whether a peer with user id `uid` may use the socket of a server running as `euid`.
pub fn allowed(uid: u32, euid: u32) -> bool {
    uid == 0 || uid == euid
}

async fn handle(server: &Arc<Server>, mut s: UnixStream, euid: u32) -> io::Result<()> {
    let uid = s.peer_cred()?.uid();
    if !allowed(uid, euid) {
        warn!(
            uid,
            "control socket: refused a user that is neither root nor the server's"
        );
        s.write_all(b"error: permission denied: only root or the server's user may ask\n")
            .await?;
        return s.shutdown().await;
    }
    let mut buf = Vec::with_capacity(64);
    let request = tokio::time::timeout(IO_TIMEOUT, async {
        let mut chunk = [0u8; 64];
        loop {
            if let Some(i) = buf.iter().position(|&b| b == b'\n') {
                buf.truncate(i);
                return Ok(true);
            }
            if buf.len() >= MAX_REQUEST {
                return Ok(false);
            }
            let want = chunk.len().min(MAX_REQUEST - buf.len());
            let n = s.read(&mut chunk[..want]).await?;
            if n == 0 {
                // A request without its newline at EOF is still a request.
                return Ok(!buf.is_empty());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::TimedOut)))?;
    let answer = if !request {
        "error: request too long\n".to_string()
    } else {
        match std::str::from_utf8(&buf).map(str::trim) {
            Ok("status") => {
                let server = server.clone();
                tokio::task::spawn_blocking(move || super::status::report(&server))
                    .await
                    .map_err(io::Error::other)?
            }
            _ => "error: unknown request (expected `status`)\n".to_string(),
        }
    };
    tokio::time::timeout(IO_TIMEOUT, s.write_all(answer.as_bytes()))
        .await
        .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::TimedOut)))?;
    s.shutdown().await
}

/// Client side: asks the server whose state directory is `state_dir` for its status report.
/// Errors say what went wrong in words an administrator can act on.
pub fn query(state_dir: &Path) -> Result<String, String> {
    use std::io::{Read, Write};
    let path = socket_path(state_dir);
    let mut s = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(format!(
                "no server is running with state directory {} (nothing answers on {})",
                state_dir.display(),
                path.display()
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(format!(
                "{}: permission denied (only root or the user the server runs as may ask)",
                path.display()
            ))
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let timeout = Some(Duration::from_secs(30));
    let _ = s.set_read_timeout(timeout);
    let _ = s.set_write_timeout(timeout);
    let mut text = String::new();
    // A refused client may find the socket closed before it writes: read the answer anyway.
    let sent = s.write_all(b"status\n");
    let read = s.read_to_string(&mut text);
    if text.is_empty() {
        sent.and(read)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(msg) = text.strip_prefix("error: ") {
        return Err(msg.trim_end().to_string());
    }
    if text.is_empty() {
        return Err(format!(
            "{}: the server closed without answering",
            path.display()
        ));
    }
    Ok(text)
}
