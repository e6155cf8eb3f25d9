"""python smbprotocol against rsmbd: renames, named streams, EAs, attributes and times,
volume information, sparse reads, and a directory listing with small buffers.

usage: info_files.py HOST PORT USER PASS [BIGDIR COUNT]
BIGDIR (optional) names a directory of the share that holds COUNT entries named
f000000, f000001, ... created directly on disk; it is listed over SMB with small
OutputBufferLength and every name must come back exactly once.
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import struct
import sys
import time
import uuid

import smbclient
from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish
from rawclient import expect_status

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
bigdir = sys.argv[5] if len(sys.argv) > 5 else None
count = int(sys.argv[6]) if len(sys.argv) > 6 else 0
root = rf"\\{host}\share"

STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_NO_MORE_FILES = 0x80000006
STATUS_NO_SUCH_FILE = 0xC000000F


class _PortShim:
    """smbclient functions with this server's port added to every call."""

    def __getattr__(self, name):
        f = getattr(smbclient, name)
        return lambda *a, **k: f(*a, port=port, **k)


sc = _PortShim()



def p(name):
    return rf"{root}\{name}"


def write(name, data, mode="wb"):
    with sc.open_file(p(name), mode=mode) as f:
        f.write(data)


def read(name):
    with sc.open_file(p(name), mode="rb") as f:
        return f.read()


def rename_no_replace():
    write("ren_a.txt", b"aaa")
    write("ren_b.txt", b"bbb")
    expect_status(STATUS_OBJECT_NAME_COLLISION, lambda: sc.rename(p("ren_a.txt"), p("ren_b.txt")))
    assert read("ren_b.txt") == b"bbb"
    sc.rename(p("ren_a.txt"), p("ren_c.txt"))
    assert read("ren_c.txt") == b"aaa"
    names = sc.listdir(root)
    assert "ren_c.txt" in names and "ren_a.txt" not in names, names


def rename_replace():
    write("rep_a.txt", b"new")
    write("rep_b.txt", b"old")
    sc.replace(p("rep_a.txt"), p("rep_b.txt"))
    assert read("rep_b.txt") == b"new"
    assert "rep_a.txt" not in sc.listdir(root)


def rename_across_directories():
    sc.mkdir(p("rd1"))
    sc.mkdir(p("rd2"))
    write(r"rd1\x.txt", b"x")
    sc.rename(p(r"rd1\x.txt"), p(r"rd2\y.txt"))
    assert sc.listdir(p("rd1")) == []
    assert sc.listdir(p("rd2")) == ["y.txt"]
    sc.rename(p("rd2"), p(r"rd1\sub"))
    assert sc.listdir(p(r"rd1\sub")) == ["y.txt"]


def named_streams():
    write("streams.txt", b"main data")
    write("streams.txt:one", b"first stream")
    write("streams.txt:two", b"2")
    assert read("streams.txt:one") == b"first stream"
    assert read("streams.txt") == b"main data"
    got = {t[0]: t[1] for t in sc.liststreams(p("streams.txt"))}
    assert got == {"::$DATA": 9, ":one:$DATA": 12, ":two:$DATA": 1}, got
    sc.remove(p("streams.txt:two"))
    got = {t[0] for t in sc.liststreams(p("streams.txt"))}
    assert got == {"::$DATA", ":one:$DATA"}, got
    sc.mkdir(p("streamdir"))
    assert list(sc.liststreams(p("streamdir"))) == []


def extended_attributes():
    write("ea.txt", b"")
    sc.setxattr(p("ea.txt"), b"MYATTR", b"value-1")
    assert sc.getxattr(p("ea.txt"), b"MYATTR") == b"value-1"
    assert b"MYATTR" in sc.listxattr(p("ea.txt"))
    sc.removexattr(p("ea.txt"), b"MYATTR")
    assert b"MYATTR" not in (sc.listxattr(p("ea.txt")) or [])


def times_and_size():
    write("t.txt", b"12345")
    st = sc.stat(p("t.txt"))
    assert st.st_size == 5
    sc.utime(p("t.txt"), times=(1_000_000_000, 1_100_000_000))
    st = sc.stat(p("t.txt"))
    assert int(st.st_mtime) == 1_100_000_000, st.st_mtime
    assert int(st.st_atime) == 1_000_000_000, st.st_atime
    sc.truncate(p("t.txt"), 2)
    assert read("t.txt") == b"12"


def volume():
    v = sc.stat_volume(root)
    assert v.total_size > 0 and v.caller_available_size <= v.total_size, v


def sparse_reads():
    with sc.open_file(p("sparse.bin"), mode="wb") as f:
        f.seek(8 * 1024 * 1024)
        f.write(b"end")
    data = read("sparse.bin")
    assert len(data) == 8 * 1024 * 1024 + 3
    assert data[:8 * 1024 * 1024] == bytes(8 * 1024 * 1024)
    assert data[-3:] == b"end"
    sc.truncate(p("sparse.bin"), 16 * 1024 * 1024)
    with sc.open_file(p("sparse.bin"), mode="rb") as f:
        f.seek(12 * 1024 * 1024)
        assert f.read(65536) == bytes(65536)


def wildcards():
    sc.mkdir(p("wild"))
    for n in ["a.txt", "b.TXT", "c.doc", "abc", "x.y.z"]:
        write(rf"wild\{n}", b"")
    got = sorted(e.name for e in sc.scandir(p("wild"), search_pattern="*.txt"))
    assert got == ["a.txt", "b.TXT"], got
    got = sorted(e.name for e in sc.scandir(p("wild"), search_pattern="?.*"))
    assert got == ["a.txt", "b.TXT", "c.doc", "x.y.z"], got
    got = sorted(e.name for e in sc.scandir(p("wild"), search_pattern="ABC"))
    assert got == ["abc"], got


def raw_session():
    conn = Connection(uuid.uuid4(), host, port)
    conn.connect()
    sess = Session(conn, user, password)
    sess.connect()
    tree = TreeConnect(sess, rf"\\{host}\share")
    tree.connect()
    return conn, sess, tree


def open_dir(tree, name):
    d = Open(tree, name)
    d.create(
        ImpersonationLevel.Impersonation,
        DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.FILE_READ_ATTRIBUTES,
        FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
        CreateDisposition.FILE_OPEN,
        CreateOptions.FILE_DIRECTORY_FILE,
    )
    return d


def names_of(buf):
    """FileNamesInformation entries of one response."""
    out = []
    off = 0
    while True:
        nxt, _idx, ln = struct.unpack_from("<III", buf, off)
        out.append(buf[off + 12: off + 12 + ln].decode("utf-16-le"))
        if nxt == 0:
            return out
        assert nxt % 8 == 0, nxt
        off += nxt


def list_raw(d, pattern, buf_len, klass=12):
    """Every entry name of one enumeration, with `buf_len`-byte responses."""
    conn = d.connection
    seen = []
    calls = 0
    flags = 1  # SMB2_RESTART_SCANS on the first call
    while True:
        req, _ = d.query_directory(pattern, klass, flags=flags, max_output=buf_len, send=False)
        flags = 0
        request = conn.send(req, d.tree_connect.session.session_id, d.tree_connect.tree_connect_id)
        try:
            resp = conn.receive(request)
        except SMBResponseException as e:
            if e.status == STATUS_NO_MORE_FILES:
                return seen, calls
            raise
        calls += 1
        data = resp["data"].get_value()
        off, ln = struct.unpack_from("<HI", data, 2)
        buf = data[off - 64: off - 64 + ln]
        assert len(buf) <= buf_len
        seen.extend(names_of(buf))


def small_buffers():
    conn, sess, tree = raw_session()
    try:
        sc.mkdir(p("few"))
        for i in range(300):
            write(rf"few\entry-{i:04}.dat", b"")
        d = open_dir(tree, "few")
        names, calls = list_raw(d, "*", 200)
        assert names[:2] == [".", ".."], names[:3]
        rest = sorted(names[2:])
        assert rest == [f"entry-{i:04}.dat" for i in range(300)], rest[:5]
        assert calls > 30, calls
        try:
            d.query_directory("nomatch*", 12, flags=1)
            raise AssertionError("no error for a pattern matching nothing")
        except SMBResponseException as e:
            assert e.status == STATUS_NO_SUCH_FILE, hex(e.status)
        d.close()
    finally:
        conn.disconnect()


def big_directory():
    conn, sess, tree = raw_session()
    try:
        d = open_dir(tree, bigdir)
        start = time.time()
        names, calls = list_raw(d, "*", 4096)
        took = time.time() - start
        files = [n for n in names if n not in (".", "..")]
        assert len(files) == count, f"{len(files)} entries, wanted {count}"
        assert len(set(files)) == count, "duplicates"
        assert set(files) == {f"f{i:06}" for i in range(count)}
        print(f"  listed {count} entries in {calls} responses, {took:.1f}s")
        d.close()
    finally:
        conn.disconnect()


smbclient.register_session(host, username=user, password=password, port=port)
case("rename without replace", rename_no_replace)
case("rename with replace", rename_replace)
case("rename across directories", rename_across_directories)
case("named streams", named_streams)
case("extended attributes", extended_attributes)
case("times and size", times_and_size)
case("volume information", volume)
case("sparse reads return zeros", sparse_reads)
case("wildcards", wildcards)
case("small OutputBufferLength", small_buffers)
if bigdir:
    case(f"{count}-entry directory, 4 KiB responses", big_directory)

finish()
