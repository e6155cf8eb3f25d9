"""python smbprotocol against rsmbd: signing required, and encryption with every 3.x dialect
and cipher; an unencrypted session to an `encrypt = true` share is refused.

usage: session_matrix.py HOST PORT USER PASS
Shares expected: `share` (plain) and `sealed` (encrypt = true).
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import sys
import uuid

from smbprotocol.connection import Ciphers, Connection, Dialects, SigningAlgorithms
from smbprotocol.exceptions import SMBException
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]



def connect(dialect, sign=True, encrypt=False, cipher=None, signing_algo=None, share="share", auth="negotiate"):
    conn = Connection(uuid.uuid4(), host, port, require_signing=sign)
    kwargs = {}
    if cipher is not None:
        kwargs["preferred_encryption_algos"] = [cipher]
    if signing_algo is not None:
        kwargs["preferred_signing_algos"] = [signing_algo]
    conn.connect(dialect=dialect, timeout=10, **kwargs)
    try:
        if conn.dialect != dialect:
            raise AssertionError(f"negotiated {conn.dialect:#x}, wanted {dialect:#x}")
        if cipher is not None and conn.cipher_id != cipher:
            raise AssertionError(f"cipher {conn.cipher_id}, wanted {cipher}")
        s = Session(conn, user, password, require_encryption=encrypt, auth_protocol=auth)
        s.connect()
        if encrypt and not s.encrypt_data:
            raise AssertionError("session is not encrypting")
        t = TreeConnect(s, rf"\\{host}\{share}")
        t.connect()
        t.disconnect()
        s.disconnect()
    finally:
        conn.disconnect()


DIALECTS = {"2.0.2": Dialects.SMB_2_0_2, "2.1": Dialects.SMB_2_1_0, "3.0": Dialects.SMB_3_0_0,
            "3.0.2": Dialects.SMB_3_0_2, "3.1.1": Dialects.SMB_3_1_1}

for name, d in DIALECTS.items():
    case(f"signing required {name}", lambda d=d: connect(d, sign=True))
    case(f"signing required {name} raw ntlm", lambda d=d: connect(d, sign=True, auth="ntlm"))
for name in ["3.0", "3.0.2"]:
    case(f"encrypted {name} AES-128-CCM", lambda d=DIALECTS[name]: connect(d, encrypt=True))
for cname, c in [("AES-128-CCM", Ciphers.AES_128_CCM), ("AES-128-GCM", Ciphers.AES_128_GCM),
                 ("AES-256-CCM", Ciphers.AES_256_CCM), ("AES-256-GCM", Ciphers.AES_256_GCM)]:
    case(f"encrypted 3.1.1 {cname}", lambda c=c: connect(Dialects.SMB_3_1_1, encrypt=True, cipher=c))
for sname, a in [("HMAC-SHA256", SigningAlgorithms.HMAC_SHA256), ("AES-CMAC", SigningAlgorithms.AES_CMAC),
                 ("AES-GMAC", SigningAlgorithms.AES_GMAC)]:
    case(f"signed 3.1.1 {sname}", lambda a=a: connect(Dialects.SMB_3_1_1, sign=True, signing_algo=a))
case("encrypted share with encryption 3.1.1", lambda: connect(Dialects.SMB_3_1_1, encrypt=True, share="sealed"))


def unencrypted_to_sealed(dialect):
    try:
        connect(dialect, sign=True, encrypt=False, share="sealed")
    except SMBException as e:
        if "STATUS_ACCESS_DENIED" in str(e) or "0xc0000022" in str(e).lower():
            return
        raise
    raise AssertionError("unencrypted tree connect to an encrypt=true share was accepted")


case("unencrypted 2.1 to sealed share refused", lambda: unencrypted_to_sealed(Dialects.SMB_2_1_0))


def wrong_password():
    try:
        conn = Connection(uuid.uuid4(), host, port, require_signing=True)
        conn.connect(dialect=Dialects.SMB_3_1_1, timeout=10)
        try:
            Session(conn, user, password + "x", require_encryption=False, auth_protocol="ntlm").connect()
        finally:
            conn.disconnect()
    except SMBException as e:
        if "LOGON_FAILURE" in str(e) or "0xc000006d" in str(e).lower():
            return
        raise
    raise AssertionError("wrong password accepted")


case("wrong password refused", wrong_password)

finish()
