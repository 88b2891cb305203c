/*
 * h5io.h - HDF5 helpers shared by the store and the results writer (prefix tx_h5_), and the
 * Zstandard filter (HDF5 registered filter id 32015). Internal to the engine.
 *
 * The zstd filter: cd_values[0] is the compression level (stored unsigned, read as int);
 * each chunk is one plain zstd frame written with the one-shot API, so its content size is
 * in the frame header. The same H5Z_class2_t is registered in-process by
 * tx_h5_register_zstd() and exported from the plugin library (h5zstd_plugin.c) through
 * H5PLget_plugin_type / H5PLget_plugin_info.
 *
 * Columns: 1-D datasets, chunked, shuffle then zstd, with `units` and `long_name` string
 * attributes. Fixed-length strings are NUL-padded, UTF-8. Writing a column that exists
 * replaces it (unlink and create; HDF5 does not reuse the old column's file space).
 *
 * All functions: call from one thread (libhdf5 is serial); 0 or a negative tx_status with
 * err set; every HDF5 id is checked and closed on every path. An HDF5 failure is TX_EHDF5
 * and the message ends with the innermost entry of HDF5's error stack (for a bad chunk,
 * the zstd filter's own message). HDF5's automatic error printing is left as the caller
 * set it; existence is probed with H5Lexists/H5Aexists, which print nothing.
 */
#ifndef TX_H5IO_H
#define TX_H5IO_H

#include "tanxiao.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define TX_H5Z_ZSTD 32015
#define TX_ZSTD_LEVEL_DEFAULT 3

/* Sets err to TX_EHDF5 with "HDF5: <what>: <innermost HDF5 message>" and returns
 * TX_EHDF5. Call it right after the failing HDF5 call: H5Ewalk2 reads the stack that call
 * left, which the next HDF5 call clears. */
int tx_h5_fail(tx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The filter class (for registration and for the plugin). */
extern const H5Z_class2_t tx_h5z_zstd_class[1];

/* Registers this implementation of the zstd filter with this process's libhdf5, replacing
 * any class registered under 32015 before (such as a plugin HDF5 loaded from
 * HDF5_PLUGIN_PATH), so the engine always runs its own filter. Idempotent; tx_h5_dcpl calls
 * it, readers of existing files call it before reading. */
int tx_h5_register_zstd(tx_err *err);

/* Dataset creation property list: chunked (rank dims, chunk), shuffle, zstd(level) as a
 * mandatory filter with cd_values = {(unsigned)level}, and optionally a fill value (fill may
 * be NULL) of type fill_type. Registers the filter. Caller closes with H5Pclose.
 * Returns the id or a negative tx_status (err set): TX_EINVAL for rank outside
 * 1..H5S_MAX_RANK or a zero chunk dimension, TX_EHDF5. */
hid_t tx_h5_dcpl(int rank, const hsize_t *chunk, int level, hid_t fill_type,
                 const void *fill, tx_err *err);

/* Writes a 1-D column of n elements of mem_type (H5T_NATIVE_DOUBLE, _UINT8, _INT32, ...)
 * under loc. Stored as the same type (little-endian standard equivalent). n may be 0 (data
 * may then be NULL). units and long_name are required (use "1" for dimensionless). Chunk:
 * min(n, 65536, 1 MiB / element size) elements, at least 1. Extendable (maximum size
 * unlimited). name is a link name in loc, or a path whose groups exist. On failure nothing
 * is left under name. TX_EINVAL for missing arguments, TX_EHDF5. */
int tx_h5_write_column(hid_t loc, const char *name, hid_t mem_type, const void *data,
                       size_t n, int level, const char *units, const char *long_name,
                       tx_err *err);
/* Fixed-length string column: data holds n records of width bytes (NUL-padded, UTF-8;
 * width >= 1). Same chunking and compression as numeric columns. units attribute is ""
 * (no unit), long_name required. */
int tx_h5_write_strings(hid_t loc, const char *name, const char *data, size_t width,
                        size_t n, int level, const char *long_name, tx_err *err);
/* A 2-D [rows, cols] dataset of mem_type, chunked by whole rows (about 256 KiB a chunk),
 * shuffle + zstd, units and long_name; replaced when present. */
int tx_h5_write_matrix(hid_t loc, const char *name, hid_t mem_type, const void *data,
                       size_t rows, size_t cols, int level, const char *units,
                       const char *long_name, tx_err *err);
/* Makes scale_name (a 1-D dataset under loc) a dimension scale labelled `label` (when it
 * is not one yet) and attaches it to dimension dim of dset_name, which gets the label. */
int tx_h5_dimension_scale(hid_t loc, const char *dset_name, unsigned dim,
                          const char *scale_name, const char *label, tx_err *err);

/* Number of elements of a 1-D dataset. TX_ENOTFOUND when absent, TX_EINVAL when not 1-D. */
int tx_h5_column_length(hid_t loc, const char *name, size_t *n, tx_err *err);
/* Reads a whole 1-D column converted to mem_type into data (n elements, from
 * tx_h5_column_length; TX_EINVAL when the column has another length). A corrupt chunk is
 * TX_EHDF5. */
int tx_h5_read_column(hid_t loc, const char *name, hid_t mem_type, void *data, size_t n,
                      tx_err *err);
/* Reads a fixed-length string column into n records of width bytes each, NUL-padded.
 * A stored type wider than width is accepted while every record fits; a longer record is
 * TX_ERANGE. TX_EINVAL when the dataset is not a fixed-length string column. */
int tx_h5_read_strings(hid_t loc, const char *name, char *data, size_t width, size_t n,
                       tx_err *err);

/* Attributes on any object (file, group, dataset); replaced when present. Strings are
 * scalar variable-length UTF-8 (h5py reads them as str), doubles IEEE F64LE, integers
 * STD I64LE. */
int tx_h5_attr_string(hid_t obj, const char *name, const char *value, tx_err *err);
int tx_h5_attr_double(hid_t obj, const char *name, double value, tx_err *err);
int tx_h5_attr_int64(hid_t obj, const char *name, int64_t value, tx_err *err);
/* Reads a one-element string attribute, fixed- or variable-length, into out (cap >= 1
 * bytes, NUL-terminated, truncated; trailing spaces of space-padded strings dropped).
 * TX_ENOTFOUND when absent, TX_EINVAL when not a single string. */
int tx_h5_attr_get_string(hid_t obj, const char *name, char *out, size_t cap, tx_err *err);
/* Reads a one-element attribute of any integer type. TX_ENOTFOUND, TX_EINVAL. */
int tx_h5_attr_get_int64(hid_t obj, const char *name, int64_t *value, tx_err *err);
/* CF flag attributes on a uint8 dataset: flag_values (uint8 array of n >= 1) and
 * flag_meanings (one space-separated string). */
int tx_h5_attr_flags(hid_t dset, const uint8_t *values, size_t n, const char *meanings,
                     tx_err *err);

/* CF flag_masks (uint8 array of n >= 1) on a bit-set dataset, beside flag_values and
 * flag_meanings (with values equal to the masks, CF reads each bit as one flag). */
int tx_h5_attr_flag_masks(hid_t dset, const uint8_t *masks, size_t n, tx_err *err);

/* Makes the 1-D dataset key of group loc a dimension scale labelled `label` and attaches
 * it to dimension 0 of every other 1-D dataset of the same length in loc, so readers that
 * follow dimension scales (netCDF-4, xarray) see one named row dimension. TX_ENOTFOUND
 * when key is absent, TX_ENOMEM, TX_EHDF5. */
int tx_h5_key_scale(hid_t loc, const char *key, const char *label, tx_err *err);

/* Opens group path under loc, creating it (and missing parents) when absent. path may be
 * absolute ("/enterprise"); "" is loc itself. Caller closes with H5Gclose. Returns the id
 * or a negative tx_status: TX_EHDF5 when a component exists but is not a group. */
hid_t tx_h5_group(hid_t loc, const char *path, tx_err *err);

#endif /* TX_H5IO_H */
