//! SMB2 CANCEL request (there is no response) (MS-SMB2 2.2.30): a 4-byte body of StructureSize 4 and Reserved.

super::reserved_body_message!(
    /// SMB2 CANCEL request: no fields besides StructureSize and Reserved.
    CancelRequest
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Bytes, BytesMut, Error, HEADER_LEN};
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        CancelRequest.encode(&mut out);
        assert_eq!(&out[HEADER_LEN..], &[4, 0, 0, 0]);
        let m = out.freeze();
        assert_eq!(CancelRequest::decode(&m), Ok(CancelRequest));
        assert_eq!(
            CancelRequest::decode(&m.slice(..HEADER_LEN + 2)),
            Err(Error::Truncated)
        );
        let mut b = m.to_vec();
        b[HEADER_LEN] = 5;
        assert_eq!(
            CancelRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("StructureSize"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let m = Bytes::from(b);
            let _ = CancelRequest::decode(&m);
        }
    }
}
