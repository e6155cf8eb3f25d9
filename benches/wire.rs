//! Hot-path decode benchmarks: an 8 KiB WRITE request and a READ request, as the server sees
//! them (whole message in one buffer, payload sliced without copying).
use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsmbd::wire::read::ReadRequest;
use rsmbd::wire::write::WriteRequest;
use rsmbd::wire::{compound, Command, Header};

fn message(command: Command, body: impl FnOnce(&mut BytesMut)) -> Bytes {
    let mut out = BytesMut::new();
    Header {
        command,
        credits: 1,
        message_id: 7,
        session_id: 42,
        tree_id: 1,
        ..Default::default()
    }
    .encode(&mut out);
    body(&mut out);
    out.freeze()
}

fn decode(c: &mut Criterion) {
    let write = message(Command::WRITE, |b| {
        WriteRequest {
            offset: 1 << 20,
            data: Bytes::from(vec![0x5A; 8192]),
            ..Default::default()
        }
        .encode(b)
    });
    let read = message(Command::READ, |b| {
        ReadRequest {
            length: 8192,
            offset: 1 << 20,
            ..Default::default()
        }
        .encode(b)
    });
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("write_8k_request", |b| {
        b.iter(|| {
            let els = compound::split_compound(black_box(&write), 16).unwrap();
            let h = Header::decode(&els[0]).unwrap();
            let w = WriteRequest::decode(&els[0]).unwrap();
            black_box((h, w.data.len()))
        })
    });
    g.bench_function("read_request", |b| {
        b.iter(|| {
            let els = compound::split_compound(black_box(&read), 16).unwrap();
            let h = Header::decode(&els[0]).unwrap();
            black_box((h, ReadRequest::decode(&els[0]).unwrap()))
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
