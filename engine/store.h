/*
 * store.h - the HDF5 meter store (prefix tx_store_). Internal to the engine.
 *
 * Layout (format version 1):
 *   /                      attrs: format = "tanxiao-store", format_version = 1,
 *                                 epoch = "2000-01-01T00:00:00+08:00"
 *   /enterprises/<field>   columnar table, one row per enterprise (fields of tx_enterprise)
 *   /meters/<field>        columnar table, one row per meter (fields of tx_meter)
 *   /events/<field>        columnar table of meter events
 *   /series/<m>min/value   float64 [rows, slots] for the grid of step m minutes
 *                          (m in 15, 30, 60, 1440): row = tx_meter.row, slot k = instant
 *                          TX_EPOCH_UNIX + k*m*60; NaN = no reading. Chunked
 *                          [chunk_rows, 28 days of slots], shuffle + zstd, both dimensions
 *                          unlimited; unwritten cells read as NaN (fill value).
 *   /series/<m>min/quality uint8 [rows, slots], same chunking; 0 measured, 1 estimated,
 *                          2 suspect (fill 0).
 *
 * The catalogue (enterprises, meters, events) is held in memory while the store is open and
 * written back by tx_store_flush / tx_store_close. Series are read and written in blocks.
 * Not thread-safe: one thread calls the store.
 */
#ifndef TX_STORE_H
#define TX_STORE_H

#include "records.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tx_store tx_store;

#define TX_STORE_NGRIDS 4
/* The grids' steps in minutes, in grid index order: {15, 30, 60, 1440}. */
extern const int tx_store_grid_minutes[TX_STORE_NGRIDS];
/* Grid index of a step in minutes, or -1. */
int tx_store_grid_of(int interval_minutes);
/* Slot of instant t on the grid of step m minutes: 0 and *slot set when t is on the grid
 * and not before the epoch; TX_ERANGE otherwise. */
int tx_store_slot(int64_t t, int interval_minutes, int64_t *slot);
/* Rows per chunk and slots per chunk of a grid (slots = 28 days). */
size_t tx_store_chunk_rows(int interval_minutes);
size_t tx_store_chunk_slots(int interval_minutes);

/* Opens a store; writable != 0 creates it when absent. zstd_level applies to new data. */
int tx_store_open(const char *path, int writable, int zstd_level, tx_store **out,
                  tx_err *err);
/* Writes the catalogue back (when writable) and closes; 0 or an error. Accepts NULL. */
int tx_store_close(tx_store *s, tx_err *err);
/* Writes the catalogue and flushes the file without closing. */
int tx_store_flush(tx_store *s, tx_err *err);

/* The catalogue (valid until the next put or close). */
const tx_enterprise *tx_store_enterprises(const tx_store *s, size_t *n);
const tx_meter *tx_store_meters(const tx_store *s, size_t *n);
const tx_event *tx_store_events(const tx_store *s, size_t *n);
/* Index of an enterprise / meter by id, or -1. O(log n) (sorted index kept in memory). */
long tx_store_find_enterprise(const tx_store *s, const char *id);
long tx_store_find_meter(const tx_store *s, const char *id);
/* Rows in use in a grid (the number of meters placed there). */
size_t tx_store_grid_rows(const tx_store *s, int interval_minutes);
/* Largest slot + 1 ever written in a grid (0 when none). */
int64_t tx_store_grid_slots(const tx_store *s, int interval_minutes);

/*
 * Upserts by id. A new id is appended; an existing id with identical fields is unchanged;
 * an existing id with other fields is replaced (later ingest wins), and *nchanged counts
 * those (may be NULL). For meters: a new meter gets the next row of its grid; a meter
 * whose interval_minutes changes is TX_EINVAL (its series would move). Meters must name
 * enterprises that are in the store (TX_ENOTFOUND otherwise).
 */
int tx_store_put_enterprises(tx_store *s, const tx_enterprise *e, size_t n,
                             size_t *nchanged, tx_err *err);
int tx_store_put_meters(tx_store *s, const tx_meter *m, size_t n, size_t *nchanged,
                        tx_err *err);
/* Events: identical (meter, t, type) already present are skipped; same key with other
 * values replaces. Meter must exist. */
int tx_store_put_events(tx_store *s, const tx_event *ev, size_t n, size_t *nchanged,
                        tx_err *err);

/*
 * Series blocks of the grid of interval_minutes: rows [row0, row0 + nrows), slots
 * [slot0, slot0 + nslots), row-major (buf[r * nslots + k]). Reading cells never written (or
 * beyond the extent) gives NaN and quality 0. quality may be NULL (not read / not written;
 * when NULL on write the stored quality is left as it is). Writing extends the dataset as
 * needed and overwrites every cell of the block, NaN included.
 */
int tx_store_read_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                        int64_t slot0, size_t nslots, double *value, uint8_t *quality,
                        tx_err *err);
int tx_store_write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                         int64_t slot0, size_t nslots, const double *value,
                         const uint8_t *quality, tx_err *err);

/* Size of the store file in bytes (after a flush). */
int tx_store_file_size(tx_store *s, uint64_t *bytes, tx_err *err);

#endif /* TX_STORE_H */
