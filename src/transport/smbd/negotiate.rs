//! SMB Direct negotiation on the server (MS-SMBD 3.1.5.7, defaults from 3.1.1.1).
//!
//! The client's first message is a negotiate request; the server answers with a negotiate
//! response carrying the negotiated sizes, or a failure status after which it disconnects.
use crate::wire::smbd::{NegotiateRequest, NegotiateResponse, SMBD_VERSION_1};
use crate::wire::NtStatus;
use std::time::Duration;

/// Smallest MaxReceiveSize a peer may announce (MS-SMBD 3.1.5.7: 128).
pub const MIN_RECEIVE_SIZE: u32 = 128;
/// Smallest MaxFragmentedSize a peer may announce (MS-SMBD 3.1.5.7: 131072).
pub const MIN_FRAGMENTED_SIZE: u32 = 131_072;

/// The server's SMB Direct settings (MS-SMBD 3.1.1.1 ADM elements, with its defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// ReceiveCreditMax: receives the server keeps posted for one connection at most.
    pub receive_credit_max: u16,
    /// SendCreditTarget: send credits the server asks the peer for.
    pub send_credit_target: u16,
    /// MaxSendSize: the largest message the server sends.
    pub max_send_size: u32,
    /// MaxReceiveSize: the largest message the server receives (its receive buffer size).
    pub max_receive_size: u32,
    /// MaxFragmentedSize: the largest upper-layer message the server reassembles.
    pub max_fragmented_size: u32,
    /// MaxReadWriteSize: the largest RDMA Read/Write for one request.
    pub max_read_write_size: u32,
    /// KeepaliveInterval: idle time before a keep-alive asks the peer to answer.
    pub keepalive_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            receive_credit_max: 255,
            send_credit_target: 255,
            max_send_size: 1364,
            max_receive_size: 8192,
            max_fragmented_size: 1 << 20,
            max_read_write_size: 1 << 20,
            keepalive_interval: Duration::from_secs(120),
        }
    }
}

/// What negotiation settled for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Largest message this side sends: min(MaxSendSize, peer's MaxReceiveSize).
    pub max_send_size: u32,
    /// Largest message this side accepts: the server's MaxReceiveSize (its buffer size).
    pub max_receive_size: u32,
    /// Largest upper-layer message this side sends (the peer's MaxFragmentedSize).
    pub max_fragmented_send_size: u32,
    /// Largest upper-layer message this side reassembles.
    pub max_fragmented_receive_size: u32,
    /// Largest RDMA Read/Write for one request.
    pub max_read_write_size: u32,
    /// Receives kept posted at most (ReceiveCreditMax).
    pub receive_credit_max: u16,
    /// The send credits asked of the peer.
    pub send_credit_target: u16,
    /// The peer's credit target (its CreditsRequested), bounded by ReceiveCreditMax.
    pub receive_credit_target: u16,
    /// Keep-alive interval.
    pub keepalive_interval: Duration,
}

/// Answers a negotiate request (MS-SMBD 3.1.5.7). `Ok` carries the parameters to use and a
/// response whose CreditsGranted is still 0 (the caller fills it from the posted receives);
/// `Err` a failure response to send before disconnecting.
pub fn negotiate(
    cfg: &Config,
    req: &NegotiateRequest,
) -> Result<(Params, NegotiateResponse), NegotiateResponse> {
    let fail = |status: NtStatus| NegotiateResponse {
        min_version: SMBD_VERSION_1,
        max_version: SMBD_VERSION_1,
        negotiated_version: 0,
        credits_requested: 0,
        credits_granted: 0,
        status: status.0,
        max_read_write_size: 0,
        preferred_send_size: 0,
        max_receive_size: 0,
        max_fragmented_size: 0,
    };
    if req.min_version > SMBD_VERSION_1 || req.max_version < SMBD_VERSION_1 {
        return Err(fail(NtStatus::NOT_SUPPORTED));
    }
    if req.credits_requested == 0
        || req.max_receive_size < MIN_RECEIVE_SIZE
        || req.max_fragmented_size < MIN_FRAGMENTED_SIZE
    {
        return Err(fail(NtStatus::INVALID_PARAMETER));
    }
    let params = Params {
        max_send_size: cfg.max_send_size.min(req.max_receive_size),
        max_receive_size: cfg.max_receive_size,
        max_fragmented_send_size: req.max_fragmented_size,
        max_fragmented_receive_size: cfg.max_fragmented_size,
        max_read_write_size: cfg.max_read_write_size,
        receive_credit_max: cfg.receive_credit_max,
        send_credit_target: cfg.send_credit_target,
        receive_credit_target: req.credits_requested.min(cfg.receive_credit_max),
        keepalive_interval: cfg.keepalive_interval,
    };
    let resp = NegotiateResponse {
        min_version: SMBD_VERSION_1,
        max_version: SMBD_VERSION_1,
        negotiated_version: SMBD_VERSION_1,
        credits_requested: cfg.send_credit_target,
        credits_granted: 0,
        status: NtStatus::SUCCESS.0,
        max_read_write_size: params.max_read_write_size,
        preferred_send_size: params.max_send_size,
        max_receive_size: params.max_receive_size,
        max_fragmented_size: params.max_fragmented_receive_size,
    };
    Ok((params, resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux_client() -> NegotiateRequest {
        NegotiateRequest {
            min_version: 0x0100,
            max_version: 0x0100,
            credits_requested: 255,
            preferred_send_size: 1364,
            max_receive_size: 1364,
            max_fragmented_size: 173_910,
        }
    }

    #[test]
    fn linux_client_gets_the_defaults() {
        let (p, r) = negotiate(&Config::default(), &linux_client()).unwrap();
        assert_eq!(r.negotiated_version, 0x0100);
        assert_eq!(r.status, 0);
        // The Linux client refuses PreferredSendSize above its MaxReceiveSize (1364).
        assert_eq!(r.preferred_send_size, 1364);
        assert_eq!(r.max_receive_size, 8192);
        assert_eq!(r.max_fragmented_size, 1 << 20);
        assert_eq!(r.max_read_write_size, 1 << 20);
        assert_eq!(r.credits_requested, 255);
        assert_eq!(p.max_send_size, 1364);
        assert_eq!(p.max_fragmented_send_size, 173_910);
        assert_eq!(p.receive_credit_target, 255);
    }

    #[test]
    fn small_peer_limits_bound_the_send_size() {
        let mut q = linux_client();
        q.max_receive_size = 512;
        q.credits_requested = 16;
        let (p, r) = negotiate(&Config::default(), &q).unwrap();
        assert_eq!((p.max_send_size, r.preferred_send_size), (512, 512));
        assert_eq!(p.receive_credit_target, 16);
    }

    #[test]
    fn refusals() {
        let cfg = Config::default();
        let st = |q: NegotiateRequest| negotiate(&cfg, &q).unwrap_err().status;
        let q = linux_client();
        assert_eq!(
            st(NegotiateRequest {
                min_version: 0x0200,
                max_version: 0x0200,
                ..q
            }),
            NtStatus::NOT_SUPPORTED.0
        );
        assert_eq!(
            st(NegotiateRequest {
                max_version: 0x00ff,
                min_version: 0x0001,
                ..q
            }),
            NtStatus::NOT_SUPPORTED.0
        );
        assert_eq!(
            st(NegotiateRequest {
                credits_requested: 0,
                ..q
            }),
            NtStatus::INVALID_PARAMETER.0
        );
        assert_eq!(
            st(NegotiateRequest {
                max_receive_size: 127,
                ..q
            }),
            NtStatus::INVALID_PARAMETER.0
        );
        assert_eq!(
            st(NegotiateRequest {
                max_fragmented_size: 131_071,
                ..q
            }),
            NtStatus::INVALID_PARAMETER.0
        );
        // A range that includes 1.0 is fine.
        assert!(negotiate(
            &cfg,
            &NegotiateRequest {
                min_version: 0x0100,
                max_version: 0x0300,
                ..q
            }
        )
        .is_ok());
    }
}
