/*
 * inputs.h - row parsers of the INPUTS.md files (prefix tx_input_). Internal to the engine.
 *
 * Each parser turns one CSV row (with the column map its header produced) into a record, or
 * names the reason the row is rejected (a TX_REJECT_* code and, sometimes, a detail text).
 * They check everything a row can tell by itself; checks that need the store (unknown
 * enterprise, unknown meter, the meter's grid) are the caller's. They do not allocate and
 * are thread-safe. Ingest, the run and the fuzz targets share them.
 */
#ifndef TX_INPUTS_H
#define TX_INPUTS_H

#include "csv.h"
#include "records.h"
#include "tables.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

/* The columns of one input file: names in the order of the col[] map, which are required. */
typedef struct {
    const char *file;        /* e.g. "meters.csv" */
    const char *const *names;
    const uint8_t *required;
    size_t n;
} tx_input_columns;

extern const tx_input_columns tx_cols_enterprises; /* enterprise_id, name, industry_code,
                                                      district_code, land_area_mu,
                                                      above_scale, cluster */
extern const tx_input_columns tx_cols_meters;      /* meter_id, enterprise_id, carrier, unit,
                                                      kind, multiplier, register_digits,
                                                      interval_minutes, capacity */
extern const tx_input_columns tx_cols_events;      /* meter_id, timestamp, event, old_reading,
                                                      new_reading, new_multiplier */
extern const tx_input_columns tx_cols_readings;    /* meter_id, timestamp, value, quality */
extern const tx_input_columns tx_cols_financials;  /* enterprise_id, period, value_added,
                                                      revenue, tax, rd_expense, employees,
                                                      pollutant_t */
extern const tx_input_columns tx_cols_deflators;   /* industry_division, year, price_index */

/* Reads the header of c for the file's columns into col (at least 10 entries). */
int tx_input_header(tx_csv *c, const tx_input_columns *cols, int *col, size_t *nunknown,
                    char *unknown, size_t cap, tx_err *err);

/* Return value of the row parsers: TX_INPUT_OK, or a TX_REJECT_* reason (>= 0). */
#define TX_INPUT_OK (-1)

/* tables may be NULL: then industry codes are checked for form only (4 digits, optional
 * section letter); with tables the division must exist and the letter match it. */
int tx_input_enterprise(const tx_csv_row *row, const int *col, const tx_tables *tables,
                        tx_enterprise *e, const char **detail);
/* Every field but the owner's existence; m->row is 0. */
int tx_input_meter(const tx_csv_row *row, const int *col, tx_meter *m, const char **detail);
int tx_input_event(const tx_csv_row *row, const int *col, tx_event *e, const char **detail);

/* A reading as the file says it: the meter id as a trimmed view into the row. */
typedef struct {
    tx_field meter_id;
    int64_t t;
    double value;
    uint8_t quality;
} tx_reading_row;
int tx_input_reading(const tx_csv_row *row, const int *col, tx_reading_row *r);

typedef struct {
    char enterprise_id[TX_USCC_LEN + 1];
    int year;
    int month;          /* 0 for an annual row */
    double value_added; /* may be negative */
    double revenue, tax, rd_expense, employees, pollutant_t; /* NaN when absent */
} tx_financial_row;
int tx_input_financial(const tx_csv_row *row, const int *col, tx_financial_row *f,
                       const char **detail);

typedef struct {
    int division; /* 1..99 */
    int year;
    double price_index; /* > 0 */
} tx_deflator_row;
int tx_input_deflator(const tx_csv_row *row, const int *col, tx_deflator_row *d,
                      const char **detail);

#endif /* TX_INPUTS_H */
