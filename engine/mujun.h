/*
 * mujun.h - the 亩均效益 comprehensive evaluation of METHOD.md section 6 over arrays of
 * enterprises (prefix tx_mujun_). Internal to the engine. No I/O except
 * tx_mujun_profile_load, which reads the scoring profile table; no HDF5; no allocation
 * (tx_mujun_evaluate works in a caller workspace).
 *
 * The profile table (datasets/tables/mujun_profiles.csv) has the columns
 *     profile,year,group,indicator,weight,benchmark,cap,value,unit,tag,source
 * one row per (profile, group, indicator); profile is an id such as huangyan_2022, year the
 * evaluation year (the same on every row of a profile), group `above` (规上) or `below`
 * (规下). Two kinds of rows:
 *   - indicator rows (above: tax_per_mu, va_per_mu, va_per_tce, va_per_pollutant,
 *     va_per_employee, rd_ratio; below: tax_per_mu, tax_per_kwh) fill weight (points,
 *     >= 0), benchmark (> 0, in the indicator's unit) and optionally cap (the most points
 *     the term may score, > 0; empty = no cap); value stays empty.
 *   - parameter rows fill value only (weight, benchmark and cap empty): class_A, class_B,
 *     class_D (share of the group's evaluated enterprises, 0..1, A + B + D <= 1; in each
 *     group) and min_land_mu (below only: the least land, 亩, for a 规下 enterprise to be
 *     evaluated).
 * unit, tag ([C]/[S]/[U] of METHOD.md) and source are documentation. Every row of the file
 * is checked; the selected profile must have every row above exactly once.
 *
 * Indicator units: tax, value added, revenue, R&D in 万元; land in 亩; energy in tce with
 * electricity at 等价值; pollutant in t; employees in persons; electricity in kWh. Hence
 * tax_per_mu and va_per_mu in 万元/亩, va_per_tce in 万元/tce, va_per_pollutant in 万元/t,
 * va_per_employee in 万元/人, rd_ratio a ratio, tax_per_kwh in 元/kWh (tax x 10^4 / kWh).
 */
#ifndef TX_MUJUN_H
#define TX_MUJUN_H

#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

#define TX_MUJUN_FILE "mujun_profiles.csv"

/* 规上 indicators, the index of term[] and value[] for 规上 enterprises. */
enum {
    TX_MUJUN_TAX_PER_MU = 0,       /* tax / land, 万元/亩 */
    TX_MUJUN_VA_PER_MU = 1,        /* VA / land, 万元/亩 */
    TX_MUJUN_VA_PER_TCE = 2,       /* VA / energy at 等价值, 万元/tce */
    TX_MUJUN_VA_PER_POLLUTANT = 3, /* VA / main pollutant emissions, 万元/t */
    TX_MUJUN_VA_PER_EMPLOYEE = 4,  /* VA / average employees, 万元/人 */
    TX_MUJUN_RD_RATIO = 5,         /* R&D expense / revenue */
    TX_MUJUN_NABOVE = 6
};
/* 规下 indicators, the index of term[] and value[] for 规下 enterprises. */
enum {
    TX_MUJUN_BELOW_TAX_PER_MU = 0,  /* tax / land, 万元/亩 */
    TX_MUJUN_BELOW_TAX_PER_KWH = 1, /* tax x 10^4 / electricity, 元/kWh */
    TX_MUJUN_NBELOW = 2
};
#define TX_MUJUN_NTERMS 6

/* Groups (out->group). */
enum { TX_MUJUN_NOT_EVALUATED = 0, TX_MUJUN_ABOVE = 1, TX_MUJUN_BELOW = 2 };
/* Classes (out->cls). */
enum { TX_MUJUN_CLS_NONE = 0, TX_MUJUN_CLS_A = 1, TX_MUJUN_CLS_B = 2, TX_MUJUN_CLS_C = 3,
       TX_MUJUN_CLS_D = 4 };
/* Flag bits (out->flags). */
enum {
    TX_MUJUN_F_POLLUTANT_MEAN = 1u << 0, /* pollutant missing or zero: term is the mean */
    TX_MUJUN_F_MISSING = 1u << 1,        /* another input missing: its term scored 0 */
    TX_MUJUN_F_ENERGY_INCOMPLETE = 1u << 2, /* energy / kWh used as measured, incomplete */
    TX_MUJUN_F_NO_LAND = 1u << 3, /* not evaluated: 规上 land missing or <= 0, 规下 land
                                     missing or below min_land_mu */
    TX_MUJUN_F_NO_VA = 1u << 4    /* not evaluated: 规上 without value added */
};

/* Names of the indicators as in the table: above[TX_MUJUN_NABOVE], below[TX_MUJUN_NBELOW]. */
extern const char *const tx_mujun_above_names[TX_MUJUN_NABOVE];
extern const char *const tx_mujun_below_names[TX_MUJUN_NBELOW];

typedef struct {
    double weight;    /* points */
    double benchmark; /* in the indicator's unit, > 0 */
    double cap;       /* most points of the term; NaN = no cap */
} tx_mujun_term;

typedef struct {
    char id[64];
    int year;                            /* evaluation year */
    tx_mujun_term above[TX_MUJUN_NABOVE]; /* 规上 */
    tx_mujun_term below[TX_MUJUN_NBELOW]; /* 规下 */
    double share[2][3];    /* [0 规上, 1 规下][A, B, D]: class shares of the group */
    double below_min_land_mu; /* least land of an evaluated 规下 enterprise, 亩 */
    /* provenance */
    char file[40];         /* TX_MUJUN_FILE */
    uint64_t file_checksum; /* FNV-1a 64 of the file (tables.h) */
} tx_mujun_profile;

/*
 * Loads profile `profile_id` from tables_dir/mujun_profiles.csv into *p (caller memory;
 * nothing to free). Every row of the file is checked (a malformed row of another profile
 * is an error too). Returns 0; TX_ENOTFOUND when the file does not exist or has no row of
 * that profile; TX_EIO, TX_ENOMEM; TX_EPARSE (not a CSV text, missing column); TX_ETABLE
 * for a bad row ("path:line: reason": unknown group or indicator, bad or missing number,
 * a number in a column the row kind leaves empty, a year differing within the profile, a
 * duplicated row, shares out of range) or an incomplete profile ("path: profile 'x' has no
 * below/tax_per_kwh row"). Thread-safe (no shared state).
 */
int tx_mujun_profile_load(const char *tables_dir, const char *profile_id, tx_mujun_profile *p,
                          tx_err *err);

/*
 * Inputs, n entries each. A missing number is NaN; a non-finite number counts as missing.
 * above, land_mu and value_added are required; any other pointer may be NULL, meaning
 * missing for every enterprise (energy_complete NULL: every enterprise complete).
 */
typedef struct {
    size_t n;                     /* at most UINT32_MAX */
    const uint8_t *above;         /* 1 规上, 0 规下 */
    const double *land_mu;        /* land area, 亩 */
    const double *value_added;    /* 万元 (may be negative) */
    const double *tax;            /* 评价税收, 万元 */
    const double *revenue;        /* main business revenue, 万元 */
    const double *rd_expense;     /* R&D, 万元 */
    const double *employees;      /* average employees */
    const double *pollutant_t;    /* main pollutant emissions, t */
    const double *energy_tce_equal_value; /* energy with electricity at 等价值, tce, as
                                             measured (PV excluded); NaN: no energy data */
    const double *electricity_kwh; /* grid electricity, kWh, as measured; NaN: no data */
    const uint8_t *energy_complete; /* 1 when the energy data are complete */
} tx_mujun_in;

/*
 * Outputs, n entries each (caller buffers). group, score, rank, cls and flags are required;
 * each term[k] and value[k] may be NULL (not written). For an enterprise not evaluated:
 * group 0, score NaN, rank 0, cls 0, terms and values NaN, flags says why. For 规下, terms
 * and values 2..5 are NaN.
 *   term[k]:  the points of indicator k (after the cap), 0 when it scores 0.
 *   value[k]: the indicator value when it can be computed (finite inputs, non-zero
 *             denominator; may be <= 0, then the term is 0), else NaN; NaN for a 规上
 *             enterprise whose pollutant term is the group mean.
 */
typedef struct {
    uint8_t *group;  /* TX_MUJUN_NOT_EVALUATED, _ABOVE, _BELOW */
    double *score;   /* sum of the terms; NaN when not evaluated */
    double *term[TX_MUJUN_NTERMS];
    double *value[TX_MUJUN_NTERMS];
    uint32_t *rank;  /* 1 + number of higher scores in the group; 0 when not evaluated */
    uint8_t *cls;    /* TX_MUJUN_CLS_* */
    uint8_t *flags;  /* TX_MUJUN_F_* */
} tx_mujun_out;

/* Bytes of workspace tx_mujun_evaluate needs for n enterprises (SIZE_MAX on overflow). */
size_t tx_mujun_wksp_size(size_t n);

/*
 * The evaluation of METHOD.md section 6, "Default profile, precisely".
 *
 * Evaluated: 规上 with land_mu > 0 and value_added present (group 1); 规下 with land_mu >=
 * p->below_min_land_mu (group 2; no value added needed). Groups are scored, ranked and
 * classed separately.
 *
 * Terms: value / benchmark x weight, at most the cap when the profile sets one; a value
 * <= 0 or a zero denominator scores 0. A missing input (NaN or NULL array) of a term scores
 * 0 and sets TX_MUJUN_F_MISSING; a 规下 enterprise without financials therefore scores 0
 * on both terms. The pollutant term of a 规上 enterprise whose pollutant_t is missing or
 * <= 0 (outside the pollution source lists) is the mean of the pollutant term (capped)
 * over the group's enterprises with pollutant_t > 0 (their terms counted as they are,
 * 0 included), 0 when there are none; it sets TX_MUJUN_F_POLLUTANT_MEAN.
 * energy_complete 0 sets TX_MUJUN_F_ENERGY_INCOMPLETE on an evaluated enterprise; the
 * measured figures are used as they are.
 *
 * Rank: 1 + the number of strictly higher scores in the group (ties share a rank).
 * Classes: with n evaluated in the group and the shares sA, sB, sD of the profile,
 * nA = round(sA n), nB = round(sB n), nD = round(sD n), rounding half up (exact: shares
 * are taken to parts per million and counted in integers; nD is reduced if nA + nB + nD
 * would exceed n). In the descending order, positions 0 .. nA-1 are A, the next nB are B,
 * the last nD are D, the rest C. An enterprise takes the class of position rank - 1, the
 * best position its tie block occupies: equal scores share the better class. So a block
 * straddling a boundary goes wholly to the better side (n = 10 equal scores: all A), and
 * a class may end up with more (A, B, C) or fewer (B, C, D) members than its count.
 *
 * Returns 0, or TX_EINVAL (NULL p, in, out, or a required array; n > UINT32_MAX; wksp
 * NULL with n > 0 or wksp_size < tx_mujun_wksp_size(n)). Thread-safe for distinct outputs
 * and workspaces. O(n log n) time.
 */
int tx_mujun_evaluate(const tx_mujun_profile *p, const tx_mujun_in *in, tx_mujun_out *out,
                      void *wksp, size_t wksp_size);

/* Class counts of a group of n under shares (A, B, D) as above: counts[0..3] = A, B, C, D. */
void tx_mujun_class_counts(const double share[3], size_t n, size_t counts[4]);

#endif /* TX_MUJUN_H */
