//! Tests for the srvsvc pipe: PDU vectors built from C706 / MS-RPCE, NDR stubs built
//! from MS-SRVS, decoded back with the module's own NDR reader.

use super::ndr::{NdrReader, NdrWriter};
use super::pdu::*;
use super::srvsvc::{self, NdrValue};
use super::*;
use proptest::prelude::*;

fn uuid_wire(s: &str) -> [u8; 16] {
    let h: Vec<u8> = (0..32)
        .map(|i| {
            let hex: String = s.chars().filter(|c| *c != '-').collect();
            u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap()
        })
        .take(16)
        .collect();
    let mut w = [0u8; 16];
    w[..4].copy_from_slice(&[h[3], h[2], h[1], h[0]]);
    w[4..6].copy_from_slice(&[h[5], h[4]]);
    w[6..8].copy_from_slice(&[h[7], h[6]]);
    w[8..].copy_from_slice(&h[8..]);
    w
}

fn shares() -> Vec<ShareInfo> {
    vec![
        ShareInfo {
            name: "IPC$".into(),
            share_type: 0x8000_0003,
            comment: "IPC Service".into(),
            path: String::new(),
        },
        ShareInfo {
            name: "data".into(),
            share_type: 0,
            comment: "Données".into(),
            path: "/srv/data".into(),
        },
        ShareInfo {
            name: "Odd".into(),
            share_type: 0,
            comment: String::new(),
            path: "C:\\odd".into(),
        },
    ]
}

fn pipe() -> SrvsvcPipe {
    SrvsvcPipe::new("RSMBD".into(), shares())
}

/// A bind as smbclient sends it (C706 12.6.4.3): call_id 2, 4280/4280, one context
/// proposing srvsvc 3.0 over NDR 2.0.
const SMBCLIENT_BIND: [u8; 72] = [
    0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0xb8, 0x10, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88,
    0x03, 0x00, 0x00, 0x00, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00,
    0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x00, 0x00,
];

fn bound() -> SrvsvcPipe {
    let mut p = pipe();
    p.write(&SMBCLIENT_BIND).unwrap();
    let (ack, more) = p.read(8192);
    assert!(!more);
    assert_eq!(ack[2], PTYPE_BIND_ACK);
    p
}

fn request(opnum: u16, stub: &[u8], call_id: u32) -> Vec<u8> {
    Request {
        alloc_hint: stub.len() as u32,
        p_cont_id: 0,
        opnum,
        object: None,
        stub,
    }
    .encode(PFC_FIRST_FRAG | PFC_LAST_FRAG, call_id)
}

/// Reads every queued PDU of one response and returns the reassembled stub.
fn response_stub(p: &mut SrvsvcPipe, call_id: u32) -> Vec<u8> {
    let mut stub = Vec::new();
    loop {
        let (pdu, more) = p.read(65536);
        assert!(!more);
        let h = CommonHeader::parse(&pdu).unwrap();
        assert_eq!(h.ptype, PTYPE_RESPONSE, "got {pdu:02x?}");
        assert_eq!(h.call_id, call_id);
        assert_eq!(usize::from(h.frag_length), pdu.len());
        assert!(pdu.len() <= usize::from(MAX_FRAG));
        let hint = u32::from_le_bytes(pdu[16..20].try_into().unwrap());
        assert_eq!(
            hint as usize,
            pdu.len() - 24 + p.pending_output() - p.out.len() * 24
        );
        assert_eq!(h.pfc_flags & PFC_FIRST_FRAG != 0, stub.is_empty());
        stub.extend_from_slice(&pdu[24..]);
        if h.pfc_flags & PFC_LAST_FRAG != 0 {
            assert_eq!(p.pending_output(), 0);
            return stub;
        }
    }
}

fn fault_status(p: &mut SrvsvcPipe) -> (u32, u8) {
    let (pdu, _) = p.read(65536);
    assert_eq!(pdu.len(), 32);
    assert_eq!(pdu[2], PTYPE_FAULT);
    (u32::from_le_bytes(pdu[24..28].try_into().unwrap()), pdu[3])
}

fn enum_stub(level: u32, resume: Option<u32>) -> Vec<u8> {
    let mut w = NdrWriter::new();
    w.ptr(true);
    w.string("\\\\127.0.0.1");
    w.u32(level);
    w.u32(level);
    w.ptr(true); // container
    w.u32(0); // count
    w.ptr(false); // array
    w.u32(u32::MAX); // PreferedMaximumLength
    w.ptr(resume.is_some());
    if let Some(r) = resume {
        w.u32(r);
    }
    w.finish()
}

struct EnumReply {
    level: u32,
    entries: Vec<Vec<NdrValue>>,
    total: u32,
    resume: Option<u32>,
    status: u32,
}

fn parse_enum_reply(stub: &[u8]) -> EnumReply {
    let r = &mut NdrReader::new(stub);
    let level = r.u32().unwrap();
    assert_eq!(r.u32().unwrap(), level);
    let entries = if r.ptr().unwrap() {
        srvsvc::read_share_container(r, level).unwrap()
    } else {
        Vec::new()
    };
    let total = r.u32().unwrap();
    let resume = if r.ptr().unwrap() {
        Some(r.u32().unwrap())
    } else {
        None
    };
    let status = r.u32().unwrap();
    assert_eq!(r.remaining(), 0);
    EnumReply {
        level,
        entries,
        total,
        resume,
        status,
    }
}

fn s(v: &str) -> NdrValue {
    NdrValue::Str(Some(v.into()))
}

#[test]
fn syntax_constants_match_their_uuids() {
    assert_eq!(
        SRVSVC_SYNTAX.if_uuid,
        uuid_wire("4b324fc8-1670-01d3-1278-5a47bf6ee188")
    );
    assert_eq!(
        NDR20_SYNTAX.if_uuid,
        uuid_wire("8a885d04-1ceb-11c9-9fe8-08002b104860")
    );
    let btfn = SyntaxId {
        if_uuid: uuid_wire("6cb71c2c-9812-4540-0300-000000000000"),
        if_version: 1,
    };
    assert_eq!(btfn.bind_time_features(), Some(3));
    assert_eq!(NDR20_SYNTAX.bind_time_features(), None);
}

#[test]
fn smbclient_bind_decodes_and_gets_exact_bind_ack() {
    let b = Bind::parse(&SMBCLIENT_BIND).unwrap();
    assert_eq!(
        (b.max_xmit_frag, b.max_recv_frag, b.assoc_group_id),
        (4280, 4280, 0)
    );
    assert_eq!(b.contexts.len(), 1);
    assert_eq!(b.contexts[0].abstract_syntax, SRVSVC_SYNTAX);
    assert_eq!(b.contexts[0].transfer_syntaxes, vec![NDR20_SYNTAX]);

    let mut p = pipe();
    p.write(&SMBCLIENT_BIND).unwrap();
    let (ack, more) = p.read(4280);
    assert!(!more);
    let mut expected = vec![
        0x05, 0x00, 0x0c, 0x03, 0x10, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
        0x00, 0xb8, 0x10, 0xb8, 0x10, 0xf0, 0x53, 0x00, 0x00, 0x0d, 0x00,
    ];
    expected.extend_from_slice(b"\\PIPE\\srvsvc\0");
    expected.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0]); // pad, n_results, result+reason
    expected.extend_from_slice(&SMBCLIENT_BIND[52..72]); // NDR 2.0
    assert_eq!(ack, expected);
}

#[test]
fn windows_style_bind_rejects_ndr64_and_acks_features() {
    let ndr64 = SyntaxId {
        if_uuid: uuid_wire("71710533-beba-4937-8319-b5dbef9ccc36"),
        if_version: 1,
    };
    let btfn = SyntaxId {
        if_uuid: uuid_wire("6cb71c2c-9812-4540-0300-000000000000"),
        if_version: 1,
    };
    let other = SyntaxId {
        if_uuid: uuid_wire("12345778-1234-abcd-ef00-0123456789ab"),
        if_version: 0,
    };
    let ctx = |id, abs, ts: SyntaxId| ContextElem {
        p_cont_id: id,
        abstract_syntax: abs,
        transfer_syntaxes: vec![ts],
    };
    let bind = Bind {
        max_xmit_frag: 5840,
        max_recv_frag: 5840,
        assoc_group_id: 0x1234,
        contexts: vec![
            ctx(0, SRVSVC_SYNTAX, NDR20_SYNTAX),
            ctx(1, SRVSVC_SYNTAX, ndr64),
            ctx(2, SRVSVC_SYNTAX, btfn),
            ctx(3, other, NDR20_SYNTAX),
        ],
    };
    let mut p = pipe();
    let (out, more) = p.transceive(&bind.encode(PTYPE_BIND, 7), 4280).unwrap();
    assert!(!more);
    let h = CommonHeader::parse(&out).unwrap();
    assert_eq!(
        (h.ptype, h.call_id, usize::from(h.frag_length)),
        (PTYPE_BIND_ACK, 7, out.len())
    );
    let ack = BindAck::parse(&out).unwrap();
    assert_eq!(
        (ack.max_xmit_frag, ack.max_recv_frag, ack.assoc_group_id),
        (4280, 4280, 0x1234)
    );
    assert_eq!(ack.sec_addr, b"\\PIPE\\srvsvc");
    let r: Vec<(u16, u16)> = ack.results.iter().map(|r| (r.result, r.reason)).collect();
    assert_eq!(r, vec![(0, 0), (2, 2), (3, 2), (2, 1)]);
    assert_eq!(ack.results[0].transfer_syntax, NDR20_SYNTAX);
    assert_eq!(ack.results[1].transfer_syntax, SyntaxId::default());
    // Only context 0 is usable.
    let mut req = Request {
        alloc_hint: 0,
        p_cont_id: 1,
        opnum: 15,
        object: None,
        stub: &enum_stub(1, None),
    };
    p.write(&req.encode(3, 8)).unwrap();
    assert_eq!(fault_status(&mut p), (NCA_S_UNK_IF, 0x23));
    req.p_cont_id = 0;
    p.write(&req.encode(3, 9)).unwrap();
    assert_eq!(parse_enum_reply(&response_stub(&mut p, 9)).entries.len(), 3);
}

#[test]
fn alter_context_adds_context() {
    let mut p = bound();
    let alter = Bind {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x53f0,
        contexts: vec![ContextElem {
            p_cont_id: 5,
            abstract_syntax: SRVSVC_SYNTAX,
            transfer_syntaxes: vec![NDR20_SYNTAX],
        }],
    };
    p.write(&alter.encode(PTYPE_ALTER_CONTEXT, 3)).unwrap();
    let (out, _) = p.read(4280);
    assert_eq!(out[2], PTYPE_ALTER_CONTEXT_RESP);
    let ack = BindAck::parse(&out).unwrap();
    assert!(ack.sec_addr.is_empty());
    assert_eq!(&out[24..28], &[0, 0, 0, 0]); // length 0 + pad
    assert_eq!(ack.results[0].result, 0);
    let req = Request {
        alloc_hint: 0,
        p_cont_id: 5,
        opnum: 15,
        object: None,
        stub: &enum_stub(0, None),
    };
    p.write(&req.encode(3, 4)).unwrap();
    let (pdu, _) = p.read(65536);
    assert_eq!((pdu[2], &pdu[20..22]), (PTYPE_RESPONSE, &[5u8, 0][..]));
}

#[test]
fn share_enum_level_1() {
    let mut p = bound();
    p.write(&request(15, &enum_stub(1, Some(0)), 3)).unwrap();
    let stub = response_stub(&mut p, 3);
    let r = parse_enum_reply(&stub);
    assert_eq!((r.level, r.total, r.resume, r.status), (1, 3, Some(0), 0));
    assert_eq!(
        r.entries,
        vec![
            vec![s("IPC$"), NdrValue::U32(0x8000_0003), s("IPC Service")],
            vec![s("data"), NdrValue::U32(0), s("Données")],
            vec![s("Odd"), NdrValue::U32(0), s("")],
        ]
    );
    // Exact head of the stub: level, discriminant, container referent, count,
    // array referent, max_count, first struct {name ref, type, comment ref}.
    let words: Vec<u32> = stub[..36]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        words,
        vec![1, 1, 0x20000, 3, 0x20004, 3, 0x20008, 0x8000_0003, 0x2000c]
    );
    // First deferred string: "IPC$" with max_count = actual_count = 5 (NUL included).
    let tail = &stub[24 + 3 * 12..]; // after the header words and three 12-byte structs
    assert_eq!(&tail[..12], &[5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
    assert_eq!(&tail[12..22], &[b'I', 0, b'P', 0, b'C', 0, b'$', 0, 0, 0]);
    assert_eq!(&tail[22..24], &[0, 0]); // padding to 4
}

#[test]
fn share_enum_levels_0_2_502_and_invalid() {
    let mut p = bound();
    p.write(&request(15, &enum_stub(0, None), 3)).unwrap();
    let r = parse_enum_reply(&response_stub(&mut p, 3));
    assert_eq!(r.entries[2], vec![s("Odd")]);
    assert_eq!(r.resume, None);

    p.write(&request(15, &enum_stub(2, None), 4)).unwrap();
    let r = parse_enum_reply(&response_stub(&mut p, 4));
    let u = NdrValue::U32;
    assert_eq!(
        r.entries[1],
        vec![
            s("data"),
            u(0),
            s("Données"),
            u(0),
            u(u32::MAX),
            u(0),
            s("/srv/data"),
            NdrValue::Str(None)
        ]
    );

    p.write(&request(15, &enum_stub(502, Some(1)), 5)).unwrap();
    let r = parse_enum_reply(&response_stub(&mut p, 5));
    assert_eq!((r.entries.len(), r.total), (2, 3));
    assert_eq!(r.entries[1][8..], [u(0), NdrValue::Bytes(None)]);

    p.write(&request(15, &enum_stub(503, None), 6)).unwrap();
    let r = parse_enum_reply(&response_stub(&mut p, 6));
    assert_eq!(
        (r.status, r.entries.len()),
        (WERR_INVALID_LEVEL_FOR_TESTS, 0)
    );
}

const WERR_INVALID_LEVEL_FOR_TESTS: u32 = srvsvc::WERR_INVALID_LEVEL;

fn get_info_stub(name: &str, level: u32) -> Vec<u8> {
    let mut w = NdrWriter::new();
    w.ptr(false);
    w.string(name);
    w.u32(level);
    w.finish()
}

fn parse_get_info(stub: &[u8], layout: &[u8]) -> (Option<Vec<NdrValue>>, u32) {
    let r = &mut NdrReader::new(stub);
    r.u32().unwrap();
    let info = if r.ptr().unwrap() {
        Some(srvsvc::read_structs(r, layout, 1).unwrap().remove(0))
    } else {
        None
    };
    let status = r.u32().unwrap();
    assert_eq!(r.remaining(), 0);
    (info, status)
}

#[test]
fn share_get_info() {
    let mut p = bound();
    p.write(&request(16, &get_info_stub("DATA", 1), 3)).unwrap();
    let (info, status) = parse_get_info(&response_stub(&mut p, 3), b"SUS");
    assert_eq!(status, 0);
    assert_eq!(
        info.unwrap(),
        vec![s("data"), NdrValue::U32(0), s("Données")]
    );

    p.write(&request(16, &get_info_stub("odd", 2), 4)).unwrap();
    let (info, status) = parse_get_info(&response_stub(&mut p, 4), b"SUSUUUSS");
    assert_eq!(status, 0);
    assert_eq!(info.unwrap()[6], s("C:\\odd"));

    p.write(&request(16, &get_info_stub("nope", 1), 5)).unwrap();
    assert_eq!(
        parse_get_info(&response_stub(&mut p, 5), b""),
        (None, srvsvc::NERR_NET_NAME_NOT_FOUND)
    );

    p.write(&request(16, &get_info_stub("data", 1005), 6))
        .unwrap();
    assert_eq!(
        parse_get_info(&response_stub(&mut p, 6), b"U"),
        (Some(vec![NdrValue::U32(0)]), 0)
    );

    p.write(&request(16, &get_info_stub("data", 1007), 7))
        .unwrap();
    assert_eq!(
        parse_get_info(&response_stub(&mut p, 7), b""),
        (None, srvsvc::WERR_INVALID_LEVEL)
    );
}

#[test]
fn server_get_info_101() {
    let mut p = bound();
    let mut w = NdrWriter::new();
    w.ptr(true);
    w.string("\\\\127.0.0.1");
    w.u32(101);
    p.write(&request(21, &w.finish(), 3)).unwrap();
    let (info, status) = parse_get_info(&response_stub(&mut p, 3), b"USUUUS");
    assert_eq!(status, 0);
    let u = NdrValue::U32;
    assert_eq!(
        info.unwrap(),
        vec![u(500), s("RSMBD"), u(10), u(0), u(0x9003), s("rsmbd")]
    );
}

#[test]
fn unknown_opnum_faults() {
    let mut p = bound();
    p.write(&request(99, &[], 3)).unwrap();
    assert_eq!(fault_status(&mut p), (0x1c01_0002, 0x23));
    // Garbage stub for a known opnum: nca_s_fault_ndr.
    p.write(&request(15, &[1, 2, 3], 4)).unwrap();
    assert_eq!(fault_status(&mut p).0, 0x6f7);
}

#[test]
fn request_in_two_fragments_and_byte_by_byte() {
    let stub = enum_stub(1, None);
    let (a, b) = stub.split_at(13);
    let frag = |part: &[u8], flags| {
        Request {
            alloc_hint: stub.len() as u32,
            p_cont_id: 0,
            opnum: 15,
            object: None,
            stub: part,
        }
        .encode(flags, 3)
    };
    let mut bytes = frag(a, PFC_FIRST_FRAG);
    bytes.extend(frag(b, PFC_LAST_FRAG));
    let mut p = bound();
    for byte in &bytes {
        p.write(std::slice::from_ref(byte)).unwrap();
    }
    assert_eq!(parse_enum_reply(&response_stub(&mut p, 3)).entries.len(), 3);
    // A continuation fragment without a first one is a protocol error.
    assert!(matches!(
        p.write(&frag(b, PFC_LAST_FRAG)),
        Err(PipeError::Protocol(_))
    ));
    assert_eq!(fault_status(&mut p).0, NCA_S_PROTO_ERROR);
}

#[test]
fn large_response_is_fragmented_and_read_in_pieces() {
    let many: Vec<ShareInfo> = (0..200)
        .map(|i| ShareInfo {
            name: format!("share{i:03}"),
            share_type: 0,
            comment: "x".repeat(30),
            path: format!("/srv/share{i}"),
        })
        .collect();
    let mut p = SrvsvcPipe::new("S".into(), many);
    p.write(&SMBCLIENT_BIND).unwrap();
    p.read(65536);
    p.write(&request(15, &enum_stub(2, None), 3)).unwrap();
    assert!(p.out.len() > 3);
    // A small read of the first PDU reports more data.
    let first_len = p.out[0].len();
    let (part, more) = p.read(100);
    assert_eq!((part.len(), more), (100, true));
    let (rest, more) = p.read(65536);
    assert_eq!((rest.len(), more), (first_len - 100, false));
    let mut pdu = part;
    pdu.extend(rest);
    assert_eq!(pdu.len(), 4280);
    assert_eq!(pdu[3], PFC_FIRST_FRAG);
    assert_eq!((pdu.len() - 24) % 8, 0);
    let mut stub = pdu[24..].to_vec();
    stub.extend(response_stub_rest(&mut p));
    let r = parse_enum_reply(&stub);
    assert_eq!((r.entries.len(), r.total), (200, 200));
    assert_eq!(r.entries[199][6], s("/srv/share199"));
}

fn response_stub_rest(p: &mut SrvsvcPipe) -> Vec<u8> {
    let mut stub = Vec::new();
    while p.pending_output() > 0 {
        let (pdu, more) = p.read(65536);
        assert!(!more && pdu.len() <= 4280);
        assert_eq!(pdu[3] & PFC_FIRST_FRAG, 0);
        let hint = u32::from_le_bytes(pdu[16..20].try_into().unwrap()) as usize;
        assert_eq!(hint, pdu.len() - 24 + p.pending_output() - p.out.len() * 24);
        stub.extend_from_slice(&pdu[24..]);
        assert_eq!(pdu[3] & PFC_LAST_FRAG != 0, p.pending_output() == 0);
    }
    stub
}

#[test]
fn bad_pdus_are_answered_and_pipe_survives() {
    // Request before bind.
    let mut p = pipe();
    p.write(&request(15, &enum_stub(1, None), 1)).unwrap();
    assert_eq!(fault_status(&mut p).0, NCA_S_UNK_IF);
    // Big-endian request: delimited by its big-endian frag_length, then a fault.
    let mut be = request(15, &[0; 8], 2);
    be[4] = 0x00;
    let be_len = be.len() as u16;
    be[8..10].copy_from_slice(&be_len.to_be_bytes());
    be[12..16].copy_from_slice(&2u32.to_be_bytes());
    assert!(matches!(p.write(&be), Err(PipeError::Protocol(_))));
    assert_eq!(fault_status(&mut p), (NCA_S_UNSUPPORTED_TYPE, 0x23));
    // Bind with an auth verifier: bind_nak reason 8.
    let mut auth = SMBCLIENT_BIND;
    auth[10] = 8;
    assert!(p.write(&auth).is_err());
    let (nak, _) = p.read(100);
    assert_eq!(
        (nak[2], nak.len(), &nak[16..21]),
        (PTYPE_BIND_NAK, 24, &[8u8, 0, 1, 5, 0][..])
    );
    // RPC version 4: bind_nak reason 4.
    let mut v4 = SMBCLIENT_BIND;
    v4[0] = 4;
    assert!(p.transceive(&v4, 100).unwrap().0[16] == 4);
    // frag_length < 16.
    let mut short = SMBCLIENT_BIND;
    short[8] = 10;
    assert!(matches!(p.write(&short), Err(PipeError::Protocol(_))));
    assert_eq!(fault_status(&mut p).0, NCA_S_PROTO_ERROR);
    // Still usable.
    p.write(&SMBCLIENT_BIND).unwrap();
    assert_eq!(p.read(4280).0[2], PTYPE_BIND_ACK);
}

#[test]
fn overflow_limits() {
    let mut p = bound();
    let big = vec![0u8; 4000];
    let frag = |flags| {
        Request {
            alloc_hint: u32::MAX,
            p_cont_id: 0,
            opnum: 15,
            object: None,
            stub: &big,
        }
        .encode(flags, 3)
    };
    p.write(&frag(PFC_FIRST_FRAG)).unwrap();
    let mut res = Ok(());
    for _ in 0..20 {
        res = p.write(&frag(0));
        if res.is_err() {
            break;
        }
    }
    assert_eq!(res, Err(PipeError::Overflow));
    assert_eq!(fault_status(&mut p).0, NCA_S_FAULT_REMOTE_NO_MEMORY);
    p.write(&frag(0)).unwrap(); // dropped: the call was already answered
    p.write(&frag(PFC_LAST_FRAG)).unwrap();
    assert_eq!(p.pending_output(), 0);
    // Unread output is bounded.
    let req = request(15, &enum_stub(2, None), 9);
    let mut res = Ok(());
    for _ in 0..100_000 {
        res = p.write(&req);
        if res.is_err() {
            break;
        }
    }
    assert_eq!(res, Err(PipeError::Overflow));
    assert!(p.pending_output() < MAX_PENDING_OUTPUT + 65536);
}

#[test]
fn huge_ndr_counts_fault_without_allocating() {
    let mut p = bound();
    // Container claiming 0x7fffffff entries.
    let mut w = NdrWriter::new();
    w.ptr(false);
    w.u32(1);
    w.u32(1);
    w.ptr(true);
    w.u32(0x7fff_ffff);
    w.ptr(true);
    w.u32(0x7fff_ffff);
    p.write(&request(15, &w.finish(), 3)).unwrap();
    assert_eq!(fault_status(&mut p).0, 0x6f7);
    // String claiming 0xffffffff characters.
    let mut stub = vec![0, 0, 2, 0];
    stub.extend_from_slice(&[0xff; 12]);
    p.write(&request(16, &stub, 4)).unwrap();
    assert_eq!(fault_status(&mut p).0, 0x6f7);
}

fn arb_syntax() -> impl Strategy<Value = SyntaxId> {
    (any::<[u8; 16]>(), any::<u32>()).prop_map(|(if_uuid, if_version)| SyntaxId {
        if_uuid,
        if_version,
    })
}

fn arb_value() -> impl Strategy<Value = NdrValue> {
    prop_oneof![
        any::<u32>().prop_map(NdrValue::U32),
        proptest::option::of("\\PC{0,12}").prop_map(NdrValue::Str),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..9))
            .prop_map(NdrValue::Bytes),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300), 0..8), bind_first in any::<bool>()) {
        let mut p = if bind_first { bound() } else { pipe() };
        for c in &chunks {
            let _ = p.write(c);
            let _ = p.transceive(c, 64);
            let _ = p.read(17);
        }
        prop_assert!(p.inbuf.len() <= 65535);
        prop_assert!(p.pending_output() <= MAX_PENDING_OUTPUT + 65536);
    }

    #[test]
    fn arbitrary_pdus_with_valid_headers_never_panic(
        ptype in 0u8..20, flags in any::<u8>(), body in proptest::collection::vec(any::<u8>(), 0..200),
        frag_length in any::<u16>(),
    ) {
        let mut p = bound();
        let mut pdu = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
        pdu.extend_from_slice(&frag_length.to_le_bytes());
        pdu.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
        pdu.extend_from_slice(&body);
        let _ = p.write(&pdu);
        // Bytes after the first PDU may start another one that is still incomplete: what
        // bounds the buffer is the largest PDU the pipe accepts, not this PDU's length.
        prop_assert!(p.inbuf.len() <= 65535);
    }

    #[test]
    fn arbitrary_stubs_never_panic(opnum in prop_oneof![Just(15u16), Just(16), Just(21)],
                                   stub in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = srvsvc::call(opnum, &stub, "S", &shares());
        let mut p = bound();
        p.write(&request(opnum, &stub, 5)).unwrap();
        prop_assert!(p.pending_output() > 0);
    }

    #[test]
    fn bind_roundtrip(a in any::<u16>(), b in any::<u16>(), g in any::<u32>(),
                      ctxs in proptest::collection::vec((any::<u16>(), arb_syntax(),
                          proptest::collection::vec(arb_syntax(), 0..4)), 0..5)) {
        let bind = Bind { max_xmit_frag: a, max_recv_frag: b, assoc_group_id: g,
            contexts: ctxs.into_iter().map(|(p_cont_id, abstract_syntax, transfer_syntaxes)|
                ContextElem { p_cont_id, abstract_syntax, transfer_syntaxes }).collect() };
        prop_assert_eq!(Bind::parse(&bind.encode(PTYPE_BIND, 1)), Some(bind));
    }

    #[test]
    fn bind_ack_roundtrip(a in any::<u16>(), g in any::<u32>(),
                          addr in proptest::collection::vec(1u8..=255, 0..20),
                          res in proptest::collection::vec((any::<u16>(), any::<u16>(), arb_syntax()), 0..5)) {
        let ack = BindAck { max_xmit_frag: a, max_recv_frag: a, assoc_group_id: g, sec_addr: addr,
            results: res.into_iter().map(|(result, reason, transfer_syntax)|
                ContextResult { result, reason, transfer_syntax }).collect() };
        let pdu = ack.encode(PTYPE_BIND_ACK, 2);
        prop_assert_eq!(pdu.len() % 4, 0);
        prop_assert_eq!(BindAck::parse(&pdu), Some(ack));
    }

    #[test]
    fn request_roundtrip(hint in any::<u32>(), ctx in any::<u16>(), op in any::<u16>(),
                         object in proptest::option::of(any::<[u8; 16]>()),
                         stub in proptest::collection::vec(any::<u8>(), 0..64)) {
        let req = Request { alloc_hint: hint, p_cont_id: ctx, opnum: op, object, stub: &stub };
        let pdu = req.encode(3, 1);
        let h = CommonHeader::parse(&pdu).unwrap();
        prop_assert_eq!(usize::from(h.frag_length), pdu.len());
        prop_assert_eq!(Request::parse(&pdu, h.pfc_flags), Some(req));
    }

    #[test]
    fn ndr_structs_roundtrip(items in proptest::collection::vec(
        proptest::collection::vec(arb_value(), 0..6), 0..6), lead in 0usize..3) {
        // Same layout for all items.
        let layout: Vec<u8> = items.first().map(|i| i.iter().map(|v| match v {
            NdrValue::U32(_) => b'U', NdrValue::Str(_) => b'S', NdrValue::Bytes(_) => b'B' }).collect())
            .unwrap_or_default();
        let items: Vec<Vec<NdrValue>> = items.into_iter().filter(|i| i.len() == layout.len() &&
            i.iter().zip(&layout).all(|(v, k)| matches!((v, k), (NdrValue::U32(_), b'U') |
                (NdrValue::Str(_), b'S') | (NdrValue::Bytes(_), b'B')))).collect();
        let mut w = NdrWriter::new();
        for _ in 0..lead { w.bytes(&[0]); }
        srvsvc::write_structs(&mut w, &items);
        let buf = w.finish();
        let mut r = NdrReader::new(&buf);
        for _ in 0..lead { r.u8().unwrap(); }
        prop_assert_eq!(srvsvc::read_structs(&mut r, &layout, items.len() as u32).unwrap(), items);
        prop_assert_eq!(r.remaining(), 0);
    }
}

/// Dumps PDUs and stubs for checking with Samba's `ndrdump --validate` (run by hand:
/// `cargo test dump_for_ndrdump -- --ignored`).
#[test]
#[ignore]
fn dump_for_ndrdump() {
    let dir = std::env::temp_dir().join("rpc-ndrdump");
    std::fs::create_dir_all(&dir).unwrap();
    let put = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).unwrap();
    let mut p = pipe();
    put("bind", &SMBCLIENT_BIND);
    p.write(&SMBCLIENT_BIND).unwrap();
    put("bind_ack", &p.read(65536).0);
    put("enum1_in", &enum_stub(1, Some(0)));
    for (name, op, stub) in [
        ("enum0_out", 15, enum_stub(0, None)),
        ("enum1_out", 15, enum_stub(1, Some(0))),
        ("enum2_out", 15, enum_stub(2, None)),
        ("enum502_out", 15, enum_stub(502, Some(1))),
        ("enum503_out", 15, enum_stub(503, None)),
        ("get1_out", 16, get_info_stub("data", 1)),
        ("get2_out", 16, get_info_stub("odd", 2)),
        ("get502_out", 16, get_info_stub("odd", 502)),
        ("get1005_out", 16, get_info_stub("odd", 1005)),
        ("getnone_out", 16, get_info_stub("none", 1)),
        ("get1007_out", 16, get_info_stub("odd", 1007)),
    ] {
        put(&name.replace("out", "in"), &stub);
        p.write(&request(op, &stub, 3)).unwrap();
        let (pdu, _) = p.read(65536);
        put(name, &pdu[24..]);
        put(&format!("{name}_pdu"), &pdu);
    }
    for level in [100u32, 101, 102, 402] {
        let mut w = NdrWriter::new();
        w.ptr(true);
        w.string("\\\\127.0.0.1");
        w.u32(level);
        let stub = w.finish();
        put(&format!("srv{level}_in"), &stub);
        p.write(&request(21, &stub, 3)).unwrap();
        put(&format!("srv{level}_out"), &p.read(65536).0[24..]);
    }
    p.write(&request(99, &[], 3)).unwrap();
    put("fault", &p.read(65536).0);
    let mut auth = SMBCLIENT_BIND;
    auth[10] = 8;
    let _ = p.write(&auth);
    put("bind_nak", &p.read(65536).0);
}
