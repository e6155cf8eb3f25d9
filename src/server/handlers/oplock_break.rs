//! OPLOCK_BREAK acknowledgments (MS-SMB2 3.3.5.22): an oplock break acknowledgment ends the
//! break in progress on its open (3.3.5.22.1, [`crate::server::oplock`]) and is answered with
//! the level now held. Leases are not offered, so a lease break acknowledgment names no lease
//! (3.3.5.22.2: STATUS_OBJECT_NAME_NOT_FOUND; SMB 2.0.2 has no such form:
//! STATUS_INVALID_PARAMETER).
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::wire::create::OplockLevel;
use crate::wire::oplock_break::{OplockBreak, OplockBreakMessage};
use crate::wire::NtStatus;

/// Handles an OPLOCK_BREAK request.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    match OplockBreakMessage::decode(&ctx.msg).map_err(bad_request)? {
        OplockBreakMessage::Oplock(ack) => {
            let open = files::find_open(&ctx, ack.file_id)?;
            // A pipe never holds an oplock: no break is in progress on it.
            let f = open.file().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
            let level = f
                .state
                .acknowledge_oplock(open.file_id.volatile, ack.oplock_level.0)?;
            Ok(Reply::ok(body_of(|b| {
                OplockBreak {
                    oplock_level: OplockLevel(level),
                    file_id: open.file_id,
                }
                .encode(b)
            })))
        }
        OplockBreakMessage::LeaseBreakAck(_) if ctx.dialect() > 0x0202 => {
            Err(NtStatus::OBJECT_NAME_NOT_FOUND)
        }
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}
