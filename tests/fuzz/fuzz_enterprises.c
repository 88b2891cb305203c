/*
 * fuzz_enterprises.c - enterprises.csv: the reader, the header with tx_cols_enterprises
 * and tx_input_enterprise on every record, with the reference tables (loaded once) and
 * without them.
 *
 * An accepted enterprise has a valid USCC, a 4-digit industry class whose division exists
 * in GB/T 4754 (with tables), a 6-digit district, a name and cluster that fit their
 * records whole and are UTF-8, land area absent or a finite number >= 0, above_scale 0 or
 * 1. With tables a row is accepted only if it is without them, and a row accepted without
 * tables is refused with them only for its industry.
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

static void check_ok(const tx_csv_row *row, const int *col, const tx_enterprise *e,
                     const tx_tables *tables)
{
    FUZZ_CHECK(strlen(e->id) == TX_USCC_LEN && tx_uscc_valid(e->id, TX_USCC_LEN), "valid USCC");
    FUZZ_CHECK(fuzz_str_is_field(e->id, row->fields[col[0]]), "id is the field's");
    FUZZ_CHECK(strlen(e->industry) == 4 && all_digits(e->industry, 4), "4-digit industry");
    if (tables) {
        const int div = (e->industry[0] - '0') * 10 + (e->industry[1] - '0');
        FUZZ_CHECK(tables->division_section[div] != 0, "industry division exists");
        const tx_field ind = fuzz_trim(row->fields[col[2]]);
        FUZZ_CHECK(ind.len == 4 || ind.ptr[0] == tables->division_section[div],
                   "section letter matches the division");
    }
    FUZZ_CHECK(strlen(e->district) == 6 && all_digits(e->district, 6) && e->district[0] != '0',
               "6-digit district");
    const size_t nl = strlen(e->name);
    FUZZ_CHECK(nl < TX_NAME_CAP && nl == row->fields[col[1]].len &&
                   memcmp(e->name, row->fields[col[1]].ptr, nl) == 0, "name whole");
    FUZZ_CHECK(nl > 0 && fuzz_utf8_valid(e->name, nl), "name UTF-8, not empty");
    const size_t cl = strnlen(e->cluster, sizeof e->cluster);
    FUZZ_CHECK(cl < TX_CLUSTER_CAP && fuzz_utf8_valid(e->cluster, cl), "cluster fits");
    FUZZ_CHECK(isnan(e->land_area_mu) || (isfinite(e->land_area_mu) && e->land_area_mu >= 0),
               "land area");
    FUZZ_CHECK(e->above_scale <= 1, "above_scale 0 or 1");
}

static void one_row(const tx_csv_row *row, const int *col, void *arg)
{
    (void)arg;
    const tx_tables *tables = fuzz_tables();
    tx_enterprise with, without;
    const char *dw = NULL, *dn = NULL;
    const int rw = tx_input_enterprise(row, col, tables, &with, &dw);
    const int rn = tx_input_enterprise(row, col, NULL, &without, &dn);
    fuzz_check_reason(rw, dw);
    fuzz_check_reason(rn, dn);
    static const int req[] = {0, 1, 2, 3};
    fuzz_check_required(rw, row, col, req, 4);
    fuzz_check_required(rn, row, col, req, 4);
    if (rw == TX_INPUT_OK) {
        FUZZ_CHECK(rn == TX_INPUT_OK, "accepted with tables, accepted without");
        FUZZ_CHECK(memcmp(&with, &without, sizeof with) == 0,
                   "same record with and without tables");
        check_ok(row, col, &with, tables);
    } else if (rn == TX_INPUT_OK)
        FUZZ_CHECK(rw == TX_REJECT_BAD_INDUSTRY, "tables refuse only the industry");
    else if (rw != TX_REJECT_BAD_INDUSTRY)
        FUZZ_CHECK(rw == rn, "same reason with and without tables");
    if (rn == TX_INPUT_OK)
        check_ok(row, col, &without, NULL);
    if (rn == TX_REJECT_TOO_LONG)
        FUZZ_CHECK(row->fields[col[1]].len >= TX_NAME_CAP ||
                       (col[6] >= 0 && (size_t)col[6] < row->nfields &&
                        row->fields[col[6]].len >= TX_CLUSTER_CAP),
                   "too long only when name or cluster is");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_row(data, size, &tx_cols_enterprises, one_row, NULL);
    return 0;
}
