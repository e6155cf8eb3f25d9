"""Directory leases (MS-SMB2 3.3.5.9.11, SMB2_GLOBAL_CAP_DIRECTORY_LEASING) with python smbprotocol.

Usage: dir_lease.py HOST PORT USER PASSWORD

A directory opened with a v2 lease asking for RWH gets RH (never W) on SMB 3.1.1. A change of
its listing breaks that lease to none, the notification naming the lease key, on the holder's
connection: a child created, deleted (delete on close), renamed within, into or out of the
directory, by the same client with another lease key or by another client. A child created
with a lease whose ParentLeaseKey is the directory's lease key does not break it.

smbprotocol has no handler for server-initiated messages (MessageId 0xFFFFFFFFFFFFFFFF), so the
connections here catch them (rawclient.catch_breaks).
"""
import struct
import sys
import time
import uuid

from harness import case, finish
from rawclient import catch_breaks
from smbprotocol.connection import Connection, Dialects
from smbprotocol.create_contexts import (
    CreateContextName,
    SMB2CreateContextRequest,
    SMB2CreateRequestLeaseV2,
)
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    Open,
    RequestedOplockLevel,
    SMB2SetInfoRequest,
    SMB2SetInfoResponse,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

host, port, user, password = sys.argv[1:5]
port = int(port)

CAP_DIRECTORY_LEASING = 0x20
LEASE_R, LEASE_H, LEASE_W = 1, 2, 4
PARENT_LEASE_KEY_SET = 0x4


class Client:
    def __init__(self):
        self.conn = Connection(uuid.uuid4(), host, port)
        self.breaks = []
        catch_breaks(self.conn, self.breaks)
        self.conn.connect(Dialects.SMB_3_1_1)
        self.sess = Session(self.conn, user, password)
        self.sess.connect()
        self.tree = TreeConnect(self.sess, rf"\\{host}\share")
        self.tree.connect()

    def close(self):
        self.conn.disconnect(True)


def lease_ctx(key, state, parent=None):
    rq = SMB2CreateRequestLeaseV2()
    rq["lease_key"] = key
    rq["lease_state"] = state
    if parent is not None:
        rq["lease_flags"] = PARENT_LEASE_KEY_SET
        rq["parent_lease_key"] = parent
    else:
        rq["parent_lease_key"] = b"\0" * 16
    rq["epoch"] = b"\0\0"
    c = SMB2CreateContextRequest()
    c["buffer_name"] = CreateContextName.SMB2_CREATE_REQUEST_LEASE_V2
    c["buffer_data"] = rq
    return c


def granted(resp):
    for c in resp or []:
        if hasattr(c, "fields") and "lease_state" in c.fields:
            return c["lease_state"].get_value()
    return None


def open_dir(c, name, key=None, state=LEASE_R | LEASE_H | LEASE_W):
    o = Open(c.tree, name)
    ctxs = [lease_ctx(key, state)] if key else None
    resp = o.create(ImpersonationLevel.Impersonation, 0x00100081, FileAttributes.FILE_ATTRIBUTE_DIRECTORY, 7,
                    CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE, ctxs,
                    oplock_level=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE if key
                    else RequestedOplockLevel.SMB2_OPLOCK_LEVEL_NONE)
    return o, granted(resp)


def open_file(c, name, key=None, parent=None, disposition=CreateDisposition.FILE_OPEN_IF, options=0):
    o = Open(c.tree, name)
    ctxs = [lease_ctx(key, LEASE_R | LEASE_H | LEASE_W, parent)] if key else None
    o.create(ImpersonationLevel.Impersonation, 0x0012019F | 0x00010000, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
             disposition, CreateOptions.FILE_NON_DIRECTORY_FILE | options, ctxs,
             oplock_level=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE if key
             else RequestedOplockLevel.SMB2_OPLOCK_LEVEL_NONE)
    return o


def rename(c, o, target):
    t = target.encode("utf-16-le")
    req = SMB2SetInfoRequest()
    req["info_type"] = 1
    req["file_info_class"] = 10  # FileRenameInformation
    req["file_id"] = o.file_id
    req["buffer"] = struct.pack("<B7xQI", 0, 0, len(t)) + t
    resp = c.conn.receive(c.conn.send(req, c.sess.session_id, c.tree.tree_connect_id))
    SMB2SetInfoResponse().unpack(resp["data"].get_value())


def wait_break(c, key, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        for b in c.breaks:
            if b["key"] == key:
                return b
        time.sleep(0.05)
    raise AssertionError(f"no lease break for {key.hex()} (got {c.breaks})")


def expect_no_break(c, key, wait=1.0):
    time.sleep(wait)
    assert not [b for b in c.breaks if b["key"] == key], f"unexpected break: {c.breaks}"


def key():
    return uuid.uuid4().bytes


def assert_broken_to_none(b):
    assert b["current"] == LEASE_R | LEASE_H and b["new"] == 0, b
    assert b["flags"] & 1, f"RH break must require an acknowledgment: {b}"


A = Client()
B = Client()


def capability():
    caps = A.conn.server_capabilities.get_value() if hasattr(A.conn.server_capabilities, "get_value") \
        else int(A.conn.server_capabilities)
    assert caps & CAP_DIRECTORY_LEASING, f"server capabilities 0x{caps:x} lack DIRECTORY_LEASING"


def grant():
    d, state = open_dir(A, "dl_grant", key())
    assert state == LEASE_R | LEASE_H, f"RWH on a directory: granted {state}, wanted RH"
    d2, state = open_dir(A, "dl_grant", key(), LEASE_R)
    assert state == LEASE_R, f"R on a directory: granted {state}"
    d2.close()
    d.close()


def scenario(name, change, with_parent=False):
    """Opens directory `name` with a lease, runs `change(dir_key)`, and expects a break (or none)."""
    k = key()
    d, state = open_dir(A, name, k)
    assert state == LEASE_R | LEASE_H, state
    try:
        change(k)
        if with_parent:
            expect_no_break(A, k)
        else:
            assert_broken_to_none(wait_break(A, k))
    finally:
        d.close()


def create_same_client(k):
    open_file(A, r"dl_create\f", key()).close()


def create_other_client(k):
    open_file(B, r"dl_create_b\f").close()


def create_with_parent_key(k):
    f = open_file(A, r"dl_parent\f", key(), parent=k)
    f.close()


def delete_child(k):
    open_file(B, r"dl_delete\f", disposition=CreateDisposition.FILE_OPEN,
              options=CreateOptions.FILE_DELETE_ON_CLOSE).close()


def rename_within(k):
    f = open_file(B, r"dl_rename\a", disposition=CreateDisposition.FILE_OPEN)
    rename(B, f, r"dl_rename\b")
    f.close()


def rename_into(k):
    f = open_file(B, "dl_outside.txt", disposition=CreateDisposition.FILE_OVERWRITE_IF)
    rename(B, f, r"dl_into\moved.txt")
    f.close()


def parent_key_then_other(k):
    # No break for the child made with the parent key; then one for a child made without it.
    open_file(A, r"dl_mixed\p", key(), parent=k).close()
    expect_no_break(A, k)
    open_file(A, r"dl_mixed\q", key()).close()


def prepare(name, children=()):
    """Makes directory `name` and its `children` before any lease is taken on it."""
    d, _ = open_dir(B, name)
    d.close()
    for c in children:
        open_file(B, name + "\\" + c).close()


for n in ["dl_create", "dl_create_b", "dl_parent", "dl_into", "dl_mixed"]:
    prepare(n)
prepare("dl_delete", ["f"])
prepare("dl_rename", ["a"])

case("DIRECTORY_LEASING advertised on 3.1.1", capability)
case("directory lease granted R or RH, never W", grant)
case("child created by the same client (other lease key) breaks RH to none",
     lambda: scenario("dl_create", create_same_client))
case("child created by another client breaks the lease",
     lambda: scenario("dl_create_b", create_other_client))
case("child created with ParentLeaseKey = directory lease key: no break",
     lambda: scenario("dl_parent", create_with_parent_key, with_parent=True))
case("child deleted (delete on close) breaks the lease", lambda: scenario("dl_delete", delete_child))
case("child renamed within the directory breaks the lease", lambda: scenario("dl_rename", rename_within))
case("file renamed into the directory breaks the lease", lambda: scenario("dl_into", rename_into))
case("parent key exempts only its own lease's children",
     lambda: scenario("dl_mixed", parent_key_then_other))

A.close()
B.close()
finish()
