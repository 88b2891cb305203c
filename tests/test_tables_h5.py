#!/usr/bin/python3
"""/tables and /coefficients in the results: every reference table the run read is stored
column by column and equals its CSV file in every row and column (parsed here with Python's
csv module: text exactly, numbers as Python parses them, empty cells as NaN, codes with
leading zeros as text); the recorded checksum is the FNV-1a 64 of the file's bytes and the
one the root attribute `tables` names; /coefficients holds, per month, the grid factor by the
data-year fallback rule and the tce and CO2 factors of the tables under the run's options.
A run with a modified tables directory stores the modified tables (unknown columns
included) and applies them; a table with a ragged row fails the run and leaves no file.

usage: test_tables_h5.py TANXIAO PLUGIN_DIR WORK_DIR
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
from txtest import check, finish, sh, text  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(os.path.dirname(HERE), "datasets", "tables")
# The files a run reads: the ten of engine/tables.h, the 亩均 profiles and the products.
USED = ["energy_coefficients.csv", "fuel_emission_factors.csv", "grid_emission_factors.csv",
        "heat_factors.csv", "carbon_levels.csv", "carbon_grades.csv", "run_defaults.csv",
        "gbt4754_divisions.csv", "districts.csv", "targets.csv", "mujun_profiles.csv",
        "product_benchmarks.csv"]



def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_table(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r]  # csv skips nothing; the engine skips empty lines
    return [h.strip(" \t") for h in rows[0]], rows[1:]


def compare_table(f, tables_dir, fname, root_sums):
    stem = fname[:-4]
    where = "/tables/" + stem
    check(stem in f["tables"], "%s exists" % where)
    if stem not in f["tables"]:
        return
    g = f["tables"][stem]
    raw = open(os.path.join(tables_dir, fname), "rb").read()
    header, rows = read_table(os.path.join(tables_dir, fname))
    want_sum = "fnv1a64:%016x" % fnv1a64(raw)
    check(text(g.attrs["checksum"]) == want_sum,
          "%s checksum %s, file %s" % (where, text(g.attrs["checksum"]), want_sum))
    if fname in root_sums:
        check(root_sums[fname] == want_sum, "%s: root attribute tables says %s" %
              (where, root_sums[fname]))
    check(text(g.attrs["file_name"]) == fname, "%s file_name" % where)
    check(int(g.attrs["bytes"]) == len(raw), "%s bytes" % where)
    check(int(g.attrs["rows"]) == len(rows), "%s rows attribute" % where)
    check(text(g.attrs.get("long_name", "")) != "", "%s long_name" % where)
    check(text(g.attrs["columns"]).split(",") == header,
          "%s columns %s, header %s" % (where, text(g.attrs["columns"]), header))
    check(sorted(g) == sorted(header), "%s datasets %s, header %s" % (where, sorted(g), header))
    for k, col in enumerate(header):
        if col not in g:
            continue
        d = g[col]
        data = d[()]
        check(len(data) == len(rows), "%s/%s: %d rows, CSV %d" % (where, col, len(data), len(rows)))
        check("units" in d.attrs and "long_name" in d.attrs and text(d.attrs["long_name"]),
              "%s/%s units and long_name" % (where, col))
        kind = data.dtype.kind
        if kind in "fiu":
            check(text(d.attrs["units"]) != "", "%s/%s numeric without units" % (where, col))
        if col in ("source", "tag"):
            check(kind == "S", "%s/%s stored as text" % (where, col))
        for i, row in enumerate(rows):
            cell, v = row[k], data[i] if i < len(data) else None
            if kind == "S":
                ok = text(v) == cell
            elif kind == "f":
                ok = (math.isnan(v) and cell == "") or (cell != "" and float(cell) == float(v))
            elif kind in "iu":
                ok = cell != "" and "." not in cell and int(cell) == int(v)
            else:
                ok = False
            check(ok, "%s/%s[%d]: CSV %r, stored %r" % (where, col, i, cell, v))
        # A text column must be text for a reason: outside the code columns, a column of
        # numbers would have been stored as numbers.
        if kind == "S" and col not in ("district_code", "scope_code", "division"):
            numeric = True
            for row in rows:
                try:
                    float(row[k])
                except ValueError:
                    numeric = False
            check(not numeric or all(c == "" for c in (r[k] for r in rows)),
                  "%s/%s is all numbers but stored as text" % (where, col))


def root_table_sums(f):
    out = {}
    for part in text(f.attrs["tables"]).split("; "):
        name, s = part.split(" ")
        out[name] = s
    return out


def grid_rows(tables_dir, series="MEE_NBS", geo="Zhejiang"):
    _, rows = read_table(os.path.join(tables_dir, "grid_emission_factors.csv"))
    header = read_table(os.path.join(tables_dir, "grid_emission_factors.csv"))[0]
    ix = {h: i for i, h in enumerate(header)}
    return {int(r[ix["year"]]): float(r[ix["kgco2_per_kwh"]]) for r in rows
            if r[ix["series"]] == series and r[ix["geography"]] == geo}


def grid_for(grid, year):
    if year in grid:
        return year, grid[year]
    earlier = [y for y in grid if y < year]
    y = max(earlier) if earlier else min(grid)
    return y, grid[y]


def table_dicts(tables_dir, fname):
    header, rows = read_table(os.path.join(tables_dir, fname))
    return [dict(zip(header, r)) for r in rows]


def check_coefficients(f, tables_dir, basis="equivalent", pv="grid_only", years=(2025, 2020)):
    c = f["coefficients"]
    months = list(c["month"][()])
    period = list(c["period"][()])
    want_months = [y * 100 + m for y in years for m in range(1, 13)]
    check(months == want_months, "/coefficients/month %s" % months[:3])
    check(period == [0] * 12 + [1] * 12, "/coefficients/period report then baseline")
    check(list(c["period"].attrs["flag_values"]) == [0, 1] and
          text(c["period"].attrs["flag_meanings"]).split() == ["report", "baseline"],
          "/coefficients/period flags")
    grid = grid_rows(tables_dir)
    per_kg = {"kg": 1, "t": 0.001, "m3": 1, "kWh": 1, "MJ": 1, "GJ": 0.001}
    ec = table_dicts(tables_dir, "energy_coefficients.csv")
    kgce = {r["carrier"]: float(r["kgce_per_unit"]) * per_kg[r["unit"]] for r in ec
            if r["basis"] == "equivalent"}
    kgce["electricity"] = [float(r["kgce_per_unit"]) for r in ec
                           if r["carrier"] == "electricity" and r["basis"] == basis][0]
    kgco2 = {r["carrier"]: float(r["kgco2_per_unit"]) * per_kg[r["unit"]]
             for r in table_dicts(tables_dir, "fuel_emission_factors.csv")}
    heat = {r["name"]: float(r["value"]) for r in table_dicts(tables_dir, "heat_factors.csv")}
    for i, ym in enumerate(months):
        year_used, factor = grid_for(grid, ym // 100)
        check(c["grid_factor_year"][i] == year_used, "month %d grid year %d, expected %d" %
              (ym, c["grid_factor_year"][i], year_used))
        check(c["grid_factor_kgco2_per_kwh"][i] == factor, "month %d grid factor" % ym)
        check(c["electricity_tco2_per_kwh"][i] == factor / 1000, "month %d elec CO2" % ym)
        check(c["electricity_tce_per_kwh"][i] == kgce["electricity"] / 1000,
              "month %d elec tce on basis %s: %r" % (ym, basis, c["electricity_tce_per_kwh"][i]))
        pv_want = -factor / 1000 if pv == "subtract" else 0.0
        check(c["pv_generation_tco2_per_kwh"][i] == pv_want, "month %d PV CO2 (%s)" % (ym, pv))
        check(c["pv_generation_tce_per_kwh"][i] == 0.0, "PV is not energy")
        for carrier, v in kgco2.items():
            name = [n for n in c if n.startswith(carrier + "_tco2_per_")]
            check(len(name) == 1 and math.isclose(c[name[0]][i], v / 1000, rel_tol=1e-12),
                  "month %d %s CO2 factor" % (ym, carrier))
        for carrier, v in kgce.items():
            if carrier == "electricity":
                continue
            name = [n for n in c if n.startswith(carrier + "_tce_per_")]
            check(len(name) == 1 and math.isclose(c[name[0]][i], v / 1000, rel_tol=1e-12),
                  "month %d %s tce factor" % (ym, carrier))
        check(math.isclose(c["heat_tco2_per_mj"][i], heat["purchased_heat_co2"] / 1000,
                           rel_tol=1e-12), "heat CO2 per MJ")
        steam = (heat["steam_enthalpy_default"] - heat["feedwater_enthalpy"]) / 1e6 * \
            heat["purchased_heat_co2"]
        check(math.isclose(c["steam_tco2_per_kg"][i], steam, rel_tol=1e-12), "steam CO2 per kg")
    for n in c:
        d = c[n]
        check(d.shape == (len(months),), "/coefficients/%s has one row per month" % n)
        if n != "month":
            check(len(d.dims[0]) == 1 and d.dims[0].label == "month",
                  "/coefficients/%s has the month dimension scale" % n)
        check(text(d.attrs["units"]) != "" and text(d.attrs["long_name"]) != "",
              "/coefficients/%s units and long_name" % n)
    check(text(c["electricity_tce_per_kwh"].attrs["units"]) == "tce/kWh", "tce/kWh units")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store = os.path.join(WORK, "city"), os.path.join(WORK, "store.h5")
sh(TANXIAO, "generate", city, "--enterprises", "20", "--seed", "9", "--store", store)


def run(name, *opts):
    out = os.path.join(WORK, name + ".h5")
    sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025",
       "--baseline", "2020", "--output", out, *opts)
    return out


# ---- 1. the shipped tables -----------------------------------------------------------------
res = run("default")
with h5py.File(res, "r") as f:
    check(sorted(f["tables"]) == sorted(x[:-4] for x in USED), "/tables groups %s" %
          sorted(f["tables"]))
    sums = root_table_sums(f)
    check(len(sums) == 10, "root attribute tables names 10 files: %s" % list(sums))
    for fname in USED:
        compare_table(f, TABLES, fname, sums)
    g = f["tables/gbt4754_divisions/division"][()]
    check(text(g[0]) == "01", "division codes keep their leading zero: %r" % g[0])
    check(f["tables/grid_emission_factors/year"].dtype.kind == "i", "years are integers")
    check(np.isinf(f["tables/carbon_levels/upper_bound"][()][-1]), "inf bound is infinity")
    check_coefficients(f, TABLES)

# ---- 2. options change the applied coefficients ----------------------------------------------
res2 = run("equal_value", "--electricity-basis", "equal_value", "--pv-policy", "subtract")
with h5py.File(res2, "r") as f:
    check_coefficients(f, TABLES, basis="equal_value", pv="subtract")

# ---- 3. a modified tables directory: stored as read, and applied ------------------------------
mod = os.path.join(WORK, "tables_mod")
shutil.copytree(TABLES, mod)
gpath = os.path.join(mod, "grid_emission_factors.csv")
header, rows = read_table(gpath)
ix = {h: i for i, h in enumerate(header)}
for r in rows:
    if r[ix["series"]] == "MEE_NBS" and r[ix["geography"]] == "Zhejiang" and \
            r[ix["year"]] == "2023":
        r[ix["kgco2_per_kwh"]] = "0.4321"
with open(gpath, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(header + ["note", "weight_kg"])
    for i, r in enumerate(rows):
        w.writerow(r + ['say "hi", then\nleave 碳' if i == 0 else "", "%d.5" % i])
res3 = run("modified", "--tables", mod)
with h5py.File(res3, "r") as f:
    compare_table(f, mod, "grid_emission_factors.csv", root_table_sums(f))
    g = f["tables/grid_emission_factors"]
    check(g["note"].dtype.kind == "S" and text(g["note"][0]) == 'say "hi", then\nleave 碳',
          "unknown text column with quotes, comma, newline and UTF-8 kept")
    check(g["weight_kg"].dtype.kind == "f" and
          text(g["weight_kg"].attrs["units"]).startswith("unknown"),
          "unknown numeric column is float64 with units 'unknown ...'")
    check(text(f.attrs["tables_dir"]) == mod, "tables_dir names the modified directory")
    check_coefficients(f, mod)
    c = f["coefficients"]
    check(0.4321 in list(c["grid_factor_kgco2_per_kwh"][()]), "the modified factor was applied")

# ---- 4. a ragged table fails the run and leaves no results file -----------------------------
bad = os.path.join(WORK, "tables_bad")
shutil.copytree(TABLES, bad)
with open(os.path.join(bad, "districts.csv"), "a", encoding="utf-8") as fh:
    fh.write("330299,某区,宁波市,a source,one field too many\n")
out = os.path.join(WORK, "bad.h5")
r = subprocess.run([TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025",
                    "--output", out, "--tables", bad], capture_output=True, text=True)
check(r.returncode != 0 and "districts.csv" in r.stderr and "fields" in r.stderr,
      "ragged table refused: exit %d, %r" % (r.returncode, r.stderr.strip()))
check(not os.path.exists(out), "no results file after a refused table")

finish()
