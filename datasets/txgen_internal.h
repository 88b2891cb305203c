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
/* A register that does not move for this long (and at least 3 steps) is stuck
 * (run_defaults.csv stuck_hours). */
#define TXG_STUCK_HOURS 24

/* Load profiles. */
enum { TXG_PROF_LOAD = 0, TXG_PROF_PV = 1 };
/* Run kinds. */
enum { TXG_RUN_MISSING = 0, TXG_RUN_ESTIMATED = 1 };

/* Series faults of METHOD.md section 8, at most one per meter (txg_meter_gen.fx), all in
 * the report year:
 *   SPIKE_UP, SPIKE_DOWN  reading fx_i shows reg + fx_amount, or a tenth of the reading
 *                         before it; the register itself is unaffected;
 *   IMPLAUSIBLE           interval fx_i: an interval value 1000 times too large, or a
 *                         register that jumps by fx_amount (and keeps counting from there);
 *   STUCK                 intervals [fx_i, fx_i + fx_len): the register does not move (the
 *                         consumption is not measured);
 *   MULTIPLIER            a multiplier event at slot index fx_i: intervals after it advance
 *                         the register by their consumption / fx_mult;
 *   NEGATIVE              interval fx_i: the register drops to a fifth of its value without
 *                         an event (that interval's consumption is lost) and counts on. */
enum {
    TXG_FX_NONE = 0,
    TXG_FX_SPIKE_UP,
    TXG_FX_SPIKE_DOWN,
    TXG_FX_IMPLAUSIBLE,
    TXG_FX_STUCK,
    TXG_FX_MULTIPLIER,
    TXG_FX_NEGATIVE
};

/* Cursor flags of the state at i. */
enum {
    TXG_CF_SPIKE = 1,       /* the reading at i is an injected outlier (METHOD: dropped) */
    TXG_CF_IMPLAUSIBLE = 2, /* interval i is above the physical maximum (excluded) */
    TXG_CF_NEGATIVE = 4,    /* interval i is a negative delta without an event (excluded) */
    TXG_CF_NEWMULT = 8      /* interval i uses the multiplier of the meter's event */
};

/* CSV-only faults (txgen_csv.c writes them; the series and the truth do not see them). */
enum {
    TXG_CSV_ALIGNED = 0, /* the real row of reading i is stamped shift_s seconds late */
    TXG_CSV_OFFGRID,     /* an extra row stamped 7 min 30 s after instant i */
    TXG_CSV_CONFLICT,    /* an extra row with a wrong value for instant i, in the file of
                            the day before, so the real row (later file) wins */
    TXG_CSV_BACKFILL,    /* the meter's rows of day `day` are in readings/zz-backfill-*.csv */
    TXG_CSV_BAD          /* an extra row rejected with reason `reason` (TX_REJECT_*),
                            written after the meter's rows in the file of day `day` */
};

typedef struct {
    uint32_t meter;  /* the meter whose rows it sits with (not the row's id for UNKNOWN_METER) */
    uint8_t kind;    /* TXG_CSV_* */
    uint8_t yi;
    uint8_t reason;  /* TXG_CSV_BAD: TX_REJECT_* */
    uint8_t variant; /* TXG_CSV_BAD: which of the forms of that reason */
    int32_t shift_s; /* TXG_CSV_ALIGNED: seconds after the grid instant, 5..59 */
    int64_t i;       /* the reading's index in year yi (BAD: the instant it names) */
    int64_t day;     /* day index in year yi of the file holding the row (BACKFILL: moved) */
    int64_t wrong;   /* TXG_CSV_CONFLICT: the wrong value, hundredths */
} txg_csvx;

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
    uint8_t fx;                       /* series fault, TXG_FX_* */
    int8_t fx_yi;                     /* its year index, -1 for none */
    uint32_t fx_mult;                 /* MULTIPLIER: new multiplier / old */
    int64_t fx_i, fx_len;             /* see TXG_FX_* */
    int64_t fx_amount;                /* hundredths */
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
    txg_csvx *csvx;               /* sorted by (yi, day, meter) */
    size_t ncsvx;
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
    uint8_t flags;      /* TXG_CF_* */
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
