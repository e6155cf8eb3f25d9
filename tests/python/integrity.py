"""FSCTL_GET/SET_INTEGRITY_INFORMATION against rsmbd (issue 9): on a btrfs share the file
system's data checksums are the integrity state (NOCOW, `chattr +C`, means CHECKSUM_TYPE_NONE);
on an XFS share both FSCTLs fail with STATUS_INVALID_DEVICE_REQUEST, as on NTFS; and
FILE_SUPPORT_INTEGRITY_STREAMS is advertised only on btrfs.

Usage: integrity.py CONFIG_JSON, with keys host, btrfs_port, xfs_port (servers whose share
`share` is the directory btrfs_dir / xfs_dir), user, password, btrfs_dir, xfs_dir.
"""
import json
import os
import struct
import subprocess
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.ioctl import CtlCode, IOCTLFlags, SMB2IOCTLRequest, SMB2IOCTLResponse

# smbprotocol's CtlCode enum lacks these; its EnumField refuses unknown values.
FSCTL_GET_INTEGRITY_INFORMATION = 0x0009027C
FSCTL_SET_INTEGRITY_INFORMATION = 0x0009C280
setattr(CtlCode, "FSCTL_GET_INTEGRITY_INFORMATION", FSCTL_GET_INTEGRITY_INFORMATION)
setattr(CtlCode, "FSCTL_SET_INTEGRITY_INFORMATION", FSCTL_SET_INTEGRITY_INFORMATION)
from smbprotocol.open import (CreateDisposition, CreateOptions,  # noqa: E402
                              ImpersonationLevel, Open, SMB2QueryInfoRequest,
                              SMB2QueryInfoResponse)
from smbprotocol.session import Session  # noqa: E402
from smbprotocol.tree import TreeConnect  # noqa: E402

from harness import case, finish  # noqa: E402
from rawclient import ALL_SHARE, RW, A, RawClient, expect_status  # noqa: E402

cfg = json.loads(sys.argv[1])
host, user, password = cfg["host"], cfg["user"], cfg["password"]

CHECKSUM_TYPE_NONE = 0x0000
CHECKSUM_TYPE_CRC64 = 0x0002
CHECKSUM_TYPE_UNCHANGED = 0xFFFF
ENFORCEMENT_OFF = 0x1
FILE_SUPPORT_INTEGRITY_STREAMS = 0x04000000
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_NOT_SUPPORTED = 0xC00000BB

RO = A.FILE_READ_DATA | A.FILE_READ_ATTRIBUTES


class Client(RawClient):
    """One connection, session and tree connect to `share`."""

    def __init__(self, port):
        super().__init__(host, port, user, password, "share")

    def open(self, name, access=RW, directory=False, disposition=CreateDisposition.FILE_OPEN_IF):
        return super().open(name, access, directory, disposition)

    def get(self, o, max_out=16):
        """(ChecksumAlgorithm, Flags, ChecksumChunkSizeInBytes, ClusterSizeInBytes)."""
        out = self.fsctl(o, FSCTL_GET_INTEGRITY_INFORMATION, b"", max_out)
        assert len(out) == 16, len(out)
        alg, _res, flags, chunk, cluster = struct.unpack("<HHIII", out)
        return alg, flags, chunk, cluster

    def set(self, o, alg, flags=0, raw=None):
        data = raw if raw is not None else struct.pack("<HHI", alg, 0, flags)
        self.fsctl(o, FSCTL_SET_INTEGRITY_INFORMATION, data, 0)

    def fs_attributes(self):
        o = self.open("", access=A.FILE_READ_ATTRIBUTES, directory=True,
                      disposition=CreateDisposition.FILE_OPEN)
        req = SMB2QueryInfoRequest()
        req["info_type"] = 2  # SMB2_0_INFO_FILESYSTEM
        req["file_info_class"] = 5  # FileFsAttributeInformation
        req["output_buffer_length"] = 1024
        req["file_id"] = o.file_id
        resp = SMB2QueryInfoResponse()
        resp.unpack(self.send(req)["data"].get_value())
        o.close()
        return struct.unpack_from("<I", resp["buffer"].get_value())[0]


def nocow(path):
    """Whether lsattr shows the C (no copy-on-write, no data checksums) flag."""
    out = subprocess.run(["lsattr", "-d", path], check=True, capture_output=True, text=True).stdout
    return "C" in out.split()[0]


bt = Client(cfg["btrfs_port"])
xf = Client(cfg["xfs_port"])
bdir, xdir = cfg["btrfs_dir"], cfg["xfs_dir"]
block = os.statvfs(bdir).f_frsize


def fs_attribute_bit():
    assert bt.fs_attributes() & FILE_SUPPORT_INTEGRITY_STREAMS, "btrfs lacks the bit"
    assert not xf.fs_attributes() & FILE_SUPPORT_INTEGRITY_STREAMS, "xfs has the bit"


def get_on():
    o = bt.open("on.bin")
    try:
        assert bt.get(o) == (CHECKSUM_TYPE_CRC64, 0, block, block), (bt.get(o), block)
        assert not nocow(os.path.join(bdir, "on.bin"))
    finally:
        o.close()


def set_none_on_empty():
    o = bt.open("empty.bin")
    try:
        bt.set(o, CHECKSUM_TYPE_NONE)
        assert bt.get(o)[0] == CHECKSUM_TYPE_NONE, bt.get(o)
        assert nocow(os.path.join(bdir, "empty.bin")), "lsattr lacks C"
        bt.set(o, CHECKSUM_TYPE_UNCHANGED)
        assert bt.get(o)[0] == CHECKSUM_TYPE_NONE
        bt.set(o, CHECKSUM_TYPE_CRC64)
        assert bt.get(o)[0] == CHECKSUM_TYPE_CRC64, bt.get(o)
        assert not nocow(os.path.join(bdir, "empty.bin")), "lsattr still shows C"
    finally:
        o.close()


def set_on_non_empty_refused():
    o = bt.open("full.bin")
    try:
        o.write(b"x" * 10000, 0)
        expect_status(STATUS_NOT_SUPPORTED, lambda: bt.set(o, CHECKSUM_TYPE_NONE))
        assert bt.get(o)[0] == CHECKSUM_TYPE_CRC64
        assert not nocow(os.path.join(bdir, "full.bin"))
        bt.set(o, CHECKSUM_TYPE_CRC64)  # no change: fine
    finally:
        o.close()


def parameters():
    o = bt.open("params.bin")
    try:
        expect_status(STATUS_INVALID_PARAMETER, lambda: bt.set(o, 0, raw=b"\x00\x00\x00\x00"))
        expect_status(STATUS_INVALID_PARAMETER, lambda: bt.set(o, 3))
        expect_status(STATUS_INVALID_PARAMETER, lambda: bt.set(o, CHECKSUM_TYPE_CRC64, flags=2))
        expect_status(STATUS_INVALID_PARAMETER,
                      lambda: bt.set(o, CHECKSUM_TYPE_NONE, flags=ENFORCEMENT_OFF))
        expect_status(STATUS_NOT_SUPPORTED,
                      lambda: bt.set(o, CHECKSUM_TYPE_CRC64, flags=ENFORCEMENT_OFF))
        expect_status(STATUS_INVALID_PARAMETER, lambda: bt.get(o, max_out=8))
    finally:
        o.close()


def set_needs_write_data():
    bt.open("ro.bin").close()
    o = bt.open("ro.bin", access=RO)
    try:
        expect_status(STATUS_ACCESS_DENIED, lambda: bt.set(o, CHECKSUM_TYPE_NONE))
        assert bt.get(o)[0] == CHECKSUM_TYPE_CRC64
    finally:
        o.close()


def directory_inherits():
    d = bt.open("nocowdir", directory=True)
    try:
        assert bt.get(d)[0] == CHECKSUM_TYPE_CRC64
        bt.set(d, CHECKSUM_TYPE_NONE)
        assert bt.get(d)[0] == CHECKSUM_TYPE_NONE
    finally:
        d.close()
    f = bt.open("nocowdir\\child.bin")
    try:
        assert bt.get(f)[0] == CHECKSUM_TYPE_NONE, "new file did not inherit NOCOW"
    finally:
        f.close()


def named_stream():
    o = bt.open("s.bin:ads")
    try:
        assert bt.get(o)[0] == CHECKSUM_TYPE_CRC64, bt.get(o)
        bt.set(o, CHECKSUM_TYPE_CRC64)
        expect_status(STATUS_NOT_SUPPORTED, lambda: bt.set(o, CHECKSUM_TYPE_NONE))
    finally:
        o.close()


def xfs_refuses():
    o = xf.open("x.bin")
    try:
        expect_status(STATUS_INVALID_DEVICE_REQUEST, lambda: xf.get(o))
        expect_status(STATUS_INVALID_DEVICE_REQUEST, lambda: xf.set(o, CHECKSUM_TYPE_NONE))
    finally:
        o.close()


case("FILE_SUPPORT_INTEGRITY_STREAMS only on btrfs", fs_attribute_bit)
case("GET on btrfs: CRC64, block-sized chunk and cluster", get_on)
case("SET NONE on an empty file: NOCOW (lsattr C), then back", set_none_on_empty)
case("SET on a non-empty file refused (NOT_SUPPORTED)", set_on_non_empty_refused)
case("parameter statuses (MS-FSA 2.1.5.10.10/.33)", parameters)
case("SET needs FILE_WRITE_DATA", set_needs_write_data)
case("directory: SET NONE, new files inherit", directory_inherits)
case("named stream: metadata, always checksummed", named_stream)
case("XFS: INVALID_DEVICE_REQUEST", xfs_refuses)
finish()
