/* inputs.c - row parsers of the INPUTS.md files: every check a row can make by itself. */
#include "inputs.h"

#include <math.h>
#include <string.h>

/* Required columns are listed first in each table; the rest are optional. */
static const char *const ent_names[] = {"enterprise_id", "name",         "industry_code",
                                        "district_code", "land_area_mu", "above_scale",
                                        "cluster"};
static const uint8_t ent_req[] = {1, 1, 1, 1, 0, 0, 0};
const tx_input_columns tx_cols_enterprises = {"enterprises.csv", ent_names, ent_req, 7};

static const char *const met_names[] = {"meter_id",        "enterprise_id", "carrier",
                                        "unit",            "kind",          "multiplier",
                                        "register_digits", "interval_minutes", "capacity"};
static const uint8_t met_req[] = {1, 1, 1, 1, 1, 0, 0, 1, 0};
const tx_input_columns tx_cols_meters = {"meters.csv", met_names, met_req, 9};

static const char *const ev_names[] = {"meter_id",    "timestamp",   "event",
                                       "old_reading", "new_reading", "new_multiplier"};
static const uint8_t ev_req[] = {1, 1, 1, 0, 0, 0};
const tx_input_columns tx_cols_events = {"meter_events.csv", ev_names, ev_req, 6};

static const char *const rd_names[] = {"meter_id", "timestamp", "value", "quality"};
static const uint8_t rd_req[] = {1, 1, 1, 0};
const tx_input_columns tx_cols_readings = {"readings/*.csv", rd_names, rd_req, 4};

static const char *const fin_names[] = {"enterprise_id", "period",     "value_added",
                                        "revenue",       "tax",        "rd_expense",
                                        "employees",     "pollutant_t"};
static const uint8_t fin_req[] = {1, 1, 1, 0, 0, 0, 0, 0};
const tx_input_columns tx_cols_financials = {"financials.csv", fin_names, fin_req, 8};

static const char *const def_names[] = {"industry_division", "year", "price_index"};
static const uint8_t def_req[] = {1, 1, 1};
const tx_input_columns tx_cols_deflators = {"deflators.csv", def_names, def_req, 3};

int tx_input_header(tx_csv *c, const tx_input_columns *cols, int *col, size_t *nunknown,
                    char *unknown, size_t cap, tx_err *err)
{
    return tx_csv_header(c, cols->names, cols->required, cols->n, col, nunknown, unknown, cap,
                         err);
}

/* A field is present when its column exists in the row and holds more than blanks. */
static int present(const tx_csv_row *row, int col)
{
    if (col < 0 || (size_t)col >= row->nfields)
        return 0;
    const tx_field *f = &row->fields[col];
    for (size_t i = 0; i < f->len; i++)
        if (f->ptr[i] != ' ' && f->ptr[i] != '\t')
            return 1;
    return 0;
}

static tx_field trimmed(const tx_csv_row *row, int col)
{
    tx_field f = row->fields[col];
    while (f.len && (f.ptr[0] == ' ' || f.ptr[0] == '\t'))
        f.ptr++, f.len--;
    while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\t'))
        f.len--;
    return f;
}

/* The listed required columns are present, else the reason: a row that ends before a
 * required column has too few fields; a blank one is missing. Optional columns beyond the
 * row's end are simply absent. */
static int required_present(const tx_csv_row *row, const int *col, const int *which, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int c = col[which[k]];
        if (c < 0 || (size_t)c >= row->nfields)
            return TX_REJECT_TOO_FEW_FIELDS;
        if (!present(row, c))
            return TX_REJECT_MISSING_FIELD;
    }
    return TX_INPUT_OK;
}

static const int first3[] = {0, 1, 2}, first4[] = {0, 1, 2, 3};

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Optional non-negative number: NaN when absent; reason when malformed. */
static int optional_number(const tx_csv_row *row, int col, double *out, int allow_negative)
{
    *out = NAN;
    if (!present(row, col))
        return TX_INPUT_OK;
    const tx_field *f = &row->fields[col];
    if (tx_parse_double(f->ptr, f->len, out))
        return TX_REJECT_BAD_NUMBER;
    if (!isfinite(*out))
        return TX_REJECT_NOT_FINITE;
    if (!allow_negative && *out < 0)
        return TX_REJECT_BAD_VALUE;
    return TX_INPUT_OK;
}

int tx_input_enterprise(const tx_csv_row *row, const int *col, const tx_tables *tables,
                        tx_enterprise *e, const char **detail)
{
    memset(e, 0, sizeof *e);
    e->land_area_mu = NAN;
    e->above_scale = 1;
    *detail = NULL;
    int r = required_present(row, col, first4, 4);
    if (r != TX_INPUT_OK)
        return r;
    tx_field id = trimmed(row, col[0]), ind = trimmed(row, col[2]), dist = trimmed(row, col[3]);
    if (!tx_uscc_valid(id.ptr, id.len))
        return TX_REJECT_BAD_USCC;
    if (tx_industry_normalise(ind.ptr, ind.len, e->industry))
        return TX_REJECT_BAD_INDUSTRY;
    if (tables) {
        int div = (e->industry[0] - '0') * 10 + (e->industry[1] - '0');
        char section = tables->division_section[div];
        if (!section) {
            *detail = "no such GB/T 4754-2017 division";
            return TX_REJECT_BAD_INDUSTRY;
        }
        if (ind.len == 5 && ind.ptr[0] != section) {
            *detail = "section letter does not match the division";
            return TX_REJECT_BAD_INDUSTRY;
        }
    }
    if (tx_district_normalise(dist.ptr, dist.len, e->district))
        return TX_REJECT_BAD_DISTRICT;
    if (!tx_field_copy(&row->fields[col[1]], e->name, sizeof e->name)) {
        *detail = "name longer than 159 bytes";
        return TX_REJECT_TOO_LONG;
    }
    if (present(row, col[6]) && !tx_field_copy(&row->fields[col[6]], e->cluster, sizeof e->cluster)) {
        *detail = "cluster longer than 47 bytes";
        return TX_REJECT_TOO_LONG;
    }
    tx_field_copy(&id, e->id, sizeof e->id);
    if ((r = optional_number(row, col[4], &e->land_area_mu, 0)) != TX_INPUT_OK) {
        *detail = "land_area_mu must be a number >= 0";
        return r;
    }
    if (present(row, col[5])) {
        tx_field f = trimmed(row, col[5]);
        if (tx_field_is(&f, "0"))
            e->above_scale = 0;
        else if (!tx_field_is(&f, "1")) {
            *detail = "above_scale must be 0 or 1";
            return TX_REJECT_BAD_VALUE;
        }
    }
    return TX_INPUT_OK;
}

int tx_input_meter(const tx_csv_row *row, const int *col, tx_meter *m, const char **detail)
{
    memset(m, 0, sizeof *m);
    m->multiplier = 1.0;
    m->capacity = NAN;
    *detail = NULL;
    static const int req[] = {0, 1, 2, 3, 4, 7};
    int r = required_present(row, col, req, 6);
    if (r != TX_INPUT_OK)
        return r;
    tx_field id = trimmed(row, col[0]), eid = trimmed(row, col[1]), car = trimmed(row, col[2]),
             unit = trimmed(row, col[3]), kind = trimmed(row, col[4]), ivf = trimmed(row, col[7]);
    if (!tx_field_copy(&id, m->id, sizeof m->id)) {
        *detail = "meter_id longer than 47 bytes";
        return TX_REJECT_TOO_LONG;
    }
    if (!tx_uscc_valid(eid.ptr, eid.len))
        return TX_REJECT_BAD_USCC;
    tx_field_copy(&eid, m->enterprise_id, sizeof m->enterprise_id);
    int c = tx_carrier_parse(car.ptr, car.len), u = tx_unit_parse(unit.ptr, unit.len);
    if (c < 0)
        return TX_REJECT_BAD_CARRIER;
    if (u < 0 || !tx_unit_fits_carrier(u, c))
        return TX_REJECT_BAD_UNIT;
    if (!tx_field_is(&kind, "cumulative") && !tx_field_is(&kind, "interval"))
        return TX_REJECT_BAD_KIND;
    int64_t iv = 0;
    if (tx_parse_int64(ivf.ptr, ivf.len, &iv) || (iv != 15 && iv != 30 && iv != 60 && iv != 1440))
        return TX_REJECT_BAD_INTERVAL;
    m->carrier = (uint8_t)c;
    m->unit = (uint8_t)u;
    m->kind = tx_field_is(&kind, "cumulative") ? TX_KIND_CUMULATIVE : TX_KIND_INTERVAL;
    m->interval_minutes = (uint16_t)iv;
    if (present(row, col[5])) {
        const tx_field *f = &row->fields[col[5]];
        if (tx_parse_double(f->ptr, f->len, &m->multiplier) || !isfinite(m->multiplier) ||
            m->multiplier <= 0)
            return TX_REJECT_BAD_MULTIPLIER;
    }
    if (present(row, col[6])) {
        const tx_field *f = &row->fields[col[6]];
        int64_t d;
        if (tx_parse_int64(f->ptr, f->len, &d) || d < 1 || d > 15) {
            *detail = "register_digits must be 1..15";
            return TX_REJECT_BAD_VALUE;
        }
        m->register_digits = (uint8_t)d;
    }
    if (present(row, col[8])) {
        const tx_field *f = &row->fields[col[8]];
        if (tx_parse_double(f->ptr, f->len, &m->capacity) || !isfinite(m->capacity) ||
            m->capacity <= 0) {
            *detail = "capacity must be a number > 0";
            return TX_REJECT_BAD_VALUE;
        }
    }
    return TX_INPUT_OK;
}

int tx_input_event(const tx_csv_row *row, const int *col, tx_event *e, const char **detail)
{
    memset(e, 0, sizeof *e);
    e->old_reading = e->new_reading = e->new_multiplier = NAN;
    *detail = NULL;
    int r = required_present(row, col, first3, 3);
    if (r != TX_INPUT_OK)
        return r;
    tx_field id = trimmed(row, col[0]), kind = trimmed(row, col[2]);
    const tx_field *ts = &row->fields[col[1]];
    if (!tx_field_copy(&id, e->meter_id, sizeof e->meter_id)) {
        *detail = "meter_id longer than 47 bytes";
        return TX_REJECT_TOO_LONG;
    }
    if (tx_parse_timestamp(ts->ptr, ts->len, &e->t))
        return TX_REJECT_BAD_TIMESTAMP;
    if (tx_field_is(&kind, "replace"))
        e->type = TX_EVENT_REPLACE;
    else if (tx_field_is(&kind, "multiplier"))
        e->type = TX_EVENT_MULTIPLIER;
    else {
        *detail = "event must be replace or multiplier";
        return TX_REJECT_BAD_EVENT;
    }
    double *dst[] = {&e->old_reading, &e->new_reading, &e->new_multiplier};
    for (int k = 0; k < 3; k++)
        if ((r = optional_number(row, col[3 + k], dst[k], 0)) != TX_INPUT_OK)
            return r;
    if (e->type == TX_EVENT_REPLACE && (!isfinite(e->old_reading) || !isfinite(e->new_reading))) {
        *detail = "replace needs old_reading and new_reading";
        return TX_REJECT_BAD_EVENT;
    }
    if (e->type == TX_EVENT_MULTIPLIER && !(e->new_multiplier > 0)) {
        *detail = "multiplier needs new_multiplier > 0";
        return TX_REJECT_BAD_EVENT;
    }
    return TX_INPUT_OK;
}

int tx_input_reading(const tx_csv_row *row, const int *col, tx_reading_row *r)
{
    int rc = required_present(row, col, first3, 3);
    if (rc != TX_INPUT_OK)
        return rc;
    r->meter_id = trimmed(row, col[0]);
    const tx_field *ts = &row->fields[col[1]], *vf = &row->fields[col[2]];
    if (tx_parse_timestamp(ts->ptr, ts->len, &r->t))
        return TX_REJECT_BAD_TIMESTAMP;
    if (r->t < TX_EPOCH_UNIX)
        return TX_REJECT_BEFORE_EPOCH;
    if (tx_parse_double(vf->ptr, vf->len, &r->value))
        return TX_REJECT_BAD_NUMBER;
    if (!isfinite(r->value))
        return TX_REJECT_NOT_FINITE;
    r->quality = 0;
    if (present(row, col[3])) {
        tx_field qf = trimmed(row, col[3]);
        if (qf.len != 1 || qf.ptr[0] < '0' || qf.ptr[0] > '2')
            return TX_REJECT_BAD_QUALITY;
        r->quality = (uint8_t)(qf.ptr[0] - '0');
    }
    return TX_INPUT_OK;
}

int tx_input_financial(const tx_csv_row *row, const int *col, tx_financial_row *f,
                       const char **detail)
{
    memset(f, 0, sizeof *f);
    *detail = NULL;
    int r = required_present(row, col, first3, 3);
    if (r != TX_INPUT_OK)
        return r;
    tx_field id = trimmed(row, col[0]), per = trimmed(row, col[1]);
    if (!tx_uscc_valid(id.ptr, id.len))
        return TX_REJECT_BAD_USCC;
    tx_field_copy(&id, f->enterprise_id, sizeof f->enterprise_id);
    /* Digits only: tx_parse_int64 alone would take "2025- 3" or "2025-+3" for March. */
    int64_t y = -1, m = 0;
    if ((per.len == 4 || (per.len == 7 && per.ptr[4] == '-' && all_digits(per.ptr + 5, 2))) &&
        all_digits(per.ptr, 4)) {
        tx_parse_int64(per.ptr, 4, &y);
        if (per.len == 7 && (tx_parse_int64(per.ptr + 5, 2, &m) || m < 1 || m > 12))
            y = -1;
    }
    if (y < 1900 || y > 2200) {
        *detail = "period must be YYYY or YYYY-MM";
        return TX_REJECT_BAD_VALUE;
    }
    f->year = (int)y;
    f->month = (int)m;
    if ((r = optional_number(row, col[2], &f->value_added, 1)) != TX_INPUT_OK)
        return r;
    double *dst[] = {&f->revenue, &f->tax, &f->rd_expense, &f->employees, &f->pollutant_t};
    for (int k = 0; k < 5; k++) {
        /* Revenue and tax may be negative in accounts (refunds); the others may not. */
        if ((r = optional_number(row, col[3 + k], dst[k], k < 2)) != TX_INPUT_OK) {
            *detail = fin_names[3 + k];
            return r;
        }
    }
    return TX_INPUT_OK;
}

int tx_input_deflator(const tx_csv_row *row, const int *col, tx_deflator_row *d,
                      const char **detail)
{
    memset(d, 0, sizeof *d);
    *detail = NULL;
    int r = required_present(row, col, first3, 3);
    if (r != TX_INPUT_OK)
        return r;
    tx_field dv = trimmed(row, col[0]), yr = trimmed(row, col[1]);
    int64_t div, year;
    if (tx_parse_int64(dv.ptr, dv.len, &div) || div < 1 || div > 99) {
        *detail = "industry_division must be a 2-digit division 01..99";
        return TX_REJECT_BAD_INDUSTRY;
    }
    if (tx_parse_int64(yr.ptr, yr.len, &year) || year < 1900 || year > 2200) {
        *detail = "year must be 1900..2200";
        return TX_REJECT_BAD_VALUE;
    }
    if ((r = optional_number(row, col[2], &d->price_index, 0)) != TX_INPUT_OK)
        return r;
    if (!(d->price_index > 0)) {
        *detail = "price_index must be > 0";
        return TX_REJECT_BAD_VALUE;
    }
    d->division = (int)div;
    d->year = (int)year;
    return TX_INPUT_OK;
}
