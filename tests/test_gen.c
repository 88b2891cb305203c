/*
 * test_gen.c - the deterministic city generator (datasets/txgen.c, txgen_csv.c).
 *
 * The truth is checked against an independent recomputation from txg_meter_series (register
 * differences with rollover and the replacement event, in integer hundredths), and the CSV
 * output is read back with plain stdio, without the engine's CSV reader.
 *
 * Cities use fixed seeds (TX_TEST_SEED=<seed> replaces the main one; it is printed).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "txgen.h"

static uint64_t main_seed = 20250101;

/* ---- helpers ----------------------------------------------------------------------- */

static txg_city *city(uint64_t seed, size_t n, int k, int base, int report, int faults)
{
    txg_params p = TXG_PARAMS_DEFAULT;
    p.seed = seed;
    p.n_enterprises = n;
    p.n_divisions = k;
    p.base_year = base;
    p.report_year = report;
    p.faults = faults;
    txg_city *c = NULL;
    tx_err err = {0};
    int rc = txg_city_new(&p, &c, &err);
    if (rc)
        fail_msg("txg_city_new: %s", err.msg);
    assert_non_null(c);
    return c;
}

static txg_city *small_city(void)
{
    return city(main_seed, 12, 3, 2020, 2025, 1);
}

static int64_t slot_time(const tx_meter *m, int64_t slot)
{
    return TX_EPOCH_UNIX + slot * m->interval_minutes * INT64_C(60);
}

static int64_t hundredths(double v)
{
    return (int64_t)llround(v * 100.0);
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Series of meter m over [first - 1, last + 1] of year; *first_out is the slot of v[1]. */
static double *year_series(const txg_city *c, size_t m, int year, int64_t *first_out,
                           int64_t *last_out, uint8_t **qual)
{
    int64_t first, last;
    txg_year_slots(c, m, year, &first, &last);
    size_t n = (size_t)(last - first + 3);
    double *v = malloc(n * sizeof *v);
    uint8_t *q = malloc(n);
    assert_non_null(v);
    assert_non_null(q);
    assert_int_equal(txg_meter_series(c, m, first - 1, n, v, q), TX_OK);
    *first_out = first;
    *last_out = last;
    if (qual)
        *qual = q;
    else
        free(q);
    return v;
}

/* What METHOD.md sections 1 and 8 make of a meter-year, recomputed from the series and the
 * events alone, with the thresholds of datasets/tables/run_defaults.csv. */
typedef struct {
    double total; /* canonical unit */
    int64_t valid, expected;
    uint32_t rollovers, gaps, replacements, spikes, implausible, stuck, negatives, mult_changes;
    double cap_step;     /* capacity per step, canonical (NaN without) */
    double median;       /* median positive valid step before the implausible rule */
    double max_step;     /* largest step kept (valid, after the implausible rule) */
    int64_t longest_zero; /* longest run of valid zero steps of a register */
} recomputed;

#define ROLLOVER_FRACTION 0.9
#define MEDIAN_FACTOR 20.0
#define STUCK_HOURS 24

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The events of meter id that lie in [ta, tb) of the given type (-1 any); the last one. */
static const tx_event *event_in(const txg_city *c, const char *id, int type, int64_t ta,
                                int64_t tb)
{
    size_t nev;
    const tx_event *ev = txg_events(c, &nev), *found = NULL;
    for (size_t k = 0; k < nev; k++)
        if (strcmp(ev[k].meter_id, id) == 0 && (type < 0 || (int)ev[k].type == type) &&
            ev[k].t >= ta && ev[k].t < tb)
            found = &ev[k];
    return found;
}

/* The multiplier in force at instant t: the meter's, until its latest multiplier event at
 * or before t. */
static double multiplier_at(const txg_city *c, const tx_meter *mt, int64_t t)
{
    size_t nev;
    const tx_event *ev = txg_events(c, &nev);
    double mult = mt->multiplier;
    int64_t best = INT64_MIN;
    for (size_t k = 0; k < nev; k++)
        if (strcmp(ev[k].meter_id, mt->id) == 0 && ev[k].type == TX_EVENT_MULTIPLIER &&
            ev[k].t <= t && ev[k].t > best) {
            best = ev[k].t;
            mult = ev[k].new_multiplier;
        }
    return mult;
}

/*
 * Single spikes: a descent r[b] < r[a] between consecutive present readings that is not a
 * rollover and has no replacement between them is resolved by dropping the one reading
 * whose removal restores the rise (a, when the reading before a is <= r[b]; b, when r[a] <=
 * the reading after b); when both would, the one further from the middle of its neighbours.
 */
static uint32_t drop_single_spikes(const txg_city *c, const tx_meter *mt, int64_t first,
                                   double *r, int64_t n, double modulus)
{
    uint32_t dropped = 0;
    int64_t prev2 = -1, prev = -1;
    for (int64_t b = 0; b < n; b++) {
        if (isnan(r[b]))
            continue;
        if (prev >= 0 && r[b] < r[prev] &&
            !(modulus > 0 && r[prev] - r[b] >= ROLLOVER_FRACTION * modulus) &&
            !event_in(c, mt->id, TX_EVENT_REPLACE, slot_time(mt, first + prev),
                      slot_time(mt, first + b))) {
            int64_t next = b + 1;
            while (next < n && isnan(r[next]))
                next++;
            int drop_a = prev2 >= 0 && r[prev2] <= r[b];
            int drop_b = next < n && r[prev] <= r[next];
            if (drop_a && drop_b) {
                drop_a = fabs(r[prev] - (r[prev2] + r[b]) / 2) >=
                         fabs(r[b] - (r[prev] + r[next]) / 2);
                drop_b = !drop_a;
            }
            if (drop_a) {
                r[prev] = NAN;
                prev = b;
                dropped++;
                continue;
            }
            if (drop_b) {
                r[b] = NAN;
                dropped++;
                continue;
            }
        }
        prev2 = prev;
        prev = b;
    }
    return dropped;
}

static recomputed recompute(const txg_city *c, size_t m, int year)
{
    size_t nm;
    const tx_meter *mt = &txg_meters(c, &nm)[m];
    int64_t first, last;
    double *v = year_series(c, m, year, &first, &last, NULL);
    double *r = v + 1; /* r[k] is slot first + k */
    const int64_t nr = last - first + 1;
    recomputed out = {0};
    const int cum = mt->kind == TX_KIND_CUMULATIVE;
    const double uf = tx_unit_to_canonical(mt->unit);
    const int64_t step_s = mt->interval_minutes * INT64_C(60);
    double modulus = 1.0;
    for (int d = 0; d < mt->register_digits; d++)
        modulus *= 10.0;
    if (!mt->register_digits)
        modulus = 0.0;
    out.cap_step = isnan(mt->capacity) ? NAN : mt->capacity * (double)step_s / 3600.0 * uf;
    if (cum) { /* a year's first and last readings are never missing */
        assert_false(isnan(r[0]));
        assert_false(isnan(r[nr - 1]));
        out.spikes = drop_single_spikes(c, mt, first, r, nr, modulus);
    }
    /* steps: delta[k] ends at slot first + k (k >= 1 for registers) with its span */
    double *delta = malloc((size_t)nr * sizeof *delta);
    int64_t *span = calloc((size_t)nr, sizeof *span);
    uint8_t *valid = calloc((size_t)nr, 1);
    double *pos = malloc((size_t)nr * sizeof *pos);
    assert_non_null(delta);
    assert_non_null(span);
    assert_non_null(valid);
    assert_non_null(pos);
    for (int64_t k = 0; k < nr; k++)
        delta[k] = NAN;
    const tx_event *mev = event_in(c, mt->id, TX_EVENT_MULTIPLIER, slot_time(mt, first),
                                   slot_time(mt, last));
    out.mult_changes = mev != NULL && mev->t > slot_time(mt, first);
    int in_gap = 0;
    int64_t p = -1; /* latest present reading */
    for (int64_t k = 0; k < nr; k++) {
        int missing = isnan(r[k]);
        if (!cum) {
            out.gaps += missing && !in_gap;
            in_gap = missing;
            if (missing)
                continue;
            /* a value covers (t - step, t]: the multiplier at its start */
            double mult = multiplier_at(c, mt, slot_time(mt, first + k) - step_s);
            if (r[k] < 0) {
                out.negatives++;
                continue;
            }
            delta[k] = (double)hundredths(r[k]) / 100.0 * mult * uf;
            valid[k] = 1;
            span[k] = 1;
            continue;
        }
        if (missing)
            continue;
        if (p >= 0) {
            int64_t ta = slot_time(mt, first + p), tb = slot_time(mt, first + k);
            double m0 = multiplier_at(c, mt, ta);
            int64_t raw = hundredths(r[k]) - hundredths(r[p]);
            const tx_event *rep = event_in(c, mt->id, TX_EVENT_REPLACE, ta, tb);
            double d = NAN;
            if (rep) {
                int64_t before = hundredths(rep->old_reading) - hundredths(r[p]);
                int64_t after = hundredths(r[k]) - hundredths(rep->new_reading);
                double m1 = isnan(rep->new_multiplier) ? m0 : rep->new_multiplier;
                out.replacements++;
                if (before >= 0 && after >= 0)
                    d = ((double)before * m0 + (double)after * m1) / 100.0 * uf;
                else
                    out.negatives++;
            } else {
                if (raw < 0 && modulus > 0 && (double)-raw / 100.0 >= ROLLOVER_FRACTION * modulus) {
                    raw += (int64_t)(modulus * 100.0);
                    out.rollovers++;
                }
                if (raw >= 0)
                    d = (double)raw / 100.0 * m0 * uf;
                else
                    out.negatives++;
            }
            delta[k] = d;
            span[k] = k - p;
            valid[k] = k == p + 1 && !isnan(d);
            out.gaps += k > p + 1;
        }
        p = k;
    }
    /* implausible: above capacity per step, else above 20 x the median positive step */
    size_t np = 0;
    for (int64_t k = 0; k < nr; k++)
        if (valid[k] && delta[k] > 0)
            pos[np++] = delta[k];
    qsort(pos, np, sizeof *pos, cmp_double);
    out.median = np ? pos[np / 2] : NAN;
    double limit = !isnan(out.cap_step) ? out.cap_step : MEDIAN_FACTOR * out.median;
    for (int64_t k = 0; k < nr; k++)
        if (!isnan(delta[k]) && delta[k] > limit * (double)span[k]) {
            delta[k] = NAN;
            valid[k] = 0;
            out.implausible++;
        }
    /* stuck: runs of valid zero steps of a register of at least max(3, 24 h / step) */
    int64_t stuck_min = (STUCK_HOURS * 60 + mt->interval_minutes - 1) / mt->interval_minutes;
    stuck_min = stuck_min < 3 ? 3 : stuck_min;
    int64_t run = 0;
    out.max_step = 0;
    for (int64_t k = 0; k < nr; k++) {
        if (!isnan(delta[k]))
            out.total += delta[k];
        out.valid += valid[k];
        if (valid[k] && delta[k] > out.max_step)
            out.max_step = delta[k];
    }
    for (int64_t k = 0; k <= nr; k++) {
        if (k < nr && cum && valid[k] && delta[k] == 0) {
            run++;
            continue;
        }
        if (run >= stuck_min)
            out.stuck += (uint32_t)run;
        out.longest_zero = run > out.longest_zero ? run : out.longest_zero;
        run = 0;
    }
    out.expected = cum ? nr - 1 : nr;
    free(delta);
    free(span);
    free(valid);
    free(pos);
    free(v);
    return out;
}

/* ---- parameters -------------------------------------------------------------------- */

static void test_bad_params(void **state)
{
    (void)state;
    txg_city *c = (txg_city *)&c;
    tx_err err = {0};
    txg_params p = TXG_PARAMS_DEFAULT;
    assert_int_equal(txg_city_new(NULL, &c, &err), TX_EINVAL);
    assert_int_equal(txg_city_new(&p, NULL, &err), TX_EINVAL);
    p.n_enterprises = 0;
    assert_int_equal(txg_city_new(&p, &c, &err), TX_EINVAL);
    assert_null(c);
    assert_int_equal(err.code, TX_EINVAL);
    p = TXG_PARAMS_DEFAULT;
    p.base_year = 2026;
    assert_int_equal(txg_city_new(&p, &c, &err), TX_EINVAL);
    p = TXG_PARAMS_DEFAULT;
    p.base_year = 1999;
    assert_int_equal(txg_city_new(&p, &c, &err), TX_EINVAL);
    p = TXG_PARAMS_DEFAULT;
    p.n_divisions = 1000;
    assert_int_equal(txg_city_new(&p, &c, &err), TX_EINVAL);
    p.n_divisions = -1;
    assert_int_equal(txg_city_new(&p, &c, NULL), TX_EINVAL);
    txg_city_free(NULL);

    c = small_city();
    txg_truth t;
    assert_int_equal(txg_meter_truth(c, 0, 2022, &t), TX_ENOTFOUND);
    size_t nm;
    txg_meters(c, &nm);
    assert_int_equal(txg_meter_truth(c, nm, 2025, &t), TX_EINVAL);
    double v[4];
    assert_int_equal(txg_meter_series(c, nm, 0, 4, v, NULL), TX_EINVAL);
    assert_int_equal(txg_write_csv(c, NULL, 0, NULL, NULL, &err), TX_EINVAL);
    assert_int_equal(txg_write_csv(c, "/nonexistent-dir/x/y", 0, NULL, NULL, &err), TX_EIO);
    txg_city_free(c);
}

/* ---- determinism -------------------------------------------------------------------- */

static void catalogue_equal(const txg_city *a, const txg_city *b)
{
    size_t na, nb;
    const tx_enterprise *ea = txg_enterprises(a, &na), *eb = txg_enterprises(b, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(ea[i].id, eb[i].id);
        assert_string_equal(ea[i].name, eb[i].name);
        assert_string_equal(ea[i].industry, eb[i].industry);
        assert_string_equal(ea[i].district, eb[i].district);
        assert_string_equal(ea[i].cluster, eb[i].cluster);
        assert_true(same_double(ea[i].land_area_mu, eb[i].land_area_mu));
        assert_int_equal(ea[i].above_scale, eb[i].above_scale);
    }
    const tx_meter *ma = txg_meters(a, &na), *mb = txg_meters(b, &nb);
    assert_int_equal(na, nb);
    for (size_t m = 0; m < na; m++) {
        assert_string_equal(ma[m].id, mb[m].id);
        assert_string_equal(ma[m].enterprise_id, mb[m].enterprise_id);
        assert_int_equal(ma[m].carrier, mb[m].carrier);
        assert_int_equal(ma[m].unit, mb[m].unit);
        assert_int_equal(ma[m].kind, mb[m].kind);
        assert_int_equal(ma[m].register_digits, mb[m].register_digits);
        assert_int_equal(ma[m].interval_minutes, mb[m].interval_minutes);
        assert_true(same_double(ma[m].multiplier, mb[m].multiplier));
        assert_true(same_double(ma[m].capacity, mb[m].capacity));
    }
    const txg_financial *fa = txg_financials(a, &na), *fb = txg_financials(b, &nb);
    assert_int_equal(na, nb);
    for (size_t k = 0; k < na; k++) {
        assert_int_equal(fa[k].enterprise, fb[k].enterprise);
        assert_int_equal(fa[k].year, fb[k].year);
        assert_int_equal(fa[k].month, fb[k].month);
        assert_true(same_double(fa[k].value_added, fb[k].value_added));
        assert_true(same_double(fa[k].pollutant_t, fb[k].pollutant_t));
    }
    const tx_event *va = txg_events(a, &na), *vb = txg_events(b, &nb);
    assert_int_equal(na, nb);
    for (size_t k = 0; k < na; k++) {
        assert_string_equal(va[k].meter_id, vb[k].meter_id);
        assert_int_equal(va[k].t, vb[k].t);
        assert_true(same_double(va[k].old_reading, vb[k].old_reading));
        assert_true(same_double(va[k].new_reading, vb[k].new_reading));
    }
    const txg_fault *xa = txg_faults(a, &na), *xb = txg_faults(b, &nb);
    assert_int_equal(na, nb);
    for (size_t k = 0; k < na; k++) {
        assert_int_equal(xa[k].kind, xb[k].kind);
        assert_int_equal(xa[k].meter, xb[k].meter);
        assert_int_equal(xa[k].enterprise, xb[k].enterprise);
        assert_int_equal(xa[k].year, xb[k].year);
        assert_int_equal(xa[k].slot, xb[k].slot);
        assert_int_equal(xa[k].count, xb[k].count);
    }
}

static void test_same_seed_same_city(void **state)
{
    (void)state;
    txg_city *a = small_city(), *b = small_city();
    catalogue_equal(a, b);
    size_t nm;
    const tx_meter *mt = txg_meters(a, &nm);
    for (size_t m = 0; m < nm; m++) {
        int64_t first, last;
        txg_year_slots(a, m, 2025, &first, &last);
        int64_t s0 = first + (last - first) / 3;
        size_t n = 7 * 1440 / mt[m].interval_minutes;
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        uint8_t *qx = malloc(n), *qy = malloc(n);
        assert_int_equal(txg_meter_series(a, m, s0, n, x, qx), TX_OK);
        assert_int_equal(txg_meter_series(b, m, s0, n, y, qy), TX_OK);
        assert_memory_equal(x, y, n * sizeof *x);
        assert_memory_equal(qx, qy, n);
        free(x);
        free(y);
        free(qx);
        free(qy);
    }
    txg_city_free(a);
    txg_city_free(b);
}

static void test_other_seed_other_city(void **state)
{
    (void)state;
    txg_city *a = small_city(), *b = city(main_seed + 1, 12, 3, 2020, 2025, 1);
    size_t na, nb;
    const tx_enterprise *ea = txg_enterprises(a, &na), *eb = txg_enterprises(b, &nb);
    int same_ids = 0;
    for (size_t i = 0; i < na; i++)
        same_ids += strcmp(ea[i].id, eb[i].id) == 0;
    assert_true(same_ids < 2);
    int64_t first, last;
    txg_year_slots(a, 0, 2025, &first, &last); /* meter 0 is E000001-EL1 in both */
    double x[96], y[96];
    assert_int_equal(txg_meter_series(a, 0, first + 5000, 96, x, NULL), TX_OK);
    assert_int_equal(txg_meter_series(b, 0, first + 5000, 96, y, NULL), TX_OK);
    assert_memory_not_equal(x, y, sizeof x);
    txg_city_free(a);
    txg_city_free(b);
}

/* Any window equals the same slots of a whole-year call, whatever the call order. */
static void test_random_access(void **state)
{
    (void)state;
    txg_city *c = city(main_seed, 12, 3, 2024, 2025, 1); /* adjacent years */
    size_t nm;
    const tx_meter *mt = txg_meters(c, &nm);
    for (size_t m = 0; m < nm; m++) {
        int64_t f24, l24, f25, l25;
        txg_year_slots(c, m, 2024, &f24, &l24);
        txg_year_slots(c, m, 2025, &f25, &l25);
        assert_true(l24 == f25 || l24 + 1 == f25);
        size_t n = (size_t)(l25 - f24 + 3);
        double *all = malloc(n * sizeof *all);
        assert_int_equal(txg_meter_series(c, m, f24 - 1, n, all, NULL), TX_OK);
        if (mt[m].kind == TX_KIND_CUMULATIVE) /* the shared Jan 1 reading */
            assert_false(isnan(all[l24 - f24 + 1]));
        const int64_t starts[] = {f24 - 50, f24 + 17, l24 - 3, f25 + 1000, l25 - 2};
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
            double w[200];
            size_t len = 100 + k;
            assert_int_equal(txg_meter_series(c, m, starts[k], len, w, NULL), TX_OK);
            for (size_t j = 0; j < len; j++) {
                int64_t s = starts[k] + (int64_t)j;
                double want = s < f24 - 1 || s > l25 + 1 ? NAN : all[s - f24 + 1];
                if (!same_double(w[j], want) && !(isnan(w[j]) && isnan(want)))
                    fail_msg("%s slot %lld: %g != %g", mt[m].id, (long long)s, w[j], want);
            }
        }
        free(all);
    }
    txg_city_free(c);
}

/* ---- catalogue ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_catalogue(void **state)
{
    (void)state;
    txg_city *c = city(main_seed, 400, 0, 2020, 2025, 1);
    size_t ne, nm;
    const tx_enterprise *e = txg_enterprises(c, &ne);
    const tx_meter *mt = txg_meters(c, &nm);
    assert_int_equal(ne, 400);
    const char **ids = malloc(ne * sizeof *ids);
    int divisions[100] = {0}, commas = 0, below = 0;
    static const char *const districts[] = {"330203", "330205", "330206", "330211", "330212",
                                            "330213", "330225", "330226", "330281", "330282"};
    for (size_t i = 0; i < ne; i++) {
        if (!tx_uscc_valid(e[i].id, strlen(e[i].id)))
            fail_msg("bad USCC %s", e[i].id);
        assert_memory_equal(e[i].id, "91", 2);
        assert_memory_equal(e[i].id + 2, e[i].district, 6);
        ids[i] = e[i].id;
        char cls[5];
        assert_int_equal(tx_industry_normalise(e[i].industry, strlen(e[i].industry), cls), TX_OK);
        int div = (cls[0] - '0') * 10 + (cls[1] - '0');
        assert_true(div >= 13 && div <= 43);
        divisions[div]++;
        int ok = 0;
        for (size_t d = 0; d < 10; d++)
            ok |= strcmp(districts[d], e[i].district) == 0;
        assert_true(ok);
        assert_true(strlen(e[i].name) > 6 && strlen(e[i].name) < TX_NAME_CAP);
        assert_memory_equal(e[i].name, "宁波", strlen("宁波"));
        commas += strchr(e[i].name, ',') != NULL;
        below += !e[i].above_scale;
        assert_true(isnan(e[i].land_area_mu) || e[i].land_area_mu >= 0);
    }
    qsort(ids, ne, sizeof *ids, cmp_str);
    for (size_t i = 1; i < ne; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    int ndiv = 0;
    for (int d = 0; d < 100; d++)
        ndiv += divisions[d] > 0;
    assert_true(ndiv >= 20);
    assert_true(commas >= 1);
    assert_true(below > 20 && below < 120);

    /* meters: units fit carriers, every enterprise has a 15-minute electricity register */
    int *el = calloc(ne, sizeof *el);
    for (size_t m = 0; m < nm; m++) {
        assert_true(tx_unit_fits_carrier(mt[m].unit, mt[m].carrier));
        int step = mt[m].interval_minutes;
        assert_true(step == 15 || step == 30 || step == 60 || step == 1440);
        assert_true(mt[m].multiplier > 0);
        assert_true(isnan(mt[m].capacity) || mt[m].capacity > 0);
        size_t i = (size_t)atoi(mt[m].id + 1) - 1;
        assert_true(i < ne);
        assert_string_equal(mt[m].enterprise_id, e[i].id);
        if (mt[m].carrier == TX_CARRIER_ELECTRICITY) {
            assert_int_equal(mt[m].kind, TX_KIND_CUMULATIVE);
            assert_true(mt[m].register_digits >= 6 && mt[m].register_digits <= 8);
            if (step == 15)
                el[i]++;
        }
        if (m > 0)
            assert_string_not_equal(mt[m - 1].id, mt[m].id);
    }
    for (size_t i = 0; i < ne; i++)
        assert_true(el[i] >= 1);
    free(el);

    /* financials: base year for all; report year missing for some, VA <= 0 for some;
     * monthly-only enterprises have twelve months summing to a year */
    size_t nf;
    const txg_financial *f = txg_financials(c, &nf);
    int *rows_r = calloc(ne, sizeof *rows_r), *rows_b = calloc(ne, sizeof *rows_b);
    int nonpos = 0, monthly = 0;
    for (size_t k = 0; k < nf; k++) {
        assert_true(f[k].enterprise < ne);
        assert_true(f[k].month >= 0 && f[k].month <= 12);
        (f[k].year == 2025 ? rows_r : rows_b)[f[k].enterprise]++;
        nonpos += f[k].year == 2025 && f[k].month == 0 && f[k].value_added <= 0;
        monthly += f[k].month == 12;
    }
    int missing = 0;
    for (size_t i = 0; i < ne; i++) {
        assert_true(rows_b[i] == 1 || rows_b[i] == 12);
        missing += rows_r[i] == 0;
    }
    assert_true(missing >= 2);
    assert_true(nonpos >= 2);
    assert_true(monthly >= 20);
    free(rows_r);
    free(rows_b);

    /* deflators: each division in use, every year, base year 100 */
    size_t nd;
    const txg_deflator *d = txg_deflators(c, &nd);
    assert_int_equal(nd, (size_t)ndiv * 6);
    for (size_t k = 0; k < nd; k++) {
        int div = atoi(d[k].division);
        assert_true(divisions[div] > 0);
        assert_int_equal(d[k].year, 2020 + (int)(k % 6));
        if (d[k].year == 2020)
            assert_true(d[k].price_index == 100.0);
        else
            assert_true(d[k].price_index > 70 && d[k].price_index < 140);
    }
    txg_city_free(c);
}

/* ---- series, truth and faults ------------------------------------------------------------ */

typedef struct {
    int rollovers, replacements, gaps, incomplete, spikes, implausible, stuck, negatives,
        mult_changes;
} tally;

/* The fault of the given kind on meter m in year, or NULL. */
static const txg_fault *fault_of(const txg_city *c, int kind, size_t m, int year)
{
    size_t nf;
    const txg_fault *f = txg_faults(c, &nf);
    for (size_t k = 0; k < nf; k++)
        if (f[k].kind == kind && f[k].meter == m && f[k].year == year)
            return &f[k];
    return NULL;
}

/*
 * Truth equals the recomputation for every meter-year, and no honest step trips a quality
 * rule: every step kept is within the capacity per step (where there is one) and within 20
 * times the median positive step; registers other than the stuck one never stand still for
 * max(3, 24 h / step) steps; the flags are the injected faults and nothing else.
 */
static void check_truth(txg_city *c, tally *seen)
{
    const txg_params *p = txg_city_params(c);
    size_t nm;
    const tx_meter *mt = txg_meters(c, &nm);
    for (size_t m = 0; m < nm; m++)
        for (int year = p->base_year; year <= p->report_year;
             year += p->report_year - p->base_year ? p->report_year - p->base_year : 1) {
            txg_truth t;
            assert_int_equal(txg_meter_truth(c, m, year, &t), TX_OK);
            recomputed r = recompute(c, m, year);
            int days = 365 + (year % 4 == 0);
            assert_int_equal(r.expected, days * 1440 / mt[m].interval_minutes);
            const uint32_t got[] = {t.rollovers,       t.gaps,        t.replacements,
                                    t.spikes,          t.implausible, t.stuck_intervals,
                                    t.negatives,       t.multiplier_changes};
            const uint32_t want[] = {r.rollovers, r.gaps,  r.replacements, r.spikes,
                                     r.implausible, r.stuck, r.negatives, r.mult_changes};
            static const char *const what[] = {"rollovers", "gaps",      "replacements",
                                               "spikes",    "implausible", "stuck_intervals",
                                               "negatives", "multiplier_changes"};
            for (size_t k = 0; k < sizeof got / sizeof got[0]; k++)
                if (got[k] != want[k])
                    fail_msg("%s %d: truth %s %u, recomputed %u", mt[m].id, year, what[k],
                             got[k], want[k]);
            if (fabs(t.total - r.total) > 1e-12 * fmax(1.0, fabs(r.total)))
                fail_msg("%s %d: truth %.17g, recomputed %.17g", mt[m].id, year, t.total,
                         r.total);
            double cov = (double)r.valid / (double)r.expected;
            if (fabs(t.coverage - cov) > 1e-15)
                fail_msg("%s %d: coverage %.17g, recomputed %.17g", mt[m].id, year,
                         t.coverage, cov);
            assert_true(t.total > 0);
            /* the quality flags are exactly the injected faults */
            const txg_fault *fx = fault_of(c, TXG_FAULT_STUCK, m, year);
            assert_int_equal(t.stuck_intervals, fx ? fx->count : 0);
            assert_int_equal(t.spikes, fault_of(c, TXG_FAULT_SPIKE, m, year) != NULL);
            assert_int_equal(t.implausible, fault_of(c, TXG_FAULT_IMPLAUSIBLE, m, year) != NULL);
            assert_int_equal(t.negatives, fault_of(c, TXG_FAULT_NEGATIVE, m, year) != NULL);
            assert_int_equal(t.multiplier_changes,
                             fault_of(c, TXG_FAULT_MULTIPLIER, m, year) != NULL);
            /* honest steps keep clear of the thresholds */
            if (!isnan(r.cap_step) && r.max_step > r.cap_step)
                fail_msg("%s %d: a step of %.17g above the capacity per step %.17g", mt[m].id,
                         year, r.max_step, r.cap_step);
            if (r.max_step > MEDIAN_FACTOR * r.median)
                fail_msg("%s %d: a step of %.17g above 20 x the median step %.17g", mt[m].id,
                         year, r.max_step, r.median);
            if (mt[m].kind == TX_KIND_CUMULATIVE && !fx) {
                int64_t stuck_min = (STUCK_HOURS * 60 + mt[m].interval_minutes - 1) /
                                    mt[m].interval_minutes;
                if (r.longest_zero >= (stuck_min < 3 ? 3 : stuck_min))
                    fail_msg("%s %d: %lld zero steps in a row", mt[m].id, year,
                             (long long)r.longest_zero);
            }
            seen->rollovers += (int)t.rollovers;
            seen->replacements += (int)t.replacements;
            seen->gaps += t.gaps > 0;
            seen->spikes += (int)t.spikes;
            seen->implausible += (int)t.implausible;
            seen->stuck += t.stuck_intervals > 0;
            seen->negatives += (int)t.negatives;
            seen->mult_changes += (int)t.multiplier_changes;
            if (mt[m].carrier == TX_CARRIER_ELECTRICITY) {
                if (t.coverage < 0.85) {
                    assert_int_equal(year, p->report_year);
                    seen->incomplete++;
                } else {
                    assert_true(t.coverage >= 0.9);
                }
            }
        }
}

static void test_truth_recomputed(void **state)
{
    (void)state;
    const int years[][2] = {{2020, 2025}, {2024, 2025}, {2023, 2023}};
    for (size_t k = 0; k < 3; k++) {
        txg_city *c = city(main_seed + k, 12, 3, years[k][0], years[k][1], 1);
        tally s = {0};
        check_truth(c, &s);
        assert_int_equal(s.rollovers, 1);
        assert_int_equal(s.replacements, 1);
        assert_true(s.gaps >= 3);
        assert_int_equal(s.incomplete, 1);
        assert_int_equal(s.spikes, 2);
        assert_int_equal(s.implausible, 2);
        assert_int_equal(s.stuck, 1);
        assert_int_equal(s.negatives, 1);
        assert_int_equal(s.mult_changes, 1);
        txg_city_free(c);
    }
}

/* A city of the size the end-to-end checks use: the same, over every meter-year. */
static void test_thresholds(void **state)
{
    (void)state;
    txg_city *c = city(main_seed, 200, 0, 2020, 2025, 1);
    tally s = {0};
    check_truth(c, &s);
    assert_int_equal(s.spikes, 4);
    assert_int_equal(s.implausible, 6);
    assert_int_equal(s.stuck, 2);
    assert_int_equal(s.negatives, 2);
    assert_int_equal(s.mult_changes, 1);
    txg_city_free(c);
}

static void test_series_quantised(void **state)
{
    (void)state;
    txg_city *c = small_city();
    size_t nm;
    const tx_meter *mt = txg_meters(c, &nm);
    for (size_t m = 0; m < nm; m++) {
        int64_t first, last;
        uint8_t *q;
        double *v = year_series(c, m, 2020, &first, &last, &q);
        assert_true(isnan(v[0]) && isnan(v[last - first + 2]));
        int64_t est = 0;
        for (int64_t s = first; s <= last; s++) {
            double x = v[s - first + 1];
            est += q[s - first + 1];
            if (isnan(x))
                continue;
            assert_true(x >= 0);
            if ((double)hundredths(x) / 100.0 != x)
                fail_msg("%s: %.17g is not a multiple of 0.01", mt[m].id, x);
        }
        assert_true(est < 10);
        free(v);
        free(q);
    }
    txg_city_free(c);
}

/* The event of meter id of the given type, or NULL. */
static const tx_event *event_of(const txg_city *c, const char *id, int type)
{
    return event_in(c, id, type, INT64_MIN, INT64_MAX);
}

static void test_faults(void **state)
{
    (void)state;
    txg_city *c = small_city();
    size_t nf, nm, nev;
    const txg_fault *f = txg_faults(c, &nf);
    const tx_meter *mt = txg_meters(c, &nm);
    txg_events(c, &nev);
    int kinds[TXG_FAULT_KINDS] = {0};
    assert_int_equal(nev, 2);
    assert_string_equal(txg_fault_name(TXG_FAULT_KINDS), "unknown");
    for (size_t k = 0; k < nf; k++) {
        const txg_fault *x = &f[k];
        const tx_meter *xm = &mt[x->meter];
        assert_true(x->meter < nm);
        assert_true(x->kind >= 0 && x->kind < TXG_FAULT_KINDS);
        assert_string_not_equal(txg_fault_name(x->kind), "unknown");
        kinds[x->kind]++;
        size_t n = x->count + 2;
        double *v = malloc(n * sizeof *v);
        uint8_t *q = malloc(n);
        assert_int_equal(txg_meter_series(c, x->meter, x->slot - 1, n, v, q), TX_OK);
        if (x->kind >= TXG_FAULT_SPIKE) { /* on a meter of its own, in the report year */
            for (size_t j = 0; j < nf; j++)
                assert_true(j == k || f[j].meter != x->meter);
            assert_int_equal(x->year, 2025);
            int64_t first, last;
            txg_year_slots(c, x->meter, 2025, &first, &last);
            assert_true(x->slot >= first + 2 && x->slot + (int64_t)x->count <= last - 1);
        }
        const tx_event *e = NULL;
        switch (x->kind) {
        case TXG_FAULT_GAP:
        case TXG_FAULT_INCOMPLETE:
            assert_false(isnan(v[0]) && xm->kind == TX_KIND_CUMULATIVE);
            for (size_t j = 1; j <= x->count; j++)
                assert_true(isnan(v[j]));
            if (x->kind == TXG_FAULT_INCOMPLETE) {
                assert_int_equal(xm->carrier, TX_CARRIER_ELECTRICITY);
                assert_true(x->count > 0.15 * 35040);
                assert_int_equal(x->year, 2025);
            }
            break;
        case TXG_FAULT_ROLLOVER:
            assert_true(v[1] < v[0]);
            assert_int_equal(x->year, 2025);
            break;
        case TXG_FAULT_REPLACEMENT:
            e = event_of(c, xm->id, TX_EVENT_REPLACE);
            assert_non_null(e);
            assert_true(e->t > slot_time(xm, x->slot));
            assert_true(e->t < slot_time(xm, x->slot + 1));
            assert_true(e->old_reading >= v[1]);
            assert_true(e->new_reading <= v[2]);
            assert_true(isnan(e->new_multiplier));
            break;
        case TXG_FAULT_ESTIMATED:
            for (size_t j = 1; j <= x->count; j++)
                assert_int_equal(q[j], 1);
            break;
        case TXG_FAULT_SPIKE: /* up above both neighbours, or down below both */
            assert_int_equal(xm->kind, TX_KIND_CUMULATIVE);
            assert_true(v[0] <= v[2]);
            assert_true((v[1] > v[2] && v[1] - v[0] > 10 * (v[2] - v[0])) ||
                        (v[1] < v[0] && v[1] <= 0.1 * v[0] + 0.01));
            break;
        case TXG_FAULT_IMPLAUSIBLE:
            if (xm->kind == TX_KIND_INTERVAL) {
                assert_true(v[1] > 0);
                assert_true(hundredths(v[1]) % 1000 == 0);
            } else {
                assert_true(v[1] - v[0] > 100 * (v[2] - v[1]));
            }
            break;
        case TXG_FAULT_STUCK:
            assert_true(xm->carrier == TX_CARRIER_ELECTRICITY && xm->interval_minutes <= 30);
            assert_true(x->count >= 2 * 1440 / xm->interval_minutes &&
                        x->count <= 3 * 1440 / xm->interval_minutes);
            for (size_t j = 1; j <= x->count; j++)
                assert_true(v[j] == v[0]);
            assert_true(v[x->count + 1] > v[0]);
            break;
        case TXG_FAULT_MULTIPLIER:
            e = event_of(c, xm->id, TX_EVENT_MULTIPLIER);
            assert_non_null(e);
            assert_int_equal(e->t, slot_time(xm, x->slot)); /* on the grid */
            assert_true(e->new_multiplier == 2 * xm->multiplier);
            assert_true(isnan(e->old_reading) && isnan(e->new_reading));
            break;
        case TXG_FAULT_NEGATIVE: /* down to a fifth, and rising from there */
            assert_true(v[1] < 0.25 * v[0]);
            assert_true(v[2] >= v[1]);
            break;
        default:
            for (size_t j = 1; j <= x->count; j++)
                assert_false(isnan(v[j]));
        }
        free(v);
        free(q);
    }
    assert_true(kinds[TXG_FAULT_GAP] >= 3);
    assert_int_equal(kinds[TXG_FAULT_INCOMPLETE], 1);
    assert_int_equal(kinds[TXG_FAULT_ROLLOVER], 1);
    assert_int_equal(kinds[TXG_FAULT_REPLACEMENT], 1);
    assert_true(kinds[TXG_FAULT_DUPLICATE] >= 2);
    assert_true(kinds[TXG_FAULT_ESTIMATED] >= 3);
    assert_int_equal(kinds[TXG_FAULT_SPIKE], 2);
    assert_int_equal(kinds[TXG_FAULT_IMPLAUSIBLE], 2);
    assert_int_equal(kinds[TXG_FAULT_STUCK], 1);
    assert_int_equal(kinds[TXG_FAULT_MULTIPLIER], 1);
    assert_int_equal(kinds[TXG_FAULT_NEGATIVE], 1);
    for (int k = TXG_FAULT_ALIGNED; k <= TXG_FAULT_BACKFILL; k++)
        assert_true(kinds[k] >= 1);
    txg_city_free(c);

    /* without faults: full coverage, no events, no fault list */
    c = city(main_seed, 12, 3, 2020, 2025, 0);
    txg_faults(c, &nf);
    txg_events(c, &nev);
    assert_int_equal(nf, 0);
    assert_int_equal(nev, 0);
    mt = txg_meters(c, &nm);
    for (size_t m = 0; m < nm; m++) {
        txg_truth t;
        assert_int_equal(txg_meter_truth(c, m, 2025, &t), TX_OK);
        assert_true(t.coverage == 1.0);
        assert_int_equal(t.gaps + t.rollovers + t.replacements + t.spikes + t.implausible +
                             t.stuck_intervals + t.negatives + t.multiplier_changes,
                         0);
    }
    txg_city_free(c);
}

/* ---- CSV output -------------------------------------------------------------------------- */

/* Splits an RFC 4180 line (no embedded line ends) into fields in place. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        if (n == max)
            return -1;
        fields[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    return -1;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        if (*r == ',') {
            *w++ = '\0';
            r++;
            continue;
        }
        *w = '\0';
        return *r == '\0' ? n : -1;
    }
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Data rows of a CSV file (header checked against want when not NULL). */
static size_t count_rows(const char *dir, const char *name, const char *want_header)
{
    char path[1024], line[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    assert_non_null(fgets(line, sizeof line, f));
    chomp(line);
    char *h = line;
    if (memcmp(h, "\xEF\xBB\xBF", 3) == 0)
        h += 3;
    if (want_header)
        assert_string_equal(h, want_header);
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        n += line[0] != '\n' && line[0] != '\r';
    fclose(f);
    return n;
}

/* "123.45" exactly two decimals -> hundredths. */
static int parse_h(const char *s, int64_t *out)
{
    int neg = *s == '-';
    s += neg;
    int64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    if (p == s || p[0] != '.' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
        p[3] != '\0')
        return -1;
    v = v * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    *out = neg ? -v : v;
    return 0;
}

/* The three timestamp forms of INPUTS.md; returns the form (0, 1, 2) or -1. */
static int parse_ts(const char *s, int64_t *t)
{
    int y, mo, d, h, mi, se, n = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &se, &n) != 7 ||
        n != 19)
        return -1;
    *t = tx_local_to_unix(y, mo, d, h, mi, se);
    if (sep == 'T' && strcmp(s + 19, "+08:00") == 0)
        return 0;
    if (sep == ' ' && s[19] == '\0')
        return 1;
    if (sep == 'T' && strcmp(s + 19, "Z") == 0) {
        *t += TX_LOCAL_OFFSET_S;
        return 2;
    }
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* truth/rejects_expected.csv as read back. */
typedef struct {
    char file[64];
    uint64_t line;
    char reason[32];
    int matched;
} exp_row;

static exp_row *read_expected(const char *dir, size_t *n)
{
    char path[1024], line[4096];
    snprintf(path, sizeof path, "%s/truth/rejects_expected.csv", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    assert_non_null(fgets(line, sizeof line, f));
    chomp(line);
    assert_string_equal(line, "file,line,reason");
    size_t cap = 64, k = 0;
    exp_row *x = malloc(cap * sizeof *x);
    while (fgets(line, sizeof line, f)) {
        chomp(line);
        char *fl[4];
        assert_int_equal(split_csv(line, fl, 4), 3);
        if (k == cap)
            x = realloc(x, (cap *= 2) * sizeof *x);
        assert_non_null(x);
        snprintf(x[k].file, sizeof x[k].file, "%s", fl[0]);
        x[k].line = strtoull(fl[1], NULL, 10);
        snprintf(x[k].reason, sizeof x[k].reason, "%s", fl[2]);
        x[k].matched = 0;
        k++;
    }
    fclose(f);
    *n = k;
    return x;
}

/* The expected report row of file:line, or NULL. */
static exp_row *expected_at(exp_row *x, size_t n, const char *file, uint64_t line)
{
    for (size_t k = 0; k < n; k++)
        if (x[k].line == line && strcmp(x[k].file, file) == 0)
            return &x[k];
    return NULL;
}

static size_t count_expected(const exp_row *x, size_t n, const char *file)
{
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
        c += strcmp(x[k].file, file) == 0;
    return c;
}

static long meter_index(const tx_meter *mt, size_t nm, const char *id)
{
    for (size_t m = 0; m < nm; m++)
        if (strcmp(mt[m].id, id) == 0)
            return (long)m;
    return -1;
}

/* A catalogue file's rows: listed rows hold what their reason says; returns the others'
 * count, checking each with check(fields, nfields, index, arg) in order. */
static size_t catalogue_rows(const char *dir, const char *name, exp_row *x, size_t nx,
                             void (*check)(char **fl, int nfl, size_t k, void *arg), void *arg)
{
    char path[1024], line[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    uint64_t ln = 1;
    size_t good = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        chomp(line);
        char *fl[16];
        int nfl = split_csv(line, fl, 16);
        assert_true(nfl > 0);
        exp_row *e = expected_at(x, nx, name, ln);
        if (!e) {
            check(fl, nfl, good++, arg);
            continue;
        }
        e->matched = 1;
        const char *r = e->reason;
        if (strcmp(name, "enterprises.csv") == 0) {
            if (strcmp(r, "BAD_USCC") == 0)
                assert_false(tx_uscc_valid(fl[0], strlen(fl[0])));
            else
                assert_true(tx_uscc_valid(fl[0], strlen(fl[0])));
            if (strcmp(r, "BAD_INDUSTRY") == 0)
                assert_true(strcmp(fl[2], "9999") == 0 || strcmp(fl[2], "C4401") == 0);
            if (strcmp(r, "BAD_DISTRICT") == 0)
                assert_string_equal(fl[3], "990101");
        } else if (strcmp(name, "meters.csv") == 0) {
            if (strcmp(r, "BAD_UNIT") == 0) {
                assert_string_equal(fl[2], "natural_gas");
                assert_string_equal(fl[3], "kWh");
            } else {
                assert_string_equal(r, "UNKNOWN_ENTERPRISE");
                assert_true(tx_uscc_valid(fl[1], strlen(fl[1])));
            }
        } else {
            if (strcmp(r, "BAD_EVENT") == 0)
                assert_string_equal(fl[2], "explode");
            else
                assert_string_equal(r, "UNKNOWN_METER");
        }
    }
    fclose(f);
    return good;
}

static void check_enterprise(char **fl, int nfl, size_t i, void *arg)
{
    const tx_enterprise *ent = arg;
    assert_int_equal(nfl, 7);
    assert_string_equal(fl[0], ent[i].id);
    assert_string_equal(fl[1], ent[i].name);
    assert_string_equal(fl[2] + (fl[2][0] == 'C'), ent[i].industry);
    assert_string_equal(fl[6], ent[i].cluster);
}

static void check_meter(char **fl, int nfl, size_t m, void *arg)
{
    const tx_meter *mt = arg;
    assert_int_equal(nfl, 9);
    assert_string_equal(fl[0], mt[m].id);
    assert_string_equal(fl[1], mt[m].enterprise_id);
}

static void check_event(char **fl, int nfl, size_t k, void *arg)
{
    const tx_event *ev = arg;
    int64_t t, h;
    assert_int_equal(nfl, 6);
    assert_string_equal(fl[0], ev[k].meter_id);
    assert_int_equal(parse_ts(fl[1], &t), 0);
    assert_int_equal(t, ev[k].t);
    if (ev[k].type == TX_EVENT_REPLACE) {
        assert_string_equal(fl[2], "replace");
        assert_int_equal(parse_h(fl[3], &h), 0);
        assert_int_equal(h, hundredths(ev[k].old_reading));
        assert_string_equal(fl[5], "");
    } else {
        assert_string_equal(fl[2], "multiplier");
        assert_string_equal(fl[3], "");
        assert_true(strtod(fl[5], NULL) == ev[k].new_multiplier);
    }
}

/* A malformed reading row holds what its reason says. */
static void check_bad_reading(const char *reason, char **fl, int nfl, int order,
                              const tx_meter *mt, size_t nm)
{
    if (strcmp(reason, "TOO_FEW_FIELDS") == 0) {
        assert_int_equal(nfl, 1);
        return;
    }
    assert_int_equal(nfl, 4);
    const char *id = fl[order ? 1 : 0], *ts = fl[order ? 0 : 1];
    const char *val = fl[order ? 3 : 2], *qual = fl[order ? 2 : 3];
    long m = meter_index(mt, nm, id);
    int64_t t;
    if (strcmp(reason, "UNKNOWN_METER") == 0) {
        assert_true(m < 0);
        return;
    }
    assert_true(m >= 0);
    if (strcmp(reason, "BAD_TIMESTAMP") == 0)
        assert_non_null(strstr(ts, "-02-30T"));
    else if (strcmp(reason, "BEFORE_EPOCH") == 0)
        assert_memory_equal(ts, "1999-12-31", 10);
    else
        assert_true(parse_ts(ts, &t) >= 0);
    if (strcmp(reason, "BAD_NUMBER") == 0)
        assert_true(strcmp(val, "12,5") == 0 || strcmp(val, "1.2.3") == 0);
    else if (strcmp(reason, "NOT_FINITE") == 0)
        assert_string_equal(val, "1e999");
    else if (strcmp(reason, "MISSING_FIELD") == 0)
        assert_string_equal(val, "");
    else if (strcmp(reason, "NEGATIVE_INTERVAL") == 0 || strcmp(reason, "BAD_VALUE") == 0) {
        assert_true(val[0] == '-');
        assert_int_equal(mt[m].kind, strcmp(reason, "BAD_VALUE") == 0 ? TX_KIND_CUMULATIVE
                                                                       : TX_KIND_INTERVAL);
    } else if (strcmp(reason, "BAD_QUALITY") == 0)
        assert_string_equal(qual, "7");
    else if (strcmp(reason, "OFF_GRID") == 0) {
        int64_t per = mt[m].interval_minutes * INT64_C(60);
        int64_t off = ((t - TX_EPOCH_UNIX) % per + per) % per;
        assert_true(off > 60 && per - off > 60);
    } else if (strcmp(reason, "BAD_TIMESTAMP") != 0 && strcmp(reason, "BEFORE_EPOCH") != 0)
        fail_msg("unexpected reason %s", reason);
}

static void test_write_csv(void **state)
{
    (void)state;
    const char *dir = TX_BINARY_DIR "/test_gen.work";
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    txg_city *c = small_city();
    tx_err err = {0};
    if (txg_write_csv(c, dir, 1, NULL, NULL, &err))
        fail_msg("txg_write_csv: %s", err.msg);
    size_t ne, nm, nf, nev, nd, nx, nexp;
    const tx_enterprise *ent = txg_enterprises(c, &ne);
    const tx_meter *mt = txg_meters(c, &nm);
    txg_financials(c, &nf);
    const tx_event *ev = txg_events(c, &nev);
    txg_deflators(c, &nd);
    const txg_fault *fx = txg_faults(c, &nx);
    exp_row *exp = read_expected(dir, &nexp);

    assert_int_equal(count_rows(dir, "enterprises.csv",
                                "enterprise_id,name,industry_code,district_code,land_area_mu,"
                                "above_scale,cluster"),
                     ne + count_expected(exp, nexp, "enterprises.csv"));
    assert_int_equal(count_rows(dir, "meters.csv",
                                "meter_id,enterprise_id,carrier,unit,kind,multiplier,"
                                "register_digits,interval_minutes,capacity"),
                     nm + count_expected(exp, nexp, "meters.csv"));
    assert_int_equal(count_rows(dir, "financials.csv",
                                "enterprise_id,period,value_added,revenue,tax,rd_expense,"
                                "employees,pollutant_t"),
                     nf);
    assert_int_equal(count_rows(dir, "meter_events.csv",
                                "meter_id,timestamp,event,old_reading,new_reading,"
                                "new_multiplier"),
                     nev + count_expected(exp, nexp, "meter_events.csv"));
    assert_int_equal(count_rows(dir, "deflators.csv", "industry_division,year,price_index"), nd);
    assert_int_equal(count_rows(dir, "truth/meter_totals.csv",
                                "meter_id,year,total,coverage,unit,rollovers,gaps,replacements,"
                                "spikes,implausible,stuck_intervals,negatives,"
                                "multiplier_changes"),
                     2 * nm);
    assert_int_equal(count_rows(dir, "truth/faults.csv", NULL), nx);

    /* catalogue files: the listed rows are bad as said, the others are the city's, in
     * order (quoted names come back intact) */
    assert_int_equal(catalogue_rows(dir, "enterprises.csv", exp, nexp, check_enterprise,
                                    (void *)ent),
                     ne);
    assert_int_equal(catalogue_rows(dir, "meters.csv", exp, nexp, check_meter, (void *)mt), nm);
    assert_int_equal(catalogue_rows(dir, "meter_events.csv", exp, nexp, check_event, (void *)ev),
                     nev);
    assert_int_equal(count_expected(exp, nexp, "enterprises.csv"), 4);
    assert_int_equal(count_expected(exp, nexp, "meters.csv"), 2);
    assert_int_equal(count_expected(exp, nexp, "meter_events.csv"), 2);

    /* readings: every row is the series value at its slot, each instant once except the
     * listed duplicates and conflicts, and every reading of the series is there; every
     * listed row holds what its reason says */
    double **ser = calloc(nm, sizeof *ser);
    uint8_t **seen = calloc(nm, sizeof *seen), **wrong = calloc(nm, sizeof *wrong);
    int64_t *base = calloc(nm, sizeof *base), *top = calloc(nm, sizeof *top);
    size_t expected = 0, listed[TXG_FAULT_KINDS] = {0};
    for (size_t m = 0; m < nm; m++) {
        int64_t f0, l0, f1;
        txg_year_slots(c, m, 2020, &f0, &l0);
        txg_year_slots(c, m, 2025, &f1, &top[m]);
        base[m] = f0;
        size_t n = (size_t)(top[m] - f0 + 1);
        ser[m] = malloc(n * sizeof *ser[m]);
        seen[m] = calloc(n, 1);
        wrong[m] = calloc(n, 1);
        assert_int_equal(txg_meter_series(c, m, f0, n, ser[m], NULL), TX_OK);
        for (size_t k = 0; k < n; k++)
            expected += !isnan(ser[m][k]);
    }
    for (size_t k = 0; k < nx; k++)
        listed[fx[k].kind] += fx[k].count;
    /* the day files, then the back-fill files (which sort after them) */
    char (*names)[64] = calloc(800 + nx, sizeof *names);
    size_t nnames = 0;
    for (int year = 2020; year <= 2025; year += 5)
        for (int64_t day = 0; day <= 365 + (year % 4 == 0); day++) {
            int y, mo, d, hh, mi, se;
            tx_unix_to_local(tx_local_to_unix(year, 1, 1, 0, 0, 0) + day * 86400, &y, &mo, &d,
                             &hh, &mi, &se);
            snprintf(names[nnames++], 64, "readings/%04d-%02d-%02d.csv", y, mo, d);
        }
    assert_int_equal(nnames, 2 + 366 + 365);
    for (size_t k = 0; k < nx; k++) {
        if (fx[k].kind != TXG_FAULT_BACKFILL)
            continue;
        int y, mo, d, hh, mi, se;
        tx_unix_to_local(slot_time(&mt[fx[k].meter], fx[k].slot), &y, &mo, &d, &hh, &mi, &se);
        snprintf(names[nnames++], 64, "readings/zz-backfill-%04d-%02d-%02d.csv", y, mo, d);
    }
    size_t rows = 0, dups = 0, conflicts = 0, wrong_rows = 0, aligned = 0, backfilled = 0;
    size_t forms[3] = {0}, reasons = 0;
    char path[1024], line[4096], *fl[16];
    int64_t t, h;
    for (size_t fi = 0; fi < nnames; fi++) {
        const char *name = names[fi];
        int back = strstr(name, "zz-backfill") != NULL;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("%s: %s", path, strerror(errno));
        int fy, fmo, fd; /* the file's local day */
        assert_int_equal(sscanf(name + strlen(name) - 14, "%4d-%2d-%2d.csv", &fy, &fmo, &fd), 3);
        assert_non_null(fgets(line, sizeof line, f));
        chomp(line);
        int order = strcmp(line, "meter_id,timestamp,value,quality") == 0   ? 0
                    : strcmp(line, "timestamp,meter_id,quality,value") == 0 ? 1
                                                                           : -1;
        assert_true(order >= 0);
        uint64_t ln = 1;
        long m = 0;
        while (fgets(line, sizeof line, f)) {
            ln++;
            chomp(line);
            int nfl = split_csv(line, fl, 8);
            exp_row *e = expected_at(exp, nexp, name, ln);
            int is_aligned = e && strcmp(e->reason, "ALIGNED") == 0;
            int is_conflict = e && strcmp(e->reason, "CONFLICT") == 0;
            if (e)
                e->matched = 1;
            if (e && !is_aligned && !is_conflict) {
                check_bad_reading(e->reason, fl, nfl, order, mt, nm);
                reasons++;
                continue;
            }
            assert_int_equal(nfl, 4);
            const char *id = fl[order ? 1 : 0], *ts = fl[order ? 0 : 1];
            const char *val = fl[order ? 3 : 2], *qual = fl[order ? 2 : 3];
            if (strcmp(mt[m].id, id) != 0)
                m = meter_index(mt, nm, id);
            assert_true(m >= 0);
            int form = parse_ts(ts, &t);
            assert_true(form >= 0);
            forms[form]++;
            int64_t per = mt[m].interval_minutes * INT64_C(60);
            int64_t off = (t - TX_EPOCH_UNIX) % per;
            if (is_aligned) { /* a real reading, stamped a little late */
                assert_true(off >= 5 && off <= 59);
                t -= off;
                aligned++;
            } else {
                assert_int_equal(off, 0);
            }
            int64_t slot = (t - TX_EPOCH_UNIX) / per;
            assert_true(slot >= base[m] && slot <= top[m]);
            size_t at = (size_t)(slot - base[m]);
            if (parse_h(val, &h))
                fail_msg("%s %s: value '%s' without two decimals", name, id, val);
            assert_true(strcmp(qual, "0") == 0 || strcmp(qual, "1") == 0);
            int ly, lmo, ld, hh, mi, se;
            tx_unix_to_local(t, &ly, &lmo, &ld, &hh, &mi, &se);
            if (h != hundredths(ser[m][at])) {
                /* the wrong row of a conflict: in the file of the day before the instant's */
                const txg_fault *cf = NULL;
                for (size_t k = 0; k < nx; k++)
                    if (fx[k].kind == TXG_FAULT_CONFLICT && fx[k].meter == (size_t)m &&
                        fx[k].slot == slot)
                        cf = &fx[k];
                if (!cf)
                    fail_msg("%s %s: %s, series %.2f", name, id, val, ser[m][at]);
                assert_false(seen[m][at]);
                assert_int_equal(tx_local_to_unix(fy, fmo, fd, 0, 0, 0) + 86400,
                                 tx_local_to_unix(ly, lmo, ld, 0, 0, 0));
                wrong[m][at] = 1;
                wrong_rows++;
                continue;
            }
            if (is_conflict) { /* the real value, after a wrong one in an earlier file */
                assert_true(wrong[m][at]);
                conflicts++;
            }
            if (seen[m][at]) { /* repeated in a later file */
                dups++;
            } else { /* the file of the local day holds the instant */
                assert_true(ly == fy && lmo == fmo && ld == fd);
                backfilled += back;
            }
            seen[m][at] = 1;
            rows++;
        }
        fclose(f);
    }
    for (size_t k = 0; k < nexp; k++)
        if (!exp[k].matched)
            fail_msg("%s:%llu %s: no such row", exp[k].file, (unsigned long long)exp[k].line,
                     exp[k].reason);
    for (size_t m = 0; m < nm; m++)
        for (size_t k = 0; k < (size_t)(top[m] - base[m] + 1); k++)
            assert_true(seen[m][k] == !isnan(ser[m][k]));
    assert_int_equal(dups, listed[TXG_FAULT_DUPLICATE]);
    assert_int_equal(rows, expected + dups);
    assert_int_equal(conflicts, listed[TXG_FAULT_CONFLICT]);
    assert_int_equal(wrong_rows, listed[TXG_FAULT_CONFLICT]);
    assert_int_equal(aligned, listed[TXG_FAULT_ALIGNED]);
    assert_int_equal(backfilled, listed[TXG_FAULT_BACKFILL]);
    assert_int_equal(reasons + listed[TXG_FAULT_CONFLICT] + listed[TXG_FAULT_ALIGNED] + 8, nexp);
    /* every reading reject reason occurs */
    static const char *const all[] = {"UNKNOWN_METER", "BAD_TIMESTAMP", "BAD_NUMBER",
                                      "NOT_FINITE",    "NEGATIVE_INTERVAL", "BAD_VALUE",
                                      "BAD_QUALITY",   "MISSING_FIELD", "TOO_FEW_FIELDS",
                                      "BEFORE_EPOCH",  "OFF_GRID"};
    for (size_t r = 0; r < sizeof all / sizeof all[0]; r++) {
        int found = 0;
        for (size_t k = 0; k < nexp; k++)
            found |= strncmp(exp[k].file, "readings/", 9) == 0 &&
                     strcmp(exp[k].reason, all[r]) == 0;
        if (!found)
            fail_msg("no %s row in readings/", all[r]);
    }
    assert_true(forms[0] > rows / 2 && forms[1] > rows / 20 && forms[2] > rows / 50);
    for (size_t m = 0; m < nm; m++) {
        free(ser[m]);
        free(seen[m]);
        free(wrong[m]);
    }
    free(ser);
    free(seen);
    free(wrong);
    free(base);
    free(top);
    free(names);
    free(exp);
    txg_city_free(c);
}

/* A progress callback sees every day file. */
static void count_progress(size_t done, size_t total, void *arg)
{
    size_t *p = arg;
    assert_true(done <= total);
    p[0]++;
    p[1] = total;
}

static void test_write_csv_adjacent(void **state)
{
    (void)state;
    const char *dir = TX_BINARY_DIR "/test_gen.work2";
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    txg_city *c = city(main_seed, 3, 1, 2024, 2025, 1);
    tx_err err = {0};
    size_t prog[2] = {0};
    if (txg_write_csv(c, dir, 1, count_progress, prog, &err))
        fail_msg("txg_write_csv: %s", err.msg);
    assert_int_equal(prog[0], 366 + 365 + 1);
    assert_int_equal(prog[1], prog[0]);
    /* the shared 2025-01-01 00:00 reading appears once in its file */
    size_t nm;
    const tx_meter *mt = txg_meters(c, &nm);
    char path[1024], line[4096];
    snprintf(path, sizeof path, "%s/readings/2025-01-01.csv", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t *midnight = calloc(nm, sizeof *midnight);
    char *fl[8];
    assert_non_null(fgets(line, sizeof line, f));
    chomp(line);
    int order = strcmp(line, "meter_id,timestamp,value,quality") != 0;
    int64_t t0 = tx_local_to_unix(2025, 1, 1, 0, 0, 0);
    while (fgets(line, sizeof line, f)) {
        chomp(line);
        assert_int_equal(split_csv(line, fl, 8), 4);
        int64_t t;
        assert_true(parse_ts(fl[order ? 0 : 1], &t) >= 0);
        for (size_t m = 0; m < nm; m++)
            if (strcmp(mt[m].id, fl[order ? 1 : 0]) == 0 && t == t0)
                midnight[m]++;
    }
    fclose(f);
    for (size_t m = 0; m < nm; m++)
        assert_int_equal(midnight[m], 1);
    free(midnight);

    /* without readings, the expected rejects are the catalogue's */
    const char *dir3 = TX_BINARY_DIR "/test_gen.work3";
    nftw(dir3, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (txg_write_csv(c, dir3, 0, NULL, NULL, &err))
        fail_msg("txg_write_csv: %s", err.msg);
    size_t nexp;
    exp_row *exp = read_expected(dir3, &nexp);
    assert_int_equal(nexp, 8);
    for (size_t k = 0; k < nexp; k++)
        assert_true(strncmp(exp[k].file, "readings/", 9) != 0);
    free(exp);
    txg_city_free(c);

    /* without faults, nothing to reject */
    c = city(main_seed, 3, 1, 2024, 2025, 0);
    nftw(dir3, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (txg_write_csv(c, dir3, 0, NULL, NULL, &err))
        fail_msg("txg_write_csv: %s", err.msg);
    exp = read_expected(dir3, &nexp);
    assert_int_equal(nexp, 0);
    free(exp);
    txg_city_free(c);
}

int main(void)
{
    const char *s = getenv("TX_TEST_SEED");
    if (s)
        main_seed = strtoull(s, NULL, 0);
    printf("test_gen: seed %llu\n", (unsigned long long)main_seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_same_seed_same_city),
        cmocka_unit_test(test_other_seed_other_city),
        cmocka_unit_test(test_random_access),
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_truth_recomputed),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_series_quantised),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_write_csv),
        cmocka_unit_test(test_write_csv_adjacent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
