/* sums.c - masked sums over bins and unit conversion with scatter. */
#include "tx_kernels.h"

#include <float.h>
#include <math.h>

void txk_binned_sum_ref(const double *restrict delta, const uint8_t *restrict valid,
                        const size_t *restrict edge, size_t nbins, double *restrict sum,
                        uint64_t *restrict nvalid)
{
    for (size_t b = 0; b < nbins; b++) {
        double s = 0.0;
        uint64_t c = 0;
        for (size_t i = edge[b]; i < edge[b + 1]; i++) {
            if (isfinite(delta[i]))
                s += delta[i];
            if (valid[i])
                c++;
        }
        sum[b] = s;
        nvalid[b] = c;
    }
}

#ifndef TXK_FORCE_REFERENCE
/* Independent partial sums per bin. Entry edge[b] + k goes to lane k mod SUM_LANES, so the
 * association depends only on the bin's own position and length: never on the address of
 * the data, the number of threads, or how callers split their work. */
#define SUM_LANES 8

/* Sum of one bin. A single running sum would chain every addition on the previous one and
 * the compiler may not reassociate it; eight lanes are eight independent chains that the
 * compiler packs into vector registers (two AVX2 or one AVX-512 add per step). Non-finite
 * entries are replaced by zero with a compare and select instead of a branch. */
static double bin_sum(const double *restrict x, size_t n)
{
    double lane[SUM_LANES] = {0};
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (size_t k = 0; k < SUM_LANES; k++) {
            const double v = x[i + k];
            lane[k] += fabs(v) <= DBL_MAX ? v : 0.0;
        }
    double s = ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
               ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    for (; i < n; i++)
        s += fabs(x[i]) <= DBL_MAX ? x[i] : 0.0;
    return s;
}

/* Flags per step of the counting loop. A loop with this constant trip count is vectorised
 * even by gcc -O2, whose cheap cost model gives up on loops that need a scalar epilogue. */
#define COUNT_STEP 32

static inline uint8_t count_step(const uint8_t *restrict v, size_t len)
{
    uint8_t c = 0; /* len <= COUNT_STEP, so a byte cannot overflow */
    for (size_t k = 0; k < len; k++)
        c = (uint8_t)(c + (v[k] != 0));
    return c;
}

/* Count of non-zero flags in one bin: an integer reduction, exact in any order, done as
 * byte compares over whole steps and one short step for the tail. */
static uint64_t bin_count(const uint8_t *restrict v, size_t n)
{
    uint64_t c = 0;
    size_t i = 0;
    for (; n - i >= COUNT_STEP; i += COUNT_STEP)
        c += count_step(v + i, COUNT_STEP);
    return c + count_step(v + i, n - i);
}

void txk_binned_sum(const double *restrict delta, const uint8_t *restrict valid,
                    const size_t *restrict edge, size_t nbins, double *restrict sum,
                    uint64_t *restrict nvalid)
{
    for (size_t b = 0; b < nbins; b++) {
        const size_t lo = edge[b], len = edge[b + 1] - edge[b];
        sum[b] = bin_sum(delta + lo, len);
        nvalid[b] = bin_count(valid + lo, len);
    }
}
#endif

void txk_convert_scatter_ref(const double *restrict qty, const double *restrict coef,
                             const uint32_t *restrict owner, size_t n, double *restrict acc)
{
    for (size_t i = 0; i < n; i++)
        acc[owner[i]] += qty[i] * coef[i];
}

#ifndef TXK_FORCE_REFERENCE
void txk_convert_scatter(const double *restrict qty, const double *restrict coef,
                         const uint32_t *restrict owner, size_t n, double *restrict acc)
{
    /* The additions into one accumulator must stay in index order, so they form a chain
     * whatever is done. In the plain loop that chain also runs through memory: each
     * acc[owner[i]] is loaded, added to and stored, and the next entry of the same owner
     * waits for the store to be forwarded. Entries come grouped by owner (meters of one
     * enterprise are stored together), so here a run of equal owners is summed in a
     * register and stored once; the additions and their order are the same as in the
     * reference. */
    size_t i = 0;
    while (i < n) {
        const uint32_t o = owner[i];
        size_t end = i + 1;
        while (end < n && owner[end] == o)
            end++;
        double a = acc[o];
        for (; i < end; i++)
            a += qty[i] * coef[i];
        acc[o] = a;
    }
}
#endif
