//! SMB2 LOCK request and response (MS-SMB2 2.2.26, 2.2.26.1, 2.2.27).
use super::{body, check_structure_size, Error, FileId, Result};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64};

/// Flags of an SMB2_LOCK_ELEMENT (MS-SMB2 2.2.26.1).
pub mod lock_flags {
    /// SMB2_LOCKFLAG_SHARED_LOCK.
    pub const SHARED_LOCK: u32 = 0x0000_0001;
    /// SMB2_LOCKFLAG_EXCLUSIVE_LOCK.
    pub const EXCLUSIVE_LOCK: u32 = 0x0000_0002;
    /// SMB2_LOCKFLAG_UNLOCK.
    pub const UNLOCK: u32 = 0x0000_0004;
    /// SMB2_LOCKFLAG_FAIL_IMMEDIATELY.
    pub const FAIL_IMMEDIATELY: u32 = 0x0000_0010;
}

/// Most lock elements one request can carry (LockCount is 16 bits).
pub const MAX_LOCK_ELEMENTS: usize = u16::MAX as usize;

/// Size of one SMB2_LOCK_ELEMENT.
const ELEMENT_LEN: usize = 24;

/// One SMB2_LOCK_ELEMENT (MS-SMB2 2.2.26.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockElement {
    /// Offset of the range.
    pub offset: u64,
    /// Length of the range.
    pub length: u64,
    /// Flags ([`lock_flags`]).
    pub flags: u32,
}

/// SMB2 LOCK Request (MS-SMB2 2.2.26).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockRequest {
    /// LockSequenceNumber (low 4 bits of the 32-bit field).
    pub lock_sequence_number: u8,
    /// LockSequenceIndex (high 28 bits of the 32-bit field).
    pub lock_sequence_index: u32,
    /// FileId.
    pub file_id: FileId,
    /// The Locks array (LockCount elements, at least one).
    pub locks: Vec<LockElement>,
}

impl LockRequest {
    /// Decodes the request in `msg`: LockCount must be at least 1 and its elements must lie
    /// inside the message.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 48)?;
        let (i, _) = le_u16(b)?;
        let (i, lock_count) = le_u16(i)?;
        let (i, seq) = le_u32(i)?;
        let (mut i, file_id) = FileId::parse(i)?;
        let count = lock_count as usize;
        if count == 0 {
            return Err(Error::Invalid("LockCount"));
        }
        if i.len() < count * ELEMENT_LEN {
            return Err(Error::Truncated);
        }
        let mut locks = Vec::with_capacity(count.min(MAX_LOCK_ELEMENTS));
        for _ in 0..count {
            let (r, offset) = le_u64(i)?;
            let (r, length) = le_u64(r)?;
            let (r, flags) = le_u32(r)?;
            let (r, _reserved) = le_u32(r)?;
            i = r;
            locks.push(LockElement {
                offset,
                length,
                flags,
            });
        }
        Ok(LockRequest {
            lock_sequence_number: (seq & 0xF) as u8,
            lock_sequence_index: seq >> 4,
            file_id,
            locks,
        })
    }

    /// Appends the body. At most [`MAX_LOCK_ELEMENTS`] elements are written; an empty
    /// `locks` writes LockCount 0 and one zeroed element (which decode refuses).
    pub fn encode(&self, out: &mut BytesMut) {
        let locks = &self.locks[..self.locks.len().min(MAX_LOCK_ELEMENTS)];
        out.put_u16_le(48);
        out.put_u16_le(locks.len() as u16);
        out.put_u32_le((self.lock_sequence_index << 4) | (self.lock_sequence_number as u32 & 0xF));
        self.file_id.encode(out);
        for l in locks {
            out.put_u64_le(l.offset);
            out.put_u64_le(l.length);
            out.put_u32_le(l.flags);
            out.put_u32_le(0);
        }
        if locks.is_empty() {
            out.put_bytes(0, ELEMENT_LEN);
        }
    }
}

/// SMB2 LOCK Response (MS-SMB2 2.2.27): StructureSize 4 and a reserved field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockResponse;

impl LockResponse {
    /// Decodes the response in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        check_structure_size(b, 4)?;
        if b.len() < 4 {
            return Err(Error::Truncated);
        }
        Ok(LockResponse)
    }

    /// Appends the 4-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(4);
        out.put_u16_le(0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::HEADER_LEN;
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    prop_compose! {
        fn request()(n in 0u8..16, idx in 0u32..(1 << 28), p: u64, v: u64,
                     locks in proptest::collection::vec(any::<(u64, u64, u32)>(), 1..20)) -> LockRequest {
            LockRequest { lock_sequence_number: n, lock_sequence_index: idx,
                file_id: FileId { persistent: p, volatile: v },
                locks: locks.into_iter().map(|(offset, length, flags)| LockElement { offset, length, flags }).collect() }
        }
    }

    proptest! {
        #[test]
        fn round_trip(r in request()) {
            prop_assert_eq!(LockRequest::decode(&frame(|o| r.encode(o))).unwrap(), r);
            prop_assert_eq!(LockResponse::decode(&frame(|o| LockResponse.encode(o))).unwrap(), LockResponse);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = LockRequest::decode(&m);
            let _ = LockResponse::decode(&m);
        }
    }

    #[test]
    fn request_vector() {
        // One exclusive, fail-immediately lock of 10 bytes at 0; sequence number 3, index 5.
        let body = hex::decode(concat!(
            "3000",
            "0100",
            "53000000",
            "0100000000000000",
            "0200000000000000",
            "0000000000000000",
            "0a00000000000000",
            "12000000",
            "00000000"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let r = LockRequest::decode(&m).unwrap();
        assert_eq!((r.lock_sequence_number, r.lock_sequence_index), (3, 5));
        assert_eq!(
            r.locks,
            vec![LockElement {
                offset: 0,
                length: 10,
                flags: lock_flags::EXCLUSIVE_LOCK | lock_flags::FAIL_IMMEDIATELY
            }]
        );
        assert_eq!(&frame(|o| r.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_zero_count_short_array_and_bad_size() {
        let r = LockRequest {
            locks: vec![LockElement::default(); 2],
            ..Default::default()
        };
        let good = frame(|o| r.encode(o)).to_vec();
        let mut m = good.clone();
        m[HEADER_LEN + 2] = 0;
        assert_eq!(
            LockRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("LockCount"))
        );
        let mut m = good.clone();
        m[HEADER_LEN + 2] = 3;
        assert_eq!(LockRequest::decode(&Bytes::from(m)), Err(Error::Truncated));
        let mut m = good.clone();
        m[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(LockRequest::decode(&Bytes::from(m)), Err(Error::Truncated));
        let mut m = good;
        m[HEADER_LEN] = 24;
        assert_eq!(
            LockRequest::decode(&Bytes::from(m)),
            Err(Error::Invalid("StructureSize"))
        );
    }
}
