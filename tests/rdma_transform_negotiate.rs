//! Issue 10: SMB2_RDMA_TRANSFORM_CAPABILITIES is parsed but never granted. A 3.1.1 NEGOTIATE
//! carrying the context (as Windows 11 sends it, and with a malformed TransformCount 0) must
//! succeed, and the response must not contain the context, so no client ever applies an RDMA
//! transform to its data (design in `rsmbd::crypto::rdma_transform`).
mod common;
use common::*;
use rsmbd::wire::negotiate::{Dialect, NegotiateRequest, NegotiateResponse};
use rsmbd::wire::negotiate_contexts::{
    NegotiateContext, AES_128_GCM, SHA_512, SMB2_RDMA_TRANSFORM_CAPABILITIES,
    SMB2_RDMA_TRANSFORM_ENCRYPTION, SMB2_RDMA_TRANSFORM_SIGNING,
};
use rsmbd::wire::{Bytes, BytesMut, Command, Header};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn negotiate(server: &TestServer, rdma: NegotiateContext) -> (u32, Option<NegotiateResponse>) {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = NegotiateRequest {
        security_mode: 1,
        capabilities: 0,
        client_guid: Default::default(),
        client_start_time: 0,
        dialects: vec![Dialect(0x0300), Dialect(0x0311)],
        negotiate_contexts: vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![SHA_512],
                salt: Bytes::from_static(&[7; 32]),
            },
            NegotiateContext::Encryption {
                ciphers: vec![AES_128_GCM],
            },
            rdma,
        ],
    };
    let mut out = BytesMut::new();
    Header {
        command: Command::NEGOTIATE,
        credits: 1,
        credit_charge: 1,
        ..Header::default()
    }
    .encode(&mut out);
    req.encode(&mut out);
    let mut f = (out.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&out);
    s.write_all(&f).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("NEGOTIATE response");
    let mut msg = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).unwrap();
    let msg = Bytes::from(msg);
    let status = Header::decode(&msg).unwrap().status;
    (status, NegotiateResponse::decode(&msg).ok())
}

#[test]
fn rdma_transform_capabilities_are_never_granted() {
    let server = TestServer::start();
    for (what, ctx) in [
        (
            "encryption+signing",
            NegotiateContext::RdmaTransform {
                transform_ids: vec![SMB2_RDMA_TRANSFORM_ENCRYPTION, SMB2_RDMA_TRANSFORM_SIGNING],
            },
        ),
        (
            "TransformCount 0",
            NegotiateContext::RdmaTransform {
                transform_ids: vec![],
            },
        ),
    ] {
        let (status, r) = negotiate(&server, ctx);
        assert_eq!(status, 0, "{what}: NEGOTIATE failed with {status:#010x}");
        let r = r.expect("decodable NEGOTIATE response");
        assert_eq!(r.dialect_revision, Dialect(0x0311), "{what}");
        let types: Vec<u16> = r
            .negotiate_contexts
            .iter()
            .map(|c| c.context_type())
            .collect();
        assert!(
            types.contains(&0x0001),
            "{what}: no preauth context in {types:?}"
        );
        assert!(
            !types.contains(&SMB2_RDMA_TRANSFORM_CAPABILITIES),
            "{what}: server granted an RDMA transform: {types:?}"
        );
    }
}
