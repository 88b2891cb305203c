/* test_store.c - the HDF5 meter store: catalogue round trip and upserts, series blocks,
 * slots, and the errors of opening what is not a store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "h5io.h"
#include "store.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEST_DIR TX_BINARY_DIR "/tests"

/* A fresh path under the build tree (any old file removed). */
static void test_path(char *buf, size_t cap, const char *name)
{
    mkdir(TEST_DIR, 0777);
    snprintf(buf, cap, "%s/store_%s.h5", TEST_DIR, name);
    remove(buf);
}

/* The message of a failure, when a call that must succeed fails. */
#define ok(call)                                                                           \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ != TX_OK)                                                                  \
            fail_msg("%s -> %d: %s", #call, rc_, err.msg);                                 \
    } while (0)

static tx_store *open_store(const char *path, int writable)
{
    tx_store *s = NULL;
    tx_err err = {0};
    ok(tx_store_open(path, writable, 3, &s, &err));
    assert_non_null(s);
    return s;
}

static void close_store(tx_store *s)
{
    tx_err err = {0};
    ok(tx_store_close(s, &err));
}

static tx_enterprise enterprise(int i)
{
    tx_enterprise e;
    memset(&e, 0x5a, sizeof e); /* garbage after the strings must not reach the file */
    snprintf(e.id, sizeof e.id, "91330200MA2%07d", i);
    snprintf(e.name, sizeof e.name, "宁波测试企业%d有限公司, \"quoted\"", i);
    snprintf(e.industry, sizeof e.industry, "%04d", 2614 + i % 3);
    snprintf(e.district, sizeof e.district, "330212");
    e.land_area_mu = i % 2 ? NAN : 12.5 * i;
    e.above_scale = (uint8_t)(i % 2);
    snprintf(e.cluster, sizeof e.cluster, i % 3 ? "" : "chemicals");
    return e;
}

static tx_meter meter(int i, int ent, int minutes)
{
    tx_meter m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "M%04d", i);
    tx_enterprise e = enterprise(ent);
    memcpy(m.enterprise_id, e.id, sizeof m.enterprise_id);
    m.carrier = (uint8_t)(i % TX_CARRIER_COUNT);
    m.unit = TX_UNIT_KWH;
    m.kind = (uint8_t)(i % 2);
    m.register_digits = (uint8_t)(i % 2 ? 0 : 6);
    m.interval_minutes = (uint16_t)minutes;
    m.multiplier = 80.0 + i;
    m.capacity = i % 3 ? NAN : 1000.0 * i;
    m.row = 0xdeadbeef; /* assigned by the store */
    return m;
}

static tx_event event(const char *meter_id, int64_t t, int type, double nm)
{
    tx_event e;
    memset(&e, 0, sizeof e);
    snprintf(e.meter_id, sizeof e.meter_id, "%s", meter_id);
    e.t = t;
    e.type = (uint8_t)type;
    e.old_reading = type == TX_EVENT_REPLACE ? 1234.5 : NAN;
    e.new_reading = type == TX_EVENT_REPLACE ? 0.0 : NAN;
    e.new_multiplier = nm;
    return e;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void assert_enterprise_equal(const tx_enterprise *a, const tx_enterprise *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->industry, b->industry);
    assert_string_equal(a->district, b->district);
    assert_true(same_bits(a->land_area_mu, b->land_area_mu));
    assert_int_equal(a->above_scale, b->above_scale);
    assert_string_equal(a->cluster, b->cluster);
}

static void assert_meter_equal(const tx_meter *a, const tx_meter *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->enterprise_id, b->enterprise_id);
    assert_int_equal(a->carrier, b->carrier);
    assert_int_equal(a->unit, b->unit);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->register_digits, b->register_digits);
    assert_int_equal(a->interval_minutes, b->interval_minutes);
    assert_true(same_bits(a->multiplier, b->multiplier));
    assert_true(same_bits(a->capacity, b->capacity));
}

/* A store with 5 enterprises and meters 0..9 on grids 15, 15, 30, 60, 1440, 15, ... */
static const int grid_of_meter[10] = {15, 15, 30, 60, 1440, 15, 30, 15, 1440, 15};

static tx_store *populated(const char *path)
{
    tx_err err = {0};
    tx_store *s = open_store(path, 1);
    tx_enterprise e[5];
    tx_meter m[10];
    for (int i = 0; i < 5; i++)
        e[i] = enterprise(i);
    for (int i = 0; i < 10; i++)
        m[i] = meter(i, i % 5, grid_of_meter[i]);
    size_t changed = 99;
    ok(tx_store_put_enterprises(s, e, 5, &changed, &err));
    assert_int_equal(changed, 0);
    ok(tx_store_put_meters(s, m, 10, &changed, &err));
    assert_int_equal(changed, 0);
    return s;
}

/* ---- slots and geometry ----------------------------------------------------------------- */

static void test_slot(void **state)
{
    (void)state;
    int64_t k = -1;
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX, 15, &k), TX_OK);
    assert_int_equal(k, 0);
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX + 900, 15, &k), TX_OK);
    assert_int_equal(k, 1);
    /* Off the grid: one minute past a slot, a 15-min instant on the 30-min grid. */
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX + 960, 15, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX + 900, 30, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX + 1, 15, &k), TX_ERANGE);
    /* Before the epoch, even on the grid's phase; and far away. */
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX - 900, 15, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(INT64_MIN, 15, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(INT64_MAX, 15, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(TX_EPOCH_UNIX, 7, &k), TX_EINVAL);
    assert_int_equal(k, 1); /* untouched by failures */

    /* The daily grid's slots are local midnights: 2025-01-01 is day 9132 after 2000-01-01
     * (25 years, 7 of them leap). UTC midnight (08:00 local) is off the grid. */
    int64_t midnight = tx_local_to_unix(2025, 1, 1, 0, 0, 0);
    assert_int_equal(tx_store_slot(midnight, 1440, &k), TX_OK);
    assert_int_equal(k, 9132);
    assert_int_equal(tx_store_slot(midnight + 8 * 3600, 1440, &k), TX_ERANGE);
    assert_int_equal(tx_store_slot(midnight + 900, 15, &k), TX_OK);
    assert_int_equal(k, 9132 * 96 + 1);
    assert_int_equal(tx_store_slot(midnight + 3600, 60, &k), TX_OK);
    assert_int_equal(k, 9132 * 24 + 1);

    const int rows[4] = {16, 32, 64, 1536}, slots[4] = {2688, 1344, 672, 28};
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        int m = tx_store_grid_minutes[g];
        assert_int_equal(tx_store_grid_of(m), g);
        assert_int_equal(tx_store_chunk_rows(m), rows[g]);
        assert_int_equal(tx_store_chunk_slots(m), slots[g]);
        assert_int_equal(tx_store_chunk_rows(m) * tx_store_chunk_slots(m) * 8, 344064);
    }
    assert_int_equal(tx_store_grid_of(5), -1);
    assert_int_equal(tx_store_chunk_rows(5), 0);
    assert_int_equal(tx_store_chunk_slots(5), 0);
}

/* ---- catalogue -------------------------------------------------------------------------- */

static void test_catalogue_roundtrip(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "catalogue");
    tx_store *s = populated(path);
    tx_event ev[3] = {event("M0003", TX_EPOCH_UNIX + 86400, TX_EVENT_MULTIPLIER, 120.0),
                      event("M0001", TX_EPOCH_UNIX + 7200, TX_EVENT_REPLACE, NAN),
                      event("M0001", TX_EPOCH_UNIX + 3600, TX_EVENT_REPLACE, NAN)};
    ok(tx_store_put_events(s, ev, 3, NULL, &err));

    /* Rows are assigned per grid in the order meters were given. */
    size_t n;
    const tx_meter *m = tx_store_meters(s, &n);
    assert_int_equal(n, 10);
    int next[4] = {0};
    for (int i = 0; i < 10; i++) {
        int g = tx_store_grid_of(grid_of_meter[i]);
        assert_int_equal(m[i].row, next[g]++);
    }
    assert_int_equal(tx_store_grid_rows(s, 15), 5);
    assert_int_equal(tx_store_grid_rows(s, 30), 2);
    assert_int_equal(tx_store_grid_rows(s, 60), 1);
    assert_int_equal(tx_store_grid_rows(s, 1440), 2);
    assert_int_equal(tx_store_grid_rows(s, 5), 0);
    close_store(s);

    s = open_store(path, 0);
    const tx_enterprise *e = tx_store_enterprises(s, &n);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        tx_enterprise want = enterprise(i);
        assert_enterprise_equal(&e[i], &want);
        assert_int_equal(tx_store_find_enterprise(s, want.id), i);
    }
    m = tx_store_meters(s, &n);
    assert_int_equal(n, 10);
    memset(next, 0, sizeof next);
    for (int i = 0; i < 10; i++) {
        tx_meter want = meter(i, i % 5, grid_of_meter[i]);
        assert_meter_equal(&m[i], &want);
        assert_int_equal(m[i].row, next[tx_store_grid_of(grid_of_meter[i])]++);
        assert_int_equal(tx_store_find_meter(s, want.id), i);
    }
    assert_int_equal(tx_store_find_meter(s, "M9999"), -1);
    assert_int_equal(tx_store_find_meter(s, ""), -1);
    assert_int_equal(tx_store_find_enterprise(s, "nope"), -1);
    assert_int_equal(tx_store_grid_rows(s, 15), 5);
    assert_int_equal(tx_store_grid_rows(s, 1440), 2);

    /* Events come back sorted by (meter, time, type). */
    const tx_event *got = tx_store_events(s, &n);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].meter_id, "M0001");
    assert_int_equal(got[0].t, TX_EPOCH_UNIX + 3600);
    assert_int_equal(got[1].t, TX_EPOCH_UNIX + 7200);
    assert_string_equal(got[2].meter_id, "M0003");
    assert_int_equal(got[2].type, TX_EVENT_MULTIPLIER);
    assert_true(same_bits(got[2].new_multiplier, 120.0));
    assert_true(isnan(got[2].old_reading));
    assert_true(same_bits(got[0].old_reading, 1234.5));

    /* A read-only store refuses puts and writes. */
    tx_enterprise one = enterprise(9);
    assert_int_equal(tx_store_put_enterprises(s, &one, 1, NULL, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "read-only"));
    double v = 1.0;
    assert_int_equal(tx_store_write_block(s, 15, 0, 1, 0, 1, &v, NULL, &err), TX_EINVAL);
    close_store(s);
}

/* Lookups by id over thousands of records put in several batches (the hash slots grow
 * while records are added), in an order that is not the ids' order, with near-miss ids,
 * before and after the store is reopened. */
static void test_catalogue_lookup_many(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "lookup");
    remove(path);
    enum { NE = 3000, NM = 7000 };
    tx_enterprise *e = test_malloc(NE * sizeof *e);
    tx_meter *m = test_malloc(NM * sizeof *m);
    for (int i = 0; i < NE; i++)
        e[i] = enterprise((i * 7919) % NE); /* a permutation: not in id order */
    for (int i = 0; i < NM; i++) {
        m[i] = meter(i, (i * 31) % NE, 15);
        snprintf(m[i].id, sizeof m[i].id, "M%d-%c", (i * 4099) % NM, "ab"[i % 2]);
    }
    tx_store *s = open_store(path, 1);
    for (int b = 0; b < 4; b++) { /* four batches of each */
        ok(tx_store_put_enterprises(s, e + b * NE / 4, NE / 4, NULL, &err));
        for (int i = 0; i < NE; i++)
            assert_int_equal(tx_store_find_enterprise(s, e[i].id), i < (b + 1) * NE / 4 ? i : -1);
    }
    for (int b = 0; b < 4; b++) {
        ok(tx_store_put_meters(s, m + b * NM / 4, NM / 4, NULL, &err));
        for (int i = 0; i < NM; i += 7)
            assert_int_equal(tx_store_find_meter(s, m[i].id), i < (b + 1) * NM / 4 ? i : -1);
    }
    for (int reopen = 0; reopen < 2; reopen++) {
        for (int i = 0; i < NE; i++)
            assert_int_equal(tx_store_find_enterprise(s, e[i].id), i);
        for (int i = 0; i < NM; i++) {
            assert_int_equal(tx_store_find_meter(s, m[i].id), i);
            char near[TX_METER_ID_CAP];
            snprintf(near, sizeof near, "%sx", m[i].id); /* a longer id */
            assert_int_equal(tx_store_find_meter(s, near), -1);
            snprintf(near, sizeof near, "%.*s", (int)strlen(m[i].id) - 1, m[i].id);
            assert_int_equal(tx_store_find_meter(s, near), -1); /* a prefix */
        }
        close_store(s);
        s = open_store(path, 0);
    }
    close_store(s);
    test_free(m);
    test_free(e);
}

static void test_upsert(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "upsert");
    tx_store *s = populated(path);
    size_t changed = 99, n;

    /* Identical: nothing changes (the row passed in is ignored). */
    tx_meter m[3] = {meter(2, 2, 30), meter(0, 0, 15), meter(7, 2, 15)};
    ok(tx_store_put_meters(s, m, 3, &changed, &err));
    assert_int_equal(changed, 0);
    tx_enterprise e = enterprise(3);
    ok(tx_store_put_enterprises(s, &e, 1, &changed, &err));
    assert_int_equal(changed, 0);

    /* One modified, one new, keep rows; the new one takes the next row of its grid. */
    m[0].multiplier = 200.0;
    tx_meter fresh[2] = {meter(10, 4, 30), meter(11, 4, 15)};
    tx_meter batch[3] = {m[0], fresh[0], fresh[1]};
    ok(tx_store_put_meters(s, batch, 3, &changed, &err));
    assert_int_equal(changed, 1);
    const tx_meter *got = tx_store_meters(s, &n);
    assert_int_equal(n, 12);
    long i2 = tx_store_find_meter(s, "M0002");
    assert_int_equal(i2, 2);
    assert_true(same_bits(got[2].multiplier, 200.0));
    assert_int_equal(got[2].row, 0);
    assert_string_equal(got[10].id, "M0010");
    assert_int_equal(got[10].row, 2); /* third meter of the 30-min grid */
    assert_int_equal(got[11].row, 5); /* sixth of the 15-min grid */
    assert_int_equal(tx_store_grid_rows(s, 30), 3);
    assert_int_equal(tx_store_grid_rows(s, 15), 6);

    /* NaN equals NaN; a changed NaN field is a change. */
    tx_meter nanm = meter(1, 1, 15); /* capacity NaN */
    ok(tx_store_put_meters(s, &nanm, 1, &changed, &err));
    assert_int_equal(changed, 0);
    nanm.capacity = 5.0;
    ok(tx_store_put_meters(s, &nanm, 1, NULL, &err));
    e.land_area_mu = 1.0;
    ok(tx_store_put_enterprises(s, &e, 1, &changed, &err));
    assert_int_equal(changed, 1);

    /* The same new id twice in one batch: one record, the later one wins. */
    tx_meter twice[2] = {meter(12, 0, 60), meter(12, 0, 60)};
    twice[1].multiplier = 3.0;
    ok(tx_store_put_meters(s, twice, 2, &changed, &err));
    assert_int_equal(changed, 1);
    got = tx_store_meters(s, &n);
    assert_int_equal(n, 13);
    assert_true(same_bits(got[12].multiplier, 3.0));
    assert_int_equal(got[12].row, 1);

    /* Events: same key and values skipped; same key, other values replaced. */
    tx_event ev[2] = {event("M0001", TX_EPOCH_UNIX, TX_EVENT_MULTIPLIER, 2.0),
                      event("M0001", TX_EPOCH_UNIX, TX_EVENT_REPLACE, NAN)};
    ok(tx_store_put_events(s, ev, 2, &changed, &err));
    assert_int_equal(changed, 0);
    ok(tx_store_put_events(s, ev, 2, &changed, &err));
    assert_int_equal(changed, 0);
    ev[0].new_multiplier = 4.0;
    ok(tx_store_put_events(s, ev, 1, &changed, &err));
    assert_int_equal(changed, 1);
    const tx_event *gev = tx_store_events(s, &n);
    assert_int_equal(n, 2);
    assert_int_equal(gev[0].type, TX_EVENT_REPLACE);
    assert_true(same_bits(gev[1].new_multiplier, 4.0));
    close_store(s);

    /* All of it persisted. */
    s = open_store(path, 0);
    got = tx_store_meters(s, &n);
    assert_int_equal(n, 13);
    assert_true(same_bits(got[2].multiplier, 200.0));
    assert_true(same_bits(got[1].capacity, 5.0));
    assert_int_equal(got[11].row, 5);
    assert_int_equal(tx_store_grid_rows(s, 60), 2);
    const tx_enterprise *ge = tx_store_enterprises(s, &n);
    assert_true(same_bits(ge[3].land_area_mu, 1.0));
    gev = tx_store_events(s, &n);
    assert_int_equal(n, 2);
    close_store(s);
}

/* An id repeated in one put: one record, the last input wins, new records keep the order
 * of their ids' first inputs (grouped through a hash, not a sort). */
static void test_upsert_repeated_ids(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "upsert_repeated");
    tx_store *s = populated(path);
    tx_meter in[5] = {meter(20, 1, 15), meter(2, 2, 30), meter(21, 1, 15), meter(20, 1, 15),
                      meter(2, 2, 30)};
    in[0].multiplier = 1.0;
    in[1].multiplier = 300.0;
    in[3].multiplier = 5.0;
    in[4].multiplier = 400.0;
    size_t changed = 0, n = 0;
    ok(tx_store_put_meters(s, in, 5, &changed, &err));
    assert_int_equal(changed, 3); /* M0002 twice, the new M0020 once more */
    const tx_meter *got = tx_store_meters(s, &n);
    assert_int_equal(n, 12);
    assert_string_equal(got[10].id, "M0020");
    assert_string_equal(got[11].id, "M0021");
    assert_true(same_bits(got[10].multiplier, 5.0));
    assert_int_equal(got[10].row, 5); /* the 15-min grid held rows 0 .. 4 */
    assert_int_equal(got[11].row, 6);
    assert_int_equal(tx_store_find_meter(s, "M0020"), 10);
    assert_true(same_bits(got[tx_store_find_meter(s, "M0002")].multiplier, 400.0));
    close_store(s);
    s = open_store(path, 0);
    got = tx_store_meters(s, &n);
    assert_int_equal(n, 12);
    assert_true(same_bits(got[tx_store_find_meter(s, "M0020")].multiplier, 5.0));
    assert_true(same_bits(got[tx_store_find_meter(s, "M0002")].multiplier, 400.0));
    close_store(s);
}

static void test_put_rejects(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    size_t n, changed = 99;
    test_path(path, sizeof path, "rejects");
    tx_store *s = populated(path);

    /* Unknown enterprise: the whole batch is refused, the store unchanged. */
    tx_meter m[2] = {meter(20, 1, 15), meter(21, 1, 15)};
    snprintf(m[1].enterprise_id, sizeof m[1].enterprise_id, "91330200MA29999999");
    assert_int_equal(tx_store_put_meters(s, m, 2, &changed, &err), TX_ENOTFOUND);
    assert_int_equal(err.code, TX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "M0021"));
    assert_non_null(strstr(err.msg, "91330200MA29999999"));
    assert_int_equal(changed, 0);
    tx_store_meters(s, &n);
    assert_int_equal(n, 10);
    assert_int_equal(tx_store_grid_rows(s, 15), 5);
    assert_int_equal(tx_store_find_meter(s, "M0020"), -1);

    /* Interval change of a stored meter, and within one batch of a new meter. */
    tx_meter moved = meter(0, 0, 30);
    assert_int_equal(tx_store_put_meters(s, &moved, 1, NULL, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "M0000"));
    assert_non_null(strstr(err.msg, "interval"));
    tx_meter pair[2] = {meter(22, 0, 15), meter(22, 0, 60)};
    assert_int_equal(tx_store_put_meters(s, pair, 2, NULL, &err), TX_EINVAL);
    tx_store_meters(s, &n);
    assert_int_equal(n, 10);

    /* Bad codes and ids. */
    tx_meter bad = meter(23, 0, 45);
    assert_int_equal(tx_store_put_meters(s, &bad, 1, NULL, &err), TX_EINVAL);
    bad = meter(23, 0, 15);
    bad.carrier = TX_CARRIER_COUNT;
    assert_int_equal(tx_store_put_meters(s, &bad, 1, NULL, &err), TX_EINVAL);
    bad = meter(23, 0, 15);
    bad.id[0] = '\0';
    assert_int_equal(tx_store_put_meters(s, &bad, 1, NULL, &err), TX_EINVAL);
    tx_enterprise be = enterprise(7);
    memset(be.name, 'x', sizeof be.name); /* not terminated */
    assert_int_equal(tx_store_put_enterprises(s, &be, 1, NULL, &err), TX_EINVAL);

    /* Events of unknown meters, or of unknown type. */
    tx_event ev = event("M0404", TX_EPOCH_UNIX, TX_EVENT_REPLACE, NAN);
    assert_int_equal(tx_store_put_events(s, &ev, 1, NULL, &err), TX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "M0404"));
    ev = event("M0001", TX_EPOCH_UNIX, 7, NAN);
    assert_int_equal(tx_store_put_events(s, &ev, 1, NULL, &err), TX_EINVAL);
    tx_store_events(s, &n);
    assert_int_equal(n, 0);

    /* Empty puts are fine. */
    ok(tx_store_put_meters(s, NULL, 0, &changed, &err));
    assert_int_equal(changed, 0);
    close_store(s);
}

/* ---- series blocks ---------------------------------------------------------------------- */

/* A value per (row, slot) with awkward ones here and there: no reading, zero, negative,
 * the largest magnitude at 2 decimals. Values are decimals (an integer over a power of ten,
 * the way a parser makes them). Rows keep to 2 decimals, except row 5 (3 decimals from pass
 * 2 on: the row is raised) and row 6 (9 decimals). */
static double cell(size_t r, int64_t k, int pass)
{
    int odd = r == 5 || r == 6;
    switch ((r * 7 + (size_t)k) % 97) {
    case 0:
        return NAN;
    case 1:
        return 0.0;
    case 2:
        return -123456.78;
    case 3:
        if (!odd)
            return 9007199254740991.0 / 100.0; /* 2^53 - 1 hundredths */
        /* fall through */
    default:
        if (r == 5 && pass >= 2)
            return (double)(k + pass * 1000) / 1000.0;
        if (r == 6)
            return (double)(k % 1000 + pass * INT64_C(1000000000)) / 1e9;
        return (double)((int64_t)r * 100000 + k + pass * 100) / 100.0;
    }
}

static double *make_block(size_t r0, size_t nr, int64_t k0, size_t nk, int pass, uint8_t **q)
{
    double *v = test_malloc(nr * nk * sizeof *v);
    if (q)
        *q = test_malloc(nr * nk);
    for (size_t r = 0; r < nr; r++)
        for (size_t k = 0; k < nk; k++) {
            v[r * nk + k] = cell(r0 + r, k0 + (int64_t)k, pass);
            if (q)
                (*q)[r * nk + k] = (uint8_t)((r0 + r + (size_t)k0 + k + (size_t)pass) % 3);
        }
    return v;
}

static void write_cells(tx_store *s, int m, size_t r0, size_t nr, int64_t k0, size_t nk,
                        int pass, int with_quality)
{
    tx_err err = {0};
    uint8_t *q = NULL;
    double *v = make_block(r0, nr, k0, nk, pass, with_quality ? &q : NULL);
    ok(tx_store_write_block(s, m, r0, nr, k0, nk, v, q, &err));
    test_free(v);
    if (q)
        test_free(q);
}

/* Expected state of a grid: which pass last wrote each cell (-1 never), and which pass
 * last wrote its quality. */
typedef struct {
    size_t rows, slots;
    signed char *pass, *qpass;
} model;

static void model_write(model *md, size_t r0, size_t nr, int64_t k0, size_t nk, int pass,
                        int with_quality)
{
    for (size_t r = r0; r < r0 + nr && r < md->rows; r++)
        for (size_t k = (size_t)k0; k < (size_t)k0 + nk && k < md->slots; k++) {
            md->pass[r * md->slots + k] = (signed char)pass;
            if (with_quality)
                md->qpass[r * md->slots + k] = (signed char)pass;
        }
}

static void check_block(tx_store *s, int m, const model *md, size_t r0, size_t nr, int64_t k0,
                        size_t nk)
{
    tx_err err = {0};
    double *v = test_malloc(nr * nk * sizeof *v);
    uint8_t *q = test_malloc(nr * nk);
    memset(q, 0xee, nr * nk);
    ok(tx_store_read_block(s, m, r0, nr, k0, nk, v, q, &err));
    for (size_t r = 0; r < nr; r++)
        for (size_t k = 0; k < nk; k++) {
            size_t R = r0 + r, K = (size_t)k0 + k;
            int p = R < md->rows && K < md->slots ? md->pass[R * md->slots + K] : -1;
            int qp = R < md->rows && K < md->slots ? md->qpass[R * md->slots + K] : -1;
            double got = v[r * nk + k];
            if (p < 0) {
                if (!isnan(got))
                    fail_msg("cell %zu,%zu: %g, want NaN", R, K, got);
            } else if (!same_bits(got, cell(R, (int64_t)K, p))) {
                fail_msg("cell %zu,%zu: %.17g, want %.17g", R, K, got, cell(R, (int64_t)K, p));
            }
            uint8_t wq = qp < 0 ? 0 : (uint8_t)((R + K + (size_t)qp) % 3);
            if (q[r * nk + k] != wq)
                fail_msg("quality %zu,%zu: %d, want %d", R, K, q[r * nk + k], wq);
        }
    /* Without quality the values are the same. */
    double *v2 = test_malloc(nr * nk * sizeof *v2);
    ok(tx_store_read_block(s, m, r0, nr, k0, nk, v2, NULL, &err));
    assert_memory_equal(v, v2, nr * nk * sizeof *v);
    test_free(v2);
    test_free(v);
    test_free(q);
}

static void test_blocks(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "blocks");
    tx_store *s = open_store(path, 1);
    const int m = 15;
    const size_t CR = tx_store_chunk_rows(m), CS = tx_store_chunk_slots(m);
    model md = {3 * CR + 8, 3 * CS + 200, NULL, NULL};
    md.pass = test_malloc(md.rows * md.slots);
    md.qpass = test_malloc(md.rows * md.slots);
    memset(md.pass, -1, md.rows * md.slots);
    memset(md.qpass, -1, md.rows * md.slots);

    /* Nothing written yet: a read gives NaN and quality 0, and the grid is empty. */
    check_block(s, m, &md, 0, 3, 0, 10);
    assert_int_equal(tx_store_grid_slots(s, m), 0);

    /* One whole chunk, aligned. */
    write_cells(s, m, 0, CR, 0, CS, 1, 1);
    model_write(&md, 0, CR, 0, CS, 1, 1);
    assert_int_equal(tx_store_grid_slots(s, m), CS);
    check_block(s, m, &md, 0, CR, 0, CS);

    /* Unaligned, crossing chunk boundaries in both directions, without quality. */
    write_cells(s, m, CR - 3, 7, (int64_t)CS - 100, 250, 2, 0);
    model_write(&md, CR - 3, 7, (int64_t)CS - 100, 250, 2, 0);
    assert_int_equal(tx_store_grid_slots(s, m), CS + 150);
    check_block(s, m, &md, 0, 2 * CR, 0, 2 * CS);

    /* Beyond the current extent, leaving a hole of unwritten cells. */
    write_cells(s, m, 2 * CR + 5, 3, 2 * CS + 17, 40, 3, 1);
    model_write(&md, 2 * CR + 5, 3, 2 * CS + 17, 40, 3, 1);
    assert_int_equal(tx_store_grid_slots(s, m), 2 * CS + 57);

    /* Two aligned chunks wide, with quality. */
    write_cells(s, m, CR, CR, (int64_t)CS, 2 * CS, 4, 1);
    model_write(&md, CR, CR, (int64_t)CS, 2 * CS, 4, 1);

    /* Reads: everything, partly beyond the extent, wholly beyond it, single cells. */
    check_block(s, m, &md, 0, md.rows, 0, md.slots);
    check_block(s, m, &md, 2 * CR + 6, CR, 2 * CS + 50, 300);
    check_block(s, m, &md, md.rows - 1, 1, (int64_t)md.slots - 1, 1);
    check_block(s, m, &md, 5, 1, (int64_t)CS - 1, 2);
    check_block(s, m, &md, 0, 1, 1000000, 5);

    /* Zero-sized blocks do nothing; bad arguments are refused. */
    ok(tx_store_write_block(s, m, 0, 0, 0, 10, NULL, NULL, &err));
    ok(tx_store_read_block(s, m, 0, 5, 0, 0, NULL, NULL, &err));
    double v = 0;
    assert_int_equal(tx_store_write_block(s, 20, 0, 1, 0, 1, &v, NULL, &err), TX_EINVAL);
    assert_int_equal(tx_store_write_block(s, m, 0, 1, -1, 1, &v, NULL, &err), TX_ERANGE);
    assert_int_equal(tx_store_read_block(s, m, 0, 1, INT64_MAX, 1, &v, NULL, &err),
                     TX_ERANGE);
    assert_int_equal(tx_store_write_block(s, m, 0, 1, 0, 1, NULL, NULL, &err), TX_EINVAL);
    /* Other grids are untouched. */
    assert_int_equal(tx_store_grid_slots(s, 30), 0);
    close_store(s);

    /* The same content after reopening, read-only. */
    s = open_store(path, 0);
    assert_int_equal(tx_store_grid_slots(s, m), 3 * CS);
    check_block(s, m, &md, 0, md.rows, 0, md.slots);
    uint64_t bytes = 0;
    ok(tx_store_file_size(s, &bytes, &err));
    assert_true(bytes > 0);
    close_store(s);

    /* The daily grid: blocks of whole chunk rows (1536) are fine too. */
    s = open_store(path, 1);
    model d = {tx_store_chunk_rows(1440) + 2, 60, NULL, NULL};
    d.pass = test_malloc(d.rows * d.slots);
    d.qpass = test_malloc(d.rows * d.slots);
    memset(d.pass, -1, d.rows * d.slots);
    memset(d.qpass, -1, d.rows * d.slots);
    write_cells(s, 1440, 1, d.rows - 1, 3, 50, 5, 1);
    model_write(&d, 1, d.rows - 1, 3, 50, 5, 1);
    check_block(s, 1440, &d, 0, d.rows, 0, d.slots);
    close_store(s);

    test_free(d.pass);
    test_free(d.qpass);
    test_free(md.pass);
    test_free(md.qpass);
}

static void test_idempotent_write(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "idempotent");
    const int m = 30;
    const size_t nr = 40, nk = 3000; /* crosses chunk rows and slot chunks */
    const size_t cells = (nr + 6) * nk; /* read back with 3 unwritten rows on each side */
    uint8_t *q = NULL;
    double *v = make_block(3, nr, 500, nk, 0, &q);
    double *before = test_malloc(cells * sizeof *before);
    double *after = test_malloc(cells * sizeof *after);
    uint8_t *qb = test_malloc(cells), *qa = test_malloc(cells);

    tx_store *s = open_store(path, 1);
    ok(tx_store_write_block(s, m, 3, nr, 500, nk, v, q, &err));
    close_store(s);
    s = open_store(path, 0);
    ok(tx_store_read_block(s, m, 0, nr + 6, 400, nk, before, qb, &err));
    close_store(s);
    uint64_t size1 = 0, size2 = 0;

    /* A second writer of the same block, in a later session. */
    s = open_store(path, 1);
    ok(tx_store_file_size(s, &size1, &err));
    ok(tx_store_write_block(s, m, 3, nr, 500, nk, v, q, &err));
    ok(tx_store_flush(s, &err));
    ok(tx_store_file_size(s, &size2, &err));
    ok(tx_store_read_block(s, m, 0, nr + 6, 400, nk, after, qa, &err));
    close_store(s);
    assert_memory_equal(before, after, cells * sizeof *before);
    assert_memory_equal(qb, qa, cells);

    s = open_store(path, 0);
    assert_int_equal(tx_store_grid_slots(s, m), 500 + nk);
    ok(tx_store_read_block(s, m, 0, nr + 6, 400, nk, after, qa, &err));
    close_store(s);
    assert_memory_equal(before, after, cells * sizeof *before);
    assert_memory_equal(qb, qa, cells);
    /* Rewriting the same chunks reuses their space (same compressed sizes). */
    assert_true(size2 <= size1 + size1 / 10);

    test_free(v);
    test_free(q);
    test_free(before);
    test_free(after);
    test_free(qb);
    test_free(qa);
}

/* The catalogue is rewritten on flush only when changed, and rewriting it reuses space. */
static void test_flush(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "flush");
    tx_store *s = populated(path);
    uint64_t a = 0, b = 0, c = 0;
    ok(tx_store_flush(s, &err));
    ok(tx_store_file_size(s, &a, &err));
    ok(tx_store_flush(s, &err));
    ok(tx_store_file_size(s, &b, &err));
    assert_int_equal(a, b);
    for (int i = 0; i < 20; i++) {
        tx_meter m = meter(3, 3, 60);
        m.multiplier = 1.0 + i;
        ok(tx_store_put_meters(s, &m, 1, NULL, &err));
        ok(tx_store_flush(s, &err));
    }
    ok(tx_store_file_size(s, &c, &err));
    assert_true(c < 2 * a);
    close_store(s);
    for (int i = 0; i < 5; i++) {
        s = open_store(path, 1);
        tx_meter m = meter(3, 3, 60);
        m.multiplier = 100.0 + i;
        ok(tx_store_put_meters(s, &m, 1, NULL, &err));
        close_store(s);
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((uint64_t)st.st_size < 2 * a);
    s = open_store(path, 0);
    size_t n;
    const tx_meter *m = tx_store_meters(s, &n);
    assert_true(same_bits(m[3].multiplier, 104.0));
    close_store(s);
}

/* ---- what is not a store ---------------------------------------------------------------- */

static void test_open_errors(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    tx_store *s = (tx_store *)&err; /* set to NULL by failures */

    /* Absent, read-only. */
    test_path(path, sizeof path, "absent");
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, path));

    /* An HDF5 file that is not a store. */
    test_path(path, sizeof path, "plain");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Fclose(f);
    assert_int_equal(tx_store_open(path, 1, 3, &s, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "not a tanxiao store"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EINVAL);

    /* A store of another format version. */
    test_path(path, sizeof path, "version");
    s = open_store(path, 1);
    close_store(s);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    ok(tx_h5_attr_int64(f, "format_version", 1, &err));
    H5Fclose(f);
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "version 1"));

    /* A text file, an empty file and a directory. */
    test_path(path, sizeof path, "text");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("meter_id,timestamp,value\n", fp);
    fclose(fp);
    assert_int_equal(tx_store_open(path, 1, 3, &s, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "not a tanxiao store"));
    assert_non_null(strstr(err.msg, "not an HDF5 file"));
    test_path(path, sizeof path, "empty");
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EINVAL);
    assert_int_equal(tx_store_open(TEST_DIR, 0, 3, &s, &err), TX_EINVAL);
    /* A path through a file: stat fails with ENOTDIR, not ENOENT. */
    char through[600];
    snprintf(through, sizeof through, "%s/x.h5", path);
    assert_int_equal(tx_store_open(through, 1, 3, &s, &err), TX_EIO);
    assert_non_null(strstr(err.msg, through));

    /* A store whose catalogue lost a column. */
    test_path(path, sizeof path, "nocolumn");
    s = open_store(path, 1);
    close_store(s);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Ldelete(f, "/meters/carrier", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "/meters/carrier"));

    /* A grid group without datasets (a failed creation) is no grid; half a grid is an
     * error. */
    test_path(path, sizeof path, "halfgrid");
    s = open_store(path, 1);
    close_store(s);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t g = tx_h5_group(f, "/series/30min", &err);
    assert_true(g >= 0);
    H5Gclose(g);
    H5Fclose(f);
    s = open_store(path, 1);
    assert_int_equal(tx_store_grid_slots(s, 30), 0);
    double one = 1.0, back = 0.0;
    ok(tx_store_write_block(s, 30, 0, 1, 5, 1, &one, NULL, &err));
    close_store(s);
    s = open_store(path, 0);
    ok(tx_store_read_block(s, 30, 0, 1, 5, 1, &back, NULL, &err));
    assert_true(same_bits(back, 1.0));
    close_store(s);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Ldelete(f, "/series/30min/quality", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "/series/30min"));

    /* Where a store cannot be created. */
    assert_int_equal(tx_store_open(TX_BINARY_DIR "/no/such/dir/x.h5", 1, 3, &s, &err),
                     TX_EHDF5);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_int_equal(tx_store_open(NULL, 1, 3, &s, &err), TX_EINVAL);

    /* One writer, or readers only, within a process. */
    test_path(path, sizeof path, "twice");
    tx_store *w = open_store(path, 1);
    assert_int_equal(tx_store_open(path, 1, 3, &s, &err), TX_EEXIST);
    assert_non_null(strstr(err.msg, "already open"));
    assert_int_equal(tx_store_open(path, 0, 3, &s, &err), TX_EEXIST);
    close_store(w);
    tx_store *r1 = open_store(path, 0), *r2 = open_store(path, 0);
    close_store(r1);
    close_store(r2);

    /* NULL is a valid store to close. */
    assert_int_equal(tx_store_close(NULL, &err), TX_OK);
}

/* Values the store cannot keep exactly are refused whole, naming the cell; the store is as
 * it was. Decimals are what tx_store_decimals_of says. */
static void test_exactness(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    assert_int_equal(tx_store_decimals_of(12345.67), 2);
    assert_int_equal(tx_store_decimals_of(-0.0), 0);
    assert_int_equal(tx_store_decimals_of(100.0), 0);
    assert_int_equal(tx_store_decimals_of(0.1), 1);
    assert_int_equal(tx_store_decimals_of(0.123456789), 9);
    assert_int_equal(tx_store_decimals_of(0.1234567891), -1);
    assert_int_equal(tx_store_decimals_of(1.0 / 3.0), -1);
    assert_int_equal(tx_store_decimals_of(INFINITY), -1);
    assert_int_equal(tx_store_decimals_of(NAN), -1);
    assert_int_equal(tx_store_decimals_of(9007199254740992.0), -1); /* 2^53 */
    assert_int_equal(tx_store_decimals_of(9007199254740991.0), 0);
    assert_int_equal(tx_store_decimals_of(0.1 + 0.2), -1);          /* 0.30000000000000004 */

    test_path(path, sizeof path, "exact");
    tx_store *s = open_store(path, 1);
    double v[4] = {1.25, -0.0, 7.5, 3.0};
    ok(tx_store_write_block(s, 60, 2, 1, 10, 4, v, NULL, &err));
    double bad[4] = {1.5, 2.5, 1.0 / 3.0, 4.5};
    assert_int_equal(tx_store_write_block(s, 60, 2, 1, 10, 4, bad, NULL, &err), TX_ERANGE);
    assert_non_null(strstr(err.msg, "row 2, slot 12"));
    bad[2] = INFINITY;
    assert_int_equal(tx_store_write_block(s, 60, 2, 1, 10, 4, bad, NULL, &err), TX_ERANGE);
    /* A row at 9 decimals cannot take a value that is 2^53 or more at 9 decimals. */
    double fine = 0.000000001, big = 1e8;
    ok(tx_store_write_block(s, 60, 3, 1, 0, 1, &fine, NULL, &err));
    assert_int_equal(tx_store_write_block(s, 60, 3, 1, 1, 1, &big, NULL, &err), TX_ERANGE);
    /* A value with more decimals raises its row (the row's readings are rescaled) ... */
    ok(tx_store_write_block(s, 60, 2, 1, 20, 1, &fine, NULL, &err));
    /* ... unless a reading of the row would reach 2^53 at the new resolution: refused, and
     * the session goes on. */
    double large = 9007199254740991.0 / 100.0, milli = 0.001;
    ok(tx_store_write_block(s, 60, 8, 1, 0, 1, &large, NULL, &err));
    assert_int_equal(tx_store_write_block(s, 60, 8, 1, 1, 1, &milli, NULL, &err), TX_ERANGE);
    assert_non_null(strstr(err.msg, "row 8"));
    double back[4];
    ok(tx_store_read_block(s, 60, 2, 1, 10, 4, back, NULL, &err));
    assert_true(same_bits(back[0], 1.25) && same_bits(back[1], 0.0) &&
                same_bits(back[2], 7.5) && same_bits(back[3], 3.0));
    double huge = 9007199.254740991; /* 9 decimals, just below 2^53 of them */
    ok(tx_store_write_block(s, 60, 7, 1, 0, 1, &huge, NULL, &err));
    double more = 0.5; /* fine at 9 decimals */
    ok(tx_store_write_block(s, 60, 7, 1, 1, 1, &more, NULL, &err));
    close_store(s);
    s = open_store(path, 0);
    ok(tx_store_read_block(s, 60, 2, 1, 10, 4, back, NULL, &err));
    assert_true(same_bits(back[0], 1.25) && same_bits(back[2], 7.5));
    ok(tx_store_read_block(s, 60, 2, 1, 20, 1, back, NULL, &err));
    assert_true(same_bits(back[0], 0.000000001));
    ok(tx_store_read_block(s, 60, 7, 1, 0, 2, back, NULL, &err));
    assert_true(same_bits(back[0], huge) && same_bits(back[1], 0.5));
    ok(tx_store_read_block(s, 60, 8, 1, 0, 2, back, NULL, &err));
    assert_true(same_bits(back[0], large) && isnan(back[1]));
    close_store(s);
}

/* The chunks the store moves raw are the bytes HDF5's own pipeline (shuffle + zstd) writes
 * for the same cells, and HDF5 reads them back through that pipeline. */
/* Every value chunk the store at path holds for grid m is byte for byte what H5Dwrite of
 * the same cells through the same pipeline makes (a twin file); returns how many. */
static size_t chunks_as_pipeline(const char *path, const char *twin, int m)
{
    char name[64];
    snprintf(name, sizeof name, "/series/%dmin/value", m);
    const size_t CR = tx_store_chunk_rows(m), CS = tx_store_chunk_slots(m);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t dcpl = H5Dget_create_plist(ds);
    hid_t space = H5Dget_space(ds);
    hsize_t dims[2];
    assert_int_equal(H5Sget_simple_extent_dims(space, dims, NULL), 2);
    int64_t *cells = test_malloc(dims[0] * dims[1] * sizeof *cells);
    assert_true(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, cells) >= 0);
    hid_t g = H5Fcreate(twin, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dcpl >= 0 && space >= 0 && g >= 0);
    hid_t ds2 = H5Dcreate2(g, "value", H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds2 >= 0);
    assert_true(H5Dwrite(ds2, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, cells) >= 0);
    H5Dclose(ds2);
    H5Fclose(g);
    g = H5Fopen(twin, H5F_ACC_RDONLY, H5P_DEFAULT);
    ds2 = H5Dopen2(g, "value", H5P_DEFAULT);
    assert_true(ds2 >= 0);
    size_t compared = 0;
    for (size_t r = 0; r < dims[0]; r += CR)
        for (size_t k = 0; k < dims[1]; k += CS) {
            hsize_t off[2] = {r, k}, a = 0, b = 0;
            herr_t e;
            H5E_BEGIN_TRY { e = H5Dget_chunk_storage_size(ds, off, &a); } H5E_END_TRY;
            if (e < 0 || a == 0)
                continue; /* not stored: nothing to compare */
            assert_true(H5Dget_chunk_storage_size(ds2, off, &b) >= 0);
            assert_int_equal(a, b);
            unsigned char *x = test_malloc(a), *y = test_malloc(b);
            uint32_t fx = 7, fy = 7;
            assert_true(H5Dread_chunk(ds, H5P_DEFAULT, off, &fx, x) >= 0);
            assert_true(H5Dread_chunk(ds2, H5P_DEFAULT, off, &fy, y) >= 0);
            assert_int_equal(fx, 0);
            assert_int_equal(fy, 0);
            assert_memory_equal(x, y, a);
            test_free(x);
            test_free(y);
            compared++;
        }
    H5Dclose(ds2);
    H5Fclose(g);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(f);
    test_free(cells);
    return compared;
}

static void test_pipeline_bytes(void **state)
{
    (void)state;
    char path[512], twin[512];
    tx_err err = {0};
    const int m = 15;
    const size_t CR = tx_store_chunk_rows(m), CS = tx_store_chunk_slots(m);
    test_path(path, sizeof path, "pipeline");
    test_path(twin, sizeof twin, "pipeline_twin");
    tx_store *s = open_store(path, 1);
    uint8_t *q = NULL;
    const size_t nr = CR + 5, nk = 2 * CS + 77;
    double *v = make_block(0, nr, 0, nk, 1, &q);
    ok(tx_store_write_block(s, m, 0, nr, 0, nk, v, q, &err));
    close_store(s);

    /* The store's values through HDF5's pipeline: integers of hundredths, fill elsewhere. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "/series/15min/value", H5P_DEFAULT);
    assert_true(ds >= 0);
    int64_t *cells = test_malloc(nr * nk * sizeof *cells);
    assert_true(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, cells) >= 0);
    uint8_t dec[64];
    hid_t dd = H5Dopen2(f, "/series/15min/decimals", H5P_DEFAULT);
    assert_true(dd >= 0);
    assert_true(H5Dread(dd, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, dec) >= 0);
    H5Dclose(dd);
    for (size_t r = 0; r < nr; r++)
        for (size_t k = 0; k < nk; k++) {
            double want = v[r * nk + k];
            int64_t c = cells[r * nk + k];
            if (isnan(want))
                assert_true(c == INT64_MIN);
            else if ((double)c / pow(10, dec[r]) != want)
                fail_msg("cell %zu,%zu: %lld / 10^%d, want %.17g", r, k, (long long)c, dec[r],
                         want);
        }

    H5Dclose(ds);
    H5Fclose(f);
    test_free(cells);
    /* The same cells written by H5Dwrite through the same pipeline: identical chunks, all
     * six of them (the block covers 2 chunk rows and 3 chunk columns). */
    assert_int_equal(chunks_as_pipeline(path, twin, m), 2 * 3);
    test_free(v);
    test_free(q);
}

/* Ingest's merge: old values come back, equal cells change nothing (no working copy is
 * made: the file is untouched), new and different cells are written, rows are raised. */
static void test_merge(void **state)
{
    (void)state;
    char path[512];
    tx_err err = {0};
    test_path(path, sizeof path, "merge");
    const int m = 15;
    const size_t CS = tx_store_chunk_slots(m);
    tx_store *s = open_store(path, 1);
    double v[3] = {10.5, 11.25, NAN};
    ok(tx_store_write_block(s, m, 20, 1, (int64_t)CS + 5, 3, v, NULL, &err));
    close_store(s);

    /* Cells across three chunk rows of one window: one stored, one equal, one new row. */
    tx_store_cell cells[4] = {{.row = 3, .slot = (int64_t)CS + 1, .value = 1.5},
                              {.row = 20, .slot = (int64_t)CS + 5, .value = 10.5},
                              {.row = 20, .quality = 1, .slot = (int64_t)CS + 6, .value = 12.125},
                              {.row = 40, .quality = 2, .slot = (int64_t)CS + 9, .value = 7.0}};
    double old[4];
    uint8_t oldq[4];
    size_t changed = 99;
    s = open_store(path, 1);
    ok(tx_store_merge(s, m, cells, sizeof *cells, 4, old, oldq, &changed, &err));
    assert_int_equal(changed, 3);
    assert_true(isnan(old[0]) && same_bits(old[1], 10.5) && same_bits(old[2], 11.25) &&
                isnan(old[3]));
    assert_int_equal(oldq[1], 0);
    close_store(s);
    s = open_store(path, 0);
    double back[5];
    uint8_t q[5];
    ok(tx_store_read_block(s, m, 20, 1, (int64_t)CS + 5, 2, back, q, &err));
    assert_true(same_bits(back[0], 10.5) && same_bits(back[1], 12.125)); /* row raised */
    assert_int_equal(q[1], 1);
    ok(tx_store_read_block(s, m, 40, 1, (int64_t)CS + 9, 1, back, q, &err));
    assert_true(same_bits(back[0], 7.0) && q[0] == 2);
    close_store(s);

    /* The same cells again: nothing changes and the file is not rewritten. */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    s = open_store(path, 1);
    ok(tx_store_merge(s, m, cells, sizeof *cells, 4, old, oldq, &changed, &err));
    assert_int_equal(changed, 0);
    assert_true(same_bits(old[2], 12.125) && oldq[3] == 2);
    close_store(s);
    assert_int_equal(stat(path, &after), 0);
    /* Not rewritten: a commit in place would change its time, a copy its inode. */
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);

    /* Refused: unsorted cells, two windows, a value that cannot be stored. */
    s = open_store(path, 1);
    tx_store_cell bad[2] = {{.row = 5, .slot = (int64_t)CS + 2, .value = 1.0},
                            {.row = 4, .slot = (int64_t)CS + 2, .value = 1.0}};
    assert_int_equal(tx_store_merge(s, m, bad, sizeof *bad, 2, old, oldq, &changed, &err), TX_EINVAL);
    tx_store_cell rows[3] = {{.row = 0, .slot = (int64_t)CS, .value = 1.0},
                             {.row = 9, .slot = (int64_t)CS, .value = 1.0},
                             {.row = 2, .slot = (int64_t)CS, .value = 1.0}}; /* a row beyond the last */
    assert_int_equal(tx_store_merge(s, m, rows, sizeof *rows, 3, old, oldq, &changed, &err), TX_EINVAL);
    bad[1] = (tx_store_cell){.row = 6, .slot = 2 * (int64_t)CS, .value = 1.0};
    assert_int_equal(tx_store_merge(s, m, bad, sizeof *bad, 2, old, oldq, &changed, &err), TX_EINVAL);
    bad[1] = (tx_store_cell){.row = 6, .slot = (int64_t)CS + 2, .value = 1.0 / 3.0};
    assert_int_equal(tx_store_merge(s, m, bad, sizeof *bad, 2, old, oldq, &changed, &err), TX_ERANGE);
    /* Decimals given by the caller: right ones are taken, wrong ones are caught as the cell
     * is stored (12.375 is not 12.4), and nothing is written. */
    tx_store_cell given[2] = {{.row = 41, .decimals = 1 + 1, .slot = (int64_t)CS + 3, .value = 2.5},
                              {.row = 41, .decimals = 3 + 1, .slot = (int64_t)CS + 4, .value = 0.125}};
    ok(tx_store_merge(s, m, given, sizeof *given, 2, old, oldq, &changed, &err));
    assert_int_equal(changed, 2);
    given[1].row = 42; /* a row of its own, whose resolution the claim sets */
    given[1].value = 12.375;
    given[1].decimals = 1 + 1;
    err.msg[0] = '\0';
    assert_int_equal(tx_store_merge(s, m, given, sizeof *given, 2, old, oldq, &changed, &err), TX_ERANGE);
    assert_non_null(strstr(err.msg, "exactly"));
    /* The session failed: nothing of it is saved, not even the first merge. */
    assert_int_equal(tx_store_close(s, &err), TX_ERANGE);
    s = open_store(path, 0);
    ok(tx_store_read_block(s, m, 41, 1, (int64_t)CS + 3, 2, back, q, &err));
    assert_true(isnan(back[0]) && isnan(back[1]));
    close_store(s);
}

/* The merge edits a chunk's byte planes without unshuffling it: what it writes is still
 * byte for byte the pipeline's chunk of the merged cells, over stored chunks (values of
 * every width, negative, fill) and new ones, and the cells read back as merged. */
static void test_merge_pipeline_bytes(void **state)
{
    (void)state;
    char path[512], twin[512];
    tx_err err = {0};
    const int m = 15;
    const size_t CR = tx_store_chunk_rows(m), CS = tx_store_chunk_slots(m);
    test_path(path, sizeof path, "merge_bytes");
    test_path(twin, sizeof twin, "merge_bytes_twin");
    tx_store *s = open_store(path, 1);
    const size_t nr = CR + 5;
    write_cells(s, m, 0, nr, (int64_t)CS, CS, 0, 1); /* one window, two chunk rows */
    close_store(s);

    /* Every 7th cell of rows 0 .. 2 CR + 2 (the third chunk row is new), new values of
     * several widths, cells that were fill among them. */
    const size_t nrows = 2 * CR + 3;
    size_t n = 0, cap = nrows * (CS / 7 + 1);
    /* Cells inside larger records of the caller's, as ingest passes its readings. */
    typedef struct {
        tx_store_cell c;
        uint64_t tag;
    } rec;
    rec *cells = test_malloc(cap * sizeof *cells);
    for (size_t r = 0; r < nrows; r++)
        for (size_t k = r % 7; k < CS; k += 7) {
            const double u = (double)((r * 131 + k * 7919) % 1000003);
            const double v = k % 3 ? u / 100.0 : u; /* row 6 keeps 9 decimals */
            cells[n].tag = ~(uint64_t)n; /* not a cell's: the stride skips it */
            cells[n++].c = (tx_store_cell){.row = (uint32_t)r, .quality = (uint8_t)(k % 2),
                                           .slot = (int64_t)(CS + k), .value = v};
        }
    double *old = test_malloc(n * sizeof *old);
    uint8_t *oldq = test_malloc(n);
    size_t changed = 0;
    s = open_store(path, 1);
    ok(tx_store_merge(s, m, &cells[0].c, sizeof *cells, n, old, oldq, &changed, &err));
    close_store(s);
    /* Each row's values, as stored before the merge, came back as old; the cells whose
     * value or quality differ from them are the ones counted changed. */
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        const int stored = cells[i].c.row < nr;
        double want = stored ? cell(cells[i].c.row, cells[i].c.slot, 0) : NAN;
        uint8_t wantq = stored ? (uint8_t)((cells[i].c.row + (size_t)cells[i].c.slot) % 3) : 0;
        if (isnan(want))
            assert_true(isnan(old[i]));
        else if (!same_bits(old[i], want))
            fail_msg("cell %zu: old %.17g, want %.17g", i, old[i], want);
        assert_int_equal(oldq[i], wantq);
        differ += !same_bits(want, cells[i].c.value) || wantq != cells[i].c.quality;
    }
    assert_int_equal(changed, differ);
    assert_true(differ > n / 2);
    assert_int_equal(chunks_as_pipeline(path, twin, m), 3);
    s = open_store(path, 0);
    double *back = test_malloc(nrows * CS * sizeof *back);
    uint8_t *q = test_malloc(nrows * CS);
    ok(tx_store_read_block(s, m, 0, nrows, (int64_t)CS, CS, back, q, &err));
    for (size_t i = 0; i < n; i++) {
        size_t at = cells[i].c.row * CS + (size_t)(cells[i].c.slot - (int64_t)CS);
        assert_true(same_bits(back[at], cells[i].c.value));
        assert_int_equal(q[at], cells[i].c.quality);
    }
    close_store(s);
    test_free(back);
    test_free(q);
    test_free(old);
    test_free(oldq);
    test_free(cells);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot),
        cmocka_unit_test(test_catalogue_roundtrip),
        cmocka_unit_test(test_catalogue_lookup_many),
        cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_upsert_repeated_ids),
        cmocka_unit_test(test_put_rejects),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_idempotent_write),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_exactness),
        cmocka_unit_test(test_pipeline_bytes),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_pipeline_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
