//! The client side of NTLMv2 (MS-NLMP 3.1.5, 3.3.2), raw or wrapped in SPNEGO (RFC 4178),
//! built on the message codecs and one-way functions of `rsmbd::auth`.

use hmac::{Hmac, Mac};
use md5::Md5;
use rc4::{consts::U16, KeyInit, Rc4, StreamCipher};
use rsmbd::auth::ntlm::{direction_keys, nt_hash, nt_proof_str, ntowfv2, sign};
use rsmbd::auth::ntlm_messages::*;
use rsmbd::auth::spnego::{
    decode_negotiation_token, NegTokenInit, NegTokenResp, NegotiationToken, OID_NTLMSSP,
};

/// Flags of our NEGOTIATE_MESSAGE: NTLMv2 with extended session security and a 128-bit
/// exchanged session key, as Windows clients send.
const CLIENT_FLAGS: u32 = NTLMSSP_NEGOTIATE_UNICODE
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

const CLIENT_VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, NTLMSSP_REVISION_W2K3];

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// One NTLM authentication in progress.
pub struct NtlmClient {
    user: String,
    domain: String,
    password: String,
    spnego: bool,
    negotiate: Vec<u8>,
    mech_types_der: Vec<u8>,
}

impl NtlmClient {
    /// A client for `user` (optionally `DOMAIN\user`) and `password`.
    pub fn new(user: &str, password: &str, spnego: bool) -> NtlmClient {
        let (domain, user) = match user.split_once(['\\', '/']) {
            Some((d, u)) => (d.to_string(), u.to_string()),
            None => (String::new(), user.to_string()),
        };
        NtlmClient {
            user,
            domain,
            password: password.to_string(),
            spnego,
            negotiate: Vec::new(),
            mech_types_der: Vec::new(),
        }
    }

    /// The first security blob (NEGOTIATE_MESSAGE, in a NegTokenInit with SPNEGO).
    pub fn first(&mut self) -> Vec<u8> {
        self.negotiate = NegotiateMessage {
            negotiate_flags: CLIENT_FLAGS,
            domain_name: vec![],
            workstation_name: vec![],
            version: Some(CLIENT_VERSION),
        }
        .encode();
        if self.spnego {
            let init = NegTokenInit::new(vec![OID_NTLMSSP.to_vec()], Some(self.negotiate.clone()));
            self.mech_types_der = init.mech_types_der.clone();
            init.encode()
        } else {
            self.negotiate.clone()
        }
    }

    /// Answers the server's CHALLENGE blob: returns the AUTHENTICATE blob and the exported
    /// session key (the GSS session key SMB2 derives its keys from).
    pub fn second(&mut self, server_blob: &[u8]) -> Result<(Vec<u8>, [u8; 16]), String> {
        let challenge_raw = if self.spnego {
            match decode_negotiation_token(server_blob).map_err(|e| format!("SPNEGO: {}", e.0))? {
                NegotiationToken::Resp(r) => r
                    .response_token
                    .ok_or("SPNEGO reply without a responseToken")?,
                _ => return Err("SPNEGO reply is not a NegTokenResp".into()),
            }
        } else {
            server_blob.to_vec()
        };
        let chal = ChallengeMessage::decode(&challenge_raw).map_err(|e| e.to_string())?;
        let flags = chal.negotiate_flags;
        let mut pairs = decode_av_pairs(&chal.target_info).map_err(|e| e.to_string())?;
        let timestamp = pairs
            .iter()
            .find(|p| p.av_id == MSV_AV_TIMESTAMP)
            .map(|p| p.value.clone())
            .unwrap_or_else(|| filetime_now().to_le_bytes().to_vec());
        // A MIC is sent (and announced) whenever the server sent a timestamp (MS-NLMP 3.1.5.1.2).
        let with_mic = pairs.iter().any(|p| p.av_id == MSV_AV_TIMESTAMP);
        if with_mic {
            pairs.push(AvPair {
                av_id: MSV_AV_FLAGS,
                value: MSV_AV_FLAG_MIC_PRESENT.to_le_bytes().to_vec(),
            });
        }
        let mut client_challenge = [0u8; 8];
        getrandom::getrandom(&mut client_challenge).map_err(|e| e.to_string())?;
        let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0];
        temp.extend_from_slice(&timestamp);
        temp.extend_from_slice(&client_challenge);
        temp.extend_from_slice(&[0; 4]);
        temp.extend(encode_av_pairs(&pairs));
        temp.extend_from_slice(&[0; 4]);
        let key = ntowfv2(&nt_hash(&self.password), &self.user, &self.domain);
        let proof = nt_proof_str(&key, &chal.server_challenge, &temp);
        let mut nt = proof.to_vec();
        nt.extend_from_slice(&temp);
        let base = hmac_md5(&key, &[&proof]);
        let (exported, encrypted_key) = if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
            let mut exported = [0u8; 16];
            getrandom::getrandom(&mut exported).map_err(|e| e.to_string())?;
            let mut enc = exported;
            Rc4::<U16>::new((&base).into()).apply_keystream(&mut enc);
            (exported, enc.to_vec())
        } else {
            (base, Vec::new())
        };
        let msg = AuthenticateMessage {
            lm_challenge_response: vec![0; 24],
            nt_challenge_response: nt,
            domain_name: utf16le(&self.domain),
            user_name: utf16le(&self.user),
            workstation: utf16le("RSMBD-BENCH"),
            encrypted_random_session_key: encrypted_key,
            negotiate_flags: flags,
            version: Some(CLIENT_VERSION),
            mic: with_mic.then_some([0; 16]),
        };
        let mut raw = msg.encode();
        if with_mic {
            let mic = hmac_md5(&exported, &[&self.negotiate, &challenge_raw, &raw]);
            raw[MIC_OFFSET..MIC_OFFSET + MIC_SIZE].copy_from_slice(&mic);
        }
        let blob = if self.spnego {
            // The mechListMIC (RFC 4178 5, MS-SPNG 3.3.5.1) protects the mechanism list.
            let keys = direction_keys(&exported, flags, true);
            NegTokenResp {
                response_token: Some(raw),
                mech_list_mic: Some(sign(&keys, flags, 0, &self.mech_types_der).to_vec()),
                ..Default::default()
            }
            .encode()
        } else {
            raw
        };
        Ok((blob, exported))
    }
}
