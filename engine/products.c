/* products.c - product energy benchmarks (METHOD.md section 7): the table, products.csv and
 * the classification of product lines over a period. */
#include "products.h"

#include "tables.h"
#include "tx_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tx_products_class_name(int cls)
{
    switch (cls) {
#define TX_PRODUCT_CLASS_NAME_(name, code, msg)                                              \
    case code:                                                                              \
        return msg;
        TX_PRODUCT_CLASS_MAP(TX_PRODUCT_CLASS_NAME_)
#undef TX_PRODUCT_CLASS_NAME_
    }
    return "unknown class";
}

const char *tx_products_why_message(int why)
{
    static const char *const msg[] = {
#define TX_PRODUCT_WHY_MSG_(name, text) text,
        TX_PRODUCT_WHY_MAP(TX_PRODUCT_WHY_MSG_)
#undef TX_PRODUCT_WHY_MSG_
    };
    if (why < 0 || why >= TX_PRODUCT_WHY_COUNT)
        return "unknown reason";
    return msg[why];
}

/* ---- field helpers (the conventions of inputs.c) ---------------------------------------- */

static tx_field trim(tx_field f)
{
    while (f.len && (f.ptr[0] == ' ' || f.ptr[0] == '\t'))
        f.ptr++, f.len--;
    while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\t'))
        f.len--;
    return f;
}

/* ---- the reference table ---------------------------------------------------------------- */

enum { TB_PRODUCT, TB_NAME, TB_OUTPUT_UNIT, TB_ENERGY_UNIT, TB_SPECIFIC_UNIT, TB_BENCHMARK,
       TB_BASELINE, TB_EDITION, TB_TAG, TB_SOURCE, TB_NCOLS };

static const char *const table_cols[TB_NCOLS] = {
    "product",  "name",     "output_unit", "energy_unit", "specific_unit",
    "benchmark", "baseline", "edition",     "tag",         "source"};

static int valid_id(const tx_field *f)
{
    if (f->len == 0 || f->len >= TX_PRODUCT_ID_CAP)
        return 0;
    for (size_t i = 0; i < f->len; i++) {
        char ch = f->ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

/* Checks and stores one table row; a message without the "file:line: " prefix on error. */
static const char *table_row(const tx_csv_row *row, const int *col, tx_products *t)
{
    for (int k = 0; k < TB_NCOLS; k++)
        if ((size_t)col[k] >= row->nfields)
            return "too few fields";
    tx_field f[TB_NCOLS];
    for (int k = 0; k < TB_NCOLS; k++)
        f[k] = trim(row->fields[col[k]]);
    if (t->n >= TX_PRODUCTS_MAX)
        return "too many products (at most 64)";
    tx_product *p = &t->p[t->n];
    memset(p, 0, sizeof *p);
    if (!valid_id(&f[TB_PRODUCT]))
        return "product id must be 1..31 characters of a-z, 0-9 and _";
    if (tx_products_find(t, f[TB_PRODUCT].ptr, f[TB_PRODUCT].len) >= 0)
        return "duplicate product id";
    tx_field_copy(&f[TB_PRODUCT], p->id, sizeof p->id);
    if (f[TB_NAME].len == 0 || !tx_field_copy(&f[TB_NAME], p->name, sizeof p->name))
        return "name must be 1..95 bytes";
    if (f[TB_OUTPUT_UNIT].len == 0 || f[TB_ENERGY_UNIT].len == 0 ||
        f[TB_SPECIFIC_UNIT].len == 0 ||
        !tx_field_copy(&f[TB_OUTPUT_UNIT], p->output_unit, sizeof p->output_unit) ||
        !tx_field_copy(&f[TB_ENERGY_UNIT], p->energy_unit, sizeof p->energy_unit) ||
        !tx_field_copy(&f[TB_SPECIFIC_UNIT], p->specific_unit, sizeof p->specific_unit))
        return "units must be 1..47 bytes";
    if (tx_parse_double(f[TB_BENCHMARK].ptr, f[TB_BENCHMARK].len, &p->benchmark) ||
        !isfinite(p->benchmark) || !(p->benchmark > 0))
        return "benchmark must be a finite number > 0";
    if (tx_parse_double(f[TB_BASELINE].ptr, f[TB_BASELINE].len, &p->baseline) ||
        !isfinite(p->baseline) || !(p->baseline >= p->benchmark))
        return "baseline must be a finite number >= benchmark (lower is better)";
    int64_t ed;
    if (tx_parse_int64(f[TB_EDITION].ptr, f[TB_EDITION].len, &ed) || ed < 1900 || ed > 2200)
        return "edition must be a year 1900..2200";
    p->edition = (int)ed;
    if (f[TB_TAG].len != 1 || (f[TB_TAG].ptr[0] != 'C' && f[TB_TAG].ptr[0] != 'S' &&
                               f[TB_TAG].ptr[0] != 'U'))
        return "tag must be C, S or U";
    p->tag = f[TB_TAG].ptr[0];
    t->n++;
    return NULL;
}

int tx_products_load(const char *dir, tx_products *t, tx_err *err)
{
    memset(t, 0, sizeof *t);
    if (!dir)
        return tx_err_set(err, TX_EINVAL, "products: no tables directory");
    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, TX_PRODUCTS_FILE) >= sizeof path)
        return tx_err_set(err, TX_EINVAL, "%s: path too long", dir);
    tx_csv *csv = NULL;
    int rc = tx_csv_open(path, &csv, err);
    if (rc)
        goto done;
    if ((rc = tx_file_checksum(path, &t->checksum, &t->bytes, err)))
        goto done;
    static const uint8_t req[TB_NCOLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int col[TB_NCOLS];
    if ((rc = tx_csv_header(csv, table_cols, req, TB_NCOLS, col, NULL, NULL, 0, err)))
        goto done;
    tx_csv_row row;
    while ((rc = tx_csv_next(csv, &row, err)) == 1) {
        const char *why = table_row(&row, col, t);
        if (why) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: %s", path, (unsigned long long)row.line,
                            why);
            break;
        }
    }
done:
    tx_csv_free(csv);
    if (rc < 0) {
        memset(t, 0, sizeof *t);
        return rc;
    }
    return TX_OK;
}

int tx_products_find(const tx_products *t, const char *s, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->p[i].id) == len && memcmp(t->p[i].id, s, len) == 0)
            return (int)i;
    return -1;
}

/* ---- classification ---------------------------------------------------------------------- */

int tx_products_classify(const tx_product *p, double output, double energy, double *specific,
                         int *why)
{
    int w = TX_PRODUCT_WHY_NONE;
    if (!isfinite(output))
        w = TX_PRODUCT_WHY_NO_OUTPUT;
    else if (!(output > 0))
        w = TX_PRODUCT_WHY_ZERO_OUTPUT;
    else if (!isfinite(energy))
        w = TX_PRODUCT_WHY_NO_ENERGY;
    if (why)
        *why = w;
    if (w != TX_PRODUCT_WHY_NONE) {
        *specific = NAN;
        return TX_PRODUCT_UNCLASSIFIED;
    }
    /* The same inclusive-upper-bound rule as the carbon levels: at the benchmark is class
     * 1, at the baseline class 2. */
    const double x = energy / output, bounds[2] = {p->benchmark, p->baseline};
    *specific = x;
    /* An output so small that the ratio overflows is still a valid (very poor) line; the
     * kernel would leave a non-finite value unclassified. */
    if (isinf(x))
        return TX_PRODUCT_BELOW_BASELINE;
    const uint8_t want = 1;
    uint8_t cls = 0;
    txk_classify(&x, &want, 1, bounds, 2, &cls);
    return cls;
}

/* ---- products.csv ------------------------------------------------------------------------ */

enum { PC_ENTERPRISE, PC_PERIOD, PC_PRODUCT, PC_OUTPUT, PC_ENERGY, PC_NCOLS };
static const char *const prod_names[PC_NCOLS] = {"enterprise_id", "period", "product",
                                                 "output", "energy"};
static const uint8_t prod_req[PC_NCOLS] = {1, 1, 1, 1, 1};
const tx_input_columns tx_cols_products = {"products.csv", prod_names, prod_req, PC_NCOLS};

/* A blank cell is "not reported" (NaN); otherwise a finite number >= 0. */
static int quantity(const tx_field *raw, double *out)
{
    tx_field f = trim(*raw);
    *out = NAN;
    if (f.len == 0)
        return TX_INPUT_OK;
    if (tx_parse_double(f.ptr, f.len, out))
        return TX_REJECT_BAD_NUMBER;
    if (!isfinite(*out))
        return TX_REJECT_NOT_FINITE;
    if (*out < 0)
        return TX_REJECT_BAD_VALUE;
    return TX_INPUT_OK;
}

int tx_products_parse_row(const tx_csv_row *row, const int *col, const tx_products *t,
                          tx_product_row *r, const char **detail)
{
    memset(r, 0, sizeof *r);
    r->product = -1;
    r->output = r->energy = NAN;
    *detail = NULL;
    for (int k = 0; k < PC_NCOLS; k++)
        if (col[k] < 0 || (size_t)col[k] >= row->nfields)
            return TX_REJECT_TOO_FEW_FIELDS;
    tx_field id = trim(row->fields[col[PC_ENTERPRISE]]), per = trim(row->fields[col[PC_PERIOD]]),
             prod = trim(row->fields[col[PC_PRODUCT]]);
    if (id.len == 0 || per.len == 0 || prod.len == 0)
        return TX_REJECT_MISSING_FIELD;
    if (!tx_uscc_valid(id.ptr, id.len))
        return TX_REJECT_BAD_USCC;
    tx_field_copy(&id, r->enterprise_id, sizeof r->enterprise_id);
    /* The period forms of financials.csv: YYYY, or YYYY-MM for that month alone. */
    int64_t y = 0, m = 0;
    if (per.len == 4 && !tx_parse_int64(per.ptr, 4, &y))
        m = 0;
    else if (per.len != 7 || per.ptr[4] != '-' || tx_parse_int64(per.ptr, 4, &y) ||
             tx_parse_int64(per.ptr + 5, 2, &m) || m < 1 || m > 12)
        y = -1;
    if (y < 1900 || y > 2200) {
        *detail = "period must be YYYY or YYYY-MM";
        return TX_REJECT_BAD_VALUE;
    }
    r->year = (int)y;
    r->month = (int)m;
    if ((r->product = tx_products_find(t, prod.ptr, prod.len)) < 0) {
        *detail = "unknown product id (not in " TX_PRODUCTS_FILE ")";
        return TX_REJECT_BAD_VALUE;
    }
    int reason = quantity(&row->fields[col[PC_OUTPUT]], &r->output);
    if (reason != TX_INPUT_OK) {
        *detail = "output must be a number >= 0";
        return reason;
    }
    if ((reason = quantity(&row->fields[col[PC_ENERGY]], &r->energy)) != TX_INPUT_OK) {
        *detail = "energy must be a number >= 0";
        return reason;
    }
    return TX_INPUT_OK;
}

void tx_product_rows_free(tx_product_rows *r)
{
    if (!r)
        return;
    free(r->rows);
    free(r);
}

int tx_products_read_new(const char *path, const tx_products *t, tx_products_reject_fn on_reject,
                         void *arg, tx_product_rows **out, tx_err *err)
{
    *out = NULL;
    if (!path || !t)
        return tx_err_set(err, TX_EINVAL, "products: no path or table");
    tx_csv *csv = NULL;
    size_t cap = 0;
    tx_product_rows *r = calloc(1, sizeof *r);
    if (!r)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    int rc = tx_csv_open(path, &csv, err);
    if (rc)
        goto done;
    if ((rc = tx_file_checksum(path, &r->checksum, &r->bytes, err)))
        goto done;
    int col[PC_NCOLS];
    if ((rc = tx_input_header(csv, &tx_cols_products, col, NULL, NULL, 0, err)))
        goto done;
    tx_csv_row row;
    while ((rc = tx_csv_next(csv, &row, err)) == 1) {
        r->lines++;
        tx_product_row pr;
        const char *detail = NULL;
        int reason = tx_products_parse_row(&row, col, t, &pr, &detail);
        if (reason != TX_INPUT_OK) {
            r->rejected++;
            r->reasons[reason]++;
            if (on_reject)
                on_reject(arg, &row, reason, detail);
            continue;
        }
        if (r->n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            tx_product_row *nrows = realloc(r->rows, ncap * sizeof *nrows);
            if (!nrows) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
                break;
            }
            r->rows = nrows;
            cap = ncap;
        }
        r->rows[r->n++] = pr;
    }
done:
    tx_csv_free(csv);
    if (rc < 0) {
        tx_product_rows_free(r);
        return rc;
    }
    *out = r;
    return TX_OK;
}

/* ---- period aggregation ------------------------------------------------------------------ */

/* A sort key per row of the period: grouping by (enterprise, product), then month (0 for
 * the annual row, else 1 + the month's place in the period, so a period across a year end
 * sums in time order), then the row's index so that the last of equal months is the later
 * row. The key carries its own strings, so qsort needs no context. */
typedef struct {
    char eid[TX_USCC_LEN + 1];
    uint8_t month;
    int product;
    size_t idx;
} agg_key;

static int key_cmp(const void *a, const void *b)
{
    const agg_key *x = a, *y = b;
    int c = memcmp(x->eid, y->eid, TX_USCC_LEN);
    if (c)
        return c;
    if (x->product != y->product)
        return x->product < y->product ? -1 : 1;
    if (x->month != y->month)
        return x->month < y->month ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int same_group(const agg_key *a, const agg_key *b)
{
    return a->product == b->product && memcmp(a->eid, b->eid, TX_USCC_LEN) == 0;
}

size_t tx_products_aggregate_wksp_size(size_t nrows)
{
    return nrows > SIZE_MAX / sizeof(agg_key) ? SIZE_MAX : nrows * sizeof(agg_key);
}

int tx_products_aggregate(const tx_products *t, const tx_product_row *rows, size_t nrows,
                          const tx_period *period, void *wksp, size_t wksp_size,
                          tx_product_result *out, size_t cap, size_t *nout, size_t *replaced)
{
    if (nout)
        *nout = 0;
    if (replaced)
        *replaced = 0;
    if (!t || !period || !nout || (nrows && (!rows || !wksp || (cap && !out))))
        return TX_EINVAL;
    /* Months are counted from year 0: the period is [first, first + nmonths). */
    const long first = (long)period->year * 12 + period->month_first - 1;
    const long last = (long)period->year_last * 12 + period->month_last - 1;
    if (period->month_first < 1 || period->month_first > 12 || period->month_last < 1 ||
        period->month_last > 12 || period->nmonths < 1 || period->nmonths > 12 ||
        last - first + 1 != period->nmonths)
        return TX_EINVAL;
    if (wksp_size < tx_products_aggregate_wksp_size(nrows))
        return TX_EINVAL;
    const int calendar_year = period->month_first == 1 && period->nmonths == 12;
    agg_key *key = wksp;
    size_t nk = 0;
    for (size_t i = 0; i < nrows; i++) {
        const tx_product_row *r = &rows[i];
        if (r->product < 0 || (size_t)r->product >= t->n || r->month < 0 || r->month > 12)
            return TX_EINVAL;
        long at = (long)r->year * 12 + r->month - 1;
        if (r->month == 0 ? !(calendar_year && r->year == period->year)
                          : at < first || at > last)
            continue;
        agg_key *k = &key[nk++];
        memcpy(k->eid, r->enterprise_id, sizeof k->eid);
        k->month = (uint8_t)(r->month == 0 ? 0 : at - first + 1);
        k->product = r->product;
        k->idx = i;
    }
    if (nk > 1) /* qsort wants a non-NULL base even for 0 elements */
        qsort(key, nk, sizeof *key, key_cmp);

    size_t ngroups = 0;
    for (size_t i = 0; i < nk; i++)
        ngroups += i == 0 || !same_group(&key[i - 1], &key[i]);
    *nout = ngroups;
    if (ngroups > cap)
        return TX_ERANGE;

    size_t nrep = 0, g = 0;
    const int expected = period->nmonths;
    for (size_t i = 0; i < nk;) {
        size_t end = i + 1;
        while (end < nk && same_group(&key[i], &key[end]))
            end++;
        tx_product_result *res = &out[g++];
        memset(res, 0, sizeof *res);
        memcpy(res->enterprise_id, key[i].eid, sizeof res->enterprise_id);
        res->product = key[i].product;
        res->months_expected = expected;
        double output = 0.0, energy = 0.0;
        /* Runs of equal month inside the group: the last row of a run is the later one. */
        for (size_t j = i; j < end;) {
            size_t run = j + 1;
            while (run < end && key[run].month == key[j].month)
                run++;
            nrep += run - j - 1;
            const tx_product_row *r = &rows[key[run - 1].idx];
            if (key[j].month == 0) {
                /* The annual row stands for the whole year; the group's months are not
                 * read (nor counted as replaced). */
                output = r->output;
                energy = r->energy;
                res->from_annual = 1;
                res->month_mask = 0x0FFF;
                res->months_found = 12;
                break;
            }
            output += r->output;
            energy += r->energy;
            res->month_mask |= (uint16_t)(1u << (r->month - 1));
            res->months_found++;
            j = run;
        }
        res->output = output;
        res->energy = energy;
        res->incomplete = res->months_found < expected;
        res->cls = tx_products_classify(&t->p[res->product], output, energy, &res->specific,
                                        &res->why);
        i = end;
    }
    if (replaced)
        *replaced = nrep;
    return TX_OK;
}
