//! Delivery of oplock and lease break notifications over a multichannel session
//! (MS-SMB2 3.3.4.6, 3.3.4.7).
//!
//! An oplock break goes out on the connection the open was made on (Open.Connection) while it
//! lives, else on another channel of the open's session. A lease belongs to the client, not to
//! a connection: its break goes to the session's channels in the order they were established.
//!
//! A channel may be dead without the server knowing yet (the client's NIC went away, a cable
//! was pulled): the break would sit in the socket's send queue until TCP gives up, and the
//! client would never answer it. So when another channel remains to be tried, the sender waits
//! for the peer to acknowledge, at the TCP level, the bytes up to the end of the break; if that
//! does not happen within [`ACK_TIMEOUT`], the channel is dropped (its session keeps its other
//! channels, and ends with the last one, closing non-durable opens) and the break is sent on the
//! next channel; when every channel stays silent the session ends with the last one, as Samba
//! does, and the opener waiting for the break proceeds. smbtorture's multichannel
//! oplocks.test3_specification and leases.test2/test4 check exactly this, blocking channels
//! with iptables. A session with a single channel is left to the oplock break timeout.
//!
//! Connections are found by id through a registry of weak references filled as connections
//! authenticate (every channel sends SESSION_SETUP first).
use super::connection::Connection;
use super::session::Session;
use super::Server;
use crate::wire::BytesMut;
use dashmap::DashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

/// How long the peer has to acknowledge a break at the TCP level before its channel is
/// considered dead, when another channel remains (Samba uses one retransmission timeout, at
/// most 1 s; 32 channels then fit in the 35 s oplock break timeout).
pub const ACK_TIMEOUT: Duration = Duration::from_millis(1000);

/// Connections by id, for finding a session's channels.
static CONNECTIONS: LazyLock<DashMap<u64, Weak<Connection>>> = LazyLock::new(DashMap::new);

/// Remembers a connection (called for each SESSION_SETUP; cheap when already known).
pub fn register(conn: &Arc<Connection>) {
    if CONNECTIONS.contains_key(&conn.id) {
        return;
    }
    CONNECTIONS.insert(conn.id, Arc::downgrade(conn));
    if CONNECTIONS.len().is_multiple_of(256) {
        CONNECTIONS.retain(|_, c| c.strong_count() > 0);
    }
}

/// The live, authenticated channels of a session, in the order they were established.
pub fn channels(server: &Server, session_id: u64) -> Vec<Arc<Connection>> {
    let Some(session) = server.sessions.get(&session_id).map(|s| s.clone()) else {
        return Vec::new();
    };
    let mut ids: Vec<u64> = session
        .channels
        .lock()
        .iter()
        .filter(|(_, c)| c.auth.is_none())
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    ids.into_iter()
        .filter_map(|id| CONNECTIONS.get(&id).and_then(|c| c.upgrade()))
        .collect()
}

/// Whether a break on `conn` for `session` must be encrypted.
fn encryption(conn: &Connection, session: Option<&Arc<Session>>) -> Option<Arc<Session>> {
    session
        .filter(|s| {
            s.encrypt_data.load(Ordering::Relaxed)
                && conn.dialect().is_some_and(|d| d >= 0x0300)
                && s.secrets().is_some_and(|k| k.encryptor.is_some())
        })
        .cloned()
}

/// What became of a break sent on one channel.
#[derive(Debug, PartialEq, Eq)]
enum Ack {
    /// The peer acknowledged it (or the transport cannot tell).
    Delivered,
    /// Nothing acknowledged within the timeout.
    Silent,
}

/// Waits until the peer has acknowledged every byte sent on `conn` so far. A peer that keeps
/// acknowledging (a large READ response still draining) is given the time it needs, up to the
/// oplock break timeout; one that acknowledges nothing for [`ACK_TIMEOUT`] is silent.
async fn wait_acked(conn: &Connection) -> Ack {
    let start = tokio::time::Instant::now();
    let mut progress = start;
    let mut target = None;
    let mut last_acked = 0;
    loop {
        match (conn.writer.send_progress(), target) {
            (Some((_, 0)), _) => return Ack::Delivered,
            (Some((acked, unacked)), None) => {
                target = Some(acked + unacked);
                last_acked = acked;
            }
            (Some((acked, _)), Some(t)) if acked >= t => return Ack::Delivered,
            (Some((acked, _)), Some(_)) if acked > last_acked => {
                last_acked = acked;
                progress = tokio::time::Instant::now();
            }
            (None, None) if start.elapsed() > Duration::from_millis(50) => return Ack::Delivered,
            _ => {}
        }
        if progress.elapsed() >= ACK_TIMEOUT || start.elapsed() >= super::oplock::break_timeout() {
            return Ack::Silent;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends one break notification (`msg`: header and body, unsigned) for `session_id`: first on
/// `own` (the open's connection, for an oplock break) if it lives, then on the session's other
/// channels in order, moving on when a channel does not acknowledge it.
pub async fn deliver(
    server: &Arc<Server>,
    session_id: u64,
    own: Option<Arc<Connection>>,
    msg: BytesMut,
) {
    let session = server.sessions.get(&session_id).map(|s| s.clone());
    let mut candidates: Vec<Arc<Connection>> = own.into_iter().collect();
    for c in channels(server, session_id) {
        if !candidates.iter().any(|o| o.id == c.id) {
            candidates.push(c);
        }
    }
    let n = candidates.len();
    for conn in candidates {
        let encrypt = encryption(&conn, session.as_ref());
        if conn
            .send_responses(vec![msg.clone()], vec![None], encrypt)
            .await
            .is_err()
        {
            continue;
        }
        tracing::debug!(conn = conn.id, session_id, "break sent");
        if n == 1 || wait_acked(&conn).await == Ack::Delivered {
            return;
        }
        tracing::info!(
            conn = conn.id,
            session_id,
            "break not acknowledged by the peer: dropping the channel, trying the next"
        );
        // Reset it now, before the next channel gets the break: the client learns of the lost
        // channel (its requests there fail) before it acknowledges the break elsewhere. A FIN
        // would wait behind the unacknowledged break.
        conn.writer.abort();
        conn.kill();
        conn.writer.close().await;
    }
}

/// The server a break belongs to: that of the open's connection, or, when that connection is
/// gone, of whichever registered connection serves the session.
pub fn server_for(own: Option<&Arc<Connection>>, session_id: u64) -> Option<Arc<Server>> {
    if let Some(c) = own {
        return Some(c.server.clone());
    }
    CONNECTIONS.iter().find_map(|c| {
        c.upgrade()
            .filter(|c| c.server.sessions.contains_key(&session_id))
            .map(|c| c.server.clone())
    })
}
