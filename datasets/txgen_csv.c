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
 * timestamps come in the three forms of INPUTS.md.
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
    int failed; /* errno of the first failure, 0 if none */
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

/* ---- catalogue files ------------------------------------------------------------------- */

static int write_enterprises(const txg_city *c, const char *dir, tx_err *err)
{
    out_t o;
    int rc = out_open(&o, dir, "enterprises.csv", 0, err);
    if (rc)
        return rc;
    out_str(&o, "\xEF\xBB\xBF"); /* Excel-style BOM */
    out_str(&o, "enterprise_id,name,industry_code,district_code,land_area_mu,above_scale,cluster");
    out_eol(&o);
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
    }
    return out_close(&o, err);
}

static int write_meters(const txg_city *c, const char *dir, tx_err *err)
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

static int write_events(const txg_city *c, const char *dir, tx_err *err)
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
    out_str(&o, "meter_id,year,total,coverage,unit,rollovers,gaps,replacements");
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

typedef struct {
    const txg_city *c;
    txg_cursor *cur;  /* nmet * ny */
    uint8_t *started; /* per year */
    dup_row *dup_rows;
    size_t *dup_at;   /* first row of each duplicate in dup_rows */
    size_t *dup_have; /* rows captured so far */
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

/* Rows of day d of year yi for every meter; skip_first drops i = 0 (the reading that the
 * previous, adjacent year has already written). */
static void day_rows(reading_state *st, out_t *o, int order, int yi, int64_t d, int skip_first)
{
    const txg_city *c = st->c;
    for (size_t m = 0; m < c->nmet; m++) {
        txg_cursor *cu = &st->cur[(size_t)yi * c->nmet + m];
        const tx_meter *mt = &c->met[m];
        const txg_meter_gen *g = &c->gen[m];
        size_t idlen = strlen(mt->id);
        int64_t step_s = (int64_t)mt->interval_minutes * 60;
        int64_t i0 = d * cu->spd, i1 = i0 + cu->spd - 1;
        if (i1 > cu->n)
            i1 = cu->n;
        for (int64_t i = i0; i <= i1; i++) {
            while (cu->i < i)
                txg_cursor_next(cu);
            if (!cu->present || (i == 0 && skip_first))
                continue;
            int64_t t = c->t0[yi] + i * step_s;
            int form = ts_form(c, m, t);
            out_reading(o, order, mt->id, idlen, t, form, cu->value, cu->quality);
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
    }
}

static int write_readings(const txg_city *c, const char *dir,
                          void (*progress)(size_t, size_t, void *), void *arg, tx_err *err)
{
    int rc = TX_OK;
    reading_state st = {.c = c};
    st.cur = malloc((c->nmet ? c->nmet : 1) * (size_t)c->ny * sizeof *st.cur);
    st.started = calloc((size_t)c->ny, 1);
    st.dup_at = calloc(c->ndups + 1, sizeof *st.dup_at);
    st.dup_have = calloc(c->ndups + 1, sizeof *st.dup_have);
    size_t ndrows = 0;
    for (size_t k = 0; k < c->ndups; k++)
        ndrows += (size_t)c->dups[k].len;
    st.dup_rows = calloc(ndrows + 1, sizeof *st.dup_rows);
    if (!st.cur || !st.started || !st.dup_at || !st.dup_have || !st.dup_rows) {
        rc = tx_err_set(err, TX_ENOMEM, "%s/readings: out of memory", dir);
        goto done;
    }
    for (size_t k = 0, at = 0; k < c->ndups; k++) {
        st.dup_at[k] = at;
        at += (size_t)c->dups[k].len;
    }
    size_t total = 0, done_files = 0;
    for (int yi = 0; yi < c->ny; yi++)
        total += (size_t)c->ndays[yi] + 1 - (yi > 0 && c->adjacent);

    for (int yi = 0; yi < c->ny && !rc; yi++) {
        start_year(&st, yi);
        for (int64_t d = 0; d <= c->ndays[yi] && !rc; d++) {
            if (yi > 0 && c->adjacent && d == 0)
                continue; /* written as the last day of the previous year */
            int64_t tday = c->t0[yi] + d * 86400;
            int y, mo, dd, h, mi, s;
            tx_unix_to_local(tday, &y, &mo, &dd, &h, &mi, &s);
            char name[64];
            snprintf(name, sizeof name, "readings/%04d-%02d-%02d.csv", y, mo, dd);
            uint64_t fh = txg_hash(c->p.seed, 20, (uint64_t)tday);
            int order = fh % 8 == 3, crlf = fh % 10 == 7;
            out_t o;
            if ((rc = out_open(&o, dir, name, crlf, err)))
                break;
            out_str(&o, order ? "timestamp,meter_id,quality,value" : "meter_id,timestamp,value,quality");
            out_eol(&o);
            day_rows(&st, &o, order, yi, d, 0);
            if (d == c->ndays[yi] && c->adjacent && yi + 1 < c->ny) {
                start_year(&st, yi + 1);
                day_rows(&st, &o, order, yi + 1, 0, 1);
            }
            for (size_t k = 0; k < c->ndups; k++) { /* rows repeated from an earlier file */
                const txg_dup *dp = &c->dups[k];
                if (dp->yi != yi || dp->to_day != d)
                    continue;
                const tx_meter *mt = &c->met[dp->meter];
                for (size_t r = 0; r < st.dup_have[k]; r++) {
                    const dup_row *dr = &st.dup_rows[st.dup_at[k] + r];
                    out_reading(&o, order, mt->id, strlen(mt->id), dr->t, dr->form, dr->value,
                                dr->quality);
                }
            }
            rc = out_close(&o, err);
            if (progress)
                progress(++done_files, total, arg);
        }
    }
done:
    free(st.cur);
    free(st.started);
    free(st.dup_at);
    free(st.dup_have);
    free(st.dup_rows);
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
    if (rc || (rc = write_enterprises(c, dir, err)) || (rc = write_meters(c, dir, err)) ||
        (rc = write_financials(c, dir, err)) || (rc = write_events(c, dir, err)) ||
        (rc = write_deflators(c, dir, err)) || (rc = write_faults(c, dir, err)) ||
        (rc = write_truth(c, dir, err)))
        return rc;
    if (with_readings)
        rc = write_readings(c, dir, progress, arg, err);
    return rc;
}
