#!/usr/bin/python3
"""CF / ACDD attributes and dimension scales on every dataset of a results file, so that
generic readers (h5py, netCDF-4 and xarray-style tools, h5dump) know what each number is.

The rules, walked over every dataset of every group (nested /tables groups included):
- root: Conventions names CF and ACDD; title, history and source are non-empty;
- every dataset has `units` and a non-empty `long_name`;
- numbers (float and integer) have non-empty units (`1` when dimensionless); strings have
  units "" (text has no unit);
- codes: every uint8 dataset is a code or a boolean and carries flag_values and
  flag_meanings, except the counts listed in UINT8_COUNTS; flag_values are unique, of the
  dataset's type, as many as the meanings (and flag_masks, where present, too); the data
  hold only those values (bit sets: only bits of the masks);
- dimensions: every dataset of a keyed group has its row dimension attached to the key
  dataset as a dimension scale with the group's label; /series arrays both axes.

usage: test_cf_attributes.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import csv
import os
import shutil
import sys

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402
from txtest import check, finish, sh, text  # noqa: E402
import numpy as np  # noqa: E402

# uint8 datasets that are counts, not codes.
UINT8_COUNTS = {"value_added_months", "value_added_months_base"}
# Groups whose rows are entities with a key: (key dataset, dimension label).
KEYED = {"enterprise": ("enterprise_id", "enterprise"), "meter": ("meter_id", "meter"),
         "industry": ("industry_code", "industry"), "district": ("district_code", "district"),
         "city": ("city", "city"), "coefficients": ("month", "month")}



shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store = os.path.join(WORK, "city"), os.path.join(WORK, "store.h5")
sh(TANXIAO, "generate", city, "--enterprises", "30", "--seed", "13", "--store", store)
# A products.csv, so that /products is written (a line without output too).
with open(os.path.join(city, "enterprises.csv"), newline="", encoding="utf-8-sig") as fh:
    ids = [r["enterprise_id"] for r in csv.DictReader(fh)]
with open(os.path.join(city, "products.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["enterprise_id", "period", "product", "output", "energy"])
    w.writerow([ids[0], "2025", "cement_clinker", "1000", "100000"])
    w.writerow([ids[1], "2025", "cement_clinker", "0", "117000"])
results = os.path.join(WORK, "results.h5")
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025", "--baseline",
   "2020", "--output", results)

with h5py.File(results, "r") as f:
    conv = text(f.attrs.get("Conventions", ""))
    check("CF-" in conv and "ACDD-" in conv, "Conventions %r" % conv)
    for a in ("title", "history", "source"):
        check(text(f.attrs.get(a, "")).strip() != "", "root attribute %s" % a)

    datasets = []
    f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
    check(len(datasets) > 200, "the walk found %d datasets" % len(datasets))
    groups_seen = {p.split("/")[0] for p in datasets}
    for g in ("enterprise", "meter", "industry", "district", "city", "targets", "mujun",
              "products", "series", "coefficients", "tables"):
        check(g in groups_seen, "the walk reaches /%s" % g)
    ncodes = 0
    for path in datasets:
        d = f[path]
        a = d.attrs
        name = path.split("/")[-1]
        kind = d.dtype.kind
        check("units" in a, "/%s has units" % path)
        check(text(a.get("long_name", "")).strip() != "", "/%s has a long_name" % path)
        units = text(a.get("units", ""))
        if kind in "fiu":
            check(units != "", "/%s is numeric and needs units (1 when dimensionless)" % path)
        elif kind == "S":
            check(units == "", "/%s is text: units must be empty, got %r" % (path, units))
        else:
            check(False, "/%s has an unexpected type %s" % (path, d.dtype))
        is_code = any(k in a for k in ("flag_values", "flag_masks", "flag_meanings"))
        if kind == "u" and d.dtype.itemsize == 1 and name not in UINT8_COUNTS:
            check(is_code, "/%s is uint8: a code or boolean needs flag_values/flag_meanings"
                  % path)
        if not is_code:
            continue
        ncodes += 1
        meanings = text(a.get("flag_meanings", "")).split()
        check(len(meanings) > 0, "/%s flag_meanings" % path)
        data = d[()]
        if "flag_values" in a:
            fv = np.atleast_1d(a["flag_values"])
            check(len(fv) == len(meanings), "/%s: %d flag_values, %d flag_meanings" %
                  (path, len(fv), len(meanings)))
            check(len(set(fv.tolist())) == len(fv), "/%s flag_values unique" % path)
            check(fv.dtype == d.dtype, "/%s flag_values type %s, data %s" %
                  (path, fv.dtype, d.dtype))
        if "flag_masks" in a:
            fm = np.atleast_1d(a["flag_masks"])
            check(len(fm) == len(meanings), "/%s: %d flag_masks, %d meanings" %
                  (path, len(fm), len(meanings)))
            check(all(int(m) > 0 and int(m) & (int(m) - 1) == 0 for m in fm),
                  "/%s masks are single bits" % path)
            allbits = int(np.bitwise_or.reduce(fm.astype(np.int64)))
            check(not np.any(data.astype(np.int64) & ~allbits), "/%s: bits outside the masks"
                  % path)
        elif "flag_values" in a:
            check(set(np.unique(data).tolist()) <= set(fv.tolist()),
                  "/%s holds values outside flag_values: %s" % (path, np.unique(data)))
    check(ncodes >= 15, "%d code datasets checked" % ncodes)

    # Named dimensions.
    for gname, (key, label) in KEYED.items():
        g = f[gname]
        check(g[key].attrs.get("CLASS") in (b"DIMENSION_SCALE", "DIMENSION_SCALE"),
              "/%s/%s is a dimension scale" % (gname, key))
        for dname, d in g.items():
            if dname == key:
                continue
            check(len(d.dims[0]) == 1 and d.dims[0][0].name == "/%s/%s" % (gname, key) and
                  d.dims[0].label == label,
                  "/%s/%s: row dimension %r attached to %s" %
                  (gname, dname, d.dims[0].label, key))
    s = f["series"]
    for dname, d in s.items():
        if d.ndim == 2:
            check(d.dims[0].label == "enterprise" and d.dims[1].label == "month" and
                  d.dims[0][0].name == "/series/enterprise_id" and
                  d.dims[1][0].name == ("/series/month_base" if dname.endswith("_base")
                                        else "/series/month"),
                  "/series/%s dimension scales" % dname)
    check(np.array_equal(f["mujun/flags"].attrs["flag_masks"], f["mujun/flags"].attrs["flag_values"]),
          "/mujun/flags: masks and values name the same bits")

finish()
