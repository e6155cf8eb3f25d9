//! Tests of the MS-DTYP security descriptor codec.
use super::*;
use crate::wire::info::{
    DACL_SECURITY_INFORMATION, LABEL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// MS-DTYP 2.5.1.4: "O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)(A;CIOI;GA;;;SY)
/// (A;CIOI;GA;;;CO)S:P(AU;FA;GR;;;WD)" in self-relative form.
const DTYP_EXAMPLE: &str = "\
    010014b090000000a00000001400000030000000\
    02001c0001000000028014000000008001010000000000010000000\
    0020060000400000000031800000000a001020000000000052000000021020000\
    00031800000000100102000000000005200000002002000000031400000000100101000000000005120000\
    0000031400000000100101000000000003000000000102000000000005200000002002000001020000000000052000000020020000";

fn dtyp_example() -> Vec<u8> {
    hex::decode(DTYP_EXAMPLE.replace(' ', "")).unwrap()
}

#[test]
fn decodes_and_reencodes_ms_dtyp_example() {
    let b = dtyp_example();
    assert_eq!(b.len(), 0xb0);
    let sd = SecurityDescriptor::decode(&b).unwrap();
    assert_eq!(sd.control, 0xb014);
    assert_eq!(sd.owner, Some(Sid::builtin_administrators()));
    assert_eq!(sd.group, Some(Sid::builtin_administrators()));
    let sacl = sd.sacl.as_ref().unwrap();
    assert_eq!(
        sacl.aces,
        vec![Ace::new(
            ace_type::SYSTEM_AUDIT,
            ace_flags::FAILED_ACCESS,
            access_mask::GENERIC_READ,
            Sid::everyone()
        )]
    );
    let dacl = sd.dacl.as_ref().unwrap();
    let oici = ace_flags::OBJECT_INHERIT | ace_flags::CONTAINER_INHERIT;
    let allow = |mask, sid| Ace::new(ace_type::ACCESS_ALLOWED, oici, mask, sid);
    assert_eq!(
        dacl.aces,
        vec![
            allow(0xA000_0000, Sid::builtin_users()),
            allow(access_mask::GENERIC_ALL, Sid::builtin_administrators()),
            allow(access_mask::GENERIC_ALL, Sid::local_system()),
            allow(access_mask::GENERIC_ALL, Sid::creator_owner()),
        ]
    );
    // Our encoder writes the same order as Windows: SACL, DACL, owner, group.
    assert_eq!(sd.to_vec().unwrap(), b);
}

#[test]
fn sid_strings() {
    let s = "S-1-5-21-1004336348-1177238915-682003330-512";
    let sid: Sid = s.parse().unwrap();
    assert_eq!(sid.to_string(), s);
    assert_eq!(sid.rid(), Some(512));
    assert_eq!(Sid::everyone().to_string(), "S-1-1-0");
    assert_eq!(Sid::local_system().to_string(), "S-1-5-18");
    assert_eq!(Sid::builtin_administrators().to_string(), "S-1-5-32-544");
    assert_eq!(Sid::authenticated_users().to_string(), "S-1-5-11");
    assert_eq!(Sid::creator_owner().to_string(), "S-1-3-0");
    assert_eq!(Sid::anonymous().to_string(), "S-1-5-7");
    let big: Sid = "S-1-0x123456789ABC-7".parse().unwrap();
    assert_eq!(
        big.identifier_authority,
        [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]
    );
    assert_eq!(big.to_string(), "S-1-0x123456789ABC-7");
    for bad in [
        "",
        "S",
        "S-1",
        "X-1-5",
        "S-1-5-x",
        "S-1-0x1000000000000",
        "S-1-5-4294967296",
    ] {
        assert!(bad.parse::<Sid>().is_err(), "{bad}");
    }
    let mut out = BytesMut::new();
    Sid::everyone().encode(&mut out).unwrap();
    assert_eq!(&out[..], &[1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
}

#[test]
fn refuses_sid_with_16_sub_authorities() {
    let mut b = vec![1u8, 16, 0, 0, 0, 0, 0, 5];
    b.extend_from_slice(&[0; 64]);
    assert_eq!(Sid::decode(&b), Err(Error::Invalid("SubAuthorityCount")));
    let s = format!("S-1-5{}", "-1".repeat(16));
    assert!(s.parse::<Sid>().is_err());
    let sid = Sid::new(5, &[1; 16]);
    assert!(sid.encode(&mut BytesMut::new()).is_err());
    // 15 is fine
    b[1] = 15;
    assert_eq!(Sid::decode(&b).unwrap().sub_authorities.len(), 15);
}

fn one_ace_acl() -> Vec<u8> {
    let acl = Acl::new(vec![Ace::new(0, 0, 1, Sid::everyone())]);
    let mut out = BytesMut::new();
    acl.encode(&mut out).unwrap();
    assert_eq!(out.len(), 8 + 20);
    out.to_vec()
}

#[test]
fn refuses_acl_size_smaller_than_its_aces() {
    let mut b = one_ace_acl();
    b[2] = 8 + 16; // AclSize cuts the ACE
    assert!(Acl::decode(&b).is_err());
    let mut b = one_ace_acl();
    b[2] = 4; // smaller than the header
    assert!(Acl::decode(&b).is_err());
    let mut b = one_ace_acl();
    b[2] = 64; // larger than the buffer
    assert_eq!(Acl::decode(&b), Err(Error::Truncated));
    let mut b = one_ace_acl();
    b[4] = 2; // AceCount beyond what AclSize holds
    assert!(Acl::decode(&b).is_err());
    let mut b = one_ace_acl();
    b[4] = 0xff;
    b[5] = 0xff;
    assert_eq!(Acl::decode(&b), Err(Error::Invalid("AceCount")));
}

#[test]
fn refuses_bad_aces() {
    let b = one_ace_acl();
    let ace = &b[8..];
    let mut a = ace.to_vec();
    a[2] = 18; // AceSize not a multiple of 4
    assert!(Ace::decode(&a).is_err());
    let mut a = ace.to_vec();
    a[0] = 4; // reserved compound ACE type
    assert!(Ace::decode(&a).is_err());
    let mut a = ace.to_vec();
    a[0] = 0x14; // unknown type
    assert!(Ace::decode(&a).is_err());
    let mut a = ace.to_vec();
    a[9] = 3; // SID claims more sub-authorities than AceSize holds
    assert!(Ace::decode(&a).is_err());
}

#[test]
fn refuses_sd_offsets_past_the_end() {
    let b = dtyp_example();
    let mut x = b.clone();
    x[4] = 0xb0; // owner offset at the very end
    assert!(SecurityDescriptor::decode(&x).is_err());
    let mut x = b.clone();
    x[8] = 0xff;
    x[9] = 0xff; // group offset far past the end
    assert_eq!(SecurityDescriptor::decode(&x), Err(Error::Truncated));
    let mut x = b.clone();
    x[12] = 4; // SACL offset inside the header
    assert!(SecurityDescriptor::decode(&x).is_err());
    let mut x = b.clone();
    x[0] = 2; // revision
    assert!(SecurityDescriptor::decode(&x).is_err());
    assert!(SecurityDescriptor::decode(&b[..19]).is_err());
    assert!(SecurityDescriptor::decode(&b[..0xa8]).is_err());
}

#[test]
fn null_dacl_and_filter() {
    let sd = SecurityDescriptor::decode(&dtyp_example()).unwrap();
    let f = sd.filter(OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION);
    assert_eq!(f.owner, sd.owner);
    assert_eq!(f.group, None);
    assert_eq!(f.sacl, None);
    assert_eq!(f.dacl, sd.dacl);
    assert_eq!(
        f.control,
        control::SELF_RELATIVE | control::DACL_PRESENT | control::DACL_PROTECTED
    );
    let l = sd.filter(LABEL_SECURITY_INFORMATION);
    assert_eq!(l.sacl.as_ref().map(|a| a.aces.len()), Some(0));
    // NULL DACL: present bit with offset 0.
    let null = SecurityDescriptor {
        control: control::DACL_PRESENT,
        ..Default::default()
    };
    let b = null.to_vec().unwrap();
    assert_eq!(b.len(), 20);
    let d = SecurityDescriptor::decode(&b).unwrap();
    assert_eq!(d.control, control::DACL_PRESENT | control::SELF_RELATIVE);
    assert_eq!(d.dacl, None);
}

#[test]
fn object_ace_round_trip() {
    let ace = Ace {
        ace_type: ace_type::ACCESS_ALLOWED_OBJECT,
        ace_flags: 0,
        mask: 0x100,
        object: Some(ObjectAceData {
            flags: ACE_OBJECT_TYPE_PRESENT,
            object_type: Some(Guid([9; 16])),
            inherited_object_type: None,
        }),
        sid: Sid::authenticated_users(),
        application_data: vec![],
    };
    let mut out = BytesMut::new();
    ace.encode(&mut out).unwrap();
    assert_eq!(out.len(), 4 + 4 + 4 + 16 + 12);
    assert_eq!(Ace::decode(&out).unwrap(), (ace.clone(), out.len()));
    // An object ACE type without object data cannot be encoded.
    let bad = Ace {
        object: None,
        ..ace
    };
    assert!(bad.encode(&mut BytesMut::new()).is_err());
}

fn sid() -> impl Strategy<Value = Sid> {
    (any::<[u8; 6]>(), vec(any::<u32>(), 0..=15)).prop_map(|(a, s)| Sid {
        revision: 1,
        identifier_authority: a,
        sub_authorities: s,
    })
}

fn guid() -> impl Strategy<Value = Option<Guid>> {
    proptest::option::of(any::<[u8; 16]>().prop_map(Guid))
}

fn ace() -> impl Strategy<Value = Ace> {
    (
        (0u8..=0x13).prop_filter("reserved", |t| *t != 4),
        any::<u8>(),
        any::<u32>(),
        (any::<u32>(), guid(), guid()),
        sid(),
        vec(any::<[u8; 4]>(), 0..4),
    )
        .prop_map(|(t, f, mask, (of, o1, o2), sid, data)| Ace {
            ace_type: t,
            ace_flags: f,
            mask,
            object: ace_type::is_object(t).then(|| {
                let mut flags = of & !3;
                if o1.is_some() {
                    flags |= ACE_OBJECT_TYPE_PRESENT;
                }
                if o2.is_some() {
                    flags |= ACE_INHERITED_OBJECT_TYPE_PRESENT;
                }
                ObjectAceData {
                    flags,
                    object_type: o1,
                    inherited_object_type: o2,
                }
            }),
            sid,
            application_data: data.concat(),
        })
}

fn acl() -> impl Strategy<Value = Acl> {
    (2u8..=4, vec(ace(), 0..5)).prop_map(|(acl_revision, aces)| Acl { acl_revision, aces })
}

proptest! {
    #[test]
    fn sid_round_trip(s in sid()) {
        let mut out = BytesMut::new();
        s.encode(&mut out).unwrap();
        prop_assert_eq!(Sid::decode(&out).unwrap(), s.clone());
        prop_assert_eq!(s.to_string().parse::<Sid>().unwrap(), s);
    }

    #[test]
    fn acl_round_trip(a in acl()) {
        let mut out = BytesMut::new();
        a.encode(&mut out).unwrap();
        prop_assert_eq!(out.len(), a.len());
        prop_assert_eq!(Acl::decode(&out).unwrap(), a);
    }

    #[test]
    fn sd_round_trip(control in any::<u16>(), owner in proptest::option::of(sid()),
                     group in proptest::option::of(sid()), sacl in proptest::option::of(acl()),
                     dacl in proptest::option::of(acl())) {
        let sd = SecurityDescriptor { control, owner, group, sacl, dacl };
        let b = sd.to_vec().unwrap();
        let mut expect = sd.clone();
        expect.control |= control::SELF_RELATIVE;
        if sd.sacl.is_some() { expect.control |= control::SACL_PRESENT; }
        if sd.dacl.is_some() { expect.control |= control::DACL_PRESENT; }
        prop_assert_eq!(SecurityDescriptor::decode(&b).unwrap(), expect);
    }

    #[test]
    fn decoders_never_panic(b in vec(any::<u8>(), 0..256)) {
        let _ = Sid::decode(&b);
        let _ = Ace::decode(&b);
        let _ = Acl::decode(&b);
        let _ = SecurityDescriptor::decode(&b);
    }

    #[test]
    fn sd_decoder_never_panics_on_mutated_example(i in 0usize..0xb0, v in any::<u8>()) {
        let mut b = dtyp_example();
        b[i] = v;
        let _ = SecurityDescriptor::decode(&b);
    }

    #[test]
    fn sid_from_str_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<Sid>();
    }
}
