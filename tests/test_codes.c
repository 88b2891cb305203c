/* test_codes.c - USCC check characters, industry and district codes, carriers and units,
 * status and reject tables, civil time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tanxiao.h"

#include <string.h>

/* Check characters published for three real codes whose printed check character is known
 * to differ from the GB 32100-2015 computation (early pilot codes): the computed value is
 * what the standard's algorithm gives, an independent vector. */
static void test_uscc_check_vectors(void **state)
{
    (void)state;
    assert_int_equal(tx_uscc_check_char("91350100M0001TGQX"), '1');
    assert_int_equal(tx_uscc_check_char("91350211M0000XUF4"), 'R');
    assert_int_equal(tx_uscc_check_char("91350203M0001FUE2"), 'J');
    assert_false(tx_uscc_valid("91350100M0001TGQXM", 18));
    assert_true(tx_uscc_valid("91350100M0001TGQX1", 18));
}

static void test_uscc_rejects(void **state)
{
    (void)state;
    char code[19] = "91330212MA2AAAAAA";
    code[17] = tx_uscc_check_char(code);
    code[18] = 0;
    assert_true(tx_uscc_valid(code, 18));
    char bad[19];
    memcpy(bad, code, 19);
    bad[10] = bad[10] == 'A' ? 'B' : 'A'; /* one changed character */
    assert_false(tx_uscc_valid(bad, 18));
    assert_false(tx_uscc_valid(code, 17));           /* too short */
    assert_int_equal(tx_uscc_check_char("91330212MA2AAAAIA"), 0); /* I is not in the set */
    memcpy(bad, code, 19);
    bad[4] = 'X'; /* division code must be digits */
    bad[17] = tx_uscc_check_char(bad);
    assert_false(tx_uscc_valid(bad, 18));
}

static void test_industry_district(void **state)
{
    (void)state;
    char ind[5], dist[7];
    assert_int_equal(tx_industry_normalise("C2614", 5, ind), 0);
    assert_string_equal(ind, "2614");
    assert_int_equal(tx_industry_normalise("2614", 4, ind), 0);
    assert_string_equal(ind, "2614");
    assert_int_equal(tx_industry_normalise("261", 3, ind), TX_EPARSE);
    assert_int_equal(tx_industry_normalise("26a4", 4, ind), TX_EPARSE);
    assert_int_equal(tx_industry_normalise("Z2614", 5, ind), TX_EPARSE);
    assert_int_equal(tx_district_normalise("330212", 6, dist), 0);
    assert_string_equal(dist, "330212");
    assert_int_equal(tx_district_normalise("33021", 5, dist), TX_EPARSE);
    assert_int_equal(tx_district_normalise("03021a", 6, dist), TX_EPARSE);
    assert_int_equal(tx_district_normalise("990212", 6, dist), TX_EPARSE); /* no province 99 */
    assert_int_equal(tx_district_normalise("330000", 6, dist), TX_EPARSE); /* a province */
    assert_int_equal(tx_district_normalise("110101", 6, dist), 0);
}

static void test_carriers_units(void **state)
{
    (void)state;
    assert_int_equal(tx_carrier_parse("natural_gas", 11), TX_CARRIER_NATURAL_GAS);
    assert_int_equal(tx_carrier_parse("natural", 7), -1);
    assert_string_equal(tx_carrier_name(TX_CARRIER_PV_GENERATION), "pv_generation");
    for (int c = 0; c < TX_CARRIER_COUNT; c++) {
        const char *n = tx_carrier_name(c);
        assert_int_equal(tx_carrier_parse(n, strlen(n)), c);
    }
    assert_int_equal(tx_unit_parse("10^4m3", 6), TX_UNIT_E4M3);
    assert_float_equal(tx_unit_to_canonical(TX_UNIT_E4M3), 10000.0, 0);
    assert_float_equal(tx_unit_to_canonical(TX_UNIT_MWH), 1000.0, 0);
    assert_float_equal(tx_unit_to_canonical(TX_UNIT_T), 1000.0, 0);
    assert_float_equal(tx_unit_to_canonical(TX_UNIT_GJ), 1000.0, 0);
    assert_true(tx_unit_fits_carrier(TX_UNIT_MWH, TX_CARRIER_PV_GENERATION));
    assert_true(tx_unit_fits_carrier(TX_UNIT_T, TX_CARRIER_STEAM));
    assert_true(tx_unit_fits_carrier(TX_UNIT_E4M3, TX_CARRIER_WATER));
    assert_false(tx_unit_fits_carrier(TX_UNIT_KWH, TX_CARRIER_NATURAL_GAS));
    assert_false(tx_unit_fits_carrier(TX_UNIT_MJ, TX_CARRIER_DIESEL));
    assert_false(tx_unit_fits_carrier(TX_UNIT_KG, TX_CARRIER_HEAT));
    assert_int_equal(tx_unit_parse("kwh", 3), -1); /* case matters */
}

static void test_status_and_reject_tables(void **state)
{
    (void)state;
    assert_string_equal(tx_strerror(TX_OK), "success");
    assert_string_equal(tx_strerror(TX_EDEFLATOR), "missing deflator");
    assert_string_equal(tx_strerror(12345), "unknown status");
    assert_string_equal(tx_reject_name(TX_REJECT_OFF_GRID), "OFF_GRID");
    assert_string_equal(tx_reject_message(TX_REJECT_NEGATIVE_INTERVAL),
                        "negative interval consumption");
    tx_err err = {0};
    assert_int_equal(tx_err_set(&err, TX_EPARSE, "%s:%d: %s", "f.csv", 3, "bad"), TX_EPARSE);
    tx_err_prefix(&err, "ingest");
    assert_string_equal(err.msg, "ingest: f.csv:3: bad");
    assert_int_equal(err.code, TX_EPARSE);
}

static void test_civil_time(void **state)
{
    (void)state;
    assert_int_equal(tx_local_to_unix(2000, 1, 1, 0, 0, 0), TX_EPOCH_UNIX);
    /* 2025-01-01T00:00+08:00 = 2024-12-31T16:00Z = 1735660800. */
    assert_int_equal(tx_local_to_unix(2025, 1, 1, 0, 0, 0), 1735660800);
    int y, mo, d, h, mi, s;
    tx_unix_to_local(1735660800 - 1, &y, &mo, &d, &h, &mi, &s);
    assert_int_equal(y, 2024);
    assert_int_equal(mo, 12);
    assert_int_equal(d, 31);
    assert_int_equal(h, 23);
    assert_int_equal(mi, 59);
    assert_int_equal(s, 59);
    /* Leap day round trip. */
    int64_t t = tx_local_to_unix(2024, 2, 29, 12, 34, 56);
    tx_unix_to_local(t, &y, &mo, &d, &h, &mi, &s);
    assert_int_equal(mo * 100 + d, 229);
    assert_int_equal(h * 10000 + mi * 100 + s, 123456);
    /* A year of 15-minute slots. */
    assert_int_equal((tx_local_to_unix(2026, 1, 1, 0, 0, 0) - tx_local_to_unix(2025, 1, 1, 0, 0, 0)) / 900,
                     35040);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uscc_check_vectors), cmocka_unit_test(test_uscc_rejects),
        cmocka_unit_test(test_industry_district),  cmocka_unit_test(test_carriers_units),
        cmocka_unit_test(test_status_and_reject_tables), cmocka_unit_test(test_civil_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
