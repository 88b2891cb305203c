/* grade.c - classes by bounds (carbon level, grade) and guarded ratios. */
#include "tx_kernels.h"

#include <float.h>
#include <math.h>

void txk_classify_ref(const double *restrict x, const uint8_t *restrict want, size_t n,
                      const double *restrict bounds, size_t nbounds, uint8_t *restrict cls)
{
    for (size_t i = 0; i < n; i++) {
        if (!want[i] || !isfinite(x[i])) {
            cls[i] = 0;
            continue;
        }
        unsigned c = 1;
        for (size_t k = 0; k < nbounds; k++)
            if (x[i] > bounds[k])
                c++;
        cls[i] = (uint8_t)c;
    }
}

#ifndef TXK_FORCE_REFERENCE
/* Entries per step of the vector loops. Each loop runs in steps of this constant length and
 * one shorter step for the tail: a loop with a constant trip count is vectorised even by
 * gcc -O2, whose cheap cost model gives up on loops that would need a scalar epilogue. The
 * class counters of a step live on the stack and stay in L1. */
#define VEC_STEP 256

/* A loop over entries with an inner loop over a handful of bounds does not vectorise.
 * Turned inside out, each bound is one pass of vector compares added to the step's
 * counters, and a last pass masks the entries not wanted or not finite. */
static inline void classify_step(const double *restrict x, const uint8_t *restrict want,
                                 size_t len, const double *restrict bounds, size_t nbounds,
                                 uint8_t *restrict cls)
{
    uint8_t c[VEC_STEP];
    for (size_t k = 0; k < len; k++)
        c[k] = 1;
    for (size_t j = 0; j < nbounds; j++) {
        const double bound = bounds[j];
        for (size_t k = 0; k < len; k++)
            c[k] = (uint8_t)(c[k] + (x[k] > bound));
    }
    for (size_t k = 0; k < len; k++) {
        const unsigned keep = (want[k] != 0) & (fabs(x[k]) <= DBL_MAX);
        cls[k] = keep ? c[k] : 0;
    }
}

void txk_classify(const double *restrict x, const uint8_t *restrict want, size_t n,
                  const double *restrict bounds, size_t nbounds, uint8_t *restrict cls)
{
    size_t i = 0;
    for (; n - i >= VEC_STEP; i += VEC_STEP)
        classify_step(x + i, want + i, VEC_STEP, bounds, nbounds, cls + i);
    classify_step(x + i, want + i, n - i, bounds, nbounds, cls + i);
}
#endif

void txk_ratio_ref(const double *restrict num, const double *restrict den,
                   const uint8_t *restrict want, size_t n, double *restrict out)
{
    for (size_t i = 0; i < n; i++) {
        if (want[i] && isfinite(num[i]) && isfinite(den[i]) && den[i] > 0)
            out[i] = num[i] / den[i];
        else
            out[i] = NAN;
    }
}

#ifndef TXK_FORCE_REFERENCE
/* The reference's branches become compares and one blend: where the guard fails the
 * divisor is replaced by NaN, and a division by NaN gives NaN. Forms that select the output
 * after the division let the compiler move the division under the condition, and a
 * conditional division is not vectorised. gcc 12 vectorises this loop from SSE2 to AVX2 and
 * clang everywhere; gcc 12 with AVX-512 cannot combine the byte flag with the double
 * compares in mask registers and leaves it scalar, but branch-free. Ratios are computed per
 * enterprise, far from the hot path. */
static inline void ratio_step(const double *restrict num, const double *restrict den,
                              const uint8_t *restrict want, size_t len, double *restrict out)
{
    for (size_t k = 0; k < len; k++) {
        const double a = num[k], d = den[k];
        const unsigned ok = (want[k] != 0) & (fabs(a) <= DBL_MAX) & (d > 0) & (d <= DBL_MAX);
        out[k] = a / (ok ? d : NAN);
    }
}

void txk_ratio(const double *restrict num, const double *restrict den,
               const uint8_t *restrict want, size_t n, double *restrict out)
{
    size_t i = 0;
    for (; n - i >= VEC_STEP; i += VEC_STEP)
        ratio_step(num + i, den + i, want + i, VEC_STEP, out + i);
    ratio_step(num + i, den + i, want + i, n - i, out + i);
}
#endif
