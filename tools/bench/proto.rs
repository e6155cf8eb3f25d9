//! Connection setup for the benchmark: NEGOTIATE (2.1 or 3.1.1 with pre-authentication
//! integrity, MS-SMB2 3.2.4.2.2), SESSION_SETUP with NTLMv2 (3.2.4.2.3, keys per 3.2.5.3),
//! TREE_CONNECT, CREATE of the data file and its preallocation; and, for multichannel, the
//! binding of more connections to that session ([`Conn::bind`]: SESSION_SETUP with
//! SMB2_SESSION_FLAG_BINDING signed with Session.SigningKey, 3.2.4.2.3, the channel's own
//! signing key from its own authentication and, for 3.1.1, its own pre-auth hash, 3.2.5.3.1).
//! Synchronous and unoptimised: none of this is on the measured path ([`crate::engine`] is).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsmbd::crypto::{
    derive_session_keys_full, unseal_message, Cipher, NonceGenerator, PreauthHash, Sealer, Signer,
    SigningAlgorithm,
};
use rsmbd::wire::create::{
    access_mask, create_options, file_attributes, share_access, CreateDisposition, CreateRequest,
    CreateResponse, ImpersonationLevel, OplockLevel,
};
use rsmbd::wire::header::flags;
use rsmbd::wire::negotiate::{
    Dialect, NegotiateRequest, NegotiateResponse, SMB2_GLOBAL_CAP_ENCRYPTION,
    SMB2_GLOBAL_CAP_LARGE_MTU, SMB2_NEGOTIATE_SIGNING_ENABLED, SMB2_NEGOTIATE_SIGNING_REQUIRED,
};
use rsmbd::wire::negotiate_contexts::{self as nc, NegotiateContext};
use rsmbd::wire::query_info::InfoType;
use rsmbd::wire::read::Channel;
use rsmbd::wire::session_setup::{
    SessionSetupRequest, SessionSetupResponse, SMB2_SESSION_FLAG_BINDING,
    SMB2_SESSION_FLAG_ENCRYPT_DATA,
};
use rsmbd::wire::set_info::SetInfoRequest;
use rsmbd::wire::tree_connect::{
    TreeConnectRequest, TreeConnectResponse, SMB2_SHAREFLAG_ENCRYPT_DATA,
};
use rsmbd::wire::write::WriteRequest;
use rsmbd::wire::{Bytes, BytesMut, Command, FileId, Guid, Header, HEADER_LEN};

/// STATUS_SUCCESS.
pub const STATUS_SUCCESS: u32 = 0;
/// STATUS_PENDING (interim responses of requests that went async).
pub const STATUS_PENDING: u32 = 0x0000_0103;
/// STATUS_MORE_PROCESSING_REQUIRED.
const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
/// Credits asked for on every setup request, so the workload starts with a full window.
const SETUP_CREDIT_REQUEST: u16 = 512;
/// FileEndOfFileInformation (MS-FSCC 2.4.14).
const FILE_END_OF_FILE_INFORMATION: u8 = 20;

/// What to connect to and how.
#[derive(Clone, Debug)]
pub struct ConnectOpts {
    /// host:port.
    pub addr: String,
    /// Share name.
    pub share: String,
    /// User (optionally DOMAIN\user).
    pub user: String,
    /// Password.
    pub password: String,
    /// 0x0311 or 0x0210.
    pub dialect: u16,
    /// Sign every request.
    pub sign: bool,
    /// Encrypt every request with this cipher.
    pub cipher: Option<Cipher>,
    /// Wrap NTLMSSP in SPNEGO.
    pub spnego: bool,
    /// Path of the data file inside the share.
    pub file: String,
}

/// Encryption state of a session (client view: requests are sealed with the
/// client-to-server key, responses opened with the server-to-client key).
pub struct Crypt {
    /// Seals requests (3.1.1 "SMBC2SCipherKey").
    pub seal: Sealer,
    /// Opens responses (3.1.1 "SMBS2CCipherKey").
    pub open: Sealer,
    /// Nonces for requests.
    pub nonces: NonceGenerator,
}

/// An established connection with one session, one tree and one open file.
pub struct Conn {
    /// The socket (blocking during setup).
    pub sock: TcpStream,
    /// Negotiated dialect.
    pub dialect: u16,
    /// SessionId.
    pub session_id: u64,
    /// TreeId.
    pub tree_id: u32,
    /// The open data file.
    pub file_id: FileId,
    /// EndOfFile of the data file after CREATE.
    pub file_size: u64,
    /// Next MessageId.
    pub next_mid: u64,
    /// Credits granted and not yet used.
    pub credits: u32,
    /// Signs requests when signing is on (and encryption off).
    pub signer: Option<Signer>,
    /// Seals requests when encryption is on.
    pub crypt: Option<Crypt>,
    /// MaxReadSize.
    pub max_read: u32,
    /// MaxWriteSize.
    pub max_write: u32,
    /// Multi-credit requests allowed (SMB2_GLOBAL_CAP_LARGE_MTU).
    pub large_mtu: bool,
    /// The ClientGuid sent in NEGOTIATE (the same on every channel of a session).
    client_guid: [u8; 16],
    /// The negotiated cipher (3.x).
    cipher: Option<Cipher>,
    /// Signs with Session.SigningKey, kept to sign binding requests of more channels.
    session_signer: Option<Signer>,
    /// The session's (client-to-server, server-to-client) cipher keys, for more channels.
    cipher_keys: Option<(Vec<u8>, Vec<u8>)>,
}

/// What NEGOTIATE settled on one connection.
struct Negotiated {
    /// The connection's pre-auth hash after NEGOTIATE (3.1.1).
    preauth: PreauthHash,
    /// Negotiated cipher.
    cipher: Option<Cipher>,
    /// Negotiated signing algorithm (3.1.1 signing capabilities).
    signing_alg: Option<SigningAlgorithm>,
    /// Requests must be signed (we asked for it or the server requires it).
    must_sign: bool,
}

/// CreditCharge of a request moving `len` bytes (MS-SMB2 3.1.5.2).
pub fn credit_charge(large_mtu: bool, len: u32) -> u16 {
    if large_mtu {
        len.div_ceil(65536).max(1) as u16
    } else {
        1
    }
}

impl Conn {
    /// Connects, authenticates, connects the tree and opens (creating if needed) the data file.
    pub fn connect(o: &ConnectOpts) -> Result<Conn, String> {
        let mut guid = [0u8; 16];
        getrandom::getrandom(&mut guid).map_err(|e| e.to_string())?;
        let mut c = Conn::open(&o.addr, guid)?;
        c.setup(o)?;
        Ok(c)
    }

    /// A connected socket, nothing negotiated yet.
    fn open(addr: &str, client_guid: [u8; 16]) -> Result<Conn, String> {
        let sock = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        sock.set_nodelay(true).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        Ok(Conn {
            sock,
            dialect: 0,
            session_id: 0,
            tree_id: 0,
            file_id: FileId::default(),
            file_size: 0,
            next_mid: 0,
            credits: 1,
            signer: None,
            crypt: None,
            max_read: 65536,
            max_write: 65536,
            large_mtu: false,
            client_guid,
            cipher: None,
            session_signer: None,
            cipher_keys: None,
        })
    }

    /// NEGOTIATE on a fresh connection.
    fn negotiate(&mut self, o: &ConnectOpts) -> Result<Negotiated, String> {
        let mut salt = [0u8; 32];
        getrandom::getrandom(&mut salt).map_err(|e| e.to_string())?;
        let ciphers = match o.cipher {
            Some(c) => vec![c.id()],
            None => vec![nc::AES_128_GCM, nc::AES_256_GCM, nc::AES_128_CCM],
        };
        let req = NegotiateRequest {
            security_mode: if o.sign {
                SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED
            } else {
                SMB2_NEGOTIATE_SIGNING_ENABLED
            },
            capabilities: SMB2_GLOBAL_CAP_LARGE_MTU
                | if o.dialect >= 0x0300 {
                    SMB2_GLOBAL_CAP_ENCRYPTION
                } else {
                    0
                },
            client_guid: Guid(self.client_guid),
            client_start_time: 0,
            dialects: vec![Dialect(o.dialect)],
            negotiate_contexts: vec![
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: vec![nc::SHA_512],
                    salt: Bytes::copy_from_slice(&salt),
                },
                NegotiateContext::Encryption { ciphers },
                NegotiateContext::Signing {
                    algorithms: vec![nc::AES_GMAC, nc::AES_CMAC],
                },
            ],
        };
        let mut preauth = PreauthHash::new();
        let msg = self.build(Command::NEGOTIATE, 0, |b| req.encode(b));
        preauth.update(&msg);
        self.send_plain(&msg)?;
        let (h, resp) = self.recv()?;
        preauth.update(&resp);
        if h.status != STATUS_SUCCESS {
            return Err(format!("NEGOTIATE failed: {:#010x}", h.status));
        }
        let neg = NegotiateResponse::decode(&resp).map_err(|e| format!("NEGOTIATE: {e}"))?;
        self.dialect = neg.dialect_revision.0;
        if self.dialect != o.dialect {
            return Err(format!("server chose dialect {:#06x}", self.dialect));
        }
        self.max_read = neg.max_read_size;
        self.max_write = neg.max_write_size;
        self.large_mtu = neg.capabilities & SMB2_GLOBAL_CAP_LARGE_MTU != 0;
        let mut cipher = None;
        let mut signing_alg = None;
        for ctx in &neg.negotiate_contexts {
            match ctx {
                NegotiateContext::Encryption { ciphers } => {
                    cipher = ciphers.first().and_then(|&id| Cipher::from_id(id))
                }
                NegotiateContext::Signing { algorithms } => {
                    signing_alg = algorithms
                        .first()
                        .and_then(|&id| SigningAlgorithm::from_id(id))
                }
                _ => {}
            }
        }
        if o.dialect == 0x0300 || o.dialect == 0x0302 {
            cipher = Some(Cipher::Aes128Ccm);
        }
        if o.cipher.is_some() && cipher != o.cipher {
            return Err(format!("server did not accept cipher {:?}", o.cipher));
        }
        let must_sign = o.sign || neg.security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED != 0;
        self.cipher = cipher;
        Ok(Negotiated {
            preauth,
            cipher,
            signing_alg,
            must_sign,
        })
    }

    fn setup(&mut self, o: &ConnectOpts) -> Result<(), String> {
        let Negotiated {
            mut preauth,
            cipher,
            signing_alg,
            must_sign,
        } = self.negotiate(o)?;

        // SESSION_SETUP, two legs of NTLM.
        let mut ntlm = crate::ntlm::client(&o.user, &o.password, o.spnego);
        let mut blob = ntlm.first();
        let mut session_key = None;
        let mut setup_signer = None;
        for _leg in 0..2 {
            let req = SessionSetupRequest {
                flags: 0,
                security_mode: if must_sign { 2 } else { 1 },
                capabilities: 0,
                channel: 0,
                previous_session_id: 0,
                security_buffer: Bytes::from(std::mem::take(&mut blob)),
            };
            let msg = self.build(Command::SESSION_SETUP, 0, |b| req.encode(b));
            preauth.update(&msg);
            self.send_plain(&msg)?;
            let (h, resp) = self.recv()?;
            self.session_id = h.session_id;
            let ss =
                SessionSetupResponse::decode(&resp).map_err(|e| format!("SESSION_SETUP: {e}"))?;
            match (h.status, &session_key) {
                (STATUS_MORE_PROCESSING_REQUIRED, None) => {
                    preauth.update(&resp);
                    let (b, key) = ntlm.second(&ss.security_buffer)?;
                    blob = b;
                    session_key = Some(key);
                }
                (STATUS_SUCCESS, Some(key)) => {
                    let keys = derive_session_keys_full(self.dialect, key, preauth.value(), cipher);
                    let encrypt = o.cipher.is_some()
                        || ss.session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA != 0;
                    let alg = SigningAlgorithm::for_dialect(self.dialect, signing_alg);
                    self.session_signer = Some(Signer::new(alg, &keys.signing));
                    if encrypt {
                        self.enable_encryption(cipher, &keys.decryption, &keys.encryption)?;
                        self.cipher_keys = Some((keys.decryption.clone(), keys.encryption.clone()));
                    } else {
                        let signer = Signer::new(alg, &keys.signing);
                        if must_sign {
                            self.signer = Some(signer);
                        } else {
                            setup_signer = Some(signer);
                        }
                    }
                    break;
                }
                (s, _) => return Err(format!("SESSION_SETUP failed: {s:#010x}")),
            }
        }
        if session_key.is_none() {
            return Err("SESSION_SETUP did not complete".into());
        }

        // TREE_CONNECT.
        let host = o.addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(&o.addr);
        let req = TreeConnectRequest {
            flags: 0,
            path: format!("\\\\{host}\\{}", o.share),
            tree_connect_contexts: vec![],
        };
        // 3.1.1 clients sign TREE_CONNECT even when signing is otherwise off (MS-SMB2
        // 3.2.4.1.1); servers (Samba) refuse an unsigned one.
        let sign_once = self.signer.is_none() && self.crypt.is_none() && self.dialect == 0x0311;
        if sign_once {
            self.signer = setup_signer.take();
        }
        let r = self.call(Command::TREE_CONNECT, 1, |b| req.encode(b));
        if sign_once {
            self.signer = None;
        }
        let (h, resp) = r?;
        if h.status != STATUS_SUCCESS {
            return Err(format!(
                "TREE_CONNECT {} failed: {:#010x}",
                o.share, h.status
            ));
        }
        self.tree_id = h.tree_id;
        let tc = TreeConnectResponse::decode(&resp).map_err(|e| format!("TREE_CONNECT: {e}"))?;
        if tc.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA != 0 && self.crypt.is_none() {
            return Err("the share requires encryption: pass --encrypt".into());
        }

        // CREATE the data file.
        let mut req = CreateRequest {
            security_flags: 0,
            requested_oplock_level: OplockLevel::NONE,
            impersonation_level: ImpersonationLevel::IMPERSONATION,
            smb_create_flags: 0,
            desired_access: access_mask::FILE_READ_DATA
                | access_mask::FILE_WRITE_DATA
                | access_mask::FILE_READ_ATTRIBUTES
                | access_mask::SYNCHRONIZE,
            file_attributes: file_attributes::NORMAL,
            share_access: share_access::FILE_SHARE_READ
                | share_access::FILE_SHARE_WRITE
                | share_access::FILE_SHARE_DELETE,
            create_disposition: CreateDisposition::OPEN_IF,
            create_options: create_options::FILE_NON_DIRECTORY_FILE
                | create_options::FILE_RANDOM_ACCESS,
            name_bytes: Bytes::new(),
            name: None,
            create_contexts: vec![],
        };
        req.set_name(&o.file);
        let (h, resp) = self.call(Command::CREATE, 1, |b| req.encode(b))?;
        if h.status != STATUS_SUCCESS {
            return Err(format!("CREATE {} failed: {:#010x}", o.file, h.status));
        }
        let cr = CreateResponse::decode(&resp).map_err(|e| format!("CREATE: {e}"))?;
        self.file_id = cr.file_id;
        self.file_size = cr.end_of_file;
        Ok(())
    }

    /// Binds one more connection, to `addr`, to this connection's session as channel
    /// `index` (1, 2, ...): NEGOTIATE with the same ClientGuid and dialect, then
    /// SESSION_SETUP with SMB2_SESSION_FLAG_BINDING, each leg signed with Session.SigningKey
    /// (MS-SMB2 3.2.4.2.3). The channel's signing key comes from this authentication's session
    /// key and, for 3.1.1, from the pre-auth hash of this connection's NEGOTIATE and binding
    /// legs (3.2.5.3.1); the server signs its final response with it, which is checked. The
    /// new connection uses the session's tree and open; with encryption it seals with the
    /// session's keys and its own nonces (a counter range of its own).
    pub fn bind(&self, o: &ConnectOpts, addr: &str, index: usize) -> Result<Conn, String> {
        if self.dialect < 0x0300 {
            return Err("multichannel needs dialect 3.x".into());
        }
        let session_signer = self
            .session_signer
            .clone()
            .ok_or("the session has no signing key to bind channels with")?;
        let mut c = Conn::open(addr, self.client_guid)?;
        let Negotiated {
            mut preauth,
            cipher,
            signing_alg,
            must_sign,
        } = c.negotiate(o)?;
        if c.dialect != self.dialect || cipher != self.cipher {
            return Err(format!(
                "channel {index} ({addr}) negotiated dialect {:#06x} / cipher {cipher:?}, the session {:#06x} / {:?}",
                c.dialect, self.dialect, self.cipher
            ));
        }
        let mut ntlm = crate::ntlm::client(&o.user, &o.password, o.spnego);
        let mut blob = ntlm.first();
        let mut session_key = None;
        c.session_id = self.session_id;
        c.signer = Some(session_signer);
        loop {
            let req = SessionSetupRequest {
                flags: SMB2_SESSION_FLAG_BINDING,
                security_mode: if must_sign { 2 } else { 1 },
                capabilities: 0,
                channel: 0,
                previous_session_id: 0,
                security_buffer: Bytes::from(std::mem::take(&mut blob)),
            };
            let msg = c.build(Command::SESSION_SETUP, 0, |b| req.encode(b));
            preauth.update(&msg);
            c.send_plain(&msg)?;
            let (h, resp) = c.recv()?;
            match (h.status, session_key) {
                (STATUS_MORE_PROCESSING_REQUIRED, None) => {
                    preauth.update(&resp);
                    let ss = SessionSetupResponse::decode(&resp)
                        .map_err(|e| format!("SESSION_SETUP (binding): {e}"))?;
                    let (b, key) = ntlm.second(&ss.security_buffer)?;
                    blob = b;
                    session_key = Some(key);
                }
                (STATUS_SUCCESS, Some(key)) => {
                    let alg = SigningAlgorithm::for_dialect(c.dialect, signing_alg);
                    let channel_key =
                        rsmbd::crypto::derive_signing_key(c.dialect, &key, preauth.value());
                    let signer = Signer::new(alg, &channel_key);
                    if h.flags & flags::SIGNED == 0 || !signer.verify(&resp) {
                        return Err(format!(
                            "channel {index} ({addr}): the binding response is not signed with the channel's key"
                        ));
                    }
                    c.signer = must_sign.then_some(signer);
                    break;
                }
                (s, _) => {
                    return Err(format!(
                        "SESSION_SETUP binding channel {index} ({addr}) failed: {s:#010x}"
                    ))
                }
            }
        }
        if let (Some((c2s, s2c)), Some(cipher)) = (&self.cipher_keys, self.cipher) {
            let mut salt = [0u8; 4];
            getrandom::getrandom(&mut salt).map_err(|e| e.to_string())?;
            c.crypt = Some(Crypt {
                seal: Sealer::try_new(cipher, c2s).map_err(|e| format!("{e:?}"))?,
                open: Sealer::try_new(cipher, s2c).map_err(|e| format!("{e:?}"))?,
                nonces: NonceGenerator::with_salt(cipher, salt, (index as u64) << 48),
            });
            c.signer = None;
        }
        c.tree_id = self.tree_id;
        c.file_id = self.file_id;
        c.file_size = self.file_size;
        Ok(c)
    }

    fn enable_encryption(
        &mut self,
        cipher: Option<Cipher>,
        c2s: &[u8],
        s2c: &[u8],
    ) -> Result<(), String> {
        let cipher = cipher.ok_or("encryption needed but no cipher was negotiated")?;
        self.crypt = Some(Crypt {
            seal: Sealer::try_new(cipher, c2s).map_err(|e| format!("{e:?}"))?,
            open: Sealer::try_new(cipher, s2c).map_err(|e| format!("{e:?}"))?,
            nonces: NonceGenerator::new(cipher),
        });
        self.signer = None;
        Ok(())
    }

    /// Writes data to the file until it is `size` bytes long (fills from its current end),
    /// with writes of up to 1 MiB, each waited for.
    pub fn fill_to(&mut self, size: u64) -> Result<(), String> {
        let chunk = self.max_write.clamp(65536, 1 << 20);
        let pattern: Vec<u8> = (0..chunk).map(|i| (i * 7 + 13) as u8).collect();
        let mut at = self.file_size;
        while at < size {
            let len = chunk.min((size - at) as u32);
            let req = WriteRequest {
                offset: at,
                file_id: self.file_id,
                channel: Channel::NONE,
                remaining_bytes: 0,
                flags: 0,
                data: Bytes::copy_from_slice(&pattern[..len as usize]),
                write_channel_info: Bytes::new(),
            };
            let charge = credit_charge(self.large_mtu, len);
            let (h, _) = self.call(Command::WRITE, charge, |b| req.encode(b))?;
            if h.status != STATUS_SUCCESS {
                return Err(format!("WRITE at {at} failed: {:#010x}", h.status));
            }
            at += len as u64;
        }
        self.file_size = self.file_size.max(size);
        let req = SetInfoRequest {
            info_type: InfoType::FILE,
            file_info_class: FILE_END_OF_FILE_INFORMATION,
            buffer: Bytes::copy_from_slice(&self.file_size.to_le_bytes()),
            additional_information: 0,
            file_id: self.file_id,
        };
        let (h, _) = self.call(Command::SET_INFO, 1, |b| req.encode(b))?;
        if h.status != STATUS_SUCCESS {
            return Err(format!("SET_INFO EndOfFile failed: {:#010x}", h.status));
        }
        Ok(())
    }

    /// A request message: header for `command` with the next MessageId, then the body.
    fn build(
        &mut self,
        command: Command,
        charge: u16,
        body: impl FnOnce(&mut BytesMut),
    ) -> Vec<u8> {
        let charge = charge.max(1);
        let mut out = BytesMut::with_capacity(256);
        Header {
            credit_charge: if self.dialect == 0 { 0 } else { charge },
            status: 0,
            command,
            credits: SETUP_CREDIT_REQUEST,
            flags: if self.signer.is_some() {
                flags::SIGNED
            } else {
                0
            },
            next_command: 0,
            message_id: self.next_mid,
            async_id: 0,
            process_id: 0xFEFF,
            tree_id: self.tree_id,
            session_id: self.session_id,
            signature: [0; 16],
        }
        .encode(&mut out);
        body(&mut out);
        self.next_mid += charge as u64;
        self.credits = self.credits.saturating_sub(charge as u32);
        let mut v = out.to_vec();
        if let Some(s) = &self.signer {
            s.sign(&mut v);
        }
        v
    }

    /// Sends one request (sealed when encryption is on) and returns its final response.
    pub fn call(
        &mut self,
        command: Command,
        charge: u16,
        body: impl FnOnce(&mut BytesMut),
    ) -> Result<(Header, Bytes), String> {
        let msg = self.build(command, charge, body);
        if let Some(c) = &self.crypt {
            let nonce = c.nonces.next().ok_or("nonces exhausted")?;
            let mut sealed = Vec::with_capacity(msg.len() + 52);
            rsmbd::crypto::try_seal_message(&c.seal, &nonce, self.session_id, &msg, &mut sealed)
                .map_err(|e| format!("{e:?}"))?;
            self.send_plain(&sealed)?;
        } else {
            self.send_plain(&msg)?;
        }
        self.recv()
    }

    fn send_plain(&mut self, msg: &[u8]) -> Result<(), String> {
        let len = msg.len() as u32;
        let mut frame = Vec::with_capacity(msg.len() + 4);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(msg);
        self.sock
            .write_all(&frame)
            .map_err(|e| format!("send: {e}"))
    }

    /// Reads the next final response (interim STATUS_PENDING responses are skipped).
    fn recv(&mut self) -> Result<(Header, Bytes), String> {
        loop {
            let mut nb = [0u8; 4];
            self.sock
                .read_exact(&mut nb)
                .map_err(|e| format!("receive: {e}"))?;
            let len = (u32::from_be_bytes(nb) & 0x00FF_FFFF) as usize;
            let mut buf = vec![0u8; len];
            self.sock
                .read_exact(&mut buf)
                .map_err(|e| format!("receive: {e}"))?;
            if buf.starts_with(&[0xFD, b'S', b'M', b'B']) {
                let c = self
                    .crypt
                    .as_ref()
                    .ok_or("encrypted response without a key")?;
                let (_, range) =
                    unseal_message(&c.open, &mut buf).map_err(|e| format!("decrypt: {e}"))?;
                buf = buf[range].to_vec();
            }
            let msg = Bytes::from(buf);
            let h = Header::decode(&msg).map_err(|e| format!("response header: {e}"))?;
            self.credits += h.credits as u32;
            if h.status == STATUS_PENDING && h.flags & flags::ASYNC_COMMAND != 0 {
                continue;
            }
            if msg.len() < HEADER_LEN {
                return Err("short response".into());
            }
            return Ok((h, msg));
        }
    }
}
