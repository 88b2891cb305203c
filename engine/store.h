/*
 * store.h - the HDF5 meter store (prefix tx_store_). Internal to the engine.
 *
 * Layout (format version 1):
 *   /                      attrs: format = "tanxiao-store", format_version = 1,
 *                                 epoch = "2000-01-01T00:00:00+08:00"
 *   /enterprises/<field>   columnar table, one row per enterprise (fields of tx_enterprise)
 *   /meters/<field>        columnar table, one row per meter (fields of tx_meter)
 *   /events/<field>        columnar table of meter events
 *   /series/<m>min/value   int64 [rows, slots] for the grid of step m minutes
 *                          (m in 15, 30, 60, 1440): row = tx_meter.row, slot k = instant
 *                          TX_EPOCH_UNIX + k*m*60; the reading is value * 10^-decimals[row];
 *                          INT64_MIN (the fill value) = no reading. Chunked
 *                          [chunk_rows, 28 days of slots], shuffle + zstd, both dimensions
 *                          unlimited. Moved as raw chunks: see "Raw chunks" below.
 *   /series/<m>min/decimals uint8 [rows]: the row's resolution, 0 .. TX_STORE_MAX_DECIMALS,
 *                          the fewest decimals that hold every reading ever written to it
 *                          exactly (raised, and the row rescaled, when a finer one comes).
 *   /series/<m>min/chunks  uint8 [chunk rows, chunk columns]: which chunks are stored (bit 1
 *                          value, bit 2 quality); the store writes every chunk itself and
 *                          keeps this map, since HDF5 1.10 has no cheap lookup of it.
 *   /series/<m>min/quality uint8 [rows, slots], same chunking; 0 measured, 1 estimated,
 *                          2 suspect (fill 0).
 * Every dataset has `units` and `long_name`; code columns (carrier, unit, kind, type,
 * above_scale, quality) have CF `flag_values` / `flag_meanings`; the series also carry
 * `interval_minutes` and `slot_0` (the instant of slot 0). Strings are fixed-length,
 * NUL-padded UTF-8 of the record field's size. The file keeps its free space across
 * sessions (HDF5 file space strategy FSM_AGGR, persistent), so rewritten catalogue tables
 * and recompressed chunks reuse space instead of growing the file.
 *
 * The catalogue (enterprises, meters, events) is held in memory while the store is open and
 * written back by tx_store_flush / tx_store_close. Series are read and written in blocks.
 * Writers work on a copy committed at close (crash safety, below). Not thread-safe: one
 * thread calls the store.
 */
#ifndef TX_STORE_H
#define TX_STORE_H

#include "records.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tx_store tx_store;

#define TX_STORE_NGRIDS 4
/* Most decimals a reading may have; with them |reading| < 2^53 * 10^-decimals. */
#define TX_STORE_MAX_DECIMALS 9
/* The fewest decimals d (0 .. TX_STORE_MAX_DECIMALS) with v == n / 10^d for an integer n,
 * |n| < 2^53: then the store keeps v exactly (as n, read back as n / 10^d, which is v).
 * -1 when there is none (more decimals, too large at its resolution, not finite). -0.0 has
 * 0 decimals and reads back as 0. A value parsed from decimal text with at most 9 decimals
 * and at most 15 significant digits always has one. */
int tx_store_decimals_of(double v);
/* The grids' steps in minutes, in grid index order: {15, 30, 60, 1440}. */
extern const int tx_store_grid_minutes[TX_STORE_NGRIDS];
/* Grid index of a step in minutes, or -1. */
int tx_store_grid_of(int interval_minutes);
/* Slot of instant t on the grid of step m minutes: 0 and *slot set when t is on the grid
 * and not before the epoch; TX_ERANGE otherwise (off the grid, before the epoch, or more
 * than 2^40 slots after it); TX_EINVAL when m is not a grid's step. *slot is untouched on
 * failure. Slots of the 1440-minute grid are local (UTC+8) midnights. */
int tx_store_slot(int64_t t, int interval_minutes, int64_t *slot);
/* Rows per chunk and slots per chunk of a grid (slots = 28 days; a chunk is 43008 cells,
 * 344064 bytes of int64: 16 x 2688, 32 x 1344, 64 x 672, 1536 x 28). 0 for other steps.
 * Blocks aligned to these are the fast ones: a write that covers whole chunks never reads
 * them back, and a read of [chunk_rows x any slots] touches each chunk once. */
size_t tx_store_chunk_rows(int interval_minutes);
size_t tx_store_chunk_slots(int interval_minutes);

/*
 * Crash safety. A writer never changes the committed bytes of the store before its
 * commit is on disk. tx_store_open(writable) takes an exclusive lock (flock on
 * "STORE.lock", never waiting; the file is removed at close), finishes or discards what a
 * killed writer left (tx_journal_recover) and removes stale working copies. The first
 * change of the session (a put that changes the catalogue, once flushed or closed, or a
 * series write) reopens STORE through the redo journal (journal.h): writes beyond the
 * committed size go to the file, writes below it to "STORE.journal". tx_store_close
 * commits (journal synced, commit record, pages applied, synced, journal removed). So
 * whether the process is killed, or a write or the caller fails, STORE holds either the
 * whole session or none of it once tanxiao has opened it again. A session that changes
 * nothing writes nothing. A new store is created as "STORE.wip-PID" and renamed into place
 * at close. Readers hold a shared flock on the store file for their session (and apply a
 * committed journal a killed writer left, first); a commit that finds readers copies the
 * store instead of changing it in place, so an open reader keeps the state it opened.
 *
 * Opens a store; writable != 0 creates it when absent. zstd_level applies to new data.
 * Errors: TX_ENOTFOUND (absent and read-only), TX_EINVAL "not a tanxiao store" (not a
 * regular file, not HDF5, no or another format attribute), TX_EINVAL (other
 * format_version or epoch, catalogue incomplete or inconsistent), TX_EHDF5 (cannot create
 * or open, e.g. no such directory or no permission: the system's or HDF5's reason is in
 * the message), TX_EIO (stat failed, cannot lock or list the directory), TX_EEXIST
 * ("store STORE is being written by another process (pid N)": another writer holds the
 * lock; or "already open in this process": one writer, or readers only, within a process).
 * HDF5 prints no error stack for these.
 * Memory: the catalogue and a byte of decimals per series row; no chunk cache (chunks are
 * moved raw, see below); a write holds up to 64 chunks at a time (about 45 MB).
 */
int tx_store_open(const char *path, int writable, int zstd_level, tx_store **out,
                  tx_err *err);
/* Ends a session. Readers: closes. Writers: writes the catalogue (when changed) and the
 * cached chunks, closes, and commits the journal into STORE (see above); when any write of
 * the session failed nothing is committed, the journal is removed and STORE is as it was
 * (a commit that fails after its commit record leaves the journal for the next opener).
 * Returns 0 or the first error; the store is freed and the lock released in every case.
 * Accepts NULL. Callers that fail half way through a session call tx_store_abort instead,
 * so that their partial work is not committed. */
int tx_store_close(tx_store *s, tx_err *err);
/* Ends a session without committing anything: closes, discards the journal (or a new
 * store's working copy), releases the lock. STORE is as it was when the session opened.
 * Accepts NULL. */
void tx_store_abort(tx_store *s);
/* Writes the catalogue (the tables changed since the last write) and the cached chunks
 * through the journal and flushes HDF5's caches into it, without closing. No-op on a
 * read-only store or a session without changes. Nothing is visible under STORE's name before tx_store_close. */
int tx_store_flush(tx_store *s, tx_err *err);

/* The catalogue (valid until the next put or close). Enterprises and meters are in the
 * order they were first put (a record keeps its index for the life of the store; new ones
 * are appended); events are sorted by (meter_id, t, type). */
const tx_enterprise *tx_store_enterprises(const tx_store *s, size_t *n);
const tx_meter *tx_store_meters(const tx_store *s, size_t *n);
const tx_event *tx_store_events(const tx_store *s, size_t *n);
/* Index of an enterprise / meter by id, or -1. O(log n) (sorted index kept in memory). */
long tx_store_find_enterprise(const tx_store *s, const char *id);
long tx_store_find_meter(const tx_store *s, const char *id);
/* Rows in use in a grid (the number of meters placed there; 0 for other steps). */
size_t tx_store_grid_rows(const tx_store *s, int interval_minutes);
/* Largest slot + 1 ever written in a grid (0 when none): the slot extent of its datasets. */
int64_t tx_store_grid_slots(const tx_store *s, int interval_minutes);

/*
 * Upserts by id. A new id is appended; an existing id with identical fields is unchanged;
 * an existing id with other fields is replaced (later ingest wins), and *nchanged counts
 * those (may be NULL). For meters: a new meter gets the next row of its grid; a meter
 * whose interval_minutes changes is TX_EINVAL (its series would move). Meters must name
 * enterprises that are in the store (TX_ENOTFOUND otherwise, naming meter and enterprise).
 * *nchanged counts replaced records only; new ones show as growth of the table. The same id
 * twice in one call: applied in order, the later wins. Every record is checked before any
 * is applied, so a failed put leaves the store unchanged. TX_EINVAL also for a read-only
 * store, an empty or unterminated id or text field, an interval that is not a grid's step,
 * or carrier/unit/kind codes out of range; the row passed in is ignored.
 */
int tx_store_put_enterprises(tx_store *s, const tx_enterprise *e, size_t n,
                             size_t *nchanged, tx_err *err);
int tx_store_put_meters(tx_store *s, const tx_meter *m, size_t n, size_t *nchanged,
                        tx_err *err);
/* Events: identical (meter, t, type) already present are skipped; same key with other
 * values replaces (counted in *nchanged). Meter must exist (TX_ENOTFOUND); type must be
 * TX_EVENT_REPLACE or TX_EVENT_MULTIPLIER (TX_EINVAL). */
int tx_store_put_events(tx_store *s, const tx_event *ev, size_t n, size_t *nchanged,
                        tx_err *err);

/*
 * Series blocks of the grid of interval_minutes: rows [row0, row0 + nrows), slots
 * [slot0, slot0 + nslots), row-major (buf[r * nslots + k]). Reading cells never written (or
 * beyond the extent) gives NaN and quality 0. Written values are NaN (no reading) or have
 * tx_store_decimals_of(v) >= 0 (TX_ERANGE otherwise, naming the cell, nothing written);
 * they read back bit for bit (-0.0 as 0.0). quality may be NULL (not read / not written;
 * when NULL on write the stored quality is left as it is). Writing extends the dataset as
 * needed and overwrites every cell of the block, NaN included. nrows or nslots 0: nothing
 * happens (value may be NULL). TX_ERANGE when slot0 < 0, the block ends more than 2^40
 * slots after the epoch or past row 2^32; TX_EINVAL for a step that is not a grid's, NULL
 * value, or a write to a read-only store. Rows beyond tx_store_grid_rows may be written
 * (the extent grows); they belong to no meter. Reads clip to the extent and fill the rest
 * themselves, so no HDF5 error is ever raised for cells beyond it.
 */
int tx_store_read_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                        int64_t slot0, size_t nslots, double *value, uint8_t *quality,
                        tx_err *err);
int tx_store_write_block(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                         int64_t slot0, size_t nslots, const double *value,
                         const uint8_t *quality, tx_err *err);

/*
 * Raw chunks, for readers that decode in their own threads. tx_store_fetch (one thread: it
 * calls HDF5) reads the stored bytes of every chunk of a block's values (and quality, when
 * with_quality) into raw, reusing its buffers; tx_store_decode (any thread, one decoder
 * each, no HDF5 call) then decodes part i of them: the block's rows that lie in the i-th
 * chunk row, tx_store_raw_part(raw, i, &first, &n) of them, first relative to the block,
 * into value (and quality) of those rows, row-major with nslots per row, exactly as
 * tx_store_read_block would (NaN and quality 0 where nothing was written). A fetched block
 * stays valid through later writes. tx_store_read_block is fetch + decode of every part in
 * the OpenMP threads.
 */
typedef struct tx_store_raw tx_store_raw;
typedef struct tx_store_decoder tx_store_decoder;
tx_store_raw *tx_store_raw_new(void);            /* NULL when out of memory */
void tx_store_raw_free(tx_store_raw *raw);       /* accepts NULL */
tx_store_decoder *tx_store_decoder_new(void);    /* NULL when out of memory */
void tx_store_decoder_free(tx_store_decoder *d); /* accepts NULL */
int tx_store_fetch(tx_store *s, int interval_minutes, size_t row0, size_t nrows,
                   int64_t slot0, size_t nslots, int with_quality, tx_store_raw *raw,
                   tx_err *err);
size_t tx_store_raw_parts(const tx_store_raw *raw);
void tx_store_raw_part(const tx_store_raw *raw, size_t i, size_t *first, size_t *n);
/* Compressed bytes held by raw (what the fetch read). */
size_t tx_store_raw_bytes(const tx_store_raw *raw);
/* 0, or TX_EHDF5 naming the chunk when its bytes do not decode (a damaged file). present
 * (may be NULL): for each row of the part, how many of its cells hold a reading (counted
 * as they are converted, so a reader needs no pass of its own for it). */
int tx_store_decode(const tx_store_raw *raw, size_t i, double *value, uint8_t *quality,
                    uint64_t *present, tx_store_decoder *d, tx_err *err);

/*
 * Merges single cells into one grid, for ingest: n cells, stride bytes apart (sizeof a
 * cell for an array of them; ingest passes its sorted readings, which begin with their
 * cell, and copies nothing), sorted by (row, slot), at most one per cell, all in one
 * 28-day window (slot / tx_store_chunk_slots the same). Each cell's stored value and
 * quality before the merge go to old[i] and oldq[i] (NaN and 0 where nothing was stored);
 * a cell whose value and quality equal what is stored changes nothing, and only chunks
 * that change are written. One decode and one encode per chunk, in the OpenMP threads; no
 * dense block. *changed counts the cells written. Values must be storable
 * (tx_store_decimals_of >= 0, TX_ERANGE otherwise, nothing written); errors as
 * tx_store_write_block.
 */
typedef struct {
    uint32_t row;
    uint8_t quality;
    uint8_t decimals; /* tx_store_decimals_of(value) + 1 when the caller has it (each cell
                         is checked exact as it is stored), 0: taken here */
    uint16_t user;    /* the caller's own: the merge neither reads nor writes it */
    int64_t slot;
    double value;
} tx_store_cell;
int tx_store_merge(tx_store *s, int interval_minutes, const tx_store_cell *cells,
                   size_t stride, size_t n, double *old, uint8_t *oldq, size_t *changed,
                   tx_err *err);

/* The hash of a NUL-terminated id that the store's lookups use (FNV-1a, its bits mixed by
 * murmur3's finaliser for the low bits a power-of-two table takes). */
uint64_t tx_id_hash(const char *id);

/* A reader's descriptor of the store file it holds (with a shared flock, see above): the
 * file the session reads, even when a writer has since renamed another over its name. -1
 * for writers. Owned by the store. */
int tx_store_read_fd(const tx_store *s);
/* Size in bytes of the file the session works on (as HDF5 sees it through the journal;
 * exact after tx_store_flush, cached chunks not yet written are not counted before). */
int tx_store_file_size(tx_store *s, uint64_t *bytes, tx_err *err);

#endif /* TX_STORE_H */
