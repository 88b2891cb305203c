/*
 * txgen_csv.c - writes a generated city as the dataset directory of INPUTS.md, plus the
 * truth a test checks the engine against.
 *
 * The readings are written day by day: one cursor per meter and year walks the year once,
 * so memory is O(meters) whatever the city's size. Rows are formatted by hand from integer
 * hundredths (never through a float), into a 1 MiB buffer per file.
 *
 * The files exercise the reader on purpose: enterprises.csv starts with a UTF-8 BOM,
 * meters.csv has CRLF line ends, some day files use CRLF or another column order, and
 * timestamps come in the three forms of INPUTS.md. With faults on they also hold rows an
 * ingest must reject or report (bad catalogue rows, malformed, off-grid, misaligned and
 * conflicting reading rows, late rows in back-fill files); each is recorded with its file
 * and physical line as it is written, and truth/rejects_expected.csv lists them at the end.
 */
#include "txgen_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- buffered output ------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char path[4096];
    char *buf;
    size_t len, cap;
    int crlf;
    int failed;     /* errno of the first failure, 0 if none */
    uint64_t lines; /* line ends written: the next row is on line lines + 1 */
} out_t;

static int out_open(out_t *o, const char *dir, const char *name, int crlf, tx_err *err)
{
    memset(o, 0, sizeof *o);
    if ((size_t)snprintf(o->path, sizeof o->path, "%s/%s", dir, name) >= sizeof o->path)
        return tx_err_set(err, TX_EINVAL, "%s/%s: path too long", dir, name);
    o->cap = (size_t)1 << 20;
    o->buf = malloc(o->cap);
    if (!o->buf)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", o->path);
    o->f = fopen(o->path, "wb");
    if (!o->f) {
        int e = errno;
        free(o->buf);
        o->buf = NULL;
        return tx_err_set(err, TX_EIO, "%s: %s", o->path, strerror(e));
    }
    o->crlf = crlf;
    return TX_OK;
}

static void out_flush(out_t *o)
{
    if (o->len && !o->failed && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->failed = errno ? errno : EIO;
    o->len = 0;
}

/* Room for at least n more bytes. */
static char *out_room(out_t *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
    return o->buf + o->len;
}

static void out_put(out_t *o, const char *s, size_t n)
{
    if (n > o->cap / 2) {
        out_flush(o);
        if (!o->failed && fwrite(s, 1, n, o->f) != n)
            o->failed = errno ? errno : EIO;
        return;
    }
    memcpy(out_room(o, n), s, n);
    o->len += n;
}

static void out_str(out_t *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_eol(out_t *o)
{
    out_put(o, o->crlf ? "\r\n" : "\n", o->crlf ? 2 : 1);
    o->lines++;
}

/* A text field, quoted (RFC 4180) when it holds a comma, quote or line end. */
static void out_field(out_t *o, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        out_str(o, s);
        return;
    }
    out_put(o, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            out_put(o, "\"", 1);
        out_put(o, p, 1);
    }
    out_put(o, "\"", 1);
}

static void out_fmt(out_t *o, const char *fmt, double v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    out_put(o, tmp, (size_t)n);
}

static int out_close(out_t *o, tx_err *err)
{
    int rc = TX_OK;
    if (o->f) {
        out_flush(o);
        if (fclose(o->f) != 0 && !o->failed)
            o->failed = errno ? errno : EIO;
        o->f = NULL;
        if (o->failed)
            rc = tx_err_set(err, TX_EIO, "%s: %s", o->path, strerror(o->failed));
    }
    free(o->buf);
    o->buf = NULL;
    return rc;
}

/* ---- number and time formatting ------------------------------------------------------- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Hundredths as a decimal with exactly two decimals ("-12.05"). */
static char *put_h(char *p, int64_t h)
{
    uint64_t a = h < 0 ? (uint64_t)(-(h + 1)) + 1 : (uint64_t)h;
    if (h < 0)
        *p++ = '-';
    p = put_u64(p, a / 100);
    *p++ = '.';
    *p++ = (char)('0' + a % 100 / 10);
    *p++ = (char)('0' + a % 10);
    return p;
}

static char *put2(char *p, int v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

enum { TS_OFFSET = 0, TS_SPACE = 1, TS_UTC = 2 };

/* "2025-03-01T00:15:00+08:00", "2025-03-01 00:15:00" or "2025-02-28T16:15:00Z". */
static char *put_ts(char *p, int64_t t, int form)
{
    int y, mo, d, h, mi, s;
    tx_unix_to_local(form == TS_UTC ? t - TX_LOCAL_OFFSET_S : t, &y, &mo, &d, &h, &mi, &s);
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, mo);
    *p++ = '-';
    p = put2(p, d);
    *p++ = form == TS_SPACE ? ' ' : 'T';
    p = put2(p, h);
    *p++ = ':';
    p = put2(p, mi);
    *p++ = ':';
    p = put2(p, s);
    if (form == TS_OFFSET) {
        memcpy(p, "+08:00", 6);
        p += 6;
    } else if (form == TS_UTC) {
        *p++ = 'Z';
    }
    return p;
}

static void out_h(out_t *o, int64_t h)
{
    char *p = out_room(o, 32);
    o->len += (size_t)(put_h(p, h) - p);
}

static void out_ts(out_t *o, int64_t t, int form)
{
    char *p = out_room(o, 32);
    o->len += (size_t)(put_ts(p, t, form) - p);
}

/* A double that holds hundredths, printed with two decimals; empty when NaN. */
static void out_money(out_t *o, double v)
{
    if (!isnan(v))
        out_h(o, (int64_t)llround(v * 100.0));
}

/* ---- the rejects an ingest must report ------------------------------------------------ */

typedef struct {
    char file[48];      /* relative to the dataset directory */
    uint64_t line;
    const char *reason; /* TX_REJECT name, "CONFLICT" or "ALIGNED" */
} expect_row;

typedef struct {
    expect_row *row;
    size_t n, cap;
    int nomem;
} expect_list;

static void expect(expect_list *x, const char *file, uint64_t line, const char *reason)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        expect_row *p = realloc(x->row, cap * sizeof *p);
        if (!p) {
            x->nomem = 1;
            return;
        }
        x->row = p;
        x->cap = cap;
    }
    expect_row *r = &x->row[x->n++];
    snprintf(r->file, sizeof r->file, "%s", file);
    r->line = line;
    r->reason = reason;
}

static int cmp_expect(const void *a, const void *b)
{
    const expect_row *x = a, *y = b;
    int d = strcmp(x->file, y->file);
    if (d)
        return d;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static int write_expected_rejects(const char *dir, expect_list *x, tx_err *err)
{
    if (x->nomem)
        return tx_err_set(err, TX_ENOMEM, "%s/truth/rejects_expected.csv: out of memory", dir);
    out_t o;
    int rc = out_open(&o, dir, "truth/rejects_expected.csv", 0, err);
    if (rc)
        return rc;
    if (x->n)
        qsort(x->row, x->n, sizeof *x->row, cmp_expect);
    out_str(&o, "file,line,reason");
    out_eol(&o);
    for (size_t k = 0; k < x->n; k++) {
        out_str(&o, x->row[k].file);
        out_fmt(&o, ",%.0f,", (double)x->row[k].line);
        out_str(&o, x->row[k].reason);
        out_eol(&o);
    }
    return out_close(&o, err);
}

/* A valid USCC of no enterprise of the city, for rows that must find none. */
static void fake_uscc(const txg_city *c, uint64_t k, char out[TX_USCC_LEN + 1])
{
    static const char chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for (uint64_t attempt = 0;; attempt++) {
        uint64_t h = txg_hash(c->p.seed ^ UINT64_C(0xbad), k, attempt);
        memcpy(out, "91330212", 8);
        for (int j = 8; j < 17; j++) {
            out[j] = chars[h % 31];
            h = h / 31 ^ txg_hash(h, (uint64_t)j, attempt);
        }
        out[17] = tx_uscc_check_char(out);
        out[18] = '\0';
        int clash = 0;
        for (size_t i = 0; i < c->nent && !clash; i++)
            clash = strcmp(c->ent[i].id, out) == 0;
        if (!clash)
            return;
    }
}

/* ---- catalogue files ------------------------------------------------------------------- */

/* Enterprise rows an ingest rejects (after the enterprise at index hash % n). */
static void bad_enterprises(const txg_city *c, out_t *o, expect_list *x)
{
    static const struct {
        const char *name, *industry, *district, *reason;
    } bad[] = {
        {"宁波校验码错误有限公司", "3411", "330212", "BAD_USCC"},
        {"宁波无此行业有限公司", "9999", "330212", "BAD_INDUSTRY"},
        {"宁波门类不符有限公司", "C4401", "330212", "BAD_INDUSTRY"},
        {"宁波无此区县有限公司", "C3411", "990101", "BAD_DISTRICT"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char id[TX_USCC_LEN + 1];
        fake_uscc(c, k, id);
        if (k == 0) /* another check character */
            id[17] = id[17] == '0' ? '1' : '0';
        expect(x, "enterprises.csv", o->lines + 1, bad[k].reason);
        out_str(o, id);
        out_put(o, ",", 1);
        out_str(o, bad[k].name);
        out_put(o, ",", 1);
        out_str(o, bad[k].industry);
        out_put(o, ",", 1);
        out_str(o, bad[k].district);
        out_str(o, ",12.50,1,");
        out_eol(o);
    }
}

static int write_enterprises(const txg_city *c, const char *dir, expect_list *x, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "enterprises.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "\xEF\xBB\xBF"); /* Excel-style BOM */
    out_str(&o, "enterprise_id,name,industry_code,district_code,land_area_mu,above_scale,cluster");
    out_eol(&o);
    size_t bad_after = c->p.faults ? (size_t)(txg_hash(c->p.seed, 30, 0) % c->nent) : SIZE_MAX;
    for (size_t i = 0; i < c->nent; i++) {
        const tx_enterprise *e = &c->ent[i];
        out_str(&o, e->id);
        out_put(&o, ",", 1);
        out_field(&o, e->name);
        out_put(&o, ",", 1);
        if (c->industry_prefix[i])
            out_put(&o, "C", 1);
        out_str(&o, e->industry);
        out_put(&o, ",", 1);
        out_str(&o, e->district);
        out_put(&o, ",", 1);
        out_money(&o, e->land_area_mu);
        out_str(&o, e->above_scale ? ",1," : ",0,");
        out_field(&o, e->cluster);
        out_eol(&o);
        if (i == bad_after)
            bad_enterprises(c, &o, x);
    }
    return out_close(&o, err);
}

static int write_meters(const txg_city *c, const char *dir, expect_list *x, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "meters.csv", 1, err);
    if (rc)
        return rc;
    out_str(&o, "meter_id,enterprise_id,carrier,unit,kind,multiplier,register_digits,"
                "interval_minutes,capacity");
    out_eol(&o);
    for (size_t m = 0; m < c->nmet; m++) {
        const tx_meter *mt = &c->met[m];
        out_field(&o, mt->id);
        out_put(&o, ",", 1);
        out_str(&o, mt->enterprise_id);
        out_put(&o, ",", 1);
        out_str(&o, tx_carrier_name(mt->carrier));
        out_put(&o, ",", 1);
        out_str(&o, tx_unit_name(mt->unit));
        out_str(&o, mt->kind == TX_KIND_CUMULATIVE ? ",cumulative," : ",interval,");
        out_fmt(&o, "%.17g", mt->multiplier);
        out_put(&o, ",", 1);
        if (mt->register_digits)
            out_fmt(&o, "%.0f", mt->register_digits);
        out_put(&o, ",", 1);
        out_fmt(&o, "%.0f", mt->interval_minutes);
        out_put(&o, ",", 1);
        if (!isnan(mt->capacity))
            out_fmt(&o, "%.17g", mt->capacity);
        out_eol(&o);
    }
    if (c->p.faults) { /* a gas meter in kWh; a meter of an enterprise nobody knows */
        char id[TX_USCC_LEN + 1];
        fake_uscc(c, 100, id);
        expect(x, "meters.csv", o.lines + 1, "BAD_UNIT");
        out_str(&o, "X-BADUNIT-1,");
        out_str(&o, c->ent[0].id);
        out_str(&o, ",natural_gas,kWh,cumulative,1,6,60,");
        out_eol(&o);
        expect(x, "meters.csv", o.lines + 1, "UNKNOWN_ENTERPRISE");
        out_str(&o, "X-NOENT-1,");
        out_str(&o, id);
        out_str(&o, ",electricity,kWh,cumulative,1,6,15,");
        out_eol(&o);
    }
    return out_close(&o, err);
}

static int write_financials(const txg_city *c, const char *dir, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "financials.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "enterprise_id,period,value_added,revenue,tax,rd_expense,employees,pollutant_t");
    out_eol(&o);
    for (size_t k = 0; k < c->nfin; k++) {
        const txg_financial *f = &c->fin[k];
        char period[16];
        if (f->month)
            snprintf(period, sizeof period, "%04d-%02d", f->year, f->month);
        else
            snprintf(period, sizeof period, "%04d", f->year);
        out_str(&o, c->ent[f->enterprise].id);
        out_put(&o, ",", 1);
        out_str(&o, period);
        out_put(&o, ",", 1);
        out_money(&o, f->value_added);
        out_put(&o, ",", 1);
        out_money(&o, f->revenue);
        out_put(&o, ",", 1);
        out_money(&o, f->tax);
        out_put(&o, ",", 1);
        out_money(&o, f->rd_expense);
        out_put(&o, ",", 1);
        out_fmt(&o, "%.0f", f->employees);
        out_put(&o, ",", 1);
        out_money(&o, f->pollutant_t);
        out_eol(&o);
    }
    return out_close(&o, err);
}

static int write_events(const txg_city *c, const char *dir, expect_list *x, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "meter_events.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "meter_id,timestamp,event,old_reading,new_reading,new_multiplier");
    out_eol(&o);
    for (size_t k = 0; k < c->nev; k++) {
        const tx_event *e = &c->ev[k];
        out_field(&o, e->meter_id);
        out_put(&o, ",", 1);
        out_ts(&o, e->t, TS_OFFSET);
        out_str(&o, e->type == TX_EVENT_REPLACE ? ",replace," : ",multiplier,");
        out_money(&o, e->old_reading);
        out_put(&o, ",", 1);
        out_money(&o, e->new_reading);
        out_put(&o, ",", 1);
        if (!isnan(e->new_multiplier))
            out_fmt(&o, "%.17g", e->new_multiplier);
        out_eol(&o);
    }
    if (c->p.faults) { /* an event of an unknown meter; an event of no known kind */
        int64_t t = tx_local_to_unix(c->p.report_year, 6, 1, 10, 0, 0);
        expect(x, "meter_events.csv", o.lines + 1, "UNKNOWN_METER");
        out_str(&o, "X-NOMETER-1,");
        out_ts(&o, t, TS_OFFSET);
        out_str(&o, ",replace,1.00,0.00,");
        out_eol(&o);
        expect(x, "meter_events.csv", o.lines + 1, "BAD_EVENT");
        out_field(&o, c->met[0].id);
        out_put(&o, ",", 1);
        out_ts(&o, t, TS_OFFSET);
        out_str(&o, ",explode,,,");
        out_eol(&o);
    }
    return out_close(&o, err);
}

static int write_deflators(const txg_city *c, const char *dir, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "deflators.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "industry_division,year,price_index");
    out_eol(&o);
    for (size_t k = 0; k < c->ndefl; k++) {
        const txg_deflator *d = &c->defl[k];
        out_str(&o, d->division);
        out_fmt(&o, ",%.0f,", d->year);
        out_money(&o, d->price_index);
        out_eol(&o);
    }
    return out_close(&o, err);
}

static int write_truth(const txg_city *c, const char *dir, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "truth/meter_totals.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "meter_id,year,total,coverage,unit,rollovers,gaps,replacements,spikes,"
                "implausible,stuck_intervals,negatives,multiplier_changes");
    out_eol(&o);
    for (size_t m = 0; m < c->nmet && !rc; m++)
        for (int yi = 0; yi < c->ny; yi++) {
            txg_truth t;
            if ((rc = txg_meter_truth(c, m, c->year[yi], &t))) {
                rc = tx_err_set(err, rc, "truth of %s: %s", c->met[m].id, tx_strerror(rc));
                break;
            }
            out_field(&o, c->met[m].id);
            out_fmt(&o, ",%.0f,", c->year[yi]);
            out_fmt(&o, "%.17g,", t.total);
            out_fmt(&o, "%.17g,", t.coverage);
            out_str(&o, tx_unit_name(tx_carrier_canonical_unit(c->met[m].carrier)));
            out_fmt(&o, ",%.0f", t.rollovers);
            out_fmt(&o, ",%.0f", t.gaps);
            out_fmt(&o, ",%.0f", t.replacements);
            out_fmt(&o, ",%.0f", t.spikes);
            out_fmt(&o, ",%.0f", t.implausible);
            out_fmt(&o, ",%.0f", t.stuck_intervals);
            out_fmt(&o, ",%.0f", t.negatives);
            out_fmt(&o, ",%.0f", t.multiplier_changes);
            out_eol(&o);
        }
    int crc = out_close(&o, rc ? NULL : err);
    return rc ? rc : crc;
}

static int write_faults(const txg_city *c, const char *dir, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "truth/faults.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "kind,meter_id,enterprise_id,year,first_timestamp,count");
    out_eol(&o);
    for (size_t k = 0; k < c->nfaults; k++) {
        const txg_fault *f = &c->faults[k];
        const tx_meter *mt = &c->met[f->meter];
        out_str(&o, txg_fault_name(f->kind));
        out_put(&o, ",", 1);
        out_field(&o, mt->id);
        out_put(&o, ",", 1);
        out_str(&o, mt->enterprise_id);
        out_fmt(&o, ",%.0f,", f->year);
        out_ts(&o, TX_EPOCH_UNIX + f->slot * mt->interval_minutes * INT64_C(60), TS_OFFSET);
        out_fmt(&o, ",%.0f", f->count);
        out_eol(&o);
    }
    return out_close(&o, err);
}

/* ---- readings ------------------------------------------------------------------------- */

/* One duplicated reading, captured when its original row is written. */
typedef struct {
    int64_t t, value;
    uint8_t quality, form;
} dup_row;

/* A file of readings being written, with its name relative to the dataset directory. */
typedef struct {
    out_t o;
    int open;
    int order;
    char name[48];
} rfile;

typedef struct {
    const txg_city *c;
    const char *dir;
    txg_cursor *cur;  /* nmet * ny */
    uint8_t *started; /* per year */
    dup_row *dup_rows;
    size_t *dup_at;   /* first row of each duplicate in dup_rows */
    size_t *dup_have; /* rows captured so far */
    uint8_t *has_x;   /* per meter: 1 when some CSV fault names it */
    expect_list *x;
    rfile back;       /* the day's back-fill file, opened on demand */
    int64_t back_day;
    int yi_back;
    int failed;       /* a back-fill file could not be opened: rc in back_rc */
    tx_err back_err;
} reading_state;

static int ts_form(const txg_city *c, size_t m, int64_t t)
{
    uint64_t h = txg_hash(c->p.seed ^ UINT64_C(0x7157), m, (uint64_t)t) % 100;
    return h < 80 ? TS_OFFSET : h < 95 ? TS_SPACE : TS_UTC;
}

static void out_reading(out_t *o, int order, const char *id, size_t idlen, int64_t t, int form,
                        int64_t value, int quality)
{
    char *p = out_room(o, idlen + 64);
    char *q = p;
    if (order == 0) { /* meter_id,timestamp,value,quality */
        memcpy(q, id, idlen);
        q += idlen;
        *q++ = ',';
        q = put_ts(q, t, form);
        *q++ = ',';
        q = put_h(q, value);
        *q++ = ',';
        *q++ = (char)('0' + quality);
    } else { /* timestamp,meter_id,quality,value */
        q = put_ts(q, t, form);
        *q++ = ',';
        memcpy(q, id, idlen);
        q += idlen;
        *q++ = ',';
        *q++ = (char)('0' + quality);
        *q++ = ',';
        q = put_h(q, value);
    }
    if (o->crlf)
        *q++ = '\r';
    *q++ = '\n';
    o->len += (size_t)(q - p);
    o->lines++;
}

/* A row from text fields (any may be NULL: the row ends before it). */
static void out_text_row(out_t *o, int order, const char *id, const char *ts, const char *value,
                         const char *quality)
{
    const char *f[4] = {id, ts, value, quality};
    if (order) {
        f[0] = ts;
        f[1] = id;
        f[2] = quality;
        f[3] = value;
    }
    for (int k = 0; k < 4 && f[k]; k++) {
        if (k)
            out_put(o, ",", 1);
        out_str(o, f[k]);
    }
    out_eol(o);
}

/* The malformed row of a TXG_CSV_BAD fault, and its line in the report. */
static void bad_row(reading_state *st, rfile *rf, const txg_csvx *x)
{
    const txg_city *c = st->c;
    const tx_meter *mt = &c->met[x->meter];
    char ts[40], *e = put_ts(ts, c->t0[x->yi] + x->i * mt->interval_minutes * INT64_C(60),
                             TS_OFFSET);
    *e = '\0';
    const char *id = mt->id, *value = "1.00", *quality = "0";
    char bad_ts[40];
    int short_row = 0;
    switch (x->reason) {
    case TX_REJECT_UNKNOWN_METER:
        id = "X-UNKNOWN-METER";
        break;
    case TX_REJECT_BAD_TIMESTAMP: /* February 30th */
        snprintf(bad_ts, sizeof bad_ts, "%04d-02-30T00:15:00+08:00", c->year[x->yi]);
        memcpy(ts, bad_ts, sizeof ts);
        break;
    case TX_REJECT_BAD_NUMBER:
        value = x->variant ? "1.2.3" : "\"12,5\"";
        break;
    case TX_REJECT_NOT_FINITE: /* parses, but overflows to infinity */
        value = "1e999";
        break;
    case TX_REJECT_NEGATIVE_INTERVAL:
        value = "-3.00";
        break;
    case TX_REJECT_BAD_VALUE: /* a negative register reading */
        value = "-5.00";
        break;
    case TX_REJECT_BAD_QUALITY:
        quality = "7";
        break;
    case TX_REJECT_MISSING_FIELD:
        value = "";
        break;
    case TX_REJECT_TOO_FEW_FIELDS:
        short_row = 1;
        break;
    case TX_REJECT_BEFORE_EPOCH:
        memcpy(ts, "1999-12-31T23:45:00+08:00", 26);
        break;
    default:
        break;
    }
    expect(st->x, rf->name, rf->o.lines + 1, tx_reject_name(x->reason));
    if (short_row)
        out_text_row(&rf->o, rf->order, rf->order ? NULL : id, rf->order ? ts : NULL, NULL,
                     NULL);
    else
        out_text_row(&rf->o, rf->order, id, ts, value, quality);
}

static void start_year(reading_state *st, int yi)
{
    const txg_city *c = st->c;
    if (st->started[yi])
        return;
    for (size_t m = 0; m < c->nmet; m++)
        txg_cursor_init(&st->cur[(size_t)yi * c->nmet + m], c, m, yi);
    st->started[yi] = 1;
}

/* The back-fill file of day d of year yi, opened on first use. */
static rfile *backfill_file(reading_state *st, int yi, int64_t d)
{
    if (st->back.open)
        return &st->back;
    int y, mo, dd, h, mi, s;
    tx_unix_to_local(st->c->t0[yi] + d * 86400, &y, &mo, &dd, &h, &mi, &s);
    snprintf(st->back.name, sizeof st->back.name, "readings/zz-backfill-%04d-%02d-%02d.csv", y,
             mo, dd);
    if (out_open(&st->back.o, st->dir, st->back.name, 0, &st->back_err)) {
        st->failed = 1;
        return NULL;
    }
    st->back.open = 1;
    st->back.order = 0;
    out_str(&st->back.o, "meter_id,timestamp,value,quality");
    out_eol(&st->back.o);
    return &st->back;
}

/* Rows of day d of year yi for every meter; skip_first drops i = 0 (the reading that the
 * previous, adjacent year has already written). The CSV faults of the day go with their
 * meter's rows. */
static void day_rows(reading_state *st, rfile *rf, int yi, int64_t d, int skip_first)
{
    const txg_city *c = st->c;
    out_t *o = &rf->o;
    const txg_csvx *xs[16]; /* a meter has at most one CSV fault and the 11 bad rows */
    for (size_t m = 0; m < c->nmet; m++) {
        txg_cursor *cu = &st->cur[(size_t)yi * c->nmet + m];
        const tx_meter *mt = &c->met[m];
        const txg_meter_gen *g = &c->gen[m];
        size_t idlen = strlen(mt->id);
        int64_t step_s = (int64_t)mt->interval_minutes * 60;
        int64_t i0 = d * cu->spd, i1 = i0 + cu->spd - 1;
        if (i1 > cu->n)
            i1 = cu->n;
        /* this meter's CSV faults that touch the file or its rows */
        size_t nx = 0;
        for (size_t k = 0; st->has_x[m] && k < c->ncsvx && nx < 16; k++) {
            const txg_csvx *x = &c->csvx[k];
            if (x->meter == m && x->yi == yi &&
                (x->day == d || (x->kind == TXG_CSV_CONFLICT && x->day + 1 == d)))
                xs[nx++] = x;
        }
        for (int64_t i = i0; i <= i1; i++) {
            while (cu->i < i)
                txg_cursor_next(cu);
            if (!cu->present || (i == 0 && skip_first))
                continue;
            int64_t t = c->t0[yi] + i * step_s;
            int form = ts_form(c, m, t);
            rfile *dst = rf;
            int64_t shift = 0;
            for (size_t k = 0; k < nx; k++) {
                const txg_csvx *x = xs[k];
                if (x->kind == TXG_CSV_BACKFILL && i >= x->i) {
                    rfile *bf = backfill_file(st, yi, d);
                    if (bf)
                        dst = bf;
                }
                if (x->kind == TXG_CSV_ALIGNED && x->i == i) {
                    shift = x->shift_s;
                    expect(st->x, dst->name, dst->o.lines + 1, "ALIGNED");
                }
                if (x->kind == TXG_CSV_CONFLICT && x->i == i)
                    expect(st->x, dst->name, dst->o.lines + 1, "CONFLICT");
            }
            out_reading(&dst->o, dst->order, mt->id, idlen, t + shift, form, cu->value,
                        cu->quality);
            for (uint32_t k = g->dup0; k < g->dup0 + g->ndup; k++) {
                const txg_dup *dp = &c->dups[k];
                if (dp->yi != yi || i < dp->i0 || i >= dp->i0 + dp->len)
                    continue;
                dup_row *r = &st->dup_rows[st->dup_at[k] + st->dup_have[k]++];
                r->t = t;
                r->value = cu->value;
                r->quality = cu->quality;
                r->form = (uint8_t)(dp->zform ? TS_UTC : form);
            }
        }
        /* extra rows that sit with this meter's rows in this file */
        for (size_t k = 0; k < nx; k++) {
            const txg_csvx *x = xs[k];
            if (x->day != d)
                continue;
            int64_t t = c->t0[yi] + x->i * step_s;
            if (x->kind == TXG_CSV_CONFLICT) { /* the real row follows in tomorrow's file */
                out_reading(o, rf->order, mt->id, idlen, t, TS_OFFSET, x->wrong, 0);
            } else if (x->kind == TXG_CSV_OFFGRID) {
                expect(st->x, rf->name, o->lines + 1, "OFF_GRID");
                out_reading(o, rf->order, mt->id, idlen, t + 450, TS_OFFSET, 12345, 0);
            } else if (x->kind == TXG_CSV_BAD) {
                bad_row(st, rf, x);
            }
        }
    }
}

static int close_backfill(reading_state *st, tx_err *err)
{
    if (st->failed)
        return tx_err_set(err, st->back_err.code, "%s", st->back_err.msg);
    if (!st->back.open)
        return TX_OK;
    st->back.open = 0;
    return out_close(&st->back.o, err);
}

static int write_readings(const txg_city *c, const char *dir, expect_list *x,
                          void (*progress)(size_t, size_t, void *), void *arg, tx_err *err)
{
    int rc = TX_OK;
    reading_state st;
    memset(&st, 0, sizeof st);
    st.c = c;
    st.dir = dir;
    st.x = x;
    st.cur = malloc((c->nmet ? c->nmet : 1) * (size_t)c->ny * sizeof *st.cur);
    st.started = calloc((size_t)c->ny, 1);
    st.dup_at = calloc(c->ndups + 1, sizeof *st.dup_at);
    st.dup_have = calloc(c->ndups + 1, sizeof *st.dup_have);
    st.has_x = calloc(c->nmet + 1, 1);
    size_t ndrows = 0;
    for (size_t k = 0; k < c->ndups; k++)
        ndrows += (size_t)c->dups[k].len;
    st.dup_rows = calloc(ndrows + 1, sizeof *st.dup_rows);
    if (!st.cur || !st.started || !st.dup_at || !st.dup_have || !st.dup_rows || !st.has_x) {
        rc = tx_err_set(err, TX_ENOMEM, "%s/readings: out of memory", dir);
        goto done;
    }
    for (size_t k = 0, at = 0; k < c->ndups; k++) {
        st.dup_at[k] = at;
        at += (size_t)c->dups[k].len;
    }
    for (size_t k = 0; k < c->ncsvx; k++)
        st.has_x[c->csvx[k].meter] = 1;
    size_t total = 0, done_files = 0;
    for (int yi = 0; yi < c->ny; yi++)
        total += c->p.csv_days ? (size_t)c->p.csv_days
                               : (size_t)c->ndays[yi] + 1 - (yi > 0 && c->adjacent);

    for (int yi = 0; yi < c->ny && !rc; yi++) {
        start_year(&st, yi);
        for (int64_t d = 0; d <= c->ndays[yi] && !rc; d++) {
            if (yi > 0 && c->adjacent && d == 0 && !c->p.csv_days)
                continue; /* written as the last day of the previous year */
            if (c->p.csv_days && d >= c->p.csv_days)
                break;
            int64_t tday = c->t0[yi] + d * 86400;
            int y, mo, dd, h, mi, s;
            tx_unix_to_local(tday, &y, &mo, &dd, &h, &mi, &s);
            rfile rf;
            memset(&rf, 0, sizeof rf);
            snprintf(rf.name, sizeof rf.name, "readings/%04d-%02d-%02d.csv", y, mo, dd);
            uint64_t fh = txg_hash(c->p.seed, 20, (uint64_t)tday);
            int crlf = fh % 10 == 7;
            rf.order = fh % 8 == 3;
            if ((rc = out_open(&rf.o, dir, rf.name, crlf, err)))
                break;
            out_str(&rf.o, rf.order ? "timestamp,meter_id,quality,value"
                                    : "meter_id,timestamp,value,quality");
            out_eol(&rf.o);
            day_rows(&st, &rf, yi, d, 0);
            if (d == c->ndays[yi] && c->adjacent && yi + 1 < c->ny && !c->p.csv_days) {
                start_year(&st, yi + 1);
                day_rows(&st, &rf, yi + 1, 0, 1);
            }
            for (size_t k = 0; k < c->ndups; k++) { /* rows repeated from an earlier file */
                const txg_dup *dp = &c->dups[k];
                if (dp->yi != yi || dp->to_day != d)
                    continue;
                const tx_meter *mt = &c->met[dp->meter];
                for (size_t r = 0; r < st.dup_have[k]; r++) {
                    const dup_row *dr = &st.dup_rows[st.dup_at[k] + r];
                    out_reading(&rf.o, rf.order, mt->id, strlen(mt->id), dr->t, dr->form,
                                dr->value, dr->quality);
                }
            }
            rc = out_close(&rf.o, err);
            int brc = close_backfill(&st, rc ? NULL : err);
            rc = rc ? rc : brc;
            if (progress)
                progress(++done_files, total, arg);
        }
    }
done:
    if (st.back.open) {
        out_close(&st.back.o, NULL);
        st.back.open = 0;
    }
    free(st.cur);
    free(st.started);
    free(st.dup_at);
    free(st.dup_have);
    free(st.dup_rows);
    free(st.has_x);
    return rc;
}

static int make_dir(const char *path, tx_err *err)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return TX_OK;
    return tx_err_set(err, TX_EIO, "%s: %s", path, strerror(errno));
}

int txg_write_csv(const txg_city *c, const char *dir, int with_readings,
                  void (*progress)(size_t done, size_t total, void *arg), void *arg,
                  tx_err *err)
{
    if (!c || !dir)
        return tx_err_set(err, TX_EINVAL, "txg_write_csv: NULL argument");
    char sub[4096];
    int rc = make_dir(dir, err);
    if (!rc) {
        snprintf(sub, sizeof sub, "%s/truth", dir);
        rc = make_dir(sub, err);
    }
    if (!rc && with_readings) {
        snprintf(sub, sizeof sub, "%s/readings", dir);
        rc = make_dir(sub, err);
    }
    expect_list x = {0};
    if (rc || (rc = write_enterprises(c, dir, &x, err)) || (rc = write_meters(c, dir, &x, err)) ||
        (rc = write_financials(c, dir, err)) || (rc = write_events(c, dir, &x, err)) ||
        (rc = write_deflators(c, dir, err)) || (rc = write_faults(c, dir, err)) ||
        (rc = write_truth(c, dir, err)) ||
        (with_readings && (rc = write_readings(c, dir, &x, progress, arg, err))))
        goto done;
    rc = write_expected_rejects(dir, &x, err);
done:
    free(x.row);
    return rc;
}
