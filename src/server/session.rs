//! Sessions (MS-SMB2 3.3.1.8), their channels (3.3.1.14) and tree connects (3.3.1.9), kept in
//! the server-wide table so that any channel can find them.
//!
//! A session is reachable from every connection it has a channel on (MS-SMB2 3.3.5.2.9); the
//! connection that created it holds the first channel, and each successful binding
//! SESSION_SETUP (3.3.5.5.2) adds one more with its own signing key (3.3.5.5.3). Losing a
//! connection removes only its channel: the session, its trees and opens live on while any
//! channel remains.
use crate::auth::Authenticator;
use crate::crypto::{Cipher, PreauthHash, Sealer, Signer, SigningAlgorithm};
use crate::server::share::Share;
use dashmap::DashMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Where a session is in its life (MS-SMB2 3.3.1.8 Session.State).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPhase {
    /// SESSION_SETUP legs still going.
    InProgress,
    /// Authenticated.
    Valid,
    /// Re-authentication in progress on a valid session.
    Reauthenticating,
}

/// Who the session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name as the database spells it.
    pub user: String,
    /// The domain the client named.
    pub domain: String,
    /// An anonymous (null) session.
    pub anonymous: bool,
}

/// The keys of an established session, immutable once made (re-authentication replaces them).
pub struct SessionSecrets {
    /// Session.SigningKey: signs the session's first channel, and verifies binding requests
    /// (MS-SMB2 3.3.5.2.4).
    pub signer: Arc<Signer>,
    /// Seals server-to-client messages (3.x only).
    pub encryptor: Option<Sealer>,
    /// Opens client-to-server messages (3.x only).
    pub decryptor: Option<Sealer>,
    /// Nonces for `encryptor`.
    pub nonces: Option<crate::crypto::NonceGenerator>,
    /// The application key (MS-SMB2 3.3.5.5.3), for named-pipe users.
    pub application_key: Vec<u8>,
}

/// Mutable state of a session, behind one short-held lock (never across an `.await`).
pub struct SessionState {
    /// Phase.
    pub phase: SessionPhase,
    /// The authentication exchange in progress.
    pub auth: Option<Authenticator>,
    /// SHA-512 preauth hash of this session's setup exchange (3.1.1).
    pub preauth: PreauthHash,
    /// Who, once authenticated.
    pub identity: Option<Identity>,
}

/// One SMB session.
pub struct Session {
    /// SessionId.
    pub id: u64,
    /// Dialect of the connection that created it.
    pub dialect: u16,
    /// Mutable state.
    pub state: Mutex<SessionState>,
    /// Keys, once authenticated.
    pub secrets: parking_lot::RwLock<Option<Arc<SessionSecrets>>>,
    /// Every request must be signed (or encrypted).
    pub signing_required: std::sync::atomic::AtomicBool,
    /// Every message is encrypted (Session.EncryptData).
    pub encrypt_data: std::sync::atomic::AtomicBool,
    /// Tree connects by TreeId.
    pub trees: DashMap<u32, Arc<TreeConnect>>,
    next_tree_id: AtomicU32,
    /// Id of the connection that created the session.
    pub connection_id: u64,
    /// Connection.CipherId of the creating connection (binding requires the same).
    pub cipher: Option<Cipher>,
    /// Signing algorithm of the creating connection (binding requires a compatible one).
    pub signing: SigningAlgorithm,
    /// Channels by connection id (Session.ChannelList).
    pub channels: Mutex<HashMap<u64, Channel>>,
}

/// One channel of a session (MS-SMB2 3.3.1.14): a connection and the key that signs on it.
#[derive(Default)]
pub struct Channel {
    /// Channel.SigningKey with the connection's algorithm; None until authentication on the
    /// channel completes.
    pub signer: Option<Arc<Signer>>,
    /// The binding exchange in progress on this channel (3.3.5.5.2).
    pub auth: Option<Authenticator>,
    /// Preauth hash of the binding exchange (3.1.1): starts from the connection's hash.
    pub preauth: Option<PreauthHash>,
}

impl Session {
    /// A new session in the InProgress phase.
    pub fn new(
        id: u64,
        dialect: u16,
        connection_id: u64,
        preauth: PreauthHash,
        cipher: Option<Cipher>,
        signing: SigningAlgorithm,
    ) -> Session {
        let mut channels = HashMap::new();
        channels.insert(connection_id, Channel::default());
        Session {
            id,
            dialect,
            state: Mutex::new(SessionState {
                phase: SessionPhase::InProgress,
                auth: None,
                preauth,
                identity: None,
            }),
            secrets: parking_lot::RwLock::new(None),
            signing_required: false.into(),
            encrypt_data: false.into(),
            trees: DashMap::new(),
            next_tree_id: AtomicU32::new(1),
            connection_id,
            cipher,
            signing,
            channels: Mutex::new(channels),
        }
    }

    /// True if connection `conn` is one of the session's channels (bound or being set up by
    /// the creating connection).
    pub fn has_channel(&self, conn: u64) -> bool {
        self.channels.lock().contains_key(&conn)
    }

    /// The key that signs on connection `conn` (Channel.SigningKey), once established.
    pub fn channel_signer(&self, conn: u64) -> Option<Arc<Signer>> {
        self.channels
            .lock()
            .get(&conn)
            .and_then(|c| c.signer.clone())
    }

    /// Removes connection `conn`'s channel; true when no channel is left.
    pub fn remove_channel(&self, conn: u64) -> bool {
        let mut ch = self.channels.lock();
        ch.remove(&conn);
        ch.is_empty()
    }

    /// The keys, if the session is established.
    pub fn secrets(&self) -> Option<Arc<SessionSecrets>> {
        self.secrets.read().clone()
    }

    /// True once authenticated (also while re-authenticating).
    pub fn is_valid(&self) -> bool {
        matches!(
            self.state.lock().phase,
            SessionPhase::Valid | SessionPhase::Reauthenticating
        )
    }

    /// True for an anonymous session.
    pub fn is_anonymous(&self) -> bool {
        self.state
            .lock()
            .identity
            .as_ref()
            .is_some_and(|i| i.anonymous)
    }

    /// Adds a tree connect and returns its TreeId.
    pub fn add_tree(
        &self,
        share: Arc<Share>,
        encrypt: bool,
        maximal_access: u32,
    ) -> Arc<TreeConnect> {
        let id = self.next_tree_id.fetch_add(1, Ordering::Relaxed);
        let t = Arc::new(TreeConnect {
            id,
            share,
            encrypt,
            maximal_access,
        });
        self.trees.insert(id, t.clone());
        t
    }
}

/// One tree connect (MS-SMB2 3.3.1.9).
pub struct TreeConnect {
    /// TreeId.
    pub id: u32,
    /// The share.
    pub share: Arc<Share>,
    /// Requests on this tree must arrive encrypted.
    pub encrypt: bool,
    /// The access the session has on the share.
    pub maximal_access: u32,
}
