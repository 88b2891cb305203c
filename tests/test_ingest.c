/* test_ingest.c - CSV ingest into the store: the INPUTS.md contract, rejected rows in the
 * report with file, line and reason, the good rows around them all stored, duplicates and
 * conflicts, idempotence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"
#include "tanxiao.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR TX_BINARY_DIR "/tests/ingest_work"
#define STORE DIR "/store.h5"

static char uscc[3][19];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DIR, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_uscc(char out[19], const char *first17)
{
    memcpy(out, first17, 17);
    out[17] = tx_uscc_check_char(first17);
    out[18] = 0;
}

static int setup(void **state)
{
    (void)state;
    if (system("rm -rf " DIR " && mkdir -p " DIR "/readings") != 0)
        return -1;
    make_uscc(uscc[0], "91330212MA2A00001");
    make_uscc(uscc[1], "91330206MA2A00002");
    make_uscc(uscc[2], "91330281MA2A00003");
    char buf[4096];
    /* BOM, CRLF, columns in another order, a quoted name with a comma, an unknown column,
     * a bad check character, a bad district. */
    snprintf(buf, sizeof buf,
             "\xEF\xBB\xBFname,enterprise_id,industry_code,district_code,land_area_mu,extra\r\n"
             "\"宁波甲,机械有限公司\",%s,C3311,330212,30.5,x\r\n"
             "宁波乙化工有限公司,%s,2614,330206,,y\r\n"
             "宁波丙有限公司,%.17sX,2614,330281,12,z\r\n"
             "宁波丁有限公司,%s,2614,33028,12,z\r\n",
             uscc[0], uscc[1], uscc[2], uscc[2]);
    write_file("enterprises.csv", buf);
    snprintf(buf, sizeof buf,
             "meter_id,enterprise_id,carrier,unit,kind,multiplier,register_digits,"
             "interval_minutes\n"
             "EL1,%s,electricity,kWh,cumulative,40,6,15\n"
             "GAS1,%s,natural_gas,10^4m3,interval,,,60\n"
             "BAD1,%s,natural_gas,kWh,interval,,,60\n"
             "BAD2,%s,electricity,kWh,cumulative,1,,15\n"
             "BAD3,%s,electricity,kWh,cumulative,0,,15\n"
             "BAD4,%s,electricity,kWh,cumulative,1,,45\n",
             uscc[0], uscc[1], uscc[0], uscc[2], uscc[0], uscc[0]);
    write_file("meters.csv", buf);
    write_file("meter_events.csv",
               "meter_id,timestamp,event,old_reading,new_reading,new_multiplier\n"
               "EL1,2025-01-01T00:37:00+08:00,replace,120.5,0,\n"
               "EL1,2025-01-01T00:37:00+08:00,explode,1,0,\n");
    /* Day 1: the three timestamp forms, a row off the grid, a negative interval value, an
     * unknown meter, a bad number, a bad quality, an empty line, a quoted value. */
    write_file("readings/2025-01-01.csv",
               "meter_id,timestamp,value,quality\n"
               "EL1,2025-01-01T00:00:00+08:00,100.00,0\n"
               "EL1,2025-01-01 00:15:00,110.25,\n"
               "EL1,2024-12-31T16:30:00Z,120.00,1\n"
               "EL1,2025-01-01T00:40:00+08:00,3.00,0\n"
               "EL1,2025-01-01T00:45:00+08:00,5.00,0\n"
               "\n"
               "GAS1,2025-01-01T01:00:00+08:00,-0.01,0\n"
               "GAS1,2025-01-01T01:00:00+08:00,\" 0.0125 \",0\n"
               "NOPE,2025-01-01T01:00:00+08:00,1,0\n"
               "GAS1,2025-01-01T02:00:00+08:00,1..2,0\n"
               "GAS1,2025-01-01T03:00:00+08:00,0.5,7\n"
               "EL1,2025-01-01T01:00:20+08:00,7.00,0\n");
    /* Day 2 (sorts later): an identical duplicate and a conflicting value for day 1. */
    write_file("readings/2025-01-02.csv",
               "timestamp,meter_id,value\n"
               "2025-01-01T00:15:00+08:00,EL1,110.25\n"
               "2025-01-01T00:45:00+08:00,EL1,6.00\n"
               "2025-01-01T04:00:00+08:00,GAS1,0.1234567891\n");
    return 0;
}

static void read_cell(tx_store *st, int minutes, uint32_t row, int64_t t, double *v, uint8_t *q)
{
    int64_t slot;
    tx_err err = {0};
    assert_int_equal(tx_store_slot(t, minutes, &slot), 0);
    assert_int_equal(tx_store_read_block(st, minutes, row, 1, slot, 1, v, q, &err), 0);
}

static int report_has(const char *needle)
{
    FILE *f = fopen(STORE ".rejects.csv", "rb");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void test_ingest_dataset(void **state)
{
    (void)state;
    tx_ingest_params p = TX_INGEST_PARAMS_DEFAULT;
    p.dataset_dir = DIR;
    p.store_path = STORE;
    tx_ingest_summary s;
    tx_err err = {0};
    int rc = tx_ingest(&p, &s, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(s.enterprises_new, 2);
    assert_int_equal(s.meters_new, 2);
    assert_int_equal(s.events_new, 1);
    assert_int_equal(s.files, 2);
    assert_int_equal(s.rows, 11 + 3);
    assert_int_equal(s.aligned, 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_USCC], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_DISTRICT], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_UNIT], 1);
    assert_int_equal(s.reasons[TX_REJECT_UNKNOWN_ENTERPRISE], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_MULTIPLIER], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_INTERVAL], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_EVENT], 1);
    assert_int_equal(s.reasons[TX_REJECT_OFF_GRID], 1);
    assert_int_equal(s.reasons[TX_REJECT_NEGATIVE_INTERVAL], 1);
    assert_int_equal(s.reasons[TX_REJECT_UNKNOWN_METER], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_NUMBER], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_QUALITY], 1);
    assert_int_equal(s.reasons[TX_REJECT_BAD_VALUE], 1); /* 10 decimals: not storable */
    assert_int_equal(s.duplicates, 1);
    assert_int_equal(s.conflicts, 1);
    assert_int_equal(s.stored, 6);
    /* The report names file and line, with the raw text. */
    assert_true(report_has("readings/2025-01-01.csv\",5,OFF_GRID"));
    assert_true(report_has("readings/2025-01-01.csv\",8,NEGATIVE_INTERVAL"));
    assert_true(report_has("\"EL1,2025-01-01T00:40:00+08:00,3.00,0\""));
    assert_true(report_has("enterprises.csv\",4,BAD_USCC"));
    assert_true(report_has("meters.csv\",4,BAD_UNIT"));
    assert_true(report_has("readings/2025-01-02.csv\",3,CONFLICT"));
    assert_true(report_has("readings/2025-01-02.csv\",4,BAD_VALUE,\"more than 9 decimals"));
    assert_true(report_has("readings/2025-01-01.csv\",13,ALIGNED,\"aligned to the grid by -20 s\""));

    /* The good rows around the bad ones are all stored, values exact. */
    tx_store *st = NULL;
    assert_int_equal(tx_store_open(STORE, 0, 3, &st, &err), 0);
    long el = tx_store_find_meter(st, "EL1"), gas = tx_store_find_meter(st, "GAS1");
    assert_true(el >= 0 && gas >= 0);
    size_t nm;
    const tx_meter *m = tx_store_meters(st, &nm);
    assert_float_equal(m[el].multiplier, 40.0, 0);
    assert_int_equal(m[el].register_digits, 6);
    assert_int_equal(m[gas].unit, TX_UNIT_E4M3);
    long e0 = tx_store_find_enterprise(st, uscc[0]);
    assert_true(e0 >= 0);
    size_t ne;
    const tx_enterprise *ents = tx_store_enterprises(st, &ne);
    assert_string_equal(ents[e0].name, "宁波甲,机械有限公司");
    assert_string_equal(ents[e0].industry, "3311");
    assert_float_equal(ents[e0].land_area_mu, 30.5, 0);
    double v;
    uint8_t q;
    int64_t t0 = tx_local_to_unix(2025, 1, 1, 0, 0, 0);
    read_cell(st, 15, m[el].row, t0, &v, &q);
    assert_float_equal(v, 100.0, 0);
    read_cell(st, 15, m[el].row, t0 + 900, &v, &q);
    assert_float_equal(v, 110.25, 0);
    read_cell(st, 15, m[el].row, t0 + 1800, &v, &q); /* the Z form */
    assert_float_equal(v, 120.0, 0);
    assert_int_equal(q, 1);
    read_cell(st, 15, m[el].row, t0 + 2700, &v, &q); /* conflict: the later file wins */
    assert_float_equal(v, 6.0, 0);
    read_cell(st, 15, m[el].row, t0 + 3600, &v, &q); /* aligned from 01:00:20 */
    assert_float_equal(v, 7.0, 0);
    read_cell(st, 60, m[gas].row, t0 + 3600, &v, &q);
    assert_float_equal(v, 0.0125, 0);
    read_cell(st, 60, m[gas].row, t0 + 7200, &v, &q); /* rejected: nothing stored */
    assert_true(isnan(v));
    assert_int_equal(tx_store_close(st, &err), 0);

    /* A second ingest changes nothing: every stored reading is a duplicate; the conflict
     * between the two files is in the inputs and is reported again, resolved the same way. */
    struct stat before, after;
    assert_int_equal(stat(STORE, &before), 0);
    assert_int_equal(tx_ingest(&p, &s, &err), 0);
    assert_int_equal(s.stored, 0);
    assert_int_equal(s.conflicts, 1);
    assert_int_equal(s.duplicates, 6 + 1); /* the six stored, and day 2's duplicate row */
    assert_int_equal(s.enterprises_new + s.enterprises_changed + s.meters_new + s.meters_changed +
                         s.events_new,
                     0);
    assert_int_equal(stat(STORE, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
}

static void test_ingest_unreadable(void **state)
{
    (void)state;
    /* Files that cannot be read (a wrong header, a truncated last record, binary bytes) are
     * skipped whole and named; the good file beside them is stored. */
    write_file("readings/2025-01-03.csv", "meter,time,val\nEL1,2025-01-03T00:00:00+08:00,1\n");
    write_file("readings/2025-01-04.csv",
               "meter_id,timestamp,value\nEL1,2025-01-04T00:00:00+08:00,200.00\nEL1,2025-01-04T00:15");
    write_file("readings/2025-01-05.csv", "meter_id,timestamp,value\nEL1,\x01\x02\xff\xfe,1\n");
    write_file("readings/2025-01-06.csv",
               "meter_id,timestamp,value\nEL1,2025-01-06T00:00:00+08:00,300.00\n");
    tx_ingest_params p = TX_INGEST_PARAMS_DEFAULT;
    p.dataset_dir = DIR;
    p.store_path = STORE;
    tx_ingest_summary s;
    tx_err err = {0};
    assert_int_equal(tx_ingest(&p, &s, &err), 0);
    assert_int_equal(s.files_failed, 3);
    assert_non_null(strstr(s.first_failure, "2025-01-03.csv"));
    assert_int_equal(s.reasons[TX_REJECT_UNREADABLE_FILE], 3);
    assert_true(report_has("2025-01-04.csv\",0,UNREADABLE_FILE"));
    assert_true(report_has("2025-01-05.csv\",0,UNREADABLE_FILE"));
    assert_int_equal(s.stored, 1); /* 2025-01-06 */
    tx_store *st = NULL;
    assert_int_equal(tx_store_open(STORE, 0, 3, &st, &err), 0);
    size_t nm;
    const tx_meter *m = tx_store_meters(st, &nm);
    long el = tx_store_find_meter(st, "EL1");
    double v;
    uint8_t q;
    read_cell(st, 15, m[el].row, tx_local_to_unix(2025, 1, 6, 0, 0, 0), &v, &q);
    assert_float_equal(v, 300.0, 0);
    read_cell(st, 15, m[el].row, tx_local_to_unix(2025, 1, 4, 0, 0, 0), &v, &q);
    assert_true(isnan(v)); /* the truncated file's good-looking first row is not stored */
    assert_int_equal(tx_store_close(st, &err), 0);
    unlink(DIR "/readings/2025-01-03.csv");
    unlink(DIR "/readings/2025-01-04.csv");
    unlink(DIR "/readings/2025-01-05.csv");
    unlink(DIR "/readings/2025-01-06.csv");
    /* The store is intact: a new ingest still finds everything stored. */
    assert_int_equal(tx_ingest(&p, &s, &err), 0);
    assert_int_equal(s.stored, 0);
    /* A missing enterprises.csv is an error naming it. */
    p.dataset_dir = DIR "/readings";
    assert_int_not_equal(tx_ingest(&p, &s, &err), 0);
    assert_non_null(strstr(err.msg, "enterprises.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_dataset),
        cmocka_unit_test(test_ingest_unreadable),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
