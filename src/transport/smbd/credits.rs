//! SMB Direct credit accounting (MS-SMBD 3.1.1.1 SendCredits / ReceiveCredits, 3.1.5.1,
//! 3.1.5.8).
//!
//! A peer may send one message per credit it holds; a credit stands for one receive buffer
//! posted by the other side. So:
//! - receive side: `posted` receives are outstanding; `granted` of them have been announced
//!   to the peer (CreditsGranted) and not yet used. `granted <= posted` always: the server
//!   only grants receives it has posted, so the peer can never overrun it. A message that
//!   arrives while the peer holds no credit is a protocol violation.
//! - send side: `send` credits the peer granted; a message is sent only with one in hand.
//!   Using the last one sets SMB_DIRECT_RESPONSE_REQUESTED so the peer answers with more.

/// A credit-accounting violation by the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoCredit;

/// Both directions' credits for one connection.
#[derive(Debug, Clone, Default)]
pub struct Credits {
    /// Send credits in hand.
    pub send: u32,
    /// Receives posted and not completed.
    pub posted: u32,
    /// Credits announced to the peer and not yet used.
    pub granted: u32,
    /// How many receives to keep posted (peer's CreditsRequested, bounded).
    pub receive_target: u32,
}

impl Credits {
    /// Credits to the peer's target of `receive_target` receives.
    pub fn new(receive_target: u16) -> Self {
        Credits {
            receive_target: u32::from(receive_target),
            ..Default::default()
        }
    }

    /// How many receives the driver should post now.
    pub fn receives_wanted(&self) -> u32 {
        self.receive_target.saturating_sub(self.posted)
    }

    /// The driver posted `n` more receives.
    pub fn receives_posted(&mut self, n: u32) {
        self.posted += n;
    }

    /// Posted receives not yet granted to the peer.
    pub fn grantable(&self) -> u32 {
        self.posted - self.granted
    }

    /// Takes the credits to announce in the next message (at most u16::MAX).
    pub fn take_grant(&mut self) -> u16 {
        let g = self.grantable().min(u32::from(u16::MAX));
        self.granted += g;
        g as u16
    }

    /// A receive completed with a message from the peer, which used one of its credits.
    pub fn received(&mut self) -> Result<(), NoCredit> {
        if self.granted == 0 || self.posted == 0 {
            return Err(NoCredit);
        }
        self.granted -= 1;
        self.posted -= 1;
        Ok(())
    }

    /// A receive completed outside credit accounting (the negotiate request, which arrives
    /// in a receive posted before any grant).
    pub fn received_ungranted(&mut self) {
        self.posted = self.posted.saturating_sub(1);
    }

    /// The peer granted `n` credits; false when that would pass what the protocol allows
    /// (more than 65535 in hand is a peer bug worth disconnecting for).
    pub fn add_send(&mut self, n: u16) -> bool {
        self.send += u32::from(n);
        self.send <= u32::from(u16::MAX)
    }

    /// Uses one send credit if there is one; returns whether it was the last.
    pub fn use_send(&mut self) -> Option<bool> {
        if self.send == 0 {
            return None;
        }
        self.send -= 1;
        Some(self.send == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_never_exceed_posted_receives() {
        let mut c = Credits::new(4);
        assert_eq!(c.receives_wanted(), 4);
        c.receives_posted(3);
        assert_eq!(c.take_grant(), 3);
        assert_eq!(c.take_grant(), 0);
        c.receives_posted(1);
        assert_eq!(c.take_grant(), 1);
        for _ in 0..4 {
            c.received().unwrap();
        }
        // A fifth message without a credit is a violation.
        assert_eq!(c.received(), Err(NoCredit));
        assert_eq!(c.receives_wanted(), 4);
    }

    #[test]
    fn send_credits() {
        let mut c = Credits::new(1);
        assert_eq!(c.use_send(), None);
        assert!(c.add_send(2));
        assert_eq!(c.use_send(), Some(false));
        assert_eq!(c.use_send(), Some(true));
        assert_eq!(c.use_send(), None);
        assert!(c.add_send(u16::MAX));
        assert!(!c.add_send(1));
    }
}
