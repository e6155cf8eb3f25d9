"""python smbprotocol against rsmbd: multichannel (issue 8).

One SMB 3.1.1 session bound to 4 connections (SESSION_SETUP with SMB2_SESSION_FLAG_BINDING,
signed with the session's key; each channel then signs with its own key, derived from its own
binding exchange and preauth hash, MS-SMB2 3.3.5.5.3). CREATE/WRITE/READ/CLOSE are interleaved
across the channels and every response's signature is checked with the key of the channel it
came on (and must not verify with the session's first key). The loss of one channel keeps the
session and its opens usable on the others; LOGOFF on one channel ends the session on all.
Replay (MS-SMB2 3.3.5.2.10): a WRITE with a newer ChannelSequence and REPLAY_OPERATION is
accepted, a stale WRITE / SET_INFO is refused with STATUS_FILE_NOT_AVAILABLE.

usage: multichannel.py HOST PORT USER PASS SHARE_DIR
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import contextlib
import hashlib
import os
import sys
import uuid

import spnego
import smbprotocol.connection as smbconn
from smbprotocol.connection import Connection, Dialects
from smbprotocol.exceptions import MoreProcessingRequired, SMBResponseException
from smbprotocol.header import Commands, NtStatus, Smb2Flags
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    RequestedOplockLevel,
    ShareAccess,
    SMB2CloseRequest,
    SMB2CreateRequest,
    SMB2CreateResponse,
    SMB2ReadRequest,
    SMB2ReadResponse,
    SMB2SetInfoRequest,
    SMB2WriteRequest,
)
from smbprotocol.session import Session, SMB2Logoff, SMB2SessionSetupRequest, SMB2SessionSetupResponse
from smbprotocol.tree import TreeConnect

host, port, user, password, share_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
results = []
STATUS_FILE_NOT_AVAILABLE = 0xC0000467
STATUS_DUPLICATE_OBJECTID = 0xC000022A
N_CHANNELS = 4


def case(name, fn):
    try:
        fn()
        results.append((name, True, ""))
    except Exception as e:  # noqa: BLE001 - every failure is reported
        import traceback

        results.append((name, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


class ChannelSession:
    """What smbprotocol's Connection needs of a session to sign with a channel's key."""

    def __init__(self, session, signing_key):
        self.session_id = session.session_id
        self.signing_key = signing_key
        self.signing_required = True
        self.encrypt_data = False
        self.tree_connect_table = session.tree_connect_table

    def disconnect(self, *args, **kwargs):
        pass


class Channel:
    def __init__(self, idx, conn, key):
        self.idx = idx
        self.conn = conn
        self.key = key
        self.verified = 0
        self.alive = True


def kdf(key, label, context):
    return Session._smb3kdf(None, key, label, context)


def preauth(messages):
    h = b"\x00" * 64
    for m in messages:
        h = hashlib.sha512(h + m).digest()
    return h


def verify(ch, header, session_key):
    """The response is signed, with the channel's key, and (for a bound channel) not with the
    session's first key."""
    if not header["flags"].has_flag(Smb2Flags.SMB2_FLAGS_SIGNED):
        raise AssertionError(f"channel {ch.idx}: unsigned response to {header['command']}")
    raw = header.pack()
    mid = header["message_id"].get_value()
    cmd = header["command"].get_value()
    want = ch.conn._generate_signature(raw, ch.key, mid, True, cmd)
    if header["signature"].get_value() != want:
        raise AssertionError(f"channel {ch.idx}: bad signature on {cmd}")
    if ch.idx != 0 and ch.conn._generate_signature(raw, session_key, mid, True, cmd) == want:
        raise AssertionError(f"channel {ch.idx}: signed with the session's first key")
    ch.verified += 1


def bind(idx, session, guid):
    """Binds a new connection to `session` (MS-SMB2 3.2.4.1.7 / 3.3.5.5.2) and returns it as a
    Channel whose key comes from its own exchange."""
    conn = Connection(guid, host, port, require_signing=True)
    conn.connect(dialect=Dialects.SMB_3_1_1, timeout=10)
    # Binding requests are signed with Session.SigningKey.
    conn.session_table[session.session_id] = ChannelSession(session, session.signing_key)
    ctx = spnego.client(user, password, service="cifs", hostname=host,
                        options=spnego.NegotiateOptions.session_key, protocol="ntlm")
    legs = []
    in_token = None
    final = None
    while not ctx.complete:
        out = ctx.step(in_token)
        if not out:
            break
        req = SMB2SessionSetupRequest()
        req["flags"] = 0x01  # SMB2_SESSION_FLAG_BINDING
        req["security_mode"] = conn.client_security_mode
        req["buffer"] = out
        r = conn.send(req, sid=session.session_id, credit_request=64)
        try:
            resp = conn.receive(r)
        except MoreProcessingRequired as exc:
            resp = exc.header
        legs += conn.preauth_integrity_session_hash_value.pop(r.message["message_id"].get_value())
        body = SMB2SessionSetupResponse()
        body.unpack(resp["data"].get_value())
        in_token = body["buffer"].get_value()
        final = resp
    if final is None or final["status"].get_value() != NtStatus.STATUS_SUCCESS:
        raise AssertionError(f"binding channel {idx} failed")
    key16 = ctx.session_key[:16].ljust(16, b"\x00")
    h = preauth(conn.preauth_integrity_hash_value + legs)
    ch = Channel(idx, conn, kdf(key16, b"SMBSigningKey\x00", h))
    # The final binding response is signed with the new channel's key.
    verify(ch, final, session.signing_key)
    conn.session_table[session.session_id] = ChannelSession(session, ch.key)
    return ch


def call(ch, msg, sid, tid, expect=NtStatus.STATUS_SUCCESS):
    r = ch.conn.send(msg, sid=sid, tid=tid)
    try:
        resp = ch.conn.receive(r)
    except SMBResponseException as e:
        if e.status != expect:
            raise
        resp = r.response
        if resp["flags"].has_flag(Smb2Flags.SMB2_FLAGS_SIGNED):
            verify(ch, resp, SESSION_KEY)
        return resp
    if expect != NtStatus.STATUS_SUCCESS:
        raise AssertionError(f"channel {ch.idx}: {msg.COMMAND} succeeded, wanted {expect:#x}")
    verify(ch, resp, SESSION_KEY)
    return resp


def dh2q(create_guid):
    """An SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 context (MS-SMB2 2.2.13.2.11), alone in its
    chain."""
    data = (60000).to_bytes(4, "little") + b"\x00" * 12 + create_guid.bytes_le
    return (b"\x00" * 4 + (16).to_bytes(2, "little") + (4).to_bytes(2, "little") + b"\x00" * 2
            + (24).to_bytes(2, "little") + len(data).to_bytes(4, "little") + b"DH2Q" + b"\x00" * 4 + data)


def create(ch, sid, tid, name, disposition=CreateDisposition.FILE_OPEN_IF, contexts=b"", batch=False,
           expect=NtStatus.STATUS_SUCCESS):
    req = SMB2CreateRequest()
    if batch:
        req["requested_oplock_level"] = RequestedOplockLevel.SMB2_OPLOCK_LEVEL_BATCH
    if contexts:
        req["buffer_contexts"] = contexts
    req["impersonation_level"] = ImpersonationLevel.Impersonation
    req["desired_access"] = (FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE
                             | FilePipePrinterAccessMask.DELETE)
    req["file_attributes"] = 0x80
    req["share_access"] = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE
    req["create_disposition"] = disposition
    req["create_options"] = CreateOptions.FILE_NON_DIRECTORY_FILE
    req["buffer_path"] = name.encode("utf-16-le")
    resp = call(ch, req, sid, tid, expect)
    if expect != NtStatus.STATUS_SUCCESS:
        return None
    body = SMB2CreateResponse()
    body.unpack(resp["data"].get_value())
    return body["file_id"].pack()


def write(ch, sid, tid, fid, offset, data, expect=NtStatus.STATUS_SUCCESS):
    req = SMB2WriteRequest()
    req["offset"] = offset
    req["file_id"] = fid
    req["buffer"] = data
    return call(ch, req, sid, tid, expect)


def read(ch, sid, tid, fid, offset, length):
    req = SMB2ReadRequest()
    req["length"] = length
    req["offset"] = offset
    req["file_id"] = fid
    resp = call(ch, req, sid, tid)
    body = SMB2ReadResponse()
    body.unpack(resp["data"].get_value())
    return body["buffer"].get_value()


def close(ch, sid, tid, fid):
    req = SMB2CloseRequest()
    req["file_id"] = fid
    call(ch, req, sid, tid)


def set_end_of_file(ch, sid, tid, fid, size, expect=NtStatus.STATUS_SUCCESS):
    req = SMB2SetInfoRequest()
    req["info_type"] = 1  # SMB2_0_INFO_FILE
    req["file_info_class"] = 20  # FileEndOfFileInformation
    req["file_id"] = fid
    req["buffer"] = size.to_bytes(8, "little")
    return call(ch, req, sid, tid, expect)


_HeaderRequest = smbconn.SMB2HeaderRequest


@contextlib.contextmanager
def header(channel_sequence=0, replay=False):
    """Requests sent inside carry this ChannelSequence and, if asked, REPLAY_OPERATION."""

    def make():
        h = _HeaderRequest()
        h["channel_sequence"] = channel_sequence
        if replay:
            h["flags"].set_flag(Smb2Flags.SMB2_FLAGS_REPLAY_OPERATIONS)
        return h

    smbconn.SMB2HeaderRequest = make
    try:
        yield
    finally:
        smbconn.SMB2HeaderRequest = _HeaderRequest


guid = uuid.uuid4()
conn0 = Connection(guid, host, port, require_signing=True)
conn0.connect(dialect=Dialects.SMB_3_1_1, timeout=10)
session = Session(conn0, user, password, require_encryption=False, auth_protocol="ntlm")
session.connect()
SESSION_KEY = session.signing_key
tree = TreeConnect(session, rf"\\{host}\share")
tree.connect()
SID, TID = session.session_id, tree.tree_connect_id
channels = [Channel(0, conn0, session.signing_key)]


def bind_all():
    for i in range(1, N_CHANNELS):
        channels.append(bind(i, session, guid))
    keys = {c.key for c in channels}
    if len(keys) != N_CHANNELS:
        raise AssertionError("channels share a signing key")


def interleave():
    data = {}
    fids = {}
    for i, ch in enumerate(channels):
        name = f"mc_{i}.bin"
        fids[name] = create(ch, SID, TID, name, CreateDisposition.FILE_OVERWRITE_IF)
    # Each file gets 16 chunks, each written on another channel than the last, and read back
    # on yet another.
    for step in range(16):
        for i, name in enumerate(fids):
            w = channels[(i + step) % N_CHANNELS]
            chunk = os.urandom(4096 + step)
            off = step * 8192
            write(w, SID, TID, fids[name], off, chunk)
            data.setdefault(name, {})[off] = chunk
            r = channels[(i + step + 1) % N_CHANNELS]
            got = read(r, SID, TID, fids[name], off, len(chunk))
            if got != chunk:
                raise AssertionError(f"{name}@{off}: read on channel {r.idx} differs")
    for i, name in enumerate(fids):
        close(channels[(i + 2) % N_CHANNELS], SID, TID, fids[name])
        with open(os.path.join(share_dir, name), "rb") as f:
            content = f.read()
        for off, chunk in data[name].items():
            if content[off:off + len(chunk)] != chunk:
                raise AssertionError(f"{name}@{off}: file content differs")
    for ch in channels:
        if ch.verified < 10:
            raise AssertionError(f"channel {ch.idx}: only {ch.verified} responses verified")


def replay():
    a, b = channels[1], channels[2]
    with header(channel_sequence=0):
        fid = create(a, SID, TID, "mc_replay.bin", CreateDisposition.FILE_OVERWRITE_IF)
        write(a, SID, TID, fid, 0, b"first")
    # The client "lost" channel a: it bumps ChannelSequence and replays on channel b.
    with header(channel_sequence=1, replay=True):
        write(b, SID, TID, fid, 0, b"again")
    # A request still carrying the old sequence is stale: refused, replayed or not.
    with header(channel_sequence=0):
        write(a, SID, TID, fid, 0, b"stale", expect=STATUS_FILE_NOT_AVAILABLE)
        set_end_of_file(a, SID, TID, fid, 1, expect=STATUS_FILE_NOT_AVAILABLE)
        # Reads are not modifying: a stale one still runs.
        if read(a, SID, TID, fid, 0, 5) != b"again":
            raise AssertionError("stale write was applied")
    with header(channel_sequence=0, replay=True):
        write(a, SID, TID, fid, 0, b"stale", expect=STATUS_FILE_NOT_AVAILABLE)
    with header(channel_sequence=1):
        write(a, SID, TID, fid, 5, b"-new")
        if read(b, SID, TID, fid, 0, 9) != b"again-new":
            raise AssertionError("current-sequence write was not applied")
        close(b, SID, TID, fid)


def replay_create():
    guid = uuid.uuid4()
    ctx = dh2q(guid)
    with header(channel_sequence=1):
        fid = create(channels[1], SID, TID, "mc_dh2q.bin", CreateDisposition.FILE_OVERWRITE_IF, ctx, batch=True)
    # Re-sent on another channel as a replay: the same open answers, no second open is made.
    with header(channel_sequence=2, replay=True):
        again = create(channels[3], SID, TID, "mc_dh2q.bin", CreateDisposition.FILE_OVERWRITE_IF, ctx, batch=True)
    if again != fid:
        raise AssertionError("a replayed CREATE made a new open")
    # The same CreateGuid without REPLAY_OPERATION is a duplicate (MS-SMB2 3.3.5.9.10).
    with header(channel_sequence=2):
        create(channels[0], SID, TID, "mc_dh2q.bin", CreateDisposition.FILE_OVERWRITE_IF, ctx, batch=True,
               expect=STATUS_DUPLICATE_OBJECTID)
        close(channels[0], SID, TID, fid)


def lose_channel():
    victim = channels[2]
    with header(channel_sequence=2):
        fid = create(victim, SID, TID, "mc_lost.bin", CreateDisposition.FILE_OVERWRITE_IF)
        write(victim, SID, TID, fid, 0, b"before")
    victim.conn.transport.close()  # the channel's TCP connection is gone
    victim.alive = False
    import time

    time.sleep(0.3)
    others = [c for c in channels if c.alive]
    with header(channel_sequence=2):
        # The open made on the lost channel is still usable on the others.
        write(others[0], SID, TID, fid, 6, b"-after")
        if read(others[1], SID, TID, fid, 0, 12) != b"before-after":
            raise AssertionError("open of the lost channel lost data")
        close(others[2], SID, TID, fid)
        fid2 = create(others[0], SID, TID, "mc_lost2.bin", CreateDisposition.FILE_OVERWRITE_IF)
        write(others[1], SID, TID, fid2, 0, b"ok")
        close(others[2], SID, TID, fid2)


def logoff_one():
    live = [c for c in channels if c.alive]
    last = live[-1]
    call(last, SMB2Logoff(), SID, None)
    for ch in live[:-1]:
        try:
            create(ch, SID, TID, "mc_after_logoff.bin")
        except SMBResponseException as e:
            if e.status != NtStatus.STATUS_USER_SESSION_DELETED:
                raise
        else:
            raise AssertionError(f"channel {ch.idx}: session still usable after LOGOFF on channel {last.idx}")


case("bind 3 more channels, one key each", bind_all)
if len(channels) == N_CHANNELS:
    case("interleaved CREATE/WRITE/READ/CLOSE on 4 channels, every response verified", interleave)
    case("replay: newer ChannelSequence accepted, stale WRITE/SET_INFO refused", replay)
    case("replay: a CREATE replayed on another channel (DH2Q, same CreateGuid) gets its open", replay_create)
    case("losing a channel keeps the session and its opens", lose_channel)
    case("LOGOFF on one channel ends the session on all", logoff_one)
for c in channels:
    with contextlib.suppress(Exception):
        c.conn.session_table.clear()
        c.conn.disconnect(False)

for name, ok, why in results:
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {why}"))
failed = sum(1 for _, ok, _ in results if not ok)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
