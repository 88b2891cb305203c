/* test_h5zstd.c - the zstd filter (id 32015) and the HDF5 helpers of h5io.h: round trips
 * of every column type at chunk-boundary sizes, the on-disk chunk format (one zstd frame
 * with its content size, shuffle then zstd in the pipeline), the filter's failure and
 * unusual-frame paths fed through H5Dwrite_chunk, attributes, groups, and interoperability
 * with h5dump and h5py through the plugin library.
 *
 * Random data comes from splitmix64 with a printed seed; set TX_TEST_SEED to replay. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "chunk.h"
#include "h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define WORK_DIR TX_BINARY_DIR "/tests"
#define PLUGIN_SO TX_PLUGIN_DIR "/libtanxiao_h5zstd.so"

static uint64_t g_seed = 0x7a6e786961ULL; /* "tanxia", replaced by TX_TEST_SEED */

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t crc32_bytes(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/test_h5zstd_%s.h5", WORK_DIR, name);
}

static hid_t create_file(const char *name)
{
    char path[512];
    path_of(path, sizeof path, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void remove_file(const char *name)
{
    char path[512];
    path_of(path, sizeof path, name);
    unlink(path);
}

/* Runs a shell command and returns its standard output (test_malloc'd, NUL-terminated). */
static char *run_capture(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = test_malloc(cap);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *bigger = test_malloc(2 * cap);
            memcpy(bigger, out, len);
            test_free(out);
            out = bigger;
            cap *= 2;
        }
    }
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

/* Fails with the whole output of a command (cmocka truncates long failure messages). */
static void fail_with_output(const char *what, const char *out)
{
    printf("%s; output was:\n", what);
    fputs(out, stdout);
    fflush(stdout);
    fail_msg("%s", what);
}

/* HDF5 prints its error stack on failures; the failure tests expect failures. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} quiet_t;

static quiet_t hdf5_quiet(void)
{
    quiet_t q;
    assert_true(H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data) >= 0);
    assert_true(H5Eset_auto2(H5E_DEFAULT, NULL, NULL) >= 0);
    return q;
}

static void hdf5_loud(quiet_t q)
{
    assert_true(H5Eset_auto2(H5E_DEFAULT, q.func, q.data) >= 0);
}

/* HDF5's shuffle: byte b of element i goes to b * n + i. */
static void shuffle_bytes(const unsigned char *src, unsigned char *dst, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < size; b++)
            dst[b * n + i] = src[i * size + b];
}

/* Filters of a dataset: shuffle, then 32015 with one cd_value equal to level; the zstd
 * filter is mandatory in our files (h5py adds it as optional). */
static void check_pipeline_flags(hid_t dset, int level, unsigned optional)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    assert_true(dcpl >= 0);
    assert_int_equal(H5Pget_nfilters(dcpl), 2);
    unsigned flags = 0, cd[4] = {0};
    size_t ncd = 4;
    char name[64];
    assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, sizeof name, name, NULL),
                     H5Z_FILTER_SHUFFLE);
    ncd = 4;
    assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, sizeof name, name, NULL),
                     TX_H5Z_ZSTD);
    assert_int_equal(ncd, 1);
    assert_int_equal(cd[0], (unsigned)level);
    assert_int_equal(flags & H5Z_FLAG_OPTIONAL, optional);
    assert_true(H5Pclose(dcpl) >= 0);
}

static void check_pipeline(hid_t dset, int level)
{
    check_pipeline_flags(dset, level, 0);
}

/* Every stored chunk of a 1-D dataset is exactly one zstd frame, magic 28 B5 2F FD, whose
 * header gives the chunk's size in bytes; chunk 0 decodes to the shuffled data. */
static void check_chunks(hid_t dset, const void *data, size_t n)
{
    hid_t dcpl = H5Dget_create_plist(dset), type = H5Dget_type(dset);
    assert_true(dcpl >= 0 && type >= 0);
    hsize_t chunk = 0;
    assert_int_equal(H5Pget_chunk(dcpl, 1, &chunk), 1);
    size_t esize = H5Tget_size(type), cbytes = (size_t)chunk * esize;
    unsigned char *raw = test_malloc(ZSTD_compressBound(cbytes) + 64);
    unsigned char *plain = test_malloc(cbytes);
    unsigned char *shuffled = test_malloc(cbytes);
    for (size_t first = 0; first < n; first += chunk) {
        hsize_t offset = first, stored = 0;
        uint32_t mask = 0xFF;
        assert_true(H5Dget_chunk_storage_size(dset, &offset, &stored) >= 0);
        assert_true(stored >= 4 && stored <= ZSTD_compressBound(cbytes));
        assert_true(H5Dread_chunk(dset, H5P_DEFAULT, &offset, &mask, raw) >= 0);
        assert_int_equal(mask, 0);
        assert_memory_equal(raw, "\x28\xB5\x2F\xFD", 4);
        assert_true(ZSTD_getFrameContentSize(raw, stored) == cbytes);
        assert_int_equal(ZSTD_findFrameCompressedSize(raw, stored), stored);
        if (first == 0) {
            assert_int_equal(ZSTD_decompress(plain, cbytes, raw, stored), cbytes);
            size_t m = n < chunk ? n : (size_t)chunk;
            /* The edge chunk's tail is fill; compare the valid elements only. */
            memset(shuffled, 0, cbytes);
            memcpy(shuffled, data, m * esize);
            unsigned char *expect = test_malloc(cbytes);
            shuffle_bytes(shuffled, expect, (size_t)chunk, esize);
            for (size_t i = 0; i < m; i++)
                for (size_t b = 0; b < esize; b++)
                    assert_int_equal(plain[b * chunk + i], expect[b * chunk + i]);
            test_free(expect);
        }
    }
    test_free(shuffled);
    test_free(plain);
    test_free(raw);
    H5Tclose(type);
    H5Pclose(dcpl);
}

/* tx_chunk_encode is the pipeline's bytes without HDF5: zstd (same level) of the shuffled
 * cells, for every element size and every length from 1 to 70 and two long ones (the
 * 8-byte shuffle works 8 elements at a time, so lengths around multiples of 8 matter);
 * and tx_chunk_decode gives the cells back. */
static void test_chunk_codec_bytes(void **state)
{
    (void)state;
    const size_t lens[] = {43008, 43008 + 5};
    const size_t maxn = 43008 + 5;
    tx_chunk_codec *c = tx_chunk_codec_new(maxn * 8);
    assert_non_null(c);
    unsigned char *cells = test_malloc(maxn * 8), *back = test_malloc(maxn * 8);
    unsigned char *shuf = test_malloc(maxn * 8);
    size_t cap = tx_chunk_bound(maxn * 8);
    unsigned char *out = test_malloc(cap), *ref = test_malloc(cap);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < maxn * 8; i++) { /* xorshift: every byte position varies */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cells[i] = (unsigned char)(i % 3 == 0 ? x : i / 97);
    }
    /* Every element count up to 70 (the 8-byte shuffle moves 16 elements at a time, then
     * a tail) and whole chunks, from an aligned start and from a misaligned one. */
    const size_t sizes[] = {1, 2, 4, 8};
    for (size_t si = 0; si < 4 * 2; si++) {
        const size_t size = sizes[si % 4], at = si < 4 ? 0 : 3;
        for (size_t t = 0; t < 70 + 2; t++) {
            size_t n = t < 70 ? t + 1 : lens[t - 70] - (at ? 1 : 0);
            const unsigned char *in = cells + at;
            size_t got = tx_chunk_encode(c, in, n * size, size, 3, out, cap);
            assert_true(got > 0);
            const void *src = in;
            if (size > 1 && n > 1) {
                shuffle_bytes(in, shuf, n, size);
                src = shuf;
            }
            size_t want = ZSTD_compress(ref, cap, src, n * size, 3);
            assert_false(ZSTD_isError(want));
            assert_int_equal(got, want);
            assert_memory_equal(out, ref, want);
            memset(back, 0xA5, n * size);
            assert_int_equal(tx_chunk_decode(c, out, got, size, back, n * size), 0);
            assert_memory_equal(back, in, n * size);
        }
    }
    test_free(ref);
    test_free(out);
    test_free(shuf);
    test_free(back);
    test_free(cells);
    tx_chunk_codec_free(c);
}

/* ---- data --------------------------------------------------------------------------- */

enum { PAT_RANDOM, PAT_COMPRESSIBLE, PAT_INCOMPRESSIBLE, PAT_COUNT };
static const char *const pat_name[PAT_COUNT] = {"random", "compressible", "incompressible"};
static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};

static void fill_f64(double *x, size_t n, int pat, uint64_t *s)
{
    double v = 123456.78;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(s);
        if (pat == PAT_RANDOM) {
            x[i] = (double)(r % 100000000) / 100.0; /* 0.00 .. 999999.99 */
        } else if (pat == PAT_COMPRESSIBLE) {
            v += (double)(r % 16) * 0.01; /* a cumulative register */
            x[i] = v;
        } else {
            memcpy(&x[i], &r, sizeof r); /* any bit pattern, NaNs included */
        }
    }
}

static void fill_bytes(unsigned char *x, size_t nbytes, int pat, uint64_t *s)
{
    for (size_t i = 0; i < nbytes; i++) {
        uint64_t r = splitmix64(s);
        x[i] = pat == PAT_RANDOM ? (unsigned char)(r % 6)
               : pat == PAT_COMPRESSIBLE ? (unsigned char)(i / 1000)
                                         : (unsigned char)r;
    }
}

static void fill_i32(int32_t *x, size_t n, int pat, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(s);
        x[i] = pat == PAT_RANDOM ? (int32_t)(r % 2000001) - 1000000
               : pat == PAT_COMPRESSIBLE ? (int32_t)(i / 7)
                                         : (int32_t)(uint32_t)r;
    }
}

#define STR_W 18
static void fill_strings(char *x, size_t n, int pat, uint64_t *s)
{
    static const char alnum[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    memset(x, 0, n * STR_W);
    for (size_t i = 0; i < n; i++) {
        char *rec = x + i * STR_W;
        uint64_t r = splitmix64(s);
        size_t len = pat == PAT_COMPRESSIBLE ? STR_W : (size_t)(r % (STR_W + 1));
        for (size_t j = 0; j < len; j++) {
            uint64_t c = splitmix64(s);
            rec[j] = pat == PAT_COMPRESSIBLE ? "91330100MA2"[j % 11]
                     : pat == PAT_RANDOM   ? alnum[c % 31]
                                           : (char)(1 + c % 255); /* any non-NUL byte */
        }
    }
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_roundtrip_numeric(void **state)
{
    (void)state;
    uint64_t s = g_seed;
    tx_err err = {0};
    hid_t f = create_file("numeric");
    const struct {
        const char *name;
        size_t size;
    } types[] = {{"f64", 8}, {"u8", 1}, {"i32", 4}};
    for (size_t t = 0; t < 3; t++) {
        hid_t mt = t == 0 ? H5T_NATIVE_DOUBLE : t == 1 ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT32;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            for (int pat = 0; pat < PAT_COUNT; pat++) {
                size_t n = sizes[k], bytes = n * types[t].size;
                void *in = test_malloc(bytes + 1), *out = test_malloc(bytes + 1);
                if (t == 0)
                    fill_f64(in, n, pat, &s);
                else if (t == 1)
                    fill_bytes(in, n, pat, &s);
                else
                    fill_i32(in, n, pat, &s);
                char name[64];
                snprintf(name, sizeof name, "%s_%zu_%s", types[t].name, n, pat_name[pat]);
                assert_int_equal(tx_h5_write_column(f, name, mt, in, n, 3, "1", name, &err),
                                 0);
                size_t len = 99;
                assert_int_equal(tx_h5_column_length(f, name, &len, &err), 0);
                assert_int_equal(len, n);
                memset(out, 0xA5, bytes + 1);
                assert_int_equal(tx_h5_read_column(f, name, mt, out, n, &err), 0);
                if (bytes)
                    assert_memory_equal(in, out, bytes);
                hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
                assert_true(d >= 0);
                check_pipeline(d, 3);
                check_chunks(d, in, n);
                H5Dclose(d);
                test_free(out);
                test_free(in);
            }
        }
    }
    assert_true(H5Fclose(f) >= 0);
    remove_file("numeric");
}

static void test_roundtrip_strings(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ 0x5757;
    tx_err err = {0};
    hid_t f = create_file("strings");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int pat = 0; pat < PAT_COUNT; pat++) {
            size_t n = sizes[k];
            char *in = test_malloc(n * STR_W + 1), *out = test_malloc(n * STR_W + 1);
            fill_strings(in, n, pat, &s);
            char name[64];
            snprintf(name, sizeof name, "s_%zu_%s", n, pat_name[pat]);
            assert_int_equal(tx_h5_write_strings(f, name, in, STR_W, n, 3, "ids", &err), 0);
            assert_int_equal(tx_h5_read_strings(f, name, out, STR_W, n, &err), 0);
            if (n)
                assert_memory_equal(in, out, n * STR_W);
            hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
            assert_true(d >= 0);
            hid_t t = H5Dget_type(d);
            assert_true(t >= 0);
            assert_int_equal(H5Tget_class(t), H5T_STRING);
            assert_int_equal(H5Tis_variable_str(t), 0);
            assert_int_equal(H5Tget_size(t), STR_W);
            assert_int_equal(H5Tget_strpad(t), H5T_STR_NULLPAD);
            assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
            H5Tclose(t);
            check_pipeline(d, 3);
            check_chunks(d, in, n);
            H5Dclose(d);
            test_free(out);
            test_free(in);
        }
    }

    /* Width conversions: a wider reader gets NUL padding; a narrower reader succeeds while
     * every record fits and fails with TX_ERANGE otherwise. */
    const char recs[3][8] = {"abc", "\xe7\xa2\xb3", "abcdefg"}; /* "碳" is 3 bytes */
    assert_int_equal(tx_h5_write_strings(f, "w8", &recs[0][0], 8, 3, 3, "w", &err), 0);
    char wide[3][12];
    assert_int_equal(tx_h5_read_strings(f, "w8", &wide[0][0], 12, 3, &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(wide[i], recs[i], 8);
        for (int j = 8; j < 12; j++)
            assert_int_equal(wide[i][j], 0);
    }
    char narrow[3][7];
    assert_int_equal(tx_h5_read_strings(f, "w8", &narrow[0][0], 7, 3, &err), 0);
    assert_memory_equal(narrow[2], "abcdefg", 7);
    char tiny[3][4];
    assert_int_equal(tx_h5_read_strings(f, "w8", &tiny[0][0], 4, 3, &err), TX_ERANGE);
    assert_non_null(strstr(err.msg, "record 2"));
    /* A numeric column is not a string column. */
    double one = 1.0;
    assert_int_equal(tx_h5_write_column(f, "num", H5T_NATIVE_DOUBLE, &one, 1, 3, "1", "x",
                                        &err),
                     0);
    assert_int_equal(tx_h5_read_strings(f, "num", &tiny[0][0], 4, 1, &err), TX_EINVAL);
    assert_true(H5Fclose(f) >= 0);
    remove_file("strings");
}

/* Negative, default (0), high and out-of-range levels all round trip, and cd_values[0]
 * stores exactly what the caller asked for. */
static void test_levels(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ 0x1e7e1;
    tx_err err = {0};
    hid_t f = create_file("levels");
    const int levels[] = {-5, 0, 1, 3, 19, 22, 1000, -1000000};
    size_t n = 70000;
    double *in = test_malloc(n * sizeof *in), *out = test_malloc(n * sizeof *out);
    fill_f64(in, n, PAT_COMPRESSIBLE, &s);
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "level_%d", levels[i]);
        assert_int_equal(tx_h5_write_column(f, name, H5T_NATIVE_DOUBLE, in, n, levels[i],
                                            "kWh", "reading", &err),
                         0);
        assert_int_equal(tx_h5_read_column(f, name, H5T_NATIVE_DOUBLE, out, n, &err), 0);
        assert_memory_equal(in, out, n * sizeof *in);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        assert_true(d >= 0);
        check_pipeline(d, levels[i]);
        check_chunks(d, in, n);
        H5Dclose(d);
    }
    test_free(out);
    test_free(in);
    assert_true(H5Fclose(f) >= 0);
    remove_file("levels");
}

static void test_column_shape(void **state)
{
    (void)state;
    tx_err err = {0};
    hid_t f = create_file("shape");
    /* n = 0: current dim 0, chunk 1, unlimited, and it can be extended and written. */
    assert_int_equal(tx_h5_write_column(f, "empty", H5T_NATIVE_INT32, NULL, 0, 3, "1", "e",
                                        &err),
                     0);
    hid_t d = H5Dopen2(f, "empty", H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    hsize_t dim = 9, maxdim = 9, chunk = 9;
    assert_int_equal(H5Sget_simple_extent_dims(sp, &dim, &maxdim), 1);
    assert_int_equal(dim, 0);
    assert_true(maxdim == H5S_UNLIMITED);
    assert_int_equal(H5Pget_chunk(dcpl, 1, &chunk), 1);
    assert_int_equal(chunk, 1);
    H5Sclose(sp);
    H5Pclose(dcpl);
    hsize_t two = 2;
    int32_t vals[2] = {7, -7}, back[2] = {0};
    assert_true(H5Dset_extent(d, &two) >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals) >= 0);
    H5Dclose(d);
    assert_int_equal(tx_h5_read_column(f, "empty", H5T_NATIVE_INT32, back, 2, &err), 0);
    assert_memory_equal(vals, back, sizeof vals);

    /* The stored type is the little-endian standard type of the memory type. */
    double x = 2.5;
    assert_int_equal(tx_h5_write_column(f, "x", H5T_NATIVE_DOUBLE, &x, 1, 3, "tce", "x", &err),
                     0);
    d = H5Dopen2(f, "x", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    assert_true(H5Tequal(t, H5T_IEEE_F64LE) > 0);
    H5Tclose(t);
    H5Dclose(d);
    /* Conversion on read: the double column read as float. */
    float xf = 0;
    assert_int_equal(tx_h5_read_column(f, "x", H5T_NATIVE_FLOAT, &xf, 1, &err), 0);
    assert_true(xf == 2.5f);

    /* Writing an existing column replaces it, even with another type and length. */
    uint8_t codes[5] = {1, 2, 3, 4, 5}, cback[5];
    assert_int_equal(tx_h5_write_column(f, "x", H5T_NATIVE_UINT8, codes, 5, 3, "1", "codes",
                                        &err),
                     0);
    size_t len = 0;
    assert_int_equal(tx_h5_column_length(f, "x", &len, &err), 0);
    assert_int_equal(len, 5);
    assert_int_equal(tx_h5_read_column(f, "x", H5T_NATIVE_UINT8, cback, 5, &err), 0);
    assert_memory_equal(codes, cback, 5);
    char ln[32];
    d = H5Dopen2(f, "x", H5P_DEFAULT);
    assert_int_equal(tx_h5_attr_get_string(d, "long_name", ln, sizeof ln, &err), 0);
    assert_string_equal(ln, "codes");
    H5Dclose(d);

    /* Error codes. */
    assert_int_equal(tx_h5_column_length(f, "missing", &len, &err), TX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(tx_h5_read_column(f, "missing", H5T_NATIVE_UINT8, cback, 5, &err),
                     TX_ENOTFOUND);
    assert_int_equal(tx_h5_read_column(f, "x", H5T_NATIVE_UINT8, cback, 4, &err), TX_EINVAL);
    assert_int_equal(tx_h5_write_column(f, "y", H5T_NATIVE_UINT8, codes, 5, 3, NULL, "y",
                                        &err),
                     TX_EINVAL);
    assert_int_equal(tx_h5_write_column(f, "y", H5T_NATIVE_UINT8, NULL, 5, 3, "1", "y", &err),
                     TX_EINVAL);
    assert_int_equal(tx_h5_write_strings(f, "y", "a", 0, 1, 3, "y", &err), TX_EINVAL);
    hsize_t zero = 0;
    assert_int_equal(tx_h5_dcpl(1, &zero, 3, -1, NULL, &err), TX_EINVAL);
    assert_int_equal(tx_h5_dcpl(0, &zero, 3, -1, NULL, &err), TX_EINVAL);
    /* A 2-D dataset is not a column. */
    hsize_t dims2[2] = {2, 3};
    hid_t sp2 = H5Screate_simple(2, dims2, NULL);
    hid_t d2 = H5Dcreate2(f, "grid", H5T_STD_I32LE, sp2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(sp2 >= 0 && d2 >= 0);
    H5Dclose(d2);
    H5Sclose(sp2);
    assert_int_equal(tx_h5_column_length(f, "grid", &len, &err), TX_EINVAL);
    /* A failed HDF5 call is TX_EHDF5 and nothing is left behind under the name. */
    quiet_t q = hdf5_quiet();
    assert_int_equal(tx_h5_write_column(f, "bad/name", H5T_NATIVE_UINT8, codes, 5, 3, "1",
                                        "b", &err),
                     TX_EHDF5);
    assert_non_null(strstr(err.msg, "HDF5"));
    hdf5_loud(q);
    /* A fill value in the creation property list. */
    hsize_t c4 = 4;
    double fill = -1.0;
    hid_t fdcpl = tx_h5_dcpl(1, &c4, 3, H5T_NATIVE_DOUBLE, &fill, &err);
    assert_true(fdcpl >= 0);
    double got = 0;
    assert_true(H5Pget_fill_value(fdcpl, H5T_NATIVE_DOUBLE, &got) >= 0);
    assert_true(got == -1.0);
    H5Pclose(fdcpl);
    assert_true(H5Fclose(f) >= 0);
    remove_file("shape");
}

static void test_attributes(void **state)
{
    (void)state;
    tx_err err = {0};
    hid_t f = create_file("attrs");
    char buf[64];
    int64_t iv = 0;
    assert_int_equal(tx_h5_attr_string(f, "engine", "tanxiao " TX_VERSION, &err), 0);
    assert_int_equal(tx_h5_attr_get_string(f, "engine", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "tanxiao " TX_VERSION);
    /* Replacement, UTF-8, empty strings, truncation. */
    assert_int_equal(tx_h5_attr_string(f, "engine", "吨标准煤", &err), 0);
    assert_int_equal(tx_h5_attr_get_string(f, "engine", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "吨标准煤");
    assert_int_equal(tx_h5_attr_string(f, "empty", "", &err), 0);
    assert_int_equal(tx_h5_attr_get_string(f, "empty", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "");
    assert_int_equal(tx_h5_attr_string(f, "long", "0123456789", &err), 0);
    assert_int_equal(tx_h5_attr_get_string(f, "long", buf, 5, &err), 0);
    assert_string_equal(buf, "0123");

    assert_int_equal(tx_h5_attr_double(f, "pi", 3.141592653589793, &err), 0);
    assert_int_equal(tx_h5_attr_double(f, "pi", 2.718281828459045, &err), 0);
    double dv = 0;
    hid_t a = H5Aopen(f, "pi", H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &dv) >= 0);
    H5Aclose(a);
    assert_true(dv == 2.718281828459045);

    assert_int_equal(tx_h5_attr_int64(f, "big", INT64_MIN, &err), 0);
    assert_int_equal(tx_h5_attr_get_int64(f, "big", &iv, &err), 0);
    assert_true(iv == INT64_MIN);
    assert_int_equal(tx_h5_attr_int64(f, "big", 1700000000, &err), 0);
    assert_int_equal(tx_h5_attr_get_int64(f, "big", &iv, &err), 0);
    assert_true(iv == 1700000000);

    /* Errors: missing, wrong type, wrong arguments. */
    assert_int_equal(tx_h5_attr_get_string(f, "nope", buf, sizeof buf, &err), TX_ENOTFOUND);
    assert_int_equal(tx_h5_attr_get_int64(f, "nope", &iv, &err), TX_ENOTFOUND);
    assert_int_equal(tx_h5_attr_get_int64(f, "engine", &iv, &err), TX_EINVAL);
    assert_int_equal(tx_h5_attr_get_string(f, "big", buf, sizeof buf, &err), TX_EINVAL);
    assert_int_equal(tx_h5_attr_get_string(f, "engine", buf, 0, &err), TX_EINVAL);
    assert_int_equal(tx_h5_attr_string(f, "x", NULL, &err), TX_EINVAL);

    /* Fixed-length string attributes written by other programs read too. */
    hid_t st = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    assert_true(st >= 0 && sp >= 0);
    assert_true(H5Tset_size(st, 6) >= 0);
    assert_true(H5Tset_strpad(st, H5T_STR_SPACEPAD) >= 0);
    a = H5Acreate2(f, "fixed", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, st, "tce   ") >= 0);
    H5Aclose(a);
    H5Tclose(st);
    assert_int_equal(tx_h5_attr_get_string(f, "fixed", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "tce");
    /* A 32-bit integer attribute reads as int64; an array attribute is refused. */
    int32_t i32 = -42;
    a = H5Acreate2(f, "i32", H5T_STD_I32BE, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_INT32, &i32) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    assert_int_equal(tx_h5_attr_get_int64(f, "i32", &iv, &err), 0);
    assert_true(iv == -42);

    /* Flags on a uint8 dataset, and units/long_name written by the column writer. */
    uint8_t status[4] = {0, 1, 2, 3};
    assert_int_equal(tx_h5_write_column(f, "status", H5T_NATIVE_UINT8, status, 4, 3, "1",
                                        "rating status", &err),
                     0);
    hid_t d = H5Dopen2(f, "status", H5P_DEFAULT);
    assert_true(d >= 0);
    const char *meanings = "ok incomplete not_rateable no_benchmark";
    assert_int_equal(tx_h5_attr_flags(d, status, 4, meanings, &err), 0);
    assert_int_equal(tx_h5_attr_flags(d, status, 4, meanings, &err), 0); /* replaces */
    assert_int_equal(tx_h5_attr_flags(d, status, 0, meanings, &err), TX_EINVAL);
    assert_int_equal(tx_h5_attr_get_int64(d, "flag_values", &iv, &err), TX_EINVAL);
    a = H5Aopen(d, "flag_values", H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t at = H5Aget_type(a), as = H5Aget_space(a);
    assert_true(H5Tequal(at, H5T_STD_U8LE) > 0);
    assert_int_equal(H5Sget_simple_extent_npoints(as), 4);
    uint8_t fv[4] = {9, 9, 9, 9};
    assert_true(H5Aread(a, H5T_NATIVE_UINT8, fv) >= 0);
    assert_memory_equal(fv, status, 4);
    H5Sclose(as);
    H5Tclose(at);
    H5Aclose(a);
    char big[128];
    assert_int_equal(tx_h5_attr_get_string(d, "flag_meanings", big, sizeof big, &err), 0);
    assert_string_equal(big, meanings);
    assert_int_equal(tx_h5_attr_get_string(d, "units", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "1");
    assert_int_equal(tx_h5_attr_get_string(d, "long_name", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "rating status");
    H5Dclose(d);
    /* String columns carry an empty units attribute. */
    assert_int_equal(tx_h5_write_strings(f, "ids", "a", 1, 1, 3, "identifiers", &err), 0);
    d = H5Dopen2(f, "ids", H5P_DEFAULT);
    assert_int_equal(tx_h5_attr_get_string(d, "units", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "");
    H5Dclose(d);
    assert_true(H5Fclose(f) >= 0);
    remove_file("attrs");
}

static void test_groups(void **state)
{
    (void)state;
    tx_err err = {0};
    hid_t f = create_file("groups");
    hid_t g = tx_h5_group(f, "a/b/c", &err);
    assert_true(g >= 0);
    assert_int_equal(tx_h5_attr_string(g, "where", "c", &err), 0);
    H5Gclose(g);
    g = tx_h5_group(f, "/a//b/c/", &err); /* absolute, doubled and trailing slashes */
    assert_true(g >= 0);
    char buf[8];
    assert_int_equal(tx_h5_attr_get_string(g, "where", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "c");
    hid_t sub = tx_h5_group(g, "d", &err); /* relative to a group */
    assert_true(sub >= 0);
    H5Gclose(sub);
    H5Gclose(g);
    assert_true(H5Lexists(f, "/a/b/c/d", H5P_DEFAULT) > 0);
    g = tx_h5_group(f, "/", &err);
    assert_true(g >= 0);
    H5Gclose(g);
    g = tx_h5_group(f, "", &err);
    assert_true(g >= 0);
    H5Gclose(g);
    /* A dataset in the way is an HDF5 error, not a crash. */
    uint8_t one = 1;
    assert_int_equal(tx_h5_write_column(f, "a/col", H5T_NATIVE_UINT8, &one, 1, 3, "1", "c",
                                        &err),
                     0);
    quiet_t q = hdf5_quiet();
    assert_int_equal(tx_h5_group(f, "a/col/x", &err), TX_EHDF5);
    assert_int_equal(tx_h5_group(f, "a/col", &err), TX_EHDF5);
    hdf5_loud(q);
    assert_int_equal(tx_h5_group(f, NULL, &err), TX_EINVAL);
    assert_true(H5Fclose(f) >= 0);
    remove_file("groups");
}

/* Replaces chunk 0 of column "c" (N int32) with raw bytes, as the engine's parallel writer
 * does, and reads the column back. Returns tx_h5_read_column's status. */
#define N_RAW 65536
static int read_with_chunk(hid_t f, const void *raw, size_t nraw, int32_t *out, tx_err *err)
{
    hid_t d = H5Dopen2(f, "c", H5P_DEFAULT);
    assert_true(d >= 0);
    hsize_t offset = 0;
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, &offset, nraw, raw) >= 0);
    assert_true(H5Dclose(d) >= 0); /* a dataset's chunk cache goes with it */
    return tx_h5_read_column(f, "c", H5T_NATIVE_INT32, out, N_RAW, err);
}

static void test_filter_paths(void **state)
{
    (void)state;
    uint64_t s = g_seed ^ 0xfa11;
    tx_err err = {0};
    hid_t f = create_file("paths");
    size_t cbytes = N_RAW * sizeof(int32_t);
    int32_t *data = test_malloc(cbytes), *out = test_malloc(cbytes);
    unsigned char *sh = test_malloc(cbytes);
    size_t cap = ZSTD_compressBound(cbytes) + 64;
    unsigned char *frame = test_malloc(2 * cap);
    fill_i32(data, N_RAW, PAT_COMPRESSIBLE, &s);
    assert_int_equal(tx_h5_write_column(f, "c", H5T_NATIVE_INT32, data, N_RAW, 3, "1", "c",
                                        &err),
                     0);
    shuffle_bytes((const unsigned char *)data, sh, N_RAW, sizeof(int32_t));

    /* A frame without a content size (as an unpledged stream writes it) takes the
     * streaming path, whose buffer must grow: the data compresses to a few KiB. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    size_t z = ZSTD_compress2(cctx, frame, cap, sh, cbytes);
    assert_false(ZSTD_isError(z));
    assert_true(ZSTD_getFrameContentSize(frame, z) == ZSTD_CONTENTSIZE_UNKNOWN);
    assert_true(z < ZSTD_DStreamOutSize() / 4);
    memset(out, 0, cbytes);
    assert_int_equal(read_with_chunk(f, frame, z, out, &err), 0);
    assert_memory_equal(data, out, cbytes);

    /* The same without content size and truncated: a clean failure. */
    quiet_t q = hdf5_quiet();
    assert_int_equal(read_with_chunk(f, frame, z - 3, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "zstd: truncated frame"));
    hdf5_loud(q);

    /* Two frames, each with its content size, concatenated. */
    size_t z1 = ZSTD_compress(frame, cap, sh, cbytes / 2, 3);
    assert_false(ZSTD_isError(z1));
    size_t z2 = ZSTD_compress(frame + z1, cap, sh + cbytes / 2, cbytes / 2, 3);
    assert_false(ZSTD_isError(z2));
    memset(out, 0, cbytes);
    assert_int_equal(read_with_chunk(f, frame, z1 + z2, out, &err), 0);
    assert_memory_equal(data, out, cbytes);

    /* A skippable frame before the data frame. */
    unsigned char *skip = test_malloc(cap + 16);
    memcpy(skip, "\x50\x2A\x4D\x18\x04\x00\x00\x00tanx", 12);
    size_t z3 = ZSTD_compress(skip + 12, cap, sh, cbytes, 3);
    assert_false(ZSTD_isError(z3));
    memset(out, 0, cbytes);
    assert_int_equal(read_with_chunk(f, skip, z3 + 12, out, &err), 0);
    assert_memory_equal(data, out, cbytes);

    q = hdf5_quiet();
    /* Only a skippable frame: decodes to nothing, which a filter cannot return. */
    assert_int_equal(read_with_chunk(f, skip, 12, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "zstd: chunk decodes to 0 bytes"));
    /* Not a zstd frame at all. */
    unsigned char garbage[256];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (unsigned char)splitmix64(&s);
    assert_int_equal(read_with_chunk(f, garbage, sizeof garbage, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "is not a zstd frame"));
    hid_t d = H5Dopen2(f, "c", H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0);
    H5Dclose(d);
    /* A frame with its content size, cut short. */
    z = ZSTD_compress(frame, cap, sh, cbytes, 3);
    assert_false(ZSTD_isError(z));
    assert_int_equal(read_with_chunk(f, frame, z / 2, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "zstd: truncated frame"));
    /* A well-formed frame whose header claims more than any chunk can hold (2^32 bytes):
     * refused before allocating. Descriptor 0xC0: 8-byte content size, window byte; then
     * one last raw block of 1 byte. */
    const unsigned char huge[18] = {0x28, 0xB5, 0x2F, 0xFD, 0xC0, 0x00, 0, 0, 0, 0,
                                    1,    0,    0,    0,    0x09, 0,    0, 'A'};
    assert_int_equal(ZSTD_findFrameCompressedSize(huge, sizeof huge), sizeof huge);
    assert_true(ZSTD_getFrameContentSize(huge, sizeof huge) == (1ULL << 32));
    assert_int_equal(read_with_chunk(f, huge, sizeof huge, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "claims"));
    /* A valid frame followed by trailing garbage. */
    memcpy(frame + z, garbage, 16);
    assert_int_equal(read_with_chunk(f, frame, z + 16, out, &err), TX_EHDF5);
    assert_non_null(strstr(err.msg, "zstd: decompression failed"));
    hdf5_loud(q);

    /* After all that, a good chunk reads again. */
    memset(out, 0, cbytes);
    assert_int_equal(read_with_chunk(f, frame, z, out, &err), 0);
    assert_memory_equal(data, out, cbytes);

    ZSTD_freeCCtx(cctx);
    test_free(skip);
    test_free(frame);
    test_free(sh);
    test_free(out);
    test_free(data);
    assert_true(H5Fclose(f) >= 0);
    remove_file("paths");
}

/* The file read by h5dump and h5py: an int32 column crossing a chunk boundary, a float64
 * column of meter readings, and a string column. */
#define INTEROP_N 65537
static void write_interop_file(double *x, char *ids, uint32_t *crc_x, uint32_t *crc_ids)
{
    uint64_t s = g_seed ^ 0x1ee7;
    tx_err err = {0};
    hid_t f = create_file("interop");
    hid_t g = tx_h5_group(f, "enterprise", &err);
    assert_true(g >= 0);
    int32_t *k = test_malloc(INTEROP_N * sizeof *k);
    for (size_t i = 0; i < INTEROP_N; i++)
        k[i] = (int32_t)(3 * i) - 7;
    assert_int_equal(tx_h5_write_column(g, "k", H5T_NATIVE_INT32, k, INTEROP_N, 3, "1",
                                        "three i minus seven", &err),
                     0);
    test_free(k);
    fill_f64(x, INTEROP_N, PAT_COMPRESSIBLE, &s);
    x[5] = -0.0;
    assert_int_equal(tx_h5_write_column(g, "energy_tce", H5T_NATIVE_DOUBLE, x, INTEROP_N, -5,
                                        "tce", "comprehensive energy", &err),
                     0);
    fill_strings(ids, INTEROP_N, PAT_RANDOM, &s);
    memcpy(ids, "91330100MA27XYZ12Q", STR_W); /* a full-width first record to look for */
    assert_int_equal(tx_h5_write_strings(g, "enterprise_id", ids, STR_W, INTEROP_N, 19,
                                         "USCC", &err),
                     0);
    H5Gclose(g);
    assert_true(H5Fclose(f) >= 0);
    *crc_x = crc32_bytes(x, INTEROP_N * sizeof *x); /* x86/ARM: native is little-endian */
    *crc_ids = crc32_bytes(ids, INTEROP_N * (size_t)STR_W);
}

static void require_plugin(void)
{
    struct stat st;
    if (stat(PLUGIN_SO, &st) != 0)
        fail_msg("plugin %s not built (target tanxiao_h5zstd)", PLUGIN_SO);
}

static void test_interop_h5dump(void **state)
{
    (void)state;
    require_plugin();
    double *x = test_malloc(INTEROP_N * sizeof *x);
    char *ids = test_malloc(INTEROP_N * (size_t)STR_W);
    uint32_t cx, cids;
    write_interop_file(x, ids, &cx, &cids);
    char path[512], cmd[2048];
    path_of(path, sizeof path, "interop");
    int status = 0;

    /* Elements 65533..65536 cross from chunk 0 into chunk 1. */
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH='%s' h5dump -w 0 -d /enterprise/k -s 65533 -c 4 '%s' 2>&1",
             TX_PLUGIN_DIR, path);
    char *out = run_capture(cmd, &status);
    if (status != 0 || !strstr(out, "196592, 196595, 196598, 196601"))
        fail_with_output("h5dump with the plugin", out);
    test_free(out);

    /* Header: the pipeline as other tools see it. */
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH='%s' h5dump -p -H -d /enterprise/energy_tce '%s' 2>&1",
             TX_PLUGIN_DIR, path);
    out = run_capture(cmd, &status);
    if (status != 0 || !strstr(out, "SHUFFLE") || !strstr(out, "FILTER_ID 32015") ||
        !strstr(out, "PARAMS { -5 }"))
        fail_with_output("h5dump -p -H", out);
    test_free(out);

    /* Strings and a float column print too. */
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH='%s' h5dump -m %%.17g -d /enterprise/energy_tce -c 2 -d "
             "/enterprise/enterprise_id -c 1 '%s' 2>&1",
             TX_PLUGIN_DIR, path);
    out = run_capture(cmd, &status);
    char first[STR_W + 1] = {0};
    memcpy(first, ids, STR_W);
    char expect_x0[64], expect_x1[64];
    snprintf(expect_x0, sizeof expect_x0, "(0): %.17g,", x[0]);
    snprintf(expect_x1, sizeof expect_x1, " %.17g\n", x[1]);
    if (status != 0 || !strstr(out, first) || !strstr(out, expect_x0) ||
        !strstr(out, expect_x1))
        fail_with_output(expect_x0, out);
    test_free(out);

    /* Without the plugin the data cannot be read: the check above did use it. */
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH=/nonexistent h5dump -d /enterprise/k -c 4 '%s' 2>&1", path);
    out = run_capture(cmd, &status);
    assert_null(strstr(out, "-7, -4, -1, 2"));
    test_free(out);

    test_free(ids);
    test_free(x);
    remove_file("interop");
}

static void test_interop_h5py(void **state)
{
    (void)state;
    require_plugin();
    double *x = test_malloc(INTEROP_N * sizeof *x);
    char *ids = test_malloc(INTEROP_N * (size_t)STR_W);
    uint32_t cx, cids;
    write_interop_file(x, ids, &cx, &cids);
    char path[512], cmd[2048];
    path_of(path, sizeof path, "interop");
    /* Only double quotes inside the program, so it sits in single quotes in the shell. */
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH='%s' /usr/bin/python3 -c '"
             "import sys, zlib, h5py\n"
             "f = h5py.File(sys.argv[1], \"r\")\n"
             "g = f[\"enterprise\"]\n"
             "x = g[\"energy_tce\"][...]\n"
             "s = g[\"enterprise_id\"][...]\n"
             "k = g[\"k\"][...]\n"
             "print(\"x\", x.dtype.str, len(x), zlib.crc32(x.astype(\"<f8\").tobytes()))\n"
             "print(\"s\", s.dtype.str, len(s), zlib.crc32(s.tobytes()))\n"
             "print(\"k\", int(k[65536]), int(k.sum()))\n"
             "print(\"units\", g[\"energy_tce\"].attrs[\"units\"])\n"
             "' '%s' 2>&1",
             TX_PLUGIN_DIR, path);
    int status = 0;
    char *out = run_capture(cmd, &status);
    char expect[512];
    long long ksum = 0;
    for (long long i = 0; i < INTEROP_N; i++)
        ksum += 3 * i - 7;
    snprintf(expect, sizeof expect,
             "x <f8 %d %u\ns |S%d %d %u\nk %d %lld\nunits tce\n", INTEROP_N, cx, STR_W,
             INTEROP_N, cids, 3 * 65536 - 7, ksum);
    if (status != 0 || strcmp(out, expect) != 0)
        fail_with_output(expect, out);
    test_free(out);

    /* The other direction: h5py writes through the plugin's encoder (shuffle, zstd level
     * 7), the engine reads, and the chunks have the same layout as ours. */
    char ypath[512];
    path_of(ypath, sizeof ypath, "from_h5py");
    snprintf(cmd, sizeof cmd,
             "HDF5_PLUGIN_PATH='%s' /usr/bin/python3 -c '"
             "import sys, numpy, h5py\n"
             "with h5py.File(sys.argv[1], \"w\") as f:\n"
             "    f.create_dataset(\"y\", data=numpy.arange(100001, dtype=\"<f8\") * 0.25,\n"
             "                     chunks=(65536,), shuffle=True, compression=32015,\n"
             "                     compression_opts=(7,))\n"
             "' '%s' 2>&1",
             TX_PLUGIN_DIR, ypath);
    out = run_capture(cmd, &status);
    if (status != 0 || out[0] != '\0')
        fail_with_output("h5py write", out);
    test_free(out);
    size_t ny = 0;
    tx_err err = {0};
    hid_t f = H5Fopen(ypath, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_int_equal(tx_h5_column_length(f, "y", &ny, &err), 0);
    assert_int_equal(ny, 100001);
    double *y = test_malloc(ny * sizeof *y);
    assert_int_equal(tx_h5_read_column(f, "y", H5T_NATIVE_DOUBLE, y, ny, &err), 0);
    for (size_t i = 0; i < ny; i++)
        assert_true(y[i] == (double)i * 0.25);
    hid_t d = H5Dopen2(f, "y", H5P_DEFAULT);
    assert_true(d >= 0);
    check_pipeline_flags(d, 7, H5Z_FLAG_OPTIONAL);
    check_chunks(d, y, ny);
    H5Dclose(d);
    assert_true(H5Fclose(f) >= 0);
    test_free(y);
    unlink(ypath);

    test_free(ids);
    test_free(x);
    remove_file("interop");
}

int main(void)
{
    const char *seed = getenv("TX_TEST_SEED");
    if (seed)
        g_seed = strtoull(seed, NULL, 0);
    printf("test_h5zstd: seed 0x%llx (replay with TX_TEST_SEED)\n", (unsigned long long)g_seed);
    tx_err err = {0};
    if (tx_h5_register_zstd(&err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_numeric), cmocka_unit_test(test_roundtrip_strings),
        cmocka_unit_test(test_levels),            cmocka_unit_test(test_column_shape),
        cmocka_unit_test(test_attributes),        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_filter_paths),      cmocka_unit_test(test_interop_h5dump),
        cmocka_unit_test(test_interop_h5py),      cmocka_unit_test(test_chunk_codec_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
