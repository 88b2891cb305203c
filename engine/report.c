/*
 * report.c - `tanxiao report RESULTS.h5 -o report.html`: one self-contained HTML page with
 * the run's provenance, the city summary and ECharts charts (report.h).
 *
 * The page is built in memory and written once. Tables and the summary are static HTML, so
 * the numbers read without JavaScript; the charts' data travels as one JSON document in a
 * <script type="application/json"> element that the page's own script hands to ECharts.
 * Every string from the results or the tables is escaped for its context: HTML text and
 * attributes (& < > " '), JSON (with < > & and U+2028/9 as \u escapes, so the document can
 * never close its script element), and invalid UTF-8 becomes U+FFFD in both.
 */
#include "report.h"

#include "csv.h"
#include "h5io.h"
#include "tanxiao.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TANXIAO_ECHARTS_JS
#define TANXIAO_ECHARTS_JS ""
#endif
#ifndef TANXIAO_TABLES_DIR
#define TANXIAO_TABLES_DIR ""
#endif

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Record widths for the fixed-length string columns (wider than stored is fine: HDF5
 * pads; each record is read with strnlen, so a full-width record needs no NUL). */
enum { W_ID = 32, W_NAME = 256, W_CODE = 16, W_TARGET = 64, W_WORD = 16 };

/* ---- a growing output buffer; an allocation failure is remembered and checked once ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_put(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sb_putn(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

/* Next code point of s[0..n) (n >= 1) per RFC 3629, or -1 for an invalid byte (overlong
 * forms, surrogates, beyond U+10FFFF, a sequence cut short); *adv gets the bytes used. */
static long utf8_next(const unsigned char *s, size_t n, size_t *adv)
{
    unsigned c = s[0];
    *adv = 1;
    if (c < 0x80)
        return (long)c;
    size_t k;
    unsigned long cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        k = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 3, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    if (n < k + 1)
        return -1;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *adv = k + 1;
    return (long)cp;
}

/* HTML text or attribute value. Control characters other than tab and newline are
 * dropped. */
static void sb_html(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, adv;
    while (i < n && u[i]) {
        long cp = utf8_next(u + i, n - i, &adv);
        const char *rep = NULL;
        switch (cp) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case -1: rep = "\xEF\xBF\xBD"; break;
        default:
            if (cp < 0x20 && cp != '\t' && cp != '\n')
                rep = "";
        }
        if (rep)
            sb_put(b, rep);
        else
            sb_putn(b, s + i, adv);
        i += adv;
    }
}

static void sb_htmlz(sbuf *b, const char *s) { sb_html(b, s, strlen(s)); }

/* A JSON string literal that is also safe inside a <script> element. */
static void sb_json_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, adv;
    sb_putn(b, "\"", 1);
    while (i < n && u[i]) {
        long cp = utf8_next(u + i, n - i, &adv);
        if (cp == '"')
            sb_put(b, "\\\"");
        else if (cp == '\\')
            sb_put(b, "\\\\");
        else if (cp == -1)
            sb_put(b, "\\ufffd");
        else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 ||
                 cp == 0x2029)
            sb_printf(b, "\\u%04lx", (unsigned long)cp);
        else
            sb_putn(b, s + i, adv);
        i += adv;
    }
    sb_putn(b, "\"", 1);
}

static void sb_json_strz(sbuf *b, const char *s) { sb_json_str(b, s, strlen(s)); }

/* JSON number with 10 significant digits (plenty for a chart); NaN and infinities are
 * null. */
static void sb_json_num(sbuf *b, double v)
{
    if (isfinite(v))
        sb_printf(b, "%.10g", v);
    else
        sb_put(b, "null");
}

/* A number for people: fixed decimals, thousands separators, an em dash when missing. */
static void sb_num(sbuf *b, double v, int decimals)
{
    if (!isfinite(v)) {
        sb_put(b, "\xE2\x80\x94");
        return;
    }
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, v);
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    size_t nint = strcspn(digits, ".");
    if (digits != raw)
        sb_putn(b, "-", 1);
    for (size_t i = 0; i < nint; i++) {
        if (i > 0 && (nint - i) % 3 == 0)
            sb_putn(b, ",", 1);
        sb_putn(b, digits + i, 1);
    }
    sb_put(b, digits + nint);
}

static void sb_year(sbuf *b, double y)
{
    if (isfinite(y))
        sb_printf(b, "%.0f", y);
    else
        sb_put(b, "\xE2\x80\x94");
}

/* ---- the results ---------------------------------------------------------------------- */

typedef struct {
    size_t n;
    char *id, *name, *ind, *dist; /* W_ID, W_NAME, W_CODE, W_CODE bytes a record */
    double *co2, *tce, *L, *K, *cov, *grade, *status;
} enterprises;

typedef struct {
    size_t n;
    char *code;                 /* W_CODE */
    double *nent, *ngrade[5];   /* industry */
    double *change[3];          /* district: energy, co2, water intensity change % */
} aggregate;

typedef struct {
    size_t n;
    char *id, *indicator, *scope, *scope_code; /* W_TARGET, W_WORD, W_WORD, W_CODE */
    double *target_pct, *got_pct, *rate_pct, *status, *base_year, *target_year;
} targets;

/* The /city columns shown in the summary, in order (the key is the dataset name). */
typedef struct {
    const char *key, *label, *unit;
    int decimals;
} city_field;

static const city_field city_fields[] = {
    {"n_enterprises", "Enterprises", "", 0},
    {"energy_tce", "Energy", "tce", 0},
    {"co2_t", "CO\xE2\x82\x82", "t", 0},
    {"water_m3", "Water", "m\xC2\xB3", 0},
    {"value_added", "Value added", "10\xE2\x81\xB4 CNY", 0},
    {"energy_intensity", "Energy intensity", "tce / 10\xE2\x81\xB4 CNY", 4},
    {"carbon_intensity", "Carbon intensity", "tCO\xE2\x82\x82 / 10\xE2\x81\xB4 CNY", 4},
    {"water_intensity", "Water intensity", "m\xC2\xB3 / 10\xE2\x81\xB4 CNY", 4},
    {"energy_intensity_change_pct", "Energy intensity change", "% (positive = fell)", 2},
    {"co2_intensity_change_pct", "CO\xE2\x82\x82 intensity change", "% (positive = fell)", 2},
    {"water_intensity_change_pct", "Water intensity change", "% (positive = fell)", 2},
    {"n_ok", "Status OK", "enterprises", 0},
    {"n_incomplete", "Incomplete", "enterprises", 0},
    {"n_not_rateable", "Not rateable", "enterprises", 0},
    {"n_no_benchmark", "No benchmark", "enterprises", 0},
    {"n_rated", "Rated", "enterprises", 0},
    {"n_grade_1", "Grade 1", "enterprises", 0},
    {"n_grade_2", "Grade 2", "enterprises", 0},
    {"n_grade_3", "Grade 3", "enterprises", 0},
    {"n_grade_4", "Grade 4", "enterprises", 0},
    {"n_grade_5", "Grade 5", "enterprises", 0},
};
#define N_CITY (sizeof city_fields / sizeof city_fields[0])
#define N_CITY_MAIN 11 /* totals, intensities and changes; then the counts */

/* Root attributes shown in the provenance table, in order; absent ones are skipped. */
static const char *const prov_attrs[] = {
    "period", "baseline", "engine_version", "creation_time", "configuration", "command_line",
    "price_basis", "grid_factors", "grid_factors_base", "tables", "inputs"};
#define N_PROV (sizeof prov_attrs / sizeof prov_attrs[0])
#define N_PROV_SHOWN 5
enum { ATTR_CAP = 8192 };

static const char *const indicator_names[3] = {"energy", "co2", "water"};
static const char *const target_status_names[5] = {"not evaluable", "met", "on track",
                                                   "off track", "missed"};
static const char *const ent_status_names[4] = {"OK", "INCOMPLETE", "NOT_RATEABLE",
                                                "NO_BENCHMARK"};

typedef struct {
    enterprises e;
    aggregate ind, dist;
    targets t;
    double city[N_CITY];
    char *attr[N_PROV]; /* NULL when absent */
    double coverage_min;
} results;

static void results_destroy(results *r)
{
    enterprises *e = &r->e;
    free(e->id), free(e->name), free(e->ind), free(e->dist);
    free(e->co2), free(e->tce), free(e->L), free(e->K), free(e->cov), free(e->grade);
    free(e->status);
    aggregate *aggs[2] = {&r->ind, &r->dist};
    for (int a = 0; a < 2; a++) {
        free(aggs[a]->code), free(aggs[a]->nent);
        for (int g = 0; g < 5; g++)
            free(aggs[a]->ngrade[g]);
        for (int k = 0; k < 3; k++)
            free(aggs[a]->change[k]);
    }
    targets *t = &r->t;
    free(t->id), free(t->indicator), free(t->scope), free(t->scope_code);
    free(t->target_pct), free(t->got_pct), free(t->rate_pct), free(t->status);
    free(t->base_year), free(t->target_year);
    for (size_t i = 0; i < N_PROV; i++)
        free(r->attr[i]);
}

/* A numeric column read as double. An absent optional column is all NaN. */
static int col_f64(hid_t g, const char *gname, const char *name, size_t n, int required,
                   double **out, tx_err *err)
{
    *out = malloc((n ? n : 1) * sizeof(double));
    if (!*out)
        return tx_err_set(err, TX_ENOMEM, "out of memory reading %s/%s", gname, name);
    int rc = tx_h5_read_column(g, name, H5T_NATIVE_DOUBLE, *out, n, err);
    if (rc == TX_ENOTFOUND && !required) {
        for (size_t i = 0; i < n; i++)
            (*out)[i] = NAN;
        return 0;
    }
    return rc ? tx_err_prefix(err, "%s", gname) : 0;
}

static int col_str(hid_t g, const char *gname, const char *name, size_t width, size_t n,
                   char **out, tx_err *err)
{
    *out = calloc(n ? n : 1, width);
    if (!*out)
        return tx_err_set(err, TX_ENOMEM, "out of memory reading %s/%s", gname, name);
    int rc = tx_h5_read_strings(g, name, *out, width, n, err);
    return rc ? tx_err_prefix(err, "%s", gname) : 0;
}

/* Opens group name of file; absent is TX_ENOTFOUND (err set when required). */
static hid_t open_group(hid_t file, const char *name, tx_err *err)
{
    htri_t ex = H5Lexists(file, name, H5P_DEFAULT);
    if (ex < 0)
        return tx_err_set(err, TX_EHDF5, "cannot look up group %s", name);
    if (ex == 0)
        return tx_err_set(err, TX_ENOTFOUND, "no group %s (not a tanxiao results file?)",
                          name);
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    if (g < 0)
        return tx_err_set(err, TX_EHDF5, "cannot open group %s", name);
    return g;
}

static int group_length(hid_t g, const char *gname, const char *key, size_t *n, tx_err *err)
{
    int rc = tx_h5_column_length(g, key, n, err);
    return rc ? tx_err_prefix(err, "%s", gname) : 0;
}

static int read_enterprises(hid_t file, enterprises *e, tx_err *err)
{
    const char *gn = "/enterprise";
    hid_t g = open_group(file, gn, err);
    if (g < 0)
        return (int)g;
    size_t n = 0;
    int rc = group_length(g, gn, "enterprise_id", &n, err);
    e->n = n;
    if (!rc)
        rc = col_str(g, gn, "enterprise_id", W_ID, n, &e->id, err);
    if (!rc)
        rc = col_str(g, gn, "name", W_NAME, n, &e->name, err);
    if (!rc)
        rc = col_str(g, gn, "industry_code", W_CODE, n, &e->ind, err);
    if (!rc)
        rc = col_str(g, gn, "district_code", W_CODE, n, &e->dist, err);
    if (!rc)
        rc = col_f64(g, gn, "co2_t", n, 1, &e->co2, err);
    if (!rc)
        rc = col_f64(g, gn, "energy_tce", n, 1, &e->tce, err);
    if (!rc)
        rc = col_f64(g, gn, "carbon_intensity", n, 1, &e->L, err);
    if (!rc)
        rc = col_f64(g, gn, "carbon_efficiency_value", n, 1, &e->K, err);
    if (!rc)
        rc = col_f64(g, gn, "coverage", n, 1, &e->cov, err);
    if (!rc)
        rc = col_f64(g, gn, "carbon_grade", n, 1, &e->grade, err);
    if (!rc)
        rc = col_f64(g, gn, "status", n, 1, &e->status, err);
    H5Gclose(g);
    return rc;
}

static int read_aggregate(hid_t file, const char *gn, const char *key, int industry,
                          aggregate *a, tx_err *err)
{
    static const char *const change[3] = {"energy_intensity_change_pct",
                                          "co2_intensity_change_pct",
                                          "water_intensity_change_pct"};
    hid_t g = open_group(file, gn, err);
    if (g < 0)
        return (int)g;
    size_t n = 0;
    int rc = group_length(g, gn, key, &n, err);
    a->n = n;
    if (!rc)
        rc = col_str(g, gn, key, W_CODE, n, &a->code, err);
    if (!rc)
        rc = col_f64(g, gn, "n_enterprises", n, 1, &a->nent, err);
    for (int k = 0; k < 5 && !rc && industry; k++) {
        char name[24];
        snprintf(name, sizeof name, "n_grade_%d", k + 1);
        rc = col_f64(g, gn, name, n, 1, &a->ngrade[k], err);
    }
    for (int k = 0; k < 3 && !rc && !industry; k++)
        rc = col_f64(g, gn, change[k], n, 1, &a->change[k], err);
    H5Gclose(g);
    return rc;
}

/* /targets is optional: without it the district charts show the changes alone. */
static int read_targets(hid_t file, targets *t, tx_err *err)
{
    const char *gn = "/targets";
    hid_t g = open_group(file, gn, err);
    if (g == TX_ENOTFOUND)
        return 0;
    if (g < 0)
        return (int)g;
    size_t n = 0;
    int rc = group_length(g, gn, "target_id", &n, err);
    t->n = n;
    if (!rc)
        rc = col_str(g, gn, "target_id", W_TARGET, n, &t->id, err);
    if (!rc)
        rc = col_str(g, gn, "indicator", W_WORD, n, &t->indicator, err);
    if (!rc)
        rc = col_str(g, gn, "scope", W_WORD, n, &t->scope, err);
    if (!rc)
        rc = col_str(g, gn, "scope_code", W_CODE, n, &t->scope_code, err);
    if (!rc)
        rc = col_f64(g, gn, "target_reduction_pct", n, 1, &t->target_pct, err);
    if (!rc)
        rc = col_f64(g, gn, "reduction_pct", n, 1, &t->got_pct, err);
    if (!rc)
        rc = col_f64(g, gn, "required_annual_rate_pct", n, 0, &t->rate_pct, err);
    if (!rc)
        rc = col_f64(g, gn, "status", n, 1, &t->status, err);
    if (!rc)
        rc = col_f64(g, gn, "base_year", n, 0, &t->base_year, err);
    if (!rc)
        rc = col_f64(g, gn, "target_year", n, 0, &t->target_year, err);
    H5Gclose(g);
    return rc;
}

static int read_city(hid_t file, double *city, tx_err *err)
{
    const char *gn = "/city";
    hid_t g = open_group(file, gn, err);
    if (g < 0)
        return (int)g;
    int rc = 0;
    for (size_t k = 0; k < N_CITY && !rc; k++) {
        size_t n = 0;
        rc = tx_h5_column_length(g, city_fields[k].key, &n, err);
        if (rc == TX_ENOTFOUND) { /* a newer or older engine: show it as missing */
            city[k] = NAN;
            rc = 0;
            continue;
        }
        if (!rc && n != 1)
            rc = tx_err_set(err, TX_EINVAL, "dataset '%s' has %zu rows, expected 1",
                            city_fields[k].key, n);
        if (!rc)
            rc = tx_h5_read_column(g, city_fields[k].key, H5T_NATIVE_DOUBLE, &city[k], 1, err);
        if (rc)
            tx_err_prefix(err, "%s", gn);
    }
    H5Gclose(g);
    return rc;
}

static int read_attrs(hid_t file, results *r, tx_err *err)
{
    for (size_t k = 0; k < N_PROV; k++) {
        char *s = malloc(ATTR_CAP);
        if (!s)
            return tx_err_set(err, TX_ENOMEM, "out of memory");
        tx_err e2 = {0};
        int rc = tx_h5_attr_get_string(file, prov_attrs[k], s, ATTR_CAP, &e2);
        if (rc == TX_EINVAL) { /* a number */
            int64_t v;
            if (tx_h5_attr_get_int64(file, prov_attrs[k], &v, &e2) == 0) {
                snprintf(s, ATTR_CAP, "%lld", (long long)v);
                rc = 0;
            }
        }
        if (rc) {
            free(s);
            s = NULL;
        }
        r->attr[k] = s;
    }
    /* coverage_min is a double attribute; the run's default when absent. */
    r->coverage_min = 0.9;
    if (H5Aexists(file, "coverage_min") > 0) {
        hid_t a = H5Aopen(file, "coverage_min", H5P_DEFAULT);
        double v;
        if (a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0 && isfinite(v))
            r->coverage_min = v;
        if (a >= 0)
            H5Aclose(a);
    }
    return 0;
}

static int read_results(const char *path, results *r, tx_err *err)
{
    int rc = tx_h5_register_zstd(err);
    if (rc)
        return rc;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tx_err_set(err, errno == ENOENT ? TX_ENOTFOUND : TX_EIO, "%s: %s", path,
                          strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return tx_err_set(err, TX_EINVAL, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return tx_err_set(err, TX_EHDF5, "%s: cannot open the HDF5 file", path);
    rc = read_attrs(f, r, err);
    if (!rc)
        rc = read_enterprises(f, &r->e, err);
    if (!rc)
        rc = read_aggregate(f, "/industry", "industry_code", 1, &r->ind, err);
    if (!rc)
        rc = read_aggregate(f, "/district", "district_code", 0, &r->dist, err);
    if (!rc)
        rc = read_city(f, r->city, err);
    if (!rc)
        rc = read_targets(f, &r->t, err);
    if (H5Fclose(f) < 0 && !rc)
        rc = tx_err_set(err, TX_EHDF5, "cannot close the file");
    if (rc)
        tx_err_prefix(err, "%s", path);
    return rc;
}

/* ---- names of districts and industry divisions (reference tables, optional) ------------ */

enum { MAX_DISTRICTS = 256, NAME_CAP = 96 };

typedef struct {
    char division[100][NAME_CAP];
    size_t ndistricts;
    char dcode[MAX_DISTRICTS][W_CODE];
    char dname[MAX_DISTRICTS][NAME_CAP];
} names;

/* Reads two columns of a table: key and name. */
static int load_name_table(const char *dir, const char *file, const char *key_col,
                           const char *name_col, names *nm, int districts, tx_err *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tx_csv *c = NULL;
    int rc = tx_csv_open(path, &c, err);
    const char *cols[2] = {key_col, name_col};
    const uint8_t req[2] = {1, 1};
    int col[2];
    if (!rc)
        rc = tx_csv_header(c, cols, req, 2, col, NULL, NULL, 0, err);
    tx_csv_row row;
    while (!rc && (rc = tx_csv_next(c, &row, err)) == 1) {
        rc = 0;
        if (row.nfields <= (size_t)col[0] || row.nfields <= (size_t)col[1])
            continue;
        const tx_field *k = &row.fields[col[0]], *v = &row.fields[col[1]];
        if (districts) {
            if (nm->ndistricts < MAX_DISTRICTS) {
                tx_field_copy(k, nm->dcode[nm->ndistricts], W_CODE);
                tx_field_copy(v, nm->dname[nm->ndistricts], NAME_CAP);
                nm->ndistricts++;
            }
        } else if (k->len == 2 && k->ptr[0] >= '0' && k->ptr[0] <= '9' && k->ptr[1] >= '0' &&
                   k->ptr[1] <= '9') {
            tx_field_copy(v, nm->division[(k->ptr[0] - '0') * 10 + (k->ptr[1] - '0')], NAME_CAP);
        }
    }
    tx_csv_free(c);
    return rc < 0 ? rc : 0;
}

static int load_names(const char *dir, names *nm, tx_err *err)
{
    int rc = load_name_table(dir, "districts.csv", "district_code", "name", nm, 1, err);
    if (!rc)
        rc = load_name_table(dir, "gbt4754_divisions.csv", "division", "name", nm, 0, err);
    return rc;
}

static const char *district_name(const names *nm, const char *code)
{
    for (size_t i = 0; i < nm->ndistricts; i++)
        if (strcmp(nm->dcode[i], code) == 0)
            return nm->dname[i];
    return "";
}

/* A NUL-terminated copy of a fixed-width record. */
static void rec(const char *data, size_t width, size_t i, char *out, size_t cap)
{
    const char *p = data + i * width;
    size_t n = strnlen(p, width);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* "330203 海曙区" or "13 农副食品加工业" (a 3- or 4-digit class gets its division's name). */
static void label_district(const names *nm, const char *code, char *out, size_t cap)
{
    const char *name = district_name(nm, code);
    snprintf(out, cap, "%s%s%s", name, *name ? " " : "", code);
}

static void label_industry(const names *nm, const char *code, char *out, size_t cap)
{
    const char *name = "";
    if (code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9')
        name = nm->division[(code[0] - '0') * 10 + (code[1] - '0')];
    snprintf(out, cap, "%s%s%s", code, *name ? " " : "", name);
}

/* ---- ranking ------------------------------------------------------------------------- */

/* Rows ordered by key descending, NaN last, ties by row (qsort is not stable), so that the
 * page is a pure function of the results. */
typedef struct {
    double key;
    size_t row;
} ranked;

static int by_key_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int nx = isnan(x->key), ny = isnan(y->key);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Selects up to top rows (only grade 5 when grade5) ordered by key descending into idx;
 * *nall gets the number of candidates. scratch holds e->n entries. */
static size_t rank_rows(const enterprises *e, const double *key, int grade5, size_t top,
                        ranked *scratch, size_t *idx, size_t *nall)
{
    size_t m = 0;
    for (size_t i = 0; i < e->n; i++)
        if (!grade5 || e->grade[i] == 5)
            scratch[m++] = (ranked){key[i], i};
    *nall = m;
    qsort(scratch, m, sizeof *scratch, by_key_desc);
    size_t k = m < top ? m : top;
    for (size_t i = 0; i < k; i++)
        idx[i] = scratch[i].row;
    return k;
}

/* ---- the page ------------------------------------------------------------------------ */

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',"
    "'WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;color:#222;background:#f4f5f7}"
    "main{max-width:1180px;margin:0 auto;padding:16px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}"
    "section,header{background:#fff;border:1px solid #dde;border-radius:6px;padding:14px 16px;"
    "margin:0 0 14px}"
    ".sub{color:#556;margin:0 0 10px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{border-bottom:1px solid #e4e6ea;padding:3px 6px;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.prov td:first-child{width:150px;color:#556;white-space:nowrap}"
    "table.prov td{word-break:break-word;font-family:ui-monospace,monospace;font-size:12px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;"
    "margin-bottom:10px}"
    ".card{border:1px solid #e4e6ea;border-radius:5px;padding:6px 8px}"
    ".cards.small{grid-template-columns:repeat(auto-fill,minmax(105px,1fr));gap:6px}"
    ".small .card{padding:3px 6px}.small .v{font-size:15px}.small .u{display:none}"
    ".card .k{color:#556;font-size:12px}.card .v{font-size:18px;font-weight:600;"
    "font-variant-numeric:tabular-nums}.card .u{color:#778;font-size:11px}"
    ".chart{width:100%;min-height:240px}"
    ".two{display:grid;grid-template-columns:1fr 1fr;gap:12px}"
    "@media(max-width:800px){.two{grid-template-columns:1fr}}"
    ".badge{display:inline-block;min-width:18px;padding:0 5px;border-radius:3px;"
    "text-align:center;font-size:12px}"
    ".g1{background:#1a9850;color:#fff}.g2{background:#91cf60}.g3{background:#fee08b}"
    ".g4{background:#fc8d59}.g5{background:#d73027;color:#fff}.g0{background:#ccc}"
    ".s0{background:#bdbdbd}.s1{background:#1a9850;color:#fff}.s2{background:#91cf60}"
    ".s3{background:#fc8d59}.s4{background:#d73027;color:#fff}"
    ".legend{margin:0 0 6px;font-size:12px;color:#445}.legend .badge{margin-right:8px}"
    ".note{color:#667;font-size:12px}details{margin-top:8px}summary{cursor:pointer}"
    "footer{color:#778;font-size:12px;text-align:center;padding:4px 0 20px}";

/* The page's script: reads the JSON data, draws every .chart with ECharts, marks each
 * container with data-rendered="S series, P points" and finally appends #tx-done (the
 * signal tests wait for). Strings go into tooltips through esc(); axis labels are drawn
 * on the canvas as text. */
static const char page_js[] =
    "(function(){'use strict';\n"
    "var D=JSON.parse(document.getElementById('tx-data').textContent);\n"
    "var GRADE=['#1a9850','#91cf60','#fee08b','#fc8d59','#d73027'],NOTG='#cccccc';\n"
    "var TS=[['not evaluable','#bdbdbd'],['met','#1a9850'],['on track','#91cf60'],"
    "['off track','#fc8d59'],['missed','#d73027']],NOTARGET='#8da0cb';\n"
    "var charts=[];\n"
    "function esc(s){return String(s).replace(/[&<>\"']/g,function(c){return '&#'+c.charCodeAt(0)"
    "+';';});}\n"
    "function fmt(v,d){return v===null||v===undefined?'\\u2014':Number(v).toLocaleString('en-US',"
    "{minimumFractionDigits:d,maximumFractionDigits:d});}\n"
    "function dash(v){return v===null?'-':v;}\n"
    "function chart(id,o){var el=document.getElementById(id);"
    "var c=echarts.init(el,null,{renderer:'canvas'});o.animation=false;c.setOption(o);"
    "var s=c.getOption().series||[],p=0;for(var i=0;i<s.length;i++)p+=(s[i].data||[]).length;"
    "el.setAttribute('data-rendered',s.length+' series, '+p+' points');charts.push(c);}\n"
    "var I=D.industry,ser=[];\n"
    "for(var g=0;g<5;g++)ser.push({name:'grade '+(g+1),type:'bar',stack:'n',data:I.grades[g],"
    "itemStyle:{color:GRADE[g]},emphasis:{focus:'series'}});\n"
    "ser.push({name:'not graded',type:'bar',stack:'n',data:I.ungraded,itemStyle:{color:NOTG}});\n"
    "chart('chart-industry',{tooltip:{trigger:'axis',axisPointer:{type:'shadow'}},"
    "legend:{top:0},grid:{left:8,right:28,top:34,bottom:30,containLabel:true},"
    "xAxis:{type:'value',name:'enterprises',nameLocation:'middle',nameGap:24,minInterval:1},"
    "yAxis:{type:'category',inverse:true,data:I.labels,axisLabel:{width:230,overflow:'truncate'}},"
    "series:ser});\n"
    "var R=D.district;\n"
    "['energy','co2','water'].forEach(function(k){var X=R[k],S=[];\n"
    "S.push({name:'intensity change %',type:'bar',barMaxWidth:34,data:X.change.map(function(v,i){"
    "return {value:dash(v),itemStyle:{color:X.worst[i]<0?NOTARGET:TS[X.worst[i]][1]}};}),"
    "itemStyle:{color:'#888'},label:{show:true,position:'insideBottom',color:'#fff',fontSize:10,"
    "fontWeight:'bold',"
    "formatter:function(p){return typeof p.value==='number'?p.value.toFixed(1):'';}},"
    "markLine:{silent:true,symbol:'none',label:{show:false},data:[{yAxis:0}],"
    "lineStyle:{color:'#555'}}});\n"
    "var SYM=['rect','diamond','triangle','circle'];\n"
    "X.targets.forEach(function(t,j){S.push({name:t.id+' ('+fmt(t.goal,0)+' %)',type:'scatter',"
    "symbol:SYM[j%4],symbolSize:j%4===0?[30,4]:10,itemStyle:{color:'#222'},z:5,"
    "data:t.pct.map(function(v,i){return v===null?'-':{value:v,st:t.status[i],rate:t.rate[i]};})"
    "});});\n"
    "chart('chart-district-'+k,{title:{text:R.titles[k],left:0,textStyle:{fontSize:13}},"
    "legend:{top:0,right:0,textStyle:{fontSize:11}},"
    "tooltip:{trigger:'item',formatter:function(p){var L=esc(R.labels[p.dataIndex]);"
    "if(p.seriesIndex===0)return L+'<br>intensity change '+fmt(p.value,2)+' % (positive = fell)';"
    "var d=p.data;return L+'<br>'+esc(p.seriesName)+'<br>'+TS[d.st][0]+"
    "(d.rate===null?'':' \\u00b7 needs '+fmt(d.rate,2)+' %/yr from now');}},"
    "grid:{left:8,right:16,top:40,bottom:8,containLabel:true},"
    "xAxis:{type:'category',data:R.labels,axisLabel:{interval:0,rotate:30,fontSize:11}},"
    "yAxis:{type:'value'},series:S});});\n"
    "function ents(id,rows,key,unit,dec){chart(id,{grid:{left:8,right:40,top:16,bottom:8,"
    "containLabel:true},tooltip:{trigger:'item',formatter:function(p){var r=rows[p.dataIndex];"
    "return esc(r.n)+'<br>'+esc(r.id)+' \\u00b7 industry '+esc(r.ind)+' \\u00b7 '+esc(r.dist)+"
    "'<br>CO\\u2082 '+fmt(r.co2,0)+' t \\u00b7 energy '+fmt(r.tce,0)+' tce<br>L '+fmt(r.L,4)+"
    "' \\u00b7 K '+fmt(r.K,3)+' \\u00b7 grade '+(r.g||'\\u2014');}},"
    "xAxis:{type:'value',name:unit},yAxis:{type:'category',inverse:true,"
    "data:rows.map(function(r){return r.n;}),axisLabel:{width:220,overflow:'truncate'}},"
    "series:[{type:'bar',name:unit,barMaxWidth:18,data:rows.map(function(r){return {value:dash(r[key]),"
    "itemStyle:{color:r.g>=1&&r.g<=5?GRADE[r.g-1]:NOTG}};}),label:{show:true,position:'right',"
    "fontSize:10,formatter:function(p){return fmt(p.value,dec);}}}]});}\n"
    "ents('chart-top-co2',D.top,'co2','tCO\\u2082',0);\n"
    "ents('chart-grade5',D.grade5,'K','K',3);\n"
    "chart('chart-coverage',{tooltip:{trigger:'axis'},grid:{left:8,right:16,top:30,bottom:8,"
    "containLabel:true},xAxis:{type:'category',data:D.coverage.labels,name:'coverage',"
    "nameLocation:'middle',nameGap:40,axisLabel:{interval:0,rotate:30,fontSize:11}},"
    "yAxis:{type:'value',name:'enterprises',minInterval:1},series:[{type:'bar',name:'enterprises',"
    "data:D.coverage.counts.map(function(v,i){return {value:v,itemStyle:{color:"
    "D.coverage.low[i]?'#fc8d59':'#4a78b5'}};}),label:{show:true,position:'top',fontSize:10}}]});\n"
    "chart('chart-status',{tooltip:{trigger:'axis'},grid:{left:8,right:16,top:30,bottom:8,"
    "containLabel:true},xAxis:{type:'category',data:D.status.labels,axisLabel:{interval:0,"
    "fontSize:11}},yAxis:{type:'value',name:'enterprises',minInterval:1},series:[{type:'bar',"
    "name:'enterprises',data:D.status.counts.map(function(v,i){return {value:v,itemStyle:"
    "{color:['#4a78b5','#fc8d59','#d73027','#bdbdbd','#888'][Math.min(i,4)]}};}),"
    "label:{show:true,position:'top',fontSize:10}}]});\n"
    "window.addEventListener('resize',function(){charts.forEach(function(c){c.resize();});});\n"
    "var m=document.createElement('div');m.id='tx-done';m.hidden=true;"
    "m.setAttribute('data-charts',String(charts.length));document.body.appendChild(m);\n"
    "})();\n";

static double city_value(const results *r, const char *key)
{
    for (size_t k = 0; k < N_CITY; k++)
        if (!strcmp(city_fields[k].key, key))
            return r->city[k];
    return NAN;
}

/* Worst status among the evaluable targets of (indicator, scope, code): 1 met .. 4 missed,
 * 0 when only not evaluable ones, -1 when none. */
static int worst_status(const targets *t, int ind, const char *scope, const char *code)
{
    int worst = -1;
    for (size_t i = 0; i < t->n; i++) {
        char s[W_WORD], c[W_CODE], k[W_WORD];
        rec(t->indicator, W_WORD, i, k, sizeof k);
        rec(t->scope, W_WORD, i, s, sizeof s);
        rec(t->scope_code, W_CODE, i, c, sizeof c);
        if (strcmp(k, indicator_names[ind]) || strcmp(s, scope) || strcmp(c, code))
            continue;
        int st = t->status[i] >= 0 && t->status[i] <= 4 ? (int)t->status[i] : 0;
        if (st > worst)
            worst = st;
    }
    return worst;
}

static int target_status(double v) { return v >= 0 && v <= 4 ? (int)v : 0; }

static void json_ent_rows(sbuf *b, const enterprises *e, const size_t *idx, size_t m)
{
    sb_put(b, "[");
    for (size_t r = 0; r < m; r++) {
        size_t i = idx[r];
        sb_put(b, r ? ",\n{\"n\":" : "{\"n\":");
        sb_json_str(b, e->name + i * W_NAME, W_NAME);
        sb_put(b, ",\"id\":");
        sb_json_str(b, e->id + i * W_ID, W_ID);
        sb_put(b, ",\"ind\":");
        sb_json_str(b, e->ind + i * W_CODE, W_CODE);
        sb_put(b, ",\"dist\":");
        sb_json_str(b, e->dist + i * W_CODE, W_CODE);
        sb_put(b, ",\"co2\":");
        sb_json_num(b, e->co2[i]);
        sb_put(b, ",\"tce\":");
        sb_json_num(b, e->tce[i]);
        sb_put(b, ",\"L\":");
        sb_json_num(b, e->L[i]);
        sb_put(b, ",\"K\":");
        sb_json_num(b, e->K[i]);
        sb_put(b, ",\"g\":");
        sb_json_num(b, e->grade[i]);
        sb_put(b, "}");
    }
    sb_put(b, "]");
}

/* Coverage bins: the edges put the run's threshold on a boundary when it is one of the
 * usual values; complete data (exactly 1) gets its own bar. */
static const double cov_edges[] = {0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0};
#define N_COV_BINS (sizeof cov_edges / sizeof cov_edges[0]) /* 6 ranges + "1" + none */

static void json_data(sbuf *b, const results *r, const names *nm, const size_t *top,
                      size_t ntop, const size_t *g5, size_t ng5)
{
    char lab[256];
    const aggregate *in = &r->ind, *di = &r->dist;
    const targets *t = &r->t;
    sb_put(b, "{\"industry\":{\"labels\":[");
    for (size_t i = 0; i < in->n; i++) {
        char code[W_CODE];
        rec(in->code, W_CODE, i, code, sizeof code);
        label_industry(nm, code, lab, sizeof lab);
        sb_put(b, i ? "," : "");
        sb_json_strz(b, lab);
    }
    sb_put(b, "],\"grades\":[");
    for (int g = 0; g < 5; g++) {
        sb_put(b, g ? ",[" : "[");
        for (size_t i = 0; i < in->n; i++) {
            sb_put(b, i ? "," : "");
            sb_json_num(b, in->ngrade[g][i]);
        }
        sb_put(b, "]");
    }
    sb_put(b, "],\"ungraded\":[");
    for (size_t i = 0; i < in->n; i++) {
        double graded = 0;
        for (int g = 0; g < 5; g++)
            graded += in->ngrade[g][i];
        sb_put(b, i ? "," : "");
        sb_json_num(b, in->nent[i] - graded);
    }

    /* Districts: the city first, then each district row. */
    sb_put(b, "]},\n\"district\":{\"labels\":[\"\\u5168\\u5e02 city\"");
    for (size_t i = 0; i < di->n; i++) {
        char code[W_CODE];
        rec(di->code, W_CODE, i, code, sizeof code);
        label_district(nm, code, lab, sizeof lab);
        sb_put(b, ",");
        sb_json_strz(b, lab);
    }
    sb_put(b, "],\"titles\":{\"energy\":\"Energy intensity change, %\","
              "\"co2\":\"CO\\u2082 intensity change, %\",\"water\":\"Water intensity change, %\"}");
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "%s_intensity_change_pct", indicator_names[k]);
        sb_printf(b, ",\n\"%s\":{\"change\":[", indicator_names[k]);
        sb_json_num(b, city_value(r, key));
        for (size_t i = 0; i < di->n; i++) {
            sb_put(b, ",");
            sb_json_num(b, di->change[k][i]);
        }
        sb_printf(b, "],\"worst\":[%d", worst_status(t, k, "city", "all"));
        for (size_t i = 0; i < di->n; i++) {
            char code[W_CODE];
            rec(di->code, W_CODE, i, code, sizeof code);
            sb_printf(b, ",%d", worst_status(t, k, "district", code));
        }
        sb_put(b, "],\"targets\":[");
        /* One marker series per target id with rows of this indicator at city or district
         * scope, in the order the ids first appear. */
        int nser = 0;
        for (size_t i = 0; i < t->n; i++) {
            char id[W_TARGET], kind[W_WORD], sc[W_WORD];
            rec(t->id, W_TARGET, i, id, sizeof id);
            rec(t->indicator, W_WORD, i, kind, sizeof kind);
            rec(t->scope, W_WORD, i, sc, sizeof sc);
            if (strcmp(kind, indicator_names[k]) || (strcmp(sc, "city") && strcmp(sc, "district")))
                continue;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++) {
                char id2[W_TARGET], kind2[W_WORD], sc2[W_WORD];
                rec(t->id, W_TARGET, j, id2, sizeof id2);
                rec(t->indicator, W_WORD, j, kind2, sizeof kind2);
                rec(t->scope, W_WORD, j, sc2, sizeof sc2);
                seen = !strcmp(id, id2) && !strcmp(kind, kind2) &&
                       (!strcmp(sc2, "city") || !strcmp(sc2, "district"));
            }
            if (seen)
                continue;
            /* Row of this target for each category (city, districts), or none. */
            size_t ncat = di->n + 1;
            double goal = NAN;
            sb_put(b, nser++ ? ",{\"id\":" : "{\"id\":");
            sb_json_strz(b, id);
            const char *fields[3] = {"pct", "status", "rate"};
            for (int f = 0; f < 3; f++) {
                sb_printf(b, ",\"%s\":[", fields[f]);
                for (size_t c = 0; c < ncat; c++) {
                    char want[W_CODE];
                    if (c == 0)
                        snprintf(want, sizeof want, "all");
                    else
                        rec(di->code, W_CODE, c - 1, want, sizeof want);
                    size_t hit = SIZE_MAX;
                    for (size_t j = i; j < t->n && hit == SIZE_MAX; j++) {
                        char id2[W_TARGET], kind2[W_WORD], sc2[W_WORD], code2[W_CODE];
                        rec(t->id, W_TARGET, j, id2, sizeof id2);
                        rec(t->indicator, W_WORD, j, kind2, sizeof kind2);
                        rec(t->scope, W_WORD, j, sc2, sizeof sc2);
                        rec(t->scope_code, W_CODE, j, code2, sizeof code2);
                        if (!strcmp(id, id2) && !strcmp(kind, kind2) &&
                            !strcmp(sc2, c == 0 ? "city" : "district") && !strcmp(code2, want))
                            hit = j;
                    }
                    sb_put(b, c ? "," : "");
                    if (hit == SIZE_MAX)
                        sb_put(b, "null");
                    else if (f == 0) {
                        sb_json_num(b, t->target_pct[hit]);
                        goal = t->target_pct[hit];
                    } else if (f == 1)
                        sb_printf(b, "%d", target_status(t->status[hit]));
                    else
                        sb_json_num(b, t->rate_pct[hit]);
                }
                sb_put(b, "]");
            }
            sb_put(b, ",\"goal\":");
            sb_json_num(b, goal);
            sb_put(b, "}");
        }
        sb_put(b, "]}");
    }

    sb_put(b, "},\n\"top\":");
    json_ent_rows(b, &r->e, top, ntop);
    sb_put(b, ",\n\"grade5\":");
    json_ent_rows(b, &r->e, g5, ng5);

    /* Coverage histogram and statuses. */
    size_t nb = N_COV_BINS + 1, counts[N_COV_BINS + 1] = {0};
    size_t st[5] = {0};
    for (size_t i = 0; i < r->e.n; i++) {
        double c = r->e.cov[i];
        size_t bin;
        if (!isfinite(c))
            bin = N_COV_BINS;
        else if (c >= 1.0)
            bin = N_COV_BINS - 1;
        else
            for (bin = 0; bin + 2 < N_COV_BINS && c >= cov_edges[bin + 1]; bin++)
                ;
        counts[bin]++;
        double s = r->e.status[i];
        st[s >= 0 && s <= 3 ? (size_t)s : 4]++;
    }
    sb_put(b, ",\n\"coverage\":{\"labels\":[");
    for (size_t k = 0; k + 1 < N_COV_BINS; k++)
        sb_printf(b, "%s\"%g\\u2013%g\"", k ? "," : "", cov_edges[k], cov_edges[k + 1]);
    sb_put(b, ",\"1 (complete)\",\"no data\"],\"counts\":[");
    for (size_t k = 0; k < nb; k++)
        sb_printf(b, "%s%zu", k ? "," : "", counts[k]);
    sb_put(b, "],\"low\":[");
    for (size_t k = 0; k < nb; k++)
        sb_printf(b, "%s%d", k ? "," : "",
                  k == N_COV_BINS || (k + 1 < N_COV_BINS && cov_edges[k + 1] <= r->coverage_min));
    sb_put(b, "]},\n\"status\":{\"labels\":[");
    for (size_t k = 0; k < 4; k++)
        sb_printf(b, "%s\"%s\"", k ? "," : "", ent_status_names[k]);
    sb_printf(b, "%s],\"counts\":[%zu,%zu,%zu,%zu", st[4] ? ",\"other\"" : "", st[0], st[1],
              st[2], st[3]);
    if (st[4])
        sb_printf(b, ",%zu", st[4]);
    sb_put(b, "]}}");
}

static void html_badge_grade(sbuf *b, double g)
{
    int k = g >= 1 && g <= 5 ? (int)g : 0;
    if (k)
        sb_printf(b, "<span class=\"badge g%d\">%d</span>", k, k);
    else
        sb_put(b, "<span class=\"badge g0\">\xE2\x80\x94</span>");
}

static void html_badge_target(sbuf *b, double s)
{
    int k = target_status(s);
    sb_printf(b, "<span class=\"badge s%d\">%s</span>", k, target_status_names[k]);
}

static void html_ent_table(sbuf *b, const enterprises *e, const names *nm, const size_t *idx,
                           size_t m, const char *table_id)
{
    sb_printf(b, "<table id=\"%s\"><thead><tr><th class=\"n\">#</th><th>enterprise</th>"
                 "<th>USCC</th><th>industry</th><th>district</th><th class=\"n\">CO\xE2\x82\x82 t"
                 "</th><th class=\"n\">energy tce</th><th class=\"n\">L</th><th class=\"n\">K"
                 "</th><th>grade</th></tr></thead><tbody>\n",
              table_id);
    for (size_t r = 0; r < m; r++) {
        size_t i = idx[r];
        char dist[W_CODE];
        rec(e->dist, W_CODE, i, dist, sizeof dist);
        sb_printf(b, "<tr><td class=\"n\">%zu</td><td>", r + 1);
        sb_html(b, e->name + i * W_NAME, W_NAME);
        sb_put(b, "</td><td>");
        sb_html(b, e->id + i * W_ID, W_ID);
        sb_put(b, "</td><td>");
        sb_html(b, e->ind + i * W_CODE, W_CODE);
        sb_put(b, "</td><td>");
        sb_htmlz(b, district_name(nm, dist));
        sb_put(b, " ");
        sb_htmlz(b, dist);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, e->co2[i], 0);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, e->tce[i], 0);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, e->L[i], 4);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, e->K[i], 3);
        sb_put(b, "</td><td>");
        html_badge_grade(b, e->grade[i]);
        sb_put(b, "</td></tr>\n");
    }
    sb_put(b, "</tbody></table>\n");
}

/* Target rows of one scope ("city" or "district") as a table. */
static void html_targets(sbuf *b, const targets *t, const names *nm, const char *scope,
                         const char *table_id)
{
    sb_printf(b, "<table id=\"%s\"><thead><tr>%s<th>target</th><th>indicator</th>"
                 "<th>years</th><th class=\"n\">target %%</th><th class=\"n\">achieved %%</th>"
                 "<th class=\"n\">needed %%/yr</th><th>status</th></tr></thead><tbody>\n",
              table_id, strcmp(scope, "district") ? "" : "<th>district</th>");
    for (size_t i = 0; i < t->n; i++) {
        char sc[W_WORD], code[W_CODE];
        rec(t->scope, W_WORD, i, sc, sizeof sc);
        if (strcmp(sc, scope))
            continue;
        rec(t->scope_code, W_CODE, i, code, sizeof code);
        sb_put(b, "<tr>");
        if (!strcmp(scope, "district")) {
            char lab[256];
            label_district(nm, code, lab, sizeof lab);
            sb_put(b, "<td>");
            sb_htmlz(b, lab);
            sb_put(b, "</td>");
        }
        sb_put(b, "<td>");
        sb_html(b, t->id + i * W_TARGET, W_TARGET);
        sb_put(b, "</td><td>");
        sb_html(b, t->indicator + i * W_WORD, W_WORD);
        sb_put(b, "</td><td>");
        sb_year(b, t->base_year[i]);
        sb_put(b, "\xE2\x86\x92");
        sb_year(b, t->target_year[i]);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, t->target_pct[i], 1);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, t->got_pct[i], 2);
        sb_put(b, "</td><td class=\"n\">");
        sb_num(b, t->rate_pct[i], 2);
        sb_put(b, "</td><td>");
        html_badge_target(b, t->status[i]);
        sb_put(b, "</td></tr>\n");
    }
    sb_put(b, "</tbody></table>\n");
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void build_page(sbuf *b, const results *r, const names *nm, const char *title,
                       const char *results_path, const char *echarts, size_t echarts_len,
                       size_t top)
{
    const enterprises *e = &r->e;
    size_t *idx_top = malloc((e->n ? e->n : 1) * sizeof(size_t));
    size_t *idx_g5 = malloc((e->n ? e->n : 1) * sizeof(size_t));
    ranked *scratch = malloc((e->n ? e->n : 1) * sizeof(ranked));
    if (!idx_top || !idx_g5 || !scratch) {
        b->oom = 1;
        free(idx_top);
        free(idx_g5);
        free(scratch);
        return;
    }
    size_t nall_top, nall_g5;
    size_t ntop = rank_rows(e, e->co2, 0, top, scratch, idx_top, &nall_top);
    size_t ng5 = rank_rows(e, e->K, 1, top, scratch, idx_g5, &nall_g5);
    free(scratch);

    sb_put(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              /* Offline by construction: nothing may be fetched, not even by mistake. */
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n"
              "<meta name=\"generator\" content=\"tanxiao report\">\n<title>");
    sb_htmlz(b, title);
    sb_printf(b, "</title>\n<style>%s</style>\n</head><body><main>\n<header><h1>", page_css);
    sb_htmlz(b, title);
    sb_put(b, "</h1><p class=\"sub\">");
    sb_htmlz(b, base_name(results_path));
    sb_put(b, "</p>\n<table class=\"prov\" id=\"provenance\">\n");
    /* The first N_PROV_SHOWN attributes in view, the long ones folded away. */
    for (size_t k = 0; k < N_PROV; k++) {
        if (k == N_PROV_SHOWN)
            sb_put(b, "</table>\n<details><summary>Command line, tables and inputs</summary>"
                      "<table class=\"prov\">\n");
        if (!r->attr[k])
            continue;
        sb_printf(b, "<tr data-attr=\"%s\"><td>%s</td><td>", prov_attrs[k], prov_attrs[k]);
        sb_htmlz(b, r->attr[k]);
        sb_put(b, "</td></tr>\n");
    }
    sb_put(b, "</table></details></header>\n");

    /* City summary: each value also as data-value (round-trip precision) for checks. */
    sb_put(b, "<section id=\"city\"><h2>City summary</h2><div class=\"cards\">\n");
    for (size_t k = 0; k < N_CITY; k++) {
        const city_field *f = &city_fields[k];
        if (k == N_CITY_MAIN) /* the counts by status and grade in a denser grid */
            sb_put(b, "</div><div class=\"cards small\">\n");
        sb_printf(b, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\" "
                     "data-key=\"%s\" data-value=\"",
                  f->label, f->key);
        if (isfinite(r->city[k]))
            sb_printf(b, "%.17g", r->city[k]);
        else
            sb_put(b, "NaN");
        sb_put(b, "\">");
        sb_num(b, r->city[k], f->decimals);
        sb_printf(b, "</div><div class=\"u\">%s</div></div>\n", f->unit);
    }
    sb_put(b, "</div>\n");
    if (r->t.n) {
        sb_put(b, "<h2>City targets</h2>\n");
        html_targets(b, &r->t, nm, "city", "city-targets");
    }
    sb_put(b, "</section>\n");

    /* Grades by industry: one bar row per industry cell. */
    size_t hind = r->ind.n * 22 + 70;
    sb_printf(b, "<section><h2>Carbon-efficiency grades by industry</h2>"
                 "<p class=\"note\">Enterprises per grade (1 best \xE2\x80\xA6 5 worst) in each "
                 "industry row of /industry; grey: not graded.</p>\n"
                 "<div id=\"chart-industry\" class=\"chart\" style=\"height:%zupx\"></div>"
                 "</section>\n",
              hind < 260 ? 260 : hind);

    sb_put(b, "<section><h2>District intensity changes against targets</h2>"
              "<p class=\"note\">Bars: intensity change of the period against the baseline at "
              "comparable prices (positive = intensity fell), coloured by the worst status of "
              "the targets that apply. Black markers: the reductions the targets ask for.</p>"
              "<p class=\"legend\"><span class=\"badge s1\">met</span><span class=\"badge s2\">"
              "on track</span><span class=\"badge s3\">off track</span><span class=\"badge s4\">"
              "missed</span><span class=\"badge s0\">not evaluable</span><span class=\"badge\" "
              "style=\"background:#8da0cb\">no target</span></p>\n");
    for (int k = 0; k < 3; k++)
        sb_printf(b, "<div id=\"chart-district-%s\" class=\"chart\" style=\"height:280px\">"
                     "</div>\n",
                  indicator_names[k]);
    if (r->t.n) {
        sb_put(b, "<details><summary>District targets</summary>\n");
        html_targets(b, &r->t, nm, "district", "district-targets");
        sb_put(b, "</details>\n");
    } else {
        sb_put(b, "<p class=\"note\">The results hold no /targets.</p>\n");
    }
    sb_put(b, "</section>\n");

    size_t h = ntop * 24 + 50;
    sb_printf(b, "<section><h2>Largest emitters</h2><p class=\"note\">The %zu enterprises with "
                 "the largest CO\xE2\x82\x82 emissions (of %zu), coloured by grade.</p>\n"
                 "<div id=\"chart-top-co2\" class=\"chart\" style=\"height:%zupx\"></div>\n",
              ntop, nall_top, h < 240 ? 240 : h);
    html_ent_table(b, e, nm, idx_top, ntop, "top-co2");
    sb_put(b, "</section>\n");

    h = ng5 * 24 + 50;
    sb_printf(b, "<section><h2>Grade-5 enterprises by carbon-efficiency value K</h2>"
                 "<p class=\"note\">%zu enterprises at grade 5; the %zu with the largest K "
                 "(carbon intensity over the industry benchmark) are shown.</p>\n"
                 "<div id=\"chart-grade5\" class=\"chart\" style=\"height:%zupx\"></div>\n",
              nall_g5, ng5, h < 240 ? 240 : h);
    html_ent_table(b, e, nm, idx_g5, ng5, "grade5");
    sb_put(b, "</section>\n");

    sb_printf(b, "<section><h2>Data coverage</h2><p class=\"note\">Coverage: share of valid "
                 "intervals over the energy and CO\xE2\x82\x82 meters of each enterprise; orange "
                 "bins lie below the run's threshold (%g).</p>\n<div class=\"two\">"
                 "<div id=\"chart-coverage\" class=\"chart\" style=\"height:300px\"></div>"
                 "<div id=\"chart-status\" class=\"chart\" style=\"height:300px\"></div>"
                 "</div></section>\n",
              r->coverage_min);

    sb_put(b, "<footer>Written by tanxiao report from ");
    sb_htmlz(b, base_name(results_path));
    sb_put(b, ". Charts: Apache ECharts (Apache License 2.0), inlined; the page fetches "
              "nothing.</footer>\n</main>\n<script type=\"application/json\" id=\"tx-data\">");
    json_data(b, r, nm, idx_top, ntop, idx_g5, ng5);
    sb_put(b, "</script>\n<script>\n");
    sb_putn(b, echarts, echarts_len);
    sb_printf(b, "\n</script>\n<script>\n%s</script>\n</body></html>\n", page_js);
    free(idx_top);
    free(idx_g5);
}

/* ---- files ---------------------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len, tx_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tx_err_set(err, errno == ENOENT ? TX_ENOTFOUND : TX_EIO, "%s: %s", path,
                          strerror(errno));
    int rc = 0;
    size_t cap = 1 << 20, n = 0;
    char *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    if (!p)
        rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    else if (ferror(f))
        rc = tx_err_set(err, TX_EIO, "%s: read error", path);
    fclose(f);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    *len = n;
    return 0;
}

/* Case-insensitive search in a buffer that may hold NULs. */
static int contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && (s[i + j] | 0x20) == (needle[j] | 0x20))
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

/* The script is inlined verbatim, so it must not be able to end its own element. */
static int check_echarts(const char *path, const char *s, size_t n, tx_err *err)
{
    if (n == 0 || !contains_ci(s, n, "echarts"))
        return tx_err_set(err, TX_EINVAL, "%s: does not look like the ECharts script", path);
    if (contains_ci(s, n, "</script") || contains_ci(s, n, "<!--"))
        return tx_err_set(err, TX_EINVAL,
                          "%s: contains '</script' or '<!--' and cannot be inlined", path);
    return 0;
}

static int write_atomic(const char *path, const char *data, size_t len, tx_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp)
        return tx_err_set(err, TX_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return tx_err_set(err, TX_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = 0;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = tx_err_set(err, TX_EIO, "%s: write failed: %s", tmp,
                            w < 0 ? strerror(errno) : "no progress");
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = tx_err_set(err, TX_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = tx_err_set(err, TX_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = tx_err_set(err, TX_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------- */

static const char report_help[] =
    "usage: tanxiao report RESULTS.h5 -o REPORT.html [options]\n"
    "\n"
    "Writes one self-contained HTML page from a results file: the run's provenance (period,\n"
    "baseline, engine version, creation time, configuration, command line, inputs), the city\n"
    "summary, grades 1..5 per industry, district energy/CO2/water intensity changes against\n"
    "the targets of /targets (met, on track, off track, missed), the largest emitters, the\n"
    "grade-5 enterprises by K, and data coverage and statuses. Charts are drawn by Apache\n"
    "ECharts, whose script is copied into the page: it opens offline and fetches nothing.\n"
    "The page is written to a temporary file and renamed, so it is complete or absent.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the HTML page to write (required)\n"
    "  --echarts PATH     echarts.min.js to inline (default: $TANXIAO_ECHARTS, else the\n"
    "                     copy `npm ci` installs in the source tree:\n"
    "                     " TANXIAO_ECHARTS_JS ")\n"
    "  --title TEXT       page title (default: \"tanxiao report: PERIOD vs BASELINE\")\n"
    "  --tables DIR       reference tables giving district and industry names\n"
    "                     (districts.csv, gbt4754_divisions.csv; default: $TANXIAO_TABLES,\n"
    "                     else " TANXIAO_TABLES_DIR "; codes alone when\n"
    "                     the default is missing)\n"
    "  --top N            enterprises in the largest-emitter and grade-5 lists (default 20)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 success, 1 failure (reason on stderr), 2 usage error.\n";

static int report_usage(const char *msg)
{
    fprintf(stderr, "tanxiao report: %s (see 'tanxiao report --help')\n", msg);
    return EXIT_USAGE;
}

int tx_report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"echarts", required_argument, 0, 'E'},
        {"title", required_argument, 0, 'T'},  {"tables", required_argument, 0, 't'},
        {"top", required_argument, 0, 'n'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *output = NULL, *echarts_path = NULL, *title = NULL, *tables = NULL;
    long top = 20;
    int c;
    char msg[320];
    optind = 1;
    opterr = 0; /* one line on stderr: the messages below replace getopt's */
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'E':
            echarts_path = optarg;
            break;
        case 'T':
            title = optarg;
            break;
        case 't':
            tables = optarg;
            break;
        case 'n': {
            char *end;
            top = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || top < 1 || top > 1000)
                return report_usage("--top takes a number 1..1000");
            break;
        }
        case 'h':
            fputs(report_help, stdout);
            return 0;
        case ':':
            snprintf(msg, sizeof msg, "option '%.200s' needs an argument", argv[optind - 1]);
            return report_usage(msg);
        default:
            snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[optind - 1]);
            return report_usage(msg);
        }
    }
    if (optind != argc - 1)
        return report_usage("needs exactly one results file");
    if (!output || !*output)
        return report_usage("-o/--output is required");
    const char *input = argv[optind];

    /* Environment variables are read here, in the command's entry point, only. */
    int tables_explicit = tables != NULL;
    if (!tables && (tables = getenv("TANXIAO_TABLES")) != NULL && *tables)
        tables_explicit = 1;
    if (!tables || !*tables)
        tables = TANXIAO_TABLES_DIR;
    if (!echarts_path) {
        const char *env = getenv("TANXIAO_ECHARTS");
        echarts_path = env && *env ? env : TANXIAO_ECHARTS_JS;
    }
    if (!*echarts_path)
        return report_usage("no ECharts script known: pass --echarts PATH");

    tx_err err = {0};
    results r;
    memset(&r, 0, sizeof r);
    names *nm = calloc(1, sizeof *nm);
    char *echarts = NULL, *deftitle = NULL;
    size_t echarts_len = 0;
    sbuf page = {0};
    int rc = nm ? 0 : tx_err_set(&err, TX_ENOMEM, "out of memory");
    if (!rc) {
        rc = read_file(echarts_path, &echarts, &echarts_len, &err);
        if (rc == TX_ENOTFOUND)
            snprintf(err.msg, sizeof err.msg,
                     "ECharts script %s not found (run 'npm ci' in the source tree, or pass "
                     "--echarts PATH)",
                     echarts_path);
    }
    if (!rc)
        rc = check_echarts(echarts_path, echarts, echarts_len, &err);
    if (!rc)
        rc = read_results(input, &r, &err);
    if (!rc && *tables) {
        tx_err nerr = {0};
        int nrc = load_names(tables, nm, &nerr);
        if (nrc && tables_explicit) {
            rc = nrc;
            err = nerr;
        } else if (nrc) {
            memset(nm, 0, sizeof *nm); /* names are a nicety: codes alone */
        }
    }
    if (!rc && !title) {
        const char *per = r.attr[0] ? r.attr[0] : "?", *base = r.attr[1];
        size_t cap = strlen(per) + (base ? strlen(base) : 0) + 64;
        deftitle = malloc(cap);
        if (!deftitle)
            rc = tx_err_set(&err, TX_ENOMEM, "out of memory");
        else
            snprintf(deftitle, cap, "tanxiao report: %s%s%s", per, base ? " vs " : "",
                     base ? base : "");
        title = deftitle;
    }
    if (!rc) {
        build_page(&page, &r, nm, title, input, echarts, echarts_len, (size_t)top);
        if (page.oom)
            rc = tx_err_set(&err, TX_ENOMEM, "out of memory building the page");
    }
    if (!rc)
        rc = write_atomic(output, page.p, page.len, &err);
    if (!rc)
        printf("tanxiao report: %s (%.2f MB; %zu enterprises, %zu industries, %zu districts, "
               "%zu target rows)\n",
               output, (double)page.len / 1e6, r.e.n, r.ind.n, r.dist.n, r.t.n);
    free(page.p);
    free(deftitle);
    free(echarts);
    free(nm);
    results_destroy(&r);
    if (rc) {
        fprintf(stderr, "tanxiao report: error: %s\n", err.msg[0] ? err.msg : tx_strerror(rc));
        return EXIT_FAIL;
    }
    return 0;
}
