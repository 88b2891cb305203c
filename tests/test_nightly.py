#!/usr/bin/python3
"""`tanxiao nightly` on a small generated city, night after night:

1. Night 1 (run date D1) ingests an incoming directory holding the reading files up to D1
   and writes OUT/tanxiao-D1.h5 with the year to date (January to the month before D1)
   against the same months of the baseline year; `latest` points at it. Its results equal
   a direct `tanxiao run --period <ytd>` on the same store.
2. Night 2 (D2) is killed (SIGKILL) at seeded points after new reading files arrived: the
   first night's file stays byte-identical, `latest` always resolves to a complete file,
   a dated name never holds a partial file. Then night 2 completes: its year to date
   equals a direct run on the store after night 2 and differs from one on the store of
   night 1 (the new files were ingested); temporary files of the killed nights are gone.
3. Night 3 in January: the year to date is the whole previous year; keep = 2 removes the
   oldest dated file and nothing else (other names are left alone); a backfill night
   with an older date keeps the file it wrote.
4. A failed night (missing financials) exits 1 and leaves results and `latest` as they
   were; configuration errors exit 2 with one line naming file, line and reason; an
   unreadable reading file exits 3 with the results written from the rest.
5. Two nights on one output directory: the second exits 4 at once naming the first's
   pid; a night while an ingest holds the store exits 4 as well.
6. Logs: --log-json lines are JSON objects with time (ISO 8601 with offset), level and
   msg; text lines start with time and level; --quiet leaves no info line; --verbose
   adds debug lines; an engine warning (a bad financial row) is a record too.

Kill points: TX_NIGHTLY_KILL_POINTS (default 12); seed TX_NIGHTLY_KILL_SEED (default
20251201), printed so a failure can be replayed.

usage: test_nightly.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import datetime
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

TANXIAO, PLUGIN_DIR = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
WORK = os.path.abspath(sys.argv[3])
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402
from txtest import check, finish  # noqa: E402
import numpy as np  # noqa: E402

POINTS = int(os.environ.get("TX_NIGHTLY_KILL_POINTS", "12"))
SEED = int(os.environ.get("TX_NIGHTLY_KILL_SEED", "20251201"))
def run(*args, **kw):
    return subprocess.run([TANXIAO] + list(args), capture_output=True, text=True, **kw)


def sh(*args):
    r = run(*args)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("command failed: tanxiao %s" % " ".join(args))
    return r


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def datasets(path):
    """Every dataset of every group: {name: array}, or None when the file does not open."""
    out = {}
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda n, o: out.__setitem__(n, o[()])
                         if isinstance(o, h5py.Dataset) else None)
    except (OSError, KeyError, ValueError) as e:
        print("  (does not open: %s)" % str(e).splitlines()[0][:120])
        return None
    return out


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.all(a == b))


def differing(p, q):
    """Names of the datasets that differ between two results files (all when one is None)."""
    a, b = datasets(p), datasets(q)
    if a is None or b is None:
        return ["<does not open>"]
    return sorted(n for n in set(a) | set(b) if n not in a or n not in b or not same(a[n], b[n]))


def digest(path):
    d = datasets(path)
    if d is None:
        return None
    h = hashlib.sha256()
    for n in sorted(d):
        a = np.ascontiguousarray(d[n])
        if a.dtype.kind == "f":
            a = a.copy()
            a[np.isnan(a)] = np.nan
        h.update(("%s %s %s\n" % (n, a.dtype.str, a.shape)).encode())
        h.update(memoryview(a.reshape(-1).view(np.uint8)))
    return h.hexdigest()


def ytd(date):
    """The year to date of a run date, computed here independently of the engine: January
    to the last complete month of its year, and the same months of the baseline year."""
    y, m = (date.year, date.month - 1) if date.month > 1 else (date.year - 1, 12)
    per = "%04d" % y if m == 12 else "%04d-01..%04d-%02d" % (y, y, m)
    base = "%04d" % BASE if m == 12 else "%04d-01..%04d-%02d" % (BASE, BASE, m)
    return per, base


def dated(out):
    """The dated results: tanxiao-YYYY-MM-DD.h5 with a calendar date."""
    names = []
    for n in os.listdir(out):
        if re.fullmatch(r"tanxiao-\d{4}-\d\d-\d\d\.h5", n):
            try:
                datetime.date.fromisoformat(n[8:18])
                names.append(n)
            except ValueError:
                pass
    return sorted(names)


t_start = time.monotonic()
print("nightly test: %d kill points, seed %d (TX_NIGHTLY_KILL_POINTS, TX_NIGHTLY_KILL_SEED)" %
      (POINTS, SEED))
rng = random.Random(SEED)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

# ---- the city and its reading files by arrival night -----------------------------------------
REPORT, BASE = 2025, 2024
city = os.path.join(WORK, "city")
sh("generate", city, "--enterprises", "12", "--divisions", "3", "--seed", "7",
   "--report-year", str(REPORT), "--base-year", str(BASE))
days = sorted(os.listdir(os.path.join(city, "readings")))
D1, D2, D3 = datetime.date(2025, 5, 10), datetime.date(2025, 8, 3), datetime.date(2026, 1, 5)


def arrived(night_date):
    """Reading files that have arrived by a night: day files before the night's date (their
    name is the day), and the late backfill files from night 2 on."""
    names = [n for n in days if n[:1].isdigit() and n < night_date.isoformat()]
    if night_date >= D2:
        names += [n for n in days if not n[:1].isdigit()]
    return names


check(0 < len(arrived(D1)) < len(arrived(D2)) < len(arrived(D3)) <= len(days),
      "the nights get more and more reading files")
incoming = os.path.join(WORK, "incoming")
os.makedirs(os.path.join(incoming, "readings"))
for name in os.listdir(city):
    if name.endswith(".csv"):
        os.symlink(os.path.join(city, name), os.path.join(incoming, name))


def deliver(night_date):
    for n in arrived(night_date):
        dst = os.path.join(incoming, "readings", n)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(city, "readings", n), dst)


store = os.path.join(WORK, "store.h5")
out = os.path.join(WORK, "results")
config = os.path.join(WORK, "nightly.ini")
with open(config, "w") as f:
    f.write("""; the test's nightly job
[nightly]
store = %s
input = %s
financials = %s
output-dir = %s
keep = 2          ; dated results kept
baseline = %d
threads = 2
""" % (store, incoming, city, out, BASE))


def nightly(date, *extra):
    return run("nightly", "--config", config, "--date", date.isoformat(), *extra)


def direct(period, baseline, path, st=store):
    sh("run", "--store", st, "--financials", city, "--period", period, "--baseline", baseline,
       "--output", path, "--threads", "2")
    return path


# ---- 1. night 1 --------------------------------------------------------------------------------
deliver(D1)
r = nightly(D1)
check(r.returncode == 0, "night 1 succeeds: %s" % r.stderr)
R1 = os.path.join(out, "tanxiao-%s.h5" % D1.isoformat())
check(os.path.exists(R1), "night 1 wrote %s" % R1)
check(os.readlink(os.path.join(out, "latest")) == os.path.basename(R1), "latest -> night 1")
per1, base1 = ytd(D1)
a1 = attrs(R1)
check(a1["period"] == per1 and a1["baseline"] == base1,
      "night 1 period %s vs %s, expected %s vs %s" % (a1["period"], a1["baseline"], per1, base1))
check(a1["period"] == "2025-01..2025-04", "night 1 of 2025-05-10 is January to April")
direct1 = direct(per1, base1, os.path.join(WORK, "direct1.h5"))
diff = differing(R1, direct1)
check(not diff, "night 1 equals a direct run of %s: differ %s" % (per1, diff[:5]))
with h5py.File(R1, "r") as f:
    co2_1 = float(f["city/co2_t"][0])
    check(np.isfinite(co2_1) and co2_1 > 0, "night 1 has a city total (%r)" % co2_1)
R1_SHA = sha(R1)
store_night1 = os.path.join(WORK, "store-night1.h5")
shutil.copyfile(store, store_night1)

# ---- 2. night 2, killed, then complete ---------------------------------------------------------
deliver(D2)
per2, base2 = ytd(D2)
R2 = os.path.join(out, "tanxiao-%s.h5" % D2.isoformat())

# Measure night 2 uninterrupted on a scratch copy (store and output directory from the
# command line, which overrides the file).
scratch_store, scratch_out = os.path.join(WORK, "scratch.h5"), os.path.join(WORK, "scratch-out")
shutil.copyfile(store, scratch_store)
t0 = time.monotonic()
r = nightly(D2, "--store", scratch_store, "--output-dir", scratch_out)
t_night = time.monotonic() - t0
check(r.returncode == 0 and os.path.exists(os.path.join(scratch_out, os.path.basename(R2))) and
      not os.path.exists(R2), "command-line --store/--output-dir override the file: %s" % r.stderr)
REF2 = digest(os.path.join(scratch_out, os.path.basename(R2)))
print("night 2 uninterrupted: %.3f s" % t_night)


def tmp_of(pid):
    return os.path.exists("%s.tmp-%d" % (R2, pid))


seen_r2 = []
n_mid = n_done = 0
half = (POINTS + 1) // 2
points = [(False, t_night * 1.15 * (i + rng.random()) / half) for i in range(half)]
# The other half from the moment the results' temporary file appears: the write of a small
# city's results takes some tens of milliseconds.
points += [(True, 0.05 * (i + rng.random()) / max(POINTS - half, 1)) for i in range(POINTS - half)]
rng.shuffle(points)
for i, (after_write, delay) in enumerate(points):
    p = subprocess.Popen([TANXIAO, "nightly", "--config", config, "--date", D2.isoformat()],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if after_write:
        while p.poll() is None and not tmp_of(p.pid):
            time.sleep(0.0005)
    deadline = time.monotonic() + delay
    while p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    mid = tmp_of(p.pid)
    finished = p.poll() is not None
    if not finished:
        p.send_signal(signal.SIGKILL)
    p.wait()
    n_done += finished
    n_mid += mid and not finished
    what = "%s%.3f s" % ("write + " if after_write else "", delay)
    check(sha(R1) == R1_SHA, "kill %d at %s: night 1's file is byte-identical" % (i, what))
    latest = os.path.join(out, "latest")
    target = os.path.realpath(latest)
    check(os.path.basename(target) in (os.path.basename(R1), os.path.basename(R2)),
          "kill %d at %s: latest -> %s" % (i, what, target))
    check(digest(latest) is not None and attrs(latest)["period"] in (per1, per2),
          "kill %d at %s: latest resolves to a complete results file" % (i, what))
    check(set(dated(out)) <= {os.path.basename(R1), os.path.basename(R2)},
          "kill %d: dated files %s" % (i, dated(out)))
    if os.path.exists(R2):
        seen_r2.append(digest(R2))
    print("night 2 kill %2d at %s: %s; %s present" %
          (i, what, "finished first" if finished else "mid-write" if mid else "killed",
           "R1+R2" if os.path.exists(R2) else "R1"), flush=True)
print("kills: %d finished first, %d mid-write (temporary results present)" % (n_done, n_mid))
check(all(d == REF2 for d in seen_r2),
      "every night-2 file seen after a kill is the complete reference (%d seen)" % len(seen_r2))

r = nightly(D2)
check(r.returncode == 0, "night 2 after the kills succeeds: %s" % r.stderr)
check(sha(R1) == R1_SHA, "night 1's file is unchanged by night 2")
check(os.readlink(os.path.join(out, "latest")) == os.path.basename(R2), "latest -> night 2")
check(digest(R2) == REF2, "night 2 after the kills equals the uninterrupted night 2")
a2 = attrs(R2)
check(a2["period"] == per2 and a2["baseline"] == base2,
      "night 2 period %s vs %s, expected %s vs %s" % (a2["period"], a2["baseline"], per2, base2))
direct2 = direct(per2, base2, os.path.join(WORK, "direct2.h5"))
diff = differing(R2, direct2)
check(not diff, "night 2 equals a direct run of %s on the same store: differ %s" % (per2, diff[:5]))
stale = direct(per2, base2, os.path.join(WORK, "stale2.h5"), st=store_night1)
with h5py.File(R2, "r") as f, h5py.File(stale, "r") as g:
    co2_2, co2_stale = float(f["city/co2_t"][0]), float(g["city/co2_t"][0])
    cov2 = float(np.nanmean(f["enterprise/coverage"][()]))
    cov_stale = float(np.nanmean(g["enterprise/coverage"][()]))
check(co2_2 > co2_1, "year to date grows from night 1 to night 2 (%g > %g)" % (co2_2, co2_1))
check(co2_2 != co2_stale and cov2 > cov_stale,
      "night 2 used the new files: CO2 %g vs %g, coverage %g vs %g on night 1's store" %
      (co2_2, co2_stale, cov2, cov_stale))
left = [n for n in os.listdir(out) if ".tmp-" in n]
check(not left, "temporary files of the killed nights are removed: %s" % left)
check(not glob.glob(glob.escape(store) + ".wip-*"), "no working copy of the store left")

# ---- 3. January, retention, backfill -----------------------------------------------------------
deliver(D3)
for junk in ("tanxiao-notes.txt", "tanxiao-2025-13-01.h5", "other.h5"):
    open(os.path.join(out, junk), "w").write("not results")
r = nightly(D3)
R3 = os.path.join(out, "tanxiao-%s.h5" % D3.isoformat())
check(r.returncode == 0, "night 3 succeeds: %s" % r.stderr)
a3 = attrs(R3)
check(a3["period"] == "2025" and a3["baseline"] == "2024",
      "a January night computes the whole previous year: %s vs %s" % (a3["period"], a3["baseline"]))
check(dated(out) == [os.path.basename(R2), os.path.basename(R3)],
      "keep = 2 removed the oldest dated file only: %s" % dated(out))
check(all(os.path.exists(os.path.join(out, j)) for j in
          ("tanxiao-notes.txt", "tanxiao-2025-13-01.h5", "other.h5")),
      "files of other names are never removed")
check(os.readlink(os.path.join(out, "latest")) == os.path.basename(R3), "latest -> night 3")
direct3 = direct("2025", "2024", os.path.join(WORK, "direct3.h5"))
check(not differing(R3, direct3), "night 3 equals a direct run of 2025 vs 2024")
# A backfill night with an older date keeps what it wrote (and points latest at it).
DB = datetime.date(2025, 7, 1)
r = nightly(DB, "--keep", "1")
RB = os.path.join(out, "tanxiao-%s.h5" % DB.isoformat())
check(r.returncode == 0 and os.path.exists(RB), "backfill night: %s" % r.stderr)
check(dated(out) == [os.path.basename(RB), os.path.basename(R3)],
      "--keep 1 keeps the newest and the file just written: %s" % dated(out))
check(os.readlink(os.path.join(out, "latest")) == os.path.basename(RB), "latest -> backfill")
check(attrs(RB)["period"] == "2025-01..2025-06", "backfill period %s" % attrs(RB)["period"])

# ---- 4. failures leave everything as it was ----------------------------------------------------
before = {n: sha(os.path.join(out, n)) for n in dated(out)}
link_before = os.readlink(os.path.join(out, "latest"))
D4 = datetime.date(2026, 2, 2)
r = nightly(D4, "--financials", os.path.join(WORK, "no-such-dir"))
lines = r.stderr.strip().splitlines()
check(r.returncode == 1, "a failed night exits 1 (got %d: %s)" % (r.returncode, r.stderr))
check(any(" ERROR " in ln and "no-such-dir" in ln for ln in lines),
      "the error names the missing directory: %s" % r.stderr)
check({n: sha(os.path.join(out, n)) for n in dated(out)} == before and
      os.readlink(os.path.join(out, "latest")) == link_before,
      "a failed night leaves the results and latest untouched")
check(not os.path.exists(os.path.join(out, "tanxiao-%s.h5" % D4.isoformat())),
      "a failed night writes no dated file")


def config_error(text, words, code=2, extra=()):
    bad = os.path.join(WORK, "bad.ini")
    with open(bad, "w") as f:
        f.write(text)
    r = run("nightly", "--config", bad, *extra)
    lines = r.stderr.strip().splitlines()
    ok = check(r.returncode == code and len(lines) == 1 and
               all(w in lines[0] for w in ["bad.ini"] + words),
               "config %r: exit %d, stderr %r (expected %d, words %s)" %
               (text, r.returncode, r.stderr, code, words))
    return ok


good = open(config).read()
config_error(good + "colour = blue\n", [":10:", "unknown key 'colour'"])
config_error(good.replace("keep = 2", "keep = -1"), [":7:", "keep takes a number"])
config_error(good.replace("threads = 2", "pv-policy = both"), [":9:", "pv-policy is grid_only"])
config_error(good + "keep = 3\n", [":10:", "given twice", "line 7"])
config_error(good + "[other]\nx = 1\n", [":11:", "unknown section [other]"])
config_error("store = x\n" + good, [":1:", "outside a section"])
config_error(good + "this line has no equals sign\n", [":10:", "expected 'key = value'"])
config_error(good.replace("baseline = 2024", "baseline = 2024-01..2024-06"),
             [":8:", "baseline takes a year"])
config_error(good + "date = 2025-02-30\n", [":10:", "date takes YYYY-MM-DD"])
config_error(good + "output = x.h5\n", [":10:", "output-dir"])
config_error(good + "input = " + "x" * 300 + "\n", [":10:", "line too long"])
r = run("nightly", "--config", os.path.join(WORK, "absent.ini"))
check(r.returncode == 1 and "absent.ini" in r.stderr and "cannot open" in r.stderr,
      "a missing config file: %d %s" % (r.returncode, r.stderr))
r = run("nightly", "--config", config, "--keep", "many")
check(r.returncode == 2 and "--keep takes a number" in r.stderr and
      len(r.stderr.strip().splitlines()) == 1, "a bad command-line value: %s" % r.stderr)
r = run("nightly", "--output-dir", out)
check(r.returncode == 2 and "missing store" in r.stderr, "no config, no store: %s" % r.stderr)
r = run("nightly", "--help")
check(r.returncode == 0 and all(w in r.stdout for w in
                                ("--config", "--date", "--keep", "latest", "Exit status",
                                 "4 another process")),
      "nightly --help explains options and exit codes")

# An unreadable reading file: skipped and named, the rest ingested, results written, exit 3.
bad_in = os.path.join(WORK, "incoming-bad")
shutil.copytree(incoming, bad_in, symlinks=True)
with open(os.path.join(bad_in, "readings", "2025-12-31-broken.csv"), "wb") as f:
    f.write(b"\x00\x01 not a readings file\n")
out3 = os.path.join(WORK, "results-exit3")
r = nightly(D3, "--input", bad_in, "--output-dir", out3)
check(r.returncode == 3, "an unreadable reading file gives exit 3 (got %d: %s)" %
      (r.returncode, r.stderr))
check(any(" ERROR " in ln and "2025-12-31-broken.csv" in ln for ln in r.stderr.splitlines()),
      "the unreadable file is named in an ERROR line: %s" % r.stderr)
check(dated(out3) == [os.path.basename(R3)] and
      os.readlink(os.path.join(out3, "latest")) == os.path.basename(R3),
      "results are still written and linked after exit 3: %s" % os.listdir(out3))

# ---- 5. two at once ----------------------------------------------------------------------------
lockfile = os.path.join(out, ".tanxiao-nightly.lock")
first = subprocess.Popen([TANXIAO, "nightly", "--config", config, "--date", D3.isoformat()],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
t0 = time.monotonic()


def holder():
    try:
        return open(lockfile).read().strip()
    except OSError:
        return ""


while holder() != str(first.pid) and first.poll() is None and time.monotonic() - t0 < 10:
    time.sleep(0.001)
t1 = time.monotonic()
second = run("nightly", "--config", config, "--date", D3.isoformat())
t2 = time.monotonic()
first_running = first.poll() is None
_, first_err = first.communicate()
err = second.stderr.strip()
print("second nightly: exit %d after %.3f s: %s" % (second.returncode, t2 - t1, err))
check(first_running, "the first nightly was still running when the second finished")
check(second.returncode == 4, "the second nightly exits with 4 (lock held)")
check(t2 - t1 < 2.0, "the second nightly fails at once")
check(len(err.splitlines()) == 1 and "pid %d" % first.pid in err and "locked" in err and
      out in err, "one line naming the directory and the first's pid: %s" % err)
check(first.returncode == 0, "the first nightly completes: %s" % first_err)

# A nightly while an ingest holds the store's writer lock: exit 4 as well.
ingest = subprocess.Popen([TANXIAO, "ingest", city, "--store", store], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
t0 = time.monotonic()
while not os.path.exists(store + ".lock") and ingest.poll() is None and time.monotonic() - t0 < 10:
    time.sleep(0.001)
other_out = os.path.join(WORK, "results-other")
r = nightly(D3, "--output-dir", other_out)
ingest_running = ingest.poll() is None
ingest.communicate()
if ingest_running:
    check(r.returncode == 4 and "being written by another process" in r.stderr,
          "a night while the store is being written exits 4: %d %s" % (r.returncode, r.stderr))
    check(not dated(other_out), "and writes no results")
else:
    print("(the ingest finished before the nightly started; store-lock case not exercised)")
check(ingest.returncode == 0, "the ingest completes")

# ---- 6. logs ----------------------------------------------------------------------------------
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
r = nightly(D3, "--log-json")
lines = r.stderr.strip().splitlines()
check(r.returncode == 0 and len(lines) >= 3, "a JSON-logged night: %d lines" % len(lines))
records = []
for ln in lines:
    try:
        records.append(json.loads(ln))
    except ValueError:
        check(False, "not JSON: %r" % ln)
now = datetime.datetime.now(datetime.timezone.utc)
for rec in records:
    check(isinstance(rec, dict) and {"time", "level", "msg"} <= set(rec),
          "record with time, level, msg: %r" % rec)
    check(re.fullmatch(TIME, rec.get("time", "")) is not None, "ISO 8601 time: %r" % rec)
    t = datetime.datetime.fromisoformat(rec["time"])
    check(abs((now - t).total_seconds()) < 600, "the time is now: %s" % rec["time"])
    check(rec.get("level") in ("error", "warning", "info", "debug"), "level: %r" % rec)
done = [x for x in records if x.get("msg", "").endswith("nightly: done")]
check(len(done) == 1 and done[0].get("results") == R3 and done[0].get("period") == "2025",
      "the closing record carries results and period as fields: %r" % done)
r = nightly(D3)
text = r.stderr.strip().splitlines()
check(r.returncode == 0 and text and all(re.match(TIME + r" (ERROR|WARN|INFO|DEBUG) ", ln)
                                         for ln in text),
      "text log lines start with time and level: %r" % text[:3])
check(any(" INFO " in ln for ln in text), "a night logs info lines")
r = nightly(D3, "--quiet")
check(r.returncode == 0 and not [ln for ln in r.stderr.splitlines() if " INFO " in ln] and
      r.stdout == "", "--quiet: no info lines (%r)" % r.stderr)
r = nightly(D3, "--verbose")
check(r.returncode == 0 and any(" DEBUG " in ln for ln in r.stderr.splitlines()),
      "--verbose adds debug lines")
r = run("--quiet", "nightly", "--verbose", "--config", config)
check(r.returncode == 2, "--quiet with --verbose is a usage error")
r = run("nightly", "--config", os.path.join(WORK, "bad.ini"), "--log-json")
rec = json.loads(r.stderr.strip().splitlines()[-1]) if r.stderr.strip() else {}
check(r.returncode == 2 and rec.get("level") == "error" and "bad.ini" in rec.get("msg", ""),
      "a configuration error in JSON: %r" % r.stderr)
# An engine warning (a malformed financial row) becomes a JSON record as well.
fin = os.path.join(WORK, "fin")
shutil.copytree(city, fin, ignore=shutil.ignore_patterns("readings", "truth"))
with open(os.path.join(fin, "financials.csv"), "a") as f:
    f.write("not,a,valid,row\n")
r = run("--log-json", "run", "--store", store, "--financials", fin, "--period", per2,
        "--output", os.path.join(WORK, "warned.h5"))
recs = [json.loads(ln) for ln in r.stderr.strip().splitlines()]
check(r.returncode == 0 and any(x["level"] == "warning" and "financials.csv" in x["msg"]
                                for x in recs),
      "the engine's warning is a JSON warning record: %r" % r.stderr[:400])
r = run("--quiet", "run", "--store", store, "--financials", city, "--period", per2,
        "--output", os.path.join(WORK, "quiet.h5"))
check(r.returncode == 0 and r.stdout == "" and r.stderr == "", "run --quiet prints nothing")

finish(", %.1f s" % (time.monotonic() - t_start))
