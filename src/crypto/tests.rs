//! Known-answer and property tests for the crypto module.
//!
//! Vectors come from Microsoft's Open Specifications blog posts:
//! - "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and
//!   cryptographic keys" (2017-05-26): SMB 3.0 and 3.1.1 key derivation,
//!   pre-auth integrity hash and SESSION_SETUP response signatures.
//! - "Encryption in SMB 3.0: A protocol perspective" (2012-10-05): AES-128-CCM
//!   transform messages.
//! - "SMB 3.1.1 Encryption in Windows 10" (2015-09-09): AES-128-GCM transform
//!   messages.
//!
//! These vectors are from the client's point of view: the client's
//! EncryptionKey is the server's DecryptionKey and vice versa.

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

fn arr16(s: &str) -> [u8; 16] {
    h(s).try_into().expect("16 bytes")
}

fn arr64(s: &str) -> [u8; 64] {
    h(s).try_into().expect("64 bytes")
}

const PREAUTH_311: &str = "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79\
                           28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01";

#[test]
fn preauth_hash_ms_blog_vector() {
    let steps: [(&str, &str); 5] = [
        (
            "FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000\
             00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32\
             6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000\
             010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000\
             0200060000000000020002000100",
            "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47122594CDE0\
             CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
        ),
        (
            "FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000\
             000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942\
             BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001\
             80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182\
             3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000\
             60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51\
             FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000\
             5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000\
             7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000\
             3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562\
             6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075\
             626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4\
             83CA5B65385A251117BEB30712E50000020004000000000001000200",
            "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F36011E99\
             7E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513",
        ),
        (
            "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000\
             00000000000000000000000000000000000000000000000019000001010000000000000058004A00\
             0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A\
             04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000\
             000F",
            "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED42C55E33\
             197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9",
        ),
        (
            "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000\
             190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003\
             0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038\
             00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53\
             005500540033003100310002000C0053005500540033003100310001000C00530055005400330031\
             00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1\
             A1F5ADCBAED00100000000",
            "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B8835740A7376008563336\
             4C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387",
        ),
        (
            "FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000\
             1900000000100000000000000000000000000000000000001900000101000000000000005800CF01\
             0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000\
             001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000\
             001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055\
             005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049\
             0056004500520033003100310000000000000000000000000000000000000000000000000063078E\
             B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000\
             0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055\
             00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004\
             00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B\
             8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016\
             0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F\
             5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000",
            PREAUTH_311,
        ),
    ];
    let mut hash = PreauthHash::new();
    assert_eq!(hash.value(), &[0u8; 64]);
    for (message, expected) in steps {
        hash.update(&h(message));
        assert_eq!(hash.value()[..], h(expected)[..]);
    }
    let forked = hash.clone();
    hash.update(b"x");
    assert_ne!(forked.value(), hash.value());
}

#[test]
fn kdf_known_answer_smb30() {
    // Anatomy blog, "Key derivation example for SMB 3.0 multichannel".
    let mut out = [0u8; 16];
    kdf(
        &h("7CD451825D0450D235424E44BA6E78CC"),
        b"SMB2AESCMAC\0",
        b"SmbSign\0",
        &mut out,
    );
    assert_eq!(out, arr16("0B7E9C5CAC36C0F6EA9AB275298CEDCE"));
}

#[test]
fn kdf_256_bit_prefix_differs_from_128() {
    // L is part of the PRF input, so a 256-bit key is not an extension of the
    // 128-bit one.
    let key = h("270E1BA896585EEB7AF3472D3B4C75A7");
    let (mut a, mut b) = ([0u8; 16], [0u8; 32]);
    kdf(&key, b"SMBC2SCipherKey\0", &[7u8; 64], &mut a);
    kdf(&key, b"SMBC2SCipherKey\0", &[7u8; 64], &mut b);
    assert_ne!(a[..], b[..16]);
    // Independent recomputation of the single SP800-108 block with ring.
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut input = vec![0, 0, 0, 1];
    input.extend_from_slice(b"SMBC2SCipherKey\0\0");
    input.extend_from_slice(&[7u8; 64]);
    input.extend_from_slice(&256u32.to_be_bytes());
    assert_eq!(ring::hmac::sign(&k, &input).as_ref(), &b[..]);
}

#[test]
fn session_keys_smb30_known_answer() {
    let keys = derive_session_keys(
        0x0300,
        &arr16("7CD451825D0450D235424E44BA6E78CC"),
        &[0u8; 64],
        None,
    );
    assert_eq!(keys.signing, h("0B7E9C5CAC36C0F6EA9AB275298CEDCE"));
    // The blog lists the client's keys: its EncryptionKey is "ServerIn ".
    assert_eq!(keys.decryption, h("FAD27796665B313EBB578F388632B4F7"));
    assert_eq!(keys.encryption, h("B0F0427F7CEB416D1D9DCC0CD4F99447"));
    assert_eq!(keys.application, h("BB23A4575AA26C721AF525AF15A87B4F"));
    // 3.0.2 uses the same schedule; the cipher argument is ignored.
    let keys302 = derive_session_keys(
        0x0302,
        &arr16("7CD451825D0450D235424E44BA6E78CC"),
        &[1u8; 64],
        Some(Cipher::Aes256Gcm),
    );
    assert_eq!(keys302, keys);
    // Second channel: Channel.SigningKey from its own session key.
    let ch = derive_signing_key(
        0x0300,
        &arr16("4E01A2B313BCF660CC250BEF021AEDE6"),
        &[0u8; 64],
    );
    assert_eq!(ch, h("BA1A17DBBFEC349BCA105563D598952F"));
}

#[test]
fn session_keys_smb311_known_answer() {
    let preauth = arr64(PREAUTH_311);
    let session_key = arr16("270E1BA896585EEB7AF3472D3B4C75A7");
    let keys = derive_session_keys(0x0311, &session_key, &preauth, Some(Cipher::Aes128Gcm));
    assert_eq!(keys.signing, h("73FE7A9A77BEF0BDE49C650D8CCB5F76"));
    assert_eq!(keys.decryption, h("629BCBC54422A0F572B97F45989B6073"));
    assert_eq!(keys.encryption, h("E2AF0DCEFAC68DA71A0DFBD0D1350D74"));
    assert_eq!(keys.application, h("6D7AD7954E9EC61E907B4D473DC178FF"));
    assert_eq!(
        derive_signing_key(0x0311, &session_key, &preauth),
        keys.signing
    );
    // Second channel (session binding) with its own key and pre-auth hash.
    let ch = derive_signing_key(
        0x0311,
        &arr16("84B9DBB730116A8FA6E9889555C265F9"),
        &arr64(
            "EA3BF912B11CBFEC5B1889E8209614218687F82FA5294521AD3063425E49E88A\
             10BD022124CE25123BC9111F52D9566BA88BF46344E6063DC5E3FF0389026F6C",
        ),
    );
    assert_eq!(ch, h("C962BCA1A9DD1697B030644199705431"));
}

#[test]
fn session_keys_aes256_use_full_key_and_32_bytes() {
    let full = [0x42u8; 32];
    let preauth = [3u8; 64];
    let keys = derive_session_keys_full(0x0311, &full, &preauth, Some(Cipher::Aes256Ccm));
    assert_eq!(keys.encryption.len(), 32);
    assert_eq!(keys.decryption.len(), 32);
    assert_eq!(keys.signing.len(), 16);
    let mut expected = [0u8; 32];
    kdf(&full, b"SMBS2CCipherKey\0", &preauth, &mut expected);
    assert_eq!(keys.encryption, expected);
    // Signing and application keys come from the truncated SessionKey.
    let truncated: [u8; 16] = full[..16].try_into().expect("16");
    let k128 = derive_session_keys(0x0311, &truncated, &preauth, Some(Cipher::Aes128Ccm));
    assert_eq!(keys.signing, k128.signing);
    assert_eq!(keys.application, k128.application);
    assert_eq!(k128.encryption.len(), 16);
}

#[test]
fn session_keys_smb2x_use_session_key() {
    let sk = [9u8; 16];
    for dialect in [0x0202, 0x0210] {
        let keys = derive_session_keys(dialect, &sk, &[0u8; 64], None);
        assert_eq!(keys.signing, sk.to_vec());
        assert!(keys.encryption.is_empty() && keys.decryption.is_empty());
        assert!(keys.application.is_empty());
        assert_eq!(derive_signing_key(dialect, &sk, &[0u8; 64]), sk.to_vec());
    }
    assert!(!format!("{:?}", derive_session_keys(0x0210, &sk, &[0u8; 64], None)).contains("9"));
}

/// Final SESSION_SETUP responses of the anatomy blog's 3.1.1 example, signed
/// with AES-128-CMAC (no SMB2_SIGNING_CAPABILITIES negotiated).
#[test]
fn cmac_signature_known_answer() {
    let cases = [
        (
            "73FE7A9A77BEF0BDE49C650D8CCB5F76",
            "FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000\
             1900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00A11B3019A0030A01\
             00A3120410010000003B453CDC3524164200000000",
        ),
        (
            "C962BCA1A9DD1697B030644199705431",
            "FE534D4240000100000000000100800009000000000000000300000000000000FFFE000000000000\
             19000000001000008D604217FFBACF40635BF9D8729921500900000048001D00A11B3019A0030A01\
             00A312041001000000CFB046FC5D368E2200000000",
        ),
    ];
    for (key, msg) in cases {
        let signer = Signer::new(SigningAlgorithm::AesCmac, &h(key));
        let msg = h(msg);
        assert!(signer.verify(&msg));
        let mut copy = msg.clone();
        copy[48..64].fill(0xAA);
        signer.sign(&mut copy);
        assert_eq!(copy, msg);
    }
}

fn sample_message(len: usize, flags: u32, command: u16, message_id: u64) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    m[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
    m[12..14].copy_from_slice(&command.to_le_bytes());
    m[16..20].copy_from_slice(&flags.to_le_bytes());
    m[24..32].copy_from_slice(&message_id.to_le_bytes());
    m
}

const ALGS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::HmacSha256,
    SigningAlgorithm::AesCmac,
    SigningAlgorithm::AesGmac,
];

#[test]
fn sign_verify_round_trip_and_tamper() {
    let key = [0x5Au8; 16];
    for alg in ALGS {
        assert_eq!(SigningAlgorithm::from_id(alg.id()), Some(alg));
        let signer = Signer::new(alg, &key);
        for len in [64usize, 65, 100, 8192 + 64] {
            let mut m = sample_message(len, 0x9, 0x8, 42);
            signer.sign(&mut m);
            assert!(signer.verify(&m), "{alg:?} {len}");
            let snapshot = m.clone();
            assert!(signer.verify(&m));
            assert_eq!(m, snapshot, "verify must not modify");
            for pos in [0usize, 47, 48, 63, 64, len - 1]
                .into_iter()
                .filter(|&p| p < len)
            {
                let mut t = m.clone();
                t[pos] ^= 0x01;
                assert!(!signer.verify(&t), "{alg:?} tamper at {pos}");
            }
            let other = Signer::new(alg, &[0x5Bu8; 16]);
            assert!(!other.verify(&m));
        }
        let mut short = vec![1u8; 63];
        signer.sign(&mut short);
        assert_eq!(short, vec![1u8; 63]);
        assert!(!signer.verify(&short));
        assert!(!signer.verify(&[]));
    }
    assert_eq!(SigningAlgorithm::from_id(3), None);
}

#[test]
fn signing_message_and_data_apart_equals_signing_them_joined() {
    let key = [0x33u8; 16];
    for alg in ALGS {
        let signer = Signer::new(alg, &key);
        for (head, data) in [(80usize, 8192usize), (64, 1), (96, 0), (80, 65536)] {
            let joined = sample_message(head + data, 0x8, 0x9, 7);
            let mut whole = joined.clone();
            signer.sign(&mut whole);
            let mut part = joined[..head].to_vec();
            assert!(signer.sign_with_data(&mut part, &joined[head..]), "{alg:?}");
            assert_eq!(part[..], whole[..head], "{alg:?} {head}+{data}");
        }
        // A head not on a 16-byte boundary: GMAC refuses and leaves the message alone.
        let joined = sample_message(88 + 100, 0x8, 0x9, 7);
        let mut part = joined[..88].to_vec();
        let signed = signer.sign_with_data(&mut part, &joined[88..]);
        assert_eq!(signed, alg != SigningAlgorithm::AesGmac, "{alg:?}");
        if !signed {
            assert_eq!(part[..], joined[..88]);
        }
    }
}

#[test]
fn hmac_signature_matches_ring_directly() {
    let key = b"0123456789abcdef";
    let mut m = sample_message(200, 1, 5, 7);
    Signer::new(SigningAlgorithm::HmacSha256, key).sign(&mut m);
    let mut zeroed = m.clone();
    zeroed[48..64].fill(0);
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), &zeroed);
    assert_eq!(&m[48..64], &tag.as_ref()[..16]);
}

fn gmac_reference(key: &[u8; 16], nonce: &[u8; 12], aad: &[u8]) -> [u8; 16] {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::KeyInit;
    let gcm = aes_gcm::Aes128Gcm::new(key.into());
    let tag = gcm
        .encrypt_in_place_detached(nonce.into(), aad, &mut [])
        .expect("gmac");
    tag.into()
}

#[test]
fn gmac_matches_aes_gcm_and_uses_role_and_cancel_bits() {
    let key = [0x11u8; 16];
    let signer = Signer::new(SigningAlgorithm::AesGmac, &key);
    for (flags, command, bits) in [(0u32, 5u16, 0u8), (1, 5, 1), (0, 0x000C, 2), (1, 0x000C, 3)] {
        for len in [64usize, 70, 128, 1000] {
            let mut m = sample_message(len, flags, command, 0x0102_0304_0506_0708);
            signer.sign(&mut m);
            let mut zeroed = m.clone();
            zeroed[48..64].fill(0);
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
            nonce[8] = bits;
            assert_eq!(
                m[48..64],
                gmac_reference(&key, &nonce, &zeroed),
                "{flags} {command}"
            );
        }
    }
    // A response signature differs from a request's over otherwise equal bytes
    // (the role bit), and verifying with the flag flipped fails.
    let mut request = sample_message(96, 0, 8, 9);
    let mut response = request.clone();
    response[16] = 1;
    signer.sign(&mut request);
    signer.sign(&mut response);
    assert_ne!(request[48..64], response[48..64]);
    request[16] = 1;
    assert!(!signer.verify(&request));
}

const CIPHERS: [Cipher; 4] = [
    Cipher::Aes128Ccm,
    Cipher::Aes128Gcm,
    Cipher::Aes256Ccm,
    Cipher::Aes256Gcm,
];

#[test]
fn cipher_ids_and_lengths() {
    for (c, id, kl, nl) in [
        (Cipher::Aes128Ccm, 1u16, 16usize, 11usize),
        (Cipher::Aes128Gcm, 2, 16, 12),
        (Cipher::Aes256Ccm, 3, 32, 11),
        (Cipher::Aes256Gcm, 4, 32, 12),
    ] {
        assert_eq!((c.id(), c.key_len(), c.nonce_len()), (id, kl, nl));
        assert_eq!(Cipher::from_id(id), Some(c));
    }
    assert_eq!(Cipher::from_id(0), None);
    assert_eq!(Cipher::from_id(5), None);
}

#[test]
fn encrypt_decrypt_round_trip_and_tamper() {
    for c in CIPHERS {
        let key: Vec<u8> = (0..c.key_len() as u8).collect();
        let sealer = Sealer::new(c, &key);
        let gen = NonceGenerator::new(c);
        for len in [0usize, 1, 64, 8192] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let nonce = gen.next().expect("nonce");
            let mut buf = plain.clone();
            let tag = sealer.encrypt_in_place(&nonce, b"aad", &mut buf);
            if len > 0 {
                assert_ne!(buf, plain);
            }
            let mut dec = buf.clone();
            sealer
                .decrypt_in_place(&nonce, b"aad", &mut dec, &tag)
                .expect("decrypt");
            assert_eq!(dec, plain);
            let mut bad_tag = tag;
            bad_tag[3] ^= 1;
            let mut t = buf.clone();
            assert_eq!(
                sealer.decrypt_in_place(&nonce, b"aad", &mut t, &bad_tag),
                Err(DecryptError::AuthenticationFailed)
            );
            assert!(t.iter().all(|&b| b == 0));
            let mut t = buf.clone();
            assert!(sealer
                .decrypt_in_place(&nonce, b"aaD", &mut t, &tag)
                .is_err());
            if len > 0 {
                let mut t = buf.clone();
                t[len / 2] ^= 0x80;
                assert!(sealer
                    .decrypt_in_place(&nonce, b"aad", &mut t, &tag)
                    .is_err());
            }
        }
    }
}

#[test]
fn gcm_matches_rustcrypto() {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::KeyInit;
    let nonce = arr16("000102030405060708090A0B00000000");
    let plain = b"SMB3 encryption cross-check against RustCrypto aes-gcm".to_vec();
    let k128 = [7u8; 16];
    let k256 = [9u8; 32];
    let mut a = plain.clone();
    let tag = Sealer::new(Cipher::Aes128Gcm, &k128).encrypt_in_place(&nonce, b"hdr", &mut a);
    let mut b = plain.clone();
    let t = aes_gcm::Aes128Gcm::new((&k128).into())
        .encrypt_in_place_detached(nonce[..12].into(), b"hdr", &mut b)
        .expect("gcm");
    assert_eq!((a, tag), (b, <[u8; 16]>::from(t)));
    let mut a = plain.clone();
    let tag = Sealer::new(Cipher::Aes256Gcm, &k256).encrypt_in_place(&nonce, b"hdr", &mut a);
    let mut b = plain;
    let t = aes_gcm::Aes256Gcm::new((&k256).into())
        .encrypt_in_place_detached(nonce[..12].into(), b"hdr", &mut b)
        .expect("gcm");
    assert_eq!((a, tag), (b, <[u8; 16]>::from(t)));
}

#[test]
fn invalid_key_fails_closed() {
    for c in CIPHERS {
        assert_eq!(
            Sealer::try_new(c, &[1u8; 5]).err(),
            Some(EncryptError::InvalidKey)
        );
        let s = Sealer::new(c, &[1u8; 5]);
        let mut buf = vec![0x55u8; 32];
        assert_eq!(s.encrypt_in_place(&[0u8; 16], b"", &mut buf), [0u8; 16]);
        assert!(buf.iter().all(|&b| b == 0));
        assert_eq!(
            s.decrypt_in_place(&[0u8; 16], b"", &mut buf, &[0u8; 16]),
            Err(DecryptError::InvalidKey)
        );
        let mut out = vec![1, 2, 3];
        assert!(try_seal_message(&s, &[0u8; 16], 1, b"hello", &mut out).is_err());
        seal_message(&s, &[0u8; 16], 1, b"hello", &mut out);
        assert_eq!(out, vec![1, 2, 3]);
    }
}

#[test]
fn nonce_generator_unique_and_exhausts() {
    use std::collections::HashSet;
    use std::sync::Arc;
    for c in CIPHERS {
        let gen = Arc::new(NonceGenerator::new(c));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = Arc::clone(&gen);
                std::thread::spawn(move || {
                    (0..5000).map(|_| g.next().expect("n")).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for hdl in handles {
            for n in hdl.join().expect("thread") {
                assert!(n[c.nonce_len()..].iter().all(|&b| b == 0));
                assert!(seen.insert(n[..c.nonce_len()].to_vec()), "repeat");
            }
        }
        assert_eq!(seen.len(), 20000);
    }
    let gen = NonceGenerator::with_salt(Cipher::Aes128Gcm, [1, 2, 3, 4], u64::MAX - 2);
    let a = gen.next().expect("a");
    let b = gen.next().expect("b");
    assert_ne!(a, b);
    assert_eq!(&a[8..12], &[1, 2, 3, 4]);
    assert_eq!(gen.next(), None);
    assert_eq!(gen.next(), None);
    let ccm = NonceGenerator::with_salt(Cipher::Aes128Ccm, [1, 2, 3, 4], 5);
    let n = ccm.next().expect("n");
    assert_eq!(n, arr16("05000000000000000102030000000000"));
}

#[test]
fn signing_algorithm_for_dialect_and_thread_safety() {
    use SigningAlgorithm::*;
    assert_eq!(SigningAlgorithm::for_dialect(0x0202, None), HmacSha256);
    assert_eq!(
        SigningAlgorithm::for_dialect(0x0210, Some(AesGmac)),
        HmacSha256
    );
    assert_eq!(SigningAlgorithm::for_dialect(0x0300, None), AesCmac);
    assert_eq!(SigningAlgorithm::for_dialect(0x0302, None), AesCmac);
    assert_eq!(SigningAlgorithm::for_dialect(0x0311, None), AesCmac);
    assert_eq!(
        SigningAlgorithm::for_dialect(0x0311, Some(AesGmac)),
        AesGmac
    );
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Signer>();
    send_sync::<Sealer>();
    send_sync::<NonceGenerator>();
    send_sync::<SessionKeys>();
    send_sync::<PreauthHash>();
}
