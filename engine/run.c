#define _GNU_SOURCE /* qsort_r */
/*
 * run.c - `tanxiao run`: meter period totals from the store, enterprise energy, CO2, water,
 * intensities, statuses, grades and reductions, aggregates, and the results file.
 *
 * Data flow: the store is read one block of meter rows at a time by this thread (libhdf5
 * is serial); the meters of a block are computed in OpenMP threads, each with its own
 * scratch; everything after the meter totals works on small per-enterprise arrays.
 */
#include "tanxiao.h"

#include "csv.h"
#include "h5io.h"
#include "inputs.h"
#include "method.h"
#include "mujun.h"
#include "products.h"
#include "results.h"
#include "store.h"
#include "tables.h"
#include "bigmem.h"
#include "tables_h5.h"
#include "tx_kernels.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const tx_run_params TX_RUN_PARAMS_DEFAULT = {
    .grid_series = "MEE_NBS",
    .grid_geography = "Zhejiang",
    .pv_policy = TX_PV_GRID_ONLY,
    .current_prices = 0,
    .coverage_min = NAN,
    .min_members = 0,
    .threads = 0,
    .zstd_level = TX_ZSTD_LEVEL_DEFAULT,
};


/* ---- financials and deflators ----------------------------------------------------------- */

/* The figures of a financials row: value added, revenue, tax, R&D, employees, pollutant. */
enum { FIN_VA, FIN_REVENUE, FIN_TAX, FIN_RD, FIN_EMPLOYEES, FIN_POLLUTANT, NFIN };

typedef struct {
    double annual[NFIN];
    double month[12][NFIN];
    uint16_t month_mask;
    uint8_t has_annual;
} fin_year;

typedef struct {
    int years[4];   /* the calendar years the report and base periods touch */
    int nyears;
    fin_year *rows; /* [enterprise][nyears] */
    uint64_t nrows, rejected, unknown_enterprise, replaced;
    uint64_t checksum, bytes;
} financials;

static int fin_year_index(const financials *fin, int year)
{
    for (int k = 0; k < fin->nyears; k++)
        if (fin->years[k] == year)
            return k;
    return -1;
}

static void fin_add_years(financials *fin, const tx_period *p)
{
    for (int y = p->year; y <= p->year_last; y++)
        if (fin_year_index(fin, y) < 0 && fin->nyears < 4)
            fin->years[fin->nyears++] = y;
}

static void fin_init(fin_year *f)
{
    memset(f, 0, sizeof *f);
    for (int k = 0; k < NFIN; k++) {
        f->annual[k] = NAN;
        for (int m = 0; m < 12; m++)
            f->month[m][k] = NAN;
    }
}

/* Opens an input CSV file of the run, checksums it for the results' provenance and maps
 * its header. TX_ENOTFOUND (err set) when the file does not exist. */
static int open_input(const char *path, const tx_input_columns *cols, uint64_t *sum,
                      uint64_t *bytes, tx_csv **csv, int *col, tx_err *err)
{
    int rc = tx_csv_open(path, csv, err);
    if (!rc)
        rc = tx_file_checksum(path, sum, bytes, err);
    if (!rc)
        rc = tx_input_header(*csv, cols, col, NULL, NULL, 0, err);
    if (rc) {
        tx_csv_free(*csv);
        *csv = NULL;
    }
    return rc;
}

static int load_financials(const char *dir, tx_store *st, size_t ne, financials *fin,
                           tx_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/financials.csv", dir);
    const size_t ny = (size_t)fin->nyears;
    /* 25 MB at 20,000 enterprises, all of it written at once: huge pages (bigmem.h). */
    fin->rows = tx_big_malloc((ne ? ne : 1) * ny * sizeof *fin->rows);
    if (!fin->rows)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < ny * ne; i++)
        fin_init(&fin->rows[i]);
    tx_csv *csv = NULL;
    int col[16];
    int rc = open_input(path, &tx_cols_financials, &fin->checksum, &fin->bytes, &csv, col, err);
    if (rc)
        return rc;
    tx_csv_row row;
    while (!rc && (rc = tx_csv_next(csv, &row, err)) == 1) {
        rc = 0;
        fin->nrows++;
        tx_financial_row f;
        const char *detail = NULL;
        int reason = tx_input_financial(&row, col, &f, &detail);
        long e = -1;
        if (reason == TX_INPUT_OK && (e = tx_store_find_enterprise(st, f.enterprise_id)) < 0)
            reason = TX_REJECT_UNKNOWN_ENTERPRISE;
        if (reason != TX_INPUT_OK) {
            if (reason == TX_REJECT_UNKNOWN_ENTERPRISE)
                fin->unknown_enterprise++;
            else
                fin->rejected++;
            if (fin->rejected + fin->unknown_enterprise <= 5)
                fprintf(stderr, "tanxiao: warning: %s:%llu: %s%s%s; row ignored\n", path,
                        (unsigned long long)row.line, tx_reject_message(reason),
                        detail ? ": " : "", detail ? detail : "");
            continue;
        }
        int k = fin_year_index(fin, f.year);
        if (k < 0)
            continue; /* a year the run does not look at */
        fin_year *fy = &fin->rows[(size_t)e * ny + (size_t)k];
        const double vals[NFIN] = {f.value_added, f.revenue,   f.tax,
                                   f.rd_expense,  f.employees, f.pollutant_t};
        double *dst;
        if (f.month == 0) {
            fin->replaced += fy->has_annual;
            dst = fy->annual;
            fy->has_annual = 1;
        } else {
            fin->replaced += (fy->month_mask >> (f.month - 1)) & 1u;
            dst = fy->month[f.month - 1];
            fy->month_mask |= (uint16_t)(1u << (f.month - 1));
        }
        memcpy(dst, vals, sizeof vals);
    }
    tx_csv_free(csv);
    if (rc >= 0 && fin->rejected + fin->unknown_enterprise > 5)
        fprintf(stderr, "tanxiao: warning: %s: %llu rows ignored in all\n", path,
                (unsigned long long)(fin->rejected + fin->unknown_enterprise));
    return rc < 0 ? rc : TX_OK;
}

/* A figure of a period: the annual row for a whole calendar year, else the months' sum
 * (employees: their mean) when every month is present, else NaN (METHOD.md sections 6 and
 * 8). *months gets the months found (12 for an annual row). */
static double period_fin(const financials *fin, size_t e, const tx_period *p, int field,
                         int *months)
{
    const fin_year *rows = &fin->rows[e * (size_t)fin->nyears];
    int k0 = fin_year_index(fin, p->year);
    if (p->nmonths == 12 && p->month_first == 1 && k0 >= 0 && rows[k0].has_annual) {
        *months = 12;
        return rows[k0].annual[field];
    }
    double sum = 0.0;
    int found = 0;
    for (int k = 0; k < p->nmonths; k++) {
        int y, m;
        tx_period_month(p, k, &y, &m);
        int ky = fin_year_index(fin, y);
        if (ky >= 0 && ((rows[ky].month_mask >> (m - 1)) & 1u)) {
            sum += rows[ky].month[m - 1][field];
            found++;
        }
    }
    *months = found;
    if (found != p->nmonths)
        return NAN;
    return field == FIN_EMPLOYEES ? sum / found : sum;
}

static double period_va(const financials *fin, size_t e, const tx_period *p, int *months)
{
    return period_fin(fin, e, p, FIN_VA, months);
}

typedef struct {
    double index[100][2]; /* price index by division, [report, base]; NaN missing */
    int present;
    uint64_t checksum, bytes;
} deflators;

static int load_deflators(const char *dir, const int years[2], deflators *dfl, tx_err *err)
{
    for (int i = 0; i < 100; i++)
        dfl->index[i][0] = dfl->index[i][1] = NAN;
    char path[1100];
    snprintf(path, sizeof path, "%s/deflators.csv", dir);
    tx_csv *csv = NULL;
    int col[16];
    int rc = open_input(path, &tx_cols_deflators, &dfl->checksum, &dfl->bytes, &csv, col, err);
    if (rc == TX_ENOTFOUND) { /* optional: no deflators, no message */
        if (err)
            *err = (tx_err){0};
        return TX_OK;
    }
    if (rc)
        return rc;
    dfl->present = 1;
    tx_csv_row row;
    while (!rc && (rc = tx_csv_next(csv, &row, err)) == 1) {
        rc = 0;
        tx_deflator_row d;
        const char *detail = NULL;
        int reason = tx_input_deflator(&row, col, &d, &detail);
        if (reason != TX_INPUT_OK) {
            /* A price index feeds every reduction of its division: refuse, don't guess. */
            rc = tx_err_set(err, TX_EPARSE, "%s:%llu: %s%s%s", path, (unsigned long long)row.line,
                            tx_reject_message(reason), detail ? ": " : "", detail ? detail : "");
            break;
        }
        for (int k = 0; k < 2; k++)
            if (d.year == years[k])
                dfl->index[d.division][k] = d.price_index;
    }
    tx_csv_free(csv);
    return rc < 0 ? rc : TX_OK;
}

/* ---- meter period totals ---------------------------------------------------------------- */

typedef struct {
    tx_period per;
    int has;
    size_t nbins;        /* months */
    double *total;       /* per meter, canonical unit */
    double *coverage;    /* per meter */
    tx_meter_period *mp; /* per meter, with monthly bins */
    uint64_t readings;
    /* per enterprise */
    double *tce, *co2, *water, *cov, *water_cov, *va;
    double *tce_m, *co2_m, *water_m; /* [enterprise][month] */
    double *elec_kwh;                /* grid electricity per enterprise, kWh */
    uint8_t *has_elec, *has_water, *va_months;
    tx_coefs coefs[TX_MAX_BINS]; /* each month's coefficients (its year's grid factor) */
} period_res;

typedef struct {
    const tx_run_params *p;
    tx_store *st;
    const tx_meter *meters;
    size_t nm;
    const tx_enterprise *ents;
    size_t ne;
    uint32_t *owner;      /* meter -> enterprise */
    size_t *ev_first;     /* meter -> first event in evs */
    size_t *ev_count;
    tx_event *evs;        /* sorted by (meter, t) */
    tx_tables tables;
    double coverage_min;
    int min_members;
    uint64_t done_values, total_values;
    uint64_t values_read, bytes_read;
    /* The store's checksum for the root attributes (store_sum_start / store_sum_join). */
    pthread_t sum_thread;
    int sum_started, sum_rc;
    uint64_t store_sum, store_bytes;
    tx_err sum_err;
} run_ctx;

/* The store's XXH3 reads the whole file (gigabytes) in one sequential pass that no other
 * work needs: with more than one thread it runs in a thread of its own from the start of
 * the run, in the gaps the pipelined computation leaves (measured: the run at 20,000
 * enterprises spent 1.5 s of 8 hashing at its end, one core idle), and is joined before
 * the root attributes are written. It hashes the descriptor the reader holds, so the file
 * hashed is the file read. */
static void *store_sum_main(void *arg)
{
    run_ctx *c = arg;
    c->sum_rc = tx_fd_xxh3(tx_store_read_fd(c->st), c->p->store_path, &c->store_sum,
                           &c->store_bytes, &c->sum_err);
    return NULL;
}

static void store_sum_start(run_ctx *c)
{
    if (omp_get_max_threads() > 1 && pthread_create(&c->sum_thread, NULL, store_sum_main, c) == 0)
        c->sum_started = 1;
}

/* The checksum: the thread's, or computed now (one thread, or no thread could start). */
static int store_sum_join(run_ctx *c, tx_err *err)
{
    if (c->sum_started) {
        pthread_join(c->sum_thread, NULL);
        c->sum_started = 0;
        if (c->sum_rc)
            return tx_err_set(err, c->sum_rc, "%s", c->sum_err.msg);
        return TX_OK;
    }
    return tx_fd_xxh3(tx_store_read_fd(c->st), c->p->store_path, &c->store_sum, &c->store_bytes,
                      err);
}

static double pow10i(int digits)
{
    double m = 1.0;
    for (int i = 0; i < digits; i++)
        m *= 10.0;
    return m;
}

/* One meter's period from its slots (vals: nvals of them from the period's start). */
static uint64_t meter_period(run_ctx *rc_, period_res *pr, long m, const double *vals,
                             size_t nvals, uint64_t present, int64_t step,
                             const size_t *edges, tx_meter_scratch *sc)
{
    const tx_meter *mt = &rc_->meters[m];
    size_t n = nvals;
    tx_meter_spec sp;
    sp.kind = mt->kind;
    sp.t0 = pr->per.start;
    if (mt->kind == TX_KIND_INTERVAL) { /* labels in (start, end] */
        vals++;
        n--;
        sp.t0 += step;
    }
    /* The readings of the slots used: the decoder counted the row's (present); an
     * interval meter does not use the first slot. */
    uint64_t readings = present - (n < nvals && vals[-1] == vals[-1]);
    sp.step_s = step;
    sp.multiplier = mt->multiplier;
    sp.unit_factor = tx_unit_to_canonical(mt->unit);
    sp.modulus = mt->register_digits ? pow10i(mt->register_digits) : 0.0;
    sp.rollover_min = sp.modulus * rc_->tables.rollover_fraction;
    /* capacity: per hour in the meter's unit after the multiplier */
    sp.capacity = mt->capacity * ((double)step / 3600.0) * sp.unit_factor;
    sp.median_factor = rc_->tables.implausible_median_factor;
    /* Stuck is a register's failure: interval meters (PV at night, a plant shut for a
     * holiday) are zero for long honestly. At least 3 steps, so a daily register's quiet
     * day is not called stuck. */
    size_t stuck = (size_t)ceil(rc_->tables.stuck_hours * 3600.0 / (double)step);
    sp.stuck_steps = mt->kind == TX_KIND_CUMULATIVE ? (stuck < 3 ? 3 : stuck) : 0;
    sp.edges = edges;
    sp.nbins = pr->nbins;
    tx_method_meter_period(&sp, vals, n, rc_->evs + rc_->ev_first[m], rc_->ev_count[m], sc,
                           &pr->mp[m]);
    pr->total[m] = pr->mp[m].total;
    pr->coverage[m] = pr->mp[m].nexpected
                          ? (double)pr->mp[m].nvalid / (double)pr->mp[m].nexpected
                          : NAN;
    return readings;
}

/* Chunk rows fetched per block: the one thread that reads raw chunks fetches the next block
 * while the others decode and compute this one. 8 chunk rows of 15-minute meters over a
 * year are about 2.5 MB of compressed bytes. */
#define RUN_BLOCK_PARTS 8

/*
 * The meters of a period, grid by grid, as a pipeline: one thread (HDF5 is serial) fetches
 * the raw chunks of block b + 1 while OpenMP tasks decode block b, a chunk row each, into
 * the thread's buffer and compute its meters there. floor_only: decode and nothing else
 * (the benchmark floor: the same reads, decodes and threads).
 */
static int compute_meters(run_ctx *rc_, period_res *pr, int floor_only, tx_err *err)
{
    const tx_meter *meters = rc_->meters;
    const int nthreads = omp_get_max_threads();
    int rc = TX_OK;
    for (int g = 0; g < TX_STORE_NGRIDS && rc == TX_OK; g++) {
        const int minutes = tx_store_grid_minutes[g];
        const int64_t step = (int64_t)minutes * 60;
        const size_t rows = tx_store_grid_rows(rc_->st, minutes);
        if (rows == 0)
            continue;
        int64_t s0, s1;
        if (tx_store_slot(pr->per.start, minutes, &s0) ||
            tx_store_slot(pr->per.end, minutes, &s1))
            return tx_err_set(err, TX_ERANGE, "period %d is before the store's epoch",
                              pr->per.year);
        const size_t nvals = (size_t)(s1 - s0 + 1);
        /* Month bins in intervals: an interval belongs to the month its end falls in, so a
         * month starting at T begins at interval (T - start) / step, for both kinds. */
        size_t edges[TX_MAX_BINS + 1];
        for (size_t b = 0; b <= pr->nbins; b++) {
            int y, mo;
            tx_period_month(&pr->per, (int)b, &y, &mo);
            int64_t tb = b == pr->nbins ? pr->per.end : tx_local_to_unix(y, mo, 1, 0, 0, 0);
            edges[b] = (size_t)((tb - pr->per.start) / step);
        }
        const size_t crow = tx_store_chunk_rows(minutes);
        const size_t block = crow * RUN_BLOCK_PARTS;
        const size_t nblocks = (rows + block - 1) / block;
        long *row_meter = malloc(rows * sizeof *row_meter);
        double *vbuf = malloc((size_t)nthreads * crow * nvals * sizeof *vbuf);
        double *dscratch = malloc((size_t)nthreads * nvals * sizeof *dscratch);
        double *wscratch = malloc((size_t)nthreads * nvals * sizeof *wscratch);
        uint8_t *vscratch = malloc((size_t)nthreads * nvals);
        uint64_t *present = malloc((size_t)nthreads * crow * sizeof *present);
        tx_store_raw *raw[2] = {tx_store_raw_new(), tx_store_raw_new()};
        tx_store_decoder **dec = calloc((size_t)nthreads, sizeof *dec);
        int ok = row_meter && vbuf && present && dscratch && wscratch && vscratch && raw[0] &&
                 raw[1] && dec;
        for (int t = 0; ok && t < nthreads; t++)
            ok = (dec[t] = tx_store_decoder_new()) != NULL;
        if (!ok)
            rc = tx_err_set(err, TX_ENOMEM, "out of memory for %d threads x %zu x %zu values",
                            nthreads, crow, nvals);
        for (size_t r = 0; ok && r < rows; r++)
            row_meter[r] = -1;
        for (size_t m = 0; ok && m < rc_->nm; m++)
            if (meters[m].interval_minutes == minutes && meters[m].row < rows)
                row_meter[meters[m].row] = (long)m;

        uint64_t readings = 0;
        int failed = 0;
        tx_err task_err = {0};
        if (ok) {
#pragma omp parallel
#pragma omp single
            {
                tx_err ferr = {0};
                int frc = tx_store_fetch(rc_->st, minutes, 0, rows < block ? rows : block, s0,
                                         nvals, 0, raw[0], &ferr);
                for (size_t b = 0; b < nblocks && frc == TX_OK; b++) {
                    tx_store_raw *cur = raw[b % 2];
                    const size_t r0 = b * block;
                    const size_t parts = tx_store_raw_parts(cur);
                    for (size_t i = 0; i < parts; i++) {
#pragma omp task firstprivate(i, cur, r0) shared(readings, failed, task_err)
                        {
                            const int tid = omp_get_thread_num();
                            double *v = vbuf + (size_t)tid * crow * nvals;
                            size_t first, n;
                            tx_store_raw_part(cur, i, &first, &n);
                            tx_err e = {0};
                            uint64_t *pres = present + (size_t)tid * crow;
                            if (tx_store_decode(cur, i, v, NULL, pres, dec[tid], &e) != TX_OK) {
#pragma omp critical(run_task_error)
                                if (!failed) {
                                    failed = 1;
                                    task_err = e;
                                }
                            } else if (!floor_only) {
                                tx_meter_scratch sc = {dscratch + (size_t)tid * nvals,
                                                       vscratch + (size_t)tid * nvals,
                                                       wscratch + (size_t)tid * nvals};
                                uint64_t mine = 0;
                                for (size_t k = 0; k < n; k++) {
                                    long m = row_meter[r0 + first + k];
                                    if (m >= 0)
                                        mine += meter_period(rc_, pr, m, v + k * nvals, nvals,
                                                             pres[k], step, edges, &sc);
                                }
#pragma omp atomic
                                readings += mine;
                            }
                        }
                    }
                    /* The next block's raw chunks, while the tasks run. */
                    if (b + 1 < nblocks) {
                        const size_t nr0 = (b + 1) * block;
                        frc = tx_store_fetch(rc_->st, minutes, nr0,
                                             rows - nr0 < block ? rows - nr0 : block, s0, nvals,
                                             0, raw[(b + 1) % 2], &ferr);
                    }
                    rc_->bytes_read += tx_store_raw_bytes(cur);
#pragma omp taskwait
                    const size_t done_rows = r0 + block < rows ? r0 + block : rows;
                    rc_->done_values += (done_rows - r0) * nvals;
                    rc_->values_read += (done_rows - r0) * nvals;
                    if (rc_->p->progress)
                        rc_->p->progress("reading meters", rc_->done_values,
                                         rc_->total_values, rc_->p->progress_arg);
                    if (failed)
                        break;
                }
                if (frc != TX_OK && !failed) {
                    failed = 1;
                    task_err = ferr;
                }
            }
        }
        if (ok && failed) {
            if (err)
                *err = task_err;
            rc = task_err.code ? task_err.code : TX_EHDF5;
        }
        pr->readings += readings;
        for (int t = 0; dec && t < nthreads; t++)
            tx_store_decoder_free(dec[t]);
        free(dec);
        tx_store_raw_free(raw[0]);
        tx_store_raw_free(raw[1]);
        free(vbuf);
        free(present);
        free(dscratch);
        free(wscratch);
        free(vscratch);
        free(row_meter);
    }
    return rc;
}

/* Enterprise energy, CO2 and water of a period from the meters' monthly totals, each
 * month with its own year's coefficients. */
static int compute_enterprises(run_ctx *c, period_res *pr, tx_err *err)
{
    const size_t nm = c->nm, ne = c->ne, nb = pr->nbins;
    for (size_t b = 0; b < nb; b++) {
        int y, mo;
        tx_period_month(&pr->per, (int)b, &y, &mo);
        int rc = tx_method_coefs(&c->tables, c->p->grid_series, c->p->grid_geography, y,
                                 c->p->pv_policy, c->p->electricity_basis, &pr->coefs[b], err);
        if (rc)
            return rc;
    }
    double *coef = malloc((nm ? nm : 1) * sizeof *coef);
    double *qty = malloc((nm ? nm : 1) * sizeof *qty);
    double *acc = malloc((ne ? ne : 1) * sizeof *acc);
    if (!coef || !qty || !acc) {
        free(coef);
        free(qty);
        free(acc);
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    double *const month_out[3] = {pr->tce_m, pr->co2_m, pr->water_m};
    double *const period_out[3] = {pr->tce, pr->co2, pr->water};
    for (int q = 0; q < 3; q++)
        memset(period_out[q], 0, ne * sizeof(double));
    for (size_t b = 0; b < nb; b++) {
        for (size_t m = 0; m < nm; m++)
            qty[m] = pr->mp[m].bin_total[b];
        const double *per_carrier[3] = {pr->coefs[b].tce, pr->coefs[b].tco2, pr->coefs[b].water};
        for (int q = 0; q < 3; q++) {
            /* One scatter per quantity: acc[owner] += quantity x its carrier's coefficient. */
            for (size_t m = 0; m < nm; m++)
                coef[m] = per_carrier[q][c->meters[m].carrier];
            memset(acc, 0, ne * sizeof *acc);
            txk_convert_scatter(qty, coef, c->owner, nm, acc);
            for (size_t e = 0; e < ne; e++) {
                month_out[q][e * nb + b] = acc[e];
                period_out[q][e] += acc[e];
            }
        }
    }
    /* Grid electricity in kWh (for 亩均's energy at 等价值 and tax per kWh). */
    for (size_t m = 0; m < nm; m++)
        coef[m] = c->meters[m].carrier == TX_CARRIER_ELECTRICITY;
    memset(pr->elec_kwh, 0, ne * sizeof *pr->elec_kwh);
    txk_convert_scatter(pr->total, coef, c->owner, nm, pr->elec_kwh);
    free(coef);
    free(qty);
    free(acc);

    for (size_t e = 0; e < ne; e++) {
        pr->cov[e] = pr->water_cov[e] = NAN;
        pr->has_elec[e] = pr->has_water[e] = 0;
    }
    for (size_t m = 0; m < nm; m++) {
        uint32_t e = c->owner[m];
        int carrier = c->meters[m].carrier;
        double cv = pr->coverage[m];
        if (!isfinite(cv))
            cv = 0.0;
        if (carrier == TX_CARRIER_ELECTRICITY)
            pr->has_elec[e] = 1;
        if (carrier == TX_CARRIER_WATER) {
            pr->has_water[e] = 1;
            pr->water_cov[e] = isnan(pr->water_cov[e]) || cv < pr->water_cov[e] ? cv
                                                                                 : pr->water_cov[e];
        }
        if (tx_method_carrier_required(carrier, c->p->pv_policy))
            pr->cov[e] = isnan(pr->cov[e]) || cv < pr->cov[e] ? cv : pr->cov[e];
    }
    for (size_t e = 0; e < ne; e++)
        if (!pr->has_water[e]) { /* no water meter: unknown, not zero */
            pr->water[e] = NAN;
            for (size_t b = 0; b < nb; b++)
                pr->water_m[e * nb + b] = NAN;
        }
    return TX_OK;
}

static int period_alloc(period_res *pr, size_t nm, size_t ne)
{
    size_t m = nm ? nm : 1, e = ne ? ne : 1, nb = (size_t)pr->per.nmonths;
    pr->nbins = nb;
    pr->total = calloc(m, sizeof *pr->total);
    pr->coverage = calloc(m, sizeof *pr->coverage);
    pr->mp = calloc(m, sizeof *pr->mp);
    double **d[] = {&pr->tce, &pr->co2,       &pr->water,   &pr->cov,
                    &pr->water_cov,         &pr->va,      &pr->elec_kwh};
    int bad = !pr->total || !pr->coverage || !pr->mp;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        bad |= !(*d[i] = calloc(e, sizeof(double)));
    double **dm[] = {&pr->tce_m, &pr->co2_m, &pr->water_m};
    for (size_t i = 0; i < sizeof dm / sizeof dm[0]; i++)
        bad |= !(*dm[i] = calloc(e * nb, sizeof(double)));
    uint8_t **u[] = {&pr->has_elec, &pr->has_water, &pr->va_months};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        bad |= !(*u[i] = calloc(e, 1));
    return bad ? TX_ENOMEM : TX_OK;
}

static void period_free(period_res *pr)
{
    void *p[] = {pr->total, pr->coverage, pr->mp,    pr->tce,      pr->co2,
                 pr->water, pr->cov,      pr->water_cov, pr->va,   pr->tce_m,
                 pr->co2_m, pr->water_m,  pr->has_elec,  pr->has_water, pr->va_months,
                 pr->elec_kwh};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

/* ---- aggregates ------------------------------------------------------------------------ */

typedef struct {
    size_t nkeys;
    char (*key)[8];
    uint32_t *n, *nstatus[TX_NSTATUS], *ngrade[6], *nrated, *nred;
    double *tce, *co2, *water, *va;
    double *r_tce, *r_co2, *r_water_n, *r_water_va, *r_va; /* rated sums */
    double *red_x[3][2], *red_va[3][2];                   /* reduction sums [ind][t/b] */
    double *energy_int, *carbon_int, *water_int, *change[3], *change_nbs[3];
} aggregate;

static void *agg_calloc(size_t n, size_t size, int *bad)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *bad = 1;
    return p;
}

static int agg_alloc(aggregate *a, size_t nkeys)
{
    int bad = 0;
    memset(a, 0, sizeof *a);
    a->nkeys = nkeys;
    a->key = agg_calloc(nkeys, sizeof *a->key, &bad);
    a->n = agg_calloc(nkeys, 4, &bad);
    a->nrated = agg_calloc(nkeys, 4, &bad);
    a->nred = agg_calloc(nkeys, 4, &bad);
    for (int s = 0; s < TX_NSTATUS; s++)
        a->nstatus[s] = agg_calloc(nkeys, 4, &bad);
    for (int g = 1; g <= 5; g++)
        a->ngrade[g] = agg_calloc(nkeys, 4, &bad);
    double **d[] = {&a->tce, &a->co2, &a->water, &a->va, &a->r_tce, &a->r_co2, &a->r_water_n,
                    &a->r_water_va, &a->r_va, &a->energy_int, &a->carbon_int, &a->water_int,
                    &a->change[0], &a->change[1], &a->change[2], &a->change_nbs[0],
                    &a->change_nbs[1], &a->change_nbs[2]};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        *d[k] = agg_calloc(nkeys, sizeof(double), &bad);
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 2; t++) {
            a->red_x[i][t] = agg_calloc(nkeys, sizeof(double), &bad);
            a->red_va[i][t] = agg_calloc(nkeys, sizeof(double), &bad);
        }
    return bad ? TX_ENOMEM : TX_OK;
}

static void agg_free(aggregate *a)
{
    free(a->key);
    free(a->n);
    free(a->nrated);
    free(a->nred);
    for (int s = 0; s < TX_NSTATUS; s++)
        free(a->nstatus[s]);
    for (int g = 1; g <= 5; g++)
        free(a->ngrade[g]);
    double *d[] = {a->tce,           a->co2,           a->water,         a->va,
                   a->r_tce,         a->r_co2,         a->r_water_n,     a->r_water_va,
                   a->r_va,          a->energy_int,    a->carbon_int,    a->water_int,
                   a->change[0],     a->change[1],     a->change[2],     a->change_nbs[0],
                   a->change_nbs[1], a->change_nbs[2]};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        free(d[k]);
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 2; t++) {
            free(a->red_x[i][t]);
            free(a->red_va[i][t]);
        }
}

/* Per-enterprise inputs of the aggregates. */
typedef struct {
    size_t ne;
    const uint8_t *status, *grade, *above;
    const period_res *t, *b;
    const double *water_ok;        /* 1 when water coverage is complete (report period) */
    const double *va_t_const;      /* report VA at base-year prices */
    const double *change[3];       /* enterprise reductions (finite = in the sums) */
} agg_in;

static void aggregate_by(const agg_in *in, const uint32_t *key, aggregate *a)
{
    for (size_t e = 0; e < in->ne; e++) {
        uint32_t k = key[e];
        a->n[k]++;
        a->nstatus[in->status[e]][k]++;
        if (in->grade[e] >= 1 && in->grade[e] <= 5)
            a->ngrade[in->grade[e]][k]++;
        /* Totals over all enterprises: unknown parts (no water meter, no VA) are skipped. */
        a->tce[k] += in->t->tce[e];
        a->co2[k] += in->t->co2[e];
        if (isfinite(in->t->water[e]))
            a->water[k] += in->t->water[e];
        if (isfinite(in->t->va[e]))
            a->va[k] += in->t->va[e];
        /* Rated: complete data, VA > 0, 规上 (METHOD.md section 8). */
        int rated = (in->status[e] == TX_STATUS_OK || in->status[e] == TX_STATUS_NO_BENCHMARK) &&
                    in->above[e];
        if (rated) {
            a->nrated[k]++;
            a->r_tce[k] += in->t->tce[e];
            a->r_co2[k] += in->t->co2[e];
            a->r_va[k] += in->t->va[e];
            if (in->water_ok[e]) {
                a->r_water_n[k] += in->t->water[e];
                a->r_water_va[k] += in->t->va[e];
            }
            const double *xt[3] = {in->t->tce, in->t->co2, in->t->water};
            const double *xb[3] = {in->b ? in->b->tce : NULL, in->b ? in->b->co2 : NULL,
                                   in->b ? in->b->water : NULL};
            for (int i = 0; i < 3; i++) {
                if (!isfinite(in->change[i][e]))
                    continue;
                if (i == 0)
                    a->nred[k]++;
                a->red_x[i][0][k] += xt[i][e];
                a->red_va[i][0][k] += in->va_t_const[e];
                a->red_x[i][1][k] += xb[i][e];
                a->red_va[i][1][k] += in->b->va[e];
            }
        }
    }
    for (size_t k = 0; k < a->nkeys; k++) {
        a->energy_int[k] = a->r_va[k] > 0 ? a->r_tce[k] / a->r_va[k] : NAN;
        a->carbon_int[k] = a->r_va[k] > 0 ? a->r_co2[k] / a->r_va[k] : NAN;
        a->water_int[k] = a->r_water_va[k] > 0 ? a->r_water_n[k] / a->r_water_va[k] : NAN;
        for (int i = 0; i < 3; i++) {
            /* Prices are already rebased in the sums, so the price ratio here is 1. */
            a->change[i][k] = tx_method_reduction_pct(a->red_x[i][0][k], a->red_va[i][0][k], 1.0,
                                                      a->red_x[i][1][k], a->red_va[i][1][k], 1.0);
            a->change_nbs[i][k] =
                tx_method_reduction_nbs_pct(a->red_x[i][0][k], a->red_va[i][0][k], 1.0,
                                            a->red_x[i][1][k], a->red_va[i][1][k], 1.0);
        }
    }
}

/* ---- results --------------------------------------------------------------------------- */

static void fixed_copy(char *dst, const char *src, size_t width);
static int write_flag_attrs(hid_t g, const char *name, const uint8_t *values, size_t nvalues,
                            const char *meanings, tx_err *err);

static const uint8_t status_values[TX_NSTATUS] = {0, 1, 2, 3};
static const char status_meanings[] = "OK INCOMPLETE NOT_RATEABLE NO_BENCHMARK";

static int write_aggregate(hid_t file, const char *name, const char *key_name,
                           const char *key_long, size_t key_width, const aggregate *a,
                           const tx_grade_out *go, int level, tx_err *err)
{
    hid_t g = tx_h5_group(file, name, err);
    if (g < 0)
        return err ? err->code : TX_EHDF5;
    const size_t n = a->nkeys;
    int rc = TX_OK;
    char *keys = malloc((n ? n : 1) * key_width);
    if (!keys) {
        H5Gclose(g);
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++)
        fixed_copy(keys + k * key_width, a->key[k], key_width);
    rc = tx_h5_write_strings(g, key_name, keys, key_width, n, level, key_long, err);
    free(keys);
    struct {
        const char *name;
        const uint32_t *v;
        const char *long_name;
    } counts[] = {
        {"n_enterprises", a->n, "enterprises in the group"},
        {"n_ok", a->nstatus[TX_STATUS_OK], "enterprises with status OK"},
        {"n_incomplete", a->nstatus[TX_STATUS_INCOMPLETE], "enterprises with status INCOMPLETE"},
        {"n_not_rateable", a->nstatus[TX_STATUS_NOT_RATEABLE],
         "enterprises with status NOT_RATEABLE"},
        {"n_no_benchmark", a->nstatus[TX_STATUS_NO_BENCHMARK],
         "enterprises with status NO_BENCHMARK"},
        {"n_rated", a->nrated, "rated enterprises (complete data, VA > 0, above scale)"},
        {"n_reduction", a->nred, "rated enterprises complete in both periods (reduction sums)"},
        {"n_grade_1", a->ngrade[1], "enterprises graded 1"},
        {"n_grade_2", a->ngrade[2], "enterprises graded 2"},
        {"n_grade_3", a->ngrade[3], "enterprises graded 3"},
        {"n_grade_4", a->ngrade[4], "enterprises graded 4"},
        {"n_grade_5", a->ngrade[5], "enterprises graded 5"},
    };
    for (size_t i = 0; !rc && i < sizeof counts / sizeof counts[0]; i++)
        rc = tx_h5_write_column(g, counts[i].name, H5T_NATIVE_UINT32, counts[i].v, n, level, "1",
                                counts[i].long_name, err);
    struct {
        const char *name;
        const double *v;
        const char *units, *long_name;
    } cols[] = {
        {"energy_tce", a->tce, "tce", "comprehensive energy, all enterprises (当量值)"},
        {"co2_t", a->co2, "tCO2", "CO2 emissions, all enterprises"},
        {"water_m3", a->water, "m3", "water use, enterprises with water meters"},
        {"value_added", a->va, "10^4 CNY", "value added, current prices, enterprises with VA"},
        {"energy_intensity", a->energy_int, "tce/10^4 CNY",
         "energy per value added, rated enterprises (ratio of sums)"},
        {"carbon_intensity", a->carbon_int, "tCO2/10^4 CNY",
         "CO2 per value added, rated enterprises (ratio of sums)"},
        {"water_intensity", a->water_int, "m3/10^4 CNY",
         "water per value added, rated enterprises with complete water data"},
        {"energy_intensity_change_pct", a->change[0], "%",
         "energy intensity reduction vs baseline at comparable prices, positive = fell"},
        {"co2_intensity_change_pct", a->change[1], "%",
         "CO2 intensity reduction vs baseline at comparable prices, positive = fell"},
        {"water_intensity_change_pct", a->change[2], "%",
         "water intensity reduction vs baseline at comparable prices, positive = fell"},
        {"energy_intensity_change_pct_nbs", a->change_nbs[0], "%",
         "the same with both intensities rounded to 4 decimals first (NBS practice)"},
        {"co2_intensity_change_pct_nbs", a->change_nbs[1], "%",
         "the same with both intensities rounded to 4 decimals first (NBS practice)"},
        {"water_intensity_change_pct_nbs", a->change_nbs[2], "%",
         "the same with both intensities rounded to 4 decimals first (NBS practice)"},
    };
    for (size_t i = 0; !rc && i < sizeof cols / sizeof cols[0]; i++)
        rc = tx_h5_write_column(g, cols[i].name, H5T_NATIVE_DOUBLE, cols[i].v, n, level,
                                cols[i].units, cols[i].long_name, err);
    if (!rc && go) {
        /* The benchmark cell of each industry row (keys are codes of the run's level; an
         * enterprise of a cell without a benchmark was graded against its parent's). */
        double *bi = malloc((n ? n : 1) * sizeof *bi);
        uint32_t *bm = malloc((n ? n : 1) * sizeof *bm);
        uint8_t *hb = malloc(n ? n : 1);
        if (!bi || !bm || !hb)
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        for (size_t k = 0; !rc && k < n; k++) {
            int d = atoi(a->key[k]), l = (int)strlen(a->key[k]) - 2;
            bi[k] = go->cells->intensity[l][d];
            bm[k] = go->cells->members[l][d];
            hb[k] = go->cells->has_benchmark[l][d];
        }
        if (!rc)
            rc = tx_h5_write_column(g, "benchmark_intensity", H5T_NATIVE_DOUBLE, bi, n, level,
                                    "tCO2/10^4 CNY",
                                    "industry carbon intensity used as the grades' benchmark "
                                    "(rated above-scale members, ratio of sums)",
                                    err);
        if (!rc)
            rc = tx_h5_write_column(g, "benchmark_members", H5T_NATIVE_UINT32, bm, n, level, "1",
                                    "rated above-scale members in the benchmark", err);
        if (!rc)
            rc = tx_h5_write_column(g, "has_benchmark", H5T_NATIVE_UINT8, hb, n, level, "1",
                                    "1 when the cell has enough members to grade", err);
        free(bi);
        free(bm);
        free(hb);
        static const uint8_t hv[] = {0, 1};
        if (!rc)
            rc = write_flag_attrs(g, "has_benchmark", hv, 2, "no_benchmark has_benchmark", err);
    }
    if (!rc)
        rc = tx_h5_key_scale(g, key_name, name, err);
    H5Gclose(g);
    return rc;
}

/* ---- 亩均 ------------------------------------------------------------------------------ */

static int write_flag_attrs(hid_t g, const char *name, const uint8_t *values, size_t nvalues,
                            const char *meanings, tx_err *err);

/* The 亩均 evaluation's outputs, one row per enterprise. */
typedef struct {
    uint8_t *group, *cls, *flags;
    double *score, *term[TX_MUJUN_NTERMS], *value[TX_MUJUN_NTERMS];
    uint32_t *rank;
    void *wksp;
} mujun_res;

static void mujun_free(mujun_res *m)
{
    free(m->group);
    free(m->cls);
    free(m->flags);
    free(m->score);
    free(m->rank);
    free(m->wksp);
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        free(m->term[k]);
        free(m->value[k]);
    }
}

/* 亩均 (METHOD.md section 6) over the report period: financial figures of the period,
 * energy with electricity at 等价值 and grid kWh as measured (incomplete data flagged). */
static int evaluate_mujun(const run_ctx *c, const period_res *t, const financials *fin,
                          const uint8_t *above, const char *tables_dir, const char *profile_id,
                          tx_mujun_profile *prof, mujun_res *mr, tx_err *err)
{
    int rc = tx_mujun_profile_load(tables_dir, profile_id, prof, err);
    if (rc)
        return rc;
    const size_t n = c->ne, nn = n ? n : 1;
    double *in[NFIN] = {0}, *land = malloc(nn * sizeof *land), *eqv = malloc(nn * sizeof *eqv);
    uint8_t *complete = malloc(nn);
    int bad = !land || !eqv || !complete;
    for (int f = 0; f < NFIN; f++)
        bad |= !(in[f] = malloc(nn * sizeof(double)));
    mr->group = malloc(nn);
    mr->cls = malloc(nn);
    mr->flags = malloc(nn);
    mr->score = malloc(nn * sizeof(double));
    mr->rank = malloc(nn * sizeof(uint32_t));
    bad |= !mr->group || !mr->cls || !mr->flags || !mr->score || !mr->rank;
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        bad |= !(mr->term[k] = malloc(nn * sizeof(double)));
        bad |= !(mr->value[k] = malloc(nn * sizeof(double)));
    }
    size_t wsz = tx_mujun_wksp_size(n);
    mr->wksp = malloc(wsz ? wsz : 1);
    bad |= !mr->wksp;
    if (bad) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto out;
    }
    /* Energy at 等价值: swap the electricity coefficient the run's tce used. */
    double used = c->p->electricity_basis == TX_ELEC_EQUAL_VALUE
                      ? c->tables.kgce_per_kwh_equal_value
                      : c->tables.kgce[TX_CARRIER_ELECTRICITY];
    for (size_t e = 0; e < n; e++) {
        int months;
        for (int f = 0; f < NFIN; f++)
            in[f][e] = period_fin(fin, e, &t->per, f, &months);
        land[e] = c->ents[e].land_area_mu;
        eqv[e] = t->tce[e] + t->elec_kwh[e] * (c->tables.kgce_per_kwh_equal_value - used) / 1000.0;
        complete[e] = t->has_elec[e] && t->cov[e] >= c->coverage_min;
    }
    tx_mujun_in mi = {n,           above,         land,       t->va,      in[FIN_TAX],
                      in[FIN_REVENUE], in[FIN_RD], in[FIN_EMPLOYEES], in[FIN_POLLUTANT],
                      eqv,         t->elec_kwh,   complete};
    tx_mujun_out mo = {mr->group, mr->score, {0}, {0}, mr->rank, mr->cls, mr->flags};
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        mo.term[k] = mr->term[k];
        mo.value[k] = mr->value[k];
    }
    rc = tx_mujun_evaluate(prof, &mi, &mo, mr->wksp, wsz);
    if (rc)
        rc = tx_err_set(err, rc, "亩均 evaluation: invalid input");
out:
    free(land);
    free(eqv);
    free(complete);
    for (int f = 0; f < NFIN; f++)
        free(in[f]);
    return rc;
}

static int write_mujun(hid_t file, size_t n, const mujun_res *mr, const tx_mujun_profile *prof,
                       int level, tx_err *err)
{
    hid_t g = tx_h5_group(file, "mujun", err);
    if (g < 0)
        return err ? err->code : TX_EHDF5;
    int rc = TX_OK;
    size_t nn = n ? n : 1;
    /* Terms by name: tax per mu is term 0 in both groups; the 规下 second term is tax per
     * kWh, the 规上 second is VA per mu. */
    double *split[2][2];
    for (int k = 0; k < 2; k++) {
        split[k][0] = malloc(nn * sizeof(double));
        split[k][1] = malloc(nn * sizeof(double));
    }
    if (!split[0][0] || !split[0][1] || !split[1][0] || !split[1][1]) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t e = 0; e < n; e++) {
        int below = mr->group[e] == TX_MUJUN_BELOW;
        split[0][0][e] = below ? NAN : mr->term[1][e];  /* term va_per_mu */
        split[0][1][e] = below ? mr->term[1][e] : NAN;  /* term tax_per_kwh */
        split[1][0][e] = below ? NAN : mr->value[1][e]; /* value va_per_mu */
        split[1][1][e] = below ? mr->value[1][e] : NAN; /* value tax_per_kwh */
    }
    struct {
        const char *name;
        const void *v;
        hid_t type;
        const char *units, *long_name;
    } cols[] = {
        {"group", mr->group, H5T_NATIVE_UINT8, "1", "evaluation group"},
        {"score", mr->score, H5T_NATIVE_DOUBLE, "1", "comprehensive score (sum of terms)"},
        {"rank", mr->rank, H5T_NATIVE_UINT32, "1", "1 + number of higher scores in the group"},
        {"class", mr->cls, H5T_NATIVE_UINT8, "1", "class A/B/C/D by rank share in the group"},
        {"flags", mr->flags, H5T_NATIVE_UINT8, "1", "what was averaged, missing or incomplete"},
        {"term_tax_per_mu", mr->term[0], H5T_NATIVE_DOUBLE, "1", "score term: tax per mu"},
        {"term_va_per_mu", split[0][0], H5T_NATIVE_DOUBLE, "1", "score term: VA per mu"},
        {"term_va_per_tce", mr->term[2], H5T_NATIVE_DOUBLE, "1", "score term: VA per tce"},
        {"term_va_per_pollutant", mr->term[3], H5T_NATIVE_DOUBLE, "1",
         "score term: VA per t of main pollutants"},
        {"term_va_per_employee", mr->term[4], H5T_NATIVE_DOUBLE, "1",
         "score term: VA per employee"},
        {"term_rd_ratio", mr->term[5], H5T_NATIVE_DOUBLE, "1", "score term: R&D / revenue"},
        {"term_tax_per_kwh", split[0][1], H5T_NATIVE_DOUBLE, "1",
         "score term (规下): tax per kWh"},
        {"tax_per_mu", mr->value[0], H5T_NATIVE_DOUBLE, "10^4 CNY/mu", "亩均税收"},
        {"va_per_mu", split[1][0], H5T_NATIVE_DOUBLE, "10^4 CNY/mu", "亩均增加值"},
        {"va_per_tce", mr->value[2], H5T_NATIVE_DOUBLE, "10^4 CNY/tce",
         "单位能耗增加值 (electricity at 等价值)"},
        {"va_per_pollutant", mr->value[3], H5T_NATIVE_DOUBLE, "10^4 CNY/t", "单位排放增加值"},
        {"va_per_employee", mr->value[4], H5T_NATIVE_DOUBLE, "10^4 CNY/person",
         "全员劳动生产率"},
        {"rd_ratio", mr->value[5], H5T_NATIVE_DOUBLE, "1", "R&D 占比"},
        {"tax_per_kwh", split[1][1], H5T_NATIVE_DOUBLE, "CNY/kWh", "规下: tax per kWh"},
    };
    for (size_t i = 0; !rc && i < sizeof cols / sizeof cols[0]; i++)
        rc = tx_h5_write_column(g, cols[i].name, cols[i].type, cols[i].v, n, level,
                                cols[i].units, cols[i].long_name, err);
    if (!rc) {
        static const uint8_t gv[] = {0, 1, 2}, cv[] = {0, 1, 2, 3, 4};
        rc = write_flag_attrs(g, "group", gv, 3, "not_evaluated above_scale below_scale", err);
        if (!rc)
            rc = write_flag_attrs(g, "class", cv, 5, "none A B C D", err);
    }
    if (!rc) {
        hid_t d = H5Dopen2(g, "flags", H5P_DEFAULT);
        static const uint8_t masks[] = {1, 2, 4, 8, 16};
        rc = d < 0 ? tx_err_set(err, TX_EHDF5, "cannot open /mujun/flags") : TX_OK;
        if (!rc)
            rc = tx_h5_attr_flags(d, masks, 5,
                                  "pollutant_term_averaged missing_input_scored_0 "
                                  "energy_incomplete no_land no_value_added",
                                  err);
        if (!rc)
            rc = tx_h5_attr_flag_masks(d, masks, 5, err);
        if (d >= 0)
            H5Dclose(d);
    }
    if (!rc)
        rc = tx_h5_attr_string(g, "profile", prof->id, err);
    if (!rc)
        rc = tx_h5_attr_int64(g, "profile_year", prof->year, err);
out:
    for (int k = 0; k < 2; k++) {
        free(split[k][0]);
        free(split[k][1]);
    }
    H5Gclose(g);
    return rc;
}

/* ---- the run ----------------------------------------------------------------------------- */

static int cmp_event(const void *a, const void *b, void *ctx);

typedef struct {
    const tx_event *ev;
    const long *meter_of;
} ev_sort_ctx;

static int cmp_event(const void *a, const void *b, void *ctx)
{
    const ev_sort_ctx *c = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    long ma = c->meter_of[ia], mb = c->meter_of[ib];
    if (ma != mb)
        return ma < mb ? -1 : 1;
    int64_t ta = c->ev[ia].t, tb = c->ev[ib].t;
    return ta < tb ? -1 : ta > tb ? 1 : (ia < ib ? -1 : ia > ib);
}

static int index_events(run_ctx *c, tx_err *err)
{
    size_t nev = 0;
    const tx_event *ev = tx_store_events(c->st, &nev);
    c->ev_first = calloc(c->nm ? c->nm : 1, sizeof *c->ev_first);
    c->ev_count = calloc(c->nm ? c->nm : 1, sizeof *c->ev_count);
    c->evs = malloc((nev ? nev : 1) * sizeof *c->evs);
    long *meter_of = malloc((nev ? nev : 1) * sizeof *meter_of);
    size_t *order = malloc((nev ? nev : 1) * sizeof *order);
    if (!c->ev_first || !c->ev_count || !c->evs || !meter_of || !order) {
        free(meter_of);
        free(order);
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nev; i++) {
        meter_of[i] = tx_store_find_meter(c->st, ev[i].meter_id);
        order[i] = i;
    }
    ev_sort_ctx sc = {ev, meter_of};
    qsort_r(order, nev, sizeof *order, cmp_event, &sc);
    size_t k = 0;
    for (size_t i = 0; i < nev; i++) {
        long m = meter_of[order[i]];
        if (m < 0)
            continue;
        if (c->ev_count[m] == 0)
            c->ev_first[m] = k;
        c->ev_count[m]++;
        c->evs[k++] = ev[order[i]];
    }
    free(meter_of);
    free(order);
    return TX_OK;
}

static int cmp_str8(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void iso_now(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

/* Everything the run allocates per enterprise, freed in one place. */
typedef struct {
    uint8_t *division, *above, *status, *level, *grade, *ok_t, *ok_b, *price_missing,
        *bench_level;
    uint16_t *industry;
    double *intensity, *k, *va_t_const, *change[3], *change_nbs[3], *energy_int, *water_int,
        *water_ok, *price_ratio, *bench;
    uint32_t *key_div, *key_dist, *key_city;
} ent_arrays;

static int ent_alloc(ent_arrays *a, size_t ne)
{
    size_t n = ne ? ne : 1;
    memset(a, 0, sizeof *a);
    uint8_t **b[] = {&a->division, &a->above, &a->status, &a->level,        &a->grade,
                     &a->ok_t,     &a->ok_b,  &a->price_missing, &a->bench_level};
    if (!(a->industry = calloc(n, sizeof *a->industry)))
        return TX_ENOMEM;
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (!(*b[i] = calloc(n, 1)))
            return TX_ENOMEM;
    double **d[] = {&a->intensity,     &a->k,             &a->va_t_const,    &a->change[0],
                    &a->change[1],     &a->change[2],     &a->change_nbs[0], &a->change_nbs[1],
                    &a->change_nbs[2], &a->energy_int,    &a->water_int,     &a->water_ok,
                    &a->price_ratio,   &a->bench};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (!(*d[i] = calloc(n, sizeof(double))))
            return TX_ENOMEM;
    uint32_t **u[] = {&a->key_div, &a->key_dist, &a->key_city};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (!(*u[i] = calloc(n, sizeof(uint32_t))))
            return TX_ENOMEM;
    return TX_OK;
}

static void ent_free(ent_arrays *a)
{
    void *p[] = {a->division,      a->above,         a->status,        a->level,
                 a->grade,         a->ok_t,          a->ok_b,          a->price_missing,
                 a->bench_level,   a->industry,      a->intensity,     a->k,
                 a->va_t_const,    a->change[0],     a->change[1],     a->change[2],
                 a->change_nbs[0], a->change_nbs[1], a->change_nbs[2], a->energy_int,
                 a->water_int,     a->water_ok,      a->price_ratio,   a->bench,
                 a->key_div,       a->key_dist,      a->key_city};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

static int write_enterprise_group(hid_t file, const run_ctx *c, const period_res *t,
                                  const period_res *b, const ent_arrays *a, int level,
                                  tx_err *err);
static int write_meter_group(hid_t file, const run_ctx *c, const period_res *t,
                             const period_res *b, int level, tx_err *err);
static int write_root_attrs(hid_t file, const run_ctx *c, const period_res *t,
                            const period_res *b, const financials *fin, const deflators *defl,
                            int current_prices_used, tx_err *err);
static int write_series(hid_t file, const run_ctx *c, const period_res *t, const period_res *b,
                        int level, tx_err *err);
static int write_targets(hid_t file, const run_ctx *c, const period_res *t, const period_res *b,
                         const aggregate *city, const aggregate *dist, const aggregate *ind,
                         int level, tx_err *err);
static int run_products(hid_t file, const run_ctx *c, const tx_period *per, const char *dir,
                        const char *tables_dir, int level, tx_err *err);
static int write_flag_attrs(hid_t g, const char *name, const uint8_t *values, size_t nvalues,
                            const char *meanings, tx_err *err);

int tx_run(const tx_run_params *p, tx_run_summary *s, tx_err *err)
{
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    memset(s, 0, sizeof *s);
    period_res t, b;
    memset(&t, 0, sizeof t);
    memset(&b, 0, sizeof b);
    financials fin;
    memset(&fin, 0, sizeof fin);
    deflators defl;
    memset(&defl, 0, sizeof defl);
    ent_arrays a;
    memset(&a, 0, sizeof a);
    aggregate ag_div, ag_dist, ag_city;
    memset(&ag_div, 0, sizeof ag_div);
    memset(&ag_dist, 0, sizeof ag_dist);
    memset(&ag_city, 0, sizeof ag_city);
    tx_results *res = NULL;
    tx_grade_out *go = NULL;
    char (*dist_keys)[8] = NULL;
    uint8_t *present = NULL;
    uint32_t *div_key = NULL;
    mujun_res mr;
    memset(&mr, 0, sizeof mr);
    tx_mujun_profile mprof;
    memset(&mprof, 0, sizeof mprof);
    int tables_loaded = 0;
    int rc;

    if (!p->store_path || !p->financials_dir || (!p->output_path && !p->floor_only) || !p->period)
        return tx_err_set(err, TX_EINVAL, "run needs --store, --financials, --period and --output");
    if ((rc = tx_period_parse(p->period, &t.per, err)))
        return rc;
    t.has = 1;
    if (p->baseline) {
        if ((rc = tx_period_parse(p->baseline, &b.per, err)))
            return rc;
        b.has = 1;
        if (b.per.end > t.per.start)
            return tx_err_set(err, TX_EINVAL, "baseline %s must end before the period %s starts",
                              p->baseline, p->period);
        if (b.per.nmonths != t.per.nmonths || b.per.month_first != t.per.month_first)
            return tx_err_set(err, TX_EINVAL,
                              "baseline %s and period %s must cover the same months", p->baseline,
                              p->period);
    }
    const int industry_level = p->industry_level ? p->industry_level : 2;
    if (industry_level < 2 || industry_level > 4)
        return tx_err_set(err, TX_EINVAL, "industry level must be 2, 3 or 4 digits");
    if (p->threads > 0)
        omp_set_num_threads(p->threads);

    const char *tables_dir = p->tables_dir ? p->tables_dir : TANXIAO_TABLES_DIR;
    if ((rc = tx_tables_load(tables_dir, &c.tables, err)))
        goto done;
    tables_loaded = 1;
    c.coverage_min = isnan(p->coverage_min) ? c.tables.coverage_min : p->coverage_min;
    c.min_members = p->min_members > 0 ? p->min_members : c.tables.benchmark_min_members;

    if ((rc = tx_store_open(p->store_path, 0, p->zstd_level, &c.st, err)))
        goto done;
    if (!p->floor_only)
        store_sum_start(&c);
    c.ents = tx_store_enterprises(c.st, &c.ne);
    c.meters = tx_store_meters(c.st, &c.nm);
    if (c.ne == 0) {
        rc = tx_err_set(err, TX_EINVAL, "%s: the store holds no enterprises", p->store_path);
        goto done;
    }
    c.owner = malloc((c.nm ? c.nm : 1) * sizeof *c.owner);
    if (!c.owner) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t m = 0; m < c.nm; m++) {
        long e = tx_store_find_enterprise(c.st, c.meters[m].enterprise_id);
        if (e < 0) {
            rc = tx_err_set(err, TX_EINVAL, "%s: meter %s names unknown enterprise %s",
                            p->store_path, c.meters[m].id, c.meters[m].enterprise_id);
            goto done;
        }
        c.owner[m] = (uint32_t)e;
    }
    if ((rc = index_events(&c, err)))
        goto done;

    if (p->floor_only) {
        /* The benchmark floor: the same chunks through the same pipeline, decoded only. */
        if ((rc = period_alloc(&t, c.nm, c.ne)) ||
            (b.has && (rc = period_alloc(&b, c.nm, c.ne)))) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = compute_meters(&c, &t, 1, err)) ||
            (b.has && (rc = compute_meters(&c, &b, 1, err))))
            goto done;
        s->enterprises = c.ne;
        s->meters = c.nm;
        s->values_read = c.values_read;
        s->bytes_read = c.bytes_read;
        goto done;
    }

    /* Financials and deflators. */
    fin_add_years(&fin, &t.per);
    if (b.has)
        fin_add_years(&fin, &b.per);
    if ((rc = load_financials(p->financials_dir, c.st, c.ne, &fin, err)))
        goto done;
    /* A period's prices are those of the year its last month is in. */
    const int price_years[2] = {t.per.year_last, b.has ? b.per.year_last : t.per.year_last};
    if (b.has && (rc = load_deflators(p->financials_dir, price_years, &defl, err)))
        goto done;

    /* Meter totals: the store is the big read, so count it for progress. */
    if ((rc = period_alloc(&t, c.nm, c.ne)) || (b.has && (rc = period_alloc(&b, c.nm, c.ne)))) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (int g = 0; g < TX_STORE_NGRIDS; g++) {
        int minutes = tx_store_grid_minutes[g];
        uint64_t per_row = (uint64_t)((t.per.end - t.per.start) / (minutes * 60) + 1);
        if (b.has)
            per_row += (uint64_t)((b.per.end - b.per.start) / (minutes * 60) + 1);
        c.total_values += per_row * tx_store_grid_rows(c.st, minutes);
    }
    if ((rc = compute_meters(&c, &t, 0, err)) ||
        (b.has && (rc = compute_meters(&c, &b, 0, err))))
        goto done;
    s->values_read = c.values_read;
    s->bytes_read = c.bytes_read;
    if ((rc = compute_enterprises(&c, &t, err)) ||
        (b.has && (rc = compute_enterprises(&c, &b, err))))
        goto done;

    if ((rc = ent_alloc(&a, c.ne))) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t e = 0; e < c.ne; e++) {
        int months = 0;
        t.va[e] = period_va(&fin, e, &t.per, &months);
        t.va_months[e] = (uint8_t)months;
        if (b.has) {
            b.va[e] = period_va(&fin, e, &b.per, &months);
            b.va_months[e] = (uint8_t)months;
        }
        a.industry[e] = (uint16_t)atoi(c.ents[e].industry);
        a.division[e] = (uint8_t)(a.industry[e] / 100);
        a.above[e] = c.ents[e].above_scale;
    }

    /* Statuses, levels, benchmarks and grades. */
    go = calloc(1, sizeof *go);
    if (!go) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    go->status = a.status;
    go->intensity = a.intensity;
    go->level = a.level;
    go->k = a.k;
    go->grade = a.grade;
    go->bench = a.bench;
    go->bench_level = a.bench_level;
    go->cells = calloc(1, sizeof *go->cells);
    if (!go->cells) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    tx_grade_in gi = {c.ne, t.co2, t.va, t.cov, t.has_elec, a.above, a.industry};
    tx_grade_params gp = {c.coverage_min,          c.min_members,        industry_level,
                          p->below_scale,          c.tables.level_bounds, c.tables.nlevel_bounds,
                          c.tables.grade_bounds,   c.tables.ngrade_bounds};
    if ((rc = tx_method_grade(&gi, &gp, go))) {
        rc = tx_err_set(err, rc, "out of memory while grading");
        goto done;
    }

    /* Intensities and reductions at comparable (base-year) prices. */
    int current_prices_used = 0;
    for (size_t e = 0; e < c.ne; e++) {
        a.energy_int[e] = t.va[e] > 0 ? t.tce[e] / t.va[e] : NAN;
        a.water_ok[e] = t.has_water[e] && t.water_cov[e] >= c.coverage_min;
        a.water_int[e] = t.va[e] > 0 && a.water_ok[e] ? t.water[e] / t.va[e] : NAN;
        a.ok_t[e] = t.has_elec[e] && t.cov[e] >= c.coverage_min && t.va[e] > 0;
        a.change[0][e] = a.change[1][e] = a.change[2][e] = NAN;
        a.change_nbs[0][e] = a.change_nbs[1][e] = a.change_nbs[2][e] = NAN;
        a.price_ratio[e] = NAN;
        a.va_t_const[e] = NAN;
        if (!b.has)
            continue;
        a.ok_b[e] = b.has_elec[e] && b.cov[e] >= c.coverage_min && b.va[e] > 0;
        if (!a.ok_t[e] || !a.ok_b[e])
            continue;
        double pt = defl.index[a.division[e]][0], pb = defl.index[a.division[e]][1];
        if (!(pt > 0) || !(pb > 0)) {
            if (!p->current_prices) {
                rc = tx_err_set(err, TX_EDEFLATOR,
                                "%s/deflators.csv: no price index for division %02d in %d or %d "
                                "(enterprise %s); add it, or run with --current-prices",
                                p->financials_dir, a.division[e], price_years[0], price_years[1],
                                c.ents[e].id);
                goto done;
            }
            pt = pb = 1.0;
            a.price_missing[e] = 1;
            current_prices_used = 1;
        }
        a.price_ratio[e] = pt / pb;
        a.va_t_const[e] = t.va[e] / a.price_ratio[e];
        const double *xt[3] = {t.tce, t.co2, t.water}, *xb[3] = {b.tce, b.co2, b.water};
        for (int i = 0; i < 3; i++) {
            if (i == 2 && !(a.water_ok[e] && b.has_water[e] && b.water_cov[e] >= c.coverage_min))
                continue;
            a.change[i][e] =
                tx_method_reduction_pct(xt[i][e], t.va[e], pt, xb[i][e], b.va[e], pb);
            a.change_nbs[i][e] =
                tx_method_reduction_nbs_pct(xt[i][e], t.va[e], pt, xb[i][e], b.va[e], pb);
        }
    }

    /* Aggregates by division, district and city. */
    {
        /* Industry rows at the run's level: 2-digit divisions by default. */
        present = calloc(10000, 1);
        div_key = calloc(10000, sizeof *div_key);
        if (!present || !div_key) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t e = 0; e < c.ne; e++)
            present[tx_industry_at_level(a.industry[e], industry_level)] = 1;
        size_t ndiv = 0;
        for (int d = 0; d < 10000; d++)
            if (present[d])
                div_key[d] = (uint32_t)ndiv++;
        dist_keys = malloc(c.ne * sizeof *dist_keys);
        if (!dist_keys || agg_alloc(&ag_div, ndiv) || agg_alloc(&ag_city, 1)) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            goto done;
        }
        for (int d = 0; d < 10000; d++)
            if (present[d])
                snprintf(ag_div.key[div_key[d]], sizeof ag_div.key[0], "%0*d", industry_level, d);
        snprintf(ag_city.key[0], sizeof ag_city.key[0], "all");
        for (size_t e = 0; e < c.ne; e++)
            memcpy(dist_keys[e], c.ents[e].district, 7), dist_keys[e][7] = 0;
        qsort(dist_keys, c.ne, sizeof *dist_keys, cmp_str8);
        size_t ndist = 0;
        for (size_t e = 0; e < c.ne; e++)
            if (ndist == 0 || strcmp(dist_keys[ndist - 1], dist_keys[e]) != 0)
                memcpy(dist_keys[ndist++], dist_keys[e], 8);
        if (agg_alloc(&ag_dist, ndist)) {
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < ndist; k++)
            memcpy(ag_dist.key[k], dist_keys[k], 8);
        for (size_t e = 0; e < c.ne; e++) {
            a.key_div[e] = div_key[tx_industry_at_level(a.industry[e], industry_level)];
            char (*hit)[8] = bsearch(c.ents[e].district, dist_keys, ndist, sizeof *dist_keys,
                                     cmp_str8);
            a.key_dist[e] = (uint32_t)(hit - dist_keys);
            a.key_city[e] = 0;
        }
        agg_in ai = {c.ne,         a.status,       a.grade,
                     a.above,      &t,             b.has ? &b : NULL,
                     a.water_ok,   a.va_t_const,   {a.change[0], a.change[1], a.change[2]}};
        aggregate_by(&ai, a.key_div, &ag_div);
        aggregate_by(&ai, a.key_dist, &ag_dist);
        aggregate_by(&ai, a.key_city, &ag_city);
    }

    /* 亩均 evaluation. */
    if ((rc = evaluate_mujun(&c, &t, &fin, a.above, tables_dir,
                             p->mujun_profile ? p->mujun_profile : "huangyan_2022", &mprof, &mr,
                             err)))
        goto done;

    /* The results file, complete or absent. */
    if ((rc = tx_results_create(p->output_path, p->zstd_level, &res, err)))
        goto done;
    {
        hid_t file = tx_results_file(res);
        int level = p->zstd_level;
        if ((rc = write_enterprise_group(file, &c, &t, b.has ? &b : NULL, &a, level, err)) ||
            (rc = write_meter_group(file, &c, &t, b.has ? &b : NULL, level, err)) ||
            (rc = write_series(file, &c, &t, b.has ? &b : NULL, level, err)) ||
            (rc = write_targets(file, &c, &t, b.has ? &b : NULL, &ag_city, &ag_dist, &ag_div,
                                level, err)) ||
            (rc = write_mujun(file, c.ne, &mr, &mprof, level, err)) ||
            (rc = run_products(file, &c, &t.per, p->financials_dir, tables_dir, level, err)) ||
            (rc = write_aggregate(file, "industry", "industry_code",
                                  "GB/T 4754-2017 division (2 digits)", 3, &ag_div, go, level,
                                  err)) ||
            (rc = write_aggregate(file, "district", "district_code", "administrative division code",
                                  7, &ag_dist, NULL, level, err)) ||
            (rc = write_aggregate(file, "city", "city", "the whole run", 4, &ag_city, NULL, level,
                                  err)) ||
            (rc = tx_tables_h5_write(file, &c.tables, &t.per, t.coefs, b.has ? &b.per : NULL,
                                     b.coefs, level, err)) ||
            (rc = store_sum_join(&c, err)) ||
            (rc = write_root_attrs(file, &c, &t, b.has ? &b : NULL, &fin, &defl,
                                   current_prices_used, err)))
            goto done;
    }
    rc = tx_results_commit(res, err);
    res = NULL;
    if (rc)
        goto done;

    /* Summary. */
    s->enterprises = c.ne;
    s->meters = c.nm;
    s->readings = t.readings + b.readings;
    for (size_t e = 0; e < c.ne; e++) {
        s->status[a.status[e]]++;
        if (a.grade[e] >= 1 && a.grade[e] <= 5)
            s->grade[a.grade[e]]++;
        if (a.level[e] >= 1 && a.level[e] <= 3)
            s->level[a.level[e]]++;
    }
    s->energy_tce = ag_city.tce[0];
    s->co2_t = ag_city.co2[0];
    s->water_m3 = ag_city.water[0];
    s->value_added = ag_city.va[0];
    s->energy_intensity = ag_city.energy_int[0];
    s->carbon_intensity = ag_city.carbon_int[0];
    s->energy_change_pct = ag_city.change[0][0];
    s->co2_change_pct = ag_city.change[1][0];
    s->water_change_pct = ag_city.change[2][0];
    s->grid_year_used = t.coefs[t.nbins - 1].grid_year_used;
    s->base_grid_year_used = b.has ? b.coefs[b.nbins - 1].grid_year_used : 0;

done:
    tx_results_abort(res);
    mujun_free(&mr);
    free(present);
    free(div_key);
    if (go)
        free(go->cells);
    free(go);
    free(dist_keys);
    agg_free(&ag_div);
    agg_free(&ag_dist);
    agg_free(&ag_city);
    ent_free(&a);
    period_free(&t);
    period_free(&b);
    free(fin.rows);
    free(c.owner);
    free(c.ev_first);
    free(c.ev_count);
    free(c.evs);
    if (c.sum_started)
        pthread_join(c.sum_thread, NULL); /* an error path: the checksum is not used */
    if (c.st) {
        tx_err cerr;
        if (tx_store_close(c.st, &cerr) && !rc)
            rc = tx_err_set(err, cerr.code, "%s", cerr.msg);
    }
    if (tables_loaded)
        tx_tables_destroy(&c.tables);
    return rc;
}

/* ---- writing the groups ----------------------------------------------------------------- */

/* Copies a string into a fixed-width, NUL-padded record (no terminator when it fills it). */
static void fixed_copy(char *dst, const char *src, size_t width)
{
    size_t len = strnlen(src, width);
    memcpy(dst, src, len);
    memset(dst + len, 0, width - len);
}

typedef struct {
    const char *name;
    const void *data;
    hid_t type;
    const char *units, *long_name;
} column;

static int write_columns(hid_t g, const column *cols, size_t ncols, size_t n, int level,
                         tx_err *err)
{
    for (size_t i = 0; i < ncols; i++) {
        if (!cols[i].data)
            continue;
        int rc = tx_h5_write_column(g, cols[i].name, cols[i].type, cols[i].data, n, level,
                                    cols[i].units, cols[i].long_name, err);
        if (rc)
            return rc;
    }
    return TX_OK;
}

static int write_flag_attrs(hid_t g, const char *name, const uint8_t *values, size_t nvalues,
                            const char *meanings, tx_err *err)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return tx_err_set(err, TX_EHDF5, "cannot open dataset %s", name);
    int rc = tx_h5_attr_flags(d, values, nvalues, meanings, err);
    H5Dclose(d);
    return rc;
}

static int write_enterprise_group(hid_t file, const run_ctx *c, const period_res *t,
                                  const period_res *b, const ent_arrays *a, int level,
                                  tx_err *err)
{
    const size_t n = c->ne;
    hid_t g = tx_h5_group(file, "enterprise", err);
    if (g < 0)
        return err ? err->code : TX_EHDF5;
    int rc = TX_OK;
    char *ids = malloc((n ? n : 1) * TX_NAME_CAP);
    double *land = malloc((n ? n : 1) * sizeof *land);
    if (!ids || !land) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto out;
    }
#define STRCOL(field, width, name, long_name)                                                 \
    do {                                                                                      \
        for (size_t e = 0; e < n; e++)                                                        \
            fixed_copy(ids + e * (width), c->ents[e].field, (width));                            \
        if (!rc)                                                                              \
            rc = tx_h5_write_strings(g, name, ids, (width), n, level, long_name, err);        \
    } while (0)
    STRCOL(id, TX_USCC_LEN, "enterprise_id", "unified social credit code (GB 32100-2015)");
    STRCOL(industry, 4, "industry_code", "GB/T 4754-2017 class (4 digits)");
    STRCOL(district, 6, "district_code", "administrative division code (6 digits)");
    STRCOL(name, TX_NAME_CAP - 1, "name", "enterprise name (UTF-8)");
#undef STRCOL
    if (rc)
        goto out;
    for (size_t e = 0; e < n; e++)
        land[e] = c->ents[e].land_area_mu;
    column cols[] = {
        {"energy_tce", t->tce, H5T_NATIVE_DOUBLE, "tce",
         "comprehensive energy, electricity at calorific equivalent (当量值)"},
        {"co2_t", t->co2, H5T_NATIVE_DOUBLE, "tCO2", "CO2 emissions after the run's PV policy"},
        {"water_m3", t->water, H5T_NATIVE_DOUBLE, "m3", "water use (NaN without a water meter)"},
        {"value_added", t->va, H5T_NATIVE_DOUBLE, "10^4 CNY", "value added, current prices"},
        {"carbon_intensity", a->intensity, H5T_NATIVE_DOUBLE, "tCO2/10^4 CNY",
         "carbon intensity L = CO2 / value added"},
        {"carbon_level", a->level, H5T_NATIVE_UINT8, "1", "carbon level: 1 low, 2 medium, 3 high, 0 none"},
        {"carbon_efficiency_value", a->k, H5T_NATIVE_DOUBLE, "1",
         "carbon efficiency value K = L / industry L"},
        {"carbon_grade", a->grade, H5T_NATIVE_UINT8, "1", "carbon efficiency grade 1..5, 0 not graded"},
        {"energy_intensity", a->energy_int, H5T_NATIVE_DOUBLE, "tce/10^4 CNY",
         "energy per value added, current prices"},
        {"water_intensity", a->water_int, H5T_NATIVE_DOUBLE, "m3/10^4 CNY",
         "water per value added, current prices (complete water data only)"},
        {"energy_intensity_change_pct", a->change[0], H5T_NATIVE_DOUBLE, "%",
         "energy intensity reduction vs baseline at comparable prices, positive = fell"},
        {"co2_intensity_change_pct", a->change[1], H5T_NATIVE_DOUBLE, "%",
         "CO2 intensity reduction vs baseline at comparable prices, positive = fell"},
        {"water_intensity_change_pct", a->change[2], H5T_NATIVE_DOUBLE, "%",
         "water intensity reduction vs baseline at comparable prices, positive = fell"},
        {"coverage", t->cov, H5T_NATIVE_DOUBLE, "1",
         "data completeness: minimum coverage over energy and CO2 meters"},
        {"water_coverage", t->water_cov, H5T_NATIVE_DOUBLE, "1", "coverage of the water meters"},
        {"status", a->status, H5T_NATIVE_UINT8, "1", "rating status"},
        {"above_scale", a->above, H5T_NATIVE_UINT8, "1", "1 above designated size (规上), 0 below"},
        {"land_area_mu", land, H5T_NATIVE_DOUBLE, "mu", "land area (亩)"},
        {"price_index_ratio", a->price_ratio, H5T_NATIVE_DOUBLE, "1",
         "division price index, period / baseline (1 where current prices were used)"},
        {"energy_tce_base", b ? b->tce : NULL, H5T_NATIVE_DOUBLE, "tce", "energy in the baseline"},
        {"co2_t_base", b ? b->co2 : NULL, H5T_NATIVE_DOUBLE, "tCO2", "CO2 in the baseline"},
        {"water_m3_base", b ? b->water : NULL, H5T_NATIVE_DOUBLE, "m3", "water in the baseline"},
        {"value_added_base", b ? b->va : NULL, H5T_NATIVE_DOUBLE, "10^4 CNY",
         "value added in the baseline, current (= base-year) prices"},
        {"coverage_base", b ? b->cov : NULL, H5T_NATIVE_DOUBLE, "1", "coverage in the baseline"},
        {"benchmark_intensity", a->bench, H5T_NATIVE_DOUBLE, "tCO2/10^4 CNY",
         "the industry intensity K was computed against (OK only)"},
        {"benchmark_level", a->bench_level, H5T_NATIVE_UINT8, "1",
         "digits of the industry cell of that benchmark (2, 3 or 4; 0 none)"},
        {"value_added_months", t->va_months, H5T_NATIVE_UINT8, "1",
         "months of value added found (12 for an annual row); fewer than the period: missing"},
        {"value_added_months_base", b ? b->va_months : NULL, H5T_NATIVE_UINT8, "1",
         "the same for the baseline"},
        {"energy_intensity_change_pct_nbs", a->change_nbs[0], H5T_NATIVE_DOUBLE, "%",
         "energy intensity reduction with both intensities rounded to 4 decimals first (NBS)"},
        {"co2_intensity_change_pct_nbs", a->change_nbs[1], H5T_NATIVE_DOUBLE, "%",
         "CO2 intensity reduction with both intensities rounded to 4 decimals first (NBS)"},
        {"water_intensity_change_pct_nbs", a->change_nbs[2], H5T_NATIVE_DOUBLE, "%",
         "water intensity reduction with both intensities rounded to 4 decimals first (NBS)"},
    };
    rc = write_columns(g, cols, sizeof cols / sizeof cols[0], n, level, err);
    if (!rc)
        rc = write_flag_attrs(g, "status", status_values, TX_NSTATUS, status_meanings, err);
    if (!rc) {
        static const uint8_t lv[] = {0, 1, 2, 3};
        rc = write_flag_attrs(g, "carbon_level", lv, 4, "none low medium high", err);
    }
    if (!rc) {
        static const uint8_t gv[] = {0, 1, 2, 3, 4, 5};
        rc = write_flag_attrs(g, "carbon_grade", gv, 6,
                              "not_graded grade_1 grade_2 grade_3 grade_4 grade_5", err);
    }
    if (!rc) {
        static const uint8_t av[] = {0, 1}, bv[] = {0, 2, 3, 4};
        rc = write_flag_attrs(g, "above_scale", av, 2, "below_scale above_scale", err);
        if (!rc)
            rc = write_flag_attrs(g, "benchmark_level", bv, 4, "none division group class", err);
    }
    if (!rc)
        rc = tx_h5_key_scale(g, "enterprise_id", "enterprise", err);
out:
    free(ids);
    free(land);
    H5Gclose(g);
    return rc;
}

static int write_meter_group(hid_t file, const run_ctx *c, const period_res *t,
                             const period_res *b, int level, tx_err *err)
{
    const size_t n = c->nm;
    hid_t g = tx_h5_group(file, "meter", err);
    if (g < 0)
        return err ? err->code : TX_EHDF5;
    int rc = TX_OK;
    size_t nn = n ? n : 1;
    char *strs = malloc(nn * TX_METER_ID_CAP);
    uint8_t *carrier = malloc(nn), *kind = malloc(nn);
    enum { NCNT = 9 };
    uint32_t *cnt[NCNT];
    int short_alloc = !strs || !carrier || !kind;
    for (int i = 0; i < NCNT; i++)
        short_alloc |= !(cnt[i] = malloc(nn * sizeof(uint32_t)));
    if (short_alloc) {
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t m = 0; m < n; m++)
        fixed_copy(strs + m * (TX_METER_ID_CAP - 1), c->meters[m].id, TX_METER_ID_CAP - 1);
    rc = tx_h5_write_strings(g, "meter_id", strs, TX_METER_ID_CAP - 1, n, level, "meter id", err);
    for (size_t m = 0; !rc && m < n; m++)
        fixed_copy(strs + m * TX_USCC_LEN, c->meters[m].enterprise_id, TX_USCC_LEN);
    if (!rc)
        rc = tx_h5_write_strings(g, "enterprise_id", strs, TX_USCC_LEN, n, level,
                                 "owning enterprise (USCC)", err);
    for (size_t m = 0; !rc && m < n; m++)
        fixed_copy(strs + m * 6, tx_unit_name(tx_carrier_canonical_unit(c->meters[m].carrier)), 6);
    if (!rc)
        rc = tx_h5_write_strings(g, "unit", strs, 6, n, level,
                                 "canonical unit of total (kWh, m3, kg, MJ)", err);
    if (rc)
        goto out;
    for (size_t m = 0; m < n; m++) {
        const tx_meter_period *mp = &t->mp[m];
        carrier[m] = c->meters[m].carrier;
        kind[m] = c->meters[m].kind;
        cnt[0][m] = (uint32_t)mp->st.rollovers;
        cnt[1][m] = (uint32_t)mp->st.negatives;
        cnt[2][m] = (uint32_t)mp->st.gaps;
        cnt[3][m] = (uint32_t)mp->st.gap_intervals;
        cnt[4][m] = mp->replacements;
        cnt[5][m] = mp->multiplier_changes;
        cnt[6][m] = mp->spikes;
        cnt[7][m] = mp->implausible;
        cnt[8][m] = mp->stuck_intervals;
    }
    column cols[] = {
        {"carrier", carrier, H5T_NATIVE_UINT8, "1", "energy carrier"},
        {"kind", kind, H5T_NATIVE_UINT8, "1", "0 cumulative register, 1 interval values"},
        {"total", t->total, H5T_NATIVE_DOUBLE, "see unit",
         "consumption in the period, canonical unit of /meter/unit, after multipliers"},
        {"coverage", t->coverage, H5T_NATIVE_DOUBLE, "1", "valid intervals / expected intervals"},
        {"rollovers", cnt[0], H5T_NATIVE_UINT32, "1", "register rollovers"},
        {"negatives", cnt[1], H5T_NATIVE_UINT32, "1", "negative deltas quarantined"},
        {"gaps", cnt[2], H5T_NATIVE_UINT32, "1",
         "runs of missing data: registers bridged by two readings, interval values lost"},
        {"gap_intervals", cnt[3], H5T_NATIVE_UINT32, "1", "intervals inside those gaps"},
        {"replacements", cnt[4], H5T_NATIVE_UINT32, "1", "meter replacements in the period"},
        {"multiplier_changes", cnt[5], H5T_NATIVE_UINT32, "1", "multiplier changes in the period"},
        {"spikes", cnt[6], H5T_NATIVE_UINT32, "1",
         "single register readings dropped as spikes (total stays exact)"},
        {"implausible", cnt[7], H5T_NATIVE_UINT32, "1",
         "steps above the physical maximum (capacity, else 20 x median), excluded"},
        {"stuck_intervals", cnt[8], H5T_NATIVE_UINT32, "1",
         "zero-consumption intervals in runs of 24 h or more (flag only)"},
        {"total_base", b ? b->total : NULL, H5T_NATIVE_DOUBLE, "see unit",
         "consumption in the baseline"},
        {"coverage_base", b ? b->coverage : NULL, H5T_NATIVE_DOUBLE, "1", "coverage in the baseline"},
    };
    rc = write_columns(g, cols, sizeof cols / sizeof cols[0], n, level, err);
    if (!rc) {
        uint8_t cv[TX_CARRIER_COUNT];
        char meanings[512] = "";
        for (int k = 0; k < TX_CARRIER_COUNT; k++) {
            cv[k] = (uint8_t)k;
            strcat(meanings, k ? " " : "");
            strcat(meanings, tx_carrier_name(k));
        }
        rc = write_flag_attrs(g, "carrier", cv, TX_CARRIER_COUNT, meanings, err);
    }
    if (!rc) {
        static const uint8_t kv[] = {0, 1};
        rc = write_flag_attrs(g, "kind", kv, 2, "cumulative interval", err);
    }
    if (!rc)
        rc = tx_h5_key_scale(g, "meter_id", "meter", err);
out:
    free(strs);
    free(carrier);
    free(kind);
    for (int i = 0; i < NCNT; i++)
        free(cnt[i]);
    H5Gclose(g);
    return rc;
}

/* ---- product benchmarks (METHOD.md section 7) -------------------------------------------- */

static void product_reject(void *arg, const tx_csv_row *row, int reason, const char *detail)
{
    uint64_t *count = arg;
    if (++*count <= 5)
        fprintf(stderr, "tanxiao: warning: products.csv:%llu: %s%s%s; row ignored\n",
                (unsigned long long)row->line, tx_reject_message(reason), detail ? ": " : "",
                detail ? detail : "");
}

/* Reads DIR/products.csv when present and writes /products: one row per (enterprise,
 * product) of the report period with its specific energy and class. */
static int run_products(hid_t file, const run_ctx *c, const tx_period *per, const char *dir,
                        const char *tables_dir, int level, tx_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/products.csv", dir);
    tx_products *tab = calloc(1, sizeof *tab);
    if (!tab)
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    tx_product_rows *rows = NULL;
    tx_product_result *res = NULL;
    void *wksp = NULL;
    uint64_t rejected = 0;
    int rc = tx_products_load(tables_dir, tab, err);
    if (!rc) {
        rc = tx_products_read_new(path, tab, product_reject, &rejected, &rows, err);
        if (rc == TX_ENOTFOUND) { /* optional input */
            free(tab);
            return TX_OK;
        }
    }
    size_t nout = 0, replaced = 0, cap = rows ? (rows->n ? rows->n : 1) : 1;
    if (!rc) {
        size_t wsz = tx_products_aggregate_wksp_size(rows->n);
        wksp = malloc(wsz ? wsz : 1);
        res = malloc(cap * sizeof *res);
        if (!wksp || !res)
            rc = tx_err_set(err, TX_ENOMEM, "out of memory");
        else
            rc = tx_products_aggregate(tab, rows->rows, rows->n, per, wksp, wsz, res, cap, &nout,
                                       &replaced);
        if (rc && !err->msg[0])
            tx_err_set(err, rc, "%s: cannot aggregate products", path);
    }
    hid_t g = rc ? -1 : tx_h5_group(file, "products", err);
    if (!rc && g < 0)
        rc = err ? err->code : TX_EHDF5;
    size_t nn = nout ? nout : 1;
    char *str = rc ? NULL : malloc(nn * TX_PRODUCT_ID_CAP);
    double *d[4] = {0};
    uint8_t *u[3] = {0};
    for (int k = 0; !rc && k < 4; k++)
        d[k] = malloc(nn * sizeof(double));
    for (int k = 0; !rc && k < 3; k++)
        u[k] = malloc(nn);
    if (!rc && (!str || !d[0] || !d[1] || !d[2] || !d[3] || !u[0] || !u[1] || !u[2]))
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
    if (!rc) {
        for (size_t k = 0; k < nout; k++)
            fixed_copy(str + k * TX_USCC_LEN, res[k].enterprise_id, TX_USCC_LEN);
        rc = tx_h5_write_strings(g, "enterprise_id", str, TX_USCC_LEN, nout, level,
                                 "enterprise (USCC)", err);
    }
    if (!rc) {
        for (size_t k = 0; k < nout; k++)
            fixed_copy(str + k * (TX_PRODUCT_ID_CAP - 1), tab->p[res[k].product].id,
                       TX_PRODUCT_ID_CAP - 1);
        rc = tx_h5_write_strings(g, "product", str, TX_PRODUCT_ID_CAP - 1, nout, level,
                                 "product id of product_benchmarks.csv", err);
    }
    if (!rc) {
        for (size_t k = 0; k < nout; k++) {
            const tx_product *pp = &tab->p[res[k].product];
            d[0][k] = res[k].output;
            d[1][k] = res[k].energy;
            d[2][k] = res[k].specific;
            d[3][k] = pp->benchmark;
            u[0][k] = (uint8_t)res[k].cls;
            u[1][k] = (uint8_t)res[k].why;
            u[2][k] = res[k].incomplete;
        }
        struct {
            const char *name;
            const void *v;
            hid_t type;
            const char *units, *long_name;
        } cols[] = {
            {"output", d[0], H5T_NATIVE_DOUBLE, "see product_benchmarks.csv output_unit",
             "output in the period"},
            {"energy", d[1], H5T_NATIVE_DOUBLE, "see product_benchmarks.csv energy_unit",
             "energy for that output"},
            {"specific_energy", d[2], H5T_NATIVE_DOUBLE, "see product_benchmarks.csv",
             "energy per unit of output (lower is better)"},
            {"benchmark", d[3], H5T_NATIVE_DOUBLE, "see product_benchmarks.csv",
             "the NDRC benchmark (标杆) value"},
            {"class", u[0], H5T_NATIVE_UINT8, "1", "classification against the NDRC levels"},
            {"reason", u[1], H5T_NATIVE_UINT8, "1", "why a line is not classified"},
            {"incomplete", u[2], H5T_NATIVE_UINT8, "1", "1 when months of the period are missing"},
        };
        for (size_t i = 0; !rc && i < sizeof cols / sizeof cols[0]; i++)
            rc = tx_h5_write_column(g, cols[i].name, cols[i].type, cols[i].v, nout, level,
                                    cols[i].units, cols[i].long_name, err);
    }
    if (!rc) {
        static const uint8_t cv[] = {0, 1, 2, 3};
        rc = write_flag_attrs(g, "class", cv, 4,
                              "not_classified at_or_better_than_benchmark between "
                              "below_baseline",
                              err);
    }
    if (!rc) {
        _Static_assert(TX_PRODUCT_WHY_COUNT == 4, "flag meanings of /products/reason");
        static const uint8_t wv[] = {0, 1, 2, 3}, iv[] = {0, 1};
        rc = write_flag_attrs(g, "reason", wv, 4, "none no_output zero_output no_energy", err);
        if (!rc)
            rc = write_flag_attrs(g, "incomplete", iv, 2, "complete incomplete", err);
    }
    if (!rc)
        rc = tx_h5_attr_int64(g, "rows_rejected", (int64_t)rejected, err);
    (void)c;
    free(str);
    for (int k = 0; k < 4; k++)
        free(d[k]);
    for (int k = 0; k < 3; k++)
        free(u[k]);
    if (g >= 0)
        H5Gclose(g);
    free(wksp);
    free(res);
    tx_product_rows_free(rows);
    free(tab);
    return rc;
}

/* /targets: each target of targets.csv for each scope it applies to, from the aggregates'
 * reductions at comparable prices. A target needs the run's baseline to be its base year. */
static int write_targets(hid_t file, const run_ctx *c, const period_res *t, const period_res *b,
                         const aggregate *city, const aggregate *dist, const aggregate *ind,
                         int level, tx_err *err)
{
    const tx_tables *tb = &c->tables;
    size_t cap = tb->ntargets * (1 + dist->nkeys + ind->nkeys) + 1, n = 0;
    struct row {
        char id[48], indicator[8], scope[12], code[8];
        int32_t base, target;
        double want, got, rate;
        uint8_t status;
    } *rows = calloc(cap, sizeof *rows);
    if (!rows)
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    static const char *const ind_names[] = {"energy", "co2", "water"};
    for (size_t i = 0; i < tb->ntargets; i++) {
        const tx_target *g = &tb->targets[i];
        const aggregate *groups[3] = {city, dist, ind};
        static const char *const scope_names[3] = {"city", "district", "industry"};
        for (int gi = 0; gi < 3; gi++) {
            int wanted = g->scope == TX_SCOPE_ALL || g->scope == gi + 1;
            if (!wanted)
                continue;
            const aggregate *ag = groups[gi];
            for (size_t k = 0; k < ag->nkeys; k++) {
                if (g->scope != TX_SCOPE_ALL && gi > 0 && strcmp(ag->key[k], g->scope_code) != 0)
                    continue;
                struct row *r = &rows[n++];
                snprintf(r->id, sizeof r->id, "%s", g->id);
                snprintf(r->indicator, sizeof r->indicator, "%s", ind_names[g->indicator]);
                snprintf(r->scope, sizeof r->scope, "%s", scope_names[gi]);
                snprintf(r->code, sizeof r->code, "%s", ag->key[k]);
                r->base = g->base_year;
                r->target = g->target_year;
                r->want = g->reduction_pct;
                r->got = NAN;
                r->rate = NAN;
                r->status = TX_TARGET_NA;
                if (b && b->per.year == g->base_year && b->per.year_last == g->base_year) {
                    r->got = ag->change[g->indicator][k];
                    r->status = (uint8_t)tx_method_target(1.0 - r->got / 100.0, t->per.year_last,
                                                          g->base_year, g->target_year,
                                                          g->reduction_pct, &r->rate);
                }
            }
        }
    }
    hid_t grp = tx_h5_group(file, "targets", err);
    int rc = grp < 0 ? (err ? err->code : TX_EHDF5) : TX_OK;
    char *str = malloc((n ? n : 1) * 48);
    int32_t *i32 = malloc((n ? n : 1) * sizeof *i32);
    double *f64 = malloc((n ? n : 1) * sizeof *f64);
    uint8_t *u8 = malloc(n ? n : 1);
    if (!rc && (!str || !i32 || !f64 || !u8))
        rc = tx_err_set(err, TX_ENOMEM, "out of memory");
#define TSTR(field, width, name, long_name)                                                    \
    if (!rc) {                                                                                 \
        for (size_t k = 0; k < n; k++)                                                         \
            fixed_copy(str + k * (width), rows[k].field, (width));                             \
        rc = tx_h5_write_strings(grp, name, str, (width), n, level, long_name, err);           \
    }
#define TNUM(field, buf, type, name, units, long_name)                                         \
    if (!rc) {                                                                                 \
        for (size_t k = 0; k < n; k++)                                                         \
            buf[k] = rows[k].field;                                                            \
        rc = tx_h5_write_column(grp, name, type, buf, n, level, units, long_name, err);        \
    }
    TSTR(id, 47, "target_id", "target (targets.csv)")
    TSTR(indicator, 6, "indicator", "energy, co2 or water intensity")
    TSTR(scope, 8, "scope", "city, district or industry")
    TSTR(code, 7, "scope_code", "the district or industry code (all for the city)")
    TNUM(base, i32, H5T_NATIVE_INT32, "base_year", "1", "the target's base year")
    TNUM(target, i32, H5T_NATIVE_INT32, "target_year", "1", "the year the target is due")
    TNUM(want, f64, H5T_NATIVE_DOUBLE, "target_reduction_pct", "%",
         "intensity reduction the target asks for")
    TNUM(got, f64, H5T_NATIVE_DOUBLE, "reduction_pct", "%",
         "intensity reduction reached so far at comparable prices (NaN: not evaluable)")
    TNUM(rate, f64, H5T_NATIVE_DOUBLE, "required_annual_rate_pct", "%",
         "annual intensity fall still needed: 1 - (target ratio / ratio)^(1 / years left)")
    TNUM(status, u8, H5T_NATIVE_UINT8, "status", "1", "progress towards the target")
#undef TSTR
#undef TNUM
    if (!rc) {
        static const uint8_t v[] = {0, 1, 2, 3, 4};
        rc = write_flag_attrs(grp, "status", v, 5, "not_evaluable met on_track off_track missed",
                              err);
    }
    free(str);
    free(i32);
    free(f64);
    free(u8);
    free(rows);
    if (grp >= 0)
        H5Gclose(grp);
    return rc;
}

/* /series: per-enterprise monthly energy, CO2 and water [enterprise, month] with the
 * enterprise ids and the months (YYYYMM) as dimension scales; the baseline's months too. */
static int write_series(hid_t file, const run_ctx *c, const period_res *t, const period_res *b,
                        int level, tx_err *err)
{
    hid_t g = tx_h5_group(file, "series", err);
    if (g < 0)
        return err ? err->code : TX_EHDF5;
    const size_t n = c->ne;
    int rc = TX_OK;
    char *ids = malloc((n ? n : 1) * TX_USCC_LEN);
    if (!ids) {
        H5Gclose(g);
        return tx_err_set(err, TX_ENOMEM, "out of memory");
    }
    for (size_t e = 0; e < n; e++)
        fixed_copy(ids + e * TX_USCC_LEN, c->ents[e].id, TX_USCC_LEN);
    rc = tx_h5_write_strings(g, "enterprise_id", ids, TX_USCC_LEN, n, level,
                             "enterprise (USCC): the row dimension", err);
    free(ids);
    const period_res *pers[2] = {t, b};
    static const char *const suffix[2] = {"", "_base"};
    for (int k = 0; k < 2 && !rc; k++) {
        const period_res *pr = pers[k];
        if (!pr)
            continue;
        char name[64], scale[32];
        int32_t months[TX_MAX_BINS];
        for (size_t m = 0; m < pr->nbins; m++) {
            int y, mo;
            tx_period_month(&pr->per, (int)m, &y, &mo);
            months[m] = y * 100 + mo;
        }
        snprintf(scale, sizeof scale, "month%s", suffix[k]);
        rc = tx_h5_write_column(g, scale, H5T_NATIVE_INT32, months, pr->nbins, level, "1",
                                "month as YYYYMM (local time): the column dimension", err);
        struct {
            const char *name;
            const double *v;
            const char *units, *long_name;
        } q[] = {
            {"energy_tce", pr->tce_m, "tce", "monthly comprehensive energy"},
            {"co2_t", pr->co2_m, "tCO2", "monthly CO2, each month with its year's grid factor"},
            {"water_m3", pr->water_m, "m3", "monthly water use (NaN without a water meter)"},
        };
        for (size_t i = 0; !rc && i < sizeof q / sizeof q[0]; i++) {
            snprintf(name, sizeof name, "%s%s", q[i].name, suffix[k]);
            rc = tx_h5_write_matrix(g, name, H5T_NATIVE_DOUBLE, q[i].v, n, pr->nbins, level,
                                    q[i].units, q[i].long_name, err);
            if (!rc)
                rc = tx_h5_dimension_scale(g, name, 0, "enterprise_id", "enterprise", err);
            if (!rc)
                rc = tx_h5_dimension_scale(g, name, 1, scale, "month", err);
        }
    }
    H5Gclose(g);
    return rc;
}

static int write_root_attrs(hid_t file, const run_ctx *c, const period_res *t,
                            const period_res *b, const financials *fin, const deflators *defl,
                            int current_prices_used, tx_err *err)
{
    const tx_run_params *p = c->p;
    char buf[2048], when[32], per[32], base[32] = "";
    iso_now(when, sizeof when);
    tx_period_format(&t->per, per, sizeof per);
    if (b)
        tx_period_format(&b->per, base, sizeof base);
    int rc = tx_h5_attr_string(file, "engine", "tanxiao", err);
    /* CF / ACDD discovery attributes, so generic readers know what the file is. */
    if (!rc)
        rc = tx_h5_attr_string(file, "Conventions", "CF-1.10, ACDD-1.3", err);
    snprintf(buf, sizeof buf, "tanxiao results: enterprise energy, CO2, water and carbon "
             "efficiency grades, %s%s%s", per, b ? " vs " : "", base);
    if (!rc)
        rc = tx_h5_attr_string(file, "title", buf, err);
    snprintf(buf, sizeof buf, "%s tanxiao %s: %s", when, TX_VERSION,
             p->command_line ? p->command_line : "tx_run");
    if (!rc)
        rc = tx_h5_attr_string(file, "history", buf, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "source", "meter time series and financial returns of "
                               "the enterprises (INPUTS.md); method: METHOD.md", err);
    if (!rc)
        rc = tx_h5_attr_string(file, "engine_version", TX_VERSION, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "creation_time", when, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "command_line", p->command_line ? p->command_line : "", err);
    if (!rc)
        rc = tx_h5_attr_string(file, "period", per, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "baseline", base, err);
    snprintf(buf, sizeof buf,
             "grid_series=%s; grid_geography=%s; pv_policy=%s; electricity_basis=%s; "
             "coverage_min=%.6g; benchmark_min_members=%d; industry_level=%d; below_scale=%s; "
             "prices=%s; zstd_level=%d; threads=%d",
             p->grid_series, p->grid_geography,
             p->pv_policy == TX_PV_SUBTRACT ? "subtract" : "grid_only",
             p->electricity_basis == TX_ELEC_EQUAL_VALUE ? "equal_value" : "equivalent",
             c->coverage_min, c->min_members, p->industry_level ? p->industry_level : 2,
             p->below_scale == TX_BELOW_NONE ? "none" : "benchmark",
             current_prices_used ? "current (deflator missing)" : "comparable", p->zstd_level,
             omp_get_max_threads());
    if (!rc)
        rc = tx_h5_attr_string(file, "configuration", buf, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "pv_policy",
                               p->pv_policy == TX_PV_SUBTRACT ? "subtract" : "grid_only", err);
    if (!rc)
        rc = tx_h5_attr_string(file, "price_basis",
                               current_prices_used ? "current prices for some enterprises "
                                                     "(deflator missing; see price_index_ratio)"
                                                   : "comparable (baseline-year) prices",
                               err);
    if (!rc)
        rc = tx_h5_attr_string(file, "electricity_basis",
                               p->electricity_basis == TX_ELEC_EQUAL_VALUE ? "equal_value"
                                                                           : "equivalent",
                               err);
    if (!rc)
        rc = tx_h5_attr_int64(file, "industry_level", p->industry_level ? p->industry_level : 2,
                              err);
    if (!rc)
        rc = tx_h5_attr_string(file, "below_scale",
                               p->below_scale == TX_BELOW_NONE ? "none" : "benchmark", err);
    if (!rc)
        rc = tx_h5_attr_double(file, "coverage_min", c->coverage_min, err);
    if (!rc)
        rc = tx_h5_attr_int64(file, "benchmark_min_members", c->min_members, err);
    snprintf(buf, sizeof buf, "%s/%s", p->grid_series, p->grid_geography);
    if (!rc)
        rc = tx_h5_attr_string(file, "grid_factor_series", buf, err);
    /* Each month uses its data year's factor (or the fallback year): list them. */
    const period_res *pers[2] = {t, b};
    const char *names[2] = {"grid_factors", "grid_factors_base"};
    for (int k = 0; k < 2 && !rc; k++) {
        if (!pers[k])
            continue;
        size_t off = 0;
        int last_year = -1;
        buf[0] = 0;
        for (size_t m = 0; m < pers[k]->nbins && off < sizeof buf; m++) {
            int y, mo;
            tx_period_month(&pers[k]->per, (int)m, &y, &mo);
            if (y == last_year)
                continue;
            last_year = y;
            off += (size_t)snprintf(buf + off, sizeof buf - off,
                                    "%sdata year %d: factor of %d = %.6g kgCO2/kWh",
                                    off ? "; " : "", y, pers[k]->coefs[m].grid_year_used,
                                    pers[k]->coefs[m].grid_kgco2_per_kwh);
        }
        rc = tx_h5_attr_string(file, names[k], buf, err);
    }
    if (!rc)
        rc = tx_h5_attr_int64(file, "grid_factor_year",
                              t->coefs[t->nbins - 1].grid_year_used, err);
    if (!rc)
        rc = tx_h5_attr_double(file, "grid_factor_kgco2_per_kwh",
                               t->coefs[t->nbins - 1].grid_kgco2_per_kwh, err);
    if (!rc && b)
        rc = tx_h5_attr_int64(file, "grid_factor_year_base",
                              b->coefs[b->nbins - 1].grid_year_used, err);
    if (!rc && b)
        rc = tx_h5_attr_double(file, "grid_factor_kgco2_per_kwh_base",
                               b->coefs[b->nbins - 1].grid_kgco2_per_kwh, err);
    /* Tables: id (file name) and checksum, so a run names exactly what it used. */
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < TX_TABLES_NFILES && off < sizeof buf; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s fnv1a64:%016llx",
                                i ? "; " : "", c->tables.file_name[i],
                                (unsigned long long)c->tables.file_checksum[i]);
    if (!rc)
        rc = tx_h5_attr_string(file, "tables", buf, err);
    if (!rc)
        rc = tx_h5_attr_string(file, "tables_dir", c->tables.dir, err);
    /* Inputs: financials, deflators and the store. */
    const uint64_t store_sum = c->store_sum, store_bytes = c->store_bytes;
    snprintf(buf, sizeof buf,
             "store %s xxh3:%016llx bytes:%llu; financials.csv fnv1a64:%016llx bytes:%llu; "
             "deflators.csv %s%016llx",
             p->store_path, (unsigned long long)store_sum, (unsigned long long)store_bytes,
             (unsigned long long)fin->checksum, (unsigned long long)fin->bytes,
             defl->present ? "fnv1a64:" : "absent ", (unsigned long long)defl->checksum);
    if (!rc)
        rc = tx_h5_attr_string(file, "inputs", buf, err);
    if (!rc)
        rc = tx_h5_attr_int64(file, "financial_rows_rejected",
                              (int64_t)(fin->rejected + fin->unknown_enterprise), err);
    return rc;
}
