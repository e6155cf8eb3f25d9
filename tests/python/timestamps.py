"""python smbprotocol against rsmbd: LastWriteTime as Windows keeps it (MS-FSA 2.1.5.14.2
freeze/thaw with -1/-2, explicit times sticking through later writes, the delayed update
after a write, FLUSH applying it, CLOSE writing the kept time to the file).

usage: timestamps.py HOST PORT USER PASS
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure."""
import sys
import time

import smbclient
from smbclient._io import SMBFileTransaction, query_info, set_info
from smbprotocol.file_info import FileBasicInformation

from harness import case, finish

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
root = rf"\\{host}\share"
FREEZE = 0xFFFF_FFFF_FFFF_FFFF
THAW = 0xFFFF_FFFF_FFFF_FFFE
# 2000-01-01T00:00:00Z as FILETIME.
Y2K = 125_911_584_000_000_000


def p(name):
    return rf"{root}\{name}"


def open_rw(name):
    return smbclient.open_file(p(name), mode="w+b", buffering=0, port=port)


def write_time(f):
    with SMBFileTransaction(f) as t:
        query_info(t, FileBasicInformation)
    return t.results[0]["last_write_time"].get_value()


def set_write_time(f, value):
    info = FileBasicInformation()
    info["last_write_time"] = value
    with SMBFileTransaction(f) as t:
        set_info(t, info)


def closed_write_time(name):
    with smbclient.open_file(p(name), mode="rb", buffering=0, port=port) as f:
        return write_time(f)


def freeze_thaw():
    with open_rw("ts_freeze") as f:
        before = write_time(f)
        time.sleep(0.05)
        set_write_time(f, FREEZE)
        f.write(b"frozen")
        f.fd.flush()
        assert write_time(f) == before, "a frozen handle's write moved LastWriteTime"
        set_write_time(f, THAW)
        f.write(b"thawed")
        f.fd.flush()
        after = write_time(f)
        assert after > before, "a thawed handle's write left LastWriteTime"
    assert closed_write_time("ts_freeze") == after, "close did not keep the time"


def frozen_until_close():
    with open_rw("ts_frozen_close") as f:
        before = write_time(f)
        set_write_time(f, FREEZE)
        time.sleep(0.05)
        f.write(b"x" * 100)
        f.truncate(10)
    assert closed_write_time("ts_frozen_close") == before, "frozen time lost at close"


def explicit_time_sticks():
    with open_rw("ts_explicit") as f:
        set_write_time(f, Y2K)
        f.write(b"after the explicit time")
        f.fd.flush()
        assert write_time(f) == Y2K
    assert closed_write_time("ts_explicit") == Y2K, "explicit time lost at close"


def delayed_then_flush():
    with open_rw("ts_delayed") as f:
        before = write_time(f)
        time.sleep(0.05)
        f.write(b"x")
        assert write_time(f) == before, "the first write updated LastWriteTime at once"
        f.fd.flush()
        flushed = write_time(f)
        assert flushed > before, "FLUSH did not apply the pending update"
    assert closed_write_time("ts_delayed") == flushed


def delayed_by_timer():
    with open_rw("ts_timer") as f:
        before = write_time(f)
        time.sleep(0.05)
        f.write(b"x")
        time.sleep(2.5)
        updated = write_time(f)
        assert updated > before, "no update two seconds after the write"
        f.write(b"y")
        assert write_time(f) == updated, "a second write updated LastWriteTime"
        time.sleep(0.05)
    assert closed_write_time("ts_timer") > updated, "close did not apply the later write"


def main():
    smbclient.register_session(host, username=user, password=password, port=port)
    for name, fn in [
        ("freeze_thaw", freeze_thaw),
        ("frozen_until_close", frozen_until_close),
        ("explicit_time_sticks", explicit_time_sticks),
        ("delayed_then_flush", delayed_then_flush),
        ("delayed_by_timer", delayed_by_timer),
    ]:
        case(name, fn)
    finish()


main()
