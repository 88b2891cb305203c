#!/usr/bin/python3
"""Crash safety: the meter store and the results stay consistent whenever `tanxiao ingest`
or `tanxiao run` is killed (SIGKILL), and a results file appears under its name only when
complete.

1. References. A small city as CSV; a store with the first half of its reading files
   (PRE), the same store after an ingest of the rest (POST, which must equal a fresh ingest
   of everything), and the results of a run on POST.
2. Ingest kills. N times: copy PRE into place, start the ingest of the rest, SIGKILL
   it after a delay drawn (seeded) over its measured duration, from very early to just past
   its end. Without a committed journal left behind, the store file as left must hold
   exactly PRE or exactly POST for any HDF5 reader (digest of the catalogue and of every
   series value and quality, NaN-canonical). Then tanxiao reads it (a run), which applies a
   committed journal or discards an open one: the store is then PRE or POST, POST when the
   journal was committed, and no journal is left. Re-running the ingest must succeed and
   give POST.
2b. Deterministic crash points (TANXIAO_TEST_CRASH): right after the commit record and half
   way through applying the journal; the next reader, or the next writer, applies it: POST.
2c. A commit while an h5py reader holds the store: the writer copies, the reader keeps
   reading PRE, the store is POST afterwards.
3. Run kills. N times: start a run with no results file, SIGKILL it likewise; the results
   name then holds nothing or the complete reference results (/enterprise, /meter). A
   following run succeeds and gives the reference.
4. Two writers: a second ingest while a first holds the store fails at once, exit 1, one
   line naming the first's pid; the first completes and gives POST.

Kill points: TX_KILL_POINTS (default 25) for each of ingest and run; seed TX_KILL_SEED
(default 20251122), printed so a failure can be replayed.

usage: test_kill.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import glob
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402  (after HDF5_PLUGIN_PATH is set)
import numpy as np  # noqa: E402

POINTS = int(os.environ.get("TX_KILL_POINTS", "25"))
SEED = int(os.environ.get("TX_KILL_SEED", "20251122"))
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        if len(failures) <= 30:
            print("FAIL:", what, flush=True)
    return cond


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("command failed: %s" % " ".join(args))
    return r.stdout


def digest_open(f, groups):
    """sha256 over every dataset under the groups of an open file (name, dtype, shape,
    bytes; NaN made canonical), or None when it lacks a group."""
    h = hashlib.sha256()
    names = []
    for g in groups:
        if g not in f:
            return None
        f[g].visititems(lambda n, o, g=g: names.append(g + "/" + n)
                        if isinstance(o, h5py.Dataset) else None)
    for n in sorted(names):
        a = np.ascontiguousarray(f[n][()])
        if a.dtype.kind == "f":
            a[np.isnan(a)] = np.nan
        h.update(("%s %s %s\n" % (n, a.dtype.str, a.shape)).encode())
        h.update(memoryview(a.reshape(-1).view(np.uint8)))
    return h.hexdigest()


def digest(path, groups):
    """digest_open of a file, or None when it does not open or lacks a group."""
    try:
        with h5py.File(path, "r") as f:
            return digest_open(f, groups)
    except (OSError, KeyError, ValueError) as e:
        print("  (does not open: %s)" % str(e).splitlines()[0][:120])
        return None


STORE_GROUPS = ("enterprises", "meters", "events", "series")
RESULT_GROUPS = ("enterprise", "meter")


def wips(store):
    return glob.glob(glob.escape(store) + ".wip-*")


def journal_state(store):
    """What a writer left in STORE.journal: None (nothing), "open" (no commit record: the
    store file is as committed before) or "committed" (the next opener applies it)."""
    try:
        with open(store + ".journal", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    return "committed" if len(data) >= 128 and data[-64:-56] == b"TXCOMMIT" else "open"


def reset_store():
    """PRE in place of the store, and nothing a killed writer left."""
    for leftover in [store + ".journal", store + ".lock"] + wips(store):
        if os.path.exists(leftover):
            os.remove(leftover)
    shutil.copyfile(pre_store, store)


def ingest_cmd(dataset, store):
    return [TANXIAO, "ingest", dataset, "--store", store]


def run_cmd(store, city, output):
    return [TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025",
            "--baseline", "2020", "--output", output, "--threads", "2"]


def profile(cmd, busy, prepare, reps=3):
    """Runs cmd uninterrupted reps times (prepare() before each; it must succeed) and
    returns the median of its duration, the median instant at which busy(pid) was first
    seen true (polled every 0.5 ms) and the shortest time it stayed true: when and for how
    long it writes."""
    runs = []
    for _ in range(reps):
        prepare()
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen = []
        while p.poll() is None:
            if busy(p.pid):
                seen.append(time.monotonic() - t0)
            time.sleep(0.0005)
        t = time.monotonic() - t0
        if p.wait() != 0:
            raise SystemExit("command failed: %s: %s" % (" ".join(cmd), p.stderr.read()))
        p.stderr.close()
        runs.append((t, seen[0] if seen else t, seen[-1] if seen else t))
    med = lambda k: sorted(r[k] for r in runs)[len(runs) // 2]  # noqa: E731
    return med(0), med(1), min(r[2] - r[1] for r in runs)


def kill_points(rng, duration, window, n):
    """n kill points (after_write, delay). Half are counted from the start, stratified over
    [0, 1.15 x duration) with one in each stratum, so the very early and the very late
    points are always tried. The other half are counted from the moment the process is
    seen writing (its journal or temporary file exists), stratified over 1.1 times
    the shortest write measured, so they land inside the write whatever the start-up jitter
    of a loaded machine. Shuffled."""
    n_all = (n + 1) // 2
    span = 1.1 * max(window, 0.005)
    d = [(False, duration * 1.15 * (i + rng.random()) / n_all) for i in range(n_all)]
    d += [(True, span * (i + rng.random()) / (n - n_all)) for i in range(n - n_all)]
    rng.shuffle(d)
    return d


def kill_after(cmd, point, busy):
    """Starts cmd and SIGKILLs it at the kill point (see kill_points). Returns (finished
    before the kill, mid-write: busy(pid) was true just before the kill)."""
    after_write, delay = point
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if after_write:
        while p.poll() is None and not busy(p.pid):
            time.sleep(0.0002)
    deadline = time.monotonic() + delay
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or p.poll() is not None:
            break
        time.sleep(min(left, 0.001))
    mid = busy(p.pid)
    finished = p.poll() is not None
    if not finished:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return finished, mid and not finished


def point_name(point):
    return "%s%.3f s" % ("write + " if point[0] else "", point[1])


t_start = time.monotonic()
print("kill test: %d kill points each for ingest and run, seed %d (TX_KILL_POINTS, "
      "TX_KILL_SEED)" % (POINTS, SEED))
rng = random.Random(SEED)

# ---- 1. references -----------------------------------------------------------------------
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city = os.path.join(WORK, "city")
sh(TANXIAO, "generate", city, "--enterprises", "12", "--divisions", "3", "--seed", "5")
days = sorted(os.listdir(os.path.join(city, "readings")))
# Datasets of symbolic links: the catalogue with the first half of the days, and with the
# rest.
half, rest = os.path.join(WORK, "half"), os.path.join(WORK, "rest")
for d, part in ((half, days[: len(days) // 2]), (rest, days[len(days) // 2:])):
    os.makedirs(os.path.join(d, "readings"))
    for name in os.listdir(city):
        if name != "readings":
            os.symlink(os.path.join(city, name), os.path.join(d, name))
    for name in part:
        os.symlink(os.path.join(city, "readings", name), os.path.join(d, "readings", name))

pre_store = os.path.join(WORK, "pre.h5")
full_store = os.path.join(WORK, "full.h5")
sh(*ingest_cmd(half, pre_store))
sh(*ingest_cmd(city, full_store))
PRE = digest(pre_store, STORE_GROUPS)
FULL = digest(full_store, STORE_GROUPS)
check(PRE is not None and FULL is not None and PRE != FULL, "the reference stores differ")

store = os.path.join(WORK, "store.h5")
shutil.copyfile(pre_store, store)
inode = os.stat(store).st_ino
sh(*ingest_cmd(rest, store))
POST = digest(store, STORE_GROUPS)
# Without readers the commit applies the journal in place: the same file, grown.
check(os.stat(store).st_ino == inode, "an ingest without readers commits in place")
check(POST == FULL, "half, then the rest, gives the same store as all at once")
reference = os.path.join(WORK, "reference.h5")
sh(*run_cmd(full_store, city, reference))
REF = digest(reference, RESULT_GROUPS)
output = os.path.join(WORK, "results.h5")


def ingest_busy(pid):
    """The writer has begun to change the store: its journal exists."""
    return os.path.exists(store + ".journal")


def run_busy(pid):
    return os.path.exists("%s.tmp-%d" % (output, pid))


def no_output():
    if os.path.exists(output):
        os.remove(output)


t_ingest, wi0, wi = profile(ingest_cmd(rest, store), ingest_busy, reset_store)
t_run, wr0, wr = profile(run_cmd(full_store, city, output), run_busy, no_output)
print("uninterrupted: ingest of the rest %.3f s, writing the store from %.3f s for %.3f s; "
      "run %.3f s, writing the results from %.3f s for %.3f s" %
      (t_ingest, wi0, wi, t_run, wr0, wr))

# ---- 2. kill ingest ----------------------------------------------------------------------
states = {"pre": 0, "post": 0}
journals = {"none": 0, "open": 0, "committed": 0}
ing_mid = ing_done = 0
for i, point in enumerate(kill_points(rng, t_ingest, wi, POINTS)):
    delay = point_name(point)
    reset_store()
    finished, mid = kill_after(ingest_cmd(rest, store), point, ingest_busy)
    ing_done += finished
    ing_mid += mid
    js = journal_state(store)
    # Without a commit record the file is untouched below its committed size, so any HDF5
    # reader finds PRE or POST; a committed journal may be half applied, and only the
    # engine, which applies it first, reads the store then.
    raw = digest(store, STORE_GROUPS) if js != "committed" else None
    # The engine's reader finishes or discards what the writer left.
    r = subprocess.run(run_cmd(store, city, os.path.join(WORK, "probe.h5")),
                       capture_output=True, text=True)
    check(r.returncode == 0, "run on the store after an ingest kill: %s" % r.stderr.strip())
    d = digest(store, STORE_GROUPS)
    state = "pre" if d == PRE else "post" if d == POST else "BROKEN"
    if state in states:
        states[state] += 1
    journals[js or "none"] += 1
    print("ingest kill %2d at %s: %s, journal %s, store %s" %
          (i, delay, "finished first" if finished else "mid-write" if mid else "killed",
           js or "none", state), flush=True)
    check(state != "BROKEN", "ingest killed at %s: the store is PRE or POST" % delay)
    check(js == "committed" or raw == d, "ingest killed at %s: the file as left (journal %s) "
          "is what the engine reads" % (delay, js))
    check(js != "committed" or state == "post", "a committed journal gives POST")
    # A reader applies a committed journal; an open one is the next writer's to remove
    # (only the writer's lock tells a dead writer's journal from a live one's).
    check(journal_state(store) == (None if js == "committed" else js),
          "the reader applied a committed journal and left an open one")
    check(not finished or state == "post", "a finished ingest committed")
    r = subprocess.run(ingest_cmd(rest, store), capture_output=True, text=True)
    check(r.returncode == 0, "ingest after a kill succeeds: %s" % r.stderr.strip())
    check(digest(store, STORE_GROUPS) == POST, "ingest after a kill at %s gives POST" % delay)
    check(not wips(store), "no working copy left")
    check(journal_state(store) is None, "the next writer removed the dead writer's journal")
    check(not os.path.exists(store + ".lock"), "no lock file after a completed ingest")

# ---- 2b. deterministic crash points of a commit ------------------------------------------
# TANXIAO_TEST_CRASH stops the writer dead right after its commit record is on disk, or
# half way through applying the journal. The next opener, reader or writer, applies it.
for point in ("committed", "applying"):
    for opener in ("reader", "writer"):
        reset_store()
        r = subprocess.run(ingest_cmd(rest, store), capture_output=True, text=True,
                           env=dict(os.environ, TANXIAO_TEST_CRASH=point))
        check(r.returncode == 137, "crash at %s: the writer stopped dead (%d)" %
              (point, r.returncode))
        check(journal_state(store) == "committed", "crash at %s: a committed journal" % point)
        if opener == "reader":
            r = subprocess.run(run_cmd(store, city, os.path.join(WORK, "probe.h5")),
                               capture_output=True, text=True)
            check(r.returncode == 0, "a reader after a crash at %s: %s" % (point, r.stderr))
            check("finished the commit of a writer that was killed" in r.stderr,
                  "the reader says it finished the commit")
            check(digest(os.path.join(WORK, "probe.h5"), RESULT_GROUPS) == REF,
                  "the reader after a crash at %s computes from POST" % point)
        else:
            r = subprocess.run(ingest_cmd(rest, store), capture_output=True, text=True)
            check(r.returncode == 0, "a writer after a crash at %s: %s" % (point, r.stderr))
            check(" 0 stored" in r.stdout, "the writer after a crash at %s finds the rest "
                  "stored: %s" % (point, r.stdout.strip().splitlines()[:1]))
        check(journal_state(store) is None, "crash at %s, %s: journal applied and removed" %
              (point, opener))
        check(digest(store, STORE_GROUPS) == POST, "crash at %s, %s opens: POST" %
              (point, opener))
        print("crash at %s, then a %s: store %s" %
              (point, opener, "post" if digest(store, STORE_GROUPS) == POST else "BROKEN"))

# ---- 2c. a commit while a reader holds the store -----------------------------------------
# HDF5 holds a shared flock on a file it reads (as tanxiao's readers do): the writer then
# commits by copying, and the open reader keeps reading PRE.
reset_store()
inode = os.stat(store).st_ino
with h5py.File(store, "r") as held:
    before = digest_open(held, STORE_GROUPS)
    r = subprocess.run(ingest_cmd(rest, store), capture_output=True, text=True)
    check(r.returncode == 0, "ingest while a reader holds the store: %s" % r.stderr)
    check(digest_open(held, STORE_GROUPS) == before == PRE,
          "the open reader still reads PRE after the commit")
check(digest(store, STORE_GROUPS) == POST, "after the commit by copy the store is POST")
check(not wips(store) and journal_state(store) is None, "the commit by copy left nothing")
check(os.stat(store).st_ino != inode, "with a reader, the commit renamed a copy into place")
print("commit with a reader holding the store: the reader kept PRE, the store is POST")

# ---- 3. kill run -------------------------------------------------------------------------
run_mid = run_done = run_complete = 0
for i, point in enumerate(kill_points(rng, t_run, wr, POINTS)):
    delay = point_name(point)
    no_output()
    finished, mid = kill_after(run_cmd(full_store, city, output), point, run_busy)
    run_done += finished
    run_mid += mid
    present = os.path.exists(output)
    ok = not present or digest(output, RESULT_GROUPS) == REF
    run_complete += present
    print("run kill %2d at %s: %s, results %s" %
          (i, delay, "finished first" if finished else "mid-write" if mid else "killed",
           "absent" if not present else "complete" if ok else "BROKEN"), flush=True)
    check(ok, "run killed at %s: the results are absent or complete" % delay)
    check(not finished or present, "a finished run left its results")
sh(*run_cmd(full_store, city, output))
check(digest(output, RESULT_GROUPS) == REF, "a run after the kills gives the reference results")
stale_tmp = len(glob.glob(glob.escape(output) + ".tmp-*"))

# ---- 4. two writers ----------------------------------------------------------------------
reset_store()
lock = store + ".lock"
first = subprocess.Popen(ingest_cmd(city, store), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
t0 = time.monotonic()
while not os.path.exists(lock) and first.poll() is None and time.monotonic() - t0 < 10:
    time.sleep(0.001)
t1 = time.monotonic()
second = subprocess.run(ingest_cmd(rest, store), capture_output=True, text=True)
t2 = time.monotonic()
first_running = first.poll() is None
_, first_err = first.communicate()
err = second.stderr.strip()
print("second writer: exit %d after %.3f s: %s" % (second.returncode, t2 - t1, err))
check(first_running, "the first ingest was still running when the second finished")
check(second.returncode == 1, "the second writer exits with status 1")
check(t2 - t1 < 2.0, "the second writer fails at once")
check(len(err.splitlines()) == 1 and "being written by another process (pid %d)" % first.pid
      in err, "the second writer's error is one line naming the first")
check(first.returncode == 0, "the first ingest completes: %s" % first_err.strip())
check(digest(store, STORE_GROUPS) == POST, "the first ingest's store is POST")

# ---- summary -----------------------------------------------------------------------------
elapsed = time.monotonic() - t_start
print("ingest: %d kill points, %d mid-write (journal present at the kill), %d finished "
      "before the kill; journal left: %d none, %d open, %d committed; store after the kill: "
      "%d pre, %d post" % (POINTS, ing_mid, ing_done, journals["none"], journals["open"],
                           journals["committed"], states["pre"], states["post"]))
print("run: %d kill points, %d mid-write (temporary results present at the kill), %d finished "
      "before the kill; results present after %d; temporary files of killed runs left: %d" %
      (POINTS, run_mid, run_done, run_complete, stale_tmp))
print("%d checks, %d failures, %.1f s" % (checks, len(failures), elapsed))
sys.exit(1 if failures else 0)
