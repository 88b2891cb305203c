/*
 * tanxiao.h - public interface of the tanxiao engine (prefix tx_).
 *
 * The engine ingests meter CSV files into an HDF5 meter store, computes per-meter period
 * totals, per-enterprise energy (tce), CO2, water, carbon intensity, level and grade
 * (碳效码), reductions against a base period at comparable prices, and aggregates by
 * industry, district and city, and writes a zstd-compressed HDF5 results file.
 *
 * Conventions
 *   - Every function that can fail returns 0 (TX_OK) or a negative tx_status and, when the
 *     caller passes a tx_err, fills it with a one-line message naming file, line and reason.
 *   - Results go through out-parameters. Functions named _new/_free allocate; every _free
 *     accepts NULL.
 *   - Times are Unix seconds (int64). Local time is Asia/Shanghai, UTC+8, no DST.
 *   - Money is in 万元 (10^4 CNY), energy in tce, CO2 in t, water in m3.
 *   - Not thread-safe unless a function says so: libhdf5 is serial, and so is everything
 *     that touches a store or a results file.
 */
#ifndef TANXIAO_H
#define TANXIAO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TX_VERSION "0.1.0"

/* ---- status codes: one table gives the enum and the messages (libuv's UV_ERRNO_MAP) --- */
#define TX_STATUS_MAP(X)                                                                   \
    X(OK, 0, "success")                                                                    \
    X(ENOMEM, -1, "out of memory")                                                         \
    X(EIO, -2, "input/output error")                                                       \
    X(EPARSE, -3, "malformed input")                                                       \
    X(EINVAL, -4, "invalid argument")                                                      \
    X(EHDF5, -5, "HDF5 library error")                                                     \
    X(EZSTD, -6, "zstd error")                                                             \
    X(ENOTFOUND, -7, "not found")                                                          \
    X(ETABLE, -8, "reference table error")                                                 \
    X(EDEFLATOR, -9, "missing deflator")                                                   \
    X(EEXIST, -10, "already exists")                                                       \
    X(ERANGE, -11, "value out of range")

typedef enum {
#define TX_STATUS_ENUM_(name, code, msg) TX_##name = (code),
    TX_STATUS_MAP(TX_STATUS_ENUM_)
#undef TX_STATUS_ENUM_
} tx_status;

/* Message of a status code; never NULL ("unknown status" for codes not in the table). */
const char *tx_strerror(int status);

/* Error details: the code and a one-line message ("file:line: reason"). */
typedef struct {
    int code;
    char msg[768];
} tx_err;

/* Sets err (when not NULL) and returns code, so callers can `return tx_err_set(...)`. */
int tx_err_set(tx_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: " (used to add file names on the way up). */
int tx_err_prefix(tx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- carriers and units ------------------------------------------------------------- */
/* Order is part of the store format: never reorder, only append. */
#define TX_CARRIER_MAP(X)                                                                  \
    X(ELECTRICITY, "electricity")                                                          \
    X(NATURAL_GAS, "natural_gas")                                                          \
    X(RAW_COAL, "raw_coal")                                                                \
    X(COKE, "coke")                                                                        \
    X(CRUDE_OIL, "crude_oil")                                                              \
    X(FUEL_OIL, "fuel_oil")                                                                \
    X(GASOLINE, "gasoline")                                                                \
    X(KEROSENE, "kerosene")                                                                \
    X(DIESEL, "diesel")                                                                    \
    X(LPG, "lpg")                                                                          \
    X(HEAT, "heat")                                                                        \
    X(STEAM, "steam")                                                                      \
    X(WATER, "water")                                                                      \
    X(PV_GENERATION, "pv_generation")

typedef enum {
#define TX_CARRIER_ENUM_(name, str) TX_CARRIER_##name,
    TX_CARRIER_MAP(TX_CARRIER_ENUM_)
#undef TX_CARRIER_ENUM_
    TX_CARRIER_COUNT
} tx_carrier;

/* Units: each belongs to one canonical unit (kWh, m3, kg, MJ) with an exact SI factor. */
#define TX_UNIT_MAP(X)                                                                     \
    X(KWH, "kWh", TX_UNIT_KWH, 1.0)                                                        \
    X(MWH, "MWh", TX_UNIT_KWH, 1000.0)                                                     \
    X(M3, "m3", TX_UNIT_M3, 1.0)                                                           \
    X(E4M3, "10^4m3", TX_UNIT_M3, 10000.0)                                                 \
    X(KG, "kg", TX_UNIT_KG, 1.0)                                                           \
    X(T, "t", TX_UNIT_KG, 1000.0)                                                          \
    X(MJ, "MJ", TX_UNIT_MJ, 1.0)                                                           \
    X(GJ, "GJ", TX_UNIT_MJ, 1000.0)

typedef enum {
#define TX_UNIT_ENUM_(name, str, canon, factor) TX_UNIT_##name,
    TX_UNIT_MAP(TX_UNIT_ENUM_)
#undef TX_UNIT_ENUM_
    TX_UNIT_COUNT
} tx_unit;

enum { TX_KIND_CUMULATIVE = 0, TX_KIND_INTERVAL = 1 };
enum { TX_EVENT_REPLACE = 0, TX_EVENT_MULTIPLIER = 1 };

/* Name <-> code. _parse return the code or -1 when the name is unknown (exact match). */
const char *tx_carrier_name(int carrier);
int tx_carrier_parse(const char *s, size_t len);
const char *tx_unit_name(int unit);
int tx_unit_parse(const char *s, size_t len);
/* Canonical unit of a unit (TX_UNIT_KWH, _M3, _KG or _MJ) and the factor to it. */
int tx_unit_canonical(int unit);
double tx_unit_to_canonical(int unit);
/* 1 when the unit may be used for the carrier (INPUTS.md meters.csv `unit`), else 0. */
int tx_unit_fits_carrier(int unit, int carrier);
/* Canonical unit of a carrier (kWh for electricity and PV, m3 for gas and water, ...). */
int tx_carrier_canonical_unit(int carrier);

/* ---- identifiers and codes --------------------------------------------------------- */
/* GB 32100-2015 check character for the first 17 characters of a USCC; 0 when one of them
 * is outside the code's character set. */
char tx_uscc_check_char(const char *first17);
/* 1 when s (len bytes) is an 18-character USCC with a correct check character. */
int tx_uscc_valid(const char *s, size_t len);
/* Normalises a GB/T 4754 class ("C2614" or "2614") to 4 digits in out[5]; 0 or TX_EPARSE. */
int tx_industry_normalise(const char *s, size_t len, char out[5]);
/* Checks a 6-digit administrative division code and copies it to out[7]; 0 or TX_EPARSE. */
int tx_district_normalise(const char *s, size_t len, char out[7]);

/* ---- time --------------------------------------------------------------------------- */
/* The store's time origin: 2000-01-01T00:00:00+08:00. Slot k of a grid with step s minutes
 * is the instant TX_EPOCH + k*s*60; an interval value stamped there covers (t - s, t]. */
#define TX_EPOCH_UNIX INT64_C(946656000)
#define TX_LOCAL_OFFSET_S 28800

/* Unix seconds of a local (UTC+8) civil time; month 1..12. */
int64_t tx_local_to_unix(int year, int month, int day, int hour, int minute, int second);
/* Local civil time of a Unix instant. */
void tx_unix_to_local(int64_t t, int *year, int *month, int *day, int *hour, int *minute,
                      int *second);

/* A reporting period of whole months: local (start, end]. It may cross a year end
 * (rolling 12 months, "2024-10..2025-09") but spans at most 12 months. */
typedef struct {
    int year;        /* calendar year of the first month */
    int month_first; /* 1..12 */
    int year_last;   /* calendar year of the last month (year or year + 1) */
    int month_last;  /* 1..12 */
    int nmonths;     /* 1..12 */
    int64_t start;   /* Unix seconds, exclusive */
    int64_t end;     /* Unix seconds, inclusive */
} tx_period;

/* Parses "2025" (a calendar year), "2025-03" (one month) or "2024-10..2025-09" (a range of
 * 1 to 12 months, possibly across a year end: year to date, rolling 12 months) into p.
 * 0, TX_EPARSE (err names the text) or TX_EINVAL (s or p NULL). Thread-safe. */
int tx_period_parse(const char *s, tx_period *p, tx_err *err);
/* "2025" (a whole calendar year) or "2025-01..2025-09" into out (at least 24 bytes;
 * truncated to cap). Output parses back to the same period. */
void tx_period_format(const tx_period *p, char *out, size_t cap);
/* Month k (0-based) of the period: its calendar year and month. */
void tx_period_month(const tx_period *p, int k, int *year, int *month);


/* ---- commands ------------------------------------------------------------------------ */
/* Progress callback: done of total units of `what`; called from the calling thread. */
typedef void (*tx_progress_fn)(const char *what, uint64_t done, uint64_t total, void *arg);

/* Reasons a row is rejected at ingest (INPUTS.md "Bad input"). */
#define TX_REJECT_MAP(X)                                                                   \
    X(MISSING_FIELD, "required field empty or missing")                                    \
    X(BAD_NUMBER, "not a number")                                                          \
    X(NOT_FINITE, "value not finite")                                                      \
    X(BAD_TIMESTAMP, "bad timestamp")                                                      \
    X(OFF_GRID, "timestamp not on the meter's interval grid")                              \
    X(BEFORE_EPOCH, "timestamp before 2000-01-01")                                         \
    X(UNKNOWN_METER, "unknown meter")                                                      \
    X(UNKNOWN_ENTERPRISE, "unknown enterprise")                                            \
    X(BAD_USCC, "bad unified social credit code")                                          \
    X(BAD_INDUSTRY, "bad industry code")                                                   \
    X(BAD_DISTRICT, "bad district code")                                                   \
    X(BAD_CARRIER, "unknown carrier")                                                      \
    X(BAD_UNIT, "unit does not fit the carrier")                                           \
    X(BAD_KIND, "kind must be cumulative or interval")                                     \
    X(BAD_INTERVAL, "interval_minutes must be 15, 30, 60 or 1440")                         \
    X(BAD_MULTIPLIER, "multiplier must be > 0")                                            \
    X(BAD_VALUE, "value out of range")                                                     \
    X(NEGATIVE_INTERVAL, "negative interval consumption")                                  \
    X(BAD_QUALITY, "quality must be 0, 1 or 2")                                            \
    X(BAD_EVENT, "bad meter event")                                                        \
    X(DUPLICATE_ID, "duplicate id in the file")                                            \
    X(TOO_LONG, "text too long")                                                           \
    X(TOO_FEW_FIELDS, "too few fields")                                                    \
    X(UNREADABLE_FILE, "file cannot be read (header, encoding or truncation): skipped whole")

typedef enum {
#define TX_REJECT_ENUM_(name, msg) TX_REJECT_##name,
    TX_REJECT_MAP(TX_REJECT_ENUM_)
#undef TX_REJECT_ENUM_
    TX_REJECT_COUNT
} tx_reject_reason;
const char *tx_reject_message(int reason);
const char *tx_reject_name(int reason);

typedef struct {
    const char *dataset_dir;
    const char *store_path;
    const char *tables_dir; /* NULL: the built-in default (industry divisions) */
    int zstd_level;
    tx_progress_fn progress; /* may be NULL */
    void *progress_arg;
} tx_ingest_params;
extern const tx_ingest_params TX_INGEST_PARAMS_DEFAULT;

typedef struct {
    uint64_t files;           /* reading files read */
    uint64_t files_failed;    /* reading files that could not be read: skipped whole */
    char first_failure[768];  /* the first such file's error */
    uint64_t rows;            /* reading rows seen */
    uint64_t stored;          /* readings newly stored */
    uint64_t duplicates;      /* identical readings dropped */
    uint64_t conflicts;       /* different value for a stored instant: later kept, reported */
    uint64_t aligned;         /* timestamps within the tolerance of the grid, aligned, reported */
    uint64_t rejected;        /* rows of all files rejected */
    uint64_t reasons[TX_REJECT_COUNT];
    uint64_t enterprises_new, enterprises_changed;
    uint64_t meters_new, meters_changed;
    uint64_t events_new;
    uint64_t bytes;           /* CSV bytes read */
    char rejects_path[1024];  /* the rejects report (empty when nothing was rejected) */
    /* Wall seconds of each phase: opening the store (and its recovery), the catalogue,
     * reading and parsing the readings files, merging them into the store, the commit. */
    double seconds_open, seconds_catalogue, seconds_read, seconds_merge, seconds_commit;
} tx_ingest_summary;

/* Ingests a dataset directory into the store (created when absent). Idempotent. */
int tx_ingest(const tx_ingest_params *p, tx_ingest_summary *s, tx_err *err);

typedef struct {
    const char *store_path;
    const char *financials_dir; /* holds financials.csv and, optionally, deflators.csv */
    const char *output_path;
    const char *tables_dir;     /* NULL: the built-in default */
    const char *period;         /* "2025" or "2025-01..2025-09" */
    const char *baseline;       /* NULL: no reductions */
    const char *grid_series;    /* default "MEE_NBS" */
    const char *grid_geography; /* default "Zhejiang" */
    int pv_policy;              /* TX_PV_GRID_ONLY (0) or TX_PV_SUBTRACT (1) */
    int electricity_basis;      /* 0 当量值 (calorific equivalent), 1 等价值 (equal value) */
    int industry_level;         /* benchmark cells of 2 (default), 3 or 4 digits */
    int below_scale;            /* 0: 规下 graded against the 规上 benchmark; 1: not graded */
    const char *mujun_profile;  /* 亩均 scoring profile id (NULL: huangyan_2022) */
    int current_prices;         /* 1: compute reductions at current prices when a deflator
                                   is missing (marked in the results); 0: refuse */
    double coverage_min;        /* NaN: from run_defaults.csv */
    int min_members;            /* 0: from run_defaults.csv */
    int threads;                /* 0: OpenMP default */
    int zstd_level;
    int floor_only;             /* benchmark: read and decode every chunk the run needs
                                   (same threads, same pipeline), compute and write nothing;
                                   the summary has readings = values decoded, bytes_read */
    const char *command_line;   /* recorded in the results */
    tx_progress_fn progress;
    void *progress_arg;
} tx_run_params;
extern const tx_run_params TX_RUN_PARAMS_DEFAULT;

typedef struct {
    uint64_t enterprises, meters, readings;
    uint64_t status[4]; /* OK, INCOMPLETE, NOT_RATEABLE, NO_BENCHMARK */
    uint64_t grade[6];  /* index 1..5 */
    uint64_t level[4];  /* index 1..3 */
    double energy_tce, co2_t, water_m3, value_added;
    double energy_intensity, carbon_intensity;               /* city, rated enterprises */
    double energy_change_pct, co2_change_pct, water_change_pct; /* city reductions */
    int grid_year_used, base_grid_year_used;
    uint64_t values_read;  /* series cells decoded (readings and empty slots) */
    uint64_t bytes_read;   /* compressed chunk bytes read from the store */
} tx_run_summary;

/* Runs the computation and writes the results file (complete or absent). */
int tx_run(const tx_run_params *p, tx_run_summary *s, tx_err *err);

#ifdef __cplusplus
}
#endif
#endif /* TANXIAO_H */
