/*
 * ingest.c - `tanxiao ingest`: a dataset directory (INPUTS.md) into the meter store.
 *
 * Catalogue files first (enterprises, meters, events), then every CSV file in readings/, in byte
 * order of the file names, so that "later wins" is the order readings are applied in.
 * Every rejected row goes to the rejects report beside the store with file, line, reason
 * and the raw text. Readings are merged into the store one chunk window at a time:
 * identical values are duplicates (dropped, counted), different values replace the stored
 * one and are reported as conflicts. Ingesting the same files twice changes nothing.
 */
#include "tanxiao.h"

#include "bigmem.h"
#include "csv.h"
#include "inputs.h"
#include "store.h"
#include "tables.h"

#include <dirent.h>
#include <fcntl.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const tx_ingest_params TX_INGEST_PARAMS_DEFAULT = {.zstd_level = 3};

static const char *const reject_messages[TX_REJECT_COUNT] = {
#define TX_REJECT_MSG_(name, msg) msg,
    TX_REJECT_MAP(TX_REJECT_MSG_)
#undef TX_REJECT_MSG_
};
static const char *const reject_names[TX_REJECT_COUNT] = {
#define TX_REJECT_NAME_(name, msg) #name,
    TX_REJECT_MAP(TX_REJECT_NAME_)
#undef TX_REJECT_NAME_
};

const char *tx_reject_message(int reason)
{
    return reason >= 0 && reason < TX_REJECT_COUNT ? reject_messages[reason] : "unknown";
}

const char *tx_reject_name(int reason)
{
    return reason >= 0 && reason < TX_REJECT_COUNT ? reject_names[reason] : "UNKNOWN";
}

/* ---- the rejects report ----------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char path[1024];
    tx_ingest_summary *s;
} rejects;

static void csv_quoted(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (const char *end = s + len; s < end;) {
        const char *q = memchr(s, '"', (size_t)(end - s));
        size_t run = q ? (size_t)(q + 1 - s) : (size_t)(end - s);
        fwrite(s, 1, run, f); /* up to and with a quote, which is then doubled */
        if (q)
            fputc('"', f);
        s += run;
    }
    fputc('"', f);
}

/* Records a row in the report; reason -1 is a conflict note and -2 an alignment note (not
 * rejections). */
static int report(rejects *r, const char *file, uint64_t line, int reason, const char *detail,
                  const tx_csv_row *row, tx_err *err)
{
    if (!r->f) {
        r->f = fopen(r->path, "w");
        if (!r->f)
            return tx_err_set(err, TX_EIO, "%s: cannot write the rejects report", r->path);
        fputs("file,line,reason,detail,raw\n", r->f);
    }
    csv_quoted(r->f, file, strlen(file));
    fprintf(r->f, ",%llu,%s,", (unsigned long long)line,
            reason == -1 ? "CONFLICT" : reason == -2 ? "ALIGNED" : tx_reject_name(reason));
    const char *d = detail ? detail : (reason < 0 ? "" : tx_reject_message(reason));
    csv_quoted(r->f, d, strlen(d));
    fputc(',', r->f);
    if (row)
        csv_quoted(r->f, row->raw, row->raw_len);
    fputc('\n', r->f);
    if (reason >= 0) {
        r->s->rejected++;
        r->s->reasons[reason]++;
    }
    return TX_OK;
}

/* ---- catalogue files ---------------------------------------------------------------------- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Ids seen in one file: a hash set (open addressing, at most half full) of owned copies. */
typedef struct {
    char **slot;
    size_t n, cap; /* cap: a power of 2, or 0 */
} id_set;

static void id_set_free(id_set *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slot[i]);
    free(set->slot);
}

/* 1 when id is already in the set, 0 after adding it, TX_ENOMEM. */
static int id_set_add(id_set *set, const char *id)
{
    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 1024;
        char **sl = calloc(cap, sizeof *sl);
        if (!sl)
            return TX_ENOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i]) {
                size_t h = (size_t)tx_id_hash(set->slot[i]) & (cap - 1);
                while (sl[h])
                    h = (h + 1) & (cap - 1);
                sl[h] = set->slot[i];
            }
        free(set->slot);
        set->slot = sl;
        set->cap = cap;
    }
    size_t h = (size_t)tx_id_hash(id) & (set->cap - 1);
    for (; set->slot[h]; h = (h + 1) & (set->cap - 1))
        if (strcmp(set->slot[h], id) == 0)
            return 1;
    if (!(set->slot[h] = strdup(id)))
        return TX_ENOMEM;
    set->n++;
    return 0;
}

/* Parses one row into rec: TX_INPUT_OK or a reject reason; *id (may stay NULL) is the
 * record's id for the duplicate check. */
typedef int (*row_parser)(const tx_csv_row *row, const int *col, tx_store *st,
                          const tx_tables *tables, void *rec, const char **detail,
                          const char **id);

static int parse_enterprise(const tx_csv_row *row, const int *col, tx_store *st,
                            const tx_tables *tables, void *rec, const char **detail,
                            const char **id)
{
    (void)st;
    tx_enterprise *e = rec;
    int r = tx_input_enterprise(row, col, tables, e, detail);
    *id = e->id;
    return r;
}

static int parse_meter(const tx_csv_row *row, const int *col, tx_store *st,
                       const tx_tables *tables, void *rec, const char **detail, const char **id)
{
    (void)tables;
    tx_meter *m = rec;
    int r = tx_input_meter(row, col, m, detail);
    *id = m->id;
    if (r == TX_INPUT_OK && tx_store_find_enterprise(st, m->enterprise_id) < 0)
        r = TX_REJECT_UNKNOWN_ENTERPRISE;
    return r;
}

static int parse_event(const tx_csv_row *row, const int *col, tx_store *st,
                       const tx_tables *tables, void *rec, const char **detail, const char **id)
{
    (void)tables;
    tx_event *e = rec;
    int r = tx_input_event(row, col, e, detail);
    *id = NULL;
    if (r == TX_INPUT_OK && tx_store_find_meter(st, e->meter_id) < 0)
        r = TX_REJECT_UNKNOWN_METER;
    return r;
}

/* Maps the header of csv (the file at path) into col (16 entries): unknown columns are
 * named in one warning, printed, or kept in warn (wcap bytes, "" when none) for a file read
 * ahead of its turn. */
static int header_columns(tx_csv *csv, const char *path, const tx_input_columns *cols,
                          int *col, char *warn, size_t wcap, tx_err *err)
{
    size_t nunknown = 0;
    char unknown[256] = "";
    int rc = tx_input_header(csv, cols, col, &nunknown, unknown, sizeof unknown, err);
    if (rc)
        return rc;
    char text[1400] = "";
    if (nunknown)
        snprintf(text, sizeof text, "%s: %zu unknown column(s) ignored: %s", path, nunknown,
                 unknown);
    if (warn)
        snprintf(warn, wcap, "%s", text);
    else if (text[0])
        fprintf(stderr, "tanxiao: warning: %s\n", text);
    return TX_OK;
}

/* Opens an input file, read whole, and maps its header (header_columns). *csv is NULL on
 * failure. */
static int open_input(const char *path, const tx_input_columns *cols, int *col, tx_csv **csv,
                      char *warn, size_t wcap, tx_err *err)
{
    int rc = tx_csv_open(path, csv, err);
    if (rc == TX_OK && (rc = header_columns(*csv, path, cols, col, warn, wcap, err))) {
        tx_csv_free(*csv);
        *csv = NULL;
    }
    return rc;
}

/*
 * Reads a catalogue file of the dataset into an array of records (owned by the caller,
 * free()). A missing optional file gives no records. Rejected rows go to the report; a
 * second row with the same id is rejected (the first stands).
 */
static int read_catalogue(const char *dir, const tx_input_columns *cols, int optional,
                          size_t rec_size, row_parser parse, tx_store *st,
                          const tx_tables *tables, rejects *rj, void **recs, size_t *nrecs,
                          tx_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, cols->file);
    *recs = NULL;
    *nrecs = 0;
    tx_csv *csv = NULL;
    int col[16];
    int rc = open_input(path, cols, col, &csv, NULL, 0, err);
    if (rc == TX_ENOTFOUND && optional)
        return TX_OK;
    if (rc)
        return rc;
    /* Room for every row at once, one per line end left and one more, on huge pages:
     * grown by doubling, the array cost a fault per 4 KiB page and a copy per doubling, a
     * fifth of the catalogue's time at 61,000 meters (docs/ARCHITECTURE.md). */
    size_t cap = 1, n = 0;
    const char *data = tx_csv_data(csv), *end = data + tx_csv_size(csv);
    for (const char *q = data + tx_csv_pos(csv, NULL);
         q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        cap++;
    char *arr = tx_big_malloc(cap * rec_size);
    id_set seen = {0};
    if (!arr)
        rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    tx_csv_row row;
    while (!rc && (rc = tx_csv_next(csv, &row, err)) == 1) {
        rc = 0;
        if (n == cap) {
            char *na = tx_big_realloc(arr, 2 * cap * rec_size); /* a line end not '\n' */
            if (!na) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
                break;
            }
            arr = na;
            cap *= 2;
        }
        const char *detail = NULL, *id = NULL;
        int reason = parse(&row, col, st, tables, arr + n * rec_size, &detail, &id);
        if (reason == TX_INPUT_OK && id) {
            int dup = id_set_add(&seen, id);
            if (dup < 0) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
                break;
            }
            if (dup)
                reason = TX_REJECT_DUPLICATE_ID;
        }
        if (reason != TX_INPUT_OK) {
            rc = report(rj, path, row.line, reason, detail, &row, err);
            continue;
        }
        n++;
    }
    id_set_free(&seen);
    tx_csv_free(csv);
    if (rc < 0) {
        free(arr);
        return rc;
    }
    *recs = arr;
    *nrecs = n;
    return TX_OK;
}

/* Store counts and upserts of the three catalogue tables, so one loop ingests them all. */
static size_t count_enterprises(const tx_store *st)
{
    size_t n = 0;
    tx_store_enterprises(st, &n);
    return n;
}

static size_t count_meters(const tx_store *st)
{
    size_t n = 0;
    tx_store_meters(st, &n);
    return n;
}

static size_t count_events(const tx_store *st)
{
    size_t n = 0;
    tx_store_events(st, &n);
    return n;
}

static int put_enterprises(tx_store *st, const void *r, size_t n, size_t *ch, tx_err *err)
{
    return tx_store_put_enterprises(st, r, n, ch, err);
}

static int put_meters(tx_store *st, const void *r, size_t n, size_t *ch, tx_err *err)
{
    return tx_store_put_meters(st, r, n, ch, err);
}

static int put_events(tx_store *st, const void *r, size_t n, size_t *ch, tx_err *err)
{
    return tx_store_put_events(st, r, n, ch, err);
}

/* Enterprises first (meters name them), then meters (events name them), then events. */
static int ingest_catalogue(const char *dir, tx_store *st, const tx_tables *tables, rejects *rj,
                            tx_ingest_summary *s, tx_err *err)
{
    struct {
        const tx_input_columns *cols;
        int optional;
        size_t size;
        row_parser parse;
        size_t (*count)(const tx_store *);
        int (*put)(tx_store *, const void *, size_t, size_t *, tx_err *);
        uint64_t *added, *changed;
    } files[] = {
        {&tx_cols_enterprises, 0, sizeof(tx_enterprise), parse_enterprise, count_enterprises,
         put_enterprises, &s->enterprises_new, &s->enterprises_changed},
        {&tx_cols_meters, 0, sizeof(tx_meter), parse_meter, count_meters, put_meters,
         &s->meters_new, &s->meters_changed},
        {&tx_cols_events, 1, sizeof(tx_event), parse_event, count_events, put_events,
         &s->events_new, NULL},
    };
    int rc = TX_OK;
    for (size_t i = 0; !rc && i < sizeof files / sizeof files[0]; i++) {
        void *recs = NULL;
        size_t n = 0, changed = 0;
        rc = read_catalogue(dir, files[i].cols, files[i].optional, files[i].size, files[i].parse,
                            st, tables, rj, &recs, &n, err);
        if (!rc) {
            size_t before = files[i].count(st);
            rc = files[i].put(st, recs, n, &changed, err);
            *files[i].added += files[i].count(st) - before;
            if (files[i].changed)
                *files[i].changed += changed;
        }
        free(recs);
    }
    return rc;
}

/* ---- readings ------------------------------------------------------------------------------ */

/* Readings of a batch of files are merged before they touch the store, so that "later
 * wins" is decided among the files of one ingest first, and a second ingest of the same
 * files finds only duplicates. A batch closes when it holds this many readings. */
#define INGEST_BATCH_READINGS ((size_t)8 << 20)

/* A reading of the batch: 32 bytes, beginning with the cell the merge takes (store row in
 * the grid, slot, value, quality, decimals + 1), whose `user` field holds the reading's
 * 28-day window (slot / the grid's window slots; WINDOW_FAR: to be divided). The merge
 * reads the sorted readings in place, a reading's size apart (an array of cells copied
 * from them was 67 MB of fresh memory for a day of 20,000 enterprises). Its order of
 * reading is (file, line): files are indexed in the order read and lines grow within a
 * file. */
typedef struct {
    tx_store_cell c;
    uint32_t line; /* for the conflict report and the order read (clamped at 2^32 - 1) */
    uint16_t file; /* index into the batch's file names */
    uint8_t grid;
} reading;
_Static_assert(sizeof(reading) == 32, "a reading is 32 bytes");

#define WINDOW_FAR UINT16_MAX

/* Slots per store window (chunk column) of each grid. */
static int64_t window_slots[TX_STORE_NGRIDS];

/* The reading's 28-day window: found once, as the reading is made (a division per reading
 * in each pass of the sort was a third of its time), except past year 4000 or so. */
static int64_t window_of(const reading *r)
{
    return r->c.user != WINDOW_FAR ? r->c.user : r->c.slot / window_slots[r->grid];
}

static uint16_t window_field(int64_t slot, int grid)
{
    const int64_t w = slot / window_slots[grid];
    return w >= 0 && w < WINDOW_FAR ? (uint16_t)w : WINDOW_FAR;
}

/* What a part's readings span, per grid (found as they are made, in the part's thread,
 * so the sort needs no pass of its own for it): how many, their windows and rows. */
typedef struct {
    size_t n[TX_STORE_NGRIDS];
    int64_t wmin[TX_STORE_NGRIDS], wmax[TX_STORE_NGRIDS];
    uint32_t rmax[TX_STORE_NGRIDS];
} span;

static void span_add(span *sp, int g, int64_t w, uint32_t row)
{
    if (!sp->n[g]++) {
        sp->wmin[g] = sp->wmax[g] = w;
    } else {
        sp->wmin[g] = w < sp->wmin[g] ? w : sp->wmin[g];
        sp->wmax[g] = w > sp->wmax[g] ? w : sp->wmax[g];
    }
    sp->rmax[g] = row > sp->rmax[g] ? row : sp->rmax[g];
}

/* Adds what another span covers to sp. */
static void span_join(span *sp, const span *o)
{
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        if (o->n[g]) {
            span_add(sp, g, o->wmin[g], o->rmax[g]);
            span_add(sp, g, o->wmax[g], o->rmax[g]);
            sp->n[g] += o->n[g] - 2; /* two calls for one span's extremes */
        }
}

/* The readings of one file part, as parsed (owned by the batch): a mapping of `bytes`. */
typedef struct {
    reading *rd;
    size_t n;
    size_t bytes;
    span sp;
} segment;

typedef struct {
    segment *segs; /* readings in the order read, until the batch is sorted */
    size_t nsegs, segcap;
    size_t n;      /* readings in the segments */
    reading *rd;   /* the sorted batch */
    size_t cap;
    char **files; /* names of the batch's files, owned */
    size_t nfiles;
    /* scratch for store windows: what was stored in a window's cells */
    double *old;
    uint8_t *oldq;
    size_t bufcap;
} batch;

static int cmp_reading(const void *a, const void *b)
{
    const reading *x = a, *y = b;
    if (x->grid != y->grid)
        return x->grid < y->grid ? -1 : 1;
    int64_t wx = window_of(x), wy = window_of(y);
    if (wx != wy)
        return wx < wy ? -1 : 1;
    if (x->c.row != y->c.row)
        return x->c.row < y->c.row ? -1 : 1;
    if (x->c.slot != y->c.slot)
        return x->c.slot < y->c.slot ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* v as the decimal it was read as, for the report: exact (it parses back to v) and short,
 * "3857451.03" where %.17g gives "3857451.0299999998", and without a floating-point
 * conversion (41,000 conflicts took 60 ms to print with two %.17g each). A value the store
 * could not hold (none reaches here) falls back to %.17g. */
static void value_text(char *buf, size_t cap, double v)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    const int d = tx_store_decimals_of(v);
    if (d < 0 || d > 9 || cap < 32) {
        snprintf(buf, cap, "%.17g", v);
        return;
    }
    const long long n = llrint(v * p10[d]); /* what the store keeps: |n| < 2^53 */
    unsigned long long u = n < 0 ? 0ull - (unsigned long long)n : (unsigned long long)n;
    char tmp[32];
    int len = 0;
    do { /* digits, last first; at least d + 1 of them */
        tmp[len++] = (char)('0' + u % 10);
        u /= 10;
    } while (u || len <= d);
    char *o = buf;
    if (n < 0)
        *o++ = '-';
    for (int i = len - 1; i >= 0; i--) {
        *o++ = tmp[i];
        if (i == d && d > 0)
            *o++ = '.';
    }
    *o = '\0';
}

/* Applies one window of final readings (same grid and store window, one per cell, sorted
 * by row and slot) to the store: new cells are stored, equal ones are duplicates,
 * different ones conflicts (reported: later wins). */
static int apply_window(tx_store *st, batch *b, reading *rd, size_t n, rejects *rj,
                        tx_ingest_summary *s, tx_err *err)
{
    int minutes = tx_store_grid_minutes[rd[0].grid];
    if (n > b->bufcap) {
        size_t cap = n > 2 * b->bufcap ? n : 2 * b->bufcap;
        tx_big_unmap(b->old, b->bufcap * sizeof *b->old); /* scratch: nothing is kept */
        tx_big_unmap(b->oldq, b->bufcap);
        b->old = tx_big_map(cap * sizeof *b->old);
        b->oldq = tx_big_map(cap);
        if (!b->old || !b->oldq) {
            tx_big_unmap(b->old, cap * sizeof *b->old);
            tx_big_unmap(b->oldq, cap);
            b->old = NULL;
            b->oldq = NULL;
            b->bufcap = 0;
            return tx_err_set(err, TX_ENOMEM, "out of memory for %zu readings", n);
        }
        b->bufcap = cap;
    }
    size_t changed = 0;
    int rc = tx_store_merge(st, minutes, &rd[0].c, sizeof *rd, n, b->old, b->oldq, &changed,
                            err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double old = b->old[i];
        if (isnan(old)) {
            s->stored++;
        } else if (old == rd[i].c.value && b->oldq[i] == rd[i].c.quality) {
            s->duplicates++;
        } else {
            s->conflicts++;
            char detail[160], was[40], now[40];
            value_text(was, sizeof was, old);
            value_text(now, sizeof now, rd[i].c.value);
            snprintf(detail, sizeof detail, "stored %s (quality %d) replaced by %s (quality "
                     "%d): later wins", was, b->oldq[i], now, rd[i].c.quality);
            if ((rc = report(rj, b->files[rd[i].file], rd[i].line, -1, detail, NULL, err)))
                return rc;
        }
    }
    return TX_OK;
}

/* Sorts the batch's segments into b->rd by (grid, window, row, slot, order read): one
 * stable counting sort by (grid, window, row) straight from the segments, then each
 * (grid, window, row) run, which is in the order read, is checked for slot order (a file
 * holds each meter's rows in time order) and sorted only where it is not. Linear for the
 * usual batch; keys too spread for counts (readings over many windows) get a qsort.
 * Frees the segments. 0 or TX_ENOMEM. */
static int sort_batch(batch *b)
{
    if (b->n > b->cap) {
        tx_big_unmap(b->rd, b->cap * sizeof *b->rd); /* nothing of it is kept */
        b->rd = tx_big_map(b->n * sizeof *b->rd);
        if (!b->rd) {
            b->cap = 0;
            return TX_ENOMEM;
        }
        b->cap = b->n;
    }
    span all = {0};
    for (size_t q = 0; q < b->nsegs; q++)
        span_join(&all, &b->segs[q].sp);
    const int64_t *wmin = all.wmin, *wmax = all.wmax;
    const uint32_t *rmax = all.rmax;
    const size_t *ng = all.n;
    uint64_t base[TX_STORE_NGRIDS + 1] = {0}, rows[TX_STORE_NGRIDS] = {0};
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        uint64_t keys = 0;
        if (ng[g]) {
            rows[g] = (uint64_t)rmax[g] + 1;
            keys = (uint64_t)(wmax[g] - wmin[g]) + 1;
            keys = keys > (UINT64_C(1) << 40) / rows[g] ? UINT64_C(1) << 40 : keys * rows[g];
        }
        base[g + 1] = base[g] + keys;
    }
    size_t *count = NULL;
    if (base[TX_STORE_NGRIDS] <= 4 * (uint64_t)b->n + 65536)
        count = calloc((size_t)base[TX_STORE_NGRIDS] + 1, sizeof *count);
#define KEY(r) ((size_t)(base[(r)->grid] + (uint64_t)(window_of(r) - wmin[(r)->grid]) *     \
                                               rows[(r)->grid] + (r)->c.row))
    if (count) {
        for (size_t q = 0; q < b->nsegs; q++)
            for (size_t i = 0; i < b->segs[q].n; i++)
                count[KEY(&b->segs[q].rd[i]) + 1]++;
        for (size_t k = 0; k < (size_t)base[TX_STORE_NGRIDS]; k++)
            count[k + 1] += count[k];
        /* Each part's readings are given back as soon as they are placed: the sorted batch's
         * pages, first touched here, reuse them warm (docs/ARCHITECTURE.md). */
        for (size_t q = 0; q < b->nsegs; q++) {
            for (size_t i = 0; i < b->segs[q].n; i++) {
                const reading *r = &b->segs[q].rd[i];
                b->rd[count[KEY(r)]++] = *r;
            }
            tx_big_unmap(b->segs[q].rd, b->segs[q].bytes);
            b->segs[q].rd = NULL;
        }
        free(count);
    } else {
        size_t at = 0;
        for (size_t q = 0; q < b->nsegs; q++) {
            memcpy(b->rd + at, b->segs[q].rd, b->segs[q].n * sizeof *b->rd);
            at += b->segs[q].n;
        }
        qsort(b->rd, b->n, sizeof *b->rd, cmp_reading);
    }
#undef KEY
    for (size_t q = 0; q < b->nsegs; q++)
        tx_big_unmap(b->segs[q].rd, b->segs[q].bytes);
    b->nsegs = 0;
    reading *r = b->rd;
    for (size_t i = 0, j; i < b->n; i = j) {
        int sorted = 1;
        const int64_t w = window_of(&r[i]);
        for (j = i + 1; j < b->n && r[j].grid == r[i].grid && r[j].c.row == r[i].c.row &&
                        window_of(&r[j]) == w;
             j++)
            if (r[j].c.slot < r[j - 1].c.slot)
                sorted = 0;
        if (!sorted)
            qsort(r + i, j - i, sizeof *r, cmp_reading);
    }
    return TX_OK;
}

/* Merges the batch (later wins per cell), applies it window by window and empties it. */
static int flush_batch(tx_store *st, batch *b, rejects *rj, tx_ingest_summary *s, tx_err *err)
{
    int rc = sort_batch(b);
    if (rc != TX_OK)
        return tx_err_set(err, rc, "out of memory for a batch of %zu readings", b->n);
    /* Keep the last reading of each cell; earlier ones are duplicates or conflicts. */
    size_t k = 0;
    for (size_t i = 0; i < b->n && !rc; i++) {
        if (k > 0 && b->rd[k - 1].grid == b->rd[i].grid &&
            b->rd[k - 1].c.row == b->rd[i].c.row && b->rd[k - 1].c.slot == b->rd[i].c.slot) {
            reading *prev = &b->rd[k - 1];
            if (prev->c.value == b->rd[i].c.value && prev->c.quality == b->rd[i].c.quality) {
                s->duplicates++;
            } else {
                s->conflicts++;
                char detail[200], was[40], now[40];
                value_text(was, sizeof was, prev->c.value);
                value_text(now, sizeof now, b->rd[i].c.value);
                snprintf(detail, sizeof detail, "%s from %s line %u replaced by %s: later wins",
                         was, b->files[prev->file], prev->line, now);
                rc = report(rj, b->files[b->rd[i].file], b->rd[i].line, -1, detail, NULL, err);
            }
            *prev = b->rd[i];
            continue;
        }
        b->rd[k++] = b->rd[i];
    }
    for (size_t i = 0, j; !rc && i < k; i = j) {
        const int64_t w = window_of(&b->rd[i]);
        for (j = i + 1; j < k && b->rd[j].grid == b->rd[i].grid && window_of(&b->rd[j]) == w;
             j++)
            ;
        rc = apply_window(st, b, b->rd + i, j - i, rj, s, err);
    }
    for (size_t f = 0; f < b->nfiles; f++)
        free(b->files[f]);
    b->nfiles = 0;
    b->n = 0;
    return rc;
}

static void batch_free(batch *b)
{
    for (size_t f = 0; f < b->nfiles; f++)
        free(b->files[f]);
    free(b->files);
    for (size_t q = 0; q < b->nsegs; q++)
        tx_big_unmap(b->segs[q].rd, b->segs[q].bytes);
    free(b->segs);
    tx_big_unmap(b->rd, b->cap * sizeof *b->rd);
    tx_big_unmap(b->old, b->bufcap * sizeof *b->old);
    tx_big_unmap(b->oldq, b->bufcap);
}

/* The slot of t on a grid of step_s seconds when t lies within tol seconds of it; -1 when
 * farther off. *shift gets slot instant - t. */
static int64_t nearest_slot(int64_t t, int64_t step_s, int64_t tol, int64_t *shift)
{
    int64_t off = (t - TX_EPOCH_UNIX) % step_s;
    int64_t base = (t - TX_EPOCH_UNIX) / step_s;
    if (off <= tol) {
        *shift = -off;
        return base;
    }
    if (step_s - off <= tol) {
        *shift = step_s - off;
        return base + 1;
    }
    return -1;
}

/*
 * A readings file is parsed in two passes, so that the first, which is most of the work,
 * needs no store and can run while the store opens and the catalogue is ingested (the
 * first file's, on the other core: tx_ingest).
 *
 * First pass (parse_part): the CSV rows into srows (timestamp, value, quality, line and
 * where the row's text is), the meter ids as runs (a file holds a meter's rows together),
 * and notes for the rows the row format rejects.
 * Second pass (resolve_part): each run's meter looked up in the catalogue once, then each
 * srow checked against its meter (unknown, off the grid, negative, not storable) and turned
 * in place into its reading, or noted. The rules and their order are those of one pass.
 *
 * A large file is streamed: each part reads its bytes itself, a window at a time (pread
 * into a buffer of its own that stays in cache), so the file is never held whole (a day of
 * 20,000 enterprises is 137 MB of fresh memory, and fresh pages are dear in a virtual
 * machine: docs/ARCHITECTURE.md). Its parts know their lines relative to their start
 * until every first pass is done (stream_lines), and a row's text is read again from the
 * file when the report needs it. What only a whole read reports exactly (a quote
 * character, which may hide a line end; text that is not UTF-8; a reader's error) sends
 * the file back to be read whole (needs_whole), as is a file that is small or not regular.
 */

/* What a part of a readings file leaves for the report: a rejected row (reason >= 0) or an
 * alignment note (-2), in row order. */
typedef struct {
    uint64_t line;  /* relative to the part's start in a streamed file */
    size_t raw_off; /* the row's text in the file (read again from a streamed one) */
    size_t raw_len;
    int reason;
    const char *why; /* static text, or NULL */
    char detail[48];
} note;

/* A row the first pass accepted: 40 bytes, rewritten in place by the second pass into its
 * 32-byte reading (reading k <= row k, and a row is read whole before its reading is
 * written). */
typedef struct {
    int64_t t;
    double value;
    uint64_t line;  /* relative to the part's start in a streamed file */
    size_t raw;     /* offset of the row's text in the file */
    uint32_t raw_len;
    uint8_t quality;
    int8_t decimals; /* tx_store_decimals_of(value): < 0 when it cannot be stored */
} srow;

_Static_assert(sizeof(srow) >= sizeof(reading), "a row is turned into its reading in place");

/* A run of rows with the same meter id, from row `first` of the part. */
typedef struct {
    char id[TX_METER_ID_CAP];
    int fits; /* the id fits id[] (else it names no meter) */
    size_t first;
} mrun;

/* One thread's share of a readings file: bytes [from, to) from line `line` (in a streamed
 * file, known once every part's first pass is done). */
typedef struct {
    size_t from, to;
    uint64_t line;
    uint64_t nlines; /* lines the first pass read (streamed) */
    int whole;       /* the first pass met what only a whole read reports exactly */
    srow *sr;        /* first pass; the second leaves its n readings at the front */
    size_t nsr, srcap;
    size_t n;
    span sp;         /* what the n readings span */
    mrun *runs;
    size_t nruns, runcap;
    note *notes;     /* the first pass's, then the second's (each in row order) */
    size_t nn, ncap, nn1;
    uint64_t rows, aligned;
    int rc;
    tx_err err;
} part;

/* Parts of a readings file: one per thread when the file is large enough to gain from it
 * and holds no quote (a part boundary never falls inside a quoted field). */
#define INGEST_PART_MIN_BYTES ((size_t)4 << 20)
#define INGEST_MAX_PARTS 64
/* The first file, parsed beside the catalogue: parts per thread, so that the work shares
 * out evenly whenever the catalogue's thread joins. */
#define INGEST_OVERLAP_PARTS_PER_THREAD 4
/* A streamed part's window: bytes read at a time (a longer line grows it). */
#define INGEST_WINDOW_BYTES ((size_t)1 << 20)
/* What is read at a time to find a header's or a part boundary's line end. */
#define INGEST_PROBE_BYTES ((size_t)64 << 10)

/* A readings file after the first pass. rc: TX_OK, or why the file cannot be read (it is
 * then skipped whole). A streamed file keeps its descriptor open until it is taken. */
typedef struct {
    char *path;
    tx_csv *csv;       /* read whole; NULL when streamed */
    int fd;            /* streamed; -1 otherwise */
    struct stat st;    /* streamed: the file when opened, to see it change meanwhile */
    size_t window;     /* streamed: bytes a part reads at a time */
    size_t ncols;      /* streamed: the header's fields */
    uint64_t line0;    /* streamed: the line of the first part's start */
    size_t size;       /* bytes of the file */
    int nparts;
    part parts[INGEST_MAX_PARTS];
    int col[16];       /* the header's columns */
    char warning[1400]; /* unknown columns, printed when the file is taken */
    int rc;
    tx_err err;
} prepped;

static void part_free(part *p)
{
    tx_big_unmap(p->sr, p->srcap * sizeof *p->sr);
    free(p->runs);
    free(p->notes);
    p->sr = NULL;
    p->runs = NULL;
    p->notes = NULL;
}

static note *part_note(part *p, uint64_t line, size_t raw_off, size_t raw_len, int reason)
{
    if (p->nn == p->ncap) {
        size_t cap = p->ncap ? 2 * p->ncap : 256;
        note *nn = realloc(p->notes, cap * sizeof *nn);
        if (!nn)
            return NULL;
        p->notes = nn;
        p->ncap = cap;
    }
    note *n = &p->notes[p->nn++];
    n->line = line;
    n->raw_off = raw_off;
    n->raw_len = raw_len;
    n->reason = reason;
    n->why = NULL;
    n->detail[0] = '\0';
    return n;
}

/* The first pass over the rows of reader c, whose bytes start at `data`, byte `off` of the
 * file. 0, or an error (p->err). */
static int parse_rows(tx_csv *c, part *p, const int *col, const char *data, size_t off)
{
    tx_csv_row row;
    int rc;
    while ((rc = tx_csv_next(c, &row, &p->err)) == 1) {
        p->rows++;
        const size_t at = off + (size_t)(row.raw - data);
        tx_reading_row r;
        int reason = tx_input_reading(&row, col, &r);
        if (reason != TX_INPUT_OK) {
            if (!part_note(p, row.line, at, row.raw_len, reason))
                return tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", tx_csv_name(c));
            continue;
        }
        const tx_field *id = &r.meter_id;
        const mrun *last = p->nruns ? &p->runs[p->nruns - 1] : NULL;
        if (!last || !last->fits || id->len >= sizeof last->id ||
            memcmp(last->id, id->ptr, id->len) != 0 || last->id[id->len] != '\0') {
            if (p->nruns == p->runcap) {
                size_t cap = p->runcap ? 2 * p->runcap : 1024;
                mrun *nr = realloc(p->runs, cap * sizeof *nr);
                if (!nr)
                    return tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory",
                                      tx_csv_name(c));
                p->runs = nr;
                p->runcap = cap;
            }
            mrun *u = &p->runs[p->nruns++];
            u->fits = tx_field_copy(id, u->id, sizeof u->id);
            u->first = p->nsr;
        }
        if (row.raw_len > UINT32_MAX)
            return tx_err_set(&p->err, TX_EPARSE, "%s:%llu: a row of 4 GiB or more",
                              tx_csv_name(c), (unsigned long long)row.line);
        if (p->nsr == p->srcap) {
            size_t ncap = 2 * p->srcap;
            srow *nr = tx_big_remap(p->sr, p->srcap * sizeof *p->sr, ncap * sizeof *p->sr);
            if (!nr)
                return tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", tx_csv_name(c));
            p->sr = nr;
            p->srcap = ncap;
        }
        p->sr[p->nsr++] = (srow){
            .t = r.t,
            .value = r.value,
            .line = row.line,
            .raw = at,
            .raw_len = (uint32_t)row.raw_len,
            .quality = r.quality,
            .decimals = (int8_t)tx_store_decimals_of(r.value),
        };
    }
    return rc < 0 ? rc : TX_OK;
}

/* Room for a part's rows at once (a row is at least a timestamp, 25 bytes, and four
 * more): pages are only touched as rows come, and nothing is moved as it grows. */
static int part_rows(part *p, const char *name)
{
    p->srcap = (p->to - p->from) / 29 + 64;
    if (!(p->sr = tx_big_map(p->srcap * sizeof *p->sr)))
        return tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", name);
    return TX_OK;
}

/* First pass over a streamed part: window by window, each ending at a line end. */
static void parse_stream(const prepped *f, part *p)
{
    if ((p->rc = part_rows(p, f->path)) != TX_OK)
        return;
    size_t cap = f->window;
    char *w = malloc(cap + TX_CSV_PAD);
    if (!w) {
        p->rc = tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", f->path);
        return;
    }
    uint64_t line = 1;
    int rc = TX_OK;
    for (size_t pos = p->from; pos < p->to && rc == TX_OK;) {
        const size_t want = p->to - pos < cap ? p->to - pos : cap;
        if (tx_pread_exact(f->fd, w, want, pos) != 0) { /* the file shrank: read it again whole */
            p->whole = 1;
            break;
        }
        size_t len = want;
        if (pos + want < p->to) {
            len = 0;
            for (size_t i = want; i > 0 && !len; i--)
                if (w[i - 1] == '\n')
                    len = i;
            if (!len) { /* a line longer than the window */
                char *nw = cap < SIZE_MAX / 4 ? realloc(w, 2 * cap + TX_CSV_PAD) : NULL;
                if (!nw) {
                    rc = tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", f->path);
                    break;
                }
                w = nw;
                cap *= 2;
                continue;
            }
        }
        tx_csv *c = NULL;
        tx_err e;
        if (memchr(w, '"', len) || tx_csv_window(f->path, w, len, line, f->ncols, &c, &e)) {
            p->whole = 1;
            break;
        }
        rc = parse_rows(c, p, f->col, w, pos);
        tx_csv_pos(c, &line);
        tx_csv_free(c);
        pos += len;
    }
    free(w);
    if (rc != TX_OK && rc != TX_ENOMEM)
        p->whole = 1; /* its message names a line relative to the part */
    p->rc = rc;
    p->nlines = line - 1;
    p->nn1 = p->nn;
}

/* First pass over a part. */
static void parse_part(const prepped *f, part *p)
{
    if (f->fd >= 0) {
        parse_stream(f, p);
        return;
    }
    tx_csv *c = NULL;
    if ((p->rc = tx_csv_part(f->csv, p->from, p->to, p->line, &c, &p->err)) != TX_OK)
        return;
    if ((p->rc = part_rows(p, f->path)) == TX_OK)
        p->rc = parse_rows(c, p, f->col, tx_csv_data(f->csv), 0);
    p->nn1 = p->nn;
    tx_csv_free(c);
}

/* A streamed file whose first pass met what only a whole read reports exactly. */
static int needs_whole(const prepped *f)
{
    for (int k = 0; f && f->rc == TX_OK && f->fd >= 0 && k < f->nparts; k++)
        if (f->parts[k].whole)
            return 1;
    return 0;
}

/* A streamed file's parts' lines, once every first pass is done. */
static void stream_lines(prepped *f)
{
    uint64_t line = f->line0;
    for (int k = 0; f->fd >= 0 && k < f->nparts; k++) {
        f->parts[k].line = line;
        line += f->parts[k].nlines;
    }
}

/* What to add to a part's lines for the file's: 0 when read whole. */
static uint64_t line_base(const prepped *f, const part *p)
{
    return f->fd >= 0 ? p->line - 1 : 0;
}

/* Out of memory in the second pass: the part fails (unless the first pass had already
 * stopped it, whose error stands). */
static void resolve_oom(const prepped *f, part *p)
{
    if (p->rc == TX_OK)
        p->rc = tx_err_set(&p->err, TX_ENOMEM, "%s: out of memory", f->path);
}

/* Second pass over a part: the catalogue's meters. */
static void resolve_part(const prepped *f, part *p, tx_store *st, int64_t align_tol,
                         uint16_t file)
{
    const uint64_t base = line_base(f, p);
    size_t n_meters = 0;
    const tx_meter *meters = tx_store_meters(st, &n_meters);
    reading *rd = (reading *)(void *)p->sr;
    size_t k = 0, run = 0;
    long m = -1;
    for (size_t i = 0; i < p->nsr; i++) {
        if (run < p->nruns && p->runs[run].first == i) {
            m = p->runs[run].fits ? tx_store_find_meter(st, p->runs[run].id) : -1;
            run++;
        }
        const srow r = p->sr[i];
        int reason = TX_INPUT_OK;
        int64_t slot = 0;
        if (m < 0) {
            reason = TX_REJECT_UNKNOWN_METER;
        } else if (tx_store_slot(r.t, meters[m].interval_minutes, &slot)) {
            /* Clock drift of a few seconds is aligned to the grid and reported. */
            int64_t shift = 0;
            slot = nearest_slot(r.t, (int64_t)meters[m].interval_minutes * 60, align_tol,
                                &shift);
            if (slot < 0) {
                reason = TX_REJECT_OFF_GRID;
            } else {
                note *n = part_note(p, r.line, r.raw, r.raw_len, -2);
                if (!n) {
                    resolve_oom(f, p);
                    break;
                }
                snprintf(n->detail, sizeof n->detail, "aligned to the grid by %+lld s",
                         (long long)shift);
                p->aligned++;
            }
        }
        if (reason == TX_INPUT_OK && r.value < 0)
            reason = meters[m].kind == TX_KIND_INTERVAL ? TX_REJECT_NEGATIVE_INTERVAL
                                                        : TX_REJECT_BAD_VALUE;
        const char *why = NULL;
        if (reason == TX_INPUT_OK && r.decimals < 0) {
            /* The store keeps readings exactly, as integers of the meter's resolution. */
            reason = TX_REJECT_BAD_VALUE;
            why = "more than 9 decimals, or 2^53 or more units of its last decimal: cannot "
                  "be stored exactly";
        }
        if (reason != TX_INPUT_OK) {
            note *n = part_note(p, r.line, r.raw, r.raw_len, reason);
            if (!n) {
                resolve_oom(f, p);
                break;
            }
            n->why = why;
            continue;
        }
        const int g = tx_store_grid_of(meters[m].interval_minutes);
        const uint64_t line = r.line + base;
        rd[k++] = (reading){
            .c = {.row = meters[m].row,
                  .quality = r.quality,
                  .decimals = (uint8_t)(r.decimals + 1),
                  .user = window_field(slot, g),
                  .slot = slot,
                  .value = r.value},
            .line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line,
            .file = file,
            .grid = (uint8_t)g,
        };
        span_add(&p->sp, g, window_of(&rd[k - 1]), meters[m].row);
    }
    p->n = k;
}

static void prepped_free(prepped *f)
{
    if (!f)
        return;
    for (int k = 0; k < f->nparts; k++)
        part_free(&f->parts[k]);
    tx_csv_free(f->csv);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

/* The offset just after the first line end at or after `at` (the file's size when there
 * is none): in the buffer of a file read whole, else reading a probe at a time; (size_t)-1
 * when it cannot be read. */
static size_t next_line_start(const prepped *f, size_t at, char *probe)
{
    if (f->csv) {
        const char *data = tx_csv_data(f->csv);
        const char *nl = memchr(data + at, '\n', f->size - at);
        return nl ? (size_t)(nl + 1 - data) : f->size;
    }
    while (at < f->size) {
        size_t n = f->size - at < INGEST_PROBE_BYTES ? f->size - at : INGEST_PROBE_BYTES;
        if (tx_pread_exact(f->fd, probe, n, at) != 0)
            return (size_t)-1;
        const char *nl = memchr(probe, '\n', n);
        if (nl)
            return at + (size_t)(nl - probe) + 1;
        at += n;
    }
    return f->size;
}

/* Splits f's bytes from `from` at line ends into up to nparts parts (f->nparts). 0, or -1
 * when a streamed file cannot be read. */
static int split_parts(prepped *f, int nparts, size_t from, char *probe)
{
    if (nparts > INGEST_MAX_PARTS)
        nparts = INGEST_MAX_PARTS;
    part *parts = f->parts;
    parts[0].from = from;
    for (int k = 1; k < nparts; k++) {
        size_t at = from + (f->size - from) / (size_t)nparts * (size_t)k;
        if (at < parts[k - 1].from)
            at = parts[k - 1].from;
        if ((parts[k].from = next_line_start(f, at, probe)) == (size_t)-1)
            return -1;
        parts[k - 1].to = parts[k].from;
    }
    parts[nparts - 1].to = f->size;
    f->nparts = nparts;
    return 0;
}

/* Sets f up to be streamed in up to `parts` parts: its header read from a probe, its parts
 * split at line ends. -1 (f as it was, but the descriptor) when the header holds a quote
 * or is not the first probe's, or the header itself fails: a whole read then says why. */
static int stream_open(prepped *f, int nparts)
{
    char *probe = malloc(INGEST_PROBE_BYTES + TX_CSV_PAD);
    if (!probe)
        return -1;
    const size_t size = f->size;
    const size_t n = size < INGEST_PROBE_BYTES ? size : INGEST_PROBE_BYTES;
    const char *nl = tx_pread_exact(f->fd, probe, n, 0) == 0 ? memchr(probe, '\n', n) : NULL;
    tx_csv *h = NULL;
    tx_err e;
    int rc = -1;
    if (nl && !memchr(probe, '"', (size_t)(nl - probe)) &&
        tx_csv_open_mem(f->path, probe, (size_t)(nl - probe) + 1, &h, &e) == TX_OK &&
        header_columns(h, f->path, &tx_cols_readings, f->col, f->warning, sizeof f->warning,
                       &e) == TX_OK) {
        f->ncols = tx_csv_ncols(h);
        if ((rc = split_parts(f, nparts, tx_csv_pos(h, &f->line0), probe)) != 0)
            f->nparts = 0;
    }
    tx_csv_free(h);
    free(probe);
    return rc;
}

/* A readings file, split at line ends into up to `parts` parts for the first pass
 * (prep_parse, or a task per part): streamed when it is a regular file of
 * INGEST_PART_MIN_BYTES or more and window > 0, else read whole (one part when small or
 * holding a quote). NULL when out of memory; otherwise the file, whose rc says whether it
 * could be read. */
static prepped *prep_file(const char *path, int parts_wanted, size_t window)
{
    prepped *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = -1;
    if (!(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    if (window > 0 && parts_wanted >= 1 && (f->fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        if (fstat(f->fd, &f->st) == 0 && S_ISREG(f->st.st_mode) &&
            (uintmax_t)f->st.st_size >= INGEST_PART_MIN_BYTES &&
            (uintmax_t)f->st.st_size < SIZE_MAX / 2) {
            f->size = (size_t)f->st.st_size;
            f->window = window;
            if (stream_open(f, parts_wanted) == 0)
                return f;
        }
        close(f->fd);
        f->fd = -1;
        f->warning[0] = '\0';
    }
    if ((f->rc = open_input(path, &tx_cols_readings, f->col, &f->csv, f->warning,
                            sizeof f->warning, &f->err)))
        return f;
    uint64_t line0 = 0;
    const size_t from = tx_csv_pos(f->csv, &line0);
    const char *data = tx_csv_data(f->csv);
    f->size = tx_csv_size(f->csv);
    int nparts = parts_wanted;
    if (nparts < 1 || f->size - from < INGEST_PART_MIN_BYTES ||
        memchr(data + from, '"', f->size - from))
        nparts = 1;
    split_parts(f, nparts, from, NULL); /* in the buffer: it cannot fail */
    f->parts[0].line = line0;
    for (int k = 1; k < f->nparts; k++) {
        uint64_t lines = 0;
        for (const char *q = data + f->parts[k - 1].from, *e = data + f->parts[k].from;
             q < e && (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
            lines++;
        f->parts[k].line = f->parts[k - 1].line + lines;
    }
    return f;
}

/* The first pass over a prepped file's parts, in parallel threads. */
static void prep_parse(prepped *f)
{
    if (!f || f->rc)
        return;
#pragma omp parallel for schedule(dynamic, 1) if (f->nparts > 1)
    for (int k = 0; k < f->nparts; k++)
        parse_part(f, &f->parts[k]);
}

/* The second pass over a prepped file, into the batch; rejected rows go to the report, in
 * file order, so the batch and the report are what a serial read gives. A file that could
 * not be read returns its error (err) and adds nothing. */
static int take_file(prepped *f, tx_store *st, int64_t align_tol, batch *b, rejects *rj,
                     tx_ingest_summary *s, tx_err *err)
{
    if (f->rc) {
        *err = f->err;
        return f->rc;
    }
    const char *path = f->path;
    if (f->warning[0])
        fprintf(stderr, "tanxiao: warning: %s\n", f->warning);
    s->bytes += f->size;
    char **nf = realloc(b->files, (b->nfiles + 1) * sizeof *b->files);
    char *name = strdup(path);
    if (!nf || !name) {
        free(name);
        if (nf)
            b->files = nf;
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    b->files = nf;
    b->files[b->nfiles] = name;
    const uint16_t file = (uint16_t)b->nfiles++;
    const int nparts = f->nparts;
    part *parts = f->parts;
    int rc = TX_OK;
    /* Every part, also one the first pass stopped in: its rows before the stop are noted
     * as one pass notes them. */
    stream_lines(f);
#pragma omp parallel for schedule(dynamic, 1) if (nparts > 1)
    for (int k = 0; k < nparts; k++)
        resolve_part(f, &parts[k], st, align_tol, file);
    /* A streamed file is read in pieces: one that changed meanwhile (size or time) is not
     * what was parsed, and is skipped whole. */
    struct stat now;
    if (f->fd >= 0 && (fstat(f->fd, &now) != 0 || now.st_size != f->st.st_size ||
                       now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
                       now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec))
        return tx_err_set(err, TX_EIO, "%s: changed while it was being read", path);

    /* In file order: notes to the report (each part's two passes' merged by line), then
     * readings to the batch; the first part that failed ends the file, and none of its
     * readings is taken. */
    if (b->nsegs + (size_t)nparts > b->segcap) {
        size_t cap = b->segcap ? 2 * b->segcap : 64;
        while (cap < b->nsegs + (size_t)nparts)
            cap *= 2;
        segment *ns = realloc(b->segs, cap * sizeof *ns);
        if (!ns)
            rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
        else {
            b->segs = ns;
            b->segcap = cap;
        }
    }
    char *text = NULL; /* a streamed file's rows, read again for the report */
    size_t tcap = 0;
    const char *data = f->csv ? tx_csv_data(f->csv) : NULL;
    for (int k = 0; k < nparts && rc == TX_OK; k++) {
        part *p = &parts[k];
        const uint64_t base = line_base(f, p);
        s->rows += p->rows;
        s->aligned += p->aligned;
        for (size_t i = 0, j = p->nn1; (i < p->nn1 || j < p->nn) && rc == TX_OK;) {
            const note *n = j == p->nn || (i < p->nn1 && p->notes[i].line <= p->notes[j].line)
                                ? &p->notes[i++]
                                : &p->notes[j++];
            tx_csv_row row = {.line = n->line + base, .raw_len = n->raw_len};
            if (data) {
                row.raw = data + n->raw_off;
            } else {
                if (n->raw_len > tcap) {
                    char *nt = realloc(text, n->raw_len);
                    if (!nt) {
                        rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
                        break;
                    }
                    text = nt;
                    tcap = n->raw_len;
                }
                if (tx_pread_exact(f->fd, text, n->raw_len, n->raw_off) != 0) {
                    rc = tx_err_set(err, TX_EIO, "%s: changed while it was being read", path);
                    break;
                }
                row.raw = text;
            }
            rc = report(rj, path, row.line, n->reason, n->reason == -2 ? n->detail : n->why,
                        &row, err);
        }
        if (rc == TX_OK && p->rc != TX_OK)
            rc = tx_err_set(err, p->rc, "%s", p->err.msg);
    }
    free(text);
    /* The file's readings join the batch only when all of it was read. */
    for (int k = 0; k < nparts && rc == TX_OK; k++) {
        b->segs[b->nsegs++] = (segment){(reading *)(void *)parts[k].sr, parts[k].n,
                                        parts[k].srcap * sizeof(srow), parts[k].sp};
        b->n += parts[k].n;
        parts[k].sr = NULL; /* the batch owns it */
    }
    return rc < 0 ? rc : TX_OK;
}

static int list_reading_files(const char *dir, char ***names, size_t *n, tx_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/readings", dir);
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return TX_OK; /* no readings: catalogue only */
    size_t cap = 0;
    struct dirent *de;
    int rc = TX_OK;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".csv") != 0 || de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            char **nn = realloc(*names, cap * sizeof **names);
            if (!nn) {
                rc = tx_err_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(de->d_name))) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (!rc)
        qsort(*names, *n, sizeof **names, cmp_cstr); /* byte order: later files win */
    return rc;
}

/* A readings file's path in the dataset. */
static void reading_path(char *path, size_t cap, const char *dir, const char *name)
{
    snprintf(path, cap, "%s/readings/%s", dir, name);
}

int tx_ingest(const tx_ingest_params *p, tx_ingest_summary *s, tx_err *err)
{
    memset(s, 0, sizeof *s);
    double t = omp_get_wtime(), t1;
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        window_slots[g] = (int64_t)tx_store_chunk_slots(tx_store_grid_minutes[g]);
    if (!p->dataset_dir || !p->store_path)
        return tx_err_set(err, TX_EINVAL, "ingest needs a dataset directory and --store");
    rejects rj = {NULL, "", s};
    snprintf(rj.path, sizeof rj.path, "%s.rejects.csv", p->store_path);
    remove(rj.path); /* the report describes this ingest only */
    tx_tables tables;
    int rc = tx_tables_load(p->tables_dir ? p->tables_dir : TANXIAO_TABLES_DIR, &tables, err);
    if (rc)
        return rc;
    char **files = NULL;
    size_t nfiles = 0;
    if ((rc = list_reading_files(p->dataset_dir, &files, &nfiles, err))) {
        tx_tables_destroy(&tables);
        return rc;
    }
    /* Opening the store and the catalogue are one thread's work; with more threads, the
     * first readings file is read and its first pass (most of its parsing) runs beside
     * them, in parts small enough that the thread of the catalogue takes its share when it
     * is done (measured: docs/ARCHITECTURE.md). */
    tx_store *st = NULL;
    prepped *first = NULL;
    const int nt = omp_get_max_threads();
    const int overlap = nfiles > 0 && nt > 1;
    /* Streamed files' windows; TANXIAO_TEST_WINDOW (bytes) makes them small for the tests,
     * 0 reads every file whole. */
    size_t window = INGEST_WINDOW_BYTES;
    const char *tw = getenv("TANXIAO_TEST_WINDOW");
    if (tw && *tw)
        window = (size_t)strtoull(tw, NULL, 10);
    double t_open = 0, t_cat = 0;
    const double t_first = omp_get_wtime();
#pragma omp parallel num_threads(nt) if (overlap)
#pragma omp single
    {
        if (overlap) {
#pragma omp task
            {
                char path[1400];
                reading_path(path, sizeof path, p->dataset_dir, files[0]);
                first = prep_file(path, INGEST_OVERLAP_PARTS_PER_THREAD * nt, window);
                if (first && first->rc == TX_OK)
                    for (int k = 0; k < first->nparts; k++) {
#pragma omp task firstprivate(k)
                        parse_part(first, &first->parts[k]);
                    }
            }
        }
        double ts = omp_get_wtime();
        rc = tx_store_open(p->store_path, 1, p->zstd_level, &st, err);
        double te = omp_get_wtime();
        t_open = te - ts;
        if (rc == TX_OK) {
            if (!(rc = ingest_catalogue(p->dataset_dir, st, &tables, &rj, s, err)))
                rc = tx_store_flush(st, err);
            t_cat = omp_get_wtime() - te;
        }
    } /* the first file's tasks are done here */
    s->seconds_open = t_open + (t_first - t); /* and the tables before it */
    s->seconds_catalogue = t_cat;
    t = omp_get_wtime();
    if (!rc) {
        batch bt;
        memset(&bt, 0, sizeof bt);
        for (size_t i = 0; !rc && i < nfiles; i++) {
            char path[1400];
            reading_path(path, sizeof path, p->dataset_dir, files[i]);
            tx_err ferr = {0};
            prepped *f;
            if (i == 0 && overlap) { /* its first pass ran beside the catalogue */
                f = first;
                first = NULL;
            } else {
                f = prep_file(path, nt, window);
                prep_parse(f);
            }
            if (needs_whole(f)) { /* what only a whole read reports exactly */
                prepped_free(f);
                f = prep_file(path, nt, 0);
                prep_parse(f);
            }
            rc = f ? take_file(f, st, (int64_t)tables.align_tolerance_s, &bt, &rj, s, &ferr)
                   : tx_err_set(&ferr, TX_ENOMEM, "%s: out of memory", path);
            prepped_free(f);
            s->files++;
            if (rc && rc != TX_ENOMEM) {
                /* A file that cannot be read (header, encoding, truncation) is skipped whole:
                 * none of its rows is stored, the others go on, and the report and the
                 * summary name it. */
                s->files_failed++;
                if (!s->first_failure[0])
                    memcpy(s->first_failure, ferr.msg, sizeof s->first_failure);
                fprintf(stderr, "tanxiao: error: %s (file skipped)\n", ferr.msg);
                rc = report(&rj, path, 0, TX_REJECT_UNREADABLE_FILE, ferr.msg, NULL, err);
            } else if (rc) {
                tx_err_set(err, rc, "%s", ferr.msg);
            }
            s->seconds_read += (t1 = omp_get_wtime()) - t;
            /* Close the batch when it is full, or when file indexes would overflow. */
            if (!rc && (bt.n >= INGEST_BATCH_READINGS || bt.nfiles == UINT16_MAX))
                rc = flush_batch(st, &bt, &rj, s, err);
            if (p->progress)
                p->progress("ingesting readings", i + 1, nfiles, p->progress_arg);
            s->seconds_merge += (t = omp_get_wtime()) - t1;
        }
        if (!rc)
            rc = flush_batch(st, &bt, &rj, s, err);
        batch_free(&bt);
        s->seconds_merge += (t1 = omp_get_wtime()) - t;
        t = t1;
    }
    prepped_free(first); /* the store or the catalogue failed: its file was not taken */
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    tx_tables_destroy(&tables);
    tx_err cerr;
    int crc = !st || rc ? (tx_store_abort(st), TX_OK) : tx_store_close(st, &cerr);
    s->seconds_commit = omp_get_wtime() - t;
    if (!rc && crc)
        rc = tx_err_set(err, cerr.code, "%s", cerr.msg);
    if (rj.f) {
        if (fclose(rj.f) != 0 && !rc)
            rc = tx_err_set(err, TX_EIO, "%s: cannot write the rejects report", rj.path);
        snprintf(s->rejects_path, sizeof s->rejects_path, "%s", rj.path);
    }
    return rc;
}
