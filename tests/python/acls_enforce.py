"""python smbprotocol against rsmbd: security descriptors enforced between two users.

usage: acls_enforce.py HOST PORT USER1 PASS1 USER2 PASS2
USER1 creates a directory with an SMB2_CREATE_SD_BUFFER granting only itself (full
control, inheritable), then a file in it (which inherits the DACL); USER2 must be refused
opening both and creating in the directory, USER1 must not be. Then USER1 sets a DACL
(SET_INFO) letting Everyone read the file: USER2 may read it but not write it, and may not
change its DACL. Prints one line per case and a final `N passed, M failed`; exits 1 on any
failure."""
import struct
import sys
import uuid

from smbprotocol.connection import Connection
from smbprotocol.create_contexts import SMB2CreateContextRequest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.open import SMB2QueryInfoRequest, SMB2QueryInfoResponse, SMB2SetInfoRequest, SMB2SetInfoResponse
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish

host, port = sys.argv[1], int(sys.argv[2])
users = [(sys.argv[3], sys.argv[4]), (sys.argv[5], sys.argv[6])]

STATUS_ACCESS_DENIED = 0xC0000022
FILE_ALL = 0x001F01FF
FILE_READ_DATA = 0x1
FILE_WRITE_DATA = 0x2
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
GENERIC_READ = 0x80000000
OWNER_INFO, DACL_INFO = 0x1, 0x4
OI_CI = 0x3



def connect(user, password):
    conn = Connection(uuid.uuid4(), host, port)
    conn.connect()
    sess = Session(conn, user, password, require_encryption=False)
    sess.connect()
    tree = TreeConnect(sess, rf"\\{host}\share")
    tree.connect()
    return tree


def sid_bytes(s):
    parts = s.split("-")
    subs = [int(x) for x in parts[3:]]
    return struct.pack("<BB", 1, len(subs)) + int(parts[2]).to_bytes(6, "big") + b"".join(
        struct.pack("<I", x) for x in subs
    )


def sid_string(b):
    n = b[1]
    auth = int.from_bytes(b[2:8], "big")
    subs = struct.unpack("<" + "I" * n, b[8 : 8 + 4 * n])
    return "S-1-%d" % auth + "".join("-%d" % x for x in subs)


def sd_bytes(owner, aces):
    """A self-relative SD: optional owner SID and a DACL of (type, flags, mask, sid)."""
    body = b""
    for t, flags, mask, sid in aces:
        s = sid_bytes(sid)
        body += struct.pack("<BBHI", t, flags, 8 + len(s), mask) + s
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    own = sid_bytes(owner) if owner else b""
    owner_off = 20 + len(dacl) if owner else 0
    hdr = struct.pack("<BBHIIII", 1, 0, 0x8004, owner_off, 0, 0, 20)
    return hdr + dacl + own


def open_(tree, name, access, disposition=CreateDisposition.FILE_OPEN, directory=False, sd=None):
    o = Open(tree, name)
    ctx = None
    if sd is not None:
        ctx = [SMB2CreateContextRequest()]
        ctx[0]["buffer_name"] = b"SecD"
        ctx[0]["buffer_data"] = sd
    o.create(
        ImpersonationLevel.Impersonation,
        access,
        FileAttributes.FILE_ATTRIBUTE_DIRECTORY if directory else FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        disposition,
        CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE,
        create_contexts=ctx,
    )
    return o


def denied(fn):
    try:
        o = fn()
    except SMBResponseException as e:
        assert e.status == STATUS_ACCESS_DENIED, "status 0x%08x" % e.status
        return
    o.close()
    raise AssertionError("access was granted")


def query_sd(o, info):
    req = SMB2QueryInfoRequest()
    req["info_type"] = 3
    req["file_info_class"] = 0
    req["output_buffer_length"] = 4096
    req["additional_information"] = info
    req["file_id"] = o.file_id
    conn = o.connection
    r = conn.send(req, o.tree_connect.session.session_id, o.tree_connect.tree_connect_id)
    resp = SMB2QueryInfoResponse()
    resp.unpack(conn.receive(r)["data"].get_value())
    return resp["buffer"].get_value()


def set_sd(o, info, sd):

    req = SMB2SetInfoRequest()
    req["info_type"] = 3
    req["file_info_class"] = 0
    req["additional_information"] = info
    req["file_id"] = o.file_id
    req["buffer"] = sd
    conn = o.connection
    r = conn.send(req, o.tree_connect.session.session_id, o.tree_connect.tree_connect_id)
    SMB2SetInfoResponse().unpack(conn.receive(r)["data"].get_value())


t1 = connect(*users[0])
t2 = connect(*users[1])

# The default descriptor of an object without a stored one names the asker as owner.
probe = open_(t1, "", READ_CONTROL, directory=True)
raw = query_sd(probe, OWNER_INFO)
me = sid_string(raw[struct.unpack("<I", raw[4:8])[0] :])
probe.close()
print("user1 SID", me)

priv = sd_bytes(me, [(0, OI_CI, FILE_ALL, me)])
d = open_(t1, "priv", FILE_ALL, CreateDisposition.FILE_CREATE, directory=True, sd=priv)
d.close()
f = open_(t1, r"priv\f", FILE_ALL, CreateDisposition.FILE_CREATE)
f.write(b"secret", 0)
f.close()

case("owner opens its private directory", lambda: open_(t1, "priv", FILE_ALL, directory=True).close())
case("other user may not open the directory", lambda: denied(lambda: open_(t2, "priv", FILE_READ_DATA, directory=True)))
case("other user may not open the inherited file", lambda: denied(lambda: open_(t2, r"priv\f", FILE_READ_DATA)))
case(
    "other user may not create in the directory",
    lambda: denied(lambda: open_(t2, r"priv\g", FILE_ALL, CreateDisposition.FILE_CREATE)),
)
case(
    "other user may not open_if a missing name there",
    lambda: denied(lambda: open_(t2, r"priv\h", FILE_ALL, CreateDisposition.FILE_OPEN_IF)),
)


def inherited_dacl():
    o = open_(t1, r"priv\f", READ_CONTROL)
    raw = query_sd(o, OWNER_INFO | DACL_INFO)
    o.close()
    dacl_off = struct.unpack("<I", raw[16:20])[0]
    count = struct.unpack("<H", raw[dacl_off + 4 : dacl_off + 6])[0]
    ace = raw[dacl_off + 8 :]
    assert count == 1, count
    assert struct.unpack("<I", ace[4:8])[0] == FILE_ALL
    assert sid_string(ace[8:]) == me


case("the file inherited the directory's DACL", inherited_dacl)


def share_read():
    o = open_(t1, r"priv\f", WRITE_DAC)
    set_sd(o, DACL_INFO, sd_bytes(None, [(0, 0, FILE_ALL, me), (0, 0, GENERIC_READ, "S-1-1-0")]))
    o.close()
    # The directory must be traversable too: give Everyone list access on it.
    o = open_(t1, "priv", WRITE_DAC, directory=True)
    set_sd(o, DACL_INFO, sd_bytes(None, [(0, OI_CI, FILE_ALL, me), (0, 0, 0x1200A9, "S-1-1-0")]))
    o.close()
    r = open_(t2, r"priv\f", FILE_READ_DATA)
    assert r.read(0, 6) == b"secret"
    r.close()


case("Everyone granted read: other user reads", share_read)
case("other user still may not write", lambda: denied(lambda: open_(t2, r"priv\f", FILE_WRITE_DATA)))
case("other user may not change the DACL", lambda: denied(lambda: open_(t2, r"priv\f", WRITE_DAC)))

finish()
