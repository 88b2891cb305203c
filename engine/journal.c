/*
 * journal.c - the store writer's redo journal and the HDF5 virtual file driver over it.
 * The design is in journal.h.
 */
#define _GNU_SOURCE
#include "journal.h"

#include <H5FDpublic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define JR_PAGE ((uint64_t)4096)
#define JR_HEAD 64
#define JR_REC (8 + JR_PAGE)
#define JR_TAIL 64
static const char JR_MAGIC[8] = {'T', 'X', 'J', 'R', 'N', 'L', '0', '1'};
static const char JR_COMMIT[8] = {'T', 'X', 'C', 'O', 'M', 'M', 'I', 'T'};

struct tx_journal {
    char *store, *jpath;
    int fd, jfd;
    uint64_t committed; /* the store's size when the session began */
    uint64_t base;      /* committed rounded up to a page: below it, writes go to the journal */
    uint64_t dev, ino;
    uint64_t *keys;     /* open addressing: page + 1 (0 empty) -> record index */
    uint32_t *vals;
    size_t cap, n;
    uint64_t *order;    /* page of each record, in journal order */
    size_t order_cap;
    uint64_t final_size;
    int attached;
    int failed; /* errno of the first failed write: nothing is committed */
};

/* ---- small I/O helpers -------------------------------------------------------------------- */

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Reads n bytes at off; what lies past the end of the file reads as zeros. 0 or -1. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {
            memset(p, 0, n);
            return 0;
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
}

/* Makes a directory entry change (a rename, an unlink) durable. 0 or -1. */
static int sync_dir(const char *path)
{
    char *dir = dir_of(path);
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    int rc = dfd >= 0 && fsync(dfd) == 0 ? 0 : -1;
    if (dfd >= 0)
        close(dfd);
    return rc;
}

static char *journal_path(const char *store)
{
    size_t n = strlen(store);
    char *p = malloc(n + sizeof ".journal");
    if (p) {
        memcpy(p, store, n);
        memcpy(p + n, ".journal", sizeof ".journal");
    }
    return p;
}

static uint64_t rec_off(size_t i)
{
    return JR_HEAD + (uint64_t)i * JR_REC;
}

/* ---- the page index ---------------------------------------------------------------------- */

static size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

/* Record index of a page, or -1. */
static long page_find(const tx_journal *j, uint64_t page)
{
    if (!j->cap)
        return -1;
    for (size_t i = slot_of(page + 1, j->cap);; i = (i + 1) & (j->cap - 1)) {
        if (j->keys[i] == page + 1)
            return (long)j->vals[i];
        if (j->keys[i] == 0)
            return -1;
    }
}

static int page_grow(tx_journal *j)
{
    size_t cap = j->cap ? 2 * j->cap : 4096;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < j->cap; i++) {
        if (!j->keys[i])
            continue;
        size_t s = slot_of(j->keys[i], cap);
        while (keys[s])
            s = (s + 1) & (cap - 1);
        keys[s] = j->keys[i];
        vals[s] = j->vals[i];
    }
    free(j->keys);
    free(j->vals);
    j->keys = keys;
    j->vals = vals;
    j->cap = cap;
    return 0;
}

/* Adds a page as the next record; its index, or -1 (out of memory). */
static long page_add(tx_journal *j, uint64_t page)
{
    if ((j->n + 1) * 2 > j->cap && page_grow(j) != 0)
        return -1;
    if (j->n == j->order_cap) {
        size_t cap = j->order_cap ? 2 * j->order_cap : 4096;
        uint64_t *o = realloc(j->order, cap * sizeof *o);
        if (!o)
            return -1;
        j->order = o;
        j->order_cap = cap;
    }
    if (j->n >= UINT32_MAX)
        return -1;
    size_t s = slot_of(page + 1, j->cap);
    while (j->keys[s])
        s = (s + 1) & (j->cap - 1);
    j->keys[s] = page + 1;
    j->vals[s] = (uint32_t)j->n;
    j->order[j->n] = page;
    return (long)j->n++;
}

/* ---- reads and writes of the session ------------------------------------------------------ */

static int jr_read(tx_journal *j, uint64_t addr, size_t size, void *buf)
{
    unsigned char *p = buf;
    while (size) {
        if (addr >= j->base)
            return pread_full(j->fd, p, size, addr);
        uint64_t page = addr / JR_PAGE, off = addr % JR_PAGE;
        size_t n = size < JR_PAGE - off ? size : (size_t)(JR_PAGE - off);
        long r = page_find(j, page);
        if (r >= 0) {
            if (pread_full(j->jfd, p, n, rec_off((size_t)r) + 8 + off) != 0)
                return -1;
        } else {
            /* The committed pages that follow, up to the next journal page, in one read. */
            while (n < size && addr + n < j->base && page_find(j, (addr + n) / JR_PAGE) < 0)
                n += size - n < JR_PAGE ? size - n : (size_t)JR_PAGE;
            if (addr + n > j->base)
                n = (size_t)(j->base - addr);
            if (pread_full(j->fd, p, n, addr) != 0)
                return -1;
        }
        addr += n;
        p += n;
        size -= n;
    }
    return 0;
}

static int jr_write(tx_journal *j, uint64_t addr, size_t size, const void *buf)
{
    const unsigned char *p = buf;
    unsigned char rec[JR_REC];
    while (size) {
        if (addr >= j->base)
            return pwrite_full(j->fd, p, size, addr);
        uint64_t page = addr / JR_PAGE, off = addr % JR_PAGE;
        size_t n = size < JR_PAGE - off ? size : (size_t)(JR_PAGE - off);
        long r = page_find(j, page);
        if (r >= 0) {
            if (pwrite_full(j->jfd, p, n, rec_off((size_t)r) + 8 + off) != 0)
                return -1;
        } else {
            if ((r = page_add(j, page)) < 0) {
                errno = ENOMEM;
                return -1;
            }
            put64(rec, page);
            /* A page written in part keeps the rest of its committed bytes. */
            if (n < JR_PAGE && pread_full(j->fd, rec + 8, JR_PAGE, page * JR_PAGE) != 0)
                return -1;
            memcpy(rec + 8 + off, p, n);
            if (pwrite_full(j->jfd, rec, JR_REC, rec_off((size_t)r)) != 0)
                return -1;
        }
        addr += n;
        p += n;
        size -= n;
    }
    return 0;
}

/* ---- the HDF5 virtual file driver ---------------------------------------------------------- */

typedef struct {
    tx_journal *j;
} jr_fapl;

typedef struct {
    H5FD_t pub; /* first: HDF5 casts between the two */
    tx_journal *j;
    haddr_t eoa, eof;
} jr_file;

static hid_t jr_driver = H5I_INVALID_HID;

static void *jr_fapl_copy(const void *fapl)
{
    jr_fapl *c = malloc(sizeof *c);
    if (c)
        memcpy(c, fapl, sizeof *c);
    return c;
}

static herr_t jr_fapl_free(void *fapl)
{
    free(fapl);
    return 0;
}

static void *jr_fapl_get(H5FD_t *file)
{
    jr_fapl f = {((jr_file *)file)->j};
    return jr_fapl_copy(&f);
}

static H5FD_t *jr_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    (void)name;
    (void)maxaddr;
    const jr_fapl *info = H5Pget_driver_info(fapl);
    if (!info || !info->j || info->j->attached || (flags & (H5F_ACC_CREAT | H5F_ACC_TRUNC)))
        return NULL;
    struct stat st;
    if (fstat(info->j->fd, &st) != 0)
        return NULL;
    jr_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->j = info->j;
    f->eof = (haddr_t)st.st_size;
    if (f->eof < f->j->committed)
        f->eof = f->j->committed;
    f->j->attached = 1;
    return &f->pub;
}

static herr_t jr_close(H5FD_t *file)
{
    jr_file *f = (jr_file *)file;
    f->j->final_size = f->eof;
    f->j->attached = 0;
    free(f);
    return 0;
}

static int jr_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const tx_journal *x = ((const jr_file *)a)->j, *y = ((const jr_file *)b)->j;
    return x < y ? -1 : x > y;
}

static herr_t jr_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
             H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

static haddr_t jr_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const jr_file *)file)->eoa;
}

static herr_t jr_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((jr_file *)file)->eoa = addr;
    return 0;
}

static haddr_t jr_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const jr_file *)file)->eof;
}

static herr_t jr_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((jr_file *)file)->j->fd;
    return 0;
}

static herr_t jr_read_cb(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                         void *buf)
{
    (void)type;
    (void)dxpl;
    jr_file *f = (jr_file *)file;
    if (addr == HADDR_UNDEF || addr + size > f->eoa)
        return -1;
    return jr_read(f->j, addr, size, buf) == 0 ? 0 : -1;
}

static herr_t jr_write_cb(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                          const void *buf)
{
    (void)type;
    (void)dxpl;
    jr_file *f = (jr_file *)file;
    if (addr == HADDR_UNDEF || addr + size > f->eoa)
        return -1;
    if (f->j->failed)
        return -1;
    if (jr_write(f->j, addr, size, buf) != 0) {
        f->j->failed = errno ? errno : EIO;
        return -1;
    }
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t jr_flush(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)file;
    (void)dxpl;
    (void)closing;
    return 0; /* durability is the commit's */
}

/* The file's size becomes its end of allocation; committed bytes are only cut off at
 * commit, after the journal is applied. */
static herr_t jr_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl;
    (void)closing;
    jr_file *f = (jr_file *)file;
    if (f->eoa == f->eof)
        return 0;
    uint64_t keep = f->eoa > f->j->committed ? f->eoa : f->j->committed;
    if (ftruncate(f->j->fd, (off_t)keep) != 0) {
        f->j->failed = errno;
        return -1;
    }
    f->eof = f->eoa;
    return 0;
}

static const H5FD_class_t jr_class = {
    .name = "tanxiao-journal",
    .maxaddr = (haddr_t)INT64_MAX,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(jr_fapl),
    .fapl_get = jr_fapl_get,
    .fapl_copy = jr_fapl_copy,
    .fapl_free = jr_fapl_free,
    .open = jr_open,
    .close = jr_close,
    .cmp = jr_cmp,
    .query = jr_query,
    .get_eoa = jr_get_eoa,
    .set_eoa = jr_set_eoa,
    .get_eof = jr_get_eof,
    .get_handle = jr_get_handle,
    .read = jr_read_cb,
    .write = jr_write_cb,
    .flush = jr_flush,
    .truncate = jr_truncate,
    .fl_map = {H5FD_MEM_SUPER, H5FD_MEM_SUPER, H5FD_MEM_SUPER, H5FD_MEM_DRAW, H5FD_MEM_DRAW,
               H5FD_MEM_SUPER, H5FD_MEM_SUPER},
};

hid_t tx_journal_fapl(tx_journal *j, tx_err *err)
{
    if (jr_driver < 0 && (jr_driver = H5FDregister(&jr_class)) < 0) {
        tx_err_set(err, TX_EHDF5, "%s: cannot register the journal file driver", j->store);
        return H5I_INVALID_HID;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    jr_fapl info = {j};
    if (fapl < 0 || H5Pset_driver(fapl, jr_driver, &info) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        tx_err_set(err, TX_EHDF5, "%s: cannot set the journal file driver", j->store);
        return H5I_INVALID_HID;
    }
    return fapl;
}

/* ---- session ------------------------------------------------------------------------------- */

static void journal_free(tx_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    if (j->jfd >= 0)
        close(j->jfd);
    free(j->keys);
    free(j->vals);
    free(j->order);
    free(j->store);
    free(j->jpath);
    free(j);
}

static void header_encode(unsigned char *h, uint64_t committed, uint64_t dev, uint64_t ino)
{
    memset(h, 0, JR_HEAD);
    memcpy(h, JR_MAGIC, 8);
    uint32_t version = 1, page = (uint32_t)JR_PAGE;
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &page, 4);
    put64(h + 16, committed);
    put64(h + 24, dev);
    put64(h + 32, ino);
    put64(h + 56, XXH3_64bits(h, 56));
}

int tx_journal_begin(const char *store, tx_journal **out, tx_err *err)
{
    *out = NULL;
    tx_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->store = strdup(store)) || !(j->jpath = journal_path(store))) {
        journal_free(j);
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", store);
    }
    j->jfd = -1;
    struct stat st;
    j->fd = open(store, O_RDWR | O_CLOEXEC);
    if (j->fd < 0 || fstat(j->fd, &st) != 0) {
        int rc = tx_err_set(err, TX_EIO, "%s: cannot open for writing (%s)", store,
                            strerror(errno));
        journal_free(j);
        return rc;
    }
    j->committed = (uint64_t)st.st_size;
    j->base = (j->committed + JR_PAGE - 1) / JR_PAGE * JR_PAGE;
    j->dev = (uint64_t)st.st_dev;
    j->ino = (uint64_t)st.st_ino;
    j->final_size = j->committed;
    j->jfd = open(j->jpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    unsigned char h[JR_HEAD];
    header_encode(h, j->committed, j->dev, j->ino);
    if (j->jfd < 0 || pwrite_full(j->jfd, h, JR_HEAD, 0) != 0) {
        int rc = tx_err_set(err, TX_EIO, "%s: cannot create the journal %s (%s)", store,
                            j->jpath, strerror(errno));
        if (j->jfd >= 0)
            unlink(j->jpath);
        journal_free(j);
        return rc;
    }
    *out = j;
    return TX_OK;
}

/* Test hook: TANXIAO_TEST_CRASH=committed or =applying stops the process dead (exit 137,
 * as a SIGKILL would) right after a commit record is on disk, or half way through applying
 * the pages; tests/test_kill.py checks what the next opener makes of it. */
static void crash_point(const char *name)
{
    const char *e = getenv("TANXIAO_TEST_CRASH");
    if (e && strcmp(e, name) == 0)
        _exit(137);
}

/* Copies the journal's pages (records [0, n)) into dst. 0 or -1 with errno. */
static int apply_pages(int jfd, size_t n, int dst)
{
    enum { BATCH = 256 };
    unsigned char *buf = malloc(BATCH * JR_REC);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    const size_t half = n / 2;
    for (size_t i = 0, k; i < n && rc == 0; i += k) {
        if (i == half && half > 0)
            crash_point("applying");
        k = n - i < BATCH ? n - i : BATCH;
        if (i < half && i + k > half)
            k = half - i; /* a batch ends half way, for the test hook */
        if (pread_full(jfd, buf, k * JR_REC, rec_off(i)) != 0) {
            rc = -1;
            break;
        }
        /* Runs of consecutive pages go out in one write, moved together in the buffer. */
        for (size_t a = 0, b; a < k && rc == 0; a = b) {
            uint64_t page = get64(buf + a * JR_REC);
            unsigned char *run = buf + a * JR_REC + 8;
            for (b = a + 1; b < k && get64(buf + b * JR_REC) == page + (b - a); b++)
                memmove(run + (b - a) * JR_PAGE, buf + b * JR_REC + 8, JR_PAGE);
            rc = pwrite_full(dst, run, (size_t)(b - a) * JR_PAGE, page * JR_PAGE);
        }
    }
    free(buf);
    return rc;
}

static void commit_encode(unsigned char *t, const tx_journal *j)
{
    memset(t, 0, JR_TAIL);
    memcpy(t, JR_COMMIT, 8);
    put64(t + 8, j->n);
    put64(t + 16, j->final_size);
    put64(t + 24, j->dev);
    put64(t + 32, j->ino);
    put64(t + 40, XXH3_64bits(j->order, j->n * sizeof *j->order));
    put64(t + 56, XXH3_64bits(t, 56));
}

/* Copies all of in to out from offset 0: copy_file_range (inside the kernel; a reflink
 * where the filesystem shares extents), else read and write. 0 or -1 with errno. */
static int copy_all(int in, int out)
{
    loff_t at = 0;
    for (;;) {
        ssize_t k = copy_file_range(in, &at, out, NULL, (size_t)1 << 30, 0);
        if (k > 0)
            continue;
        if (k == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
            return -1;
        break; /* not supported here: on from where it stopped */
    }
    const size_t cap = (size_t)1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t r = pread(in, buf, cap, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        if (pwrite_full(out, buf, (size_t)r, (uint64_t)at) != 0) {
            rc = -1;
            break;
        }
        at += r;
    }
    free(buf);
    return rc;
}

/* The store copied with the pages applied, synced and renamed over it: for when readers
 * hold the store. */
static int commit_by_copy(tx_journal *j, tx_err *err)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, ".wip-%ld", (long)getpid());
    size_t a = strlen(j->store), b = strlen(suffix);
    char *wip = malloc(a + b + 1);
    if (!wip)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", j->store);
    memcpy(wip, j->store, a);
    memcpy(wip + a, suffix, b + 1);
    int out = open(wip, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct stat st;
    int rc = TX_OK;
    if (out < 0 || fstat(j->fd, &st) != 0 || fchmod(out, st.st_mode & 07777) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot create %s (%s)", j->store, wip,
                        strerror(errno));
        goto done;
    }
    if (copy_all(j->fd, out) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot copy to %s (%s)", j->store, wip,
                        strerror(errno));
        goto done;
    }
    if (apply_pages(j->jfd, j->n, out) != 0 || ftruncate(out, (off_t)j->final_size) != 0 ||
        fsync(out) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot write %s (%s)", j->store, wip,
                        strerror(errno));
        goto done;
    }
    if (rename(wip, j->store) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot rename %s over it (%s)", j->store, wip,
                        strerror(errno));
        goto done;
    }
    unlink(j->jpath);
    if (sync_dir(j->store) != 0)
        rc = tx_err_set(err, TX_EIO, "%s: saved, but its directory cannot be synced (%s)",
                        j->store, strerror(errno));
    /* The old file, which readers still hold, keeps its size: the tail is cut off so that
     * it is what it was. */
    if (ftruncate(j->fd, (off_t)j->committed) != 0)
        errno = 0;
done:
    if (out >= 0)
        close(out);
    if (rc != TX_OK)
        unlink(wip);
    free(wip);
    return rc;
}

int tx_journal_commit(tx_journal *j, int *copied, tx_err *err)
{
    int rc = TX_OK;
    *copied = 0;
    if (j->failed) {
        rc = tx_err_set(err, TX_EIO, "%s: not saved: a write failed (%s)", j->store,
                        strerror(j->failed));
        tx_journal_abort(j);
        return rc;
    }
    if (fdatasync(j->fd) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot sync (%s)", j->store, strerror(errno));
        tx_journal_abort(j);
        return rc;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot lock (%s)", j->store, strerror(errno));
            tx_journal_abort(j);
            return rc;
        }
        *copied = 1;
        rc = commit_by_copy(j, err);
        if (rc != TX_OK) {
            tx_journal_abort(j);
            return rc;
        }
        journal_free(j);
        return TX_OK;
    }
    unsigned char t[JR_TAIL];
    commit_encode(t, j);
    if (fdatasync(j->jfd) != 0 || pwrite_full(j->jfd, t, JR_TAIL, rec_off(j->n)) != 0 ||
        fdatasync(j->jfd) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot write the journal %s (%s)", j->store, j->jpath,
                        strerror(errno));
        /* Whether the commit record reached the disk is unknown: the journal stays for
         * the next opener to decide, unless it can be cut short before the record. */
        if (ftruncate(j->jfd, (off_t)rec_off(j->n)) == 0 && fdatasync(j->jfd) == 0)
            tx_journal_abort(j);
        else
            journal_free(j);
        return rc;
    }
    crash_point("committed");
    /* Committed: from here on a failure leaves the journal, which the next opener applies. */
    if (apply_pages(j->jfd, j->n, j->fd) != 0 || ftruncate(j->fd, (off_t)j->final_size) != 0 ||
        fdatasync(j->fd) != 0) {
        rc = tx_err_set(err, TX_EIO,
                        "%s: committed, but not yet applied (%s): the next open applies it",
                        j->store, strerror(errno));
        journal_free(j);
        return rc;
    }
    if (unlink(j->jpath) != 0 || sync_dir(j->store) != 0)
        rc = tx_err_set(err, TX_EIO, "%s: saved, but its journal cannot be removed (%s)",
                        j->store, strerror(errno));
    journal_free(j); /* closing the store's descriptor releases the lock */
    return rc;
}

void tx_journal_abort(tx_journal *j)
{
    if (!j)
        return;
    /* Nothing below the committed size was touched; what was written beyond it goes. */
    if (j->fd >= 0 && ftruncate(j->fd, (off_t)j->committed) != 0)
        errno = 0;
    if (j->jfd >= 0)
        unlink(j->jpath);
    journal_free(j);
}

/* ---- recovery ------------------------------------------------------------------------------ */

typedef struct {
    int valid_header;
    uint64_t committed, dev, ino;
    int committed_record; /* a complete, consistent commit record */
    uint64_t npages, final_size;
} jr_state;

/* Reads what a journal holds. 0, or -1 with errno on an I/O error. */
static int journal_state(int jfd, jr_state *s)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    unsigned char h[JR_HEAD], t[JR_TAIL];
    if (fstat(jfd, &st) != 0)
        return -1;
    if ((uint64_t)st.st_size < JR_HEAD)
        return 0;
    if (pread_full(jfd, h, JR_HEAD, 0) != 0)
        return -1;
    uint32_t page;
    memcpy(&page, h + 12, 4);
    if (memcmp(h, JR_MAGIC, 8) != 0 || get64(h + 56) != XXH3_64bits(h, 56) || page != JR_PAGE)
        return 0;
    s->valid_header = 1;
    s->committed = get64(h + 16);
    s->dev = get64(h + 24);
    s->ino = get64(h + 32);
    uint64_t size = (uint64_t)st.st_size;
    if (size < JR_HEAD + JR_TAIL || (size - JR_HEAD - JR_TAIL) % JR_REC != 0)
        return 0;
    if (pread_full(jfd, t, JR_TAIL, size - JR_TAIL) != 0)
        return -1;
    uint64_t n = (size - JR_HEAD - JR_TAIL) / JR_REC;
    if (memcmp(t, JR_COMMIT, 8) != 0 || get64(t + 56) != XXH3_64bits(t, 56) ||
        get64(t + 8) != n || get64(t + 24) != s->dev || get64(t + 32) != s->ino)
        return 0;
    /* The page numbers of the records must be the ones the record was written for. */
    XXH3_state_t *xs = XXH3_createState();
    if (!xs) {
        errno = ENOMEM;
        return -1;
    }
    XXH3_64bits_reset(xs);
    for (uint64_t i = 0; i < n; i++) {
        unsigned char p[8];
        if (pread_full(jfd, p, 8, rec_off((size_t)i)) != 0) {
            XXH3_freeState(xs);
            return -1;
        }
        XXH3_64bits_update(xs, p, 8);
    }
    uint64_t hash = XXH3_64bits_digest(xs);
    XXH3_freeState(xs);
    if (hash != get64(t + 40))
        return 0;
    s->committed_record = 1;
    s->npages = n;
    s->final_size = get64(t + 16);
    return 0;
}

int tx_journal_pending(const char *store, int fd, tx_err *err)
{
    char *jpath = journal_path(store);
    if (!jpath)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", store);
    int jfd = open(jpath, O_RDONLY | O_CLOEXEC);
    free(jpath);
    if (jfd < 0)
        return errno == ENOENT ? 0 : tx_err_set(err, TX_EIO, "%s: cannot read its journal (%s)",
                                                store, strerror(errno));
    jr_state js;
    struct stat st;
    int r = journal_state(jfd, &js);
    close(jfd);
    if (r != 0 || fstat(fd, &st) != 0)
        return tx_err_set(err, TX_EIO, "%s: cannot read its journal (%s)", store,
                          strerror(errno));
    return js.committed_record && js.dev == (uint64_t)st.st_dev && js.ino == (uint64_t)st.st_ino;
}

int tx_journal_recover(const char *store, tx_err *err)
{
    char *jpath = journal_path(store);
    if (!jpath)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", store);
    int rc = TX_OK, fd = -1, jfd = open(jpath, O_RDONLY | O_CLOEXEC);
    if (jfd < 0) {
        if (errno != ENOENT)
            rc = tx_err_set(err, TX_EIO, "%s: cannot read its journal %s (%s)", store, jpath,
                            strerror(errno));
        free(jpath);
        return rc;
    }
    jr_state js;
    struct stat st;
    if (journal_state(jfd, &js) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot read its journal %s (%s)", store, jpath,
                        strerror(errno));
        goto done;
    }
    fd = open(store, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd < 0 && errno == ENOENT) { /* no store: the journal is of nothing */
            unlink(jpath);
            goto done;
        }
        rc = tx_err_set(err, TX_EIO, "%s: cannot open for recovery (%s)", store,
                        strerror(errno));
        goto done;
    }
    int same = js.valid_header && js.dev == (uint64_t)st.st_dev && js.ino == (uint64_t)st.st_ino;
    if (same && js.committed_record) {
        /* A killed writer's committed session: applied again, whole. Readers step aside
         * when they see the journal, so the wait is short. */
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) {
                rc = tx_err_set(err, TX_EIO, "%s: cannot lock (%s)", store, strerror(errno));
                goto done;
            }
        if (apply_pages(jfd, js.npages, fd) != 0 || ftruncate(fd, (off_t)js.final_size) != 0 ||
            fdatasync(fd) != 0) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot apply the journal %s (%s)", store, jpath,
                            strerror(errno));
            goto done;
        }
        fprintf(stderr, "tanxiao: warning: %s: finished the commit of a writer that was "
                        "killed (%llu pages from %s)\n",
                store, (unsigned long long)js.npages, jpath);
    } else if (same && (uint64_t)st.st_size > js.committed) {
        /* Not committed: the store is as it was, plus a tail nobody points to. */
        if (ftruncate(fd, (off_t)js.committed) != 0) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot cut off an uncommitted tail (%s)", store,
                            strerror(errno));
            goto done;
        }
    }
    if (unlink(jpath) != 0 || sync_dir(store) != 0)
        rc = tx_err_set(err, TX_EIO, "%s: cannot remove the journal %s (%s)", store, jpath,
                        strerror(errno));
done:
    if (fd >= 0)
        close(fd);
    close(jfd);
    free(jpath);
    return rc;
}
