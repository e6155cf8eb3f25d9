//! Just enough SMB1 to answer a multi-protocol negotiate (MS-SMB2 3.3.5.3, MS-CIFS 2.2.4.52.1):
//! recognise an SMB_COM_NEGOTIATE and list its dialect strings, so the server can tell
//! "SMB 2.002" from "SMB 2.???" and reply with an SMB2 NEGOTIATE response.
use super::negotiate::Dialect;
use super::{Error, Result};

/// ProtocolId of an SMB1 message: 0xFF 'S' 'M' 'B'.
pub const SMB1_MAGIC: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// SMB_COM_NEGOTIATE.
pub const SMB_COM_NEGOTIATE: u8 = 0x72;
/// Length of the SMB1 header.
pub const SMB1_HEADER_LEN: usize = 32;
/// The dialect string of SMB 2.0.2.
pub const DIALECT_SMB2_002: &str = "SMB 2.002";
/// The dialect string meaning "SMB 2.1 or later".
pub const DIALECT_SMB2_WILDCARD: &str = "SMB 2.???";
/// Most dialect strings accepted (Windows sends about 10).
pub const MAX_SMB1_DIALECTS: usize = 64;

/// True when `frame` starts with an SMB1 header (whatever the command).
pub fn is_smb1(frame: &[u8]) -> bool {
    frame.get(..4) == Some(&SMB1_MAGIC[..])
}

/// Parses an SMB1 NEGOTIATE request and returns its dialect strings in order. Strings are
/// decoded as Latin-1-compatible ASCII (other bytes become U+FFFD).
pub fn parse_negotiate(frame: &[u8]) -> Result<Vec<String>> {
    let h = frame.get(..SMB1_HEADER_LEN).ok_or(Error::Truncated)?;
    if h[..4] != SMB1_MAGIC {
        return Err(Error::Invalid("ProtocolId"));
    }
    if h[4] != SMB_COM_NEGOTIATE {
        return Err(Error::Invalid("Command"));
    }
    let word_count = *frame.get(SMB1_HEADER_LEN).ok_or(Error::Truncated)? as usize;
    let bc_at = SMB1_HEADER_LEN + 1 + 2 * word_count;
    let bc = frame.get(bc_at..bc_at + 2).ok_or(Error::Truncated)?;
    let byte_count = u16::from_le_bytes([bc[0], bc[1]]) as usize;
    let mut bytes = frame
        .get(bc_at + 2..bc_at + 2 + byte_count)
        .ok_or(Error::Truncated)?;
    let mut dialects = Vec::new();
    while let Some((&format, rest)) = bytes.split_first() {
        if format != 0x02 {
            return Err(Error::Invalid("BufferFormat"));
        }
        if dialects.len() == MAX_SMB1_DIALECTS {
            return Err(Error::Invalid("dialect count"));
        }
        let nul = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(Error::Invalid("dialect string"))?;
        dialects.push(String::from_utf8_lossy(&rest[..nul]).into_owned());
        bytes = &rest[nul + 1..];
    }
    Ok(dialects)
}

/// The SMB2 dialect to answer an SMB1 NEGOTIATE with (MS-SMB2 3.3.5.3.1): the wildcard
/// 0x02FF when "SMB 2.???" is offered and the server supports 2.1 or later, else 2.0.2 when
/// "SMB 2.002" is offered, else `None` (the server then drops the connection).
pub fn smb2_dialect_for(dialects: &[String], server_supports_21_or_later: bool) -> Option<Dialect> {
    let has = |s: &str| dialects.iter().any(|d| d == s);
    if server_supports_21_or_later && has(DIALECT_SMB2_WILDCARD) {
        Some(Dialect::WILDCARD)
    } else if has(DIALECT_SMB2_002) {
        Some(Dialect::SMB202)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn negotiate(dialects: &[&str]) -> Vec<u8> {
        let mut f = SMB1_MAGIC.to_vec();
        f.push(SMB_COM_NEGOTIATE);
        f.extend_from_slice(&[0; 4]); // Status
        f.push(0x18); // Flags
        f.extend_from_slice(&[0x53, 0xC8]); // Flags2
        f.extend_from_slice(&[0; 20]); // PIDHigh..MID
        let mut b = Vec::new();
        for d in dialects {
            b.push(2);
            b.extend_from_slice(d.as_bytes());
            b.push(0);
        }
        f.push(0); // WordCount
        f.extend_from_slice(&(b.len() as u16).to_le_bytes());
        f.extend(b);
        f
    }

    #[test]
    fn windows_multi_protocol_negotiate() {
        let f = negotiate(&["NT LM 0.12", DIALECT_SMB2_002, DIALECT_SMB2_WILDCARD]);
        assert_eq!(f.len(), 32 + 3 + 12 + 11 + 11);
        assert!(is_smb1(&f));
        let d = parse_negotiate(&f).unwrap();
        assert_eq!(d, vec!["NT LM 0.12", "SMB 2.002", "SMB 2.???"]);
        assert_eq!(smb2_dialect_for(&d, true), Some(Dialect::WILDCARD));
        assert_eq!(smb2_dialect_for(&d, false), Some(Dialect::SMB202));
        let d = parse_negotiate(&negotiate(&["NT LM 0.12"])).unwrap();
        assert_eq!(smb2_dialect_for(&d, true), None);
    }

    #[test]
    fn refuses_malformed() {
        let f = negotiate(&["SMB 2.002"]);
        assert_eq!(parse_negotiate(&f[..f.len() - 1]), Err(Error::Truncated));
        let mut g = f.clone();
        g[35] = 1; // BufferFormat
        assert_eq!(parse_negotiate(&g), Err(Error::Invalid("BufferFormat")));
        let mut g = f.clone();
        let n = g.len();
        g[n - 1] = b'x'; // no NUL
        assert_eq!(parse_negotiate(&g), Err(Error::Invalid("dialect string")));
        let mut g = f;
        g[4] = 0x73;
        assert_eq!(parse_negotiate(&g), Err(Error::Invalid("Command")));
        let many: Vec<&str> = std::iter::repeat_n("a", MAX_SMB1_DIALECTS + 1).collect();
        assert_eq!(
            parse_negotiate(&negotiate(&many)),
            Err(Error::Invalid("dialect count"))
        );
    }

    proptest! {
        #[test]
        fn round_trip(d in proptest::collection::vec("[ -~]{0,12}", 0..10)) {
            let refs: Vec<&str> = d.iter().map(|s| s.as_str()).collect();
            prop_assert_eq!(parse_negotiate(&negotiate(&refs)).unwrap(), d);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut b = b;
            if b.len() > 4 { b[..4].copy_from_slice(&SMB1_MAGIC); b[4] = SMB_COM_NEGOTIATE; }
            let _ = parse_negotiate(&b);
        }
    }
}
