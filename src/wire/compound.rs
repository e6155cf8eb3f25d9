//! Compounded messages (MS-SMB2 3.2.4.1.4, 3.3.5.2.7): splitting a received frame into its
//! messages by NextCommand, and building a compounded response frame.
use super::header::{offsets, SMB2_MAGIC};
use super::{Bytes, BytesMut, Error, Result, HEADER_LEN};
use std::ops::Range;

/// Splits a frame (one transport message, already decrypted/decompressed) into its compounded
/// messages. Each slice runs from its header to the next message's header, so it includes the
/// padding, which the message's signature covers. Every element must start with an SMB2
/// header; a non-zero NextCommand must be at least 64, a multiple of 8 and leave the next
/// header inside the frame, so the walk only moves forward. More than `max_elements`
/// messages is an error.
pub fn split_compound(frame: &Bytes, max_elements: usize) -> Result<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        if out.len() >= max_elements {
            return Err(Error::Invalid("compound element count"));
        }
        let h = frame
            .get(pos..)
            .and_then(|r| r.get(..HEADER_LEN))
            .ok_or(Error::Truncated)?;
        if h[..4] != SMB2_MAGIC {
            return Err(Error::Invalid("ProtocolId"));
        }
        let n = offsets::NEXT_COMMAND;
        let next = u32::from_le_bytes([h[n], h[n + 1], h[n + 2], h[n + 3]]) as usize;
        if next == 0 {
            out.push(frame.slice(pos..));
            return Ok(out);
        }
        if next < HEADER_LEN || !next.is_multiple_of(8) {
            return Err(Error::Invalid("NextCommand"));
        }
        let end = pos.checked_add(next).ok_or(Error::Invalid("NextCommand"))?;
        if end >= frame.len() {
            return Err(Error::Invalid("NextCommand"));
        }
        out.push(frame.slice(pos..end));
        pos = end;
    }
}

/// Builds a compounded frame out of encoded messages (each starting with its 64-byte header).
/// Each message but the last is padded to 8 bytes and gets NextCommand set to its padded
/// length; the last gets NextCommand 0. [`CompoundBuilder::finish`] returns the frame and the
/// byte range of each message (padding included) so each can then be signed in place.
#[derive(Debug, Default)]
pub struct CompoundBuilder {
    frame: BytesMut,
    ranges: Vec<Range<usize>>,
}

impl CompoundBuilder {
    /// An empty builder.
    pub fn new() -> CompoundBuilder {
        CompoundBuilder::default()
    }

    /// Appends one encoded message. Messages shorter than a header are refused.
    pub fn push(&mut self, msg: &[u8]) -> Result<()> {
        if msg.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if let Some(prev) = self.ranges.last_mut() {
            super::pad_to(&mut self.frame, prev.start, 8);
            prev.end = self.frame.len();
            let next = (prev.end - prev.start).min(u32::MAX as usize) as u32;
            let at = prev.start + offsets::NEXT_COMMAND;
            self.frame[at..at + 4].copy_from_slice(&next.to_le_bytes());
        }
        let start = self.frame.len();
        self.frame.extend_from_slice(msg);
        let at = start + offsets::NEXT_COMMAND;
        self.frame[at..at + 4].copy_from_slice(&[0; 4]);
        self.ranges.push(start..self.frame.len());
        Ok(())
    }

    /// Number of messages appended.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when no message was appended.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The frame and the range of each message in it.
    pub fn finish(self) -> (BytesMut, Vec<Range<usize>>) {
        (self.frame, self.ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::{Command, Header};
    use proptest::prelude::*;

    fn message(cmd: u16, body_len: usize) -> Vec<u8> {
        let mut out = BytesMut::new();
        Header {
            command: Command(cmd),
            message_id: cmd as u64,
            ..Default::default()
        }
        .encode(&mut out);
        out.extend_from_slice(&vec![0xAB; body_len]);
        out.to_vec()
    }

    fn build(msgs: &[Vec<u8>]) -> (BytesMut, Vec<Range<usize>>) {
        let mut b = CompoundBuilder::new();
        for m in msgs {
            b.push(m).unwrap();
        }
        b.finish()
    }

    #[test]
    fn build_then_split() {
        let msgs = vec![message(5, 57), message(16, 41), message(6, 24)];
        let (frame, ranges) = build(&msgs);
        assert_eq!(ranges, vec![0..128, 128..240, 240..328]);
        assert_eq!(&frame[20..24], &[128, 0, 0, 0]);
        assert_eq!(&frame[128 + 20..128 + 24], &[112, 0, 0, 0]);
        assert_eq!(&frame[240 + 20..240 + 24], &[0, 0, 0, 0]);
        let frame = frame.freeze();
        let parts = split_compound(&frame, 8).unwrap();
        assert_eq!(parts.len(), 3);
        for (p, r) in parts.iter().zip(&ranges) {
            assert_eq!(&p[..], &frame[r.clone()]);
        }
        assert_eq!(Header::decode(&parts[1]).unwrap().command, Command(16));
    }

    #[test]
    fn refuses_bad_chains() {
        let msgs = vec![message(5, 60), message(6, 24)];
        let (frame, _) = build(&msgs);
        let set_next = |v: u32| {
            let mut f = frame.to_vec();
            f[20..24].copy_from_slice(&v.to_le_bytes());
            Bytes::from(f)
        };
        // Misaligned.
        assert_eq!(
            split_compound(&set_next(68), 8),
            Err(Error::Invalid("NextCommand"))
        );
        // Shorter than a header (including a self loop of 0 is "last", so try 8).
        assert_eq!(
            split_compound(&set_next(8), 8),
            Err(Error::Invalid("NextCommand"))
        );
        // Past the end.
        assert_eq!(
            split_compound(&set_next(1 << 20), 8),
            Err(Error::Invalid("NextCommand"))
        );
        assert_eq!(
            split_compound(&set_next(u32::MAX - 7), 8),
            Err(Error::Invalid("NextCommand"))
        );
        // Points at the very end: no room for the next header.
        assert_eq!(
            split_compound(&set_next(frame.len() as u32), 8),
            Err(Error::Invalid("NextCommand"))
        );
        // Leaves less than a header.
        assert_eq!(
            split_compound(&set_next(frame.len() as u32 - 8), 8),
            Err(Error::Truncated)
        );
        // Too many elements.
        assert_eq!(
            split_compound(&frame.clone().freeze(), 1),
            Err(Error::Invalid("compound element count"))
        );
        assert_eq!(split_compound(&Bytes::new(), 8), Err(Error::Truncated));
        // Not an SMB2 header.
        let mut f = frame.to_vec();
        f[0] = 0xFD;
        assert_eq!(
            split_compound(&Bytes::from(f), 8),
            Err(Error::Invalid("ProtocolId"))
        );
        // A loop cannot be expressed: NextCommand is relative and >= 64, so the walk ends.
        let mut f = Vec::new();
        for _ in 0..10 {
            let mut m = message(13, 0);
            m[20] = 64;
            f.extend(m);
        }
        assert_eq!(
            split_compound(&Bytes::from(f), 100),
            Err(Error::Invalid("NextCommand"))
        );
        assert!(CompoundBuilder::new().push(&[0; 10]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(lens in proptest::collection::vec(0usize..100, 1..6)) {
            let msgs: Vec<Vec<u8>> = lens.iter().enumerate()
                .map(|(i, l)| message(i as u16, *l)).collect();
            let (frame, ranges) = build(&msgs);
            let frame = frame.freeze();
            let parts = split_compound(&frame, 16).unwrap();
            prop_assert_eq!(parts.len(), msgs.len());
            for ((p, r), m) in parts.iter().zip(&ranges).zip(&msgs) {
                prop_assert_eq!(&p[..], &frame[r.clone()]);
                prop_assert_eq!(&p[HEADER_LEN..m.len()], &m[HEADER_LEN..]);
                prop_assert_eq!(r.start % 8, 0);
            }
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..400), max in 0usize..10) {
            let mut b = b;
            if b.len() >= 4 { b[..4].copy_from_slice(&SMB2_MAGIC); }
            let _ = split_compound(&Bytes::from(b), max);
        }
    }
}
