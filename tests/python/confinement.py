"""Share confinement over SMB: every name trick a client can send must stay inside the share
root and get the exact NTSTATUS.

usage: confinement.py HOST PORT USER PASS SHARE_DIR OUTSIDE_DIR [--survey] [--race-secs N] [--ntlm]

SHARE_DIR is the local directory the server exports (the script creates its fixtures there
directly on disk, all named cf_*); OUTSIDE_DIR is a sentinel directory beside it that must never
be read through, created in or written. With --survey every case prints the status it got and
nothing is asserted (to compare with Samba: point it at /var/tmp/sambabase/share).
Prints one line per case and a final `N passed, M failed`; exits 1 on any failure.

Cases: `..` components, absolute names, symlinks inside the share pointing outside (file and
directory, absolute and relative targets, dangling) used to open, create through, rename onto,
delete through and list; a directory swapped with a symlink to outside (renameat2
RENAME_EXCHANGE, another thread) while the client creates and writes files beneath it; stream
name tricks; embedded NUL and lone surrogates (raw CREATE bytes); DOS device names; characters
illegal on Windows; over-long components and paths (CREATE and rename targets)."""
import ctypes
import os
import struct
import sys
import threading
import time
import uuid

from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    ImpersonationLevel,
    Open,
    SMB2SetInfoRequest,
    SMB2SetInfoResponse,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from harness import case, finish

args = [a for a in sys.argv[1:] if not a.startswith("--")]
host, port, user, password, share_dir, outside = args[0], int(args[1]), args[2], args[3], args[4], args[5]
SURVEY = "--survey" in sys.argv
RACE_SECS = 3.0
if "--race-secs" in sys.argv:
    RACE_SECS = float(sys.argv[sys.argv.index("--race-secs") + 1])

OK = 0
ACCESS_DENIED = 0xC0000022
OBJECT_NAME_INVALID = 0xC0000033
OBJECT_NAME_NOT_FOUND = 0xC0000034
OBJECT_NAME_COLLISION = 0xC0000035
OBJECT_PATH_INVALID = 0xC0000039
OBJECT_PATH_NOT_FOUND = 0xC000003A
OBJECT_PATH_SYNTAX_BAD = 0xC000003B
INVALID_PARAMETER = 0xC000000D
STOPPED_ON_SYMLINK = 0x8000002D
NAMES = {v: k for k, v in list(globals().items()) if isinstance(v, int) and k.isupper() and v > 0x10000}

# Access masks (MS-SMB2 2.2.13.1).
READ = 0x00120089  # FILE_GENERIC_READ
RW = 0x0012019F  # FILE_GENERIC_READ | FILE_GENERIC_WRITE
DELETE = 0x00010000
SHARE_ALL = 7
D = CreateDisposition
NON_DIR = CreateOptions.FILE_NON_DIRECTORY_FILE
DIR = CreateOptions.FILE_DIRECTORY_FILE
DELETE_ON_CLOSE = CreateOptions.FILE_DELETE_ON_CLOSE




def sname(st):
    return NAMES.get(st, f"{st:#010x}") if st else "SUCCESS"


# ---------------------------------------------------------------- on-disk fixtures and checks

def entries(root):
    return [root] + [os.path.join(d, n) for d, ds, fs in os.walk(root) for n in ds + fs]


def snapshot(root):
    """Every fixture path under `root` with its type, mode, size, mtime, ctime and link target,
    read with lstat only, so that taking it reads and lists nothing (a new or removed entry
    changes its directory's mtime)."""
    out = {}
    for p in ENTRIES:
        st = os.lstat(p)
        out[p] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                  os.readlink(p) if os.path.islink(p) else None)
    return out


def atimes(root):
    return {p: os.lstat(p).st_atime_ns for p in ENTRIES}


S = share_dir
rel_out = os.path.relpath(outside, S)
os.makedirs(os.path.join(outside, "sub"), exist_ok=True)
for p_, data in [("secret.txt", b"TOP SECRET\n"), ("sub/inner.txt", b"inner\n")]:
    with open(os.path.join(outside, p_), "wb") as f:
        f.write(data)
links = {
    "cf_lf_abs": os.path.join(outside, "secret.txt"),
    "cf_lf_rel": os.path.join(rel_out, "secret.txt"),
    "cf_ld_abs": outside,
    "cf_ld_rel": rel_out,
    "cf_dangling": os.path.join(outside, "made_by_client.txt"),
}
for n, t in links.items():
    p_ = os.path.join(S, n)
    if os.path.lexists(p_):
        os.unlink(p_)
    os.symlink(t, p_)
os.makedirs(os.path.join(S, "cf_dir"), exist_ok=True)
os.chmod(os.path.join(S, "cf_dir"), 0o777)
for n in ["cf_victim.txt", os.path.join("cf_dir", "f.txt")]:
    with open(os.path.join(S, n), "wb") as f:
        f.write(b"victim\n")
    os.chmod(os.path.join(S, n), 0o666)
ENTRIES = entries(outside)
# Old access times: with relatime (or strictatime) any read or listing of an outside entry
# moves its atime, which the final check catches.
for p_ in ENTRIES:
    os.utime(p_, (1_000_000_000, time.time()), follow_symlinks=False)
BEFORE = snapshot(outside)
BEFORE_ATIMES = atimes(outside)


def outside_untouched():
    now = snapshot(outside)
    assert now == BEFORE, f"outside changed: {set(now.items()) ^ set(BEFORE.items())}"


# ---------------------------------------------------------------- SMB plumbing

conn = Connection(uuid.uuid4(), host, port)
conn.connect()
sess = Session(conn, user, password, auth_protocol="ntlm" if "--ntlm" in sys.argv else "negotiate")
sess.connect()
tree = TreeConnect(sess, rf"\\{host}\share")
tree.connect()


def create(name, access=READ, disp=D.FILE_OPEN, opts=0, attrs=FileAttributes.FILE_ATTRIBUTE_NORMAL):
    """A CREATE of `name` (str, or raw UTF-16LE bytes); returns (status, Open or None)."""
    o = Open(tree, name if isinstance(name, str) else "raw")
    req, recv = o.create(ImpersonationLevel.Impersonation, access, attrs, SHARE_ALL, disp, opts, send=False)
    if isinstance(name, bytes):
        req["buffer_path"] = name if name else b"\x00\x00"
    try:
        recv(conn.send(req, sess.session_id, tree.tree_connect_id))
        return OK, o
    except SMBResponseException as e:
        return e.status, None


def close(o):
    if o is not None:
        o.close()


def set_info(o, info_class, buf):
    req = SMB2SetInfoRequest()
    req["info_type"] = 1  # SMB2_0_INFO_FILE
    req["file_info_class"] = info_class
    req["file_id"] = o.file_id
    req["buffer"] = buf
    try:
        resp = conn.receive(conn.send(req, sess.session_id, tree.tree_connect_id))
        SMB2SetInfoResponse().unpack(resp["data"].get_value())
        return OK
    except SMBResponseException as e:
        return e.status


def rename(o, target, replace=False):
    """FileRenameInformation (MS-FSCC 2.4.42.2) with `target` (str or raw UTF-16LE bytes)."""
    t = target if isinstance(target, bytes) else target.encode("utf-16-le")
    buf = struct.pack("<B7xQI", 1 if replace else 0, 0, len(t)) + t
    return set_info(o, 10, buf)


def link(o, target, replace=False):
    """FileLinkInformation (MS-FSCC 2.4.21.2): a hard link named `target`."""
    t = target.encode("utf-16-le")
    return set_info(o, 11, struct.pack("<B7xQI", 1 if replace else 0, 0, len(t)) + t)


def expect(got, want, what):
    if SURVEY:
        print(f"  survey {what[:80]}: {sname(got)}")
        return
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert got in want, f"{what[:80]}: got {sname(got)}, wanted {' or '.join(sname(w) for w in want)}"


def expect_create(name, want, **kw):
    st, o = create(name, **kw)
    close(o)
    expect(st, want, repr(name) if not isinstance(name, bytes) else f"raw {name!r}")
    outside_untouched()
    return st


def list_names(dirname):
    st, o = create(dirname, access=0x00100081, opts=DIR)  # LIST_DIRECTORY|READ_ATTRIBUTES|SYNCHRONIZE
    if st:
        return st, None
    try:
        names = [e["file_name"].get_value().decode("utf-16-le") for e in o.query_directory("*", 3)]
        return OK, names
    finally:
        close(o)


# ---------------------------------------------------------------- the cases

def dotdot():
    for n in ["..", r"..\x", r"..\secret.txt", rf"..\{os.path.basename(outside)}\secret.txt",
              r"cf_dir\..\..\x", r"cf_dir\..\cf_victim.txt", r"a\..\..\x"]:
        for disp in (D.FILE_OPEN, D.FILE_CREATE, D.FILE_OPEN_IF):
            expect_create(n, OBJECT_PATH_SYNTAX_BAD, disp=disp, access=RW)
    expect_create("cf_dir\\..", OBJECT_PATH_SYNTAX_BAD)
    expect_create(".", OBJECT_NAME_INVALID)
    expect_create(r"cf_dir\.\f.txt", OBJECT_NAME_INVALID)


def absolute():
    # MS-SMB2 3.3.5.9: a name starting with a separator is STATUS_INVALID_PARAMETER.
    for n in [r"\etc\passwd", r"\\server\share\x", "\\" + outside.replace("/", "\\") + r"\secret.txt"]:
        expect_create(n, INVALID_PARAMETER)
        expect_create(n, INVALID_PARAMETER, disp=D.FILE_CREATE, access=RW)
    for n in ["/etc/passwd", outside + "/secret.txt"]:
        expect_create(n, INVALID_PARAMETER)
    for n in [r"C:\x", r"C:\etc\passwd", r"cf_dir\C:\x"]:
        expect_create(n, OBJECT_NAME_INVALID, disp=D.FILE_OPEN_IF, access=RW)
    # `C:x` is stream `x` of a file `C` of the share, as on Windows and Samba.
    expect_create(r"cf_dir\C:x", OK, disp=D.FILE_OPEN_IF, access=RW)
    assert os.path.isfile(os.path.join(S, "cf_dir", "C"))
    # `/` separates components as `\` does (as Samba takes it): a missing directory here.
    expect_create(r"etc/passwd", OBJECT_PATH_NOT_FOUND)


def symlink_open():
    for n in ["cf_lf_abs", "cf_lf_rel"]:
        expect_create(n, ACCESS_DENIED)
        expect_create(n, ACCESS_DENIED, access=RW, disp=D.FILE_OVERWRITE_IF)
        expect_create(n, ACCESS_DENIED, access=RW, disp=D.FILE_SUPERSEDE)
        expect_create(n + ":s", ACCESS_DENIED, access=RW, disp=D.FILE_OPEN_IF)
    # Case-insensitive lookups find the link and refuse it too.
    expect_create("CF_LF_ABS", ACCESS_DENIED)
    expect_create("Cf_Lf_Rel", ACCESS_DENIED, access=RW, disp=D.FILE_OVERWRITE_IF)
    expect_create(r"CF_LD_ABS\secret.txt", OBJECT_PATH_NOT_FOUND)
    expect_create(r"Cf_Ld_Rel\sub\inner.txt", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_OPEN_IF)
    for n in ["cf_ld_abs", "cf_ld_rel"]:
        expect_create(n, ACCESS_DENIED, opts=DIR)
        for inner in ["secret.txt", r"sub\inner.txt"]:
            expect_create(rf"{n}\{inner}", OBJECT_PATH_NOT_FOUND)
            expect_create(rf"{n}\{inner}", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_OVERWRITE_IF)


def symlink_create_through():
    for n in ["cf_ld_abs", "cf_ld_rel"]:
        expect_create(rf"{n}\new.txt", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_CREATE)
        expect_create(rf"{n}\newdir", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_CREATE, opts=DIR)
        expect_create(rf"{n}\sub\new.txt", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_OPEN_IF)
    # A dangling link: O_CREAT would create its target outside.
    expect_create("cf_dangling", OBJECT_NAME_COLLISION, access=RW, disp=D.FILE_CREATE)
    for disp in (D.FILE_OPEN_IF, D.FILE_OVERWRITE_IF, D.FILE_SUPERSEDE):
        expect_create("cf_dangling", ACCESS_DENIED, access=RW, disp=disp)
    assert not os.path.lexists(os.path.join(outside, "made_by_client.txt"))


def symlink_rename():
    st, o = create("cf_victim.txt", access=RW | DELETE)
    assert st == OK, sname(st)
    try:
        for t in [r"cf_ld_abs\moved.txt", r"cf_ld_rel\moved.txt", r"cf_ld_abs\sub\moved.txt"]:
            expect(rename(o, t), OBJECT_PATH_NOT_FOUND, f"rename onto {t}")
            expect(rename(o, t, True), OBJECT_PATH_NOT_FOUND, f"rename replace onto {t}")
        for t in [r"..\moved.txt", rf"..\{os.path.basename(outside)}\secret.txt", r"cf_dir\..\..\x"]:
            expect(rename(o, t, True), OBJECT_PATH_SYNTAX_BAD, f"rename onto {t}")
        expect(rename(o, "cf_lf_abs"), OBJECT_NAME_COLLISION, "rename onto link, no replace")
        for t in [r"cf_ld_abs\hard.txt", r"CF_LD_REL\hard.txt", r"..\hard.txt"]:
            want = OBJECT_PATH_SYNTAX_BAD if t.startswith("..") else OBJECT_PATH_NOT_FOUND
            expect(link(o, t), want, f"hard link at {t}")
        outside_untouched()
    finally:
        close(o)
    # Renaming a directory with the link's name inside it, and a file into a linked dir.
    st, o = create(r"cf_dir\f.txt", access=RW | DELETE)
    assert st == OK, sname(st)
    try:
        expect(rename(o, r"cf_ld_rel\f.txt"), OBJECT_PATH_NOT_FOUND, "rename into linked dir")
    finally:
        close(o)
    outside_untouched()


def symlink_delete():
    for n in [r"cf_ld_abs\secret.txt", r"cf_ld_rel\secret.txt", r"cf_ld_abs\sub"]:
        expect_create(n, OBJECT_PATH_NOT_FOUND, access=DELETE, opts=DELETE_ON_CLOSE)
    # The link itself is refused: a delete-on-close open of it must not remove the target.
    for n in ["cf_lf_abs", "cf_lf_rel", "cf_ld_abs"]:
        st, o = create(n, access=DELETE | 0x80, opts=DELETE_ON_CLOSE)
        close(o)
        expect(st, ACCESS_DENIED, f"delete-on-close {n}")
        assert os.path.exists(os.path.join(outside, "secret.txt"))
    # FileDispositionInformation through a linked directory is not reachable: the open fails.
    outside_untouched()


def symlink_list():
    for n in ["cf_ld_abs", "cf_ld_rel", r"cf_ld_abs\sub"]:
        st, names = list_names(n)
        expect(st, (ACCESS_DENIED, OBJECT_PATH_NOT_FOUND), f"list {n}")
        assert names is None
    st, names = list_names("")
    assert st == OK, sname(st)
    assert "secret.txt" not in names and "inner.txt" not in names and "sub" not in names, names
    # The links show as entries (not followed).
    assert "cf_ld_abs" in names or SURVEY, names
    outside_untouched()


libc = ctypes.CDLL(None, use_errno=True)
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(a, b):
    r = libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE)
    if r != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


def race():
    """Two swappers at once: the directory `cf_race` with a symlink to outside, and the file
    `cf_rfile` with a symlink to outside/secret.txt (renameat2 RENAME_EXCHANGE, atomic), while
    the client creates and writes files under `cf_race` and overwrites, writes and reads
    `cf_rfile`."""
    race_dir = os.path.join(S, "cf_race")
    alt = os.path.join(S, "cf_race_alt")
    rfile = os.path.join(S, "cf_rfile")
    rfile_alt = os.path.join(S, "cf_rfile_alt")
    for p_ in (race_dir, alt, rfile, rfile_alt):
        if os.path.islink(p_):
            os.unlink(p_)
    os.makedirs(race_dir, exist_ok=True)
    os.chmod(race_dir, 0o777)
    os.symlink(outside, alt)
    with open(rfile, "wb") as f:
        f.write(b"inside")
    os.chmod(rfile, 0o666)
    os.symlink(os.path.join(outside, "secret.txt"), rfile_alt)
    stop = threading.Event()
    swaps = [0, 0]

    def swapper(i, a, b):
        while not stop.is_set():
            exchange(a, b)
            swaps[i] += 1
            time.sleep(0.0002)

    threads = [threading.Thread(target=swapper, args=(0, race_dir, alt)),
               threading.Thread(target=swapper, args=(1, rfile, rfile_alt))]
    for t in threads:
        t.start()
    counts = {}

    def count(st):
        counts[st] = counts.get(st, 0) + 1

    deadline = time.time() + RACE_SECS
    i = 0
    try:
        while time.time() < deadline:
            i += 1
            for disp, opts in [(D.FILE_CREATE, NON_DIR), (D.FILE_OVERWRITE_IF, NON_DIR), (D.FILE_CREATE, DIR)]:
                n = rf"cf_race\r{i}_{disp}_{opts}"
                st, o = create(n, access=RW, disp=disp, opts=opts)
                count(st)
                if o is not None:
                    if opts == NON_DIR:
                        o.write(b"raced data", 0)
                        o.write(b"more", 5, write_through=True)
                    close(o)
            for sub in ("secret.txt", r"sub\inner.txt"):
                st, o = create(rf"cf_race\{sub}", access=RW, disp=D.FILE_OVERWRITE_IF)
                count(st)
                close(o)
            for disp in (D.FILE_OVERWRITE_IF, D.FILE_SUPERSEDE, D.FILE_OPEN):
                st, o = create("cf_rfile", access=RW, disp=disp)
                count(st)
                if o is not None:
                    o.write(b"overwritten", 0, write_through=True)
                    data = o.read(0, 64)
                    assert b"SECRET" not in data, data
                    close(o)
    finally:
        stop.set()
        for t in threads:
            t.join()
    if os.path.islink(race_dir):
        exchange(race_dir, alt)
    if os.path.islink(rfile):
        exchange(rfile, rfile_alt)
    print(f"  race: {i} rounds, {swaps} swaps, statuses " +
          ", ".join(f"{sname(k)}={v}" for k, v in sorted(counts.items())))
    assert min(swaps) > 10, "a swapper did not run"
    assert counts.get(OK, 0) > 0, "no create ever succeeded"
    assert set(counts) <= {OK, OBJECT_PATH_NOT_FOUND, OBJECT_NAME_NOT_FOUND, ACCESS_DENIED}, counts
    outside_untouched()
    inside = os.listdir(race_dir)
    assert any(n.startswith("r") for n in inside), inside


def streams():
    st, o = create("cf_sfile", access=RW, disp=D.FILE_OVERWRITE_IF)
    assert st == OK, sname(st)
    close(o)
    for n in ["cf_sfile:../x", "cf_sfile:..\\x", r"cf_sfile:\x", "cf_sfile::$DATA:x", "cf_sfile:x:$INDEX_ALLOCATION",
              "cf_sfile:x/../../y", "cf_sfile:x:$DATA:y", rf"cf_sfile:{rel_out}/secret.txt"]:
        expect_create(n, OBJECT_NAME_INVALID, access=RW, disp=D.FILE_OPEN_IF)
    # `cf_sfile:x:$DATA` and `::$DATA` are fine, and stay streams of the file.
    expect_create("cf_sfile:x:$DATA", OK, access=RW, disp=D.FILE_OPEN_IF)
    expect_create("cf_sfile::$DATA", OK, access=RW, disp=D.FILE_OPEN_IF)
    # A stream of a linked file is not a way through the link.
    expect_create("cf_lf_abs:x", ACCESS_DENIED, access=RW, disp=D.FILE_OPEN_IF)
    expect_create(r"cf_ld_abs\secret.txt:x", OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_OPEN_IF)


def raw(s):
    return s.encode("utf-16-le")


def nul_and_surrogates():
    for name in [raw("cf_a") + b"\x00\x00" + raw("b"), raw("cf_dir\\") + b"\x00\x00" + raw("x"),
                 raw("cf_a\x00"), raw(r"cf_ld_abs") + b"\x00\x00" + raw(r"\secret.txt")]:
        for disp in (D.FILE_OPEN, D.FILE_CREATE):
            expect_create(name, OBJECT_NAME_INVALID, access=RW, disp=disp)
    for name in [raw("cf_s") + b"\x00\xd8" + raw("x"),  # lone high surrogate
                 raw("cf_s") + b"\x00\xdc",  # lone low surrogate
                 b"\x00\xdc\x00\xd8",  # swapped pair
                 raw("cf_dir\\") + b"\x3d\xd8",  # high surrogate at the end
                 raw("..\\") + b"\x00\xd8"]:
        for disp in (D.FILE_OPEN, D.FILE_CREATE):
            expect_create(name, OBJECT_NAME_INVALID, access=RW, disp=disp)
    # An odd name length is malformed.
    for name in [raw("cf_odd") + b"x"]:
        expect_create(name, INVALID_PARAMETER, access=RW, disp=D.FILE_CREATE)
    # Nothing with those names appeared inside either.
    left = [n for n in os.listdir(S) if n.startswith(("cf_a", "cf_s\\", "cf_odd")) or "\ufffd" in n]
    assert not left, left


def dos_devices():
    for n in ["CON", "NUL", "aux.txt", "COM1", "LPT1", "con.txt", "PRN"]:
        st, o = create("cf_dir\\" + n, access=RW, disp=D.FILE_OVERWRITE_IF)
        expect(st, OK, f"create {n}")
        if o is not None:
            o.write(b"device? no, a file", 0)
            close(o)
            p_ = os.path.join(S, "cf_dir", n)
            assert os.path.isfile(p_) and not os.path.islink(p_), p_
            with open(p_, "rb") as f:
                assert f.read() == b"device? no, a file"
            st, o = create("cf_dir\\" + n, access=DELETE, opts=DELETE_ON_CLOSE)
            assert st == OK, sname(st)
            close(o)
    # Never a real device: /dev/null stays a device, and nothing else appeared.
    assert os.path.exists("/dev/null")
    outside_untouched()


def illegal_chars():
    for c in '*?<>|"':
        for disp in (D.FILE_OPEN, D.FILE_CREATE):
            expect_create(f"cf_ill{c}x", OBJECT_NAME_INVALID, access=RW, disp=disp)
        expect_create(rf"cf_ill{c}\x", OBJECT_NAME_INVALID, access=RW, disp=D.FILE_CREATE)
    for c in ["\x01", "\x1f", "\n"]:
        expect_create(f"cf_ctl{c}x", OBJECT_NAME_INVALID, access=RW, disp=D.FILE_CREATE)
    left = [n for n in os.listdir(S) if n.startswith(("cf_ill", "cf_ctl"))]
    assert not left, left


def long_names():
    # 255 UTF-16 units is the longest component (MS-FSCC 2.1.5.2), 256 is invalid.
    expect_create("cf_" + "x" * 252, OK, access=RW | DELETE, disp=D.FILE_OVERWRITE_IF, opts=DELETE_ON_CLOSE)
    expect_create("cf_" + "x" * 253, OBJECT_NAME_INVALID, access=RW, disp=D.FILE_CREATE)
    # 255 units, but 507 bytes of UTF-8: more than Linux's NAME_MAX (255 bytes).
    expect_create("cf_" + "\U0001F600" * 126, OBJECT_NAME_INVALID, access=RW | DELETE, disp=D.FILE_CREATE)
    expect_create("cf_" + "\U0001F600" * 127, OBJECT_NAME_INVALID, access=RW, disp=D.FILE_CREATE)
    expect_create(r"cf_dir" + "\\" + "y" * 256 + r"\z", OBJECT_NAME_INVALID, access=RW, disp=D.FILE_CREATE)
    # The longest CREATE name the wire can carry (NameLength is 16 bits: 32,767 units).
    deep = "\\".join(["d" * 200] * 163) + "\\" + "e" * 4  # 32,767 units
    assert len(deep) == 32767, len(deep)
    expect_create(deep, OBJECT_PATH_NOT_FOUND, access=RW, disp=D.FILE_CREATE)
    # Deeper than Linux's PATH_MAX (4,096 bytes) but within SMB's limit: works.
    deep_dir = ""
    for k in range(25):
        deep_dir += ("\\" if deep_dir else "") + f"cf_deep{k:02}" + "d" * 190
        st, o = create(deep_dir, access=RW, disp=D.FILE_OPEN_IF, opts=DIR)
        assert st == OK, f"mkdir depth {k}: {sname(st)}"
        close(o)
    st, o = create(deep_dir + r"\f.txt", access=RW, disp=D.FILE_CREATE)
    assert st == OK, f"deep create: {sname(st)}"
    o.write(b"deep", 0)
    close(o)
    st, o = create(deep_dir + r"\f.txt", access=READ)
    assert st == OK and o.read(0, 4) == b"deep", sname(st)
    close(o)
    fd = os.open(S, os.O_RDONLY | os.O_DIRECTORY)
    for c in deep_dir.split("\\"):
        nfd = os.open(c, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = nfd
    assert os.stat("f.txt", dir_fd=fd).st_size == 4
    os.close(fd)
    # Rename targets are not limited by the wire: longer than 32,767 units.
    st, o = create("cf_victim.txt", access=RW | DELETE)
    assert st == OK, sname(st)
    try:
        expect(rename(o, "\\".join(["d" * 200] * 170)), OBJECT_NAME_INVALID, "rename target > 32767 units")
        expect(rename(o, "z" * 40000), OBJECT_NAME_INVALID, "rename target component 40000")
        expect(rename(o, "z" * 256), OBJECT_NAME_INVALID, "rename target component 256")
        # Undecodable FileName: the info buffer is malformed (Samba: INVALID_PARAMETER too).
        expect(rename(o, raw("cf_r") + b"\x00\xd8"), INVALID_PARAMETER, "rename target lone surrogate")
        expect(rename(o, raw("cf_r") + b"\x00\x00" + raw("x")), OBJECT_NAME_INVALID, "rename target NUL")
        expect(rename(o, "cf_r*"), OBJECT_NAME_INVALID, "rename target *")
        expect(rename(o, "cf_x:../y"), OBJECT_NAME_INVALID, "rename target stream ../")
    finally:
        close(o)
    outside_untouched()


for name, fn in [("dotdot", dotdot), ("absolute", absolute), ("symlink_open", symlink_open),
                 ("symlink_create_through", symlink_create_through), ("symlink_rename", symlink_rename),
                 ("symlink_delete", symlink_delete), ("symlink_list", symlink_list),
                 ("streams", streams), ("nul_and_surrogates", nul_and_surrogates),
                 ("dos_devices", dos_devices), ("illegal_chars", illegal_chars), ("long_names", long_names),
                 ("race", race)]:
    if SURVEY:
        print(f"{name}:")
    case(name, fn)

case("outside_untouched_at_end", outside_untouched)


def nothing_read_outside():
    """Nothing outside was read or listed: the sentinel entries' old access times did not move
    (skipped on a noatime mount, where they never move)."""
    moved = {k: v for k, v in atimes(outside).items() if BEFORE_ATIMES.get(k) != v}
    assert not moved, f"outside entries were read: {moved}"


case("nothing_read_outside", nothing_read_outside)


def no_new_entries_outside():
    """A full listing (after the atime check, since listing moves directory atimes)."""
    now = set(entries(outside))
    assert now == set(ENTRIES), f"entries outside changed: {now ^ set(ENTRIES)}"


case("no_new_entries_outside", no_new_entries_outside)
tree.disconnect()
sess.disconnect()
conn.disconnect()
finish()
