/*
 * fuzz_meters.c - meters.csv: the reader, the header with tx_cols_meters and
 * tx_input_meter on every record.
 *
 * An accepted meter has a non-empty id that fits, its owner's valid USCC, a known carrier
 * and a unit that fits it (INPUTS.md), kind cumulative or interval, an interval of 15, 30,
 * 60 or 1440 minutes, a finite multiplier > 0, register digits 0 (absent) or 1..15, a
 * capacity absent or finite > 0, and row 0; each field equals the row's text.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    tx_meter m;
    const char *detail = NULL;
    memset(&m, 0xA5, sizeof m);
    const int reason = tx_input_meter(row, col, &m, &detail);
    fuzz_check_reason(reason, detail);
    static const int req[] = {0, 1, 2, 3, 4, 7};
    fuzz_check_required(reason, row, col, req, 6);
    if (reason != TX_INPUT_OK)
        return;
    const size_t il = strnlen(m.id, sizeof m.id);
    FUZZ_CHECK(il > 0 && il < TX_METER_ID_CAP, "meter id fits");
    FUZZ_CHECK(fuzz_str_is_field(m.id, row->fields[col[0]]), "meter id is the field's");
    FUZZ_CHECK(strnlen(m.enterprise_id, sizeof m.enterprise_id) == TX_USCC_LEN &&
                   tx_uscc_valid(m.enterprise_id, TX_USCC_LEN), "owner's USCC valid");
    FUZZ_CHECK(fuzz_str_is_field(m.enterprise_id, row->fields[col[1]]), "owner is the field's");
    FUZZ_CHECK(m.carrier < TX_CARRIER_COUNT && m.unit < TX_UNIT_COUNT, "carrier and unit known");
    FUZZ_CHECK(tx_unit_fits_carrier(m.unit, m.carrier), "unit fits the carrier");
    FUZZ_CHECK(fuzz_str_is_field(tx_carrier_name(m.carrier), row->fields[col[2]]),
               "carrier is the field's");
    FUZZ_CHECK(fuzz_str_is_field(tx_unit_name(m.unit), row->fields[col[3]]), "unit is the field's");
    FUZZ_CHECK(fuzz_str_is_field(m.kind == TX_KIND_CUMULATIVE ? "cumulative" : "interval",
                                 row->fields[col[4]]) &&
                   m.kind <= TX_KIND_INTERVAL, "kind is the field's");
    FUZZ_CHECK(m.interval_minutes == 15 || m.interval_minutes == 30 || m.interval_minutes == 60 ||
                   m.interval_minutes == 1440, "interval 15, 30, 60 or 1440");
    FUZZ_CHECK(isfinite(m.multiplier) && m.multiplier > 0, "multiplier > 0");
    FUZZ_CHECK(m.register_digits <= 15, "register digits");
    FUZZ_CHECK(isnan(m.capacity) || (isfinite(m.capacity) && m.capacity > 0), "capacity");
    FUZZ_CHECK(m.row == 0, "row not assigned");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_meters, one_row, NULL);
    return 0;
}
