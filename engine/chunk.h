/*
 * chunk.h - the byte codec of the store's chunks (prefix tx_chunk_). Internal to the engine.
 *
 * A stored chunk is what HDF5's filter pipeline "shuffle, then zstd (id 32015)" makes of the
 * chunk's cells: the shuffle filter's byte planes (byte j of every element, for j = 0 .. size
 * - 1; nothing moves for one-byte elements), then one plain zstd frame of them made with the
 * one-shot API at the dataset's level. These functions make and undo exactly that, so that
 * chunks moved raw with H5Dwrite_chunk / H5Dread_chunk are the bytes H5Dwrite would have
 * written and any HDF5 reader with the plugin decodes them. They touch no HDF5 state and are
 * thread-safe given one codec per thread: the store decodes and encodes in OpenMP threads
 * while one thread moves the raw chunks.
 */
#ifndef TX_CHUNK_H
#define TX_CHUNK_H

#include <stddef.h>

typedef struct tx_chunk_codec tx_chunk_codec;

/* A codec for chunks of up to max_bytes decoded bytes; NULL when out of memory. */
tx_chunk_codec *tx_chunk_codec_new(size_t max_bytes);
void tx_chunk_codec_free(tx_chunk_codec *c); /* accepts NULL */

/* The most bytes an encoded chunk of nbytes can take (ZSTD_compressBound). */
size_t tx_chunk_bound(size_t nbytes);

/* Encodes nbytes of cells of elem_size bytes each (nbytes a multiple of elem_size, at most
 * the codec's max_bytes) into out (cap bytes, tx_chunk_bound(nbytes) always suffices) at
 * zstd level `level`. Returns the encoded size, or 0 on failure. */
size_t tx_chunk_encode(tx_chunk_codec *c, const void *cells, size_t nbytes, size_t elem_size,
                       int level, void *out, size_t cap);

/* The length of the encoded chunk (one zstd frame) at the start of the cap bytes at p, or 0
 * when they do not start with a whole frame. */
size_t tx_chunk_frame_size(const void *p, size_t cap);

/* Decodes an encoded chunk of in_bytes into exactly nbytes of cells. Returns 0, or -1 when
 * the bytes are not one zstd frame of that content size. */
int tx_chunk_decode(tx_chunk_codec *c, const void *in, size_t in_bytes, size_t elem_size,
                    void *cells, size_t nbytes);

#endif /* TX_CHUNK_H */
