/*
 * fuzz_csv.c - the CSV reader alone (csv.c), checked against a reference reader.
 *
 * Input: "NAMES\0CSV" or just "CSV". NAMES lists the known columns for tx_csv_header,
 * separated by '|', a leading '*' marking a required one (at most 12); without a NUL the
 * known columns are a, b, c, id, t, v, all optional, so most inputs get past the header.
 *
 * The reference reader below follows csv.h's contract one byte at a time, with none of
 * csv.c's machinery (no sentinel, SIMD scan, in-place views or scratch): UTF-8 validity,
 * BOM, empty lines, RFC 4180 quoting, LF/CRLF, line numbers, raw text, the truncation
 * check, the header's column map and unknown-column list. Every result of csv.c must equal
 * the reference's: status, error line, field count, every field's bytes, line and raw text.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 12

/* ---- a growable byte string and field list ----------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void buf_push(buf *b, const char *s, size_t n)
{
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->n < n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        FUZZ_CHECK(p != NULL, "harness out of memory");
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

typedef struct {
    buf *f;            /* fields */
    size_t nf, cap;
    uint64_t line;
    size_t raw_off, raw_len; /* raw text in the input */
} ref_row;

static buf *row_new_field(ref_row *r)
{
    if (r->nf == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        buf *f = realloc(r->f, cap * sizeof *f);
        FUZZ_CHECK(f != NULL, "harness out of memory");
        memset(f + r->cap, 0, (cap - r->cap) * sizeof *f);
        r->f = f;
        r->cap = cap;
    }
    buf *b = &r->f[r->nf++];
    b->n = 0;
    buf_push(b, "", 0);
    return b;
}

static void row_free(ref_row *r)
{
    for (size_t i = 0; i < r->cap; i++)
        free(r->f[i].p);
    free(r->f);
}

/* ---- the reference reader ---------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n, pos;
    uint64_t line;
    size_t ncols;
} ref_reader;

/* A line end at i: "\n", "\r\n", or "\r" as the last byte, or the end of the input. */
static int ref_line_end(const ref_reader *r, size_t i)
{
    return i == r->n || r->s[i] == '\n' ||
           (r->s[i] == '\r' && (i + 1 == r->n || r->s[i + 1] == '\n'));
}

/* 1 and *out filled, 0 at the end, -1 on a format error (*errline its line). */
static int ref_next(ref_reader *r, ref_row *out, uint64_t *errline)
{
    const char *s = r->s;
    for (;;) { /* empty lines */
        if (r->pos == r->n)
            return 0;
        if (s[r->pos] == '\n') {
            r->pos++;
            r->line++;
        } else if (s[r->pos] == '\r' && r->pos + 1 == r->n)
            r->pos++;
        else if (s[r->pos] == '\r' && s[r->pos + 1] == '\n') {
            r->pos += 2;
            r->line++;
        } else
            break;
    }
    size_t i = r->pos;
    const size_t start = i;
    const uint64_t line0 = r->line;
    uint64_t line = line0;
    out->nf = 0;
    for (;;) {
        buf *f = row_new_field(out);
        if (i < r->n && s[i] == '"') {
            const uint64_t qline = line;
            i++;
            for (;;) {
                if (i == r->n) {
                    *errline = qline; /* unterminated quoted field */
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < r->n && s[i + 1] == '"') {
                        buf_push(f, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\n')
                    line++;
                buf_push(f, s + i, 1);
                i++;
            }
            if (!(i < r->n && s[i] == ',') && !ref_line_end(r, i)) {
                *errline = line; /* text after the closing quote */
                return -1;
            }
        } else {
            while (i < r->n && s[i] != ',' && s[i] != '"' && s[i] != '\r' && s[i] != '\n') {
                buf_push(f, s + i, 1);
                i++;
            }
            if (i < r->n && s[i] == '"') {
                *errline = line; /* quote inside an unquoted field */
                return -1;
            }
            if (i < r->n && s[i] == '\r' && !ref_line_end(r, i)) {
                *errline = line; /* CR inside an unquoted field */
                return -1;
            }
        }
        if (i < r->n && s[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    const size_t rec_end = i;
    if (i < r->n && s[i] == '\r')
        i++;
    const int ended = i < r->n; /* a '\n' follows */
    if (ended) {
        i++;
        line++;
    }
    if (!ended && r->ncols && out->nf < r->ncols) {
        *errline = line0; /* truncated file */
        return -1;
    }
    r->pos = i;
    r->line = line;
    out->line = line0;
    out->raw_off = start;
    out->raw_len = rec_end - start;
    return 1;
}

/* ---- comparing ---------------------------------------------------------------------- */

/* The line of an error message "name:LINE: ..." (0 when the message has none). */
static uint64_t msg_line(const char *msg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(msg, name, n) != 0 || msg[n] != ':')
        return 0;
    return strtoull(msg + n + 1, NULL, 10);
}

static void compare_row(const tx_csv_row *got, const ref_row *want, const char *input)
{
    fuzz_check_row(got);
    FUZZ_CHECK(got->nfields == want->nf, "field count");
    FUZZ_CHECK(got->line == want->line, "line number");
    FUZZ_CHECK(got->raw_len == want->raw_len, "raw length");
    FUZZ_CHECK(memcmp(got->raw, input + want->raw_off, want->raw_len) == 0, "raw text");
    for (size_t i = 0; i < want->nf; i++) {
        FUZZ_CHECK(got->fields[i].len == want->f[i].n, "field length");
        FUZZ_CHECK(want->f[i].n == 0 ||
                       memcmp(got->fields[i].ptr, want->f[i].p, want->f[i].n) == 0,
                   "field bytes");
    }
}

/* The unknown-column list tx_csv_header must produce: entries joined with ", " while they
 * fit in cap (with the NUL); when one does not, as many whole entries as leave room for
 * ", ..." (or "..." alone), or "" when not even that fits. */
static void expected_unknown(const buf *entries, size_t n, size_t cap, buf *out)
{
    out->n = 0;
    buf_push(out, "", 0);
    if (cap == 0)
        return;
    size_t len = 0, j = 0;
    for (; j < n; j++) {
        size_t next = len + (j ? 2 : 0) + entries[j].n;
        if (next >= cap)
            break;
        len = next;
    }
    size_t k = j; /* entries kept */
    if (j < n) {
        for (;;) {
            size_t l = 0;
            for (size_t i = 0; i < k; i++)
                l += (i ? 2 : 0) + entries[i].n;
            if (l + (k ? 2 : 0) + 3 < cap)
                break;
            if (k == 0)
                return;
            k--;
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (i)
            buf_push(out, ", ", 2);
        buf_push(out, entries[i].p, entries[i].n);
    }
    if (j < n)
        buf_push(out, k ? ", ..." : "...", k ? 5 : 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char name[] = "fuzz.csv";
    const char *in = (const char *)data;
    size_t n = size;

    /* The known columns. */
    char *names_text = NULL;
    const char *names[MAX_NAMES];
    uint8_t required[MAX_NAMES];
    size_t nnames = 0, cap = 48;
    const char *nul = memchr(in, '\0', size);
    if (nul) {
        const size_t tl = (size_t)(nul - in);
        names_text = malloc(tl + 1);
        FUZZ_CHECK(names_text != NULL, "harness out of memory");
        memcpy(names_text, in, tl);
        names_text[tl] = '\0';
        char *p = names_text;
        unsigned sum = 0;
        for (size_t i = 0; i < tl; i++)
            sum += (unsigned char)in[i];
        cap = sum % 64; /* 0 .. 63 bytes for the unknown-column list */
        while (nnames < MAX_NAMES) {
            char *bar = strchr(p, '|');
            if (bar)
                *bar = '\0';
            required[nnames] = *p == '*';
            names[nnames++] = p + (*p == '*');
            if (!bar)
                break;
            p = bar + 1;
        }
        in = nul + 1;
        n = size - tl - 1;
    } else {
        static const char *const dflt[] = {"a", "b", "c", "id", "t", "v"};
        for (; nnames < 6; nnames++) {
            names[nnames] = dflt[nnames];
            required[nnames] = 0;
        }
    }

    tx_csv *c = NULL;
    tx_err err = {0};
    int rc = tx_csv_open_mem(name, in, n, &c, &err);
    const int valid = fuzz_utf8_valid(in, n);
    if (!valid) {
        FUZZ_CHECK(rc == TX_EPARSE && c == NULL, "invalid UTF-8 or a NUL is refused at open");
        FUZZ_CHECK(strstr(err.msg, "not a UTF-8 text file") != NULL, "encoding message");
        /* The offset named is the first byte not starting a valid character. */
        const size_t at = fuzz_utf8_prefix(in, n);
        const char *b = strstr(err.msg, " at byte ");
        FUZZ_CHECK(b && strtoull(b + 9, NULL, 10) == at, "offset of the encoding error");
        uint64_t lines = 1;
        for (size_t i = 0; i < at; i++)
            lines += in[i] == '\n';
        FUZZ_CHECK(msg_line(err.msg, name) == lines, "line of the encoding error");
        free(names_text);
        return 0;
    }
    FUZZ_CHECK(rc == TX_OK && c != NULL, "a UTF-8 text opens");
    FUZZ_CHECK(tx_csv_size(c) == n, "size");
    FUZZ_CHECK(strcmp(tx_csv_name(c), name) == 0, "name");

    ref_reader ref = {in, n, 0, 1, 0};
    if (n >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
        ref.pos = 3;
    ref_row want = {0};
    uint64_t errline = 0;

    /* The header. */
    int col[MAX_NAMES];
    size_t nunknown = 12345;
    char unknown[64];
    memset(unknown, 'x', sizeof unknown);
    rc = tx_csv_header(c, names, required, nnames, col, &nunknown, cap ? unknown : NULL, cap,
                       &err);
    int r = ref_next(&ref, &want, &errline);
    int reader_failed = 0;
    if (r == 0) {
        FUZZ_CHECK(rc == TX_EPARSE && strstr(err.msg, "empty file"), "no header");
    } else if (r < 0) {
        FUZZ_CHECK(rc == TX_EPARSE, "header format error");
        FUZZ_CHECK(msg_line(err.msg, name) == errline, "line of the header's format error");
        reader_failed = 1;
    } else {
        int wcol[MAX_NAMES];
        for (size_t k = 0; k < nnames; k++)
            wcol[k] = -1;
        buf *entries = calloc(want.nf, sizeof *entries);
        FUZZ_CHECK(entries != NULL, "harness out of memory");
        size_t nent = 0;
        int dup = 0;
        for (size_t i = 0; i < want.nf && !dup; i++) {
            tx_field f = fuzz_trim((tx_field){want.f[i].p, want.f[i].n});
            size_t k = 0;
            while (k < nnames && !fuzz_str_is_field(names[k], f))
                k++;
            if (k < nnames) {
                if (wcol[k] >= 0)
                    dup = 1;
                wcol[k] = (int)i;
                continue;
            }
            buf_push(&entries[nent], f.len ? f.ptr : "(empty name)", f.len ? f.len : 12);
            nent++;
        }
        int missing = 0;
        for (size_t k = 0; k < nnames; k++)
            missing |= required[k] && wcol[k] < 0;
        if (dup) {
            FUZZ_CHECK(rc == TX_EPARSE && strstr(err.msg, "duplicate column"), "duplicate");
            FUZZ_CHECK(msg_line(err.msg, name) == want.line, "line of the duplicate");
        } else if (missing) {
            FUZZ_CHECK(rc == TX_EPARSE && strstr(err.msg, "missing required column"),
                       "missing column");
        } else {
            FUZZ_CHECK(rc == TX_OK, "header accepted");
            FUZZ_CHECK(nunknown == nent, "unknown-column count");
            for (size_t k = 0; k < nnames; k++)
                FUZZ_CHECK(col[k] == wcol[k], "column map");
            if (cap) {
                buf w = {0};
                expected_unknown(entries, nent, cap, &w);
                FUZZ_CHECK(memchr(unknown, '\0', cap) != NULL, "unknown list terminated in cap");
                if (strcmp(unknown, w.p) != 0)
                    fprintf(stderr, "unknown-column list, cap %zu: got \"%s\", want \"%s\"\n",
                            cap, unknown, w.p);
                FUZZ_CHECK(strcmp(unknown, w.p) == 0, "unknown-column list");
                free(w.p);
            }
            ref.ncols = want.nf;
        }
        for (size_t i = 0; i < want.nf; i++)
            free(entries[i].p);
        free(entries);
    }

    /* Every record, header failure or not (a failed map leaves the reader usable). */
    tx_csv_row row;
    while (!reader_failed && r != 0) {
        rc = tx_csv_next(c, &row, &err);
        r = ref_next(&ref, &want, &errline);
        if (r > 0) {
            FUZZ_CHECK(rc == 1, "a record");
            compare_row(&row, &want, in);
        } else if (r == 0) {
            FUZZ_CHECK(rc == 0, "the end");
            FUZZ_CHECK(tx_csv_next(c, &row, NULL) == 0, "the end stays the end");
        } else {
            FUZZ_CHECK(rc == TX_EPARSE && err.code == TX_EPARSE, "format error");
            FUZZ_CHECK(msg_line(err.msg, name) == errline, "line of the format error");
            reader_failed = 1;
        }
    }
    if (reader_failed)
        FUZZ_CHECK(tx_csv_next(c, &row, NULL) == TX_EPARSE, "the reader stays stopped");
    tx_csv_free(c);
    row_free(&want);
    free(names_text);
    return 0;
}
