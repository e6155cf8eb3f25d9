"""Persistent handles across a SIGKILL and restart of rsmbd (driven by tests/persistent.rs).

usage: persistent_kill.py HOST PORT USER PASS OTHER_USER OTHER_PASS

Protocol with the test (stdin/stdout lines):
  1. Opens on the CA share `ca`, with DH2Q + SMB2_DHANDLE_FLAG_PERSISTENT, all with one
     ClientGuid: `big.bin` (no oplock; an exclusive byte-range lock at 1 GiB), `leased.bin`
     (lease v2 RWH), `expire.bin` (timeout 2 s, never reclaimed), `renamed.bin` (renamed to
     `renamed-new.bin` while open) and `doc.bin` (FileDispositionInformation DeletePending
     set while open) and `broken.bin` (lease v2 RWH, broken by another client's open and
     never acknowledged: after the 2 s break timeout the lease is none). Prints `OPENED`, then
     writes `big.bin` in 64 KiB chunks, printing `WROTE k` after chunk k is acknowledged.
  2. The test SIGKILLs rsmbd mid-write and restarts it on the same port and state directory;
     the next write fails and the script prints `LOST k`, then waits for a `RESTARTED` line.
  3. Cases after the restart: another user's DH2C is refused; the owner's DH2C reclaims
     `big.bin` (its lock is back: another connection cannot lock the range) and `leased.bin`
     (lease state RWH again); writing resumes from the chunk that failed, the file is closed
     and read back byte-exact; `renamed-new.bin` is reclaimed under its new name, and
     `doc.bin`, reclaimed and closed, is gone; `broken.bin` comes back with no lease. Prints `DONE <sha256>`; the test compares the
     file on disk.
  4. Waits for an `EXPIRED` line (the test waited past expire.bin's timeout) and checks that
     its DH2C now finds nothing (STATUS_OBJECT_NAME_NOT_FOUND).
"""
import hashlib
import struct
import sys
import uuid

from harness import case, finish
from rawclient import catch_breaks, expect_status, set_file_info
from smbprotocol.connection import Connection
from smbprotocol.create_contexts import (
    CreateContextName,
    DurableHandleFlags,
    SMB2CreateContextRequest,
    SMB2CreateDurableHandleReconnectV2,
    SMB2CreateDurableHandleRequestV2,
    SMB2CreateRequestLeaseV2,
)
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    LockFlags,
    Open,
    RequestedOplockLevel,
    SMB2LockElement,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

host, port, user, password, other_user, other_pass = sys.argv[1:7]
port = int(port)
CLIENT_GUID = uuid.uuid4()
RW = 0x0012019F
RW_DELETE = RW | 0x00010000
CHUNK = 65536
CHUNKS = 48
LOCK_AT = 1 << 30
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_LOCK_NOT_GRANTED = 0xC0000055


def chunk(k):
    """Chunk k of big.bin: a pattern that depends on k and the position."""
    seed = hashlib.sha256(k.to_bytes(4, "little")).digest()
    return (seed * (CHUNK // len(seed) + 1))[:CHUNK]


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def connect(u=user, p=password, guid=CLIENT_GUID, breaks=None):
    conn = Connection(guid, host, port)
    if breaks is not None:
        catch_breaks(conn, breaks)
    conn.connect()
    sess = Session(conn, u, p)
    sess.connect()
    tree = TreeConnect(sess, rf"\\{host}\ca")
    tree.connect()
    return conn, tree


def context(name, data):
    c = SMB2CreateContextRequest()
    c["buffer_name"] = name
    c["buffer_data"] = data
    return c


def dh2q(create_guid, timeout_ms):
    d = SMB2CreateDurableHandleRequestV2()
    d["timeout"] = timeout_ms
    d["flags"] = DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT
    d["create_guid"] = create_guid
    return context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, d)


def dh2c(file_id, create_guid):
    d = SMB2CreateDurableHandleReconnectV2()
    d["file_id"] = file_id
    d["create_guid"] = create_guid
    d["flags"] = DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT
    return context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2, d)


def lease(key, state=7):
    rq = SMB2CreateRequestLeaseV2()
    rq["lease_key"] = key
    rq["lease_state"] = state
    rq["parent_lease_key"] = b"\0" * 16
    rq["epoch"] = b"\0\0"
    return context(CreateContextName.SMB2_CREATE_REQUEST_LEASE_V2, rq)


def durable_flags(resp):
    for c in resp or []:
        if hasattr(c, "fields") and "timeout" in c.fields and "flags" in c.fields:
            return c["flags"].get_value()
    return None


def lease_state(resp):
    for c in resp or []:
        if hasattr(c, "fields") and "lease_state" in c.fields:
            return c["lease_state"].get_value()
    return None


def open_new(tree, name, ctxs, oplock=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_NONE, access=RW):
    o = Open(tree, name)
    resp = o.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
                    CreateDisposition.FILE_OVERWRITE_IF, CreateOptions.FILE_NON_DIRECTORY_FILE, ctxs,
                    oplock_level=oplock)
    return o, resp


def reopen(tree, name, file_id, create_guid, extra=(), oplock=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_NONE,
           access=RW):
    o = Open(tree, name)
    resp = o.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
                    CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE,
                    [dh2c(file_id, create_guid)] + list(extra), oplock_level=oplock)
    return o, resp


def rename(o, new_name):
    """FileRenameInformation (class 10): ReplaceIfExists 0, RootDirectory 0, FileName."""
    name = new_name.encode("utf-16-le")
    set_file_info(o, 10, struct.pack("<B7xQI", 0, 0, len(name)) + name)


def lock_element(flags):
    e = SMB2LockElement()
    e["offset"] = LOCK_AT
    e["length"] = 1
    e["flags"] = flags
    return e


# 1. Persistent opens, then writes until the server dies.
breaks = []
conn, tree = connect(breaks=breaks)
big_guid, leased_guid, expire_guid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
lease_key = uuid.uuid4().bytes
big, r = open_new(tree, "big.bin", [dh2q(big_guid, 30000)])
assert durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, f"big.bin: {r}"
big.lock([lock_element(LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])
leased, r = open_new(tree, "leased.bin", [dh2q(leased_guid, 30000), lease(lease_key)],
                     RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE)
assert lease_state(r) == 7 and durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, r
leased.write(b"leased data", 0)
expire, r = open_new(tree, "expire.bin", [dh2q(expire_guid, 2000)])
assert durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, r
# Renamed while open, and marked delete-on-close: both changes must be in the record.
renamed_guid, doc_guid = uuid.uuid4(), uuid.uuid4()
renamed, r = open_new(tree, "renamed.bin", [dh2q(renamed_guid, 30000)], access=RW_DELETE)
assert durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, r
renamed.write(b"renamed data", 0)
rename(renamed, "renamed-new.bin")
doc, r = open_new(tree, "doc.bin", [dh2q(doc_guid, 30000)], access=RW_DELETE)
assert durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, r
set_file_info(doc, 13, b"\x01")  # FileDispositionInformation: DeletePending
# A lease whose break is never acknowledged: another client's open breaks RWH to RH, waits out
# the break timeout (2 s in the test's config) and gets in; the lease is then none, and so
# must be the record.
broken_guid, broken_key = uuid.uuid4(), uuid.uuid4().bytes
broken, r = open_new(tree, "broken.bin", [dh2q(broken_guid, 30000), lease(broken_key)],
                     RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE)
assert lease_state(r) == 7 and durable_flags(r) == DurableHandleFlags.SMB2_DHANDLE_FLAG_PERSISTENT, r
other_conn, other_tree = connect(guid=uuid.uuid4())
intruder = Open(other_tree, "broken.bin")
intruder.create(ImpersonationLevel.Impersonation, RW, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
                CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE)
intruder.close()
other_conn.disconnect(True)
assert [(b["key"], b["current"], b["new"]) for b in breaks] == [(broken_key, 7, 3)], breaks
ids = {"big": big.file_id, "leased": leased.file_id, "expire": expire.file_id,
       "renamed": renamed.file_id, "doc": doc.file_id, "broken": broken.file_id}
say("OPENED")
lost = None
for k in range(CHUNKS):
    try:
        big.write(chunk(k), k * CHUNK)
    except Exception:  # noqa: BLE001 - the server was killed
        lost = k
        break
    say(f"WROTE {k}")
if lost is None:
    say("NOT LOST")
    sys.exit(2)
say(f"LOST {lost}")
if sys.stdin.readline().strip() != "RESTARTED":
    sys.exit(2)
try:
    conn.disconnect(close=False)
except Exception:  # noqa: BLE001 - the old connection is dead
    pass

# 3. Reclaim after the restart.
state = {}


def other_user_refused():
    _, t = connect(other_user, other_pass)
    expect_status(STATUS_ACCESS_DENIED, lambda: reopen(t, "big.bin", ids["big"], big_guid))


def owner_reclaims_and_finishes():
    _, t = connect()
    o, _ = reopen(t, "big.bin", ids["big"], big_guid)
    state["tree"] = t
    for k in range(lost, CHUNKS):
        o.write(chunk(k), k * CHUNK)
    expected = b"".join(chunk(k) for k in range(CHUNKS))
    got = b"".join(o.read(i * CHUNK, CHUNK) for i in range(CHUNKS))
    assert got == expected, "read back differs"
    state["big"] = o
    state["sha"] = hashlib.sha256(expected).hexdigest()


def lock_survived():
    _, t = connect()
    o = Open(t, "big.bin")
    o.create(ImpersonationLevel.Impersonation, 0x00120089, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
             CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE)
    flags = LockFlags.SMB2_LOCKFLAG_SHARED_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY
    expect_status(STATUS_LOCK_NOT_GRANTED, lambda: o.lock([lock_element(flags)]))
    o.close()
    # The owner can still unlock it.
    state["big"].lock([lock_element(LockFlags.SMB2_LOCKFLAG_UNLOCK)])


def lease_survived():
    o, r = reopen(state["tree"], "leased.bin", ids["leased"], leased_guid, [lease(lease_key)],
                  RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE)
    assert lease_state(r) == 7, f"lease after reclaim: {lease_state(r)}"
    assert o.read(0, 11) == b"leased data"
    o.close()


def timed_out_break_survived():
    o, r = reopen(state["tree"], "broken.bin", ids["broken"], broken_guid, [lease(broken_key)],
                  RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE)
    assert lease_state(r) == 0, f"lease after reclaim: {lease_state(r)} (the break timed out: none)"
    o.close()


def rename_survived():
    o, _ = reopen(state["tree"], "renamed-new.bin", ids["renamed"], renamed_guid, access=RW_DELETE)
    assert o.read(0, 12) == b"renamed data"
    o.close()


def delete_on_close_survived():
    o, _ = reopen(state["tree"], "doc.bin", ids["doc"], doc_guid, access=RW_DELETE)
    o.close()
    gone = Open(state["tree"], "doc.bin")
    expect_status(STATUS_OBJECT_NAME_NOT_FOUND, lambda: gone.create(
        ImpersonationLevel.Impersonation, 0x00120089, FileAttributes.FILE_ATTRIBUTE_NORMAL, 7,
        CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE))


case("another user cannot reclaim", other_user_refused)
case("owner reclaims, finishes, byte-exact", owner_reclaims_and_finishes)
if "big" in state:
    case("byte-range lock re-established", lock_survived)
    case("lease restored", lease_survived)
    case("lease whose break timed out restored as none", timed_out_break_survived)
    case("renamed while open: reclaimed under the new name", rename_survived)
    case("delete-on-close set while open: deleted on the reclaimed handle's close", delete_on_close_survived)
    state["big"].close()
    say(f"DONE {state['sha']}")
if sys.stdin.readline().strip() == "EXPIRED":
    def expired_gone():
        t = state.get("tree") or connect()[1]
        expect_status(STATUS_OBJECT_NAME_NOT_FOUND, lambda: reopen(t, "expire.bin", ids["expire"], expire_guid))

    case("expired handle is gone", expired_gone)
finish()
