//! Accepting connections: binds every configured address, prints `listening on ADDR:PORT` for
//! each (tests read it to find a port picked with `:0`), caps concurrent connections, and
//! stops on SIGTERM/SIGINT, letting connections finish their current request.
use super::{connection, Server};
use crate::transport::tcp;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tracing::{info, warn};

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(server: Arc<Server>) -> std::io::Result<()> {
    // Handlers first: a SIGTERM right after `listening on` must already stop gracefully.
    let signals = Signals::install()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // Up before `listening on`, so `rsmbd status` works as soon as the server announces itself.
    let control = super::control::start(server.clone(), stop_rx.clone());
    let mut listeners = Vec::new();
    for addr in &server.config.listen {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let local = l.local_addr()?;
        println!("listening on {local}");
        info!(%local, "listening");
        listeners.push(l);
    }
    let slots = Arc::new(Semaphore::new(
        server.config.limits.max_connections as usize,
    ));
    let rdma_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if server.config.smb_direct {
        start_smb_direct(&server, &slots, &stop_rx, &rdma_stop);
    }
    std::io::stdout().flush()?;
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        tasks.spawn(accept_loop(
            server.clone(),
            l,
            slots.clone(),
            stop_rx.clone(),
        ));
    }
    signals.wait().await;
    info!("shutting down");
    let _ = stop_tx.send(true);
    rdma_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // Give connections a moment to finish what they are doing.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if let Some(c) = control {
        let _ = tokio::time::timeout(Duration::from_secs(1), c).await;
    }
    Ok(())
}

/// SIGTERM and SIGINT, installed before the server announces itself.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! { _ = self.term.recv() => {}, _ = self.int.recv() => {} }
    }
}

async fn accept_loop(
    server: Arc<Server>,
    l: TcpListener,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            warn!(%peer, "connection limit reached; closing");
            drop(stream);
            continue;
        };
        let limits = &server.config.limits;
        let max_frame = limits.max_message_size as usize + 65536;
        if limits.dead_peer_timeout_secs > 0 {
            use std::os::fd::AsRawFd;
            let after = Duration::from_secs(limits.dead_peer_timeout_secs);
            if let Err(e) = tcp::dead_peer_detection(stream.as_raw_fd(), after) {
                warn!(%peer, "cannot arm dead-peer detection: {e}");
            }
        }
        let (r, w) = match tcp::split(
            stream,
            max_frame,
            Duration::from_secs(limits.frame_timeout_secs),
        ) {
            Ok(rw) => rw,
            Err(_) => continue,
        };
        let server = server.clone();
        let stop = stop.clone();
        conns.spawn(async move {
            connection::serve(server, Box::new(r), Arc::new(w), stop).await;
            drop(permit);
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

/// SMB Direct listeners (MS-SMBD): one rdma_cm listener on `smb_direct_port` per TCP listen
/// address that has an RDMA device. Where there is none (any host without RDMA hardware)
/// the reason is logged and the server serves TCP only. Prints `SMB Direct listening on
/// ADDR:PORT` for each listener started.
fn start_smb_direct(
    server: &Arc<Server>,
    slots: &Arc<Semaphore>,
    stop_rx: &watch::Receiver<bool>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) {
    use crate::transport::rdma;
    let handle = tokio::runtime::Handle::current();
    let mut seen = Vec::new();
    for addr in &server.config.listen {
        let at = std::net::SocketAddr::new(addr.ip(), server.config.smb_direct_port);
        if seen.contains(&at) {
            continue;
        }
        seen.push(at);
        let (server2, slots, stop_rx, handle) = (
            server.clone(),
            slots.clone(),
            stop_rx.clone(),
            handle.clone(),
        );
        let on_accept: rdma::OnAccept = Arc::new(move |r, w| {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                warn!("connection limit reached; closing SMB Direct connection");
                return;
            };
            let (server, stop) = (server2.clone(), stop_rx.clone());
            handle.spawn(async move {
                connection::serve(server, Box::new(r), Arc::new(w), stop).await;
                drop(permit);
            });
        });
        let cfg = crate::transport::smbd::Config::default();
        match rdma::listen(at, cfg, on_accept, stop.clone()) {
            Ok(local) => {
                println!("SMB Direct listening on {local}");
                info!(%local, "SMB Direct listening");
            }
            Err(e) => info!(addr = %at, error = %e, "no SMB Direct listener"),
        }
    }
}
