"""Holds a session with one open file for `rsmbd status` to show (tests/status.rs).

Connects (3.1.1, signed), opens `held.txt` read/write, writes and reads back 64 KiB, prints
`READY`, then keeps everything open until stdin closes or sends a line, and exits 0.

usage: status_hold.py HOST PORT USER PASS"""
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask as A,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

conn = Connection(uuid.uuid4(), host, port, require_signing=True)
conn.connect(dialect=Dialects.SMB_3_1_1, timeout=10)
session = Session(conn, user, password, require_encryption=False)
session.connect()
tree = TreeConnect(session, rf"\\{host}\share")
tree.connect()
f = Open(tree, "held.txt")
f.create(
    ImpersonationLevel.Impersonation,
    A.FILE_READ_DATA | A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES,
    0,
    ShareAccess.FILE_SHARE_READ,
    CreateDisposition.FILE_OVERWRITE_IF,
    CreateOptions.FILE_NON_DIRECTORY_FILE,
)
data = bytes(range(256)) * 256
f.write(data, 0)
assert f.read(0, len(data)) == data
print(f"READY session=0x{session.session_id:016x}", flush=True)
sys.stdin.readline()
f.close()
tree.disconnect()
session.disconnect()
conn.disconnect()
print("DONE", flush=True)
