/* h5zstd.c - the Zstandard filter for HDF5 (registered filter id 32015).
 *
 * This file is compiled twice: into the engine (which registers the class in-process with
 * tx_h5_register_zstd) and into the plugin module (TX_H5ZSTD_PLUGIN, exported by
 * h5zstd_plugin.c), where it must not use any engine symbol.
 *
 * Buffers handed to and returned from a filter belong to libhdf5, which allocates them with
 * its own allocator (H5MM_malloc) and frees them with H5MM_xfree. H5allocate_memory and
 * H5free_memory are the public face of that allocator: in a release build of 1.10 they are
 * malloc and free, but a library built with memory sanity checks adds guard headers, and on
 * Windows a plugin may sit on a different C runtime, so the filter never calls malloc/free on
 * these buffers. A plugin linked against one libhdf5 but loaded by another would still see
 * the allocator of the one it is linked with; both are plain malloc/free in release builds.
 */
#include "h5io.h"

#include <limits.h>
#include <stdint.h>
#include <zstd.h>

/* HDF5 1.10 stores a chunk's size in 32 bits, so no valid chunk decodes to more than this.
 * It also bounds the memory a corrupt frame header can make the filter allocate. */
#define TX_H5ZSTD_MAX_CHUNK ((size_t)UINT32_MAX)

/* Pushes a message onto HDF5's error stack; the library adds its own frames above it. */
#define tx_h5zstd_fail(...)                                                                \
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_PLINE,            \
             H5E_CANTFILTER, __VA_ARGS__)

/* cd_values[0] holds the level as an unsigned int; negative levels are two's complement.
 * The conversion is written out because casting an out-of-range unsigned to int is
 * implementation-defined. */
static int tx_h5zstd_level(size_t cd_nelmts, const unsigned int cd_values[])
{
    if (cd_nelmts < 1)
        return TX_ZSTD_LEVEL_DEFAULT;
    unsigned int v = cd_values[0];
    int level = v <= (unsigned int)INT_MAX ? (int)v : -(int)(UINT_MAX - v) - 1;
    if (level < ZSTD_minCLevel())
        level = ZSTD_minCLevel();
    if (level > ZSTD_maxCLevel())
        level = ZSTD_maxCLevel();
    return level;
}

/* One-shot compression, so the frame header carries the content size (readers of other
 * projects allocate from it). Returns the compressed size, 0 on failure. */
static size_t tx_h5zstd_compress(int level, size_t nbytes, size_t *buf_size, void **buf)
{
    size_t bound = ZSTD_compressBound(nbytes);
    if (ZSTD_isError(bound) || bound == 0) {
        tx_h5zstd_fail("zstd: chunk of %zu bytes is too large to compress", nbytes);
        return 0;
    }
    void *out = H5allocate_memory(bound, 0);
    if (!out) {
        tx_h5zstd_fail("zstd: cannot allocate %zu bytes", bound);
        return 0;
    }
    size_t n = ZSTD_compress(out, bound, *buf, nbytes, level);
    if (ZSTD_isError(n)) {
        tx_h5zstd_fail("zstd: compression failed: %s", ZSTD_getErrorName(n));
        H5free_memory(out);
        return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = bound;
    return n;
}

/* Decoding of frames without a content size (written by unpledged streams elsewhere),
 * several concatenated frames, or skippable frames: stream into a buffer that doubles when
 * full. The whole input must be consumed and the last frame complete. */
static size_t tx_h5zstd_decompress_stream(size_t nbytes, size_t *buf_size, void **buf)
{
    size_t ret = 0;
    void *out = NULL;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) {
        tx_h5zstd_fail("zstd: cannot create a decompression context");
        goto done;
    }
    size_t cap = ZSTD_DStreamOutSize();
    if (cap < nbytes && nbytes <= TX_H5ZSTD_MAX_CHUNK / 4)
        cap = 4 * nbytes;
    out = H5allocate_memory(cap, 0);
    if (!out) {
        tx_h5zstd_fail("zstd: cannot allocate %zu bytes", cap);
        goto done;
    }
    ZSTD_inBuffer in = {*buf, nbytes, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    for (;;) {
        size_t r = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(r)) {
            tx_h5zstd_fail("zstd: decompression failed: %s", ZSTD_getErrorName(r));
            goto done;
        }
        if (r == 0 && in.pos == in.size)
            break; /* last frame complete and flushed */
        if (ob.pos < ob.size) {
            /* Output room left means the decoder flushed all it could: it wants input. */
            if (in.pos == in.size) {
                tx_h5zstd_fail("zstd: truncated frame (%zu bytes)", nbytes);
                goto done;
            }
            continue;
        }
        if (cap >= TX_H5ZSTD_MAX_CHUNK) {
            tx_h5zstd_fail("zstd: chunk decodes to more than %zu bytes", TX_H5ZSTD_MAX_CHUNK);
            goto done;
        }
        size_t grown = cap > TX_H5ZSTD_MAX_CHUNK / 2 ? TX_H5ZSTD_MAX_CHUNK : 2 * cap;
        void *p = H5resize_memory(out, grown);
        if (!p) {
            tx_h5zstd_fail("zstd: cannot allocate %zu bytes", grown);
            goto done;
        }
        out = p;
        cap = grown;
        ob.dst = out;
        ob.size = cap;
    }
    if (ob.pos == 0) {
        /* A filter cannot return an empty chunk: 0 means failure to HDF5. */
        tx_h5zstd_fail("zstd: chunk decodes to 0 bytes");
        goto done;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = cap;
    out = NULL;
    ret = ob.pos;
done:
    if (out)
        H5free_memory(out);
    ZSTD_freeDCtx(dctx); /* accepts NULL */
    return ret;
}

static size_t tx_h5zstd_decompress(size_t nbytes, size_t *buf_size, void **buf)
{
    unsigned long long csize = ZSTD_getFrameContentSize(*buf, nbytes);
    if (csize == ZSTD_CONTENTSIZE_ERROR) {
        tx_h5zstd_fail("zstd: chunk of %zu bytes is not a zstd frame", nbytes);
        return 0;
    }
    size_t fsize = ZSTD_findFrameCompressedSize(*buf, nbytes);
    /* The fast path is the layout this project writes: one frame filling the chunk, its
     * content size in the header. Anything else is legal zstd and goes the slow way. */
    if (csize == ZSTD_CONTENTSIZE_UNKNOWN || csize == 0 || ZSTD_isError(fsize) ||
        fsize != nbytes)
        return tx_h5zstd_decompress_stream(nbytes, buf_size, buf);
    if (csize > TX_H5ZSTD_MAX_CHUNK) {
        tx_h5zstd_fail("zstd: frame header claims %llu bytes, more than a chunk can hold",
                       csize);
        return 0;
    }
    void *out = H5allocate_memory((size_t)csize, 0);
    if (!out) {
        tx_h5zstd_fail("zstd: cannot allocate %llu bytes", csize);
        return 0;
    }
    size_t n = ZSTD_decompress(out, (size_t)csize, *buf, nbytes);
    if (ZSTD_isError(n) || n != (size_t)csize) {
        tx_h5zstd_fail("zstd: decompression failed: %s",
                       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size differs from header");
        H5free_memory(out);
        return 0;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = (size_t)csize;
    return n;
}

/* The H5Z_func_t. On success the old buffer is freed, *buf and *buf_size describe the new
 * one and the valid byte count is returned; on failure *buf is untouched, an error is on
 * HDF5's stack and 0 is returned. cd_values beyond the first are ignored. */
static size_t tx_h5zstd_filter(unsigned int flags, size_t cd_nelmts,
                               const unsigned int cd_values[], size_t nbytes,
                               size_t *buf_size, void **buf)
{
    if (!buf || !*buf || !buf_size || nbytes == 0) {
        tx_h5zstd_fail("zstd: empty chunk buffer");
        return 0;
    }
    if (flags & H5Z_FLAG_REVERSE)
        return tx_h5zstd_decompress(nbytes, buf_size, buf);
    return tx_h5zstd_compress(tx_h5zstd_level(cd_nelmts, cd_values), nbytes, buf_size, buf);
}

const H5Z_class2_t tx_h5z_zstd_class[1] = {{
    H5Z_CLASS_T_VERS,                  /* version of this struct */
    (H5Z_filter_t)TX_H5Z_ZSTD,         /* registered filter id */
    1,                                 /* encoder present */
    1,                                 /* decoder present */
    "Zstandard compression (tanxiao)", /* name */
    NULL,                              /* can_apply: any type, any chunk */
    NULL,                              /* set_local: cd_values are set by the writer */
    tx_h5zstd_filter,
}};

#ifndef TX_H5ZSTD_PLUGIN
int tx_h5_register_zstd(tx_err *err)
{
    /* H5Zregister replaces a class already registered under the id, so the engine always
     * runs this implementation, even if a zstd plugin was loaded from HDF5_PLUGIN_PATH. */
    if (H5Zregister(tx_h5z_zstd_class) < 0)
        return tx_err_set(err, TX_EHDF5, "HDF5: cannot register the zstd filter (id %d)",
                          TX_H5Z_ZSTD);
    return TX_OK;
}
#endif
