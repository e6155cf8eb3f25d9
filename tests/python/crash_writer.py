"""Writes records under load for tests/crash_safety.rs and logs every acknowledgement.

usage: crash_writer.py HOST PORT USER PASS write
       crash_writer.py HOST PORT USER PASS verify SHARE_DIR
       crash_writer.py HOST PORT USER PASS probe

`write`: four threads, each with its own connection and open, write records until killed:
  - crash_wt.dat: every write carries SMB2_WRITEFLAG_WRITE_THROUGH      -> `WT` lines
  - crash_ds.dat: opened with FILE_WRITE_THROUGH (CreateOptions)         -> `DS` lines
  - crash_fl.dat: plain writes (`PL` lines), every third followed by a FLUSH -> `FL` lines
  - crash_mx.dat: alternates plain, write-through and flush
Line formats (flushed to stdout as soon as the server acknowledged):
  `<KIND> <file> <seq> <offset> <len>` for writes; `FL <file> <seq> 0 0` after a FLUSH, which
  makes every write of <file> acknowledged before it durable.
Record `seq` of a file has the content `record(file, seq, len)` below (tests/crash_safety.rs
computes the same bytes).

`verify`: reads every crash_*.dat over SMB and compares it with the file in SHARE_DIR on disk,
then writes and reads back a record (the restarted server serves the files).

`probe`: writes 256 KiB to each of probe_plain.dat (plain writes), probe_wt.dat (WRITE_THROUGH
flag), probe_ds.dat (FILE_WRITE_THROUGH open) and probe_flush.dat (plain writes, then FLUSH),
prints `probe done` and exits: the test then asks the file system (FIEMAP) which of them still
have delayed-allocation extents, i.e. were not synced."""
import os
import sys
import threading
import uuid

from smbprotocol.connection import Connection
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    Open,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

host, port, user, password, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
RW = 0x0012019F
SLOT = 16384
FILES = ["crash_wt.dat", "crash_ds.dat", "crash_fl.dat", "crash_mx.dat"]
out_lock = threading.Lock()


def record(fidx, seq, length):
    """Header `REC` + file index + seq (LE u32), then a pattern that depends on both."""
    head = b"REC" + bytes([fidx]) + seq.to_bytes(4, "little")
    body = bytes(((seq * 31 + i * 7 + fidx * 13) % 251) for i in range(length - len(head)))
    return head + body


def layout(seq):
    """Offset and length of record `seq`: one per 16 KiB slot, unaligned, varying lengths."""
    return seq * SLOT + (seq * 13) % 100, 512 + (seq * 977) % 12000


def log(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def connect():
    conn = Connection(uuid.uuid4(), host, port)
    conn.connect()
    sess = Session(conn, user, password)
    sess.connect()
    tree = TreeConnect(sess, rf"\\{host}\share")
    tree.connect()
    return tree


def open_file(tree, name, opts=0, disp=CreateDisposition.FILE_OVERWRITE_IF):
    o = Open(tree, name)
    o.create(ImpersonationLevel.Impersonation, RW, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7, disp,
             CreateOptions.FILE_NON_DIRECTORY_FILE | opts)
    return o


def writer(fidx):
    name = FILES[fidx]
    tree = connect()
    opts = CreateOptions.FILE_WRITE_THROUGH if name == "crash_ds.dat" else 0
    o = open_file(tree, name, opts)
    seq = 0
    try:
        while True:
            off, length = layout(seq)
            data = record(fidx, seq, length)
            if name == "crash_wt.dat":
                o.write(data, off, write_through=True)
                log(f"WT {name} {seq} {off} {length}")
            elif name == "crash_ds.dat":
                o.write(data, off)
                log(f"DS {name} {seq} {off} {length}")
            elif name == "crash_fl.dat":
                o.write(data, off)
                log(f"PL {name} {seq} {off} {length}")
                if seq % 3 == 2:
                    o.flush()
                    log(f"FL {name} {seq} 0 0")
            else:
                kind = seq % 3
                o.write(data, off, write_through=kind == 1)
                log(f"{'WT' if kind == 1 else 'PL'} {name} {seq} {off} {length}")
                if kind == 2:
                    o.flush()
                    log(f"FL {name} {seq} 0 0")
            seq += 1
    except Exception as e:  # noqa: BLE001 - the server is killed under us: expected
        log(f"END {name} {seq} {type(e).__name__}")


def verify(share_dir):
    tree = connect()
    bad = []
    for name in FILES:
        local = open(os.path.join(share_dir, name), "rb").read()
        o = open_file(tree, name, disp=CreateDisposition.FILE_OPEN)
        got = b""
        while len(got) < len(local):
            chunk = o.read(len(got), min(65536, len(local) - len(got)))
            if not chunk:
                break
            got += chunk
        if got != local:
            bad.append(f"{name}: {len(got)} bytes over SMB, {len(local)} on disk")
        off, length = layout(100000)
        data = record(7, 100000, length)
        o.write(data, off, write_through=True)
        o.flush()
        assert o.read(off, length) == data, f"{name}: write after restart not read back"
        o.close()
    print("verify:", "ok" if not bad else bad)
    sys.exit(1 if bad else 0)


def probe():
    tree = connect()
    for name, opts, wt, flush in [("probe_plain.dat", 0, False, False), ("probe_wt.dat", 0, True, False),
                                  ("probe_ds.dat", CreateOptions.FILE_WRITE_THROUGH, False, False),
                                  ("probe_flush.dat", 0, False, True)]:
        o = open_file(tree, name, opts)
        for i in range(4):
            o.write(bytes([65 + i]) * 65536, i * 65536, write_through=wt)
        if flush:
            o.flush()
        o.close()
    print("probe done")


if mode == "verify":
    verify(sys.argv[6])
elif mode == "probe":
    probe()
else:
    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(len(FILES))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
