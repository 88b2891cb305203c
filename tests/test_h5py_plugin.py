#!/usr/bin/python3
"""Readers outside the engine: h5py (system Python) and h5dump read every dataset of a
results file through the installed zstd plugin (HDF5_PLUGIN_PATH), and the layout follows
RESULTS.md: columnar groups of equal-length 1-D datasets, shuffle then zstd (32015) with
cd_values[0] = level, units and long_name on every dataset, flag attributes on status.

usage: test_h5py_plugin.py TANXIAO PLUGIN_DIR WORK_DIR
"""
import os
import shutil
import subprocess
import sys

TANXIAO, PLUGIN_DIR, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["HDF5_PLUGIN_PATH"] = PLUGIN_DIR
import h5py  # noqa: E402  (after HDF5_PLUGIN_PATH is set)
import numpy as np  # noqa: E402

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def sh(*args, env=None):
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit("command failed: %s" % " ".join(args))
    return r.stdout


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
city, store, results = (os.path.join(WORK, x) for x in ("city", "store.h5", "results.h5"))
# Straight into the store: the path the main job takes.
sh(TANXIAO, "generate", city, "--enterprises", "40", "--seed", "3", "--store", store)
sh(TANXIAO, "run", "--store", store, "--financials", city, "--period", "2025", "--baseline",
   "2020", "--output", results, "--zstd-level", "5")

REQUIRED = {
    "enterprise": ["enterprise_id", "industry_code", "district_code", "energy_tce", "co2_t",
                   "water_m3", "value_added", "carbon_intensity", "carbon_level",
                   "carbon_efficiency_value", "carbon_grade", "energy_intensity_change_pct",
                   "co2_intensity_change_pct", "water_intensity_change_pct", "coverage",
                   "status"],
    "industry": ["energy_tce", "co2_t", "carbon_intensity"],
    "district": ["energy_tce", "co2_t", "carbon_intensity"],
    "city": ["energy_tce", "co2_t", "carbon_intensity"],
    "meter": ["meter_id", "total", "coverage"],
}
UNITS = {"energy_tce": "tce", "co2_t": "tCO2", "water_m3": "m3", "value_added": "10^4 CNY",
         "coverage": "1", "status": "1", "carbon_grade": "1"}

datasets = []
with h5py.File(results, "r") as f:
    for group, names in REQUIRED.items():
        check(group in f, "group /%s exists" % group)
        for n in names:
            check(n in f[group], "/%s/%s exists" % (group, n))
    # every group holding datasets, nested ones (/tables/<table>) included
    groups = []
    f.visititems(lambda n, o: groups.append(n) if isinstance(o, h5py.Group) else None)
    for gname in groups:
        g = f[gname]
        lengths = set()
        for dname in g:
            d = g[dname]
            if isinstance(d, h5py.Group):
                continue
            path = "/%s/%s" % (gname, dname)
            datasets.append(path)
            if gname == "series":
                # [enterprise, month] with both axes as dimension scales
                if d.ndim == 2:
                    check(len(d.dims[0]) == 1 and len(d.dims[1]) == 1,
                          "%s has dimension scales on both axes" % path)
                    check(d.dims[1].label == "month", "%s column dimension is month" % path)
                    check(d.shape[0] == f["series/enterprise_id"].shape[0],
                          "%s has one row per enterprise" % path)
            else:
                check(d.ndim == 1, "%s is 1-D" % path)
                lengths.add(d.shape[0])
            data = d[()]  # decodes every chunk through the plugin
            check(len(data) == d.shape[0], "%s reads whole" % path)
            check("units" in d.attrs and "long_name" in d.attrs, "%s has units and long_name" % path)
            if dname in UNITS and gname in ("enterprise", "industry", "district", "city"):
                u = d.attrs["units"]
                u = u.decode() if isinstance(u, bytes) else u
                check(u == UNITS[dname], "%s units %r" % (path, u))
            check(d.chunks is not None, "%s is chunked" % path)
            plist = d.id.get_create_plist()
            filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            ids = [flt[0] for flt in filters]
            check(ids == [1, 32015] or ids == [h5py.h5z.FILTER_SHUFFLE, 32015],
                  "%s filters shuffle then zstd: %s" % (path, ids))
            if ids and ids[-1] == 32015:
                check(tuple(filters[-1][2]) == (5,), "%s zstd cd_values == (5,): %s" %
                      (path, filters[-1][2]))
        check(len(lengths) <= 1, "/%s datasets share one length: %s" % (gname, lengths))
    check("tables/energy_coefficients" in groups and "coefficients" in groups,
          "the walk reaches /tables/<table> and /coefficients")
    check("series" in f and f["series/energy_tce"].shape[1] == 12, "/series has 12 months")
    check(list(f["series/month"][()])[:2] == [202501, 202502], "/series/month is YYYYMM")
    # the monthly series add up to the period totals
    check(np.allclose(np.nansum(f["series/energy_tce"][()], axis=1),
                      f["enterprise/energy_tce"][()], rtol=1e-12, atol=1e-9),
          "monthly energy sums to the period's")
    st = f["enterprise/status"]
    check(list(st.attrs["flag_values"]) == [0, 1, 2, 3], "status flag_values")
    fm = st.attrs["flag_meanings"]
    fm = fm.decode() if isinstance(fm, bytes) else fm
    check(fm == "OK INCOMPLETE NOT_RATEABLE NO_BENCHMARK", "status flag_meanings %r" % fm)
    energy = f["enterprise/energy_tce"][()]
    check(np.all(np.isfinite(energy)) and energy.sum() > 0, "energy is finite and positive")
    check(len(f["city/energy_tce"]) == 1, "/city has one row")
    for a in ("Conventions", "title", "history"):
        check(a in f.attrs, "root attribute %s" % a)
    hist = f.attrs["history"]
    hist = hist.decode() if isinstance(hist, bytes) else hist
    check("tanxiao" in hist and "run" in hist, "history names the command: %r" % hist)

# h5dump through the plugin: every dataset prints; without the plugin, data cannot be read.
env = dict(os.environ, HDF5_PLUGIN_PATH=PLUGIN_DIR)
for path in datasets:
    r = subprocess.run(["h5dump", "-d", path, results], capture_output=True, text=True, env=env)
    check(r.returncode == 0 and "DATA {" in r.stdout, "h5dump reads %s" % path)
r = subprocess.run(["h5dump", "-d", "/enterprise/energy_tce", results], capture_output=True,
                   text=True, env=dict(os.environ, HDF5_PLUGIN_PATH=os.path.join(WORK, "empty")))
check(r.returncode != 0, "without the plugin h5dump cannot decode (so the plugin was used)")
r = subprocess.run(["h5dump", "-pH", "-d", "/enterprise/energy_tce", results],
                   capture_output=True, text=True, env=env)
check("32015" in r.stdout and "SHUFFLE" in r.stdout, "h5dump -p shows shuffle and filter 32015")

print("%d datasets read by h5py and h5dump" % len(datasets))
print("%d passed, %d failed" % (checks - len(failures), len(failures)))
sys.exit(1 if failures else 0)
