/*
 * txgen_internal.h - the generator's internals shared by txgen.c (catalogue, series, truth)
 * and txgen_csv.c (the CSV writer). Not installed; nothing outside datasets/ includes it.
 *
 * Index spaces. Within a generated year, index i counts the meter's slots from local
 * Jan 1 00:00 (i = 0) to Jan 1 00:00 of the next year (i = N, N = days * 1440 / step).
 * Interval i (1 <= i <= N) is the step ending at slot i; its consumption is `inc`.
 * A cumulative meter has readings at i = 0..N, an interval meter values at i = 1..N.
 * All per-slot arithmetic is integer (Q16 fixed point, hundredths of the meter unit), so
 * the series are bit-identical on every platform.
 */
#ifndef TXGEN_INTERNAL_H
#define TXGEN_INTERNAL_H

#include "txgen.h"

#define TXG_MAX_YEARS 2

/* Load profiles. */
enum { TXG_PROF_LOAD = 0, TXG_PROF_PV = 1 };
/* Run kinds. */
enum { TXG_RUN_MISSING = 0, TXG_RUN_ESTIMATED = 1 };

/* A run of missing or estimated values of one meter: indices [i0, i0 + len) of year yi. */
typedef struct {
    uint32_t meter;
    uint8_t kind;
    uint8_t yi;
    int64_t i0;
    int64_t len;
} txg_run;

/* Generation parameters of one meter (immutable after txg_city_new). */
typedef struct {
    uint64_t key;        /* hash key of the meter's random streams */
    uint32_t ent;        /* owner index */
    uint8_t profile;     /* TXG_PROF_* */
    uint8_t shift;       /* 1, 2 or 3 shifts (daily and weekly shape) */
    int32_t season_q16;  /* seasonal amplitude: > 0 peaks in late July, < 0 in late January */
    int32_t sigma_slot;  /* per-interval noise, Q16 (<= 0.28) */
    int32_t sigma_day;   /* per-day noise, Q16 */
    uint64_t rate_q16[TXG_MAX_YEARS]; /* mean consumption per interval: hundredths, Q16 */
    int64_t fs;                       /* register full scale in hundredths (cumulative) */
    int64_t start[TXG_MAX_YEARS];     /* register at i = 0, hundredths (cumulative) */
    int repl_yi;                      /* year index of the replacement, -1 for none */
    int64_t repl_i;                   /* interval containing the replacement */
    int64_t repl_partial;             /* hundredths of that interval on the old register */
    int64_t repl_new;                 /* new register at installation, hundredths */
    uint32_t miss0, nmiss;            /* missing runs: c->runs[miss0 .. miss0 + nmiss) */
    uint32_t est0, nest;              /* estimated runs */
    uint32_t dup0, ndup;              /* duplicated CSV rows: c->dups[dup0 ..) */
} txg_meter_gen;

/* Rows of a day's readings repeated in a later day's file (CSV only). */
typedef struct {
    uint32_t meter;
    uint8_t yi;
    uint8_t zform;    /* 1: the repeated rows use the UTC "Z" form of the timestamp */
    int64_t i0;       /* first repeated reading */
    int64_t len;      /* rows */
    int64_t to_day;   /* day index (within the year) of the file that repeats them */
} txg_dup;

struct txg_city {
    txg_params p;
    int ny;                       /* generated years: 1 or 2, ascending in year[] */
    int year[TXG_MAX_YEARS];
    int ndays[TXG_MAX_YEARS];
    int64_t t0[TXG_MAX_YEARS];    /* Unix seconds of local Jan 1 00:00 */
    int dow0[TXG_MAX_YEARS];      /* weekday of Jan 1, 0 = Monday */
    int cny[TXG_MAX_YEARS];       /* day index of the Spring Festival */
    int natday[TXG_MAX_YEARS];    /* day index of Oct 1 */
    int adjacent;                 /* 1 when the two years are consecutive */
    int32_t shape_q16[3][24];     /* hourly shape per shift pattern, mean 1 */
    int32_t week_q16[3][7];       /* weekday factor per shift pattern, mean 1 */

    tx_enterprise *ent;
    size_t nent;
    tx_meter *met;
    txg_meter_gen *gen;
    size_t nmet;
    tx_event *ev;
    size_t nev;
    txg_financial *fin;
    size_t nfin;
    txg_deflator *defl;
    size_t ndefl;
    txg_run *runs;
    size_t nruns;
    txg_dup *dups;
    size_t ndups;
    txg_fault *faults;
    size_t nfaults;
    uint8_t *industry_prefix;     /* per enterprise: 1 writes industry_code as "C2614" */
};

/* Sequential generator of one meter's year: register readings or interval values. */
typedef struct {
    const txg_city *c;
    const txg_meter_gen *g;
    int yi;
    int step;           /* minutes */
    int64_t spd;        /* slots per day */
    int64_t n;          /* intervals in the year */
    int64_t i;          /* current index */
    int64_t reg;        /* register shown at i (cumulative), hundredths */
    int64_t day;        /* day whose factors are cached */
    uint64_t dayf;      /* Q16 day factor */
    int64_t half_min;   /* PV: half the day length, minutes */
    size_t mrun, mend, erun, eend;
    /* the state at i */
    int64_t value;      /* reading (cumulative) or interval value, hundredths */
    int64_t inc;        /* consumption of interval i (0 at i = 0), hundredths */
    uint8_t present;    /* 0 at gaps, and at i = 0 of an interval meter */
    uint8_t quality;    /* 1 inside an estimated run */
    uint8_t wrapped;    /* the register rolled over in interval i */
    uint8_t replaced;   /* the meter was replaced within interval i */
} txg_cursor;

/* Positions the cursor at i = 0 of year yi for meter m. */
void txg_cursor_init(txg_cursor *cu, const txg_city *c, size_t m, int yi);
/* Advances to i + 1 (callers stop at i = n). */
void txg_cursor_next(txg_cursor *cu);

/* Intervals of meter m in year yi (days * 1440 / interval_minutes). */
int64_t txg_year_intervals(const txg_city *c, size_t m, int yi);

/* splitmix64-style mix of a key and two words. */
uint64_t txg_hash(uint64_t key, uint64_t a, uint64_t b);

#endif /* TXGEN_INTERNAL_H */
