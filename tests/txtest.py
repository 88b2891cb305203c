"""Shared helpers of the Python tests: counted checks, commands that must succeed, text of
h5py values, and the closing summary. Imported by the test scripts (their own directory is
on sys.path when /usr/bin/python3 runs them)."""
import subprocess
import sys

failures = []
checks = 0


def check(cond, what):
    """Counts a check; a failing one is recorded and its first 40 printed. Returns cond."""
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        if len(failures) <= 40:
            print("FAIL:", what, flush=True)
    return cond


def sh(*args):
    """Runs a command that must succeed; returns its stdout."""
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("command failed: %s" % " ".join(str(a) for a in args))
    return r.stdout


def text(v):
    """An h5py string value (bytes or str) as str."""
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def finish(extra=""):
    """Prints the summary and exits 1 when a check failed."""
    print("%d passed, %d failed%s" % (checks - len(failures), len(failures), extra))
    sys.exit(1 if failures else 0)
