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

typedef struct {
    int64_t sum_h; /* hundredths of the meter unit */
    int64_t valid, expected;
    uint32_t rollovers, gaps, replacements;
} recomputed;

/* METHOD.md section 1 and 8 from the series alone: deltas bridged across gaps, rollover by
 * 10^digits, the replacement split at the event. */
static recomputed recompute(const txg_city *c, size_t m, int year)
{
    size_t nm, nev;
    const tx_meter *mt = &txg_meters(c, &nm)[m];
    const tx_event *ev = txg_events(c, &nev);
    int64_t first, last;
    double *v = year_series(c, m, year, &first, &last, NULL);
    recomputed r = {0};
    int cum = mt->kind == TX_KIND_CUMULATIVE;
    r.expected = last - (cum ? first : first - 1);
    int64_t full = 1;
    for (int d = 0; d < mt->register_digits; d++)
        full *= 10;
    int have_prev = 0, prev_present = 1;
    int64_t prev_h = 0, prev_slot = 0;
    for (int64_t s = first; s <= last; s++) {
        double x = v[s - first + 1];
        int present = !isnan(x);
        if (cum)
            r.valid += present && prev_present && s > first;
        else
            r.valid += present;
        r.gaps += !present && prev_present;
        prev_present = present;
        if (!present)
            continue;
        int64_t h = hundredths(x);
        if (!cum) {
            assert_true(h >= 0);
            r.sum_h += h;
            continue;
        }
        if (have_prev) {
            int64_t delta = h - prev_h;
            int split = 0;
            for (size_t k = 0; k < nev; k++)
                if (strcmp(ev[k].meter_id, mt->id) == 0 && ev[k].t > slot_time(mt, prev_slot) &&
                    ev[k].t < slot_time(mt, s)) {
                    delta = (hundredths(ev[k].old_reading) - prev_h) +
                            (h - hundredths(ev[k].new_reading));
                    r.replacements++;
                    split = 1;
                }
            if (!split && delta < 0 && mt->register_digits &&
                -delta >= full * 100 * 9 / 10) {
                delta += full * 100;
                r.rollovers++;
            }
            if (delta < 0)
                fail_msg("%s %d: negative delta %lld at slot %lld", mt->id, year,
                         (long long)delta, (long long)s);
            r.sum_h += delta;
        }
        have_prev = 1;
        prev_h = h;
        prev_slot = s;
    }
    if (cum) { /* a year's first and last readings are never missing */
        assert_false(isnan(v[1]));
        assert_false(isnan(v[last - first + 1]));
    }
    free(v);
    return r;
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

static void check_truth(txg_city *c, int *seen_rollover, int *seen_repl, int *seen_gap,
                        int *seen_incomplete)
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
            double want = (double)r.sum_h / 100.0 * mt[m].multiplier *
                          tx_unit_to_canonical(mt[m].unit);
            if (fabs(t.total - want) > 1e-12 * fmax(1.0, fabs(want)))
                fail_msg("%s %d: truth %.17g, recomputed %.17g", mt[m].id, year, t.total,
                         want);
            double cov = (double)r.valid / (double)r.expected;
            if (fabs(t.coverage - cov) > 1e-15)
                fail_msg("%s %d: coverage %.17g, recomputed %.17g", mt[m].id, year,
                         t.coverage, cov);
            int days = 365 + (year % 4 == 0);
            assert_int_equal(r.expected, days * 1440 / mt[m].interval_minutes);
            assert_int_equal(t.rollovers, r.rollovers);
            assert_int_equal(t.gaps, r.gaps);
            assert_int_equal(t.replacements, r.replacements);
            assert_true(t.total > 0);
            *seen_rollover += (int)t.rollovers;
            *seen_repl += (int)t.replacements;
            *seen_gap += t.gaps > 0;
            if (mt[m].carrier == TX_CARRIER_ELECTRICITY) {
                if (t.coverage < 0.85) {
                    assert_int_equal(year, p->report_year);
                    (*seen_incomplete)++;
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
        int roll = 0, repl = 0, gap = 0, inc = 0;
        check_truth(c, &roll, &repl, &gap, &inc);
        assert_int_equal(roll, 1);
        assert_int_equal(repl, 1);
        assert_true(gap >= 3);
        assert_int_equal(inc, 1);
        txg_city_free(c);
    }
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

static void test_faults(void **state)
{
    (void)state;
    txg_city *c = small_city();
    size_t nf, nm, nev;
    const txg_fault *f = txg_faults(c, &nf);
    const tx_meter *mt = txg_meters(c, &nm);
    const tx_event *ev = txg_events(c, &nev);
    int kinds[6] = {0};
    assert_int_equal(nev, 1);
    for (size_t k = 0; k < nf; k++) {
        const txg_fault *x = &f[k];
        assert_true(x->meter < nm);
        assert_true(x->kind >= 0 && x->kind < 6);
        assert_string_not_equal(txg_fault_name(x->kind), "unknown");
        kinds[x->kind]++;
        size_t n = x->count + 2;
        double *v = malloc(n * sizeof *v);
        uint8_t *q = malloc(n);
        assert_int_equal(txg_meter_series(c, x->meter, x->slot - 1, n, v, q), TX_OK);
        switch (x->kind) {
        case TXG_FAULT_GAP:
        case TXG_FAULT_INCOMPLETE:
            assert_false(isnan(v[0]) && mt[x->meter].kind == TX_KIND_CUMULATIVE);
            for (size_t j = 1; j <= x->count; j++)
                assert_true(isnan(v[j]));
            if (x->kind == TXG_FAULT_INCOMPLETE) {
                assert_int_equal(mt[x->meter].carrier, TX_CARRIER_ELECTRICITY);
                assert_true(x->count > 0.15 * 35040);
                assert_int_equal(x->year, 2025);
            }
            break;
        case TXG_FAULT_ROLLOVER:
            assert_true(v[1] < v[0]);
            assert_int_equal(x->year, 2025);
            break;
        case TXG_FAULT_REPLACEMENT:
            assert_string_equal(ev[0].meter_id, mt[x->meter].id);
            assert_int_equal(ev[0].type, TX_EVENT_REPLACE);
            assert_true(ev[0].t > slot_time(&mt[x->meter], x->slot));
            assert_true(ev[0].t < slot_time(&mt[x->meter], x->slot + 1));
            assert_true(ev[0].old_reading >= v[1]);
            assert_true(ev[0].new_reading <= v[2]);
            assert_true(isnan(ev[0].new_multiplier));
            break;
        case TXG_FAULT_ESTIMATED:
            for (size_t j = 1; j <= x->count; j++)
                assert_int_equal(q[j], 1);
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
        assert_int_equal(t.gaps + t.rollovers + t.replacements, 0);
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

static void test_write_csv(void **state)
{
    (void)state;
    const char *dir = TX_BINARY_DIR "/test_gen.work";
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    txg_city *c = small_city();
    tx_err err = {0};
    if (txg_write_csv(c, dir, 1, NULL, NULL, &err))
        fail_msg("txg_write_csv: %s", err.msg);
    size_t ne, nm, nf, nev, nd, nx;
    const tx_enterprise *ent = txg_enterprises(c, &ne);
    const tx_meter *mt = txg_meters(c, &nm);
    txg_financials(c, &nf);
    const tx_event *ev = txg_events(c, &nev);
    txg_deflators(c, &nd);
    const txg_fault *fx = txg_faults(c, &nx);

    assert_int_equal(count_rows(dir, "enterprises.csv",
                                "enterprise_id,name,industry_code,district_code,land_area_mu,"
                                "above_scale,cluster"),
                     ne);
    assert_int_equal(count_rows(dir, "meters.csv",
                                "meter_id,enterprise_id,carrier,unit,kind,multiplier,"
                                "register_digits,interval_minutes,capacity"),
                     nm);
    assert_int_equal(count_rows(dir, "financials.csv",
                                "enterprise_id,period,value_added,revenue,tax,rd_expense,"
                                "employees,pollutant_t"),
                     nf);
    assert_int_equal(count_rows(dir, "meter_events.csv",
                                "meter_id,timestamp,event,old_reading,new_reading,"
                                "new_multiplier"),
                     nev);
    assert_int_equal(count_rows(dir, "deflators.csv", "industry_division,year,price_index"), nd);
    assert_int_equal(count_rows(dir, "truth/meter_totals.csv",
                                "meter_id,year,total,coverage,unit,rollovers,gaps,replacements"),
                     2 * nm);
    assert_int_equal(count_rows(dir, "truth/faults.csv", NULL), nx);

    /* enterprises.csv: quoted names come back intact */
    char path[1024], line[4096];
    char *fl[16];
    snprintf(path, sizeof path, "%s/enterprises.csv", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    for (size_t i = 0; i < ne; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        chomp(line);
        assert_int_equal(split_csv(line, fl, 16), 7);
        assert_string_equal(fl[0], ent[i].id);
        assert_string_equal(fl[1], ent[i].name);
        assert_string_equal(fl[2] + (fl[2][0] == 'C'), ent[i].industry);
        assert_string_equal(fl[6], ent[i].cluster);
    }
    fclose(f);

    /* meter_events.csv: the event as listed */
    snprintf(path, sizeof path, "%s/meter_events.csv", dir);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    chomp(line);
    fclose(f);
    assert_int_equal(split_csv(line, fl, 16), 6);
    int64_t t, h;
    assert_string_equal(fl[0], ev[0].meter_id);
    assert_int_equal(parse_ts(fl[1], &t), 0);
    assert_int_equal(t, ev[0].t);
    assert_string_equal(fl[2], "replace");
    assert_int_equal(parse_h(fl[3], &h), 0);
    assert_int_equal(h, hundredths(ev[0].old_reading));
    assert_string_equal(fl[5], "");

    /* readings: every row is the series value at its slot, each instant once except the
     * listed duplicates, and every reading of the series is there */
    double **ser = calloc(nm, sizeof *ser);
    uint8_t **seen = calloc(nm, sizeof *seen);
    int64_t *base = calloc(nm, sizeof *base), *top = calloc(nm, sizeof *top);
    size_t expected = 0, dups_listed = 0;
    for (size_t m = 0; m < nm; m++) {
        int64_t f0, l0, f1;
        txg_year_slots(c, m, 2020, &f0, &l0);
        txg_year_slots(c, m, 2025, &f1, &top[m]);
        base[m] = f0;
        size_t n = (size_t)(top[m] - f0 + 1);
        ser[m] = malloc(n * sizeof *ser[m]);
        seen[m] = calloc(n, 1);
        assert_int_equal(txg_meter_series(c, m, f0, n, ser[m], NULL), TX_OK);
        for (size_t k = 0; k < n; k++)
            expected += !isnan(ser[m][k]);
    }
    for (size_t k = 0; k < nx; k++)
        dups_listed += fx[k].kind == TXG_FAULT_DUPLICATE ? fx[k].count : 0;
    size_t rows = 0, dups = 0, files = 0, forms[3] = {0};
    for (int year = 2020; year <= 2025; year += 5)
        for (int64_t day = 0; day <= 365 + (year % 4 == 0); day++) {
            int y, mo, d, hh, mi, se;
            tx_unix_to_local(tx_local_to_unix(year, 1, 1, 0, 0, 0) + day * 86400, &y, &mo, &d,
                             &hh, &mi, &se);
            snprintf(path, sizeof path, "%s/readings/%04d-%02d-%02d.csv", dir, y, mo, d);
            f = fopen(path, "rb");
            if (!f)
                fail_msg("%s: %s", path, strerror(errno));
            files++;
            assert_non_null(fgets(line, sizeof line, f));
            chomp(line);
            int order = strcmp(line, "meter_id,timestamp,value,quality") == 0   ? 0
                        : strcmp(line, "timestamp,meter_id,quality,value") == 0 ? 1
                                                                               : -1;
            assert_true(order >= 0);
            size_t m = 0;
            while (fgets(line, sizeof line, f)) {
                chomp(line);
                assert_int_equal(split_csv(line, fl, 8), 4);
                const char *id = fl[order ? 1 : 0], *ts = fl[order ? 0 : 1];
                const char *val = fl[order ? 3 : 2], *qual = fl[order ? 2 : 3];
                if (strcmp(mt[m].id, id) != 0)
                    for (m = 0; m < nm && strcmp(mt[m].id, id) != 0; m++)
                        ;
                assert_true(m < nm);
                int form = parse_ts(ts, &t);
                assert_true(form >= 0);
                forms[form]++;
                int64_t per = mt[m].interval_minutes * INT64_C(60);
                assert_int_equal((t - TX_EPOCH_UNIX) % per, 0);
                int64_t slot = (t - TX_EPOCH_UNIX) / per;
                assert_true(slot >= base[m] && slot <= top[m]);
                size_t at = (size_t)(slot - base[m]);
                if (parse_h(val, &h))
                    fail_msg("%s: value '%s' without two decimals", path, val);
                if (h != hundredths(ser[m][at]))
                    fail_msg("%s %s: %s, series %.2f", path, id, val, ser[m][at]);
                assert_true(strcmp(qual, "0") == 0 || strcmp(qual, "1") == 0);
                int ly, lmo, ld;
                tx_unix_to_local(t, &ly, &lmo, &ld, &hh, &mi, &se);
                if (seen[m][at]) /* repeated in a later file */
                    dups++;
                else /* the file of the local day holds the instant */
                    assert_true(ly == y && lmo == mo && ld == d);
                seen[m][at] = 1;
                rows++;
            }
            fclose(f);
        }
    assert_int_equal(files, 2 + 366 + 365);
    assert_int_equal(dups, dups_listed);
    assert_int_equal(rows, expected + dups);
    assert_true(forms[0] > rows / 2 && forms[1] > rows / 20 && forms[2] > rows / 50);
    for (size_t m = 0; m < nm; m++) {
        free(ser[m]);
        free(seen[m]);
    }
    free(ser);
    free(seen);
    free(base);
    free(top);
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
        cmocka_unit_test(test_series_quantised),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_write_csv),
        cmocka_unit_test(test_write_csv_adjacent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
