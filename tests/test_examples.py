#!/usr/bin/python3
"""The researchers' examples (docs/examples/*.py, docs/RESEARCHERS.md) run on a generated
city with the system Python, the plugin path set as the docs say, and every figure they
print is recomputed here from the HDF5 file with numpy (and from the generator's
enterprises.csv and the reference tables): statuses and grades, the city's totals, the
industry x grade table, the district intensities as ratios of sums, the monthly series.
Also: without the plugin the examples fail, and the docs' h5py.h5pl snippet works with no
HDF5_PLUGIN_PATH at all.

usage: test_examples.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import csv
import math
import os
import re
import shutil
import subprocess
import sys

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402
from txtest import check, finish, sh, text  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLES = os.path.join(ROOT, "docs", "examples")
TABLES = os.path.join(ROOT, "datasets", "tables")
PYTHON = "/usr/bin/python3"

def close(a, b, rel=1e-9):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def example(name, results, env_plugin=PLUGIN_DIR):
    """Runs an example as the docs do: HDF5_PLUGIN_PATH in the environment."""
    env = dict(os.environ)
    env.pop("HDF5_PLUGIN_PATH", None)
    if env_plugin is not None:
        env["HDF5_PLUGIN_PATH"] = env_plugin
    return subprocess.run([PYTHON, os.path.join(EXAMPLES, name), results],
                          capture_output=True, text=True, env=env)


def flags(ds):
    return dict(zip([int(v) for v in ds.attrs["flag_values"]],
                    text(ds.attrs["flag_meanings"]).split()))


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store = os.path.join(WORK, "city"), os.path.join(WORK, "store.h5")
results = os.path.join(WORK, "results.h5")
# Few divisions, so that industries have benchmarks and grades exist.
sh(TANXIAO, "generate", city, "--enterprises", "60", "--divisions", "3", "--seed", "21",
   "--store", store)
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025", "--baseline",
   "2020", "--output", results)

# The generator's enterprises, minus the rows it wrote as bad input (rejected at ingest).
with open(os.path.join(city, "enterprises.csv"), newline="", encoding="utf-8-sig") as fh:
    gen_rows = list(csv.DictReader(fh))
bad = set()
exp = os.path.join(city, "truth", "rejects_expected.csv")
if os.path.exists(exp):
    with open(exp, newline="", encoding="utf-8-sig") as fh:
        bad = {int(r["line"]) for r in csv.DictReader(fh) if r["file"] == "enterprises.csv"}
gen_ids = {r["enterprise_id"] for i, r in enumerate(gen_rows) if i + 2 not in bad}

f = h5py.File(results, "r")
ent = f["enterprise"]
N = len(ent["enterprise_id"])
ids = [text(x) for x in ent["enterprise_id"][()]]
status = ent["status"][()]
grade = ent["carbon_grade"][()]
above = ent["above_scale"][()]
check(set(ids) == gen_ids, "the results hold the generator's enterprises")
check(np.count_nonzero((grade >= 1) & (grade <= 5)) >= 3, "the city has graded enterprises")

# ---- read_grades.py --------------------------------------------------------------------------
r = example("read_grades.py", results)
check(r.returncode == 0, "read_grades.py: exit %d %s" % (r.returncode, r.stderr))
out = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
check(out.get("results") == results, "read_grades names the file")
m = re.match(r"(\S+)  baseline: (\S+)", out.get("period", ""))
check(m and m.group(1) == text(f.attrs["period"]) == "2025" and m.group(2) == "2020",
      "period and baseline: %r" % out.get("period"))
check(out.get("enterprises") == str(N) and N == len(gen_ids), "enterprises %r" %
      out.get("enterprises"))
city_g = f["city"]
aggregate_count = {"OK": "n_ok", "INCOMPLETE": "n_incomplete", "NOT_RATEABLE": "n_not_rateable",
                   "NO_BENCHMARK": "n_no_benchmark"}
for v, meaning in flags(ent["status"]).items():
    got = out.get("status " + meaning)
    want = int(np.count_nonzero(status == v))
    check(got == str(want), "status %s: printed %r, counted %d" % (meaning, got, want))
    check(want == int(city_g[aggregate_count[meaning]][0]), "/city/%s" % aggregate_count[meaning])
printed_grades = 0
for v, meaning in flags(ent["carbon_grade"]).items():
    got = out.get("carbon_grade " + meaning)
    want = int(np.count_nonzero(grade == v))
    check(got == str(want), "grade %s: printed %r, counted %d" % (meaning, got, want))
    if v >= 1:
        check(want == int(city_g["n_grade_%d" % v][0]), "/city/n_grade_%d" % v)
    printed_grades += int(got or 0)
check(printed_grades == N, "grades add up to the enterprises")
rated = ((status == 0) | (status == 3)) & (above == 1)
co2, tce, va = ent["co2_t"][()], ent["energy_tce"][()], ent["value_added"][()]
want = {"energy_tce": tce.sum(), "co2_t": co2.sum(), "value_added": np.nansum(va),
        "carbon_intensity": co2[rated].sum() / va[rated].sum()}
for name, value in want.items():
    line = out.get("city " + name, "")
    num, _, unit = line.partition(" ")
    check(num != "" and close(num, value), "city %s: printed %r, recomputed %r" %
          (name, line, value))
    check(unit == text(city_g[name].attrs["units"]), "city %s units %r" % (name, unit))

# The plugin is what makes it work: an empty plugin directory fails the example.
empty = os.path.join(WORK, "empty")
os.makedirs(empty)
r = example("read_grades.py", results, env_plugin=empty)
check(r.returncode != 0, "read_grades.py without the plugin must fail")

# ---- pandas_enterprises.py -----------------------------------------------------------------
r = example("pandas_enterprises.py", results)
check(r.returncode == 0, "pandas_enterprises.py: exit %d %s" % (r.returncode, r.stderr))
lines = r.stdout.splitlines()
check(lines and lines[0] == "enterprises: %d" % N, "pandas: %r" % lines[:1])
i1 = lines.index("enterprises by industry (2-digit division) and carbon_grade:")
i2 = lines.index("district intensities over rated enterprises (ratio of sums) vs /district:")
gmeanings = flags(ent["carbon_grade"])
head = lines[i1 + 1].split()
check(head == list(gmeanings.values()), "crosstab columns %s" % head)
table = {}
for line in lines[i1 + 2:i2]:
    tok = line.split()
    if len(tok) == len(head) + 1:
        table[tok[0]] = [int(x) for x in tok[1:]]
industry = [text(x)[:2] for x in ent["industry_code"][()]]
want = {}
for d, g in zip(industry, grade):
    row = want.setdefault(d, [0] * len(head))
    row[list(gmeanings).index(int(g))] += 1
check(table == want, "industry x grade counts: printed %s, counted %s" % (table, want))
dhead = lines[i2 + 1].split()
check(dhead == ["n_rated", "energy_intensity", "energy_file", "carbon_intensity",
                "carbon_file", "water_intensity", "water_file"], "district header %s" % dhead)
dist = f["district"]
dcodes = [text(x) for x in dist["district_code"][()]]
ent_d = np.array([text(x) for x in ent["district_code"][()]])
water, wcov = ent["water_m3"][()], ent["water_coverage"][()]
wet = rated & (wcov >= float(f.attrs["coverage_min"])) & np.isfinite(water)
rows = {}
for line in lines[i2 + 3:]:
    tok = line.split()
    if len(tok) == 8:
        rows[tok[0]] = tok[1:]
check(sorted(rows) == sorted(dcodes), "one row per district: %s" % sorted(rows))
for k, d in enumerate(dcodes):
    tok = rows.get(d)
    if not tok:
        continue
    sel = rated & (ent_d == d)
    wsel = wet & (ent_d == d)
    mine = [tce[sel].sum() / va[sel].sum() if sel.any() else float("nan"),
            co2[sel].sum() / va[sel].sum() if sel.any() else float("nan"),
            water[wsel].sum() / va[wsel].sum() if wsel.any() else float("nan")]
    filev = [dist["energy_intensity"][k], dist["carbon_intensity"][k], dist["water_intensity"][k]]
    check(int(tok[0]) == int(sel.sum()) == int(dist["n_rated"][k]), "district %s n_rated" % d)
    for q in range(3):
        check(close(tok[1 + 2 * q], mine[q]), "district %s recomputed %s: %s vs %r" %
              (d, dhead[1 + 2 * q], tok[1 + 2 * q], mine[q]))
        check(close(tok[2 + 2 * q], filev[q]), "district %s file %s: %s vs %r" %
              (d, dhead[2 + 2 * q], tok[2 + 2 * q], filev[q]))
last = lines[-1]
check(last.startswith("max relative difference: ") and
      float(last.split(": ")[1]) < 1e-12, "pandas agrees with /district: %r" % last)

# ---- monthly_series.py ---------------------------------------------------------------------
r = example("monthly_series.py", results)
check(r.returncode == 0, "monthly_series.py: exit %d %s" % (r.returncode, r.stderr))
lines = r.stdout.splitlines()
check(lines and lines[0] == "dimensions of /series/energy_tce: enterprise (%d, scale "
      "enterprise_id) x month (12, scale month)" % N, "dimensions line %r" % lines[:1])
s = f["series"]
months = [int(x) for x in s["month"][()]]
Q = ("energy_tce", "co2_t", "water_m3")
check(lines[1] == "month " + " ".join(Q) + " grid_factor_kgco2_per_kwh", "monthly header")
with open(os.path.join(TABLES, "grid_emission_factors.csv"), newline="", encoding="utf-8") as fh:
    grid = {int(x["year"]): float(x["kgco2_per_kwh"]) for x in csv.DictReader(fh)
            if x["series"] == "MEE_NBS" and x["geography"] == "Zhejiang"}
mats = {q: s[q][()] for q in Q}
for j, mo in enumerate(months):
    tok = lines[2 + j].split()
    check(int(tok[0]) == mo, "month %s" % tok[0])
    for qi, q in enumerate(Q):
        col = mats[q][:, j]
        check(close(tok[1 + qi], col[np.isfinite(col)].sum()), "%d %s" % (mo, q))
    year = mo // 100
    factor = grid[year] if year in grid else grid[max(y for y in grid if y < year)]
    check(float(tok[4]) == factor, "%d grid factor %s, table %r" % (mo, tok[4], factor))
total = lines[2 + len(months)].split()
cityl = lines[3 + len(months)].split()
check(total[0] == "total" and cityl[0] == "city", "total and city lines")
for qi, q in enumerate(Q):
    x = ent[q][()]
    check(close(total[1 + qi], x[np.isfinite(x)].sum()), "total %s = sum of enterprises" % q)
    check(close(cityl[1 + qi], city_g[q][0]), "city %s from /city" % q)
peak = months[int(np.argmax(np.nansum(mats["energy_tce"], axis=0)))]
check(lines[4 + len(months)] == "peak month (energy_tce): %d" % peak, "peak month")
base = lines[5 + len(months)].split()
check(base[:3] == ["baseline", "202001..202012", "total"], "baseline line %r" % base)
for qi, q in enumerate(Q):
    x = ent[q + "_base"][()]
    check(close(base[3 + qi], x[np.isfinite(x)].sum()), "baseline %s" % q)

# ---- the docs: plugin path rules and the h5pl snippet -----------------------------------------
doc = open(os.path.join(ROOT, "docs", "RESEARCHERS.md"), encoding="utf-8").read()
snippet = re.search(r"<!-- test: h5pl -->\s*```python\n(.*?)```", doc, re.S)
check(snippet is not None, "RESEARCHERS.md has the h5pl snippet")
if snippet:
    code = snippet.group(1).replace("build/plugin", PLUGIN_DIR).replace("out/results.h5",
                                                                          results)
    env = dict(os.environ)
    env.pop("HDF5_PLUGIN_PATH", None)
    r = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=env)
    check(r.returncode == 0 and r.stdout.strip() == "%.10g" % city_g["co2_t"][0],
          "h5pl snippet: %r %r" % (r.stdout, r.stderr[-300:]))
for name in ("read_grades.py", "pandas_enterprises.py", "monthly_series.py"):
    check(name in doc, "RESEARCHERS.md documents %s" % name)
f.close()

finish()
