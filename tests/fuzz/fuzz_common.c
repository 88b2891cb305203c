/* fuzz_common.c - checks shared by the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TX_FUZZ_TABLES_DIR
#error "TX_FUZZ_TABLES_DIR (datasets/tables) must be defined by the build"
#endif

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s (%s)\n", file, line, cond, what);
    fflush(stderr);
    abort();
}

unsigned fuzz_touch(const void *p, size_t n)
{
    const volatile unsigned char *u = p;
    unsigned h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * 31 + u[i];
    return h;
}

/* Decodes one code point at s[0..n) into *cp and returns its length, or 0 when the bytes
 * there are not a well-formed UTF-8 sequence: the value is checked against the ranges each
 * length may encode, rather than the lead and second bytes against tables as csv.c does. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t v;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        v = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        v = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        v = s[0] & 0x07u;
    } else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3Fu);
    }
    if (v < min_of_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t fuzz_utf8_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_decode(u + i, n - i, &cp);
        if (k == 0 || cp == 0)
            break;
        i += k;
    }
    return i;
}

int fuzz_utf8_valid(const char *s, size_t n) { return fuzz_utf8_prefix(s, n) == n; }

void fuzz_check_row(const tx_csv_row *row)
{
    FUZZ_CHECK(row->line >= 1, "line numbers start at 1");
    FUZZ_CHECK(row->raw != NULL, "raw text");
    FUZZ_CHECK(row->nfields >= 1, "a record has at least one field");
    FUZZ_CHECK(row->fields != NULL, "field array");
    fuzz_touch(row->raw, row->raw_len);
    const char *rb = row->raw, *re = row->raw + row->raw_len;
    const char *prev = rb;
    for (size_t i = 0; i < row->nfields; i++) {
        const tx_field *f = &row->fields[i];
        FUZZ_CHECK(f->ptr != NULL || f->len == 0, "field pointer");
        if (!f->ptr)
            continue;
        fuzz_touch(f->ptr, f->len);
        const char *fb = f->ptr, *fe = f->ptr + f->len;
        const int inside = fb >= rb && fe <= re;
        const int disjoint = fe <= rb || fb >= re;
        FUZZ_CHECK(inside || disjoint, "a field view straddles the record's raw text");
        if (inside && f->len) {
            FUZZ_CHECK(fb >= prev, "fields in the file buffer are in order");
            prev = fe;
        }
        FUZZ_CHECK(fuzz_utf8_valid(f->ptr, f->len), "a field of a UTF-8 file is UTF-8");
    }
}

void fuzz_check_reason(int reason, const char *detail)
{
    FUZZ_CHECK(reason == TX_INPUT_OK || (reason >= 0 && reason < TX_REJECT_COUNT),
               "reason code in range");
    if (detail)
        fuzz_touch(detail, strlen(detail));
}

int fuzz_required_reason(const tx_csv_row *row, const int *col, const int *which, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const int c = col[which[k]];
        if (c < 0 || (size_t)c >= row->nfields)
            return TX_REJECT_TOO_FEW_FIELDS;
        if (fuzz_trim(row->fields[c]).len == 0)
            return TX_REJECT_MISSING_FIELD;
    }
    return TX_INPUT_OK;
}

void fuzz_check_required(int reason, const tx_csv_row *row, const int *col, const int *which,
                         size_t n)
{
    const int want = fuzz_required_reason(row, col, which, n);
    if (want != TX_INPUT_OK)
        FUZZ_CHECK(reason == want, "too few fields or missing field, first required column first");
    else
        FUZZ_CHECK(reason != TX_REJECT_TOO_FEW_FIELDS && reason != TX_REJECT_MISSING_FIELD,
                   "no too-few or missing reason when every required field is there");
}

tx_field fuzz_trim(tx_field f)
{
    while (f.len && (f.ptr[0] == ' ' || f.ptr[0] == '\t'))
        f.ptr++, f.len--;
    while (f.len && (f.ptr[f.len - 1] == ' ' || f.ptr[f.len - 1] == '\t'))
        f.len--;
    return f;
}

int fuzz_str_is_field(const char *s, tx_field f)
{
    f = fuzz_trim(f);
    return strlen(s) == f.len && (f.len == 0 || memcmp(s, f.ptr, f.len) == 0);
}

const tx_tables *fuzz_tables(void)
{
    /* Loaded once per process and kept (reachable, so not a leak). */
    static tx_tables tables;
    static int loaded;
    if (!loaded) {
        tx_err err = {0};
        if (tx_tables_load(TX_FUZZ_TABLES_DIR, &tables, &err) != TX_OK) {
            fprintf(stderr, "fuzz: cannot load the reference tables: %s\n", err.msg);
            abort();
        }
        loaded = 1;
    }
    return &tables;
}

void fuzz_each_row(const uint8_t *data, size_t size, const tx_input_columns *cols,
                   fuzz_row_fn fn, void *arg)
{
    tx_csv *c = NULL;
    tx_err err = {0};
    int rc = tx_csv_open_mem(cols->file, (const char *)data, size, &c, &err);
    if (rc != TX_OK) {
        FUZZ_CHECK(c == NULL, "no reader after a failed open");
        FUZZ_CHECK(rc == TX_EPARSE && err.code == TX_EPARSE, "open fails only on encoding");
        FUZZ_CHECK(!fuzz_utf8_valid((const char *)data, size), "a UTF-8 text is opened");
        return;
    }
    int col[16];
    char unknown[64];
    size_t nunknown = 0;
    rc = tx_input_header(c, cols, col, &nunknown, unknown, sizeof unknown, &err);
    FUZZ_CHECK(rc == TX_OK || rc == TX_EPARSE, "header status");
    FUZZ_CHECK(strlen(unknown) < sizeof unknown, "unknown-column list fits");
    if (rc == TX_OK) {
        for (size_t k = 0; k < cols->n; k++) {
            FUZZ_CHECK(col[k] >= -1, "column index");
            FUZZ_CHECK(!cols->required[k] || col[k] >= 0, "required column mapped");
            for (size_t j = 0; j < k; j++)
                FUZZ_CHECK(col[k] < 0 || col[k] != col[j], "two names mapped to one column");
        }
        tx_csv_row row;
        while ((rc = tx_csv_next(c, &row, &err)) == 1) {
            fuzz_check_row(&row);
            fn(&row, col, arg);
        }
        FUZZ_CHECK(rc == 0 || rc == TX_EPARSE || rc == TX_ENOMEM, "reader status");
        if (rc < 0) {
            FUZZ_CHECK(err.code == rc, "err carries the status");
            FUZZ_CHECK(tx_csv_next(c, &row, NULL) == rc, "the reader stays stopped");
        } else
            FUZZ_CHECK(tx_csv_next(c, &row, NULL) == 0, "the end stays the end");
    }
    tx_csv_free(c);
}

void fuzz_check_timestamp_roundtrip(int64_t t)
{
    char buf[32];
    int64_t back = 0;
    tx_format_timestamp(t, buf, sizeof buf);
    FUZZ_CHECK(strlen(buf) == 25, "formatted instant is 25 characters");
    FUZZ_CHECK(tx_parse_timestamp(buf, strlen(buf), &back) == TX_OK, "formatted instant parses");
    FUZZ_CHECK(back == t, "format then parse gives the same instant");
}
