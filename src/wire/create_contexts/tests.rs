//! Tests of the create-context codecs (round trips, published layouts, malformed chains).
use super::*;
use crate::wire::HEADER_LEN;
use proptest::prelude::*;

/// A message: 64 header bytes, then the context list at offset 64.
fn msg_with(list: &[CreateContext]) -> Bytes {
    let mut out = BytesMut::new();
    out.put_bytes(0, HEADER_LEN);
    CreateContext::encode_list(list, &mut out);
    out.freeze()
}

fn ctx() -> impl Strategy<Value = CreateContext> {
    (
        proptest::collection::vec(any::<u8>(), 1..20),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(n, d)| CreateContext {
            name: n.into(),
            data: d.into(),
        })
}

fn ea() -> impl Strategy<Value = FileFullEaInformation> {
    (
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(|(flags, n, v)| FileFullEaInformation {
            flags,
            ea_name: n.into(),
            ea_value: v.into(),
        })
}

fn rt<T: CreateContextData + PartialEq + std::fmt::Debug>(v: T) {
    let c = v.to_context();
    assert_eq!(&c.name[..], T::NAME);
    assert_eq!(T::decode(&c.data).unwrap(), v);
}

proptest! {
    #[test]
    fn list_round_trip(list in proptest::collection::vec(ctx(), 0..6)) {
        let m = msg_with(&list);
        let got = CreateContext::decode_list(&m, HEADER_LEN, m.len() - HEADER_LEN).unwrap();
        prop_assert_eq!(got, list);
    }

    #[test]
    fn ea_round_trip(entries in proptest::collection::vec(ea(), 0..6)) {
        let mut out = BytesMut::new();
        CreateEaBuffer::encode_chain(&entries, &mut out);
        prop_assert_eq!(CreateEaBuffer::decode_chain(&out.freeze()).unwrap(), entries);
    }

    #[test]
    fn typed_round_trips(a: u64, b: u64, c: u32, d: u32, k: [u8; 16], p: [u8; 16], e: u16, t: Option<u64>) {
        rt(CreateDurableHandleRequest);
        rt(CreateDurableHandleResponse);
        rt(CreateDurableHandleReconnect { file_id: FileId { persistent: a, volatile: b } });
        rt(CreateQueryMaximalAccessRequest { timestamp: t });
        rt(CreateQueryMaximalAccessResponse { query_status: NtStatus(c), maximal_access: d });
        rt(CreateAllocationSize { allocation_size: a });
        rt(CreateTimewarpToken { timestamp: b });
        rt(CreateQueryOnDiskIdResponse { disk_file_id: a, volume_id: b });
        let v1 = CreateRequestLease { lease_key: k, lease_state: c, lease_flags: d, lease_duration: a };
        rt(v1);
        let v2 = CreateRequestLeaseV2 { lease_key: k, lease_state: c, flags: d, lease_duration: a,
            parent_lease_key: p, epoch: e };
        rt(v2);
        prop_assert_eq!(Lease::decode(&v1.to_context().data).unwrap(), Lease::V1(v1));
        prop_assert_eq!(Lease::decode(&v2.to_context().data).unwrap(), Lease::V2(v2));
        rt(CreateDurableHandleRequestV2 { timeout: c, flags: d, create_guid: Guid(k) });
        rt(CreateDurableHandleResponseV2 { timeout: c, flags: d });
        rt(CreateDurableHandleReconnectV2 { file_id: FileId { persistent: a, volatile: b },
            create_guid: Guid(p), flags: c });
        rt(CreateAppInstanceId { app_instance_id: Guid(k) });
        rt(CreateAppInstanceVersion { app_instance_version_high: a, app_instance_version_low: b });
        rt(CreateSdBuffer { security_descriptor: Bytes::copy_from_slice(&p) });
    }

    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), off in 0usize..400,
                    len in 0usize..400) {
        let mut m = vec![0u8; HEADER_LEN];
        m.extend_from_slice(&body);
        let m = Bytes::from(m);
        let _ = CreateContext::decode_list(&m, off, len);
        let _ = CreateContext::decode_list(&m, HEADER_LEN, body.len());
        let data = Bytes::from(body);
        let _ = CreateEaBuffer::decode_chain(&data);
        let _ = Lease::decode(&data);
        let _ = CreateDurableHandleReconnectV2::decode(&data);
        let _ = CreateAppInstanceVersion::decode(&data);
        let _ = CreateQueryMaximalAccessRequest::decode(&data);
    }
}

#[test]
fn lease_v1_vector() {
    // A 2.1 client's RqLs context: key 0x11.., RWH requested, no flags, duration 0.
    let list = [CreateRequestLease {
        lease_key: [0x11; 16],
        lease_state: 7,
        lease_flags: 0,
        lease_duration: 0,
    }
    .to_context()];
    let m = msg_with(&list);
    let expect = hex::decode(concat!(
        "00000000",
        "1000",
        "0400",
        "0000",
        "1800",
        "20000000",
        "52714c73",
        "00000000",
        "11111111111111111111111111111111",
        "07000000",
        "00000000",
        "0000000000000000"
    ))
    .unwrap();
    assert_eq!(&m[HEADER_LEN..], &expect[..]);
}

fn two() -> Vec<u8> {
    msg_with(&[
        CreateContext::new(names::QUERY_MAXIMAL_ACCESS, Bytes::new()),
        CreateContext::new(names::ALLOCATION_SIZE, Bytes::from_static(&[1; 8])),
    ])
    .to_vec()
}

#[test]
fn refuses_misaligned_contexts() {
    let mut m = vec![0u8; 8];
    m.extend_from_slice(&two());
    let m = Bytes::from(m);
    let r = CreateContext::decode_list(&m, HEADER_LEN + 8, m.len() - HEADER_LEN - 8);
    assert!(r.is_ok());
    let r = CreateContext::decode_list(&m, HEADER_LEN + 4, m.len() - HEADER_LEN - 4);
    assert!(r.is_err());
    // Next not a multiple of 8.
    let mut m = two();
    m[HEADER_LEN] = 20;
    let len = m.len() - HEADER_LEN;
    let r = CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len);
    assert_eq!(r, Err(Error::Invalid("create context Next")));
    // DataOffset not a multiple of 8.
    let mut m = two();
    m[HEADER_LEN + 24 + 10] = 0x1C;
    let len = m.len() - HEADER_LEN;
    let r = CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len);
    assert_eq!(r, Err(Error::Invalid("create context DataOffset")));
}

#[test]
fn refuses_backward_or_out_of_bounds_chain() {
    let base = two();
    let len = base.len() - HEADER_LEN;
    for next in [0u32, 8, 0xFFFF_FFF8, 64] {
        let mut m = base.clone();
        m[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&next.to_le_bytes());
        let r = CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len);
        if next == 0 {
            assert_eq!(r.unwrap().len(), 1);
        } else {
            assert_eq!(r, Err(Error::Invalid("create context Next")));
        }
    }
    // Data running past the region.
    let mut m = base.clone();
    m[HEADER_LEN + 24 + 12] = 9;
    let r = CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len);
    assert_eq!(r, Err(Error::Invalid("create context DataLength")));
    // Name overlapping the header, or empty.
    let mut m = base.clone();
    m[HEADER_LEN + 4] = 8;
    assert!(CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len).is_err());
    let mut m = base;
    m[HEADER_LEN + 6] = 0;
    assert!(CreateContext::decode_list(&Bytes::from(m), HEADER_LEN, len).is_err());
}

#[test]
fn refuses_too_many_contexts() {
    let list = vec![CreateContext::new(names::QUERY_ON_DISK_ID, Bytes::new()); 300];
    let m = msg_with(&list);
    let r = CreateContext::decode_list(&m, HEADER_LEN, m.len() - HEADER_LEN);
    assert_eq!(r, Err(Error::Invalid("too many create contexts")));
}

#[test]
fn refuses_bad_ea_chain_and_short_data() {
    let e = FileFullEaInformation {
        flags: 0,
        ea_name: Bytes::from_static(b"A"),
        ea_value: Bytes::from_static(b"xy"),
    };
    let mut out = BytesMut::new();
    CreateEaBuffer::encode_chain(&[e.clone(), e], &mut out);
    let mut b = out.to_vec();
    b[0] = 4; // NextEntryOffset shorter than the entry
    assert!(CreateEaBuffer::decode_chain(&Bytes::from(b)).is_err());
    let mut b = out.to_vec();
    b[0] = 13; // misaligned
    assert!(CreateEaBuffer::decode_chain(&Bytes::from(b)).is_err());
    assert_eq!(
        Lease::decode(&Bytes::from_static(&[0; 31])),
        Err(Error::Truncated)
    );
    let mut v = CreateAppInstanceId::default().to_context().data.to_vec();
    v[0] = 21;
    assert_eq!(
        CreateAppInstanceId::decode(&Bytes::from(v)),
        Err(Error::Invalid("StructureSize"))
    );
}
