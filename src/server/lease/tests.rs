//! Unit tests of lease state, breaks and grants.
use super::*;

fn lease(state: u32) -> Lease {
    Lease {
        id: ([1; 16], [2; 16]),
        version: 2,
        parent: None,
        state,
        epoch: 1,
        breaking: false,
        break_to: state,
        break_required: state,
        deadline: Instant::now(),
        opens: Vec::new(),
    }
}

#[test]
fn breaks_step_down() {
    let now = Instant::now();
    let mut out = Vec::new();
    let mut l = lease(READ | HANDLE | WRITE);
    assert!(!l.request_break(READ | HANDLE, now, &mut out));
    assert!(l.breaking && l.epoch == 2 && out.len() == 1);
    // A further break while breaking is remembered, not sent.
    l.request_break(NONE, now, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        l.acknowledge(READ | HANDLE | WRITE, now, &mut out),
        Err(NtStatus::REQUEST_NOT_ACCEPTED)
    );
    assert_eq!(l.acknowledge(READ | HANDLE, now, &mut out), Ok(()));
    assert!(l.breaking && l.break_to == READ && out.len() == 2);
    assert_eq!(l.acknowledge(READ, now, &mut out), Ok(()));
    assert!(!l.breaking && l.state == NONE && out.len() == 3);
    assert_eq!(
        l.acknowledge(NONE, now, &mut out),
        Err(NtStatus::UNSUCCESSFUL)
    );
    // R breaks to none at once: the notice, and the persistent records are rewritten.
    let mut r = lease(READ);
    out.clear();
    assert!(r.request_break(NONE, now, &mut out));
    assert!(!r.breaking && r.state == NONE);
    assert_eq!(
        out.iter().map(Notice::level).collect::<Vec<_>>(),
        [oplock::LEASE, oplock::PERSIST]
    );
}

/// A lease break that is not acknowledged in time leaves the lease none, and its opens'
/// persistent records are to be rewritten.
#[test]
fn timed_out_break_rewrites_the_records() {
    let now = Instant::now();
    let mut o = Oplocks::default();
    o.leases.push(lease(READ | HANDLE | WRITE));
    let mut out = Vec::new();
    assert!(!o.leases[0].request_break(READ, now, &mut out));
    out.clear();
    assert!(!o.expire_leases(now, &mut out));
    assert!(out.is_empty());
    assert!(o.expire_leases(now + oplock::break_timeout(), &mut out));
    assert_eq!(
        out.iter().map(Notice::level).collect::<Vec<_>>(),
        [oplock::PERSIST]
    );
    assert_eq!(o.leases[0].state, NONE);
}

fn open(open: u64) -> LeaseOpen {
    LeaseOpen {
        open,
        conn: Weak::new(),
        session_id: 0,
    }
}

fn req(key: u8, state: u32) -> Request {
    Request {
        id: ([0xEE; 16], [key; 16]),
        state,
        version: 1,
        epoch: 0,
        parent: None,
    }
}

fn entry(open: u64) -> ShareEntry {
    ShareEntry {
        open,
        access: 0x1f01ff,
        share: 7,
    }
}

#[test]
fn grants_and_upgrades() {
    let file = Arc::new(FileState {
        key: (0xFEED, 1),
        ..Default::default()
    });
    let mut o = Oplocks::default();
    let state_of =
        |o: &Oplocks, key: u8| o.leases.iter().find(|l| l.id.1 == [key; 16]).unwrap().state;
    // Alone: RWH as asked; H alone is none.
    assert!(o
        .grant_lease(
            &file,
            &[entry(1)],
            &req(1, READ | HANDLE | WRITE),
            false,
            open(1)
        )
        .is_some());
    assert_eq!(state_of(&o, 1), READ | HANDLE | WRITE);
    // A second key next to it gets no W; an upgrade that cannot be granted whole is
    // refused (smb2.lease.upgrade3).
    let opens = [entry(1), entry(2)];
    o.leases[0].state = READ;
    o.grant_lease(&file, &opens, &req(2, READ), false, open(2));
    let opens = [entry(1), entry(2), entry(3)];
    o.grant_lease(
        &file,
        &opens,
        &req(1, READ | HANDLE | WRITE),
        false,
        open(3),
    );
    assert_eq!(state_of(&o, 1), READ);
    let opens = [entry(1), entry(2), entry(3), entry(4)];
    o.grant_lease(&file, &opens, &req(1, READ | HANDLE), false, open(4));
    assert_eq!(state_of(&o, 1), READ | HANDLE);
    // No lease on directories; one key on two files is refused.
    assert!(o
        .grant_lease(&file, &opens, &req(5, READ), true, open(5))
        .is_none());
    assert!(TABLE.in_use_elsewhere(&req(1, 0).id, (0xFEED, 2)));
    assert_eq!(o.release_lease(1), None);
    assert_eq!(o.release_lease(3), None);
    assert_eq!(o.release_lease(4), Some(req(1, 0).id));
    TABLE.forget(&req(1, 0).id, file.key);
    assert!(!TABLE.in_use_elsewhere(&req(1, 0).id, (0xFEED, 2)));
}

#[test]
fn stat_opens() {
    assert!(is_stat_open(0x80 | 0x0002_0000));
    assert!(!is_stat_open(0x1));
}
