//! The client side of NTLMv2 (MS-NLMP 3.1.5, 3.3.2), raw or wrapped in SPNEGO (RFC 4178,
//! MS-SPNG 3.3.5.1), built on the same message codecs and one-way functions the server uses.
//!
//! rsmbd serves and never authenticates to anyone; this exists for the programs that drive
//! it: the benchmark client (`tools/bench`) and the authenticator's own tests, which set the
//! public knobs (flags, MIC, domains, fixed random values) to build the exchanges they check.

use super::ntlm::{direction_keys, hmac_md5, nt_hash, nt_proof_str, ntowfv2, rc4, sign};
use super::ntlm_messages::*;
use super::spnego::{
    decode_negotiation_token, NegTokenInit, NegTokenResp, NegotiationToken, OID_NTLMSSP,
};

/// Flags of the NEGOTIATE_MESSAGE by default: NTLMv2 with extended session security and a
/// 128-bit exchanged session key, as Windows clients send.
pub const CLIENT_FLAGS: u32 = NTLMSSP_NEGOTIATE_UNICODE
    | NTLMSSP_REQUEST_TARGET
    | NTLMSSP_NEGOTIATE_SIGN
    | NTLMSSP_NEGOTIATE_NTLM
    | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
    | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NTLMSSP_NEGOTIATE_TARGET_INFO
    | NTLMSSP_NEGOTIATE_VERSION
    | NTLMSSP_NEGOTIATE_128
    | NTLMSSP_NEGOTIATE_KEY_EXCH
    | NTLMSSP_NEGOTIATE_56;

/// The VERSION field sent (Windows 10, NTLMSSP revision 15).
const CLIENT_VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, NTLMSSP_REVISION_W2K3];

/// One NTLM authentication in progress.
#[derive(Clone, Debug)]
pub struct NtlmClient {
    /// User name sent in the AUTHENTICATE message.
    pub user: String,
    /// Domain sent in the AUTHENTICATE message.
    pub domain: String,
    /// Domain the NTOWFv2 key is computed with (normally `domain`).
    pub key_domain: String,
    /// Workstation name sent.
    pub workstation: String,
    /// NEGOTIATE flags.
    pub flags: u32,
    /// Send a MIC (MS-NLMP 3.1.5.1.2) when the server's CHALLENGE carries a timestamp.
    pub with_mic: bool,
    /// With SPNEGO ([`NtlmClient::first`]/[`NtlmClient::second`]): send a mechListMIC.
    pub with_mech_list_mic: bool,
    /// Wrap the messages in SPNEGO in [`NtlmClient::first`] and [`NtlmClient::second`].
    pub spnego: bool,
    /// Fixed client challenge and exported session key instead of random ones (tests).
    pub fixed_random: Option<([u8; 8], [u8; 16])>,
    password: String,
    negotiate: Vec<u8>,
    mech_types_der: Vec<u8>,
    exported: [u8; 16],
    final_flags: u32,
}

impl NtlmClient {
    /// A client for `user` (optionally `DOMAIN\user`) and `password`, raw NTLMSSP.
    pub fn new(user: &str, password: &str) -> NtlmClient {
        let (domain, user) = match user.split_once(['\\', '/']) {
            Some((d, u)) => (d.to_string(), u.to_string()),
            None => (String::new(), user.to_string()),
        };
        NtlmClient {
            user,
            key_domain: domain.clone(),
            domain,
            workstation: "RSMBD-CLIENT".into(),
            flags: CLIENT_FLAGS,
            with_mic: true,
            with_mech_list_mic: true,
            spnego: false,
            fixed_random: None,
            password: password.to_string(),
            negotiate: Vec::new(),
            mech_types_der: Vec::new(),
            exported: [0; 16],
            final_flags: 0,
        }
    }

    /// The raw NEGOTIATE_MESSAGE.
    pub fn negotiate(&mut self) -> Vec<u8> {
        self.negotiate = NegotiateMessage {
            negotiate_flags: self.flags,
            domain_name: vec![],
            workstation_name: vec![],
            version: Some(CLIENT_VERSION),
        }
        .encode();
        self.negotiate.clone()
    }

    /// Uses `raw` as the NEGOTIATE_MESSAGE the MIC covers, for a NEGOTIATE built elsewhere
    /// (a test sending another client's bytes).
    pub fn set_negotiate(&mut self, raw: Vec<u8>) {
        self.negotiate = raw;
    }

    /// The raw AUTHENTICATE_MESSAGE answering the raw CHALLENGE_MESSAGE `challenge_raw`.
    pub fn authenticate(&mut self, challenge_raw: &[u8]) -> Result<Vec<u8>, String> {
        let chal = ChallengeMessage::decode(challenge_raw).map_err(|e| e.to_string())?;
        let flags = chal.negotiate_flags;
        let mut pairs = decode_av_pairs(&chal.target_info).map_err(|e| e.to_string())?;
        let server_time = pairs
            .iter()
            .find(|p| p.av_id == MSV_AV_TIMESTAMP)
            .map(|p| p.value.clone());
        let with_mic = self.with_mic && server_time.is_some();
        let timestamp = server_time.unwrap_or_else(|| filetime_now().to_le_bytes().to_vec());
        if with_mic {
            pairs.push(AvPair {
                av_id: MSV_AV_FLAGS,
                value: MSV_AV_FLAG_MIC_PRESENT.to_le_bytes().to_vec(),
            });
        }
        let (client_challenge, random_key) = match self.fixed_random {
            Some(r) => r,
            None => {
                let mut c = [0u8; 8];
                let mut k = [0u8; 16];
                getrandom::getrandom(&mut c).map_err(|e| e.to_string())?;
                getrandom::getrandom(&mut k).map_err(|e| e.to_string())?;
                (c, k)
            }
        };
        let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0];
        temp.extend_from_slice(&timestamp);
        temp.extend_from_slice(&client_challenge);
        temp.extend_from_slice(&[0; 4]);
        temp.extend(encode_av_pairs(&pairs));
        temp.extend_from_slice(&[0; 4]);
        let key = ntowfv2(&nt_hash(&self.password), &self.user, &self.key_domain);
        let proof = nt_proof_str(&key, &chal.server_challenge, &temp);
        let mut nt = proof.to_vec();
        nt.extend_from_slice(&temp);
        let base = hmac_md5(&key, &[&proof]);
        let mut encrypted_key = Vec::new();
        self.exported = base;
        if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
            self.exported = random_key;
            let mut e = random_key;
            rc4(&base, &mut e);
            encrypted_key = e.to_vec();
        }
        self.final_flags = flags;
        let msg = AuthenticateMessage {
            lm_challenge_response: vec![0; 24],
            nt_challenge_response: nt,
            domain_name: utf16le(&self.domain),
            user_name: utf16le(&self.user),
            workstation: utf16le(&self.workstation),
            encrypted_random_session_key: encrypted_key,
            negotiate_flags: flags,
            version: Some(CLIENT_VERSION),
            mic: with_mic.then_some([0; 16]),
        };
        let mut raw = msg.encode();
        if with_mic {
            let mic = hmac_md5(&self.exported, &[&self.negotiate, challenge_raw, &raw]);
            raw[MIC_OFFSET..MIC_OFFSET + MIC_SIZE].copy_from_slice(&mic);
        }
        Ok(raw)
    }

    /// The exported session key of the last [`NtlmClient::authenticate`] (the GSS session
    /// key SMB2 derives its keys from).
    pub fn exported(&self) -> [u8; 16] {
        self.exported
    }

    /// The client's mechListMIC over a DER MechTypeList (MS-SPNG 3.3.5.1).
    pub fn mech_list_mic(&self, mech_types_der: &[u8]) -> Vec<u8> {
        let keys = direction_keys(&self.exported, self.final_flags, true);
        sign(&keys, self.final_flags, 0, mech_types_der).to_vec()
    }

    /// The mechListMIC the server must answer with.
    pub fn expected_server_mic(&self, mech_types_der: &[u8]) -> Vec<u8> {
        let keys = direction_keys(&self.exported, self.final_flags, false);
        sign(&keys, self.final_flags, 0, mech_types_der).to_vec()
    }

    /// The first security blob: the NEGOTIATE_MESSAGE, in a NegTokenInit with SPNEGO.
    pub fn first(&mut self) -> Vec<u8> {
        let negotiate = self.negotiate();
        if self.spnego {
            let init = NegTokenInit::new(vec![OID_NTLMSSP.to_vec()], Some(negotiate));
            self.mech_types_der = init.mech_types_der.clone();
            init.encode()
        } else {
            negotiate
        }
    }

    /// Answers the server's CHALLENGE blob (raw or SPNEGO as [`NtlmClient::first`] sent):
    /// returns the AUTHENTICATE blob and the exported session key.
    pub fn second(&mut self, server_blob: &[u8]) -> Result<(Vec<u8>, [u8; 16]), String> {
        if !self.spnego {
            let raw = self.authenticate(server_blob)?;
            return Ok((raw, self.exported));
        }
        let challenge_raw =
            match decode_negotiation_token(server_blob).map_err(|e| format!("SPNEGO: {}", e.0))? {
                NegotiationToken::Resp(r) => r
                    .response_token
                    .ok_or("SPNEGO reply without a responseToken")?,
                _ => return Err("SPNEGO reply is not a NegTokenResp".into()),
            };
        let raw = self.authenticate(&challenge_raw)?;
        let blob = NegTokenResp {
            response_token: Some(raw),
            mech_list_mic: self
                .with_mech_list_mic
                .then(|| self.mech_list_mic(&self.mech_types_der)),
            ..Default::default()
        }
        .encode();
        Ok((blob, self.exported))
    }
}
