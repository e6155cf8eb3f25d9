"""What every test script here shares: run named cases, report them, exit with the verdict.

    from harness import case, finish
    case("rename without replace", rename_no_replace)
    ...
    finish()   # one PASS/FAIL line per case, then `N passed, M failed`; exit 1 on a failure
"""
import sys

results = []


def case(name, fn):
    """Runs `fn`; any exception fails the case (and the run goes on with the next one)."""
    try:
        fn()
        results.append((name, True, ""))
    except Exception as e:  # noqa: BLE001 - every failure is reported
        results.append((name, False, f"{type(e).__name__}: {e}"))


def finish():
    """Prints every case and the totals; exits 1 if any case failed."""
    failed = 0
    for name, ok, why in results:
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {why}"))
        failed += not ok
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
