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

/* Coefficients for data year `year`, grid factor series/geography and a PV policy. */
int tx_method_coefs(const tx_tables *t, const char *series, const char *geography, int year,
                    int pv_policy, tx_coefs *c, tx_err *err);

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
    const uint8_t *division;  /* 2-digit GB/T 4754 division, 1..99 */
} tx_grade_in;

typedef struct {
    double coverage_min;
    int min_members;
    const double *level_bounds;
    size_t nlevel_bounds;
    const double *grade_bounds;
    size_t ngrade_bounds;
} tx_grade_params;

/* Outputs: n entries each (caller buffers), and per division (100 entries each). */
typedef struct {
    uint8_t *status;
    double *intensity; /* L, reported whenever VA > 0 */
    uint8_t *level;    /* OK and NO_BENCHMARK only */
    double *k;         /* OK only */
    uint8_t *grade;    /* OK only */
    double div_co2[100], div_va[100]; /* benchmark sums (规上 rated members) */
    uint32_t div_members[100];
    double div_intensity[100]; /* ratio of sums; NaN when no members */
    uint8_t div_has_benchmark[100];
} tx_grade_out;

/* Statuses, L, levels, industry benchmarks, K and grades (METHOD.md sections 4 and 8).
 * Allocates scratch of n bytes (TX_ENOMEM). */
int tx_method_grade(const tx_grade_in *in, const tx_grade_params *p, tx_grade_out *out);

/* Reduction of an intensity in percent: (1 - (x_t / va_t_const) / (x_b / va_b_const)) x 100
 * with va_t_const = va_t / (price_t / price_b) and va_b_const = va_b. NaN when any input is
 * non-finite or a VA or price is <= 0, or the base intensity is 0. */
double tx_method_reduction_pct(double x_t, double va_t, double price_t, double x_b,
                               double va_b, double price_b);


/* One meter over one period (METHOD.md sections 1 and 8). */
typedef struct {
    double total;       /* consumption in the canonical unit after multipliers */
    uint64_t nvalid;    /* measured intervals */
    uint64_t nexpected; /* intervals in the period */
    txk_delta_stats st; /* rollovers, quarantined negatives, bridged gaps */
    uint32_t replacements, multiplier_changes;
    uint32_t unsplit; /* replacements whose consumption could not be split (reading missing) */
} tx_meter_period;

/*
 * Period total of one meter from its values on its grid.
 * Cumulative (kind TX_KIND_CUMULATIVE): vals[k] is the register reading at instant
 *   t0 + k*step_s for k in [0, n), the first and last being the period's start and end
 *   instants; n - 1 intervals are expected.
 * Interval: vals[k] is the consumption of the interval labelled t0 + k*step_s, covering
 *   (label - step, label]; n intervals are expected.
 * multiplier: the meters.csv multiplier; events (sorted by time, this meter's only) change
 *   it (`multiplier`, applying to intervals starting at or after the event) or replace the
 *   register (`replace`: readings at or before the event are the old register's; the
 *   interval spanning it gets (old - r_prev) x m_old + (r_next - new) x m_new).
 * unit_factor converts the meter unit to the canonical unit. modulus = 10^digits or 0.
 * delta and valid are scratch of n entries (the per-interval values are left there).
 */
void tx_method_meter_period(int kind, const double *vals, size_t n, int64_t t0, int64_t step_s,
                            double multiplier, double unit_factor, double modulus,
                            double rollover_min, const tx_event *events, size_t nevents,
                            double *delta, uint8_t *valid, tx_meter_period *out);

#endif /* TX_METHOD_H */
