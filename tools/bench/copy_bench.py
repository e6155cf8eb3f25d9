"""Server-side copy benchmark (issue 9): times copies of files of each size by
- COPYCHUNK: smbclient.copyfile (FSCTL_SRV_COPYCHUNK_WRITE, 16 x 1 MiB chunks per request),
  on rsmbd and on Samba;
- ODX: one FSCTL_OFFLOAD_READ for the whole file, FSCTL_OFFLOAD_WRITE until done (rsmbd);
- DUPLICATE_EXTENTS: one FSCTL_DUPLICATE_EXTENTS_TO_FILE for the whole file (rsmbd; Samba only
  offers it with vfs_btrfs, so on XFS it answers with an error, reported as such).
Each timing is the best of `reps` runs, from opening the source to closing the target; the
target is created and sized through SMB where the method needs it (ODX, DUPLICATE_EXTENTS).

Usage: copy_bench.py CONFIG_JSON with keys host, user, password, port, share_dir,
samba_port, samba_user, samba_password, samba_dir, sizes_mib (list), reps.
Prints one line per (server, method, size) and a table.
"""
import json
import os
import struct
import subprocess
import sys
import time

import smbclient
from smbprotocol.exceptions import SMBOSError, SMBResponseException
from smbprotocol.ioctl import CtlCode

# smbprotocol's CtlCode enum lacks these; its EnumField refuses unknown values.
for _name, _code in (("FSCTL_OFFLOAD_READ", 0x00094264), ("FSCTL_OFFLOAD_WRITE", 0x00098268),
                     ("FSCTL_DUPLICATE_EXTENTS_TO_FILE", 0x00098344)):
    setattr(CtlCode, _name, _code)
from smbprotocol.open import CreateDisposition

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/python"))
from rawclient import RawClient  # noqa: E402  (one SMB plumbing for the tests and this tool)

cfg = json.loads(sys.argv[1])
host = cfg["host"]


def Client(port, user, password):
    """A signed 3.1.1 connection to `share` (the tests' raw client)."""
    return RawClient(host, port, user, password, "share")


def make_file(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(0, size, 1 << 20):
            f.write(struct.pack("<Q", i) + block[8:min(1 << 20, size - i)])
        os.fsync(f.fileno())


def copychunk(port, user, password, src, dst, size):
    smbclient.copyfile(rf"\\{host}\share\{src}", rf"\\{host}\share\{dst}", port=port,
                       username=user, password=password)


def odx(c, src, dst, size):
    s = c.open(src)
    out = c.fsctl(s, 0x00094264, struct.pack("<IIIIQQ", 32, 0, 0, 0, 0, size), 528)
    transfer, token = struct.unpack_from("<Q", out, 8)[0], bytes(out[16:])
    d = c.open(dst, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    c.set_eof(d, size)
    done = 0
    while done < transfer:
        out = c.fsctl(d, 0x00098268, struct.pack("<IIQQQ", 544, 0, done, transfer - done, done) + token, 16)
        n = struct.unpack_from("<Q", out, 8)[0]
        if n == 0:
            raise RuntimeError("offload write made no progress")
        done += n
    d.close()
    s.close()


def dup_extents(c, src, dst, size):
    s = c.open(src)
    d = c.open(dst, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    c.set_eof(d, size)
    c.fsctl(d, 0x00098344, bytes(s.file_id) + struct.pack("<QQQ", 0, 0, size), 0)
    d.close()
    s.close()


def best(fn, reps):
    t = None
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        t = dt if t is None else min(t, dt)
    return t


def main():
    reps = cfg.get("reps", 3)
    servers = [("rsmbd", cfg["port"], cfg["user"], cfg["password"], cfg["share_dir"])]
    if cfg.get("samba_port"):
        servers.append(("samba", cfg["samba_port"], cfg["samba_user"], cfg["samba_password"], cfg["samba_dir"]))
    rows = []
    for mib in cfg["sizes_mib"]:
        size = mib << 20
        src = f"src-{mib}.bin"
        make_file(os.path.join(cfg["share_dir"], src), size)
        for name, port, user, pw, d in servers:
            if d != cfg["share_dir"]:
                p = os.path.join(d, src)
                if not os.path.exists(p):
                    subprocess.run(["cp", "--reflink=always", os.path.join(cfg["share_dir"], src), p], check=True)
                    subprocess.run(["chown", user, p], check=True)
            c = Client(port, user, pw)
            methods = [
                ("COPYCHUNK", lambda: copychunk(port, user, pw, src, f"cc-{mib}.bin", size)),
                ("ODX", lambda: odx(c, src, f"odx-{mib}.bin", size)),
                ("DUPLICATE_EXTENTS", lambda: dup_extents(c, src, f"dup-{mib}.bin", size)),
            ]
            for method, fn in methods:
                try:
                    t = best(fn, reps)
                    res = f"{t:8.3f} s"
                except SMBResponseException as e:
                    res = f"n/a ({e.status:#x})"
                except SMBOSError as e:
                    res = f"n/a ({e.ntstatus:#x})"
                rows.append((name, method, mib, res))
                print(f"{name:6} {method:18} {mib:6} MiB  {res}", flush=True)
    print()
    print("| server | method | " + " | ".join(f"{m} MiB" for m in cfg["sizes_mib"]) + " |")
    print("|---|---|" + "---|" * len(cfg["sizes_mib"]))
    keys = []
    for r in rows:
        if (r[0], r[1]) not in keys:
            keys.append((r[0], r[1]))
    for k in keys:
        cells = [r[3].strip() for r in rows if (r[0], r[1]) == k]
        print(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")


main()
