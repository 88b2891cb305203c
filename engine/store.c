/* store.c - the HDF5 meter store (store.h).
 *
 * The catalogue (enterprises, meters, events) is small next to the series, so it is read
 * whole on open, kept in memory with an index sorted by key, and written back column by
 * column (h5io) only when a put changed it. The series are 2-D chunked datasets, one pair
 * (value, quality) per grid, opened once with a chunk cache large enough for the access
 * patterns of ingest (day windows across all rows) and of the run (row blocks of a year).
 */
#define _GNU_SOURCE /* qsort_r */
#include "store.h"
#include "h5io.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_FORMAT "tanxiao-store"
#define STORE_FORMAT_VERSION 1
#define STORE_EPOCH "2000-01-01T00:00:00+08:00"

/* A chunk holds 43008 cells: 344064 bytes of float64, inside HDF5's advised 64 KiB - 1 MiB,
 * and 28 days of slots on every grid (2688, 1344, 672, 28 slots), so the rows per chunk
 * are 43008 / slots: 16, 32, 64, 1536. */
#define CHUNK_CELLS 43008
#define CHUNK_DAYS 28

/* Chunk cache per dataset. The run reads blocks of chunk_rows x one year (14 chunks, about
 * 4.8 MB of values); ingest writes day windows across all rows, which keeps one chunk per
 * row block in use (100 chunks, 34 MB, for 1,600 meters of 15 minutes). 64 MiB holds either
 * with room to spare; the cache is filled only as chunks are touched. The quality chunks
 * are an eighth of the size. w0 = 1: a chunk read or written whole is evicted first,
 * since neither access pattern comes back to it. nslots is a prime about 60 times the
 * number of chunks that fit, as HDF5 advises for few hash collisions. */
#define CACHE_VALUE_BYTES ((size_t)64 << 20)
#define CACHE_QUALITY_BYTES ((size_t)16 << 20)
#define CACHE_NSLOTS 12421
#define CACHE_W0 1.0

/* Largest slot accepted: 2^40 slots of 15 minutes is 31 million years. Keeps every
 * slot0 + nslots far from overflow. */
#define MAX_SLOT (INT64_C(1) << 40)

const int tx_store_grid_minutes[TX_STORE_NGRIDS] = {15, 30, 60, 1440};

/* ---- columns of the catalogue tables ---------------------------------------------------- */

enum col_type { COL_STR, COL_U8, COL_U16, COL_U32, COL_I64, COL_F64 };
enum col_flags { FL_NONE, FL_CARRIER, FL_UNIT, FL_KIND, FL_EVENT, FL_SCALE };

typedef struct {
    const char *name;
    enum col_type type;
    size_t off, size;
    const char *units; /* ignored for strings */
    const char *long_name;
    enum col_flags flags;
    int assigned; /* set by the store, not compared by upserts (tx_meter.row) */
} col_desc;

#define COL(T, f, ty, u, ln, fl, as)                                                       \
    {#f, ty, offsetof(T, f), sizeof(((T *)0)->f), u, ln, fl, as}

static const col_desc enterprise_cols[] = {
    COL(tx_enterprise, id, COL_STR, "", "unified social credit code", FL_NONE, 0),
    COL(tx_enterprise, name, COL_STR, "", "enterprise name", FL_NONE, 0),
    COL(tx_enterprise, industry, COL_STR, "", "GB/T 4754-2017 industry class", FL_NONE, 0),
    COL(tx_enterprise, district, COL_STR, "", "administrative division code", FL_NONE, 0),
    COL(tx_enterprise, land_area_mu, COL_F64, "mu", "land area", FL_NONE, 0),
    COL(tx_enterprise, above_scale, COL_U8, "1", "above designated size", FL_SCALE, 0),
    COL(tx_enterprise, cluster, COL_STR, "", "industrial cluster tag", FL_NONE, 0),
};

static const col_desc meter_cols[] = {
    COL(tx_meter, id, COL_STR, "", "meter id", FL_NONE, 0),
    COL(tx_meter, enterprise_id, COL_STR, "", "owning enterprise", FL_NONE, 0),
    COL(tx_meter, carrier, COL_U8, "1", "energy carrier", FL_CARRIER, 0),
    COL(tx_meter, unit, COL_U8, "1", "unit of the readings", FL_UNIT, 0),
    COL(tx_meter, kind, COL_U8, "1", "kind of readings", FL_KIND, 0),
    COL(tx_meter, register_digits, COL_U8, "1", "integer digits of the register (0 unknown)",
        FL_NONE, 0),
    COL(tx_meter, interval_minutes, COL_U16, "min", "nominal reading interval", FL_NONE, 0),
    COL(tx_meter, multiplier, COL_F64, "1", "meter multiplier", FL_NONE, 0),
    COL(tx_meter, capacity, COL_F64, "meter unit per hour", "contracted capacity", FL_NONE,
        0),
    COL(tx_meter, row, COL_U32, "1", "row in the series grid of interval_minutes", FL_NONE,
        1),
};

static const col_desc event_cols[] = {
    COL(tx_event, meter_id, COL_STR, "", "meter id", FL_NONE, 0),
    COL(tx_event, t, COL_I64, "seconds since 1970-01-01T00:00:00Z", "event time", FL_NONE,
        0),
    COL(tx_event, type, COL_U8, "1", "event type", FL_EVENT, 0),
    COL(tx_event, old_reading, COL_F64, "meter unit", "register at removal", FL_NONE, 0),
    COL(tx_event, new_reading, COL_F64, "meter unit", "register at installation", FL_NONE,
        0),
    COL(tx_event, new_multiplier, COL_F64, "1", "multiplier from the event on", FL_NONE, 0),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the store -------------------------------------------------------------------------- */

typedef struct {
    void *rec;     /* n records of the table's size, in insertion (or key) order */
    size_t n, cap;
    uint32_t *idx; /* n record indexes sorted by key */
    int dirty;     /* changed since loaded or last written */
} table;

typedef struct {
    hid_t value, quality; /* H5I_INVALID_HID until the grid is created or opened */
    hsize_t dims[2];      /* current extent (rows, slots) of both datasets */
    size_t rows;          /* rows in use: 1 + the largest row of a meter of the grid */
} grid;

struct tx_store {
    char *path;   /* as the caller named it, for messages */
    char *target; /* the file itself (symbolic links resolved), which a commit replaces */
    char *wip;    /* writer's working copy "<target>.wip-<pid>"; NULL while s->file is the
                   * committed file, opened read-only (a writer that has changed nothing) */
    hid_t file;
    int writable;
    char *lock;  /* "<target>.lock", held by a writer through lock_fd (-1 for readers) */
    int lock_fd;
    int failed;  /* the first error of a write to the working copy: close discards it */
    int level;
    table ent, met, ev;
    grid g[TX_STORE_NGRIDS];
};

typedef struct table_ops table_ops;
struct table_ops {
    const char *group; /* "enterprises" */
    size_t size;
    const col_desc *cols;
    size_t ncols;
    int keep_sorted; /* records themselves kept in key order (events) */
    int (*cmp)(const void *a, const void *b);
    /* Validates an input record of a put. */
    int (*check)(tx_store *s, const void *rec, tx_err *err);
    /* May rec replace ref (a stored record, or the first of its id in the batch)? */
    int (*compat)(tx_store *s, const void *ref, const void *rec, tx_err *err);
    /* Fills the store-assigned fields of dst, a copy of an input record; old is the record
     * it replaces, or NULL for a new one. */
    void (*assign)(tx_store *s, void *dst, const void *old);
};

#define REC(base, size, i) ((void *)((char *)(base) + (size_t)(i) * (size)))
#define CREC(base, size, i) ((const void *)((const char *)(base) + (size_t)(i) * (size)))

/* ---- errors ----------------------------------------------------------------------------- */


/* Prefixes a message set by h5io with the store path; returns rc (err may be NULL). */
static int prefixed(tx_err *err, int rc, const char *path)
{
    tx_err_prefix(err, "%s", path);
    return rc;
}

/* Turns HDF5's automatic error printing off around calls expected to fail (probes). */
typedef struct {
    H5E_auto2_t func;
    void *data;
} quiet_state;

static void h5_quiet(quiet_state *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void h5_loud(const quiet_state *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

/* 1 when the link path (absolute, each component checked in turn) exists, 0 when not, < 0
 * on error. H5Lexists fails, rather than answering 0, when a parent is missing. */
static htri_t path_exists(hid_t loc, const char *path)
{
    char buf[128];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
        buf[i] = c;
        if (e <= 0)
            return e;
    }
    return 1;
}

/* ---- grids and slots -------------------------------------------------------------------- */

int tx_store_grid_of(int interval_minutes)
{
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        if (tx_store_grid_minutes[g] == interval_minutes)
            return g;
    return -1;
}

int tx_store_slot(int64_t t, int interval_minutes, int64_t *slot)
{
    if (tx_store_grid_of(interval_minutes) < 0)
        return TX_EINVAL;
    const int64_t step = (int64_t)interval_minutes * 60;
    /* Compared before subtracting, so t near INT64_MIN cannot overflow. */
    if (t < TX_EPOCH_UNIX)
        return TX_ERANGE;
    const int64_t d = t - TX_EPOCH_UNIX;
    if (d % step != 0 || d / step >= MAX_SLOT)
        return TX_ERANGE;
    *slot = d / step;
    return TX_OK;
}

size_t tx_store_chunk_slots(int interval_minutes)
{
    if (tx_store_grid_of(interval_minutes) < 0)
        return 0;
    return (size_t)CHUNK_DAYS * 1440 / (size_t)interval_minutes;
}

size_t tx_store_chunk_rows(int interval_minutes)
{
    size_t slots = tx_store_chunk_slots(interval_minutes);
    return slots ? CHUNK_CELLS / slots : 0;
}

size_t tx_store_grid_rows(const tx_store *s, int interval_minutes)
{
    int g = tx_store_grid_of(interval_minutes);
    return s && g >= 0 ? s->g[g].rows : 0;
}

int64_t tx_store_grid_slots(const tx_store *s, int interval_minutes)
{
    int g = tx_store_grid_of(interval_minutes);
    return s && g >= 0 ? (int64_t)s->g[g].dims[1] : 0;
}

/* ---- records: comparisons, validation --------------------------------------------------- */

/* 1 when the field of cap bytes is NUL-terminated (and, with nonempty, not empty). */
static int str_ok(const char *f, size_t cap, int nonempty)
{
    size_t len = strnlen(f, cap);
    return len < cap && (!nonempty || len > 0);
}

static int same_double(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* All fields given by the caller equal (strings up to their NUL, any NaN equals NaN). */
static int same_record(const table_ops *ops, const void *a, const void *b)
{
    for (size_t c = 0; c < ops->ncols; c++) {
        const col_desc *d = &ops->cols[c];
        const char *x = (const char *)a + d->off, *y = (const char *)b + d->off;
        if (d->assigned)
            continue;
        if (d->type == COL_STR) {
            if (strncmp(x, y, d->size) != 0)
                return 0;
        } else if (d->type == COL_F64) {
            double u, v;
            memcpy(&u, x, sizeof u);
            memcpy(&v, y, sizeof v);
            if (!same_double(u, v))
                return 0;
        } else if (memcmp(x, y, d->size) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Zeroes string fields after their NUL, so stored columns hold no stray bytes. */
static void clean_strings(const table_ops *ops, void *rec)
{
    for (size_t c = 0; c < ops->ncols; c++) {
        const col_desc *d = &ops->cols[c];
        if (d->type != COL_STR)
            continue;
        char *f = (char *)rec + d->off;
        size_t len = strnlen(f, d->size);
        memset(f + len, 0, d->size - len);
    }
}

static int enterprise_cmp(const void *a, const void *b)
{
    return strcmp(((const tx_enterprise *)a)->id, ((const tx_enterprise *)b)->id);
}

static int meter_cmp(const void *a, const void *b)
{
    return strcmp(((const tx_meter *)a)->id, ((const tx_meter *)b)->id);
}

static int event_cmp(const void *a, const void *b)
{
    const tx_event *x = a, *y = b;
    int c = strcmp(x->meter_id, y->meter_id);
    if (c)
        return c;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->type > y->type) - (x->type < y->type);
}

static int enterprise_check(tx_store *s, const void *p, tx_err *err)
{
    const tx_enterprise *e = p;
    if (!str_ok(e->id, sizeof e->id, 1))
        return tx_err_set(err, TX_EINVAL, "%s: enterprise id empty or not NUL-terminated",
                          s->path);
    if (!str_ok(e->name, sizeof e->name, 0) || !str_ok(e->industry, sizeof e->industry, 0) ||
        !str_ok(e->district, sizeof e->district, 0) ||
        !str_ok(e->cluster, sizeof e->cluster, 0))
        return tx_err_set(err, TX_EINVAL,
                          "%s: enterprise %s: a text field is not NUL-terminated", s->path,
                          e->id);
    return TX_OK;
}

static int meter_check(tx_store *s, const void *p, tx_err *err)
{
    const tx_meter *m = p;
    if (!str_ok(m->id, sizeof m->id, 1))
        return tx_err_set(err, TX_EINVAL, "%s: meter id empty or not NUL-terminated", s->path);
    if (!str_ok(m->enterprise_id, sizeof m->enterprise_id, 1))
        return tx_err_set(err, TX_EINVAL, "%s: meter %s: enterprise id empty or too long",
                          s->path, m->id);
    if (tx_store_grid_of(m->interval_minutes) < 0)
        return tx_err_set(err, TX_EINVAL,
                          "%s: meter %s: interval_minutes %u is not 15, 30, 60 or 1440",
                          s->path, m->id, (unsigned)m->interval_minutes);
    if (m->carrier >= TX_CARRIER_COUNT || m->unit >= TX_UNIT_COUNT ||
        m->kind > TX_KIND_INTERVAL)
        return tx_err_set(err, TX_EINVAL,
                          "%s: meter %s: carrier, unit or kind code out of range", s->path,
                          m->id);
    if (tx_store_find_enterprise(s, m->enterprise_id) < 0)
        return tx_err_set(err, TX_ENOTFOUND, "%s: meter %s: enterprise %s is not in the store",
                          s->path, m->id, m->enterprise_id);
    return TX_OK;
}

static int meter_compat(tx_store *s, const void *ref, const void *rec, tx_err *err)
{
    const tx_meter *a = ref, *b = rec;
    if (a->interval_minutes != b->interval_minutes)
        return tx_err_set(err, TX_EINVAL,
                          "%s: meter %s: interval_minutes cannot change from %u to %u (its "
                          "series would move)",
                          s->path, b->id, (unsigned)a->interval_minutes,
                          (unsigned)b->interval_minutes);
    return TX_OK;
}

/* A new meter takes the next row of its grid; a replaced one keeps its row. */
static void meter_assign(tx_store *s, void *dst, const void *old)
{
    tx_meter *m = dst;
    if (old) {
        m->row = ((const tx_meter *)old)->row;
    } else {
        grid *g = &s->g[tx_store_grid_of(m->interval_minutes)];
        m->row = (uint32_t)g->rows++;
    }
}

static int event_check(tx_store *s, const void *p, tx_err *err)
{
    const tx_event *e = p;
    if (!str_ok(e->meter_id, sizeof e->meter_id, 1))
        return tx_err_set(err, TX_EINVAL, "%s: event meter id empty or not NUL-terminated",
                          s->path);
    if (e->type > TX_EVENT_MULTIPLIER)
        return tx_err_set(err, TX_EINVAL, "%s: event of meter %s: type %u out of range",
                          s->path, e->meter_id, (unsigned)e->type);
    if (tx_store_find_meter(s, e->meter_id) < 0)
        return tx_err_set(err, TX_ENOTFOUND,
                          "%s: event of meter %s: meter is not in the store", s->path,
                          e->meter_id);
    return TX_OK;
}

static const table_ops enterprise_ops = {
    .group = "enterprises",
    .size = sizeof(tx_enterprise),
    .cols = enterprise_cols,
    .ncols = NCOLS(enterprise_cols),
    .cmp = enterprise_cmp,
    .check = enterprise_check,
};
static const table_ops meter_ops = {
    .group = "meters",
    .size = sizeof(tx_meter),
    .cols = meter_cols,
    .ncols = NCOLS(meter_cols),
    .cmp = meter_cmp,
    .check = meter_check,
    .compat = meter_compat,
    .assign = meter_assign,
};
static const table_ops event_ops = {
    .group = "events",
    .size = sizeof(tx_event),
    .cols = event_cols,
    .ncols = NCOLS(event_cols),
    .keep_sorted = 1,
    .cmp = event_cmp,
    .check = event_check,
};

/* ---- tables in memory ------------------------------------------------------------------- */

typedef struct {
    const table_ops *ops;
    const void *base;
} sort_ctx;

/* Orders record indexes (uint32_t) by key. */
static int idx_cmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *c = arg;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    return c->ops->cmp(CREC(c->base, c->ops->size, i), CREC(c->base, c->ops->size, j));
}

/* Orders input positions (size_t) by key, ties by position, so a sort is stable. */
static int pos_cmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *c = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int r = c->ops->cmp(CREC(c->base, c->ops->size, i), CREC(c->base, c->ops->size, j));
    return r ? r : (i > j) - (i < j);
}

static int rec_cmp(const void *a, const void *b, void *arg)
{
    return ((const table_ops *)arg)->cmp(a, b);
}

/* Rebuilds the sorted index (t->idx must hold t->n entries). Returns the position in the
 * index of the first duplicate key, or -1 when keys are unique. */
static long table_reindex(table *t, const table_ops *ops)
{
    if (ops->keep_sorted && t->n > 1)
        qsort_r(t->rec, t->n, ops->size, rec_cmp, (void *)ops);
    for (size_t i = 0; i < t->n; i++)
        t->idx[i] = (uint32_t)i;
    if (!ops->keep_sorted && t->n > 1) {
        sort_ctx c = {ops, t->rec};
        qsort_r(t->idx, t->n, sizeof *t->idx, idx_cmp, &c);
    }
    for (size_t i = 1; i < t->n; i++)
        if (ops->cmp(CREC(t->rec, ops->size, t->idx[i - 1]),
                     CREC(t->rec, ops->size, t->idx[i])) == 0)
            return (long)i;
    return -1;
}

/* Index of the record with the key of key, or -1. */
static long table_find(const table *t, const table_ops *ops, const void *key)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ops->cmp(key, CREC(t->rec, ops->size, t->idx[mid]));
        if (c == 0)
            return (long)t->idx[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Grows the record array and the index to hold at least n records. */
static int table_reserve(table *t, const table_ops *ops, size_t n)
{
    if (n <= t->cap)
        return TX_OK;
    if (n > UINT32_MAX)
        return TX_ERANGE;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    if (cap > UINT32_MAX)
        cap = n;
    void *rec = realloc(t->rec, cap * ops->size);
    if (!rec)
        return TX_ENOMEM;
    t->rec = rec;
    uint32_t *idx = realloc(t->idx, cap * sizeof *idx);
    if (!idx)
        return TX_ENOMEM;
    t->idx = idx;
    t->cap = cap;
    return TX_OK;
}

static void table_destroy(table *t)
{
    free(t->rec);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

/*
 * Upsert of n input records. Everything that can fail (validation, interval changes,
 * allocation) is done before the first record is touched, so a failed put leaves the store
 * as it was. Input records are grouped by key with a stable sort; each group resolves to
 * a stored record or to one new record (appended at the position of the group's first
 * input, so new records keep the caller's order), and its inputs are then applied in the
 * caller's order, the last one winning.
 */
static int table_upsert(tx_store *s, table *t, const table_ops *ops, const void *in, size_t n,
                        size_t *nchanged, tx_err *err)
{
    size_t *order = NULL, *head = NULL;
    long *dst = NULL;
    size_t changed = 0, nnew = 0;
    int rc = TX_OK;

    if (nchanged)
        *nchanged = 0;
    if (!s->writable)
        return tx_err_set(err, TX_EINVAL, "%s: store opened read-only: cannot put %s",
                          s->path, ops->group);
    if (n == 0)
        return TX_OK;
    if (!in)
        return tx_err_set(err, TX_EINVAL, "%s: put %s: NULL records", s->path, ops->group);
    for (size_t i = 0; i < n; i++)
        if ((rc = ops->check(s, CREC(in, ops->size, i), err)) != TX_OK)
            return rc;

    order = malloc(n * sizeof *order);
    head = malloc(n * sizeof *head);
    dst = malloc(n * sizeof *dst);
    if (!order || !head || !dst) {
        rc = tx_err_set(err, TX_ENOMEM, "%s: put %s: out of memory", s->path, ops->group);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_ctx c = {ops, in};
    qsort_r(order, n, sizeof *order, pos_cmp, &c);

    for (size_t g = 0, e; g < n; g = e) {
        const void *first = CREC(in, ops->size, order[g]);
        for (e = g + 1; e < n && ops->cmp(CREC(in, ops->size, order[e]), first) == 0; e++)
            ;
        long found = table_find(t, ops, first);
        const void *ref = found >= 0 ? CREC(t->rec, ops->size, found) : first;
        for (size_t k = g; k < e; k++) {
            if (ops->compat &&
                (rc = ops->compat(s, ref, CREC(in, ops->size, order[k]), err)) != TX_OK)
                goto done;
            dst[order[k]] = found;
            head[order[k]] = order[g];
        }
        nnew += found < 0;
    }
    if (t->n + nnew > UINT32_MAX) {
        rc = tx_err_set(err, TX_ERANGE, "%s: put %s: %zu records is too many", s->path,
                        ops->group, t->n + nnew);
        goto done;
    }
    if (table_reserve(t, ops, t->n + nnew) != TX_OK) {
        rc = tx_err_set(err, TX_ENOMEM, "%s: put %s: out of memory for %zu records", s->path,
                        ops->group, t->n + nnew);
        goto done;
    }

    for (size_t i = 0; i < n; i++) {
        const void *src = CREC(in, ops->size, i);
        if (dst[i] < 0 && head[i] == i) {
            void *rec = REC(t->rec, ops->size, t->n);
            memcpy(rec, src, ops->size);
            clean_strings(ops, rec);
            if (ops->assign)
                ops->assign(s, rec, NULL);
            dst[i] = (long)t->n++;
            t->dirty = 1;
            continue;
        }
        long d = dst[i] >= 0 ? dst[i] : dst[head[i]];
        void *rec = REC(t->rec, ops->size, d);
        if (same_record(ops, rec, src))
            continue;
        /* assign() takes the store-assigned fields from a snapshot of the old record. */
        union {
            tx_enterprise e;
            tx_meter m;
            tx_event v;
        } old;
        memcpy(&old, rec, ops->size);
        memcpy(rec, src, ops->size);
        clean_strings(ops, rec);
        if (ops->assign)
            ops->assign(s, rec, &old);
        changed++;
        t->dirty = 1;
    }
    if (nnew)
        table_reindex(t, ops);
    if (nchanged)
        *nchanged = changed;

done:
    free(order);
    free(head);
    free(dst);
    return rc;
}

/* ---- catalogue on disk ------------------------------------------------------------------ */

static hid_t col_mem_type(enum col_type t)
{
    switch (t) {
    case COL_U8:
        return H5T_NATIVE_UINT8;
    case COL_U16:
        return H5T_NATIVE_UINT16;
    case COL_U32:
        return H5T_NATIVE_UINT32;
    case COL_I64:
        return H5T_NATIVE_INT64;
    case COL_F64:
        return H5T_NATIVE_DOUBLE;
    case COL_STR:
        break;
    }
    return H5I_INVALID_HID;
}

_Static_assert(TX_CARRIER_COUNT <= 32 && TX_UNIT_COUNT <= 32, "flag_values holds 32 codes");

/* The flag_values / flag_meanings of a code column. */
static int write_flags(tx_store *s, hid_t grp, const char *group, const col_desc *d,
                       tx_err *err)
{
    uint8_t values[32];
    char meanings[512] = "";
    size_t n = 0, len = 0;
    const char *fixed = NULL;
    switch (d->flags) {
    case FL_NONE:
        return TX_OK;
    case FL_CARRIER:
    case FL_UNIT:
        n = d->flags == FL_CARRIER ? TX_CARRIER_COUNT : TX_UNIT_COUNT;
        for (size_t i = 0; i < n && len < sizeof meanings; i++) {
            const char *name = d->flags == FL_CARRIER ? tx_carrier_name((int)i)
                                                      : tx_unit_name((int)i);
            len += (size_t)snprintf(meanings + len, sizeof meanings - len, "%s%s",
                                    i ? " " : "", name);
        }
        break;
    case FL_KIND:
        fixed = "cumulative interval";
        n = 2;
        break;
    case FL_EVENT:
        fixed = "replace multiplier";
        n = 2;
        break;
    case FL_SCALE:
        fixed = "below_designated_size above_designated_size";
        n = 2;
        break;
    }
    if (fixed)
        snprintf(meanings, sizeof meanings, "%s", fixed);
    for (size_t i = 0; i < n; i++)
        values[i] = (uint8_t)i;

    hid_t ds = H5Dopen2(grp, d->name, H5P_DEFAULT);
    if (ds < 0)
        return tx_h5_fail(err, "%s:/%s/%s: cannot open", s->path, group, d->name);
    int rc = tx_h5_attr_flags(ds, values, n, meanings, err);
    if (rc != TX_OK)
        tx_err_prefix(err, "%s:/%s/%s", s->path, group, d->name);
    if (H5Dclose(ds) < 0 && rc == TX_OK)
        rc = tx_h5_fail(err, "%s:/%s/%s: cannot close", s->path, group, d->name);
    return rc;
}

static int table_write(tx_store *s, table *t, const table_ops *ops, tx_err *err)
{
    int rc = TX_OK;
    char *buf = NULL;
    hid_t grp = tx_h5_group(s->file, ops->group, err);
    if (grp < 0)
        return prefixed(err, (int)grp, s->path);
    size_t width = 0;
    for (size_t c = 0; c < ops->ncols; c++)
        if (ops->cols[c].size > width)
            width = ops->cols[c].size;
    buf = malloc((t->n ? t->n : 1) * width);
    if (!buf) {
        rc = tx_err_set(err, TX_ENOMEM, "%s:/%s: out of memory", s->path, ops->group);
        goto done;
    }
    for (size_t c = 0; c < ops->ncols; c++) {
        const col_desc *d = &ops->cols[c];
        for (size_t i = 0; i < t->n; i++)
            memcpy(buf + i * d->size, (const char *)CREC(t->rec, ops->size, i) + d->off,
                   d->size);
        if (d->type == COL_STR)
            rc = tx_h5_write_strings(grp, d->name, buf, d->size, t->n, s->level, d->long_name,
                                     err);
        else
            rc = tx_h5_write_column(grp, d->name, col_mem_type(d->type), buf, t->n, s->level,
                                    d->units, d->long_name, err);
        if (rc != TX_OK) {
            tx_err_prefix(err, "%s:/%s", s->path, ops->group);
            goto done;
        }
        if ((rc = write_flags(s, grp, ops->group, d, err)) != TX_OK)
            goto done;
    }
    t->dirty = 0;
done:
    free(buf);
    if (H5Gclose(grp) < 0 && rc == TX_OK)
        rc = tx_h5_fail(err, "%s:/%s: cannot close", s->path, ops->group);
    return rc;
}

static int table_read(tx_store *s, table *t, const table_ops *ops, tx_err *err)
{
    int rc = TX_OK;
    char *buf = NULL;
    hid_t grp = H5I_INVALID_HID;
    size_t n = 0;
    char path[64];
    snprintf(path, sizeof path, "/%s", ops->group);

    htri_t ex = path_exists(s->file, path);
    if (ex < 0)
        return tx_h5_fail(err, "%s:%s: cannot look up", s->path, path);
    if (ex == 0)
        return tx_err_set(err, TX_EINVAL, "%s:%s: missing (not a complete tanxiao store)",
                          s->path, path);
    grp = H5Gopen2(s->file, path, H5P_DEFAULT);
    if (grp < 0)
        return tx_h5_fail(err, "%s:%s: cannot open", s->path, path);

    for (size_t c = 0; c < ops->ncols; c++) {
        size_t len = 0;
        htri_t e = H5Lexists(grp, ops->cols[c].name, H5P_DEFAULT);
        if (e <= 0) {
            rc = e < 0 ? tx_h5_fail(err, "%s:%s/%s: cannot look up", s->path, path,
                                 ops->cols[c].name)
                       : tx_err_set(err, TX_EINVAL, "%s:%s/%s: missing column", s->path, path,
                                    ops->cols[c].name);
            goto done;
        }
        if ((rc = tx_h5_column_length(grp, ops->cols[c].name, &len, err)) != TX_OK) {
            tx_err_prefix(err, "%s:%s", s->path, path);
            goto done;
        }
        if (c == 0) {
            n = len;
        } else if (len != n) {
            rc = tx_err_set(err, TX_EINVAL, "%s:%s/%s: %zu rows, %s has %zu", s->path, path,
                            ops->cols[c].name, len, ops->cols[0].name, n);
            goto done;
        }
    }
    if (n > UINT32_MAX) {
        rc = tx_err_set(err, TX_ERANGE, "%s:%s: %zu rows is too many", s->path, path, n);
        goto done;
    }
    if (table_reserve(t, ops, n ? n : 1) != TX_OK) {
        rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory for %zu rows", s->path, path, n);
        goto done;
    }
    memset(t->rec, 0, (n ? n : 1) * ops->size);
    t->n = n;
    size_t width = 0;
    for (size_t c = 0; c < ops->ncols; c++)
        if (ops->cols[c].size > width)
            width = ops->cols[c].size;
    buf = malloc((n ? n : 1) * width);
    if (!buf) {
        rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, path);
        goto done;
    }
    for (size_t c = 0; c < ops->ncols; c++) {
        const col_desc *d = &ops->cols[c];
        if (d->type == COL_STR)
            rc = tx_h5_read_strings(grp, d->name, buf, d->size, n, err);
        else
            rc = tx_h5_read_column(grp, d->name, col_mem_type(d->type), buf, n, err);
        if (rc != TX_OK) {
            tx_err_prefix(err, "%s:%s", s->path, path);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            const char *f = buf + i * d->size;
            if (d->type == COL_STR && f[d->size - 1] != '\0') {
                rc = tx_err_set(err, TX_EINVAL,
                                "%s:%s/%s: row %zu: string longer than %zu bytes", s->path,
                                path, d->name, i, d->size - 1);
                goto done;
            }
            memcpy((char *)REC(t->rec, ops->size, i) + d->off, f, d->size);
        }
    }
    for (size_t i = 0; i < n; i++)
        clean_strings(ops, REC(t->rec, ops->size, i));
    long dup = table_reindex(t, ops);
    if (dup >= 0) {
        rc = tx_err_set(err, TX_EINVAL, "%s:%s: duplicate key at row %u", s->path, path,
                        (unsigned)t->idx[dup]);
        goto done;
    }
    t->dirty = 0;
done:
    free(buf);
    if (H5Gclose(grp) < 0 && rc == TX_OK)
        rc = tx_h5_fail(err, "%s:%s: cannot close", s->path, path);
    return rc;
}

/* Checks the loaded meters (grids, owners, distinct rows) and counts the rows per grid. */
static int meters_validate(tx_store *s, tx_err *err)
{
    int rc = TX_OK;
    uint8_t *used[TX_STORE_NGRIDS] = {NULL};
    const tx_meter *m = s->met.rec;
    for (size_t i = 0; i < s->met.n; i++) {
        int g = tx_store_grid_of(m[i].interval_minutes);
        if (g < 0 || m[i].carrier >= TX_CARRIER_COUNT || m[i].unit >= TX_UNIT_COUNT ||
            m[i].kind > TX_KIND_INTERVAL)
            return tx_err_set(err, TX_EINVAL, "%s:/meters: meter %s: invalid grid or codes",
                              s->path, m[i].id);
        if (tx_store_find_enterprise(s, m[i].enterprise_id) < 0)
            return tx_err_set(err, TX_EINVAL, "%s:/meters: meter %s: enterprise %s missing",
                              s->path, m[i].id, m[i].enterprise_id);
        if (m[i].row >= s->g[g].rows)
            s->g[g].rows = (size_t)m[i].row + 1;
    }
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        used[g] = calloc(s->g[g].rows ? s->g[g].rows : 1, 1);
        if (!used[g]) {
            rc = tx_err_set(err, TX_ENOMEM, "%s:/meters: out of memory", s->path);
            goto done;
        }
    }
    for (size_t i = 0; i < s->met.n; i++) {
        int g = tx_store_grid_of(m[i].interval_minutes);
        if (used[g][m[i].row]++) {
            rc = tx_err_set(err, TX_EINVAL, "%s:/meters: meter %s: row %u of the %d-min grid "
                            "is taken by another meter",
                            s->path, m[i].id, (unsigned)m[i].row, tx_store_grid_minutes[g]);
            goto done;
        }
    }
done:
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        free(used[g]);
    return rc;
}

static int events_validate(tx_store *s, tx_err *err)
{
    const tx_event *e = s->ev.rec;
    for (size_t i = 0; i < s->ev.n; i++)
        if (e[i].type > TX_EVENT_MULTIPLIER || tx_store_find_meter(s, e[i].meter_id) < 0)
            return tx_err_set(err, TX_EINVAL, "%s:/events: row %zu: unknown meter %s or type",
                              s->path, i, e[i].meter_id);
    return TX_OK;
}

static int begin_write(tx_store *s, tx_err *err);

static int catalogue_write(tx_store *s, tx_err *err)
{
    if (!s->ent.dirty && !s->met.dirty && !s->ev.dirty)
        return TX_OK;
    int rc = begin_write(s, err);
    if (rc != TX_OK)
        return rc;
    if (s->ent.dirty && (rc = table_write(s, &s->ent, &enterprise_ops, err)) != TX_OK)
        return rc;
    if (s->met.dirty && (rc = table_write(s, &s->met, &meter_ops, err)) != TX_OK)
        return rc;
    if (s->ev.dirty && (rc = table_write(s, &s->ev, &event_ops, err)) != TX_OK)
        return rc;
    return rc;
}

/* ---- series datasets -------------------------------------------------------------------- */

static hid_t series_dapl(size_t bytes, tx_err *err, const char *path, const char *name)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0) {
        tx_h5_fail(err, "%s:%s/%s: cannot create access properties", path, "/series", name);
        return H5I_INVALID_HID;
    }
    if (H5Pset_chunk_cache(dapl, CACHE_NSLOTS, bytes, CACHE_W0) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot set the chunk cache", path, name);
        H5Pclose(dapl);
        return H5I_INVALID_HID;
    }
    return dapl;
}

/* Opens an existing dataset of a grid with its chunk cache and checks its shape. */
static hid_t series_open(tx_store *s, hid_t grp, const char *gname, const char *name,
                         size_t cache, hsize_t dims[2], tx_err *err)
{
    hid_t dapl = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char what[64];
    snprintf(what, sizeof what, "%s/%s", gname, name);
    if ((dapl = series_dapl(cache, err, s->path, what)) < 0)
        goto fail;
    if ((ds = H5Dopen2(grp, name, dapl)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot open", s->path, what);
        goto fail;
    }
    if ((space = H5Dget_space(ds)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot get the dataspace", s->path, what);
        goto fail;
    }
    if (H5Sget_simple_extent_ndims(space) != 2 ||
        H5Sget_simple_extent_dims(space, dims, NULL) != 2) {
        tx_err_set(err, TX_EINVAL, "%s:/series/%s: not a 2-D dataset", s->path, what);
        goto fail;
    }
    H5Sclose(space);
    H5Pclose(dapl);
    return ds;
fail:
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    if (dapl >= 0)
        H5Pclose(dapl);
    return H5I_INVALID_HID;
}

static int grid_open(tx_store *s, int g, tx_err *err)
{
    grid *gr = &s->g[g];
    char gpath[32];
    hsize_t qd[2];
    int rc = TX_OK;
    hid_t grp = H5I_INVALID_HID;
    snprintf(gpath, sizeof gpath, "/series/%dmin", tx_store_grid_minutes[g]);
    htri_t ex = path_exists(s->file, gpath);
    if (ex < 0)
        return tx_h5_fail(err, "%s:%s: cannot look up", s->path, gpath);
    if (ex == 0)
        return TX_OK;
    if ((grp = H5Gopen2(s->file, gpath, H5P_DEFAULT)) < 0)
        return tx_h5_fail(err, "%s:%s: cannot open", s->path, gpath);
    /* A group without datasets is what a failed grid creation leaves: no grid yet. */
    htri_t hv = H5Lexists(grp, "value", H5P_DEFAULT);
    htri_t hq = H5Lexists(grp, "quality", H5P_DEFAULT);
    if (hv < 0 || hq < 0) {
        rc = tx_h5_fail(err, "%s:%s: cannot look up the datasets", s->path, gpath);
        goto done;
    }
    if (!hv || !hq) {
        if (hv || hq)
            rc = tx_err_set(err, TX_EINVAL, "%s:%s: has %s but not %s", s->path, gpath,
                            hv ? "value" : "quality", hv ? "quality" : "value");
        goto done;
    }
    const char *gname = gpath + strlen("/series/");
    gr->value = series_open(s, grp, gname, "value", CACHE_VALUE_BYTES, gr->dims, err);
    if (gr->value < 0) {
        rc = err ? err->code : TX_EHDF5;
        goto done;
    }
    gr->quality = series_open(s, grp, gname, "quality", CACHE_QUALITY_BYTES, qd, err);
    if (gr->quality < 0) {
        rc = err ? err->code : TX_EHDF5;
        goto done;
    }
    if (qd[0] != gr->dims[0] || qd[1] != gr->dims[1])
        rc = tx_err_set(err, TX_EINVAL, "%s:%s: quality and value differ in shape", s->path,
                        gpath);
done:
    H5Gclose(grp);
    return rc;
}

/* Creates one series dataset: chunked, shuffle + zstd, unlimited both ways, with its fill
 * value and the attributes a reader needs. */
static hid_t series_create(tx_store *s, hid_t grp, int g, int is_quality,
                           const hsize_t dims[2], tx_err *err)
{
    const int m = tx_store_grid_minutes[g];
    const char *name = is_quality ? "quality" : "value";
    const hsize_t maxd[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
    const hsize_t chunk[2] = {tx_store_chunk_rows(m), tx_store_chunk_slots(m)};
    const double nan_fill = NAN;
    const uint8_t zero_fill = 0;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t ds = H5I_INVALID_HID;
    char what[32], long_name[128];
    snprintf(what, sizeof what, "%dmin/%s", m, name);

    if ((space = H5Screate_simple(2, dims, maxd)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot create the dataspace", s->path, what);
        goto fail;
    }
    dcpl = is_quality ? tx_h5_dcpl(2, chunk, s->level, H5T_NATIVE_UINT8, &zero_fill, err)
                      : tx_h5_dcpl(2, chunk, s->level, H5T_NATIVE_DOUBLE, &nan_fill, err);
    if (dcpl < 0) {
        tx_err_prefix(err, "%s:/series/%s", s->path, what);
        goto fail;
    }
    if ((dapl = series_dapl(is_quality ? CACHE_QUALITY_BYTES : CACHE_VALUE_BYTES, err,
                            s->path, what)) < 0)
        goto fail;
    ds = H5Dcreate2(grp, name, is_quality ? H5T_STD_U8LE : H5T_IEEE_F64LE, space, H5P_DEFAULT,
                    dcpl, dapl);
    if (ds < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot create", s->path, what);
        goto fail;
    }
    int rc;
    if (is_quality) {
        static const uint8_t flags[3] = {0, 1, 2};
        snprintf(long_name, sizeof long_name, "quality of the readings on the %d-minute grid",
                 m);
        rc = tx_h5_attr_string(ds, "units", "1", err);
        if (rc == TX_OK)
            rc = tx_h5_attr_flags(ds, flags, 3, "measured estimated suspect", err);
    } else {
        snprintf(long_name, sizeof long_name,
                 "meter readings on the %d-minute grid, in the meter's unit before the "
                 "multiplier (row = /meters/row)",
                 m);
        rc = tx_h5_attr_string(ds, "units", "meter unit (/meters/unit)", err);
    }
    if (rc == TX_OK)
        rc = tx_h5_attr_string(ds, "long_name", long_name, err);
    if (rc == TX_OK)
        rc = tx_h5_attr_int64(ds, "interval_minutes", m, err);
    if (rc == TX_OK)
        rc = tx_h5_attr_string(ds, "slot_0", STORE_EPOCH, err);
    if (rc != TX_OK) {
        tx_err_prefix(err, "%s:/series/%s", s->path, what);
        goto fail;
    }
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(space);
    return ds;
fail:
    if (ds >= 0)
        H5Dclose(ds);
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return H5I_INVALID_HID;
}

static int grid_create(tx_store *s, int g, const hsize_t dims[2], tx_err *err)
{
    grid *gr = &s->g[g];
    char gpath[32];
    snprintf(gpath, sizeof gpath, "/series/%dmin", tx_store_grid_minutes[g]);
    hid_t grp = tx_h5_group(s->file, gpath, err);
    if (grp < 0)
        return prefixed(err, (int)grp, s->path);
    int rc = TX_OK;
    gr->value = series_create(s, grp, g, 0, dims, err);
    if (gr->value >= 0)
        gr->quality = series_create(s, grp, g, 1, dims, err);
    if (gr->value < 0 || gr->quality < 0) {
        rc = err ? err->code : TX_EHDF5;
        /* No half grid is left behind: a value dataset without quality would make the
         * store unreadable. */
        if (gr->value >= 0) {
            H5Dclose(gr->value);
            H5Ldelete(grp, "value", H5P_DEFAULT);
        }
        gr->value = gr->quality = H5I_INVALID_HID;
    } else {
        gr->dims[0] = dims[0];
        gr->dims[1] = dims[1];
    }
    H5Gclose(grp);
    return rc;
}

static void grid_close(grid *gr)
{
    if (gr->value >= 0)
        H5Dclose(gr->value);
    if (gr->quality >= 0)
        H5Dclose(gr->quality);
    gr->value = gr->quality = H5I_INVALID_HID;
}

/* ---- crash safety: the writer's lock, working copy and commit ---------------------------- */

/*
 * HDF5 changes a file in place, and a process killed in the middle of that leaves metadata
 * that may not even open. So a writer never changes the committed file. It holds an
 * exclusive flock on "<store>.lock" for the whole session (the file is removed at the
 * end), makes a copy "<store>.wip-<pid>" at its first change and works on that, and
 * commits at close: fsync the copy, rename it over the store, fsync the directory. Killed
 * at any moment, it leaves the store as it was before the session or as it is after, plus
 * at most a working copy and a lock file nobody holds, which the next writer deals with.
 * Readers take no lock: they open the committed file, which nobody changes, and a commit
 * replaces it under them by another inode, so they keep reading the old one.
 */

/* "<path><suffix>" in new memory, or NULL. */
static char *path_with(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    if (p) {
        memcpy(p, path, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

/* The pid a writer wrote into its lock file, or 0 (none, or released). */
static long lock_owner(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* Takes the writer's lock without waiting: a second writer fails at once. The holder
 * removes the lock file when it is done; a writer that locked a file just removed (it
 * opened it before the removal) finds the name gone or on another file, and tries again. */
static int writer_lock(tx_store *s, tx_err *err)
{
    int rc = TX_OK, fd = -1;
    char *lock = path_with(s->target, ".lock");
    if (!lock)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    for (int attempt = 0;; attempt++) {
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            /* Where the lock cannot be made, the store cannot be written either (no such
             * directory, no permission): reported like a store that cannot be created. */
            rc = tx_err_set(err, TX_EHDF5, "%s: cannot create or open %s (%s)", s->path, lock,
                            strerror(errno));
            goto done;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            long pid = e == EWOULDBLOCK ? lock_owner(fd) : 0;
            close(fd);
            if (e != EWOULDBLOCK)
                rc = tx_err_set(err, TX_EIO, "%s: cannot lock %s (%s)", s->path, lock,
                                strerror(e));
            else if (pid == (long)getpid())
                rc = tx_err_set(err, TX_EEXIST,
                                "%s: already open in this process (a store has one writer, or "
                                "readers only)",
                                s->path);
            else if (pid > 0)
                rc = tx_err_set(err, TX_EEXIST,
                                "store %s is being written by another process (pid %ld)",
                                s->path, pid);
            else
                rc = tx_err_set(err, TX_EEXIST,
                                "store %s is being written by another process", s->path);
            goto done;
        }
        struct stat held, named;
        if (fstat(fd, &held) != 0) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot stat %s (%s)", s->path, lock,
                            strerror(errno));
            close(fd);
            goto done;
        }
        if (stat(lock, &named) == 0 && named.st_dev == held.st_dev &&
            named.st_ino == held.st_ino)
            break;
        close(fd);
        if (attempt == 100) {
            rc = tx_err_set(err, TX_EEXIST, "store %s: its lock keeps changing hands", s->path);
            goto done;
        }
    }
    /* The holder's pid, for the message of a writer that finds the lock taken. */
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot write %s (%s)", s->path, lock,
                        strerror(errno));
        unlink(lock);
        close(fd);
        goto done;
    }
    s->lock_fd = fd;
    s->lock = lock;
    lock = NULL;
done:
    free(lock);
    return rc;
}

/* 1 when a writer of this process holds the store's lock. Readers take no lock; this keeps
 * the rule "one writer, or readers only" within a process, where a reader opened after a
 * writer would see the store as it was before the writer's session. The pid is cleared at
 * release; the probe covers a killed writer whose pid this process happens to reuse. */
static int written_here(const char *target)
{
    char *lock = path_with(target, ".lock");
    int fd = lock ? open(lock, O_RDONLY | O_CLOEXEC) : -1;
    free(lock);
    if (fd < 0)
        return 0;
    int held = 0;
    if (lock_owner(fd) == (long)getpid()) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            flock(fd, LOCK_UN);
        else
            held = errno == EWOULDBLOCK;
    }
    close(fd);
    return held;
}

/* Removes the working copies of writers that died. Called with the lock held, when no
 * working copy can belong to a live writer. */
static int remove_stale(tx_store *s, tx_err *err)
{
    const char *slash = strrchr(s->target, '/');
    const char *base = slash ? slash + 1 : s->target;
    char *dir = slash ? strndup(s->target, slash == s->target ? 1 : (size_t)(slash - s->target))
                      : strdup(".");
    if (!dir)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    int rc = TX_OK;
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot list %s (%s)", s->path, dir, strerror(errno));
        goto done;
    }
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *tail = de->d_name + blen;
        if (strncmp(de->d_name, base, blen) != 0 || strncmp(tail, ".wip-", 5) != 0 ||
            !tail[5] || strspn(tail + 5, "0123456789") != strlen(tail + 5))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot remove the stale working copy %s/%s (%s)",
                            s->path, dir, de->d_name, strerror(errno));
            break;
        }
    }
    closedir(d);
done:
    free(dir);
    return rc;
}

/* Copies in to out from their current offsets to the end of in: copy_file_range (inside
 * the kernel; a reflink where the filesystem shares extents), else read and write. 0 or
 * -1 with errno. */
static int copy_fd(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
        if (n > 0)
            continue;
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
            return -1;
        break; /* not supported here: the offsets are where it stopped */
    }
    const size_t cap = (size_t)1 << 20;
    char *buf = malloc(cap);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        for (ssize_t w = 0; w < n && rc == 0;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k > 0)
                w += k;
            else if (k < 0 && errno != EINTR)
                rc = -1;
        }
        if (rc != 0)
            break;
    }
    free(buf);
    return rc;
}

/* Records the first failed write of a session (close then discards the working copy);
 * returns rc. */
static int failing(tx_store *s, int rc)
{
    if (rc != TX_OK && s->failed == TX_OK)
        s->failed = rc;
    return rc;
}

/* Moves a writer from the committed file, open read-only, to a working copy, at its first
 * change: a session that changes nothing (an ingest of readings already stored) copies
 * nothing and leaves the store as it was. */
static int begin_write(tx_store *s, tx_err *err)
{
    if (s->wip)
        return TX_OK;
    if (s->failed != TX_OK)
        return tx_err_set(err, s->failed, "%s: an earlier write failed; nothing more is written",
                          s->path);
    int rc = TX_OK, in = -1, out = -1;
    hid_t f = H5I_INVALID_HID;
    char pid[32];
    snprintf(pid, sizeof pid, ".wip-%ld", (long)getpid());
    char *wip = path_with(s->target, pid);
    struct stat st;
    if (!wip)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    if ((in = open(s->target, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot read (%s)", s->path, strerror(errno));
        goto fail;
    }
    if ((out = open(wip, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot create the working copy %s (%s)", s->path, wip,
                        strerror(errno));
        goto fail;
    }
    if (fchmod(out, st.st_mode & 07777) != 0 || copy_fd(in, out) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot copy to the working copy %s (%s)", s->path,
                        wip, strerror(errno));
        goto fail;
    }
    int e = close(out);
    out = -1;
    if (e != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot write the working copy %s (%s)", s->path, wip,
                        strerror(errno));
        goto fail;
    }
    quiet_state q;
    h5_quiet(&q);
    f = H5Fopen(wip, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        rc = tx_h5_fail(err, "%s: cannot open the working copy %s", s->path, wip);
    h5_loud(&q);
    if (rc != TX_OK)
        goto fail;
    close(in);
    /* From here on the session writes to the copy; the read-only handles are done with. */
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        grid_close(&s->g[g]);
    H5Fclose(s->file);
    s->file = f;
    s->wip = wip;
    for (int g = 0; g < TX_STORE_NGRIDS && rc == TX_OK; g++)
        rc = grid_open(s, g, err);
    return rc;
fail:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    unlink(wip);
    free(wip);
    return rc;
}

/* Makes the working copy (closed) the store: its data on disk, then the name, then the
 * directory entry on disk. */
static int commit(tx_store *s, tx_err *err)
{
    int fd = open(s->wip, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int rc = tx_err_set(err, TX_EIO, "%s: cannot sync the working copy %s (%s)", s->path,
                            s->wip, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    if (rename(s->wip, s->target) != 0)
        return tx_err_set(err, TX_EIO, "%s: cannot rename the working copy %s over it (%s)",
                          s->path, s->wip, strerror(errno));
    free(s->wip);
    s->wip = NULL; /* it is the store now */
    const char *slash = strrchr(s->target, '/');
    char *dir = slash ? strndup(s->target, slash == s->target ? 1 : (size_t)(slash - s->target))
                      : strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc = TX_OK;
    if (dfd < 0 || fsync(dfd) != 0)
        rc = tx_err_set(err, TX_EIO, "%s: saved, but its directory cannot be synced (%s)",
                        s->path, strerror(dir ? errno : ENOMEM));
    if (dfd >= 0)
        close(dfd);
    free(dir);
    return rc;
}

/* ---- open, flush, close ----------------------------------------------------------------- */

/* Closes what is open without checks, removes an uncommitted working copy, releases the
 * lock and frees. */
static void store_free(tx_store *s)
{
    if (!s)
        return;
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        grid_close(&s->g[g]);
    if (s->file >= 0)
        H5Fclose(s->file);
    if (s->wip)
        unlink(s->wip);
    if (s->lock_fd >= 0) {
        /* Removed while still held (see writer_lock). Where it cannot be, its pid is
         * cleared, so no reader of this process mistakes it for its own: only a courtesy,
         * the lock itself goes with the descriptor. */
        if (unlink(s->lock) != 0 && ftruncate(s->lock_fd, 0) != 0)
            errno = 0;
        close(s->lock_fd);
    }
    free(s->lock);
    table_destroy(&s->ent);
    table_destroy(&s->met);
    table_destroy(&s->ev);
    free(s->wip);
    free(s->target);
    free(s->path);
    free(s);
}

/* Creates a new store as the writer's working copy. */
static int store_create(tx_store *s, tx_err *err)
{
    int rc = TX_OK;
    char pid[32];
    snprintf(pid, sizeof pid, ".wip-%ld", (long)getpid());
    if (!(s->wip = path_with(s->target, pid)))
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    /* Free space left by rewritten catalogue columns is tracked across sessions and reused,
     * so repeated ingests do not grow the file by a catalogue each time. */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl < 0)
        return tx_h5_fail(err, "%s: cannot create file properties", s->path);
    if (H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_FSM_AGGR, 1, 1) < 0) {
        rc = tx_h5_fail(err, "%s: cannot set the file space strategy", s->path);
        goto done;
    }
    /* Creation fails for ordinary reasons (no space, no permission); the reason goes into
     * err rather than HDF5's stack onto stderr. */
    quiet_state q;
    h5_quiet(&q);
    s->file = H5Fcreate(s->wip, H5F_ACC_EXCL, fcpl, H5P_DEFAULT);
    if (s->file < 0)
        rc = tx_h5_fail(err, "%s: cannot create", s->path);
    h5_loud(&q);
    if (rc != TX_OK)
        goto done;
    if ((rc = tx_h5_attr_string(s->file, "format", STORE_FORMAT, err)) != TX_OK ||
        (rc = tx_h5_attr_int64(s->file, "format_version", STORE_FORMAT_VERSION, err)) !=
            TX_OK ||
        (rc = tx_h5_attr_string(s->file, "epoch", STORE_EPOCH, err)) != TX_OK) {
        tx_err_prefix(err, "%s", s->path);
        goto done;
    }
    /* Empty tables are written at once, so a store is complete from its creation. */
    s->ent.dirty = s->met.dirty = s->ev.dirty = 1;
    rc = catalogue_write(s, err);
done:
    H5Pclose(fcpl);
    return rc;
}

static int store_load(tx_store *s, tx_err *err)
{
    int rc;
    char text[64];
    int64_t version = 0;
    htri_t has = H5Aexists(s->file, "format");
    if (has < 0)
        return tx_h5_fail(err, "%s: cannot look up the format attribute", s->path);
    if (has == 0)
        return tx_err_set(err, TX_EINVAL, "%s: not a tanxiao store (no format attribute)",
                          s->path);
    if ((rc = tx_h5_attr_get_string(s->file, "format", text, sizeof text, err)) != TX_OK)
        return prefixed(err, rc, s->path);
    if (strcmp(text, STORE_FORMAT) != 0)
        return tx_err_set(err, TX_EINVAL, "%s: not a tanxiao store (format \"%s\")", s->path,
                          text);
    if ((rc = tx_h5_attr_get_int64(s->file, "format_version", &version, err)) != TX_OK)
        return prefixed(err, rc, s->path);
    if (version != STORE_FORMAT_VERSION)
        return tx_err_set(err, TX_EINVAL,
                          "%s: store format version %lld, this engine reads version %d",
                          s->path, (long long)version, STORE_FORMAT_VERSION);
    if ((rc = tx_h5_attr_get_string(s->file, "epoch", text, sizeof text, err)) != TX_OK)
        return prefixed(err, rc, s->path);
    if (strcmp(text, STORE_EPOCH) != 0)
        return tx_err_set(err, TX_EINVAL, "%s: store epoch %s, expected %s", s->path, text,
                          STORE_EPOCH);

    if ((rc = table_read(s, &s->ent, &enterprise_ops, err)) != TX_OK ||
        (rc = table_read(s, &s->met, &meter_ops, err)) != TX_OK ||
        (rc = table_read(s, &s->ev, &event_ops, err)) != TX_OK ||
        (rc = meters_validate(s, err)) != TX_OK || (rc = events_validate(s, err)) != TX_OK)
        return rc;
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        if ((rc = grid_open(s, g, err)) != TX_OK)
            return rc;
    return TX_OK;
}

int tx_store_open(const char *path, int writable, int zstd_level, tx_store **out, tx_err *err)
{
    int rc = TX_OK;
    tx_store *s = NULL;
    if (!out)
        return tx_err_set(err, TX_EINVAL, "tx_store_open: NULL out");
    *out = NULL;
    if (!path || !path[0])
        return tx_err_set(err, TX_EINVAL, "tx_store_open: no path");
    if ((rc = tx_h5_register_zstd(err)) != TX_OK) {
        tx_err_prefix(err, "%s", path);
        return rc;
    }

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    s->file = H5I_INVALID_HID;
    s->lock_fd = -1;
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        s->g[g].value = s->g[g].quality = H5I_INVALID_HID;
    s->writable = writable != 0;
    s->level = zstd_level;

    struct stat st;
    int exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT) {
        rc = tx_err_set(err, TX_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        rc = tx_err_set(err, TX_EINVAL, "%s: not a tanxiao store (not a regular file)", path);
        goto done;
    }
    /* A symbolic link is followed to the file, which a commit replaces in its directory. */
    s->target = exists ? realpath(path, NULL) : strdup(path);
    if (!s->target) {
        rc = tx_err_set(err, errno == ENOMEM ? TX_ENOMEM : TX_EIO, "%s: %s", path,
                        strerror(errno));
        goto done;
    }
    if (writable) {
        if ((rc = writer_lock(s, err)) != TX_OK || (rc = remove_stale(s, err)) != TX_OK)
            goto done;
        /* Another writer may have created the store since the stat; the lock settles it. */
        exists = stat(s->target, &st) == 0;
        if (!exists && errno != ENOENT) {
            rc = tx_err_set(err, TX_EIO, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (!exists) {
            rc = store_create(s, err);
            goto done;
        }
    } else if (written_here(s->target)) {
        rc = tx_err_set(err, TX_EEXIST,
                        "%s: already open in this process (a store has one writer, or readers "
                        "only)",
                        path);
        goto done;
    } else if (!exists) {
        rc = tx_err_set(err, TX_ENOTFOUND, "%s: no such store", path);
        goto done;
    }
    /* The committed file is only ever read; a writer moves to a copy at its first change.
     * Probes that fail on files that are not stores, without HDF5 printing its stack. */
    quiet_state q;
    h5_quiet(&q);
    htri_t is = H5Fis_hdf5(s->target);
    if (is > 0)
        s->file = H5Fopen(s->target, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (is < 0 || (is > 0 && s->file < 0))
        rc = tx_h5_fail(err, "%s: cannot open", path);
    else if (is == 0)
        rc = tx_err_set(err, TX_EINVAL, "%s: not a tanxiao store (not an HDF5 file)", path);
    else
        rc = TX_OK;
    h5_loud(&q);
    /* HDF5 hands a second open of the same file in one process the same underlying file.
     * A writer opened while readers of this process are open is refused too, so the rule
     * within a process stays one writer, or readers only. */
    if (rc == TX_OK && writable) {
        ssize_t nopen = H5Fget_obj_count(s->file, H5F_OBJ_FILE);
        if (nopen < 0)
            rc = tx_h5_fail(err, "%s: cannot query the open file", path);
        else if (nopen > 1)
            rc = tx_err_set(err, TX_EEXIST,
                            "%s: already open in this process (a store has one writer, or "
                            "readers only)",
                            path);
    }
    if (rc == TX_OK)
        rc = store_load(s, err);
done:
    if (rc != TX_OK) {
        /* A store that failed half way through its creation is only a working copy, which
         * store_free removes. */
        store_free(s);
        return rc;
    }
    *out = s;
    return TX_OK;
}

int tx_store_flush(tx_store *s, tx_err *err)
{
    if (!s)
        return tx_err_set(err, TX_EINVAL, "tx_store_flush: NULL store");
    if (!s->writable)
        return TX_OK;
    int rc = failing(s, catalogue_write(s, err));
    if (rc != TX_OK)
        return rc;
    if (s->wip && H5Fflush(s->file, H5F_SCOPE_LOCAL) < 0)
        return failing(s, tx_h5_fail(err, "%s: cannot flush", s->path));
    return TX_OK;
}

int tx_store_close(tx_store *s, tx_err *err)
{
    if (!s)
        return TX_OK;
    int rc = TX_OK;
    if (s->writable && s->failed == TX_OK)
        rc = failing(s, catalogue_write(s, err));
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        grid *gr = &s->g[g];
        /* Closing a dataset writes its dirty cached chunks, so failures show here. */
        if (gr->value >= 0 && H5Dclose(gr->value) < 0 && rc == TX_OK)
            rc = failing(s, tx_h5_fail(err, "%s:/series/%dmin/value: cannot close", s->path,
                                    tx_store_grid_minutes[g]));
        if (gr->quality >= 0 && H5Dclose(gr->quality) < 0 && rc == TX_OK)
            rc = failing(s, tx_h5_fail(err, "%s:/series/%dmin/quality: cannot close", s->path,
                                    tx_store_grid_minutes[g]));
        gr->value = gr->quality = H5I_INVALID_HID;
    }
    if (s->file >= 0 && H5Fclose(s->file) < 0 && rc == TX_OK)
        rc = failing(s, tx_h5_fail(err, "%s: cannot close", s->path));
    s->file = H5I_INVALID_HID;
    if (rc == TX_OK && s->failed != TX_OK)
        rc = tx_err_set(err, s->failed,
                        "%s: not saved: a write of this session failed, the store is as it "
                        "was before",
                        s->path);
    else if (rc == TX_OK && s->wip)
        rc = commit(s, err);
    store_free(s);
    return rc;
}

void tx_store_abort(tx_store *s)
{
    /* HDF5 still writes the cached chunks into the working copy as it closes; the copy is
     * removed right after. */
    store_free(s);
}

int tx_store_file_size(tx_store *s, uint64_t *bytes, tx_err *err)
{
    hsize_t size = 0;
    if (!s || !bytes)
        return tx_err_set(err, TX_EINVAL, "tx_store_file_size: NULL argument");
    if (H5Fget_filesize(s->file, &size) < 0)
        return tx_h5_fail(err, "%s: cannot get the file size", s->path);
    *bytes = size;
    return TX_OK;
}

/* ---- catalogue access ------------------------------------------------------------------- */

const tx_enterprise *tx_store_enterprises(const tx_store *s, size_t *n)
{
    *n = s->ent.n;
    return s->ent.rec;
}

const tx_meter *tx_store_meters(const tx_store *s, size_t *n)
{
    *n = s->met.n;
    return s->met.rec;
}

const tx_event *tx_store_events(const tx_store *s, size_t *n)
{
    *n = s->ev.n;
    return s->ev.rec;
}

long tx_store_find_enterprise(const tx_store *s, const char *id)
{
    tx_enterprise key;
    if (!s || !id || !str_ok(id, sizeof key.id, 1))
        return -1;
    strcpy(key.id, id);
    return table_find(&s->ent, &enterprise_ops, &key);
}

long tx_store_find_meter(const tx_store *s, const char *id)
{
    tx_meter key;
    if (!s || !id || !str_ok(id, sizeof key.id, 1))
        return -1;
    strcpy(key.id, id);
    return table_find(&s->met, &meter_ops, &key);
}

int tx_store_put_enterprises(tx_store *s, const tx_enterprise *e, size_t n, size_t *nchanged,
                             tx_err *err)
{
    return table_upsert(s, &s->ent, &enterprise_ops, e, n, nchanged, err);
}

int tx_store_put_meters(tx_store *s, const tx_meter *m, size_t n, size_t *nchanged,
                        tx_err *err)
{
    return table_upsert(s, &s->met, &meter_ops, m, n, nchanged, err);
}

int tx_store_put_events(tx_store *s, const tx_event *ev, size_t n, size_t *nchanged,
                        tx_err *err)
{
    return table_upsert(s, &s->ev, &event_ops, ev, n, nchanged, err);
}

/* ---- series blocks ---------------------------------------------------------------------- */

static int block_check(const tx_store *s, int m, size_t row0, size_t nrows, int64_t slot0,
                       size_t nslots, const void *value, const char *op, tx_err *err)
{
    if (!s)
        return tx_err_set(err, TX_EINVAL, "%s: NULL store", op);
    if (tx_store_grid_of(m) < 0)
        return tx_err_set(err, TX_EINVAL, "%s: %s: no %d-minute grid", s->path, op, m);
    if (slot0 < 0 || slot0 > MAX_SLOT || nslots > (uint64_t)MAX_SLOT - (uint64_t)slot0 ||
        row0 > UINT32_MAX || nrows > (uint64_t)UINT32_MAX + 1 - row0)
        return tx_err_set(err, TX_ERANGE,
                          "%s:/series/%dmin: %s: rows %zu+%zu, slots %lld+%zu out of range",
                          s->path, m, op, row0, nrows, (long long)slot0, nslots);
    if (nrows && nslots > SIZE_MAX / sizeof(double) / nrows)
        return tx_err_set(err, TX_ERANGE,
                          "%s:/series/%dmin: %s: block of %zu x %zu is too big", s->path, m,
                          op, nrows, nslots);
    if (!value && nrows && nslots)
        return tx_err_set(err, TX_EINVAL, "%s:/series/%dmin: %s: NULL values", s->path, m, op);
    return TX_OK;
}

/* File and memory selections of the block [row0, +nr) x [slot0, +ns) of a buffer that is
 * nrows x nslots; the memory selection is the buffer's top-left nr x ns. */
static int block_spaces(hid_t ds, size_t row0, size_t nr, int64_t slot0, size_t ns,
                        size_t nrows, size_t nslots, hid_t *fspace, hid_t *mspace)
{
    const hsize_t start[2] = {row0, (hsize_t)slot0}, count[2] = {nr, ns};
    const hsize_t mdims[2] = {nrows, nslots}, zero[2] = {0, 0};
    *fspace = *mspace = H5I_INVALID_HID;
    if ((*fspace = H5Dget_space(ds)) < 0 ||
        H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (*mspace = H5Screate_simple(2, mdims, NULL)) < 0)
        goto fail;
    /* A memory space of the buffer's own shape: with a whole-buffer block HDF5 copies each
     * chunk's rows straight into place, with no selection of its own to iterate. */
    if ((nr != nrows || ns != nslots) &&
        H5Sselect_hyperslab(*mspace, H5S_SELECT_SET, zero, NULL, count, NULL) < 0)
        goto fail;
    return 0;
fail:
    if (*fspace >= 0)
        H5Sclose(*fspace);
    if (*mspace >= 0)
        H5Sclose(*mspace);
    *fspace = *mspace = H5I_INVALID_HID;
    return -1;
}

/* Fills the part of a nrows x nslots buffer outside its top-left nr x ns. */
static void fill_outside(double *value, uint8_t *quality, size_t nrows, size_t nslots,
                         size_t nr, size_t ns)
{
    const double nan_fill = NAN;
    for (size_t r = 0; r < nrows; r++) {
        size_t k0 = r < nr ? ns : 0;
        double *v = value + r * nslots;
        for (size_t k = k0; k < nslots; k++)
            v[k] = nan_fill;
        if (quality)
            memset(quality + r * nslots + k0, 0, nslots - k0);
    }
}

int tx_store_read_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                        int64_t slot0, size_t nslots, double *value, uint8_t *quality,
                        tx_err *err)
{
    int rc = block_check(s, interval_minutes, row0, nrows, slot0, nslots, value, "read",
                         err);
    if (rc != TX_OK || nrows == 0 || nslots == 0)
        return rc;
    const grid *gr = &s->g[tx_store_grid_of(interval_minutes)];
    /* The part of the block inside the extent; cells beyond it were never written. */
    size_t nr = 0, ns = 0;
    if (gr->value >= 0 && row0 < gr->dims[0] && (hsize_t)slot0 < gr->dims[1]) {
        nr = (size_t)(gr->dims[0] - row0) < nrows ? (size_t)(gr->dims[0] - row0) : nrows;
        ns = (size_t)(gr->dims[1] - (hsize_t)slot0) < nslots
                 ? (size_t)(gr->dims[1] - (hsize_t)slot0)
                 : nslots;
    }
    if (nr < nrows || ns < nslots)
        fill_outside(value, quality, nrows, nslots, nr, ns);
    if (nr == 0 || ns == 0)
        return TX_OK;

    hid_t fspace, mspace;
    if (block_spaces(gr->value, row0, nr, slot0, ns, nrows, nslots, &fspace, &mspace) < 0)
        return tx_h5_fail(err,
                       "%s:/series/%dmin/value: cannot select rows %zu+%zu, slots %lld+%zu",
                       s->path, interval_minutes, row0, nr, (long long)slot0, ns);
    if (H5Dread(gr->value, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, value) < 0)
        rc = tx_h5_fail(err, "%s:/series/%dmin/value: cannot read rows %zu+%zu, slots %lld+%zu",
                     s->path, interval_minutes, row0, nr, (long long)slot0, ns);
    else if (quality &&
             H5Dread(gr->quality, H5T_NATIVE_UINT8, mspace, fspace, H5P_DEFAULT, quality) < 0)
        rc = tx_h5_fail(err, "%s:/series/%dmin/quality: cannot read rows %zu+%zu, slots %lld+%zu",
                     s->path, interval_minutes, row0, nr, (long long)slot0, ns);
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc;
}

static int write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                       int64_t slot0, size_t nslots, const double *value,
                       const uint8_t *quality, tx_err *err);

int tx_store_write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                         int64_t slot0, size_t nslots, const double *value,
                         const uint8_t *quality, tx_err *err)
{
    int rc = block_check(s, interval_minutes, row0, nrows, slot0, nslots, value, "write",
                         err);
    if (rc != TX_OK)
        return rc;
    if (!s->writable)
        return tx_err_set(err, TX_EINVAL, "%s: store opened read-only: cannot write series",
                          s->path);
    if (nrows == 0 || nslots == 0)
        return TX_OK;
    return failing(s, write_block(s, interval_minutes, row0, nrows, slot0, nslots, value,
                                  quality, err));
}

/* The write itself, on the working copy; any failure ends the session's writing. */
static int write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                       int64_t slot0, size_t nslots, const double *value,
                       const uint8_t *quality, tx_err *err)
{
    int rc = begin_write(s, err);
    if (rc != TX_OK)
        return rc;
    const int m = interval_minutes;
    grid *gr = &s->g[tx_store_grid_of(m)];
    const hsize_t need[2] = {row0 + nrows, (hsize_t)slot0 + nslots};

    if (gr->value < 0) {
        if ((rc = grid_create(s, tx_store_grid_of(m), need, err)) != TX_OK)
            return rc;
    } else if (need[0] > gr->dims[0] || need[1] > gr->dims[1]) {
        hsize_t dims[2] = {need[0] > gr->dims[0] ? need[0] : gr->dims[0],
                           need[1] > gr->dims[1] ? need[1] : gr->dims[1]};
        if (H5Dset_extent(gr->value, dims) < 0)
            return tx_h5_fail(err, "%s:/series/%dmin/value: cannot extend to %llu x %llu",
                           s->path, m, (unsigned long long)dims[0],
                           (unsigned long long)dims[1]);
        if (H5Dset_extent(gr->quality, dims) < 0)
            return tx_h5_fail(err, "%s:/series/%dmin/quality: cannot extend to %llu x %llu",
                           s->path, m, (unsigned long long)dims[0],
                           (unsigned long long)dims[1]);
        gr->dims[0] = dims[0];
        gr->dims[1] = dims[1];
    }

    hid_t fspace, mspace;
    if (block_spaces(gr->value, row0, nrows, slot0, nslots, nrows, nslots, &fspace, &mspace) <
        0)
        return tx_h5_fail(err,
                       "%s:/series/%dmin/value: cannot select rows %zu+%zu, slots %lld+%zu",
                       s->path, m, row0, nrows, (long long)slot0, nslots);
    if (H5Dwrite(gr->value, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, value) < 0)
        rc = tx_h5_fail(err, "%s:/series/%dmin/value: cannot write rows %zu+%zu, slots %lld+%zu",
                     s->path, m, row0, nrows, (long long)slot0, nslots);
    else if (quality &&
             H5Dwrite(gr->quality, H5T_NATIVE_UINT8, mspace, fspace, H5P_DEFAULT, quality) < 0)
        rc =
            tx_h5_fail(err, "%s:/series/%dmin/quality: cannot write rows %zu+%zu, slots %lld+%zu",
                    s->path, m, row0, nrows, (long long)slot0, nslots);
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc;
}
