"""Bad input: requests with invalid signatures on a signed session get STATUS_ACCESS_DENIED
(MS-SMB2 3.3.5.2.4) and the session keeps working afterwards.

usage: badinput_signing.py HOST PORT USER PASS
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect
from smbprotocol.header import NtStatus
from smbprotocol.ioctl import SMB2IOCTLRequest  # noqa: F401 - import check only
from smbprotocol.connection import SMB2Echo  # type: ignore[attr-defined]

from harness import case, finish

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]



def echo(conn, session):
    req = conn.send(SMB2Echo(), sid=session.session_id)
    return conn.receive(req)


def bad_signature(dialect):
    conn = Connection(uuid.uuid4(), host, port, require_signing=True)
    conn.connect(dialect=dialect, timeout=10)
    try:
        s = Session(conn, user, password, require_encryption=False)
        s.connect()
        echo(conn, s)
        good = s.signing_key
        # Sign with the wrong key; do not check the server's (correctly signed) answer.
        conn.verify_signature = lambda *a, **k: None
        s.signing_key = bytes(b ^ 0x55 for b in good)
        try:
            echo(conn, s)
            raise AssertionError("a request with a bad signature succeeded")
        except SMBResponseException as e:
            if e.status != NtStatus.STATUS_ACCESS_DENIED:
                raise AssertionError(f"status {e.status:#x}, wanted ACCESS_DENIED")
        s.signing_key = good
        # The session still works with the right key.
        echo(conn, s)
        t = TreeConnect(s, rf"\\{host}\share")
        t.connect()
        t.disconnect()
        s.disconnect()
    finally:
        conn.disconnect()


for name, d in [("2.1", Dialects.SMB_2_1_0), ("3.0", Dialects.SMB_3_0_0), ("3.1.1", Dialects.SMB_3_1_1)]:
    case(f"bad signature {name}", lambda d=d: bad_signature(d))

finish()
