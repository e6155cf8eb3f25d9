//! SMB2 LOGOFF request and response (MS-SMB2 2.2.7, 2.2.8): a 4-byte body of StructureSize 4 and Reserved.

super::reserved_body_message!(
    /// SMB2 LOGOFF request: no fields besides StructureSize and Reserved.
    LogoffRequest
);

super::reserved_body_message!(
    /// SMB2 LOGOFF response: no fields besides StructureSize and Reserved.
    LogoffResponse
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Bytes, BytesMut, Error, HEADER_LEN};
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut out = BytesMut::from(&[0u8; HEADER_LEN][..]);
        LogoffRequest.encode(&mut out);
        assert_eq!(&out[HEADER_LEN..], &[4, 0, 0, 0]);
        let m = out.freeze();
        assert_eq!(LogoffRequest::decode(&m), Ok(LogoffRequest));
        assert_eq!(LogoffResponse::decode(&m), Ok(LogoffResponse));
        assert_eq!(
            LogoffRequest::decode(&m.slice(..HEADER_LEN + 2)),
            Err(Error::Truncated)
        );
        let mut b = m.to_vec();
        b[HEADER_LEN] = 5;
        assert_eq!(
            LogoffRequest::decode(&Bytes::from(b)),
            Err(Error::Invalid("StructureSize"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let m = Bytes::from(b);
            let _ = LogoffRequest::decode(&m);
            let _ = LogoffResponse::decode(&m);
        }
    }
}
