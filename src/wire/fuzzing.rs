//! One entry point that runs every decoder of this module on a frame, for the cargo-fuzz target
//! (`fuzz/fuzz_targets/decode_request.rs`) and for the bounded property-based pass that runs in
//! CI (the tests below): a frame is split like the server splits it, and every message decoder
//! sees every element, whatever its command, so each decoder meets arbitrary bytes behind a
//! valid-looking header.
use super::*;

/// Compound elements accepted per frame here (the server's own limit is configurable).
const MAX_ELEMENTS: usize = 64;

/// Runs every decoder on `data`; never panics (that is the property under test).
pub fn decode_everything(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    let _ = transform::TransformHeader::decode_frame(&frame);
    let _ = transform::CompressionTransformHeader::decode(&frame);
    if smb1::is_smb1(data) {
        if let Ok(d) = smb1::parse_negotiate(data) {
            let _ = smb1::smb2_dialect_for(&d, true);
        }
    }
    let Ok(elements) = compound::split_compound(&frame, MAX_ELEMENTS) else {
        return;
    };
    for msg in &elements {
        if Header::decode(msg).is_err() {
            continue;
        }
        decode_message(msg);
    }
}

fn decode_message(msg: &Bytes) {
    let _ = negotiate::NegotiateRequest::decode(msg);
    let _ = negotiate::NegotiateResponse::decode(msg);
    let _ = session_setup::SessionSetupRequest::decode(msg);
    let _ = session_setup::SessionSetupResponse::decode(msg);
    let _ = logoff::LogoffRequest::decode(msg);
    let _ = tree_connect::TreeConnectRequest::decode(msg);
    let _ = tree_connect::TreeConnectResponse::decode(msg);
    let _ = tree_disconnect::TreeDisconnectRequest::decode(msg);
    let _ = echo::EchoRequest::decode(msg);
    let _ = cancel::CancelRequest::decode(msg);
    if let Ok(e) = error::ErrorResponse::decode(msg) {
        let _ = e.error_contexts();
    }
    if let Ok(r) = ioctl::IoctlRequest::decode(msg) {
        decode_fsctl_payloads(&r.input);
    }
    let _ = ioctl::IoctlResponse::decode(msg);
    if let Ok(c) = create::CreateRequest::decode(msg) {
        for ctx in &c.create_contexts {
            let _ = create_contexts::Lease::decode(&ctx.data);
            let _ = create_contexts::CreateEaBuffer::decode_chain(&ctx.data);
        }
    }
    let _ = create::CreateResponse::decode(msg);
    let _ = close::CloseRequest::decode(msg);
    let _ = flush::FlushRequest::decode(msg);
    let _ = read::ReadRequest::decode(msg);
    let _ = read::ReadResponse::decode(msg);
    let _ = write::WriteRequest::decode(msg);
    let _ = lock::LockRequest::decode(msg);
    let _ = query_directory::QueryDirectoryRequest::decode(msg);
    let _ = change_notify::ChangeNotifyRequest::decode(msg);
    let _ = query_info::QueryInfoRequest::decode(msg);
    if let Ok(s) = set_info::SetInfoRequest::decode(msg) {
        decode_info_payloads(&s.buffer);
    }
    let _ = oplock_break::OplockBreakMessage::decode(msg);
}

fn decode_fsctl_payloads(b: &[u8]) {
    use fsctl::*;
    let _ = validate_negotiate::ValidateNegotiateInfoRequest::decode(b);
    let _ = copychunk::SrvCopychunkCopy::decode(b);
    let _ = offload::FsctlOffloadReadInput::decode(b);
    let _ = offload::FsctlOffloadWriteInput::decode(b);
    let _ = sparse::FileZeroDataInformation::decode(b);
    let _ = sparse::FileAllocatedRangeBuffer::decode(b);
    if let Ok(t) = trim::FileLevelTrim::decode(b) {
        for _ in t.ranges() {}
    }
    let _ = duplicate_extents::DuplicateExtentsData::decode(b);
    let _ = duplicate_extents::DuplicateExtentsDataEx::decode(b);
    let _ = network_interface::NetworkInterfaceInfo::decode_list(b);
}

fn decode_info_payloads(b: &[u8]) {
    use info::*;
    let _ = file::FileBasicInformation::decode(b);
    let _ = file::FileRenameInformation::decode(b);
    let _ = file::FileDispositionInformation::decode(b);
    let _ = ea::FileFullEaInformation::decode_list(b);
    let _ = security::SecurityDescriptor::decode(b);
}

/// Well-formed frames the fuzzer starts from (also written to `fuzz/corpus/decode_request` by
/// the ignored test `write_seed_corpus`).
pub fn seed_frames() -> Vec<Vec<u8>> {
    fn msg(command: Command, body: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        Header {
            command,
            credits: 1,
            ..Default::default()
        }
        .encode(&mut out);
        body(&mut out);
        out.to_vec()
    }
    let neg = msg(Command::NEGOTIATE, |b| {
        negotiate::NegotiateRequest {
            security_mode: 1,
            capabilities: 0x7f,
            dialects: vec![negotiate::Dialect::SMB202, negotiate::Dialect::SMB311],
            negotiate_contexts: vec![
                negotiate_contexts::NegotiateContext::PreauthIntegrity {
                    hash_algorithms: vec![1],
                    salt: Bytes::from_static(&[7; 32]),
                },
                negotiate_contexts::NegotiateContext::Encryption {
                    ciphers: vec![1, 2, 3, 4],
                },
                negotiate_contexts::NegotiateContext::Signing {
                    algorithms: vec![0, 1, 2],
                },
            ],
            ..Default::default()
        }
        .encode(b)
    });
    let setup = msg(Command::SESSION_SETUP, |b| {
        session_setup::SessionSetupRequest {
            security_buffer: Bytes::from_static(
                b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            ),
            ..Default::default()
        }
        .encode(b)
    });
    let create = msg(Command::CREATE, |b| {
        let mut c = create::CreateRequest {
            desired_access: 0x12019f,
            share_access: 7,
            ..Default::default()
        };
        c.set_name("dir\\file.txt:stream");
        c.encode(b)
    });
    let read = msg(Command::READ, |b| {
        read::ReadRequest {
            length: 8192,
            offset: 1 << 33,
            ..Default::default()
        }
        .encode(b)
    });
    let write = msg(Command::WRITE, |b| {
        write::WriteRequest {
            offset: 4096,
            data: Bytes::from_static(&[0xAB; 64]),
            ..Default::default()
        }
        .encode(b)
    });
    let mut chain = create.clone();
    while chain.len() % 8 != 0 {
        chain.push(0);
    }
    let next = (chain.len() as u32).to_le_bytes();
    chain[header::offsets::NEXT_COMMAND..header::offsets::NEXT_COMMAND + 4].copy_from_slice(&next);
    chain.extend_from_slice(&read);
    vec![neg, setup, create, read, write, chain]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seeds_decode() {
        for s in seed_frames() {
            assert!(compound::split_compound(&Bytes::from(s.clone()), 8).is_ok());
            decode_everything(&s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Bounded CI pass: random mutations of the seeds never panic.
        #[test]
        fn mutated_seeds_never_panic(which in 0usize..6, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16), cut in any::<usize>()) {
            let mut s = seed_frames().swap_remove(which);
            for (pos, val) in flips {
                let n = s.len();
                s[pos % n] = val;
            }
            let cut = cut % (s.len() + 1);
            decode_everything(&s[..cut]);
            decode_everything(&s);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            decode_everything(&b);
            let mut framed = b"\xfeSMB".to_vec();
            framed.extend_from_slice(&b);
            decode_everything(&framed);
        }
    }

    #[test]
    #[ignore = "writes fuzz/corpus/decode_request"]
    fn write_seed_corpus() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/decode_request");
        std::fs::create_dir_all(dir).unwrap();
        for (i, s) in seed_frames().iter().enumerate() {
            std::fs::write(format!("{dir}/seed-{i}"), s).unwrap();
        }
    }
}
