/*
 * fuzz_events.c - meter_events.csv: the reader, the header with tx_cols_events and
 * tx_input_event on every record.
 *
 * An accepted event has a non-empty meter id that fits, the instant its timestamp field
 * parses to, type replace (with finite old and new readings) or multiplier (with a finite
 * new multiplier > 0), and every number absent (NaN) or finite >= 0.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

static int absent_or_nonnegative(double v) { return isnan(v) || (isfinite(v) && v >= 0); }

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    tx_event e;
    const char *detail = NULL;
    memset(&e, 0xA5, sizeof e);
    const int reason = tx_input_event(row, col, &e, &detail);
    fuzz_check_reason(reason, detail);
    static const int req[] = {0, 1, 2};
    fuzz_check_required(reason, row, col, req, 3);
    if (reason != TX_INPUT_OK)
        return;
    const size_t il = strnlen(e.meter_id, sizeof e.meter_id);
    FUZZ_CHECK(il > 0 && il < TX_METER_ID_CAP, "meter id fits");
    FUZZ_CHECK(fuzz_str_is_field(e.meter_id, row->fields[col[0]]), "meter id is the field's");
    int64_t t = 0;
    const tx_field *ts = &row->fields[col[1]];
    FUZZ_CHECK(tx_parse_timestamp(ts->ptr, ts->len, &t) == TX_OK && t == e.t,
               "the instant is the timestamp field's");
    FUZZ_CHECK(e.type == TX_EVENT_REPLACE || e.type == TX_EVENT_MULTIPLIER, "event type");
    FUZZ_CHECK(fuzz_str_is_field(e.type == TX_EVENT_REPLACE ? "replace" : "multiplier",
                                 row->fields[col[2]]), "type is the field's");
    FUZZ_CHECK(absent_or_nonnegative(e.old_reading) && absent_or_nonnegative(e.new_reading) &&
                   absent_or_nonnegative(e.new_multiplier), "numbers absent or >= 0");
    if (e.type == TX_EVENT_REPLACE)
        FUZZ_CHECK(isfinite(e.old_reading) && isfinite(e.new_reading), "replace readings");
    else
        FUZZ_CHECK(isfinite(e.new_multiplier) && e.new_multiplier > 0, "new multiplier > 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_events, one_row, NULL);
    return 0;
}
