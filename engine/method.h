/*
 * method.h - the calculation method of METHOD.md sections 2 to 5 and 8 over arrays of
 * enterprises (prefix tx_method_). Internal to the engine; used by the run and by the
 * worked-example tests. No I/O; allocation only where a function says so.
 */
#ifndef TX_METHOD_H
#define TX_METHOD_H

#include "records.h"
#include "tables.h"
#include "tanxiao.h"
#include "tx_kernels.h"

#include <stddef.h>
#include <stdint.h>

/* Enterprise statuses (RESULTS.md /enterprise/status). */
enum {
    TX_STATUS_OK = 0,
    TX_STATUS_INCOMPLETE = 1,
    TX_STATUS_NOT_RATEABLE = 2,
    TX_STATUS_NO_BENCHMARK = 3,
    TX_NSTATUS = 4
};
extern const char *const tx_status_names[TX_NSTATUS];

/* Zero-carbon self generation policies (METHOD.md section 4). */
enum { TX_PV_GRID_ONLY = 0, TX_PV_SUBTRACT = 1 };

/* Coefficients of one period, per canonical unit of each carrier. */
typedef struct {
    double tce[TX_CARRIER_COUNT];  /* tce per unit; 0 for water and PV */
    double tco2[TX_CARRIER_COUNT]; /* tCO2 per unit; electricity by the period's grid
                                      factor; PV minus that factor under TX_PV_SUBTRACT */
    double water[TX_CARRIER_COUNT]; /* 1 for water, else 0 */
    double grid_kgco2_per_kwh;
    int grid_year_used;
} tx_coefs;

/* Electricity in tce: 当量值 (calorific equivalent, the default) or 等价值 (fuel burnt to
 * generate it). Never mixed in one figure. */
enum { TX_ELEC_EQUIVALENT = 0, TX_ELEC_EQUAL_VALUE = 1 };

/* Coefficients for data year `year`, grid factor series/geography, a PV policy and an
 * electricity basis. */
int tx_method_coefs(const tx_tables *t, const char *series, const char *geography, int year,
                    int pv_policy, int elec_basis, tx_coefs *c, tx_err *err);

/* 1 when a carrier's coverage enters the enterprise coverage (energy and CO2 carriers;
 * PV only under TX_PV_SUBTRACT; never water). */
int tx_method_carrier_required(int carrier, int pv_policy);

/* Inputs of grading, one entry per enterprise (n entries each). */
typedef struct {
    size_t n;
    const double *co2_t;      /* period CO2 */
    const double *va;         /* value added, current prices; NaN when missing */
    const double *coverage;   /* enterprise coverage; NaN when no required meter */
    const uint8_t *has_elec;  /* 1 when the enterprise has an electricity meter */
    const uint8_t *above;     /* 1 规上 */
    const uint16_t *industry; /* 4-digit GB/T 4754 class as a number, 0..9999 */
} tx_grade_in;

/* What 规下 enterprises get. */
enum { TX_BELOW_BENCHMARK = 0, /* graded against the 规上 benchmark, never entering it */
       TX_BELOW_NONE = 1 };    /* not graded: NO_BENCHMARK */

typedef struct {
    double coverage_min;
    int min_members;
    int industry_level; /* 2, 3 or 4 digits; a smaller cell falls back to its parent */
    int below_scale;    /* TX_BELOW_BENCHMARK or TX_BELOW_NONE */
    const double *level_bounds;
    size_t nlevel_bounds;
    const double *grade_bounds;
    size_t ngrade_bounds;
} tx_grade_params;

/* Benchmark cells of the three industry levels: index [level - 2][code at that level]
 * (division 0..99, group 0..999, class 0..9999). Sums over rated 规上 members. */
typedef struct {
    double co2[3][10000], va[3][10000];
    uint32_t members[3][10000];
    double intensity[3][10000]; /* ratio of sums; NaN when no members */
    uint8_t has_benchmark[3][10000];
} tx_grade_cells;

/* Code of a 4-digit class at a level: 2614 -> 26 (level 2), 261 (3), 2614 (4). */
int tx_industry_at_level(int industry, int level);

/* Outputs: n entries each, caller buffers. */
typedef struct {
    uint8_t *status;
    double *intensity;   /* L, reported whenever VA > 0 */
    uint8_t *level;      /* carbon level: OK and NO_BENCHMARK only */
    double *k;           /* OK only */
    uint8_t *grade;      /* OK only */
    double *bench;       /* the benchmark intensity the enterprise was graded against */
    uint8_t *bench_level; /* industry level of that benchmark cell (2..4), 0 none */
    tx_grade_cells *cells; /* caller allocated (large: use calloc) */
} tx_grade_out;

/* Statuses, L, levels, industry benchmarks with fallback to the parent level, K and
 * grades (METHOD.md sections 4 and 8). Allocates scratch of n bytes (TX_ENOMEM). */
int tx_method_grade(const tx_grade_in *in, const tx_grade_params *p, tx_grade_out *out);

/* Reduction of an intensity in percent: (1 - (x_t / va_t_const) / (x_b / va_b_const)) x 100
 * with va_t_const = va_t / (price_t / price_b) and va_b_const = va_b. NaN when any input is
 * non-finite or a VA or price is <= 0, or the base intensity is 0. */
double tx_method_reduction_pct(double x_t, double va_t, double price_t, double x_b,
                               double va_b, double price_b);


/* One meter over one period (METHOD.md sections 1 and 8). */
#define TX_MAX_BINS 12 /* months of a period */
typedef struct {
    double total;       /* consumption in the canonical unit after multipliers (the sum of
                           the bins, in bin order) */
    double bin_total[TX_MAX_BINS];   /* per bin (month) */
    uint64_t bin_valid[TX_MAX_BINS]; /* measured intervals per bin */
    uint64_t nvalid;    /* measured intervals */
    uint64_t nexpected; /* intervals in the period */
    txk_delta_stats st; /* rollovers, quarantined negatives, bridged gaps */
    uint32_t replacements, multiplier_changes;
    uint32_t unsplit;   /* replacements whose consumption could not be split */
    uint32_t spikes;    /* single register readings dropped (their removal restored order) */
    uint32_t implausible;     /* deltas / values above the physical maximum, excluded */
    uint32_t stuck_intervals; /* zero-consumption intervals in runs of stuck_steps or more */
} tx_meter_period;

/* What the computation needs to know of a meter and of the run's policy. */
typedef struct {
    int kind;            /* TX_KIND_CUMULATIVE or TX_KIND_INTERVAL */
    int64_t t0;          /* instant of vals[0] (cumulative) or label of vals[0] (interval) */
    int64_t step_s;      /* grid step in seconds */
    double multiplier;   /* meters.csv multiplier (events may change it) */
    double unit_factor;  /* meter unit -> canonical unit */
    double modulus;      /* 10^register_digits, or 0 */
    double rollover_min; /* a drop of at least this is a rollover (0.9 x modulus) */
    double capacity;     /* most consumption per step, canonical unit after multiplier; NaN
                            when the meter has no capacity (then median_factor applies) */
    double median_factor; /* without capacity: a step above this times the median positive
                             step consumption is implausible (METHOD.md: 20); 0 = off */
    size_t stuck_steps;  /* a run of at least this many zero steps is flagged stuck; 0 = off */
    const size_t *edges; /* nbins + 1 interval indexes: bin b is [edges[b], edges[b+1]);
                            NULL: one bin over all intervals */
    size_t nbins;        /* 1..TX_MAX_BINS */
} tx_meter_spec;

/* Scratch of one thread: n entries each (n = values of the period). */
typedef struct {
    double *delta;  /* per-interval consumption (left there after the call) */
    uint8_t *valid; /* per-interval validity (left there after the call) */
    double *work;   /* values copy and median selection */
} tx_meter_scratch;

/*
 * Period total of one meter from its values on its grid.
 * Cumulative: vals[k] is the register reading at instant t0 + k*step_s for k in [0, n), the
 *   first and last being the period's start and end instants; n - 1 intervals expected.
 *   Readings are first checked for single spikes (a reading whose removal restores a rising
 *   sequence is dropped); then deltas with multipliers, rollovers and bridged gaps.
 * Interval: vals[k] is the consumption of the interval labelled t0 + k*step_s, covering
 *   (label - step, label]; n intervals expected.
 * Events (sorted by time, this meter's only) change the multiplier (`multiplier`, for
 *   intervals starting at or after the event) or replace the register (`replace`: readings
 *   at or before the event are the old register's; the interval spanning it gets
 *   (old - r_prev) x m_old + (r_next - new) x m_new).
 * Then steps above the physical maximum are excluded and counted, and stuck runs counted.
 */
void tx_method_meter_period(const tx_meter_spec *spec, const double *vals, size_t n,
                            const tx_event *events, size_t nevents, tx_meter_scratch *scratch,
                            tx_meter_period *out);

/* The NBS variant: both intensities rounded to 4 decimals before the ratio (METHOD.md
 * section 5). NaN under the same conditions as tx_method_reduction_pct. */
double tx_method_reduction_nbs_pct(double x_t, double va_t, double price_t, double x_b,
                                   double va_b, double price_b);

/* Progress towards a reduction target (METHOD.md section 5). */
enum { TX_TARGET_NA = 0, TX_TARGET_MET = 1, TX_TARGET_ON_TRACK = 2, TX_TARGET_OFF_TRACK = 3,
       TX_TARGET_MISSED = 4 };
/* ratio = I_now / I_base (comparable prices) in year `year`; target: reduction_pct by
 * target_year from base_year. Met: ratio <= 1 - reduction. Otherwise, with years left,
 * on track when the average annual fall so far (1 - ratio^(1/elapsed)) is at least the
 * average annual fall the whole target needs (1 - target_ratio^(1/(target - base)));
 * off track when not; missed when no year is left. *rate_pct gets the annual fall still
 * needed, 1 - (target_ratio / ratio)^(1 / years_left), in % (0 when met; NaN when not
 * evaluable: ratio not finite or <= 0, year before base_year). */
int tx_method_target(double ratio, int year, int base_year, int target_year,
                     double reduction_pct, double *rate_pct);

#endif /* TX_METHOD_H */
