/* tables_h5.c - the reference tables and the applied coefficients in the results file
 * (tables_h5.h). */
#include "tables_h5.h"

#include "csv.h"
#include "h5io.h"
#include "mujun.h"
#include "products.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column kinds, narrowest first: a column takes the widest kind any of its fields needs. */
enum { K_INT = 0, K_FLOAT = 1, K_TEXT = 2, K_AUTO = 3 };

/* What is known about a column of a shipped table: the narrowest kind it may be stored as
 * (a code column is K_TEXT whatever its digits look like), its units and long_name. A
 * column that is not listed is stored by what its fields hold. */
typedef struct {
    const char *table, *column; /* table NULL: any table */
    int kind;
    const char *units, *long_name;
} column_info;

static const column_info known_columns[] = {
    {NULL, "tag", K_TEXT, "", "confidence: C read in the official text, S secondary copy, U unconfirmed default"},
    {NULL, "source", K_TEXT, "", "where the value comes from"},
    {"energy_coefficients", "carrier", K_TEXT, "", "energy carrier"},
    {"energy_coefficients", "unit", K_TEXT, "", "unit of the quantity the coefficient applies to"},
    {"energy_coefficients", "basis", K_TEXT, "", "electricity basis: equivalent (当量值) or equal_value (等价值)"},
    {"energy_coefficients", "kgce_per_unit", K_FLOAT, "kgce per the row's unit", "standard coal equivalent per unit (GB/T 2589-2020)"},
    {"fuel_emission_factors", "carrier", K_TEXT, "", "fuel"},
    {"fuel_emission_factors", "unit", K_TEXT, "", "unit of the quantity the factor applies to"},
    {"fuel_emission_factors", "kgco2_per_unit", K_FLOAT, "kgCO2 per the row's unit", "CO2 emission factor as published"},
    {"fuel_emission_factors", "ncv", K_FLOAT, "see ncv_unit", "net calorific value (documentation)"},
    {"fuel_emission_factors", "ncv_unit", K_TEXT, "", "unit of ncv"},
    {"fuel_emission_factors", "carbon_tc_per_tj", K_FLOAT, "tC/TJ", "carbon content per heat (documentation)"},
    {"fuel_emission_factors", "oxidation", K_FLOAT, "1", "oxidation rate (documentation)"},
    {"grid_emission_factors", "series", K_TEXT, "", "factor series"},
    {"grid_emission_factors", "geography", K_TEXT, "", "grid or province"},
    {"grid_emission_factors", "year", K_INT, "1", "data year"},
    {"grid_emission_factors", "kgco2_per_kwh", K_FLOAT, "kgCO2/kWh", "electricity CO2 emission factor"},
    {"heat_factors", "name", K_TEXT, "", "factor"},
    {"heat_factors", "value", K_FLOAT, "see unit", "value of the factor"},
    {"heat_factors", "unit", K_TEXT, "", "unit of value"},
    {"carbon_levels", "level", K_INT, "1", "carbon level number (1 low, 2 medium, 3 high)"},
    {"carbon_levels", "name", K_TEXT, "", "carbon level name"},
    {"carbon_levels", "upper_bound", K_FLOAT, "tCO2/10^4 CNY", "inclusive upper bound of carbon intensity L (inf: open)"},
    {"carbon_grades", "grade", K_INT, "1", "carbon efficiency grade"},
    {"carbon_grades", "upper_bound", K_FLOAT, "1", "inclusive upper bound of carbon efficiency value K (inf: open)"},
    {"run_defaults", "name", K_TEXT, "", "setting"},
    {"run_defaults", "value", K_FLOAT, "see unit", "default value"},
    {"run_defaults", "unit", K_TEXT, "", "unit of value"},
    {"gbt4754_divisions", "section", K_TEXT, "", "GB/T 4754-2017 section letter"},
    {"gbt4754_divisions", "division", K_TEXT, "", "GB/T 4754-2017 division (2 digits)"},
    {"gbt4754_divisions", "name", K_TEXT, "", "division name"},
    {"districts", "district_code", K_TEXT, "", "administrative division code (GB/T 2260)"},
    {"districts", "name", K_TEXT, "", "district name"},
    {"districts", "city", K_TEXT, "", "city name"},
    {"targets", "target_id", K_TEXT, "", "target"},
    {"targets", "indicator", K_TEXT, "", "energy, co2 or water intensity"},
    {"targets", "scope", K_TEXT, "", "all, city, district or industry"},
    {"targets", "scope_code", K_TEXT, "", "district or industry code of the scope"},
    {"targets", "base_year", K_INT, "1", "base year"},
    {"targets", "target_year", K_INT, "1", "year the target is due"},
    {"targets", "reduction_pct", K_FLOAT, "%", "intensity reduction to reach"},
    {"mujun_profiles", "profile", K_TEXT, "", "亩均 evaluation profile"},
    {"mujun_profiles", "year", K_INT, "1", "evaluation year"},
    {"mujun_profiles", "group", K_TEXT, "", "above (规上) or below (规下) designated size"},
    {"mujun_profiles", "indicator", K_TEXT, "", "indicator or parameter"},
    {"mujun_profiles", "weight", K_FLOAT, "1", "weight of the indicator's score term"},
    {"mujun_profiles", "benchmark", K_FLOAT, "see unit", "benchmark value of the indicator"},
    {"mujun_profiles", "cap", K_FLOAT, "1", "cap of the score term (NaN: none)"},
    {"mujun_profiles", "value", K_FLOAT, "see unit", "value of a parameter row"},
    {"mujun_profiles", "unit", K_TEXT, "", "unit of benchmark or value"},
    {"product_benchmarks", "product", K_TEXT, "", "product id"},
    {"product_benchmarks", "name", K_TEXT, "", "product name"},
    {"product_benchmarks", "output_unit", K_TEXT, "", "unit of output"},
    {"product_benchmarks", "energy_unit", K_TEXT, "", "unit of energy"},
    {"product_benchmarks", "specific_unit", K_TEXT, "", "unit of benchmark and baseline"},
    {"product_benchmarks", "benchmark", K_FLOAT, "see specific_unit", "NDRC benchmark (标杆) level"},
    {"product_benchmarks", "baseline", K_FLOAT, "see specific_unit", "NDRC baseline (基准) level"},
    {"product_benchmarks", "edition", K_INT, "1", "edition year of the NDRC list"},
};

static const struct {
    const char *table, *long_name;
} known_tables[] = {
    {"energy_coefficients", "energy to standard coal coefficients (METHOD.md section 2)"},
    {"fuel_emission_factors", "fuel CO2 emission factors (METHOD.md section 3)"},
    {"grid_emission_factors", "electricity CO2 emission factors by series, geography and data year (METHOD.md section 3)"},
    {"heat_factors", "purchased heat and steam factors (METHOD.md sections 3 and 8)"},
    {"carbon_levels", "carbon level bounds of L (METHOD.md section 4)"},
    {"carbon_grades", "carbon efficiency grade bounds of K (METHOD.md section 4)"},
    {"run_defaults", "run defaults (METHOD.md section 8)"},
    {"gbt4754_divisions", "GB/T 4754-2017 divisions and their sections"},
    {"districts", "administrative divisions (GB/T 2260)"},
    {"targets", "intensity reduction targets of the plans (METHOD.md section 5)"},
    {"mujun_profiles", "亩均 evaluation profiles (METHOD.md section 6)"},
    {"product_benchmarks", "NDRC product energy benchmarks (METHOD.md section 7)"},
};

static const column_info *find_column(const char *table, const char *column)
{
    for (size_t i = 0; i < sizeof known_columns / sizeof known_columns[0]; i++) {
        const column_info *c = &known_columns[i];
        if ((!c->table || strcmp(c->table, table) == 0) && strcmp(c->column, column) == 0)
            return c;
    }
    return NULL;
}

/* ---- one table file in memory ------------------------------------------------------------ */

typedef struct {
    size_t ncols, nrows;
    char **header; /* ncols names */
    char **cell;   /* [row * ncols + col], NUL-terminated copies */
} table;

static void table_free(table *t)
{
    for (size_t k = 0; t->header && k < t->ncols; k++)
        free(t->header[k]);
    for (size_t k = 0; t->cell && k < t->ncols * t->nrows; k++)
        free(t->cell[k]);
    free(t->header);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

static char *dup_field(const tx_field *f)
{
    char *s = malloc(f->len + 1);
    if (s) {
        memcpy(s, f->ptr, f->len);
        s[f->len] = '\0';
    }
    return s;
}

/* Reads a whole file into *buf (malloc'd, *len bytes). */
static int read_file(const char *path, char **buf, size_t *len, tx_err *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tx_err_set(err, TX_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    int rc = b ? TX_OK : tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    while (!rc) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = tx_err_set(err, TX_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return TX_OK;
}

/* A header name must be usable as an HDF5 link name and unique within the table. */
static int header_ok(const table *t, size_t k, const char *name, tx_err *err)
{
    if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0)
        return tx_err_set(err, TX_ETABLE, "column %zu: header name '%s' cannot name a "
                                          "dataset (empty, '.' or with '/')",
                          k + 1, name);
    for (size_t j = 0; j < k; j++)
        if (strcmp(t->header[j], name) == 0)
            return tx_err_set(err, TX_ETABLE, "duplicate column '%s'", name);
    return TX_OK;
}

/* Parses the CSV text into t: the header row (names trimmed of spaces and tabs, as the
 * loaders match them) and every record, which must have the header's width. */
static int table_parse(const char *name, const char *buf, size_t len, table *t, tx_err *err)
{
    memset(t, 0, sizeof *t);
    tx_csv *csv = NULL;
    int rc = tx_csv_open_mem(name, buf, len, &csv, err);
    if (rc)
        return rc;
    tx_csv_row row;
    size_t cap = 0;
    rc = tx_csv_next(csv, &row, err);
    if (rc == 0)
        rc = tx_err_set(err, TX_EPARSE, "%s: empty file, no header", name);
    if (rc == 1) {
        rc = TX_OK;
        t->ncols = row.nfields;
        t->header = calloc(t->ncols ? t->ncols : 1, sizeof *t->header);
        if (!t->header)
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        for (size_t k = 0; !rc && k < t->ncols; k++) {
            tx_field f = row.fields[k];
            while (f.len && (f.ptr[0] == ' ' || f.ptr[0] == '\t'))
                f.ptr++, f.len--;
            while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\t'))
                f.len--;
            if (!(t->header[k] = dup_field(&f)))
                rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            else if ((rc = header_ok(t, k, t->header[k], err)))
                tx_err_prefix(err, "%s", name);
        }
    }
    while (!rc && (rc = tx_csv_next(csv, &row, err)) == 1) {
        rc = TX_OK;
        if (row.nfields != t->ncols) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: %zu fields, the header has %zu", name,
                            (unsigned long long)row.line, row.nfields, t->ncols);
            break;
        }
        if (t->nrows == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **nc = realloc(t->cell, ncap * t->ncols * sizeof *nc + 1);
            if (!nc) {
                rc = tx_err_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            t->cell = nc;
            cap = ncap;
        }
        for (size_t k = 0; k < t->ncols; k++)
            t->cell[t->nrows * t->ncols + k] = NULL;
        t->nrows++;
        for (size_t k = 0; !rc && k < t->ncols; k++)
            if (!(t->cell[(t->nrows - 1) * t->ncols + k] = dup_field(&row.fields[k])))
                rc = tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    tx_csv_free(csv);
    if (rc < 0) {
        table_free(t);
        return rc;
    }
    return TX_OK;
}

/* ---- column kinds -------------------------------------------------------------------------- */

/* A digit string with a redundant leading zero ("01", "-007") is a code, not a number. */
static int leading_zero(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '+' || *s == '-')
        s++;
    return s[0] == '0' && s[1] >= '0' && s[1] <= '9';
}

static int is_inf(const char *s, double *v)
{
    if (strcmp(s, "inf") == 0 || strcmp(s, "+inf") == 0) {
        *v = INFINITY;
        return 1;
    }
    if (strcmp(s, "-inf") == 0) {
        *v = -INFINITY;
        return 1;
    }
    return 0;
}

/* The narrowest kind a field fits: INT, FLOAT (empty, inf, any decimal number) or TEXT. */
static int field_kind(const char *s)
{
    size_t len = strlen(s);
    double d;
    int64_t i;
    if (len == 0 || is_inf(s, &d))
        return K_FLOAT;
    if (leading_zero(s))
        return K_TEXT;
    if (tx_parse_int64(s, len, &i) == 0)
        return K_INT;
    if (tx_parse_double(s, len, &d) == 0 && isfinite(d))
        return K_FLOAT;
    return K_TEXT;
}

static int column_kind(const table *t, size_t k, int floor)
{
    if (floor == K_TEXT)
        return K_TEXT;
    int kind = floor == K_AUTO ? K_INT : floor, all_empty = 1;
    for (size_t r = 0; r < t->nrows; r++) {
        const char *s = t->cell[r * t->ncols + k];
        int fk = field_kind(s);
        if (s[0]) {
            all_empty = 0;
        } else if (kind == K_INT) {
            kind = K_FLOAT; /* an empty integer cell can only be a NaN */
        }
        if (fk > kind)
            kind = fk;
    }
    /* A column of empty cells says nothing about its numbers: text unless declared. */
    if (all_empty && floor == K_AUTO)
        kind = K_TEXT;
    return kind;
}

/* ---- writing ------------------------------------------------------------------------------ */

static int write_table_column(hid_t g, const char *stem, const table *t, size_t k, int level,
                              tx_err *err)
{
    const char *name = t->header[k];
    const column_info *ci = find_column(stem, name);
    int kind = column_kind(t, k, ci ? ci->kind : K_AUTO);
    char long_name[160];
    if (ci)
        snprintf(long_name, sizeof long_name, "%s", ci->long_name);
    else
        snprintf(long_name, sizeof long_name, "column %s of %s.csv", name, stem);
    /* A numeric column of a table the engine does not know has no unit it can name. */
    const char *units = ci ? ci->units : "unknown (column not described by the engine)";
    size_t n = t->nrows, nn = n ? n : 1;
    int rc;
    if (kind == K_TEXT) {
        size_t width = 1;
        for (size_t r = 0; r < n; r++) {
            size_t len = strlen(t->cell[r * t->ncols + k]);
            if (len > width)
                width = len;
        }
        char *buf = calloc(nn, width);
        if (!buf)
            return tx_err_set(err, TX_ENOMEM, "out of memory");
        for (size_t r = 0; r < n; r++) {
            const char *s = t->cell[r * t->ncols + k];
            memcpy(buf + r * width, s, strlen(s));
        }
        rc = tx_h5_write_strings(g, name, buf, width, n, level, long_name, err);
        free(buf);
    } else if (kind == K_INT) {
        int64_t *v = malloc(nn * sizeof *v);
        if (!v)
            return tx_err_set(err, TX_ENOMEM, "out of memory");
        for (size_t r = 0; r < n; r++) {
            const char *s = t->cell[r * t->ncols + k];
            tx_parse_int64(s, strlen(s), &v[r]); /* column_kind checked every field */
        }
        rc = tx_h5_write_column(g, name, H5T_NATIVE_INT64, v, n, level, units, long_name, err);
        free(v);
    } else {
        double *v = malloc(nn * sizeof *v);
        if (!v)
            return tx_err_set(err, TX_ENOMEM, "out of memory");
        for (size_t r = 0; r < n; r++) {
            const char *s = t->cell[r * t->ncols + k];
            if (!s[0])
                v[r] = NAN;
            else if (!is_inf(s, &v[r]))
                tx_parse_double(s, strlen(s), &v[r]);
        }
        rc = tx_h5_write_column(g, name, H5T_NATIVE_DOUBLE, v, n, level, units, long_name, err);
        free(v);
    }
    if (rc)
        tx_err_prefix(err, "/tables/%s/%s", stem, name);
    return rc;
}

/* One table file: read it, check it is the one the run loaded (expected checksum, when
 * known), write its group. */
static int write_table(hid_t tables, const char *dir, const char *file, const uint64_t *expect,
                       int level, tx_err *err)
{
    char path[1024], stem[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(stem, sizeof stem, "%s", file);
    size_t sl = strlen(stem);
    if (sl > 4 && strcmp(stem + sl - 4, ".csv") == 0)
        stem[sl - 4] = '\0';
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    uint64_t sum = tx_fnv1a64(buf, len, TX_FNV_SEED);
    table t;
    memset(&t, 0, sizeof t);
    hid_t g = -1;
    if (expect && sum != *expect) {
        rc = tx_err_set(err, TX_ETABLE, "%s changed while the run was using it (checksum "
                                        "%016llx at load, %016llx now); run again",
                        path, (unsigned long long)*expect, (unsigned long long)sum);
        goto done;
    }
    if ((rc = table_parse(path, buf, len, &t, err)))
        goto done;
    g = tx_h5_group(tables, stem, err);
    if (g < 0) {
        rc = (int)g;
        goto done;
    }
    for (size_t k = 0; !rc && k < t.ncols; k++)
        rc = write_table_column(g, stem, &t, k, level, err);
    /* Attributes: the file, its checksum as the root `tables` records it, the column order
     * (HDF5 lists links by name) and what the table is. */
    char text[1024];
    const char *long_name = NULL;
    for (size_t i = 0; i < sizeof known_tables / sizeof known_tables[0]; i++)
        if (strcmp(known_tables[i].table, stem) == 0)
            long_name = known_tables[i].long_name;
    if (!rc) {
        snprintf(text, sizeof text, "reference table %s", file);
        rc = tx_h5_attr_string(g, "long_name", long_name ? long_name : text, err);
    }
    if (!rc)
        rc = tx_h5_attr_string(g, "file_name", file, err);
    snprintf(text, sizeof text, "fnv1a64:%016llx", (unsigned long long)sum);
    if (!rc)
        rc = tx_h5_attr_string(g, "checksum", text, err);
    if (!rc)
        rc = tx_h5_attr_int64(g, "bytes", (int64_t)len, err);
    if (!rc)
        rc = tx_h5_attr_int64(g, "rows", (int64_t)t.nrows, err);
    if (!rc) {
        size_t need = 1;
        for (size_t k = 0; k < t.ncols; k++)
            need += strlen(t.header[k]) + 1;
        char *cols = malloc(need);
        if (!cols) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        } else {
            size_t off = 0;
            cols[0] = '\0';
            for (size_t k = 0; k < t.ncols; k++)
                off += (size_t)sprintf(cols + off, "%s%s", k ? "," : "", t.header[k]);
            rc = tx_h5_attr_string(g, "columns", cols, err);
            free(cols);
        }
    }
done:
    if (g >= 0)
        H5Gclose(g);
    table_free(&t);
    free(buf);
    return rc;
}

/* /coefficients: what each month of the period and of the baseline was converted with. */
static int write_coefficients(hid_t file, const tx_period *per, const tx_coefs *coefs,
                              const tx_period *base, const tx_coefs *base_coefs, int level,
                              tx_err *err)
{
    const tx_period *pers[2] = {per, base};
    const tx_coefs *cs[2] = {coefs, base ? base_coefs : NULL};
    size_t n = 0;
    int32_t month[2 * TX_MAX_BINS], gyear[2 * TX_MAX_BINS];
    uint8_t which[2 * TX_MAX_BINS];
    double grid[2 * TX_MAX_BINS], v[2 * TX_MAX_BINS];
    const tx_coefs *row[2 * TX_MAX_BINS];
    for (int k = 0; k < 2; k++) {
        if (!pers[k] || !cs[k])
            continue;
        for (int m = 0; m < pers[k]->nmonths && m < TX_MAX_BINS; m++) {
            int y, mo;
            tx_period_month(pers[k], m, &y, &mo);
            month[n] = y * 100 + mo;
            which[n] = (uint8_t)k;
            row[n] = &cs[k][m];
            grid[n] = cs[k][m].grid_kgco2_per_kwh;
            gyear[n] = cs[k][m].grid_year_used;
            n++;
        }
    }
    hid_t g = tx_h5_group(file, "coefficients", err);
    if (g < 0)
        return (int)g;
    int rc = tx_h5_write_column(g, "month", H5T_NATIVE_INT32, month, n, level, "1",
                                "month as YYYYMM (local time): the row dimension", err);
    if (!rc)
        rc = tx_h5_write_column(g, "period", H5T_NATIVE_UINT8, which, n, level, "1",
                                "the period the month belongs to", err);
    if (!rc) {
        hid_t d = H5Dopen2(g, "period", H5P_DEFAULT);
        static const uint8_t pv[] = {0, 1};
        rc = d < 0 ? tx_h5_fail(err, "cannot open /coefficients/period")
                   : tx_h5_attr_flags(d, pv, 2, "report baseline", err);
        if (d >= 0)
            H5Dclose(d);
    }
    if (!rc)
        rc = tx_h5_write_column(g, "grid_factor_kgco2_per_kwh", H5T_NATIVE_DOUBLE, grid, n,
                                level, "kgCO2/kWh", "electricity CO2 factor applied to the month",
                                err);
    if (!rc)
        rc = tx_h5_write_column(g, "grid_factor_year", H5T_NATIVE_INT32, gyear, n, level, "1",
                                "data year of the grid factor row used (the month's year, else "
                                "the latest earlier, else the earliest)",
                                err);
    for (int c = 0; !rc && c < TX_CARRIER_COUNT; c++) {
        if (c == TX_CARRIER_WATER)
            continue; /* water is counted as it is: 1 m3 per m3 */
        const char *unit = tx_unit_name(tx_carrier_canonical_unit(c));
        char lunit[16], name[64], units[32], long_name[160];
        size_t j = 0;
        for (; unit[j] && j + 1 < sizeof lunit; j++)
            lunit[j] = (char)(unit[j] >= 'A' && unit[j] <= 'Z' ? unit[j] - 'A' + 'a' : unit[j]);
        lunit[j] = '\0';
        for (int q = 0; !rc && q < 2; q++) {
            for (size_t i = 0; i < n; i++)
                v[i] = q == 0 ? row[i]->tce[c] : row[i]->tco2[c];
            snprintf(name, sizeof name, "%s_%s_per_%s", tx_carrier_name(c),
                     q == 0 ? "tce" : "tco2", lunit);
            snprintf(units, sizeof units, "%s/%s", q == 0 ? "tce" : "tCO2", unit);
            if (q == 0 && c == TX_CARRIER_ELECTRICITY)
                snprintf(long_name, sizeof long_name,
                         "tce per kWh of electricity applied, on the run's electricity_basis");
            else if (q == 1 && c == TX_CARRIER_PV_GENERATION)
                snprintf(long_name, sizeof long_name,
                         "tCO2 per kWh of PV generation applied (0 under pv_policy grid_only, "
                         "minus the grid factor under subtract)");
            else
                snprintf(long_name, sizeof long_name, "%s per %s of %s applied",
                         q == 0 ? "tce" : "tCO2", unit, tx_carrier_name(c));
            rc = tx_h5_write_column(g, name, H5T_NATIVE_DOUBLE, v, n, level, units, long_name,
                                    err);
            if (!rc)
                rc = tx_h5_dimension_scale(g, name, 0, "month", "month", err);
        }
    }
    static const char *const others[] = {"period", "grid_factor_kgco2_per_kwh",
                                         "grid_factor_year"};
    for (size_t i = 0; !rc && i < sizeof others / sizeof others[0]; i++)
        rc = tx_h5_dimension_scale(g, others[i], 0, "month", "month", err);
    if (!rc)
        rc = tx_h5_attr_string(g, "long_name",
                               "coefficients applied per month of the period and of the "
                               "baseline (from /tables, by the run's options)",
                               err);
    H5Gclose(g);
    return rc;
}

int tx_tables_h5_write(hid_t file, const tx_tables *t, const tx_period *per,
                       const tx_coefs *coefs, const tx_period *base,
                       const tx_coefs *base_coefs, int level, tx_err *err)
{
    if (!t || !per || !coefs)
        return tx_err_set(err, TX_EINVAL, "tx_tables_h5_write: missing tables or period");
    hid_t g = tx_h5_group(file, "tables", err);
    if (g < 0)
        return (int)g;
    int rc = tx_h5_attr_string(g, "long_name", "the reference tables the run read, column by "
                                               "column as in their CSV files",
                               err);
    if (!rc)
        rc = tx_h5_attr_string(g, "directory", t->dir, err);
    for (int i = 0; !rc && i < TX_TABLES_NFILES; i++)
        rc = write_table(g, t->dir, t->file_name[i], &t->file_checksum[i], level, err);
    /* Read by the 亩均 evaluation and the product benchmarks from the same directory; their
     * loaders keep no checksum the run records, so the bytes read here are the record. */
    static const char *const more[] = {TX_MUJUN_FILE, TX_PRODUCTS_FILE};
    for (size_t i = 0; !rc && i < sizeof more / sizeof more[0]; i++)
        rc = write_table(g, t->dir, more[i], NULL, level, err);
    H5Gclose(g);
    if (!rc)
        rc = write_coefficients(file, per, coefs, base, base_coefs, level, err);
    return rc;
}
