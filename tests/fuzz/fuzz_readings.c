/*
 * fuzz_readings.c - readings/<day>.csv: the reader, the header with tx_cols_readings and
 * tx_input_reading on every record.
 *
 * An accepted reading has a finite value, an instant at or after TX_EPOCH_UNIX that its
 * timestamp field parses to (and that formats and parses back), a quality 0..2 and a
 * non-empty trimmed meter id viewing the row's own field. A rejected one names a reason
 * whose cause the row shows.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    tx_reading_row r;
    memset(&r, 0xA5, sizeof r);
    const int reason = tx_input_reading(row, col, &r);
    fuzz_check_reason(reason, NULL);
    static const int req[] = {0, 1, 2};
    fuzz_check_required(reason, row, col, req, 3);
    if (reason != TX_INPUT_OK)
        return;
    const tx_field *id = &row->fields[col[0]], *ts = &row->fields[col[1]];
    FUZZ_CHECK(r.meter_id.len > 0, "meter id not empty");
    FUZZ_CHECK(r.meter_id.ptr >= id->ptr && r.meter_id.ptr + r.meter_id.len <= id->ptr + id->len,
               "meter id views its field");
    const tx_field t = fuzz_trim(r.meter_id);
    FUZZ_CHECK(t.ptr == r.meter_id.ptr && t.len == r.meter_id.len, "meter id trimmed");
    FUZZ_CHECK(isfinite(r.value), "value finite");
    FUZZ_CHECK(r.t >= TX_EPOCH_UNIX, "instant at or after the store's epoch");
    FUZZ_CHECK(r.quality <= 2, "quality 0..2");
    int64_t again = 0;
    FUZZ_CHECK(tx_parse_timestamp(ts->ptr, ts->len, &again) == TX_OK && again == r.t,
               "the instant is the timestamp field's");
    if (r.t <= tx_local_to_unix(9999, 12, 31, 23, 59, 59))
        fuzz_check_timestamp_roundtrip(r.t);
    double v = 0;
    FUZZ_CHECK(tx_parse_double(row->fields[col[2]].ptr, row->fields[col[2]].len, &v) == TX_OK &&
                   v == r.value, "the value is the value field's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_readings, one_row, NULL);
    return 0;
}
