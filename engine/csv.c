/*
 * csv.c - the RFC 4180 reader of INPUTS.md ("Common CSV rules").
 *
 * The file is read whole into one buffer and checked to be UTF-8 while it is read, one
 * chunk at a time so the check runs on bytes still in cache. Records are then cut out of
 * the buffer in place: a field is a view (pointer, length) into it, except a quoted field
 * holding doubled quotes, whose unescaped text goes to a per-reader scratch buffer. No
 * allocation happens per record once the field array and the scratch have grown to the
 * widest record.
 */
#include "csv.h"
#include "bigmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define TX_CSV_SSE2 1
#endif

/* fields[i].ptr of a field unescaped into the scratch is set only when the record is
 * complete, because the scratch may move while it grows; until then soff[i] holds its
 * offset there, and NO_SCRATCH marks views into the file buffer. */
#define NO_SCRATCH SIZE_MAX

/* Bytes after the content: a '\n' sentinel, then zeros, so the scan may load 16 bytes at
 * any position up to the sentinel without reading outside the allocation. */
#define PAD TX_CSV_PAD

/* Bytes read (and checked) per step: small enough to stay in L2 between fread and the
 * UTF-8 check. */
#define READ_CHUNK ((size_t)1 << 20)
#define PARALLEL_READ_MIN ((size_t)16 << 20)

struct tx_csv {
    char *name;
    char *buf;     /* len bytes of content, then PAD bytes: '\n' and zeros */
    size_t len;
    size_t pos;    /* next byte to read */
    uint64_t line; /* physical line of buf[pos], 1-based */
    size_t ncols;  /* fields in the header row; 0 before tx_csv_header */
    int failed;    /* status of an earlier failure: the reader does not resume after it */
    int borrowed;  /* buf belongs to another reader (tx_csv_part) */
    tx_field *fields;
    size_t *soff;
    size_t fcap;
    char *scratch;
    size_t scap;
};

/*
 * The first byte at or after p that ends an unquoted field: ',', '"', '\r' or '\n'. The
 * sentinel '\n' after the content bounds the scan, so there is no length check; with SSE2,
 * 16 bytes are compared at once (the padding keeps the last load inside the buffer).
 */
#ifdef TX_CSV_SSE2
static const char *scan_stop(const char *p)
{
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    for (;; p += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        const __m128i a = _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, quote));
        const __m128i b = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
        const __m128i hit = _mm_or_si128(a, b);
        const unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz(mask);
    }
}
#else
static const unsigned char k_stop[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};

static const char *scan_stop(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    while (!k_stop[*u])
        u++;
    return (const char *)u;
}
#endif

/* ---- UTF-8 ------------------------------------------------------------------------- */

enum { UTF8_OK, UTF8_NUL, UTF8_BAD, UTF8_SHORT };

static int has_zero_byte(uint64_t v)
{
    return ((v - UINT64_C(0x0101010101010101)) & ~v & UINT64_C(0x8080808080808080)) != 0;
}

/*
 * Checks s[0..n) and returns how many bytes from the start are valid UTF-8 without NUL;
 * *why says what stopped it (UTF8_SHORT: a sequence that n cuts short, which a caller
 * reading in chunks completes with the next chunk). Overlong forms, surrogates and code
 * points above U+10FFFF are invalid (RFC 3629). The fast path checks 16 bytes at a time for
 * a set high bit or a zero byte; data files are almost all ASCII.
 */
static size_t utf8_check(const unsigned char *s, size_t n, int *why)
{
    size_t i = 0;
    while (i < n) {
#ifdef TX_CSV_SSE2
        /* 32 bytes per step: any high bit or zero byte leaves the loop. */
        const __m128i zero = _mm_setzero_si128();
        while (n - i >= 32) {
            const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
            const __m128i z = _mm_or_si128(_mm_cmpeq_epi8(a, zero), _mm_cmpeq_epi8(b, zero));
            if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), z)))
                break;
            i += 32;
        }
        if (i == n)
            break;
#endif
        if (n - i >= 16) {
            uint64_t a, b;
            memcpy(&a, s + i, 8);
            memcpy(&b, s + i + 8, 8);
            if (!((a | b) & UINT64_C(0x8080808080808080)) && !has_zero_byte(a) &&
                !has_zero_byte(b)) {
                i += 16;
                continue;
            }
        }
        const unsigned c = s[i];
        if (c < 0x80) {
            if (c == 0) {
                *why = UTF8_NUL;
                return i;
            }
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            *why = UTF8_BAD;
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n) {
                *why = UTF8_SHORT;
                return i;
            }
            const unsigned d = s[i + k];
            if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) {
                *why = UTF8_BAD;
                return i;
            }
        }
        i += need + 1;
    }
    *why = UTF8_OK;
    return n;
}

static uint64_t count_lines(const char *p, const char *end)
{
    uint64_t n = 0;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

static int encoding_error(const char *name, const char *buf, size_t at, int why, tx_err *err)
{
    const char *what = why == UTF8_NUL   ? "NUL byte"
                       : why == UTF8_BAD ? "invalid UTF-8 sequence"
                                         : "UTF-8 sequence cut short at end of file";
    return tx_err_set(err, TX_EPARSE, "%s:%llu: not a UTF-8 text file (%s at byte %zu)", name,
                      (unsigned long long)(1 + count_lines(buf, buf + at)), what, at);
}

/* ---- opening ----------------------------------------------------------------------- */

int tx_pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t got = pread(fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return 0;
}

static tx_csv *reader_new(const char *name, char *buf, size_t len)
{
    tx_csv *c = calloc(1, sizeof *c);
    size_t nlen = strlen(name);
    char *n = malloc(nlen + 1);
    if (!c || !n) {
        free(c);
        free(n);
        return NULL;
    }
    memcpy(n, name, nlen + 1);
    c->name = n;
    c->buf = buf;
    c->len = len;
    buf[len] = '\n';
    memset(buf + len + 1, 0, PAD - 1);
    c->line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;
    return c;
}

int tx_csv_open(const char *path, tx_csv **out, tx_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tx_err_set(err, errno == ENOENT ? TX_ENOTFOUND : TX_EIO, "%s: cannot open: %s",
                          path, strerror(errno));
    int rc = TX_OK;
    char *buf = NULL;
    size_t len = 0, cap = READ_CHUNK; /* content bytes; PAD more are allocated */
    size_t checked = 0; /* bytes known to be valid UTF-8 */
    int why = UTF8_OK;
    struct stat st;
    /* A regular file's size is known up front: one allocation, no copy while growing. One
     * byte more than the size lets the loop see the end of file without growing. */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uintmax_t)st.st_size >= (uintmax_t)(SIZE_MAX - PAD - 1)) {
            rc = tx_err_set(err, TX_ENOMEM, "%s: file too large for memory", path);
            goto done;
        }
        cap = (size_t)st.st_size + 1;
    }
    buf = tx_big_malloc(cap + PAD);
    if (!buf) {
        rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory reading the file", path);
        goto done;
    }
    /* A large file is read by all threads at once, a slice each: the copy out of the page
     * cache and the first touch of the buffer's pages are most of the time of reading a
     * day of a city (137 MB: 0.4 s in one thread). The loop below then reads whatever
     * the file holds beyond its size at fstat, and sees the end of file. */
    if (cap - 1 >= PARALLEL_READ_MIN) {
        const size_t size = cap - 1, slice = (size_t)8 << 20;
        const long nslices = (long)((size + slice - 1) / slice);
        int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
        for (long k = 0; k < nslices; k++) {
            const size_t at = (size_t)k * slice, end = at + slice < size ? at + slice : size;
            /* an error, or the file shrank: the loop below tells */
            failed |= tx_pread_exact(fileno(f), buf + at, end - at, at) != 0;
        }
        if (!failed) {
            len = size;
            checked = utf8_check((const unsigned char *)buf, len, &why);
            if (why == UTF8_NUL || why == UTF8_BAD) {
                rc = encoding_error(path, buf, checked, why, err);
                goto done;
            }
            if (fseeko(f, (off_t)len, SEEK_SET) != 0) {
                rc = tx_err_set(err, TX_EIO, "%s: read error: %s", path, strerror(errno));
                goto done;
            }
        }
    }
    for (;;) {
        if (cap - len < 1) { /* the file grew, or its size was unknown */
            size_t ncap = cap < (SIZE_MAX - PAD) / 2 ? cap * 2 : SIZE_MAX - PAD;
            char *nbuf = ncap > cap ? tx_big_realloc(buf, ncap + PAD) : NULL;
            if (!nbuf) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory reading the file", path);
                goto done;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t want = cap - len;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        size_t got = fread(buf + len, 1, want, f);
        len += got;
        checked += utf8_check((const unsigned char *)buf + checked, len - checked, &why);
        if (why == UTF8_NUL || why == UTF8_BAD) {
            rc = encoding_error(path, buf, checked, why, err);
            goto done;
        }
        if (got < want) {
            if (ferror(f)) {
                rc = tx_err_set(err, TX_EIO, "%s: read error: %s", path, strerror(errno));
                goto done;
            }
            break; /* end of file */
        }
    }
    if (why == UTF8_SHORT) {
        rc = encoding_error(path, buf, checked, why, err);
        goto done;
    }
    *out = reader_new(path, buf, len);
    if (!*out)
        rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
done:
    fclose(f);
    if (rc != TX_OK)
        free(buf);
    return rc;
}

int tx_csv_open_mem(const char *name, const char *data, size_t len, tx_csv **out,
                    tx_err *err)
{
    *out = NULL;
    if (len > SIZE_MAX - PAD)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", name);
    char *buf = tx_big_malloc(len + PAD);
    if (!buf)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", name);
    if (len)
        memcpy(buf, data, len);
    int why;
    size_t ok = utf8_check((const unsigned char *)buf, len, &why);
    if (why != UTF8_OK) {
        int rc = encoding_error(name, buf, ok, why, err);
        free(buf);
        return rc;
    }
    *out = reader_new(name, buf, len);
    if (!*out) {
        free(buf);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", name);
    }
    return TX_OK;
}

int tx_csv_window(const char *name, char *buf, size_t len, uint64_t line, size_t ncols,
                  tx_csv **out, tx_err *err)
{
    *out = NULL;
    int why;
    size_t ok = utf8_check((const unsigned char *)buf, len, &why);
    if (why != UTF8_OK)
        return encoding_error(name, buf, ok, why, err);
    tx_csv *c = reader_new(name, buf, len);
    if (!c)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", name);
    c->pos = 0; /* not the file's start: no byte-order mark */
    c->line = line;
    c->ncols = ncols;
    c->borrowed = 1;
    *out = c;
    return TX_OK;
}

size_t tx_csv_ncols(const tx_csv *c) { return c->ncols; }

int tx_csv_part(const tx_csv *c, size_t from, size_t to, uint64_t line, tx_csv **out,
                tx_err *err)
{
    *out = NULL;
    if (from > to || to > c->len || (to < c->len && (to == 0 || c->buf[to - 1] != '\n')))
        return tx_err_set(err, TX_EINVAL, "%s: a part must end at a line end", c->name);
    tx_csv *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(c->name))) {
        free(p);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", c->name);
    }
    /* The part's content is buf[from, to); the bytes after it (the next part, or the
     * sentinel and the padding) are what the scans may look at past its last line end. */
    p->buf = c->buf + from;
    p->len = to - from;
    p->line = line;
    p->ncols = c->ncols;
    p->borrowed = 1;
    *out = p;
    return TX_OK;
}

size_t tx_csv_pos(const tx_csv *c, uint64_t *line)
{
    if (line)
        *line = c->line;
    return c->pos;
}

const char *tx_csv_data(const tx_csv *c)
{
    return c->buf;
}

void tx_csv_free(tx_csv *c)
{
    if (!c)
        return;
    free(c->name);
    if (!c->borrowed)
        free(c->buf);
    free(c->fields);
    free(c->soff);
    free(c->scratch);
    free(c);
}

const char *tx_csv_name(const tx_csv *c) { return c->name; }

size_t tx_csv_size(const tx_csv *c) { return c->len; }

/* ---- records ----------------------------------------------------------------------- */

static int grow_fields(tx_csv *c)
{
    size_t ncap = c->fcap ? c->fcap * 2 : 16;
    tx_field *f = realloc(c->fields, ncap * sizeof *f);
    if (!f)
        return TX_ENOMEM;
    c->fields = f;
    size_t *o = realloc(c->soff, ncap * sizeof *o);
    if (!o)
        return TX_ENOMEM;
    c->soff = o;
    c->fcap = ncap;
    return TX_OK;
}

static int scratch_append(tx_csv *c, size_t *used, const char *p, size_t n)
{
    if (c->scap - *used < n) {
        size_t ncap = c->scap ? c->scap : 256;
        while (ncap - *used < n)
            ncap *= 2;
        char *s = realloc(c->scratch, ncap);
        if (!s)
            return TX_ENOMEM;
        c->scratch = s;
        c->scap = ncap;
    }
    memcpy(c->scratch + *used, p, n);
    *used += n;
    return TX_OK;
}

static int fail(tx_csv *c, tx_err *err, int code, uint64_t line, const char *reason)
{
    c->failed = code;
    c->pos = c->len;
    return tx_err_set(err, code, "%s:%llu: %s", c->name, (unsigned long long)line, reason);
}

/* A line end at p: "\n" (the sentinel included), "\r\n", or "\r" as the file's last byte. */
static int at_line_end(const char *p, const char *end)
{
    return *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

int tx_csv_next(tx_csv *c, tx_csv_row *row, tx_err *err)
{
    if (c->failed)
        return tx_err_set(err, c->failed, "%s: reading stopped by an earlier error", c->name);
    const char *const end = c->buf + c->len;
    const char *p = c->buf + c->pos;

    /* Empty lines, CRLF ones included, are not records. */
    for (;;) {
        if (p == end) {
            c->pos = c->len;
            return 0;
        }
        if (!at_line_end(p, end))
            break;
        if (*p == '\r')
            p++;
        if (p < end) { /* a '\n', not the sentinel */
            p++;
            c->line++;
        }
    }

    const char *const start = p;
    const uint64_t line0 = c->line;
    uint64_t line = line0;
    size_t nf = 0, sused = 0;
    int any_scratch = 0;
    for (;;) { /* one field per turn; p is at its first byte */
        const char *fp;
        size_t flen, soff = NO_SCRATCH;
        if (*p == '"') { /* so p < end: the sentinel is '\n' */
            const uint64_t qline = line;
            const char *q = p + 1, *seg = q;
            const size_t sbegin = sused;
            int esc = 0;
            for (;;) {
                const char *r = memchr(q, '"', (size_t)(end - q));
                if (!r)
                    return fail(c, err, TX_EPARSE, qline,
                                "unterminated quoted field (the file ends inside it)");
                line += count_lines(q, r);
                if (r + 1 < end && r[1] == '"') { /* a doubled quote stands for one */
                    if (scratch_append(c, &sused, seg, (size_t)(r + 1 - seg)) != TX_OK)
                        return fail(c, err, TX_ENOMEM, line0, "out of memory");
                    esc = 1;
                    q = seg = r + 2;
                    continue;
                }
                if (esc) {
                    if (scratch_append(c, &sused, seg, (size_t)(r - seg)) != TX_OK)
                        return fail(c, err, TX_ENOMEM, line0, "out of memory");
                    fp = NULL;
                    soff = sbegin;
                    flen = sused - sbegin;
                    any_scratch = 1;
                } else { /* no escapes: the text between the quotes is the field */
                    fp = seg;
                    flen = (size_t)(r - seg);
                }
                p = r + 1;
                break;
            }
            if (*p != ',' && !at_line_end(p, end))
                return fail(c, err, TX_EPARSE, line,
                            "text after the closing quote of a field");
        } else {
            fp = p;
            p = scan_stop(p);
            flen = (size_t)(p - fp);
            if (*p == '"')
                return fail(c, err, TX_EPARSE, line,
                            "quote inside an unquoted field (quote the whole field and "
                            "double the quote)");
            if (*p == '\r' && !at_line_end(p, end))
                return fail(c, err, TX_EPARSE, line,
                            "carriage return inside an unquoted field (CR-only line ends "
                            "are not supported)");
        }
        if (nf == c->fcap && grow_fields(c) != TX_OK)
            return fail(c, err, TX_ENOMEM, line0, "out of memory");
        c->fields[nf].ptr = fp;
        c->fields[nf].len = flen;
        c->soff[nf] = soff;
        nf++;
        if (*p != ',')
            break;
        p++;
    }

    /* p is at the record's line end: "\n", "\r\n", a final "\r", or the sentinel. */
    const char *const rec_end = p;
    if (*p == '\r')
        p++;
    int ended = p < end;
    if (ended) {
        p++;
        line++;
    }
    /* A last record without line end and with fewer fields than the header is a file cut
     * short (an interrupted copy or export), not a short row: the whole file is refused. */
    if (!ended && c->ncols && nf < c->ncols) {
        char why[160];
        snprintf(why, sizeof why,
                 "truncated file: the last record has %zu of %zu fields and no line end", nf,
                 c->ncols);
        return fail(c, err, TX_EPARSE, line0, why);
    }
    if (any_scratch)
        for (size_t i = 0; i < nf; i++)
            if (c->soff[i] != NO_SCRATCH)
                c->fields[i].ptr = c->scratch + c->soff[i];
    c->pos = (size_t)(p - c->buf);
    c->line = line;
    row->nfields = nf;
    row->fields = c->fields;
    row->line = line0;
    row->raw = start;
    row->raw_len = (size_t)(rec_end - start);
    return 1;
}

/* Field text without surrounding spaces and tabs (header names). */
static tx_field trimmed(const tx_field *f)
{
    tx_field t = *f;
    while (t.len && (t.ptr[0] == ' ' || t.ptr[0] == '\t')) {
        t.ptr++;
        t.len--;
    }
    while (t.len && (t.ptr[t.len - 1] == ' ' || t.ptr[t.len - 1] == '\t'))
        t.len--;
    return t;
}

/* The unknown-column list of a header: whole entries joined with ", " in out[cap]. keep is
 * the length of the longest prefix of whole entries that leaves room for ", ..."; cut is
 * set once an entry did not fit, and no entry is added after that. */
typedef struct {
    char *out;
    size_t cap, used, keep;
    int cut;
} name_list;

/* Appends an entry; when it does not fit, the list becomes its whole entries that leave
 * room for "...", then "..." (or "" when not even "..." fits). */
static void list_append(name_list *l, const char *text, size_t n)
{
    if (!l->out || l->cap == 0 || l->cut)
        return;
    const size_t sep = l->used ? 2 : 0;
    if (l->used + sep + n < l->cap) {
        memcpy(l->out + l->used, ", ", sep);
        memcpy(l->out + l->used + sep, text, n);
        l->used += sep + n;
        l->out[l->used] = '\0';
        if (l->used + 5 < l->cap)
            l->keep = l->used;
        return;
    }
    l->cut = 1;
    l->used = l->keep;
    if (l->used)
        memcpy(l->out + l->used, ", ...", 6); /* keep + 5 < cap */
    else if (l->cap > 3)
        memcpy(l->out, "...", 4);
    else
        l->out[0] = '\0';
}

int tx_csv_header(tx_csv *c, const char *const *names, const uint8_t *required,
                  size_t nnames, int *col, size_t *nunknown, char *unknown, size_t cap,
                  tx_err *err)
{
    for (size_t k = 0; k < nnames; k++)
        col[k] = -1;
    if (nunknown)
        *nunknown = 0;
    if (unknown && cap)
        unknown[0] = '\0';
    tx_csv_row row;
    int rc = tx_csv_next(c, &row, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tx_err_set(err, TX_EPARSE, "%s: empty file, no header", c->name);
    if (row.nfields > (size_t)INT32_MAX)
        return tx_err_set(err, TX_EPARSE, "%s:%llu: too many columns", c->name,
                          (unsigned long long)row.line);
    name_list list = {unknown, cap, 0, 0, 0};
    for (size_t i = 0; i < row.nfields; i++) {
        const tx_field f = trimmed(&row.fields[i]);
        size_t k = 0;
        while (k < nnames && !tx_field_is(&f, names[k]))
            k++;
        if (k < nnames) {
            if (col[k] >= 0)
                return tx_err_set(err, TX_EPARSE, "%s:%llu: duplicate column '%s'", c->name,
                                  (unsigned long long)row.line, names[k]);
            col[k] = (int)i;
            continue;
        }
        if (nunknown)
            (*nunknown)++;
        if (f.len)
            list_append(&list, f.ptr, f.len);
        else
            list_append(&list, "(empty name)", 12);
    }
    for (size_t k = 0; k < nnames; k++)
        if (required && required[k] && col[k] < 0)
            return tx_err_set(err, TX_EPARSE, "%s:%llu: missing required column '%s'", c->name,
                              (unsigned long long)row.line, names[k]);
    c->ncols = row.nfields;
    return TX_OK;
}
