/* method.c - coefficients, statuses, grades and reductions (METHOD.md sections 2-5, 8). */
#include "method.h"

#include "tx_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const tx_status_names[TX_NSTATUS] = {"OK", "INCOMPLETE", "NOT_RATEABLE",
                                                 "NO_BENCHMARK"};

int tx_method_coefs(const tx_tables *t, const char *series, const char *geography, int year,
                    int pv_policy, int elec_basis, tx_coefs *c, tx_err *err)
{
    memset(c, 0, sizeof *c);
    int rc = tx_tables_grid_factor(t, series, geography, year, &c->grid_kgco2_per_kwh,
                                   &c->grid_year_used, err);
    if (rc)
        return rc;
    for (int k = 0; k < TX_CARRIER_COUNT; k++) {
        /* Table values are kg per canonical unit; results are in tonnes. */
        if (isfinite(t->kgce[k]))
            c->tce[k] = t->kgce[k] / 1000.0;
        if (isfinite(t->kgco2[k]))
            c->tco2[k] = t->kgco2[k] / 1000.0;
    }
    if (elec_basis == TX_ELEC_EQUAL_VALUE)
        c->tce[TX_CARRIER_ELECTRICITY] = t->kgce_per_kwh_equal_value / 1000.0;
    c->tce[TX_CARRIER_PV_GENERATION] = 0.0; /* PV is not part of energy_tce */
    c->tce[TX_CARRIER_WATER] = 0.0;
    c->tco2[TX_CARRIER_ELECTRICITY] = c->grid_kgco2_per_kwh / 1000.0;
    c->tco2[TX_CARRIER_PV_GENERATION] =
        pv_policy == TX_PV_SUBTRACT ? -c->grid_kgco2_per_kwh / 1000.0 : 0.0;
    /* Purchased heat: MJ -> GJ times the heat factor (tCO2/GJ). */
    c->tco2[TX_CARRIER_HEAT] = t->heat_tco2_per_gj / 1000.0;
    /* Steam by enthalpy: kg x (h - h_feedwater) kJ/kg gives kJ; / 10^6 gives GJ. */
    c->tco2[TX_CARRIER_STEAM] =
        (t->steam_enthalpy_kj_per_kg - t->feedwater_kj_per_kg) / 1.0e6 * t->heat_tco2_per_gj;
    c->tco2[TX_CARRIER_WATER] = 0.0;
    c->water[TX_CARRIER_WATER] = 1.0;
    return TX_OK;
}

int tx_method_carrier_required(int carrier, int pv_policy)
{
    if (carrier == TX_CARRIER_WATER)
        return 0;
    if (carrier == TX_CARRIER_PV_GENERATION)
        return pv_policy == TX_PV_SUBTRACT;
    return 1;
}

int tx_industry_at_level(int industry, int level)
{
    return level == 2 ? industry / 100 : level == 3 ? industry / 10 : industry;
}

int tx_method_grade(const tx_grade_in *in, const tx_grade_params *p, tx_grade_out *out)
{
    const size_t n = in->n;
    uint8_t *want = malloc(n ? n : 1);
    if (!want)
        return TX_ENOMEM;
    tx_grade_cells *cells = out->cells;

    /* Statuses before benchmarks: NOT_RATEABLE > INCOMPLETE; the rest are candidates. */
    for (size_t i = 0; i < n; i++) {
        double va = in->va[i];
        int rateable = isfinite(va) && va > 0;
        int complete = in->has_elec[i] && isfinite(in->coverage[i]) &&
                       in->coverage[i] >= p->coverage_min && isfinite(in->co2_t[i]);
        out->status[i] = !rateable   ? TX_STATUS_NOT_RATEABLE
                         : !complete ? TX_STATUS_INCOMPLETE
                                     : TX_STATUS_OK;
        out->intensity[i] = rateable ? in->co2_t[i] / va : NAN;
    }

    /* Benchmark cells at every level: ratio of sums over rated 规上 members, summed in
     * enterprise order so the sums are reproducible. */
    memset(cells, 0, sizeof *cells);
    for (size_t i = 0; i < n; i++) {
        if (out->status[i] != TX_STATUS_OK || !in->above[i])
            continue;
        for (int l = 2; l <= 4; l++) {
            int c = tx_industry_at_level(in->industry[i], l);
            cells->co2[l - 2][c] += in->co2_t[i];
            cells->va[l - 2][c] += in->va[i];
            cells->members[l - 2][c]++;
        }
    }
    for (int l = 0; l < 3; l++)
        for (int c = 0; c < 10000; c++) {
            uint32_t m = cells->members[l][c];
            double ci = m ? cells->co2[l][c] / cells->va[l][c] : NAN;
            cells->intensity[l][c] = ci;
            cells->has_benchmark[l][c] = m >= (uint32_t)p->min_members && isfinite(ci) && ci > 0;
        }

    /* Each candidate takes the finest cell, from the run's level up to the division, that
     * has enough members; none: NO_BENCHMARK. 规下 use the 规上 cells (or none). */
    for (size_t i = 0; i < n; i++) {
        out->bench[i] = NAN;
        out->bench_level[i] = 0;
        if (out->status[i] != TX_STATUS_OK)
            continue;
        if (!in->above[i] && p->below_scale == TX_BELOW_NONE) {
            out->status[i] = TX_STATUS_NO_BENCHMARK;
            continue;
        }
        for (int l = p->industry_level; l >= 2; l--) {
            int c = tx_industry_at_level(in->industry[i], l);
            if (cells->has_benchmark[l - 2][c]) {
                out->bench[i] = cells->intensity[l - 2][c];
                out->bench_level[i] = (uint8_t)l;
                break;
            }
        }
        if (!out->bench_level[i])
            out->status[i] = TX_STATUS_NO_BENCHMARK;
    }
    for (size_t i = 0; i < n; i++)
        want[i] = out->status[i] == TX_STATUS_OK || out->status[i] == TX_STATUS_NO_BENCHMARK;
    txk_classify(out->intensity, want, n, p->level_bounds, p->nlevel_bounds, out->level);
    for (size_t i = 0; i < n; i++)
        want[i] = out->status[i] == TX_STATUS_OK;
    txk_ratio(out->intensity, out->bench, want, n, out->k);
    txk_classify(out->k, want, n, p->grade_bounds, p->ngrade_bounds, out->grade);
    free(want);
    return TX_OK;
}

double tx_method_reduction_pct(double x_t, double va_t, double price_t, double x_b,
                               double va_b, double price_b)
{
    if (!isfinite(x_t) || !isfinite(va_t) || !isfinite(price_t) || !isfinite(x_b) ||
        !isfinite(va_b) || !isfinite(price_b) || va_t <= 0 || va_b <= 0 || price_t <= 0 ||
        price_b <= 0)
        return NAN;
    double va_t_const = va_t / (price_t / price_b);
    double i_t = x_t / va_t_const, i_b = x_b / va_b;
    if (!(i_b > 0))
        return NAN;
    return (1.0 - i_t / i_b) * 100.0;
}

/* Half away from zero at 4 decimals, the way a published table rounds. */
static double round4(double x)
{
    return round(x * 10000.0) / 10000.0;
}

double tx_method_reduction_nbs_pct(double x_t, double va_t, double price_t, double x_b,
                                   double va_b, double price_b)
{
    if (isnan(tx_method_reduction_pct(x_t, va_t, price_t, x_b, va_b, price_b)))
        return NAN;
    double i_t = round4(x_t / (va_t / (price_t / price_b))), i_b = round4(x_b / va_b);
    return i_b > 0 ? (1.0 - i_t / i_b) * 100.0 : NAN;
}

/* Ceiling of a / b for b > 0 and any sign of a. */
static int64_t div_ceil(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static int64_t div_floor(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void interval_period(const double *vals, size_t n, int64_t t0, int64_t step_s,
                            double mult, double unit_factor, const tx_event *ev, size_t nev,
                            double *delta, uint8_t *valid, tx_meter_period *out)
{
    /* Value k covers (t0 + (k-1) step, t0 + k step]; it uses the multiplier in force at
     * its start, so an event at te applies from k = ceil((te - t0) / step) + 1 on. */
    size_t seg = 0;
    uint64_t negatives = 0;
    for (size_t e = 0; e < nev; e++) {
        if (ev[e].type != TX_EVENT_MULTIPLIER || !isfinite(ev[e].new_multiplier))
            continue;
        int64_t k = div_ceil(ev[e].t - t0, step_s) + 1;
        if (k <= 0) {
            mult = ev[e].new_multiplier;
            continue;
        }
        if ((size_t)k >= n)
            break;
        txk_interval_scale(vals + seg, (size_t)k - seg, mult * unit_factor, delta + seg,
                           valid + seg, &negatives);
        seg = (size_t)k;
        mult = ev[e].new_multiplier;
        out->multiplier_changes++;
    }
    txk_interval_scale(vals + seg, n - seg, mult * unit_factor, delta + seg, valid + seg,
                       &negatives);
    out->st.negatives += negatives;
    /* Runs of missing values are the interval meter's gaps: consumption lost, not bridged.
     * A gap starts at a missing value whose predecessor is not missing; counted from
     * neighbours, without a branch or a carried state, so the loop vectorises. */
    if (n == 0)
        return;
    size_t gaps = !isfinite(vals[0]), missing = gaps;
#pragma omp simd reduction(+ : gaps, missing)
    for (size_t k = 1; k < n; k++) {
        const int miss = !isfinite(vals[k]);
        missing += (size_t)miss;
        gaps += (size_t)(miss & isfinite(vals[k - 1]));
    }
    out->st.gaps += gaps;
    out->st.gap_intervals += missing;
}

/* A replacement boundary between reading j - 1 (old register) and j (new register). */
typedef struct {
    size_t j;
    double old_reading, new_reading, mult_old, mult_new;
} replace_boundary;

static void patch_replacement(const double *vals, size_t n, size_t seg_first,
                              size_t next_boundary, const replace_boundary *b,
                              double unit_factor, double *delta, uint8_t *valid,
                              tx_meter_period *out)
{
    size_t j = b->j;
    delta[j - 1] = NAN;
    valid[j - 1] = 0;
    long p = -1, q = -1;
    for (size_t k = j; k-- > seg_first;)
        if (isfinite(vals[k])) {
            p = (long)k;
            break;
        }
    for (size_t k = j; k < n && k <= next_boundary; k++)
        if (isfinite(vals[k])) {
            q = (long)k;
            break;
        }
    out->replacements++;
    if (p < 0 || q < 0 || !isfinite(b->old_reading) || !isfinite(b->new_reading)) {
        out->unsplit++;
        return;
    }
    double before = b->old_reading - vals[p], after = vals[q] - b->new_reading;
    if (before < 0 || after < 0) {
        out->st.negatives++;
        return;
    }
    delta[q - 1] = (before * b->mult_old + after * b->mult_new) * unit_factor;
    valid[q - 1] = (size_t)p == j - 1 && (size_t)q == j;
    if (!valid[q - 1]) {
        out->st.gaps++;
        out->st.gap_intervals += (uint64_t)(q - p);
    }
}

/* Deltas of a meter over the period, events applied; sets nexpected, leaves the total. */
static void meter_deltas(int kind, const double *vals, size_t n, int64_t t0, int64_t step_s,
                         double multiplier, double unit_factor, double modulus,
                         double rollover_min, const tx_event *ev, size_t nev, double *delta,
                         uint8_t *valid, tx_meter_period *out)
{
    if (kind == TX_KIND_INTERVAL) {
        interval_period(vals, n, t0, step_s, multiplier, unit_factor, ev, nev, delta, valid,
                        out);
        out->nexpected = n;
    } else {
        /* Segments of readings between events; a multiplier event shares its boundary
         * reading, a replacement separates the old register's readings from the new. */
        double mult = multiplier;
        size_t seg = 0;
        int pending = 0;
        size_t pending_seg_first = 0;
        replace_boundary rb = {0};
        const int64_t t_last = t0 + (int64_t)(n ? n - 1 : 0) * step_s;
        for (size_t e = 0; e < nev && n > 1; e++) {
            const tx_event *x = &ev[e];
            if (x->type == TX_EVENT_MULTIPLIER) {
                if (!isfinite(x->new_multiplier))
                    continue;
                if (x->t <= t0) {
                    mult = x->new_multiplier;
                    continue;
                }
                if (x->t >= t_last)
                    break;
                size_t j = (size_t)div_ceil(x->t - t0, step_s);
                if (j <= seg) { /* same instant as the segment's start */
                    mult = x->new_multiplier;
                    out->multiplier_changes++;
                    continue;
                }
                txk_register_deltas(vals + seg, j - seg + 1, mult * unit_factor, modulus,
                                    rollover_min, delta + seg, valid + seg, &out->st);
                if (pending) {
                    patch_replacement(vals, n, pending_seg_first, j, &rb, unit_factor, delta,
                                      valid, out);
                    pending = 0;
                }
                seg = j;
                mult = x->new_multiplier;
                out->multiplier_changes++;
            } else if (x->type == TX_EVENT_REPLACE) {
                if (x->t < t0 || x->t >= t_last)
                    continue;
                size_t j = (size_t)div_floor(x->t - t0, step_s) + 1;
                if (j - 1 > seg)
                    txk_register_deltas(vals + seg, j - seg, mult * unit_factor, modulus,
                                        rollover_min, delta + seg, valid + seg, &out->st);
                if (pending)
                    patch_replacement(vals, n, pending_seg_first, j - 1, &rb, unit_factor,
                                      delta, valid, out);
                double m_new = isfinite(x->new_multiplier) ? x->new_multiplier : mult;
                rb = (replace_boundary){j, x->old_reading, x->new_reading, mult, m_new};
                pending = 1;
                pending_seg_first = seg;
                seg = j;
                mult = m_new;
            }
        }
        if (n > 1) {
            if (seg < n - 1)
                txk_register_deltas(vals + seg, n - seg, mult * unit_factor, modulus,
                                    rollover_min, delta + seg, valid + seg, &out->st);
            if (pending)
                patch_replacement(vals, n, pending_seg_first, n - 1, &rb, unit_factor, delta,
                                  valid, out);
        }
        out->nexpected = n > 1 ? n - 1 : 0;
    }
}

/* 1 when a replacement event lies in (ta, tb]. */
static int replaced_between(const tx_event *ev, size_t nev, int64_t ta, int64_t tb)
{
    for (size_t e = 0; e < nev; e++)
        if (ev[e].type == TX_EVENT_REPLACE && ev[e].t >= ta && ev[e].t < tb)
            return 1;
    return 0;
}

/*
 * Single spikes (METHOD.md section 8): at each descent r[b] < r[a] between consecutive
 * present readings that is neither a rollover nor a replacement, reading a is dropped when
 * its removal leaves r[c] <= r[b] (c the present reading before a), or reading b when its
 * removal leaves r[a] <= r[d] (d the one after b); when both would do, the one further
 * from the midpoint of its neighbours goes. r is modified; returns the number dropped.
 */
static uint32_t drop_spikes(double *r, size_t n, const tx_meter_spec *sp, const tx_event *ev,
                            size_t nev)
{
    uint32_t dropped = 0;
    long c = -1, a = -1; /* the two latest present readings before b */
    for (size_t b = 0; b < n; b++) {
        if (!isfinite(r[b]))
            continue;
        if (a >= 0 && r[b] < r[a]) {
            double drop = r[a] - r[b];
            int rollover = sp->modulus > 0 && drop >= sp->rollover_min;
            if (!rollover && !replaced_between(ev, nev, sp->t0 + a * sp->step_s,
                                               sp->t0 + (int64_t)b * sp->step_s)) {
                long d = -1;
                for (size_t k = b + 1; k < n; k++)
                    if (isfinite(r[k])) {
                        d = (long)k;
                        break;
                    }
                int cand_a = c >= 0 && r[c] <= r[b];
                int cand_b = d >= 0 && r[a] <= r[d];
                if (cand_a && cand_b) {
                    double dev_a = fabs(r[a] - 0.5 * (r[c] + r[b]));
                    double dev_b = fabs(r[b] - 0.5 * (r[a] + r[d]));
                    cand_a = dev_a >= dev_b;
                    cand_b = !cand_a;
                }
                if (cand_a) {
                    r[a] = NAN;
                    dropped++;
                    a = (long)b; /* c stays the reading before the dropped one */
                    continue;
                }
                if (cand_b) {
                    r[b] = NAN;
                    dropped++;
                    continue; /* a and c stay */
                }
            }
        }
        c = a;
        a = (long)b;
    }
    return dropped;
}

/* The k-th smallest of x[0..n) (quickselect with a three-way partition, since meter
 * steps repeat the same values often; reorders x). */
static double select_kth(double *x, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
    while (hi - lo > 1) {
        double a = x[lo], b = x[lo + (hi - lo) / 2], c = x[hi - 1];
        double p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            double t = x[i];
            if (t < p) {
                x[i++] = x[lt];
                x[lt++] = t;
            } else if (t > p) {
                x[i] = x[--gt];
                x[gt] = t;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return x[lo];
}

/* The positive measured steps of a period into work; returns how many. */
static size_t collect_positive(const double *delta, const uint8_t *valid, size_t m,
                               double *work)
{
    size_t np = 0;
    for (size_t i = 0; i < m; i++) {
        work[np] = delta[i];
        np += valid[i] && delta[i] > 0; /* NaN > 0 is false */
    }
    return np;
}

#define MEDIAN_SAMPLE 2048
/* The shortcut's candidate lower bound needs less: a smaller sample gives a lower
 * percentile (about the 37th of 256 instead of the 46th of 2,048), which still clears the
 * usual period, at an eighth of the sampling and selecting that every meter-period pays. */
#define LOWER_SAMPLE 256

/* A stratified sample of the positive measured steps: one step at a pseudo-random place in
 * each of MEDIAN_SAMPLE equal strata of the period, kept when positive (every part of the
 * year is represented, and no fixed phase of the day is favoured). Returns how many. */
static size_t stratified_sample(const double *delta, const uint8_t *valid, size_t m,
                                double *sample, size_t strata)
{
    size_t ns = 0;
    uint64_t x = 0x9e3779b97f4a7c15u ^ (uint64_t)m;
    for (size_t s = 0; s < strata; s++) {
        size_t s0 = (size_t)((double)s * (double)m / (double)strata);
        size_t s1 = (size_t)((double)(s + 1) * (double)m / (double)strata);
        x = x * 6364136223846793005u + 1442695040888963407u; /* Knuth's MMIX LCG */
        size_t i = s0 + (size_t)((x >> 33) % (uint64_t)(s1 > s0 ? s1 - s0 : 1));
        if (i < m && valid[i] && delta[i] > 0)
            sample[ns++] = delta[i];
    }
    return ns;
}

/* A candidate lower bound of the median of the positive steps: a low value of a
 * stratified sample (the sample's rank of the median less 4 standard deviations). 0 when
 * the sample is too thin. The caller proves it by counting the steps below it. */
static int median_lower_candidate(const double *delta, const uint8_t *valid, size_t m,
                                  double *lo)
{
    if (m < 4 * MEDIAN_SAMPLE)
        return 0;
    double sample[LOWER_SAMPLE];
    size_t ns = stratified_sample(delta, valid, m, sample, LOWER_SAMPLE);
    if (ns < LOWER_SAMPLE / 4)
        return 0;
    /* The sample's median rank is ns/2 (np unknown yet: the fraction is the same). */
    const size_t ks = ns / 2, g = (size_t)(2.0 * sqrt((double)ns)) + 1;
    *lo = select_kth(sample, ns, ks > g ? ks - g : 0);
    return 1;
}

/*
 * The median (the np/2-th smallest) of the positive measured steps, exactly as select_kth
 * over all of them would give it, but at a few cycles per step instead of a branchy
 * partition's tens: a long period's median is first bracketed between two values of a
 * stratified sample of positive steps (+-4 standard deviations of the sample rank), then
 * one branch-free pass counts the steps below the bracket and gathers those inside, and
 * only those are selected from. When the bracket misses (unlikely) the steps are collected
 * and selected whole. np: the number of positive steps (the caller counted them; > 0).
 */
static double median_positive(const double *delta, const uint8_t *valid, size_t m,
                              size_t np, double *work)
{
    const size_t k = np / 2;
    if (np < 8 * MEDIAN_SAMPLE) {
        collect_positive(delta, valid, m, work);
        return select_kth(work, np, k);
    }
    double sample[MEDIAN_SAMPLE];
    size_t ns = stratified_sample(delta, valid, m, sample, MEDIAN_SAMPLE);
    if (ns < MEDIAN_SAMPLE / 4) {
        collect_positive(delta, valid, m, work);
        return select_kth(work, np, k);
    }
    /* The sample's rank of the median, +-4 standard deviations of it (sqrt(ns) / 2 each)
     * for the bracket; the sample is left partitioned around the lower end, so the upper
     * end is selected above it. */
    const size_t ks = (size_t)((double)k * (double)ns / (double)np);
    const size_t g = (size_t)(2.0 * sqrt((double)ns)) + 1;
    const size_t a = ks > g ? ks - g : 0, b = ks + g < ns ? ks + g : ns - 1;
    double lo = select_kth(sample, ns, a);
    double hi = b > a ? select_kth(sample + a + 1, ns - a - 1, b - a - 1) : lo;
    size_t below = 0, j = 0;
    for (size_t i = 0; i < m; i++) {
        double v = delta[i];
        int pos = valid[i] && v > 0;
        below += pos & (v < lo);
        work[j] = v;
        j += pos & (v >= lo) & (v <= hi);
    }
    if (below <= k && k < below + j)
        return select_kth(work, j, k - below);
    collect_positive(delta, valid, m, work);
    return select_kth(work, np, k);
}

/* The first finite delta at or after i (m when none), and in *span the steps it covers: 1
 * for a measured step, the gap's steps + 1 for a bridged delta (the non-finite deltas just
 * before it). The implausible-step walks go from one to the next. */
static inline size_t next_step(const double *delta, const uint8_t *valid, size_t m, size_t i,
                               double *span)
{
    size_t gap = 0;
    while (i < m && !isfinite(delta[i])) {
        gap++;
        i++;
    }
    if (i < m)
        *span = valid[i] ? 1.0 : (double)(gap + 1);
    return i;
}

/*
 * The exclusion by median_factor times the median without selecting the median, when few
 * steps can be excluded at all. lo is a proven lower bound of the median, so a step within
 * (f * lo) * span is kept whatever the median; the others (the suspects, spikes as a rule)
 * are decided one by one: (f * y) * span is monotone in y, so the median y_k (k = np/2, the
 * k-th smallest positive step) has (f * y_k) * span < d exactly when at least k + 1
 * positive steps y do, which one vectorised count tells. Bit for bit what comparing with
 * the selected median gives. Returns 1 when it decided (and excluded), 0 when there are
 * more than EXCLUDE_BY_COUNTING suspects (the caller selects the median instead).
 */
#define EXCLUDE_BY_COUNTING 8
static int exclude_by_counting(const tx_meter_spec *sp, double *delta, uint8_t *valid,
                               size_t m, size_t np, double lo, tx_meter_period *out)
{
    const double f = sp->median_factor, low = f * lo;
    size_t sus[EXCLUDE_BY_COUNTING], ns = 0;
    double span_of[EXCLUDE_BY_COUNTING], span = 1.0;
    for (size_t i = next_step(delta, valid, m, 0, &span); i < m;
         i = next_step(delta, valid, m, i + 1, &span)) {
        if (delta[i] > low * span) {
            if (ns == EXCLUDE_BY_COUNTING)
                return 0;
            sus[ns] = i;
            span_of[ns++] = span;
        }
    }
    const size_t k = np / 2;
    int drop[EXCLUDE_BY_COUNTING];
    for (size_t q = 0; q < ns; q++) {
        const double d = delta[sus[q]], sp_q = span_of[q];
        size_t cnt = 0;
#pragma omp simd reduction(+ : cnt)
        for (size_t i = 0; i < m; i++) {
            const double y = delta[i];
            cnt += (size_t)((valid[i] != 0) & (y > 0) & ((f * y) * sp_q < d));
        }
        drop[q] = cnt >= k + 1;
    }
    for (size_t q = 0; q < ns; q++)
        if (drop[q]) {
            delta[sus[q]] = NAN;
            valid[sus[q]] = 0;
            out->implausible++;
        }
    return 1;
}

/* Excludes steps above the physical maximum: capacity per step, or median_factor times the
 * median positive measured step. A bridged delta spans its gap's steps. */
static void drop_implausible(const tx_meter_spec *sp, double *delta, uint8_t *valid, size_t m,
                             double *work, tx_meter_period *out)
{
    double limit = sp->capacity;
    if (!(limit > 0)) {
        if (!(sp->median_factor > 0))
            return;
        /* The limit only matters when some step may exceed it: when even the largest step
         * is within median_factor times a proven lower bound of the median, nothing is
         * excluded and the median itself is not needed (most meters, most periods). */
        double lo = INFINITY;
        int have_lo = median_lower_candidate(delta, valid, m, &lo);
        size_t np = 0, below = 0;
        double maxd = -INFINITY;
        /* & rather than &&: no branch, so the loop vectorises (with && gcc kept it
         * scalar, and it was most of this function's time). */
#pragma omp simd reduction(+ : np, below) reduction(max : maxd)
        for (size_t i = 0; i < m; i++) {
            const double d = delta[i];
            const int pos = (valid[i] != 0) & (d > 0);
            np += (size_t)pos;
            below += (size_t)(pos & (d < lo));
            maxd = d > maxd ? d : maxd; /* NaN compares false */
        }
        if (np == 0)
            return;
        /* lo is a lower bound of the median when at most np/2 steps lie below it. */
        const int proven = have_lo && below <= np / 2;
        if (proven && (maxd <= sp->median_factor * lo ||
                       exclude_by_counting(sp, delta, valid, m, np, lo, out)))
            return;
        double med = median_positive(delta, valid, m, np, work);
        limit = sp->median_factor * med;
    }
    /* A bridged delta's limit is a multiple of the limit, so a period without any delta
     * above the limit (the usual case: one branch-free pass) has nothing to exclude. */
    int above = 0;
#pragma omp simd reduction(| : above)
    for (size_t i = 0; i < m; i++)
        above |= delta[i] > limit;
    if (!above)
        return;
    double span = 1.0;
    for (size_t i = next_step(delta, valid, m, 0, &span); i < m;
         i = next_step(delta, valid, m, i + 1, &span)) {
        if (delta[i] > limit * span) {
            delta[i] = NAN;
            valid[i] = 0;
            out->implausible++;
        }
    }
}

void tx_method_meter_period(const tx_meter_spec *sp, const double *vals, size_t n,
                            const tx_event *ev, size_t nev, tx_meter_scratch *sc,
                            tx_meter_period *out)
{
    memset(out, 0, sizeof *out);
    const double *v = vals;
    if (sp->kind == TX_KIND_CUMULATIVE && n >= 3) {
        /* Spikes show as descents; most meters have none, so look before copying. */
        int descent = 0;
        double last = NAN; /* the last present reading before the block */
        for (size_t k0 = 0; k0 < n && !descent; k0 += 512) {
            size_t k1 = k0 + 512 < n ? k0 + 512 : n;
            /* Neighbours first (no dependence from one to the next: vectorised); a block
             * with a gap is walked present reading by present reading. */
            int gap = 0;
#pragma omp simd reduction(| : descent, gap)
            for (size_t k = k0; k < k1 - 1; k++) {
                descent |= vals[k + 1] < vals[k];
                gap |= vals[k] != vals[k];
            }
            gap |= vals[k1 - 1] != vals[k1 - 1];
            if (gap || !(vals[k0] >= last) || descent) {
                descent = 0;
                for (size_t k = k0; k < k1; k++) {
                    descent |= vals[k] < last; /* NaN compares false */
                    last = vals[k] == vals[k] ? vals[k] : last;
                }
            } else {
                last = vals[k1 - 1];
            }
        }
        if (descent) {
            memcpy(sc->work, vals, n * sizeof *vals);
            out->spikes = drop_spikes(sc->work, n, sp, ev, nev);
            v = sc->work;
        }
    }
    meter_deltas(sp->kind, v, n, sp->t0, sp->step_s, sp->multiplier, sp->unit_factor,
                 sp->modulus, sp->rollover_min, ev, nev, sc->delta, sc->valid, out);
    size_t m = (size_t)out->nexpected;
    drop_implausible(sp, sc->delta, sc->valid, m, sc->work, out);
    if (sp->stuck_steps > 0) {
        /* Runs of valid zero steps at least S = stuck_steps long. Any S consecutive steps
         * hold a multiple of S, so only those are probed, and a run found is measured
         * whole from there: about m / S probes for a meter that is never stuck. */
        const size_t S = sp->stuck_steps;
        const double *d = sc->delta;
        const uint8_t *ok = sc->valid;
        size_t stuck = 0;
        for (size_t j = 0; j < m;) {
            if (!(ok[j] && d[j] == 0)) {
                j += S;
                continue;
            }
            size_t a = j, b = j + 1;
            while (a > 0 && ok[a - 1] && d[a - 1] == 0)
                a--;
            while (b < m && ok[b] && d[b] == 0)
                b++;
            if (b - a >= S)
                stuck += b - a;
            j = (b / S + 1) * S; /* the next probe after the run (b is not zero) */
        }
        out->stuck_intervals += (uint32_t)stuck;
    }
    size_t one[2] = {0, m};
    const size_t *edges = sp->edges ? sp->edges : one;
    size_t nbins = sp->edges ? sp->nbins : 1;
    txk_binned_sum(sc->delta, sc->valid, edges, nbins, out->bin_total, out->bin_valid);
    out->total = 0.0;
    out->nvalid = 0;
    for (size_t b = 0; b < nbins; b++) {
        out->total += out->bin_total[b];
        out->nvalid += out->bin_valid[b];
    }
}

int tx_method_target(double ratio, int year, int base_year, int target_year,
                     double reduction_pct, double *rate_pct)
{
    *rate_pct = NAN;
    if (!isfinite(ratio) || ratio <= 0 || year <= base_year || target_year <= base_year)
        return TX_TARGET_NA;
    double target_ratio = 1.0 - reduction_pct / 100.0;
    if (ratio <= target_ratio) {
        *rate_pct = 0.0;
        return TX_TARGET_MET;
    }
    int left = target_year - year;
    if (left <= 0)
        return TX_TARGET_MISSED;
    *rate_pct = (1.0 - pow(target_ratio / ratio, 1.0 / left)) * 100.0;
    double achieved = 1.0 - pow(ratio, 1.0 / (year - base_year));
    double needed = 1.0 - pow(target_ratio, 1.0 / (target_year - base_year));
    return achieved >= needed ? TX_TARGET_ON_TRACK : TX_TARGET_OFF_TRACK;
}
