//! Throughput of SMB2 signing and encryption on 8 KiB messages
//! (MS-SMB2 3.1.4.1 signing, 3.1.4.3 encryption).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsmbd::crypto::{seal_message, Cipher, NonceGenerator, Sealer, Signer, SigningAlgorithm};

/// Size of the benchmarked SMB2 message (header + body).
const MESSAGE_LEN: usize = 8 * 1024;

fn message() -> Vec<u8> {
    let mut m: Vec<u8> = (0..MESSAGE_LEN).map(|i| (i % 251) as u8).collect();
    m[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
    m
}

fn bench_sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign_8k");
    group.throughput(Throughput::Bytes(MESSAGE_LEN as u64));
    for (name, alg) in [
        ("hmac_sha256", SigningAlgorithm::HmacSha256),
        ("aes_cmac", SigningAlgorithm::AesCmac),
        ("aes_gmac", SigningAlgorithm::AesGmac),
    ] {
        let signer = Signer::new(alg, &[0x5Au8; 16]);
        let mut msg = message();
        group.bench_function(name, |b| b.iter(|| signer.sign(black_box(&mut msg))));
        signer.sign(&mut msg);
        group.bench_function(format!("{name}_verify"), |b| {
            b.iter(|| assert!(signer.verify(black_box(&msg))))
        });
    }
    group.finish();
}

fn bench_seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal_8k");
    group.throughput(Throughput::Bytes(MESSAGE_LEN as u64));
    for (name, cipher) in [
        ("aes128_ccm", Cipher::Aes128Ccm),
        ("aes128_gcm", Cipher::Aes128Gcm),
        ("aes256_ccm", Cipher::Aes256Ccm),
        ("aes256_gcm", Cipher::Aes256Gcm),
    ] {
        let sealer = Sealer::new(cipher, &vec![0x33u8; cipher.key_len()]);
        let nonces = NonceGenerator::new(cipher);
        let plain = message();
        let mut out = Vec::with_capacity(MESSAGE_LEN + 52);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let nonce = nonces.next().unwrap_or([0u8; 16]);
                seal_message(&sealer, &nonce, 1, black_box(&plain), &mut out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sign, bench_seal);
criterion_main!(benches);
