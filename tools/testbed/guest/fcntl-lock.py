#!/usr/bin/env python3
"""POSIX (fcntl) byte-range lock helper for lock tests between two processes.

    fcntl-lock.py hold FILE START LEN SECONDS READYFILE
        take an exclusive lock on [START, START+LEN), create READYFILE, hold it SECONDS,
        release; exit 0 (1 if the lock could not be taken).
    fcntl-lock.py try FILE START LEN
        try a non-blocking exclusive lock: exit 0 if granted (then released),
        1 if refused because of a conflicting lock (EAGAIN/EACCES), 2 on any other error.
"""
import errno
import fcntl
import os
import sys
import time


def lock(fd: int, start: int, length: int) -> None:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start, os.SEEK_SET)


def main() -> int:
    a = sys.argv[1:]
    try:
        if len(a) == 6 and a[0] == "hold":
            path, start, length, secs, ready = a[1], int(a[2]), int(a[3]), float(a[4]), a[5]
            fd = os.open(path, os.O_RDWR)
            lock(fd, start, length)
            open(ready, "w").close()
            time.sleep(secs)
            fcntl.lockf(fd, fcntl.LOCK_UN, length, start, os.SEEK_SET)
            os.close(fd)
            return 0
        if len(a) == 4 and a[0] == "try":
            path, start, length = a[1], int(a[2]), int(a[3])
            fd = os.open(path, os.O_RDWR)
            try:
                lock(fd, start, length)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    return 1
                raise
            fcntl.lockf(fd, fcntl.LOCK_UN, length, start, os.SEEK_SET)
            os.close(fd)
            return 0
    except (OSError, ValueError) as e:
        print(f"fcntl-lock.py: {e}", file=sys.stderr)
        return 2
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
