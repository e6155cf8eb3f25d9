//! SMB2 OPLOCK_BREAK messages (MS-SMB2 2.2.23, 2.2.24, 2.2.25): oplock break notification,
//! acknowledgment and response (24-byte bodies), lease break notification (44) and lease
//! break acknowledgment / response (36). [`OplockBreakMessage::decode`] tells them apart by
//! StructureSize.
use super::create::OplockLevel;
use super::{body, Error, FileId, Result};
use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};

/// Flags of the lease break notification (MS-SMB2 2.2.23.2):
/// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
pub const SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED: u32 = 0x01;

/// StructureSize of the oplock break forms.
const OPLOCK_SIZE: u16 = 24;
/// StructureSize of the lease break notification.
const LEASE_NOTIFICATION_SIZE: u16 = 44;
/// StructureSize of the lease break acknowledgment and response.
const LEASE_ACK_SIZE: u16 = 36;

fn structure_size(msg: &Bytes, expected: u16) -> Result<&[u8]> {
    let b = body(msg)?;
    super::check_structure_size(b, expected)?;
    Ok(b)
}

/// Oplock Break Notification, Acknowledgment or Response (MS-SMB2 2.2.23.1, 2.2.24.1,
/// 2.2.25.1): the same 24-byte body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OplockBreak {
    /// OplockLevel (the new level, or the level acknowledged).
    pub oplock_level: OplockLevel,
    /// FileId of the open.
    pub file_id: FileId,
}

/// The oplock break notification sent by the server.
pub type OplockBreakNotification = OplockBreak;
/// The oplock break acknowledgment sent by the client (the OPLOCK_BREAK request).
pub type OplockBreakAcknowledgment = OplockBreak;
/// The server's response to an oplock break acknowledgment.
pub type OplockBreakResponse = OplockBreak;

impl OplockBreak {
    /// Decodes a 24-byte oplock break body in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = structure_size(msg, OPLOCK_SIZE)?;
        let (i, _) = le_u16(b)?;
        let (i, oplock_level) = le_u8(i)?;
        let (i, _reserved) = le_u8(i)?;
        let (i, _reserved2) = le_u32(i)?;
        let (_, file_id) = FileId::parse(i)?;
        Ok(OplockBreak {
            oplock_level: OplockLevel(oplock_level),
            file_id,
        })
    }

    /// Appends the 24-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(OPLOCK_SIZE);
        out.put_u8(self.oplock_level.0);
        out.put_u8(0);
        out.put_u32_le(0);
        self.file_id.encode(out);
    }
}

/// Lease Break Notification (MS-SMB2 2.2.23.2), sent by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakNotification {
    /// NewEpoch (v2 leases).
    pub new_epoch: u16,
    /// Flags ([`SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED`]).
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// CurrentLeaseState.
    pub current_lease_state: u32,
    /// NewLeaseState.
    pub new_lease_state: u32,
    /// BreakReason (reserved, kept).
    pub break_reason: u32,
    /// AccessMaskHint (reserved, kept).
    pub access_mask_hint: u32,
    /// ShareMaskHint (reserved, kept).
    pub share_mask_hint: u32,
}

impl LeaseBreakNotification {
    /// Decodes a 44-byte lease break notification body in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = structure_size(msg, LEASE_NOTIFICATION_SIZE)?;
        let (i, _) = le_u16(b)?;
        let (i, new_epoch) = le_u16(i)?;
        let (i, flags) = le_u32(i)?;
        let (i, key) = nom::bytes::complete::take(16usize)(i)?;
        let (i, current_lease_state) = le_u32(i)?;
        let (i, new_lease_state) = le_u32(i)?;
        let (i, break_reason) = le_u32(i)?;
        let (i, access_mask_hint) = le_u32(i)?;
        let (_, share_mask_hint) = le_u32(i)?;
        let mut lease_key = [0u8; 16];
        lease_key.copy_from_slice(key);
        Ok(LeaseBreakNotification {
            new_epoch,
            flags,
            lease_key,
            current_lease_state,
            new_lease_state,
            break_reason,
            access_mask_hint,
            share_mask_hint,
        })
    }

    /// Appends the 44-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(LEASE_NOTIFICATION_SIZE);
        out.put_u16_le(self.new_epoch);
        out.put_u32_le(self.flags);
        out.put_slice(&self.lease_key);
        out.put_u32_le(self.current_lease_state);
        out.put_u32_le(self.new_lease_state);
        out.put_u32_le(self.break_reason);
        out.put_u32_le(self.access_mask_hint);
        out.put_u32_le(self.share_mask_hint);
    }
}

/// Lease Break Acknowledgment / Response (MS-SMB2 2.2.24.2, 2.2.25.2): the same 36-byte body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakAck {
    /// Flags (reserved, kept).
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState acknowledged / granted.
    pub lease_state: u32,
    /// LeaseDuration (reserved, kept).
    pub lease_duration: u64,
}

/// The lease break acknowledgment sent by the client.
pub type LeaseBreakAcknowledgment = LeaseBreakAck;
/// The server's response to a lease break acknowledgment.
pub type LeaseBreakResponse = LeaseBreakAck;

impl LeaseBreakAck {
    /// Decodes a 36-byte lease break acknowledgment / response body in `msg`.
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = structure_size(msg, LEASE_ACK_SIZE)?;
        let (i, _) = le_u16(b)?;
        let (i, _reserved) = le_u16(i)?;
        let (i, flags) = le_u32(i)?;
        let (i, key) = nom::bytes::complete::take(16usize)(i)?;
        let (i, lease_state) = le_u32(i)?;
        let (_, lease_duration) = le_u64(i)?;
        let mut lease_key = [0u8; 16];
        lease_key.copy_from_slice(key);
        Ok(LeaseBreakAck {
            flags,
            lease_key,
            lease_state,
            lease_duration,
        })
    }

    /// Appends the 36-byte body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(LEASE_ACK_SIZE);
        out.put_u16_le(0);
        out.put_u32_le(self.flags);
        out.put_slice(&self.lease_key);
        out.put_u32_le(self.lease_state);
        out.put_u64_le(self.lease_duration);
    }
}

/// Any OPLOCK_BREAK body, told apart by StructureSize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OplockBreakMessage {
    /// StructureSize 24: oplock break notification, acknowledgment or response.
    Oplock(OplockBreak),
    /// StructureSize 44: lease break notification.
    LeaseBreakNotification(LeaseBreakNotification),
    /// StructureSize 36: lease break acknowledgment or response.
    LeaseBreakAck(LeaseBreakAck),
}

/// The OPLOCK_BREAK request a client sends: an oplock or a lease break acknowledgment.
pub type OplockBreakRequest = OplockBreakMessage;

impl OplockBreakMessage {
    /// Decodes the body in `msg`, choosing the form by StructureSize (24, 44 or 36).
    pub fn decode(msg: &Bytes) -> Result<Self> {
        let b = body(msg)?;
        let size = match b.get(..2) {
            Some(s) => u16::from_le_bytes([s[0], s[1]]),
            None => return Err(Error::Truncated),
        };
        match size {
            OPLOCK_SIZE => Ok(OplockBreakMessage::Oplock(OplockBreak::decode(msg)?)),
            LEASE_NOTIFICATION_SIZE => Ok(OplockBreakMessage::LeaseBreakNotification(
                LeaseBreakNotification::decode(msg)?,
            )),
            LEASE_ACK_SIZE => Ok(OplockBreakMessage::LeaseBreakAck(LeaseBreakAck::decode(
                msg,
            )?)),
            _ => Err(Error::Invalid("StructureSize")),
        }
    }

    /// Appends the body of the form held.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            OplockBreakMessage::Oplock(m) => m.encode(out),
            OplockBreakMessage::LeaseBreakNotification(m) => m.encode(out),
            OplockBreakMessage::LeaseBreakAck(m) => m.encode(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_frame as frame;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = OplockBreakMessage> {
        prop_oneof![
            any::<(u8, u64, u64)>().prop_map(|(l, p, v)| OplockBreakMessage::Oplock(OplockBreak {
                oplock_level: OplockLevel(l),
                file_id: FileId {
                    persistent: p,
                    volatile: v
                },
            })),
            any::<(u16, u32, [u8; 16], [u32; 5])>().prop_map(|(e, f, k, s)| {
                OplockBreakMessage::LeaseBreakNotification(LeaseBreakNotification {
                    new_epoch: e,
                    flags: f,
                    lease_key: k,
                    current_lease_state: s[0],
                    new_lease_state: s[1],
                    break_reason: s[2],
                    access_mask_hint: s[3],
                    share_mask_hint: s[4],
                })
            }),
            any::<(u32, [u8; 16], u32, u64)>().prop_map(|(f, k, s, d)| {
                OplockBreakMessage::LeaseBreakAck(LeaseBreakAck {
                    flags: f,
                    lease_key: k,
                    lease_state: s,
                    lease_duration: d,
                })
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in message()) {
            prop_assert_eq!(OplockBreakMessage::decode(&frame(|o| m.encode(o))).unwrap(), m);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            let m = frame(|o| o.put_slice(&b));
            let _ = OplockBreakMessage::decode(&m);
            let _ = OplockBreak::decode(&m);
            let _ = LeaseBreakNotification::decode(&m);
            let _ = LeaseBreakAck::decode(&m);
        }
    }

    /// A lease break from RWH to RH with an acknowledgment required, and its ack.
    #[test]
    fn vectors() {
        let body = hex::decode(concat!(
            "2c00",
            "0200",
            "01000000",
            "22222222222222222222222222222222",
            "07000000",
            "03000000",
            "00000000",
            "00000000",
            "00000000"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let OplockBreakMessage::LeaseBreakNotification(n) = OplockBreakMessage::decode(&m).unwrap()
        else {
            panic!("wrong form")
        };
        assert_eq!(
            (n.new_epoch, n.flags),
            (2, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED)
        );
        assert_eq!((n.current_lease_state, n.new_lease_state), (7, 3));
        let body = hex::decode(concat!(
            "2400",
            "0000",
            "00000000",
            "22222222222222222222222222222222",
            "03000000",
            "0000000000000000"
        ))
        .unwrap();
        let m = frame(|o| o.put_slice(&body));
        let OplockBreakMessage::LeaseBreakAck(a) = OplockBreakMessage::decode(&m).unwrap() else {
            panic!("wrong form")
        };
        assert_eq!((a.lease_key, a.lease_state), ([0x22; 16], 3));
        assert_eq!(&frame(|o| a.encode(o))[..], &m[..]);
    }

    #[test]
    fn refuses_bad_structure_size_and_truncation() {
        let m = frame(|o| o.put_slice(&[25, 0]));
        assert_eq!(
            OplockBreakMessage::decode(&m),
            Err(Error::Invalid("StructureSize"))
        );
        let m = frame(|o| o.put_slice(&[24, 0, 1, 0]));
        assert_eq!(OplockBreakMessage::decode(&m), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[44, 0, 1, 0]));
        assert_eq!(OplockBreakMessage::decode(&m), Err(Error::Truncated));
        let m = frame(|o| o.put_slice(&[36, 0]));
        assert_eq!(OplockBreakMessage::decode(&m), Err(Error::Truncated));
        assert_eq!(
            OplockBreak::decode(&frame(|o| o.put_u16_le(36))),
            Err(Error::Invalid("StructureSize"))
        );
    }
}
