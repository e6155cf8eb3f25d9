"""FSCTL_FILE_LEVEL_TRIM against rsmbd (MS-FSA 2.1.5.10.6): trimmed pages give their space
back (holes: the file keeps its size, the trimmed bytes read as zeros, the rest is intact),
ranges narrowed to whole 4 KiB pages, NumRangesProcessed, STATUS_NO_RANGES_PROCESSED, another
session's byte-range lock stopping the trim, and the malformed requests MS-FSA refuses.

usage: trim.py HOST PORT USER PASS SHARE_DIR
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import os
import struct
import sys
import uuid

from smbprotocol.open import CreateDisposition, LockFlags, SMB2LockElement

from harness import case, finish
from rawclient import A, RawClient, expect_status

host, port, user, password, share_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

FSCTL_FILE_LEVEL_TRIM = 0x00098208
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_INTEGER_OVERFLOW = 0xC0000095
STATUS_NO_RANGES_PROCESSED = 0xC0000460
STATUS_FILE_LOCK_CONFLICT = 0xC0000054
MIB = 1 << 20
PATTERN = b"\x5a" * MIB

c = RawClient(host, port, user, password, "share")
other = RawClient(host, port, user, password, "share")


def trim_req(ranges, key=0, count=None):
    b = struct.pack("<II", key, len(ranges) if count is None else count)
    for off, length in ranges:
        b += struct.pack("<QQ", off, length)
    return b


def trim(o, ranges, max_out=4, **kw):
    out = c.fsctl(o, FSCTL_FILE_LEVEL_TRIM, trim_req(ranges, **kw), max_out)
    return struct.unpack("<I", out)[0] if max_out else out


def new_file():
    """A fresh 1 MiB file of 0x5A, written and flushed; returns (open, local path)."""
    name = f"trim-{uuid.uuid4().hex[:8]}.dat"
    o = c.open(name, disposition=CreateDisposition.FILE_CREATE)
    o.write(PATTERN, 0)
    o.flush()
    return o, os.path.join(share_dir, name)


def blocks(path):
    return os.stat(path).st_blocks * 512


def trims_pages_to_holes():
    o, path = new_file()
    before = blocks(path)
    assert before >= MIB, f"{before} bytes allocated before the trim"
    assert trim(o, [(64 * 1024, 256 * 1024)]) == 1
    st = os.stat(path)
    assert st.st_size == MIB, f"size changed to {st.st_size}"
    assert blocks(path) <= before - 256 * 1024, f"{before} -> {blocks(path)} bytes allocated"
    data = o.read(0, MIB)
    assert data[:64 * 1024] == PATTERN[:64 * 1024]
    assert data[64 * 1024:320 * 1024] == bytes(256 * 1024), "trimmed range does not read as zeros"
    assert data[320 * 1024:] == PATTERN[320 * 1024:], "bytes outside the range changed"
    o.close()


def narrows_to_pages_and_counts_ranges():
    o, path = new_file()
    # (1, 8192) narrows to the page at 4096; (100, 100) to nothing; a range past the end of
    # file to nothing; all three are processed.
    assert trim(o, [(1, 8192), (100, 100), (2 * MIB, 4096)]) == 3
    data = o.read(0, 3 * 4096)
    assert data[:4096] == PATTERN[:4096], "the partial first page was trimmed"
    assert data[4096:8192] == bytes(4096)
    assert data[8192:] == PATTERN[8192:3 * 4096], "the partial last page was trimmed"
    # Nothing left in any range: successful, but no range processed.
    expect_status(STATUS_NO_RANGES_PROCESSED, lambda: trim(o, [(1, 4096), (MIB, 10)]))
    # A range reaching end of file takes the last partial page with it.
    c.set_eof(o, MIB - 100)
    assert trim(o, [(MIB - 4096, 4096)]) == 1
    assert o.read(MIB - 4096, 4096 - 100) == bytes(4096 - 100)
    # No output asked for: success, no FILE_LEVEL_TRIM_OUTPUT.
    assert trim(o, [(0, 4096)], max_out=0) == b""
    o.close()


def refuses_malformed():
    o, _ = new_file()
    fs = lambda data, max_out=4: c.fsctl(o, FSCTL_FILE_LEVEL_TRIM, data, max_out)  # noqa: E731
    expect_status(STATUS_INVALID_PARAMETER, lambda: fs(b"\0" * 7))
    expect_status(STATUS_INVALID_PARAMETER, lambda: fs(trim_req([])))
    expect_status(STATUS_INVALID_PARAMETER, lambda: fs(trim_req([(0, 4096)], count=2)))
    expect_status(STATUS_INVALID_PARAMETER, lambda: fs(trim_req([(0, 4096)], count=0x10000000)))
    expect_status(STATUS_INVALID_PARAMETER, lambda: fs(trim_req([(0, 4096)]), max_out=2))
    # Offset + Length overflows 64 bits: refused before anything is trimmed.
    expect_status(STATUS_INTEGER_OVERFLOW,
                  lambda: fs(trim_req([(0, 4096), (1 << 63, 1 << 63)])))
    assert o.read(0, 4096) == PATTERN[:4096], "a refused request trimmed"
    o.close()


def needs_write_access_and_a_file():
    o, _ = new_file()
    name = o.file_name
    o.close()
    ro = c.open(name, access=A.FILE_READ_DATA | A.FILE_READ_ATTRIBUTES)
    expect_status(STATUS_ACCESS_DENIED, lambda: trim(ro, [(0, 4096)]))
    ro.close()
    d = c.open(f"trimdir-{uuid.uuid4().hex[:8]}", directory=True,
               disposition=CreateDisposition.FILE_CREATE)
    expect_status(STATUS_INVALID_PARAMETER, lambda: trim(d, [(0, 4096)]))
    d.close()


def lock_stops_the_trim():
    o, _ = new_file()
    theirs = other.open(o.file_name)
    e = SMB2LockElement()
    e["offset"], e["length"] = 0, 4096
    e["flags"] = LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY
    theirs.lock([e])
    # The first range is locked by the other session: nothing trimmed.
    expect_status(STATUS_FILE_LOCK_CONFLICT, lambda: trim(o, [(0, 4096), (8192, 4096)]))
    assert o.read(8192, 4096) == PATTERN[:4096], "a range after the conflict was trimmed"
    # A free range first: processed, and the locked one stops it.
    assert trim(o, [(8192, 4096), (0, 4096), (16384, 4096)]) == 1
    assert o.read(8192, 4096) == bytes(4096)
    assert o.read(16384, 4096) == PATTERN[:4096], "a range after the conflict was trimmed"
    theirs.close()
    assert o.read(0, 4096) == PATTERN[:4096], "the locked range was trimmed"
    o.close()


case("trims pages to holes, size and the rest intact", trims_pages_to_holes)
case("narrows to pages, counts ranges, NO_RANGES_PROCESSED", narrows_to_pages_and_counts_ranges)
case("refuses malformed requests and 64-bit overflow", refuses_malformed)
case("needs FILE_WRITE_DATA and a data file", needs_write_access_and_a_file)
case("another session's byte-range lock stops the trim", lock_stops_the_trim)
finish()
