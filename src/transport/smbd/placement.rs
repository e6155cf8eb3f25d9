//! Direct data placement (MS-SMB2 3.3.5.12 READ / 3.3.5.13 WRITE with Channel
//! SMB2_CHANNEL_RDMA_V1[_INVALIDATE]; MS-SMBD 3.1.4.4 / 3.1.4.5): validation of the
//! client's SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list and the split of a transfer into one RDMA
//! operation per descriptor.
//!
//! Every rule is checked before any RDMA operation is posted, so a bad list costs nothing:
//! at least one and at most [`MAX_DESCRIPTORS`] descriptors, none empty, none wrapping the
//! 64-bit address space, a total no larger than MaxReadWriteSize, and at least the transfer
//! length (READ Length / WRITE RemainingBytes). The plan then covers exactly the transfer's
//! bytes, in descriptor order, never more than a descriptor's length, so the server neither
//! reads nor writes client memory outside what the request described. Wrong tokens are
//! caught by the RDMA device (a remote access error completion), which fails the request.
use crate::transport::BufferDescriptor;
use crate::wire::NtStatus;

/// Most descriptors one request may carry (ChannelInfoLength / 16).
pub const MAX_DESCRIPTORS: usize = 64;

/// One RDMA Read or Write: `len` bytes at remote `addr` under `token`, to or from the local
/// buffer at `local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Remote steering tag.
    pub token: u32,
    /// Remote address.
    pub addr: u64,
    /// Bytes.
    pub len: u32,
    /// Offset in the local buffer.
    pub local: usize,
}

/// Checks `descs` for a transfer of `len` bytes (MS-SMB2 3.3.5.12/13: a bad list is
/// STATUS_INVALID_PARAMETER) and splits it into segments.
pub fn plan(
    descs: &[BufferDescriptor],
    len: usize,
    max_read_write_size: u32,
) -> Result<Vec<Segment>, NtStatus> {
    if descs.is_empty() || descs.len() > MAX_DESCRIPTORS {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut total: u64 = 0;
    for d in descs {
        if d.length == 0 || d.offset.checked_add(u64::from(d.length)).is_none() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        total += u64::from(d.length);
    }
    if total > u64::from(max_read_write_size) || (len as u64) > total {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut segs = Vec::with_capacity(descs.len());
    let mut local = 0usize;
    for d in descs {
        if local == len {
            break;
        }
        let n = (d.length as usize).min(len - local);
        segs.push(Segment {
            token: d.token,
            addr: d.offset,
            len: n as u32,
            local,
        });
        local += n;
    }
    Ok(segs)
}

/// The client buffers of a READ or WRITE on an RDMA channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdmaChannel {
    /// The SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list.
    pub descriptors: Vec<BufferDescriptor>,
    /// SMB2_CHANNEL_RDMA_V1_INVALIDATE: the token to invalidate with the response.
    pub invalidate: Option<u32>,
}

/// Interprets a READ/WRITE Channel and its channel-info buffer (MS-SMB2 3.3.5.12/13):
/// `None` for SMB2_CHANNEL_NONE; the descriptors for RDMA_V1[_INVALIDATE] on an SMB Direct
/// connection; STATUS_INVALID_PARAMETER for an RDMA channel on TCP, a malformed descriptor
/// list, or SMB2_CHANNEL_RDMA_TRANSFORM (not supported here).
pub fn channel(
    kind: crate::transport::TransportKind,
    channel: crate::wire::read::Channel,
    info: &[u8],
) -> Result<Option<RdmaChannel>, NtStatus> {
    use crate::wire::read::Channel;
    if channel == Channel::NONE {
        return Ok(None);
    }
    if kind != crate::transport::TransportKind::Rdma
        || (channel != Channel::RDMA_V1 && channel != Channel::RDMA_V1_INVALIDATE)
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let descriptors = crate::wire::smbd::decode_descriptors(info, MAX_DESCRIPTORS)
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let invalidate = (channel == Channel::RDMA_V1_INVALIDATE).then(|| descriptors[0].token);
    Ok(Some(RdmaChannel {
        descriptors,
        invalidate,
    }))
}

/// READ on an RDMA channel (MS-SMB2 3.3.5.12): places `data` into the client's buffers by
/// RDMA Write, arranges the remote invalidation for RDMA_V1_INVALIDATE, and returns the
/// response body: DataLength 0, DataRemaining the bytes placed.
pub async fn push_read(
    writer: &dyn crate::transport::FrameWriter,
    ch: RdmaChannel,
    data: &[u8],
) -> Result<bytes::BytesMut, NtStatus> {
    writer
        .rdma_write(&ch.descriptors, data)
        .await
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if let Some(t) = ch.invalidate {
        writer.invalidate_with_next_send(t);
    }
    Ok(rdma_read_body(data.len() as u32))
}

/// The body of a READ response whose data went by RDMA: exactly the 16 fixed bytes
/// (StructureSize 17, DataOffset 0x50, DataLength 0, DataRemaining `placed`), without the
/// one-byte Buffer an inline response carries: the Linux client reads 80 bytes of header and
/// body and would take a trailing byte for the start of the next message.
pub fn rdma_read_body(placed: u32) -> bytes::BytesMut {
    let mut body = bytes::BytesMut::with_capacity(16);
    body.extend_from_slice(&17u16.to_le_bytes());
    body.extend_from_slice(&[0x50, 0]);
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&placed.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body
}

/// WRITE on an RDMA channel (MS-SMB2 3.3.5.13): fetches RemainingBytes bytes from the
/// client's buffers by RDMA Read and returns the request with them as its data (and
/// RemainingBytes 0); arranges the remote invalidation for RDMA_V1_INVALIDATE.
pub async fn pull_write(
    writer: &dyn crate::transport::FrameWriter,
    ch: RdmaChannel,
    mut req: crate::wire::write::WriteRequest,
) -> Result<crate::wire::write::WriteRequest, NtStatus> {
    let len = req.remaining_bytes as usize;
    req.data = writer
        .rdma_read(&ch.descriptors, len)
        .await
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    req.remaining_bytes = 0;
    if let Some(t) = ch.invalidate {
        writer.invalidate_with_next_send(t);
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(offset: u64, token: u32, length: u32) -> BufferDescriptor {
        BufferDescriptor {
            offset,
            token,
            length,
        }
    }

    #[test]
    fn splits_in_order_and_stops_at_len() {
        let s = plan(&[d(0x1000, 1, 100), d(0x9000, 2, 100)], 150, 1 << 20).unwrap();
        assert_eq!(
            s,
            vec![
                Segment {
                    token: 1,
                    addr: 0x1000,
                    len: 100,
                    local: 0
                },
                Segment {
                    token: 2,
                    addr: 0x9000,
                    len: 50,
                    local: 100
                }
            ]
        );
        // A short READ uses only what it needs.
        assert_eq!(
            plan(&[d(0, 1, 100), d(500, 2, 100)], 10, 1 << 20)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rdma_read_response_body_is_16_bytes() {
        let b = rdma_read_body(8192);
        assert_eq!(
            &b[..],
            &[17, 0, 0x50, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn channels() {
        use crate::transport::TransportKind::{Rdma, Tcp};
        use crate::wire::read::Channel;
        let mut info = bytes::BytesMut::new();
        crate::wire::smbd::encode_descriptors(&[d(0x1000, 42, 8192)], &mut info);
        assert_eq!(channel(Tcp, Channel::NONE, &[]), Ok(None));
        assert_eq!(
            channel(Tcp, Channel::RDMA_V1, &info),
            Err(NtStatus::INVALID_PARAMETER)
        );
        let c = channel(Rdma, Channel::RDMA_V1_INVALIDATE, &info)
            .unwrap()
            .unwrap();
        assert_eq!((c.descriptors.len(), c.invalidate), (1, Some(42)));
        assert_eq!(
            channel(Rdma, Channel::RDMA_V1, &info)
                .unwrap()
                .unwrap()
                .invalidate,
            None
        );
        assert_eq!(
            channel(Rdma, Channel::RDMA_V1, &info[..15]),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            channel(Rdma, Channel::RDMA_TRANSFORM, &info),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            channel(Rdma, Channel(9), &info),
            Err(NtStatus::INVALID_PARAMETER)
        );
    }

    #[test]
    fn refuses_bad_lists() {
        let inv = Err(NtStatus::INVALID_PARAMETER);
        assert_eq!(plan(&[], 0, 1 << 20), inv);
        assert_eq!(
            plan(&vec![d(0, 1, 1); MAX_DESCRIPTORS + 1], 1, 1 << 20),
            inv
        );
        assert_eq!(plan(&[d(0, 1, 0)], 0, 1 << 20), inv);
        assert_eq!(plan(&[d(u64::MAX - 10, 1, 100)], 10, 1 << 20), inv);
        // Oversized: the list's total passes MaxReadWriteSize.
        assert_eq!(plan(&[d(0, 1, (1 << 20) + 1)], 10, 1 << 20), inv);
        assert_eq!(
            plan(&[d(0, 1, 1 << 20), d(0, 2, 1 << 20)], 10, 1 << 20),
            inv
        );
        // The transfer is longer than the buffers described.
        assert_eq!(plan(&[d(0, 1, 100)], 101, 1 << 20), inv);
    }
}
