//! Sessions (MS-SMB2 3.3.1.8) and tree connects (3.3.1.9), kept in the server-wide table so
//! that any channel can find them.
use crate::auth::Authenticator;
use crate::crypto::{PreauthHash, Sealer, Signer};
use crate::server::share::Share;
use dashmap::DashMap;
use parking_lot::Mutex;
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
    /// Signs and verifies messages of the session's first channel.
    pub signer: Signer,
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
}

impl Session {
    /// A new session in the InProgress phase.
    pub fn new(id: u64, dialect: u16, connection_id: u64, preauth: PreauthHash) -> Session {
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
        }
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
