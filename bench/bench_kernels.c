/* bench_kernels.c - throughput of the kernels, measured against a read bandwidth taken in
 * the same run, with every optimised result checked against the reference kernel.
 *
 *   bench_kernels [--smoke] [--mib N] [--runs N]
 *
 * Every kernel runs over independent series (meters) of one year of 15-minute readings.
 * Each measurement is one warm-up run, discarded, then --runs timed runs; the table gives
 * the median and the minimum time, the bytes a run moves (reads plus writes of the arrays,
 * as STREAM counts them: no write-allocate traffic), GB/s at the median time, and that rate
 * as a fraction of a STREAM-style read bandwidth (a sum over a large array) measured in the
 * same run with the same number of threads. With several threads the series are split into
 * one contiguous block per thread.
 *
 * After the timed runs the outputs of the optimised kernel are compared with the reference
 * kernel, series by series: exactly for flags, classes, counters and per-entry values, to a
 * relative 1e-12 for sums. Any mismatch makes the exit status non-zero. --smoke runs tiny
 * sizes in well under a second and still validates. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "tx_kernels.h"

#ifndef TX_BUILD_FLAGS
#define TX_BUILD_FLAGS "(not recorded)"
#endif

#define MAX_RUNS 99
#define STEPS_PER_DAY 96 /* 15-minute grid */
#define YEAR_READINGS (365 * STEPS_PER_DAY + 1)
#define NACC 64          /* owners per series in the scatter */
#define MODULUS 1e7      /* 7-digit registers */
#define ROLLOVER_MIN 9e6 /* 90 % of the register */
#define MULTIPLIER 40.0  /* CT x PT ratio */
#define SUM_RTOL 1e-12

/* ---- the data ------------------------------------------------------------------------- */

typedef struct {
    size_t nseries, len, nbins; /* len entries (readings) per series, nbins bins per series */
    size_t *edge;               /* nbins + 1 bin edges within one series */
    double bounds[4];
    /* inputs, nseries * len each */
    double *reading, *value, *qty, *coef;
    uint32_t *owner;
    /* outputs */
    double *delta, *out, *sum, *acc;
    uint8_t *valid, *cls;
    uint64_t *nvalid, *neg;
    txk_delta_stats *st;
    double sink; /* the read benchmark's sums, kept so that they are computed */
} bench_data;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* Realistic series: under 1 % missing readings, rare drops, a register wrap in every other
 * series and a long gap in every fourth, so the fast paths see what they would see in
 * production. */
static void fill_series(bench_data *d, size_t k)
{
    uint64_t s = UINT64_C(0x7A4E) + k;
    const size_t len = d->len;
    double *r = d->reading + k * len, *v = d->value + k * len;
    double *q = d->qty + k * len, *c = d->coef + k * len;
    uint32_t *o = d->owner + k * len;
    /* Odd series start close enough to full scale to wrap within the year. */
    double reg = MODULUS - (double)len * (k % 2 ? 100.0 : 400.0);
    for (size_t i = 0; i < len; i++) {
        const double u = rng_unit(&s);
        reg = fmod(reg + floor(rng_unit(&s) * 500.0), MODULUS);
        r[i] = u < 0.008 ? NAN : u < 0.009 ? reg - 1000.0 : reg;
        v[i] = u < 0.01 ? NAN : u < 0.011 ? -1.0 : rng_unit(&s) * 80.0;
        q[i] = rng_unit(&s) * 1e3;
        c[i] = rng_unit(&s) * 3.0;
        o[i] = (uint32_t)((i / STEPS_PER_DAY) % NACC);
    }
    if (k % 4 == 1)
        for (size_t i = len / 3; i < len / 3 + 200 && i < len; i++)
            r[i] = NAN;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(2);
    }
    return p;
}

static void data_init(bench_data *d, size_t nseries, size_t len)
{
    memset(d, 0, sizeof *d);
    d->nseries = nseries;
    d->len = len;
    d->nbins = (len - 1) / STEPS_PER_DAY;
    if (d->nbins == 0)
        d->nbins = 1;
    d->edge = xcalloc(d->nbins + 1, sizeof *d->edge);
    for (size_t b = 0; b < d->nbins; b++)
        d->edge[b] = b * STEPS_PER_DAY;
    d->edge[d->nbins] = len - 1; /* the last day takes the remainder */
    const double bounds[4] = {0.6, 0.8, 1.2, 2.0};
    memcpy(d->bounds, bounds, sizeof bounds);
    const size_t n = nseries * len;
    d->reading = xcalloc(n, sizeof *d->reading);
    d->value = xcalloc(n, sizeof *d->value);
    d->qty = xcalloc(n, sizeof *d->qty);
    d->coef = xcalloc(n, sizeof *d->coef);
    d->owner = xcalloc(n, sizeof *d->owner);
    d->delta = xcalloc(n, sizeof *d->delta);
    d->out = xcalloc(n, sizeof *d->out);
    d->valid = xcalloc(n, 1);
    d->cls = xcalloc(n, 1);
    d->sum = xcalloc(nseries * d->nbins, sizeof *d->sum);
    d->nvalid = xcalloc(nseries * d->nbins, sizeof *d->nvalid);
    d->acc = xcalloc(nseries * NACC, sizeof *d->acc);
    d->neg = xcalloc(nseries, sizeof *d->neg);
    d->st = xcalloc(nseries, sizeof *d->st);
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < nseries; k++)
        fill_series(d, k);
}

static void data_destroy(bench_data *d)
{
    free(d->edge);
    free(d->reading);
    free(d->value);
    free(d->qty);
    free(d->coef);
    free(d->owner);
    free(d->delta);
    free(d->out);
    free(d->valid);
    free(d->cls);
    free(d->sum);
    free(d->nvalid);
    free(d->acc);
    free(d->neg);
    free(d->st);
}

/* ---- the kernels under one signature --------------------------------------------------- */

/* Runs one kernel over series [first, last), touching only those series' outputs, so
 * disjoint ranges can run on different threads. */
typedef void (*bench_fn)(bench_data *d, size_t first, size_t last);

/* Compares the outputs left by the optimised kernel with the reference kernel, using
 * scratch of one series; returns the number of mismatches (and prints the first). */
typedef size_t (*check_fn)(const bench_data *d);

typedef struct {
    const char *name;
    bench_fn opt, ref;
    check_fn check;
    double bytes; /* moved by one run over all series: reads + writes */
} bench_kernel;

static void run_interval_scale(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        d->neg[k] = 0;
        txk_interval_scale(d->value + k * d->len, d->len, MULTIPLIER, d->delta + k * d->len,
                           d->valid + k * d->len, &d->neg[k]);
    }
}

static void run_interval_scale_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        d->neg[k] = 0;
        txk_interval_scale_ref(d->value + k * d->len, d->len, MULTIPLIER,
                               d->delta + k * d->len, d->valid + k * d->len, &d->neg[k]);
    }
}

static void run_register_deltas(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        memset(&d->st[k], 0, sizeof d->st[k]);
        txk_register_deltas(d->reading + k * d->len, d->len, MULTIPLIER, MODULUS, ROLLOVER_MIN,
                            d->delta + k * d->len, d->valid + k * d->len, &d->st[k]);
    }
}

static void run_register_deltas_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        memset(&d->st[k], 0, sizeof d->st[k]);
        txk_register_deltas_ref(d->reading + k * d->len, d->len, MULTIPLIER, MODULUS,
                                ROLLOVER_MIN, d->delta + k * d->len, d->valid + k * d->len,
                                &d->st[k]);
    }
}

static void run_binned_sum(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_binned_sum(d->delta + k * d->len, d->valid + k * d->len, d->edge, d->nbins,
                       d->sum + k * d->nbins, d->nvalid + k * d->nbins);
}

static void run_binned_sum_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_binned_sum_ref(d->delta + k * d->len, d->valid + k * d->len, d->edge, d->nbins,
                           d->sum + k * d->nbins, d->nvalid + k * d->nbins);
}

static void run_convert_scatter(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        memset(d->acc + k * NACC, 0, NACC * sizeof *d->acc);
        txk_convert_scatter(d->qty + k * d->len, d->coef + k * d->len, d->owner + k * d->len,
                            d->len, d->acc + k * NACC);
    }
}

static void run_convert_scatter_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++) {
        memset(d->acc + k * NACC, 0, NACC * sizeof *d->acc);
        txk_convert_scatter_ref(d->qty + k * d->len, d->coef + k * d->len,
                                d->owner + k * d->len, d->len, d->acc + k * NACC);
    }
}

/* Classes of the coefficient array (uniform in [0, 3), so every class occurs), wanted
 * where the last register delta was valid. */
static void run_classify(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_classify(d->coef + k * d->len, d->valid + k * d->len, d->len, d->bounds, 4,
                     d->cls + k * d->len);
}

static void run_classify_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_classify_ref(d->coef + k * d->len, d->valid + k * d->len, d->len, d->bounds, 4,
                         d->cls + k * d->len);
}

static void run_ratio(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_ratio(d->qty + k * d->len, d->coef + k * d->len, d->valid + k * d->len, d->len,
                  d->out + k * d->len);
}

static void run_ratio_ref(bench_data *d, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        txk_ratio_ref(d->qty + k * d->len, d->coef + k * d->len, d->valid + k * d->len, d->len,
                      d->out + k * d->len);
}

/* ---- validation ------------------------------------------------------------------------ */

static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static int close_enough(double a, double b, double scale)
{
    if (!isfinite(a) || !isfinite(b))
        return same_double(a, b);
    return fabs(a - b) <= SUM_RTOL * fmax(scale, fmax(fabs(a), fabs(b)));
}

static size_t report(size_t bad, const char *what, size_t k, size_t i, double got, double want)
{
    if (bad == 0)
        fprintf(stderr, "MISMATCH %s: series %zu entry %zu: %.17g, reference %.17g\n", what, k,
                i, got, want);
    return bad + 1;
}

static size_t check_interval_scale(const bench_data *d)
{
    size_t bad = 0;
    double *delta = xcalloc(d->len, sizeof *delta);
    uint8_t *valid = xcalloc(d->len, 1);
    for (size_t k = 0; k < d->nseries; k++) {
        uint64_t neg = 0;
        txk_interval_scale_ref(d->value + k * d->len, d->len, MULTIPLIER, delta, valid, &neg);
        for (size_t i = 0; i < d->len; i++) {
            if (!same_double(d->delta[k * d->len + i], delta[i]))
                bad = report(bad, "interval_scale delta", k, i, d->delta[k * d->len + i],
                             delta[i]);
            if (d->valid[k * d->len + i] != valid[i])
                bad = report(bad, "interval_scale valid", k, i, d->valid[k * d->len + i],
                             valid[i]);
        }
        if (d->neg[k] != neg)
            bad = report(bad, "interval_scale negatives", k, 0, (double)d->neg[k], (double)neg);
    }
    free(delta);
    free(valid);
    return bad;
}

static size_t check_register_deltas(const bench_data *d)
{
    size_t bad = 0;
    const size_t nint = d->len - 1;
    double *delta = xcalloc(d->len, sizeof *delta);
    uint8_t *valid = xcalloc(d->len, 1);
    for (size_t k = 0; k < d->nseries; k++) {
        txk_delta_stats st = {0};
        txk_register_deltas_ref(d->reading + k * d->len, d->len, MULTIPLIER, MODULUS,
                                ROLLOVER_MIN, delta, valid, &st);
        for (size_t i = 0; i < nint; i++) {
            if (!same_double(d->delta[k * d->len + i], delta[i]))
                bad = report(bad, "register_deltas delta", k, i, d->delta[k * d->len + i],
                             delta[i]);
            if (d->valid[k * d->len + i] != valid[i])
                bad = report(bad, "register_deltas valid", k, i, d->valid[k * d->len + i],
                             valid[i]);
        }
        const txk_delta_stats *o = &d->st[k];
        if (o->rollovers != st.rollovers || o->negatives != st.negatives ||
            o->gaps != st.gaps || o->gap_intervals != st.gap_intervals) {
            if (bad == 0)
                fprintf(stderr,
                        "MISMATCH register_deltas stats: series %zu: rollovers/negatives/"
                        "gaps/gap_intervals %llu/%llu/%llu/%llu, reference %llu/%llu/%llu/%llu\n",
                        k, (unsigned long long)o->rollovers, (unsigned long long)o->negatives,
                        (unsigned long long)o->gaps, (unsigned long long)o->gap_intervals,
                        (unsigned long long)st.rollovers, (unsigned long long)st.negatives,
                        (unsigned long long)st.gaps, (unsigned long long)st.gap_intervals);
            bad++;
        }
    }
    free(delta);
    free(valid);
    return bad;
}

static size_t check_binned_sum(const bench_data *d)
{
    size_t bad = 0;
    double *sum = xcalloc(d->nbins, sizeof *sum);
    uint64_t *nvalid = xcalloc(d->nbins, sizeof *nvalid);
    for (size_t k = 0; k < d->nseries; k++) {
        const double *delta = d->delta + k * d->len;
        txk_binned_sum_ref(delta, d->valid + k * d->len, d->edge, d->nbins, sum, nvalid);
        for (size_t b = 0; b < d->nbins; b++) {
            double scale = 0.0;
            for (size_t i = d->edge[b]; i < d->edge[b + 1]; i++)
                if (isfinite(delta[i]))
                    scale += fabs(delta[i]);
            if (!close_enough(d->sum[k * d->nbins + b], sum[b], scale))
                bad = report(bad, "binned_sum sum", k, b, d->sum[k * d->nbins + b], sum[b]);
            if (d->nvalid[k * d->nbins + b] != nvalid[b])
                bad = report(bad, "binned_sum nvalid", k, b,
                             (double)d->nvalid[k * d->nbins + b], (double)nvalid[b]);
        }
    }
    free(sum);
    free(nvalid);
    return bad;
}

static size_t check_convert_scatter(const bench_data *d)
{
    size_t bad = 0;
    for (size_t k = 0; k < d->nseries; k++) {
        double acc[NACC] = {0}, scale[NACC] = {0};
        const size_t o = k * d->len;
        txk_convert_scatter_ref(d->qty + o, d->coef + o, d->owner + o, d->len, acc);
        for (size_t i = 0; i < d->len; i++)
            scale[d->owner[o + i]] += fabs(d->qty[o + i] * d->coef[o + i]);
        for (size_t j = 0; j < NACC; j++)
            if (!close_enough(d->acc[k * NACC + j], acc[j], scale[j]))
                bad = report(bad, "convert_scatter acc", k, j, d->acc[k * NACC + j], acc[j]);
    }
    return bad;
}

static size_t check_classify(const bench_data *d)
{
    size_t bad = 0;
    uint8_t *cls = xcalloc(d->len, 1);
    for (size_t k = 0; k < d->nseries; k++) {
        const size_t o = k * d->len;
        txk_classify_ref(d->coef + o, d->valid + o, d->len, d->bounds, 4, cls);
        for (size_t i = 0; i < d->len; i++)
            if (d->cls[o + i] != cls[i])
                bad = report(bad, "classify", k, i, d->cls[o + i], cls[i]);
    }
    free(cls);
    return bad;
}

static size_t check_ratio(const bench_data *d)
{
    size_t bad = 0;
    double *out = xcalloc(d->len, sizeof *out);
    for (size_t k = 0; k < d->nseries; k++) {
        const size_t o = k * d->len;
        txk_ratio_ref(d->qty + o, d->coef + o, d->valid + o, d->len, out);
        for (size_t i = 0; i < d->len; i++)
            if (!same_double(d->out[o + i], out[i]))
                bad = report(bad, "ratio", k, i, d->out[o + i], out[i]);
    }
    free(out);
    return bad;
}

/* ---- timing ----------------------------------------------------------------------------- */

/* The STREAM-style reference: a sum over the quantity array, written with eight
 * independent partial sums so that it runs at the speed of memory, not of one adder. */
static double stream_sum_step(const double *restrict x, size_t n)
{
    double lane[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            lane[k] += x[i + k];
    double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
               ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}

static void run_stream_read(bench_data *d, size_t first, size_t last)
{
    const double s = stream_sum_step(d->qty + first * d->len, (last - first) * d->len);
#pragma omp atomic
    d->sink += s;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double median, min; /* seconds */
} timing;

/* One warm-up run, discarded, then `runs` timed runs over all series. With nthreads > 1
 * each thread gets one contiguous block of series. */
static timing time_fn(bench_fn fn, bench_data *d, int nthreads, int runs)
{
    double t[MAX_RUNS + 1];
    for (int r = 0; r <= runs; r++) {
        const double t0 = omp_get_wtime();
        if (nthreads == 1) {
            fn(d, 0, d->nseries);
        } else {
#pragma omp parallel num_threads(nthreads)
            {
                const size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
                fn(d, d->nseries * id / nt, d->nseries * (id + 1) / nt);
            }
        }
        t[r] = omp_get_wtime() - t0;
    }
    qsort(t + 1, (size_t)runs, sizeof t[0], cmp_double);
    const double median = runs % 2 ? t[1 + runs / 2] : 0.5 * (t[runs / 2] + t[1 + runs / 2]);
    return (timing){.median = median, .min = t[1]};
}

static void print_row(const char *name, const char *variant, int nthreads, timing tm,
                      double bytes, double read_gbs)
{
    const double gbs = bytes / tm.median * 1e-9;
    printf("%-17s %-3s %3d %9.3f %9.3f %9.1f %7.2f %7.2f %6.0f%%\n", name, variant, nthreads,
           tm.median * 1e3, tm.min * 1e3, bytes * 1e-6, gbs, read_gbs, 100.0 * gbs / read_gbs);
}

int main(int argc, char **argv)
{
    int smoke = 0, runs = 10;
    double mib = 64.0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--smoke")) {
            smoke = 1;
        } else if (!strcmp(argv[a], "--mib") && a + 1 < argc) {
            mib = atof(argv[++a]);
        } else if (!strcmp(argv[a], "--runs") && a + 1 < argc) {
            runs = atoi(argv[++a]);
        } else {
            fprintf(stderr, "usage: %s [--smoke] [--mib N] [--runs N]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || !(mib > 0)) {
        fprintf(stderr, "bench_kernels: --runs must be 1..%d and --mib positive\n", MAX_RUNS);
        return 2;
    }

    /* Full size: ~mib MiB of doubles per input array, in series of one year of readings.
     * Smoke: a few odd-sized series, enough to reach every code path. */
    size_t len = YEAR_READINGS, nseries;
    if (smoke) {
        len = 2001;
        nseries = 6;
        runs = 3;
    } else {
        nseries = (size_t)(mib * 1048576.0 / (8.0 * (double)len));
        if (nseries < 2)
            nseries = 2;
    }
    const int maxthreads = omp_get_max_threads();

    bench_data d;
    data_init(&d, nseries, len);
    const double n = (double)nseries * (double)len, nint = (double)nseries * (double)(len - 1);
    const double nb = (double)nseries * (double)d.nbins;

    /* Bytes per run: every array element read or written once. */
    bench_kernel kernels[] = {
        {"interval_scale", run_interval_scale, run_interval_scale_ref, check_interval_scale,
         n * (8 + 8 + 1)}, /* value -> delta, valid */
        {"register_deltas", run_register_deltas, run_register_deltas_ref,
         check_register_deltas, n * 8 + nint * (8 + 1)}, /* reading -> delta, valid */
        {"binned_sum", run_binned_sum, run_binned_sum_ref, check_binned_sum,
         nint * (8 + 1) + nb * (8 + 8 + 8)}, /* delta, valid, edges -> sum, nvalid */
        {"convert_scatter", run_convert_scatter, run_convert_scatter_ref,
         check_convert_scatter,
         n * (8 + 8 + 4) + (double)nseries * NACC * 8}, /* qty, coef, owner -> acc */
        {"classify", run_classify, run_classify_ref, check_classify,
         n * (8 + 1 + 1)}, /* x, want -> class */
        {"ratio", run_ratio, run_ratio_ref, check_ratio,
         n * (8 + 8 + 1 + 8)}, /* num, den, want -> out */
    };
    const size_t nkernels = sizeof kernels / sizeof kernels[0];

    printf("bench_kernels%s\n", smoke ? " --smoke" : "");
    printf("  build     %s\n", TX_BUILD_FLAGS);
#ifdef TXK_FORCE_REFERENCE
    printf("  kernels   reference forced (TXK_FORCE_REFERENCE): opt rows run the references\n");
#else
    printf("  kernels   optimised\n");
#endif
    printf("  openmp    %d threads available (omp_get_max_threads), one block of series each\n",
           maxthreads);
    printf("  data      %zu series x %zu readings = %.0f entries, %.1f MiB per double array\n",
           nseries, len, n, n * 8.0 / 1048576.0);
    printf("  timing    %d runs after 1 warm-up; GB/s at the median time; read GB/s = a sum "
           "over\n            one %.1f MiB array, timed just before each kernel with the same "
           "threads\n\n",
           runs, n * 8.0 / 1048576.0);
    printf("%-17s %-3s %3s %9s %9s %9s %7s %7s %7s\n", "kernel", "ver", "thr", "median ms",
           "min ms", "MB moved", "GB/s", "read", "of read");

    int thread_counts[2] = {1, maxthreads};
    const int nmodes = maxthreads > 1 ? 2 : 1;
    size_t failures = 0;
    for (size_t k = 0; k < nkernels; k++) {
        for (int m = 0; m < nmodes; m++) {
            const timing rd = time_fn(run_stream_read, &d, thread_counts[m], runs);
            const double read_gbs = n * 8.0 / rd.median * 1e-9;
            const timing ref = time_fn(kernels[k].ref, &d, thread_counts[m], runs);
            print_row(kernels[k].name, "ref", thread_counts[m], ref, kernels[k].bytes, read_gbs);
            const timing opt = time_fn(kernels[k].opt, &d, thread_counts[m], runs);
            print_row(kernels[k].name, "opt", thread_counts[m], opt, kernels[k].bytes, read_gbs);
            const size_t bad = kernels[k].check(&d);
            if (bad) {
                fprintf(stderr, "bench_kernels: %s with %d thread(s): %zu mismatches\n",
                        kernels[k].name, thread_counts[m], bad);
                failures++;
            }
        }
    }
    data_destroy(&d);
    if (failures) {
        printf("\nvalidation FAILED: %zu kernel runs differ from the reference\n", failures);
        return 1;
    }
    printf("\nvalidation: every optimised output matches the reference kernel\n");
    return 0;
}
