"""python smbprotocol against rsmbd: CREATE/READ/WRITE/FLUSH/CLOSE semantics.

Share modes across two connections, delete-on-close, offsets above 4 GiB, a 100 MiB
write/read compared by hash, create contexts (MxAc, QFid), and the access checks of READ,
WRITE and FLUSH.

usage: files_basic.py HOST PORT USER PASS [SHARE_DIR]
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import hashlib
import os
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.create_contexts import (
    CreateContextName,
    SMB2CreateContextRequest,
    SMB2CreateQueryMaximalAccessRequest,
)
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish
from rawclient import expect_status

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
# The share's directory, when the caller knows it (checks QFid against the inode).
SHARE_DIR = sys.argv[5] if len(sys.argv) > 5 else None

STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_END_OF_FILE = 0xC0000011
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_DELETE_PENDING = 0xC0000056
STATUS_OBJECT_NAME_COLLISION = 0xC0000035

A = FilePipePrinterAccessMask
READ = A.FILE_READ_DATA | A.FILE_READ_ATTRIBUTES
WRITE = A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES
RW = READ | WRITE
ALL_SHARE = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE



class Client:
    """One connection, session and tree connect."""

    def __init__(self, dialect=Dialects.SMB_3_1_1):
        self.conn = Connection(uuid.uuid4(), host, port, require_signing=True)
        self.conn.connect(dialect=dialect, timeout=10)
        self.session = Session(self.conn, user, password, require_encryption=dialect >= Dialects.SMB_3_0_0)
        self.session.connect()
        self.tree = TreeConnect(self.session, rf"\\{host}\share")
        self.tree.connect()

    def open(self, name, access=RW, share=ALL_SHARE, disposition=CreateDisposition.FILE_OPEN_IF,
             options=CreateOptions.FILE_NON_DIRECTORY_FILE, contexts=None):
        o = Open(self.tree, name)
        resp = o.create(ImpersonationLevel.Impersonation, access, 0, share, disposition, options,
                        create_contexts=contexts)
        o.contexts = resp
        return o

    def close(self):
        # Failed creates stay in smbprotocol's open table; just drop the connection.
        try:
            self.conn.transport.close()
        except Exception:  # noqa: BLE001 - teardown only
            pass


a = Client()
b = Client(Dialects.SMB_2_1_0)


def share_modes_across_connections():
    name = "sharemode.txt"
    f1 = a.open(name, access=RW, share=ShareAccess.FILE_SHARE_READ,
                disposition=CreateDisposition.FILE_OVERWRITE_IF)
    # Another connection (another dialect, another session) may not write...
    expect_status(STATUS_SHARING_VIOLATION, lambda: b.open(name, access=RW))
    # ... nor read without sharing the first open's write access.
    expect_status(STATUS_SHARING_VIOLATION,
                  lambda: b.open(name, access=READ, share=ShareAccess.FILE_SHARE_READ))
    # Attribute-only opens never conflict.
    b.open(name, access=A.FILE_READ_ATTRIBUTES, share=0).close()
    r = b.open(name, access=READ, share=ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE)
    f1.write(b"hello", 0)
    assert r.read(0, 5) == b"hello"
    r.close()
    f1.close()
    w = b.open(name, access=RW, share=0)
    expect_status(STATUS_SHARING_VIOLATION, lambda: a.open(name, access=READ))
    w.close()
    a.open(name, access=A.DELETE, options=CreateOptions.FILE_DELETE_ON_CLOSE).close()


def delete_on_close():
    name = "doc.txt"
    f = a.open(name, access=RW | A.DELETE, disposition=CreateDisposition.FILE_CREATE,
               options=CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE)
    f.write(b"x" * 100, 0)
    # The file is not delete-pending until the open closes: others may still open it.
    g = b.open(name, access=READ)
    f.close()
    # Now it is, while g keeps it alive.
    expect_status(STATUS_DELETE_PENDING, lambda: a.open(name, access=READ))
    g.close()
    expect_status(STATUS_OBJECT_NAME_NOT_FOUND,
                  lambda: a.open(name, access=READ, disposition=CreateDisposition.FILE_OPEN))
    # DELETE_ON_CLOSE needs DELETE access.
    expect_status(STATUS_INVALID_PARAMETER,
                  lambda: a.open(name, access=RW,
                                 options=CreateOptions.FILE_DELETE_ON_CLOSE))


def directory_delete_on_close():
    d = a.open("docdir", access=A.FILE_READ_ATTRIBUTES | A.DELETE,
               disposition=CreateDisposition.FILE_CREATE,
               options=CreateOptions.FILE_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE)
    d.close()
    expect_status(STATUS_OBJECT_NAME_NOT_FOUND,
                  lambda: a.open("docdir", access=READ, disposition=CreateDisposition.FILE_OPEN,
                                 options=CreateOptions.FILE_DIRECTORY_FILE))


def above_4gib():
    name = "big_offsets.bin"
    f = a.open(name, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    off = (5 << 30) + 3
    data = os.urandom(70000)
    assert f.write(data, off) == len(data)
    assert f.read(off, len(data)) == data
    assert f.read(off - 10, 10) == b"\0" * 10
    expect_status(STATUS_END_OF_FILE, lambda: f.read(off + len(data), 10))
    f.close()
    a.open(name, access=A.DELETE, options=CreateOptions.FILE_DELETE_ON_CLOSE).close()


def hundred_mib_by_hash():
    name = "hundred.bin"
    size = 100 * 1024 * 1024
    chunk = min(a.conn.max_write_size, a.conn.max_read_size, 1 << 20)
    f = a.open(name, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    h_out = hashlib.sha256()
    seed = os.urandom(chunk)
    for i in range(size // chunk):
        block = seed[i % 251:] + seed[:i % 251]
        h_out.update(block)
        assert f.write(block, i * chunk) == chunk
    f.flush()
    f.close()
    g = b.open(name, access=READ, share=ShareAccess.FILE_SHARE_READ)
    h_in = hashlib.sha256()
    step = min(b.conn.max_read_size, 1 << 20)
    for off in range(0, size, step):
        h_in.update(g.read(off, step))
    g.close()
    assert h_in.hexdigest() == h_out.hexdigest(), "hash mismatch"
    a.open(name, access=A.DELETE, options=CreateOptions.FILE_DELETE_ON_CLOSE).close()


def contexts_mxac_qfid():
    mx = SMB2CreateContextRequest()
    mx["buffer_name"] = CreateContextName.SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST
    mx["buffer_data"] = SMB2CreateQueryMaximalAccessRequest()
    qf = SMB2CreateContextRequest()
    qf["buffer_name"] = CreateContextName.SMB2_CREATE_QUERY_ON_DISK_ID
    qf["buffer_data"] = b""
    f = a.open("ctx.txt", contexts=[mx, qf])
    by_type = {type(c).__name__: c for c in f.contexts}
    m = by_type["SMB2CreateQueryMaximalAccessResponse"]
    assert m["query_status"].get_value() == 0, m
    assert m["maximal_access"].get_value() == 0x1F01FF, m
    q = by_type["SMB2CreateQueryOnDiskIDResponse"]
    ino = os.stat(os.path.join(SHARE_DIR, "ctx.txt")).st_ino if SHARE_DIR else None
    assert q["disk_file_id"].get_value() != 0, q
    if ino is not None:
        assert q["disk_file_id"].get_value() == ino, (q["disk_file_id"].get_value(), ino)
    f.close()


def access_checks():
    f = a.open("acc.txt", access=READ, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    expect_status(STATUS_ACCESS_DENIED, lambda: f.write(b"no", 0))
    expect_status(STATUS_ACCESS_DENIED, lambda: f.flush())
    f.close()
    w = a.open("acc.txt", access=A.FILE_WRITE_DATA)
    expect_status(STATUS_ACCESS_DENIED, lambda: w.read(0, 1))
    w.write(b"ok", 0)
    w.flush()
    w.close()
    expect_status(STATUS_OBJECT_NAME_COLLISION,
                  lambda: a.open("acc.txt", disposition=CreateDisposition.FILE_CREATE))
    d = a.open("adir", access=READ, disposition=CreateDisposition.FILE_OPEN_IF,
               options=CreateOptions.FILE_DIRECTORY_FILE)
    expect_status(STATUS_INVALID_DEVICE_REQUEST, lambda: d.read(0, 1))
    d.close()


case("share modes across two connections", share_modes_across_connections)
case("delete on close", delete_on_close)
case("delete on close of a directory", directory_delete_on_close)
case("offsets above 4 GiB", above_4gib)
case("100 MiB write/read by hash", hundred_mib_by_hash)
case("create contexts MxAc and QFid", contexts_mxac_qfid)
case("access checks of READ/WRITE/FLUSH", access_checks)

a.close()
b.close()

finish()
