//! One handler per command (MS-SMB2 3.3.5.x). Each takes the verified request context and
//! returns a [`super::dispatch::Reply`] or an NTSTATUS.
pub mod close;
pub mod create;
pub mod dir;
pub mod echo;
pub mod files;
pub mod flush;
pub mod fsctl;
pub mod info;
pub mod ioctl;
pub mod lock;
pub mod logoff;
pub mod negotiate;
pub mod notify;
pub mod oplock_break;
pub mod pipe;
pub mod read;
pub mod session_setup;
pub mod tree_connect;
pub mod write;

use crate::wire::{BytesMut, NtStatus};

/// Decoding failures of a request body are STATUS_INVALID_PARAMETER (MS-SMB2 3.3.5.2.6).
pub fn bad_request(_: crate::wire::Error) -> NtStatus {
    NtStatus::INVALID_PARAMETER
}

/// Encodes a response body through its `encode` method into a fresh buffer.
pub fn body_of(encode: impl FnOnce(&mut BytesMut)) -> BytesMut {
    let mut b = BytesMut::with_capacity(128);
    encode(&mut b);
    b
}
