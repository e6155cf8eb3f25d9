//! Transform-header known answers (Microsoft Open Specifications blog posts
//! "Encryption in SMB 3.0: A protocol perspective" and "SMB 3.1.1 Encryption
//! in Windows 10") and property tests for the decoders.

use proptest::prelude::*;

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

fn nonce16(s: &str) -> [u8; 16] {
    let mut n = [0u8; 16];
    let v = h(s);
    n[..v.len()].copy_from_slice(&v);
    n
}

/// WRITE request (client to server), SMB 3.0, AES-128-CCM.
const REQ30_PLAIN: &str = "FE534D4240000100000000000900400008000000000000000400000000000000\
    FFFE0000010000001100001400E4080000000000000000000000000000000000\
    3100700017000000000000000000000015010000390000020100000039020000\
    00000000000000007000000000000000536D623320656E6372797074696F6E20\
    74657374696E67";
const REQ30_SEALED: &str = "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A\
    744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5\
    2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4\
    4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5\
    AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6\
    C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB";
/// WRITE response (server to client), SMB 3.0, AES-128-CCM.
const RESP30_SEALED: &str = "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014\
    00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079\
    E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787\
    1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1\
    77309E5B";
const RESP30_PLAIN: &str = "FE534D4240000100000000000900210009000000000000000400000000000000\
    FFFE0000010000001100001400E4080000000000000000000000000000000000\
    11000000170000000000000000000000";

const PREAUTH_311_ENC: &str = "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB\
    A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770";
/// WRITE request, SMB 3.1.1, AES-128-GCM.
const REQ311_PLAIN: &str =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000\
    25000000001000000000000000000000000000000000000031007000170000000000000000000000\
    0600000004000000010000000400000000000000000000007000000000000000536D623320656E63\
    72797074696F6E2074657374696E67";
const REQ311_SEALED: &str =
    "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000\
    0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02\
    D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4\
    4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9\
    1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8";
/// WRITE response, SMB 3.1.1, AES-128-GCM.
const RESP311_SEALED: &str =
    "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000\
    00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8\
    F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B\
    82E03C9E18A050FF0EA1C967";
const RESP311_PLAIN: &str =
    "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000\
    25000000001000000000000000000000000000000000000011000000170000000000000000000000";

struct Vector {
    keys: SessionKeys,
    cipher: Cipher,
    session_id: u64,
}

fn smb30() -> Vector {
    let sk: [u8; 16] = h("B4546771B515F766A86735532DD6C4F0")
        .try_into()
        .expect("16");
    let keys = derive_session_keys(0x0300, &sk, &[0u8; 64], None);
    assert_eq!(keys.decryption, h("261B72350558F2E9DCF613070383EDBF"));
    assert_eq!(keys.encryption, h("8FE2B57EC34D2DB5B1A9727F526BBDB5"));
    Vector {
        keys,
        cipher: Cipher::Aes128Ccm,
        session_id: 0x8E40014000011,
    }
}

fn smb311() -> Vector {
    let sk: [u8; 16] = h("419FDDF34C1E001909D362AE7FB6AF79")
        .try_into()
        .expect("16");
    let preauth: [u8; 64] = h(PREAUTH_311_ENC).try_into().expect("64");
    let keys = derive_session_keys(0x0311, &sk, &preauth, Some(Cipher::Aes128Gcm));
    assert_eq!(keys.decryption, h("A2F5E80E5D59103034F32E52F698E5EC"));
    assert_eq!(keys.encryption, h("748C50868C90F302962A5C35F5F9A8BF"));
    Vector {
        keys,
        cipher: Cipher::Aes128Gcm,
        session_id: 0x100000000025,
    }
}

fn check_vector(
    v: &Vector,
    req_plain: &str,
    req_sealed: &str,
    resp_plain: &str,
    resp_sealed: &str,
) {
    let dec = Sealer::new(v.cipher, &v.keys.decryption);
    let enc = Sealer::new(v.cipher, &v.keys.encryption);
    // Server side: decrypt the client's request.
    let mut msg = h(req_sealed);
    assert_eq!(transform_session_id(&msg), Some(v.session_id));
    let (sid, range) = unseal_message(&dec, &mut msg).expect("unseal request");
    assert_eq!(sid, v.session_id);
    assert_eq!(msg[range], h(req_plain)[..]);
    // Reproduce the client's sealing byte for byte (same key, same nonce).
    let sealed = h(req_sealed);
    let mut out = vec![0xAA];
    seal_message(
        &dec,
        &nonce16(&req_sealed[40..72]),
        v.session_id,
        &h(req_plain),
        &mut out,
    );
    assert_eq!(out[0], 0xAA);
    assert_eq!(out[1..], sealed[..]);
    // Server side: produce the response exactly as Windows did.
    let resp = h(resp_sealed);
    let mut out = Vec::new();
    seal_message(
        &enc,
        &nonce16(&resp_sealed[40..72]),
        v.session_id,
        &h(resp_plain),
        &mut out,
    );
    assert_eq!(out, resp);
    let mut msg = resp.clone();
    let (_, range) = unseal_message(&enc, &mut msg).expect("unseal response");
    assert_eq!(msg[range], h(resp_plain)[..]);
    // Wrong direction key fails.
    let mut msg = resp;
    assert_eq!(
        unseal_message(&dec, &mut msg),
        Err(DecryptError::AuthenticationFailed)
    );
}

#[test]
fn smb30_ccm_transform_known_answer() {
    check_vector(
        &smb30(),
        REQ30_PLAIN,
        REQ30_SEALED,
        RESP30_PLAIN,
        RESP30_SEALED,
    );
}

#[test]
fn smb311_gcm_transform_known_answer() {
    check_vector(
        &smb311(),
        REQ311_PLAIN,
        REQ311_SEALED,
        RESP311_PLAIN,
        RESP311_SEALED,
    );
}

#[test]
fn unseal_rejects_bad_headers() {
    let v = smb311();
    let dec = Sealer::new(v.cipher, &v.keys.decryption);
    let good = h(REQ311_SEALED);
    let mut m = good[..52].to_vec();
    assert_eq!(unseal_message(&dec, &mut m), Err(DecryptError::TooShort));
    let mut m = good.clone();
    m[0] = 0xFE;
    assert_eq!(
        unseal_message(&dec, &mut m),
        Err(DecryptError::BadProtocolId)
    );
    assert_eq!(transform_session_id(&m), None);
    let mut m = good.clone();
    m[42] = 2;
    assert_eq!(unseal_message(&dec, &mut m), Err(DecryptError::BadFlags(2)));
    let mut m = good.clone();
    m.push(0);
    assert_eq!(
        unseal_message(&dec, &mut m),
        Err(DecryptError::SizeMismatch)
    );
    let mut m = good.clone();
    m[36] ^= 1;
    assert_eq!(
        unseal_message(&dec, &mut m),
        Err(DecryptError::SizeMismatch)
    );
    // Header fields covered by the AAD: nonce, reserved, session id.
    for pos in [20usize, 35, 40, 44, 51, 4, 60, good.len() - 1] {
        let mut m = good.clone();
        m[pos] ^= 0x10;
        assert_eq!(
            unseal_message(&dec, &mut m),
            Err(DecryptError::AuthenticationFailed),
            "{pos}"
        );
        assert!(m[52..].iter().all(|&b| b == 0));
    }
    assert_eq!(transform_session_id(&good[..51]), None);
}

#[test]
fn seal_unseal_round_trip_all_ciphers() {
    for c in [
        Cipher::Aes128Ccm,
        Cipher::Aes128Gcm,
        Cipher::Aes256Ccm,
        Cipher::Aes256Gcm,
    ] {
        let key = vec![0x33u8; c.key_len()];
        let sealer = Sealer::new(c, &key);
        let gen = NonceGenerator::new(c);
        let plain: Vec<u8> = (0..8256u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        seal_message(&sealer, &gen.next().expect("nonce"), 77, &plain, &mut out);
        assert_eq!(out.len(), TRANSFORM_HEADER_LEN + plain.len());
        assert_eq!(out[..4], TRANSFORM_PROTOCOL_ID);
        assert_eq!(out[42..44], SMB2_TRANSFORM_FLAG_ENCRYPTED.to_le_bytes());
        let (sid, range) = unseal_message(&sealer, &mut out).expect("unseal");
        assert_eq!((sid, &out[range]), (77, &plain[..]));
        // The same plaintext in pieces seals to the same bytes.
        let nonce = gen.next().expect("nonce");
        let (mut whole, mut parts) = (Vec::new(), Vec::new());
        seal_message(&sealer, &nonce, 78, &plain, &mut whole);
        let pieces = [&plain[..80], &plain[80..81], &[][..], &plain[81..]];
        crate::crypto::transform::try_seal_parts(&sealer, &nonce, 78, &pieces, &mut parts)
            .expect("seal parts");
        assert_eq!(whole, parts);
    }
}

fn any_cipher() -> impl Strategy<Value = Cipher> {
    prop_oneof![
        Just(Cipher::Aes128Ccm),
        Just(Cipher::Aes128Gcm),
        Just(Cipher::Aes256Ccm),
        Just(Cipher::Aes256Gcm)
    ]
}

proptest! {
    #[test]
    fn unseal_arbitrary_bytes_never_panics(c in any_cipher(), mut bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let sealer = Sealer::new(c, &vec![1u8; c.key_len()]);
        let _ = transform_session_id(&bytes);
        prop_assert!(unseal_message(&sealer, &mut bytes).is_err());
    }

    #[test]
    fn unseal_well_formed_garbage_is_rejected(c in any_cipher(), body in proptest::collection::vec(any::<u8>(), 1..300), head in proptest::collection::vec(any::<u8>(), 52)) {
        let sealer = Sealer::new(c, &vec![2u8; c.key_len()]);
        let mut msg = head;
        msg[..4].copy_from_slice(&TRANSFORM_PROTOCOL_ID);
        msg[36..40].copy_from_slice(&(body.len() as u32).to_le_bytes());
        msg[42..44].copy_from_slice(&1u16.to_le_bytes());
        msg.extend_from_slice(&body);
        prop_assert_eq!(unseal_message(&sealer, &mut msg), Err(DecryptError::AuthenticationFailed));
    }

    #[test]
    fn seal_unseal_round_trip(c in any_cipher(), sid in any::<u64>(), nonce in any::<[u8; 16]>(), plain in proptest::collection::vec(any::<u8>(), 1..600)) {
        let sealer = Sealer::new(c, &vec![3u8; c.key_len()]);
        let mut out = Vec::new();
        seal_message(&sealer, &nonce, sid, &plain, &mut out);
        prop_assert_eq!(transform_session_id(&out), Some(sid));
        let (got_sid, range) = unseal_message(&sealer, &mut out).expect("unseal");
        prop_assert_eq!(got_sid, sid);
        prop_assert_eq!(&out[range], &plain[..]);
    }

    #[test]
    fn sign_verify_arbitrary(alg in prop_oneof![Just(SigningAlgorithm::HmacSha256), Just(SigningAlgorithm::AesCmac), Just(SigningAlgorithm::AesGmac)],
                             mut msg in proptest::collection::vec(any::<u8>(), 0..400),
                             flip in any::<usize>()) {
        let signer = Signer::new(alg, &[4u8; 16]);
        let _ = signer.verify(&msg);
        signer.sign(&mut msg);
        prop_assert_eq!(signer.verify(&msg), msg.len() >= 64);
        if !msg.is_empty() {
            let i = flip % msg.len();
            msg[i] ^= 1;
            prop_assert!(!signer.verify(&msg));
        }
    }
}
