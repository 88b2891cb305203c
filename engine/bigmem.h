/*
 * bigmem.h - large buffers on transparent huge pages (prefix tx_big_). Internal.
 *
 * A buffer of hundreds of MB touched once (a CSV file read whole, a batch of readings) costs
 * more in page faults than in the work done on it: one fault per 4 KiB page, and faults
 * are dear in a virtual machine (measured: ingest of a 137 MB day file 3.7 s with 4 KiB
 * pages, 2.2 s with huge pages, docs/ARCHITECTURE.md). Where the kernel leaves huge pages
 * to madvise (Debian's default), these helpers ask for them on buffers of 4 MiB or more;
 * elsewhere the advice is a no-op. Memory comes from malloc and goes back with free.
 */
#ifndef TX_BIGMEM_H
#define TX_BIGMEM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static inline void tx_big_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (p && n >= ((size_t)4 << 20)) {
        uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
        if (e > a)
            (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)n;
#endif
}

/* A buffer of its own mapping (NULL when none), given back to the kernel at once by
 * tx_big_unmap: memory freed while a fresh buffer is being filled is reused by it, warm
 * (glibc keeps blocks under its mapping threshold for itself). */
static inline void *tx_big_map(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < ((size_t)4 << 20)) {
        void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* On a 2 MiB boundary, so that huge pages cover it whole (a mapping's unaligned ends
     * would take 4 KiB pages: up to a thousand faults each). */
    char *p = mmap(NULL, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    const size_t len = (n + 4095) & ~(size_t)4095;
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + len < p + n + huge)
        munmap(a + len, (size_t)(p + n + huge - (a + len)));
    tx_big_advise(a, n);
    return a;
}

static inline void tx_big_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, n ? n : 1);
}

/* A mapping of n bytes holding the first old bytes of p, which is unmapped; NULL (p kept)
 * when none. */
static inline void *tx_big_remap(void *p, size_t old, size_t n)
{
    void *q = tx_big_map(n);
    if (q && p) {
        memcpy(q, p, old < n ? old : n);
        tx_big_unmap(p, old);
    }
    return q;
}

static inline void *tx_big_malloc(size_t n)
{
    void *p = malloc(n);
    tx_big_advise(p, n);
    return p;
}

static inline void *tx_big_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    tx_big_advise(q, n);
    return q;
}

#endif
