//! One client connection (MS-SMB2 3.3.1.7): the path of a frame from the transport through
//! decryption, compound splitting, credit and signature checks, dispatch, and back out signed
//! or sealed ([`outgoing`]: composing, signing, chaining and sending the responses).
use super::credits::Credits;
use super::dispatch::{self, Ctx, Outcome, PendingOp, PreauthTarget, Reply};
use super::session::Session;
use super::Server;
use crate::crypto::{self, Cipher, PreauthHash, Signer, SigningAlgorithm};
use crate::transport::pool;
use crate::transport::{FrameReader, FrameWriter};
use crate::wire::header::{flags, offsets};
use crate::wire::{compound, Command, FileId, Guid, Header, NtStatus, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info_span, Instrument};

mod outgoing;

/// How long an operation that went asynchronous in the middle of a compound chain may take
/// before it is cancelled (the rest of the chain waits for it).
const IN_CHAIN_ASYNC_GRACE: Duration = Duration::from_millis(500);

/// The connection must be dropped (MS-SMB2 says "disconnect" for this protocol violation).
#[derive(Debug)]
pub struct Disconnect(pub &'static str);

/// What NEGOTIATE settled for the connection.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// Connection.Dialect; 0x02FF after an SMB1 negotiate that asked for the wildcard.
    pub dialect: u16,
    /// Connection.ClientGuid.
    pub client_guid: Guid,
    /// Connection.ClientCapabilities.
    pub client_capabilities: u32,
    /// Connection.ClientSecurityMode.
    pub client_security_mode: u16,
    /// Connection.ClientDialects (for VALIDATE_NEGOTIATE_INFO).
    pub client_dialects: Vec<u16>,
    /// Capabilities the server answered with.
    pub server_capabilities: u32,
    /// SecurityMode the server answered with.
    pub server_security_mode: u16,
    /// Connection.CipherId (3.x).
    pub cipher: Option<Cipher>,
    /// The signing algorithm (3.1.1 SIGNING context, else the dialect's).
    pub signing: SigningAlgorithm,
    /// Connection.PreauthIntegrityHashValue after NEGOTIATE (3.1.1).
    pub preauth: Option<PreauthHash>,
}

/// A connection's state.
pub struct Connection {
    /// Server-unique id, for logs and session ownership.
    pub id: u64,
    /// The server.
    pub server: Arc<Server>,
    /// Where responses go.
    pub writer: Arc<dyn FrameWriter>,
    /// NEGOTIATE's outcome, once done.
    pub negotiated: Mutex<Option<Negotiated>>,
    /// Credits and the MessageId window.
    pub credits: Mutex<Credits>,
    /// Operations that went asynchronous, by MessageId.
    pub pending: dashmap::DashMap<u64, PendingEntry>,
    next_async_id: std::sync::atomic::AtomicU64,
    /// A session was established on this connection (it is then no longer "idle").
    pub authenticated: std::sync::atomic::AtomicBool,
    /// Fired by [`Connection::kill`]: the connection is dropped.
    kill: tokio::sync::Notify,
    /// Set by [`Connection::kill`], checked by the reader before each frame.
    killed: std::sync::atomic::AtomicBool,
    /// MessageIds a CANCEL named before their request went asynchronous (bounded).
    pub early_cancels: Mutex<std::collections::HashSet<u64>>,
    /// Peer, transport and counters, as `rsmbd status` shows them (in `server.connections`).
    pub info: Arc<super::status::ConnectionInfo>,
}

/// A pending asynchronous operation, as CANCEL finds it.
pub struct PendingEntry {
    /// Its AsyncId.
    pub async_id: u64,
    /// The session it belongs to.
    pub session_id: u64,
    /// Fires the operation's cancellation.
    pub cancel: super::dispatch::Cancel,
}

impl Connection {
    /// The negotiated dialect, if NEGOTIATE completed.
    pub fn dialect(&self) -> Option<u16> {
        self.negotiated.lock().as_ref().map(|n| n.dialect)
    }
}

/// Serves one connection until the client leaves, breaks the protocol, or `shutdown` fires.
pub async fn serve(
    server: Arc<Server>,
    mut reader: Box<dyn FrameReader>,
    writer: Arc<dyn FrameWriter>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let id = server.next_connection_id();
    let info = Arc::new(super::status::ConnectionInfo::new(
        id,
        writer.peer(),
        writer.local(),
        writer.kind(),
    ));
    server.connections.insert(id, info.clone());
    let conn = Arc::new(Connection {
        id,
        info,
        credits: Mutex::new(Credits::new(server.config.limits.max_credits)),
        server,
        writer,
        negotiated: Mutex::new(None),
        pending: dashmap::DashMap::new(),
        next_async_id: std::sync::atomic::AtomicU64::new(1),
        authenticated: false.into(),
        kill: tokio::sync::Notify::new(),
        killed: false.into(),
        early_cancels: Mutex::new(std::collections::HashSet::new()),
    });
    let span = info_span!("conn", id = conn.id, peer = %conn.writer.peer());
    async {
        let idle = Duration::from_secs(conn.server.config.limits.idle_timeout_secs.max(1));
        // Shutdown and kill are waited for by one future made once, not per frame: each new
        // `changed()`/`notified()` future registers with and later leaves its waiter list
        // under a lock, twice per request on a connection at queue depth 1.
        let shutdown_seen = shutdown.clone();
        let stop = async {
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = conn.kill.notified() => {}
            }
        };
        tokio::pin!(stop);
        loop {
            // A client keeping frames coming never lets the reader wait, so `stop` is not
            // polled then: these two flags are.
            if conn.killed.load(std::sync::atomic::Ordering::Acquire)
                || shutdown_flag(&shutdown_seen)
            {
                break;
            }
            let has_session = conn
                .authenticated
                .load(std::sync::atomic::Ordering::Relaxed);
            let next = async {
                if has_session {
                    next_frame(reader.as_mut()).await
                } else {
                    match tokio::time::timeout(idle, reader.recv()).await {
                        Ok(r) => r,
                        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle")),
                    }
                }
            };
            let frame = tokio::select! {
                biased;
                f = next => f,
                _ = &mut stop => break,
            };
            match frame {
                Ok(Some(f)) => {
                    // Requests that arrived together are answered together: responses
                    // made while more requests are buffered are held back and leave in
                    // one write once the last of them is handled.
                    if reader.has_buffered() {
                        conn.writer.cork();
                    }
                    let r = conn.process_frame(f).await;
                    if !reader.has_buffered() {
                        if let Some(rest) = conn.writer.flush() {
                            if rest.await.is_err() {
                                break;
                            }
                        }
                    }
                    if let Err(Disconnect(why)) = r {
                        debug!(why, "disconnecting");
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    debug!(error = %e, "transport closed");
                    break;
                }
            }
        }
        conn.writer.close().await;
        for p in conn.pending.iter() {
            // A waiting DH2Q CREATE is left to complete for its replay (see replay.rs).
            if !super::replay::survives_channel_loss(&conn.server, conn.id, *p.key(), p.session_id)
            {
                p.cancel.cancel();
            }
        }
        conn.teardown().await;
        super::replay::cancel_orphans(&conn.server);
        conn.server.connections.remove(&conn.id);
    }
    .instrument(span)
    .await
}

/// Whether shutdown was signalled (a cheap version check, no waiter registration).
fn shutdown_flag(rx: &tokio::sync::watch::Receiver<bool>) -> bool {
    rx.has_changed().unwrap_or(true)
}

impl Connection {
    /// Drops the connection: a request task found a protocol violation, or a break found the
    /// peer unresponsive. The reader stops before its next frame.
    pub fn kill(&self) {
        self.killed
            .store(true, std::sync::atomic::Ordering::Release);
        self.kill.notify_one();
    }

    /// Removes this connection's channel from every session; a session left without channels
    /// ends, and its opens close, releasing share modes and byte-range locks, except durable
    /// opens, which are kept for a reconnect (MS-SMB2 3.3.7.1, [`super::durable`]).
    async fn teardown(&self) {
        let mut gone = Vec::new();
        self.server.sessions.retain(|_, s| {
            if s.has_channel(self.id) && s.remove_channel(self.id) {
                gone.push(s.clone());
                false
            } else {
                true
            }
        });
        for s in gone {
            // Durable opens survive the lost connection (MS-SMB2 3.3.7.1).
            super::handlers::files::disconnect_session(&self.server, &s).await;
        }
    }

    /// Handles one frame (one Direct-TCP message).
    pub async fn process_frame(self: &Arc<Self>, frame: BytesMut) -> Result<(), Disconnect> {
        self.info.stats.add_in(frame.len() as u64);
        match frame.get(..4) {
            Some(b"\xffSMB") => return self.smb1_negotiate(&frame.freeze()).await,
            Some(b"\xfdSMB") => {
                let (session, plain) = self.decrypt(frame)?;
                return self.process_plain(plain, Some(session)).await;
            }
            Some(b"\xfeSMB") => {}
            _ => return Err(Disconnect("unknown protocol id")),
        }
        self.process_plain(frame.freeze(), None).await
    }

    /// Decrypts a TRANSFORM message in its own buffer (no copy).
    fn decrypt(&self, mut frame: BytesMut) -> Result<(Arc<Session>, Bytes), Disconnect> {
        if self.dialect().is_none_or(|d| d < 0x0300) {
            return Err(Disconnect("TRANSFORM before a 3.x dialect"));
        }
        let sid = crypto::transform::transform_session_id(&frame)
            .ok_or(Disconnect("bad transform header"))?;
        let session = self
            .server
            .sessions
            .get(&sid)
            .map(|s| s.clone())
            .ok_or(Disconnect("transform for unknown session"))?;
        // Only a connection that is one of the session's channels may use its keys
        // (MS-SMB2 3.3.5.2.1.1 looks the session up in Connection.SessionTable).
        if !session.has_channel(self.id) {
            return Err(Disconnect("transform for a session of another connection"));
        }
        let secrets = session
            .secrets()
            .ok_or(Disconnect("transform before keys"))?;
        let sealer = secrets
            .decryptor
            .as_ref()
            .ok_or(Disconnect("no decryption key"))?;
        let (_, range) = crypto::transform::unseal_message(sealer, &mut frame)
            .map_err(|_| Disconnect("decryption failed"))?;
        let plain = frame.freeze().slice(range);
        if plain.get(..4) != Some(b"\xfeSMB") {
            return Err(Disconnect("decrypted message is not SMB2"));
        }
        Ok((session, plain))
    }

    async fn process_plain(
        self: &Arc<Self>,
        frame: Bytes,
        encrypted: Option<Arc<Session>>,
    ) -> Result<(), Disconnect> {
        let limits = &self.server.config.limits;
        let lone = frame.len() >= HEADER_LEN
            && frame[offsets::NEXT_COMMAND..offsets::NEXT_COMMAND + 4] == [0; 4];
        let elements: SmallVec<[Bytes; 1]> = if lone {
            // Not a compound (the usual case): no list to build.
            smallvec::smallvec![frame]
        } else {
            compound::split_compound(&frame, limits.max_compound_elements as usize)
                .map_err(|_| Disconnect("malformed compound chain"))?
                .into()
        };
        self.info.stats.add_requests(elements.len() as u64);
        // In arrival order, before anything runs: headers, CANCEL, and the MessageId window
        // (MS-SMB2 3.3.5.2.3 checks a request on receipt).
        let mut chain = Chain::with_capacity(elements.len());
        let mut inline = false;
        for msg in elements {
            let hdr = Header::decode(&msg).map_err(|_| Disconnect("bad header"))?;
            if hdr.is_response() {
                return Err(Disconnect("response flag in a request"));
            }
            if hdr.command == Command::CANCEL {
                dispatch::cancel(self, &hdr);
                continue;
            }
            self.credits
                .lock()
                .consume(hdr.message_id, hdr.credit_charge)
                .map_err(|_| Disconnect("MessageId outside the credit window"))?;
            // Negotiation and authentication feed the preauth hash in order: run them here.
            inline |= matches!(
                hdr.command,
                Command::NEGOTIATE | Command::SESSION_SETUP | Command::LOGOFF
            );
            chain.push((hdr, msg));
        }
        if chain.is_empty() {
            return Ok(());
        }
        if inline {
            // May wait (authentication): nothing else stays held back meanwhile.
            if let Some(rest) = self.writer.flush() {
                rest.await.map_err(|_| Disconnect("send failed"))?;
            }
            return self.run_chain(chain, encrypted).await;
        }
        // Everything else runs beside the reader, so requests proceed concurrently (as far as
        // the credits allow) and an operation waiting on this same connection -- a CREATE
        // breaking an oplock the connection itself holds -- cannot block reading the answer.
        // It is polled once right here first: a request that needs no waiting (a READ served
        // from the page cache, an ECHO) completes without a task and a thread hand-off; one
        // that would wait moves to a task of its own.
        let conn = self.clone();
        dispatch::run_or_spawn(async move {
            if let Err(Disconnect(why)) = conn.run_chain(chain, encrypted).await {
                debug!(why, "disconnecting");
                conn.kill();
            }
        })
        .await;
        Ok(())
    }

    /// Runs the requests of one compound chain in order and sends their responses.
    async fn run_chain(
        self: &Arc<Self>,
        chain: Chain,
        encrypted: Option<Arc<Session>>,
    ) -> Result<(), Disconnect> {
        let limits = &self.server.config.limits;
        let mut out = OutList::with_capacity(chain.len());
        let mut related = RelatedState::default();
        let last = chain.len();
        for (i, (hdr, msg)) in chain.into_iter().enumerate() {
            if i == 0 && hdr.is_related() {
                // MS-SMB2 3.3.5.2.7.2: the first request may not be related.
                related.failed = Some(NtStatus::INVALID_PARAMETER);
            }
            let (outcome, session) = self
                .run_one(&hdr, &msg, encrypted.clone(), &mut related)
                .await?;
            let reply = match outcome {
                Ok(reply) => reply,
                Err(op)
                    if i + 1 == last
                        && self.pending.len() >= limits.max_pending_per_connection as usize =>
                {
                    // Too many operations pending on this connection: refuse the new one.
                    op.cancel.cancel();
                    Reply::error(NtStatus::INSUFFICIENT_RESOURCES)
                }
                Err(op) if i + 1 == last => {
                    // Go asynchronous: interim response now, final one from a task.
                    let async_id = self
                        .next_async_id
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    {
                        let mut early = self.early_cancels.lock();
                        self.pending.insert(
                            hdr.message_id,
                            PendingEntry {
                                async_id,
                                session_id: hdr.session_id,
                                cancel: op.cancel.clone(),
                            },
                        );
                        if early.remove(&hdr.message_id) {
                            // CANCEL came before the request went asynchronous.
                            op.cancel.cancel();
                        }
                    }
                    let mut interim_hdr = hdr.clone();
                    interim_hdr.flags |= flags::ASYNC_COMMAND;
                    interim_hdr.async_id = async_id;
                    out.push(self.compose(
                        &interim_hdr,
                        &msg,
                        Reply::error(NtStatus::PENDING),
                        session.as_ref(),
                        encrypted.is_some(),
                    ));
                    let conn = self.clone();
                    let encrypted = encrypted.clone();
                    let mut final_hdr = interim_hdr;
                    final_hdr.credits = 0;
                    tokio::spawn(async move {
                        let reply = op.fut.await;
                        conn.pending.remove(&final_hdr.message_id);
                        let resp = conn.compose(
                            &final_hdr,
                            &msg,
                            reply,
                            session.as_ref(),
                            encrypted.is_some(),
                        );
                        pool::give_bytes(msg);
                        let _ = conn
                            .send_outgoing(smallvec::smallvec![resp], encrypted)
                            .await;
                    });
                    continue;
                }
                // Not last in its chain: finish it in place, but never stall the connection
                // on a wait only a CANCEL could end (the CANCEL could not reach it).
                Err(op) => match hdr.command {
                    // A change notification waits for an outside event: Windows fails it
                    // (MS-SMB2 <footnote on 3.3.4.4>; smb2.compound.interim2).
                    Command::CHANGE_NOTIFY => {
                        op.cancel.cancel();
                        let _ = op.fut.await;
                        Reply::error(NtStatus::INTERNAL_ERROR)
                    }
                    // A blocking lock may wait forever: grant it if it comes soon, else
                    // cancel it.
                    Command::LOCK => {
                        let mut fut = op.fut;
                        match tokio::time::timeout(IN_CHAIN_ASYNC_GRACE, &mut fut).await {
                            Ok(reply) => reply,
                            Err(_) => {
                                op.cancel.cancel();
                                fut.await
                            }
                        }
                    }
                    // Anything else (an oplock break wait on CREATE) has its own bound.
                    _ => {
                        let reply = op.fut.await;
                        // What run_one would have recorded for a synchronous answer.
                        if let Some(f) = reply.file_id {
                            related.file_id = Some(f);
                        }
                        if reply.status.is_error() && hdr.command == Command::CREATE {
                            related.failed = Some(reply.status);
                        }
                        reply
                    }
                },
            };
            self.early_cancels.lock().remove(&hdr.message_id);
            out.push(self.compose(&hdr, &msg, reply, session.as_ref(), encrypted.is_some()));
            // The request's receive buffer goes back to this thread's pool if this was its
            // last reference (a WRITE that waited held it while the reader took a new one).
            pool::give_bytes(msg);
        }
        if out.is_empty() {
            return Ok(());
        }
        self.send_outgoing(out, encrypted).await
    }

    /// Verifies and dispatches one request of a chain.
    async fn run_one(
        self: &Arc<Self>,
        hdr: &Header,
        msg: &Bytes,
        encrypted: Option<Arc<Session>>,
        related: &mut RelatedState,
    ) -> Result<(Result<Reply, PendingOp>, Option<Arc<Session>>), Disconnect> {
        let is_related = hdr.is_related();
        if is_related {
            if let Some(status) = related.failed {
                return Ok((Ok(Reply::error(status)), related.session.clone()));
            }
        } else {
            *related = RelatedState::default();
        }
        let session_id = if is_related && hdr.session_id == u64::MAX {
            related.session_id
        } else {
            hdr.session_id
        };
        let tree_id = if is_related && hdr.tree_id == u32::MAX {
            related.tree_id
        } else {
            hdr.tree_id
        };
        let session = if session_id != 0 {
            self.server.sessions.get(&session_id).map(|s| s.clone())
        } else {
            None
        };
        if is_related && session.is_none() && session_id != 0 {
            // A related request inheriting a session that does not exist (smb2.compound.invalid2).
            related.session_id = session_id;
            related.tree_id = tree_id;
            return Ok((Ok(Reply::error(NtStatus::INVALID_PARAMETER)), None));
        }
        let ctx = Ctx {
            conn: self.clone(),
            hdr: hdr.clone(),
            msg: msg.clone(),
            session_id,
            tree_id,
            session: session.clone(),
            encrypted: encrypted.is_some(),
            related_file_id: if is_related { related.file_id } else { None },
        };
        let span = tracing::debug_span!(
            "cmd",
            cmd = hdr.command.name(),
            mid = hdr.message_id,
            sid = session_id,
            tid = tree_id
        );
        let outcome = dispatch::dispatch(ctx).instrument(span).await;
        let reply = match outcome {
            Outcome::Reply(r) => r,
            Outcome::Pending(op) => {
                if let Some(f) = request_file_id(hdr.command, msg) {
                    related.file_id = Some(f);
                }
                related.session_id = session_id;
                related.tree_id = tree_id;
                related.session = session.clone();
                return Ok((Err(op), session));
            }
            Outcome::Disconnect(why) => return Err(Disconnect(why)),
        };
        related.session_id = reply.session_id.unwrap_or(session_id);
        related.tree_id = reply.tree_id.unwrap_or(tree_id);
        related.session = session.clone();
        if let Some(f) = reply.file_id.or_else(|| request_file_id(hdr.command, msg)) {
            related.file_id = Some(f);
        }
        if reply.status.is_error() && hdr.command == Command::CREATE {
            // Only a failed CREATE fails the related requests after it (MS-SMB2 3.3.5.2.7.2;
            // Windows and Samba answer the others on their own).
            related.failed = Some(reply.status);
        }
        Ok((Ok(reply), session))
    }

    /// An SMB1 NEGOTIATE (MS-SMB2 3.3.5.3): answered with an SMB2 NEGOTIATE response.
    async fn smb1_negotiate(self: &Arc<Self>, frame: &Bytes) -> Result<(), Disconnect> {
        if self.negotiated.lock().is_some() {
            return Err(Disconnect("SMB1 after NEGOTIATE"));
        }
        let dialects = crate::wire::smb1::parse_negotiate(frame)
            .map_err(|_| Disconnect("bad SMB1 negotiate"))?;
        let wildcard = dialects.iter().any(|d| d == "SMB 2.???");
        let smb202 = dialects.iter().any(|d| d == "SMB 2.002");
        let dialect = match (wildcard, smb202) {
            (true, _) if self.server.config.max_dialect > 0x0202 => 0x02FF,
            (_, true) | (true, _) => 0x0202,
            _ => return Err(Disconnect("SMB1 negotiate without SMB2 dialects")),
        };
        self.credits
            .lock()
            .consume(0, 1)
            .map_err(|_| Disconnect("credits"))?;
        let body = super::handlers::negotiate::smb1_response_body(self, dialect);
        let h = Header {
            command: Command::NEGOTIATE,
            credits: self.credits.lock().grant(1),
            flags: flags::SERVER_TO_REDIR,
            ..Header::default()
        };
        let mut out = BytesMut::new();
        h.encode(&mut out);
        out.extend_from_slice(&body);
        self.writer
            .send(vec![out.freeze()])
            .await
            .map_err(|_| Disconnect("send failed"))
    }
}

/// The FileId a request names explicitly (not the all-ones "previous FileId"), for the commands
/// whose body carries one: a related request after it inherits it (MS-SMB2 3.3.5.2.7.2).
fn request_file_id(command: Command, msg: &[u8]) -> Option<FileId> {
    let off = match command {
        Command::CLOSE
        | Command::FLUSH
        | Command::LOCK
        | Command::IOCTL
        | Command::QUERY_DIRECTORY
        | Command::CHANGE_NOTIFY => 8,
        Command::READ | Command::WRITE | Command::SET_INFO => 16,
        Command::QUERY_INFO => 24,
        _ => return None,
    };
    let b = msg.get(HEADER_LEN + off..HEADER_LEN + off + 16)?;
    let (_, id) = FileId::parse(b).ok()?;
    (id != FileId::ANY).then_some(id)
}

/// The requests of one compound chain (usually one), with their headers.
type Chain = SmallVec<[(Header, Bytes); 1]>;
/// The responses of one chain.
type OutList = SmallVec<[Outgoing; 1]>;
/// The buffers of one message as sent.
type Parts = SmallVec<[Bytes; 4]>;

/// What [`Connection::compose`] still needs of a [`Reply`] once the body is copied out.
struct ReplyRest {
    status: NtStatus,
    data: Bytes,
    sign_with: Option<Arc<Signer>>,
    preauth: PreauthTarget,
}

/// The next frame from `reader`, polled without a future per frame where the transport
/// allows it.
async fn next_frame(reader: &mut dyn FrameReader) -> std::io::Result<Option<BytesMut>> {
    let mut unsupported = false;
    let r = std::future::poll_fn(|cx| match reader.poll_recv(cx) {
        Some(p) => p,
        None => {
            unsupported = true;
            std::task::Poll::Ready(Ok(None))
        }
    })
    .await;
    if unsupported {
        reader.recv().await
    } else {
        r
    }
}

/// One response on its way out: the message (header and body), the data a READ returns in
/// its own buffer, and the key to sign them with.
pub(crate) struct Outgoing {
    msg: BytesMut,
    data: Bytes,
    signer: Option<Arc<Signer>>,
}

/// What a related request inherits from the one before it (MS-SMB2 3.3.5.2.7.2).
#[derive(Default)]
struct RelatedState {
    session_id: u64,
    tree_id: u32,
    file_id: Option<FileId>,
    session: Option<Arc<Session>>,
    failed: Option<NtStatus>,
}
