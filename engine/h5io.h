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
 * replaces it (unlink and create).
 *
 * All functions: call from one thread (libhdf5 is serial); 0 or a negative tx_status with
 * err set; every HDF5 id is checked and closed on every path.
 */
#ifndef TX_H5IO_H
#define TX_H5IO_H

#include "tanxiao.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define TX_H5Z_ZSTD 32015
#define TX_ZSTD_LEVEL_DEFAULT 3

/* The filter class (for registration and for the plugin). */
extern const H5Z_class2_t tx_h5z_zstd_class[1];

/* Registers the zstd filter with this process's libhdf5 unless already available.
 * Idempotent. */
int tx_h5_register_zstd(tx_err *err);

/* Dataset creation property list: chunked (rank dims, chunk), shuffle, zstd(level), and
 * optionally a fill value (fill may be NULL) of type mem_type. Caller closes with H5Pclose.
 * Returns the id or a negative value (err set). */
hid_t tx_h5_dcpl(int rank, const hsize_t *chunk, int level, hid_t fill_type,
                 const void *fill, tx_err *err);

/* Writes a 1-D column of n elements of mem_type (H5T_NATIVE_DOUBLE, _UINT8, _INT32, ...)
 * under loc. Stored as the same type (little-endian standard equivalent). n may be 0.
 * units and long_name are required (use "1" for dimensionless). Chunk: min(n, 65536)
 * elements, at least 1. Extendable (maximum size unlimited). */
int tx_h5_write_column(hid_t loc, const char *name, hid_t mem_type, const void *data,
                       size_t n, int level, const char *units, const char *long_name,
                       tx_err *err);
/* Fixed-length string column: data holds n records of width bytes (NUL-padded, UTF-8).
 * units attribute is "" (no unit), long_name required. */
int tx_h5_write_strings(hid_t loc, const char *name, const char *data, size_t width,
                        size_t n, int level, const char *long_name, tx_err *err);
/* Number of elements of a 1-D dataset. */
int tx_h5_column_length(hid_t loc, const char *name, size_t *n, tx_err *err);
/* Reads a whole 1-D column converted to mem_type into data (n elements, from
 * tx_h5_column_length). */
int tx_h5_read_column(hid_t loc, const char *name, hid_t mem_type, void *data, size_t n,
                      tx_err *err);
/* Reads a fixed-length string column into n records of width bytes each, NUL-padded
 * (longer stored strings are an error). */
int tx_h5_read_strings(hid_t loc, const char *name, char *data, size_t width, size_t n,
                       tx_err *err);

/* Attributes on any object (file, group, dataset); replaced when present. */
int tx_h5_attr_string(hid_t obj, const char *name, const char *value, tx_err *err);
int tx_h5_attr_double(hid_t obj, const char *name, double value, tx_err *err);
int tx_h5_attr_int64(hid_t obj, const char *name, int64_t value, tx_err *err);
/* Reads a string attribute into out (cap bytes, NUL-terminated, truncated). */
int tx_h5_attr_get_string(hid_t obj, const char *name, char *out, size_t cap, tx_err *err);
int tx_h5_attr_get_int64(hid_t obj, const char *name, int64_t *value, tx_err *err);
/* CF flag attributes on a uint8 dataset: flag_values (uint8 array of n) and flag_meanings
 * (one space-separated string). */
int tx_h5_attr_flags(hid_t dset, const uint8_t *values, size_t n, const char *meanings,
                     tx_err *err);

/* Opens group path under loc, creating it (and missing parents) when absent. */
hid_t tx_h5_group(hid_t loc, const char *path, tx_err *err);

#endif /* TX_H5IO_H */
