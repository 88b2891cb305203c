#!/usr/bin/python3
"""`tanxiao inspect` and `tanxiao export` on a generated city and on hand-made files:

- every group of a real results file exported to CSV and compared, column by column, with
  h5py: numbers exact, strings equal, NaN <-> empty cell, coded columns as meanings plus
  NAME_code, /mujun with the enterprise ids, /series in long form;
- --bom, --lf, --codes, --names-only, --columns, -o FILE vs standard output;
- names with commas, quotes, line breaks and Chinese round-trip through Python's csv module,
  awkward floats (0.1, 1/3, 5e-324, -0.0, inf) round-trip exactly;
- inspect prints the period, the baseline and the city's CO2, and survives a file with
  hardly any of the usual groups;
- a missing file, group or column fails with one line on stderr and exit 1, usage errors
  exit 2, a failed write leaves no file behind.

usage: test_inspect.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import csv
import io
import math
import os
import shutil
import subprocess
import sys

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402
import numpy as np  # noqa: E402

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        if len(failures) <= 40:
            print("FAIL:", what)


def run(*args):
    return subprocess.run([TANXIAO] + [str(a) for a in args], capture_output=True)


def sh(*args):
    r = run(*args)
    if r.returncode != 0:
        print(r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
        raise SystemExit("command failed: %s" % " ".join(str(a) for a in args))
    return r.stdout


def parse_csv(data, bom=False):
    """Rows of a CSV (bytes); checks the BOM is there exactly when asked for."""
    has_bom = data.startswith(b"\xef\xbb\xbf")
    check(has_bom == bom, "BOM present %s, expected %s" % (has_bom, bom))
    text = data[3:].decode("utf-8") if has_bom else data.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def attr_text(a):
    return a.decode() if isinstance(a, bytes) else str(a)


def flags_of(ds):
    if "flag_values" in ds.attrs and "flag_meanings" in ds.attrs:
        vals = [int(v) for v in np.atleast_1d(ds.attrs["flag_values"])]
        names = attr_text(ds.attrs["flag_meanings"]).split()
        if len(vals) == len(names):
            return dict(zip(vals, names))
    return None


def meaning(flags, v):
    """The documented meaning of a code: name, bit names joined by '|', else the number."""
    v = int(v)
    if v in flags:
        return flags[v]
    mask = all(k > 0 and k & (k - 1) == 0 for k in flags)
    if not mask or v < 0:
        return str(v)
    parts, rest = [], v
    for k in flags:  # in the order of flag_values
        if v & k:
            parts.append(flags[k])
            rest &= ~k
    if rest:
        parts.append(str(rest))
    return "|".join(parts)


def same_cell(cell, v, where):
    """One CSV cell against one HDF5 element."""
    if isinstance(v, (bytes, str)):
        check(cell == text(v), "%s: %r != %r" % (where, cell, text(v)))
    elif np.issubdtype(type(v), np.floating):
        if math.isnan(v):
            check(cell == "", "%s: NaN written as %r" % (where, cell))
        else:
            ok = cell != "" and float(cell) == float(v) and \
                math.copysign(1, float(cell)) == math.copysign(1, float(v))
            check(ok, "%s: %r != %r" % (where, cell, float(v)))
    else:
        check(cell == str(int(v)), "%s: %r != %d" % (where, cell, int(v)))


def compare_group(f, gname, rows, codes="both", ids=None):
    """A 1-D group's CSV (rows[0] the header) against h5py."""
    g = f[gname]
    header = rows[0]
    body = rows[1:]
    cols = {h: [r[i] for r in body] for i, h in enumerate(header)}
    check(len(set(header)) == len(header), "/%s: duplicate header names %s" % (gname, header))
    n = max(len(g[d]) for d in g)
    check(len(body) == n, "/%s: %d rows, expected %d" % (gname, len(body), n))
    check(all(len(r) == len(header) for r in body), "/%s: ragged rows" % gname)
    expect = []
    for d in g:
        ds = g[d]
        data = ds[()]
        fl = flags_of(ds) if data.dtype.kind in "iu" else None
        if fl is not None and codes != "numbers":
            expect.append(d)
            check(d in cols, "/%s: no column %s" % (gname, d))
            if d in cols:
                want = [meaning(fl, v) for v in data]
                check(cols[d] == want, "/%s/%s: meanings differ" % (gname, d))
            if codes == "both":
                expect.append(d + "_code")
                check(d + "_code" in cols, "/%s: no column %s_code" % (gname, d))
                if d + "_code" in cols:
                    check(cols[d + "_code"] == [str(int(v)) for v in data],
                          "/%s/%s_code differs" % (gname, d))
            else:
                check(d + "_code" not in cols, "/%s: %s_code with --names-only" % (gname, d))
            continue
        expect.append(d)
        check(d in cols, "/%s: no column %s" % (gname, d))
        if d not in cols:
            continue
        bad = 0
        for i, v in enumerate(data):
            before = len(failures)
            same_cell(cols[d][i], v, "/%s/%s[%d]" % (gname, d, i))
            if len(failures) > before:
                bad += 1
                if bad > 3:
                    break
    if ids is not None:
        expect.append("enterprise_id")
        check(cols.get("enterprise_id") == [text(x) for x in ids],
              "/%s: enterprise_id column is not /enterprise's" % gname)
    check(sorted(expect) == sorted(header), "/%s: header %s, expected %s" %
          (gname, header, sorted(expect)))
    return cols


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store = os.path.join(WORK, "city"), os.path.join(WORK, "store.h5")
sh("generate", city, "--enterprises", "60", "--seed", "5", "--store", store)
# A products.csv, so that /products is exported too.
with open(os.path.join(city, "enterprises.csv"), newline="", encoding="utf-8-sig") as fh:
    ent_ids = [r["enterprise_id"] for r in csv.DictReader(fh)]
with open(os.path.join(city, "products.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["enterprise_id", "period", "product", "output", "energy"])
    w.writerow([ent_ids[0], "2025", "cement_clinker", "1000", "100000"])
    w.writerow([ent_ids[1], "2025", "cement_clinker", "1000", "117000"])
    w.writerow([ent_ids[1], "2025", "ferrosilicon", "10", "18600"])
results = os.path.join(WORK, "results.h5")
sh("run", "--store", store, "--financials", city, "--period", "2025", "--baseline", "2020",
   "--output", results)

# ---- every group of a real results file ----------------------------------------------------
with h5py.File(results, "r") as f:
    groups = list(f)
    for want in ("enterprise", "meter", "industry", "district", "city", "targets", "mujun",
                 "series", "products", "tables", "coefficients"):
        check(want in groups, "results without /%s" % want)
    ent = f["enterprise/enterprise_id"][()]
    # /tables holds one group per reference table: each is exported on its own.
    groups = [g for g in groups if g != "tables"] + ["tables/" + t for t in f["tables"]]
    check(len(groups) > 12, "tables groups listed")
    for gname in groups:
        out = os.path.join(WORK, gname.replace("/", "_") + ".csv")
        r = run("export", results, gname, "-o", out)
        check(r.returncode == 0 and r.stdout == b"",
              "export %s: exit %d %s" % (gname, r.returncode, r.stderr))
        if r.returncode:
            continue
        data = open(out, "rb").read()
        check(data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""),
              "%s: lines do not end in CRLF" % gname)
        rows = parse_csv(data)
        check(not any(c.lower() in ("nan", "-nan") for row in rows for c in row),
              "%s: 'nan' in a cell" % gname)
        if gname == "series":
            continue  # long form, below
        compare_group(f, gname, rows, ids=ent if gname == "mujun" else None)
        # Standard output gives the same bytes; '/group' is the same group.
        r2 = run("export", results, "/" + gname)
        check(r2.returncode == 0 and r2.stdout == data, "export %s to stdout differs" % gname)
    # Keys first.
    head = parse_csv(open(os.path.join(WORK, "enterprise.csv"), "rb").read())[0]
    check(head[0] == "enterprise_id", "/enterprise starts with %s" % head[:3])
    head = parse_csv(open(os.path.join(WORK, "meter.csv"), "rb").read())[0]
    check(head[:2] == ["enterprise_id", "meter_id"], "/meter keys: %s" % head[:3])

    # /series in long form: enterprise_id, month, the period's datasets, month_base, the
    # baseline's datasets; one row per (enterprise, month).
    rows = parse_csv(open(os.path.join(WORK, "series.csv"), "rb").read())
    s = f["series"]
    header, body = rows[0], rows[1:]
    two_d = sorted(d for d in s if s[d].ndim == 2)
    period = sorted(d for d in two_d if not d.endswith("_base"))
    base = sorted(d for d in two_d if d.endswith("_base"))
    check(header == ["enterprise_id", "month"] + period + ["month_base"] + base,
          "/series header %s" % header)
    R, C = s["energy_tce"].shape
    check(len(body) == R * C, "/series: %d rows, expected %d" % (len(body), R * C))
    col = {h: i for i, h in enumerate(header)}
    eids, months, mbase = s["enterprise_id"][()], s["month"][()], s["month_base"][()]
    mats = {d: s[d][()] for d in two_d}
    bad = 0
    for k, row in enumerate(body[:R * C]):
        r, j = divmod(k, C)
        before = len(failures)
        check(row[col["enterprise_id"]] == text(eids[r]), "/series row %d id" % k)
        check(row[col["month"]] == str(months[j]), "/series row %d month" % k)
        check(row[col["month_base"]] == str(mbase[j]), "/series row %d month_base" % k)
        for d in two_d:
            same_cell(row[col[d]], mats[d][r, j], "/series/%s[%d,%d]" % (d, r, j))
        if len(failures) > before:
            bad += 1
            if bad > 3:
                break

# ---- options ---------------------------------------------------------------------------------
out = os.path.join(WORK, "ent_bom.csv")
sh("export", results, "enterprise", "-o", out, "--bom")
bom_rows = parse_csv(open(out, "rb").read(), bom=True)
plain_rows = parse_csv(open(os.path.join(WORK, "enterprise.csv"), "rb").read())
check(bom_rows == plain_rows, "--bom changes more than the BOM")

data = sh("export", results, "enterprise", "--lf", "--columns", "status,enterprise_id,co2_t")
check(b"\r" not in data and data.endswith(b"\n"), "--lf still writes CR")
rows = parse_csv(data)
check(rows[0] == ["status", "enterprise_id", "co2_t"], "--columns header %s" % rows[0])
with h5py.File(results, "r") as f:
    st = f["enterprise/status"][()]
    fl = flags_of(f["enterprise/status"])
    check(fl == {0: "OK", 1: "INCOMPLETE", 2: "NOT_RATEABLE", 3: "NO_BENCHMARK"},
          "status flags %s" % fl)
    check([r[0] for r in rows[1:]] == [fl[int(v)] for v in st], "status meanings")
    check(set(r[0] for r in rows[1:]) >= {"OK"}, "no OK status")
    co2 = f["enterprise/co2_t"][()]
    for i, r in enumerate(rows[1:]):
        same_cell(r[2], co2[i], "--columns co2_t[%d]" % i)

    rows = parse_csv(sh("export", results, "enterprise", "--codes"))
    check("status_code" not in rows[0], "--codes still writes status_code")
    compare_group(f, "enterprise", rows, codes="numbers")
    rows = parse_csv(sh("export", results, "enterprise", "--names-only"))
    compare_group(f, "enterprise", rows, codes="names")

# ---- awkward strings and numbers, bit sets, variable-length strings, 2-D without scales --
odd = os.path.join(WORK, "odd.h5")
names = ["Ningbo, Ltd.", 'say "hi"', "line\nbreak", "cr\r\nlf", "宁波,\"甬\"", "", "plain",
         " spaced ", "comma,and\"quote\"\nall"]
floats = [0.1, 1 / 3, 5e-324, -0.0, float("inf"), float("-inf"), float("nan"), 1e300,
          123456789.125]
with h5py.File(odd, "w") as f:
    g = f.create_group("enterprise")
    n = len(names)
    g["enterprise_id"] = np.array(["ID%03d" % i for i in range(n)], dtype="S5")
    u60 = h5py.string_dtype("utf-8", 60)
    g.create_dataset("name", data=np.array([s.encode() for s in names], dtype=u60))
    g["note"] = np.array(names, dtype=object)
    g["note"].attrs["long_name"] = "variable-length strings"
    g["x"] = np.array(floats[:n])
    g["x"].attrs["units"] = "1"
    g["f32"] = np.array([0.1, 1.5, -2.25, np.nan, 3e38, 1e-45, 7, 8, 9], dtype=np.float32)
    g["neg"] = np.array([-5, 0, 7, -2 ** 40, 2 ** 40, 1, 2, 3, 4], dtype=np.int64)
    g["big"] = np.array([2 ** 64 - 1, 0, 1, 2, 3, 4, 5, 6, 7], dtype=np.uint64)
    g["status"] = np.array([0, 1, 2, 3, 9, 0, 1, 2, 3], dtype=np.uint8)
    g["status"].attrs["flag_values"] = np.array([0, 1, 2, 3], dtype=np.uint8)
    g["status"].attrs["flag_meanings"] = "OK INCOMPLETE NOT_RATEABLE NO_BENCHMARK"
    g["bits"] = np.array([0, 1, 2, 3, 5, 7, 16, 17, 4], dtype=np.uint8)
    g["bits"].attrs["flag_values"] = np.array([1, 2, 4], dtype=np.uint8)
    g["bits"].attrs["flag_meanings"] = "a b c"
    h = f.create_group("grid")  # 2-D without dimension scales, and a too-short column
    h["m"] = np.arange(6, dtype=np.int32).reshape(3, 2)
    h["row"] = np.array([b"r0", b"r1", b"r2"])
    h["odd"] = np.arange(5, dtype=np.int32)
    f.create_group("empty")
    f["toplevel"] = np.arange(3)

rows = parse_csv(sh("export", odd, "enterprise"))
with h5py.File(odd, "r") as f:
    compare_group(f, "enterprise", rows)
cols = {h: [r[i] for r in rows[1:]] for i, h in enumerate(rows[0])}
check(cols["name"] == names, "quoted names do not round-trip: %r" % cols["name"])
check(cols["note"] == names, "variable-length names do not round-trip: %r" % cols["note"])
check(cols["x"][6] == "" and cols["x"][4] == "inf" and cols["x"][5] == "-inf",
      "NaN/inf cells %r" % cols["x"])
check(cols["x"][0] == "0.1", "0.1 written as %r (shortest exact digits)" % cols["x"][0])
check(cols["status"][4] == "9", "a code without a meaning: %r" % cols["status"][4])
check(cols["bits"][:4] == ["", "a", "b", "a|b"] and cols["bits"][6] == "16" and
      cols["bits"][7] == "a|16", "bit set names %r" % cols["bits"])
check(cols["big"][0] == str(2 ** 64 - 1), "uint64 max %r" % cols["big"][0])

r = run("export", odd, "grid")
rows = parse_csv(r.stdout)
check(r.returncode == 0 and rows[0] == ["row", "column", "m"], "unscaled 2-D: %s" % rows[:2])
check([x[2] for x in rows[1:]] == [str(v) for v in range(6)] and
      [x[1] for x in rows[1:]] == ["0", "1"] * 3 and
      [x[0] for x in rows[1:]] == ["r0", "r0", "r1", "r1", "r2", "r2"], "unscaled 2-D rows")
check(b"odd" in r.stderr and b"warning" in r.stderr, "no warning for a skipped column")

r = run("export", odd, "empty")
check(r.returncode == 1 and b"no dataset" in r.stderr, "empty group: %s" % r.stderr)

# ---- inspect -------------------------------------------------------------------------------
r = run("inspect", results)
out = r.stdout.decode("utf-8")
check(r.returncode == 0 and r.stderr == b"", "inspect: exit %d %s" % (r.returncode, r.stderr))
with h5py.File(results, "r") as f:
    co2 = float(f["city/co2_t"][0])
    per, base = attr_text(f.attrs["period"]), attr_text(f.attrs["baseline"])
    ver = attr_text(f.attrs["engine_version"])
check("period" in out and per in out and "baseline" in out and base in out,
      "inspect does not show period %s and baseline %s" % (per, base))
check(any(line.split()[:1] == ["CO2"] and "%.1f" % co2 in line for line in out.splitlines()),
      "inspect does not show the city's CO2 %.1f" % co2)
check(ver in out and "command_line" in out and "inputs" in out, "provenance incomplete")
for head in ("grades by industry", "districts", "targets", "data quality", "meter flag",
             "coverage", "亩均", "product lines"):
    check(head in out, "inspect has no '%s' section" % head)
for flag in ("gaps", "rollovers", "replacements", "spikes", "implausible", "stuck_intervals",
             "negatives"):
    check(any(line.split()[:1] == [flag] for line in out.splitlines()),
          "inspect has no meter flag %s" % flag)
r = run("inspect", results, "--sections", "city")
check(r.returncode == 0 and b"grades by industry" not in r.stdout and b"CO2" in r.stdout,
      "--sections city")
r = run("inspect", odd)
check(r.returncode == 0 and b"no /city" in r.stdout, "inspect of a sparse file: %d %s" %
      (r.returncode, r.stderr))

# ---- errors --------------------------------------------------------------------------------


def fails(args, code, words):
    r = run(*args)
    err = r.stderr.decode("utf-8", errors="replace")
    check(r.returncode == code, "%s: exit %d, expected %d" % (args, r.returncode, code))
    check(err.count("\n") == 1 and all(w in err for w in words),
          "%s: stderr %r lacks %s" % (args, err, words))


missing = os.path.join(WORK, "missing.h5")
fails(["export", results, "nope"], 1, ["no group /nope"])
fails(["export", results, "enterprise/co2_t"], 1, ["not a group"])
fails(["export", missing, "city"], 1, ["missing.h5", "No such file"])
fails(["export", results, "city", "--columns", "bogus"], 1, ["no column 'bogus'"])
fails(["export", store + ".rejects.csv" if os.path.exists(store + ".rejects.csv")
       else os.path.join(city, "enterprises.csv"), "city"], 1, ["not an HDF5 file"])
fails(["inspect", missing], 1, ["missing.h5", "No such file"])
fails(["export", results], 2, ["--help"])
fails(["export", results, "city", "--bogus"], 2, ["--help"])
fails(["export", results, "city", "--codes", "--names-only"], 2, ["exclude"])
fails(["inspect"], 2, ["--help"])
fails(["inspect", results, "--sections", "nope"], 2, ["--sections"])
nodir = os.path.join(WORK, "no", "such", "dir", "x.csv")
fails(["export", results, "city", "-o", nodir], 1, ["x.csv"])
check(not os.path.exists(os.path.dirname(nodir)), "a failed write created something")
check(not any(".tmp-" in x for x in os.listdir(WORK)), "temporary files left in %s" % WORK)
for cmd, words in (("export", ["--bom", "--columns", "--codes", "--names-only", "--lf",
                               "--output"]),
                   ("inspect", ["--sections"])):
    r = run(cmd, "--help")
    check(r.returncode == 0 and all(w.encode() in r.stdout for w in words),
          "%s --help incomplete" % cmd)

print("%d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
