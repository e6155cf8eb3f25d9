//! OPLOCK_BREAK acknowledgments (MS-SMB2 3.3.5.22): an oplock break acknowledgment ends the
//! break in progress on its open (3.3.5.22.1, [`crate::server::oplock`]) and is answered with
//! the level now held. A lease break acknowledgment (3.3.5.22.2) names the lease by its key
//! and the connection's ClientGuid ([`crate::server::lease::acknowledge`]) and is answered
//! with the state acknowledged; SMB 2.0.2 has no such form: STATUS_INVALID_PARAMETER.
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::lease;
use crate::wire::create::OplockLevel;
use crate::wire::oplock_break::{LeaseBreakAck, OplockBreak, OplockBreakMessage};
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
            // A persistent open's new level is on disk before the answer.
            crate::server::persistent::save(&ctx.conn.server, &open).await;
            Ok(Reply::ok(body_of(|b| {
                OplockBreak {
                    oplock_level: OplockLevel(level),
                    file_id: open.file_id,
                }
                .encode(b)
            })))
        }
        OplockBreakMessage::LeaseBreakAck(ack) if ctx.dialect() > 0x0202 => {
            let guid = ctx
                .conn
                .negotiated
                .lock()
                .as_ref()
                .map(|n| n.client_guid.0)
                .ok_or(NtStatus::INVALID_PARAMETER)?;
            lease::acknowledge(&(guid, ack.lease_key), ack.lease_state)?;
            crate::server::persistent::save_lease(&ctx.conn.server, guid, ack.lease_key).await;
            Ok(Reply::ok(body_of(|b| {
                LeaseBreakAck {
                    flags: 0,
                    lease_key: ack.lease_key,
                    lease_state: ack.lease_state,
                    lease_duration: 0,
                }
                .encode(b)
            })))
        }
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}
