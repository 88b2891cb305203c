/*
 * fuzz_financials.c - financials.csv: the reader, the header with tx_cols_financials and
 * tx_input_financial on every record.
 *
 * An accepted row has a valid USCC, a period of one of INPUTS.md's two forms (YYYY or
 * YYYY-MM, digits only) with year 1900..2200 and month 0 (annual) or 1..12 read from it, a
 * finite value added, revenue and tax absent or finite, and R&D, employees and pollutants
 * absent or finite >= 0.
 */
#include "fuzz.h"

#include <math.h>
#include <string.h>

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int absent_or_finite(double v) { return isnan(v) || isfinite(v); }
static int absent_or_nonnegative(double v) { return isnan(v) || (isfinite(v) && v >= 0); }

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    tx_financial_row f;
    const char *detail = NULL;
    memset(&f, 0xA5, sizeof f);
    const int reason = tx_input_financial(row, col, &f, &detail);
    fuzz_check_reason(reason, detail);
    static const int req[] = {0, 1, 2};
    fuzz_check_required(reason, row, col, req, 3);
    if (reason != TX_INPUT_OK)
        return;
    FUZZ_CHECK(strnlen(f.enterprise_id, sizeof f.enterprise_id) == TX_USCC_LEN &&
                   tx_uscc_valid(f.enterprise_id, TX_USCC_LEN), "valid USCC");
    FUZZ_CHECK(fuzz_str_is_field(f.enterprise_id, row->fields[col[0]]), "id is the field's");
    const tx_field per = fuzz_trim(row->fields[col[1]]);
    FUZZ_CHECK((per.len == 4 && all_digits(per.ptr, 4)) ||
                   (per.len == 7 && all_digits(per.ptr, 4) && per.ptr[4] == '-' &&
                    all_digits(per.ptr + 5, 2)), "period is YYYY or YYYY-MM");
    const int y = (per.ptr[0] - '0') * 1000 + (per.ptr[1] - '0') * 100 + (per.ptr[2] - '0') * 10 +
                  (per.ptr[3] - '0');
    const int m = per.len == 7 ? (per.ptr[5] - '0') * 10 + (per.ptr[6] - '0') : 0;
    FUZZ_CHECK(f.year == y && f.month == m, "year and month are the period's");
    FUZZ_CHECK(f.year >= 1900 && f.year <= 2200 && f.month >= 0 && f.month <= 12, "ranges");
    FUZZ_CHECK(isfinite(f.value_added), "value added finite");
    FUZZ_CHECK(absent_or_finite(f.revenue) && absent_or_finite(f.tax), "revenue and tax");
    FUZZ_CHECK(absent_or_nonnegative(f.rd_expense) && absent_or_nonnegative(f.employees) &&
                   absent_or_nonnegative(f.pollutant_t), "R&D, employees, pollutants >= 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_financials, one_row, NULL);
    return 0;
}
