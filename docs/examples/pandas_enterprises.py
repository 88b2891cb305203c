#!/usr/bin/python3
"""/enterprise as a pandas DataFrame: strings decoded, codes as categoricals named by their
flag_meanings; enterprises by industry and grade; district intensities recomputed as ratios
of sums and compared with /district.

usage: pandas_enterprises.py RESULTS.h5

Prints (see docs/RESEARCHERS.md):
    enterprises: N
    enterprises by industry (2-digit division) and carbon_grade:
    <table: one row per division, one column per grade meaning, counts>
    district intensities over rated enterprises (ratio of sums) vs /district:
    <table: district_code, n_rated, then for energy, carbon and water: recomputed, file>
    max relative difference: x
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Before h5py is imported: HDF5 reads HDF5_PLUGIN_PATH once (docs/RESEARCHERS.md).
os.environ.setdefault("HDF5_PLUGIN_PATH",
                      os.path.normpath(os.path.join(HERE, "..", "..", "build", "plugin")))
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def group_frame(g):
    """Every 1-D dataset of a group as a column; fixed-length strings decoded from UTF-8;
    datasets with flag_values/flag_meanings as categoricals whose categories are the
    meanings in flag order (bit sets, flag_masks, stay numbers)."""
    cols = {}
    for name, ds in g.items():
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 1:
            continue
        data = ds[()]
        if data.dtype.kind == "S":
            cols[name] = pd.Series([x.decode("utf-8") for x in data], dtype="object")
        elif "flag_meanings" in ds.attrs and "flag_masks" not in ds.attrs:
            values = [int(v) for v in np.atleast_1d(ds.attrs["flag_values"])]
            meanings = text(ds.attrs["flag_meanings"]).split()
            cols[name] = pd.Series(data).map(dict(zip(values, meanings))).astype(
                pd.CategoricalDtype(meanings, ordered=True))
        else:
            cols[name] = pd.Series(data)
    return pd.DataFrame(cols)


def main(path):
    with h5py.File(path, "r") as f:
        ent = group_frame(f["enterprise"])
        dist = group_frame(f["district"])
        coverage_min = float(f.attrs["coverage_min"])
    print("enterprises: %d" % len(ent))

    # Enterprises by industry and grade: every grade meaning is a column, even when empty.
    ent["division"] = ent["industry_code"].str[:2]
    table = pd.crosstab(ent["division"], ent["carbon_grade"], dropna=False)
    table = table.reindex(columns=ent["carbon_grade"].cat.categories, fill_value=0)
    table.columns = list(table.columns)  # plain names, not a CategoricalIndex
    table.index.name = "industry"
    print("enterprises by industry (2-digit division) and carbon_grade:")
    print(table.to_string())

    # Aggregates are ratios of sums over the rated enterprises (METHOD.md section 8):
    # OK or NO_BENCHMARK (complete data, VA > 0) and above designated size (规上).
    rated = ent[ent["status"].isin(["OK", "NO_BENCHMARK"]) &
                (ent["above_scale"] == "above_scale")]
    sums = rated.groupby("district_code")[["energy_tce", "co2_t", "value_added"]].sum()
    sums["n_rated"] = rated.groupby("district_code").size()
    # Water intensity: rated enterprises whose water data are complete.
    wet = rated[(rated["water_coverage"] >= coverage_min) & rated["water_m3"].notna()]
    wsum = wet.groupby("district_code")[["water_m3", "value_added"]].sum()
    out = pd.DataFrame({"district_code": dist["district_code"]}).set_index("district_code")
    out["n_rated"] = sums["n_rated"].reindex(out.index).fillna(0).astype(int)
    out["energy_intensity"] = (sums["energy_tce"] / sums["value_added"]).reindex(out.index)
    out["energy_file"] = dist.set_index("district_code")["energy_intensity"]
    out["carbon_intensity"] = (sums["co2_t"] / sums["value_added"]).reindex(out.index)
    out["carbon_file"] = dist.set_index("district_code")["carbon_intensity"]
    out["water_intensity"] = (wsum["water_m3"] / wsum["value_added"]).reindex(out.index)
    out["water_file"] = dist.set_index("district_code")["water_intensity"]
    print("district intensities over rated enterprises (ratio of sums) vs /district:")
    print(out.to_string(float_format=lambda x: "%.10g" % x))

    worst = 0.0
    for mine, theirs in (("energy_intensity", "energy_file"), ("carbon_intensity", "carbon_file"),
                         ("water_intensity", "water_file")):
        a, b = out[mine].to_numpy(), out[theirs].to_numpy()
        both = ~np.isnan(a) & ~np.isnan(b)
        if np.any(np.isnan(a) != np.isnan(b)):
            worst = float("inf")  # one side has a value the other lacks
        if both.any():
            worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / np.abs(b[both]))))
    print("max relative difference: %.3g" % worst)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
