/* mujun.c - the 亩均效益 comprehensive evaluation (METHOD.md section 6) and the loader of
 * its scoring profiles. */
#include "mujun.h"

#include "csv.h"
#include "tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tx_mujun_above_names[TX_MUJUN_NABOVE] = {
    "tax_per_mu", "va_per_mu", "va_per_tce", "va_per_pollutant", "va_per_employee",
    "rd_ratio"};
const char *const tx_mujun_below_names[TX_MUJUN_NBELOW] = {"tax_per_mu", "tax_per_kwh"};

/* ---- the profile table ---------------------------------------------------------------- */

enum {
    COL_PROFILE,
    COL_YEAR,
    COL_GROUP,
    COL_INDICATOR,
    COL_WEIGHT,
    COL_BENCHMARK,
    COL_CAP,
    COL_VALUE,
    COL_UNIT,
    COL_TAG,
    COL_SOURCE,
    NCOLS
};
static const char *const col_names[NCOLS] = {"profile", "year",      "group", "indicator",
                                             "weight",  "benchmark", "cap",   "value",
                                             "unit",    "tag",       "source"};

/* Parameter rows, numbered after the indicators of a group in the `seen` bookkeeping. */
enum { PARAM_CLASS_A, PARAM_CLASS_B, PARAM_CLASS_D, PARAM_MIN_LAND, NPARAMS };
static const char *const param_names[NPARAMS] = {"class_A", "class_B", "class_D",
                                                 "min_land_mu"};
#define SLOTS (TX_MUJUN_NABOVE + NPARAMS) /* per group: indicators, then parameters */

static int field_blank(const tx_field *f)
{
    for (size_t k = 0; k < f->len; k++)
        if (f->ptr[k] != ' ' && f->ptr[k] != '\t')
            return 0;
    return 1;
}

/* A number column: *present 0 when blank; else a finite number or TX_ETABLE. */
static int opt_number(const char *path, const tx_csv_row *row, const tx_field *f,
                      const char *col, double *out, int *present, tx_err *err)
{
    *present = 0;
    *out = NAN;
    if (field_blank(f))
        return TX_OK;
    if (tx_parse_double(f->ptr, f->len, out) || !isfinite(*out))
        return tx_err_set(err, TX_ETABLE, "%s:%llu: %s is not a number: '%.*s'", path,
                          (unsigned long long)row->line, col, (int)f->len, f->ptr);
    *present = 1;
    return TX_OK;
}

/* What one row says, checked by itself. */
typedef struct {
    char profile[sizeof(((tx_mujun_profile *)0)->id)];
    int64_t year;
    int group; /* 0 above, 1 below */
    int slot;  /* indicator index, or TX_MUJUN_NABOVE + PARAM_* */
    double weight, benchmark, cap, value;
} prow;

static int parse_row(const char *path, const tx_csv_row *row, const int *col, prow *r,
                     tx_err *err)
{
    unsigned long long line = (unsigned long long)row->line;
    for (size_t k = 0; k < NCOLS; k++)
        if ((size_t)col[k] >= row->nfields)
            return tx_err_set(err, TX_ETABLE, "%s:%llu: too few fields", path, line);
    const tx_field *f = row->fields;
    const tx_field *fp = &f[col[COL_PROFILE]], *fy = &f[col[COL_YEAR]];
    const tx_field *fg = &f[col[COL_GROUP]], *fi = &f[col[COL_INDICATOR]];
    if (field_blank(fp) || !tx_field_copy(fp, r->profile, sizeof r->profile))
        return tx_err_set(err, TX_ETABLE, "%s:%llu: profile id empty or longer than %zu bytes",
                          path, line, sizeof r->profile - 1);
    if (tx_parse_int64(fy->ptr, fy->len, &r->year) || r->year < 1900 || r->year > 2200)
        return tx_err_set(err, TX_ETABLE, "%s:%llu: bad year '%.*s'", path, line,
                          (int)fy->len, fy->ptr);
    if (tx_field_is(fg, "above"))
        r->group = 0;
    else if (tx_field_is(fg, "below"))
        r->group = 1;
    else
        return tx_err_set(err, TX_ETABLE, "%s:%llu: unknown group '%.*s' (above or below)",
                          path, line, (int)fg->len, fg->ptr);

    r->slot = -1;
    const char *const *names = r->group ? tx_mujun_below_names : tx_mujun_above_names;
    int nind = r->group ? TX_MUJUN_NBELOW : TX_MUJUN_NABOVE;
    for (int k = 0; k < nind; k++)
        if (tx_field_is(fi, names[k]))
            r->slot = k;
    for (int k = 0; k < NPARAMS; k++)
        if (tx_field_is(fi, param_names[k]) && (k != PARAM_MIN_LAND || r->group == 1))
            r->slot = TX_MUJUN_NABOVE + k;
    if (r->slot < 0)
        return tx_err_set(err, TX_ETABLE, "%s:%llu: unknown indicator '%.*s' for group '%s'",
                          path, line, (int)fi->len, fi->ptr, r->group ? "below" : "above");

    int has_w, has_b, has_c, has_v, rc;
    if ((rc = opt_number(path, row, &f[col[COL_WEIGHT]], "weight", &r->weight, &has_w, err)) ||
        (rc = opt_number(path, row, &f[col[COL_BENCHMARK]], "benchmark", &r->benchmark, &has_b,
                         err)) ||
        (rc = opt_number(path, row, &f[col[COL_CAP]], "cap", &r->cap, &has_c, err)) ||
        (rc = opt_number(path, row, &f[col[COL_VALUE]], "value", &r->value, &has_v, err)))
        return rc;
    if (r->slot < TX_MUJUN_NABOVE) {
        if (!has_w || !has_b || has_v)
            return tx_err_set(err, TX_ETABLE,
                              "%s:%llu: an indicator row needs weight and benchmark and no "
                              "value",
                              path, line);
        if (r->weight < 0 || r->benchmark <= 0 || (has_c && r->cap <= 0))
            return tx_err_set(err, TX_ETABLE,
                              "%s:%llu: weight must be >= 0, benchmark and cap > 0", path, line);
    } else {
        if (has_w || has_b || has_c || !has_v)
            return tx_err_set(err, TX_ETABLE,
                              "%s:%llu: a parameter row needs value only (no weight, benchmark "
                              "or cap)",
                              path, line);
        if (r->slot - TX_MUJUN_NABOVE == PARAM_MIN_LAND ? r->value < 0
                                                         : (r->value < 0 || r->value > 1))
            return tx_err_set(err, TX_ETABLE, "%s:%llu: %s out of range: %g", path, line,
                              param_names[r->slot - TX_MUJUN_NABOVE], r->value);
    }
    return TX_OK;
}

int tx_mujun_profile_load(const char *tables_dir, const char *profile_id, tx_mujun_profile *p,
                          tx_err *err)
{
    if (!tables_dir || !profile_id || !p)
        return tx_err_set(err, TX_EINVAL, "mujun profile: NULL argument");
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", profile_id);
    snprintf(p->file, sizeof p->file, "%s", TX_MUJUN_FILE);
    for (int k = 0; k < TX_MUJUN_NABOVE; k++)
        p->above[k].cap = NAN;
    for (int k = 0; k < TX_MUJUN_NBELOW; k++)
        p->below[k].cap = NAN;

    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", tables_dir, TX_MUJUN_FILE) >= sizeof path)
        return tx_err_set(err, TX_EINVAL, "%s/%s: path too long", tables_dir, TX_MUJUN_FILE);
    tx_csv *csv = NULL;
    int rc = tx_csv_open(path, &csv, err);
    if (rc)
        return rc;
    int col[NCOLS];
    static const uint8_t required[NCOLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    if ((rc = tx_csv_header(csv, col_names, required, NCOLS, col, NULL, NULL, 0, err)))
        goto done;

    /* Line of each row of the selected profile, per group and slot (0 = not seen). */
    unsigned long long seen[2][SLOTS] = {{0}};
    unsigned long long first_line = 0;
    int64_t year = 0;
    tx_csv_row row;
    while ((rc = tx_csv_next(csv, &row, err)) == 1) {
        prow r;
        if ((rc = parse_row(path, &row, col, &r, err)))
            break;
        if (strcmp(r.profile, profile_id) != 0)
            continue;
        unsigned long long line = (unsigned long long)row.line;
        if (!first_line) {
            first_line = line;
            year = r.year;
        } else if (r.year != year) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: year %lld differs from %lld (line %llu)",
                            path, line, (long long)r.year, (long long)year, first_line);
            break;
        }
        if (seen[r.group][r.slot]) {
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: duplicate row (first at line %llu)", path,
                            line, seen[r.group][r.slot]);
            break;
        }
        seen[r.group][r.slot] = line;
        if (r.slot < TX_MUJUN_NABOVE) {
            tx_mujun_term *t = r.group ? &p->below[r.slot] : &p->above[r.slot];
            t->weight = r.weight;
            t->benchmark = r.benchmark;
            t->cap = r.cap; /* NaN when blank */
        } else if (r.slot - TX_MUJUN_NABOVE == PARAM_MIN_LAND) {
            p->below_min_land_mu = r.value;
        } else {
            int k = r.slot - TX_MUJUN_NABOVE; /* A, B, D in order */
            p->share[r.group][k] = r.value;
        }
    }
    if (rc < 0)
        goto done;
    rc = TX_OK;
    if (!first_line) {
        rc = tx_err_set(err, TX_ENOTFOUND, "%s: no profile '%s'", path, profile_id);
        goto done;
    }
    p->year = (int)year;
    for (int g = 0; g < 2; g++) {
        int nind = g ? TX_MUJUN_NBELOW : TX_MUJUN_NABOVE;
        for (int s = 0; s < SLOTS; s++) {
            int needed = s < nind || (s >= TX_MUJUN_NABOVE &&
                                      (s - TX_MUJUN_NABOVE != PARAM_MIN_LAND || g == 1));
            if (needed && !seen[g][s]) {
                rc = tx_err_set(err, TX_ETABLE, "%s: profile '%s' has no %s/%s row", path,
                                profile_id, g ? "below" : "above",
                                s < TX_MUJUN_NABOVE
                                    ? (g ? tx_mujun_below_names : tx_mujun_above_names)[s]
                                    : param_names[s - TX_MUJUN_NABOVE]);
                goto done;
            }
        }
        /* Shares compare in parts per million, as the class counts use them. */
        long long ppm = llround(p->share[g][0] * 1e6) + llround(p->share[g][1] * 1e6) +
                        llround(p->share[g][2] * 1e6);
        if (ppm > 1000000) {
            unsigned long long last = seen[g][TX_MUJUN_NABOVE + PARAM_CLASS_A];
            for (int k = PARAM_CLASS_B; k <= PARAM_CLASS_D; k++)
                if (seen[g][TX_MUJUN_NABOVE + k] > last)
                    last = seen[g][TX_MUJUN_NABOVE + k];
            rc = tx_err_set(err, TX_ETABLE, "%s:%llu: class shares of group '%s' sum to more "
                                            "than 1",
                            path, last, g ? "below" : "above");
            goto done;
        }
    }
    rc = tx_file_checksum(path, &p->file_checksum, NULL, err);
done:
    tx_csv_free(csv);
    return rc;
}

/* ---- the evaluation ------------------------------------------------------------------ */

/* One evaluated enterprise in the workspace, sorted by group then descending score. */
typedef struct {
    double score;
    uint32_t idx;
    uint8_t group;
} entry;

size_t tx_mujun_wksp_size(size_t n)
{
    return n > SIZE_MAX / sizeof(entry) ? SIZE_MAX : n * sizeof(entry);
}

void tx_mujun_class_counts(const double share[3], size_t n, size_t counts[4])
{
    /* Round half up in integers: a share to parts per million times n, plus one half.
     * In binary floating point 0.35 x 90 is 31.499999999999996, which floor(x + 0.5)
     * would round down although 31.5 is meant. */
    size_t c[3];
    for (int k = 0; k < 3; k++) {
        double s = share[k];
        uint64_t ppm = s > 0 ? (uint64_t)llround((s < 1 ? s : 1) * 1e6) : 0;
        c[k] = (size_t)((ppm * (uint64_t)n + 500000) / 1000000);
    }
    if (c[0] > n)
        c[0] = n;
    if (c[1] > n - c[0])
        c[1] = n - c[0];
    if (c[2] > n - c[0] - c[1])
        c[2] = n - c[0] - c[1];
    counts[0] = c[0];
    counts[1] = c[1];
    counts[2] = n - c[0] - c[1] - c[2];
    counts[3] = c[2];
}

static uint8_t class_of_position(size_t pos, size_t n, const size_t counts[4])
{
    if (pos < counts[0])
        return TX_MUJUN_CLS_A;
    if (pos < counts[0] + counts[1])
        return TX_MUJUN_CLS_B;
    if (pos >= n - counts[3])
        return TX_MUJUN_CLS_D;
    return TX_MUJUN_CLS_C;
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static double get(const double *a, size_t i)
{
    return a ? a[i] : NAN;
}

/* A term from numerator and denominator (both finite): value / benchmark x weight, capped;
 * 0 for a value <= 0 or a zero denominator. *value gets the ratio or NaN. */
static double term_of(double num, double den, const tx_mujun_term *t, double *value)
{
    if (den == 0) {
        *value = NAN;
        return 0;
    }
    double v = num / den;
    *value = v;
    if (!(v > 0))
        return 0;
    double s = v / t->benchmark * t->weight;
    return isnan(t->cap) || s <= t->cap ? s : t->cap;
}

/* The group of enterprise i (0 when not evaluated) and the reason flags when it is not. */
static uint8_t group_of(const tx_mujun_profile *p, const tx_mujun_in *in, size_t i,
                        uint8_t *why)
{
    double land = in->land_mu[i];
    *why = 0;
    if (in->above[i]) {
        if (!(isfinite(land) && land > 0))
            *why |= TX_MUJUN_F_NO_LAND;
        if (!isfinite(in->value_added[i]))
            *why |= TX_MUJUN_F_NO_VA;
        return *why ? TX_MUJUN_NOT_EVALUATED : TX_MUJUN_ABOVE;
    }
    if (!(isfinite(land) && land >= p->below_min_land_mu))
        *why |= TX_MUJUN_F_NO_LAND;
    return *why ? TX_MUJUN_NOT_EVALUATED : TX_MUJUN_BELOW;
}

/* Pollutant data that count for the mean and score by themselves: a positive figure. */
static int pollutant_known(const tx_mujun_in *in, size_t i)
{
    double pol = get(in->pollutant_t, i);
    return isfinite(pol) && pol > 0;
}

/* Terms of one evaluated enterprise into t[] and v[] (TX_MUJUN_NTERMS each); returns the
 * flags. The pollutant term of an enterprise without pollutant data is pol_mean. */
static uint8_t score_one(const tx_mujun_profile *p, const tx_mujun_in *in, size_t i,
                         uint8_t group, double pol_mean, double *t, double *v)
{
    uint8_t fl = 0;
    for (int k = 0; k < TX_MUJUN_NTERMS; k++)
        t[k] = v[k] = NAN;
    double land = in->land_mu[i], tax = get(in->tax, i);
    if (in->energy_complete && !in->energy_complete[i])
        fl |= TX_MUJUN_F_ENERGY_INCOMPLETE;
#define MISSING_(k)                                                                        \
    do {                                                                                   \
        t[k] = 0;                                                                          \
        fl |= TX_MUJUN_F_MISSING;                                                          \
    } while (0)
    if (group == TX_MUJUN_BELOW) {
        const tx_mujun_term *pt = p->below;
        double kwh = get(in->electricity_kwh, i);
        if (isfinite(tax))
            t[0] = term_of(tax, land, &pt[0], &v[0]);
        else
            MISSING_(0);
        if (isfinite(tax) && isfinite(kwh))
            t[1] = term_of(tax * 1e4, kwh, &pt[1], &v[1]); /* 万元 -> 元 */
        else
            MISSING_(1);
        return fl;
    }
    const tx_mujun_term *pt = p->above;
    double va = in->value_added[i];
    double tce = get(in->energy_tce_equal_value, i), emp = get(in->employees, i);
    double rd = get(in->rd_expense, i), rev = get(in->revenue, i);
    if (isfinite(tax))
        t[0] = term_of(tax, land, &pt[0], &v[0]);
    else
        MISSING_(0);
    t[1] = term_of(va, land, &pt[1], &v[1]);
    if (isfinite(tce))
        t[2] = term_of(va, tce, &pt[2], &v[2]);
    else
        MISSING_(2);
    if (pollutant_known(in, i)) {
        t[3] = term_of(va, in->pollutant_t[i], &pt[3], &v[3]);
    } else {
        t[3] = pol_mean;
        fl |= TX_MUJUN_F_POLLUTANT_MEAN;
    }
    if (isfinite(emp))
        t[4] = term_of(va, emp, &pt[4], &v[4]);
    else
        MISSING_(4);
    if (isfinite(rd) && isfinite(rev))
        t[5] = term_of(rd, rev, &pt[5], &v[5]);
    else
        MISSING_(5);
#undef MISSING_
    return fl;
}

int tx_mujun_evaluate(const tx_mujun_profile *p, const tx_mujun_in *in, tx_mujun_out *out,
                      void *wksp, size_t wksp_size)
{
    if (!p || !in || !out || !out->group || !out->score || !out->rank || !out->cls ||
        !out->flags)
        return TX_EINVAL;
    size_t n = in->n;
    if (n == 0)
        return TX_OK;
    if (!in->above || !in->land_mu || !in->value_added || n > UINT32_MAX || !wksp ||
        wksp_size < tx_mujun_wksp_size(n))
        return TX_EINVAL;

    /* Pass 1: who is evaluated, and the mean pollutant term of the 规上 group over the
     * enterprises with pollutant data, summed in index order. */
    double pol_sum = 0;
    size_t pol_n = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t why;
        out->group[i] = group_of(p, in, i, &why);
        out->flags[i] = why;
        if (out->group[i] == TX_MUJUN_ABOVE && pollutant_known(in, i)) {
            double v;
            pol_sum += term_of(in->value_added[i], in->pollutant_t[i],
                               &p->above[TX_MUJUN_VA_PER_POLLUTANT], &v);
            pol_n++;
        }
    }
    double pol_mean = pol_n ? pol_sum / (double)pol_n : 0;

    /* Pass 2: terms and scores, each score summed in indicator order. */
    entry *e = wksp;
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        double t[TX_MUJUN_NTERMS], v[TX_MUJUN_NTERMS];
        uint8_t g = out->group[i];
        out->rank[i] = 0;
        out->cls[i] = TX_MUJUN_CLS_NONE;
        if (g == TX_MUJUN_NOT_EVALUATED) {
            for (int k = 0; k < TX_MUJUN_NTERMS; k++)
                t[k] = v[k] = NAN;
            out->score[i] = NAN;
        } else {
            out->flags[i] = score_one(p, in, i, g, pol_mean, t, v);
            int nt = g == TX_MUJUN_ABOVE ? TX_MUJUN_NABOVE : TX_MUJUN_NBELOW;
            double s = 0;
            for (int k = 0; k < nt; k++)
                s += t[k];
            out->score[i] = s;
            e[ne++] = (entry){s, (uint32_t)i, g};
        }
        for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
            if (out->term[k])
                out->term[k][i] = t[k];
            if (out->value[k])
                out->value[k][i] = v[k];
        }
    }

    /* Ranks and classes per group in descending order. The position of the first member
     * of a tie block is the number of higher scores, so rank = that + 1 and the block's
     * class is the class of that position: equal scores share the better class. */
    qsort(e, ne, sizeof *e, entry_cmp);
    for (size_t lo = 0; lo < ne;) {
        size_t hi = lo;
        while (hi < ne && e[hi].group == e[lo].group)
            hi++;
        size_t gn = hi - lo, counts[4];
        tx_mujun_class_counts(p->share[e[lo].group == TX_MUJUN_ABOVE ? 0 : 1], gn, counts);
        size_t block = 0; /* position in the group of the current tie block's first member */
        for (size_t j = 0; j < gn; j++) {
            if (j > 0 && e[lo + j].score != e[lo + j - 1].score)
                block = j;
            uint32_t i = e[lo + j].idx;
            out->rank[i] = (uint32_t)(block + 1);
            out->cls[i] = class_of_position(block, gn, counts);
        }
        lo = hi;
    }
    return TX_OK;
}
