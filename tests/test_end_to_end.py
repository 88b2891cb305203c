#!/usr/bin/python3
"""End to end: generate a small city as CSV, ingest it (twice), run, and check the results
against the generator's true per-meter totals and an independent recomputation, in Python,
of energy, CO2, water, statuses, levels, industry benchmarks, K, grades, reductions and
aggregates from those totals, financials.csv, deflators.csv and the reference tables.

usage: test_end_to_end.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import csv
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(os.path.dirname(HERE), "datasets", "tables")
REPORT, BASE = 2025, 2020
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        if len(failures) <= 30:
            print("FAIL:", what)


def close(a, b, rel=1e-9, abs_=1e-9):
    if a is None or b is None:
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout)
        print(r.stderr)
        raise SystemExit("command failed: %s" % " ".join(args))
    return r.stdout


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


# ---- 1. generate, ingest twice, run ---------------------------------------------------------
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city = os.path.join(WORK, "city")
store = os.path.join(WORK, "store.h5")
results = os.path.join(WORK, "results.h5")
sh(TANXIAO, "generate", city, "--enterprises", "14", "--divisions", "3", "--seed", "7",
   "--report-year", str(REPORT), "--base-year", str(BASE))
out1 = sh(TANXIAO, "ingest", city, "--store", store)
print(out1.strip())
check("duplicates dropped" in out1, "ingest summary mentions duplicates")
dups = int(out1.split("stored, ")[1].split(" duplicates")[0])
check(dups > 0, "the generator's duplicate rows were dropped and counted (%d)" % dups)
size1 = os.path.getsize(store)
out2 = sh(TANXIAO, "ingest", city, "--store", store)
print(out2.strip())
check(" 0 stored," in out2, "second ingest stores nothing new")
conflicts1 = int(out1.split("duplicates dropped, ")[1].split(" conflicts")[0])
conflicts2 = int(out2.split("duplicates dropped, ")[1].split(" conflicts")[0])
# The files conflict among themselves (a wrong row in an earlier file): the same conflicts
# are reported again and resolved the same way, and nothing is stored.
check(conflicts2 == conflicts1, "second ingest reports the files' own conflicts again")
check("0 new enterprises (0 changed), 0 new meters (0 changed), 0 new events" in out2,
      "second ingest leaves the catalogue unchanged")
check(os.path.getsize(store) == size1, "second ingest leaves the store's size unchanged")

runout = sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", str(REPORT),
            "--baseline", str(BASE), "--output", results, "--threads", "2")
print(runout.strip())

# ---- 2. inputs for the independent recomputation -------------------------------------------
# Rows the generator wrote as bad input (rejected at ingest) are not part of the city.
bad_rows = set()
_exp = os.path.join(city, "truth", "rejects_expected.csv")
if os.path.exists(_exp):
    bad_rows = {(r["file"], int(r["line"])) for r in read_csv(_exp)}


def good_rows(name):
    rows = read_csv(os.path.join(city, name))
    # a data row's physical line is its index + 2 (header on line 1; no multi-line fields)
    return [r for i, r in enumerate(rows) if (name, i + 2) not in bad_rows]


ents = good_rows("enterprises.csv")
meters = good_rows("meters.csv")
fins = read_csv(os.path.join(city, "financials.csv"))
defl = read_csv(os.path.join(city, "deflators.csv"))
truth = read_csv(os.path.join(city, "truth", "meter_totals.csv"))

kgce = {}
for r in read_csv(os.path.join(TABLES, "energy_coefficients.csv")):
    if r["basis"] == "equivalent":
        kgce[r["carrier"]] = float(r["kgce_per_unit"])
kgco2 = {r["carrier"]: float(r["kgco2_per_unit"])
         for r in read_csv(os.path.join(TABLES, "fuel_emission_factors.csv"))}
grid = {}
for r in read_csv(os.path.join(TABLES, "grid_emission_factors.csv")):
    if r["series"] == "MEE_NBS" and r["geography"] == "Zhejiang":
        grid[int(r["year"])] = float(r["kgco2_per_kwh"])
heat = {r["name"]: float(r["value"]) for r in read_csv(os.path.join(TABLES, "heat_factors.csv"))}
levels = [float(r["upper_bound"]) for r in read_csv(os.path.join(TABLES, "carbon_levels.csv"))]
grades = [float(r["upper_bound"]) for r in read_csv(os.path.join(TABLES, "carbon_grades.csv"))]
defaults = {r["name"]: float(r["value"]) for r in read_csv(os.path.join(TABLES, "run_defaults.csv"))}
COV_MIN, MIN_MEMBERS = defaults["coverage_min"], int(defaults["benchmark_min_members"])


def grid_factor(year):
    if year in grid:
        return grid[year]
    earlier = [y for y in grid if y < year]
    return grid[max(earlier)] if earlier else grid[min(grid)]


def co2_per_unit(carrier, year):
    """t CO2 per canonical unit (kWh, m3, kg, MJ), default PV policy (grid only)."""
    if carrier in kgco2:
        return kgco2[carrier] / 1000
    if carrier == "electricity":
        return grid_factor(year) / 1000
    if carrier == "heat":
        return heat["purchased_heat_co2"] / 1000
    if carrier == "steam":
        return (heat["steam_enthalpy_default"] - heat["feedwater_enthalpy"]) / 1e6 * \
            heat["purchased_heat_co2"]
    return 0.0


truth_by = {(r["meter_id"], int(r["year"])): r for r in truth}
meter_by_id = {m["meter_id"]: m for m in meters}

# ---- 3. per-meter totals equal the truth ----------------------------------------------------
with h5py.File(results, "r") as f:
    g = f["meter"]
    mids = [x.decode() for x in g["meter_id"][()]]
    tot = g["total"][()]
    cov = g["coverage"][()]
    totb = g["total_base"][()]
    covb = g["coverage_base"][()]
    check(len(mids) == len(meters), "one /meter row per meter (%d vs %d)" % (len(mids), len(meters)))
    for i, mid in enumerate(mids):
        for year, t, c in ((REPORT, tot[i], cov[i]), (BASE, totb[i], covb[i])):
            tr = truth_by.get((mid, year))
            check(tr is not None, "truth row for %s %d" % (mid, year))
            if tr is None:
                continue
            check(close(float(t), float(tr["total"]), rel=1e-9, abs_=1e-6),
                  "meter %s %d total %.6f == truth %s" % (mid, year, t, tr["total"]))
            check(close(float(c), float(tr["coverage"]), rel=1e-12, abs_=1e-12),
                  "meter %s %d coverage %.9f == truth %s" % (mid, year, c, tr["coverage"]))
    # Per-meter quality flags equal the injected faults, where the truth lists them.
    flag_cols = [c for c in ("rollovers", "gaps", "replacements", "spikes", "implausible",
                             "stuck_intervals", "negatives", "multiplier_changes")
                 if truth and c in truth[0] and c in g]
    flags = {c: g[c][()] for c in flag_cols}
    for i, mid in enumerate(mids):
        tr = truth_by.get((mid, REPORT))
        for c in flag_cols:
            check(int(flags[c][i]) == int(tr[c]),
                  "meter %s flag %s: %d == truth %s" % (mid, c, flags[c][i], tr[c]))
    print("flags compared per meter:", ", ".join(flag_cols))
    rollovers = int(g["rollovers"][()].sum())
    replacements = int(g["replacements"][()].sum())
    gaps = int(g["gaps"][()].sum())
    check(rollovers >= 1, "the injected rollover was seen")
    check(replacements >= 1, "the injected replacement was seen")
    check(gaps >= 1, "the injected gaps were bridged")
    check(rollovers == sum(int(r["rollovers"]) for r in truth if int(r["year"]) == REPORT),
          "rollover count equals the truth")

# ---- 3b. the rejects report holds every bad row the generator wrote, with its reason ------
expected_path = os.path.join(city, "truth", "rejects_expected.csv")
if os.path.exists(expected_path):
    expected = read_csv(expected_path)
    got = read_csv(store + ".rejects.csv")
    got_keys = {}
    for r in got:
        rel = os.path.relpath(r["file"], city)
        got_keys.setdefault((rel, int(r["line"])), []).append(r["reason"])
    for e in expected:
        key = (e["file"], int(e["line"]))
        check(e["reason"] in got_keys.get(key, []),
              "rejects report has %s:%s %s (got %s)" % (e["file"], e["line"], e["reason"],
                                                       got_keys.get(key)))
    exp_keys = {(e["file"], int(e["line"]), e["reason"]) for e in expected}
    for (rel, line), reasons in got_keys.items():
        for reason in reasons:
            check((rel, line, reason) in exp_keys,
                  "unexpected report row %s:%d %s" % (rel, line, reason))
    print("rejects report: %d rows, %d expected" % (len(got), len(expected)))

# ---- 4. independent recomputation of the enterprises ----------------------------------------
def period_va(eid, year):
    rows = [r for r in fins if r["enterprise_id"] == eid and r["period"].startswith(str(year))]
    annual = [r for r in rows if r["period"] == str(year)]
    if annual:
        return float(annual[-1]["value_added"])
    months = {r["period"]: float(r["value_added"]) for r in rows if len(r["period"]) == 7}
    if len(months) == 12:
        return sum(months.values())
    return float("nan")


price = {(int(r["industry_division"]), int(r["year"])): float(r["price_index"]) for r in defl}
E = {}
for e in ents:
    eid = e["enterprise_id"]
    ind = e["industry_code"][-4:]
    rec = {"division": int(ind[:2]), "above": int(e.get("above_scale") or 1),
           "district": e["district_code"]}
    for year in (REPORT, BASE):
        tce = co2 = water = 0.0
        cov = None
        wcov = None
        has_elec = has_water = False
        for m in meters:
            if m["enterprise_id"] != eid:
                continue
            tr = truth_by[(m["meter_id"], year)]
            q, c = float(tr["total"]), float(tr["coverage"])
            car = m["carrier"]
            if car == "water":
                has_water = True
                water += q
                wcov = c if wcov is None else min(wcov, c)
                continue
            if car == "electricity":
                has_elec = True
            if car != "pv_generation":
                tce += q * kgce[car] / 1000
                cov = c if cov is None else min(cov, c)
            co2 += q * co2_per_unit(car, year) if car != "pv_generation" else 0.0
        rec[year] = {"tce": tce, "co2": co2, "water": water if has_water else float("nan"),
                     "cov": cov if cov is not None else float("nan"), "wcov": wcov,
                     "has_elec": has_elec, "has_water": has_water, "va": period_va(eid, year)}
    E[eid] = rec

def classify(x, bounds):
    return 1 + sum(1 for b in bounds if x > b)


def verify(results, min_members):
    """Checks a results file against the recomputation with a benchmark minimum."""
    statuses_seen = set()
    # statuses and benchmarks
    for eid, r in E.items():
        t = r[REPORT]
        va = t["va"]
        if not (va > 0):
            r["status"] = 2
        elif not (t["has_elec"] and t["cov"] >= COV_MIN):
            r["status"] = 1
        else:
            r["status"] = 0
    bench = {}
    for eid, r in E.items():
        if r["status"] == 0 and r["above"] == 1:
            b = bench.setdefault(r["division"], [0.0, 0.0, 0])
            b[0] += r[REPORT]["co2"]
            b[1] += r[REPORT]["va"]
            b[2] += 1
    for eid, r in E.items():
        b = bench.get(r["division"])
        if r["status"] == 0 and not (b and b[2] >= min_members):
            r["status"] = 3

    with h5py.File(results, "r") as f:
        g = f["enterprise"]
        ids = [x.decode() for x in g["enterprise_id"][()]]
        check(sorted(ids) == sorted(E), "one /enterprise row per enterprise")
        col = {k: g[k][()] for k in g}
        n_graded = 0
        for i, eid in enumerate(ids):
            r = E[eid]
            t, b = r[REPORT], r[BASE]
            st = int(col["status"][i])
            statuses_seen.add(st)
            check(st == r["status"], "%s status %d == recomputed %d" % (eid, st, r["status"]))
            check(close(float(col["energy_tce"][i]), t["tce"]), "%s energy_tce" % eid)
            check(close(float(col["co2_t"][i]), t["co2"]), "%s co2_t" % eid)
            check(close(float(col["water_m3"][i]), t["water"]), "%s water_m3" % eid)
            check(close(float(col["value_added"][i]), t["va"]), "%s value_added" % eid)
            check(close(float(col["coverage"][i]), t["cov"], rel=1e-12), "%s coverage" % eid)
            L = t["co2"] / t["va"] if t["va"] > 0 else float("nan")
            check(close(float(col["carbon_intensity"][i]), L), "%s carbon_intensity" % eid)
            lvl = classify(L, levels[:-1]) if st in (0, 3) else 0
            check(int(col["carbon_level"][i]) == lvl, "%s carbon_level" % eid)
            if st == 0:
                bb = bench[r["division"]]
                K = L / (bb[0] / bb[1])
                check(close(float(col["carbon_efficiency_value"][i]), K), "%s K" % eid)
                check(int(col["carbon_grade"][i]) == classify(K, grades[:-1]), "%s grade" % eid)
                n_graded += 1
            else:
                # every ungraded enterprise is explained by its status
                check(int(col["carbon_grade"][i]) == 0, "%s not OK but graded" % eid)
                check(math.isnan(col["carbon_efficiency_value"][i]), "%s K should be NaN" % eid)
            # reductions at comparable prices
            ok_t = t["has_elec"] and t["cov"] >= COV_MIN and t["va"] > 0
            ok_b = b["has_elec"] and b["cov"] >= COV_MIN and b["va"] > 0
            for name, key in (("energy", "tce"), ("co2", "co2"), ("water", "water")):
                got = float(col[name + "_intensity_change_pct"][i])
                want = float("nan")
                wok = (key != "water") or (t["has_water"] and b["has_water"] and t["wcov"] >= COV_MIN
                                           and b["wcov"] >= COV_MIN)
                if ok_t and ok_b and wok:
                    ratio = price[(r["division"], REPORT)] / price[(r["division"], BASE)]
                    it = t[key] / (t["va"] / ratio)
                    ib = b[key] / b["va"]
                    want = (1 - it / ib) * 100
                check(close(got, want, rel=1e-9, abs_=1e-9),
                      "%s %s reduction %.6f == %.6f" % (eid, name, got, want))
        check(n_graded >= 3 or min_members > MIN_MEMBERS, "enterprises graded (%d)" % n_graded)
        check(0 in statuses_seen or min_members > MIN_MEMBERS, "some enterprise is OK")
        check(len(statuses_seen) >= 2, "more than one status occurs: %s" % sorted(statuses_seen))

        # ---- 5. aggregates: ratios of sums, totals over all --------------------------------------
        city_g = f["city"]
        check(close(float(city_g["energy_tce"][0]), float(np.sum(col["energy_tce"]))),
              "city energy = sum of enterprises")
        check(close(float(city_g["co2_t"][0]), float(np.sum(col["co2_t"]))), "city CO2 = sum")
        rated = [i for i, eid in enumerate(ids) if E[eid]["status"] in (0, 3) and E[eid]["above"]]
        want_ci = sum(E[ids[i]][REPORT]["co2"] for i in rated) / sum(E[ids[i]][REPORT]["va"] for i in rated)
        check(close(float(city_g["carbon_intensity"][0]), want_ci), "city carbon intensity (ratio of sums)")
        ind = f["industry"]
        codes = [x.decode() for x in ind["industry_code"][()]]
        for k, code in enumerate(codes):
            b = bench.get(int(code))
            bi = float(ind["benchmark_intensity"][k])
            if b:
                check(close(bi, b[0] / b[1]), "industry %s benchmark" % code)
            check(int(ind["n_enterprises"][k]) == sum(1 for r in E.values() if r["division"] == int(code)),
                  "industry %s count" % code)
        dist = f["district"]
        check(int(np.sum(dist["n_enterprises"][()])) == len(ids), "district counts add up")
        # attributes
        for attr in ("engine_version", "creation_time", "command_line", "period", "baseline",
                     "configuration", "tables", "inputs", "grid_factor_year"):
            check(attr in f.attrs, "root attribute %s" % attr)
        check(int(f.attrs["grid_factor_year"]) == 2023, "report uses the 2023 grid factor (fallback)")
        check(int(f.attrs["grid_factor_year_base"]) == 2021, "base uses the earliest grid factor")


    return statuses_seen


seen = verify(results, MIN_MEMBERS)
# A second run with a larger benchmark minimum: some cells lose their benchmark, and every
# enterprise there is NO_BENCHMARK, with a level but no grade.
results5 = os.path.join(WORK, "results_min5.h5")
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", str(REPORT),
   "--baseline", str(BASE), "--output", results5, "--min-members", "5")
seen5 = verify(results5, 5)
check(3 in seen5, "NO_BENCHMARK occurs with --min-members 5: %s" % sorted(seen5))
with h5py.File(results5, "r") as f:
    check("benchmark_min_members=5" in f.attrs["configuration"], "the option is recorded")

# ---- 6. a failed run leaves no results file -------------------------------------------------
bad = os.path.join(WORK, "bad.h5")
r = subprocess.run([TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025",
                    "--baseline", "2020", "--output", bad, "--tables", "/nonexistent"],
                   capture_output=True, text=True)
check(r.returncode == 1, "run with missing tables fails with exit 1")
check("/nonexistent" in r.stderr and r.stderr.count("\n") == 1, "one-line error naming the path")
check(not os.path.exists(bad), "no results file after a failed run")
# A temporary file of a killed run (its pid is gone) is removed by the next run.
stale = results + ".tmp-999999999"
open(stale, "w").write("partial")
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", str(REPORT),
   "--output", results)
check(not os.path.exists(stale), "a killed run's temporary file is cleaned up")
check(not [x for x in os.listdir(WORK) if ".tmp-" in x], "no temporary file left behind")

print("%d passed, %d failed" % (checks - len(failures), len(failures)))
sys.exit(1 if failures else 0)
