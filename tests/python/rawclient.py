"""A python smbprotocol connection, session and tree connect for tests that send requests
smbprotocol has no call for (raw FSCTLs, info classes): one place for the plumbing."""
import struct
import threading
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.exceptions import SMBOSError, SMBResponseException
from smbprotocol.ioctl import IOCTLFlags, SMB2IOCTLRequest, SMB2IOCTLResponse
from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                              ImpersonationLevel, Open, ShareAccess, SMB2SetInfoRequest)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

A = FilePipePrinterAccessMask
RW = A.FILE_READ_DATA | A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES | A.FILE_WRITE_ATTRIBUTES
ALL_SHARE = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE


class RawClient:
    """One signed SMB 3.1.1 connection, session and tree connect to `share`."""

    def __init__(self, host, port, user, password, share):
        self.conn = Connection(uuid.uuid4(), host, port, require_signing=True)
        self.conn.connect(dialect=Dialects.SMB_3_1_1, timeout=10)
        self.session = Session(self.conn, user, password)
        self.session.connect()
        self.tree = TreeConnect(self.session, rf"\\{host}\{share}")
        self.tree.connect()

    def open(self, name, access=RW, directory=False, disposition=CreateDisposition.FILE_OPEN):
        o = Open(self.tree, name)
        opts = CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE
        o.create(ImpersonationLevel.Impersonation, access, 0, ALL_SHARE, disposition, opts)
        return o

    def send(self, req):
        """Sends `req` in this session and tree; returns the response (raises on error status)."""
        sent = self.conn.send(req, sid=self.session.session_id, tid=self.tree.tree_connect_id)
        return self.conn.receive(sent)

    def fsctl(self, o, code, data, max_out):
        req = SMB2IOCTLRequest()
        req["ctl_code"] = code
        req["file_id"] = o.file_id
        req["max_output_response"] = max_out
        req["flags"] = IOCTLFlags.SMB2_0_IOCTL_IS_FSCTL
        req["buffer"] = data
        r = SMB2IOCTLResponse()
        r.unpack(self.send(req)["data"].get_value())
        return r["buffer"].get_value()

    def set_eof(self, o, size):
        set_file_info(o, 20, struct.pack("<Q", size))  # FileEndOfFileInformation


def set_file_info(o, info_class, data):
    """SET_INFO of file information class `info_class` on the smbprotocol Open `o`, over the
    open's own connection, session and tree (raises on an error status)."""
    req = SMB2SetInfoRequest()
    req["info_type"] = 1  # SMB2_0_INFO_FILE
    req["file_info_class"] = info_class
    req["file_id"] = o.file_id
    req["buffer"] = data
    tree = o.tree_connect
    o.connection.receive(o.connection.send(req, sid=tree.session.session_id, tid=tree.tree_connect_id))


def expect_status(status, fn):
    """Runs `fn`, which must fail with NTSTATUS `status` (as a raw SMBResponseException, or as
    smbclient's SMBOSError, which carries the NTSTATUS it was made from)."""
    try:
        fn()
    except SMBResponseException as e:
        if e.status != status:
            raise AssertionError(f"status {e.status:#x}, wanted {status:#x}") from e
        return
    except SMBOSError as e:
        if e.ntstatus != status:
            raise AssertionError(f"status {e.ntstatus:#x}, wanted {status:#x}") from e
        return
    raise AssertionError(f"succeeded, wanted {status:#x}")


# Server-initiated messages (oplock and lease breaks) carry MessageId 0xFFFFFFFFFFFFFFFF, which
# smbprotocol looks up in its table of outstanding requests and, not finding it, its receive
# worker dies. catch_breaks(conn, sink) makes that lookup answer a stand-in request that
# appends each lease break to `sink` (a list of dicts: key, current, new, epoch, flags) and
# drops oplock breaks.
NOTIFICATION_ID = 0xFFFFFFFFFFFFFFFF


class _Value:
    def __init__(self, v):
        self.v = v

    def get_value(self):
        return self.v


class _Notification:
    """Stands in for the request a server-initiated message answers: records lease breaks."""

    def __init__(self, sink):
        self.sink = sink
        self.async_id = None
        self.session_id = None
        self.message = {"reserved": _Value(0)}
        self.response_event = threading.Event()
        self.response_event_lock = threading.Lock()

    @property
    def response(self):
        return None

    @response.setter
    def response(self, header):
        body = header["data"].get_value()
        # SMB2 Lease Break Notification (MS-SMB2 2.2.23.2): StructureSize 44.
        if len(body) >= 44 and struct.unpack_from("<H", body, 0)[0] == 44:
            _size, epoch, flags = struct.unpack_from("<HHI", body, 0)
            key = bytes(body[8:24])
            current, new = struct.unpack_from("<II", body, 24)
            self.sink.append({"key": key, "current": current, "new": new, "epoch": epoch, "flags": flags})


class _Outstanding(dict):
    def __init__(self, sink):
        super().__init__()
        self.sink = sink

    def __missing__(self, key):
        if key == NOTIFICATION_ID:
            return _Notification(self.sink)
        raise KeyError(key)


def catch_breaks(conn, sink):
    """Before conn.connect(): breaks arriving on `conn` go to `sink` instead of killing it."""
    conn.outstanding_requests = _Outstanding(sink)
