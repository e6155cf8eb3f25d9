#!/usr/bin/env python3
"""Summarise a fio --output-format=json result in one line.

    fio-iops.py LABEL FILE.json

Prints "LABEL: read N IOPS (X MiB/s, mean clat U us), write ..." for the directions that did
I/O.  Exits 1 if fio reported an error or no I/O completed at all.
"""
import json
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    label, path = sys.argv[1], sys.argv[2]
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        # fio may print warnings before the JSON document
        doc = json.loads(text[text.index("{"):])
        job = doc["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(f"{label}: cannot parse fio output {path}: {e}", file=sys.stderr)
        return 1
    parts = []
    total = 0
    for d in ("read", "write"):
        s = job.get(d, {})
        n = s.get("total_ios", 0)
        if not n:
            continue
        total += n
        parts.append(f"{d} {s['iops']:.0f} IOPS ({s['bw'] / 1024:.1f} MiB/s, "
                     f"mean clat {s['clat_ns']['mean'] / 1000:.0f} us)")
    if job.get("error"):
        print(f"{label}: fio error {job['error']}", file=sys.stderr)
        return 1
    if total == 0:
        print(f"{label}: fio completed no I/O", file=sys.stderr)
        return 1
    print(f"{label}: " + ", ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
