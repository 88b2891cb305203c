/*
 * fuzz_deflators.c - deflators.csv: the reader, the header with tx_cols_deflators and
 * tx_input_deflator on every record.
 *
 * An accepted row has a division 1..99 and a year 1900..2200 that are the integers its
 * fields hold, and a finite price index > 0 that is its field's number.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    tx_deflator_row d;
    const char *detail = NULL;
    memset(&d, 0xA5, sizeof d);
    const int reason = tx_input_deflator(row, col, &d, &detail);
    fuzz_check_reason(reason, detail);
    static const int req[] = {0, 1, 2};
    fuzz_check_required(reason, row, col, req, 3);
    if (reason != TX_INPUT_OK)
        return;
    FUZZ_CHECK(d.division >= 1 && d.division <= 99, "division 1..99");
    FUZZ_CHECK(d.year >= 1900 && d.year <= 2200, "year 1900..2200");
    FUZZ_CHECK(isfinite(d.price_index) && d.price_index > 0, "price index > 0");
    int64_t div = 0, year = 0;
    double idx = 0;
    const tx_field *f0 = &row->fields[col[0]], *f1 = &row->fields[col[1]],
                   *f2 = &row->fields[col[2]];
    FUZZ_CHECK(tx_parse_int64(f0->ptr, f0->len, &div) == TX_OK && div == d.division,
               "division is the field's");
    FUZZ_CHECK(tx_parse_int64(f1->ptr, f1->len, &year) == TX_OK && year == d.year,
               "year is the field's");
    FUZZ_CHECK(tx_parse_double(f2->ptr, f2->len, &idx) == TX_OK && idx == d.price_index,
               "price index is the field's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_deflators, one_row, NULL);
    return 0;
}
