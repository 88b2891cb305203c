/*
 * txgen.h - deterministic generator of a synthetic city (prefix txg_).
 *
 * Everything it produces is a pure function of the parameters and the seed, independent of
 * call order and thread count: randomness is a counter-based hash of (seed, item, year,
 * slot), and the readings use integer arithmetic only, so they are the same bytes on any
 * machine. (Catalogue figures - annual scales, value added, land area - pass through the C
 * library's exp() before being rounded to 0.01.) An enterprise's attributes depend on its
 * index, not on n_enterprises, except for the roles listed under txg_faults. It makes the
 * inputs of INPUTS.md (enterprises, meters, readings, financials, meter events, deflators)
 * and the truth a test needs to check the engine (per-meter period totals and coverage).
 *
 * The city: enterprises with valid USCCs in Ningbo districts, GB/T 4754-2017 manufacturing
 * classes over many divisions, land area, 规上/规下; meters of several carriers
 * (15-minute cumulative electricity registers with multipliers and register digits, hourly
 * gas, daily water, steam or heat, diesel, 15-minute PV) following daily and weekly load
 * profiles; financials for the report and base years (annual rows, some enterprises with
 * monthly rows only, a few without or with non-positive value added); deflators per
 * division; and, when faults are on, gaps in registers (bridged) and in interval meters
 * (lost coverage), one enterprise with too little data, a register rollover, a meter
 * replacement with its event row, the quality faults of METHOD.md section 8 (spikes,
 * implausible values and jumps, a stuck register, a multiplier change with its event row,
 * a negative jump without an event), and, in the CSV output only, duplicated, conflicting,
 * misaligned, off-grid, late and malformed rows (see txg_faults and txg_write_csv).
 *
 * Thread safety: a txg_city is immutable after txg_city_new; txg_meter_series may be called
 * from many threads at once.
 */
#ifndef TXGEN_H
#define TXGEN_H

#include "records.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seed;
    size_t n_enterprises;    /* 1..999999 (default 200) */
    int report_year;         /* default 2025; at most 2098 */
    int base_year;           /* default 2020; 2000..report_year; equal to report_year for
                                one year only. Consecutive years share the Jan 1 00:00
                                reading (the registers join up). */
    int faults;              /* 1: inject the faults listed under txg_faults (default 1) */
    int n_divisions;         /* 0: spread over the 30 manufacturing divisions the generator
                                knows, Ningbo-weighted; k > 0: only the first k of its list
                                38, 34, 26, 29, 33, 17, 36, 35, 39, 30, 32, 31, 22, 28, 13,
                                14, 15, 18, 19, 20, 21, 23, 24, 25, 27, 37, 40, 41, 42, 43,
                                enterprises dealt round-robin, so that with n >= 4k every
                                division keeps at least 3 rated 规上 members */
    int csv_days;            /* 0: CSV readings of every day; n > 0: of the first n days of
                                each year only (txg_write_csv; the store writer and the truth
                                files are unaffected) */
} txg_params;

/* seed 1, 200 enterprises, 2020 and 2025, faults on, all divisions. */
extern const txg_params TXG_PARAMS_DEFAULT;

typedef struct txg_city txg_city;

/* Builds the city's catalogue, financials and events (not the readings, which are made on
 * demand). Memory: O(enterprises + meters). Time: O(enterprises), plus one walk of a year
 * per register when the two years are consecutive (OpenMP threads). TX_EINVAL for
 * parameters out of range, TX_ENOMEM; *out is NULL on failure. */
int txg_city_new(const txg_params *p, txg_city **out, tx_err *err);
void txg_city_free(txg_city *c);

const txg_params *txg_city_params(const txg_city *c);
const tx_enterprise *txg_enterprises(const txg_city *c, size_t *n);
/* Meters with row = 0 (the store assigns rows). */
const tx_meter *txg_meters(const txg_city *c, size_t *n);
const tx_event *txg_events(const txg_city *c, size_t *n);

/*
 * Readings of meter m on its own grid (interval_minutes) for slots [slot0, slot0 + nslots)
 * (slot k = instant TX_EPOCH_UNIX + k * interval_minutes * 60): register readings or
 * interval values in the meter's unit before the multiplier, exactly as the CSV files hold
 * them (each value is the double nearest to a multiple of 0.01); NaN where the city has no
 * reading (outside the generated years, and at injected gaps). quality may be NULL; else 0
 * everywhere except the few estimated (1) values. Cost O(one year of the meter) per
 * generated year the window touches, whatever nslots. Thread-safe. 0, or TX_EINVAL for a
 * bad meter index or NULL value with nslots > 0.
 */
int txg_meter_series(const txg_city *c, size_t m, int64_t slot0, size_t nslots,
                     double *value, uint8_t *quality);
/* The generated slot range of meter m for a year: [first, last] inclusive. Cumulative
 * meters have readings from local Jan 1 00:00 to Jan 1 00:00 of the next year; interval
 * meters have values labelled after Jan 1 00:00 up to Jan 1 00:00 of the next year. */
void txg_year_slots(const txg_city *c, size_t m, int year, int64_t *first, int64_t *last);

/* Truth of meter m over calendar year `year`, as METHOD.md computes it: consumption in
 * the carrier's canonical unit (kWh, m3, kg, MJ) after multiplier and unit factor, and
 * coverage (valid intervals / expected intervals; for a register an interval is valid when
 * the readings at both ends exist). Computed exactly in hundredths of the meter unit:
 * cumulative = the register's consumption over the year, bridged across gaps, with
 * rollovers, the replacement split and the multiplier change as METHOD.md section 8 says;
 * interval = the sum of the values present. Quality rules of section 8 with the defaults of
 * datasets/tables/run_defaults.csv: a spike reading is dropped (total exact, the two
 * intervals that touch it are invalid, and it leaves a one-reading gap); an implausible
 * value or register jump, and a negative register delta without an event, are excluded
 * (the interval's consumption is lost, the interval is invalid); stuck_intervals counts
 * the valid zero-delta intervals of a register in runs of at least max(3, 24 h / step).
 * gaps counts runs of missing readings or values. TX_ENOTFOUND for a year that was not
 * generated, TX_EINVAL for a bad meter index. Cost O(one year). */
typedef struct {
    double total;
    double coverage;
    uint32_t rollovers, gaps, replacements;
    uint32_t spikes, implausible, stuck_intervals, negatives, multiplier_changes;
} txg_truth;
int txg_meter_truth(const txg_city *c, size_t m, int year, txg_truth *t);

/* Financial rows as written to financials.csv (values rounded to 0.01 as printed; NaN for
 * an empty field). month 0 is the annual row; 1..12 are monthly rows, which for an
 * enterprise with monthly rows only sum exactly (in hundredths) to the annual figure. */
typedef struct {
    size_t enterprise; /* index into txg_enterprises */
    int year;
    int month;         /* 0 annual, 1..12 */
    double value_added, revenue, tax, rd_expense; /* 万元 */
    double employees;
    double pollutant_t;
} txg_financial;
const txg_financial *txg_financials(const txg_city *c, size_t *n);

/* Deflator rows as written to deflators.csv: every division in use, every year from
 * base_year to report_year, base_year = 100.00. */
typedef struct {
    char division[3]; /* 2 digits */
    int year;
    double price_index;
} txg_deflator;
const txg_deflator *txg_deflators(const txg_city *c, size_t *n);

/*
 * The injected faults, so a test can look for each one (empty when faults = 0):
 *   GAP          count readings/values missing from slot on (a cumulative gap is bridged:
 *                totals stay exact, coverage drops; an interval gap loses consumption);
 *   INCOMPLETE   the long gap (> 15 % of the report year) on one enterprise's
 *                electricity meter; also counted as a gap in the truth;
 *   ROLLOVER     slot is the first reading after the register wrapped;
 *   REPLACEMENT  slot is the last reading on the old register (the event lies between
 *                slot and slot + 1; the event row is in txg_events);
 *   DUPLICATE    count reading rows from slot on are written a second time in a later
 *                day's file of readings/ (CSV only);
 *   ESTIMATED    count values from slot on have quality 1;
 *   SPIKE        the register reading at slot is an outlier (far up, or a dip to a tenth
 *                of the reading before) that a single-reading spike rule drops;
 *   IMPLAUSIBLE  the interval ending at slot: an interval value 1000 times too large, or a
 *                register jump of 1000 typical steps after which the register counts on;
 *   STUCK        a 15- or 30-minute electricity register repeats the reading of slot - 1
 *                for the count intervals from slot on (2 or 3 days, not measured);
 *   MULTIPLIER   a multiplier event at the instant of slot (txg_events, new multiplier
 *                twice the old): from slot on the register advances at half the speed;
 *   NEGATIVE     the register drops to a fifth of its value at slot, without an event,
 *                and counts on from there (the interval ending at slot is quarantined);
 *   ALIGNED      CSV only: the row of the reading at slot is stamped 5..59 s late;
 *   OFF_GRID     CSV only: an extra row stamped 7 min 30 s after slot (rejected);
 *   CONFLICT     CSV only: an extra row with a wrong value for slot, in the day file
 *                before the reading's own one (the real row, in the later file, wins);
 *   BACKFILL     CSV only: the count rows of the meter's day from slot on are in
 *                readings/zz-backfill-YYYY-MM-DD.csv instead of the day's file.
 * slot is on the meter's own grid (see txg_meter_series). Malformed rows are listed with
 * their file and line in truth/rejects_expected.csv only (see txg_write_csv).
 */
typedef enum {
    TXG_FAULT_GAP = 0,
    TXG_FAULT_INCOMPLETE,
    TXG_FAULT_ROLLOVER,
    TXG_FAULT_REPLACEMENT,
    TXG_FAULT_DUPLICATE,
    TXG_FAULT_ESTIMATED,
    TXG_FAULT_SPIKE,
    TXG_FAULT_IMPLAUSIBLE,
    TXG_FAULT_STUCK,
    TXG_FAULT_MULTIPLIER,
    TXG_FAULT_NEGATIVE,
    TXG_FAULT_ALIGNED,
    TXG_FAULT_OFF_GRID,
    TXG_FAULT_CONFLICT,
    TXG_FAULT_BACKFILL,
    TXG_FAULT_KINDS /* number of kinds */
} txg_fault_kind;
typedef struct {
    int kind;          /* txg_fault_kind */
    size_t meter;      /* index into txg_meters */
    size_t enterprise; /* index into txg_enterprises */
    int year;
    int64_t slot;
    uint32_t count;
} txg_fault;
const txg_fault *txg_faults(const txg_city *c, size_t *n);
/* "gap", "incomplete", "rollover", "replacement", "duplicate", "estimated", "spike",
 * "implausible", "stuck", "multiplier", "negative", "aligned", "off_grid", "conflict",
 * "backfill"; "unknown" for anything else. */
const char *txg_fault_name(int kind);

/*
 * Writes the dataset directory dir (created if absent, parent must exist): enterprises.csv,
 * meters.csv, financials.csv, deflators.csv, meter_events.csv (header only without
 * events), truth/meter_totals.csv (meter_id,year,total,coverage,unit,rollovers,gaps,
 * replacements,spikes,implausible,stuck_intervals,negatives,multiplier_changes, as
 * txg_meter_truth; unit is the canonical unit; numbers %.17g), truth/faults.csv
 * (kind,meter_id,enterprise_id,year,first_timestamp,count, as txg_faults),
 * truth/rejects_expected.csv (below) and, when with_readings is 1,
 * readings/YYYY-MM-DD.csv: one file per local day from Jan 1 of each year to Jan 1 of the
 * next, holding that day's instants (plus the repeated rows of TXG_FAULT_DUPLICATE);
 * values with exactly two decimals; timestamps about 80 % "2025-03-01T00:15:00+08:00",
 * 15 % "2025-03-01 00:15:00", 5 % "2025-02-28T16:15:00Z". To exercise readers,
 * enterprises.csv starts with a UTF-8 BOM, meters.csv uses CRLF, and some day files use
 * CRLF or the column order timestamp,meter_id,quality,value.
 *
 * With faults on, the files also hold what an ingest must reject or report, none of which
 * changes the truth: extra catalogue rows (enterprises with a bad USCC check character, a
 * division that does not exist or a section letter that does not match it, a bad
 * district; a natural-gas meter in kWh, a meter of an unknown enterprise; an event of an
 * unknown meter, an event "explode"), nothing refers to; and in readings/ the CSV faults
 * of txg_faults (aligned, off-grid, conflicting, back-filled rows) and extra rows of every
 * reading reject reason (unknown meter, bad timestamp, bad numbers, an overflowing value,
 * a negative interval value, a negative register reading, bad quality, an empty value, a
 * short row, a date before 2000). truth/rejects_expected.csv (file,line,reason) lists each
 * such row: file relative to dir ("readings/2025-03-04.csv"), line the physical line (1 is
 * the header), reason the TX_REJECT name, or CONFLICT (at the row that wins) or ALIGNED -
 * what an ingest's rejects report holds. Without readings it lists the catalogue rows only.
 *
 * progress(done, total, arg) is called after each day file when not NULL.
 * TX_EIO (naming the file) when a directory or file cannot be made or written.
 */
int txg_write_csv(const txg_city *c, const char *dir, int with_readings,
                  void (*progress)(size_t done, size_t total, void *arg), void *arg,
                  tx_err *err);

/*
 * Writes the city straight into a meter store (created when absent): catalogue, events and
 * every generated reading, chunk-aligned. The readings are generated in OpenMP threads.
 * Writing a block of a year overwrites the whole chunks it covers (NaN where the city has
 * no reading). progress may be NULL. (txgen_store.c)
 */
int txg_write_store(const txg_city *c, const char *store_path, int zstd_level,
                    void (*progress)(const char *what, uint64_t done, uint64_t total, void *arg),
                    void *arg, tx_err *err);

#endif /* TXGEN_H */
