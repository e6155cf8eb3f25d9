//! Sending responses (MS-SMB2 3.3.4.1 "Sending Any Outgoing Message"): composing each
//! response header and body ([`Connection::compose`]: credits granted, async and related
//! flags, the error body), choosing its signing key (3.3.4.1.1), chaining a compound's
//! responses with their padding (3.3.4.1.3), signing or sealing them (3.3.4.1.4) and writing
//! them to the transport in one vectored send.
use super::{Connection, Disconnect, OutList, Outgoing, Parts, ReplyRest};
use crate::crypto::{self, Signer};
use crate::server::dispatch::{PreauthTarget, Reply};
use crate::server::session::Session;
use crate::transport::pool;
use crate::wire::header::{flags, offsets};
use crate::wire::{error as wire_error, Header, NtStatus, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;
use std::sync::Arc;

impl Connection {
    /// Builds the response message for one request; returns it with the keys to sign it with.
    pub(super) fn compose(
        &self,
        req: &Header,
        req_msg: &Bytes,
        reply: Reply,
        session: Option<&Arc<Session>>,
        encrypted: bool,
    ) -> Outgoing {
        // The final response of an async operation grants nothing: the interim one did.
        let granted = if req.is_async() && reply.status != NtStatus::PENDING {
            0
        } else {
            self.credits.lock().grant(req.credits)
        };
        let mut h = Header {
            credit_charge: req.credit_charge,
            status: reply.status.0,
            command: req.command,
            credits: granted,
            flags: flags::SERVER_TO_REDIR
                | (req.flags & (flags::RELATED_OPERATIONS | flags::PRIORITY_MASK)),
            next_command: 0,
            message_id: req.message_id,
            async_id: 0,
            process_id: req.process_id,
            tree_id: reply.tree_id.unwrap_or(req.tree_id),
            session_id: reply.session_id.unwrap_or(req.session_id),
            signature: [0; 16],
        };
        if req.is_async() {
            h.flags |= flags::ASYNC_COMMAND;
            h.async_id = req.async_id;
        }
        let mut out = pool::take(HEADER_LEN + reply.body.len() + 8);
        h.encode(&mut out);
        if reply.body.is_empty() {
            wire_error::encode_error_body(&mut out, &[]);
        } else {
            out.extend_from_slice(&reply.body);
        }
        let Reply {
            status,
            body,
            data,
            sign_with,
            preauth,
            ..
        } = reply;
        pool::give(body);
        let reply = ReplyRest {
            status,
            data,
            sign_with,
            preauth,
        };
        match &reply.preauth {
            PreauthTarget::None => {}
            PreauthTarget::Connection => {
                if let Some(n) = self.negotiated.lock().as_mut() {
                    if let Some(p) = n.preauth.as_mut() {
                        p.update(req_msg);
                        p.update(&out);
                    }
                }
            }
            PreauthTarget::Session(s) => s.state.lock().preauth.update(&out),
            PreauthTarget::Channel(s) => {
                // The interim response of a binding exchange is signed with Session.SigningKey
                // (the channel has no key yet), and the channel's preauth hash takes it as sent.
                if let Some(keys) = s.secrets() {
                    let f = u32::from_le_bytes(out[16..20].try_into().unwrap_or_default())
                        | flags::SIGNED;
                    out[offsets::FLAGS..offsets::FLAGS + 4].copy_from_slice(&f.to_le_bytes());
                    keys.signer.sign(&mut out);
                }
                if let Some(p) = s
                    .channels
                    .lock()
                    .get_mut(&self.id)
                    .and_then(|c| c.preauth.as_mut())
                {
                    p.update(&out);
                }
            }
        }
        let signer = if let Some(keys) = reply.sign_with {
            Some(keys)
        } else if encrypted || matches!(reply.preauth, PreauthTarget::Channel(_)) {
            // An interim binding response was signed above, before it went into the
            // channel's preauth hash.
            None
        } else {
            session.and_then(|s| self.response_signer(req, s, reply.status))
        };
        Outgoing {
            msg: out,
            data: reply.data,
            signer,
        }
    }

    /// The key a response is signed with (MS-SMB2 3.3.4.1.1): the Channel.SigningKey of this
    /// connection when the request was signed or the session requires signing. A signed request
    /// this connection has no channel for (a binding SESSION_SETUP, a rejected binding, a
    /// session of another connection answered with STATUS_USER_SESSION_DELETED) is answered
    /// signed with Session.SigningKey, so the client can trust the error.
    pub(super) fn response_signer(
        &self,
        req: &Header,
        s: &Arc<Session>,
        status: NtStatus,
    ) -> Option<Arc<Signer>> {
        let required = s
            .signing_required
            .load(std::sync::atomic::Ordering::Relaxed);
        if !req.is_signed() && (!required || status == NtStatus::USER_SESSION_DELETED) {
            return None;
        }
        if let Some(k) = s.channel_signer(self.id) {
            return Some(k);
        }
        if req.is_signed() {
            return s.secrets().map(|k| k.signer.clone());
        }
        None
    }

    /// Chains, signs, seals and sends the responses of one frame (messages without separate
    /// data, each signed with its key if any).
    pub(crate) async fn send_responses(
        &self,
        out: Vec<BytesMut>,
        sign_with: Vec<Option<Arc<Signer>>>,
        encrypted: Option<Arc<Session>>,
    ) -> Result<(), Disconnect> {
        let out = out
            .into_iter()
            .zip(sign_with)
            .map(|(msg, signer)| Outgoing {
                msg,
                data: Bytes::new(),
                signer,
            })
            .collect::<OutList>();
        self.send_outgoing(out, encrypted).await
    }

    /// Chains, signs, seals and sends the responses of one frame. A lone response's data
    /// (a READ's) stays in its own buffer: it is signed and written from there, and copied
    /// only into the one buffer that is encrypted in place.
    pub(super) async fn send_outgoing(
        &self,
        mut out: OutList,
        encrypted: Option<Arc<Session>>,
    ) -> Result<(), Disconnect> {
        let n = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            if n > 1 && !o.data.is_empty() {
                // Chained responses are padded after their data: join the two.
                o.msg.extend_from_slice(&o.data);
                o.data = Bytes::new();
            }
            let msg = &mut o.msg;
            if n > 1 {
                // Every response of a compound chain is padded to 8 bytes, the last included
                // (as Windows and Samba do; smb2.compound.compound-padding).
                while msg.len() % 8 != 0 {
                    msg.extend_from_slice(&[0]);
                }
            }
            if i + 1 < n {
                let next = (msg.len() as u32).to_le_bytes();
                msg[offsets::NEXT_COMMAND..offsets::NEXT_COMMAND + 4].copy_from_slice(&next);
            }
            if let Some(keys) = o.signer.take() {
                let f =
                    u32::from_le_bytes(msg[16..20].try_into().unwrap_or_default()) | flags::SIGNED;
                msg[offsets::FLAGS..offsets::FLAGS + 4].copy_from_slice(&f.to_le_bytes());
                if o.data.is_empty() {
                    keys.sign(msg);
                } else if !keys.sign_with_data(msg, &o.data) {
                    msg.extend_from_slice(&o.data);
                    o.data = Bytes::new();
                    keys.sign(msg);
                }
            }
        }
        let parts: Parts = if let Some(session) = encrypted {
            let secrets = session.secrets().ok_or(Disconnect("keys vanished"))?;
            let (Some(enc), Some(nonces)) = (secrets.encryptor.as_ref(), secrets.nonces.as_ref())
            else {
                return Err(Disconnect("no encryption key"));
            };
            let mut plain: SmallVec<[&[u8]; 2]> = SmallVec::with_capacity(2 * out.len());
            for o in &out {
                plain.push(&o.msg);
                plain.push(&o.data);
            }
            let len: usize = plain.iter().map(|p| p.len()).sum();
            let nonce = nonces.next().ok_or(Disconnect("nonces exhausted"))?;
            let mut sealed = pool::take(crypto::transform::TRANSFORM_HEADER_LEN + len);
            crypto::transform::try_seal_parts_into(enc, &nonce, session.id, &plain, &mut sealed)
                .map_err(|_| Disconnect("encryption failed"))?;
            drop(plain);
            for o in out {
                pool::give(o.msg);
                pool::give_bytes(o.data);
            }
            smallvec::smallvec![sealed.freeze()]
        } else {
            let mut parts = Parts::with_capacity(2 * out.len());
            for o in out {
                parts.push(o.msg.freeze());
                if !o.data.is_empty() {
                    parts.push(o.data);
                }
            }
            parts
        };
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.info.stats.add_out(len as u64);
        let rest = self.writer.send_now(&parts);
        if let Some(rest) = rest {
            rest.await.map_err(|_| Disconnect("send failed"))?;
        }
        // Sent: the buffers go back to the pool (those still referenced elsewhere do not).
        for p in parts {
            pool::give_bytes(p);
        }
        Ok(())
    }
}
