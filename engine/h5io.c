/* h5io.c - HDF5 helpers: compressed 1-D columns, fixed-length string columns, attributes,
 * groups. Every function has one exit that closes exactly the ids it opened, and turns an
 * HDF5 failure into TX_EHDF5 with the innermost message of HDF5's error stack appended
 * (usually the one that names the real cause, such as the zstd filter's). */
#include "h5io.h"

#include <hdf5_hl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column chunks: at most this many elements and about this many bytes, so a chunk stays
 * within HDF5's default 1 MiB chunk cache and in the 64 KiB..1 MiB range readers like. */
#define TX_H5_CHUNK_ELEMS 65536u
#define TX_H5_CHUNK_BYTES (1u << 20)

/* ---- errors --------------------------------------------------------------------------- */

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    /* Walking upward, entry 0 is where the error was first detected. */
    if (n == 0 && e->desc)
        snprintf(data, 256, "%s", e->desc);
    return 0;
}

int tx_h5_fail(tx_err *err, const char *fmt, ...)
{
    char what[512], cause[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, cause) < 0)
        cause[0] = '\0';
    if (cause[0])
        return tx_err_set(err, TX_EHDF5, "HDF5: %s: %s", what, cause);
    return tx_err_set(err, TX_EHDF5, "HDF5: %s", what);
}

/* 1 when the link exists, 0 when not, negative on error (err set). The name must be a
 * single link name or a path whose groups exist (H5Lexists fails on missing groups). */
static int link_exists(hid_t loc, const char *name, tx_err *err)
{
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0)
        return tx_h5_fail(err, "cannot look up '%s'", name);
    return e > 0;
}

/* ---- property lists and types ---------------------------------------------------------- */

hid_t tx_h5_dcpl(int rank, const hsize_t *chunk, int level, hid_t fill_type,
                 const void *fill, tx_err *err)
{
    if (rank < 1 || rank > H5S_MAX_RANK || !chunk)
        return tx_err_set(err, TX_EINVAL, "tx_h5_dcpl: bad rank %d or no chunk", rank);
    for (int i = 0; i < rank; i++)
        if (chunk[i] == 0)
            return tx_err_set(err, TX_EINVAL, "tx_h5_dcpl: chunk dimension %d is 0", i);
    int rc = tx_h5_register_zstd(err);
    if (rc)
        return rc;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return tx_h5_fail(err, "cannot create a dataset creation property list");
    /* Stored unsigned, read back as int by the filter: two's complement for negatives. */
    const unsigned int cd_values[1] = {(unsigned int)level};
    if (H5Pset_chunk(dcpl, rank, chunk) < 0) {
        rc = tx_h5_fail(err, "cannot set the chunk shape");
        goto done;
    }
    if (H5Pset_shuffle(dcpl) < 0) {
        rc = tx_h5_fail(err, "cannot add the shuffle filter");
        goto done;
    }
    if (H5Pset_filter(dcpl, (H5Z_filter_t)TX_H5Z_ZSTD, H5Z_FLAG_MANDATORY, 1, cd_values) <
        0) {
        rc = tx_h5_fail(err, "cannot add the zstd filter");
        goto done;
    }
    if (fill && H5Pset_fill_value(dcpl, fill_type, fill) < 0) {
        rc = tx_h5_fail(err, "cannot set the fill value");
        goto done;
    }
done:
    if (rc)
        H5Pclose(dcpl);
    return rc ? rc : dcpl;
}

/* The file type of a numeric memory type: the same type in little-endian order (native
 * types on x86 and ARM already are). Other classes are stored as given. Caller closes. */
static hid_t file_type_of(hid_t mem_type, tx_err *err)
{
    H5T_class_t cls = H5Tget_class(mem_type);
    if (cls == H5T_NO_CLASS)
        return tx_h5_fail(err, "invalid memory type");
    hid_t t = H5Tcopy(mem_type);
    if (t < 0)
        return tx_h5_fail(err, "cannot copy a datatype");
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && H5Tset_order(t, H5T_ORDER_LE) < 0) {
        H5Tclose(t);
        return tx_h5_fail(err, "cannot set the byte order");
    }
    return t;
}

/* A fixed-length string type of width bytes, NUL-padded, with the given character set. */
static hid_t fixed_string_type(size_t width, H5T_cset_t cset, tx_err *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return tx_h5_fail(err, "cannot copy a datatype");
    if (H5Tset_size(t, width) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, cset) < 0) {
        H5Tclose(t);
        return tx_h5_fail(err, "cannot make a string type of %zu bytes", width);
    }
    return t;
}

/* A variable-length UTF-8 string type (attributes: h5py reads these as str). */
static hid_t vlen_string_type(tx_err *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return tx_h5_fail(err, "cannot copy a datatype");
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return tx_h5_fail(err, "cannot make a variable-length string type");
    }
    return t;
}

/* ---- attributes ------------------------------------------------------------------------ */

/* Writes a scalar or 1-D attribute (n == 0: scalar), replacing one of the same name. */
static int attr_write(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                      const void *value, size_t n, tx_err *err)
{
    int rc = TX_OK;
    hid_t space = -1, attr = -1;
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return tx_h5_fail(err, "cannot look up attribute '%s'", name);
    if (e > 0 && H5Adelete(obj, name) < 0)
        return tx_h5_fail(err, "cannot replace attribute '%s'", name);
    hsize_t dim = n;
    space = n ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
    if (space < 0) {
        rc = tx_h5_fail(err, "cannot create a dataspace");
        goto done;
    }
    attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        rc = tx_h5_fail(err, "cannot create attribute '%s'", name);
        goto done;
    }
    if (H5Awrite(attr, mem_type, value) < 0) {
        rc = tx_h5_fail(err, "cannot write attribute '%s'", name);
        goto done;
    }
done:
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

int tx_h5_attr_string(hid_t obj, const char *name, const char *value, tx_err *err)
{
    if (!name || !value)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_string: NULL name or value");
    hid_t t = vlen_string_type(err);
    if (t < 0)
        return (int)t;
    int rc = attr_write(obj, name, t, t, &value, 0, err);
    H5Tclose(t);
    return rc;
}

int tx_h5_attr_double(hid_t obj, const char *name, double value, tx_err *err)
{
    if (!name)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_double: NULL name");
    return attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, 0, err);
}

int tx_h5_attr_int64(hid_t obj, const char *name, int64_t value, tx_err *err)
{
    if (!name)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_int64: NULL name");
    return attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, 0, err);
}

int tx_h5_attr_flags(hid_t dset, const uint8_t *values, size_t n, const char *meanings,
                     tx_err *err)
{
    if (!values || n == 0 || !meanings)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_flags: no values or no meanings");
    int rc = attr_write(dset, "flag_values", H5T_STD_U8LE, H5T_NATIVE_UINT8, values, n, err);
    if (rc)
        return rc;
    return tx_h5_attr_string(dset, "flag_meanings", meanings, err);
}

int tx_h5_attr_flag_masks(hid_t dset, const uint8_t *masks, size_t n, tx_err *err)
{
    if (!masks || n == 0)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_flag_masks: no masks");
    return attr_write(dset, "flag_masks", H5T_STD_U8LE, H5T_NATIVE_UINT8, masks, n, err);
}

/* Opens attribute name of obj and checks it holds exactly one element. */
static hid_t attr_open_single(hid_t obj, const char *name, tx_err *err)
{
    htri_t e = H5Aexists(obj, name);
    if (e < 0)
        return tx_h5_fail(err, "cannot look up attribute '%s'", name);
    if (e == 0)
        return tx_err_set(err, TX_ENOTFOUND, "attribute '%s' not found", name);
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return tx_h5_fail(err, "cannot open attribute '%s'", name);
    hid_t space = H5Aget_space(attr);
    hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0)
        H5Sclose(space);
    if (npoints != 1) {
        H5Aclose(attr);
        if (npoints < 0)
            return tx_h5_fail(err, "cannot get the size of attribute '%s'", name);
        return tx_err_set(err, TX_EINVAL, "attribute '%s' has %lld elements, expected 1",
                          name, (long long)npoints);
    }
    return attr;
}

int tx_h5_attr_get_string(hid_t obj, const char *name, char *out, size_t cap, tx_err *err)
{
    if (!name || !out || cap == 0)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_get_string: bad arguments");
    int rc = TX_OK;
    hid_t ftype = -1, mtype = -1;
    char *vbuf = NULL, *fbuf = NULL;
    hid_t attr = attr_open_single(obj, name, err);
    if (attr < 0)
        return (int)attr;
    ftype = H5Aget_type(attr);
    if (ftype < 0) {
        rc = tx_h5_fail(err, "cannot get the type of attribute '%s'", name);
        goto done;
    }
    if (H5Tget_class(ftype) != H5T_STRING) {
        rc = tx_err_set(err, TX_EINVAL, "attribute '%s' is not a string", name);
        goto done;
    }
    htri_t vlen = H5Tis_variable_str(ftype);
    size_t size = H5Tget_size(ftype);
    if (vlen < 0 || size == 0) {
        rc = tx_h5_fail(err, "cannot inspect the type of attribute '%s'", name);
        goto done;
    }
    const char *s;
    size_t len;
    if (vlen) {
        mtype = vlen_string_type(err);
        if (mtype < 0) {
            rc = (int)mtype;
            goto done;
        }
        /* Read in the stored character set: HDF5 will not convert between ASCII and UTF-8. */
        if (H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0 || H5Aread(attr, mtype, &vbuf) < 0) {
            rc = tx_h5_fail(err, "cannot read attribute '%s'", name);
            goto done;
        }
        s = vbuf ? vbuf : "";
        len = strlen(s);
    } else {
        mtype = H5Tcopy(ftype);
        fbuf = malloc(size + 1);
        if (mtype < 0 || !fbuf) {
            rc = fbuf ? tx_h5_fail(err, "cannot copy a datatype")
                      : tx_err_set(err, TX_ENOMEM, "attribute '%s': out of memory", name);
            goto done;
        }
        if (H5Aread(attr, mtype, fbuf) < 0) {
            rc = tx_h5_fail(err, "cannot read attribute '%s'", name);
            goto done;
        }
        fbuf[size] = '\0';
        s = fbuf;
        len = strlen(s); /* NUL-padded and NUL-terminated strings end at the first NUL */
        if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
            while (len > 0 && s[len - 1] == ' ')
                len--;
    }
    if (len >= cap)
        len = cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
done:
    if (vbuf)
        H5free_memory(vbuf); /* allocated by the library's vlen conversion */
    free(fbuf);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return rc;
}

int tx_h5_attr_get_int64(hid_t obj, const char *name, int64_t *value, tx_err *err)
{
    if (!name || !value)
        return tx_err_set(err, TX_EINVAL, "tx_h5_attr_get_int64: bad arguments");
    int rc = TX_OK;
    hid_t attr = attr_open_single(obj, name, err);
    if (attr < 0)
        return (int)attr;
    hid_t ftype = H5Aget_type(attr);
    if (ftype < 0) {
        rc = tx_h5_fail(err, "cannot get the type of attribute '%s'", name);
        goto done;
    }
    if (H5Tget_class(ftype) != H5T_INTEGER) {
        rc = tx_err_set(err, TX_EINVAL, "attribute '%s' is not an integer", name);
        goto done;
    }
    if (H5Aread(attr, H5T_NATIVE_INT64, value) < 0) {
        rc = tx_h5_fail(err, "cannot read attribute '%s'", name);
        goto done;
    }
done:
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return rc;
}

/* ---- columns --------------------------------------------------------------------------- */

/* Elements per chunk for n elements of elem_size bytes: min(n, 65536, 1 MiB / size), >= 1. */
static hsize_t column_chunk(size_t n, size_t elem_size)
{
    size_t c = TX_H5_CHUNK_ELEMS;
    if (elem_size > 0 && TX_H5_CHUNK_BYTES / elem_size < c)
        c = TX_H5_CHUNK_BYTES / elem_size;
    if (n < c)
        c = n;
    return c ? c : 1;
}

/* Creates (replacing) and writes a 1-D extendable column; on failure removes what it made,
 * so a column is either complete or absent. */
/* Creates (replacing) a chunked, shuffled, zstd-compressed dataset of rank 1 or 2 with
 * every dimension unlimited, writes data and the units and long_name attributes. A
 * dataset whose write fails is removed, so nothing half-written stays under its name. */
static int write_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                         const void *data, int rank, const hsize_t *dims, const hsize_t *chunk,
                         int level, const char *units, const char *long_name, tx_err *err)
{
    int rc = TX_OK, created = 0;
    hid_t space = -1, dcpl = -1, dset = -1;
    int e = link_exists(loc, name, err);
    if (e < 0)
        return e;
    if (e && H5Ldelete(loc, name, H5P_DEFAULT) < 0)
        return tx_h5_fail(err, "cannot replace '%s'", name);
    const hsize_t maxdims[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
    hsize_t total = 1;
    for (int k = 0; k < rank; k++)
        total *= dims[k];
    space = H5Screate_simple(rank, dims, maxdims);
    if (space < 0) {
        rc = tx_h5_fail(err, "cannot create the dataspace of '%s'", name);
        goto done;
    }
    dcpl = tx_h5_dcpl(rank, chunk, level, -1, NULL, err);
    if (dcpl < 0) {
        rc = (int)dcpl;
        goto done;
    }
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        rc = tx_h5_fail(err, "cannot create dataset '%s'", name);
        goto done;
    }
    created = 1;
    if (total > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        rc = tx_h5_fail(err, "cannot write dataset '%s'", name);
        goto done;
    }
    rc = tx_h5_attr_string(dset, "units", units, err);
    if (!rc)
        rc = tx_h5_attr_string(dset, "long_name", long_name, err);
done:
    if (dset >= 0)
        H5Dclose(dset);
    if (rc && created)
        H5Ldelete(loc, name, H5P_DEFAULT); /* best effort; err already holds the cause */
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int write_1d(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *data,
                    size_t n, int level, const char *units, const char *long_name,
                    tx_err *err)
{
    size_t elem = H5Tget_size(mtype);
    if (elem == 0)
        return tx_h5_fail(err, "column '%s': invalid memory type", name);
    hsize_t dim = n, chunk = column_chunk(n, elem);
    return write_dataset(loc, name, ftype, mtype, data, 1, &dim, &chunk, level, units,
                         long_name, err);
}

int tx_h5_write_matrix(hid_t loc, const char *name, hid_t mem_type, const void *data,
                       size_t rows, size_t cols, int level, const char *units,
                       const char *long_name, tx_err *err)
{
    if (!name || !units || !long_name || (rows * cols > 0 && !data))
        return tx_err_set(err, TX_EINVAL, "tx_h5_write_matrix: missing name, units, "
                                          "long_name or data");
    hid_t ftype = file_type_of(mem_type, err);
    if (ftype < 0)
        return (int)ftype;
    /* Whole rows per chunk, about 256 KiB: a reader takes an entity's series in one
     * chunk and a block of entities in a few. */
    size_t elem = H5Tget_size(mem_type), per_row = (cols ? cols : 1) * elem;
    size_t crows = (256u << 10) / per_row;
    crows = crows < 1 ? 1 : crows > rows ? (rows ? rows : 1) : crows;
    hsize_t dims[2] = {rows, cols}, chunk[2] = {crows, cols ? cols : 1};
    int rc = write_dataset(loc, name, ftype, mem_type, data, 2, dims, chunk, level, units,
                           long_name, err);
    H5Tclose(ftype);
    return rc;
}

int tx_h5_dimension_scale(hid_t loc, const char *dset_name, unsigned dim,
                          const char *scale_name, const char *label, tx_err *err)
{
    int rc = TX_OK;
    hid_t d = H5Dopen2(loc, dset_name, H5P_DEFAULT), sc = H5Dopen2(loc, scale_name, H5P_DEFAULT);
    if (d < 0 || sc < 0) {
        rc = tx_h5_fail(err, "cannot open '%s' or '%s'", dset_name, scale_name);
        goto done;
    }
    htri_t is = H5DSis_scale(sc);
    if (is < 0 || (!is && H5DSset_scale(sc, label) < 0)) {
        rc = tx_h5_fail(err, "cannot make '%s' a dimension scale", scale_name);
        goto done;
    }
    if (H5DSattach_scale(d, sc, dim) < 0 || H5DSset_label(d, dim, label) < 0)
        rc = tx_h5_fail(err, "cannot attach '%s' to dimension %u of '%s'", scale_name, dim,
                     dset_name);
done:
    if (d >= 0)
        H5Dclose(d);
    if (sc >= 0)
        H5Dclose(sc);
    return rc;
}

/* Collects the names of the links of a group (H5Literate callback). */
typedef struct {
    char **names;
    size_t n, cap;
    int oom;
} link_names;

static herr_t link_name_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    link_names *l = data;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 64;
        char **nn = realloc(l->names, ncap * sizeof *nn);
        if (!nn) {
            l->oom = 1;
            return -1;
        }
        l->names = nn;
        l->cap = ncap;
    }
    size_t len = strlen(name) + 1;
    if (!(l->names[l->n] = malloc(len))) {
        l->oom = 1;
        return -1;
    }
    memcpy(l->names[l->n], name, len);
    l->n++;
    return 0;
}

int tx_h5_key_scale(hid_t loc, const char *key, const char *label, tx_err *err)
{
    size_t nkey = 0;
    int rc = tx_h5_column_length(loc, key, &nkey, err);
    if (rc)
        return rc;
    link_names l = {0};
    hsize_t idx = 0;
    if (H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, &idx, link_name_cb, &l) < 0)
        rc = l.oom ? tx_err_set(err, TX_ENOMEM, "out of memory")
                   : tx_h5_fail(err, "cannot list the group of '%s'", key);
    for (size_t k = 0; !rc && k < l.n; k++) {
        if (strcmp(l.names[k], key) == 0)
            continue;
        H5O_info_t oi;
        if (H5Oget_info_by_name(loc, l.names[k], &oi, H5P_DEFAULT) < 0) {
            rc = tx_h5_fail(err, "cannot inspect '%s'", l.names[k]);
            break;
        }
        if (oi.type != H5O_TYPE_DATASET)
            continue;
        size_t n = 0;
        tx_err e2;
        /* Only 1-D datasets of the key's length share its dimension. */
        if (tx_h5_column_length(loc, l.names[k], &n, &e2) != TX_OK || n != nkey)
            continue;
        rc = tx_h5_dimension_scale(loc, l.names[k], 0, key, label, err);
    }
    for (size_t k = 0; k < l.n; k++)
        free(l.names[k]);
    free(l.names);
    return rc;
}

int tx_h5_write_column(hid_t loc, const char *name, hid_t mem_type, const void *data,
                       size_t n, int level, const char *units, const char *long_name,
                       tx_err *err)
{
    if (!name || !units || !long_name || (n > 0 && !data))
        return tx_err_set(err, TX_EINVAL, "tx_h5_write_column: missing name, units, "
                                          "long_name or data");
    hid_t ftype = file_type_of(mem_type, err);
    if (ftype < 0)
        return (int)ftype;
    int rc = write_1d(loc, name, ftype, mem_type, data, n, level, units, long_name, err);
    H5Tclose(ftype);
    return rc;
}

int tx_h5_write_strings(hid_t loc, const char *name, const char *data, size_t width,
                        size_t n, int level, const char *long_name, tx_err *err)
{
    if (!name || !long_name || width == 0 || (n > 0 && !data))
        return tx_err_set(err, TX_EINVAL, "tx_h5_write_strings: missing name, long_name, "
                                          "width or data");
    hid_t t = fixed_string_type(width, H5T_CSET_UTF8, err);
    if (t < 0)
        return (int)t;
    int rc = write_1d(loc, name, t, t, data, n, level, "", long_name, err);
    H5Tclose(t);
    return rc;
}

/* Opens a 1-D dataset and returns its length; ENOTFOUND when absent. */
static hid_t column_open(hid_t loc, const char *name, size_t *n, tx_err *err)
{
    int e = link_exists(loc, name, err);
    if (e < 0)
        return e;
    if (!e)
        return tx_err_set(err, TX_ENOTFOUND, "dataset '%s' not found", name);
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (dset < 0)
        return tx_h5_fail(err, "cannot open dataset '%s'", name);
    int rc = TX_OK;
    hid_t space = H5Dget_space(dset);
    if (space < 0) {
        rc = tx_h5_fail(err, "cannot get the dataspace of '%s'", name);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dim = 0;
    if (rank < 0) {
        rc = tx_h5_fail(err, "cannot get the rank of '%s'", name);
        goto done;
    }
    if (rank != 1) {
        rc = tx_err_set(err, TX_EINVAL, "dataset '%s' has rank %d, expected 1", name, rank);
        goto done;
    }
    if (H5Sget_simple_extent_dims(space, &dim, NULL) < 0) {
        rc = tx_h5_fail(err, "cannot get the length of '%s'", name);
        goto done;
    }
    *n = (size_t)dim;
done:
    if (space >= 0)
        H5Sclose(space);
    if (rc)
        H5Dclose(dset);
    return rc ? rc : dset;
}

int tx_h5_column_length(hid_t loc, const char *name, size_t *n, tx_err *err)
{
    if (!name || !n)
        return tx_err_set(err, TX_EINVAL, "tx_h5_column_length: bad arguments");
    hid_t dset = column_open(loc, name, n, err);
    if (dset < 0)
        return (int)dset;
    H5Dclose(dset);
    return TX_OK;
}

/* Opens a column and checks its length is n. */
static hid_t column_open_n(hid_t loc, const char *name, size_t n, tx_err *err)
{
    size_t len = 0;
    hid_t dset = column_open(loc, name, &len, err);
    if (dset < 0)
        return dset;
    if (len != n) {
        H5Dclose(dset);
        return tx_err_set(err, TX_EINVAL, "dataset '%s' has %zu elements, caller expects %zu",
                          name, len, n);
    }
    return dset;
}

int tx_h5_read_column(hid_t loc, const char *name, hid_t mem_type, void *data, size_t n,
                      tx_err *err)
{
    if (!name || (n > 0 && !data))
        return tx_err_set(err, TX_EINVAL, "tx_h5_read_column: bad arguments");
    hid_t dset = column_open_n(loc, name, n, err);
    if (dset < 0)
        return (int)dset;
    int rc = TX_OK;
    if (n > 0 && H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = tx_h5_fail(err, "cannot read dataset '%s'", name);
    H5Dclose(dset);
    return rc;
}

int tx_h5_read_strings(hid_t loc, const char *name, char *data, size_t width, size_t n,
                       tx_err *err)
{
    if (!name || width == 0 || (n > 0 && !data))
        return tx_err_set(err, TX_EINVAL, "tx_h5_read_strings: bad arguments");
    int rc = TX_OK;
    hid_t ftype = -1, mtype = -1;
    char *wide = NULL;
    hid_t dset = column_open_n(loc, name, n, err);
    if (dset < 0)
        return (int)dset;
    ftype = H5Dget_type(dset);
    if (ftype < 0) {
        rc = tx_h5_fail(err, "cannot get the type of '%s'", name);
        goto done;
    }
    htri_t vlen = H5Tget_class(ftype) == H5T_STRING ? H5Tis_variable_str(ftype) : 1;
    size_t stored = H5Tget_size(ftype);
    if (vlen != 0 || stored == 0) {
        rc = tx_err_set(err, TX_EINVAL, "dataset '%s' is not a fixed-length string column",
                        name);
        goto done;
    }
    if (n == 0)
        goto done;
    /* HDF5 pads narrower stored strings to width itself; wider ones are read at their own
     * width and accepted only when every record fits. The character set stays as stored
     * because HDF5 does not convert between ASCII and UTF-8. */
    size_t mwidth = stored > width ? stored : width;
    mtype = fixed_string_type(mwidth, H5Tget_cset(ftype), err);
    if (mtype < 0) {
        rc = (int)mtype;
        goto done;
    }
    char *dst = data;
    if (stored > width) {
        if (n > SIZE_MAX / stored || !(wide = malloc(n * stored))) {
            rc = tx_err_set(err, TX_ENOMEM, "dataset '%s': out of memory", name);
            goto done;
        }
        dst = wide;
    }
    if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        rc = tx_h5_fail(err, "cannot read dataset '%s'", name);
        goto done;
    }
    if (wide) {
        for (size_t i = 0; i < n; i++) {
            const char *rec = wide + i * stored;
            for (size_t j = width; j < stored; j++) {
                if (rec[j] != '\0') {
                    rc = tx_err_set(err, TX_ERANGE,
                                    "dataset '%s': record %zu is longer than %zu bytes", name,
                                    i, width);
                    goto done;
                }
            }
            memcpy(data + i * width, rec, width);
        }
    }
done:
    free(wide);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return rc;
}

/* ---- groups ---------------------------------------------------------------------------- */

hid_t tx_h5_group(hid_t loc, const char *path, tx_err *err)
{
    if (!path)
        return tx_err_set(err, TX_EINVAL, "tx_h5_group: NULL path");
    int rc = TX_OK;
    hid_t g = -1;
    size_t len = strlen(path);
    char *buf = malloc(len + 1);
    if (!buf)
        return tx_err_set(err, TX_ENOMEM, "tx_h5_group: out of memory");
    memcpy(buf, path, len + 1);
    /* Create each missing component in turn: every prefix checked with H5Lexists has an
     * existing parent, so the probe never fails on a missing group. */
    size_t i = 0;
    while (i < len) {
        while (i < len && buf[i] == '/')
            i++;
        if (i == len)
            break;
        while (i < len && buf[i] != '/')
            i++;
        char saved = buf[i];
        buf[i] = '\0';
        int e = link_exists(loc, buf, err);
        if (e == 0) {
            hid_t made = H5Gcreate2(loc, buf, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (made < 0)
                e = tx_h5_fail(err, "cannot create group '%s'", buf);
            else
                H5Gclose(made);
        }
        buf[i] = saved;
        if (e < 0) {
            rc = e;
            goto done;
        }
    }
    /* An empty path names loc itself; "/" the root. */
    g = H5Gopen2(loc, len == 0 ? "." : buf, H5P_DEFAULT);
    if (g < 0)
        rc = tx_h5_fail(err, "cannot open group '%s'", path);
done:
    free(buf);
    return rc ? rc : g;
}
