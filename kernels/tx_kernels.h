/*
 * tx_kernels.h - the hot loops of tanxiao (prefix txk_).
 *
 * Pure functions over contiguous arrays: no I/O, no allocation, no global state. Every
 * kernel is thread-safe for disjoint outputs. Pointers marked restrict must not alias.
 * No alignment is assumed (the loops handle any start and any tail); 64-byte aligned
 * inputs are merely faster.
 *
 * Each optimised kernel txk_X has a plain reference version txk_X_ref with the same
 * contract. Building with -DTXK_FORCE_REFERENCE (CMake option TANXIAO_REFERENCE_KERNELS)
 * makes txk_X call txk_X_ref, so a whole run can be checked against the references.
 *
 * Floating-point results: every kernel sums in a fixed order that does not depend on the
 * number of threads. The optimised and reference versions may differ in the last bits of a
 * sum (different association); tests compare them with a relative tolerance of 1e-12.
 */
#ifndef TX_KERNELS_H
#define TX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Counters of what txk_register_deltas saw; the kernel adds to them (caller zeroes). */
typedef struct {
    uint64_t rollovers;     /* negative raw deltas taken as register rollover */
    uint64_t negatives;     /* negative deltas quarantined (delta NaN, not netted) */
    uint64_t gaps;          /* runs of missing readings bridged by two valid readings */
    uint64_t gap_intervals; /* intervals inside bridged gaps (k missing -> k + 1) */
} txk_delta_stats;

/*
 * Consumption per interval of a cumulative register.
 *
 * reading[0..n): register readings at consecutive grid instants, in the meter's unit
 *   before the multiplier; NaN = missing (so is an infinity: a reading is present when it
 *   is finite).
 * n - 1 intervals (none when n < 2); interval i lies between reading[i] and reading[i+1].
 * multiplier: factor applied to every delta (倍率 x unit factor), > 0.
 * modulus: 10^register_digits, or 0 when the register size is unknown (no rollover).
 * rollover_min: a negative raw delta d with -d >= rollover_min (and modulus > 0) is a
 *   rollover: d + modulus is used and counted in st->rollovers. (Should d + modulus still
 *   be negative, a drop larger than the register, the interval is also quarantined below.)
 *
 * Outputs (n - 1 entries each):
 *   delta[i]: consumption attributed to interval i after the multiplier, or NaN.
 *   valid[i]: 1 when both readings of interval i are present and the delta is accepted.
 * Rules, with r the readings:
 *   - r[i], r[i+1] present, raw d = r[i+1] - r[i] (after the rollover rule): d >= 0 gives
 *     delta = d * multiplier, valid = 1; d < 0 gives delta NaN, valid 0, negatives++.
 *   - r[i+1] present, r[i] missing, and some earlier r[j] present (j < i, the latest such):
 *     the gap j..i+1 is bridged: delta[i] = (r[i+1] - r[j]) * multiplier (rollover rule
 *     applies once; a negative bridged delta is quarantined like above), intervals j..i-1
 *     get delta NaN; all intervals j..i get valid 0; gaps++, gap_intervals += i + 1 - j.
 *   - everything else (missing end reading, or no earlier reading): delta NaN, valid 0.
 * So the finite deltas sum to the exact consumption between the first and last present
 * readings (minus quarantined negatives), and valid counts measured intervals.
 * Memory: none beyond the outputs.
 */
void txk_register_deltas(const double *restrict reading, size_t n, double multiplier,
                         double modulus, double rollover_min, double *restrict delta,
                         uint8_t *restrict valid, txk_delta_stats *restrict st);
void txk_register_deltas_ref(const double *restrict reading, size_t n, double multiplier,
                             double modulus, double rollover_min, double *restrict delta,
                             uint8_t *restrict valid, txk_delta_stats *restrict st);

/*
 * Interval meters: delta[i] = value[i] * multiplier, valid[i] = 1 when value[i] is finite
 * and >= 0; a finite negative value gives delta NaN, valid 0 and counts in *negatives
 * (added to); a non-finite value (missing) gives delta NaN, valid 0. n entries each.
 */
void txk_interval_scale(const double *restrict value, size_t n, double multiplier,
                        double *restrict delta, uint8_t *restrict valid,
                        uint64_t *restrict negatives);
void txk_interval_scale_ref(const double *restrict value, size_t n, double multiplier,
                            double *restrict delta, uint8_t *restrict valid,
                            uint64_t *restrict negatives);

/*
 * Masked sums over consecutive bins: bin b covers entries [edge[b], edge[b+1]) of delta and
 * valid (edge has nbins + 1 non-decreasing entries). sum[b] = sum of the finite delta in the
 * bin (NaN entries skipped, so a bridged gap total is included); nvalid[b] = number of
 * entries with valid != 0. Each bin's sum is associated in a fixed way that depends only on
 * the bin's length (the optimised kernel keeps eight interleaved partial sums, the reference
 * adds in index order), never on addresses or threads: reproducible.
 */
void txk_binned_sum(const double *restrict delta, const uint8_t *restrict valid,
                    const size_t *restrict edge, size_t nbins, double *restrict sum,
                    uint64_t *restrict nvalid);
void txk_binned_sum_ref(const double *restrict delta, const uint8_t *restrict valid,
                        const size_t *restrict edge, size_t nbins, double *restrict sum,
                        uint64_t *restrict nvalid);

/*
 * Unit conversion with scatter: acc[owner[i]] += qty[i] * coef[i] for i in [0, n), in index
 * order (so the result is reproducible). NaN propagates. owner[i] must index acc.
 * Used for tce (coef in tce per canonical unit) and CO2 (coef in t per canonical unit).
 */
void txk_convert_scatter(const double *restrict qty, const double *restrict coef,
                         const uint32_t *restrict owner, size_t n, double *restrict acc);
void txk_convert_scatter_ref(const double *restrict qty, const double *restrict coef,
                             const uint32_t *restrict owner, size_t n,
                             double *restrict acc);

/*
 * Classes by upper bounds (inclusive): class[i] = 1 + number of bounds b with x[i] > b,
 * for bounds sorted ascending (nbounds <= 254 bounds give classes 1..nbounds+1). Entries
 * with want[i] == 0 or a non-finite x[i] get class 0.
 * Carbon level: x = L, bounds {0.6, 2.0} from the level table. Grade: x = K.
 */
void txk_classify(const double *restrict x, const uint8_t *restrict want, size_t n,
                  const double *restrict bounds, size_t nbounds, uint8_t *restrict cls);
void txk_classify_ref(const double *restrict x, const uint8_t *restrict want, size_t n,
                      const double *restrict bounds, size_t nbounds, uint8_t *restrict cls);

/*
 * Ratios: out[i] = num[i] / den[i] when want[i] != 0, den[i] > 0 and both are finite;
 * NaN otherwise. Used for K = L / L_industry and for intensities.
 */
void txk_ratio(const double *restrict num, const double *restrict den,
               const uint8_t *restrict want, size_t n, double *restrict out);
void txk_ratio_ref(const double *restrict num, const double *restrict den,
                   const uint8_t *restrict want, size_t n, double *restrict out);

#ifdef TXK_FORCE_REFERENCE
#define txk_register_deltas txk_register_deltas_ref
#define txk_interval_scale txk_interval_scale_ref
#define txk_binned_sum txk_binned_sum_ref
#define txk_convert_scatter txk_convert_scatter_ref
#define txk_classify txk_classify_ref
#define txk_ratio txk_ratio_ref
#endif

#ifdef __cplusplus
}
#endif
#endif /* TX_KERNELS_H */
