"""python smbprotocol against rsmbd: byte-range lock conflicts across two sessions
(MS-SMB2 3.3.5.14, MS-FSA 2.1.5.7).

usage: locks_conflict.py HOST PORT USER PASS
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import sys
import time
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    LockFlags,
    Open,
    ShareAccess,
    SMB2LockElement,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish
from rawclient import expect_status

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
GENERIC_READ_WRITE = 0x80000000 | 0x40000000
STATUS_PENDING = 0x00000103
STATUS_LOCK_NOT_GRANTED = 0xC0000055
STATUS_RANGE_NOT_LOCKED = 0xC000007E
EX, SH = LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK, LockFlags.SMB2_LOCKFLAG_SHARED_LOCK
UN, FI = LockFlags.SMB2_LOCKFLAG_UNLOCK, LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY



class Client:
    def __init__(self, dialect):
        self.conn = Connection(uuid.uuid4(), host, port)
        self.conn.connect(dialect=dialect, timeout=10)
        self.session = Session(self.conn, user, password, require_encryption=False)
        self.session.connect()
        self.tree = TreeConnect(self.session, rf"\\{host}\share")
        self.tree.connect()

    def open(self, name):
        f = Open(self.tree, name)
        f.create(
            ImpersonationLevel.Impersonation,
            GENERIC_READ_WRITE,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
            CreateDisposition.FILE_OPEN_IF,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        return f

    def close(self):
        self.conn.disconnect()


def element(offset, length, flags):
    e = SMB2LockElement()
    e["offset"] = offset
    e["length"] = length
    e["flags"] = flags
    return e


def blocking_lock_released_by_other_session(dialect):
    a, b = Client(dialect), Client(dialect)
    try:
        name = f"lock-{uuid.uuid4().hex[:8]}.dat"
        fa, fb = a.open(name), b.open(name)
        fa.lock([element(0, 10, EX | FI)])
        # A conflicting fail-immediately lock is refused.
        expect_status(STATUS_LOCK_NOT_GRANTED, lambda: fb.lock([element(5, 1, SH | FI)]))
        # A blocking one waits ...
        msg, recv = fb.lock([element(5, 1, EX)], send=False)
        req = b.conn.send(msg, b.session.session_id, b.tree.tree_connect_id)
        time.sleep(0.5)
        if req.response is not None and req.response["status"].get_value() != STATUS_PENDING:
            raise AssertionError("the blocking lock completed while the range was locked")
        # ... until the other session unlocks.
        fa.lock([element(0, 10, UN)])
        recv(req)  # raises on a failure status
        # Now session A conflicts with B's lock.
        expect_status(STATUS_LOCK_NOT_GRANTED, lambda: fa.lock([element(5, 1, SH | FI)]))
        fb.lock([element(5, 1, UN)])
        expect_status(STATUS_RANGE_NOT_LOCKED, lambda: fb.lock([element(5, 1, UN)]))
        fa.close()
        fb.close()
    finally:
        a.close()
        b.close()


def disconnect_releases_locks(dialect):
    a, b = Client(dialect), Client(dialect)
    try:
        name = f"lock-{uuid.uuid4().hex[:8]}.dat"
        fa, fb = a.open(name), b.open(name)
        fa.lock([element(100, 1, EX | FI)])
        msg, recv = fb.lock([element(100, 1, SH)], send=False)
        req = b.conn.send(msg, b.session.session_id, b.tree.tree_connect_id)
        time.sleep(0.3)
        a.close()  # the transport goes away: A's locks are released
        a = None
        recv(req)
        fb.close()
    finally:
        if a is not None:
            a.close()
        b.close()


for label, d in [("2.1", Dialects.SMB_2_1_0), ("3.1.1", Dialects.SMB_3_1_1)]:
    case(f"blocking lock released by the other session ({label})",
         lambda d=d: blocking_lock_released_by_other_session(d))
    case(f"disconnect releases locks ({label})", lambda d=d: disconnect_releases_locks(d))

finish()
