#!/usr/bin/python3
"""Ingest reads a large readings file in parallel parts (split at line ends) and sorts the
batch with a counting sort; the store, the rejects report and the summary must be exactly
what one thread gives, whatever the number of parts.

A generated day of 900 enterprises (about 6 MB, 126,000 rows: above the 4 MiB at which a
file is split) gets faults injected at the start, around every place a split can fall and
at the end: unknown meters, bad values, short rows, empty lines, clock drift that is
aligned, off-grid times, duplicates and conflicting values (later wins). A second file
holds the same day's rows for some meters shuffled (the sort's fallback), and a third one
a quoted field (read in one part). The dataset is ingested into a fresh store with
OMP_NUM_THREADS 1, 2, 3 and 7; the reject counts are checked against what was injected;
then a file cut short (no line end, too few fields) must be skipped whole, the same way,
with any number of threads.

A large file is streamed, each part reading windows of its bytes (TANXIAO_TEST_WINDOW sets
their size): the results must be those of the file read whole (window 0), with windows
that end inside every few rows, and ones smaller than a row (which grow). A file with a
byte that is not UTF-8 in its middle is read again whole, so its error names the line.

usage: test_ingest_parallel.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
from txtest import check, finish, sh  # noqa: E402

shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city = os.path.join(WORK, "city")
sh(TANXIAO, "generate", city, "--enterprises", "900", "--seed", "3", "--report-year", "2026",
   "--base-year", "2026", "--csv-days", "1")
readings = os.path.join(city, "readings")
day = os.path.join(readings, sorted(os.listdir(readings))[0])
pristine = os.path.join(WORK, "pristine")  # the generated day as it came
shutil.copytree(city, pristine)
with open(day) as f:
    header, *rows = f.read().splitlines()
check(header == "meter_id,timestamp,value,quality", "the generator's readings header")
check(len(rows) > 100000, "a day of 900 enterprises has over 100,000 rows (%d)" % len(rows))

rng = random.Random(11)
expected = {"UNKNOWN_METER": 0, "BAD_NUMBER": 0, "OFF_GRID": 0, "TOO_FEW_FIELDS": 0}
aligned = 0


def shift_time(ts, seconds):
    """An ISO timestamp of the generator (+08:00) moved by seconds."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\+08:00$", ts)
    y, mo, d, hh, mm, ss = (int(x) for x in m.groups())
    t = ((hh * 60 + mm) * 60 + ss + seconds) % 86400
    return "%04d-%02d-%02dT%02d:%02d:%02d+08:00" % (y, mo, d, t // 3600, t // 60 % 60, t % 60)


def faults(at):
    """Faulty rows modelled on the row at index at."""
    global aligned
    while not rows[at].split(",")[1].endswith("+08:00"):  # the generator varies the form
        at += 1
    meter, ts, value, quality = rows[at].split(",")
    out = [
        "NO-SUCH-METER,%s,%s,0" % (ts, value),
        "%s,%s,abc,0" % (meter, ts),
        "%s,%s" % (meter, ts),
        "",
        "%s,%s,%s,%s" % (meter, shift_time(ts, 420), value, quality),
        rows[at],  # a duplicate
        "%s,%s,%.2f,%s" % (meter, ts, float(value) + 1.5, quality),  # a conflict, later wins
    ]
    expected["UNKNOWN_METER"] += 1
    expected["BAD_NUMBER"] += 1
    expected["TOO_FEW_FIELDS"] += 1
    expected["OFF_GRID"] += 1
    # Drift of a few seconds on a row of its own slot: aligned, and it replaces the row.
    out.append("%s,%s,%s,%s" % (meter, shift_time(ts, 3), value, quality))
    aligned += 1
    return out


# Faults at the start, the end, and densely around every fraction a split can fall at
# (1/2, 1/3, 2/3, 1/7 ... 6/7 of the bytes, and the eighths, twelfths and 28ths of the
# first file's parts; the bytes are close to the rows).
places = {1, len(rows) - 2}
for parts in (2, 3, 7, 8, 12, 28):  # 4 x threads for the first file, read beside the catalogue
    for k in range(1, parts):
        centre = len(rows) * k // parts
        places.update(range(centre - 40, centre + 40, 3))
text = [header]
for i, row in enumerate(rows):
    text.append(row)
    if i in places:
        text.extend(faults(i))
with open(day, "w") as f:
    f.write("\n".join(text) + "\n")

# A second file: some meters' rows of the day again, shuffled (duplicates, out of order).
some = [r for r in rows if r.split(",")[0] < "E000050"]
rng.shuffle(some)
with open(os.path.join(readings, "zz-shuffled.csv"), "w") as f:
    f.write(header + "\n" + "\n".join(some) + "\n")
# A third: a quoted field, so that file is read in one part.
meter, ts, value, quality = rows[5].split(",")
with open(os.path.join(readings, "zzz-quoted.csv"), "w") as f:
    f.write(header + "\n" + "\n".join(['"%s",%s,%s,%s' % (meter, ts, value, quality)] +
                                      rows[6:5000]) + "\n")


def store_digest(path):
    """sha256 of the catalogue and of the series' stored chunk columns (the chunk map says
    which: the grids span the years since 2000, mostly unwritten)."""
    h = hashlib.sha256()

    def add(name, a):
        a = np.ascontiguousarray(a)
        h.update(("%s %s %s\n" % (name, a.dtype.str, a.shape)).encode())
        h.update(memoryview(a.reshape(-1).view(np.uint8)))

    with h5py.File(path, "r") as f:
        for g in ("enterprises", "meters", "events"):
            for n in sorted(f[g]):
                add(g + "/" + n, f[g][n][()])
        for grid in sorted(f.get("series", {})):
            s = f["series"][grid]
            cmap = s["chunks"][()]
            add(grid + "/decimals", s["decimals"][()])
            add(grid + "/chunks", cmap)
            width = s["value"].chunks[1]
            for c in np.nonzero(cmap.any(axis=0))[0]:
                for d in ("value", "quality"):
                    add("%s/%s/%d" % (grid, d, c), s[d][:, c * width:(c + 1) * width])
    return h.hexdigest()


def ingest(dataset, threads, name, window=None):
    store = os.path.join(WORK, "%s-%d-%s.h5" % (name, threads, window))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if window is not None:
        env["TANXIAO_TEST_WINDOW"] = str(window)
    r = subprocess.run([TANXIAO, "ingest", dataset, "--store", store], capture_output=True,
                       text=True, env=env)
    summary = re.sub(r" in [0-9.]+ s:", " in - s:", r.stdout).replace(store, "STORE")
    summary = re.sub(r"(?m)^time: .*\n", "", summary)  # the phases' wall times
    rejects = ""
    if os.path.exists(store + ".rejects.csv"):
        with open(store + ".rejects.csv") as f:
            rejects = f.read()
    return r.returncode, summary, rejects, store_digest(store) if r.returncode in (0, 3) \
        else None


def report_counts(rejects):
    """Lines of a rejects report by reason."""
    counts = {}
    for line in rejects.splitlines()[1:]:
        m = re.match(r'^"[^"]*",(\d+),([A-Z_]+),', line)
        if m:
            counts[m.group(2)] = counts.get(m.group(2), 0) + 1
    return counts


base = report_counts(ingest(pristine, 1, "pristine")[2])
ref = ingest(city, 1, "store")
check(ref[0] == 0, "one thread: ingest succeeds (%d)" % ref[0])
counts = report_counts(ref[2])
print("one thread: %s; report lines by reason %s" % (ref[1].strip().splitlines()[0], counts))
for reason, n in expected.items():
    check(counts.get(reason, 0) == base.get(reason, 0) + n,
          "%s rejected %d times: the generator's %d and the %d injected" %
          (reason, counts.get(reason, 0), base.get(reason, 0), n))
# A conflict names both values as the file's decimals (the generator writes 2, the planted
# conflicts add 1.5): "3572330.27", not the "3572330.2699999998" of %.17g.
conflict_values = re.findall(r'CONFLICT,"(?:stored )?(\S+) .*?replaced by ([-0-9.e+]+)', ref[2])
check(len(conflict_values) == counts.get("CONFLICT", 0) and all(
    re.fullmatch(r"-?\d+(\.\d{1,2})?", v) for pair in conflict_values for v in pair),
    "conflicts show their values as read (%d checked; first %s)" %
    (len(conflict_values), conflict_values[:1]))
check(counts.get("ALIGNED", 0) == base.get("ALIGNED", 0) + aligned,
      "%d aligned notes: the generator's and the %d injected" %
      (counts.get("ALIGNED", 0), aligned))
check(counts.get("CONFLICT", 0) >= 2 * len(places),
      "every injected conflict and aligned replacement is reported (%d)" %
      counts.get("CONFLICT", 0))
m = re.search(r"(\d+) duplicates dropped", ref[1])
check(m and int(m.group(1)) >= len(places) + len(some),
      "the injected and shuffled duplicates are dropped (%s)" % (m and m.group(1)))
for threads, window in ((1, 0), (2, None), (3, None), (7, None), (2, 4096), (3, 40),
                        (7, 100000)):
    got = ingest(city, threads, "store", window)
    what = "%d threads, %s" % (threads, "read whole" if window == 0 else
                               "windows of %s bytes" % (window or "1 Mi"))
    check(got[0] == ref[0], "%s: same exit status" % what)
    check(got[1] == ref[1], "%s: same summary" % what)
    check(got[2] == ref[2], "%s: the same rejects report, byte for byte" % what)
    check(got[3] == ref[3], "%s: the same store" % what)

# A byte that is not UTF-8 in the middle of the big file: skipped whole, and the error names
# the line (the streamed read gives way to a whole one for it).
bad = os.path.join(WORK, "bad")
shutil.copytree(city, bad, symlinks=True)
bpath = os.path.join(bad, "readings", os.path.basename(day))
os.remove(bpath)
with open(day, "rb") as f:
    body = f.read()
at = body.index(b"\n", len(body) * 3 // 5) + 1
with open(bpath, "wb") as f:
    f.write(body[:at] + b"\xff" + body[at:])
bline = body[:at].count(b"\n") + 1
bref = ingest(bad, 1, "bad", 0)
check(bref[0] == 3 and "not a UTF-8 text file" in bref[2] and
      ("%s:%d:" % (os.path.basename(bpath), bline)) in bref[2],
      "the file with a byte not UTF-8 is skipped, its line %d named" % bline)
for threads, window in ((1, None), (3, 4096)):
    got = ingest(bad, threads, "bad", window)
    check(got[:3] == bref[:3], "%d threads, streamed: the same report as read whole" % threads)
    check(got[3] == bref[3], "%d threads, streamed: the same store" % threads)

# A copy of the big file cut short: its last record has no line end and too few fields.
cut = os.path.join(WORK, "cut")
shutil.copytree(city, cut, symlinks=True)
for name in ("zz-shuffled.csv", "zzz-quoted.csv"):
    os.remove(os.path.join(cut, "readings", name))
path = os.path.join(cut, "readings", os.path.basename(day))
with open(path) as f:
    body = f.read()
with open(path, "w") as f:
    f.write(body + rows[7].split(",")[0] + ",2026-01-01T")
cref = ingest(cut, 1, "cut")
check(cref[0] == 3, "a file cut short is skipped: exit 3 (%d)" % cref[0])
check("UNREADABLE_FILE" in cref[2] and "truncated file" in cref[2],
      "the report names the truncated file")
check(re.search(r"\b0 stored", cref[1]) is not None, "nothing of it is stored")
for threads, window in ((2, None), (3, None), (1, 0), (3, 4096)):
    got = ingest(cut, threads, "cut", window)
    check(got[:3] == cref[:3], "%d threads: the cut file is skipped the same way" % threads)
    check(got[3] == cref[3], "%d threads: the same store" % threads)
finish()
