"""python smbprotocol against rsmbd: N opens held at once on one session (issue 6, scale).

Creates directory `many` and N files in it, 50 CREATEs per compound, keeps every handle open,
then writes and reads back through a sample of them (each handle still names its own file),
and closes them all. Prints `N opens held` on success; exits 1 on any failure.

usage: many_opens.py HOST PORT USER PASS N"""
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
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

host, port, user, password, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
A = FilePipePrinterAccessMask
RW = A.FILE_READ_DATA | A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES
SHARE = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE

conn = Connection(uuid.uuid4(), host, port, require_signing=False)
conn.connect(dialect=Dialects.SMB_3_1_1, timeout=30)
session = Session(conn, user, password, require_encryption=False)
session.connect()
tree = TreeConnect(session, rf"\\{host}\share")
tree.connect()

d = Open(tree, "many")
d.create(ImpersonationLevel.Impersonation, A.FILE_READ_ATTRIBUTES, 0, SHARE,
         CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE)
d.close()

opens = []
BATCH = 50
for start in range(0, n, BATCH):
    batch, msgs = [], []
    for i in range(start, min(start + BATCH, n)):
        o = Open(tree, rf"many\f{i:05}")
        req, resp = o.create(ImpersonationLevel.Impersonation, RW, 0, SHARE,
                             CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_NON_DIRECTORY_FILE,
                             send=False)
        batch.append((o, resp))
        msgs.append(req)
    sent = conn.send_compound(msgs, session.session_id, tree.tree_connect_id)
    for (o, resp), r in zip(batch, sent):
        resp(r)
        opens.append(o)
assert len(opens) == n, len(opens)
assert len({o.file_id for o in opens}) == n, "FileIds are not unique"

# Every handle still names its own file.
for i in range(0, n, max(1, n // 200)):
    data = f"file {i}".encode()
    opens[i].write(data, 0)
for i in range(0, n, max(1, n // 200)):
    got = opens[i].read(0, 64)
    assert got == f"file {i}".encode(), (i, got)

print(f"{n} opens held")
for start in range(0, n, BATCH):
    msgs, funcs = [], []
    for o in opens[start:start + BATCH]:
        req, resp = o.close(get_attributes=False, send=False)
        msgs.append(req)
        funcs.append(resp)
    sent = conn.send_compound(msgs, session.session_id, tree.tree_connect_id)
    for f, r in zip(funcs, sent):
        f(r)
print("closed")
conn.disconnect()
