/* test_products.c - product energy benchmarks (METHOD.md section 7): the shipped table, the
 * class boundaries, the products.csv row parser with every reason it gives, the file reader,
 * period aggregation (annual against monthly rows, incomplete periods, later rows winning)
 * and the allocation failure paths of the loaders.
 *
 * Allocation checks: buffers handed to the module (workspace, results) are cmocka
 * test_malloc blocks of the exact size, so a write past them fails the test; the engine's
 * own malloc/calloc/realloc/free are wrapped at link time (--wrap, tests/CMakeLists.txt) to
 * count live blocks and to fail the Nth allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "products.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLES TX_SOURCE_DIR "/datasets/tables"
#define WORK TX_BINARY_DIR "/tests/products_work"

/* ---- allocation wrappers: live-block count and failure of the Nth allocation ------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long alloc_live;    /* blocks allocated through the wrappers and not freed */
static long alloc_fail_in; /* 0: never fail; k > 0: the k-th allocation from now fails */

static int alloc_fails(void)
{
    return alloc_fail_in > 0 && --alloc_fail_in == 0;
}

void *__wrap_malloc(size_t n)
{
    if (alloc_fails())
        return NULL;
    void *p = __real_malloc(n);
    alloc_live += p != NULL;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (alloc_fails())
        return NULL;
    void *p = __real_calloc(n, size);
    alloc_live += p != NULL;
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (alloc_fails())
        return NULL;
    void *q = __real_realloc(p, n);
    alloc_live += q != NULL && p == NULL;
    return q;
}

void __wrap_free(void *p)
{
    alloc_live -= p != NULL;
    __real_free(p);
}

/* ---- fixtures ------------------------------------------------------------------------- */

static tx_products table;
static char uscc[3][TX_USCC_LEN + 1];

static void make_uscc(char out[TX_USCC_LEN + 1], const char *first17)
{
    memcpy(out, first17, 17);
    out[17] = tx_uscc_check_char(first17);
    out[18] = 0;
}

static int setup(void **state)
{
    (void)state;
    tx_err err = {0};
    int rc = tx_products_load(TABLES, &table, &err);
    if (rc)
        fprintf(stderr, "products table: %s\n", err.msg);
    make_uscc(uscc[0], "91330212MA2A00001");
    make_uscc(uscc[1], "91330206MA2A00002");
    make_uscc(uscc[2], "91330281MA2A00003");
    if (system("rm -rf " WORK " && mkdir -p " WORK) != 0)
        return -1;
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int product(const char *id)
{
    int k = tx_products_find(&table, id, strlen(id));
    assert_true(k >= 0);
    return k;
}

/* A period as the CLI makes it: "2025", "2025-03", "2025-01..2025-09", "2024-10..2025-09". */
static tx_period period(const char *text)
{
    tx_period p;
    tx_err err = {0};
    if (tx_period_parse(text, &p, &err))
        fail_msg("period '%s': %s", text, err.msg);
    return p;
}

/* ---- the table ------------------------------------------------------------------------ */

static void check_product(const char *id, const char *name, const char *out_unit,
                          const char *energy_unit, const char *specific_unit, double benchmark,
                          double baseline, int edition, char tag)
{
    const tx_product *p = &table.p[product(id)];
    assert_string_equal(p->id, id);
    assert_string_equal(p->name, name);
    assert_string_equal(p->output_unit, out_unit);
    assert_string_equal(p->energy_unit, energy_unit);
    assert_string_equal(p->specific_unit, specific_unit);
    assert_true(p->benchmark == benchmark);
    assert_true(p->baseline == baseline);
    assert_int_equal(p->edition, edition);
    assert_int_equal(p->tag, tag);
}

/* The shipped rows are exactly METHOD.md section 7's. */
static void test_shipped_table(void **state)
{
    (void)state;
    assert_int_equal(table.n, 4);
    check_product("oil_refining", "炼油", "t x energy factor", "kgoe",
                  "kgoe/(t x energy factor)", 7.5, 8.5, 2021, 'C');
    check_product("cement_clinker", "水泥熟料", "t", "kgce", "kgce/t", 100, 117, 2021, 'C');
    check_product("silicomanganese", "硅锰合金", "t", "kgce", "kgce/t", 860, 950, 2023, 'S');
    check_product("ferrosilicon", "硅铁", "t", "kgce", "kgce/t", 1770, 1850, 2023, 'S');
    assert_int_equal(tx_products_find(&table, "cement", 6), -1);
    assert_int_equal(tx_products_find(&table, "cement_clinker_x", 16), -1);
    assert_true(table.checksum != 0 && table.bytes > 0);
}

/* Writes dir/product_benchmarks.csv and loads it: the code, and the message's substring. */
static void load_fails(const char *text, int code, const char *want)
{
    write_file(WORK "/" TX_PRODUCTS_FILE, text);
    tx_products t;
    tx_err err = {0};
    long live = alloc_live;
    assert_int_equal(tx_products_load(WORK, &t, &err), code);
    assert_int_equal(alloc_live, live);
    assert_int_equal(t.n, 0);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

#define HDR0 "product,name,output_unit,energy_unit,specific_unit,benchmark,baseline,edition,tag"
#define HDR HDR0 ",source\n"
#define ROW(id, bm, bl, ed, tag) id ",名,t,kgce,kgce/t," bm "," bl "," ed "," tag ",src\n"

static void test_table_errors(void **state)
{
    (void)state;
    tx_products t;
    tx_err err = {0};
    assert_int_equal(tx_products_load(WORK "/nowhere", &t, &err), TX_ENOTFOUND);
    assert_int_equal(tx_products_load(NULL, &t, &err), TX_EINVAL);

    load_fails(HDR0 "\n", TX_EPARSE, "missing required column 'source'");
    load_fails(HDR ROW("a", "1", "2", "2021", "C") "b,名,t\n", TX_ETABLE,
               TX_PRODUCTS_FILE ":3: too few fields");
    load_fails(HDR ROW("a", "1", "2", "2021", "C") ROW("a", "1", "2", "2021", "C"), TX_ETABLE,
               ":3: duplicate product id");
    load_fails(HDR ROW("Cement", "1", "2", "2021", "C"), TX_ETABLE, ":2: product id must be");
    load_fails(HDR ROW("", "1", "2", "2021", "C"), TX_ETABLE, "product id must be");
    load_fails(HDR ROW("a23456789012345678901234567890123", "1", "2", "2021", "C"), TX_ETABLE,
               "product id must be");
    load_fails(HDR ROW("a", "0", "2", "2021", "C"), TX_ETABLE, "benchmark must be");
    load_fails(HDR ROW("a", "x", "2", "2021", "C"), TX_ETABLE, "benchmark must be");
    load_fails(HDR ROW("a", "1e999", "2", "2021", "C"), TX_ETABLE, "benchmark must be");
    load_fails(HDR ROW("a", "2", "1", "2021", "C"), TX_ETABLE, "baseline must be");
    load_fails(HDR ROW("a", "2", "", "2021", "C"), TX_ETABLE, "baseline must be");
    load_fails(HDR ROW("a", "1", "2", "21", "C"), TX_ETABLE, "edition must be");
    load_fails(HDR ROW("a", "1", "2", "2021", "X"), TX_ETABLE, "tag must be");
    load_fails(HDR ROW("a", "1", "2", "2021", "CS"), TX_ETABLE, "tag must be");
    load_fails(HDR "a,,t,kgce,kgce/t,1,2,2021,C,s\n", TX_ETABLE, "name must be");
    load_fails(HDR "a,n,t,,kgce/t,1,2,2021,C,s\n", TX_ETABLE, "units must be");
    load_fails(HDR "a,n,\"t\nt\",kgce,kgce/t,1,2,2021,C,\"unterminated\n", TX_EPARSE,
               ":3: unterminated quoted field");

    /* Equal benchmark and baseline is allowed (no "between" band); more than 64 rows not. */
    char *big = test_malloc(80 * 64 + sizeof HDR);
    size_t len = (size_t)sprintf(big, HDR);
    for (int i = 0; i < TX_PRODUCTS_MAX + 1; i++)
        len += (size_t)sprintf(big + len, "p%d,名,t,kgce,kgce/t,5,5,2023,U,s\n", i);
    load_fails(big, TX_ETABLE, ":66: too many products");
    big[len - strlen("p64,名,t,kgce,kgce/t,5,5,2023,U,s\n")] = 0;
    write_file(WORK "/" TX_PRODUCTS_FILE, big);
    test_free(big);
    assert_int_equal(tx_products_load(WORK, &t, &err), 0);
    assert_int_equal(t.n, TX_PRODUCTS_MAX);
    assert_string_equal(t.p[63].id, "p63");
    assert_int_equal(t.p[63].tag, 'U');
    double s;
    assert_int_equal(tx_products_classify(&t.p[0], 1, 5, &s, NULL), TX_PRODUCT_BENCHMARK);
    assert_int_equal(tx_products_classify(&t.p[0], 1, nextafter(5, 6), &s, NULL),
                     TX_PRODUCT_BELOW_BASELINE);
}

/* ---- classification ------------------------------------------------------------------- */

static void expect_class(const char *id, double output, double energy, int cls, int why)
{
    double specific = -1;
    int w = -1;
    assert_int_equal(tx_products_classify(&table.p[product(id)], output, energy, &specific, &w),
                     cls);
    assert_int_equal(w, why);
    if (cls == TX_PRODUCT_UNCLASSIFIED)
        assert_true(isnan(specific));
    else
        assert_true(specific == energy / output);
}

static void test_class_boundaries(void **state)
{
    (void)state;
    const int N = TX_PRODUCT_WHY_NONE;
    /* cement clinker 100 / 117 kgce/t */
    expect_class("cement_clinker", 1000, 95000, TX_PRODUCT_BENCHMARK, N);
    expect_class("cement_clinker", 1000, 100000, TX_PRODUCT_BENCHMARK, N); /* exactly 100 */
    expect_class("cement_clinker", 1, nextafter(100, 200), TX_PRODUCT_BETWEEN, N);
    expect_class("cement_clinker", 1000, 100001, TX_PRODUCT_BETWEEN, N);
    expect_class("cement_clinker", 1000, 117000, TX_PRODUCT_BETWEEN, N); /* exactly 117 */
    expect_class("cement_clinker", 1, nextafter(117, 200), TX_PRODUCT_BELOW_BASELINE, N);
    expect_class("cement_clinker", 1000, 117001, TX_PRODUCT_BELOW_BASELINE, N);
    /* refining 7.5 / 8.5 kgoe per t and energy factor */
    expect_class("oil_refining", 2, 15, TX_PRODUCT_BENCHMARK, N);
    expect_class("oil_refining", 2, 17, TX_PRODUCT_BETWEEN, N);
    expect_class("oil_refining", 2, 17.0000001, TX_PRODUCT_BELOW_BASELINE, N);
    /* ferroalloys */
    expect_class("silicomanganese", 10, 8600, TX_PRODUCT_BENCHMARK, N);
    expect_class("silicomanganese", 10, 9500, TX_PRODUCT_BETWEEN, N);
    expect_class("silicomanganese", 10, 9501, TX_PRODUCT_BELOW_BASELINE, N);
    expect_class("ferrosilicon", 4, 7080, TX_PRODUCT_BENCHMARK, N);
    expect_class("ferrosilicon", 4, 7400, TX_PRODUCT_BETWEEN, N);
    expect_class("ferrosilicon", 4, 7400.01, TX_PRODUCT_BELOW_BASELINE, N);
    expect_class("ferrosilicon", 4, 0, TX_PRODUCT_BENCHMARK, N);
    /* not classified, with the reason in its order of precedence */
    expect_class("cement_clinker", 0, 100, TX_PRODUCT_UNCLASSIFIED, TX_PRODUCT_WHY_ZERO_OUTPUT);
    expect_class("cement_clinker", -0.0, 0, TX_PRODUCT_UNCLASSIFIED,
                 TX_PRODUCT_WHY_ZERO_OUTPUT);
    expect_class("cement_clinker", -5, 100, TX_PRODUCT_UNCLASSIFIED,
                 TX_PRODUCT_WHY_ZERO_OUTPUT);
    expect_class("cement_clinker", NAN, 100, TX_PRODUCT_UNCLASSIFIED, TX_PRODUCT_WHY_NO_OUTPUT);
    expect_class("cement_clinker", NAN, NAN, TX_PRODUCT_UNCLASSIFIED, TX_PRODUCT_WHY_NO_OUTPUT);
    expect_class("cement_clinker", INFINITY, 1, TX_PRODUCT_UNCLASSIFIED,
                 TX_PRODUCT_WHY_NO_OUTPUT);
    expect_class("cement_clinker", 0, NAN, TX_PRODUCT_UNCLASSIFIED, TX_PRODUCT_WHY_ZERO_OUTPUT);
    expect_class("cement_clinker", 10, NAN, TX_PRODUCT_UNCLASSIFIED, TX_PRODUCT_WHY_NO_ENERGY);
    expect_class("cement_clinker", 10, INFINITY, TX_PRODUCT_UNCLASSIFIED,
                 TX_PRODUCT_WHY_NO_ENERGY);
    /* a ratio that overflows is still the worst class, not "unclassified" */
    double s;
    assert_int_equal(tx_products_classify(&table.p[product("cement_clinker")], 1e-300, 1e300,
                                          &s, NULL),
                     TX_PRODUCT_BELOW_BASELINE);
    assert_true(isinf(s));

    assert_string_equal(tx_products_class_name(0), "not classified");
    assert_string_equal(tx_products_class_name(1), "at or better than benchmark");
    assert_string_equal(tx_products_class_name(2), "between");
    assert_string_equal(tx_products_class_name(3), "below baseline");
    assert_string_equal(tx_products_class_name(4), "unknown class");
    assert_string_equal(tx_products_why_message(TX_PRODUCT_WHY_NONE), "");
    assert_string_equal(tx_products_why_message(TX_PRODUCT_WHY_ZERO_OUTPUT), "output <= 0");
    assert_string_equal(tx_products_why_message(TX_PRODUCT_WHY_NO_OUTPUT),
                        "output not reported");
    assert_string_equal(tx_products_why_message(TX_PRODUCT_WHY_NO_ENERGY),
                        "energy not reported");
    assert_string_equal(tx_products_why_message(-1), "unknown reason");
    assert_string_equal(tx_products_why_message(TX_PRODUCT_WHY_COUNT), "unknown reason");
}

/* ---- products.csv rows ---------------------------------------------------------------- */

/* Parses the one data row of header + line; returns the reason and fills r, detail. */
static int parse_one(const char *header, const char *line, tx_product_row *r,
                     const char **detail)
{
    char text[1024];
    snprintf(text, sizeof text, "%s\n%s\n", header, line);
    tx_csv *c = NULL;
    tx_err err = {0};
    assert_int_equal(tx_csv_open_mem("products.csv", text, strlen(text), &c, &err), 0);
    int col[8];
    assert_int_equal(tx_input_header(c, &tx_cols_products, col, NULL, NULL, 0, &err), 0);
    tx_csv_row row;
    assert_int_equal(tx_csv_next(c, &row, &err), 1);
    int reason = tx_products_parse_row(&row, col, &table, r, detail);
    tx_csv_free(c);
    return reason;
}

#define PHDR "enterprise_id,period,product,output,energy"

static void expect_reject(const char *fmt, const char *id, int reason, const char *detail_part)
{
    char line[512];
    snprintf(line, sizeof line, fmt, id);
    tx_product_row r;
    const char *detail = NULL;
    int got = parse_one(PHDR, line, &r, &detail);
    if (got != reason)
        fail_msg("'%s': reason %s, expected %s", line, got < 0 ? "OK" : tx_reject_name(got),
                 tx_reject_name(reason));
    if (detail_part) {
        assert_non_null(detail);
        if (!strstr(detail, detail_part))
            fail_msg("'%s': detail '%s' lacks '%s'", line, detail, detail_part);
    }
}

static void test_rows(void **state)
{
    (void)state;
    tx_product_row r;
    const char *detail = "x";
    char line[256];

    snprintf(line, sizeof line, "%s,2025,cement_clinker,120000,12600000", uscc[0]);
    assert_int_equal(parse_one(PHDR, line, &r, &detail), TX_INPUT_OK);
    assert_null(detail);
    assert_string_equal(r.enterprise_id, uscc[0]);
    assert_int_equal(r.year, 2025);
    assert_int_equal(r.month, 0);
    assert_int_equal(r.product, product("cement_clinker"));
    assert_true(r.output == 120000 && r.energy == 12600000);

    /* columns in another order, spaces around fields, a month, an extra column */
    snprintf(line, sizeof line, " 1.5e3 , %s ,ferrosilicon, 2025-03 ,2700000,x", uscc[1]);
    assert_int_equal(parse_one("output,enterprise_id,product,period,energy,note", line, &r,
                               &detail),
                     TX_INPUT_OK);
    assert_string_equal(r.enterprise_id, uscc[1]);
    assert_int_equal(r.year, 2025);
    assert_int_equal(r.month, 3);
    assert_int_equal(r.product, product("ferrosilicon"));
    assert_true(r.output == 1500 && r.energy == 2700000);

    /* blank output or energy: not reported, kept */
    snprintf(line, sizeof line, "%s,2025-12,oil_refining, ,", uscc[2]);
    assert_int_equal(parse_one(PHDR, line, &r, &detail), TX_INPUT_OK);
    assert_int_equal(r.month, 12);
    assert_true(isnan(r.output) && isnan(r.energy));
    snprintf(line, sizeof line, "%s,2025,oil_refining,0,0", uscc[2]);
    assert_int_equal(parse_one(PHDR, line, &r, &detail), TX_INPUT_OK);
    assert_true(r.output == 0 && r.energy == 0);

    /* every reason the parser gives */
    expect_reject("%s,2025,cement_clinker,1", uscc[0], TX_REJECT_TOO_FEW_FIELDS, NULL);
    expect_reject("%s", uscc[0], TX_REJECT_TOO_FEW_FIELDS, NULL);
    expect_reject(" %.0s,2025,cement_clinker,1,1", uscc[0], TX_REJECT_MISSING_FIELD, NULL);
    expect_reject("%s,,cement_clinker,1,1", uscc[0], TX_REJECT_MISSING_FIELD, NULL);
    expect_reject("%s,2025,\t,1,1", uscc[0], TX_REJECT_MISSING_FIELD, NULL);
    expect_reject("%.17sX,2025,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_USCC, NULL);
    expect_reject("%.17s,2025,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_USCC, NULL);
    expect_reject("%s,2025-13,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "YYYY");
    expect_reject("%s,2025-00,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "YYYY");
    expect_reject("%s,2025-3,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "YYYY");
    expect_reject("%s,25,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "YYYY");
    expect_reject("%s,1899,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "YYYY");
    expect_reject("%s,2025-01..2025-03,cement_clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE,
                  "YYYY");
    expect_reject("%s,2025,cement,1,1", uscc[0], TX_REJECT_BAD_VALUE,
                  "unknown product id (not in product_benchmarks.csv)");
    expect_reject("%s,2025,Cement_Clinker,1,1", uscc[0], TX_REJECT_BAD_VALUE, "unknown product");
    expect_reject("%s,2025,cement_clinker,abc,1", uscc[0], TX_REJECT_BAD_NUMBER, "output");
    expect_reject("%s,2025,cement_clinker,\"1,000\",1", uscc[0], TX_REJECT_BAD_NUMBER,
                  "output");
    expect_reject("%s,2025,cement_clinker,1,nan", uscc[0], TX_REJECT_BAD_NUMBER, "energy");
    expect_reject("%s,2025,cement_clinker,1e999,1", uscc[0], TX_REJECT_NOT_FINITE, "output");
    expect_reject("%s,2025,cement_clinker,1,-1e999", uscc[0], TX_REJECT_NOT_FINITE, "energy");
    expect_reject("%s,2025,cement_clinker,-1,1", uscc[0], TX_REJECT_BAD_VALUE, "output");
    expect_reject("%s,2025,cement_clinker,1,-0.5", uscc[0], TX_REJECT_BAD_VALUE, "energy");
}

/* ---- products.csv files --------------------------------------------------------------- */

typedef struct {
    int n;
    uint64_t line[16];
    int reason[16];
} rejects;

static void on_reject(void *arg, const tx_csv_row *row, int reason, const char *detail)
{
    (void)detail;
    rejects *r = arg;
    if (r->n < 16) {
        r->line[r->n] = row->line;
        r->reason[r->n] = reason;
    }
    r->n++;
}

#define PRODUCTS WORK "/products.csv"

static void test_read_file(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "\xEF\xBB\xBF" PHDR ",comment\r\n"
             "%s,2025,cement_clinker,1000,105000,\"a, b\"\r\n"
             "%s,2025-01,silicomanganese,10,9000,\r\n"
             "\r\n"
             "%s,2025,clinker,1,1,\r\n"
             "%s,2025-02,silicomanganese,-1,9000,\r\n"
             "%.17sX,2025,cement_clinker,1,1\r\n"
             "%s,2025\r\n"
             "%s,2025-02,ferrosilicon,,,\r\n",
             uscc[0], uscc[1], uscc[0], uscc[1], uscc[2], uscc[2], uscc[2]);
    write_file(PRODUCTS, text);
    tx_product_rows *rows = NULL;
    rejects rj = {0};
    tx_err err = {0};
    long live = alloc_live;
    assert_int_equal(tx_products_read_new(PRODUCTS, &table, on_reject, &rj, &rows, &err), 0);
    assert_non_null(rows);
    assert_int_equal(rows->lines, 7);
    assert_int_equal(rows->n, 3);
    assert_int_equal(rows->rejected, 4);
    assert_int_equal(rows->reasons[TX_REJECT_BAD_VALUE], 2);
    assert_int_equal(rows->reasons[TX_REJECT_BAD_USCC], 1);
    assert_int_equal(rows->reasons[TX_REJECT_TOO_FEW_FIELDS], 1);
    assert_true(rows->bytes == strlen(text) && rows->checksum != 0);
    assert_int_equal(rj.n, 4);
    static const uint64_t want_line[] = {5, 6, 7, 8};
    static const int want_reason[] = {TX_REJECT_BAD_VALUE, TX_REJECT_BAD_VALUE,
                                      TX_REJECT_BAD_USCC, TX_REJECT_TOO_FEW_FIELDS};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rj.line[i], want_line[i]);
        assert_int_equal(rj.reason[i], want_reason[i]);
    }
    assert_string_equal(rows->rows[0].enterprise_id, uscc[0]);
    assert_int_equal(rows->rows[1].month, 1);
    assert_int_equal(rows->rows[2].product, product("ferrosilicon"));
    assert_true(isnan(rows->rows[2].output));
    tx_product_rows_free(rows);
    tx_product_rows_free(NULL);
    assert_int_equal(alloc_live, live);

    /* No callback; no data rows. */
    write_file(PRODUCTS, PHDR "\n");
    assert_int_equal(tx_products_read_new(PRODUCTS, &table, NULL, NULL, &rows, &err), 0);
    assert_int_equal(rows->n, 0);
    assert_int_equal(rows->lines, 0);
    tx_product_rows_free(rows);

    /* Files that cannot be read: absent (optional: the caller decides), a missing column,
     * a truncated last row, not UTF-8. */
    assert_int_equal(tx_products_read_new(WORK "/absent.csv", &table, NULL, NULL, &rows, &err),
                     TX_ENOTFOUND);
    assert_null(rows);
    write_file(PRODUCTS, "enterprise_id,period,product,output\n");
    assert_int_equal(tx_products_read_new(PRODUCTS, &table, NULL, NULL, &rows, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, "missing required column 'energy'"));
    assert_null(rows);
    snprintf(text, sizeof text, PHDR "\n%s,2025,cement_clinker,1", uscc[0]);
    write_file(PRODUCTS, text);
    assert_int_equal(tx_products_read_new(PRODUCTS, &table, NULL, NULL, &rows, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, "products.csv:2: truncated"));
    write_file(PRODUCTS, PHDR "\n\xC4\xFE\n");
    assert_int_equal(tx_products_read_new(PRODUCTS, &table, NULL, NULL, &rows, &err), TX_EPARSE);
    assert_null(rows);
    assert_int_equal(tx_products_read_new(NULL, &table, NULL, NULL, &rows, &err), TX_EINVAL);
    assert_int_equal(alloc_live, live);
}

/* ---- aggregation ---------------------------------------------------------------------- */

static tx_product_row mk(int e, int year, int month, const char *prod, double output,
                         double energy)
{
    tx_product_row r;
    memset(&r, 0, sizeof r);
    memcpy(r.enterprise_id, uscc[e], sizeof r.enterprise_id);
    r.year = year;
    r.month = month;
    r.product = product(prod);
    r.output = output;
    r.energy = energy;
    return r;
}

/* Aggregates with a workspace and a result array of exactly the sizes asked for (cmocka
 * guards catch writes past them); returns the code, the results copied to res. */
static int aggregate(const tx_product_row *rows, size_t n, tx_period per, size_t cap,
                     tx_product_result *res, size_t *nout, size_t *replaced)
{
    size_t ws = tx_products_aggregate_wksp_size(n);
    void *wksp = test_malloc(ws);
    tx_product_result *out = cap ? test_malloc(cap * sizeof *out) : NULL;
    int rc = tx_products_aggregate(&table, rows, n, &per, wksp, ws, out, cap, nout, replaced);
    if (rc == 0 && *nout)
        memcpy(res, out, *nout * sizeof *out);
    test_free(out);
    test_free(wksp);
    return rc;
}

static void test_annual_vs_monthly(void **state)
{
    (void)state;
    tx_product_row rows[64];
    size_t n = 0;
    /* enterprise 1, cement: an annual row (12 000 t, 1 188 000 kgce: 99 kgce/t) and all 12
     * months at 110 kgce/t; the annual row decides a whole year, the months a range. */
    rows[n++] = mk(1, 2025, 0, "cement_clinker", 12000, 1188000);
    for (int m = 1; m <= 12; m++)
        rows[n++] = mk(1, 2025, m, "cement_clinker", 1000, 110000);
    /* enterprise 0, ferrosilicon: months only, all 12, summing to 1800 kgce/t */
    for (int m = 12; m >= 1; m--)
        rows[n++] = mk(0, 2025, m, "ferrosilicon", 100 + m, 1800.0 * (100 + m));
    /* enterprise 0, cement: months only; another year's rows are ignored */
    for (int m = 1; m <= 12; m++)
        rows[n++] = mk(0, 2025, m, "cement_clinker", 500, 60000);
    rows[n++] = mk(0, 2024, 0, "cement_clinker", 1, 1);
    rows[n++] = mk(0, 2024, 5, "cement_clinker", 1, 1);
    /* enterprise 2: only another year's row: no result */
    rows[n++] = mk(2, 2026, 0, "oil_refining", 10, 80);

    tx_product_result res[64];
    size_t nout = 99, replaced = 99;
    assert_int_equal(aggregate(rows, n, period("2025"), n, res, &nout, &replaced), 0);
    assert_int_equal(nout, 3);
    assert_int_equal(replaced, 0);
    /* order: enterprise id bytewise (uscc[0] "...212..." < uscc[1] "...206..."? compare) */
    const int first = strcmp(uscc[0], uscc[1]) < 0 ? 0 : 1;
    const tx_product_result *e0cem = NULL, *e0fe = NULL, *e1cem = NULL;
    for (size_t i = 0; i < nout; i++) {
        if (i > 0)
            assert_true(strcmp(res[i - 1].enterprise_id, res[i].enterprise_id) < 0 ||
                        (strcmp(res[i - 1].enterprise_id, res[i].enterprise_id) == 0 &&
                         res[i - 1].product < res[i].product));
        int e = strcmp(res[i].enterprise_id, uscc[0]) == 0 ? 0 : 1;
        if (e == 1)
            e1cem = &res[i];
        else if (res[i].product == product("ferrosilicon"))
            e0fe = &res[i];
        else
            e0cem = &res[i];
    }
    assert_string_equal(res[0].enterprise_id, uscc[first]);
    assert_non_null(e0cem);
    assert_non_null(e0fe);
    assert_non_null(e1cem);

    assert_int_equal(e1cem->from_annual, 1);
    assert_true(e1cem->output == 12000 && e1cem->energy == 1188000);
    assert_float_equal(e1cem->specific, 99.0, 1e-12);
    assert_int_equal(e1cem->cls, TX_PRODUCT_BENCHMARK);
    assert_int_equal(e1cem->months_found, 12);
    assert_int_equal(e1cem->months_expected, 12);
    assert_int_equal(e1cem->month_mask, 0x0FFF);
    assert_int_equal(e1cem->incomplete, 0);

    assert_int_equal(e0fe->from_annual, 0);
    assert_int_equal(e0fe->months_found, 12);
    assert_int_equal(e0fe->month_mask, 0x0FFF);
    assert_int_equal(e0fe->incomplete, 0);
    assert_float_equal(e0fe->output, 12 * 100 + 78, 1e-9);
    assert_float_equal(e0fe->specific, 1800.0, 1e-9);
    assert_int_equal(e0fe->cls, TX_PRODUCT_BETWEEN);

    assert_true(e0cem->output == 6000 && e0cem->energy == 720000);
    assert_float_equal(e0cem->specific, 120.0, 1e-12);
    assert_int_equal(e0cem->cls, TX_PRODUCT_BELOW_BASELINE);
    assert_int_equal(e0cem->why, TX_PRODUCT_WHY_NONE);

    /* A month range reads the months, not the annual row. */
    assert_int_equal(aggregate(rows, n, period("2025-04..2025-06"), n, res, &nout, NULL), 0);
    assert_int_equal(nout, 3);
    for (size_t i = 0; i < nout; i++) {
        assert_int_equal(res[i].from_annual, 0);
        assert_int_equal(res[i].months_found, 3);
        assert_int_equal(res[i].months_expected, 3);
        assert_int_equal(res[i].month_mask, 0x38);
        assert_int_equal(res[i].incomplete, 0);
        if (strcmp(res[i].enterprise_id, uscc[1]) == 0) {
            assert_true(res[i].output == 3000 && res[i].energy == 330000);
            assert_int_equal(res[i].cls, TX_PRODUCT_BETWEEN);
        }
    }
    /* One month alone. */
    assert_int_equal(aggregate(rows, n, period("2025-12"), n, res, &nout, NULL), 0);
    assert_int_equal(nout, 3);
    assert_int_equal(res[0].month_mask, 0x800);
    /* A year with only an annual row elsewhere: enterprise 2 in 2026. */
    assert_int_equal(aggregate(rows, n, period("2026"), n, res, &nout, NULL), 0);
    assert_int_equal(nout, 1);
    assert_string_equal(res[0].enterprise_id, uscc[2]);
    assert_int_equal(res[0].from_annual, 1);
    assert_float_equal(res[0].specific, 8.0, 1e-12);
    assert_int_equal(res[0].cls, TX_PRODUCT_BETWEEN);
    /* ... whose annual row is no use for a range of 2026. */
    assert_int_equal(aggregate(rows, n, period("2026-01..2026-06"), n, res, &nout, NULL), 0);
    assert_int_equal(nout, 0);

    /* Rolling 12 months across a year end: October to December of 2024 and January to
     * September of 2025; the 2025 annual row and the months outside are not read. */
    n = 0;
    rows[n++] = mk(1, 2025, 0, "oil_refining", 1000, 1);
    rows[n++] = mk(1, 2024, 9, "oil_refining", 1, 1000);
    rows[n++] = mk(1, 2025, 10, "oil_refining", 1, 1000);
    for (int m = 10; m <= 12; m++)
        rows[n++] = mk(1, 2024, m, "oil_refining", 100, 900);
    for (int m = 1; m <= 9; m++)
        rows[n++] = mk(1, 2025, m, "oil_refining", 100, 700);
    assert_int_equal(aggregate(rows, n, period("2024-10..2025-09"), n, res, &nout, NULL), 0);
    assert_int_equal(nout, 1);
    assert_int_equal(res[0].from_annual, 0);
    assert_int_equal(res[0].months_found, 12);
    assert_int_equal(res[0].months_expected, 12);
    assert_int_equal(res[0].month_mask, 0x0FFF);
    assert_int_equal(res[0].incomplete, 0);
    assert_true(res[0].output == 1200 && res[0].energy == 3 * 900 + 9 * 700);
    assert_float_equal(res[0].specific, 7.5, 1e-12);
    assert_int_equal(res[0].cls, TX_PRODUCT_BENCHMARK);
    /* The last quarter of 2024 and the first of 2025 with a month missing. */
    n--; /* no September 2025 */
    assert_int_equal(aggregate(rows, n, period("2024-11..2025-09"), n, res, &nout, NULL), 0);
    assert_int_equal(res[0].months_found, 10);
    assert_int_equal(res[0].months_expected, 11);
    assert_int_equal(res[0].incomplete, 1);
    assert_int_equal(res[0].month_mask, 0x0FFF & ~(1 << 8) & ~(1 << 9));
}

static void test_incomplete_and_duplicates(void **state)
{
    (void)state;
    tx_product_row rows[64];
    size_t n = 0;
    /* 10 of 12 months (no March, no November): classified on what there is, flagged. */
    for (int m = 1; m <= 12; m++)
        if (m != 3 && m != 11)
            rows[n++] = mk(0, 2025, m, "silicomanganese", 50, 50 * 900.0);
    /* duplicates: month 2 of cement twice (the later wins), the annual row twice */
    rows[n++] = mk(1, 2025, 2, "cement_clinker", 10, 1000);
    rows[n++] = mk(1, 2025, 1, "cement_clinker", 10, 1000);
    rows[n++] = mk(1, 2025, 2, "cement_clinker", 10, 2000);
    rows[n++] = mk(2, 2025, 0, "oil_refining", 100, 700);
    rows[n++] = mk(2, 2025, 0, "oil_refining", 100, 900);
    rows[n++] = mk(2, 2025, 7, "oil_refining", 1, 1); /* ignored: the annual row decides */
    /* output 0 over the period: not classified */
    rows[n++] = mk(2, 2025, 1, "ferrosilicon", 0, 100);
    rows[n++] = mk(2, 2025, 2, "ferrosilicon", 0, 0);
    /* a month without its output figure: the total is not reported */
    rows[n++] = mk(0, 2025, 1, "cement_clinker", 10, 1000);
    rows[n++] = mk(0, 2025, 2, "cement_clinker", NAN, 1000);

    tx_product_result res[64];
    size_t nout = 0, replaced = 0;
    assert_int_equal(aggregate(rows, n, period("2025"), n, res, &nout, &replaced), 0);
    assert_int_equal(nout, 5);
    assert_int_equal(replaced, 2);
    int seen = 0;
    for (size_t i = 0; i < nout; i++) {
        const tx_product_result *r = &res[i];
        if (strcmp(r->enterprise_id, uscc[0]) == 0 && r->product == product("silicomanganese")) {
            seen |= 1;
            assert_int_equal(r->months_found, 10);
            assert_int_equal(r->months_expected, 12);
            assert_int_equal(r->incomplete, 1);
            assert_int_equal(r->month_mask, 0x0FFF & ~(1 << 2) & ~(1 << 10));
            assert_float_equal(r->specific, 900.0, 1e-9);
            assert_int_equal(r->cls, TX_PRODUCT_BETWEEN);
        } else if (strcmp(r->enterprise_id, uscc[0]) == 0) {
            seen |= 2;
            assert_int_equal(r->cls, TX_PRODUCT_UNCLASSIFIED);
            assert_int_equal(r->why, TX_PRODUCT_WHY_NO_OUTPUT);
            assert_true(isnan(r->specific) && isnan(r->output));
            assert_int_equal(r->months_found, 2);
        } else if (strcmp(r->enterprise_id, uscc[1]) == 0) {
            seen |= 4;
            assert_true(r->output == 20 && r->energy == 3000);
            assert_int_equal(r->cls, TX_PRODUCT_BELOW_BASELINE);
            assert_int_equal(r->months_found, 2);
            assert_int_equal(r->incomplete, 1);
        } else if (r->product == product("oil_refining")) {
            seen |= 8;
            assert_int_equal(r->from_annual, 1);
            assert_true(r->energy == 900);
            assert_float_equal(r->specific, 9.0, 1e-12);
            assert_int_equal(r->cls, TX_PRODUCT_BELOW_BASELINE);
            assert_int_equal(r->incomplete, 0);
        } else {
            seen |= 16;
            assert_int_equal(r->cls, TX_PRODUCT_UNCLASSIFIED);
            assert_int_equal(r->why, TX_PRODUCT_WHY_ZERO_OUTPUT);
            assert_true(r->output == 0 && r->energy == 100);
            assert_true(isnan(r->specific));
        }
    }
    assert_int_equal(seen, 31);

    /* A quarter with one month of three. */
    assert_int_equal(aggregate(rows, n, period("2025-01..2025-03"), n, res, &nout, &replaced), 0);
    assert_int_equal(replaced, 1);
    for (size_t i = 0; i < nout; i++)
        if (res[i].product == product("silicomanganese")) {
            assert_int_equal(res[i].months_found, 2);
            assert_int_equal(res[i].months_expected, 3);
            assert_int_equal(res[i].incomplete, 1);
        }
}

static void test_aggregate_errors(void **state)
{
    (void)state;
    tx_product_row rows[4] = {mk(0, 2025, 1, "cement_clinker", 1, 100),
                              mk(1, 2025, 1, "cement_clinker", 1, 100),
                              mk(0, 2025, 1, "ferrosilicon", 1, 100),
                              mk(0, 2025, 2, "cement_clinker", 1, 100)};
    tx_product_result res[4];
    size_t nout = 0;
    /* 3 groups do not fit 2 results: the number needed is given back. */
    assert_int_equal(aggregate(rows, 4, period("2025"), 2, res, &nout, NULL), TX_ERANGE);
    assert_int_equal(nout, 3);
    assert_int_equal(aggregate(rows, 4, period("2025"), 3, res, &nout, NULL), 0);
    assert_int_equal(nout, 3);
    /* Nothing in the period needs no room at all. */
    assert_int_equal(aggregate(rows, 4, period("2024"), 0, res, &nout, NULL), 0);
    assert_int_equal(nout, 0);
    /* No rows at all: NULL buffers are fine. */
    tx_period p = period("2025");
    assert_int_equal(tx_products_aggregate(&table, NULL, 0, &p, NULL, 0, NULL, 0, &nout, NULL),
                     0);
    assert_int_equal(nout, 0);

    size_t ws = tx_products_aggregate_wksp_size(4);
    void *wksp = test_malloc(ws);
    assert_int_equal(tx_products_aggregate(&table, rows, 4, &p, wksp, ws - 1, res, 4, &nout,
                                           NULL),
                     TX_EINVAL);
    assert_int_equal(tx_products_aggregate(&table, rows, 4, &p, NULL, ws, res, 4, &nout, NULL),
                     TX_EINVAL);
    assert_int_equal(tx_products_aggregate(&table, rows, 4, NULL, wksp, ws, res, 4, &nout,
                                           NULL),
                     TX_EINVAL);
    assert_int_equal(tx_products_aggregate(&table, rows, 4, &p, wksp, ws, res, 4, NULL, NULL),
                     TX_EINVAL);
    /* Periods tx_period_parse never makes. */
    tx_period bad[5] = {p, p, p, p, p};
    bad[0].month_first = 0;
    bad[1].month_last = 13;
    bad[2].nmonths = 11;
    bad[3].year_last = 2026;
    bad[4].nmonths = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(tx_products_aggregate(&table, rows, 4, &bad[i], wksp, ws, res, 4,
                                               &nout, NULL),
                         TX_EINVAL);
    rows[2].product = (int)table.n;
    assert_int_equal(tx_products_aggregate(&table, rows, 4, &p, wksp, ws, res, 4, &nout, NULL),
                     TX_EINVAL);
    rows[2].product = -1;
    assert_int_equal(tx_products_aggregate(&table, rows, 4, &p, wksp, ws, res, 4, &nout, NULL),
                     TX_EINVAL);
    test_free(wksp);
}

/* ---- allocation failures ------------------------------------------------------------- */

/* Fails each allocation of the loaders in turn: every failure is TX_ENOMEM with nothing
 * left allocated, and the run after the last allocation succeeds. */
static void test_allocation_failures(void **state)
{
    (void)state;
    /* A products.csv big enough for the row array to grow a few times. */
    size_t cap = 300 * 80;
    char *text = test_malloc(cap);
    size_t len = (size_t)snprintf(text, cap, PHDR "\n");
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s,2025-%02d,cement_clinker,%d,%d\n",
                                uscc[i % 3], 1 + i % 12, 10 + i, 1000 * (10 + i));
    write_file(PRODUCTS, text);
    test_free(text);

    int failures = 0;
    for (long k = 1;; k++) {
        tx_products t;
        tx_err err = {0};
        long live = alloc_live;
        alloc_fail_in = k;
        int rc = tx_products_load(TABLES, &t, &err);
        long left = alloc_fail_in;
        alloc_fail_in = 0;
        assert_int_equal(alloc_live, live);
        if (left > 0) { /* fewer than k allocations: done */
            assert_int_equal(rc, 0);
            assert_int_equal(t.n, 4);
            break;
        }
        assert_int_equal(rc, TX_ENOMEM);
        assert_int_equal(t.n, 0);
        failures++;
    }
    assert_true(failures >= 3); /* reader, name, buffer, checksum buffer, fields */

    failures = 0;
    for (long k = 1;; k++) {
        tx_product_rows *rows = (tx_product_rows *)1;
        tx_err err = {0};
        long live = alloc_live;
        alloc_fail_in = k;
        int rc = tx_products_read_new(PRODUCTS, &table, NULL, NULL, &rows, &err);
        long left = alloc_fail_in;
        alloc_fail_in = 0;
        if (left > 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(rows->n, 300);
            assert_int_equal(rows->rows[299].output, 309);
            tx_product_rows_free(rows);
            assert_int_equal(alloc_live, live);
            break;
        }
        assert_int_equal(rc, TX_ENOMEM);
        assert_null(rows);
        assert_int_equal(alloc_live, live);
        failures++;
    }
    assert_true(failures >= 6); /* the result, the reader's, the row array's growths */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_table),
        cmocka_unit_test(test_table_errors),
        cmocka_unit_test(test_class_boundaries),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_annual_vs_monthly),
        cmocka_unit_test(test_incomplete_and_duplicates),
        cmocka_unit_test(test_aggregate_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
