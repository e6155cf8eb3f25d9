//! Request verification and dispatch (MS-SMB2 3.3.5.2): session and tree lookup, signing and
//! encryption requirements, then one handler per command.
use super::connection::Connection;
use super::handlers;
use super::session::{Session, TreeConnect};
use crate::crypto::Signer;
use crate::wire::{Bytes, BytesMut, Command, FileId, Header, NtStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Everything a handler may look at for one request.
pub struct Ctx {
    /// The connection it arrived on.
    pub conn: Arc<Connection>,
    /// Its header.
    pub hdr: Header,
    /// The whole message (header at 0).
    pub msg: Bytes,
    /// SessionId after compound inheritance.
    pub session_id: u64,
    /// TreeId after compound inheritance.
    pub tree_id: u32,
    /// The session named, if it exists (verified by dispatch for commands that need one).
    pub session: Option<Arc<Session>>,
    /// The request arrived encrypted.
    pub encrypted: bool,
    /// In a related compound request, the FileId of the previous CREATE.
    pub related_file_id: Option<FileId>,
}

impl Ctx {
    /// The session, which dispatch has verified for every command that needs one.
    pub fn session(&self) -> Result<&Arc<Session>, NtStatus> {
        self.session.as_ref().ok_or(NtStatus::USER_SESSION_DELETED)
    }
    /// The dialect of the connection.
    pub fn dialect(&self) -> u16 {
        self.conn.dialect().unwrap_or(0)
    }
}

/// Whose preauth hash a response goes into (3.1.1).
pub enum PreauthTarget {
    /// None.
    None,
    /// The connection's (NEGOTIATE request and response).
    Connection,
    /// A session's (SESSION_SETUP responses with MORE_PROCESSING_REQUIRED).
    Session(Arc<Session>),
    /// The binding exchange of a session's channel on this connection (3.1.1, MS-SMB2
    /// 3.3.5.5.2).
    Channel(Arc<Session>),
}

/// A handler's answer.
pub struct Reply {
    /// Status in the header.
    pub status: NtStatus,
    /// The response body; empty means "error body".
    pub body: BytesMut,
    /// Data sent after the body (READ), from its own buffer.
    pub data: Bytes,
    /// SessionId for the header, when the handler made a session.
    pub session_id: Option<u64>,
    /// TreeId for the header, when the handler made a tree connect.
    pub tree_id: Option<u32>,
    /// FileId that later related requests inherit.
    pub file_id: Option<FileId>,
    /// Sign with this key whatever the request was (final SESSION_SETUP).
    pub sign_with: Option<Arc<Signer>>,
    /// Preauth hash to feed the response into.
    pub preauth: PreauthTarget,
}

impl Reply {
    /// A success (or warning) with a body.
    pub fn ok(body: BytesMut) -> Reply {
        Reply::with_status(NtStatus::SUCCESS, body)
    }
    /// A body with a given status.
    pub fn with_status(status: NtStatus, body: BytesMut) -> Reply {
        Reply {
            status,
            body,
            data: Bytes::new(),
            session_id: None,
            tree_id: None,
            file_id: None,
            sign_with: None,
            preauth: PreauthTarget::None,
        }
    }
    /// An error response.
    pub fn error(status: NtStatus) -> Reply {
        Reply::with_status(status, BytesMut::new())
    }
}

/// What became of a request.
pub enum Outcome {
    /// Answer it.
    Reply(Reply),
    /// It completes later: answer STATUS_PENDING with an AsyncId now (MS-SMB2 3.3.4.2), then
    /// the final response when the future resolves. CANCEL fires the token.
    Pending(PendingOp),
    /// Drop the connection.
    Disconnect(&'static str),
}

/// An operation that went asynchronous (blocking lock, change notify, ...).
pub struct PendingOp {
    /// Resolves to the final response; must watch `cancel` and answer STATUS_CANCELLED.
    pub fut: crate::transport::BoxFuture<'static, Reply>,
    /// Fired by CANCEL, logoff, tree disconnect, close or disconnect.
    pub cancel: Cancel,
}

/// A cancellation signal shared by an asynchronous operation and whoever may cancel it.
#[derive(Clone, Default)]
pub struct Cancel(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl Cancel {
    /// A fresh, unfired token.
    pub fn new() -> Cancel {
        Cancel::default()
    }
    /// Fires it.
    pub fn cancel(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }
    /// True once fired.
    pub fn is_cancelled(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }
    /// Resolves once fired.
    pub async fn cancelled(&self) {
        loop {
            let n = self.0 .1.notified();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
}

impl From<Result<Reply, NtStatus>> for Outcome {
    fn from(r: Result<Reply, NtStatus>) -> Outcome {
        Outcome::Reply(r.unwrap_or_else(Reply::error))
    }
}

/// CANCEL (MS-SMB2 3.3.5.16): no response of its own; fires the matching pending operation's
/// token (by AsyncId for the async form, else by MessageId), which then answers
/// STATUS_CANCELLED.
pub fn cancel(conn: &Arc<Connection>, hdr: &Header) {
    let found = if hdr.is_async() {
        conn.pending
            .iter()
            .find(|p| p.async_id == hdr.async_id && p.session_id == hdr.session_id)
            .map(|p| p.cancel.clone())
    } else {
        // The request may still be on its way to going asynchronous (chains run beside the
        // reader): remember the CANCEL under the same lock the connection takes when it
        // registers a pending operation, so neither side can miss the other.
        let mut early = conn.early_cancels.lock();
        match conn.pending.get(&hdr.message_id).map(|p| p.cancel.clone()) {
            Some(c) => Some(c),
            None => {
                if conn.credits.lock().in_window(hdr.message_id) && early.len() < 4096 {
                    early.insert(hdr.message_id);
                }
                None
            }
        }
    };
    if let Some(c) = found {
        c.cancel();
    }
}

fn needs_session(c: Command) -> bool {
    !matches!(
        c,
        Command::NEGOTIATE | Command::SESSION_SETUP | Command::ECHO
    )
}

fn needs_tree(c: Command) -> bool {
    !matches!(
        c,
        Command::NEGOTIATE
            | Command::SESSION_SETUP
            | Command::LOGOFF
            | Command::TREE_CONNECT
            | Command::ECHO
            | Command::CANCEL
    )
}

/// Verifies a request against its session and tree, then runs its handler.
pub async fn dispatch(ctx: Ctx) -> Outcome {
    tracing::trace!("dispatch");
    let cmd = ctx.hdr.command;
    let negotiated = ctx.conn.dialect();
    if cmd != Command::NEGOTIATE && negotiated.is_none_or(|d| d == 0x02FF) {
        // MS-SMB2 3.3.5.2: anything before NEGOTIATE completes ends the connection.
        return Outcome::Disconnect("request before NEGOTIATE");
    }
    if let Err(status) = verify(&ctx) {
        return Outcome::Reply(Reply::error(status));
    }
    match cmd {
        Command::NEGOTIATE => handlers::negotiate::handle(ctx).await,
        Command::SESSION_SETUP => {
            // Every channel authenticates first: remember it for break delivery.
            super::break_delivery::register(&ctx.conn);
            handlers::session_setup::handle(ctx).await
        }
        Command::LOGOFF => handlers::logoff::handle(ctx).await.into(),
        Command::TREE_CONNECT => handlers::tree_connect::handle(ctx).await.into(),
        Command::TREE_DISCONNECT => handlers::tree_connect::disconnect(ctx).await.into(),
        Command::ECHO => handlers::echo::handle(ctx).await.into(),
        _ => {
            // Channel sequence / replay verification (MS-SMB2 3.3.5.2.10), see replay.rs.
            let ticket = match super::replay::enter(&ctx) {
                Ok(t) => t,
                Err(status) => return Outcome::Reply(Reply::error(status)),
            };
            let server = ctx.conn.server.clone();
            super::replay::finish(server, ticket, handlers::files::handle(ctx).await)
        }
    }
}

/// True for a SESSION_SETUP that asks to bind a new channel (SMB2_SESSION_FLAG_BINDING).
pub fn is_binding(ctx: &Ctx) -> bool {
    ctx.hdr.command == Command::SESSION_SETUP
        && ctx
            .msg
            .get(crate::wire::HEADER_LEN + 2)
            .is_some_and(|f| f & crate::wire::session_setup::SMB2_SESSION_FLAG_BINDING != 0)
}

/// The checks of MS-SMB2 3.3.5.2.4 (signing), 3.3.5.2.9 (session) and 3.3.5.2.11 (tree).
///
/// Sessions are found in the server-wide table, but a connection sees only the sessions it
/// has a channel of; the one exception is a binding SESSION_SETUP, which names a session of
/// another connection and is verified with Session.SigningKey. Every other signed request is
/// verified with the Channel.SigningKey of the connection it arrived on.
fn verify(ctx: &Ctx) -> Result<(), NtStatus> {
    let cmd = ctx.hdr.command;
    let session_optional = cmd == Command::NEGOTIATE
        || cmd == Command::ECHO
        || (cmd == Command::SESSION_SETUP && ctx.session_id == 0);
    let session = match &ctx.session {
        Some(s) => s,
        None if session_optional || !needs_session(cmd) && ctx.session_id == 0 => return Ok(()),
        None => return Err(NtStatus::USER_SESSION_DELETED),
    };
    let binding = is_binding(ctx);
    if !binding && !session.has_channel(ctx.conn.id) {
        // MS-SMB2 3.3.5.2.9: not in this connection's session table.
        return Err(NtStatus::USER_SESSION_DELETED);
    }
    let secrets = session.secrets();
    tracing::trace!(
        binding,
        signed = ctx.hdr.is_signed(),
        encrypted = ctx.encrypted,
        "verify"
    );
    if ctx.hdr.is_signed() && !ctx.encrypted {
        let signer = if binding {
            secrets.as_ref().map(|k| k.signer.clone())
        } else {
            session.channel_signer(ctx.conn.id)
        };
        match signer {
            Some(signer) => {
                if !signer.verify(&ctx.msg) {
                    tracing::debug!(binding, "bad signature");
                    return Err(NtStatus::ACCESS_DENIED);
                }
            }
            None if cmd == Command::SESSION_SETUP => {}
            None => return Err(NtStatus::USER_SESSION_DELETED),
        }
    } else if !ctx.encrypted
        && secrets.is_some()
        && session.signing_required.load(Ordering::Relaxed)
        && !matches!(cmd, Command::NEGOTIATE | Command::ECHO)
        && !(cmd == Command::SESSION_SETUP && (binding || !session.is_valid()))
        && !session.is_anonymous()
    {
        // Re-authentication of a session that requires signing must be signed too.
        return Err(NtStatus::ACCESS_DENIED);
    }
    if cmd == Command::SESSION_SETUP {
        return Ok(());
    }
    if !session.is_valid()
        || session.channel_signer(ctx.conn.id).is_none() && !session.is_anonymous()
    {
        return Err(NtStatus::USER_SESSION_DELETED);
    }
    if session.encrypt_data.load(Ordering::Relaxed) && !ctx.encrypted && ctx.dialect() >= 0x0300 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if needs_tree(cmd) {
        let tree = tree(ctx)?;
        if tree.encrypt && !ctx.encrypted {
            return Err(NtStatus::ACCESS_DENIED);
        }
    }
    Ok(())
}

/// The tree connect a request names.
pub fn tree(ctx: &Ctx) -> Result<Arc<TreeConnect>, NtStatus> {
    ctx.session()?
        .trees
        .get(&ctx.tree_id)
        .map(|t| t.clone())
        .ok_or(NtStatus::NETWORK_NAME_DELETED)
}

/// Runs `fut` until it first has to wait: a request that completes right away (a READ from
/// the page cache, a WRITE the file system takes without blocking) needs no task and no
/// thread hand-off; one that waits moves to a task of its own.
///
/// The future lives on the heap from the start (it cannot move once polled), but in memory
/// recycled per thread: when it completes, in place or in its task, it is dropped there and
/// its memory kept for the next one, so the common case allocates nothing and a request that
/// waits costs only its task.
pub(crate) async fn run_or_spawn<F: Future<Output = ()> + Send + 'static>(fut: F) {
    let mut boxed = spare::boxed(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(boxed.as_mut().poll(cx))).await;
    if first.is_pending() {
        tokio::spawn(spare::Recycled(Some(boxed)));
    } else {
        spare::recycle(boxed);
    }
}

use std::future::Future;
use std::task::Poll;

/// Recycled heap blocks per thread, for [`run_or_spawn`].
mod spare {
    use std::alloc::Layout;
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::ptr::NonNull;
    use std::task::{Context, Poll};

    /// Blocks kept per thread: as many requests as usually wait at once on one thread.
    const KEEP: usize = 64;

    /// Blocks from the global allocator, each with the layout it was allocated with.
    struct Blocks(RefCell<Vec<(NonNull<u8>, Layout)>>);

    impl Drop for Blocks {
        fn drop(&mut self) {
            for (p, l) in self.0.get_mut().drain(..) {
                // SAFETY: each block was allocated by the global allocator with layout `l`
                // (it was a `Box` of a type with that layout) and holds no live value.
                unsafe { std::alloc::dealloc(p.as_ptr(), l) };
            }
        }
    }

    thread_local! {
        static SPARE: Blocks = const { Blocks(RefCell::new(Vec::new())) };
    }

    /// `fut` boxed, in one of the thread's spare blocks when one has `F`'s layout.
    pub(super) fn boxed<F: Future + Send + 'static>(fut: F) -> Pin<Box<F>> {
        let layout = Layout::new::<F>();
        let block = SPARE
            .try_with(|s| {
                let mut v = s.0.borrow_mut();
                let i = v.iter().rposition(|b| b.1 == layout)?;
                Some(v.swap_remove(i))
            })
            .ok()
            .flatten();
        match block {
            Some((p, _)) if layout.size() > 0 => {
                let raw = p.as_ptr().cast::<F>();
                // SAFETY: the block was allocated by the global allocator with exactly
                // `Layout::new::<F>()` (it was a `Box<F>` before) and holds no live value, so
                // writing an `F` into it and owning it as a `Box<F>` is sound.
                unsafe {
                    raw.write(fut);
                    Box::into_pin(Box::from_raw(raw))
                }
            }
            _ => Box::pin(fut),
        }
    }

    /// A spawned request future whose memory is recycled on the thread it completes on.
    pub(super) struct Recycled<F: Future<Output = ()>>(pub(super) Option<Pin<Box<F>>>);

    impl<F: Future<Output = ()>> Future for Recycled<F> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            // `Recycled` is Unpin (it holds a Box), so its field may be taken.
            let Some(fut) = self.0.as_mut() else {
                return Poll::Ready(());
            };
            if fut.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(done) = self.0.take() {
                recycle(done);
            }
            Poll::Ready(())
        }
    }

    /// Drops the finished future in place and keeps its memory as one of the thread's spare
    /// blocks (freed when the thread already keeps [`KEEP`]).
    pub(super) fn recycle<F: Future>(fut: Pin<Box<F>>) {
        let layout = Layout::new::<F>();
        // SAFETY: the value is dropped in place before its memory is reused (the pinning
        // guarantee: drop runs before the memory is invalidated); the memory is then a
        // block of `layout` from the global allocator holding no live value.
        unsafe {
            let raw = Box::into_raw(Pin::into_inner_unchecked(fut));
            std::ptr::drop_in_place(raw);
            if layout.size() == 0 {
                return;
            }
            let block = (NonNull::new_unchecked(raw.cast::<u8>()), layout);
            let kept = SPARE
                .try_with(|s| {
                    let mut v = s.0.borrow_mut();
                    if v.len() >= KEEP {
                        return false;
                    }
                    if v.capacity() == 0 {
                        v.reserve_exact(KEEP);
                    }
                    v.push(block);
                    true
                })
                .unwrap_or(false);
            if !kept {
                std::alloc::dealloc(block.0.as_ptr(), layout);
            }
        }
    }
}
