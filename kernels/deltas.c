/* deltas.c - consumption per interval from register readings and from interval values. */
#include "tx_kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* A reading or value is present when it is finite: NaN marks a missing reading, and an
 * infinity can only come from a corrupt source, so it is treated the same way. The test is
 * written as a comparison so that it compiles to vector compares instead of a library call. */
static inline int is_present(double x)
{
    return fabs(x) <= DBL_MAX;
}

/* Applies the rollover rule and the sign rule to one raw delta of two present readings and
 * stores the interval's delta. Both versions of the kernel go through this one function for
 * every delta that is not plainly non-negative, so they agree bit for bit. */
static inline uint8_t accept_delta(double d, double multiplier, double modulus,
                                   double rollover_min, double *delta, txk_delta_stats *st)
{
    if (d < 0 && modulus > 0 && -d >= rollover_min) {
        d += modulus;
        st->rollovers++;
    }
    if (d >= 0) {
        *delta = d * multiplier;
        return 1;
    }
    *delta = NAN;
    st->negatives++;
    return 0;
}

void txk_register_deltas_ref(const double *restrict reading, size_t n, double multiplier,
                             double modulus, double rollover_min, double *restrict delta,
                             uint8_t *restrict valid, txk_delta_stats *restrict st)
{
    size_t ref = SIZE_MAX; /* latest present reading at or before interval i's start */
    for (size_t i = 0; i + 1 < n; i++) {
        if (is_present(reading[i]))
            ref = i;
        delta[i] = NAN;
        valid[i] = 0;
        if (!is_present(reading[i + 1]) || ref == SIZE_MAX)
            continue;
        double d = reading[i + 1] - reading[ref];
        uint8_t ok = accept_delta(d, multiplier, modulus, rollover_min, &delta[i], st);
        if (ref == i) {
            valid[i] = ok;
        } else {
            st->gaps++;
            st->gap_intervals += i + 1 - ref;
        }
    }
}

#ifndef TXK_FORCE_REFERENCE
/* Fix-up of one interval that the vector pass did not accept: a missing reading at either
 * end, a negative raw delta (rollover or quarantine), or an overflowing difference. The
 * latest present reading before a missing start is found by walking back over the gap;
 * every reading walked over is the missing end of an earlier interval, so each gap is walked
 * once and the whole fix-up stays linear in n. */
static void fix_interval(const double *restrict reading, size_t i, double multiplier,
                         double modulus, double rollover_min, double *restrict delta,
                         uint8_t *restrict valid, txk_delta_stats *restrict st)
{
    delta[i] = NAN;
    valid[i] = 0;
    if (!is_present(reading[i + 1]))
        return;
    if (is_present(reading[i])) {
        valid[i] = accept_delta(reading[i + 1] - reading[i], multiplier, modulus, rollover_min,
                                &delta[i], st);
        return;
    }
    size_t j = i;
    while (j > 0 && !is_present(reading[j - 1]))
        j--;
    if (j == 0)
        return; /* leading missing readings: nothing to bridge from */
    j--;
    accept_delta(reading[i + 1] - reading[j], multiplier, modulus, rollover_min, &delta[i], st);
    st->gaps++;
    st->gap_intervals += i + 1 - j;
}

/* Entries per step of the vector loops. Each loop runs in steps of this constant length and
 * one shorter step for the tail: a loop with a constant trip count is vectorised even by
 * gcc -O2, whose cheap cost model gives up on loops that would need a scalar epilogue. */
#define VEC_STEP 32

/* The common case, two present readings and a rise, needs no branch: the difference is
 * finite and non-negative exactly when both readings are present and the meter advanced,
 * because NaN and infinities fail one of the two compares. Every delta is stored
 * unconditionally and the flag is the compare result, so the loop is straight vector code
 * (subtract, multiply, two compares, pack) that runs at memory speed. Returns the number
 * of intervals left for the fix-up. */
static inline unsigned delta_step(const double *restrict r, size_t len, double multiplier,
                                  double *restrict delta, uint8_t *restrict valid)
{
    unsigned nbad = 0;
    for (size_t k = 0; k < len; k++) {
        const double d = r[k + 1] - r[k];
        const unsigned ok = (d >= 0) & (d <= DBL_MAX);
        delta[k] = d * multiplier;
        valid[k] = (uint8_t)ok;
        nbad += ok ^ 1u;
    }
    return nbad;
}

/* Intervals per block: a block's deltas and flags are still in L1 when the block is scanned
 * for intervals to fix. */
#define DELTA_BLOCK 1024

void txk_register_deltas(const double *restrict reading, size_t n, double multiplier,
                         double modulus, double rollover_min, double *restrict delta,
                         uint8_t *restrict valid, txk_delta_stats *restrict st)
{
    if (n < 2)
        return;
    const size_t nint = n - 1;
    for (size_t b = 0; b < nint; b += DELTA_BLOCK) {
        const size_t e = nint - b < DELTA_BLOCK ? nint : b + DELTA_BLOCK;
        unsigned nbad = 0;
        size_t i = b;
        for (; e - i >= VEC_STEP; i += VEC_STEP)
            nbad += delta_step(reading + i, VEC_STEP, multiplier, delta + i, valid + i);
        nbad += delta_step(reading + i, e - i, multiplier, delta + i, valid + i);
        if (nbad == 0)
            continue;
        /* Rare intervals go through the scalar rules. Flags are scanned eight at a time, so
         * a block with a few gaps costs little more than a clean one. */
        i = b;
        while (i < e) {
            if (e - i >= 8) {
                uint64_t w;
                memcpy(&w, valid + i, sizeof w);
                if (w == UINT64_C(0x0101010101010101)) {
                    i += 8;
                    continue;
                }
            }
            if (!valid[i])
                fix_interval(reading, i, multiplier, modulus, rollover_min, delta, valid, st);
            i++;
        }
    }
}
#endif

void txk_interval_scale_ref(const double *restrict value, size_t n, double multiplier,
                            double *restrict delta, uint8_t *restrict valid,
                            uint64_t *restrict negatives)
{
    for (size_t i = 0; i < n; i++) {
        if (is_present(value[i]) && value[i] >= 0) {
            delta[i] = value[i] * multiplier;
            valid[i] = 1;
        } else {
            delta[i] = NAN;
            valid[i] = 0;
            if (value[i] < 0 && is_present(value[i]))
                (*negatives)++;
        }
    }
}

#ifndef TXK_FORCE_REFERENCE
/* The value is selected before the multiplication (NaN times the multiplier is NaN), so the
 * multiplication is unconditional and the loop has no branch: compares, a blend, a multiply
 * and a pack, all in vector registers. (Selecting after the multiplication lets the compiler
 * move it under the condition, which is not vectorised.) The negative count is an integer
 * reduction, exact in any order. */
static inline uint64_t scale_step(const double *restrict value, size_t len, double multiplier,
                                  double *restrict delta, uint8_t *restrict valid)
{
    uint64_t neg = 0;
    for (size_t k = 0; k < len; k++) {
        const double v = value[k];
        const unsigned ok = (v >= 0) & (v <= DBL_MAX);
        delta[k] = (ok ? v : NAN) * multiplier;
        valid[k] = (uint8_t)ok;
        neg += (v < 0) & (v >= -DBL_MAX);
    }
    return neg;
}

void txk_interval_scale(const double *restrict value, size_t n, double multiplier,
                        double *restrict delta, uint8_t *restrict valid,
                        uint64_t *restrict negatives)
{
    uint64_t neg = 0;
    size_t i = 0;
    for (; n - i >= VEC_STEP; i += VEC_STEP)
        neg += scale_step(value + i, VEC_STEP, multiplier, delta + i, valid + i);
    neg += scale_step(value + i, n - i, multiplier, delta + i, valid + i);
    *negatives += neg;
}
#endif
