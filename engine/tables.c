/* tables.c - loading the reference tables of METHOD.md from CSV files with sources. */
#include "tables.h"

#include <xxhash.h>

#include <errno.h>
#include <unistd.h>

#include "csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t tx_fnv1a64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

int tx_file_checksum(const char *path, uint64_t *sum, uint64_t *size, tx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tx_err_set(err, TX_EIO, "%s: cannot open for checksum", path);
    static const size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    uint64_t h = TX_FNV_SEED, total = 0;
    size_t got;
    while ((got = fread(buf, 1, cap, f)) > 0) {
        h = tx_fnv1a64(buf, got, h);
        total += got;
    }
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad)
        return tx_err_set(err, TX_EIO, "%s: read error", path);
    *sum = h;
    if (size)
        *size = total;
    return TX_OK;
}

int tx_fd_xxh3(int fd, const char *name, uint64_t *sum, uint64_t *size, tx_err *err)
{
    /* Read through one 1 MiB buffer (pread: no file offset shared with other users of fd).
     * A mapping would spare the copy but costs a page-table entry and a fault per 4 KiB
     * page, which in the development machine's virtual machine is the dearer: 3.07 GB in
     * 1.7 s mapped (16 MiB windows), 1.5 s mapped with MAP_POPULATE, 0.44 s read. */
    const size_t cap = (size_t)1 << 20;
    unsigned char *buf = malloc(cap);
    XXH3_state_t *xs = buf ? XXH3_createState() : NULL;
    if (!xs) {
        free(buf);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", name);
    }
    XXH3_64bits_reset(xs);
    uint64_t total = 0;
    for (;;) {
        ssize_t got = pread(fd, buf, cap, (off_t)total);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            XXH3_freeState(xs);
            free(buf);
            return tx_err_set(err, TX_EIO, "%s: cannot read for checksum (%s)", name,
                              strerror(e));
        }
        if (got == 0)
            break;
        XXH3_64bits_update(xs, buf, (size_t)got);
        total += (uint64_t)got;
    }
    free(buf);
    uint64_t h = XXH3_64bits_digest(xs);
    XXH3_freeState(xs);
    *sum = h;
    if (size)
        *size = total;
    return TX_OK;
}

/* One table file being read: the reader and its column map. */
typedef struct {
    tx_csv *csv;
    int col[8];
    const char *name;
} table_file;

static int table_open(tx_tables *t, int slot, const char *file, const char *const *cols,
                      size_t ncols, table_file *tf, tx_err *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", t->dir, file);
    snprintf(t->file_name[slot], sizeof t->file_name[slot], "%s", file);
    int rc = tx_file_checksum(path, &t->file_checksum[slot], NULL, err);
    if (rc)
        return rc;
    rc = tx_csv_open(path, &tf->csv, err);
    if (rc)
        return rc;
    uint8_t req[8];
    for (size_t k = 0; k < ncols; k++)
        req[k] = 1;
    rc = tx_csv_header(tf->csv, cols, req, ncols, tf->col, NULL, NULL, 0, err);
    if (rc) {
        tx_csv_free(tf->csv);
        tf->csv = NULL;
    }
    tf->name = file;
    return rc;
}

static int field_number(const tx_csv_row *row, const table_file *tf, int k, double *out,
                        tx_err *err)
{
    const tx_field *f = &row->fields[tf->col[k]];
    if ((f->len == 3 && memcmp(f->ptr, "inf", 3) == 0)) {
        *out = INFINITY;
        return TX_OK;
    }
    if (tx_parse_double(f->ptr, f->len, out) || !isfinite(*out))
        return tx_err_set(err, TX_ETABLE, "%s:%llu: not a number: '%.*s'",
                          tx_csv_name(tf->csv), (unsigned long long)row->line, (int)f->len,
                          f->ptr);
    return TX_OK;
}

static int row_fields_ok(const tx_csv_row *row, const table_file *tf, size_t ncols,
                         tx_err *err)
{
    for (size_t k = 0; k < ncols; k++)
        if (tf->col[k] < 0 || (size_t)tf->col[k] >= row->nfields)
            return tx_err_set(err, TX_ETABLE, "%s:%llu: too few fields",
                              tx_csv_name(tf->csv), (unsigned long long)row->line);
    return TX_OK;
}

/* Reads rows of carrier,unit,<value column> into per-carrier values in canonical units. */
static int load_carrier_values(tx_tables *t, int slot, const char *file, const char *vcol,
                               const char *basis_col_value, double *per_carrier,
                               double *equal_value, tx_err *err)
{
    const char *cols3[] = {"carrier", "unit", vcol, "basis"};
    size_t ncols = basis_col_value ? 4 : 3;
    table_file tf;
    int rc = table_open(t, slot, file, cols3, ncols, &tf, err);
    if (rc)
        return rc;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        if ((rc = row_fields_ok(&row, &tf, ncols, err)))
            break;
        const tx_field *fc = &row.fields[tf.col[0]], *fu = &row.fields[tf.col[1]];
        int carrier = tx_carrier_parse(fc->ptr, fc->len);
        int unit = tx_unit_parse(fu->ptr, fu->len);
        if (carrier < 0 || unit < 0 || !tx_unit_fits_carrier(unit, carrier)) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: unknown carrier or unit '%.*s' '%.*s'",
                            file, (unsigned long long)row.line, (int)fc->len, fc->ptr,
                            (int)fu->len, fu->ptr);
            break;
        }
        double v;
        if ((rc = field_number(&row, &tf, 2, &v, err)))
            break;
        v /= tx_unit_to_canonical(unit); /* per kg, not per t */
        if (basis_col_value) {
            const tx_field *fb = &row.fields[tf.col[3]];
            if (tx_field_is(fb, "equal_value") && carrier == TX_CARRIER_ELECTRICITY) {
                *equal_value = v;
                continue;
            }
            if (!tx_field_is(fb, basis_col_value)) {
                rc = tx_err_set(err, TX_ETABLE, "%s:%llu: unknown basis '%.*s'", file,
                                (unsigned long long)row.line, (int)fb->len, fb->ptr);
                break;
            }
        }
        per_carrier[carrier] = v;
    }
    tx_csv_free(tf.csv);
    return rc < 0 ? rc : TX_OK;
}

/* Reads class bounds (class number, upper_bound) in ascending order; the last open. */
static int load_bounds(tx_tables *t, int slot, const char *file, const char *classcol,
                       double *bounds, size_t *nbounds, tx_err *err)
{
    const char *cols[] = {classcol, "upper_bound"};
    table_file tf;
    int rc = table_open(t, slot, file, cols, 2, &tf, err);
    if (rc)
        return rc;
    tx_csv_row row;
    size_t n = 0;
    double prev = -INFINITY;
    int saw_open = 0;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        if ((rc = row_fields_ok(&row, &tf, 2, err)))
            break;
        double cls, ub;
        if ((rc = field_number(&row, &tf, 0, &cls, err)) ||
            (rc = field_number(&row, &tf, 1, &ub, err)))
            break;
        if (cls != (double)(n + 1) || ub <= prev || saw_open) {
            rc = tx_err_set(err, TX_ETABLE,
                            "%s:%llu: classes must be numbered 1, 2, ... with ascending bounds",
                            file, (unsigned long long)row.line);
            break;
        }
        if (isinf(ub)) {
            saw_open = 1;
        } else {
            if (n >= TX_TABLES_MAX_BOUNDS) {
                rc = tx_err_set(err, TX_ETABLE, "%s: too many classes", file);
                break;
            }
            bounds[n] = ub;
        }
        n++;
        prev = ub;
    }
    tx_csv_free(tf.csv);
    if (rc < 0)
        return rc;
    if (!saw_open || n < 2)
        return tx_err_set(err, TX_ETABLE, "%s: the last class must have upper_bound inf", file);
    *nbounds = n - 1;
    return TX_OK;
}

static int load_named_values(tx_tables *t, int slot, const char *file, const char *const *names,
                             double *const *out, size_t nnames, tx_err *err)
{
    const char *cols[] = {"name", "value"};
    table_file tf;
    int rc = table_open(t, slot, file, cols, 2, &tf, err);
    if (rc)
        return rc;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        if ((rc = row_fields_ok(&row, &tf, 2, err)))
            break;
        const tx_field *fn = &row.fields[tf.col[0]];
        for (size_t k = 0; k < nnames; k++)
            if (tx_field_is(fn, names[k]) && (rc = field_number(&row, &tf, 1, out[k], err)))
                break;
        if (rc)
            break;
    }
    tx_csv_free(tf.csv);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < nnames; k++)
        if (isnan(*out[k]))
            return tx_err_set(err, TX_ETABLE, "%s/%s: no row named '%s'", t->dir, file,
                              names[k]);
    return TX_OK;
}

static int load_grid(tx_tables *t, int slot, tx_err *err)
{
    const char *file = "grid_emission_factors.csv";
    const char *cols[] = {"series", "geography", "year", "kgco2_per_kwh"};
    table_file tf;
    int rc = table_open(t, slot, file, cols, 4, &tf, err);
    if (rc)
        return rc;
    size_t cap = 0;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        if ((rc = row_fields_ok(&row, &tf, 4, err)))
            break;
        if (t->ngrid == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            tx_grid_factor *g = realloc(t->grid, ncap * sizeof *g);
            if (!g) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", file);
                break;
            }
            t->grid = g;
            cap = ncap;
        }
        tx_grid_factor *g = &t->grid[t->ngrid];
        double year;
        if ((rc = field_number(&row, &tf, 2, &year, err)) ||
            (rc = field_number(&row, &tf, 3, &g->kgco2_per_kwh, err)))
            break;
        g->year = (int)year;
        tx_field_copy(&row.fields[tf.col[0]], g->series, sizeof g->series);
        tx_field_copy(&row.fields[tf.col[1]], g->geography, sizeof g->geography);
        t->ngrid++;
    }
    tx_csv_free(tf.csv);
    return rc < 0 ? rc : TX_OK;
}

static int load_divisions(tx_tables *t, int slot, tx_err *err)
{
    const char *file = "gbt4754_divisions.csv";
    const char *cols[] = {"section", "division"};
    table_file tf;
    int rc = table_open(t, slot, file, cols, 2, &tf, err);
    if (rc)
        return rc;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        if ((rc = row_fields_ok(&row, &tf, 2, err)))
            break;
        const tx_field *fs = &row.fields[tf.col[0]];
        int64_t div;
        if (fs->len != 1 || tx_parse_int64(row.fields[tf.col[1]].ptr, row.fields[tf.col[1]].len,
                                           &div) ||
            div < 1 || div > 99) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: bad section or division", file,
                            (unsigned long long)row.line);
            break;
        }
        t->division_section[div] = fs->ptr[0];
    }
    tx_csv_free(tf.csv);
    return rc < 0 ? rc : TX_OK;
}

static int load_districts(tx_tables *t, int slot, tx_err *err)
{
    /* Read for provenance and shape only: district codes outside it are still accepted
     * (the table lists Ningbo's; a user may run another city). */
    const char *cols[] = {"district_code"};
    table_file tf;
    int rc = table_open(t, slot, "districts.csv", cols, 1, &tf, err);
    if (rc)
        return rc;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        char code[7];
        if ((rc = row_fields_ok(&row, &tf, 1, err)))
            break;
        if (tx_district_normalise(row.fields[tf.col[0]].ptr, row.fields[tf.col[0]].len, code)) {
            rc = tx_err_set(err, TX_ETABLE, "districts.csv:%llu: bad district code",
                            (unsigned long long)row.line);
            break;
        }
    }
    tx_csv_free(tf.csv);
    return rc < 0 ? rc : TX_OK;
}

static int load_targets(tx_tables *t, int slot, tx_err *err)
{
    const char *file = "targets.csv";
    const char *cols[] = {"target_id", "indicator", "scope", "scope_code", "base_year",
                          "target_year", "reduction_pct"};
    table_file tf;
    int rc = table_open(t, slot, file, cols, 7, &tf, err);
    if (rc)
        return rc;
    size_t cap = 0;
    tx_csv_row row;
    while ((rc = tx_csv_next(tf.csv, &row, err)) == 1) {
        rc = 0;
        if ((rc = row_fields_ok(&row, &tf, 7, err)))
            break;
        if (t->ntargets == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            tx_target *nt = realloc(t->targets, ncap * sizeof *nt);
            if (!nt) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", file);
                break;
            }
            t->targets = nt;
            cap = ncap;
        }
        tx_target *g = &t->targets[t->ntargets];
        memset(g, 0, sizeof *g);
        const tx_field *fi = &row.fields[tf.col[1]], *fs = &row.fields[tf.col[2]];
        static const char *const inds[] = {"energy", "co2", "water"};
        static const char *const scopes[] = {"all", "city", "district", "industry"};
        g->indicator = g->scope = -1;
        for (int k = 0; k < 3; k++)
            if (tx_field_is(fi, inds[k]))
                g->indicator = k;
        for (int k = 0; k < 4; k++)
            if (tx_field_is(fs, scopes[k]))
                g->scope = k;
        double by, ty;
        if ((rc = field_number(&row, &tf, 4, &by, err)) ||
            (rc = field_number(&row, &tf, 5, &ty, err)) ||
            (rc = field_number(&row, &tf, 6, &g->reduction_pct, err)))
            break;
        g->base_year = (int)by;
        g->target_year = (int)ty;
        if (g->indicator < 0 || g->scope < 0 || g->target_year <= g->base_year ||
            !tx_field_copy(&row.fields[tf.col[0]], g->id, sizeof g->id) ||
            !tx_field_copy(&row.fields[tf.col[3]], g->scope_code, sizeof g->scope_code) ||
            ((g->scope == TX_SCOPE_DISTRICT || g->scope == TX_SCOPE_INDUSTRY) &&
             !g->scope_code[0])) {
            rc = tx_err_set(err, TX_ETABLE,
                            "%s:%llu: bad target (indicator energy|co2|water, scope "
                            "all|city|district|industry with a code, target_year after "
                            "base_year)",
                            file, (unsigned long long)row.line);
            break;
        }
        t->ntargets++;
    }
    tx_csv_free(tf.csv);
    return rc < 0 ? rc : TX_OK;
}

int tx_tables_load(const char *dir, tx_tables *t, tx_err *err)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    for (int c = 0; c < TX_CARRIER_COUNT; c++)
        t->kgce[c] = t->kgco2[c] = NAN;
    t->kgce_per_kwh_equal_value = NAN;
    t->heat_tco2_per_gj = t->feedwater_kj_per_kg = t->steam_enthalpy_kj_per_kg = NAN;
    t->coverage_min = t->rollover_fraction = NAN;
    t->implausible_median_factor = t->stuck_hours = t->align_tolerance_s = NAN;
    double members = NAN;

    int rc = load_carrier_values(t, 0, "energy_coefficients.csv", "kgce_per_unit",
                                 "equivalent", t->kgce, &t->kgce_per_kwh_equal_value, err);
    if (!rc)
        rc = load_carrier_values(t, 1, "fuel_emission_factors.csv", "kgco2_per_unit", NULL,
                                 t->kgco2, NULL, err);
    if (!rc)
        rc = load_grid(t, 2, err);
    if (!rc) {
        const char *names[] = {"purchased_heat_co2", "feedwater_enthalpy",
                               "steam_enthalpy_default"};
        double *outs[] = {&t->heat_tco2_per_gj, &t->feedwater_kj_per_kg,
                          &t->steam_enthalpy_kj_per_kg};
        rc = load_named_values(t, 3, "heat_factors.csv", names, outs, 3, err);
    }
    if (!rc)
        rc = load_bounds(t, 4, "carbon_levels.csv", "level", t->level_bounds,
                         &t->nlevel_bounds, err);
    if (!rc)
        rc = load_bounds(t, 5, "carbon_grades.csv", "grade", t->grade_bounds,
                         &t->ngrade_bounds, err);
    if (!rc) {
        const char *names[] = {"coverage_min",       "benchmark_min_members",
                               "rollover_fraction",  "implausible_median_factor",
                               "stuck_hours",        "align_tolerance_seconds"};
        double *outs[] = {&t->coverage_min,      &members,          &t->rollover_fraction,
                          &t->implausible_median_factor, &t->stuck_hours,
                          &t->align_tolerance_s};
        rc = load_named_values(t, 6, "run_defaults.csv", names, outs, 6, err);
        t->benchmark_min_members = (int)members;
    }
    if (!rc)
        rc = load_divisions(t, 7, err);
    if (!rc)
        rc = load_districts(t, 8, err);
    if (!rc)
        rc = load_targets(t, 9, err);
    if (!rc && isnan(t->kgce[TX_CARRIER_ELECTRICITY]))
        rc = tx_err_set(err, TX_ETABLE, "%s/energy_coefficients.csv: no electricity row", dir);
    if (!rc && isnan(t->kgce_per_kwh_equal_value))
        rc = tx_err_set(err, TX_ETABLE,
                        "%s/energy_coefficients.csv: no electricity equal_value row", dir);
    if (!rc && t->ngrid == 0)
        rc = tx_err_set(err, TX_ETABLE, "%s/grid_emission_factors.csv: no rows", dir);
    if (rc)
        tx_tables_destroy(t);
    return rc;
}

void tx_tables_destroy(tx_tables *t)
{
    if (!t)
        return;
    free(t->grid);
    t->grid = NULL;
    t->ngrid = 0;
    free(t->targets);
    t->targets = NULL;
    t->ntargets = 0;
}

int tx_tables_grid_factor(const tx_tables *t, const char *series, const char *geography,
                          int year, double *kgco2_per_kwh, int *year_used, tx_err *err)
{
    const tx_grid_factor *exact = NULL, *earlier = NULL, *earliest = NULL;
    for (size_t i = 0; i < t->ngrid; i++) {
        const tx_grid_factor *g = &t->grid[i];
        if (strcmp(g->series, series) != 0 || strcmp(g->geography, geography) != 0)
            continue;
        if (g->year == year)
            exact = g;
        else if (g->year < year && (!earlier || g->year > earlier->year))
            earlier = g;
        if (!earliest || g->year < earliest->year)
            earliest = g;
    }
    const tx_grid_factor *use = exact ? exact : earlier ? earlier : earliest;
    if (!use)
        return tx_err_set(err, TX_ENOTFOUND,
                          "grid_emission_factors.csv: no factor for series '%s', geography '%s'",
                          series, geography);
    *kgco2_per_kwh = use->kgco2_per_kwh;
    *year_used = use->year;
    return TX_OK;
}
