//! Hot-path VFS benchmarks: the calls an 8 KiB READ and WRITE make on the local backend
//! (page-cached file): `read_at` (pread, on the blocking pool in the server), `try_read_at`
//! (preadv2 RWF_NOWAIT, what the server tries first on the reactor), and `write_at`.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rsmbd::vfs::local::{LocalOptions, LocalShare};
use rsmbd::vfs::{CreateDisposition, OpenRequest, Share, SharePath};

fn io(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let share = LocalShare::new(dir.path(), LocalOptions::default()).expect("share");
    let req = OpenRequest {
        disposition: CreateDisposition::OverwriteIf,
        read: true,
        write: true,
        ..Default::default()
    };
    let (h, _) = share
        .open(&SharePath::parse("bench.dat").unwrap(), &req)
        .expect("open");
    const SIZE: u64 = 64 << 20;
    let block = vec![0x5Au8; 1 << 20];
    for off in (0..SIZE).step_by(block.len()) {
        h.write_at(&block, off).expect("fill");
    }
    let mut g = c.benchmark_group("vfs_8k");
    g.throughput(Throughput::Bytes(8192));
    let mut buf = vec![0u8; 8192];
    let mut off = 0u64;
    let mut next = move || {
        off = (off + 8192 * 7919) % SIZE;
        off
    };
    g.bench_function("read_at", |b| {
        b.iter(|| h.read_at(black_box(&mut buf), next()).unwrap())
    });
    g.bench_function("try_read_at", |b| {
        b.iter(|| h.try_read_at(black_box(&mut buf), next()))
    });
    let data = vec![0xA5u8; 8192];
    g.bench_function("write_at", |b| {
        b.iter(|| h.write_at(black_box(&data), next()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, io);
criterion_main!(benches);
