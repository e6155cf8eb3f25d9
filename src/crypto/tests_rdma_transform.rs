//! Tests of the RDMA payload transform: known answers, round trips, tamper detection and the
//! end-to-end path through the SMB2_RDMA_TRANSFORM wire codec.
use super::*;
use crate::crypto::seal::Cipher;
use crate::crypto::NonceGenerator;
use crate::wire::rdma_transform::{CryptoTransform, RdmaTransform};
use crate::wire::read::Channel;
use bytes::{Bytes, BytesMut};

const CIPHERS: [Cipher; 4] = [
    Cipher::Aes128Ccm,
    Cipher::Aes128Gcm,
    Cipher::Aes256Ccm,
    Cipher::Aes256Gcm,
];
const SIGNING: [SigningAlgorithm; 3] = [
    SigningAlgorithm::HmacSha256,
    SigningAlgorithm::AesCmac,
    SigningAlgorithm::AesGmac,
];

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn nonce16(prefix: &[u8]) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..prefix.len()].copy_from_slice(prefix);
    n
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn sealer(cipher: Cipher) -> Sealer {
    Sealer::new(cipher, &vec![0x42; cipher.key_len()])
}

// ---- known answers: the construction is exactly the published algorithm ----

#[test]
fn encryption_is_plain_aead_without_aad() {
    // McGrew & Viega GCM test case 2: K = 0^128, IV = 0^96, P = 0^128.
    let s = Sealer::new(Cipher::Aes128Gcm, &[0u8; 16]);
    let mut p = [0u8; 16];
    let tag = seal_payload(&s, &[0u8; 16], &mut p).unwrap();
    assert_eq!(p.to_vec(), h("0388dace60b6a392f328c2b971b2fe78"));
    assert_eq!(
        tag.signature.to_vec(),
        h("ab6e47d42cec13bdf53a67b21257bddf")
    );
    assert_eq!(tag.nonce, vec![0u8; 12]);
    assert_eq!(tag.transform_type, TRANSFORM_ENCRYPTION);
}

#[test]
fn gmac_signing_is_gcm_with_payload_as_aad() {
    // NIST CAVP gcmEncryptExtIV128, PTlen 0, AADlen 128, Count 0.
    let s = PayloadSigner::new(
        SigningAlgorithm::AesGmac,
        &h("77be63708971c4e240d1cb79e8d77feb"),
    );
    let t = s.sign(
        &nonce16(&h("e0e00f19fed7ba0136a797f3")),
        &h("7a43ec1d9c0a5a78a0b16533a6213cab"),
    );
    assert_eq!(t.signature.to_vec(), h("209fcc8d3675ed938e9c7166709dd946"));
    assert_eq!(t.nonce, h("e0e00f19fed7ba0136a797f3"));
}

#[test]
fn cmac_signing_macs_nonce_then_payload() {
    // RFC 4493 example 2 (16-byte message) split as 12-byte nonce || 4-byte payload.
    let m = h("6bc1bee22e409f96e93d7e117393172a");
    let s = PayloadSigner::new(
        SigningAlgorithm::AesCmac,
        &h("2b7e151628aed2a6abf7158809cf4f3c"),
    );
    let t = s.sign(&nonce16(&m[..12]), &m[12..]);
    assert_eq!(t.signature.to_vec(), h("070a16b46b4d4144f79bdd9dd04a287c"));
}

#[test]
fn hmac_signing_is_truncated_hmac_sha256_of_nonce_then_payload() {
    // RFC 4231 test case 2, first 16 bytes.
    let m = b"what do ya want for nothing?";
    let s = PayloadSigner::new(SigningAlgorithm::HmacSha256, b"Jefe");
    let t = s.sign(&nonce16(&m[..12]), &m[12..]);
    assert_eq!(t.signature.to_vec(), h("5bdcc146bf60754e6a042426089575c7"));
}

// ---- round trips ----

#[test]
fn encryption_round_trip_every_cipher_and_size() {
    for cipher in CIPHERS {
        let s = sealer(cipher);
        let gen = NonceGenerator::with_salt(cipher, [1, 2, 3, 4], 7);
        for len in [0usize, 1, 15, 16, 17, 4096, 65_537] {
            let plain = payload(len);
            let mut buf = plain.clone();
            let tag = seal_payload(&s, &gen.next().unwrap(), &mut buf).unwrap();
            assert_eq!(tag.nonce.len(), cipher.nonce_len(), "{cipher:?}");
            if len >= 16 {
                assert_ne!(buf, plain, "{cipher:?} left the payload in clear");
            }
            open_payload(&s, tag.transform_type, &tag.signature, &tag.nonce, &mut buf).unwrap();
            assert_eq!(buf, plain, "{cipher:?} len {len}");
        }
    }
}

#[test]
fn signing_round_trip_every_algorithm() {
    for alg in SIGNING {
        let s = PayloadSigner::new(alg, &[0x17; 16]);
        assert_eq!(s.algorithm(), alg);
        for len in [0usize, 1, 16, 1000, 65_536] {
            let p = payload(len);
            let t = s.sign(&nonce16(&[9; 12]), &p);
            assert_eq!(t.transform_type, TRANSFORM_SIGNING);
            assert_eq!(t.nonce.len(), SIGNING_NONCE_LEN);
            s.verify(t.transform_type, &t.signature, &t.nonce, &p)
                .unwrap();
        }
    }
}

// ---- tamper detection ----

#[test]
fn encryption_detects_every_tamper() {
    for cipher in CIPHERS {
        let s = sealer(cipher);
        let plain = payload(300);
        let mut sealed = plain.clone();
        let tag = seal_payload(&s, &nonce16(&[5; 12]), &mut sealed).unwrap();
        let open = |sig: &[u8], nonce: &[u8], ty: u16, p: &[u8]| {
            let mut b = p.to_vec();
            let r = open_payload(&s, ty, sig, nonce, &mut b);
            (r, b)
        };
        // Flipped payload byte: refused, and no plaintext is exposed.
        for at in [0, 150, 299] {
            let mut p = sealed.clone();
            p[at] ^= 0x01;
            let (r, b) = open(&tag.signature, &tag.nonce, TRANSFORM_ENCRYPTION, &p);
            assert_eq!(
                r,
                Err(RdmaTransformError::AuthenticationFailed),
                "{cipher:?}"
            );
            assert!(b.iter().all(|x| *x == 0), "{cipher:?} exposed plaintext");
        }
        // Flipped signature or nonce byte.
        let mut sig = tag.signature;
        sig[3] ^= 0x80;
        assert_eq!(
            open(&sig, &tag.nonce, TRANSFORM_ENCRYPTION, &sealed).0,
            Err(RdmaTransformError::AuthenticationFailed)
        );
        let mut n = tag.nonce.clone();
        n[0] ^= 1;
        assert_eq!(
            open(&tag.signature, &n, TRANSFORM_ENCRYPTION, &sealed).0,
            Err(RdmaTransformError::AuthenticationFailed)
        );
        // Wrong lengths: payload one byte short or long, signature 15 bytes, nonce off by one.
        assert_eq!(
            open(
                &tag.signature,
                &tag.nonce,
                TRANSFORM_ENCRYPTION,
                &sealed[..299]
            )
            .0,
            Err(RdmaTransformError::AuthenticationFailed)
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(
            open(&tag.signature, &tag.nonce, TRANSFORM_ENCRYPTION, &longer).0,
            Err(RdmaTransformError::AuthenticationFailed)
        );
        assert_eq!(
            open(
                &tag.signature[..15],
                &tag.nonce,
                TRANSFORM_ENCRYPTION,
                &sealed
            )
            .0,
            Err(RdmaTransformError::SignatureLength(15))
        );
        let nl = cipher.nonce_len();
        assert_eq!(
            open(
                &tag.signature,
                &[0; 13][..nl + 1],
                TRANSFORM_ENCRYPTION,
                &sealed
            )
            .0,
            Err(RdmaTransformError::NonceLength {
                expected: nl,
                got: nl + 1
            })
        );
        // Wrong transform id.
        assert_eq!(
            open(&tag.signature, &tag.nonce, TRANSFORM_SIGNING, &sealed).0,
            Err(RdmaTransformError::WrongType {
                expected: TRANSFORM_ENCRYPTION,
                got: TRANSFORM_SIGNING
            })
        );
        // Wrong key (the other direction's key).
        let other = Sealer::new(cipher, &vec![0x43; cipher.key_len()]);
        let mut b = sealed.clone();
        assert_eq!(
            open_payload(&other, 1, &tag.signature, &tag.nonce, &mut b),
            Err(RdmaTransformError::AuthenticationFailed)
        );
        // The untouched payload still opens.
        let (r, b) = open(&tag.signature, &tag.nonce, TRANSFORM_ENCRYPTION, &sealed);
        assert_eq!(r, Ok(()));
        assert_eq!(b, plain);
    }
}

#[test]
fn signing_detects_every_tamper() {
    for alg in SIGNING {
        let s = PayloadSigner::new(alg, &[0x17; 16]);
        let p = payload(200);
        let t = s.sign(&nonce16(&[3; 12]), &p);
        let v = |ty: u16, sig: &[u8], n: &[u8], p: &[u8]| s.verify(ty, sig, n, p);
        let mut q = p.clone();
        q[100] ^= 4;
        assert_eq!(
            v(2, &t.signature, &t.nonce, &q),
            Err(RdmaTransformError::AuthenticationFailed),
            "{alg:?}"
        );
        assert_eq!(
            v(2, &t.signature, &t.nonce, &p[..199]),
            Err(RdmaTransformError::AuthenticationFailed)
        );
        let mut sig = t.signature;
        sig[15] ^= 1;
        assert_eq!(
            v(2, &sig, &t.nonce, &p),
            Err(RdmaTransformError::AuthenticationFailed)
        );
        let mut n = t.nonce.clone();
        n[11] ^= 1;
        assert_eq!(
            v(2, &t.signature, &n, &p),
            Err(RdmaTransformError::AuthenticationFailed)
        );
        assert_eq!(
            v(2, &t.signature[..8], &t.nonce, &p),
            Err(RdmaTransformError::SignatureLength(8))
        );
        assert_eq!(
            v(2, &t.signature, &t.nonce[..11], &p),
            Err(RdmaTransformError::NonceLength {
                expected: 12,
                got: 11
            })
        );
        assert_eq!(
            v(1, &t.signature, &t.nonce, &p),
            Err(RdmaTransformError::WrongType {
                expected: TRANSFORM_SIGNING,
                got: TRANSFORM_ENCRYPTION
            })
        );
        let other = PayloadSigner::new(alg, &[0x18; 16]);
        assert_eq!(
            other.verify(2, &t.signature, &t.nonce, &p),
            Err(RdmaTransformError::AuthenticationFailed)
        );
        assert_eq!(v(2, &t.signature, &t.nonce, &p), Ok(()));
    }
}

// ---- which transform a message carries (MS-SMB2 3.2.5.11) ----

#[test]
fn transform_choice_follows_message_protection() {
    let both = [TRANSFORM_ENCRYPTION, TRANSFORM_SIGNING];
    assert_eq!(required_transform(true, &both), Some(TRANSFORM_ENCRYPTION));
    assert_eq!(required_transform(false, &both), Some(TRANSFORM_SIGNING));
    assert_eq!(required_transform(false, &[TRANSFORM_ENCRYPTION]), None);
    assert_eq!(required_transform(true, &[]), None);

    assert_eq!(check_transforms(&[1], true, &both), Ok(0));
    assert_eq!(check_transforms(&[2], false, &both), Ok(0));
    assert_eq!(
        check_transforms(&[1], false, &both),
        Err(RdmaTransformError::WrongType {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        check_transforms(&[2], true, &both),
        Err(RdmaTransformError::WrongType {
            expected: 1,
            got: 2
        })
    );
    assert_eq!(
        check_transforms(&[2], false, &[]),
        Err(RdmaTransformError::NotNegotiated(2))
    );
    assert_eq!(
        check_transforms(&[3], false, &both),
        Err(RdmaTransformError::UnknownType(3))
    );
    assert_eq!(
        check_transforms(&[], false, &both),
        Err(RdmaTransformError::TransformCount(0))
    );
    assert_eq!(
        check_transforms(&[2, 2], false, &both),
        Err(RdmaTransformError::TransformCount(2))
    );
}

// ---- end to end through the wire codec, as the placement hook would run it ----

fn to_wire(tag: &PayloadTag) -> CryptoTransform {
    CryptoTransform {
        transform_type: tag.transform_type,
        signature: tag.signature.to_vec(),
        nonce: tag.nonce.clone(),
    }
}

#[test]
fn read_response_path_encrypted_session() {
    // Server: READ data encrypted with EncryptionKey, structure put in the response Buffer.
    let keys_s2c = vec![0x21; 16];
    let server = Sealer::new(Cipher::Aes128Gcm, &keys_s2c);
    let gen = NonceGenerator::with_salt(Cipher::Aes128Gcm, [9, 9, 9, 9], 1);
    let data = payload(8192);
    let mut placed = data.clone();
    let tag = seal_payload(&server, &gen.next().unwrap(), &mut placed).unwrap();
    let mut buf = BytesMut::new();
    RdmaTransform {
        channel: Channel::NONE,
        transforms: vec![to_wire(&tag)],
        descriptors: Bytes::new(),
    }
    .encode(&mut buf)
    .unwrap();

    // Client: decodes the Buffer, checks the transform choice, decrypts what was placed.
    let client = Sealer::new(Cipher::Aes128Gcm, &keys_s2c);
    let rt = RdmaTransform::decode(&buf.freeze()).unwrap();
    let types: Vec<u16> = rt.transforms.iter().map(|t| t.transform_type).collect();
    let i = check_transforms(&types, true, &[1, 2]).unwrap();
    let t = &rt.transforms[i];
    open_payload(
        &client,
        t.transform_type,
        &t.signature,
        &t.nonce,
        &mut placed,
    )
    .unwrap();
    assert_eq!(placed, data);
}

#[test]
fn write_request_path_signed_session_refuses_flipped_byte() {
    // Client signs WRITE data with the channel signing key; one byte flips on the wire.
    let key = [0x33; 16];
    let client = PayloadSigner::new(SigningAlgorithm::AesGmac, &key);
    let data = payload(4096);
    let tag = client.sign(&nonce16(&[1, 0, 0, 0, 0, 0, 0, 0, 7, 7, 7, 7]), &data);
    let mut info = BytesMut::new();
    let mut desc = Vec::new();
    desc.extend_from_slice(&0x1000u64.to_le_bytes());
    desc.extend_from_slice(&0x55u32.to_le_bytes());
    desc.extend_from_slice(&4096u32.to_le_bytes());
    RdmaTransform {
        channel: Channel::RDMA_V1,
        transforms: vec![to_wire(&tag)],
        descriptors: Bytes::from(desc.clone()),
    }
    .encode(&mut info)
    .unwrap();

    let server = PayloadSigner::new(SigningAlgorithm::AesGmac, &key);
    let rt = RdmaTransform::decode(&info.freeze()).unwrap();
    assert_eq!(&rt.descriptors[..], &desc[..]);
    let types: Vec<u16> = rt.transforms.iter().map(|t| t.transform_type).collect();
    let t = &rt.transforms[check_transforms(&types, false, &[2]).unwrap()];
    server
        .verify(t.transform_type, &t.signature, &t.nonce, &data)
        .unwrap();
    let mut pulled = data.clone();
    pulled[4095] ^= 0x10;
    assert_eq!(
        server.verify(t.transform_type, &t.signature, &t.nonce, &pulled),
        Err(RdmaTransformError::AuthenticationFailed)
    );
}
