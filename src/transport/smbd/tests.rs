//! The SMB Direct core and driver against the verbs double, playing a Linux-like client.
use super::double::DoubleVerbs;
use super::driver::{Driver, DriverError};
use super::*;
use crate::transport::BufferDescriptor;
use crate::wire::smbd::{DataTransfer, NegotiateResponse};
use crate::wire::NtStatus;
use std::time::Duration;

fn client_negotiate() -> Vec<u8> {
    let mut b = BytesMut::new();
    NegotiateRequest {
        min_version: 0x0100,
        max_version: 0x0100,
        credits_requested: 255,
        preferred_send_size: 1364,
        max_receive_size: 1364,
        max_fragmented_size: 173_910,
    }
    .encode(&mut b);
    b.to_vec()
}

fn data_packet(granted: u16, flags: u16, remaining: u32, data: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    DataTransfer {
        header: DataHeader {
            credits_requested: 255,
            credits_granted: granted,
            flags,
            remaining_data_length: remaining,
        },
        data: Bytes::copy_from_slice(data),
    }
    .encode(&mut b);
    b.to_vec()
}

/// A driver past negotiation, with `grant` send credits from the client.
fn connected(grant: u16) -> (Driver<DoubleVerbs>, Instant) {
    let now = Instant::now();
    let mut d = Driver::new(
        Core::new(Config::default(), now),
        DoubleVerbs::default(),
        1 << 20,
    );
    d.pump(now).unwrap();
    assert_eq!(
        d.verbs_mut().posted.len(),
        1,
        "one receive for the negotiate request"
    );
    assert!(d.verbs_mut().deliver(&client_negotiate()));
    d.pump(now).unwrap();
    let sent = d.verbs_mut().take_sent();
    assert_eq!(sent.len(), 1);
    let r = NegotiateResponse::decode(&sent[0].0).unwrap();
    assert_eq!(r.status, 0);
    assert_eq!(r.credits_granted, 255, "grants every posted receive");
    assert_eq!(d.verbs_mut().posted.len(), 255);
    if grant > 0 {
        assert!(d.verbs_mut().deliver(&data_packet(grant, 0, 0, &[])));
        d.pump(now).unwrap();
    }
    (d, now)
}

fn decode_sent(sent: &[(Bytes, Option<u32>)]) -> Vec<DataTransfer> {
    sent.iter()
        .map(|(p, _)| DataTransfer::decode(p).unwrap())
        .collect()
}

#[test]
fn negotiate_failure_answers_then_closes() {
    let now = Instant::now();
    let mut d = Driver::new(
        Core::new(Config::default(), now),
        DoubleVerbs::default(),
        1 << 20,
    );
    d.pump(now).unwrap();
    let mut bad = client_negotiate();
    bad[0..4].copy_from_slice(&[0, 2, 0, 2]); // versions 0x0200 only
    d.verbs_mut().deliver(&bad);
    d.pump(now).unwrap();
    let sent = d.verbs_mut().take_sent();
    let r = NegotiateResponse::decode(&sent[0].0).unwrap();
    assert_eq!(r.status, NtStatus::NOT_SUPPORTED.0);
    assert!(d.core().is_closed());
}

#[test]
fn fragments_large_messages_and_reassembles() {
    let (mut d, now) = connected(255);
    // The server sends a 5000-byte message: 1364 - 24 = 1340 bytes per packet, 4 packets.
    let msg: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    d.core()
        .queue_message(&[Bytes::from(msg.clone())], None)
        .unwrap();
    d.pump(now).unwrap();
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|m| m.data.len() + 24 <= 1364));
    let rem: Vec<u32> = sent
        .iter()
        .map(|m| m.header.remaining_data_length)
        .collect();
    assert_eq!(rem, vec![3660, 2320, 980, 0]);
    let joined: Vec<u8> = sent.iter().flat_map(|m| m.data.to_vec()).collect();
    assert_eq!(joined, msg);
    // The client sends a 3000-byte message in three fragments.
    let big: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    d.verbs_mut()
        .deliver(&data_packet(0, 0, 2000, &big[..1000]));
    d.verbs_mut()
        .deliver(&data_packet(0, 0, 1000, &big[1000..2000]));
    d.pump(now).unwrap();
    assert!(d.core().poll_message().is_none());
    d.verbs_mut().deliver(&data_packet(0, 0, 0, &big[2000..]));
    d.pump(now).unwrap();
    assert_eq!(d.core().poll_message().unwrap(), big);
}

#[test]
fn never_sends_without_a_credit() {
    let (mut d, now) = connected(2);
    for _ in 0..3 {
        d.core()
            .queue_message(&[Bytes::from_static(b"\xfeSMB")], None)
            .unwrap();
    }
    d.pump(now).unwrap();
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 2, "two credits, two packets");
    // The last credit asks the client to answer (with credits).
    assert_eq!(sent[0].header.flags, 0);
    assert_eq!(
        sent[1].header.flags,
        crate::wire::smbd::SMB_DIRECT_RESPONSE_REQUESTED
    );
    assert!(d.core().has_queued());
    d.verbs_mut().deliver(&data_packet(1, 0, 0, &[]));
    d.pump(now).unwrap();
    assert_eq!(d.verbs_mut().take_sent().len(), 1);
    assert!(!d.core().has_queued());
}

#[test]
fn client_sending_without_credit_is_disconnected() {
    let (mut d, now) = connected(10);
    // The server posted and granted 255 receives; the client used all of them, the server
    // re-posted and re-granted as it went. A peer can't overrun: the double refuses a
    // delivery with no posted receive, and the core refuses one beyond its grants.
    let mut core = Core::new(Config::default(), now);
    core.receives_posted(1);
    core.handle_receive(now, Bytes::from(client_negotiate()))
        .unwrap();
    core.receives_posted(3);
    // Negotiate response not yet sent: nothing granted, so a data packet is a violation.
    assert_eq!(
        core.handle_receive(now, Bytes::from(data_packet(1, 0, 0, b"x"))),
        Err(ProtocolError::Credits)
    );
    assert!(core.is_closed());
    // Receives are re-posted and granted as they are consumed.
    for _ in 0..600 {
        assert!(d.verbs_mut().deliver(&data_packet(0, 0, 0, &[])));
        d.pump(now).unwrap();
    }
    assert!(d.core().credits().granted <= d.core().credits().posted);
}

#[test]
fn grants_credits_when_the_client_runs_low() {
    let (mut d, now) = connected(10);
    // The client uses credits without any answer from the server (one went on the grant
    // in `connected`): once it holds fewer than half its target, the server sends an empty
    // message granting what it re-posted.
    for _ in 0..126 {
        d.verbs_mut().deliver(&data_packet(0, 0, 0, &[]));
        d.pump(now).unwrap();
    }
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 0, "still at least half of 255 credits");
    d.verbs_mut().deliver(&data_packet(0, 0, 0, &[]));
    d.pump(now).unwrap();
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header.credits_granted, 128);
    assert!(sent[0].data.is_empty());
}

#[test]
fn answers_response_requested_and_sends_keepalives() {
    let (mut d, now) = connected(10);
    d.verbs_mut().deliver(&data_packet(
        0,
        crate::wire::smbd::SMB_DIRECT_RESPONSE_REQUESTED,
        0,
        &[],
    ));
    d.pump(now).unwrap();
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 1);
    assert!(sent[0].data.is_empty());
    // Idle for the keep-alive interval: an empty message asking for a response.
    let later = now + Duration::from_secs(121);
    d.pump(later).unwrap();
    let sent = decode_sent(&d.verbs_mut().take_sent());
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header.flags,
        crate::wire::smbd::SMB_DIRECT_RESPONSE_REQUESTED
    );
    // No answer within another interval: the connection ends.
    assert_eq!(
        d.pump(later + Duration::from_secs(121)),
        Err(DriverError::Protocol(ProtocolError::KeepaliveTimeout))
    );
    assert!(d.core().is_closed());
}

#[test]
fn malformed_and_oversized_fragments_end_the_connection() {
    let (mut d, now) = connected(10);
    d.verbs_mut().deliver(&data_packet(0, 0, 2_000_000, b"abc"));
    assert_eq!(
        d.pump(now),
        Err(DriverError::Protocol(ProtocolError::Reassembly))
    );
    let (mut d, now) = connected(10);
    let mut p = data_packet(0, 0, 0, b"abcdefgh");
    p[12..16].copy_from_slice(&20u32.to_le_bytes()); // unaligned DataOffset
    d.verbs_mut().deliver(&p);
    assert_eq!(
        d.pump(now),
        Err(DriverError::Protocol(ProtocolError::Malformed))
    );
    // A packet longer than the posted receive fails in the device.
    let (mut d, now) = connected(10);
    d.verbs_mut().deliver(&vec![0u8; 9000]);
    assert!(matches!(d.pump(now), Err(DriverError::Device(_))));
}

fn desc(offset: u64, token: u32, length: u32) -> BufferDescriptor {
    BufferDescriptor {
        offset,
        token,
        length,
    }
}

fn run_op(d: &mut Driver<DoubleVerbs>, now: Instant, op: driver::OpId) -> driver::OpResult {
    let _ = d.pump(now);
    d.take_result(op).expect("finished")
}

#[test]
fn rdma_read_and_write_touch_exactly_the_described_bytes() {
    let (mut d, now) = connected(10);
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    // A WRITE's payload in two client regions (plus guard bytes around each).
    let mut r1 = vec![0xAAu8; 6000 + 16];
    r1[8..6008].copy_from_slice(&payload[..6000]);
    let mut r2 = vec![0xBBu8; 4000 + 16];
    r2[8..4008].copy_from_slice(&payload[6000..]);
    d.verbs_mut().register(7, 0x10_0000, r1);
    d.verbs_mut().register(9, 0x90_0000, r2);
    let descs = [desc(0x10_0008, 7, 6000), desc(0x90_0008, 9, 4000)];
    let op = d.start_read(&descs, 10_000).unwrap();
    assert_eq!(run_op(&mut d, now, op).unwrap(), payload);
    // A READ's data pushed into one region of 8 KiB + guards; only 5000 bytes written.
    d.verbs_mut().register(11, 0x5000, vec![0xCC; 8192 + 16]);
    let op = d
        .start_write(
            &[desc(0x5008, 11, 8192)],
            &Bytes::copy_from_slice(&payload[..5000]),
        )
        .unwrap();
    assert_eq!(run_op(&mut d, now, op).unwrap(), Bytes::new());
    let mem = &d.verbs_mut().regions[&11].mem;
    assert_eq!(&mem[8..5008], &payload[..5000]);
    assert!(mem[..8].iter().chain(&mem[5008..]).all(|&b| b == 0xCC));
    let acc = d.verbs_mut().accesses.clone();
    assert_eq!(
        acc,
        vec![
            (7, 0x10_0008, 6000, false),
            (9, 0x90_0008, 4000, false),
            (11, 0x5008, 5000, true)
        ]
    );
}

#[test]
fn bad_descriptors_are_refused_without_any_access() {
    let (mut d, now) = connected(10);
    d.verbs_mut().register(7, 0x1000, vec![0; 4096]);
    let inv = Err(NtStatus::INVALID_PARAMETER);
    // Too many, empty, wrapping, oversized, total short of the length.
    assert_eq!(d.start_read(&vec![desc(0x1000, 7, 1); 65], 65), inv);
    assert_eq!(d.start_read(&[desc(0x1000, 7, 0)], 0), inv);
    assert_eq!(d.start_read(&[desc(u64::MAX, 7, 2)], 1), inv);
    assert_eq!(d.start_read(&[desc(0x1000, 7, (1 << 20) + 1)], 4096), inv);
    assert_eq!(
        d.start_write(&[desc(0x1000, 7, 4096)], &Bytes::from(vec![0u8; 4097])),
        inv
    );
    assert!(d.verbs_mut().accesses.is_empty());
    let _ = d.pump(now);
    assert!(d.verbs_mut().accesses.is_empty());
    assert!(d.core().is_connected());
}

#[test]
fn wrong_keys_and_out_of_range_offsets_fail_in_the_device() {
    // Out of the region (the client described more than it registered).
    let (mut d, now) = connected(10);
    d.verbs_mut().register(7, 0x1000, vec![0x11; 4096]);
    let op = d
        .start_write(&[desc(0x1800, 7, 4096)], &Bytes::from(vec![0u8; 4096]))
        .unwrap();
    assert!(run_op(&mut d, now, op).is_err());
    assert!(d.verbs_mut().regions[&7].mem.iter().all(|&b| b == 0x11));
    assert!(
        d.core().is_closed(),
        "a remote access error ends the connection"
    );
    // A token that was never registered.
    let (mut d, now) = connected(10);
    d.verbs_mut().register(7, 0x1000, vec![0x11; 4096]);
    let op = d.start_read(&[desc(0x1000, 8, 4096)], 4096).unwrap();
    assert!(run_op(&mut d, now, op).is_err());
    assert!(d.verbs_mut().accesses.is_empty());
}

#[test]
fn send_with_invalidate_on_the_first_fragment_only() {
    let (mut d, now) = connected(20);
    d.core()
        .queue_message(&[Bytes::from(vec![1u8; 3000])], Some(0x77))
        .unwrap();
    d.pump(now).unwrap();
    let sent = d.verbs_mut().take_sent();
    let inv: Vec<Option<u32>> = sent.iter().map(|s| s.1).collect();
    assert_eq!(inv, vec![Some(0x77), None, None]);
}

#[test]
fn invalidation_rides_on_the_next_packet() {
    let (mut d, now) = connected(20);
    d.core().invalidate_next(5);
    d.core().invalidate_next(6);
    d.core()
        .queue_message(&[Bytes::from_static(b"resp")], None)
        .unwrap();
    d.core()
        .queue_message(&[Bytes::from_static(b"resp")], None)
        .unwrap();
    d.pump(now).unwrap();
    let sent = d.verbs_mut().take_sent();
    let inv: Vec<Option<u32>> = sent.iter().map(|s| s.1).collect();
    // Both tokens were queued before the first response: both go out no later than it
    // (the first on a packet without data), never on the second response.
    assert_eq!(inv, vec![Some(5), Some(6), None]);
    assert!(DataTransfer::decode(&sent[0].0).unwrap().data.is_empty());
    assert_eq!(d.verbs_mut().invalidated, vec![5, 6]);
}

#[test]
fn invalidation_never_trails_its_response() {
    // Two requests in flight: A's placement finishes, then B's; B's response goes first.
    // B's token must reach the client no later than B's response (the client reuses B's
    // buffer as soon as the response arrives).
    let (mut d, now) = connected(20);
    d.core().invalidate_next(0xa);
    d.core().invalidate_next(0xb);
    d.core()
        .queue_message(&[Bytes::from_static(b"resp-b")], None)
        .unwrap();
    d.pump(now).unwrap();
    let sent = d.verbs_mut().take_sent();
    let inv: Vec<Option<u32>> = sent.iter().map(|s| s.1).collect();
    assert_eq!(inv, vec![Some(0xa), Some(0xb)]);
    assert!(sent[1].0.ends_with(b"resp-b"));
    d.core()
        .queue_message(&[Bytes::from_static(b"resp-a")], Some(0xc))
        .unwrap();
    d.core().invalidate_next(0xd);
    d.pump(now).unwrap();
    let inv: Vec<Option<u32>> = d.verbs_mut().take_sent().iter().map(|s| s.1).collect();
    assert_eq!(inv, vec![Some(0xd), Some(0xc)]);
}

#[test]
fn refuses_messages_over_the_peers_fragmented_size() {
    let (mut d, _) = connected(10);
    assert!(d
        .core()
        .queue_message(&[Bytes::from(vec![0u8; 173_911])], None)
        .is_err());
    assert!(d.core().queue_message(&[Bytes::new()], None).is_err());
    d.core().close();
    assert!(d
        .core()
        .queue_message(&[Bytes::from_static(b"x")], None)
        .is_err());
}

#[test]
fn placement_waits_for_pool_memory_and_keeps_order() {
    use super::mempool::{ChunkPool, PoolConfig, Reserve};
    let (mut d, now) = connected(10);
    d.verbs_mut().pool = Some(ChunkPool::new(PoolConfig {
        chunk: 4096,
        slab_chunks: 4,
        max_slabs: 1,
        max_fallback: 32 * 1024,
    }));
    let payload: Vec<u8> = (0..8192u32).map(|i| (i % 253) as u8).collect();
    d.verbs_mut().register(7, 0x1000, payload.clone());
    d.verbs_mut().register(8, 0x9000, vec![0; 4096]);
    // Someone else holds the whole pool (one 16 KiB slab).
    let pool = d.verbs_mut().pool.as_mut().unwrap();
    assert_eq!(pool.reserve(16384), Reserve::Grow);
    pool.add_slab();
    let Reserve::Got(held) = pool.reserve(16384) else {
        panic!("the slab is free")
    };
    let read = d
        .start_read(&[desc(0x1000, 7, 4096), desc(0x2000, 7, 4096)], 8192)
        .unwrap();
    let write = d
        .start_write(&[desc(0x9000, 8, 4096)], &Bytes::from(vec![0x5a; 4096]))
        .unwrap();
    d.pump(now).unwrap();
    assert_eq!(
        d.segments_waiting(),
        3,
        "no buffer: all three segments wait"
    );
    assert!(d.verbs_mut().accesses.is_empty());
    assert!(d.take_result(read).is_none() && d.take_result(write).is_none());
    // A response queued now must not overtake the RDMA Write waiting before it.
    d.verbs_mut().take_sent();
    d.core()
        .queue_message(&[Bytes::from_static(b"read-response")], None)
        .unwrap();
    d.pump(now).unwrap();
    assert!(
        d.verbs_mut().take_sent().is_empty(),
        "sends wait behind placement"
    );
    d.verbs_mut().pool.as_mut().unwrap().release(held);
    d.pump(now).unwrap();
    assert_eq!(d.segments_waiting(), 0);
    let sent = d.verbs_mut().take_sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.ends_with(b"read-response"));
    assert_eq!(d.take_result(read).unwrap().unwrap(), payload);
    assert_eq!(d.take_result(write).unwrap().unwrap(), Bytes::new());
    let order: Vec<(u32, u64)> = d.verbs_mut().accesses.iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(order, vec![(7, 0x1000), (7, 0x2000), (8, 0x9000)]);
    assert_eq!(d.verbs_mut().regions[&8].mem, vec![0x5a; 4096]);
    let stats = d.verbs_mut().pool.as_ref().unwrap().stats();
    assert_eq!(stats.chunks_in_use, 0, "every lease came back");
    assert!(stats.waits >= 1);
    // A segment larger than a slab gets its own (bounded) registration.
    d.verbs_mut().register(9, 0x10_0000, vec![1; 20_000]);
    let big = d.start_read(&[desc(0x10_0000, 9, 20_000)], 20_000).unwrap();
    assert_eq!(run_op(&mut d, now, big).unwrap(), vec![1u8; 20_000]);
    let stats = d.verbs_mut().pool.as_ref().unwrap().stats();
    assert_eq!((stats.fallbacks, stats.fallback_in_use), (1, 0));
}

#[test]
fn a_device_error_drops_waiting_segments() {
    use super::mempool::{ChunkPool, PoolConfig, Reserve};
    let (mut d, now) = connected(10);
    d.verbs_mut().pool = Some(ChunkPool::new(PoolConfig {
        chunk: 4096,
        slab_chunks: 2,
        max_slabs: 1,
        max_fallback: 0,
    }));
    d.verbs_mut().register(7, 0x1000, vec![0; 8192]);
    // Wrong token: the first segment fails in the device; the second waits for memory.
    let op = d
        .start_read(&[desc(0x1000, 6, 8192), desc(0x1000, 7, 4096)], 12288)
        .unwrap();
    assert_eq!(d.segments_waiting(), 1);
    assert!(matches!(d.pump(now), Err(DriverError::Device(_))));
    assert_eq!(d.segments_waiting(), 0);
    assert!(d.take_result(op).unwrap().is_err());
    let pool = d.verbs_mut().pool.as_mut().unwrap();
    assert_eq!(pool.stats().chunks_in_use, 0);
    assert!(matches!(pool.reserve(8192), Reserve::Got(_)));
}
