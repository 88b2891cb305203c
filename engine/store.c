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
#include "journal.h"
#include "bigmem.h"
#include "chunk.h"
#include "h5io.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
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
#define STORE_FORMAT_VERSION 2
#define STORE_EPOCH "2000-01-01T00:00:00+08:00"

/* A chunk holds 43008 cells: 344064 bytes of int64, inside HDF5's advised 64 KiB - 1 MiB,
 * and 28 days of slots on every grid (2688, 1344, 672, 28 slots), so the rows per chunk
 * are 43008 / slots: 16, 32, 64, 1536. */
#define CHUNK_CELLS 43008
#define CHUNK_DAYS 28

/* Readings are stored as integers in units of 10^-decimals of their row's meter: a
 * register's resolution is a fixed number of decimals, and int64 hundredths through shuffle
 * + zstd take about 1.4 bytes per reading where float64 took 3.6 (the high bytes of a
 * register's integers hardly change; a double's mantissa bits do). INT64_MIN is the fill:
 * no reading. */
#define VALUE_FILL INT64_MIN

/* Series are moved as raw chunks (H5Dread_chunk / H5Dwrite_chunk) and (de)compressed by the
 * store's own threads, so HDF5's chunk cache would only hold copies: none is kept. A write
 * processes this many chunks per round: read raw, decode + merge + encode in threads, write
 * raw (64 chunks of 344 KB: 22 MB of cells, 44 MB with the encoded bounds). */
#define WRITE_ROUND_CHUNKS 64

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
    uint32_t *idx;  /* !ops->hash: n record indexes sorted by key */
    uint32_t *slot; /* ops->hash: open addressing, nslot (a power of 2, > 2n) slots of
                       record index + 1 (0 empty) */
    size_t nslot;
    int dirty;     /* changed since loaded or last written */
} table;

typedef struct {
    hid_t value, quality; /* H5I_INVALID_HID until the grid is created or opened */
    hsize_t dims[2];      /* current extent (rows, slots) of both datasets */
    size_t rows;          /* rows in use: 1 + the largest row of a meter of the grid */
    uint8_t *dec;         /* decimals of each row, ndec of them (rows beyond: 0) */
    size_t ndec;
    int dec_dirty;        /* dec changed since it was read or written */
    uint8_t *cmap;        /* which chunks are stored: [chunk row][chunk column], bit 1
                           * value, bit 2 quality; cm_rows x cm_cols (beyond: none) */
    size_t cm_rows, cm_cols;
    int cm_dirty;
} grid;

struct tx_store {
    char *path;   /* as the caller named it, for messages */
    char *target; /* the file itself (symbolic links resolved), which a commit replaces */
    char *wip;    /* a new store's working copy "<target>.wip-<pid>", renamed at close */
    hid_t file;
    int writable;
    char *lock;  /* "<target>.lock", held by a writer through lock_fd (-1 for readers) */
    int lock_fd;
    tx_journal *jr; /* a writer's journal, from its first change (journal.h) */
    int read_fd;    /* a reader's descriptor of the store, holding a shared flock */
    int failed;  /* the first error of a write of the session: close discards it */
    int level;
    table ent, met, ev;
    grid g[TX_STORE_NGRIDS];
    tx_store_raw *raw;              /* tx_store_read_block's fetch buffers */
    tx_store_decoder **decoders;    /* one per OpenMP thread, ndecoders of them */
    int ndecoders;
};

typedef struct table_ops table_ops;
struct table_ops {
    const char *group; /* "enterprises" */
    size_t size;
    const col_desc *cols;
    size_t ncols;
    int keep_sorted; /* records themselves kept in key order (events) */
    int (*cmp)(const void *a, const void *b);
    /* The key's hash, for tables looked up by id (NULL: binary search of the index). */
    uint64_t (*hash)(const void *rec);
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

uint64_t tx_id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t enterprise_hash(const void *a)
{
    return tx_id_hash(((const tx_enterprise *)a)->id);
}
static uint64_t meter_hash(const void *a) { return tx_id_hash(((const tx_meter *)a)->id); }

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
    .hash = enterprise_hash,
    .check = enterprise_check,
};
static const table_ops meter_ops = {
    .group = "meters",
    .size = sizeof(tx_meter),
    .cols = meter_cols,
    .ncols = NCOLS(meter_cols),
    .cmp = meter_cmp,
    .hash = meter_hash,
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

/* 1 when base's n records are in key order. */
static int in_order(const table_ops *ops, const void *base, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (ops->cmp(CREC(base, ops->size, i - 1), CREC(base, ops->size, i)) > 0)
            return 0;
    return 1;
}

/* Places the records in the hash slots of a table looked up by id: -1, or the record of a
 * duplicate key. */
static long slots_fill(table *t, const table_ops *ops)
{
    const size_t nslot = t->nslot;
    memset(t->slot, 0, nslot * sizeof *t->slot);
    for (size_t i = 0; i < t->n; i++) {
        const void *rec = CREC(t->rec, ops->size, i);
        size_t h = (size_t)ops->hash(rec) & (nslot - 1);
        for (uint32_t r; (r = t->slot[h]) != 0; h = (h + 1) & (nslot - 1))
            if (ops->cmp(rec, CREC(t->rec, ops->size, r - 1)) == 0)
                return (long)i;
        t->slot[h] = (uint32_t)i + 1;
    }
    return -1;
}

/* Makes room in the hash slots of a table looked up by id for n records (at most half
 * full), placing the records there again when they grow. TX_OK or TX_ENOMEM. */
static int table_slots(table *t, const table_ops *ops, size_t n)
{
    if (!ops->hash)
        return TX_OK;
    size_t nslot = 64;
    while (nslot < 2 * n + 2)
        nslot *= 2;
    if (nslot <= t->nslot)
        return TX_OK;
    uint32_t *sl = realloc(t->slot, nslot * sizeof *sl);
    if (!sl)
        return TX_ENOMEM;
    t->slot = sl;
    t->nslot = nslot;
    slots_fill(t, ops); /* the records there are, whose keys are unique */
    return TX_OK;
}

/* Rebuilds the lookup of a table: the hash slots of a table looked up by id (whose records
 * are never sorted: measured, sorting 61,000 meter ids was most of a store's opening), or
 * the index sorted by key (t->idx must hold t->n entries). Returns the record of a
 * duplicate key, -1 when keys are unique, or -2 out of memory. Records already in key
 * order are not sorted again. */
static long table_reindex(table *t, const table_ops *ops)
{
    if (ops->hash) /* the slots were sized by table_reserve: they do not grow here */
        return table_slots(t, ops, t->n) != TX_OK ? -2 : slots_fill(t, ops);
    if (ops->keep_sorted && t->n > 1 && !in_order(ops, t->rec, t->n))
        qsort_r(t->rec, t->n, ops->size, rec_cmp, (void *)ops);
    for (size_t i = 0; i < t->n; i++)
        t->idx[i] = (uint32_t)i;
    if (!ops->keep_sorted && t->n > 1 && !in_order(ops, t->rec, t->n)) {
        sort_ctx c = {ops, t->rec};
        qsort_r(t->idx, t->n, sizeof *t->idx, idx_cmp, &c);
    }
    for (size_t i = 1; i < t->n; i++)
        if (ops->cmp(CREC(t->rec, ops->size, t->idx[i - 1]),
                     CREC(t->rec, ops->size, t->idx[i])) == 0)
            return (long)t->idx[i];
    return -1;
}

/* Index of the record with the key of key, or -1. */
static long table_find(const table *t, const table_ops *ops, const void *key)
{
    if (ops->hash) {
        if (!t->nslot)
            return -1; /* nothing reserved, nothing stored */
        size_t h = (size_t)ops->hash(key) & (t->nslot - 1);
        for (uint32_t r; (r = t->slot[h]) != 0; h = (h + 1) & (t->nslot - 1))
            if (ops->cmp(key, CREC(t->rec, ops->size, r - 1)) == 0)
                return (long)r - 1;
        return -1;
    }
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
    void *rec = tx_big_realloc(t->rec, cap * ops->size);
    if (!rec)
        return TX_ENOMEM;
    t->rec = rec;
    if (!ops->hash) { /* a table looked up by id needs no sorted index */
        uint32_t *idx = realloc(t->idx, cap * sizeof *idx);
        if (!idx)
            return TX_ENOMEM;
        t->idx = idx;
    } else if (table_slots(t, ops, cap) != TX_OK) {
        return TX_ENOMEM;
    }
    t->cap = cap;
    return TX_OK;
}

static void table_destroy(table *t)
{
    free(t->rec);
    free(t->idx);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Groups n input records by key with a stable sort (tables kept in key order, the events):
 * head[i] is the first input of i's group, dst[i] the group's stored record or -1; *nnew
 * counts the groups with none. Checks each input against the stored record (compat). */
static int group_sorted(tx_store *s, const table *t, const table_ops *ops, const void *in,
                        size_t n, size_t *head, long *dst, size_t *nnew, tx_err *err)
{
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return tx_err_set(err, TX_ENOMEM, "%s: put %s: out of memory", s->path, ops->group);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_ctx c = {ops, in};
    if (!in_order(ops, in, n)) /* a catalogue file in id order is left as it is */
        qsort_r(order, n, sizeof *order, pos_cmp, &c);
    int rc = TX_OK;
    for (size_t g = 0, e; g < n && rc == TX_OK; g = e) {
        const void *first = CREC(in, ops->size, order[g]);
        for (e = g + 1; e < n && ops->cmp(CREC(in, ops->size, order[e]), first) == 0; e++)
            ;
        long found = table_find(t, ops, first);
        const void *ref = found >= 0 ? CREC(t->rec, ops->size, found) : first;
        for (size_t k = g; k < e && rc == TX_OK; k++) {
            if (ops->compat)
                rc = ops->compat(s, ref, CREC(in, ops->size, order[k]), err);
            dst[order[k]] = found;
            head[order[k]] = order[g];
        }
        *nnew += found < 0;
    }
    free(order);
    return rc;
}

/* As group_sorted, for tables looked up by hash: the input is grouped through a hash of
 * its keys, in input order, with no sort (a meters file is seldom in id order: the sort of
 * 61,000 ids was a third of the catalogue's upserts, docs/ARCHITECTURE.md). The hash's
 * slots hold index + 1 of each key's first input, 0 for none. */
static int group_hashed(tx_store *s, const table *t, const table_ops *ops, const void *in,
                        size_t n, size_t *head, long *dst, size_t *nnew, tx_err *err)
{
    size_t ns = 16;
    while (ns < 2 * n)
        ns *= 2;
    uint32_t *gs = calloc(ns, sizeof *gs);
    if (!gs)
        return tx_err_set(err, TX_ENOMEM, "%s: put %s: out of memory", s->path, ops->group);
    int rc = TX_OK;
    for (size_t i = 0; i < n && rc == TX_OK; i++) {
        const void *rec = CREC(in, ops->size, i);
        size_t h = (size_t)ops->hash(rec) & (ns - 1);
        uint32_t r;
        for (; (r = gs[h]) != 0; h = (h + 1) & (ns - 1))
            if (ops->cmp(rec, CREC(in, ops->size, r - 1)) == 0)
                break;
        if (r == 0) { /* the key's first input */
            gs[h] = (uint32_t)i + 1;
            head[i] = i;
            dst[i] = table_find(t, ops, rec);
            *nnew += dst[i] < 0;
        } else {
            head[i] = r - 1;
            dst[i] = dst[r - 1];
        }
        const void *ref =
            dst[i] >= 0 ? CREC(t->rec, ops->size, dst[i]) : CREC(in, ops->size, head[i]);
        if (ops->compat)
            rc = ops->compat(s, ref, rec, err);
    }
    free(gs);
    return rc;
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
    size_t *head = NULL;
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

    head = malloc(n * sizeof *head);
    dst = malloc(n * sizeof *dst);
    if (!head || !dst) {
        rc = tx_err_set(err, TX_ENOMEM, "%s: put %s: out of memory", s->path, ops->group);
        goto done;
    }
    if (ops->hash && n < UINT32_MAX / 4)
        rc = group_hashed(s, t, ops, in, n, head, dst, &nnew, err);
    else
        rc = group_sorted(s, t, ops, in, n, head, dst, &nnew, err);
    if (rc != TX_OK)
        goto done;
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
    if (dup == -2) {
        rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, path);
        goto done;
    }
    if (dup >= 0) {
        rc = tx_err_set(err, TX_EINVAL, "%s:%s: duplicate key at row %ld", s->path, path,
                        dup);
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

/* Access properties of a series dataset: no chunk cache (chunks are moved raw). */
static hid_t series_dapl(tx_err *err, const char *path, const char *name)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0) {
        tx_h5_fail(err, "%s:%s/%s: cannot create access properties", path, "/series", name);
        return H5I_INVALID_HID;
    }
    if (H5Pset_chunk_cache(dapl, 0, 0, 1.0) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot set the chunk cache", path, name);
        H5Pclose(dapl);
        return H5I_INVALID_HID;
    }
    return dapl;
}

/* Opens an existing dataset of a grid and checks its rank (1 or 2), shape and type size. */
static hid_t series_open(tx_store *s, hid_t grp, const char *gname, const char *name, int rank,
                         size_t type_size, hsize_t dims[2], tx_err *err)
{
    hid_t dapl = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t type = H5I_INVALID_HID;
    char what[64];
    snprintf(what, sizeof what, "%s/%s", gname, name);
    if ((dapl = series_dapl(err, s->path, what)) < 0)
        goto fail;
    if ((ds = H5Dopen2(grp, name, dapl)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot open", s->path, what);
        goto fail;
    }
    if ((space = H5Dget_space(ds)) < 0 || (type = H5Dget_type(ds)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot get the dataspace or type", s->path, what);
        goto fail;
    }
    if (H5Sget_simple_extent_ndims(space) != rank ||
        H5Sget_simple_extent_dims(space, dims, NULL) != rank) {
        tx_err_set(err, TX_EINVAL, "%s:/series/%s: not a %d-D dataset", s->path, what, rank);
        goto fail;
    }
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != type_size) {
        tx_err_set(err, TX_EINVAL, "%s:/series/%s: not %zu-byte integers", s->path, what,
                   type_size);
        goto fail;
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Pclose(dapl);
    return ds;
fail:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (ds >= 0)
        H5Dclose(ds);
    if (dapl >= 0)
        H5Pclose(dapl);
    return H5I_INVALID_HID;
}

/* Makes room for the decimals of rows [0, n); new rows have 0 decimals. */
static int grid_dec_reserve(grid *gr, size_t n)
{
    if (n <= gr->ndec)
        return 0;
    uint8_t *d = realloc(gr->dec, n);
    if (!d)
        return -1;
    memset(d + gr->ndec, 0, n - gr->ndec);
    gr->dec = d;
    gr->ndec = n;
    return 0;
}

/*
 * The chunk map. HDF5 1.10.8 has no cheap "is this chunk stored": H5Dget_chunk_info_by_coord
 * walks every chunk of the dataset (measured: 130 us a lookup at 2,000 enterprises, 292 us
 * at 5,000, so a run grew quadratically with the city), and H5Dget_chunk_storage_size
 * fails on a chunk never written. Every chunk is written by this file, so the store keeps
 * its own map (/series/<m>min/chunks) and asks HDF5 for a chunk's size (an index lookup)
 * only when the map says it is there.
 */
static int cmap_has(const grid *gr, const hsize_t off[2], size_t crow, size_t cslots, int bit)
{
    size_t i = (size_t)off[0] / crow, j = (size_t)off[1] / cslots;
    return i < gr->cm_rows && j < gr->cm_cols && (gr->cmap[i * gr->cm_cols + j] & bit);
}

static int cmap_set(grid *gr, const hsize_t off[2], size_t crow, size_t cslots, int bit)
{
    size_t i = (size_t)off[0] / crow, j = (size_t)off[1] / cslots;
    if (i >= gr->cm_rows || j >= gr->cm_cols) {
        size_t nr = i >= gr->cm_rows ? (i + 1) + (i + 1) / 4 : gr->cm_rows;
        size_t nc = j >= gr->cm_cols ? (j + 1) + (j + 1) / 4 : gr->cm_cols;
        uint8_t *m = calloc(nr * nc > 0 ? nr * nc : 1, 1);
        if (!m)
            return -1;
        for (size_t r = 0; r < gr->cm_rows; r++)
            memcpy(m + r * nc, gr->cmap + r * gr->cm_cols, gr->cm_cols);
        free(gr->cmap);
        gr->cmap = m;
        gr->cm_rows = nr;
        gr->cm_cols = nc;
    }
    if (!(gr->cmap[i * gr->cm_cols + j] & bit)) {
        gr->cmap[i * gr->cm_cols + j] |= (uint8_t)bit;
        gr->cm_dirty = 1;
    }
    return 0;
}

static int grid_open(tx_store *s, int g, tx_err *err)
{
    grid *gr = &s->g[g];
    char gpath[32];
    hsize_t qd[2], dd[2];
    int rc = TX_OK;
    hid_t grp = H5I_INVALID_HID, dds = H5I_INVALID_HID;
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
    htri_t hd = H5Lexists(grp, "decimals", H5P_DEFAULT);
    if (hv < 0 || hq < 0 || hd < 0) {
        rc = tx_h5_fail(err, "%s:%s: cannot look up the datasets", s->path, gpath);
        goto done;
    }
    if (!hv || !hq || !hd) {
        if (hv || hq || hd)
            rc = tx_err_set(err, TX_EINVAL, "%s:%s: needs value, quality and decimals; has %s%s%s",
                            s->path, gpath, hv ? "value " : "", hq ? "quality " : "",
                            hd ? "decimals" : "");
        goto done;
    }
    const char *gname = gpath + strlen("/series/");
    gr->value = series_open(s, grp, gname, "value", 2, 8, gr->dims, err);
    if (gr->value < 0) {
        rc = err ? err->code : TX_EHDF5;
        goto done;
    }
    gr->quality = series_open(s, grp, gname, "quality", 2, 1, qd, err);
    if (gr->quality < 0) {
        rc = err ? err->code : TX_EHDF5;
        goto done;
    }
    if (qd[0] != gr->dims[0] || qd[1] != gr->dims[1]) {
        rc = tx_err_set(err, TX_EINVAL, "%s:%s: quality and value differ in shape", s->path,
                        gpath);
        goto done;
    }
    {
        hsize_t cd[2];
        hid_t cds = H5Lexists(grp, "chunks", H5P_DEFAULT) > 0
                        ? series_open(s, grp, gname, "chunks", 2, 1, cd, err)
                        : H5I_INVALID_HID;
        if (cds < 0) {
            rc = err && err->code ? err->code
                                  : tx_err_set(err, TX_EINVAL, "%s:%s: no chunk map", s->path,
                                               gpath);
            goto done;
        }
        free(gr->cmap);
        gr->cmap = malloc(cd[0] * cd[1] > 0 ? (size_t)(cd[0] * cd[1]) : 1);
        gr->cm_rows = (size_t)cd[0];
        gr->cm_cols = (size_t)cd[1];
        gr->cm_dirty = 0;
        if (!gr->cmap)
            rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, gpath);
        else if (cd[0] * cd[1] > 0 &&
                 H5Dread(cds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, gr->cmap) < 0)
            rc = tx_h5_fail(err, "%s:%s/chunks: cannot read", s->path, gpath);
        H5Dclose(cds);
        if (rc != TX_OK)
            goto done;
    }
    if ((dds = series_open(s, grp, gname, "decimals", 1, 1, dd, err)) < 0) {
        rc = err ? err->code : TX_EHDF5;
        goto done;
    }
    if (dd[0] != gr->dims[0]) {
        rc = tx_err_set(err, TX_EINVAL, "%s:%s: %llu decimals for %llu rows", s->path, gpath,
                        (unsigned long long)dd[0], (unsigned long long)gr->dims[0]);
        goto done;
    }
    free(gr->dec);
    gr->dec = NULL;
    gr->ndec = 0;
    if (grid_dec_reserve(gr, (size_t)dd[0] ? (size_t)dd[0] : 1) != 0) {
        rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, gpath);
        goto done;
    }
    if (dd[0] && H5Dread(dds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, gr->dec) < 0) {
        rc = tx_h5_fail(err, "%s:%s/decimals: cannot read", s->path, gpath);
        goto done;
    }
    for (size_t r = 0; r < (size_t)dd[0]; r++)
        if (gr->dec[r] > TX_STORE_MAX_DECIMALS) {
            rc = tx_err_set(err, TX_EINVAL, "%s:%s/decimals: row %zu has %d decimals (at most %d)",
                            s->path, gpath, r, gr->dec[r], TX_STORE_MAX_DECIMALS);
            goto done;
        }
    gr->dec_dirty = 0;
done:
    if (dds >= 0)
        H5Dclose(dds);
    H5Gclose(grp);
    return rc;
}

/* Creates one series dataset: chunked, shuffle + zstd, unlimited, with its fill value and
 * the attributes a reader needs. kind: 0 value, 1 quality, 2 decimals (1-D, per row). */
static hid_t series_create(tx_store *s, hid_t grp, int g, int kind, const hsize_t dims[2],
                           tx_err *err)
{
    const int m = tx_store_grid_minutes[g];
    static const char *const names[4] = {"value", "quality", "decimals", "chunks"};
    const char *name = names[kind];
    const hsize_t maxd[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
    const hsize_t chunk[2] = {tx_store_chunk_rows(m), tx_store_chunk_slots(m)};
    const hsize_t dchunk[1] = {4096}, mchunk[2] = {256, 256}, mdims[2] = {0, 0};
    const int64_t value_fill = VALUE_FILL;
    const uint8_t zero_fill = 0;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t ds = H5I_INVALID_HID;
    char what[32], long_name[200];
    snprintf(what, sizeof what, "%dmin/%s", m, name);

    if ((space = H5Screate_simple(kind == 2 ? 1 : 2, kind == 3 ? mdims : dims, maxd)) < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot create the dataspace", s->path, what);
        goto fail;
    }
    dcpl = kind == 0   ? tx_h5_dcpl(2, chunk, s->level, H5T_NATIVE_INT64, &value_fill, err)
           : kind == 1 ? tx_h5_dcpl(2, chunk, s->level, H5T_NATIVE_UINT8, &zero_fill, err)
           : kind == 2 ? tx_h5_dcpl(1, dchunk, s->level, H5T_NATIVE_UINT8, &zero_fill, err)
                       : tx_h5_dcpl(2, mchunk, s->level, H5T_NATIVE_UINT8, &zero_fill, err);
    if (dcpl < 0) {
        tx_err_prefix(err, "%s:/series/%s", s->path, what);
        goto fail;
    }
    if ((dapl = series_dapl(err, s->path, what)) < 0)
        goto fail;
    ds = H5Dcreate2(grp, name, kind == 0 ? H5T_STD_I64LE : H5T_STD_U8LE, space, H5P_DEFAULT,
                    dcpl, dapl);
    if (ds < 0) {
        tx_h5_fail(err, "%s:/series/%s: cannot create", s->path, what);
        goto fail;
    }
    int rc;
    if (kind == 1) {
        static const uint8_t flags[3] = {0, 1, 2};
        snprintf(long_name, sizeof long_name, "quality of the readings on the %d-minute grid",
                 m);
        rc = tx_h5_attr_string(ds, "units", "1", err);
        if (rc == TX_OK)
            rc = tx_h5_attr_flags(ds, flags, 3, "measured estimated suspect", err);
    } else if (kind == 0) {
        snprintf(long_name, sizeof long_name,
                 "meter readings on the %d-minute grid as integers: the reading in the "
                 "meter's unit before the multiplier is value * 10^-decimals[row] "
                 "(row = /meters/row); %lld = no reading",
                 m, (long long)VALUE_FILL);
        rc = tx_h5_attr_string(ds, "units", "meter unit (/meters/unit) * 10^-decimals", err);
        if (rc == TX_OK)
            rc = tx_h5_attr_string(ds, "scale", "decimals", err);
    } else if (kind == 2) {
        snprintf(long_name, sizeof long_name,
                 "decimals of each row of value on the %d-minute grid: its meter's resolution",
                 m);
        rc = tx_h5_attr_string(ds, "units", "1", err);
    } else {
        snprintf(long_name, sizeof long_name,
                 "which chunks of value and quality on the %d-minute grid are stored, by chunk "
                 "row and chunk column: bit 1 value, bit 2 quality",
                 m);
        rc = tx_h5_attr_string(ds, "units", "1", err);
    }
    if (rc == TX_OK)
        rc = tx_h5_attr_string(ds, "long_name", long_name, err);
    if (rc == TX_OK && kind < 2)
        rc = tx_h5_attr_int64(ds, "interval_minutes", m, err);
    if (rc == TX_OK && kind < 2)
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
    hid_t dds = H5I_INVALID_HID;
    gr->value = series_create(s, grp, g, 0, dims, err);
    if (gr->value >= 0)
        gr->quality = series_create(s, grp, g, 1, dims, err);
    hid_t cds = H5I_INVALID_HID;
    if (gr->quality >= 0)
        dds = series_create(s, grp, g, 2, dims, err);
    if (dds >= 0)
        cds = series_create(s, grp, g, 3, dims, err);
    if (gr->value < 0 || gr->quality < 0 || dds < 0 || cds < 0) {
        if (dds >= 0) {
            H5Dclose(dds);
            H5Ldelete(grp, "decimals", H5P_DEFAULT);
        }
        rc = err ? err->code : TX_EHDF5;
        /* No half grid is left behind: a value dataset without the others would make the
         * store unreadable. */
        if (gr->value >= 0) {
            H5Dclose(gr->value);
            H5Ldelete(grp, "value", H5P_DEFAULT);
        }
        if (gr->quality >= 0) {
            H5Dclose(gr->quality);
            H5Ldelete(grp, "quality", H5P_DEFAULT);
        }
        gr->value = gr->quality = H5I_INVALID_HID;
    } else {
        H5Dclose(dds);
        H5Dclose(cds);
        gr->cm_dirty = 1;
        gr->dims[0] = dims[0];
        gr->dims[1] = dims[1];
        if (grid_dec_reserve(gr, (size_t)dims[0]) != 0)
            rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, gpath);
        gr->dec_dirty = 1;
    }
    H5Gclose(grp);
    return rc;
}

/* Writes the chunk map of a grid when it changed. */
static int grid_cmap_write(tx_store *s, int g, tx_err *err)
{
    grid *gr = &s->g[g];
    if (gr->value < 0 || !gr->cm_dirty)
        return TX_OK;
    char path[48];
    snprintf(path, sizeof path, "/series/%dmin/chunks", tx_store_grid_minutes[g]);
    hid_t ds = H5Dopen2(s->file, path, H5P_DEFAULT);
    if (ds < 0)
        return tx_h5_fail(err, "%s:%s: cannot open", s->path, path);
    const hsize_t n[2] = {gr->cm_rows, gr->cm_cols};
    int rc = TX_OK;
    if (H5Dset_extent(ds, n) < 0)
        rc = tx_h5_fail(err, "%s:%s: cannot extend", s->path, path);
    else if (n[0] * n[1] > 0 &&
             H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, gr->cmap) < 0)
        rc = tx_h5_fail(err, "%s:%s: cannot write", s->path, path);
    if (H5Dclose(ds) < 0 && rc == TX_OK)
        rc = tx_h5_fail(err, "%s:%s: cannot close", s->path, path);
    if (rc == TX_OK)
        gr->cm_dirty = 0;
    return rc;
}

/* Writes the decimals of a grid (all rows of the extent) when they changed, and its chunk
 * map. */
static int grid_dec_write(tx_store *s, int g, tx_err *err)
{
    grid *gr = &s->g[g];
    int crc = grid_cmap_write(s, g, err);
    if (crc != TX_OK)
        return crc;
    if (gr->value < 0 || !gr->dec_dirty)
        return TX_OK;
    char path[48];
    snprintf(path, sizeof path, "/series/%dmin/decimals", tx_store_grid_minutes[g]);
    hid_t ds = H5Dopen2(s->file, path, H5P_DEFAULT);
    if (ds < 0)
        return tx_h5_fail(err, "%s:%s: cannot open", s->path, path);
    const hsize_t n[1] = {gr->dims[0]};
    int rc = TX_OK;
    if (grid_dec_reserve(gr, (size_t)n[0]) != 0)
        rc = tx_err_set(err, TX_ENOMEM, "%s:%s: out of memory", s->path, path);
    else if (H5Dset_extent(ds, n) < 0)
        rc = tx_h5_fail(err, "%s:%s: cannot extend to %llu rows", s->path, path,
                        (unsigned long long)n[0]);
    else if (n[0] && H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, gr->dec) < 0)
        rc = tx_h5_fail(err, "%s:%s: cannot write", s->path, path);
    if (H5Dclose(ds) < 0 && rc == TX_OK)
        rc = tx_h5_fail(err, "%s:%s: cannot close", s->path, path);
    if (rc == TX_OK)
        gr->dec_dirty = 0;
    return rc;
}

static void grid_close(grid *gr)
{
    free(gr->cmap);
    gr->cmap = NULL;
    gr->cm_rows = gr->cm_cols = 0;
    gr->cm_dirty = 0;
    if (gr->value >= 0)
        H5Dclose(gr->value);
    if (gr->quality >= 0)
        H5Dclose(gr->quality);
    gr->value = gr->quality = H5I_INVALID_HID;
}

/* ---- crash safety: the writer's lock, the journal and the commit ---------------------------- */

/*
 * HDF5 changes a file in place, and a process killed in the middle of that leaves metadata
 * that may not even open. So a writer never changes the committed bytes before its commit
 * is on disk. It holds an exclusive flock on "<store>.lock" for the whole session (the
 * file is removed at the end), works on the store through the redo journal (journal.h)
 * from its first change, and commits at close. Killed at any moment, it leaves the store
 * as it was before the session, or a committed journal that the next opener applies, plus
 * a lock file nobody holds. Readers hold a shared flock on the store file, so a commit
 * never changes a file under them: it copies instead (journal.c). A new store is created as
 * a working copy "<store>.wip-<pid>" and renamed into place.
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

/* Releases the writer's lock, if held. */
static void writer_unlock(tx_store *s)
{
    if (s->lock_fd >= 0) {
        /* Removed while still held (see writer_lock). Where it cannot be, its pid is
         * cleared, so no reader of this process mistakes it for its own: only a courtesy,
         * the lock itself goes with the descriptor. */
        if (unlink(s->lock) != 0 && ftruncate(s->lock_fd, 0) != 0)
            errno = 0;
        close(s->lock_fd);
    }
    s->lock_fd = -1;
    free(s->lock);
    s->lock = NULL;
}

/* A reader holds a shared flock on the store file for its whole session: a writer changes
 * the file in place only under an exclusive one, and copies it while readers hold it
 * (journal.h). A committed journal that a killed writer left is applied first, under the
 * writer's lock, by this reader or by the writer that holds the lock. Sets s->read_fd. */
static int reader_hold(tx_store *s, tx_err *err)
{
    for (int attempt = 0;; attempt++) {
        int fd = open(s->target, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return tx_err_set(err, errno == ENOENT ? TX_ENOTFOUND : TX_EIO, "%s: %s", s->path,
                              errno == ENOENT ? "no such store" : strerror(errno));
        while (flock(fd, LOCK_SH) != 0)
            if (errno != EINTR) {
                int rc = tx_err_set(err, TX_EIO, "%s: cannot lock (%s)", s->path,
                                    strerror(errno));
                close(fd);
                return rc;
            }
        int pending = tx_journal_pending(s->target, fd, err);
        if (pending == 0) {
            s->read_fd = fd;
            return TX_OK;
        }
        close(fd);
        if (pending < 0)
            return pending;
        tx_err lerr = {0};
        if (writer_lock(s, &lerr) == TX_OK) {
            int rc = tx_journal_recover(s->target, err);
            writer_unlock(s);
            if (rc != TX_OK)
                return rc;
            continue;
        }
        if (lerr.code != TX_EEXIST) {
            *err = lerr;
            return lerr.code;
        }
        if (attempt == 6000)
            return tx_err_set(err, TX_EEXIST,
                              "%s: a writer is finishing the commit of a killed writer; try "
                              "again later",
                              s->path);
        usleep(10000); /* the writer that holds the lock applies the journal first */
    }
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

/* Records the first failed write of a session (close then discards it); returns rc. */
static int failing(tx_store *s, int rc)
{
    if (rc != TX_OK && s->failed == TX_OK)
        s->failed = rc;
    return rc;
}

/* 1 once the session writes: to a new store's working copy, or through the journal. */
static int writing(const tx_store *s)
{
    return s->wip != NULL || s->jr != NULL;
}

/* Moves a writer from the committed file, open read-only, to the same file opened through
 * the journal (journal.h) at its first change: a session that changes nothing (an ingest
 * of readings already stored) writes nothing and leaves the store as it was. */
static int begin_write(tx_store *s, tx_err *err)
{
    if (writing(s))
        return TX_OK;
    if (s->failed != TX_OK)
        return tx_err_set(err, s->failed, "%s: an earlier write failed; nothing more is written",
                          s->path);
    int rc = tx_journal_begin(s->target, &s->jr, err);
    if (rc != TX_OK)
        return failing(s, rc);
    /* The read-only handles go first: the file is then open once, through the journal. */
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        grid_close(&s->g[g]);
    H5Fclose(s->file);
    s->file = H5I_INVALID_HID;
    hid_t fapl = tx_journal_fapl(s->jr, err);
    if (fapl < 0)
        return failing(s, TX_EHDF5);
    quiet_state q;
    h5_quiet(&q);
    s->file = H5Fopen(s->target, H5F_ACC_RDWR, fapl);
    if (s->file < 0)
        rc = tx_h5_fail(err, "%s: cannot open for writing", s->path);
    h5_loud(&q);
    H5Pclose(fapl);
    for (int g = 0; g < TX_STORE_NGRIDS && rc == TX_OK; g++)
        rc = grid_open(s, g, err);
    return failing(s, rc);
}

/* Makes a new store's working copy (closed) the store: its data on disk, then the name,
 * then the directory entry on disk. */
static int commit_created(tx_store *s, tx_err *err)
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
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        grid_close(&s->g[g]);
        free(s->g[g].dec);
    }
    if (s->file >= 0)
        H5Fclose(s->file);
    if (s->wip)
        unlink(s->wip);
    tx_journal_abort(s->jr);
    if (s->read_fd >= 0)
        close(s->read_fd);
    writer_unlock(s);
    tx_store_raw_free(s->raw);
    for (int i = 0; i < s->ndecoders; i++)
        tx_store_decoder_free(s->decoders[i]);
    free(s->decoders);
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
    s->read_fd = -1;
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
        if ((rc = writer_lock(s, err)) != TX_OK || (rc = remove_stale(s, err)) != TX_OK ||
            (rc = tx_journal_recover(s->target, err)) != TX_OK)
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
    struct stat held = {0};
    if (!writable && ((rc = reader_hold(s, err)) != TX_OK || fstat(s->read_fd, &held) != 0)) {
        if (rc == TX_OK)
            rc = tx_err_set(err, TX_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    /* Opened read-only; a writer moves to the journal at its first change. Probes that fail
     * on files that are not stores, without HDF5 printing its stack. */
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
    /* A reader's lock is on the file it opened: a commit by copy could have renamed another
     * file into place between the two opens. */
    if (rc == TX_OK && !writable) {
        void *handle = NULL;
        struct stat opened;
        if (H5Fget_vfd_handle(s->file, H5P_DEFAULT, &handle) < 0 || !handle ||
            fstat(*(int *)handle, &opened) != 0)
            rc = tx_h5_fail(err, "%s: cannot query the open file", path);
        else if (opened.st_ino != held.st_ino || opened.st_dev != held.st_dev)
            rc = tx_err_set(err, TX_EEXIST, "%s: replaced by a writer while it was opened; "
                            "try again", path);
    }
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
    for (int g = 0; g < TX_STORE_NGRIDS && rc == TX_OK; g++)
        rc = failing(s, grid_dec_write(s, g, err));
    if (rc != TX_OK)
        return rc;
    if (writing(s) && H5Fflush(s->file, H5F_SCOPE_LOCAL) < 0)
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
    for (int g = 0; g < TX_STORE_NGRIDS && s->writable && s->failed == TX_OK && rc == TX_OK;
         g++)
        rc = failing(s, grid_dec_write(s, g, err));
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        grid *gr = &s->g[g];
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
        rc = commit_created(s, err);
    else if (rc == TX_OK && s->jr) {
        int copied = 0;
        tx_journal *jr = s->jr;
        s->jr = NULL; /* the commit frees it, whatever happens */
        rc = tx_journal_commit(jr, &copied, err);
    }
    store_free(s);
    return rc;
}

void tx_store_abort(tx_store *s)
{
    /* HDF5 still writes its caches through the journal as it closes; the journal is
     * discarded right after. */
    store_free(s);
}

int tx_store_read_fd(const tx_store *s)
{
    return s ? s->read_fd : -1;
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

static const double pow10_tab[TX_STORE_MAX_DECIMALS + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                             1e5, 1e6, 1e7, 1e8, 1e9};
#define EXACT_LIMIT 9007199254740992.0 /* 2^53: every integer below it is a double */

/* nearbyint without a libm call (engine code is built for baseline x86-64, which has no
 * rounding instruction): adding and taking away 1.5 * 2^52 rounds to the nearest integer,
 * ties to even, in the default rounding mode; from 2^52 on every double is an integer. */
static inline double round_near(double x)
{
    if (!(fabs(x) < 4503599627370496.0)) /* 2^52, and NaN */
        return x;
    volatile double magic = 6755399441055744.0; /* 1.5 * 2^52; volatile: no reassociation */
    return (x + magic) - magic;
}

int tx_store_decimals_of(double v)
{
    if (!isfinite(v))
        return -1;
    for (int d = 0; d <= TX_STORE_MAX_DECIMALS; d++) {
        double x = v * pow10_tab[d];
        if (!(fabs(x) < EXACT_LIMIT))
            return -1; /* only grows with d */
        double n = round_near(x);
        if (fabs(n) < EXACT_LIMIT && n / pow10_tab[d] == v)
            return d;
    }
    return -1;
}

/* The integer of v at d decimals (v has at most d, see tx_store_decimals_of); 0 and *n set,
 * or -1 when it is 2^53 or more. v * 10^d is within an ulp or two of that integer, and
 * n / 10^d, correctly rounded, is the double nearest to the same decimal: v. */
static inline int to_int(double v, int d, int64_t *n)
{
    double x = round_near(v * pow10_tab[d]);
    if (!(fabs(x) < EXACT_LIMIT))
        return -1;
    *n = (int64_t)x;
    return 0;
}

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap < b->n + extra)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

struct tx_store_raw {
    int minutes;
    size_t crow, cslots;
    size_t row0, nrows, nslots;
    int64_t slot0;
    size_t cr0, ncr, ncs; /* chunk rows and chunk columns covering the block */
    int64_t cs0;
    size_t *off, *len, *qoff, *qlen, ntab; /* per chunk (i * ncs + j); len 0: none stored */
    bytes data, qdata;
    uint8_t *dec; /* decimals of the block's rows */
    size_t deccap;
    int with_quality;
    char what[200]; /* "STORE:/series/15min" for messages */
};

struct tx_store_decoder {
    tx_chunk_codec *codec;
    int64_t cells[CHUNK_CELLS];
    uint8_t qcells[CHUNK_CELLS];
};

tx_store_raw *tx_store_raw_new(void) { return calloc(1, sizeof(tx_store_raw)); }

void tx_store_raw_free(tx_store_raw *raw)
{
    if (!raw)
        return;
    free(raw->off);
    free(raw->len);
    free(raw->qoff);
    free(raw->qlen);
    free(raw->data.p);
    free(raw->qdata.p);
    free(raw->dec);
    free(raw);
}

tx_store_decoder *tx_store_decoder_new(void)
{
    tx_store_decoder *d = malloc(sizeof *d);
    if (!d)
        return NULL;
    if (!(d->codec = tx_chunk_codec_new(CHUNK_CELLS * sizeof(int64_t)))) {
        free(d);
        return NULL;
    }
    return d;
}

void tx_store_decoder_free(tx_store_decoder *d)
{
    if (!d)
        return;
    tx_chunk_codec_free(d->codec);
    free(d);
}

size_t tx_store_raw_parts(const tx_store_raw *raw) { return raw ? raw->ncr : 0; }

void tx_store_raw_part(const tx_store_raw *raw, size_t i, size_t *first, size_t *n)
{
    size_t R0 = (raw->cr0 + i) * raw->crow;
    size_t rb = R0 > raw->row0 ? R0 : raw->row0;
    size_t re = R0 + raw->crow < raw->row0 + raw->nrows ? R0 + raw->crow : raw->row0 + raw->nrows;
    *first = rb - raw->row0;
    *n = re - rb;
}

size_t tx_store_raw_bytes(const tx_store_raw *raw) { return raw ? raw->data.n + raw->qdata.n : 0; }

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

/* Writes one encoded chunk at off into the value (what 1) or quality (what 2) dataset of a
 * grid and marks it stored in the chunk map. TX_OK or the error, named. */
static int chunk_put(const tx_store *s, grid *gr, int m, int what, const hsize_t off[2],
                     size_t crow, size_t cslots, const void *buf, size_t len, tx_err *err)
{
    if (cmap_set(gr, off, crow, cslots, what) != 0 ||
        H5Dwrite_chunk(what == 1 ? gr->value : gr->quality, H5P_DEFAULT, 0, off, len, buf) <
            0)
        return tx_h5_fail(err, "%s:/series/%dmin/%s: cannot write the chunk at row %llu, slot "
                          "%llu", s->path, m, what == 1 ? "value" : "quality",
                          (unsigned long long)off[0], (unsigned long long)off[1]);
    return TX_OK;
}

/* Reads the stored bytes of the chunk at off (rows, slots) of ds onto the end of b; *len = 0
 * when none is stored. */
static int chunk_fetch(hid_t ds, int stored, const hsize_t off[2], bytes *b, size_t *len)
{
    *len = 0;
    if (!stored) /* the chunk map says none */
        return 0;
    /* One index lookup, not two: the chunk is read into room for the largest frame a chunk
     * can encode to (the store wrote it: one zstd frame of at most tx_chunk_bound of the
     * chunk's bytes, the value chunk's bound covering the quality chunk's too), and its
     * length is the frame's, which zstd reads from the frame itself. */
    const size_t room = tx_chunk_bound(CHUNK_CELLS * sizeof(int64_t));
    if (bytes_reserve(b, room) != 0)
        return -1;
    uint32_t filters = 0;
    /* A chunk stored with a filter skipped (mask not 0) is not the store's. */
    if (H5Dread_chunk(ds, H5P_DEFAULT, off, &filters, b->p + b->n) < 0 || filters != 0)
        return -1;
    size_t size = tx_chunk_frame_size(b->p + b->n, room);
    if (size == 0)
        return -1;
    *len = size;
    b->n += size;
    return 0;
}

static int raw_reserve(tx_store_raw *raw, size_t nchunks, size_t nrows)
{
    if (nchunks > raw->ntab) {
        size_t *o = realloc(raw->off, nchunks * sizeof *o);
        if (o)
            raw->off = o;
        size_t *l = realloc(raw->len, nchunks * sizeof *l);
        if (l)
            raw->len = l;
        size_t *qo = realloc(raw->qoff, nchunks * sizeof *qo);
        if (qo)
            raw->qoff = qo;
        size_t *ql = realloc(raw->qlen, nchunks * sizeof *ql);
        if (ql)
            raw->qlen = ql;
        if (!o || !l || !qo || !ql)
            return -1;
        raw->ntab = nchunks;
    }
    if (nrows > raw->deccap) {
        uint8_t *d = realloc(raw->dec, nrows);
        if (!d)
            return -1;
        raw->dec = d;
        raw->deccap = nrows;
    }
    return 0;
}

int tx_store_fetch(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                   int64_t slot0, size_t nslots, int with_quality, tx_store_raw *raw,
                   tx_err *err)
{
    int rc = block_check(s, interval_minutes, row0, nrows, slot0, nslots, raw, "fetch", err);
    if (rc != TX_OK)
        return rc;
    const int m = interval_minutes;
    const grid *gr = &s->g[tx_store_grid_of(m)];
    raw->minutes = m;
    raw->crow = tx_store_chunk_rows(m);
    raw->cslots = tx_store_chunk_slots(m);
    raw->row0 = row0;
    raw->nrows = nrows;
    raw->slot0 = slot0;
    raw->nslots = nslots;
    raw->with_quality = with_quality;
    raw->data.n = raw->qdata.n = 0;
    raw->ncr = raw->ncs = 0;
    snprintf(raw->what, sizeof raw->what, "%s:/series/%dmin", s->path, m);
    if (nrows == 0 || nslots == 0)
        return TX_OK;
    raw->cr0 = row0 / raw->crow;
    raw->ncr = (row0 + nrows - 1) / raw->crow - raw->cr0 + 1;
    raw->cs0 = slot0 / (int64_t)raw->cslots;
    raw->ncs = (size_t)((slot0 + (int64_t)nslots - 1) / (int64_t)raw->cslots - raw->cs0 + 1);
    if (raw_reserve(raw, raw->ncr * raw->ncs, nrows) != 0)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory for %zu chunks", raw->what,
                          raw->ncr * raw->ncs);
    for (size_t r = 0; r < nrows; r++)
        raw->dec[r] = row0 + r < gr->ndec ? gr->dec[row0 + r] : 0;
    for (size_t i = 0; i < raw->ncr; i++)
        for (size_t j = 0; j < raw->ncs; j++) {
            size_t t = i * raw->ncs + j;
            const hsize_t off[2] = {(hsize_t)(raw->cr0 + i) * raw->crow,
                                    (hsize_t)(raw->cs0 + (int64_t)j) * raw->cslots};
            raw->off[t] = raw->data.n;
            raw->qoff[t] = raw->qdata.n;
            raw->len[t] = raw->qlen[t] = 0;
            if (gr->value < 0 || off[0] >= gr->dims[0] || off[1] >= gr->dims[1])
                continue; /* beyond the extent: never written */
            if (chunk_fetch(gr->value, cmap_has(gr, off, raw->crow, raw->cslots, 1), off, &raw->data, &raw->len[t]) != 0 ||
                (with_quality && chunk_fetch(gr->quality, cmap_has(gr, off, raw->crow, raw->cslots, 2), off, &raw->qdata, &raw->qlen[t]) != 0))
                return tx_h5_fail(err, "%s: cannot read the chunk at row %llu, slot %llu",
                                  raw->what, (unsigned long long)off[0],
                                  (unsigned long long)off[1]);
        }
    return TX_OK;
}

int tx_store_decode(const tx_store_raw *raw, size_t i, double *value, uint8_t *quality,
                    uint64_t *present, tx_store_decoder *d, tx_err *err)
{
    const size_t crow = raw->crow, cslots = raw->cslots, nslots = raw->nslots;
    const size_t R0 = (raw->cr0 + i) * crow;
    size_t first, n;
    tx_store_raw_part(raw, i, &first, &n);
    const size_t rb = raw->row0 + first;
    if (present)
        for (size_t r = 0; r < n; r++)
            present[r] = 0;
    for (size_t j = 0; j < raw->ncs; j++) {
        const size_t t = i * raw->ncs + j;
        const int64_t C0 = (raw->cs0 + (int64_t)j) * (int64_t)cslots;
        const int64_t kb = C0 > raw->slot0 ? C0 : raw->slot0;
        const int64_t ke = C0 + (int64_t)cslots < raw->slot0 + (int64_t)nslots
                               ? C0 + (int64_t)cslots
                               : raw->slot0 + (int64_t)nslots;
        const size_t nk = (size_t)(ke - kb), dk = (size_t)(kb - raw->slot0);
        const size_t ck = (size_t)(kb - C0);
        int have = raw->len[t] != 0;
        if (have && tx_chunk_decode(d->codec, raw->data.p + raw->off[t], raw->len[t], 8,
                                    d->cells, sizeof d->cells) != 0)
            return tx_err_set(err, TX_EHDF5, "%s: the chunk at row %zu, slot %lld does not decode",
                              raw->what, R0, (long long)C0);
        for (size_t r = 0; r < n; r++) {
            double *dst = value + r * nslots + dk;
            if (!have) {
                for (size_t k = 0; k < nk; k++)
                    dst[k] = NAN;
                continue;
            }
            const int64_t *src = d->cells + (rb + r - R0) * cslots + ck;
            const double p = pow10_tab[raw->dec[first + r]];
            uint64_t cnt = 0;
            for (size_t k = 0; k < nk; k++) {
                dst[k] = src[k] == VALUE_FILL ? NAN : (double)src[k] / p;
                cnt += src[k] != VALUE_FILL;
            }
            if (present)
                present[r] += cnt;
        }
        if (!quality)
            continue;
        int qhave = raw->qlen[t] != 0;
        if (qhave && tx_chunk_decode(d->codec, raw->qdata.p + raw->qoff[t], raw->qlen[t], 1,
                                     d->qcells, sizeof d->qcells) != 0)
            return tx_err_set(err, TX_EHDF5,
                              "%s/quality: the chunk at row %zu, slot %lld does not decode",
                              raw->what, R0, (long long)C0);
        for (size_t r = 0; r < n; r++) {
            uint8_t *dst = quality + r * nslots + dk;
            if (qhave)
                memcpy(dst, d->qcells + (rb + r - R0) * cslots + ck, nk);
            else
                memset(dst, 0, nk);
        }
    }
    return TX_OK;
}

/* One decoder per OpenMP thread, kept by the store. */
static int store_decoders(tx_store *s, int n, tx_err *err)
{
    if (n <= s->ndecoders)
        return TX_OK;
    tx_store_decoder **d = realloc(s->decoders, (size_t)n * sizeof *d);
    if (!d)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    s->decoders = d;
    for (; s->ndecoders < n; s->ndecoders++)
        if (!(d[s->ndecoders] = tx_store_decoder_new()))
            return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    return TX_OK;
}

int tx_store_read_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                        int64_t slot0, size_t nslots, double *value, uint8_t *quality,
                        tx_err *err)
{
    int rc = block_check(s, interval_minutes, row0, nrows, slot0, nslots, value, "read",
                         err);
    if (rc != TX_OK || nrows == 0 || nslots == 0)
        return rc;
    if (!s->raw && !(s->raw = tx_store_raw_new()))
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    if ((rc = tx_store_fetch(s, interval_minutes, row0, nrows, slot0, nslots, quality != NULL,
                             s->raw, err)) != TX_OK)
        return rc;
    const size_t parts = tx_store_raw_parts(s->raw);
    int nt = omp_get_max_threads();
    if (parts < (size_t)nt)
        nt = (int)parts;
    if ((rc = store_decoders(s, nt, err)) != TX_OK)
        return rc;
    tx_err e1 = {0};
    int bad = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t i = 0; i < parts; i++) {
        size_t first, n;
        tx_store_raw_part(s->raw, i, &first, &n);
        tx_err e = {0};
        if (tx_store_decode(s->raw, i, value + first * nslots,
                            quality ? quality + first * nslots : NULL, NULL,
                            s->decoders[omp_get_thread_num()], &e) != TX_OK) {
#pragma omp critical(tx_store_read)
            if (!bad) {
                bad = 1;
                e1 = e;
            }
        }
    }
    if (bad) {
        if (err)
            *err = e1;
        return e1.code;
    }
    return TX_OK;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                       int64_t slot0, size_t nslots, const double *value,
                       const uint8_t *quality, const uint8_t *need, tx_err *err);
static int rescale_rows(tx_store *s, int g, size_t row0, size_t nrows, const uint8_t *need,
                        int check_only, tx_err *err);

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
    /* Every value must be storable before anything is written: the decimals each row needs,
     * starting from the row's own (most readings have exactly those). */
    const int m = interval_minutes;
    const grid *gr = &s->g[tx_store_grid_of(m)];
    uint8_t *need = malloc(nrows);
    if (!need)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    long bad_cell = -1;
#pragma omp parallel for schedule(static) reduction(max : bad_cell)
    for (size_t r = 0; r < nrows; r++) {
        int d = row0 + r < gr->ndec ? gr->dec[row0 + r] : 0;
        const double *v = value + r * nslots;
        for (size_t k = 0; k < nslots; k++) {
            if (isnan(v[k]))
                continue;
            double x = round_near(v[k] * pow10_tab[d]);
            if (fabs(x) < EXACT_LIMIT && x / pow10_tab[d] == v[k])
                continue;
            int dk = tx_store_decimals_of(v[k]);
            if (dk < 0 || dk <= d) { /* dk <= d: fewer decimals, but 2^53 or more at d */
                long cell = (long)(r * nslots + k);
                bad_cell = cell > bad_cell ? cell : bad_cell;
                break;
            }
            d = dk;
        }
        need[r] = (uint8_t)d;
    }
    if (bad_cell >= 0) {
        size_t r = (size_t)bad_cell / nslots, k = (size_t)bad_cell % nslots;
        free(need);
        return tx_err_set(err, TX_ERANGE,
                          "%s:/series/%dmin: row %zu, slot %lld: %.17g cannot be stored "
                          "exactly (not finite, more than %d decimals, or 2^53 or more at its "
                          "row's resolution)",
                          s->path, m, row0 + r, (long long)(slot0 + (int64_t)k),
                          value[r * nslots + k], TX_STORE_MAX_DECIMALS);
    }
    /* A row to be raised must hold its readings at the new resolution too: checked here,
     * so that a refused write leaves the session as it was. */
    rc = rescale_rows(s, tx_store_grid_of(m), row0, nrows, need, 1, err);
    if (rc == TX_OK)
        rc = failing(s, write_block(s, interval_minutes, row0, nrows, slot0, nslots, value,
                                    quality, need, err));
    free(need);
    return rc;
}

/* Working buffers of a write round. */
typedef struct {
    size_t cr, cs;           /* chunk indices */
    size_t len, qlen;        /* stored bytes (0: none) at off / qoff of the round's raw */
    size_t off, qoff;
    size_t nlen, nqlen;      /* encoded bytes, 0 on failure */
    int same, qsame;         /* encoded equal to stored: nothing to write */
} wchunk;

typedef struct {
    tx_chunk_codec *codec;
    int64_t cells[CHUNK_CELLS]; /* a write's cells; a merge's byte planes */
    uint8_t qcells[CHUNK_CELLS];
} wscratch;

/* nt workers' scratch (a codec and a chunk of cells each); NULL when out of memory. */
static void wscratch_free(wscratch **ws, int nt)
{
    for (int t = 0; ws && t < nt; t++)
        if (ws[t]) {
            tx_chunk_codec_free(ws[t]->codec);
            free(ws[t]);
        }
    free(ws);
}

static wscratch **wscratch_new(int nt)
{
    wscratch **ws = calloc((size_t)nt, sizeof *ws);
    for (int t = 0; ws && t < nt; t++)
        if (!(ws[t] = malloc(sizeof **ws)) ||
            !(ws[t]->codec = tx_chunk_codec_new(CHUNK_CELLS * sizeof(int64_t)))) {
            free(ws[t]);
            ws[t] = NULL;
            wscratch_free(ws, nt);
            return NULL;
        }
    return ws;
}

/* Decodes (or fills), overlays the block and encodes one chunk of a round. */
static int write_chunk(const tx_store *s, const grid *gr, wchunk *c, const bytes *old,
                       const bytes *qold, unsigned char *out, unsigned char *qout, size_t bound,
                       size_t qbound, size_t crow, size_t cslots, size_t row0, size_t nrows,
                       int64_t slot0, size_t nslots, const double *value,
                       const uint8_t *quality, wscratch *w)
{
    const size_t R0 = c->cr * crow;
    const int64_t C0 = (int64_t)(c->cs * cslots);
    const size_t rb = R0 > row0 ? R0 : row0;
    const size_t re = R0 + crow < row0 + nrows ? R0 + crow : row0 + nrows;
    const int64_t kb = C0 > slot0 ? C0 : slot0;
    const int64_t ke = C0 + (int64_t)cslots < slot0 + (int64_t)nslots ? C0 + (int64_t)cslots
                                                                      : slot0 + (int64_t)nslots;
    const size_t nk = (size_t)(ke - kb);
    if (c->len) {
        if (tx_chunk_decode(w->codec, old->p + c->off, c->len, 8, w->cells, sizeof w->cells))
            return -1;
    } else {
        for (size_t i = 0; i < CHUNK_CELLS; i++)
            w->cells[i] = VALUE_FILL;
    }
    for (size_t r = rb; r < re; r++) {
        const double *src = value + (r - row0) * nslots + (size_t)(kb - slot0);
        int64_t *dst = w->cells + (r - R0) * cslots + (size_t)(kb - C0);
        const int d = gr->dec[r];
        for (size_t k = 0; k < nk; k++) {
            if (isnan(src[k]))
                dst[k] = VALUE_FILL;
            else if (to_int(src[k], d, &dst[k]) != 0)
                return -2;
        }
    }
    c->nlen = tx_chunk_encode(w->codec, w->cells, sizeof w->cells, 8, s->level, out, bound);
    if (!c->nlen)
        return -1;
    c->same = c->len == c->nlen && memcmp(old->p + c->off, out, c->nlen) == 0;
    if (!quality)
        return 0;
    if (c->qlen) {
        if (tx_chunk_decode(w->codec, qold->p + c->qoff, c->qlen, 1, w->qcells,
                            sizeof w->qcells))
            return -1;
    } else {
        memset(w->qcells, 0, sizeof w->qcells);
    }
    for (size_t r = rb; r < re; r++)
        memcpy(w->qcells + (r - R0) * cslots + (size_t)(kb - C0),
               quality + (r - row0) * nslots + (size_t)(kb - slot0), nk);
    c->nqlen = tx_chunk_encode(w->codec, w->qcells, sizeof w->qcells, 1, s->level, qout, qbound);
    if (!c->nqlen)
        return -1;
    c->qsame = c->qlen == c->nqlen && memcmp(qold->p + c->qoff, qout, c->nqlen) == 0;
    return 0;
}

/* Raises the rows [row0, row0 + nrows) of grid g whose need[] exceeds their decimals: each
 * stored chunk of their chunk rows has those rows' integers multiplied by 10^(need - old).
 * check_only: only checks that none reaches 2^53 (TX_ERANGE naming the first), before the
 * session writes anything; otherwise rewrites the chunks and sets the decimals. A row that
 * holds nothing yet (the common case: its first write) costs a lookup per chunk. */
static int rescale_rows(tx_store *s, int g, size_t row0, size_t nrows, const uint8_t *need,
                        int check_only, tx_err *err)
{
    grid *gr = &s->g[g];
    const int m = tx_store_grid_minutes[g];
    const size_t crow = tx_store_chunk_rows(m), cslots = tx_store_chunk_slots(m);
    int rc = TX_OK;
    tx_chunk_codec *codec = NULL;
    int64_t *cells = NULL;
    bytes raw = {0};
    unsigned char *out = NULL;
    const size_t bound = tx_chunk_bound(CHUNK_CELLS * sizeof(int64_t));
    for (size_t cr = row0 / crow; rc == TX_OK && cr * crow < row0 + nrows; cr++) {
        size_t rb = cr * crow > row0 ? cr * crow : row0;
        size_t re = (cr + 1) * crow < row0 + nrows ? (cr + 1) * crow : row0 + nrows;
        int any = 0;
        for (size_t r = rb; r < re; r++)
            any |= r < gr->ndec && need[r - row0] > gr->dec[r];
        if (!any || gr->value < 0 || cr * crow >= gr->dims[0])
            continue;
        for (size_t cs = 0; rc == TX_OK && cs * cslots < gr->dims[1]; cs++) {
            const hsize_t off[2] = {(hsize_t)(cr * crow), (hsize_t)(cs * cslots)};
            size_t len = 0;
            raw.n = 0;
            if (chunk_fetch(gr->value, cmap_has(gr, off, crow, cslots, 1), off, &raw, &len) != 0) {
                rc = tx_h5_fail(err, "%s:/series/%dmin: cannot read the chunk at row %zu, "
                                "slot %zu", s->path, m, cr * crow, cs * cslots);
                break;
            }
            if (len == 0)
                continue;
            if (!codec && (!(codec = tx_chunk_codec_new(CHUNK_CELLS * sizeof(int64_t))) ||
                           !(cells = malloc(CHUNK_CELLS * sizeof *cells)) ||
                           !(out = malloc(bound)))) {
                rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
                break;
            }
            if (tx_chunk_decode(codec, raw.p, len, 8, cells, CHUNK_CELLS * sizeof *cells)) {
                rc = tx_err_set(err, TX_EHDF5, "%s:/series/%dmin: the chunk at row %zu, slot "
                                "%zu does not decode", s->path, m, cr * crow, cs * cslots);
                break;
            }
            for (size_t r = rb; r < re && rc == TX_OK; r++) {
                if (r >= gr->ndec || need[r - row0] <= gr->dec[r])
                    continue;
                const double f = pow10_tab[need[r - row0] - gr->dec[r]];
                int64_t *c = cells + (r - cr * crow) * cslots;
                for (size_t k = 0; k < cslots; k++) {
                    if (c[k] == VALUE_FILL)
                        continue;
                    double x = (double)c[k] * f;
                    if (!(fabs(x) < EXACT_LIMIT)) {
                        rc = tx_err_set(err, TX_ERANGE,
                                        "%s:/series/%dmin: row %zu: a reading with %d "
                                        "decimals would put the row's reading at slot %zu "
                                        "at 2^53 or more units",
                                        s->path, m, r, need[r - row0], cs * cslots + k);
                        break;
                    }
                    c[k] = (int64_t)x;
                }
            }
            if (rc != TX_OK || check_only)
                continue;
            size_t n = tx_chunk_encode(codec, cells, CHUNK_CELLS * sizeof *cells, 8, s->level,
                                       out, bound);
            if (!n || H5Dwrite_chunk(gr->value, H5P_DEFAULT, 0, off, n, out) < 0)
                rc = tx_h5_fail(err, "%s:/series/%dmin: cannot rewrite the chunk at row %zu, "
                                "slot %zu", s->path, m, cr * crow, cs * cslots);
        }
    }
    if (rc == TX_OK && !check_only)
        for (size_t r = 0; r < nrows; r++)
            if (row0 + r < gr->ndec && need[r] > gr->dec[row0 + r]) {
                gr->dec[row0 + r] = need[r];
                gr->dec_dirty = 1;
            }
    tx_chunk_codec_free(codec);
    free(cells);
    free(out);
    free(raw.p);
    return rc;
}

/* Creates grid g, or grows its extent, so that it covers rows x slots (both datasets and
 * the decimals of every row); through the journal. */
static int grid_cover(tx_store *s, int g, hsize_t rows, hsize_t slots, tx_err *err)
{
    grid *gr = &s->g[g];
    const int m = tx_store_grid_minutes[g];
    if (gr->value < 0) {
        const hsize_t ext[2] = {rows, slots};
        int rc = grid_create(s, g, ext, err);
        if (rc != TX_OK)
            return rc;
    } else if (rows > gr->dims[0] || slots > gr->dims[1]) {
        hsize_t dims[2] = {rows > gr->dims[0] ? rows : gr->dims[0],
                           slots > gr->dims[1] ? slots : gr->dims[1]};
        if (H5Dset_extent(gr->value, dims) < 0 || H5Dset_extent(gr->quality, dims) < 0)
            return tx_h5_fail(err, "%s:/series/%dmin: cannot extend to %llu x %llu", s->path, m,
                              (unsigned long long)dims[0], (unsigned long long)dims[1]);
        if (dims[0] > gr->dims[0])
            gr->dec_dirty = 1;
        gr->dims[0] = dims[0];
        gr->dims[1] = dims[1];
    }
    if (grid_dec_reserve(gr, (size_t)gr->dims[0]) != 0)
        return tx_err_set(err, TX_ENOMEM, "%s:/series/%dmin: out of memory", s->path, m);
    return TX_OK;
}

/* The write itself, through the journal; any failure ends the session's writing. need: the
 * decimals each row's values need (NULL: no more than the row has). */
static int write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                       int64_t slot0, size_t nslots, const double *value,
                       const uint8_t *quality, const uint8_t *need, tx_err *err)
{
    int rc = begin_write(s, err);
    if (rc != TX_OK)
        return rc;
    const int m = interval_minutes, g = tx_store_grid_of(m);
    grid *gr = &s->g[g];
    if ((rc = grid_cover(s, g, row0 + nrows, (hsize_t)slot0 + nslots, err)) != TX_OK)
        return rc;

    /* Rows whose new readings have more decimals than the row: raise the row first. */
    if (need && (rc = rescale_rows(s, g, row0, nrows, need, 0, err)) != TX_OK)
        return rc;

    const size_t crow = tx_store_chunk_rows(m), cslots = tx_store_chunk_slots(m);
    const size_t cr0 = row0 / crow, cr1 = (row0 + nrows - 1) / crow;
    const size_t cs0 = (size_t)slot0 / cslots, cs1 = ((size_t)slot0 + nslots - 1) / cslots;
    const size_t total = (cr1 - cr0 + 1) * (cs1 - cs0 + 1);
    const size_t bound = tx_chunk_bound(CHUNK_CELLS * sizeof(int64_t));
    const size_t qbound = tx_chunk_bound(CHUNK_CELLS);
    const size_t round = total < WRITE_ROUND_CHUNKS ? total : WRITE_ROUND_CHUNKS;
    int nt = omp_get_max_threads();
    if ((size_t)nt > round)
        nt = (int)round;
    wchunk *ch = calloc(round, sizeof *ch);
    unsigned char *out = malloc(round * bound);
    unsigned char *qout = quality ? malloc(round * qbound) : NULL;
    wscratch **ws = wscratch_new(nt);
    bytes old = {0}, qold = {0};
    int ok = ch && out && (qout || !quality) && ws;
    if (!ok)
        rc = tx_err_set(err, TX_ENOMEM, "%s:/series/%dmin: out of memory for a write", s->path,
                        m);
    for (size_t first = 0; rc == TX_OK && first < total; first += round) {
        size_t nc = total - first < round ? total - first : round;
        old.n = qold.n = 0;
        /* Read, in this thread, the stored chunks the block does not cover whole. */
        for (size_t c = 0; c < nc && rc == TX_OK; c++) {
            wchunk *w = &ch[c];
            memset(w, 0, sizeof *w);
            w->cr = cr0 + (first + c) / (cs1 - cs0 + 1);
            w->cs = cs0 + (first + c) % (cs1 - cs0 + 1);
            const hsize_t off[2] = {(hsize_t)(w->cr * crow), (hsize_t)(w->cs * cslots)};
            int whole = off[0] >= row0 && off[0] + crow <= row0 + nrows &&
                        off[1] >= (hsize_t)slot0 && off[1] + cslots <= (hsize_t)slot0 + nslots;
            w->off = old.n;
            w->qoff = qold.n;
            if (whole)
                continue;
            if (chunk_fetch(gr->value, cmap_has(gr, off, crow, cslots, 1), off, &old, &w->len) != 0 ||
                (quality && chunk_fetch(gr->quality, cmap_has(gr, off, crow, cslots, 2), off, &qold, &w->qlen) != 0))
                rc = tx_h5_fail(err, "%s:/series/%dmin: cannot read the chunk at row %llu, "
                                "slot %llu", s->path, m, (unsigned long long)off[0],
                                (unsigned long long)off[1]);
        }
        if (rc != TX_OK)
            break;
        int bad = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(min : bad)
        for (size_t c = 0; c < nc; c++) {
            int e = write_chunk(s, gr, &ch[c], &old, &qold, out + c * bound,
                                qout ? qout + c * qbound : NULL, bound, qbound, crow, cslots,
                                row0, nrows, slot0, nslots, value, quality,
                                ws[omp_get_thread_num()]);
            bad = e < bad ? e : bad;
        }
        if (bad == -2)
            rc = tx_err_set(err, TX_ERANGE, "%s:/series/%dmin: a reading is 2^53 or more at "
                            "its row's resolution", s->path, m);
        else if (bad)
            rc = tx_err_set(err, TX_EHDF5, "%s:/series/%dmin: a stored chunk does not decode "
                            "or a chunk does not encode", s->path, m);
        /* Move the encoded chunks into the file, in this thread. */
        for (size_t c = 0; c < nc && rc == TX_OK; c++) {
            const wchunk *w = &ch[c];
            const hsize_t off[2] = {(hsize_t)(w->cr * crow), (hsize_t)(w->cs * cslots)};
            if (!w->same)
                rc = chunk_put(s, gr, m, 1, off, crow, cslots, out + c * bound, w->nlen, err);
            if (rc == TX_OK && quality && !w->qsame)
                rc = chunk_put(s, gr, m, 2, off, crow, cslots, qout + c * qbound, w->nqlen,
                               err);
        }
    }
    wscratch_free(ws, nt);
    free(ch);
    free(out);
    free(qout);
    free(old.p);
    free(qold.p);
    return rc;
}

/* ---- merging cells (ingest) ------------------------------------------------------------- */

/* A merge works on a value chunk's byte planes as stored (the shuffle filter's: byte j of
 * cell i at j * CHUNK_CELLS + i) and never shuffles: it touches one cell in 28 (a day of a
 * 28-day window), and unshuffling the whole chunk was a third of its decode (measured:
 * docs/ARCHITECTURE.md). */
static inline int64_t plane_get(const unsigned char *pl, size_t at)
{
    uint64_t v = 0;
    for (int j = 7; j >= 0; j--)
        v = v << 8 | pl[(size_t)j * CHUNK_CELLS + at];
    return (int64_t)v;
}

static inline void plane_set(unsigned char *pl, size_t at, int64_t v)
{
    for (int j = 0; j < 8; j++)
        pl[(size_t)j * CHUNK_CELLS + at] = (unsigned char)((uint64_t)v >> (8 * j));
}

/* Cell i of a merge's cells, stride bytes apart. */
static inline const tx_store_cell *cell_at(const void *cells, size_t stride, size_t i)
{
    return (const tx_store_cell *)(const void *)((const char *)cells + i * stride);
}

/* One chunk row of a merge: cells [c0, c1) of the call, all in chunk (cr, cs). */
typedef struct {
    size_t cr, c0, c1;
    size_t len, qlen, off, qoff; /* stored bytes in the round's raw buffers (0: none) */
    size_t nlen, nqlen;          /* encoded, 0: unchanged */
    size_t changed;
    int bad;
} mchunk;

static void merge_chunk(const tx_store *s, const uint8_t *dec, mchunk *mc, const bytes *old,
                        const bytes *qold, const void *cells, size_t stride, double *oldv,
                        uint8_t *oldq, size_t crow, size_t cslots, int64_t C0,
                        unsigned char *out, unsigned char *qout, size_t bound, size_t qbound,
                        wscratch *w)
{
    const size_t R0 = mc->cr * crow;
    unsigned char *pl = (unsigned char *)w->cells;
    /* One-byte elements: the codec neither unshuffles nor shuffles, so pl is the planes. */
    if (mc->len) {
        if (tx_chunk_decode(w->codec, old->p + mc->off, mc->len, 1, pl, sizeof w->cells)) {
            mc->bad = -1;
            return;
        }
    } else {
        for (int j = 0; j < 8; j++)
            memset(pl + (size_t)j * CHUNK_CELLS, (int)(((uint64_t)VALUE_FILL >> (8 * j)) & 0xff),
                   CHUNK_CELLS);
    }
    if (mc->qlen) {
        if (tx_chunk_decode(w->codec, qold->p + mc->qoff, mc->qlen, 1, w->qcells,
                            sizeof w->qcells)) {
            mc->bad = -1;
            return;
        }
    } else {
        memset(w->qcells, 0, sizeof w->qcells);
    }
    int vchanged = 0, qchanged = 0;
    for (size_t i = mc->c0; i < mc->c1; i++) {
        const tx_store_cell *c = cell_at(cells, stride, i);
        const size_t at = (c->row - R0) * cslots + (size_t)(c->slot - C0);
        const int d = dec[c->row];
        const int64_t was = plane_get(pl, at);
        oldv[i] = was == VALUE_FILL ? NAN : (double)was / pow10_tab[d];
        oldq[i] = w->qcells[at];
        int64_t now;
        if (isnan(c->value))
            now = VALUE_FILL;
        else if (to_int(c->value, d, &now) != 0 || (double)now / pow10_tab[d] != c->value) {
            mc->bad = -2; /* not exact at the row's decimals (a caller's decimals wrong) */
            return;
        }
        if (now != was) {
            plane_set(pl, at, now);
            vchanged = 1;
        }
        if (c->quality != oldq[i]) {
            w->qcells[at] = c->quality;
            qchanged = 1;
        }
        mc->changed += now != was || c->quality != oldq[i];
    }
    if (vchanged &&
        !(mc->nlen = tx_chunk_encode(w->codec, pl, sizeof w->cells, 1, s->level, out, bound)))
        mc->bad = -1;
    if (qchanged &&
        !(mc->nqlen = tx_chunk_encode(w->codec, w->qcells, sizeof w->qcells, 1, s->level, qout,
                                      qbound)))
        mc->bad = -1;
}

/* The rounds of a merge: what one round holds (its chunk rows, their stored bytes, their
 * encodings), and the state the I/O thread keeps across rounds. */
typedef struct {
    mchunk *mc;
    size_t nc;
    bytes oldb, qoldb;
    unsigned char *out, *qout;
} merge_round;

typedef struct {
    tx_store *s;
    grid *gr;
    const void *cells;
    size_t stride;
    const size_t *start; /* first cell of each chunk row met, then n */
    size_t nchunks;
    int m;
    size_t crow, cslots;
    int64_t C0;
    size_t bound, qbound, round;
    size_t next;    /* first chunk row not yet in a round */
    size_t changed; /* cells changed, over the written rounds */
    int rc;
    tx_err *err;
} merge_io;

/* Reads, in the calling thread, the stored chunks of the next round's chunk rows. */
static void fetch_round(merge_io *io, merge_round *r)
{
    r->nc = 0;
    r->oldb.n = r->qoldb.n = 0;
    while (r->nc < io->round && io->next < io->nchunks && io->rc == TX_OK) {
        mchunk *c = &r->mc[r->nc++];
        memset(c, 0, sizeof *c);
        c->c0 = io->start[io->next];
        c->c1 = io->start[++io->next];
        c->cr = cell_at(io->cells, io->stride, c->c0)->row / io->crow;
        const hsize_t off[2] = {(hsize_t)(c->cr * io->crow), (hsize_t)io->C0};
        c->off = r->oldb.n;
        c->qoff = r->qoldb.n;
        if (chunk_fetch(io->gr->value, cmap_has(io->gr, off, io->crow, io->cslots, 1), off,
                        &r->oldb, &c->len) != 0 ||
            chunk_fetch(io->gr->quality, cmap_has(io->gr, off, io->crow, io->cslots, 2), off,
                        &r->qoldb, &c->qlen) != 0)
            io->rc = tx_h5_fail(io->err, "%s:/series/%dmin: cannot read the chunk at row %llu, "
                                "slot %lld", io->s->path, io->m, (unsigned long long)off[0],
                                (long long)io->C0);
    }
}

/* Writes, in the calling thread, a merged round's changed chunks; the first change of the
 * session begins the write. */
static void write_round(merge_io *io, const merge_round *r)
{
    tx_store *s = io->s;
    for (size_t c = 0; c < r->nc && io->rc == TX_OK; c++) {
        const mchunk *w = &r->mc[c];
        const hsize_t off[2] = {(hsize_t)(w->cr * io->crow), (hsize_t)io->C0};
        if (!w->bad && (w->nlen || w->nqlen) && !writing(s) &&
            (io->rc = begin_write(s, io->err)) != TX_OK)
            break; /* the first change of the session: through the journal from here on */
        if (w->bad == -2)
            io->rc = tx_err_set(io->err, TX_ERANGE, "%s:/series/%dmin: a reading cannot be "
                                "stored exactly at its row's resolution (2^53 or more units, "
                                "or more decimals than given)", s->path, io->m);
        else if (w->bad)
            io->rc = tx_err_set(io->err, TX_EHDF5, "%s:/series/%dmin: the chunk at row %llu, "
                                "slot %lld does not decode or encode", s->path, io->m,
                                (unsigned long long)off[0], (long long)io->C0);
        if (io->rc == TX_OK && w->nlen)
            io->rc = chunk_put(s, io->gr, io->m, 1, off, io->crow, io->cslots,
                               r->out + c * io->bound, w->nlen, io->err);
        if (io->rc == TX_OK && w->nqlen)
            io->rc = chunk_put(s, io->gr, io->m, 2, off, io->crow, io->cslots,
                               r->qout + c * io->qbound, w->nqlen, io->err);
        io->changed += w->changed;
    }
}

int tx_store_merge(tx_store *s, int interval_minutes, const tx_store_cell *cells,
                   size_t stride, size_t n, double *old, uint8_t *oldq, size_t *changed,
                   tx_err *err)
{
    if (changed)
        *changed = 0;
    if (!s || tx_store_grid_of(interval_minutes) < 0 ||
        (n && (!cells || !old || !oldq || stride < sizeof *cells)))
        return tx_err_set(err, TX_EINVAL, "tx_store_merge: bad arguments");
    if (!s->writable)
        return tx_err_set(err, TX_EINVAL, "%s: store opened read-only: cannot write series",
                          s->path);
    if (n == 0)
        return TX_OK;
    const int m = interval_minutes, g = tx_store_grid_of(m);
    const size_t crow = tx_store_chunk_rows(m), cslots = tx_store_chunk_slots(m);
#define CELL(i) cell_at(cells, stride, (i))
    const int64_t cs = CELL(0)->slot / (int64_t)cslots, C0 = cs * (int64_t)cslots;
    /* Sorted by row: the rows are [first's, last's]. One pass checks the order and the
     * window, takes the decimals each row needs (from the row's own), the last slot and
     * the chunk rows met. */
    grid *gr = &s->g[g];
    const uint32_t rmin = CELL(0)->row, rmax = CELL(n - 1)->row;
    const size_t nr = rmax >= rmin ? (size_t)rmax - rmin + 1 : 1;
    uint8_t *need = calloc(nr, 1);
    size_t *start = malloc((nr / crow + 3) * sizeof *start); /* chunk rows met, at most */
    if (!need || !start) {
        free(need);
        free(start);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", s->path);
    }
    for (size_t r = 0; r < nr; r++)
        need[r] = rmin + r < gr->ndec ? gr->dec[rmin + r] : 0;
    hsize_t maxslot = 0;
    size_t nchunks = 0;
    for (size_t i = 0; i < n; i++) {
        const tx_store_cell *c = CELL(i), *p = i ? CELL(i - 1) : NULL;
        if (c->slot < C0 || c->slot >= C0 + (int64_t)cslots || c->row > rmax ||
            (p && (c->row < p->row || (c->row == p->row && c->slot <= p->slot)))) {
            free(need);
            free(start);
            return tx_err_set(err, TX_EINVAL, "%s:/series/%dmin: merge: cells not sorted, "
                              "repeated or in more than one window (cell %zu)", s->path, m, i);
        }
        maxslot = (hsize_t)c->slot + 1 > maxslot ? (hsize_t)c->slot + 1 : maxslot;
        if (!p || c->row / crow != p->row / crow)
            start[nchunks++] = i;
        if (isnan(c->value))
            continue;
        int d = c->decimals && c->decimals <= TX_STORE_MAX_DECIMALS + 1
                    ? c->decimals - 1
                    : tx_store_decimals_of(c->value);
        if (d < 0) {
            free(need);
            free(start);
            return tx_err_set(err, TX_ERANGE, "%s:/series/%dmin: row %u, slot %lld: %.17g "
                              "cannot be stored exactly", s->path, m, c->row,
                              (long long)c->slot, c->value);
        }
        if (d > need[c->row - rmin])
            need[c->row - rmin] = (uint8_t)d;
    }
    start[nchunks] = n;
    int rc = rescale_rows(s, g, rmin, nr, need, 1, err);
    /* A merge that only meets cells inside the extent at the rows' resolutions may change
     * nothing (the same files ingested again): the working copy is then begun only when a
     * chunk does change. Otherwise it is begun now, to grow the grid or raise rows. */
    int raise = 0;
    for (size_t r = 0; r < nr; r++)
        raise |= need[r] > (rmin + r < gr->ndec ? gr->dec[rmin + r] : 0);
    const int grow = gr->value < 0 || (hsize_t)rmax + 1 > gr->dims[0] || maxslot > gr->dims[1];
    if (rc == TX_OK && (raise || grow))
        rc = begin_write(s, err);
    if (rc == TX_OK && grow)
        rc = grid_cover(s, g, (hsize_t)rmax + 1, maxslot, err);
    if (rc == TX_OK && raise)
        rc = rescale_rows(s, g, rmin, nr, need, 0, err);
    if (rc != TX_OK) {
        free(need);
        free(start);
        return failing(s, rc);
    }
    /* The rows' decimals are now need[] (raised where a cell needed more): the merging
     * tasks read them there, not in the grid, which the first write reopens while they run. */
    const uint8_t *dec = need - rmin;

    /* Chunk rows with cells, in rounds of WRITE_ROUND_CHUNKS. */
    const size_t bound = tx_chunk_bound(CHUNK_CELLS * sizeof(int64_t));
    const size_t qbound = tx_chunk_bound(CHUNK_CELLS);
#undef CELL
    const size_t round = nchunks < WRITE_ROUND_CHUNKS ? nchunks : WRITE_ROUND_CHUNKS;
    int nt = omp_get_max_threads();
    if ((size_t)nt > round)
        nt = (int)round;
    merge_io io = {.s = s, .gr = gr, .cells = cells, .stride = stride, .start = start,
                   .nchunks = nchunks, .m = m, .crow = crow, .cslots = cslots, .C0 = C0,
                   .bound = bound, .qbound = qbound, .round = round, .rc = TX_OK, .err = err};
    merge_round rb[2];
    memset(rb, 0, sizeof rb);
    wscratch **ws = wscratch_new(nt);
    int ok = ws != NULL;
    for (int k = 0; k < 2 && ok; k++) {
        rb[k].mc = calloc(round, sizeof *rb[k].mc);
        rb[k].out = tx_big_malloc(round * bound);
        rb[k].qout = tx_big_malloc(round * qbound);
        ok = rb[k].mc && rb[k].out && rb[k].qout;
    }
    if (!ok)
        io.rc = tx_err_set(err, TX_ENOMEM, "%s:/series/%dmin: out of memory for a merge",
                           s->path, m);
    /* Pipelined: while the threads merge one round, this thread writes the one before
     * and reads the next (libhdf5 takes one caller at a time), and joins the merging when
     * it is done. The first changed chunk begins the write (which reopens the grids), so a
     * merge that changes nothing writes nothing. Measured: docs/ARCHITECTURE.md. */
    if (io.rc == TX_OK && io.next < nchunks) {
        merge_round *merging = &rb[0], *other = &rb[1];
        fetch_round(&io, merging);
        other->nc = 0; /* nothing merged yet to write */
        while (io.rc == TX_OK && merging->nc) {
#pragma omp parallel num_threads(nt)
#pragma omp single
            {
                for (size_t c = 0; c < merging->nc; c++) {
#pragma omp task firstprivate(c)
                    merge_chunk(s, dec, &merging->mc[c], &merging->oldb, &merging->qoldb, cells,
                                stride, old, oldq, crow, cslots, C0, merging->out + c * bound,
                                merging->qout + c * qbound, bound, qbound,
                                ws[omp_get_thread_num()]);
                }
                if (other->nc)
                    write_round(&io, other);
                other->nc = 0;
                if (io.rc == TX_OK && io.next < nchunks)
                    fetch_round(&io, other);
#pragma omp taskwait
            }
            /* merging is merged and waits to be written; other holds the next round. */
            merge_round *t = merging;
            merging = other;
            other = t;
        }
        if (io.rc == TX_OK && other->nc)
            write_round(&io, other);
    }
    free(need);
    free(start);
    wscratch_free(ws, nt);
    for (int k = 0; k < 2; k++) {
        free(rb[k].mc);
        free(rb[k].out);
        free(rb[k].qout);
        free(rb[k].oldb.p);
        free(rb[k].qoldb.p);
    }
    if (changed)
        *changed = io.changed;
    return failing(s, io.rc);
}
