/* test_kernels.c - the kernels layer: hand-computed cases for every rule, optimised against
 * reference on awkward sizes and misaligned starts, and thread-count independence.
 *
 * The randomised tests print their seed; TX_TEST_SEED=<seed> replays a run. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tx_kernels.h"

/* Relative tolerance between optimised and reference sums (the header's contract). */
#define SUM_RTOL 1e-12

static uint64_t g_seed;

/* ---- helpers ------------------------------------------------------------------------- */

/* splitmix64: small, fast, and a pure function of its state. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-53;
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

/* Equal as the kernels promise: both NaN, or the same bits (so -0 and +0 differ). */
static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same_doubles(const double *a, const double *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!same_double(a[i], b[i]))
            fail_msg("%s[%zu]: %.17g != %.17g (seed %llu)", what, i, a[i], b[i],
                     (unsigned long long)g_seed);
}

/* |a - b| <= SUM_RTOL * scale, where scale is the sum of the magnitudes of the terms (the
 * natural size of a rounding difference); a NaN or an infinity must be matched exactly. */
static void assert_close(double a, double b, double scale, const char *what, size_t i)
{
    if (!isfinite(a) || !isfinite(b)) {
        if (!same_double(a, b))
            fail_msg("%s[%zu]: %.17g vs %.17g (seed %llu)", what, i, a, b,
                     (unsigned long long)g_seed);
        return;
    }
    double tol = SUM_RTOL * fmax(scale, fmax(fabs(a), fabs(b)));
    if (!(fabs(a - b) <= tol))
        fail_msg("%s[%zu]: %.17g vs %.17g, diff %.3g > %.3g (seed %llu)", what, i, a, b,
                 fabs(a - b), tol, (unsigned long long)g_seed);
}

static void assert_stats_equal(const txk_delta_stats *a, const txk_delta_stats *b)
{
    assert_int_equal(a->rollovers, b->rollovers);
    assert_int_equal(a->negatives, b->negatives);
    assert_int_equal(a->gaps, b->gaps);
    assert_int_equal(a->gap_intervals, b->gap_intervals);
}

/* ---- register deltas: hand-computed cases ---------------------------------------------- */

#define MULT 2.0
#define MODULUS 100000.0
#define ROLL_MIN 90000.0 /* 90 % of the 5-digit register */

typedef void (*deltas_fn)(const double *restrict, size_t, double, double, double,
                          double *restrict, uint8_t *restrict, txk_delta_stats *restrict);

/* Runs both versions on r[0..n) and checks them against the expected outputs. The output
 * buffers have one extra entry holding a sentinel that must survive. */
static void check_deltas(const double *r, size_t n, double modulus, const double *want_delta,
                         const uint8_t *want_valid, txk_delta_stats want_st)
{
    static const deltas_fn fns[2] = {txk_register_deltas, txk_register_deltas_ref};
    const size_t nint = n > 1 ? n - 1 : 0;
    for (int v = 0; v < 2; v++) {
        double *delta = test_malloc((nint + 1) * sizeof *delta);
        uint8_t *valid = test_malloc(nint + 1);
        for (size_t i = 0; i <= nint; i++) {
            delta[i] = -12345.0;
            valid[i] = 0xAA;
        }
        txk_delta_stats st = {0};
        fns[v](r, n, MULT, modulus, ROLL_MIN, delta, valid, &st);
        for (size_t i = 0; i < nint; i++) {
            if (!same_double(delta[i], want_delta[i]))
                fail_msg("%s: delta[%zu] = %.17g, want %.17g", v ? "ref" : "opt", i, delta[i],
                         want_delta[i]);
            if (valid[i] != want_valid[i])
                fail_msg("%s: valid[%zu] = %d, want %d", v ? "ref" : "opt", i, valid[i],
                         want_valid[i]);
        }
        assert_true(delta[nint] == -12345.0);
        assert_int_equal(valid[nint], 0xAA);
        assert_stats_equal(&st, &want_st);
        test_free(delta);
        test_free(valid);
    }
}

static void test_deltas_small_n(void **state)
{
    (void)state;
    const double r0[1] = {0};
    check_deltas(r0, 0, MODULUS, NULL, NULL, (txk_delta_stats){0});
    const double r1[1] = {42.0};
    check_deltas(r1, 1, MODULUS, NULL, NULL, (txk_delta_stats){0});
    const double r2[2] = {10.0, 13.5};
    check_deltas(r2, 2, MODULUS, (const double[]){7.0}, (const uint8_t[]){1},
                 (txk_delta_stats){0});
    const double r2m[2] = {10.0, NAN};
    check_deltas(r2m, 2, MODULUS, (const double[]){NAN}, (const uint8_t[]){0},
                 (txk_delta_stats){0});
    const double r2l[2] = {NAN, 10.0};
    check_deltas(r2l, 2, MODULUS, (const double[]){NAN}, (const uint8_t[]){0},
                 (txk_delta_stats){0});
    const double r2z[2] = {10.0, 10.0};
    check_deltas(r2z, 2, MODULUS, (const double[]){0.0}, (const uint8_t[]){1},
                 (txk_delta_stats){0});
}

static void test_deltas_rollover_threshold(void **state)
{
    (void)state;
    /* -d = 90000 exactly: a rollover, 95000 -> 5000 is 10000 units. */
    const double at[2] = {95000.0, 5000.0};
    check_deltas(at, 2, MODULUS, (const double[]){20000.0}, (const uint8_t[]){1},
                 (txk_delta_stats){.rollovers = 1});
    /* -d = 89999, just below: a quarantined negative. */
    const double below[2] = {95000.0, 5001.0};
    check_deltas(below, 2, MODULUS, (const double[]){NAN}, (const uint8_t[]){0},
                 (txk_delta_stats){.negatives = 1});
    /* The same drop with an unknown register size: negative, never a rollover. */
    check_deltas(at, 2, 0.0, (const double[]){NAN}, (const uint8_t[]){0},
                 (txk_delta_stats){.negatives = 1});
    /* A drop larger than the register: the rollover rule applies, the result is still
     * negative, so the interval is quarantined as well. */
    const double huge[2] = {250000.0, 1000.0};
    check_deltas(huge, 2, MODULUS, (const double[]){NAN}, (const uint8_t[]){0},
                 (txk_delta_stats){.rollovers = 1, .negatives = 1});
    /* Rollover inside a longer series keeps the following intervals on the fast path. */
    const double mid[5] = {99990.0, 99995.0, 3.0, 10.0, 11.0};
    check_deltas(mid, 5, MODULUS, (const double[]){10.0, 16.0, 14.0, 2.0},
                 (const uint8_t[]){1, 1, 1, 1}, (txk_delta_stats){.rollovers = 1});
}

static void test_deltas_bridged_gap(void **state)
{
    (void)state;
    /* 100, -, -, 130, 131: the gap 0..3 holds 30 units, given to interval 2; intervals 0..2
     * are not measured (2 missing readings -> 3 intervals). */
    const double r[5] = {100.0, NAN, NAN, 130.0, 131.0};
    check_deltas(r, 5, MODULUS, (const double[]){NAN, NAN, 60.0, 2.0},
                 (const uint8_t[]){0, 0, 0, 1}, (txk_delta_stats){.gaps = 1, .gap_intervals = 3});
    /* One missing reading: two intervals. */
    const double r1[3] = {100.0, NAN, 104.0};
    check_deltas(r1, 3, MODULUS, (const double[]){NAN, 8.0}, (const uint8_t[]){0, 0},
                 (txk_delta_stats){.gaps = 1, .gap_intervals = 2});
    /* A rollover across a gap is applied once. */
    const double rr[4] = {99000.0, NAN, NAN, 500.0};
    check_deltas(rr, 4, MODULUS, (const double[]){NAN, NAN, 3000.0}, (const uint8_t[]){0, 0, 0},
                 (txk_delta_stats){.rollovers = 1, .gaps = 1, .gap_intervals = 3});
    /* A negative across a gap is quarantined and still counted as a gap. */
    const double rn[3] = {100.0, NAN, 50.0};
    check_deltas(rn, 3, MODULUS, (const double[]){NAN, NAN}, (const uint8_t[]){0, 0},
                 (txk_delta_stats){.negatives = 1, .gaps = 1, .gap_intervals = 2});
    /* Two gaps, and an infinity taken as a missing reading. */
    const double r2[7] = {1.0, INFINITY, 3.0, 4.0, NAN, NAN, 10.0};
    check_deltas(r2, 7, MODULUS, (const double[]){NAN, 4.0, 2.0, NAN, NAN, 12.0},
                 (const uint8_t[]){0, 0, 1, 0, 0, 0},
                 (txk_delta_stats){.gaps = 2, .gap_intervals = 5});
}

static void test_deltas_negative_quarantine(void **state)
{
    (void)state;
    /* 100, 110, 90, 95: the drop is quarantined; later deltas start from the new reading. */
    const double r[4] = {100.0, 110.0, 90.0, 95.0};
    check_deltas(r, 4, MODULUS, (const double[]){20.0, NAN, 10.0}, (const uint8_t[]){1, 0, 1},
                 (txk_delta_stats){.negatives = 1});
    /* The new reading is also the start of a following bridged gap. */
    const double rg[4] = {100.0, 90.0, NAN, 95.0};
    check_deltas(rg, 4, MODULUS, (const double[]){NAN, NAN, 10.0}, (const uint8_t[]){0, 0, 0},
                 (txk_delta_stats){.negatives = 1, .gaps = 1, .gap_intervals = 2});
}

static void test_deltas_leading_trailing(void **state)
{
    (void)state;
    /* Leading missing readings have nothing to bridge from: no gap. */
    const double lead[4] = {NAN, NAN, 5.0, 7.0};
    check_deltas(lead, 4, MODULUS, (const double[]){NAN, NAN, 4.0}, (const uint8_t[]){0, 0, 1},
                 (txk_delta_stats){0});
    /* Trailing missing readings have no end: no gap. */
    const double trail[4] = {5.0, 7.0, NAN, NAN};
    check_deltas(trail, 4, MODULUS, (const double[]){4.0, NAN, NAN}, (const uint8_t[]){1, 0, 0},
                 (txk_delta_stats){0});
    const double none[3] = {NAN, NAN, NAN};
    check_deltas(none, 3, MODULUS, (const double[]){NAN, NAN}, (const uint8_t[]){0, 0},
                 (txk_delta_stats){0});
    /* A single present reading in the middle. */
    const double one[3] = {NAN, 5.0, NAN};
    check_deltas(one, 3, MODULUS, (const double[]){NAN, NAN}, (const uint8_t[]){0, 0},
                 (txk_delta_stats){0});
}

static void test_deltas_stats_accumulate(void **state)
{
    (void)state;
    const double r[4] = {95000.0, 5000.0, NAN, 5001.0};
    double delta[3];
    uint8_t valid[3];
    txk_delta_stats st = {.rollovers = 10, .negatives = 20, .gaps = 30, .gap_intervals = 40};
    txk_register_deltas(r, 4, MULT, MODULUS, ROLL_MIN, delta, valid, &st);
    txk_register_deltas_ref(r, 4, MULT, MODULUS, ROLL_MIN, delta, valid, &st);
    assert_stats_equal(&st, &(txk_delta_stats){.rollovers = 12, .negatives = 20, .gaps = 32,
                                               .gap_intervals = 44});
}

/* ---- interval scale, sums, scatter, classes, ratios: hand-computed cases ---------------- */

static void test_interval_scale(void **state)
{
    (void)state;
    const double v[7] = {1.0, 0.0, -2.0, NAN, INFINITY, -INFINITY, 0.5};
    const double want_delta[7] = {3.0, 0.0, NAN, NAN, NAN, NAN, 1.5};
    const uint8_t want_valid[7] = {1, 1, 0, 0, 0, 0, 1};
    for (int ver = 0; ver < 2; ver++) {
        double delta[8];
        uint8_t valid[8];
        delta[7] = -1.0;
        valid[7] = 0xAA;
        uint64_t neg = 5;
        (ver ? txk_interval_scale_ref : txk_interval_scale)(v, 7, 3.0, delta, valid, &neg);
        assert_same_doubles(delta, want_delta, 7, "delta");
        assert_memory_equal(valid, want_valid, 7);
        assert_int_equal(neg, 6);
        assert_true(delta[7] == -1.0);
        assert_int_equal(valid[7], 0xAA);
        (ver ? txk_interval_scale_ref : txk_interval_scale)(v, 0, 3.0, delta, valid, &neg);
        assert_int_equal(neg, 6);
    }
}

static void test_binned_sum(void **state)
{
    (void)state;
    double d[26] = {1.0, NAN, 2.0, INFINITY, 4.0, 8.0};
    uint8_t v[26] = {1, 0, 1, 0, 1, 1};
    for (int i = 6; i < 26; i++) {
        d[i] = i - 5; /* 1..20, with a NaN and infinities in the vector part of the bin */
        v[i] = (uint8_t)(i % 3 == 0 ? 0 : 7);
    }
    d[7] = NAN;
    d[12] = INFINITY;
    d[17] = -INFINITY;
    const size_t edge[5] = {0, 0, 3, 6, 26};
    for (int ver = 0; ver < 2; ver++) {
        double sum[4];
        uint64_t nv[4];
        (ver ? txk_binned_sum_ref : txk_binned_sum)(d, v, edge, 4, sum, nv);
        assert_true(sum[0] == 0.0 && sum[1] == 3.0 && sum[2] == 12.0);
        assert_true(sum[3] == 210.0 - 2.0 - 7.0 - 12.0);
        assert_int_equal(nv[0], 0);
        assert_int_equal(nv[1], 2);
        assert_int_equal(nv[2], 2);
        assert_int_equal(nv[3], 13); /* i in 6..25 with i % 3 != 0 */
        sum[0] = -1.0;
        (ver ? txk_binned_sum_ref : txk_binned_sum)(d, v, edge, 0, sum, nv);
        assert_true(sum[0] == -1.0);
    }
}

static void test_convert_scatter(void **state)
{
    (void)state;
    const double q[5] = {1.0, 2.0, 3.0, 4.0, NAN};
    const double c[5] = {10.0, 10.0, 0.5, 2.0, 1.0};
    const uint32_t o[5] = {0, 0, 2, 0, 3};
    for (int ver = 0; ver < 2; ver++) {
        double acc[4] = {100.0, 0.0, 0.0, 0.0};
        (ver ? txk_convert_scatter_ref : txk_convert_scatter)(q, c, o, 5, acc);
        assert_true(acc[0] == 138.0);
        assert_true(acc[1] == 0.0);
        assert_true(acc[2] == 1.5);
        assert_true(isnan(acc[3]));
        (ver ? txk_convert_scatter_ref : txk_convert_scatter)(q, c, o, 0, acc);
        assert_true(acc[0] == 138.0);
    }
}

static void test_classify(void **state)
{
    (void)state;
    const double bounds[4] = {0.6, 0.8, 1.2, 2.0};
    const double x[14] = {0.5, 0.6,  0.6000001, 0.8, 1.0,       1.2,   2.0,
                          2.0000001, NAN, INFINITY, 1.0, -INFINITY, -5.0, 0.0};
    const uint8_t want[14] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 255};
    const uint8_t expect[14] = {1, 1, 2, 2, 3, 3, 4, 5, 0, 0, 0, 0, 1, 1};
    const double level[2] = {0.6, 2.0};
    const uint8_t expect_level[14] = {1, 1, 2, 2, 2, 2, 2, 3, 0, 0, 0, 0, 1, 1};
    for (int ver = 0; ver < 2; ver++) {
        uint8_t cls[15];
        cls[14] = 0xAA;
        (ver ? txk_classify_ref : txk_classify)(x, want, 14, bounds, 4, cls);
        assert_memory_equal(cls, expect, 14);
        assert_int_equal(cls[14], 0xAA);
        (ver ? txk_classify_ref : txk_classify)(x, want, 14, level, 2, cls);
        assert_memory_equal(cls, expect_level, 14);
        (ver ? txk_classify_ref : txk_classify)(x, want, 14, NULL, 0, cls);
        for (int i = 0; i < 14; i++)
            assert_int_equal(cls[i], expect[i] ? 1 : 0);
        (ver ? txk_classify_ref : txk_classify)(x, want, 0, bounds, 4, cls);
        assert_int_equal(cls[0], 1);
    }
}

static void test_ratio(void **state)
{
    (void)state;
    const double num[11] = {1.0, 1.0, 1.0, NAN, 1.0, INFINITY, 3.0, 1.0, -6.0, 1.0, 0.0};
    const double den[11] = {2.0, 0.0, -1.0, 1.0, NAN, 1.0, INFINITY, 4.0, 3.0, -0.0, 5.0};
    const uint8_t want[11] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 9};
    const double expect[11] = {0.5, NAN, NAN, NAN, NAN, NAN, NAN, NAN, -2.0, NAN, 0.0};
    for (int ver = 0; ver < 2; ver++) {
        double out[12];
        out[11] = -1.0;
        (ver ? txk_ratio_ref : txk_ratio)(num, den, want, 11, out);
        assert_same_doubles(out, expect, 11, "ratio");
        assert_true(out[11] == -1.0);
    }
}

/* ---- optimised against reference on random data ------------------------------------------ */

static const size_t g_sizes[] = {0,  1,  2,  3,   7,   8,    9,    15,   16,   17,  31,
                                 32, 33, 63, 64,  65,  255,  256,  257,  1000, 1023,
                                 1024, 1025, 2049, 35041};
#define NSIZES (sizeof g_sizes / sizeof g_sizes[0])

/* A cumulative register with everything the rules handle: steady rises and zero steps,
 * single missing readings and runs of them, drops (quarantined), wraps past the modulus,
 * drops of exactly the rollover threshold and just below it, and the odd infinity. */
static void gen_readings(uint64_t *s, double *r, size_t n, double modulus)
{
    const double span = modulus > 0 ? modulus : 1e6;
    double v = floor(rng_unit(s) * span);
    for (size_t i = 0; i < n; i++) {
        const double u = rng_unit(s);
        if (u < 0.04) {
            r[i] = NAN;
        } else if (u < 0.05) {
            size_t run = 1 + rng_below(s, 40);
            for (size_t k = 0; k < run && i < n; k++, i++)
                r[i] = NAN;
            i--;
        } else if (u < 0.06 && i > 0 && !isnan(r[i - 1])) {
            r[i] = r[i - 1] - floor(rng_unit(s) * 0.5 * span); /* a drop */
        } else if (u < 0.07 && modulus > 0) {
            v = fmod(v + floor(rng_unit(s) * 100.0) + 0.97 * modulus, modulus);
            v -= fmod(v, 1.0);
            r[i] = v; /* usually a wrap */
        } else if (u < 0.075 && i > 0 && !isnan(r[i - 1])) {
            r[i] = r[i - 1] - ROLL_MIN; /* exactly at the threshold */
        } else if (u < 0.08 && i > 0 && !isnan(r[i - 1])) {
            r[i] = r[i - 1] - (ROLL_MIN - 1.0); /* just below */
        } else if (u < 0.082) {
            r[i] = (rng_next(s) & 1) ? INFINITY : -INFINITY;
        } else {
            if (rng_unit(s) >= 0.1)
                v += rng_unit(s) * 50.0;
            r[i] = v;
        }
    }
}

static void test_deltas_random(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD1);
    for (size_t si = 0; si < NSIZES; si++)
        for (int off = 0; off < 2; off++)
            for (int m = 0; m < 2; m++) {
                const size_t n = g_sizes[si];
                const double modulus = m ? MODULUS : 0.0;
                double *rb = test_malloc((n + 1) * sizeof *rb);
                double *d1 = test_malloc((n + 2) * sizeof *d1);
                double *d2 = test_malloc((n + 2) * sizeof *d2);
                uint8_t *v1 = test_malloc(n + 2);
                uint8_t *v2 = test_malloc(n + 2);
                double *r = rb + off;
                gen_readings(&s, r, n, modulus);
                for (size_t i = 0; i < n + 2; i++) {
                    d1[i] = d2[i] = -7.0;
                    v1[i] = v2[i] = 0xAA;
                }
                txk_delta_stats st1 = {0}, st2 = {0};
                txk_register_deltas(r, n, 1.5, modulus, ROLL_MIN, d1 + off, v1 + off, &st1);
                txk_register_deltas_ref(r, n, 1.5, modulus, ROLL_MIN, d2 + off, v2 + off, &st2);
                assert_same_doubles(d1, d2, n + 2, "register_deltas");
                assert_memory_equal(v1, v2, n + 2);
                assert_stats_equal(&st1, &st2);
                /* Exactly n - 1 entries written, and a measured interval always has a
                 * finite, non-negative delta. */
                const size_t nint = n > 1 ? n - 1 : 0;
                assert_true(d1[off + nint] == -7.0 && v1[off + nint] == 0xAA);
                for (size_t i = 0; i < nint; i++)
                    if (v1[off + i])
                        assert_true(isfinite(d1[off + i]) && d1[off + i] >= 0);
                test_free(rb);
                test_free(d1);
                test_free(d2);
                test_free(v1);
                test_free(v2);
            }
}

static void test_interval_scale_random(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD2);
    for (size_t si = 0; si < NSIZES; si++)
        for (int off = 0; off < 2; off++) {
            const size_t n = g_sizes[si];
            double *xb = test_malloc((n + 1) * sizeof *xb);
            double *d1 = test_malloc((n + 1) * sizeof *d1);
            double *d2 = test_malloc((n + 1) * sizeof *d2);
            uint8_t *v1 = test_malloc(n + 1);
            uint8_t *v2 = test_malloc(n + 1);
            double *x = xb + off;
            for (size_t i = 0; i < n; i++) {
                const double u = rng_unit(&s);
                x[i] = u < 0.05   ? NAN
                       : u < 0.1  ? -rng_unit(&s) * 10.0
                       : u < 0.11 ? ((rng_next(&s) & 1) ? INFINITY : -INFINITY)
                       : u < 0.15 ? 0.0
                                  : rng_unit(&s) * 100.0;
            }
            uint64_t n1 = 3, n2 = 3;
            txk_interval_scale(x, n, 0.25, d1 + off, v1 + off, &n1);
            txk_interval_scale_ref(x, n, 0.25, d2 + off, v2 + off, &n2);
            assert_same_doubles(d1 + off, d2 + off, n, "interval_scale");
            assert_memory_equal(v1 + off, v2 + off, n);
            assert_int_equal(n1, n2);
            test_free(xb);
            test_free(d1);
            test_free(d2);
            test_free(v1);
            test_free(v2);
        }
}

static void test_binned_sum_random(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD3);
    for (size_t si = 0; si < NSIZES; si++)
        for (int off = 0; off < 2; off++) {
            const size_t n = g_sizes[si];
            double *db = test_malloc((n + 1) * sizeof *db);
            uint8_t *vb = test_malloc(n + 1);
            double *d = db + off;
            uint8_t *v = vb + off;
            for (size_t i = 0; i < n; i++) {
                const double u = rng_unit(&s);
                d[i] = u < 0.05   ? NAN
                       : u < 0.06 ? INFINITY
                       : u < 0.08 ? -rng_unit(&s) * 10.0
                                  : rng_unit(&s) * 1000.0;
                v[i] = (uint8_t)(u < 0.1 ? 0 : 1 + (rng_next(&s) & 3));
            }
            /* Bins of random length, empty ones included, covering [0, n) in order. */
            size_t nbins = 0;
            size_t *edge = test_malloc((n + 2) * sizeof *edge);
            edge[0] = 0;
            while (edge[nbins] < n || nbins == 0) {
                size_t len = rng_below(&s, 4) == 0 ? 0 : 1 + rng_below(&s, 120);
                if (len > n - edge[nbins])
                    len = n - edge[nbins];
                edge[nbins + 1] = edge[nbins] + len;
                nbins++;
                if (nbins == n + 1)
                    break;
            }
            double *s1 = test_malloc((nbins + 1) * sizeof *s1);
            double *s2 = test_malloc((nbins + 1) * sizeof *s2);
            uint64_t *c1 = test_malloc((nbins + 1) * sizeof *c1);
            uint64_t *c2 = test_malloc((nbins + 1) * sizeof *c2);
            txk_binned_sum(d, v, edge, nbins, s1, c1);
            txk_binned_sum_ref(d, v, edge, nbins, s2, c2);
            for (size_t b = 0; b < nbins; b++) {
                double scale = 0.0;
                for (size_t i = edge[b]; i < edge[b + 1]; i++)
                    if (isfinite(d[i]))
                        scale += fabs(d[i]);
                assert_close(s1[b], s2[b], scale, "binned_sum", b);
                assert_int_equal(c1[b], c2[b]);
            }
            /* The same bins at another address give the same bits. */
            memmove(db + (1 - off), d, n * sizeof *d);
            memmove(vb + (1 - off), v, n);
            txk_binned_sum(db + (1 - off), vb + (1 - off), edge, nbins, s2, c2);
            assert_same_doubles(s1, s2, nbins, "binned_sum moved");
            test_free(db);
            test_free(vb);
            test_free(edge);
            test_free(s1);
            test_free(s2);
            test_free(c1);
            test_free(c2);
        }
}

static void test_convert_scatter_random(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD4);
    const size_t nacc = 37;
    for (size_t si = 0; si < NSIZES; si++)
        for (int off = 0; off < 2; off++) {
            const size_t n = g_sizes[si];
            double *qb = test_malloc((n + 1) * sizeof *qb);
            double *cb = test_malloc((n + 1) * sizeof *cb);
            uint32_t *ob = test_malloc((n + 1) * sizeof *ob);
            double *q = qb + off, *c = cb + off;
            uint32_t *o = ob + off;
            /* Runs of equal owners, as the engine lays entries out, and scattered ones. */
            uint32_t cur = 0;
            for (size_t i = 0; i < n; i++) {
                if (rng_below(&s, 8) == 0)
                    cur = (uint32_t)rng_below(&s, nacc - 1);
                o[i] = rng_below(&s, 20) == 0 ? (uint32_t)(nacc - 1) : cur;
                q[i] = rng_below(&s, 500) == 0 ? NAN : rng_unit(&s) * 1e4;
                c[i] = rng_unit(&s) * 1.3;
            }
            double *a1 = test_malloc(nacc * sizeof *a1);
            double *a2 = test_malloc(nacc * sizeof *a2);
            double *scale = test_malloc(nacc * sizeof *scale);
            for (size_t k = 0; k < nacc; k++) {
                a1[k] = a2[k] = scale[k] = (double)k;
            }
            for (size_t i = 0; i < n; i++)
                scale[o[i]] += fabs(q[i] * c[i]);
            txk_convert_scatter(q, c, o, n, a1);
            txk_convert_scatter_ref(q, c, o, n, a2);
            for (size_t k = 0; k < nacc; k++)
                assert_close(a1[k], a2[k], scale[k], "convert_scatter", k);
            test_free(qb);
            test_free(cb);
            test_free(ob);
            test_free(a1);
            test_free(a2);
            test_free(scale);
        }
}

static void test_classify_ratio_random(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD5);
    const double bounds[4] = {0.6, 0.8, 1.2, 2.0};
    for (size_t si = 0; si < NSIZES; si++)
        for (int off = 0; off < 2; off++) {
            const size_t n = g_sizes[si];
            double *xb = test_malloc((n + 1) * sizeof *xb);
            double *yb = test_malloc((n + 1) * sizeof *yb);
            uint8_t *wb = test_malloc(n + 1);
            uint8_t *k1 = test_malloc(n + 1);
            uint8_t *k2 = test_malloc(n + 1);
            double *r1 = test_malloc((n + 1) * sizeof *r1);
            double *r2 = test_malloc((n + 1) * sizeof *r2);
            double *x = xb + off, *y = yb + off;
            uint8_t *w = wb + off;
            for (size_t i = 0; i < n; i++) {
                const double u = rng_unit(&s);
                x[i] = u < 0.2    ? bounds[rng_below(&s, 4)]
                       : u < 0.25 ? nextafter(bounds[rng_below(&s, 4)], INFINITY)
                       : u < 0.3  ? NAN
                       : u < 0.32 ? -INFINITY
                                  : rng_unit(&s) * 3.0 - 0.5;
                const double u2 = rng_unit(&s);
                y[i] = u2 < 0.05   ? 0.0
                       : u2 < 0.1  ? -rng_unit(&s)
                       : u2 < 0.12 ? NAN
                       : u2 < 0.14 ? INFINITY
                                   : rng_unit(&s) * 5.0;
                w[i] = (uint8_t)(rng_below(&s, 10) == 0 ? 0 : 1 + rng_below(&s, 3));
            }
            txk_classify(x, w, n, bounds, 4, k1 + off);
            txk_classify_ref(x, w, n, bounds, 4, k2 + off);
            assert_memory_equal(k1 + off, k2 + off, n);
            txk_ratio(x, y, w, n, r1 + off);
            txk_ratio_ref(x, y, w, n, r2 + off);
            assert_same_doubles(r1 + off, r2 + off, n, "ratio");
            test_free(xb);
            test_free(yb);
            test_free(wb);
            test_free(k1);
            test_free(k2);
            test_free(r1);
            test_free(r2);
        }
}

/* ---- thread-count independence ------------------------------------------------------------ */

#define NSERIES 48
#define SERIES_LEN 3001 /* one reading more than 3000 intervals */
#define SERIES_BIN 96

typedef struct {
    const double *reading;
    double *delta, *sum, *acc, *ratio;
    uint8_t *valid, *cls;
    uint64_t *nvalid;
    txk_delta_stats *st;
} series_out;

static void series_out_init(series_out *o, const double *reading)
{
    const size_t nint = SERIES_LEN - 1, nbins = nint / SERIES_BIN;
    o->reading = reading;
    o->delta = test_calloc(NSERIES * nint, sizeof *o->delta);
    o->valid = test_calloc(NSERIES * nint, 1);
    o->sum = test_calloc(NSERIES * nbins, sizeof *o->sum);
    o->nvalid = test_calloc(NSERIES * nbins, sizeof *o->nvalid);
    o->acc = test_calloc(NSERIES * 4, sizeof *o->acc);
    o->cls = test_calloc(NSERIES * nbins, 1);
    o->ratio = test_calloc(NSERIES * nbins, sizeof *o->ratio);
    o->st = test_calloc(NSERIES, sizeof *o->st);
}

static void series_out_destroy(series_out *o)
{
    test_free(o->delta);
    test_free(o->valid);
    test_free(o->sum);
    test_free(o->nvalid);
    test_free(o->acc);
    test_free(o->cls);
    test_free(o->ratio);
    test_free(o->st);
}

/* The whole chain of kernels on one series, writing only that series' outputs. */
static void run_series(series_out *o, const size_t *edge, const uint32_t *owner,
                       const double *coef, size_t k)
{
    static const double bounds[4] = {0.6, 0.8, 1.2, 2.0};
    const size_t nint = SERIES_LEN - 1, nbins = nint / SERIES_BIN;
    double *delta = o->delta + k * nint;
    uint8_t *valid = o->valid + k * nint;
    txk_register_deltas(o->reading + k * SERIES_LEN, SERIES_LEN, 1.5, MODULUS, ROLL_MIN, delta,
                        valid, &o->st[k]);
    txk_binned_sum(delta, valid, edge, nbins, o->sum + k * nbins, o->nvalid + k * nbins);
    txk_convert_scatter(o->sum + k * nbins, coef, owner, nbins, o->acc + k * 4);
    uint8_t want[SERIES_LEN / SERIES_BIN];
    double den[SERIES_LEN / SERIES_BIN];
    for (size_t b = 0; b < nbins; b++) {
        want[b] = o->nvalid[k * nbins + b] > 0;
        den[b] = (double)o->nvalid[k * nbins + b] * 20.0;
    }
    txk_ratio(o->sum + k * nbins, den, want, nbins, o->ratio + k * nbins);
    txk_classify(o->ratio + k * nbins, want, nbins, bounds, 4, o->cls + k * nbins);
}

static void assert_series_equal(const series_out *a, const series_out *b)
{
    const size_t nint = SERIES_LEN - 1, nbins = nint / SERIES_BIN;
    assert_same_doubles(a->delta, b->delta, NSERIES * nint, "omp delta");
    assert_memory_equal(a->valid, b->valid, NSERIES * nint);
    assert_memory_equal(a->sum, b->sum, NSERIES * nbins * sizeof *a->sum);
    assert_memory_equal(a->nvalid, b->nvalid, NSERIES * nbins * sizeof *a->nvalid);
    assert_memory_equal(a->acc, b->acc, NSERIES * 4 * sizeof *a->acc);
    assert_memory_equal(a->cls, b->cls, NSERIES * nbins);
    assert_same_doubles(a->ratio, b->ratio, NSERIES * nbins, "omp ratio");
    assert_memory_equal(a->st, b->st, NSERIES * sizeof *a->st);
}

static void test_threads_bit_identical(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ UINT64_C(0xD6);
    const size_t nint = SERIES_LEN - 1, nbins = nint / SERIES_BIN;
    double *reading = test_malloc(NSERIES * SERIES_LEN * sizeof *reading);
    for (size_t k = 0; k < NSERIES; k++)
        gen_readings(&s, reading + k * SERIES_LEN, SERIES_LEN, MODULUS);
    size_t edge[SERIES_LEN / SERIES_BIN + 1];
    uint32_t owner[SERIES_LEN / SERIES_BIN];
    double coef[SERIES_LEN / SERIES_BIN];
    for (size_t b = 0; b <= nbins; b++)
        edge[b] = b * SERIES_BIN;
    for (size_t b = 0; b < nbins; b++) {
        owner[b] = (uint32_t)(b * 4 / nbins);
        coef[b] = 0.1229 + 0.001 * (double)b;
    }

    series_out serial, par;
    series_out_init(&serial, reading);
    for (size_t k = 0; k < NSERIES; k++)
        run_series(&serial, edge, owner, coef, k);

    for (int nt = 1; nt <= 2; nt++) {
        series_out_init(&par, reading);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
        for (size_t k = 0; k < NSERIES; k++)
            run_series(&par, edge, owner, coef, k);
        assert_series_equal(&serial, &par);
        series_out_destroy(&par);
    }
    series_out_destroy(&serial);
    test_free(reading);
}

int main(void)
{
    const char *env = getenv("TX_TEST_SEED");
    g_seed = env && *env ? strtoull(env, NULL, 0)
                         : ((uint64_t)time(NULL) * UINT64_C(2654435761)) ^ (uint64_t)clock();
#ifdef TXK_FORCE_REFERENCE
    const char *mode = ", reference kernels forced";
#else
    const char *mode = "";
#endif
    printf("test_kernels: seed %llu (replay with TX_TEST_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, mode);
    fflush(stdout);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deltas_small_n),
        cmocka_unit_test(test_deltas_rollover_threshold),
        cmocka_unit_test(test_deltas_bridged_gap),
        cmocka_unit_test(test_deltas_negative_quarantine),
        cmocka_unit_test(test_deltas_leading_trailing),
        cmocka_unit_test(test_deltas_stats_accumulate),
        cmocka_unit_test(test_interval_scale),
        cmocka_unit_test(test_binned_sum),
        cmocka_unit_test(test_convert_scatter),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_deltas_random),
        cmocka_unit_test(test_interval_scale_random),
        cmocka_unit_test(test_binned_sum_random),
        cmocka_unit_test(test_convert_scatter_random),
        cmocka_unit_test(test_classify_ratio_random),
        cmocka_unit_test(test_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
