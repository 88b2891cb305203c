#!/usr/bin/python3
"""Statuses, carbon-efficiency grades and the city's totals of a results file, with h5py.

usage: read_grades.py RESULTS.h5

Prints (see docs/RESEARCHERS.md):
    results: RESULTS.h5
    period: 2025  baseline: 2020
    enterprises: N
    status <meaning>: count          one line per flag of /enterprise/status
    carbon_grade <meaning>: count    one line per flag of /enterprise/carbon_grade
    city <dataset>: value units      energy_tce, co2_t, value_added, carbon_intensity
"""
import os
import sys

# The results are compressed with the zstd filter (HDF5 filter 32015), which HDF5 loads as
# a plugin from the directories in HDF5_PLUGIN_PATH. HDF5 reads that variable once per
# process, when it first sets up its plugin search path, so it is set here before h5py is
# imported. Default: the plugin of a build in build/ of this repository.
HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("HDF5_PLUGIN_PATH",
                      os.path.normpath(os.path.join(HERE, "..", "..", "build", "plugin")))
import h5py  # noqa: E402  (after HDF5_PLUGIN_PATH)
import numpy as np  # noqa: E402


def text(v):
    """Attributes and fixed-length strings come back as bytes or str: UTF-8 either way."""
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def flags(ds):
    """CF flag_values / flag_meanings of a code dataset as {value: meaning}."""
    values = [int(v) for v in np.atleast_1d(ds.attrs["flag_values"])]
    return dict(zip(values, text(ds.attrs["flag_meanings"]).split()))


def main(path):
    with h5py.File(path, "r") as f:
        print("results: %s" % path)
        print("period: %s  baseline: %s" % (text(f.attrs["period"]),
                                            text(f.attrs["baseline"]) or "-"))
        ent = f["enterprise"]
        print("enterprises: %d" % len(ent["enterprise_id"]))
        for name in ("status", "carbon_grade"):
            codes = ent[name][()]
            for value, meaning in flags(ent[name]).items():
                print("%s %s: %d" % (name, meaning, int(np.count_nonzero(codes == value))))
        for name in ("energy_tce", "co2_t", "value_added", "carbon_intensity"):
            d = f["city"][name]
            print("city %s: %.10g %s" % (name, d[0], text(d.attrs["units"])))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
