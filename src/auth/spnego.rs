//! SPNEGO tokens: a minimal, strictly bounds-checked DER reader/writer and the
//! NegTokenInit / NegTokenInit2 / NegTokenResp messages.
//!
//! Implements RFC 4178 4.2 (NegotiationToken, NegTokenInit, NegTokenResp, MechTypeList),
//! MS-SPNG 2.2.1 (NegTokenInit2 with negHints) and RFC 2743 3.1 (the 0x60
//! InitialContextToken framing with the SPNEGO OID 1.3.6.1.5.5.2). Only definite-length,
//! low-tag-number encodings are accepted; nesting is limited to [`MAX_DEPTH`] levels.

/// Maximum nesting of constructed DER elements accepted in a token.
pub const MAX_DEPTH: usize = 12;

/// DER contents of OID 1.3.6.1.5.5.2 (SPNEGO).
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// DER contents of OID 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// The negHints hintName Windows and Samba servers send (MS-SPNG 3.2.5.2).
pub const HINT_NAME: &str = "not_defined_in_RFC4178@please_ignore";

/// negState accept-completed.
pub const NEG_STATE_ACCEPT_COMPLETED: u8 = 0;
/// negState accept-incomplete.
pub const NEG_STATE_ACCEPT_INCOMPLETE: u8 = 1;
/// negState reject.
pub const NEG_STATE_REJECT: u8 = 2;
/// negState request-mic.
pub const NEG_STATE_REQUEST_MIC: u8 = 3;

const TAG_ENUMERATED: u8 = 0x0a;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_GENERAL_STRING: u8 = 0x1b;
const TAG_APPLICATION_0: u8 = 0x60;

/// Context-specific constructed tag `[n]`.
const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// A DER decoding error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerError(pub &'static str);

/// One decoded TLV.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    /// The (single-byte) tag.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// The whole element, tag and length included.
    pub raw: &'a [u8],
}

/// Reads one TLV from the front of `buf`; returns it and the remaining bytes.
pub fn read_tlv(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = buf.split_first().ok_or(DerError("truncated DER element"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("high tag numbers are not supported"));
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated DER length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(DerError("indefinite lengths are not DER"));
        }
        if n > 4 {
            return Err(DerError("DER length too large"));
        }
        let bytes = rest.get(..n).ok_or(DerError("truncated DER length"))?;
        rest = &rest[n..];
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if len > rest.len() {
        return Err(DerError("DER length exceeds the buffer"));
    }
    let header = buf.len() - rest.len();
    let (value, remaining) = rest.split_at(len);
    let raw = &buf[..header + len];
    Ok((Tlv { tag, value, raw }, remaining))
}

/// Reads exactly one TLV with tag `tag` that fills `buf`.
fn expect_tlv(buf: &[u8], tag: u8) -> Result<&[u8], DerError> {
    let (t, rest) = read_tlv(buf)?;
    if t.tag != tag {
        return Err(DerError("unexpected DER tag"));
    }
    if !rest.is_empty() {
        return Err(DerError("trailing bytes in DER element"));
    }
    Ok(t.value)
}

/// Checks that constructed elements in `buf` (a sequence of TLVs) nest at most `depth` levels.
pub fn check_depth(buf: &[u8], depth: usize) -> Result<(), DerError> {
    let mut rest = buf;
    while !rest.is_empty() {
        let (t, r) = read_tlv(rest)?;
        if t.tag & 0x20 != 0 {
            if depth == 0 {
                return Err(DerError("DER nesting too deep"));
            }
            check_depth(t.value, depth - 1)?;
        }
        rest = r;
    }
    Ok(())
}

/// Encodes a TLV with a definite, minimal length.
pub fn write_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// Encodes a MechTypeList (SEQUENCE OF OID) from OID contents.
pub fn encode_mech_type_list(mechs: &[&[u8]]) -> Vec<u8> {
    let inner: Vec<u8> = mechs.iter().flat_map(|m| write_tlv(TAG_OID, m)).collect();
    write_tlv(TAG_SEQUENCE, &inner)
}

/// NegTokenInit (RFC 4178 4.2.1), as a client sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegTokenInit {
    /// mechTypes: the OIDs' contents octets, in the client's order of preference.
    pub mech_types: Vec<Vec<u8>>,
    /// The DER encoding of the MechTypeList exactly as received (input of the mechListMIC).
    pub mech_types_der: Vec<u8>,
    /// mechToken (the optimistic token for the first mechanism).
    pub mech_token: Option<Vec<u8>>,
}

impl NegTokenInit {
    /// Builds a NegTokenInit from a mechanism list and optional token.
    pub fn new(mech_types: Vec<Vec<u8>>, mech_token: Option<Vec<u8>>) -> Self {
        let refs: Vec<&[u8]> = mech_types.iter().map(Vec::as_slice).collect();
        let mech_types_der = encode_mech_type_list(&refs);
        Self {
            mech_types,
            mech_types_der,
            mech_token,
        }
    }

    /// Encodes the token with the RFC 2743 0x60 framing and the SPNEGO OID.
    pub fn encode(&self) -> Vec<u8> {
        let mut seq = write_tlv(ctx(0), &self.mech_types_der);
        if let Some(t) = &self.mech_token {
            seq.extend(write_tlv(ctx(2), &write_tlv(TAG_OCTET_STRING, t)));
        }
        frame_init(&write_tlv(TAG_SEQUENCE, &seq))
    }
}

fn frame_init(neg_token_init_seq: &[u8]) -> Vec<u8> {
    let mut inner = write_tlv(TAG_OID, OID_SPNEGO);
    inner.extend(write_tlv(ctx(0), neg_token_init_seq));
    write_tlv(TAG_APPLICATION_0, &inner)
}

/// NegTokenResp (RFC 4178 4.2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// negState.
    pub neg_state: Option<u8>,
    /// supportedMech (OID contents).
    pub supported_mech: Option<Vec<u8>>,
    /// responseToken.
    pub response_token: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

impl NegTokenResp {
    /// Encodes the token: `[1] SEQUENCE { ... }` (no 0x60 framing, per RFC 4178).
    pub fn encode(&self) -> Vec<u8> {
        let mut seq = Vec::new();
        if let Some(s) = self.neg_state {
            seq.extend(write_tlv(ctx(0), &write_tlv(TAG_ENUMERATED, &[s])));
        }
        if let Some(m) = &self.supported_mech {
            seq.extend(write_tlv(ctx(1), &write_tlv(TAG_OID, m)));
        }
        if let Some(t) = &self.response_token {
            seq.extend(write_tlv(ctx(2), &write_tlv(TAG_OCTET_STRING, t)));
        }
        if let Some(m) = &self.mech_list_mic {
            seq.extend(write_tlv(ctx(3), &write_tlv(TAG_OCTET_STRING, m)));
        }
        write_tlv(ctx(1), &write_tlv(TAG_SEQUENCE, &seq))
    }
}

/// A decoded NegotiationToken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiationToken {
    /// negTokenInit, with or without the 0x60 framing.
    Init(NegTokenInit),
    /// negTokenResp.
    Resp(NegTokenResp),
}

/// Splits the fields of a SEQUENCE of context-tagged elements, in strictly increasing tag
/// order, into a table indexed by tag number (0..=7).
fn context_fields(seq: &[u8]) -> Result<[Option<&[u8]>; 8], DerError> {
    let mut out: [Option<&[u8]>; 8] = [None; 8];
    let mut rest = seq;
    let mut last: Option<u8> = None;
    while !rest.is_empty() {
        let (t, r) = read_tlv(rest)?;
        if t.tag & 0xe0 != 0xa0 {
            return Err(DerError("expected a context-specific tag"));
        }
        let n = t.tag & 0x1f;
        if last.is_some_and(|l| n <= l) {
            return Err(DerError("context tags out of order"));
        }
        last = Some(n);
        if let Some(slot) = out.get_mut(usize::from(n)) {
            *slot = Some(t.value);
        }
        rest = r;
    }
    Ok(out)
}

fn decode_init_seq(body: &[u8]) -> Result<NegTokenInit, DerError> {
    let seq = expect_tlv(body, TAG_SEQUENCE)?;
    let fields = context_fields(seq)?;
    let mech_types_raw = fields[0].ok_or(DerError("NegTokenInit without mechTypes"))?;
    let (list, rest) = read_tlv(mech_types_raw)?;
    if list.tag != TAG_SEQUENCE || !rest.is_empty() {
        return Err(DerError("bad MechTypeList"));
    }
    let mut mech_types = Vec::new();
    let mut r = list.value;
    while !r.is_empty() {
        let (oid, next) = read_tlv(r)?;
        if oid.tag != TAG_OID || oid.value.is_empty() {
            return Err(DerError("bad MechType"));
        }
        mech_types.push(oid.value.to_vec());
        r = next;
    }
    let mech_token = match fields[2] {
        Some(v) => Some(expect_tlv(v, TAG_OCTET_STRING)?.to_vec()),
        None => None,
    };
    Ok(NegTokenInit {
        mech_types,
        mech_types_der: list.raw.to_vec(),
        mech_token,
    })
}

fn decode_resp_seq(body: &[u8]) -> Result<NegTokenResp, DerError> {
    let seq = expect_tlv(body, TAG_SEQUENCE)?;
    let fields = context_fields(seq)?;
    let neg_state = match fields[0] {
        Some(v) => match expect_tlv(v, TAG_ENUMERATED)? {
            [s] => Some(*s),
            _ => return Err(DerError("bad negState")),
        },
        None => None,
    };
    let octets = |f: Option<&[u8]>| -> Result<Option<Vec<u8>>, DerError> {
        f.map(|v| expect_tlv(v, TAG_OCTET_STRING).map(<[u8]>::to_vec))
            .transpose()
    };
    Ok(NegTokenResp {
        neg_state,
        supported_mech: fields[1]
            .map(|v| expect_tlv(v, TAG_OID).map(<[u8]>::to_vec))
            .transpose()?,
        response_token: octets(fields[2])?,
        mech_list_mic: octets(fields[3])?,
    })
}

/// Decodes a client NegotiationToken: `60 {OID spnego, [0] NegTokenInit}`, bare `[0]
/// NegTokenInit`, or `[1] NegTokenResp`. Bytes after the outer element are ignored.
pub fn decode_negotiation_token(buf: &[u8]) -> Result<NegotiationToken, DerError> {
    let (outer, _trailing) = read_tlv(buf)?;
    check_depth(outer.raw, MAX_DEPTH)?;
    match outer.tag {
        TAG_APPLICATION_0 => {
            let (oid, rest) = read_tlv(outer.value)?;
            if oid.tag != TAG_OID || oid.value != OID_SPNEGO {
                return Err(DerError("not an SPNEGO token"));
            }
            let inner = expect_tlv(rest, ctx(0))?;
            decode_init_seq(inner).map(NegotiationToken::Init)
        }
        t if t == ctx(0) => decode_init_seq(outer.value).map(NegotiationToken::Init),
        t if t == ctx(1) => decode_resp_seq(outer.value).map(NegotiationToken::Resp),
        _ => Err(DerError("not a NegotiationToken")),
    }
}

/// The server's NegTokenInit2 (MS-SPNG 2.2.1) advertising `mechs` with the negHints hintName.
pub fn encode_neg_token_init2(mechs: &[&[u8]]) -> Vec<u8> {
    let mut seq = write_tlv(ctx(0), &encode_mech_type_list(mechs));
    let hints = write_tlv(
        TAG_SEQUENCE,
        &write_tlv(ctx(0), &write_tlv(TAG_GENERAL_STRING, HINT_NAME.as_bytes())),
    );
    seq.extend(write_tlv(ctx(3), &hints));
    frame_init(&write_tlv(TAG_SEQUENCE, &seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn init2_bytes() {
        let b = encode_neg_token_init2(&[OID_NTLMSSP]);
        let mut expected = hex::decode(
            "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b24",
        )
        .unwrap();
        expected.extend_from_slice(HINT_NAME.as_bytes());
        assert_eq!(b, expected);
        // Our own decoder reads it as an Init with the NTLMSSP mech.
        match decode_negotiation_token(&b).unwrap() {
            NegotiationToken::Init(i) => {
                assert_eq!(i.mech_types, vec![OID_NTLMSSP.to_vec()]);
                assert_eq!(i.mech_token, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accept_completed_bytes() {
        let r = NegTokenResp {
            neg_state: Some(NEG_STATE_ACCEPT_COMPLETED),
            mech_list_mic: Some(vec![0x11; 16]),
            ..Default::default()
        };
        let mut expected = hex::decode("a11b3019a0030a0100a3120410").unwrap();
        expected.extend_from_slice(&[0x11; 16]);
        assert_eq!(r.encode(), expected);
    }

    #[test]
    fn long_lengths() {
        let v = vec![7u8; 300];
        let t = write_tlv(TAG_OCTET_STRING, &v);
        assert_eq!(&t[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tlv, rest) = read_tlv(&t).unwrap();
        assert_eq!(tlv.value, &v[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn huge_or_bad_lengths_rejected() {
        assert!(read_tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).is_err());
        assert!(read_tlv(&[0x30, 0x88, 1, 2, 3, 4, 5, 6, 7, 8]).is_err());
        assert!(read_tlv(&[0x30, 0x80, 0, 0]).is_err());
        assert!(read_tlv(&[0x30, 0x05, 1]).is_err());
        assert!(read_tlv(&[0x1f, 0x01, 0x00]).is_err());
        assert!(decode_negotiation_token(&[0xa1, 0x84, 0x7f, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn deep_nesting_rejected() {
        let mut t = write_tlv(TAG_OCTET_STRING, b"x");
        for _ in 0..100 {
            t = write_tlv(TAG_SEQUENCE, &t);
        }
        assert_eq!(
            check_depth(&t, MAX_DEPTH),
            Err(DerError("DER nesting too deep"))
        );
        let tok = write_tlv(ctx(1), &t);
        assert!(decode_negotiation_token(&tok).is_err());
        // 2000 properly nested levels: rejected without deep recursion.
        let mut deep = write_tlv(TAG_OCTET_STRING, b"x");
        for _ in 0..2000 {
            deep = write_tlv(ctx(1), &deep);
        }
        assert!(decode_negotiation_token(&deep).is_err());
    }

    fn oid() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 1..12)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_negotiation_token(&buf);
            let _ = check_depth(&buf, MAX_DEPTH);
        }

        #[test]
        fn init_round_trip(mechs in proptest::collection::vec(oid(), 1..5),
                           token in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))) {
            let i = NegTokenInit::new(mechs, token);
            prop_assert_eq!(decode_negotiation_token(&i.encode()).unwrap(), NegotiationToken::Init(i));
        }

        #[test]
        fn resp_round_trip(state in proptest::option::of(0u8..4), mech in proptest::option::of(oid()),
                           token in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
                           mic in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20))) {
            let r = NegTokenResp { neg_state: state, supported_mech: mech, response_token: token, mech_list_mic: mic };
            prop_assert_eq!(decode_negotiation_token(&r.encode()).unwrap(), NegotiationToken::Resp(r));
        }

        #[test]
        fn mutated_tokens_never_panic(idx in any::<usize>(), val in any::<u8>(), cut in any::<usize>()) {
            let i = NegTokenInit::new(vec![OID_NTLMSSP.to_vec()], Some(vec![1, 2, 3])).encode();
            let mut m = i.clone();
            let n = m.len();
            m[idx % n] = val;
            let _ = decode_negotiation_token(&m);
            let _ = decode_negotiation_token(&i[..cut % (n + 1)]);
        }
    }
}
