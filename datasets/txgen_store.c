/*
 * txgen_store.c - writing a generated city straight into the meter store, for sizes where
 * CSV makes no sense. The readings are made in OpenMP threads one block of store rows at a
 * time and written by this thread (libhdf5 is serial), chunk-aligned so that no chunk is
 * read back and rewritten.
 */
#include "txgen.h"

#include "store.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int txg_write_store(const txg_city *c, const char *store_path, int zstd_level,
                    void (*progress)(const char *what, uint64_t done, uint64_t total, void *arg),
                    void *arg, tx_err *err)
{
    tx_store *st = NULL;
    int rc = tx_store_open(store_path, 1, zstd_level, &st, err);
    if (rc)
        return rc;
    size_t ne = 0, nm = 0, nev = 0;
    const tx_enterprise *ents = txg_enterprises(c, &ne);
    const tx_meter *meters = txg_meters(c, &nm);
    const tx_event *events = txg_events(c, &nev);
    if ((rc = tx_store_put_enterprises(st, ents, ne, NULL, err)) ||
        (rc = tx_store_put_meters(st, meters, nm, NULL, err)) ||
        (rc = tx_store_put_events(st, events, nev, NULL, err)) || (rc = tx_store_flush(st, err))) {
        tx_store_abort(st);
        return rc;
    }
    /* The store assigned rows; map them back to generator meter indexes. */
    const tx_meter *placed = tx_store_meters(st, &nm);
    const txg_params *p = txg_city_params(c);
    const int years[2] = {p->base_year, p->report_year};
    const int nyears = p->base_year == p->report_year ? 1 : 2;
    uint64_t total = 0, done = 0;
    for (int g = 0; g < TX_STORE_NGRIDS; g++)
        total += tx_store_grid_rows(st, tx_store_grid_minutes[g]);
    total *= (uint64_t)nyears;

    for (int g = 0; !rc && g < TX_STORE_NGRIDS; g++) {
        const int minutes = tx_store_grid_minutes[g];
        const size_t rows = tx_store_grid_rows(st, minutes);
        if (rows == 0)
            continue;
        long *row_meter = malloc(rows * sizeof *row_meter);
        if (!row_meter) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            break;
        }
        for (size_t r = 0; r < rows; r++)
            row_meter[r] = -1;
        size_t ngen = 0;
        const tx_meter *gen = txg_meters(c, &ngen);
        for (size_t m = 0; m < ngen; m++) {
            long at = tx_store_find_meter(st, gen[m].id);
            if (at >= 0 && placed[at].interval_minutes == minutes && placed[at].row < rows)
                row_meter[placed[at].row] = (long)m;
        }
        const size_t crow = tx_store_chunk_rows(minutes);
        const int64_t cslots = (int64_t)tx_store_chunk_slots(minutes);
        for (int y = 0; !rc && y < nyears; y++) {
            /* The year's slots over all meters of the grid, widened to whole chunks. */
            int64_t first = INT64_MAX, last = INT64_MIN;
            for (size_t r = 0; r < rows; r++) {
                if (row_meter[r] < 0)
                    continue;
                int64_t f, l;
                txg_year_slots(c, (size_t)row_meter[r], years[y], &f, &l);
                first = f < first ? f : first;
                last = l > last ? l : last;
            }
            if (first > last)
                continue;
            int64_t s0 = first / cslots * cslots, s1 = (last / cslots + 1) * cslots;
            size_t nslots = (size_t)(s1 - s0);
            double *val = malloc(crow * nslots * sizeof *val);
            uint8_t *qual = malloc(crow * nslots);
            if (!val || !qual) {
                free(val);
                free(qual);
                rc = tx_err_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            for (size_t r0 = 0; !rc && r0 < rows; r0 += crow) {
                size_t nr = rows - r0 < crow ? rows - r0 : crow;
                int bad = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : bad)
                for (size_t i = 0; i < nr; i++) {
                    double *v = val + i * nslots;
                    uint8_t *q = qual + i * nslots;
                    long m = row_meter[r0 + i];
                    if (m < 0) {
                        for (size_t k = 0; k < nslots; k++)
                            v[k] = NAN, q[k] = 0;
                        continue;
                    }
                    bad |= txg_meter_series(c, (size_t)m, s0, nslots, v, q) != 0;
                }
                if (bad) {
                    rc = tx_err_set(err, TX_EINVAL, "generator failed for a block of meters");
                    break;
                }
                rc = tx_store_write_block(st, minutes, r0, nr, s0, nslots, val, qual, err);
                done += nr;
                if (progress)
                    progress("writing the store", done, total, arg);
            }
            free(val);
            free(qual);
        }
        free(row_meter);
    }
    tx_err cerr;
    int crc = rc ? (tx_store_abort(st), TX_OK) : tx_store_close(st, &cerr);
    if (!rc && crc)
        rc = tx_err_set(err, cerr.code, "%s", cerr.msg);
    return rc;
}
