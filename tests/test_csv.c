/*
 * test_csv.c - the CSV reader (engine/csv.c) and the scalar parsers (engine/parse.c).
 *
 * The randomised tests print their seed; TX_TEST_SEED=<seed> replays them.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "csv.h"

/* ---- helpers ----------------------------------------------------------------------- */

static tx_csv *open_text(const char *text, size_t len)
{
    tx_csv *c = NULL;
    tx_err err = {0};
    int rc = tx_csv_open_mem("t.csv", text, len, &c, &err);
    if (rc != TX_OK)
        fail_msg("open_mem: %s", err.msg);
    return c;
}
#define OPEN(lit) open_text(lit, sizeof(lit) - 1)

/* Opening fails with code; the message contains want. */
static void open_fails(const char *text, size_t len, int code, const char *want)
{
    tx_csv *c = NULL;
    tx_err err = {0};
    assert_int_equal(tx_csv_open_mem("t.csv", text, len, &c, &err), code);
    assert_null(c);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}
#define OPEN_FAILS(lit, code, want) open_fails(lit, sizeof(lit) - 1, code, want)

static void field_eq(const tx_field *f, const char *want)
{
    const size_t n = strlen(want);
    if (f->len != n || memcmp(f->ptr, want, n) != 0)
        fail_msg("field '%.*s' != '%s'", (int)f->len, f->ptr, want);
}

/* Next record has the given line and fields (NULL-terminated list). */
static void next_is(tx_csv *c, uint64_t line, ...)
{
    tx_csv_row row;
    tx_err err = {0};
    int rc = tx_csv_next(c, &row, &err);
    if (rc != 1)
        fail_msg("tx_csv_next = %d (%s), expected a record at line %llu", rc, err.msg,
                 (unsigned long long)line);
    assert_int_equal(row.line, line);
    va_list ap;
    va_start(ap, line);
    size_t i = 0;
    for (const char *w; (w = va_arg(ap, const char *)) != NULL; i++) {
        assert_true(i < row.nfields);
        field_eq(&row.fields[i], w);
    }
    va_end(ap);
    assert_int_equal(row.nfields, i);
}

static void at_end(tx_csv *c)
{
    tx_csv_row row;
    tx_err err = {0};
    assert_int_equal(tx_csv_next(c, &row, &err), 0);
    assert_int_equal(tx_csv_next(c, &row, &err), 0);
}

/* Next record fails with TX_EPARSE; the message contains want. */
static void next_fails(tx_csv *c, const char *want)
{
    tx_csv_row row;
    tx_err err = {0};
    int rc = tx_csv_next(c, &row, &err);
    if (rc != TX_EPARSE)
        fail_msg("tx_csv_next = %d, expected TX_EPARSE with '%s'", rc, want);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
    /* The reader does not resume after an error. */
    assert_int_equal(tx_csv_next(c, &row, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, "earlier error"));
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t test_seed(const char *test)
{
    const char *env = getenv("TX_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0)
                        : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    printf("[ SEED     ] %s: TX_TEST_SEED=%llu\n", test, (unsigned long long)seed);
    return seed;
}

static char *temp_path(const char *tag)
{
    char *path = test_malloc(512);
    snprintf(path, 512, "%s/test_csv_%s_%ld.csv", TX_BINARY_DIR, tag, (long)getpid());
    return path;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- records ----------------------------------------------------------------------- */

static void test_simple(void **state)
{
    (void)state;
    tx_csv *c = OPEN("a,b,c\n1,2,3\n,,\nx\n");
    assert_string_equal(tx_csv_name(c), "t.csv");
    assert_int_equal(tx_csv_size(c), 17);
    next_is(c, 1, "a", "b", "c", NULL);
    next_is(c, 2, "1", "2", "3", NULL);
    next_is(c, 3, "", "", "", NULL);
    next_is(c, 4, "x", NULL); /* short rows are the caller's to reject */
    at_end(c);
    tx_csv_free(c);
    tx_csv_free(NULL);
}

static void test_quoting(void **state)
{
    (void)state;
    tx_csv *c = OPEN("name,note\n"
                     "\"宁波, 鄞州\",\"say \"\"hi\"\"\"\n"
                     "\"\",\"\"\"\"\n"
                     "\"a\"\"\",\"\"\"b\"\n"
                     "plain,\"two\nlines\"\n"
                     "\"three\n\nlines\",x\n"
                     "after,\"\"\"\n\"\"\"\n"
                     "last,1\n");
    next_is(c, 1, "name", "note", NULL);
    next_is(c, 2, "宁波, 鄞州", "say \"hi\"", NULL);
    next_is(c, 3, "", "\"", NULL);
    next_is(c, 4, "a\"", "\"b", NULL);
    next_is(c, 5, "plain", "two\nlines", NULL);
    next_is(c, 7, "three\n\nlines", "x", NULL); /* physical lines keep counting */
    next_is(c, 10, "after", "\"\n\"", NULL);
    next_is(c, 12, "last", "1", NULL);
    at_end(c);
    tx_csv_free(c);
}

static void test_raw_view(void **state)
{
    (void)state;
    tx_csv *c = OPEN("h1,h2\r\n\"q,\"\"x\"\"\",2\r\nm,\"a\r\nb\"\r\nend,3");
    tx_csv_row row;
    tx_err err;
    assert_int_equal(tx_csv_next(c, &row, &err), 1);
    assert_int_equal(row.raw_len, 5);
    assert_memory_equal(row.raw, "h1,h2", 5);
    assert_int_equal(tx_csv_next(c, &row, &err), 1);
    assert_int_equal(row.raw_len, 11);
    assert_memory_equal(row.raw, "\"q,\"\"x\"\"\",2", 11);
    field_eq(&row.fields[0], "q,\"x\"");
    field_eq(&row.fields[1], "2");
    assert_int_equal(tx_csv_next(c, &row, &err), 1);
    assert_int_equal(row.line, 3);
    assert_int_equal(row.raw_len, 8);
    assert_memory_equal(row.raw, "m,\"a\r\nb\"", 8);
    field_eq(&row.fields[1], "a\r\nb"); /* a quoted CRLF is data */
    assert_int_equal(tx_csv_next(c, &row, &err), 1);
    assert_int_equal(row.line, 5);
    assert_int_equal(row.raw_len, 5);
    at_end(c);
    tx_csv_free(c);
}

static void test_line_ends(void **state)
{
    (void)state;
    /* CRLF, empty lines of both kinds, a line of only "\r", and a final "\r" */
    tx_csv *c = OPEN("\r\n\na,b\r\n\r\n1,2\r\n\n\r\n3,4\n\r\n5,\r");
    next_is(c, 3, "a", "b", NULL);
    next_is(c, 5, "1", "2", NULL);
    next_is(c, 8, "3", "4", NULL);
    next_is(c, 10, "5", "", NULL);
    at_end(c);
    tx_csv_free(c);

    c = OPEN("a\r\n\r");
    next_is(c, 1, "a", NULL);
    at_end(c);
    tx_csv_free(c);

    c = OPEN("a,b\nno,newline");
    next_is(c, 1, "a", "b", NULL);
    next_is(c, 2, "no", "newline", NULL);
    at_end(c);
    tx_csv_free(c);

    c = OPEN("a,b\n1,\"q\"");
    next_is(c, 1, "a", "b", NULL);
    next_is(c, 2, "1", "q", NULL);
    at_end(c);
    tx_csv_free(c);

    c = OPEN("a,b\n1,");
    next_is(c, 1, "a", "b", NULL);
    next_is(c, 2, "1", "", NULL);
    at_end(c);
    tx_csv_free(c);

    c = OPEN("\n\r\n\n");
    at_end(c);
    tx_csv_free(c);

    c = OPEN("");
    at_end(c);
    tx_csv_free(c);
}

static void test_bom(void **state)
{
    (void)state;
    tx_csv *c = OPEN("\xEF\xBB\xBFmeter_id,value\nm1,1\n");
    static const char *const names[] = {"meter_id", "value"};
    static const uint8_t req[] = {1, 1};
    int col[2];
    tx_err err;
    assert_int_equal(tx_csv_header(c, names, req, 2, col, NULL, NULL, 0, &err), TX_OK);
    assert_int_equal(col[0], 0);
    assert_int_equal(col[1], 1);
    next_is(c, 2, "m1", "1", NULL);
    at_end(c);
    tx_csv_free(c);

    /* A BOM alone is an empty file. */
    c = OPEN("\xEF\xBB\xBF");
    assert_int_equal(tx_csv_header(c, names, req, 2, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_string_equal(err.msg, "t.csv: empty file, no header");
    tx_csv_free(c);
}

/* ---- header ------------------------------------------------------------------------ */

static const char *const k_names[] = {"meter_id", "timestamp", "value", "quality"};
static const uint8_t k_req[] = {1, 1, 1, 0};

static void test_header_order(void **state)
{
    (void)state;
    tx_csv *c = OPEN("\n value ,quality,timestamp,meter_id\n");
    int col[4];
    size_t nunk = 99;
    char unk[64] = "junk";
    tx_err err;
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, &nunk, unk, sizeof unk, &err),
                     TX_OK);
    assert_int_equal(col[0], 3);
    assert_int_equal(col[1], 2);
    assert_int_equal(col[2], 0);
    assert_int_equal(col[3], 1);
    assert_int_equal(nunk, 0);
    assert_string_equal(unk, "");
    at_end(c);
    tx_csv_free(c);

    /* optional column absent; required may be NULL (nothing required) */
    c = OPEN("meter_id,timestamp,value\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_OK);
    assert_int_equal(col[3], -1);
    tx_csv_free(c);
    c = OPEN("x\n");
    assert_int_equal(tx_csv_header(c, k_names, NULL, 4, col, NULL, NULL, 0, &err), TX_OK);
    tx_csv_free(c);
}

static void test_header_unknown(void **state)
{
    (void)state;
    tx_csv *c = OPEN("meter_id,extra,timestamp,备注,value,,\"a,b\"\n");
    int col[4];
    size_t nunk;
    char unk[128];
    tx_err err;
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, &nunk, unk, sizeof unk, &err),
                     TX_OK);
    assert_int_equal(nunk, 4);
    assert_string_equal(unk, "extra, 备注, (empty name), a,b");
    assert_int_equal(col[2], 4);
    tx_csv_free(c);

    /* a list that does not fit ends with "..." */
    c = OPEN("meter_id,aaaa,bbbb,cccc,timestamp,value\n");
    char small[13];
    assert_int_equal(
        tx_csv_header(c, k_names, k_req, 4, col, &nunk, small, sizeof small, &err), TX_OK);
    assert_int_equal(nunk, 3);
    assert_string_equal(small, "aaaa, ...");
    tx_csv_free(c);
    c = OPEN("meter_id,aaaa,timestamp,value\n");
    char tiny[3];
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, &nunk, tiny, sizeof tiny, &err),
                     TX_OK);
    assert_string_equal(tiny, "");
    tx_csv_free(c);
}

static void test_header_errors(void **state)
{
    (void)state;
    int col[4];
    tx_err err;
    tx_csv *c = OPEN("\nmeter_id,value\n1,2\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_string_equal(err.msg, "t.csv:2: missing required column 'timestamp'");
    tx_csv_free(c);

    c = OPEN("meter_id,timestamp,value,meter_id\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_string_equal(err.msg, "t.csv:1: duplicate column 'meter_id'");
    tx_csv_free(c);

    c = OPEN("");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_string_equal(err.msg, "t.csv: empty file, no header");
    tx_csv_free(c);

    c = OPEN("\r\n\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_string_equal(err.msg, "t.csv: empty file, no header");
    tx_csv_free(c);

    c = OPEN("meter_id,\"timestamp\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, "t.csv:1: unterminated quoted field"));
    tx_csv_free(c);
}

/* ---- malformed files ----------------------------------------------------------------- */

static void test_bad_quoting(void **state)
{
    (void)state;
    tx_csv *c = OPEN("a,b\n1,2\nx,\"open\nstill open\n\n");
    next_is(c, 1, "a", "b", NULL);
    next_is(c, 2, "1", "2", NULL);
    next_fails(c, "t.csv:3: unterminated quoted field");
    tx_csv_free(c);

    c = OPEN("a,b\nab\"c,2\n");
    next_is(c, 1, "a", "b", NULL);
    next_fails(c, "t.csv:2: quote inside an unquoted field");
    tx_csv_free(c);

    c = OPEN("a,b\n\"x\ny\"z,1\n");
    next_is(c, 1, "a", "b", NULL);
    next_fails(c, "t.csv:3: text after the closing quote");
    tx_csv_free(c);

    c = OPEN("a,b\n\"x\" ,1\n");
    next_is(c, 1, "a", "b", NULL);
    next_fails(c, "t.csv:2: text after the closing quote");
    tx_csv_free(c);

    c = OPEN("a,b\r1,2\r");
    next_fails(c, "t.csv:1: carriage return inside an unquoted field");
    tx_csv_free(c);

    c = OPEN("\"");
    next_fails(c, "t.csv:1: unterminated quoted field");
    tx_csv_free(c);
}

static void test_truncated(void **state)
{
    (void)state;
    int col[4];
    tx_err err;
    /* cut in the middle of the last record */
    tx_csv *c = OPEN("meter_id,timestamp,value\nm1,2025-01-01T00:00:00+08:00,1.5\nm2,2025-01-0");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_OK);
    next_is(c, 2, "m1", "2025-01-01T00:00:00+08:00", "1.5", NULL);
    next_fails(c, "t.csv:3: truncated file: the last record has 2 of 3 fields");
    tx_csv_free(c);

    /* a complete last record without line end is fine */
    c = OPEN("meter_id,timestamp,value\nm1,t,1");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_OK);
    next_is(c, 2, "m1", "t", "1", NULL);
    at_end(c);
    tx_csv_free(c);

    /* a short row with its line end is a row for the caller to reject */
    c = OPEN("meter_id,timestamp,value\nm1,t\nm2,t,2\n");
    assert_int_equal(tx_csv_header(c, k_names, k_req, 4, col, NULL, NULL, 0, &err), TX_OK);
    next_is(c, 2, "m1", "t", NULL);
    next_is(c, 3, "m2", "t", "2", NULL);
    at_end(c);
    tx_csv_free(c);

    /* cut inside a multi-byte character */
    OPEN_FAILS("name\n\xE5\xAE\x81\xE6\xB3", TX_EPARSE,
               "t.csv:2: not a UTF-8 text file (UTF-8 sequence cut short at end of file");
}

static void test_encoding(void **state)
{
    (void)state;
    OPEN_FAILS("a,b\n1,2\n3,\0\n", TX_EPARSE, "t.csv:3: not a UTF-8 text file (NUL byte");
    OPEN_FAILS("\0", TX_EPARSE, "t.csv:1: not a UTF-8 text file (NUL byte at byte 0)");
    /* NUL after a long ASCII run (the 16-byte fast path) */
    OPEN_FAILS("0123456789abcdef0123456789abcdef0123\0", TX_EPARSE, "NUL byte at byte 36");
    OPEN_FAILS("a\n\"b\nc\xFF\"\n", TX_EPARSE, "t.csv:3: not a UTF-8 text file (invalid");
    OPEN_FAILS("\xC0\x80", TX_EPARSE, "invalid UTF-8");         /* overlong NUL */
    OPEN_FAILS("\xC1\xBF", TX_EPARSE, "invalid UTF-8");         /* overlong */
    OPEN_FAILS("\xE0\x80\xAF", TX_EPARSE, "invalid UTF-8");     /* overlong '/' */
    OPEN_FAILS("\xED\xA0\x80", TX_EPARSE, "invalid UTF-8");     /* surrogate */
    OPEN_FAILS("\xF0\x80\x80\x80", TX_EPARSE, "invalid UTF-8"); /* overlong */
    OPEN_FAILS("\xF4\x90\x80\x80", TX_EPARSE, "invalid UTF-8"); /* > U+10FFFF */
    OPEN_FAILS("\xF5\x80\x80\x80", TX_EPARSE, "invalid UTF-8");
    OPEN_FAILS("x\x80", TX_EPARSE, "invalid UTF-8 sequence at byte 1"); /* lone continuation */
    OPEN_FAILS("\xE5\xAE,", TX_EPARSE, "invalid UTF-8");                /* cut short */
    OPEN_FAILS("GBK,\xC4\xFE\xB2\xA8\n", TX_EPARSE, "invalid UTF-8"); /* 宁波 in GBK */

    /* Valid: Chinese, Latin-1 supplement, the edges of the ranges, emoji */
    tx_csv *c = OPEN("名称,说明\n宁波市鄞州区某某有限公司,\"含逗号，和“引号”, é\"\n"
                     "\xED\x9F\xBF,\xEE\x80\x80\n\xF4\x8F\xBF\xBF,😀\n");
    next_is(c, 1, "名称", "说明", NULL);
    next_is(c, 2, "宁波市鄞州区某某有限公司", "含逗号，和“引号”, é", NULL);
    next_is(c, 3, "\xED\x9F\xBF", "\xEE\x80\x80", NULL);
    next_is(c, 4, "\xF4\x8F\xBF\xBF", "😀", NULL);
    at_end(c);
    tx_csv_free(c);
}

static void test_files(void **state)
{
    (void)state;
    tx_csv *c = NULL;
    tx_err err;
    char *path = temp_path("files");

    /* missing file, directory */
    assert_int_equal(tx_csv_open(TX_BINARY_DIR "/no/such/file.csv", &c, &err), TX_ENOTFOUND);
    assert_null(c);
    assert_non_null(strstr(err.msg, "/no/such/file.csv: cannot open"));
    assert_int_equal(tx_csv_open(TX_BINARY_DIR, &c, &err), TX_EIO);
    assert_null(c);

    /* empty file */
    write_file(path, "", 0);
    assert_int_equal(tx_csv_open(path, &c, &err), TX_OK);
    assert_int_equal(tx_csv_size(c), 0);
    at_end(c);
    tx_csv_free(c);

    /* several read chunks, with multi-byte characters across chunk boundaries; 18.7 MB,
     * so the file is read in parallel slices of 8 MiB, which cut characters too */
    const size_t nrows = 1100000;
    const char *rowtxt = "宁波,\"a,b\"\"c\"\r\n"; /* 17 bytes: 6 + 11 */
    const size_t rlen = strlen(rowtxt);
    size_t len = 4 + nrows * rlen;
    char *buf = test_malloc(len + 1);
    memcpy(buf, "h,g\n", 4);
    for (size_t i = 0; i < nrows; i++)
        memcpy(buf + 4 + i * rlen, rowtxt, rlen);
    write_file(path, buf, len);
    assert_int_equal(tx_csv_open(path, &c, &err), TX_OK);
    assert_string_equal(tx_csv_name(c), path);
    assert_int_equal(tx_csv_size(c), len);
    next_is(c, 1, "h", "g", NULL);
    for (size_t i = 0; i < nrows; i++)
        next_is(c, 2 + i, "宁波", "a,b\"c", NULL);
    at_end(c);
    tx_csv_free(c);

    /* plain ASCII whose size is a multiple of the read chunk and of the vector width */
    {
        const size_t alen = (size_t)2 << 20;
        char *ascii = test_malloc(alen);
        for (size_t i = 0; i < alen; i++)
            ascii[i] = (i + 1) % 32 == 0 ? '\n' : (char)('a' + i % 26);
        write_file(path, ascii, alen);
        assert_int_equal(tx_csv_open(path, &c, &err), TX_OK);
        size_t rows = 0;
        tx_csv_row row;
        while (tx_csv_next(c, &row, &err) == 1)
            rows++;
        assert_int_equal(rows, alen / 32);
        tx_csv_free(c);
        for (size_t n = 0; n <= 128; n++) { /* every length around the vector steps */
            assert_int_equal(tx_csv_open_mem("m.csv", ascii, n, &c, &err), TX_OK);
            tx_csv_free(c);
        }
        test_free(ascii);
    }

    /* invalid byte late in the file: its line is named */
    buf[len - 5] = '\xFF';
    write_file(path, buf, len);
    assert_int_equal(tx_csv_open(path, &c, &err), TX_EPARSE);
    assert_null(c);
    char want[256];
    snprintf(want, sizeof want, "%s:%zu: not a UTF-8 text file (invalid", path, nrows + 1);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);

    /* the same, read in slices, cut inside a character at its end */
    buf[len - 5] = '\r';
    write_file(path, buf, len - rlen + 1);
    assert_int_equal(tx_csv_open(path, &c, &err), TX_EPARSE);
    snprintf(want, sizeof want, "%s:%zu: not a UTF-8 text file (UTF-8 sequence cut short",
             path, nrows + 1);
    if (!strstr(err.msg, want))
        fail_msg("'%s' lacks '%s'", err.msg, want);

    /* cut inside a character at the end of the file */
    write_file(path, buf, 4 + rlen + 1);
    assert_int_equal(tx_csv_open(path, &c, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, ":3: not a UTF-8 text file (UTF-8 sequence cut short"));

    test_free(buf);
    unlink(path);
    test_free(path);
}

/* ---- randomised round trip ---------------------------------------------------------- */

static const char *const k_pieces[] = {"a", "Z", "0", "9", " ", ",", "\"", "\n", "\r\n", "\r",
                                       "é", "中", "碳效", "😀", ".", "-", "\t", "\"\""};

static size_t put(char *out, size_t at, const char *s, size_t n)
{
    memcpy(out + at, s, n);
    return at + n;
}

static void test_random_round_trip(void **state)
{
    (void)state;
    uint64_t seed = test_seed("test_random_round_trip");
    uint64_t rng = seed;
    enum { NREC = 3000, MAXF = 8, MAXFLEN = 64 };
    const size_t npieces = sizeof k_pieces / sizeof k_pieces[0];
    /* expected fields: MAXF slots of MAXFLEN bytes per record */
    char *want = test_malloc((size_t)NREC * MAXF * MAXFLEN);
    size_t *wlen = test_malloc((size_t)NREC * MAXF * sizeof *wlen);
    size_t *nf = test_malloc(NREC * sizeof *nf);
    size_t *rstart = test_malloc(NREC * sizeof *rstart);
    size_t *rend = test_malloc(NREC * sizeof *rend);
    uint64_t *wline = test_malloc(NREC * sizeof *wline);
    const size_t cap = (size_t)NREC * (MAXF * (2 * MAXFLEN + 3) + 64);
    char *text = test_malloc(cap);
    size_t at = 0;
    uint64_t line = 1;
    for (size_t r = 0; r < NREC; r++) {
        while (splitmix64(&rng) % 8 == 0) { /* empty lines, LF or CRLF */
            at = splitmix64(&rng) % 2 ? put(text, at, "\r\n", 2) : put(text, at, "\n", 1);
            line++;
        }
        wline[r] = line;
        rstart[r] = at;
        nf[r] = 1 + splitmix64(&rng) % MAXF;
        for (size_t i = 0; i < nf[r]; i++) {
            char *w = want + (r * MAXF + i) * MAXFLEN;
            size_t n = 0;
            const size_t np = splitmix64(&rng) % 6;
            for (size_t k = 0; k < np; k++) {
                const char *piece = k_pieces[splitmix64(&rng) % npieces];
                const size_t pl = strlen(piece);
                if (n + pl > MAXFLEN)
                    break;
                memcpy(w + n, piece, pl);
                n += pl;
            }
            wlen[r * MAXF + i] = n;
            int special = 0;
            for (size_t k = 0; k < n; k++)
                special |= w[k] == ',' || w[k] == '"' || w[k] == '\n' || w[k] == '\r';
            /* A record of one empty field would be an empty line: quote it. */
            const int quote = special || splitmix64(&rng) % 4 == 0 || (nf[r] == 1 && n == 0);
            if (i)
                at = put(text, at, ",", 1);
            if (!quote) {
                at = put(text, at, w, n);
                continue;
            }
            at = put(text, at, "\"", 1);
            for (size_t k = 0; k < n; k++) {
                if (w[k] == '"')
                    at = put(text, at, "\"", 1);
                line += w[k] == '\n';
                text[at++] = w[k];
            }
            at = put(text, at, "\"", 1);
        }
        rend[r] = at;
        /* the last record may lack its line end */
        if (r + 1 < NREC || splitmix64(&rng) % 2) {
            at = splitmix64(&rng) % 2 ? put(text, at, "\r\n", 2) : put(text, at, "\n", 1);
            line++;
        }
    }
    assert_true(at <= cap);

    tx_csv *c = open_text(text, at);
    tx_csv_row row;
    tx_err err;
    for (size_t r = 0; r < NREC; r++) {
        int rc = tx_csv_next(c, &row, &err);
        if (rc != 1)
            fail_msg("seed %llu record %zu: rc %d %s", (unsigned long long)seed, r, rc,
                     err.msg);
        assert_int_equal(row.line, wline[r]);
        assert_int_equal(row.nfields, nf[r]);
        for (size_t i = 0; i < nf[r]; i++) {
            const size_t n = wlen[r * MAXF + i];
            assert_int_equal(row.fields[i].len, n);
            assert_memory_equal(row.fields[i].ptr, want + (r * MAXF + i) * MAXFLEN, n);
        }
        assert_int_equal(row.raw_len, rend[r] - rstart[r]);
        assert_memory_equal(row.raw, text + rstart[r], row.raw_len);
    }
    at_end(c);
    tx_csv_free(c);
    test_free(text);
    test_free(want);
    test_free(wlen);
    test_free(nf);
    test_free(rstart);
    test_free(rend);
    test_free(wline);
}

/* ---- numbers ----------------------------------------------------------------------- */

static int parse_d(const char *s, double *v) { return tx_parse_double(s, strlen(s), v); }

static void double_is(const char *s, double want)
{
    double v = -12345.0;
    if (parse_d(s, &v) != TX_OK)
        fail_msg("'%s' rejected", s);
    if (memcmp(&v, &want, sizeof v) != 0)
        fail_msg("'%s' -> %.17g, want %.17g", s, v, want);
}

static void test_parse_double(void **state)
{
    (void)state;
    double_is("0", 0.0);
    double_is("-0", -0.0);
    double_is("+0.000", 0.0);
    double_is("1", 1.0);
    double_is("+1.5", 1.5);
    double_is("-1.5", -1.5);
    double_is(" 42 ", 42.0);
    double_is("\t-3.25e2\t", -325.0);
    double_is("1e-3", 0.001);
    double_is("1E+3", 1000.0);
    double_is("1e0003", 1000.0);
    double_is(".5", 0.5);
    double_is("5.", 5.0);
    double_is("-.25", -0.25);
    double_is("0.1", 0.1);
    double_is("0.3", 0.3);
    double_is("123456.789", 123456.789);
    double_is("000123.4500", 123.45);
    double_is("12345678901234.5", 12345678901234.5);
    double_is("9007199254740992", 9007199254740992.0);
    double_is("9007199254740993", 9007199254740992.0); /* tie, to even */
    double_is("9007199254740995", 9007199254740996.0);
    double_is("1.7976931348623157e308", 1.7976931348623157e308);
    double_is("2.2250738585072014e-308", 2.2250738585072014e-308);
    double_is("4.9e-324", 4.9e-324);
    double_is("1e-400", 0.0);
    double_is("0e999999999999999999999", 0.0);
    double_is("0.1000000000000000055511151231257827021181583404541015625", 0.1);
    double_is("123456789012345678901234567890", 123456789012345678901234567890.0);
    double_is("1e22", 1e22);
    double_is("1e23", 1e23);
    double_is("8.589973e9", 8.589973e9);
    /* halfway between two doubles, decided only by a digit far out (sticky digit) */
    double_is("9007199254740993.000000000000000000000000000000000000000000001",
              9007199254740994.0);
    {
        /* 1 followed by 900 digits then a decisive digit: beyond the kept digits */
        char big[1000];
        memcpy(big, "9007199254740993.", 17);
        memset(big + 17, '0', 900);
        big[917] = '1';
        big[918] = '\0';
        double_is(big, 9007199254740994.0);
        big[917] = '0';
        double_is(big, 9007199254740992.0);
    }
    double v;
    assert_int_equal(parse_d("1e400", &v), TX_OK);
    assert_true(isinf(v) && v > 0);
    assert_int_equal(parse_d("-1e99999999999", &v), TX_OK);
    assert_true(isinf(v) && v < 0);

    static const char *const bad[] = {
        "",      " ",    "\t",    "nan",     "NaN",   "inf",    "-inf", "Infinity", "0x10",
        "0x1p3", "1,000", "1.2.3", "1e",     "1e+",   "1e-",    "12a",  "--1",      "+-1",
        ".",     "-",    "+",     "1 2",     "e5",    "1e5.5",  "1.5e", "1_000",    "٣",
        "１",    "1.5\n", "\"1\"", "1e1e1",   ".e1",   "- 1",    "1.-5", "1d3",      "0b1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_d(bad[i], &v) != TX_EPARSE)
            fail_msg("'%s' accepted", bad[i]);
    /* length bounds the text: no NUL needed, nothing read past it */
    assert_int_equal(tx_parse_double("2.5xyz", 3, &v), TX_OK);
    assert_true(v == 2.5);
    assert_int_equal(tx_parse_double("2.5", 0, &v), TX_EPARSE);
}

/* Random decimal texts against strtod in the "C" locale. */
static void test_parse_double_random(void **state)
{
    (void)state;
    uint64_t seed = test_seed("test_parse_double_random");
    uint64_t rng = seed;
    char s[96];
    for (int it = 0; it < 200000; it++) {
        size_t n = 0;
        if (splitmix64(&rng) % 3 == 0)
            s[n++] = '-';
        const int ndig = 1 + (int)(splitmix64(&rng) % 24);
        const int dot = (int)(splitmix64(&rng) % (ndig + 2)) - 1; /* -1: no dot */
        for (int k = 0; k < ndig; k++) {
            if (k == dot)
                s[n++] = '.';
            s[n++] = (char)('0' + splitmix64(&rng) % 10);
        }
        if (splitmix64(&rng) % 2)
            n += (size_t)snprintf(s + n, sizeof s - n, "e%d",
                                  (int)(splitmix64(&rng) % 660) - 340);
        s[n] = '\0';
        double v, ref = strtod(s, NULL);
        if (tx_parse_double(s, n, &v) != TX_OK || memcmp(&v, &ref, sizeof v) != 0)
            fail_msg("seed %llu: '%s' -> %.17g, strtod %.17g", (unsigned long long)seed, s, v,
                     ref);
    }
}

/* The result does not depend on LC_NUMERIC (when a comma-decimal locale is installed). */
static void test_parse_double_locale(void **state)
{
    (void)state;
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                          "ru_RU.UTF-8"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof locales / sizeof locales[0] && !set; i++)
        set = setlocale(LC_NUMERIC, locales[i]);
    if (!set) {
        printf("[ SKIPPED  ] no comma-decimal locale installed\n");
        return;
    }
    double_is("1.5", 1.5);
    double_is("0.1000000000000000055511151231257827021181583404541015625", 0.1);
    double v;
    assert_int_equal(parse_d("1,5", &v), TX_EPARSE);
    setlocale(LC_NUMERIC, "C");
}

static void test_parse_int64(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"0", 0},
              {"-0", 0},
              {"+7", 7},
              {" 12 ", 12},
              {"\t-15\t", -15},
              {"0042", 42},
              {"9223372036854775807", INT64_MAX},
              {"-9223372036854775808", INT64_MIN},
              {"-9223372036854775807", -INT64_MAX}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 1;
        assert_int_equal(tx_parse_int64(ok[i].s, strlen(ok[i].s), &v), TX_OK);
        assert_true(v == ok[i].v);
    }
    static const char *const bad[] = {
        "",  " ", "-", "+", "1.0", "1e3", "12a", "0x10", "1,000", "--1", "1 2",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        if (tx_parse_int64(bad[i], strlen(bad[i]), &v) != TX_EPARSE)
            fail_msg("'%s' accepted", bad[i]);
    }
}

/* ---- timestamps -------------------------------------------------------------------- */

static int parse_t(const char *s, int64_t *t) { return tx_parse_timestamp(s, strlen(s), t); }

static void time_is(const char *s, int64_t want)
{
    int64_t t = 0;
    if (parse_t(s, &t) != TX_OK)
        fail_msg("'%s' rejected", s);
    if (t != want)
        fail_msg("'%s' -> %lld, want %lld", s, (long long)t, (long long)want);
}

static void test_timestamps(void **state)
{
    (void)state;
    const int64_t t0 = 1735660800; /* 2025-01-01T00:00:00+08:00 */
    time_is("2025-01-01T00:00:00+08:00", t0);
    time_is("2025-01-01 00:00:00", t0);
    time_is("2024-12-31T16:00:00Z", t0);
    time_is("2024-12-31T16:00:00+00:00", t0);
    time_is("2024-12-31T16:00:00-00:00", t0);
    time_is("2024-12-31T11:00:00-05:00", t0);
    time_is("2024-12-31T21:30:00+05:30", t0);
    time_is("2024-12-31T12:15:00-03:45", t0);
    time_is("  2025-01-01 00:00:00\t", t0);
    time_is("2025-01-01T00:15:00+08:00", t0 + 900);
    time_is("2025-12-31T23:59:59+08:00", 1767196799);
    time_is("2000-01-01T00:00:00+08:00", TX_EPOCH_UNIX);
    time_is("1970-01-01T00:00:00Z", 0);
    time_is("1969-12-31T23:59:59Z", -1);
    time_is("2024-02-29 12:00:00", 1709179200);
    time_is("2000-02-29T00:00:00Z", 951782400);
    time_is("2025-03-01T00:00:00+23:59", 1740787200 - 86340);

    static const char *const bad[] = {
        "",
        "2025-02-29 00:00:00",       /* not a leap year */
        "2100-02-29 00:00:00",       /* century, not a leap year */
        "2025-04-31T00:00:00+08:00", /* April has 30 days */
        "2025-01-32 00:00:00",
        "2025-01-00 00:00:00",
        "2025-00-01 00:00:00",
        "2025-13-01 00:00:00",
        "2025-01-01 24:00:00", /* hour 24 */
        "2025-01-01 23:60:00",
        "2025-01-01 23:59:60", /* no leap seconds */
        "2025-01-01T00:00:00",        /* T without offset */
        "2025-01-01 00:00:00+08:00",  /* space with offset */
        "2025-01-01 00:00:00Z",
        "2025-01-01t00:00:00Z",
        "2025-01-01T00:00:00z",
        "2025-01-01T00:00:00+0800",
        "2025-01-01T00:00:00+08",
        "2025-01-01T00:00:00+24:00",
        "2025-01-01T00:00:00+08:60",
        "2025-01-01T00:00:00*08:00",
        "2025-01-01T00:00:00+08-00",
        "2025-1-01 00:00:00",
        "2025-01-1 00:00:00",
        "2025/01/01 00:00:00",
        "2025-01-01 00:00:00.5",
        "2025-01-01T00:00:00.000Z",
        "2025-01-01 0:00:00",
        "2025-01-01 00:00:0a",
        "+025-01-01 00:00:00",
        "2025-01-01  00:00:00",
        "20250101T000000Z",
        "2025-01-01",
        "1735660800",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        if (parse_t(bad[i], &t) != TX_EPARSE)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void test_format_round_trip(void **state)
{
    (void)state;
    char out[32];
    tx_format_timestamp(1735660800, out, sizeof out);
    assert_string_equal(out, "2025-01-01T00:00:00+08:00");
    tx_format_timestamp(TX_EPOCH_UNIX - 1, out, sizeof out);
    assert_string_equal(out, "1999-12-31T23:59:59+08:00");
    tx_format_timestamp(1709179200, out, sizeof out);
    assert_string_equal(out, "2024-02-29T12:00:00+08:00");
    tx_format_timestamp(0, out, 11);
    assert_string_equal(out, "1970-01-01");
    tx_format_timestamp(0, NULL, 0);

    uint64_t rng = test_seed("test_format_round_trip");
    for (int i = 0; i < 100000; i++) {
        /* 1900 .. 2200 */
        const int64_t t = -2208988800 + (int64_t)(splitmix64(&rng) % UINT64_C(9467107200));
        tx_format_timestamp(t, out, sizeof out);
        assert_int_equal(strlen(out), 25);
        int64_t back;
        assert_int_equal(parse_t(out, &back), TX_OK);
        assert_true(back == t);
        out[10] = ' ';
        out[19] = '\0';
        assert_int_equal(parse_t(out, &back), TX_OK);
        assert_true(back == t);
    }
}

/* ---- periods ----------------------------------------------------------------------- */

static void period_is(const char *s, int y, int mf, int ml, const char *start, const char *end,
                      const char *formatted)
{
    tx_period p;
    tx_err err = {0};
    if (tx_period_parse(s, &p, &err) != TX_OK)
        fail_msg("'%s' rejected: %s", s, err.msg);
    assert_int_equal(p.year, y);
    assert_int_equal(p.month_first, mf);
    assert_int_equal(p.month_last, ml);
    int64_t t;
    assert_int_equal(parse_t(start, &t), TX_OK);
    assert_true(p.start == t);
    assert_int_equal(parse_t(end, &t), TX_OK);
    assert_true(p.end == t);
    char out[24];
    tx_period_format(&p, out, sizeof out);
    assert_string_equal(out, formatted);
    tx_period q;
    assert_int_equal(tx_period_parse(out, &q, &err), TX_OK);
    assert_true(q.year == p.year && q.month_first == p.month_first &&
                q.year_last == p.year_last && q.month_last == p.month_last &&
                q.nmonths == p.nmonths && q.start == p.start && q.end == p.end);
}

static void test_periods(void **state)
{
    (void)state;
    period_is("2025", 2025, 1, 12, "2025-01-01 00:00:00", "2026-01-01 00:00:00", "2025");
    period_is("2025-01..2025-09", 2025, 1, 9, "2025-01-01 00:00:00", "2025-10-01 00:00:00",
              "2025-01..2025-09");
    period_is("2024-02..2024-02", 2024, 2, 2, "2024-02-01 00:00:00", "2024-03-01 00:00:00",
              "2024-02..2024-02");
    period_is("2025-12..2025-12", 2025, 12, 12, "2025-12-01 00:00:00", "2026-01-01 00:00:00",
              "2025-12..2025-12");
    period_is("2020-01..2020-12", 2020, 1, 12, "2020-01-01 00:00:00", "2021-01-01 00:00:00",
              "2020");
    period_is("2025-03", 2025, 3, 3, "2025-03-01 00:00:00", "2025-04-01 00:00:00",
              "2025-03..2025-03");
    /* Rolling 12 months across a year end. */
    period_is("2024-10..2025-09", 2024, 10, 9, "2024-10-01 00:00:00", "2025-10-01 00:00:00",
              "2024-10..2025-09");
    tx_period r;
    assert_int_equal(tx_period_parse("2024-10..2025-09", &r, NULL), TX_OK);
    assert_int_equal(r.nmonths, 12);
    assert_int_equal(r.year_last, 2025);
    int yy, mm;
    tx_period_month(&r, 3, &yy, &mm);
    assert_int_equal(yy * 100 + mm, 202501);
    tx_period_month(&r, 11, &yy, &mm);
    assert_int_equal(yy * 100 + mm, 202509);

    static const struct {
        const char *s, *msg;
    } bad[] = {
        {"2025-09..2025-01", "invalid period '2025-09..2025-01': the first month is after"},
        {"2024-12..2026-01", "invalid period '2024-12..2026-01': a period spans at most 12"},
        {"2024-09..2025-09", "a period spans at most 12 months"},
        {"2025-13", "invalid period '2025-13': expected YYYY"},
        {"2025-00..2025-01", "invalid period '2025-00..2025-01'"},
        {"2025-01..2025-13", "invalid period '2025-01..2025-13'"},
        {"2025-1..2025-9", "invalid period '2025-1..2025-9'"},
        {"2025-01.2025-09", "invalid period"},
        {"2025-01...2025-09", "invalid period"},
        {"2025-01-2025-09", "invalid period"},
        {"2025..2025", "invalid period"},
        {"25", "invalid period '25'"},
        {"abcd", "invalid period 'abcd'"},
        {"0000", "invalid period"},
        {"", "invalid period ''"},
        {" 2025", "invalid period ' 2025'"},
        {"2025 ", "invalid period"},
        {"2025-03-01", "invalid period"},
        {"Q1-2025", "invalid period"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tx_period p;
        tx_err err = {0};
        if (tx_period_parse(bad[i].s, &p, &err) != TX_EPARSE)
            fail_msg("'%s' accepted", bad[i].s);
        assert_int_equal(err.code, TX_EPARSE);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("message '%s' lacks '%s'", err.msg, bad[i].msg);
    }
    tx_period p;
    tx_err err;
    assert_int_equal(tx_period_parse(NULL, &p, &err), TX_EINVAL);
    assert_int_equal(tx_period_parse("2025", &p, NULL), TX_OK);
    /* a very long text is cut in the message */
    char lng[200];
    memset(lng, '9', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    assert_int_equal(tx_period_parse(lng, &p, &err), TX_EPARSE);
    assert_true(strlen(err.msg) < 160);
    char small[5];
    p.year = 2025;
    p.month_first = 1;
    p.year_last = 2025;
    p.month_last = 9;
    tx_period_format(&p, small, sizeof small);
    assert_string_equal(small, "2025");
}

/* ---- field helpers ----------------------------------------------------------------- */

static void test_fields(void **state)
{
    (void)state;
    const tx_field f = {"meter_idX", 8};
    assert_true(tx_field_is(&f, "meter_id"));
    assert_false(tx_field_is(&f, "meter_i"));
    assert_false(tx_field_is(&f, "meter_idX"));
    const tx_field empty = {"", 0};
    assert_true(tx_field_is(&empty, ""));
    assert_false(tx_field_is(&empty, "a"));

    char out[9];
    assert_int_equal(tx_field_copy(&f, out, sizeof out), 1);
    assert_string_equal(out, "meter_id");
    assert_int_equal(tx_field_copy(&f, out, 8), 0);
    assert_string_equal(out, "meter_i");
    assert_int_equal(tx_field_copy(&empty, out, 1), 1);
    assert_string_equal(out, "");
    assert_int_equal(tx_field_copy(&f, out, 0), 0);

    /* truncation never cuts a character: 宁波 is 6 bytes */
    const tx_field zh = {"宁波市", 9};
    assert_int_equal(tx_field_copy(&zh, out, 9), 0);
    assert_string_equal(out, "宁波");
    assert_int_equal(tx_field_copy(&zh, out, 6), 0);
    assert_string_equal(out, "宁");
    assert_int_equal(tx_field_copy(&zh, out, 3), 0);
    assert_string_equal(out, "");
    char ten[10];
    assert_int_equal(tx_field_copy(&zh, ten, sizeof ten), 1);
    assert_string_equal(ten, "宁波市");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_raw_view),
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_header_order),
        cmocka_unit_test(test_header_unknown),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_bad_quoting),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_parse_double_random),
        cmocka_unit_test(test_parse_double_locale),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
