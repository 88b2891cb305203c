/*
 * inspect.c - `tanxiao inspect` (provenance and summary tables of a results file) and
 * `tanxiao export` (one group as CSV). Both load a group's datasets into memory with the
 * column helpers of h5io.c (1-D) or plain H5Dread (other ranks), each dataset with its
 * units, long_name, CF flag attributes and dimension scales, and then only format.
 */
#include "inspect.h"

#include "h5io.h"
#include "tanxiao.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* ---- errors ------------------------------------------------------------------------------ */


static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tanxiao %s: %s (see 'tanxiao %s --help')\n", cmd, msg, cmd);
    return EXIT_USAGE;
}

static int fail(const char *cmd, const tx_err *err)
{
    fprintf(stderr, "tanxiao %s: error: %s\n", cmd,
            err->msg[0] ? err->msg : tx_strerror(err->code));
    return EXIT_FAIL;
}

/* ---- columns: one dataset in memory ------------------------------------------------------ */

typedef enum { COL_FLOAT, COL_INT, COL_UINT, COL_STR } col_kind;

typedef struct {
    char *name;       /* link name in its group */
    col_kind kind;
    int rank;         /* 0, 1 or 2 (a scalar is read as one element) */
    size_t dims[2];   /* dims[1] is 1 below rank 2 */
    size_t n;         /* dims[0] * dims[1] */
    double *f;        /* COL_FLOAT */
    int64_t *i;       /* COL_INT */
    uint64_t *u;      /* COL_UINT */
    char *s;          /* COL_STR: n records of width bytes, each NUL-terminated */
    size_t width;
    char units[64];
    char long_name[256];
    size_t nflags;    /* CF flags: flag_values[k] means flag_names[k] */
    int64_t *flag_values;
    char **flag_names;
    char *flag_buf;   /* storage of flag_names */
    int is_mask;      /* every flag value a distinct power of two: values are bit sets */
    char scale[2][128]; /* rank 2: link names of the dimension scales attached ("" none) */
} col;

typedef struct {
    char path[256];
    col *cols;
    size_t n;
} grp;

static void col_destroy(col *c)
{
    free(c->name);
    free(c->f);
    free(c->i);
    free(c->u);
    free(c->s);
    free(c->flag_values);
    free(c->flag_names);
    free(c->flag_buf);
    memset(c, 0, sizeof *c);
}

static void grp_destroy(grp *g)
{
    for (size_t k = 0; k < g->n; k++)
        col_destroy(&g->cols[k]);
    free(g->cols);
    memset(g, 0, sizeof *g);
}

/* The path to put before "/name" of a member: "" for the root group. */
static const char *grp_pfx(const grp *g)
{
    return strcmp(g->path, "/") != 0 ? g->path : "";
}

static const col *grp_col(const grp *g, const char *name)
{
    for (size_t k = 0; k < g->n; k++)
        if (strcmp(g->cols[k].name, name) == 0)
            return &g->cols[k];
    return NULL;
}

/* Element idx as a double (NaN for strings). */
static double col_num(const col *c, size_t idx)
{
    switch (c->kind) {
    case COL_FLOAT:
        return c->f[idx];
    case COL_INT:
        return (double)c->i[idx];
    case COL_UINT:
        return (double)c->u[idx];
    default:
        return NAN;
    }
}

static const char *col_str(const col *c, size_t idx)
{
    return c->kind == COL_STR ? c->s + idx * c->width : "";
}

/* Meaning of an integer code: its flag name; for bit sets the names of the bits joined with
 * '|' (0 is the empty set); a value without a meaning is printed as its number so nothing
 * is lost. */
static void code_name(const col *c, int64_t v, char *buf, size_t cap)
{
    for (size_t k = 0; k < c->nflags; k++) {
        if (c->flag_values[k] == v) {
            snprintf(buf, cap, "%s", c->flag_names[k]);
            return;
        }
    }
    if (!c->is_mask || v < 0) {
        snprintf(buf, cap, "%" PRId64, v);
        return;
    }
    size_t off = 0;
    buf[0] = '\0';
    int64_t rest = v;
    for (size_t k = 0; k < c->nflags && off < cap; k++) {
        if (v & c->flag_values[k]) {
            off += (size_t)snprintf(buf + off, cap - off, "%s%s", off ? "|" : "", c->flag_names[k]);
            rest &= ~c->flag_values[k];
        }
    }
    if (rest && off < cap)
        snprintf(buf + off, cap - off, "%s%" PRId64, off ? "|" : "", rest);
}

static int64_t col_code(const col *c, size_t idx)
{
    return c->kind == COL_UINT ? (int64_t)c->u[idx] : c->kind == COL_INT ? c->i[idx] : 0;
}

/* ---- loading ----------------------------------------------------------------------------- */

/* Optional string attribute: "" when absent or not a string. */
static void attr_string_opt(hid_t obj, const char *name, char *out, size_t cap)
{
    tx_err e = {0};
    if (tx_h5_attr_get_string(obj, name, out, cap, &e) != 0)
        out[0] = '\0';
}

/* flag_values + flag_meanings of an integer dataset, when both are present and agree. */
static int load_flags(hid_t dset, col *c, tx_err *err)
{
    htri_t has_v = H5Aexists(dset, "flag_values"), has_m = H5Aexists(dset, "flag_meanings");
    if (has_v < 0 || has_m < 0)
        return tx_h5_fail(err, "cannot look up the flag attributes of '%s'", c->name);
    if (!has_v || !has_m)
        return TX_OK;
    int rc = TX_OK;
    hid_t attr = -1, space = -1;
    int64_t *values = NULL;
    char *meanings = NULL, **names = NULL;
    attr = H5Aopen(dset, "flag_values", H5P_DEFAULT);
    if (attr < 0 || (space = H5Aget_space(attr)) < 0) {
        rc = tx_h5_fail(err, "cannot open the flag_values of '%s'", c->name);
        goto done;
    }
    hssize_t np = H5Sget_simple_extent_npoints(space);
    if (np <= 0 || np > 65536)
        goto done; /* not usable: export the plain codes */
    size_t nv = (size_t)np;
    const size_t mcap = 65536;
    values = malloc(nv * sizeof *values);
    meanings = malloc(mcap);
    names = malloc(nv * sizeof *names);
    if (!values || !meanings || !names) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    if (H5Aread(attr, H5T_NATIVE_INT64, values) < 0) {
        rc = tx_h5_fail(err, "cannot read the flag_values of '%s'", c->name);
        goto done;
    }
    tx_err e = {0};
    if (tx_h5_attr_get_string(dset, "flag_meanings", meanings, mcap, &e) != 0)
        goto done; /* not a string: ignore the flags */
    size_t k = 0;
    for (char *save = NULL, *tok = strtok_r(meanings, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (k == nv) {
            k = nv + 1;
            break;
        }
        names[k++] = tok;
    }
    if (k != nv)
        goto done; /* meanings and values disagree: ignore the flags */
    int mask = 1;
    for (size_t a = 0; a < nv; a++) {
        if (values[a] <= 0 || (values[a] & (values[a] - 1)) != 0)
            mask = 0;
        for (size_t b = 0; b < a; b++)
            if (values[a] == values[b])
                mask = 0;
    }
    c->nflags = nv;
    c->flag_values = values;
    c->flag_names = names;
    c->flag_buf = meanings;
    c->is_mask = mask;
    values = NULL;
    names = NULL;
    meanings = NULL;
done:
    free(values);
    free(meanings);
    free(names);
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

static herr_t scale_name_cb(hid_t did, unsigned dim, hid_t dsid, void *data)
{
    (void)did;
    (void)dim;
    char path[512];
    ssize_t len = H5Iget_name(dsid, path, sizeof path);
    if (len <= 0 || (size_t)len >= sizeof path)
        return 1; /* unnamed or too long: treated as no scale */
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t blen = strlen(base);
    if (blen < 128)
        memcpy(data, base, blen + 1);
    return 1; /* the first scale of the dimension is enough */
}

/* Reads a string dataset of any rank into NUL-terminated records. */
static int read_strings_any(hid_t dset, hid_t ftype, hid_t loc, col *c, tx_err *err)
{
    int rc = TX_OK;
    hid_t mtype = -1;
    char **vbuf = NULL;
    size_t nn = c->n ? c->n : 1;
    htri_t vlen = H5Tis_variable_str(ftype);
    if (vlen < 0)
        return tx_h5_fail(err, "cannot inspect the type of '%s'", c->name);
    if (!vlen) {
        size_t stored = H5Tget_size(ftype);
        if (stored == 0)
            return tx_h5_fail(err, "cannot get the size of '%s'", c->name);
        c->width = stored + 1;
        if (nn > SIZE_MAX / c->width || !(c->s = calloc(nn, c->width)))
            return tx_err_set(err, TX_ENOMEM, "'%s': out of memory", c->name);
        if (c->rank == 1) {
            rc = tx_h5_read_strings(loc, c->name, c->s, c->width, c->n, err);
        } else if (c->n) {
            /* HDF5 pads the stored strings to width + 1 bytes with NULs. */
            mtype = H5Tcopy(ftype);
            if (mtype < 0 || H5Tset_size(mtype, c->width) < 0 ||
                H5Tset_strpad(mtype, H5T_STR_NULLPAD) < 0 ||
                H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->s) < 0)
                rc = tx_h5_fail(err, "cannot read '%s'", c->name);
        }
        if (!rc && H5Tget_strpad(ftype) == H5T_STR_SPACEPAD) {
            for (size_t k = 0; k < c->n; k++) {
                char *r = c->s + k * c->width;
                size_t len = strlen(r);
                while (len > 0 && r[len - 1] == ' ')
                    r[--len] = '\0';
            }
        }
        goto done;
    }
    /* Variable-length strings: read as char *, copied into fixed records. */
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) {
        rc = tx_h5_fail(err, "cannot make a string type for '%s'", c->name);
        goto done;
    }
    if (!(vbuf = calloc(nn, sizeof *vbuf))) {
        rc = tx_err_set(err, TX_ENOMEM, "'%s': out of memory", c->name);
        goto done;
    }
    if (c->n && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, vbuf) < 0) {
        rc = tx_h5_fail(err, "cannot read '%s'", c->name);
        free(vbuf);
        vbuf = NULL;
        goto done;
    }
    size_t w = 1;
    for (size_t k = 0; k < c->n; k++)
        if (vbuf[k] && strlen(vbuf[k]) + 1 > w)
            w = strlen(vbuf[k]) + 1;
    c->width = w;
    if (nn > SIZE_MAX / w || !(c->s = calloc(nn, w))) {
        rc = tx_err_set(err, TX_ENOMEM, "'%s': out of memory", c->name);
    } else {
        for (size_t k = 0; k < c->n; k++)
            if (vbuf[k])
                memcpy(c->s + k * w, vbuf[k], strlen(vbuf[k]));
    }
    hid_t space = H5Dget_space(dset);
    if (space < 0 || H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, vbuf) < 0)
        rc = rc ? rc : tx_h5_fail(err, "cannot free the strings of '%s'", c->name);
    if (space >= 0)
        H5Sclose(space);
done:
    free(vbuf);
    if (mtype >= 0)
        H5Tclose(mtype);
    return rc;
}

/* Loads dataset `name` of loc into c. Returns 0, 1 when the dataset is of a kind this
 * module does not read (rank > 2, compound, enum, ...: c->name set, nothing else), or a
 * negative tx_status. */
static int load_col(hid_t loc, const char *name, col *c, tx_err *err)
{
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name)))
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    int rc = TX_OK;
    hid_t dset = -1, ftype = -1, space = -1;
    dset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (dset < 0) {
        rc = tx_h5_fail(err, "cannot open dataset '%s'", name);
        goto done;
    }
    if ((ftype = H5Dget_type(dset)) < 0 || (space = H5Dget_space(dset)) < 0) {
        rc = tx_h5_fail(err, "cannot get the type and shape of '%s'", name);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(ftype);
    int rank = H5Sget_simple_extent_ndims(space);
    if (cls == H5T_NO_CLASS || rank < 0) {
        rc = tx_h5_fail(err, "cannot get the type and shape of '%s'", name);
        goto done;
    }
    if (rank > 2 || (cls != H5T_FLOAT && cls != H5T_INTEGER && cls != H5T_STRING)) {
        rc = 1;
        goto done;
    }
    hsize_t d[2] = {1, 1};
    if (rank > 0 && H5Sget_simple_extent_dims(space, d, NULL) < 0) {
        rc = tx_h5_fail(err, "cannot get the shape of '%s'", name);
        goto done;
    }
    c->rank = rank;
    c->dims[0] = (size_t)d[0];
    c->dims[1] = rank == 2 ? (size_t)d[1] : 1;
    if (c->dims[1] && c->dims[0] > SIZE_MAX / 16 / c->dims[1]) {
        rc = tx_err_set(err, TX_ERANGE, "dataset '%s' is too large", name);
        goto done;
    }
    c->n = c->dims[0] * c->dims[1];
    attr_string_opt(dset, "units", c->units, sizeof c->units);
    attr_string_opt(dset, "long_name", c->long_name, sizeof c->long_name);
    for (unsigned dim = 0; rank == 2 && dim < 2; dim++) {
        int ns = H5DSget_num_scales(dset, dim);
        if (ns > 0 && H5DSiterate_scales(dset, dim, NULL, scale_name_cb, c->scale[dim]) < 0)
            c->scale[dim][0] = '\0'; /* an unreadable scale: the column index instead */
    }
    size_t nn = c->n ? c->n : 1;
    if (cls == H5T_STRING) {
        c->kind = COL_STR;
        rc = read_strings_any(dset, ftype, loc, c, err);
        goto done;
    }
    hid_t mtype;
    void *buf;
    if (cls == H5T_FLOAT) {
        c->kind = COL_FLOAT;
        mtype = H5T_NATIVE_DOUBLE;
        buf = c->f = malloc(nn * sizeof *c->f);
    } else {
        H5T_sign_t sign = H5Tget_sign(ftype);
        if (sign == H5T_SGN_ERROR) {
            rc = tx_h5_fail(err, "cannot get the sign of '%s'", name);
            goto done;
        }
        c->kind = sign == H5T_SGN_NONE ? COL_UINT : COL_INT;
        mtype = sign == H5T_SGN_NONE ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
        buf = sign == H5T_SGN_NONE ? (void *)(c->u = malloc(nn * sizeof *c->u))
                                   : (void *)(c->i = malloc(nn * sizeof *c->i));
        if (buf && (rc = load_flags(dset, c, err)) != 0)
            goto done;
    }
    if (!buf) {
        rc = tx_err_set(err, TX_ENOMEM, "'%s': out of memory", name);
        goto done;
    }
    if (rank == 1)
        rc = tx_h5_read_column(loc, name, mtype, buf, c->n, err);
    else if (c->n && H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = tx_h5_fail(err, "cannot read '%s'", name);
done:
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (dset >= 0)
        H5Dclose(dset);
    if (rc == 1) {
        char *keep = c->name;
        c->name = NULL;
        col_destroy(c);
        c->name = keep;
    } else if (rc) {
        col_destroy(c);
    }
    return rc;
}

typedef struct {
    char **names;
    size_t n, cap;
    int oom;
} name_list;

static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    name_list *l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        char **p = realloc(l->names, cap * sizeof *p);
        if (!p) {
            l->oom = 1;
            return -1;
        }
        l->names = p;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name))) {
        l->oom = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static void name_list_free(name_list *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->names[k]);
    free(l->names);
}

/* Opens a file read-only with a clear message for the usual mistakes. */
static hid_t open_results(const char *path, tx_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tx_err_set(err, TX_ENOTFOUND, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return tx_err_set(err, TX_EINVAL, "%s: is a directory, not a results file", path);
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0)
        return tx_err_set(err, TX_EINVAL, "%s: not an HDF5 file", path);
    int rc = tx_h5_register_zstd(err);
    if (rc)
        return rc;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return tx_h5_fail(err, "%s: cannot open", path);
    return f;
}

/* 1 when every component of path (a/b/c, leading '/' allowed) exists, 0 when one does not,
 * negative on error. H5Lexists fails rather than answers for a missing intermediate group. */
static int path_exists(hid_t file, const char *path, tx_err *err)
{
    char buf[512];
    while (*path == '/')
        path++;
    if (!*path)
        return 1;
    if (strlen(path) >= sizeof buf)
        return tx_err_set(err, TX_EINVAL, "path too long: %s", path);
    for (size_t k = 0;; k++) {
        if (path[k] == '/' || path[k] == '\0') {
            memcpy(buf, path, k);
            buf[k] = '\0';
            htri_t e = H5Lexists(file, buf, H5P_DEFAULT);
            if (e < 0)
                return tx_h5_fail(err, "cannot look up '/%s'", buf);
            if (!e)
                return 0;
            if (path[k] == '\0')
                return 1;
        }
    }
}

/* Loads every dataset of the group at path. Subgroups and unsupported datasets are skipped
 * with a warning on stderr when warn_cmd is not NULL. TX_ENOTFOUND when the group is
 * absent, TX_EINVAL when path is not a group. */
static int load_group(hid_t file, const char *path, const char *warn_cmd, grp *g, tx_err *err)
{
    memset(g, 0, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s%s", path[0] == '/' ? "" : "/", path);
    for (size_t len = strlen(g->path); len > 1 && g->path[len - 1] == '/'; len--)
        g->path[len - 1] = '\0'; /* "enterprise/" is the group enterprise */
    int rc = path_exists(file, g->path, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tx_err_set(err, TX_ENOTFOUND, "no group %s in the file", g->path);
    rc = TX_OK;
    name_list l = {0};
    hid_t gid = H5Oopen(file, g->path, H5P_DEFAULT);
    if (gid < 0)
        return tx_h5_fail(err, "cannot open %s", g->path);
    H5I_type_t t = H5Iget_type(gid);
    if (t != H5I_GROUP) {
        rc = t == H5I_DATASET ? tx_err_set(err, TX_EINVAL, "%s is a dataset, not a group", g->path)
                              : tx_err_set(err, TX_EINVAL, "%s is not a group", g->path);
        goto done;
    }
    hsize_t idx = 0;
    if (H5Literate(gid, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_cb, &l) < 0) {
        rc = l.oom ? tx_err_set(err, TX_ENOMEM, "out of memory")
                   : tx_h5_fail(err, "cannot list %s", g->path);
        goto done;
    }
    if (l.n && !(g->cols = calloc(l.n, sizeof *g->cols))) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < l.n && !rc; k++) {
        hid_t obj = H5Oopen(gid, l.names[k], H5P_DEFAULT);
        if (obj < 0) {
            /* A dangling soft or external link: nothing to export. */
            if (warn_cmd)
                fprintf(stderr, "tanxiao %s: warning: %s/%s cannot be opened, skipped\n",
                        warn_cmd, grp_pfx(g), l.names[k]);
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        H5I_type_t ot = H5Iget_type(obj);
        H5Oclose(obj);
        if (ot != H5I_DATASET) {
            if (warn_cmd)
                fprintf(stderr, "tanxiao %s: warning: %s/%s is not a dataset, skipped\n",
                        warn_cmd, grp_pfx(g), l.names[k]);
            continue;
        }
        col *c = &g->cols[g->n];
        rc = load_col(gid, l.names[k], c, err);
        if (rc == 1) {
            if (warn_cmd)
                fprintf(stderr,
                        "tanxiao %s: warning: %s/%s has a type or rank export does not "
                        "write (only numbers and strings of 1 or 2 dimensions), skipped\n",
                        warn_cmd, grp_pfx(g), l.names[k]);
            col_destroy(c);
            rc = TX_OK;
            continue;
        }
        if (rc) {
            tx_err_prefix(err, "%s", g->path);
            break;
        }
        g->n++;
    }
done:
    name_list_free(&l);
    H5Oclose(gid);
    if (rc)
        grp_destroy(g);
    return rc;
}

/* ---- text tables ------------------------------------------------------------------------- */

typedef struct {
    size_t ncols, ncells, cap;
    char **cells; /* row-major; row 0 holds the headers */
    char align[32];
    int oom;
} table;

/* align: one character per column, 'l' or 'r'; then ncols header strings. */
static void tbl_init(table *t, const char *align, ...)
{
    memset(t, 0, sizeof *t);
    t->ncols = strlen(align);
    if (t->ncols >= sizeof t->align)
        t->ncols = sizeof t->align - 1;
    memcpy(t->align, align, t->ncols);
    va_list ap;
    va_start(ap, align);
    for (size_t k = 0; k < t->ncols; k++) {
        const char *h = va_arg(ap, const char *);
        size_t n = t->ncells;
        if (n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 64;
            char **p = realloc(t->cells, cap * sizeof *p);
            if (!p) {
                t->oom = 1;
                break;
            }
            t->cells = p;
            t->cap = cap;
        }
        if (!(t->cells[n] = strdup(h))) {
            t->oom = 1;
            break;
        }
        t->ncells++;
    }
    va_end(ap);
}

static void tbl_add(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tbl_add(table *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **p = realloc(t->cells, cap * sizeof *p);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->cells = p;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!s) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    t->cells[t->ncells++] = s;
}

/* Display width of UTF-8 text: CJK and full-width characters take two columns. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int len;
        if (*p < 0x80) {
            cp = *p;
            len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1Fu;
            len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0Fu;
            len = 3;
        } else {
            cp = *p & 0x07u;
            len = 4;
        }
        int k = 1;
        for (; k < len && (p[k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (p[k] & 0x3Fu);
        p += k;
        int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
        w += wide ? 2 : 1;
    }
    return w;
}

static void tbl_free(table *t)
{
    for (size_t k = 0; k < t->ncells; k++)
        free(t->cells[k]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Prints the table with two spaces between columns, a rule under the headers and no
 * trailing blanks. Returns TX_ENOMEM when a cell could not be stored. Frees the table. */
static int tbl_print(table *t, FILE *out, int indent)
{
    int rc = t->oom ? TX_ENOMEM : TX_OK;
    size_t width[32] = {0}, bytes = 0;
    for (size_t k = 0; !rc && k < t->ncells; k++) {
        size_t w = text_width(t->cells[k]);
        if (w > width[k % t->ncols])
            width[k % t->ncols] = w;
        bytes += strlen(t->cells[k]);
    }
    size_t total = 0;
    for (size_t j = 0; j < t->ncols; j++)
        total += width[j] + (j ? 2 : 0);
    /* One line never needs more than every cell's bytes plus the padding. */
    char *line = rc ? NULL : malloc(bytes + total + (size_t)indent + 2);
    if (!rc && !line)
        rc = TX_ENOMEM;
    for (size_t row = 0; !rc && row * t->ncols < t->ncells; row++) {
        size_t off = 0;
        memset(line, ' ', (size_t)indent);
        off = (size_t)indent;
        for (size_t c = 0; c < t->ncols && row * t->ncols + c < t->ncells; c++) {
            const char *cell = t->cells[row * t->ncols + c];
            size_t pad = width[c] - text_width(cell), len = strlen(cell);
            if (c) {
                memcpy(line + off, "  ", 2);
                off += 2;
            }
            if (t->align[c] == 'r') {
                memset(line + off, ' ', pad);
                off += pad;
            }
            memcpy(line + off, cell, len);
            off += len;
            if (t->align[c] != 'r') {
                memset(line + off, ' ', pad);
                off += pad;
            }
        }
        while (off > 0 && line[off - 1] == ' ')
            off--;
        fprintf(out, "%.*s\n", (int)off, line);
        if (row == 0) {
            fprintf(out, "%*s", indent, "");
            for (size_t j = 0; j < total; j++)
                fputc('-', out);
            fputc('\n', out);
        }
    }
    free(line);
    tbl_free(t);
    return rc;
}

/* ---- inspect ----------------------------------------------------------------------------- */

static const char inspect_help[] =
    "usage: tanxiao inspect RESULTS.h5 [options]\n"
    "\n"
    "Prints what a results file of 'tanxiao run' holds, as aligned text tables:\n"
    "  provenance  every root attribute: engine version, creation time, command line,\n"
    "              period, baseline, configuration, PV policy, price basis, grid factor and\n"
    "              its year, the reference tables and inputs with their checksums\n"
    "  city        totals, intensities and reductions vs the baseline of /city, with units;\n"
    "              enterprises by status and grade\n"
    "  industries  grades by industry (/industry): enterprises, OK, grades 1..5, the\n"
    "              benchmark intensity the grades were computed against and its members\n"
    "  districts   intensity reductions by district (/district) and the status of every\n"
    "              target (/targets) for the city and each district; then one line per\n"
    "              target: years, reduction asked and reached, and how many districts and\n"
    "              industries have met it, are on or off track or missed it\n"
    "  quality     enterprises by status; meters with each quality flag (gaps, rollovers,\n"
    "              replacements, spikes, implausible steps, stuck registers, negatives) and\n"
    "              their totals; the coverage distribution (min, p10, median; NaN counted\n"
    "              apart) of enterprises and meters, and how many fall below coverage_min\n"
    "  mujun       亩均 classes A..D by evaluation group (/mujun)\n"
    "  products    product lines by class (/products, when the run had products.csv)\n"
    "A section whose datasets are absent from the file says so.\n"
    "\n"
    "options:\n"
    "  --sections LIST   comma-separated sections to print, in the order above (default:\n"
    "                    all): provenance,city,industries,districts,quality,mujun,products\n"
    "  -h, --help        this help\n"
    "\n"
    "Percentiles interpolate linearly between the sorted values (p10 of n values sits at\n"
    "0.1 x (n - 1)). To get any table as CSV, use 'tanxiao export'.\n"
    "Exit status: 0 success, 1 the file cannot be read (reason on stderr), 2 usage error.\n";

enum {
    SEC_PROVENANCE = 1,
    SEC_CITY = 2,
    SEC_INDUSTRIES = 4,
    SEC_DISTRICTS = 8,
    SEC_QUALITY = 16,
    SEC_MUJUN = 32,
    SEC_PRODUCTS = 64,
    SEC_ALL = 127
};

static const char *const section_names[] = {"provenance", "city",  "industries", "districts",
                                            "quality",    "mujun", "products"};

/* Formats x with fmt, or "-" for NaN (and for a missing column: c NULL). */
static const char *num_or_dash(char *buf, size_t cap, const char *fmt, const col *c, size_t idx)
{
    double x = c && idx < c->n ? col_num(c, idx) : NAN;
    if (isnan(x))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, fmt, x);
    return buf;
}

/* ---- provenance ---- */

static herr_t attr_collect_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    return collect_cb(loc, name, NULL, data);
}

/* Formats attribute name of obj into out: strings as they are, numbers (arrays joined by
 * ", "), doubles with up to 10 significant digits. */
static int attr_format(hid_t obj, const char *name, char *out, size_t cap, tx_err *err)
{
    out[0] = '\0';
    int rc = TX_OK;
    hid_t attr = -1, type = -1, space = -1;
    double *vals = NULL;
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0 || (type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0) {
        rc = tx_h5_fail(err, "cannot read root attribute '%s'", name);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    hssize_t np = H5Sget_simple_extent_npoints(space);
    if (np < 0) {
        rc = tx_h5_fail(err, "cannot read root attribute '%s'", name);
        goto done;
    }
    if (cls == H5T_STRING && np == 1) {
        tx_err e = {0};
        if (tx_h5_attr_get_string(obj, name, out, cap, &e) != 0)
            snprintf(out, cap, "(unreadable string)");
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && np >= 1) {
        size_t n = (size_t)np;
        if (!(vals = malloc(n * sizeof *vals))) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            goto done;
        }
        if (cls == H5T_INTEGER && n == 1) {
            int64_t v;
            if ((rc = tx_h5_attr_get_int64(obj, name, &v, err)) != 0)
                goto done;
            snprintf(out, cap, "%" PRId64, v);
            goto done;
        }
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, vals) < 0) {
            rc = tx_h5_fail(err, "cannot read root attribute '%s'", name);
            goto done;
        }
        size_t off = 0;
        for (size_t k = 0; k < n && off < cap; k++)
            off += (size_t)snprintf(out + off, cap - off, "%s%.10g", k ? ", " : "", vals[k]);
    } else {
        snprintf(out, cap, "(%lld values of a type not shown)", (long long)np);
    }
done:
    free(vals);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

static int print_provenance(hid_t file, const char *path, FILE *out, tx_err *err)
{
    static const char *const order[] = {
        "engine",          "engine_version", "creation_time",  "command_line",
        "period",          "baseline",       "configuration",  "pv_policy",
        "electricity_basis", "price_basis",  "grid_factor_series", "grid_factor_year",
        "grid_factor_kgco2_per_kwh", "grid_factors", "grid_factor_year_base",
        "grid_factor_kgco2_per_kwh_base", "grid_factors_base", "industry_level",
        "below_scale", "coverage_min", "benchmark_min_members", "tables_dir", "tables",
        "inputs"};
    const size_t norder = sizeof order / sizeof order[0];
    name_list l = {0};
    char *val = NULL;
    int rc = TX_OK;
    hsize_t idx = 0;
    if (H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_collect_cb, &l) < 0) {
        rc = l.oom ? tx_err_set(err, TX_ENOMEM, "out of memory")
                   : tx_h5_fail(err, "cannot list the root attributes");
        goto done;
    }
    const size_t vcap = 65536;
    if (!(val = malloc(vcap))) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    struct stat sb;
    fprintf(out, "tanxiao results %s", path);
    if (stat(path, &sb) == 0)
        fprintf(out, " (%.1f MB)", (double)sb.st_size / 1e6);
    fprintf(out, "\n\nprovenance (root attributes)\n");
    size_t keyw = 0;
    for (size_t k = 0; k < l.n; k++)
        if (strlen(l.names[k]) > keyw)
            keyw = strlen(l.names[k]);
    /* Known attributes first in a reading order, then the rest by name. */
    int *done_flags = calloc(l.n ? l.n : 1, sizeof *done_flags);
    if (!done_flags) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t pass = 0; pass < 2 && !rc; pass++) {
        for (size_t o = 0; o < (pass ? l.n : norder) && !rc; o++) {
            size_t k = o;
            if (!pass) {
                for (k = 0; k < l.n && strcmp(l.names[k], order[o]) != 0; k++)
                    ;
                if (k == l.n)
                    continue;
            }
            if (done_flags[k])
                continue;
            done_flags[k] = 1;
            if ((rc = attr_format(file, l.names[k], val, vcap, err)) != 0)
                break;
            /* Long lists ("a; b; c") one item a line. */
            fprintf(out, "  %-*s  ", (int)keyw, l.names[k]);
            const char *p = val;
            int first = 1;
            while (*p) {
                const char *semi = strlen(val) > 60 ? strstr(p, "; ") : NULL;
                size_t len = semi ? (size_t)(semi - p) : strlen(p);
                if (!first)
                    fprintf(out, "  %-*s  ", (int)keyw, "");
                fprintf(out, "%.*s\n", (int)len, p);
                first = 0;
                p += len;
                if (semi)
                    p += 2;
            }
            if (first)
                fputc('\n', out);
        }
    }
    if (l.n == 0)
        fprintf(out, "  (none)\n");
    free(done_flags);
done:
    free(val);
    name_list_free(&l);
    return rc;
}

/* Loads a group for a section: 1 loaded, 0 absent (a line printed), negative on error. */
static int section_group(hid_t file, const char *path, grp *g, FILE *out, tx_err *err)
{
    int rc = load_group(file, path, NULL, g, err);
    if (rc == TX_ENOTFOUND) {
        fprintf(out, "  (no %s in this file)\n", path);
        return 0;
    }
    return rc ? rc : 1;
}

/* ---- city ---- */

static int print_city(hid_t file, FILE *out, const char *period, const char *baseline,
                      tx_err *err)
{
    fprintf(out, "\ncity, period %s%s%s\n", period[0] ? period : "?",
            baseline[0] ? ", reductions vs " : "", baseline);
    grp g;
    int rc = section_group(file, "/city", &g, out, err);
    if (rc <= 0)
        return rc;
    static const struct {
        const char *label, *total, *intensity, *change, *change_nbs;
    } q[] = {
        {"energy", "energy_tce", "energy_intensity", "energy_intensity_change_pct",
         "energy_intensity_change_pct_nbs"},
        {"CO2", "co2_t", "carbon_intensity", "co2_intensity_change_pct",
         "co2_intensity_change_pct_nbs"},
        {"water", "water_m3", "water_intensity", "water_intensity_change_pct",
         "water_intensity_change_pct_nbs"},
        {"value added", "value_added", NULL, NULL, NULL},
    };
    table t;
    tbl_init(&t, "lrlrlrr", "quantity", "total", "units", "intensity", "units",
             "reduction %", "NBS rounding %");
    char b1[64], b2[64], b3[64], b4[64];
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        const col *tot = grp_col(&g, q[k].total);
        const col *in = q[k].intensity ? grp_col(&g, q[k].intensity) : NULL;
        const col *ch = q[k].change ? grp_col(&g, q[k].change) : NULL;
        const col *cn = q[k].change_nbs ? grp_col(&g, q[k].change_nbs) : NULL;
        tbl_add(&t, "%s", q[k].label);
        tbl_add(&t, "%s", num_or_dash(b1, sizeof b1, "%.1f", tot, 0));
        tbl_add(&t, "%s", tot ? tot->units : "");
        tbl_add(&t, "%s", q[k].intensity ? num_or_dash(b2, sizeof b2, "%.4f", in, 0) : "");
        tbl_add(&t, "%s", in ? in->units : "");
        tbl_add(&t, "%s", q[k].change ? num_or_dash(b3, sizeof b3, "%.2f", ch, 0) : "");
        tbl_add(&t, "%s", q[k].change_nbs ? num_or_dash(b4, sizeof b4, "%.2f", cn, 0) : "");
    }
    rc = tbl_print(&t, out, 2);
    if (!rc) {
        static const char *const cnt[] = {"n_enterprises", "n_ok",        "n_incomplete",
                                          "n_not_rateable", "n_no_benchmark", "n_rated",
                                          "n_reduction"};
        static const char *const lab[] = {"enterprises", "OK", "INCOMPLETE", "NOT_RATEABLE",
                                          "NO_BENCHMARK", "rated", "in reductions"};
        fprintf(out, "  ");
        for (size_t k = 0; k < sizeof cnt / sizeof cnt[0]; k++)
            fprintf(out, "%s%s %s", k ? ", " : "", lab[k],
                    num_or_dash(b1, sizeof b1, "%.0f", grp_col(&g, cnt[k]), 0));
        fprintf(out, "\n  grades:");
        for (int k = 1; k <= 5; k++) {
            char name[16];
            snprintf(name, sizeof name, "n_grade_%d", k);
            fprintf(out, "%s%d: %s", k > 1 ? "  " : " ", k,
                    num_or_dash(b1, sizeof b1, "%.0f", grp_col(&g, name), 0));
        }
        fputc('\n', out);
    }
    grp_destroy(&g);
    return rc;
}

/* ---- industries ---- */

static int print_industries(hid_t file, FILE *out, tx_err *err)
{
    fprintf(out, "\ngrades by industry (/industry)\n");
    grp g;
    int rc = section_group(file, "/industry", &g, out, err);
    if (rc <= 0)
        return rc;
    const col *code = grp_col(&g, "industry_code");
    const col *bm = grp_col(&g, "benchmark_intensity");
    const col *members = grp_col(&g, "benchmark_members");
    const col *ci = grp_col(&g, "carbon_intensity"), *has = grp_col(&g, "has_benchmark");
    const col *n = grp_col(&g, "n_enterprises"), *ok = grp_col(&g, "n_ok");
    const col *gr[6] = {0};
    for (int k = 1; k <= 5; k++) {
        char name[16];
        snprintf(name, sizeof name, "n_grade_%d", k);
        gr[k] = grp_col(&g, name);
    }
    char units[80];
    snprintf(units, sizeof units, "benchmark %s", bm ? bm->units : "");
    table t;
    tbl_init(&t, "lrrrrrrrrr", "industry", "n", "OK", "1", "2", "3", "4", "5", units, "members");
    size_t rows = code ? code->n : n ? n->n : 0;
    double sum[7] = {0};
    char b[64];
    for (size_t r = 0; r < rows; r++) {
        tbl_add(&t, "%s", code ? col_str(code, r) : "?");
        tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", n, r));
        tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", ok, r));
        sum[0] += n && r < n->n ? col_num(n, r) : 0;
        sum[1] += ok && r < ok->n ? col_num(ok, r) : 0;
        for (int k = 1; k <= 5; k++) {
            tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", gr[k], r));
            sum[k + 1] += gr[k] && r < gr[k]->n ? col_num(gr[k], r) : 0;
        }
        /* A cell without enough members to grade shows its plain intensity in brackets. */
        double x = bm && r < bm->n ? col_num(bm, r) : NAN;
        int no_bm = has && r < has->n && col_num(has, r) == 0;
        if (isnan(x) && ci && r < ci->n)
            x = col_num(ci, r), no_bm = 1;
        if (no_bm && !isnan(x))
            tbl_add(&t, "(%.4f)", x);
        else
            tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.4f", bm, r));
        tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", members, r));
    }
    tbl_add(&t, "all");
    for (int k = 0; k < 7; k++)
        tbl_add(&t, "%.0f", sum[k]);
    tbl_add(&t, "%s", "");
    tbl_add(&t, "%s", "");
    rc = tbl_print(&t, out, 2);
    if (!rc)
        fprintf(out, "  (x): too few rated members to grade against, the cell's plain "
                     "intensity; grades 1 best .. 5 worst\n");
    grp_destroy(&g);
    return rc;
}

/* ---- districts and targets ---- */

static int find_str(const char **list, size_t n, const char *s)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k], s) == 0)
            return (int)k;
    return -1;
}

static int print_districts(hid_t file, FILE *out, tx_err *err)
{
    fprintf(out, "\ndistricts (/district) and targets (/targets)\n");
    grp d, tg = {0};
    int rc = section_group(file, "/district", &d, out, err);
    if (rc <= 0)
        return rc;
    rc = load_group(file, "/targets", NULL, &tg, err);
    int have_targets = rc == 0;
    if (rc == TX_ENOTFOUND)
        rc = TX_OK;
    const col *tid = NULL, *scope = NULL, *scode = NULL, *tstat = NULL;
    const char *ids[16];
    size_t nids = 0;
    if (!rc && have_targets) {
        tid = grp_col(&tg, "target_id");
        scope = grp_col(&tg, "scope");
        scode = grp_col(&tg, "scope_code");
        tstat = grp_col(&tg, "status");
        if (!tid || !scope || !scode || !tstat || tid->kind != COL_STR ||
            scope->kind != COL_STR || scode->kind != COL_STR || tstat->kind == COL_STR)
            have_targets = 0;
    }
    /* Targets in order of first appearance (at most 16 columns). */
    for (size_t r = 0; !rc && have_targets && r < tid->n && nids < 16; r++)
        if (find_str(ids, nids, col_str(tid, r)) < 0 && strcmp(col_str(scope, r), "industry"))
            ids[nids++] = col_str(tid, r);
    const col *code = grp_col(&d, "district_code"), *n = grp_col(&d, "n_enterprises");
    const col *ok = grp_col(&d, "n_ok");
    const col *ch[3] = {grp_col(&d, "energy_intensity_change_pct"),
                        grp_col(&d, "co2_intensity_change_pct"),
                        grp_col(&d, "water_intensity_change_pct")};
    table t;
    char align[32] = "lrrrrr";
    for (size_t k = 0; k < nids; k++)
        strcat(align, "l");
    tbl_init(&t, "lrrrrr", "district", "n", "OK", "energy %", "CO2 %", "water %");
    if (!rc) {
        /* The target headers are added as cells of the header row. */
        t.ncols = 6 + nids;
        memcpy(t.align, align, t.ncols);
        for (size_t k = 0; k < nids; k++)
            tbl_add(&t, "%s", ids[k]);
    }
    char b[128];
    grp city = {0};
    int have_city = 0;
    if (!rc) {
        rc = load_group(file, "/city", NULL, &city, err);
        have_city = rc == 0;
        if (rc == TX_ENOTFOUND)
            rc = TX_OK;
    }
    size_t rows = code ? code->n : 0;
    for (size_t r = 0; !rc && r < rows + 1; r++) {
        /* The city first, then every district. */
        int is_city = r == 0;
        size_t i = r - 1;
        const grp *src = is_city ? (have_city ? &city : NULL) : &d;
        const col *cn = src ? grp_col(src, "n_enterprises") : NULL;
        const col *cok = src ? grp_col(src, "n_ok") : NULL;
        if (is_city && !src)
            continue;
        tbl_add(&t, "%s", is_city ? "city" : col_str(code, i));
        tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", is_city ? cn : n, is_city ? 0 : i));
        tbl_add(&t, "%s", num_or_dash(b, sizeof b, "%.0f", is_city ? cok : ok, is_city ? 0 : i));
        static const char *const chn[3] = {"energy_intensity_change_pct",
                                           "co2_intensity_change_pct",
                                           "water_intensity_change_pct"};
        for (int k = 0; k < 3; k++)
            tbl_add(&t, "%s",
                    num_or_dash(b, sizeof b, "%.2f", is_city ? grp_col(src, chn[k]) : ch[k],
                                is_city ? 0 : i));
        for (size_t k = 0; k < nids; k++) {
            const char *cell = "";
            for (size_t tr = 0; tr < tid->n; tr++) {
                if (strcmp(col_str(tid, tr), ids[k]) != 0)
                    continue;
                if (is_city ? strcmp(col_str(scope, tr), "city") == 0
                            : strcmp(col_str(scope, tr), "district") == 0 &&
                                  strcmp(col_str(scode, tr), col_str(code, i)) == 0) {
                    code_name(tstat, col_code(tstat, tr), b, sizeof b);
                    cell = b;
                    break;
                }
            }
            tbl_add(&t, "%s", cell);
        }
    }
    if (!rc)
        rc = tbl_print(&t, out, 2);
    else
        tbl_free(&t);
    if (!rc)
        fprintf(out, "  reductions of intensity vs the baseline at comparable prices, positive "
                     "= fell; blank: target not set for that scope\n");
    if (!rc && have_targets) {
        /* One line per target: what it asks and how the scopes stand. */
        const col *ind = grp_col(&tg, "indicator"), *by = grp_col(&tg, "base_year");
        const col *ty = grp_col(&tg, "target_year"), *tp = grp_col(&tg, "target_reduction_pct");
        const col *rp = grp_col(&tg, "reduction_pct");
        const char *all[64];
        size_t nall = 0;
        for (size_t r = 0; r < tid->n && nall < 64; r++)
            if (find_str(all, nall, col_str(tid, r)) < 0)
                all[nall++] = col_str(tid, r);
        fprintf(out, "\n  targets (status counts: met / on_track / off_track / missed / "
                     "not_evaluable)\n");
        table tt;
        tbl_init(&tt, "llrrrrlll", "target", "indicator", "base", "due", "asks %", "city %",
                 "city", "districts", "industries");
        for (size_t k = 0; k < nall; k++) {
            size_t first = 0;
            long cnt[2][5] = {{0}};
            const char *cstat = "";
            char cbuf[64] = "", rbuf[64] = "-";
            for (size_t r = tid->n; r-- > 0;) {
                if (strcmp(col_str(tid, r), all[k]) != 0)
                    continue;
                first = r;
                const char *sc = col_str(scope, r);
                int64_t s = col_code(tstat, r);
                /* Codes of RESULTS: 0 not_evaluable, 1 met, 2 on_track, 3 off_track,
                 * 4 missed; shown in the order met..missed, not_evaluable. */
                int slot = s >= 1 && s <= 4 ? (int)s - 1 : 4;
                if (strcmp(sc, "district") == 0)
                    cnt[0][slot]++;
                else if (strcmp(sc, "industry") == 0)
                    cnt[1][slot]++;
                else if (strcmp(sc, "city") == 0) {
                    code_name(tstat, s, cbuf, sizeof cbuf);
                    cstat = cbuf;
                    num_or_dash(rbuf, sizeof rbuf, "%.2f", rp, r);
                }
            }
            tbl_add(&tt, "%s", all[k]);
            tbl_add(&tt, "%s", ind ? col_str(ind, first) : "");
            tbl_add(&tt, "%s", num_or_dash(b, sizeof b, "%.0f", by, first));
            tbl_add(&tt, "%s", num_or_dash(b, sizeof b, "%.0f", ty, first));
            tbl_add(&tt, "%s", num_or_dash(b, sizeof b, "%.2f", tp, first));
            tbl_add(&tt, "%s", rbuf);
            tbl_add(&tt, "%s", cstat);
            for (int s = 0; s < 2; s++) {
                long tot = cnt[s][0] + cnt[s][1] + cnt[s][2] + cnt[s][3] + cnt[s][4];
                if (tot)
                    tbl_add(&tt, "%ld / %ld / %ld / %ld / %ld", cnt[s][0], cnt[s][1], cnt[s][2],
                            cnt[s][3], cnt[s][4]);
                else
                    tbl_add(&tt, "-");
            }
        }
        rc = tbl_print(&tt, out, 2);
    }
    grp_destroy(&city);
    grp_destroy(&tg);
    grp_destroy(&d);
    return rc;
}

/* ---- data quality ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default). */
static double quantile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (pos - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

static void coverage_row(table *t, const char *label, const col *c, double cmin)
{
    char b[5][32];
    if (!c || c->kind == COL_STR) {
        tbl_add(t, "%s", label);
        for (int k = 0; k < 7; k++)
            tbl_add(t, "-");
        return;
    }
    double *v = malloc((c->n ? c->n : 1) * sizeof *v);
    if (!v) {
        t->oom = 1;
        return;
    }
    size_t n = 0, nan = 0, below = 0;
    for (size_t k = 0; k < c->n; k++) {
        double x = col_num(c, k);
        if (isnan(x))
            nan++;
        else {
            v[n++] = x;
            below += x < cmin;
        }
    }
    qsort(v, n, sizeof *v, cmp_double);
    double q[4] = {n ? v[0] : NAN, quantile(v, n, 0.10), quantile(v, n, 0.5), n ? v[n - 1] : NAN};
    for (int k = 0; k < 4; k++) {
        if (isnan(q[k]))
            snprintf(b[k], sizeof b[k], "-");
        else
            snprintf(b[k], sizeof b[k], "%.4f", q[k]);
    }
    if (isnan(cmin))
        snprintf(b[4], sizeof b[4], "-");
    else
        snprintf(b[4], sizeof b[4], "%zu", below);
    tbl_add(t, "%s", label);
    tbl_add(t, "%zu", n);
    tbl_add(t, "%zu", nan);
    for (int k = 0; k < 4; k++)
        tbl_add(t, "%s", b[k]);
    tbl_add(t, "%s", b[4]);
    free(v);
}

static int print_quality(hid_t file, FILE *out, double cmin, tx_err *err)
{
    fprintf(out, "\ndata quality\n");
    grp e, m = {0};
    int rc = section_group(file, "/enterprise", &e, out, err);
    if (rc < 0)
        return rc;
    int have_e = rc == 1;
    rc = TX_OK;
    const col *st = have_e ? grp_col(&e, "status") : NULL;
    if (st && st->kind != COL_STR && st->rank == 1) {
        /* Every meaning, then any code outside the meanings. */
        table t;
        tbl_init(&t, "lrrl", "enterprise status", "n", "share %", "code");
        size_t nv = st->nflags;
        for (size_t k = 0; k < nv; k++) {
            size_t cnt = 0;
            for (size_t r = 0; r < st->n; r++)
                cnt += col_code(st, r) == st->flag_values[k];
            tbl_add(&t, "%s", st->flag_names[k]);
            tbl_add(&t, "%zu", cnt);
            tbl_add(&t, "%.1f", st->n ? 100.0 * (double)cnt / (double)st->n : 0.0);
            tbl_add(&t, "%" PRId64, st->flag_values[k]);
        }
        size_t other = 0;
        for (size_t r = 0; r < st->n; r++) {
            size_t k = 0;
            while (k < nv && col_code(st, r) != st->flag_values[k])
                k++;
            other += k == nv;
        }
        if (other || nv == 0) {
            tbl_add(&t, "%s", nv ? "other codes" : "(no flag meanings)");
            tbl_add(&t, "%zu", other);
            tbl_add(&t, "%.1f", st->n ? 100.0 * (double)other / (double)st->n : 0.0);
            tbl_add(&t, "%s", "");
        }
        tbl_add(&t, "all");
        tbl_add(&t, "%zu", st->n);
        tbl_add(&t, "100.0");
        tbl_add(&t, "%s", "");
        rc = tbl_print(&t, out, 2);
        fputc('\n', out);
    }
    if (!rc) {
        rc = load_group(file, "/meter", NULL, &m, err);
        if (rc == TX_ENOTFOUND) {
            fprintf(out, "  (no /meter in this file)\n");
            rc = TX_OK;
        } else if (!rc) {
            /* Every counter of /meter: integer columns without flag meanings. The usual ones
             * first, in the order a reader looks for them. */
            static const char *const pref[] = {"gaps",        "gap_intervals", "rollovers",
                                               "replacements", "multiplier_changes", "spikes",
                                               "implausible", "stuck_intervals", "negatives"};
            const size_t npref = sizeof pref / sizeof pref[0];
            table t;
            tbl_init(&t, "lrrl", "meter flag", "meters", "total", "meaning");
            size_t nmeters = 0;
            for (size_t pass = 0; pass < 2; pass++) {
                for (size_t o = 0; o < (pass ? m.n : npref); o++) {
                    const col *c = pass ? &m.cols[o] : grp_col(&m, pref[o]);
                    if (!c || c->kind == COL_STR || c->kind == COL_FLOAT || c->nflags ||
                        c->rank != 1)
                        continue;
                    if (pass) {
                        size_t k = 0;
                        while (k < npref && strcmp(pref[k], c->name) != 0)
                            k++;
                        if (k < npref)
                            continue;
                    }
                    size_t with = 0;
                    double total = 0;
                    for (size_t r = 0; r < c->n; r++) {
                        double x = col_num(c, r);
                        with += x != 0;
                        total += x;
                    }
                    nmeters = c->n;
                    tbl_add(&t, "%s", c->name);
                    tbl_add(&t, "%zu", with);
                    tbl_add(&t, "%.0f", total);
                    tbl_add(&t, "%s", c->long_name);
                }
            }
            fprintf(out, "  %zu meters\n", nmeters ? nmeters : (m.n ? m.cols[0].n : 0));
            rc = tbl_print(&t, out, 2);
            fputc('\n', out);
        }
    }
    if (!rc) {
        char head[64];
        if (isnan(cmin))
            snprintf(head, sizeof head, "below min");
        else
            snprintf(head, sizeof head, "below %g", cmin);
        table t;
        tbl_init(&t, "lrrrrrrr", "coverage", "n", "NaN", "min", "p10", "median", "max", head);
        coverage_row(&t, "enterprise coverage", have_e ? grp_col(&e, "coverage") : NULL, cmin);
        coverage_row(&t, "enterprise coverage, baseline",
                     have_e ? grp_col(&e, "coverage_base") : NULL, cmin);
        coverage_row(&t, "enterprise water coverage",
                     have_e ? grp_col(&e, "water_coverage") : NULL, cmin);
        coverage_row(&t, "meter coverage", grp_col(&m, "coverage"), cmin);
        coverage_row(&t, "meter coverage, baseline", grp_col(&m, "coverage_base"), cmin);
        rc = tbl_print(&t, out, 2);
        if (!rc)
            fprintf(out, "  NaN: no meter of that kind (or no baseline)\n");
    }
    grp_destroy(&m);
    grp_destroy(&e);
    return rc;
}

/* ---- 亩均 and products: counts of a code column by a second code column ---- */

static int print_crosstab(FILE *out, const col *rows, const col *cols, const char *corner)
{
    if (!rows || !cols || rows->kind == COL_STR || cols->kind == COL_STR || rows->n != cols->n) {
        fprintf(out, "  (columns missing)\n");
        return TX_OK;
    }
    /* Distinct values in order of the flag meanings, then others as they come. */
    int64_t rv[64], cv[64];
    size_t nr = 0, nc = 0;
    for (size_t k = 0; k < rows->nflags && nr < 64; k++)
        rv[nr++] = rows->flag_values[k];
    for (size_t k = 0; k < cols->nflags && nc < 64; k++)
        cv[nc++] = cols->flag_values[k];
    for (size_t r = 0; r < rows->n; r++) {
        int64_t a = col_code(rows, r), b = col_code(cols, r);
        size_t k = 0;
        while (k < nr && rv[k] != a)
            k++;
        if (k == nr && nr < 64)
            rv[nr++] = a;
        k = 0;
        while (k < nc && cv[k] != b)
            k++;
        if (k == nc && nc < 64)
            cv[nc++] = b;
    }
    if (nc > 30)
        nc = 30;
    table t;
    char align[32] = "l";
    for (size_t k = 0; k < nc; k++)
        align[k + 1] = 'r';
    align[nc + 1] = 'r';
    align[nc + 2] = '\0';
    tbl_init(&t, "l", corner);
    t.ncols = nc + 2;
    memcpy(t.align, align, t.ncols);
    char b[128];
    for (size_t k = 0; k < nc; k++) {
        code_name(cols, cv[k], b, sizeof b);
        tbl_add(&t, "%s", b);
    }
    tbl_add(&t, "all");
    for (size_t i = 0; i < nr; i++) {
        code_name(rows, rv[i], b, sizeof b);
        tbl_add(&t, "%s", b);
        size_t tot = 0;
        for (size_t j = 0; j < nc; j++) {
            size_t cnt = 0;
            for (size_t r = 0; r < rows->n; r++)
                cnt += col_code(rows, r) == rv[i] && col_code(cols, r) == cv[j];
            tbl_add(&t, "%zu", cnt);
            tot += cnt;
        }
        tbl_add(&t, "%zu", tot);
    }
    return tbl_print(&t, out, 2);
}

static int print_mujun(hid_t file, FILE *out, tx_err *err)
{
    fprintf(out, "\n亩均 evaluation (/mujun)\n");
    grp g;
    int rc = section_group(file, "/mujun", &g, out, err);
    if (rc <= 0)
        return rc;
    hid_t gid = H5Gopen2(file, "/mujun", H5P_DEFAULT);
    if (gid < 0) {
        grp_destroy(&g);
        return tx_h5_fail(err, "cannot open /mujun");
    }
    char prof[128] = "";
    int64_t year = 0;
    tx_err e = {0};
    attr_string_opt(gid, "profile", prof, sizeof prof);
    if (tx_h5_attr_get_int64(gid, "profile_year", &year, &e) == 0)
        fprintf(out, "  profile %s (%" PRId64 ")\n", prof[0] ? prof : "?", year);
    else if (prof[0])
        fprintf(out, "  profile %s\n", prof);
    H5Gclose(gid);
    rc = print_crosstab(out, grp_col(&g, "group"), grp_col(&g, "class"), "group");
    grp_destroy(&g);
    return rc;
}

static int print_products(hid_t file, FILE *out, tx_err *err)
{
    fprintf(out, "\nproduct lines (/products)\n");
    grp g;
    int rc = section_group(file, "/products", &g, out, err);
    if (rc <= 0)
        return rc;
    const col *prod = grp_col(&g, "product"), *cls = grp_col(&g, "class");
    if (!prod || !cls || prod->kind != COL_STR || cls->kind == COL_STR || prod->n != cls->n) {
        fprintf(out, "  (columns missing)\n");
        grp_destroy(&g);
        return TX_OK;
    }
    /* Products as rows: a string column, so count per distinct product id. */
    size_t cap = prod->n ? prod->n : 1, np = 0;
    const char **ids = malloc(cap * sizeof *ids);
    int64_t cv[32];
    size_t nc = 0;
    if (!ids) {
        grp_destroy(&g);
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < cls->nflags && nc < 29; k++)
        cv[nc++] = cls->flag_values[k];
    for (size_t r = 0; r < prod->n; r++) {
        size_t k = 0;
        while (k < np && strcmp(ids[k], col_str(prod, r)) != 0)
            k++;
        if (k == np)
            ids[np++] = col_str(prod, r);
        int64_t v = col_code(cls, r);
        k = 0;
        while (k < nc && cv[k] != v)
            k++;
        if (k == nc && nc < 29)
            cv[nc++] = v;
    }
    table t;
    char align[32] = "l";
    for (size_t k = 0; k <= nc; k++)
        align[k + 1] = 'r';
    tbl_init(&t, "l", "product");
    t.ncols = nc + 2;
    memcpy(t.align, align, t.ncols);
    char b[128];
    for (size_t k = 0; k < nc; k++) {
        code_name(cls, cv[k], b, sizeof b);
        tbl_add(&t, "%s", b);
    }
    tbl_add(&t, "all");
    for (size_t i = 0; i < np; i++) {
        tbl_add(&t, "%s", ids[i]);
        size_t tot = 0;
        for (size_t j = 0; j < nc; j++) {
            size_t cnt = 0;
            for (size_t r = 0; r < prod->n; r++)
                cnt += strcmp(col_str(prod, r), ids[i]) == 0 && col_code(cls, r) == cv[j];
            tbl_add(&t, "%zu", cnt);
            tot += cnt;
        }
        tbl_add(&t, "%zu", tot);
    }
    rc = tbl_print(&t, out, 2);
    free(ids);
    grp_destroy(&g);
    return rc;
}

static int parse_sections(const char *s, int *mask)
{
    *mask = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t k = 0;
        for (; k < sizeof section_names / sizeof section_names[0]; k++)
            if (strlen(section_names[k]) == len && strncmp(section_names[k], p, len) == 0)
                break;
        if (k == sizeof section_names / sizeof section_names[0])
            return -1;
        *mask |= 1 << k;
        p += len;
        if (*p == ',')
            p++;
    }
    return *mask ? 0 : -1;
}

int tx_inspect_main(int argc, char **argv)
{
    static const struct option opts[] = {{"sections", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int mask = SEC_ALL, c;
    optind = 1;
    opterr = 0; /* getopt's own messages would make a second line */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (parse_sections(optarg, &mask))
                return usage_error("inspect",
                                   "--sections takes a comma-separated list of provenance, "
                                   "city, industries, districts, quality, mujun, products");
            break;
        case 'h':
            fputs(inspect_help, stdout);
            return 0;
        case ':':
            return usage_error("inspect", "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error("inspect", "needs exactly one results file");
    const char *path = argv[optind];
    tx_err err = {0};
    hid_t file = open_results(path, &err);
    if (file < 0)
        return fail("inspect", &err);
    char period[64] = "", baseline[64] = "", cmin_s[64] = "";
    attr_string_opt(file, "period", period, sizeof period);
    attr_string_opt(file, "baseline", baseline, sizeof baseline);
    double cmin = NAN;
    if (attr_format(file, "coverage_min", cmin_s, sizeof cmin_s, &err) == 0 && cmin_s[0])
        cmin = strtod(cmin_s, NULL);
    H5Eclear2(H5E_DEFAULT);
    err = (tx_err){0};
    int rc = TX_OK;
    FILE *out = stdout;
    if (mask & SEC_PROVENANCE)
        rc = print_provenance(file, path, out, &err);
    else
        fprintf(out, "tanxiao results %s, period %s%s%s\n", path, period[0] ? period : "?",
                baseline[0] ? ", baseline " : "", baseline);
    if (!rc && (mask & SEC_CITY))
        rc = print_city(file, out, period, baseline, &err);
    if (!rc && (mask & SEC_INDUSTRIES))
        rc = print_industries(file, out, &err);
    if (!rc && (mask & SEC_DISTRICTS))
        rc = print_districts(file, out, &err);
    if (!rc && (mask & SEC_QUALITY))
        rc = print_quality(file, out, cmin, &err);
    if (!rc && (mask & SEC_MUJUN))
        rc = print_mujun(file, out, &err);
    if (!rc && (mask & SEC_PRODUCTS))
        rc = print_products(file, out, &err);
    if (H5Fclose(file) < 0 && !rc)
        rc = tx_h5_fail(&err, "%s: cannot close", path);
    if (rc) {
        fflush(out);
        if (err.code == 0)
            tx_err_set(&err, rc, "%s", tx_strerror(rc));
        return fail("inspect", &err);
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "tanxiao inspect: error: cannot write the output: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    return 0;
}

/* ---- export ------------------------------------------------------------------------------ */

static const char export_help[] =
    "usage: tanxiao export RESULTS.h5 GROUP [options]\n"
    "\n"
    "Writes one group of a results file (enterprise, meter, industry, district, city,\n"
    "targets, mujun, series, products, or any other group; the leading '/' is optional) as\n"
    "CSV: RFC 4180, UTF-8, a header row of dataset names, one row per entity and one column\n"
    "per 1-D dataset. The key columns come first (string datasets named *_id, then the\n"
    "other strings), then the numbers, each in name order. Fields holding a comma, a double\n"
    "quote or a line break are quoted, quotes doubled. Numbers are written exactly: integers\n"
    "as integers, floats with the fewest of 15, 16 or 17 significant digits that read back\n"
    "to the same double (%.17g precision where needed); a missing float (NaN) is an empty\n"
    "cell, never 'nan'; infinities are 'inf' and '-inf'. Strings are the stored UTF-8 with\n"
    "the NUL padding removed.\n"
    "\n"
    "Coded columns (integers with flag_values and flag_meanings attributes, such as\n"
    "/enterprise/status) are written twice by default: NAME holds the meaning (OK,\n"
    "INCOMPLETE, ...) and NAME_code the number. A code without a meaning is written as its\n"
    "number. Bit sets (every flag value a power of two, /mujun/flags) join the names of the\n"
    "bits set with '|'; 0 is an empty cell.\n"
    "\n"
    "2-D datasets ([row, column], such as /series/co2_t [enterprise, month]) are written in\n"
    "long form: one CSV row per (row, column), ordered by row then column. The row columns\n"
    "(the row dimension scale, /series/enterprise_id) come first; then, for each column\n"
    "dimension scale (month, month_base), the scale's value and every 2-D dataset attached\n"
    "to it. So /series gives enterprise_id,month,co2_t,energy_tce,water_m3,month_base,\n"
    "co2_t_base,... with 12 rows per enterprise. A 2-D dataset without a column scale gets a\n"
    "0-based 'column' index instead; shorter datasets leave their cells empty.\n"
    "\n"
    "A group without any string column whose length equals /enterprise's (/mujun) has its\n"
    "rows in /enterprise order: /enterprise/enterprise_id is added as the first column.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   write to FILE (written under a temporary name, then renamed:\n"
    "                      complete or absent); '-' or absent: standard output\n"
    "  --bom               start with a UTF-8 byte order mark (EF BB BF), so spreadsheet\n"
    "                      programs read the Chinese text as UTF-8\n"
    "  --columns A,B,...   only these output columns, in this order (names as in the header,\n"
    "                      e.g. enterprise_id,status,status_code,co2_t)\n"
    "  --codes             coded columns as plain numbers only, under their own names\n"
    "  --names-only        coded columns as meanings only (no NAME_code column)\n"
    "  --lf                end lines with LF instead of RFC 4180's CRLF\n"
    "  -h, --help          this help\n"
    "\n"
    "Datasets of other types (compound, enum) or of more than 2 dimensions, and subgroups,\n"
    "are skipped with a warning on stderr.\n"
    "Exit status: 0 success, 1 failure (missing file or group, unknown column, write error;\n"
    "reason on stderr), 2 usage error.\n";

enum { CODES_BOTH, CODES_NUMBERS, CODES_NAMES };
enum { AX_ROW, AX_COLSCALE, AX_CELL, AX_INDEX };

typedef struct {
    char name[160];
    const col *c;
    int axis;    /* AX_ROW: element r; AX_COLSCALE: element j; AX_CELL: element (r, j);
                    AX_INDEX: j itself */
    int meaning; /* 1: write the code's meaning */
} outcol;

typedef struct {
    FILE *f;
    const char *eol;
} csv_out;

static void csv_field(csv_out *w, const char *s, int first)
{
    if (!first)
        putc(',', w->f);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, w->f);
        return;
    }
    putc('"', w->f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            putc('"', w->f);
        putc(*p, w->f);
    }
    putc('"', w->f);
}

/* The shortest of %.15g, %.16g, %.17g that reads back to the same double. */
static void format_double(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Text of one cell; returns a pointer to the text (buf or the column's storage). */
static const char *cell_text(const outcol *oc, size_t r, size_t j, char *buf, size_t cap)
{
    const col *c = oc->c;
    size_t idx;
    buf[0] = '\0';
    switch (oc->axis) {
    case AX_INDEX:
        snprintf(buf, cap, "%zu", j);
        return buf;
    case AX_ROW:
        if (r >= c->n)
            return buf;
        idx = r;
        break;
    case AX_COLSCALE:
        if (j >= c->n)
            return buf;
        idx = j;
        break;
    default:
        if (r >= c->dims[0] || j >= c->dims[1])
            return buf;
        idx = r * c->dims[1] + j;
        break;
    }
    switch (c->kind) {
    case COL_STR:
        return c->s + idx * c->width;
    case COL_FLOAT:
        format_double(buf, cap, c->f[idx]);
        return buf;
    default:
        if (oc->meaning)
            code_name(c, col_code(c, idx), buf, cap);
        else if (c->kind == COL_INT)
            snprintf(buf, cap, "%" PRId64, c->i[idx]);
        else
            snprintf(buf, cap, "%" PRIu64, c->u[idx]);
        return buf;
    }
}

typedef struct {
    outcol *v;
    size_t n, cap;
} outcols;

static int oc_push(outcols *o, const col *c, int axis, int meaning, const char *name)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 32;
        outcol *p = realloc(o->v, cap * sizeof *p);
        if (!p)
            return TX_ENOMEM;
        o->v = p;
        o->cap = cap;
    }
    outcol *oc = &o->v[o->n++];
    memset(oc, 0, sizeof *oc);
    snprintf(oc->name, sizeof oc->name, "%s", name);
    oc->c = c;
    oc->axis = axis;
    oc->meaning = meaning;
    return TX_OK;
}

/* One dataset as one or two output columns, depending on codes. */
static int oc_push_col(outcols *o, const col *c, int axis, int codes)
{
    if (c->nflags == 0 || c->kind == COL_STR || c->kind == COL_FLOAT || codes == CODES_NUMBERS)
        return oc_push(o, c, axis, 0, c->name);
    int rc = oc_push(o, c, axis, 1, c->name);
    if (!rc && codes == CODES_BOTH) {
        char name[160];
        snprintf(name, sizeof name, "%s_code", c->name);
        rc = oc_push(o, c, axis, 0, name);
    }
    return rc;
}

/* Lays out the output columns of group g and the row counts (rows x per_row CSV rows). */
static int plan_columns(const grp *g, const col *ids, int codes, outcols *o, size_t *rows,
                        size_t *per_row, const char *warn_cmd, tx_err *err)
{
    int rc = TX_OK;
    const col *first2 = NULL;
    for (size_t k = 0; k < g->n && !first2; k++)
        if (g->cols[k].rank == 2)
            first2 = &g->cols[k];
    *per_row = 1;
    if (!first2) {
        size_t r = 0;
        for (size_t k = 0; k < g->n; k++)
            if (g->cols[k].n > r)
                r = g->cols[k].n;
        for (size_t k = 0; k < g->n; k++)
            if (g->cols[k].n != r && warn_cmd)
                fprintf(stderr,
                        "tanxiao %s: warning: %s/%s has %zu rows, the group %zu; the rest of "
                        "its cells are empty\n",
                        warn_cmd, grp_pfx(g), g->cols[k].name, g->cols[k].n, r);
        *rows = r;
        if (ids)
            rc = oc_push(o, ids, AX_ROW, 0, "enterprise_id");
        /* Keys first: string columns named *_id, other strings, then the numbers. */
        for (int pass = 0; pass < 3 && !rc; pass++) {
            for (size_t k = 0; k < g->n && !rc; k++) {
                const col *c = &g->cols[k];
                size_t len = strlen(c->name);
                int is_id = len >= 3 && strcmp(c->name + len - 3, "_id") == 0;
                int p = c->kind != COL_STR ? 2 : is_id ? 0 : 1;
                if (p == pass)
                    rc = oc_push_col(o, c, AX_ROW, codes);
            }
        }
        return rc ? tx_err_set(err, rc, "out of memory") : TX_OK;
    }
    /* Long form. Rows: the first 2-D dataset's row count; per row: the widest column count. */
    const size_t R = first2->dims[0];
    size_t C = 0;
    int *used = calloc(g->n, sizeof *used);
    if (!used)
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    for (size_t k = 0; k < g->n; k++) {
        const col *c = &g->cols[k];
        if (c->rank != 2)
            continue;
        if (c->dims[0] != R) {
            if (warn_cmd)
                fprintf(stderr,
                        "tanxiao %s: warning: %s/%s has %zu rows, not %zu like %s; skipped\n",
                        warn_cmd, grp_pfx(g), c->name, c->dims[0], R, first2->name);
            used[k] = 1;
            continue;
        }
        if (c->dims[1] > C)
            C = c->dims[1];
        /* A 1-D column scale is not a row column, even when its length happens to be R. */
        for (size_t s = 0; s < g->n; s++)
            if (g->cols[s].rank < 2 && c->scale[1][0] && strcmp(g->cols[s].name, c->scale[1]) == 0)
                used[s] = 2;
    }
    /* Row columns: the row scale first, then every other 1-D dataset of R rows. */
    const col *rs = first2->scale[0][0] ? grp_col(g, first2->scale[0]) : NULL;
    if (rs && (rs->rank == 2 || rs->n != R))
        rs = NULL;
    if (rs) {
        rc = oc_push_col(o, rs, AX_ROW, codes);
        used[rs - g->cols] = 1;
    }
    for (size_t k = 0; k < g->n && !rc; k++) {
        const col *c = &g->cols[k];
        if (c->rank < 2 && !used[k] && c->n == R) {
            rc = oc_push_col(o, c, AX_ROW, codes);
            used[k] = 1;
        }
    }
    /* Each column scale in order of first use, with its datasets; then unscaled ones. */
    for (size_t k = 0; k < g->n && !rc; k++) {
        const col *c = &g->cols[k];
        if (c->rank != 2 || used[k])
            continue;
        const col *cs = c->scale[1][0] ? grp_col(g, c->scale[1]) : NULL;
        if (cs && cs->rank == 2)
            cs = NULL;
        if (cs) {
            rc = oc_push_col(o, cs, AX_COLSCALE, codes);
            used[cs - g->cols] = 1;
        } else {
            rc = oc_push(o, NULL, AX_INDEX, 0, "column");
        }
        for (size_t m = k; m < g->n && !rc; m++) {
            const col *d = &g->cols[m];
            if (d->rank != 2 || used[m])
                continue;
            const col *ds = d->scale[1][0] ? grp_col(g, d->scale[1]) : NULL;
            if (ds && ds->rank == 2)
                ds = NULL;
            if (ds == cs) {
                rc = oc_push_col(o, d, AX_CELL, codes);
                used[m] = 1;
            }
        }
    }
    for (size_t k = 0; k < g->n && !rc; k++)
        if (!used[k] && warn_cmd)
            fprintf(stderr,
                    "tanxiao %s: warning: %s/%s (%zu elements) is neither a row column nor a "
                    "column scale of the 2-D datasets; skipped\n",
                    warn_cmd, grp_pfx(g), g->cols[k].name, g->cols[k].n);
    free(used);
    *rows = R;
    *per_row = C;
    return rc ? tx_err_set(err, TX_ENOMEM, "out of memory") : TX_OK;
}

/* Keeps the columns named in list (comma-separated), in that order. */
static int select_columns(outcols *o, const char *list, const char *group, tx_err *err)
{
    outcols sel = {0};
    int rc = TX_OK;
    const char *p = list;
    while (*p && !rc) {
        size_t len = strcspn(p, ",");
        size_t k = 0;
        while (k < o->n && !(strlen(o->v[k].name) == len && strncmp(o->v[k].name, p, len) == 0))
            k++;
        if (k == o->n) {
            char avail[512];
            size_t off = 0;
            for (size_t m = 0; m < o->n && off < sizeof avail; m++)
                off += (size_t)snprintf(avail + off, sizeof avail - off, "%s%s", m ? "," : "",
                                        o->v[m].name);
            if (off >= sizeof avail)
                strcpy(avail + sizeof avail - 4, "...");
            rc = tx_err_set(err, TX_ENOTFOUND, "no column '%.*s' in %s (columns: %s)", (int)len,
                            p, group, avail);
            break;
        }
        if (oc_push(&sel, o->v[k].c, o->v[k].axis, o->v[k].meaning, o->v[k].name)) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            break;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (!rc && sel.n == 0)
        rc = tx_err_set(err, TX_EINVAL, "--columns names no column");
    if (rc) {
        free(sel.v);
        return rc;
    }
    free(o->v);
    *o = sel;
    return TX_OK;
}

static int write_csv(FILE *f, const outcols *o, size_t rows, size_t per_row, int bom, int lf)
{
    csv_out w = {f, lf ? "\n" : "\r\n"};
    char buf[1024];
    if (bom)
        fputs("\xEF\xBB\xBF", f);
    for (size_t k = 0; k < o->n; k++)
        csv_field(&w, o->v[k].name, k == 0);
    fputs(w.eol, f);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < per_row; j++) {
            for (size_t k = 0; k < o->n; k++)
                csv_field(&w, cell_text(&o->v[k], r, j, buf, sizeof buf), k == 0);
            fputs(w.eol, f);
        }
        if (ferror(f))
            return TX_EIO;
    }
    return ferror(f) ? TX_EIO : TX_OK;
}

/* Writes the CSV to path under path.tmp-PID, synced and renamed. */
static int write_file_atomic(const char *path, const outcols *o, size_t rows, size_t per_row,
                             int bom, int lf, tx_err *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return tx_err_set(err, TX_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return tx_err_set(err, TX_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return tx_err_set(err, TX_EIO, "%s: %s", tmp, strerror(e));
    }
    int rc = write_csv(f, o, rows, per_row, bom, lf);
    int e = errno;
    if (!rc && fflush(f) != 0) {
        rc = TX_EIO;
        e = errno;
    }
    /* fsync before rename so a crash never leaves a renamed but empty file. */
    if (!rc && fsync(fileno(f)) != 0) {
        rc = TX_EIO;
        e = errno;
    }
    if (fclose(f) != 0 && !rc) {
        rc = TX_EIO;
        e = errno;
    }
    if (!rc && rename(tmp, path) != 0) {
        rc = TX_EIO;
        e = errno;
    }
    if (rc) {
        unlink(tmp);
        return tx_err_set(err, rc, "%s: cannot write: %s", path, strerror(e));
    }
    return TX_OK;
}

int tx_export_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"bom", no_argument, 0, 'B'},
        {"columns", required_argument, 0, 'c'}, {"codes", no_argument, 0, 'C'},
        {"names-only", no_argument, 0, 'N'},   {"lf", no_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *output = NULL, *columns = NULL;
    int bom = 0, lf = 0, codes = CODES_BOTH, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'B':
            bom = 1;
            break;
        case 'c':
            columns = optarg;
            break;
        case 'C':
        case 'N':
            if (codes != CODES_BOTH && codes != (c == 'C' ? CODES_NUMBERS : CODES_NAMES))
                return usage_error("export", "--codes and --names-only exclude each other");
            codes = c == 'C' ? CODES_NUMBERS : CODES_NAMES;
            break;
        case 'L':
            lf = 1;
            break;
        case 'h':
            fputs(export_help, stdout);
            return 0;
        case ':':
            return usage_error("export", "option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("export", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 2)
        return usage_error("export", "needs a results file and a group");
    if (columns && !*columns)
        return usage_error("export", "--columns needs at least one name");
    const char *path = argv[optind], *group = argv[optind + 1];
    if (!*group)
        return usage_error("export", "the group name is empty");
    if (output && strcmp(output, "-") == 0)
        output = NULL;
    tx_err err = {0};
    grp g = {0}, ent = {0};
    outcols o = {0};
    const col *ids = NULL;
    size_t rows = 0, per_row = 1;
    hid_t file = open_results(path, &err);
    if (file < 0)
        return fail("export", &err);
    int rc = load_group(file, group, "export", &g, &err);
    if (rc == TX_ENOTFOUND)
        tx_err_set(&err, rc, "%s: no group %s%s", path, group[0] == '/' ? "" : "/", group);
    /* Rows in /enterprise order without a key of their own (/mujun): add the ids. */
    int has_key = 0, has_2d = 0;
    size_t len = 0;
    for (size_t k = 0; !rc && k < g.n; k++) {
        has_key |= g.cols[k].kind == COL_STR;
        has_2d |= g.cols[k].rank == 2;
        if (g.cols[k].n > len)
            len = g.cols[k].n;
    }
    if (!rc && g.n && !has_key && !has_2d && strcmp(g.path, "/enterprise") != 0) {
        int e = path_exists(file, "/enterprise/enterprise_id", &err);
        if (e < 0)
            rc = e;
        else if (e) {
            hid_t eg = H5Gopen2(file, "/enterprise", H5P_DEFAULT);
            size_t ne = 0;
            if (eg < 0)
                rc = tx_h5_fail(&err, "cannot open /enterprise");
            else if (tx_h5_column_length(eg, "enterprise_id", &ne, &err) == 0 && ne == len) {
                ent.cols = calloc(1, sizeof *ent.cols);
                if (!ent.cols)
                    rc = tx_err_set(&err, TX_ENOMEM, "out of memory");
                else if ((rc = load_col(eg, "enterprise_id", &ent.cols[0], &err)) == 0)
                    ent.n = 1;
                else if (rc == 1)
                    rc = TX_OK; /* not a string: leave the rows without ids */
            }
            if (eg >= 0)
                H5Gclose(eg);
            if (ent.n && ent.cols[0].kind == COL_STR && ent.cols[0].rank == 1)
                ids = &ent.cols[0];
            H5Eclear2(H5E_DEFAULT);
            if (!rc)
                err = (tx_err){0};
        }
    }
    if (!rc)
        rc = plan_columns(&g, ids, codes, &o, &rows, &per_row, "export", &err);
    if (!rc && columns)
        rc = select_columns(&o, columns, g.path, &err);
    if (!rc && o.n == 0)
        rc = tx_err_set(&err, TX_ENOTFOUND, "%s: %s holds no dataset to export", path, g.path);
    if (!rc) {
        if (output) {
            rc = write_file_atomic(output, &o, rows, per_row, bom, lf, &err);
        } else {
            rc = write_csv(stdout, &o, rows, per_row, bom, lf);
            if (!rc && fflush(stdout) != 0)
                rc = TX_EIO;
            if (rc)
                tx_err_set(&err, rc, "cannot write to standard output: %s", strerror(errno));
        }
    }
    free(o.v);
    grp_destroy(&ent);
    grp_destroy(&g);
    if (H5Fclose(file) < 0 && !rc)
        rc = tx_h5_fail(&err, "%s: cannot close", path);
    return rc ? fail("export", &err) : 0;
}
