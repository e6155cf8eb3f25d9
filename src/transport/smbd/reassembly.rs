//! Reassembly of upper-layer messages from data transfer messages (MS-SMBD 3.1.5.8): a
//! message is the data of consecutive packets, the last one with RemainingDataLength 0.
//!
//! Bounds: the first fragment announces the total (its DataLength + RemainingDataLength),
//! which must not exceed MaxFragmentedSize; each later fragment must continue the count
//! exactly (RemainingDataLength decreases by DataLength). Memory held is at most the
//! announced total, which is bounded.
use bytes::{Bytes, BytesMut};

/// Why a fragment was refused (the connection is then dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassemblyError {
    /// The announced message is larger than MaxFragmentedSize.
    TooLarge,
    /// A fragment does not continue the announced count.
    Inconsistent,
}

/// Reassembles one upper-layer message at a time.
#[derive(Debug)]
pub struct Reassembler {
    max: usize,
    buf: BytesMut,
    /// Bytes still expected for the message in progress (0: none in progress).
    expected: usize,
}

impl Reassembler {
    /// A reassembler for messages of at most `max_fragmented_size` bytes.
    pub fn new(max_fragmented_size: u32) -> Self {
        Reassembler {
            max: max_fragmented_size as usize,
            buf: BytesMut::new(),
            expected: 0,
        }
    }

    /// Whether a message is partly received.
    pub fn in_progress(&self) -> bool {
        self.expected != 0
    }

    /// Takes one fragment (a packet's data, non-empty) and its RemainingDataLength; returns
    /// the whole message when this was the last fragment.
    pub fn push(&mut self, data: Bytes, remaining: u32) -> Result<Option<Bytes>, ReassemblyError> {
        let remaining = remaining as usize;
        if data.is_empty() {
            return Err(ReassemblyError::Inconsistent);
        }
        if self.expected == 0 {
            let total = data
                .len()
                .checked_add(remaining)
                .ok_or(ReassemblyError::TooLarge)?;
            if total > self.max {
                return Err(ReassemblyError::TooLarge);
            }
            if remaining == 0 {
                return Ok(Some(data)); // single-packet message: no copy
            }
            self.buf = BytesMut::with_capacity(total);
            self.buf.extend_from_slice(&data);
            self.expected = remaining;
            return Ok(None);
        }
        if data.len() > self.expected || self.expected - data.len() != remaining {
            return Err(ReassemblyError::Inconsistent);
        }
        self.buf.extend_from_slice(&data);
        self.expected = remaining;
        if remaining == 0 {
            return Ok(Some(std::mem::take(&mut self.buf).freeze()));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_fragment() {
        let mut r = Reassembler::new(1000);
        assert_eq!(
            r.push(Bytes::from_static(b"abc"), 0).unwrap().unwrap(),
            &b"abc"[..]
        );
        assert_eq!(r.push(Bytes::from_static(b"ab"), 4).unwrap(), None);
        assert!(r.in_progress());
        assert_eq!(r.push(Bytes::from_static(b"cd"), 2).unwrap(), None);
        assert_eq!(
            r.push(Bytes::from_static(b"ef"), 0).unwrap().unwrap(),
            &b"abcdef"[..]
        );
        assert!(!r.in_progress());
    }

    #[test]
    fn bounded_and_consistent() {
        let mut r = Reassembler::new(100);
        assert_eq!(
            r.push(Bytes::from_static(b"a"), 100),
            Err(ReassemblyError::TooLarge)
        );
        assert_eq!(
            r.push(Bytes::from_static(b"a"), u32::MAX),
            Err(ReassemblyError::TooLarge)
        );
        let mut r = Reassembler::new(100);
        r.push(Bytes::from_static(b"ab"), 4).unwrap();
        // Claims more than was announced.
        assert_eq!(
            r.push(Bytes::from_static(b"cdefg"), 0),
            Err(ReassemblyError::Inconsistent)
        );
        let mut r = Reassembler::new(100);
        r.push(Bytes::from_static(b"ab"), 4).unwrap();
        // RemainingDataLength does not follow.
        assert_eq!(
            r.push(Bytes::from_static(b"cd"), 3),
            Err(ReassemblyError::Inconsistent)
        );
        assert_eq!(r.push(Bytes::new(), 0), Err(ReassemblyError::Inconsistent));
    }
}
