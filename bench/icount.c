/* icount.c - one kernel over a fixed input, for counting its instructions under valgrind.
 *
 *   icount KERNEL [--n N] [--reps R]    KERNEL: one of --list, or "all"
 *   icount --list                        the kernel names, one a line
 *   icount --info                        ISA and compiler of this build, as "isa,compiler"
 *
 * scripts/icount.sh runs this program once per kernel under callgrind, collecting only
 * inside the optimised kernel's function (--toggle-collect=txk_KERNEL), and divides the
 * instructions by the elements processed; the quotient is compared with
 * bench/icount_baseline.csv. Instruction counts, unlike times, do not depend on the load of
 * the machine, so a regression of a few per cent is seen on a shared, noisy runner.
 *
 * What makes the count deterministic: the input is a pure function of N (a fixed-seed
 * generator, no clock, no environment), the program has one thread and no OpenMP, every
 * array is 64-byte aligned (so a compiler's alignment peeling takes the same path whatever
 * the allocator returns), and nothing inside the measured functions depends on addresses.
 *
 * The run: the N elements are split into series of one year of 15-minute readings (the last
 * series shorter), as the engine calls the kernels per meter. The optimised kernel runs over
 * every series R times, each time from the same outputs zeroed, then its outputs are
 * compared with the reference kernel's: exactly for flags, classes, counters and per-entry
 * values, to a relative 1e-12 for sums. The reference, the input generation and the
 * comparison all run outside the collected function. The exit status is non-zero on any
 * mismatch, so the instruction count of a wrong kernel is never reported. The elements of
 * a run are N * R; for register_deltas an element is a reading, for binned_sum an entry. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tx_kernels.h"

#ifndef TX_ICOUNT_ISA
#define TX_ICOUNT_ISA "default"
#endif

#define YEAR_READINGS (365 * 96 + 1) /* one year of 15-minute readings */
#define DAY 96                       /* entries per bin of binned_sum */
#define MODULUS 1e7                  /* 7-digit registers */
#define ROLLOVER_MIN 9e6             /* 90 % of the register */
#define MULTIPLIER 40.0              /* CT x PT ratio */
#define MAX_RUN 32                   /* longest run of one owner in convert_scatter */
#define SUM_RTOL 1e-12
#define DEFAULT_N (4 * YEAR_READINGS)
#define DEFAULT_REPS 3

/* ---- the input: a pure function of n ---------------------------------------------------- */

typedef struct {
    size_t n, nseries, nacc;
    double *reading, *value, *qty, *coef; /* n each */
    uint32_t *owner;                      /* n, runs of 1..MAX_RUN equal owners per series */
    uint8_t *want;                        /* n: the reference deltas' valid flags */
    double *delta;                        /* n: the reference deltas (binned_sum input) */
    size_t *edge;      /* day bin edges within a year-long series, the last bin cut at its end */
    size_t *edge_last; /* the same for the last series, which may be shorter */
    size_t nbins_year;
    double bounds[4];
} icount_input;

/* Outputs of one pass over all series; the optimised and the reference pass each get one. */
typedef struct {
    double *delta, *out, *sum, *acc;
    uint8_t *valid, *cls;
    uint64_t *nvalid, *neg;
    txk_delta_stats *st;
} icount_output;

static void *xalloc(size_t n, size_t size)
{
    /* Rounded up to whole cache lines, zeroed, 64-byte aligned. */
    size_t bytes = (n ? n : 1) * size;
    bytes = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (!p) {
        fprintf(stderr, "icount: out of memory\n");
        exit(2);
    }
    memset(p, 0, bytes);
    return p;
}

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

static size_t series_first(size_t k)
{
    return k * YEAR_READINGS;
}

static size_t series_len(const icount_input *in, size_t k)
{
    const size_t first = series_first(k);
    return in->n - first < YEAR_READINGS ? in->n - first : YEAR_READINGS;
}

/* Day bins of one series of len entries, the last one cut at the series' end. */
static size_t series_nbins(size_t len)
{
    return (len + DAY - 1) / DAY;
}

static size_t *day_edges(size_t len)
{
    const size_t nb = series_nbins(len);
    size_t *edge = xalloc(nb + 1, sizeof *edge);
    for (size_t b = 0; b < nb; b++)
        edge[b] = b * DAY;
    edge[nb] = len;
    return edge;
}

/* The same kind of data as bench_kernels: under 1 % missing readings, rare drops, a register
 * wrap in every other series and a long gap in every fourth, so the fast paths and the
 * fix-ups both run in realistic proportion. */
static void input_init(icount_input *in, size_t n)
{
    memset(in, 0, sizeof *in);
    in->n = n;
    in->nseries = (n + YEAR_READINGS - 1) / YEAR_READINGS;
    in->reading = xalloc(n, sizeof *in->reading);
    in->value = xalloc(n, sizeof *in->value);
    in->qty = xalloc(n, sizeof *in->qty);
    in->coef = xalloc(n, sizeof *in->coef);
    in->owner = xalloc(n, sizeof *in->owner);
    in->want = xalloc(n, 1);
    in->delta = xalloc(n, sizeof *in->delta);
    in->nbins_year = series_nbins(YEAR_READINGS);
    in->edge = day_edges(YEAR_READINGS);
    in->edge_last = day_edges(series_len(in, in->nseries - 1));
    const double bounds[4] = {0.6, 0.8, 1.2, 2.0};
    memcpy(in->bounds, bounds, sizeof bounds);

    uint32_t owner = 0;
    for (size_t k = 0; k < in->nseries; k++) {
        uint64_t s = UINT64_C(0x1C0A7) + k;
        const size_t first = series_first(k), len = series_len(in, k);
        double *r = in->reading + first, *v = in->value + first;
        double *q = in->qty + first, *c = in->coef + first;
        uint32_t *o = in->owner + first;
        double reg = MODULUS - (double)len * (k % 2 ? 100.0 : 400.0);
        size_t run = 0;
        for (size_t i = 0; i < len; i++) {
            const double u = rng_unit(&s);
            reg = fmod(reg + floor(rng_unit(&s) * 500.0), MODULUS);
            r[i] = u < 0.008 ? NAN : u < 0.009 ? reg - 1000.0 : reg;
            v[i] = u < 0.01 ? NAN : u < 0.011 ? -1.0 : rng_unit(&s) * 80.0;
            q[i] = rng_unit(&s) * 1e3;
            c[i] = rng_unit(&s) * 3.0;
            if (run == 0) {
                run = 1 + (size_t)(rng_unit(&s) * MAX_RUN);
                owner++;
            }
            o[i] = owner - 1;
            run--;
        }
        if (k % 4 == 1)
            for (size_t i = len / 3; i < len / 3 + 200 && i < len; i++)
                r[i] = NAN;
        /* The downstream kernels take the reference deltas as input. */
        txk_delta_stats st = {0};
        txk_register_deltas_ref(r, len, MULTIPLIER, MODULUS, ROLLOVER_MIN, in->delta + first,
                                in->want + first, &st);
        if (len > 0) {
            in->delta[first + len - 1] = NAN; /* no interval after the last reading */
            in->want[first + len - 1] = 0;
        }
    }
    in->nacc = owner;
}

static void input_destroy(icount_input *in)
{
    free(in->reading);
    free(in->value);
    free(in->qty);
    free(in->coef);
    free(in->owner);
    free(in->want);
    free(in->delta);
    free(in->edge);
    free(in->edge_last);
}

static void output_init(icount_output *out, const icount_input *in)
{
    const size_t nbins = in->nseries * in->nbins_year;
    out->delta = xalloc(in->n, sizeof *out->delta);
    out->out = xalloc(in->n, sizeof *out->out);
    out->valid = xalloc(in->n, 1);
    out->cls = xalloc(in->n, 1);
    out->sum = xalloc(nbins, sizeof *out->sum);
    out->nvalid = xalloc(nbins, sizeof *out->nvalid);
    out->acc = xalloc(in->nacc, sizeof *out->acc);
    out->neg = xalloc(in->nseries, sizeof *out->neg);
    out->st = xalloc(in->nseries, sizeof *out->st);
}

static void output_destroy(icount_output *out)
{
    free(out->delta);
    free(out->out);
    free(out->valid);
    free(out->cls);
    free(out->sum);
    free(out->nvalid);
    free(out->acc);
    free(out->neg);
    free(out->st);
}

/* Zeroes what the kernels add to, so every repetition starts from the same state. */
static void output_reset(icount_output *out, const icount_input *in)
{
    memset(out->acc, 0, in->nacc * sizeof *out->acc);
    memset(out->neg, 0, in->nseries * sizeof *out->neg);
    memset(out->st, 0, in->nseries * sizeof *out->st);
}

/* ---- the kernels: one pass over all series, optimised (ref = 0) or reference ----------- */

typedef void (*pass_fn)(const icount_input *in, icount_output *out, int ref);
typedef size_t (*check_fn)(const icount_input *in, const icount_output *opt,
                           const icount_output *ref);

static void pass_register_deltas(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        (ref ? txk_register_deltas_ref : txk_register_deltas)(
            in->reading + f, len, MULTIPLIER, MODULUS, ROLLOVER_MIN, out->delta + f,
            out->valid + f, &out->st[k]);
    }
}

static void pass_interval_scale(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        (ref ? txk_interval_scale_ref : txk_interval_scale)(
            in->value + f, len, MULTIPLIER, out->delta + f, out->valid + f, &out->neg[k]);
    }
}

static void pass_binned_sum(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        const size_t *edge = k + 1 == in->nseries ? in->edge_last : in->edge;
        (ref ? txk_binned_sum_ref : txk_binned_sum)(in->delta + f, in->want + f, edge,
                                                    series_nbins(len),
                                                    out->sum + k * in->nbins_year,
                                                    out->nvalid + k * in->nbins_year);
    }
}

static void pass_convert_scatter(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        (ref ? txk_convert_scatter_ref : txk_convert_scatter)(in->qty + f, in->coef + f,
                                                              in->owner + f, len, out->acc);
    }
}

static void pass_classify(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        (ref ? txk_classify_ref : txk_classify)(in->coef + f, in->want + f, len, in->bounds, 4,
                                                out->cls + f);
    }
}

static void pass_ratio(const icount_input *in, icount_output *out, int ref)
{
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        (ref ? txk_ratio_ref : txk_ratio)(in->qty + f, in->coef + f, in->want + f, len,
                                          out->out + f);
    }
}

/* ---- validation ------------------------------------------------------------------------ */

static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static size_t mismatch(size_t bad, const char *what, size_t i, double got, double want)
{
    if (bad == 0)
        fprintf(stderr, "MISMATCH %s: entry %zu: %.17g, reference %.17g\n", what, i, got,
                want);
    return bad + 1;
}

static size_t check_doubles(size_t bad, const char *what, const double *got, const double *want,
                            size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same_double(got[i], want[i]))
            bad = mismatch(bad, what, i, got[i], want[i]);
    return bad;
}

static size_t check_bytes(size_t bad, const char *what, const uint8_t *got, const uint8_t *want,
                          size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            bad = mismatch(bad, what, i, got[i], want[i]);
    return bad;
}

static size_t check_counts(size_t bad, const char *what, const uint64_t *got,
                           const uint64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            bad = mismatch(bad, what, i, (double)got[i], (double)want[i]);
    return bad;
}

/* Sums may differ from the reference's in the last bits (different association). */
static size_t check_sums(size_t bad, const char *what, const double *got, const double *want,
                         const double *scale, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double a = got[i], b = want[i];
        const int ok = isfinite(a) && isfinite(b)
                           ? fabs(a - b) <= SUM_RTOL * fmax(scale[i], fmax(fabs(a), fabs(b)))
                           : same_double(a, b);
        if (!ok)
            bad = mismatch(bad, what, i, a, b);
    }
    return bad;
}

/* Intervals of a series of len readings: len - 1; the entry after them is not written. */
static size_t check_register_deltas(const icount_input *in, const icount_output *opt,
                                    const icount_output *ref)
{
    size_t bad = 0;
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k), nint = len ? len - 1 : 0;
        bad = check_doubles(bad, "register_deltas delta", opt->delta + f, ref->delta + f, nint);
        bad = check_bytes(bad, "register_deltas valid", opt->valid + f, ref->valid + f, nint);
    }
    const size_t nst = 4 * in->nseries; /* txk_delta_stats is four uint64_t */
    uint64_t *a = xalloc(nst, sizeof *a), *b = xalloc(nst, sizeof *b);
    for (size_t k = 0; k < in->nseries; k++) {
        const txk_delta_stats *o = &opt->st[k], *r = &ref->st[k];
        a[4 * k] = o->rollovers, a[4 * k + 1] = o->negatives;
        a[4 * k + 2] = o->gaps, a[4 * k + 3] = o->gap_intervals;
        b[4 * k] = r->rollovers, b[4 * k + 1] = r->negatives;
        b[4 * k + 2] = r->gaps, b[4 * k + 3] = r->gap_intervals;
    }
    bad = check_counts(bad, "register_deltas stats", a, b, nst);
    free(a);
    free(b);
    return bad;
}

static size_t check_interval_scale(const icount_input *in, const icount_output *opt,
                                   const icount_output *ref)
{
    size_t bad = check_doubles(0, "interval_scale delta", opt->delta, ref->delta, in->n);
    bad = check_bytes(bad, "interval_scale valid", opt->valid, ref->valid, in->n);
    return check_counts(bad, "interval_scale negatives", opt->neg, ref->neg, in->nseries);
}

static size_t check_binned_sum(const icount_input *in, const icount_output *opt,
                               const icount_output *ref)
{
    const size_t nbins = in->nseries * in->nbins_year;
    double *scale = xalloc(nbins, sizeof *scale);
    for (size_t k = 0; k < in->nseries; k++) {
        const size_t f = series_first(k), len = series_len(in, k);
        for (size_t i = 0; i < len; i++)
            if (isfinite(in->delta[f + i]))
                scale[k * in->nbins_year + i / DAY] += fabs(in->delta[f + i]);
    }
    size_t bad = check_sums(0, "binned_sum sum", opt->sum, ref->sum, scale, nbins);
    bad = check_counts(bad, "binned_sum nvalid", opt->nvalid, ref->nvalid, nbins);
    free(scale);
    return bad;
}

static size_t check_convert_scatter(const icount_input *in, const icount_output *opt,
                                     const icount_output *ref)
{
    double *scale = xalloc(in->nacc, sizeof *scale);
    for (size_t i = 0; i < in->n; i++)
        scale[in->owner[i]] += fabs(in->qty[i] * in->coef[i]);
    const size_t bad = check_sums(0, "convert_scatter acc", opt->acc, ref->acc, scale, in->nacc);
    free(scale);
    return bad;
}

static size_t check_classify(const icount_input *in, const icount_output *opt,
                             const icount_output *ref)
{
    return check_bytes(0, "classify", opt->cls, ref->cls, in->n);
}

static size_t check_ratio(const icount_input *in, const icount_output *opt,
                          const icount_output *ref)
{
    return check_doubles(0, "ratio", opt->out, ref->out, in->n);
}

/* ---- main ------------------------------------------------------------------------------ */

typedef struct {
    const char *name; /* the optimised function is txk_<name> */
    pass_fn pass;
    check_fn check;
} icount_kernel;

static const icount_kernel kernels[] = {
    {"register_deltas", pass_register_deltas, check_register_deltas},
    {"interval_scale", pass_interval_scale, check_interval_scale},
    {"binned_sum", pass_binned_sum, check_binned_sum},
    {"convert_scatter", pass_convert_scatter, check_convert_scatter},
    {"classify", pass_classify, check_classify},
    {"ratio", pass_ratio, check_ratio},
};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/* Runs one kernel reps times over the input, then validates; returns the mismatch count. */
static size_t run_kernel(const icount_kernel *kn, const icount_input *in, long reps)
{
    icount_output opt, ref;
    output_init(&opt, in);
    output_init(&ref, in);
    for (long r = 0; r < reps; r++) {
        output_reset(&opt, in);
        kn->pass(in, &opt, 0);
    }
    kn->pass(in, &ref, 1);
    const size_t bad = kn->check(in, &opt, &ref);
    output_destroy(&opt);
    output_destroy(&ref);
    return bad;
}

static const char *compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s KERNEL|all [--n N] [--reps R] | --list | --info\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(argv[0]);
    if (!strcmp(argv[1], "--list")) {
        for (size_t k = 0; k < NKERNELS; k++)
            printf("%s\n", kernels[k].name);
        return 0;
    }
    if (!strcmp(argv[1], "--info")) {
        printf("%s,%s\n", TX_ICOUNT_ISA, compiler());
        return 0;
    }
    const char *which = argv[1];
    long n = DEFAULT_N, reps = DEFAULT_REPS;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--n") && a + 1 < argc)
            n = atol(argv[++a]);
        else if (!strcmp(argv[a], "--reps") && a + 1 < argc)
            reps = atol(argv[++a]);
        else
            return usage(argv[0]);
    }
    if (n < 1 || reps < 1) {
        fprintf(stderr, "icount: --n and --reps must be positive\n");
        return 2;
    }
    int found = 0;
    size_t failures = 0;
    icount_input in;
    input_init(&in, (size_t)n);
    for (size_t k = 0; k < NKERNELS; k++) {
        if (strcmp(which, "all") && strcmp(which, kernels[k].name))
            continue;
        found = 1;
        const size_t bad = run_kernel(&kernels[k], &in, reps);
        printf("%s elements=%ld reps=%ld %s\n", kernels[k].name, n * reps, reps,
               bad ? "MISMATCH" : "ok");
        if (bad) {
            fprintf(stderr, "icount: %s: %zu mismatches with the reference\n", kernels[k].name,
                    bad);
            failures++;
        }
    }
    input_destroy(&in);
    if (!found) {
        fprintf(stderr, "icount: unknown kernel '%s' (see --list)\n", which);
        return 2;
    }
    return failures ? 1 : 0;
}
