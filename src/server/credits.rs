//! Credits and the MessageId window (MS-SMB2 3.3.1.1, 3.3.1.2, 3.3.5.2.3).
//!
//! The server grants credits; each credit lets the client use one MessageId exactly once.
//! MessageIds in `[0, granted)` are valid unless already used; the window's low edge `base`
//! moves up as the lowest ids are consumed. A bitmap over `[base, granted)` records the ids used
//! above `base` (the client may skip ids and come back to them, as smbtorture's
//! `smb2.credits.skipped_mid` does). The window is bounded by `max_credits`, so its memory is
//! too.
use std::collections::VecDeque;

/// Why a request's MessageId was refused (the connection is then dropped, MS-SMB2 3.3.5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditError {
    /// The id is below the window or was used already.
    Reused,
    /// The id (plus its charge) is past what was granted.
    NotGranted,
    /// CreditCharge too small for the payload size.
    ChargeTooSmall,
}

/// A connection's credit state.
#[derive(Debug)]
pub struct Credits {
    /// Every id below `base` has been used.
    base: u64,
    /// Ids below `granted` have been granted.
    granted: u64,
    /// `used[i]` says whether `base + i` has been used.
    used: VecDeque<bool>,
    /// Credits the client holds now: granted and unused.
    outstanding: u64,
    max_credits: u64,
}

impl Credits {
    /// The initial state: MessageId 0 is valid (one credit), as for a new connection.
    pub fn new(max_credits: u32) -> Credits {
        Credits {
            base: 0,
            granted: 1,
            used: VecDeque::new(),
            outstanding: 1,
            max_credits: max_credits.max(1) as u64,
        }
    }

    /// Consumes `[message_id, message_id + charge)`. `charge` is the CreditCharge with 0
    /// meaning 1.
    pub fn consume(&mut self, message_id: u64, charge: u16) -> Result<(), CreditError> {
        let charge = charge.max(1) as u64;
        let end = message_id
            .checked_add(charge)
            .ok_or(CreditError::NotGranted)?;
        if message_id < self.base {
            return Err(CreditError::Reused);
        }
        if end > self.granted {
            return Err(CreditError::NotGranted);
        }
        let start = (message_id - self.base) as usize;
        let stop = (end - self.base) as usize;
        if self.used.len() < stop {
            self.used.resize(stop, false);
        }
        if self.used.range(start..stop).any(|&u| u) {
            return Err(CreditError::Reused);
        }
        for u in self.used.range_mut(start..stop) {
            *u = true;
        }
        while self.used.front() == Some(&true) {
            self.used.pop_front();
            self.base += 1;
        }
        self.outstanding -= charge;
        Ok(())
    }

    /// Grants credits in a response to a request that asked for `requested` (0 counts as 1 so
    /// the client never starves, MS-SMB2 3.3.1.2) and returns the number to put in CreditResponse.
    pub fn grant(&mut self, requested: u16) -> u16 {
        let room = self.max_credits.saturating_sub(self.outstanding);
        // The id window may not outgrow max_credits either (it is what bounds `used`).
        let window_room = (self.base + 2 * self.max_credits).saturating_sub(self.granted);
        let mut g = (requested.max(1) as u64).min(room).min(window_room);
        if g == 0 && self.outstanding == 0 {
            g = 1;
        }
        self.granted += g;
        self.outstanding += g;
        g as u16
    }

    /// Credits the client holds now.
    pub fn outstanding(&self) -> u64 {
        self.outstanding
    }

    /// Whether `message_id` lies inside the window (for CANCEL, which consumes nothing).
    pub fn in_window(&self, message_id: u64) -> bool {
        message_id < self.granted
    }
}

/// The CreditCharge a payload of `len` bytes needs (MS-SMB2 3.1.5.2: one credit per 64 KiB).
pub fn charge_for(len: u32) -> u16 {
    (1 + (len.saturating_sub(1) / 65536)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_id_is_zero_and_reuse_is_refused() {
        let mut c = Credits::new(100);
        assert_eq!(c.consume(1, 1), Err(CreditError::NotGranted));
        c.consume(0, 1).unwrap();
        assert_eq!(c.consume(0, 1), Err(CreditError::Reused));
        assert_eq!(c.grant(10), 10);
        c.consume(1, 1).unwrap();
        assert_eq!(c.consume(1, 1), Err(CreditError::Reused));
    }

    #[test]
    fn skipped_ids_can_be_used_later_and_multi_credit_charges_span() {
        let mut c = Credits::new(100);
        c.consume(0, 0).unwrap();
        c.grant(20);
        c.consume(5, 4).unwrap();
        assert_eq!(c.consume(8, 1), Err(CreditError::Reused));
        c.consume(1, 1).unwrap();
        c.consume(9, 1).unwrap();
        assert_eq!(c.outstanding(), 20 - 6);
        assert_eq!(c.consume(20, 2), Err(CreditError::NotGranted));
    }

    #[test]
    fn grants_are_capped_by_max_credits() {
        let mut c = Credits::new(16);
        c.consume(0, 1).unwrap();
        assert_eq!(c.grant(1000), 16);
        assert_eq!(c.grant(1000), 0);
        c.consume(1, 1).unwrap();
        assert_eq!(c.grant(5), 1);
    }

    #[test]
    fn overflowing_ids_are_refused() {
        let mut c = Credits::new(16);
        assert_eq!(c.consume(u64::MAX, 2), Err(CreditError::NotGranted));
    }

    #[test]
    fn window_memory_is_bounded_when_a_client_skips_an_id_forever() {
        let mut c = Credits::new(64);
        c.consume(0, 1).unwrap();
        c.grant(64);
        // Skip id 1 forever; keep using the others.
        let mut served = 0u64;
        for next in 2..10_000u64 {
            if c.consume(next, 1).is_err() {
                break;
            }
            served += 1;
            c.grant(1);
        }
        // The client keeps being served well past one window's worth of ids...
        assert!(served >= 100, "served only {served}");
        // ...but the bitmap never outgrows the bound.
        assert!(c.used.len() <= 2 * 64 + 1);
    }

    #[test]
    fn charge_for_sizes() {
        assert_eq!(charge_for(0), 1);
        assert_eq!(charge_for(65536), 1);
        assert_eq!(charge_for(65537), 2);
        assert_eq!(charge_for(8 << 20), 128);
    }
}
