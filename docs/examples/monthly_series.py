#!/usr/bin/python3
"""Monthly energy, CO2 and water of the city from /series, read through its dimension
scales, with each month's grid factor from /coefficients; no plotting.

usage: monthly_series.py RESULTS.h5

Prints (see docs/RESEARCHERS.md):
    dimensions of /series/energy_tce: enterprise (N, scale enterprise_id) x month (M, scale month)
    month energy_tce co2_t water_m3 grid_factor_kgco2_per_kwh      header, then one line a month
    total <sums of the months>
    city <the same totals from /city>
    peak month (energy_tce): YYYYMM
    baseline total: <sums of the baseline months>    (when the run has a baseline)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Before h5py is imported: HDF5 reads HDF5_PLUGIN_PATH once (docs/RESEARCHERS.md).
os.environ.setdefault("HDF5_PLUGIN_PATH",
                      os.path.normpath(os.path.join(HERE, "..", "..", "build", "plugin")))
import h5py  # noqa: E402
import numpy as np  # noqa: E402

QUANTITIES = ("energy_tce", "co2_t", "water_m3")


def scale_of(ds, dim):
    """The dimension scale attached to dimension dim of ds: (label, scale dataset)."""
    return ds.dims[dim].label, ds.dims[dim][0]


def main(path):
    with h5py.File(path, "r") as f:
        s = f["series"]
        energy = s["energy_tce"]
        (rlabel, rows), (clabel, cols) = scale_of(energy, 0), scale_of(energy, 1)
        print("dimensions of /series/energy_tce: %s (%d, scale %s) x %s (%d, scale %s)" %
              (rlabel, energy.shape[0], rows.name.split("/")[-1], clabel, energy.shape[1],
               cols.name.split("/")[-1]))
        months = [int(m) for m in cols[()]]
        # Missing water (no water meter) is NaN: the city's sums skip it, as /city does.
        monthly = {q: np.nansum(s[q][()], axis=0) for q in QUANTITIES}
        coef = f["coefficients"]
        factor = dict(zip((int(m) for m in coef["month"][()]),
                          coef["grid_factor_kgco2_per_kwh"][()]))
        print("month " + " ".join(QUANTITIES) + " grid_factor_kgco2_per_kwh")
        for j, m in enumerate(months):
            print("%d %s %.6g" % (m, " ".join("%.10g" % monthly[q][j] for q in QUANTITIES),
                                  factor[m]))
        print("total " + " ".join("%.10g" % monthly[q].sum() for q in QUANTITIES))
        print("city " + " ".join("%.10g" % f["city"][q][0] for q in QUANTITIES))
        print("peak month (energy_tce): %d" % months[int(np.argmax(monthly["energy_tce"]))])
        if "energy_tce_base" in s:
            _, bcols = scale_of(s["energy_tce_base"], 1)
            b = [np.nansum(s[q + "_base"][()]) for q in QUANTITIES]
            print("baseline %d..%d total %s" % (bcols[0], bcols[-1],
                                                 " ".join("%.10g" % x for x in b)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
