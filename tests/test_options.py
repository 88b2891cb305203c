#!/usr/bin/python3
"""The whole method's options, targets, 亩均 and product benchmarks on a generated city:

- a run with every option at a non-default value records every choice in the results;
- two runs differing in one option differ only where they should;
- /targets agrees with the city's reductions and the annual-rate formula;
- /mujun ranks and classes follow METHOD.md section 6 from the scores it reports;
- /products classifies a hand-written products.csv;
- year-to-date and rolling-12-month periods, with /series holding the months.

usage: test_options.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import csv
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


def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("command failed: %s" % " ".join(args))
    return r.stdout


def load(path):
    out = {}
    with h5py.File(path, "r") as f:
        # every dataset by its path, nested groups (/tables/<table>) included
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.all(a == b))


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store = os.path.join(WORK, "city"), os.path.join(WORK, "store.h5")
sh(TANXIAO, "generate", city, "--enterprises", "80", "--seed", "11", "--store", store)


def run(name, *opts, period="2025", baseline="2020", fin=city):
    out = os.path.join(WORK, name + ".h5")
    args = [TANXIAO, "run", "--store", store, "--financials", fin, "--period", period,
            "--output", out] + list(opts)
    if baseline:
        args += ["--baseline", baseline]
    sh(*args)
    return load(out)


base = run("default")
E = "enterprise/"

# ---- every option at a non-default value is recorded --------------------------------------
nd = run("nondefault", "--pv-policy", "subtract", "--electricity-basis", "equal_value",
         "--industry-level", "3", "--below-scale", "none", "--grid-geography", "East_China",
         "--coverage-min", "0.8", "--min-members", "4", "--current-prices")
conf = nd["attrs"]["configuration"]
for token in ("pv_policy=subtract", "electricity_basis=equal_value", "industry_level=3",
              "below_scale=none", "grid_geography=East_China", "coverage_min=0.8",
              "benchmark_min_members=4"):
    check(token in conf, "configuration records %s: %s" % (token, conf))
check(nd["attrs"]["pv_policy"] == "subtract", "pv_policy attribute")
check(nd["attrs"]["electricity_basis"] == "equal_value", "electricity_basis attribute")
check(int(nd["attrs"]["industry_level"]) == 3, "industry_level attribute")
check(nd["attrs"]["below_scale"] == "none", "below_scale attribute")
check(abs(float(nd["attrs"]["coverage_min"]) - 0.8) < 1e-12, "coverage_min attribute")
check(int(nd["attrs"]["benchmark_min_members"]) == 4, "benchmark_min_members attribute")
check("East_China" in nd["attrs"]["grid_factor_series"], "grid factor series attribute")
check(base["attrs"]["pv_policy"] == "grid_only", "default pv policy recorded")
check(len(nd["industry/industry_code"][0]) == 3, "industry rows at 3 digits")

# ---- one option at a time: differences only where they should be ----------------------------
ENERGY = ["energy_tce", "energy_intensity", "energy_intensity_change_pct"]
CO2 = ["co2_t", "carbon_intensity", "co2_intensity_change_pct"]
GRADING = ["carbon_efficiency_value", "carbon_grade", "benchmark_intensity", "status",
           "carbon_level"]
WATER = ["water_m3", "water_intensity", "water_intensity_change_pct", "value_added"]

eq = run("equal_value", "--electricity-basis", "equal_value")
for k in CO2 + GRADING + WATER:
    check(same(eq[E + k], base[E + k]), "electricity basis leaves %s alone" % k)
has_elec = base[E + "energy_tce"] > 0
check(np.all(eq[E + "energy_tce"][has_elec] > base[E + "energy_tce"][has_elec]),
      "等价值 energy is larger than 当量值 energy")

ec = run("east_china", "--grid-geography", "East_China")
for k in ENERGY + WATER:
    check(same(ec[E + k], base[E + k]), "grid geography leaves %s alone" % k)
check(not same(ec[E + "co2_t"], base[E + "co2_t"]), "grid geography changes CO2")
check(float(ec["attrs"]["grid_factor_kgco2_per_kwh"]) == 0.55, "East China 2023 factor")
# /coefficients records what each option applied, month by month
months = list(ec["coefficients/month"])
check(list(ec["coefficients/grid_factor_kgco2_per_kwh"][:12]) == [0.55] * 12,
      "/coefficients: East China 2023 factor for every 2025 month")
check(not same(ec["coefficients/grid_factor_kgco2_per_kwh"],
               base["coefficients/grid_factor_kgco2_per_kwh"]), "grid geography in /coefficients")
check(same(ec["coefficients/electricity_tce_per_kwh"], base["coefficients/electricity_tce_per_kwh"]),
      "grid geography leaves the electricity tce factor alone")
check(np.all(eq["coefficients/electricity_tce_per_kwh"] >
             base["coefficients/electricity_tce_per_kwh"]), "等价值 factor in /coefficients")
check(same(eq["coefficients/grid_factor_kgco2_per_kwh"],
           base["coefficients/grid_factor_kgco2_per_kwh"]), "basis leaves the grid factor alone")
for k in [k for k in base if k.startswith("tables/")]:
    check(same(ec[k], base[k]) and same(eq[k], base[k]), "options leave %s alone" % k)

pv = run("pv_subtract", "--pv-policy", "subtract")
pv_owner = set()
with h5py.File(os.path.join(WORK, "default.h5"), "r") as f:
    carriers = f["meter/carrier"][()]
    owners = [x.decode() for x in f["meter/enterprise_id"][()]]
    pv_code = list(f["meter/carrier"].attrs["flag_meanings"].split()).index("pv_generation")
    for c, o in zip(carriers, owners):
        if c == pv_code:
            pv_owner.add(o)
ids = [x.decode() for x in base[E + "enterprise_id"]]
for k in ENERGY + WATER:
    check(same(pv[E + k], base[E + k]), "PV policy leaves %s alone" % k)
for i, eid in enumerate(ids):
    if eid not in pv_owner:
        check(pv[E + "co2_t"][i] == base[E + "co2_t"][i], "PV policy: %s has no PV" % eid)
    else:
        check(pv[E + "co2_t"][i] < base[E + "co2_t"][i], "PV policy lowers %s's CO2" % eid)
check(len(pv_owner) > 0, "the city has PV")

lv = run("level3", "--industry-level", "3")
for k in ENERGY + CO2 + WATER:
    check(same(lv[E + k], base[E + k]), "industry level leaves %s alone" % k)
bl = lv[E + "benchmark_level"]
check(set(np.unique(bl)) <= {0, 2, 3}, "benchmark levels 2 or 3")
ok = lv[E + "status"] == 0
check(np.allclose(lv[E + "carbon_efficiency_value"][ok],
                  lv[E + "carbon_intensity"][ok] / lv[E + "benchmark_intensity"][ok],
                  rtol=1e-12), "K = L / the benchmark the enterprise was graded against")

bs = run("below_none", "--below-scale", "none")
above = base[E + "above_scale"] == 1
for k in GRADING:
    check(same(bs[E + k][above], base[E + k][above]), "below-scale leaves 规上 %s alone" % k)
below_ok = (~above) & (base[E + "status"] == 0)
check(np.all(bs[E + "status"][below_ok] == 3), "规下 not graded: NO_BENCHMARK")
check(np.all(bs[E + "carbon_grade"][~above] == 0), "规下 have no grade")
check(below_ok.sum() > 0, "the city has graded 规下 enterprises by default")

cv = run("coverage08", "--coverage-min", "0.8")
cov = base[E + "coverage"]
for i in range(len(ids)):
    if not (0.8 <= cov[i] < 0.9):
        check(cv[E + "status"][i] == base[E + "status"][i] or base[E + "status"][i] == 3 or
              cv[E + "status"][i] == 3, "coverage threshold changes only the enterprises near it")
for k in ENERGY + CO2 + WATER[:2]:
    check(same(cv[E + k], base[E + k]), "coverage threshold leaves %s alone" % k)

# ---- targets -----------------------------------------------------------------------------
tg = base
tids = [x.decode() for x in tg["targets/target_id"]]
scopes = [x.decode() for x in tg["targets/scope"]]
codes = [x.decode() for x in tg["targets/scope_code"]]
ind_col = {"energy": "energy_intensity_change_pct", "co2": "co2_intensity_change_pct",
           "water": "water_intensity_change_pct"}
inds = [x.decode() for x in tg["targets/indicator"]]
dcodes = [x.decode() for x in base["district/district_code"]]
for k, tid in enumerate(tids):
    want = float(tg["targets/target_reduction_pct"][k])
    got = float(tg["targets/reduction_pct"][k])
    if scopes[k] == "city":
        ref = float(base["city/" + ind_col[inds[k]]][0])
    elif scopes[k] == "district":
        ref = float(base["district/" + ind_col[inds[k]]][dcodes.index(codes[k])])
    else:
        icodes = [x.decode() for x in base["industry/industry_code"]]
        ref = float(base["industry/" + ind_col[inds[k]]][icodes.index(codes[k])])
    check((math.isnan(got) and math.isnan(ref)) or abs(got - ref) < 1e-9,
          "target %s %s %s reduction from the aggregate" % (tid, scopes[k], codes[k]))
    st = int(tg["targets/status"][k])
    if math.isnan(got):
        check(st == 0, "not evaluable without a reduction")
        continue
    ratio, tr = 1 - got / 100, 1 - want / 100
    ty = int(tg["targets/target_year"][k])
    if ratio <= tr:
        check(st == 1, "%s met" % tid)
    else:
        left = ty - 2025
        rate = (1 - (tr / ratio) ** (1 / left)) * 100 if left > 0 else float("nan")
        exp_rate = float(tg["targets/required_annual_rate_pct"][k])
        if left > 0:
            check(abs(exp_rate - rate) < 1e-9, "%s rate still needed" % tid)
            ach = 1 - ratio ** (1 / 5)
            need = 1 - tr ** (1 / (ty - 2020))
            check(st == (2 if ach >= need else 3), "%s on/off track" % tid)
        else:
            check(st == 4, "%s missed" % tid)
check("ningbo_water_2026" in tids and "yinzhou_energy" in tids, "shipped targets evaluated")
check(sum(1 for t, s in zip(tids, scopes) if t == "ningbo_water_2026" and s == "city") == 1,
      "a city row per all-scope target")
check(sum(1 for t, s in zip(tids, scopes) if t == "yinzhou_energy") == 1,
      "a district target has one row")
check(all(c == "330212" for t, c in zip(tids, codes) if t.startswith("yinzhou")),
      "Yinzhou's targets are on 330212")

# ---- 亩均: ranks and classes from the scores --------------------------------------------------
grp = base["mujun/group"]
score = base["mujun/score"]
rank = base["mujun/rank"]
cls = base["mujun/class"]
for g in (1, 2):
    idx = np.where(grp == g)[0]
    n = len(idx)
    if n == 0:
        continue
    for i in idx:
        check(rank[i] == 1 + int(np.sum(score[idx] > score[i])), "mujun rank")

    def rnd(x):
        return int(math.floor(x + 0.5))
    na, nb, ndd = rnd(0.10 * n), rnd(0.35 * n), rnd(0.10 * n)
    order = sorted(idx, key=lambda i: -score[i])
    pos_cls = ["A"] * na + ["B"] * nb + ["C"] * (n - na - nb - ndd) + ["D"] * ndd
    for i in idx:
        want = "ABCD".index(pos_cls[int(rank[i]) - 1]) + 1
        check(cls[i] == want, "mujun class of rank %d of %d" % (rank[i], n))
    terms = [base["mujun/term_" + t][idx] for t in ("tax_per_mu", "va_per_mu", "va_per_tce",
                                                    "va_per_pollutant", "va_per_employee",
                                                    "rd_ratio", "tax_per_kwh")]
    tot = np.nansum(np.vstack(terms), axis=0)
    check(np.allclose(tot, score[idx], rtol=1e-12, atol=1e-9), "score = sum of terms")
check(np.sum(grp == 1) > 0, "规上 enterprises evaluated")
check(np.all(np.isnan(score[grp == 0])), "not evaluated: no score")

# ---- product benchmarks from a hand-written products.csv ------------------------------------
fin2 = os.path.join(WORK, "fin2")
shutil.copytree(city, fin2, ignore=shutil.ignore_patterns("readings"))
e0, e1 = ids[0], ids[1]
with open(os.path.join(fin2, "products.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["enterprise_id", "period", "product", "output", "energy"])
    w.writerow([e0, "2025", "cement_clinker", "1000", "100000"])     # 100 kgce/t: benchmark
    w.writerow([e1, "2025", "cement_clinker", "1000", "117000"])     # 117: between
    w.writerow([e1, "2025", "ferrosilicon", "10", "18600"])          # 1860 > 1850: below
    w.writerow([e0, "2025", "silicomanganese", "0", "100"])          # no output
    w.writerow([e0, "2025", "unobtainium", "1", "1"])                # rejected
pr = run("products", fin=fin2)
pe = [x.decode() for x in pr["products/enterprise_id"]]
pp = [x.decode() for x in pr["products/product"]]
got = {(a, b): int(c) for a, b, c in zip(pe, pp, pr["products/class"])}
check(got.get((e0, "cement_clinker")) == 1, "exactly at the benchmark: class 1")
check(got.get((e1, "cement_clinker")) == 2, "exactly at the baseline: class 2")
check(got.get((e1, "ferrosilicon")) == 3, "above the baseline: class 3")
check(got.get((e0, "silicomanganese")) == 0, "no output: not classified")
check(len(got) == 4, "the unknown product row is rejected")

# ---- year to date and rolling 12 months ---------------------------------------------------
store2, city2 = os.path.join(WORK, "store2.h5"), os.path.join(WORK, "city2")
sh(TANXIAO, "generate", city2, "--enterprises", "40", "--seed", "5", "--report-year", "2025",
   "--base-year", "2024", "--store", store2)
out = os.path.join(WORK, "ytd.h5")
sh(TANXIAO, "run", "--store", store2, "--financials", city2, "--period", "2025-01..2025-09",
   "--baseline", "2024-01..2024-09", "--output", out)
ytd = load(out)
check(list(ytd["series/month"]) == [202500 + m for m in range(1, 10)], "YTD months")
check(np.allclose(np.sum(ytd["series/energy_tce"], axis=1), ytd[E + "energy_tce"], rtol=1e-12),
      "YTD energy = sum of its months")
va_m = ytd[E + "value_added_months"]
check(np.all((va_m == 9) | (ytd[E + "status"] == 2)), "YTD value added needs the 9 months")
check(np.any(va_m == 9), "some enterprises report monthly")
out = os.path.join(WORK, "rolling.h5")
sh(TANXIAO, "run", "--store", store2, "--financials", city2, "--period", "2024-10..2025-09",
   "--output", out)
rl = load(out)
check(list(rl["series/month"]) == [202410, 202411, 202412] + [202500 + m for m in range(1, 10)],
      "rolling months across the year end")
check(rl["attrs"]["period"] == "2024-10..2025-09", "rolling period recorded")
check("data year 2024" in rl["attrs"]["grid_factors"] and "data year 2025" in
      rl["attrs"]["grid_factors"], "each data year's factor recorded")
check(np.allclose(np.sum(rl["series/co2_t"], axis=1), rl[E + "co2_t"], rtol=1e-12),
      "rolling CO2 = sum of its months")

print("%d passed, %d failed" % (checks - len(failures), len(failures)))
sys.exit(1 if failures else 0)
