/*
 * cli.c - the `tanxiao` command: generate, ingest, run, nightly and the viewers.
 * Environment variables are read here only (TANXIAO_TABLES). Messages on stderr are log
 * records (log.h): --quiet, --verbose and --log-json, accepted before or after the
 * command, set the level and the format; everything else written to stderr is captured
 * into the same log. Exit status 0 on success; 1 on a failed command with a one-line
 * reason on stderr; 2 on a usage or configuration error; 3 ingest (or nightly) skipped
 * unreadable reading files; 4 nightly: a lock is held by another process.
 */
#include "tanxiao.h"

#include "h5io.h"
#include "inspect.h"
#include "log.h"
#include "nightly.h"
#include "report.h"
#include "runopts.h"
#include "txgen.h"

#include <getopt.h>
#include <hdf5.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2, EXIT_SKIPPED = 3, EXIT_LOCKED = 4 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* ---- progress bar: stderr, only when it is a terminal ------------------------------------ */

typedef struct {
    int enabled;
    double last;
    const char *what;
    FILE *out; /* the terminal (stderr as it was before the log captured it) */
} progress_state;

static void progress_bar(const char *what, uint64_t done, uint64_t total, void *arg)
{
    progress_state *ps = arg;
    if (!ps->enabled || total == 0)
        return;
    double t = now_s();
    if (done < total && t - ps->last < 0.1 && ps->what == what)
        return;
    ps->last = t;
    ps->what = what;
    int width = 30, fill = (int)((double)width * (double)done / (double)total);
    if (fill > width)
        fill = width;
    fprintf(ps->out, "\r%-20s [%.*s%*s] %3d%%", what, fill, "##############################",
            width - fill, "", (int)(100.0 * (double)done / (double)total));
    if (done >= total)
        fputc('\n', ps->out);
    fflush(ps->out);
}

/* What every command gets from main: the logger and the terminal for a progress bar. */
typedef struct {
    const tx_logger *log;
    FILE *tty;   /* NULL: no progress bar */
    int quiet;   /* --quiet: no summary on stdout either */
} cli_ctx;

static void fail(const cli_ctx *cx, const char *cmd, const tx_err *err)
{
    tx_log_error(cx->log, "tanxiao %s: %s", cmd, err->msg[0] ? err->msg : tx_strerror(err->code));
}

static int usage_error(const cli_ctx *cx, const char *cmd, const char *msg)
{
    tx_log_error(cx->log, "tanxiao %s: %s (see 'tanxiao %s --help')", cmd, msg, cmd);
    return EXIT_USAGE;
}

static progress_state progress_init(const cli_ctx *cx)
{
    progress_state ps = {cx->tty != NULL, 0, NULL, cx->tty};
    return ps;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---- generate --------------------------------------------------------------------------- */

static const char generate_help[] =
    "usage: tanxiao generate DIR [options]\n"
    "\n"
    "Makes a deterministic synthetic city: enterprises with valid USCCs in Ningbo districts,\n"
    "GB/T 4754 manufacturing classes, meters of several carriers with 15-minute electricity\n"
    "registers, financials, deflators, meter events and a few realistic faults. DIR receives\n"
    "the INPUTS.md files (enterprises.csv, meters.csv, financials.csv, deflators.csv,\n"
    "meter_events.csv) and truth/meter_totals.csv (the true per-meter totals).\n"
    "\n"
    "The readings go to DIR/readings/*.csv (one file per day), or with --store straight into\n"
    "the meter store, for sizes where CSV makes no sense.\n"
    "\n"
    "options:\n"
    "  --enterprises N   number of enterprises (default 2000)\n"
    "  --seed S          seed (default 1); the output is a pure function of options and seed\n"
    "  --report-year Y   report year (default 2025)\n"
    "  --base-year Y     base year (default 2020; equal to the report year for one year)\n"
    "  --divisions K     use only the first K industry divisions (small test cities)\n"
    "  --csv-days N      CSV readings of the first N days of each year only (the ingest\n"
    "                    benchmark's day of a whole city; truth stays the whole year's)\n"
    "  --no-faults       no injected faults (gaps, rollover, replacement, spikes, jumps,\n"
    "                    stuck registers, multiplier change, resets, bad and duplicate rows)\n"
    "  --store FILE      write the readings into this meter store instead of CSV\n"
    "  --zstd-level L    compression level of the store (default 3)\n"
    "  --threads N       OpenMP threads (default: all cores)\n"
    "  -h, --help        this help\n";

static int cmd_generate(const cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"enterprises", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"report-year", required_argument, 0, 'r'}, {"base-year", required_argument, 0, 'b'},
        {"divisions", required_argument, 0, 'd'},   {"no-faults", no_argument, 0, 'F'},
        {"store", required_argument, 0, 'S'},       {"zstd-level", required_argument, 0, 'z'},
        {"threads", required_argument, 0, 't'},     {"help", no_argument, 0, 'h'},
        {"csv-days", required_argument, 0, 'D'},    {0, 0, 0, 0}};
    txg_params p = TXG_PARAMS_DEFAULT;
    p.n_enterprises = 2000; /* the default main job's city */
    const char *store = NULL;
    long v, level = TX_ZSTD_LEVEL_DEFAULT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_long(optarg, 1, 10000000, &v))
                return usage_error(cx, "generate", "--enterprises takes a number 1..10000000");
            p.n_enterprises = (size_t)v;
            break;
        case 's':
            if (parse_long(optarg, 0, 0x7fffffffL, &v))
                return usage_error(cx, "generate", "--seed takes a non-negative number");
            p.seed = (uint64_t)v;
            break;
        case 'r':
        case 'b':
            if (parse_long(optarg, 2001, 2199, &v))
                return usage_error(cx, "generate", "years must be 2001..2199");
            *(c == 'r' ? &p.report_year : &p.base_year) = (int)v;
            break;
        case 'd':
            if (parse_long(optarg, 1, 99, &v))
                return usage_error(cx, "generate", "--divisions takes 1..99");
            p.n_divisions = (int)v;
            break;
        case 'F':
            p.faults = 0;
            break;
        case 'D':
            if (parse_long(optarg, 1, 366, &v))
                return usage_error(cx, "generate", "--csv-days takes 1..366");
            p.csv_days = (int)v;
            break;
        case 'S':
            store = optarg;
            break;
        case 'z':
            if (parse_long(optarg, -50, 22, &level))
                return usage_error(cx, "generate", "--zstd-level takes -50..22");
            break;
        case 't':
            if (parse_long(optarg, 1, 1024, &v))
                return usage_error(cx, "generate", "--threads takes 1..1024");
            omp_set_num_threads((int)v);
            break;
        case 'h':
            fputs(generate_help, stdout);
            return 0;
        default:
            return usage_error(cx, "generate", "unknown option");
        }
    }
    if (optind != argc - 1)
        return usage_error(cx, "generate", "needs exactly one output directory");
    if (p.base_year > p.report_year)
        return usage_error(cx, "generate", "--base-year must not be after --report-year");
    const char *dir = argv[optind];
    progress_state ps = progress_init(cx);
    double t0 = now_s();
    tx_err err = {0};
    txg_city *city = NULL;
    int rc = txg_city_new(&p, &city, &err);
    if (!rc)
        rc = txg_write_csv(city, dir, store == NULL, NULL, NULL, &err);
    if (!rc && store)
        rc = txg_write_store(city, store, (int)level, progress_bar, &ps, &err);
    size_t ne = 0, nm = 0;
    if (city) {
        txg_enterprises(city, &ne);
        txg_meters(city, &nm);
    }
    txg_city_free(city);
    if (rc) {
        fail(cx, "generate", &err);
        return 1;
    }
    double dt = now_s() - t0;
    if (!cx->quiet)
        printf("tanxiao generate: %zu enterprises, %zu meters, years %d and %d, seed %llu -> "
               "%s%s%s in %.1f s\n",
               ne, nm, p.base_year, p.report_year, (unsigned long long)p.seed, dir,
               store ? " + store " : "", store ? store : "", dt);
    tx_log_emit(cx->log, TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("dir", dir), TX_LF_STR("store", store ? store : ""),
                                 TX_LF_INT("enterprises", ne), TX_LF_INT("meters", nm),
                                 TX_LF_INT("seed", p.seed), TX_LF_NUM("seconds", dt)},
                6, "tanxiao generate: done");
    return 0;
}

/* ---- ingest ----------------------------------------------------------------------------- */

static const char ingest_help[] =
    "usage: tanxiao ingest DATASET_DIR --store STORE.h5 [options]\n"
    "\n"
    "Reads enterprises.csv, meters.csv, meter_events.csv (optional) and every readings/*.csv\n"
    "(in byte order of their names) of DATASET_DIR into the meter store, creating it when\n"
    "absent. Idempotent: ingesting the same files again changes nothing. Rejected rows are\n"
    "listed with file, line, reason and raw text in STORE.h5.rejects.csv; identical duplicate\n"
    "readings are dropped and counted; a different value for a stored instant replaces it\n"
    "(later wins) and is reported there as a conflict.\n"
    "\n"
    "options:\n"
    "  --store FILE      the meter store (required)\n"
    "  --tables DIR      reference tables, for the industry divisions (default:\n"
    "                    TANXIAO_TABLES or the built-in path)\n"
    "  --zstd-level L    compression level for new chunks (default 3)\n"
    "  -h, --help        this help\n";

static int cmd_ingest(const cli_ctx *cx, int argc, char **argv)
{
    static const struct option opts[] = {{"store", required_argument, 0, 'S'},
                                         {"tables", required_argument, 0, 'T'},
                                         {"zstd-level", required_argument, 0, 'z'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    tx_ingest_params p = TX_INGEST_PARAMS_DEFAULT;
    p.tables_dir = getenv("TANXIAO_TABLES");
    if (p.tables_dir && !*p.tables_dir)
        p.tables_dir = NULL;
    long level = TX_ZSTD_LEVEL_DEFAULT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            p.store_path = optarg;
            break;
        case 'T':
            p.tables_dir = optarg;
            break;
        case 'z':
            if (parse_long(optarg, -50, 22, &level))
                return usage_error(cx, "ingest", "--zstd-level takes -50..22");
            break;
        case 'h':
            fputs(ingest_help, stdout);
            return 0;
        default:
            return usage_error(cx, "ingest", "unknown option");
        }
    }
    if (optind != argc - 1)
        return usage_error(cx, "ingest", "needs exactly one dataset directory");
    if (!p.store_path)
        return usage_error(cx, "ingest", "--store is required");
    p.dataset_dir = argv[optind];
    p.zstd_level = (int)level;
    progress_state ps = progress_init(cx);
    p.progress = progress_bar;
    p.progress_arg = &ps;
    tx_ingest_summary s;
    tx_err err = {0};
    double t0 = now_s();
    int rc = tx_ingest(&p, &s, &err);
    double dt = now_s() - t0;
    if (rc) {
        fail(cx, "ingest", &err);
        return 1;
    }
    if (!cx->quiet) {
        printf("tanxiao ingest: %llu files, %llu rows (%.1f MB) in %.1f s: %llu stored, %llu "
               "duplicates dropped, %llu conflicts (later kept), %llu aligned, %llu rejected\n",
               (unsigned long long)s.files, (unsigned long long)s.rows, (double)s.bytes / 1e6,
               dt, (unsigned long long)s.stored, (unsigned long long)s.duplicates,
               (unsigned long long)s.conflicts, (unsigned long long)s.aligned,
               (unsigned long long)s.rejected);
        printf("catalogue: %llu new enterprises (%llu changed), %llu new meters (%llu changed), "
               "%llu new events\n",
               (unsigned long long)s.enterprises_new, (unsigned long long)s.enterprises_changed,
               (unsigned long long)s.meters_new, (unsigned long long)s.meters_changed,
               (unsigned long long)s.events_new);
        for (int r = 0; r < TX_REJECT_COUNT; r++)
            if (s.reasons[r])
                printf("  rejected %-20s %8llu  (%s)\n", tx_reject_name(r),
                       (unsigned long long)s.reasons[r], tx_reject_message(r));
        if (s.rejects_path[0])
            printf("report: %s\n", s.rejects_path);
        printf("time: open %.2f s, catalogue %.2f s, readings %.2f s, merge %.2f s, commit "
               "%.2f s\n",
               s.seconds_open, s.seconds_catalogue, s.seconds_read, s.seconds_merge,
               s.seconds_commit);
    }
    tx_log_emit(cx->log, TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("dataset", p.dataset_dir),
                                 TX_LF_STR("store", p.store_path), TX_LF_INT("files", s.files),
                                 TX_LF_INT("rows", s.rows), TX_LF_INT("stored", s.stored),
                                 TX_LF_INT("duplicates", s.duplicates),
                                 TX_LF_INT("conflicts", s.conflicts),
                                 TX_LF_INT("rejected", s.rejected), TX_LF_NUM("seconds", dt),
                                 TX_LF_NUM("seconds_open", s.seconds_open),
                                 TX_LF_NUM("seconds_catalogue", s.seconds_catalogue),
                                 TX_LF_NUM("seconds_read", s.seconds_read),
                                 TX_LF_NUM("seconds_merge", s.seconds_merge),
                                 TX_LF_NUM("seconds_commit", s.seconds_commit)},
                14, "tanxiao ingest: done");
    if (s.files_failed) {
        tx_log_error(cx->log,
                     "tanxiao ingest: %llu reading file(s) could not be read and were skipped "
                     "whole (the rest is stored); first: %s",
                     (unsigned long long)s.files_failed, s.first_failure);
        return EXIT_SKIPPED;
    }
    return 0;
}

/* ---- run -------------------------------------------------------------------------------- */

static const char run_help[] =
    "usage: tanxiao run --store STORE.h5 --financials DATASET_DIR --period P --output RESULTS.h5\n"
    "                   [--baseline B] [options]\n"
    "\n"
    "Computes per-meter period totals, coverage and quality flags, per-enterprise energy\n"
    "(tce), CO2, water, value added, carbon intensity L, level, industry intensity, K,\n"
    "carbon-efficiency grade (碳效码), reductions vs the baseline at comparable prices and a\n"
    "status; aggregates by industry, district and city; targets of targets.csv; the 亩均\n"
    "evaluation; product benchmarks (DATASET_DIR/products.csv when present); monthly\n"
    "series. Writes RESULTS.h5 (complete or absent; see RESULTS.md).\n"
    "\n"
    "options:\n"
    "  --store FILE          the meter store (required)\n"
    "  --financials DIR      directory with financials.csv and deflators.csv (required)\n"
    "  --period P            2025, 2025-03, 2025-01..2025-09 (year to date) or\n"
    "                        2024-10..2025-09 (rolling 12 months) (required)\n"
    "  --baseline B          base period of the same months, e.g. 2020 (reductions)\n"
    "  --output FILE         results file (required)\n"
    "  --tables DIR          reference tables (default: TANXIAO_TABLES or the built-in path)\n"
    "  --grid-series S       electricity factor series (default MEE_NBS)\n"
    "  --grid-geography G    Zhejiang (default), East_China or National\n"
    "  --pv-policy P         grid_only (default: CO2 of grid electricity only) or subtract\n"
    "                        ((grid - PV) x factor)\n"
    "  --electricity-basis B equivalent (当量值, default) or equal_value (等价值) for tce\n"
    "  --industry-level N    benchmark cells of 2 (default), 3 or 4 digits of GB/T 4754; a\n"
    "                        cell with too few members falls back to its parent\n"
    "  --below-scale P       benchmark (default: 规下 graded against the 规上 benchmark,\n"
    "                        never entering it) or none (规下 not graded: NO_BENCHMARK)\n"
    "  --mujun-profile ID    亩均 scoring profile of mujun_profiles.csv (default\n"
    "                        huangyan_2022)\n"
    "  --current-prices      where a deflator is missing, compute reductions at current\n"
    "                        prices and mark it (default: refuse)\n"
    "  --coverage-min X      completeness threshold (default from run_defaults.csv: 0.9)\n"
    "  --min-members N       rated members an industry benchmark needs (default 3)\n"
    "  --threads N           OpenMP threads (default: all cores)\n"
    "  --zstd-level L        compression level of the results (default 3)\n"
    "  -h, --help            this help\n";

/* getopt_long options of every `tanxiao run` option (runopts.h), val = 256 + table index,
 * then `extra` (NULL-terminated by a zero entry), then --help. opts has room for
 * tx_runopt_count + n_extra + 2 entries. */
static void run_getopt_options(struct option *opts, const struct option *extra, size_t n_extra)
{
    size_t k = 0;
    for (size_t i = 0; i < tx_runopt_count; i++)
        opts[k++] = (struct option){tx_runopts[i].name,
                                    tx_runopts[i].flag ? no_argument : required_argument, 0,
                                    256 + (int)i};
    for (size_t i = 0; i < n_extra; i++)
        opts[k++] = extra[i];
    opts[k++] = (struct option){"help", no_argument, 0, 'h'};
    opts[k] = (struct option){0, 0, 0, 0};
}

/* Parses the options of `tanxiao run` (and of commands taking the same) into p: -1 when
 * parsed, else the exit status to return (0 after --help, usage errors). */
static int parse_run_options(const cli_ctx *cx, const char *cmd, const char *help, int argc,
                             char **argv, tx_run_params *p)
{
    struct option opts[64];
    run_getopt_options(opts, NULL, 0);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return 0;
        }
        if (c < 256)
            return usage_error(cx, cmd, "unknown option");
        const char *name = tx_runopts[c - 256].name;
        tx_err e = {0};
        if (tx_runopt_set(p, name, optarg, &e)) {
            char msg[900];
            snprintf(msg, sizeof msg, "--%s %s", name, e.msg);
            return usage_error(cx, cmd, msg);
        }
    }
    if (optind != argc)
        return usage_error(cx, cmd, "unexpected argument");
    return -1;
}

static const char floor_help[] =
    "usage: tanxiao floor --store STORE.h5 --financials DIR --period P [--baseline B]\n"
    "                     [--threads N] [any other run option, ignored]\n"
    "\n"
    "The benchmark floor of a run: reads and decodes every chunk `tanxiao run` with the same\n"
    "options reads, through the same pipeline and threads (one thread moves raw chunks, the\n"
    "others decompress), and computes and writes nothing. Prints one line:\n"
    "  tanxiao floor: V values (B bytes) in T s (X M values/s, N threads, peak memory M MiB)\n"
    "bench/whole_run.sh divides the run's time by it.\n";

static int cmd_floor(const cli_ctx *cx, int argc, char **argv)
{
    tx_run_params p = TX_RUN_PARAMS_DEFAULT;
    int st = parse_run_options(cx, "floor", floor_help, argc, argv, &p);
    if (st >= 0)
        return st;
    if (!p.store_path || !p.financials_dir || !p.period)
        return usage_error(cx, "floor", "--store, --financials and --period are required");
    p.floor_only = 1;
    p.output_path = NULL;
    tx_run_summary s;
    tx_err err = {0};
    double t0 = now_s();
    int rc = tx_run(&p, &s, &err);
    double dt = now_s() - t0;
    if (rc) {
        fail(cx, "floor", &err);
        return 1;
    }
    printf("tanxiao floor: %llu values (%llu bytes) in %.3f s (%.1f M values/s, %d threads, "
           "peak memory %.0f MiB)\n",
           (unsigned long long)s.values_read, (unsigned long long)s.bytes_read, dt,
           (double)s.values_read / 1e6 / dt, omp_get_max_threads(), peak_rss_mib());
    return 0;
}

static int cmd_run(const cli_ctx *cx, int argc, char **argv, const char *cmdline)
{
    tx_run_params p = TX_RUN_PARAMS_DEFAULT;
    p.tables_dir = getenv("TANXIAO_TABLES");
    if (p.tables_dir && !*p.tables_dir)
        p.tables_dir = NULL;
    int st = parse_run_options(cx, "run", run_help, argc, argv, &p);
    if (st >= 0)
        return st;
    if (!p.store_path || !p.financials_dir || !p.period || !p.output_path)
        return usage_error(cx, "run", "--store, --financials, --period and --output are required");
    p.command_line = cmdline;
    progress_state ps = progress_init(cx);
    p.progress = progress_bar;
    p.progress_arg = &ps;
    tx_run_summary s;
    tx_err err = {0};
    double t0 = now_s();
    int rc = tx_run(&p, &s, &err);
    double dt = now_s() - t0;
    if (rc) {
        fail(cx, "run", &err);
        return 1;
    }
    struct stat sb;
    double mb = stat(p.output_path, &sb) == 0 ? (double)sb.st_size / 1e6 : NAN;
    if (!cx->quiet) {
        printf("tanxiao run: %llu enterprises, %llu meters, %.1f M readings in %.1f s "
               "(%.1f M readings/s, %d threads, peak memory %.0f MiB)\n",
               (unsigned long long)s.enterprises, (unsigned long long)s.meters,
               (double)s.readings / 1e6, dt, (double)s.readings / 1e6 / dt, omp_get_max_threads(),
               peak_rss_mib());
        printf("read: %llu values (%llu bytes of chunks), %.1f M values/s\n",
               (unsigned long long)s.values_read, (unsigned long long)s.bytes_read,
               (double)s.values_read / 1e6 / dt);
        printf("status: OK %llu, INCOMPLETE %llu, NOT_RATEABLE %llu, NO_BENCHMARK %llu\n",
               (unsigned long long)s.status[0], (unsigned long long)s.status[1],
               (unsigned long long)s.status[2], (unsigned long long)s.status[3]);
        printf("grades: 1: %llu  2: %llu  3: %llu  4: %llu  5: %llu   levels: low %llu, medium %llu, "
               "high %llu\n",
               (unsigned long long)s.grade[1], (unsigned long long)s.grade[2],
               (unsigned long long)s.grade[3], (unsigned long long)s.grade[4],
               (unsigned long long)s.grade[5], (unsigned long long)s.level[1],
               (unsigned long long)s.level[2], (unsigned long long)s.level[3]);
        printf("city %s: energy %.0f tce, CO2 %.0f t, water %.0f m3, value added %.0f 10^4 CNY; "
               "intensity %.4f tce and %.4f tCO2 per 10^4 CNY (grid factor of %d)\n",
               p.period, s.energy_tce, s.co2_t, s.water_m3, s.value_added, s.energy_intensity,
               s.carbon_intensity, s.grid_year_used);
        if (p.baseline)
            printf("reductions vs %s at comparable prices: energy %.2f %%, CO2 %.2f %%, water %.2f %% "
                   "(positive = intensity fell)\n",
                   p.baseline, s.energy_change_pct, s.co2_change_pct, s.water_change_pct);
        printf("results: %s (%.1f MB)\n", p.output_path, mb);
    }
    tx_log_emit(cx->log, TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("results", p.output_path), TX_LF_STR("period", p.period),
                                 TX_LF_STR("baseline", p.baseline ? p.baseline : ""),
                                 TX_LF_INT("enterprises", s.enterprises),
                                 TX_LF_INT("meters", s.meters), TX_LF_INT("readings", s.readings),
                                 TX_LF_NUM("energy_tce", s.energy_tce), TX_LF_NUM("co2_t", s.co2_t),
                                 TX_LF_NUM("seconds", dt)},
                9, "tanxiao run: done");
    return 0;
}

/* ---- nightly ---------------------------------------------------------------------------- */

static const char nightly_help[] =
    "usage: tanxiao nightly --config FILE [--date YYYY-MM-DD] [options]\n"
    "\n"
    "The nightly job: ingests the input dataset directories into the meter store (idempotent:\n"
    "a whole directory may be ingested every night), recomputes the year to date and writes\n"
    "OUTPUT_DIR/tanxiao-YYYY-MM-DD.h5, named by the date of the run. The year to date runs\n"
    "from January to the last complete month before the run date (a run on 2025-10-15\n"
    "computes 2025-01..2025-09; one in January the whole previous year), with the same months\n"
    "of the baseline year as base period. The file is written under a temporary name and\n"
    "renamed when complete; then OUTPUT_DIR/latest is pointed at it (a symbolic link,\n"
    "replaced atomically) and dated results beyond the newest KEEP are removed. A night that\n"
    "fails leaves the previous results and 'latest' as they were; a killed night leaves no\n"
    "partial file under a dated name. See docs/nightly.ini and docs/OPERATIONS.md.\n"
    "\n"
    "Settings come from the INI file (section [nightly]); the same names work as options\n"
    "here (--keep 7 is keep = 7), and the command line overrides the file.\n"
    "\n"
    "options:\n"
    "  --config FILE         the configuration file (docs/nightly.ini shows every key)\n"
    "  --date D              run date YYYY-MM-DD (default: today in UTC+8; 'today')\n"
    "  --input DIR           a dataset directory to ingest; repeat for several (replaces the\n"
    "                        file's input keys)\n"
    "  --output-dir DIR      where the dated results and 'latest' live (created if absent)\n"
    "  --keep N              dated results kept, newest first (default 30; 0 keeps all)\n"
    "  --period K            ytd (year to date, default) or rolling12 (last 12 complete\n"
    "                        months)\n"
    "  --baseline YEAR       base year: the same months of it are the base period\n"
    "  --store, --financials, --tables, --pv-policy, --electricity-basis, --grid-series,\n"
    "  --grid-geography, --industry-level, --below-scale, --mujun-profile,\n"
    "  --current-prices, --coverage-min, --min-members, --threads, --zstd-level\n"
    "                        as for 'tanxiao run' (see 'tanxiao run --help')\n"
    "  --quiet, --verbose, --log-json\n"
    "                        log level and format (see 'tanxiao --help')\n"
    "  -h, --help            this help\n"
    "\n"
    "Log: one line per step on stderr (date, period, each ingest, the results, removals).\n"
    "Exit status: 0 success; 1 a step failed (reason on stderr; results and 'latest' as\n"
    "before); 2 usage or configuration error (FILE:LINE: reason); 3 some reading files\n"
    "could not be read and were skipped, results written from the rest; 4 another process\n"
    "holds a lock: a nightly on the output directory or a writer on the store.\n";

static int cmd_nightly(const cli_ctx *cx, int argc, char **argv, const char *cmdline)
{
    static const struct option extra[] = {
        {"config", required_argument, 0, 'c'},  {"date", required_argument, 0, 'd'},
        {"input", required_argument, 0, 'i'},   {"output-dir", required_argument, 0, 'O'},
        {"keep", required_argument, 0, 'k'}};
    struct option opts[64];
    run_getopt_options(opts, extra, sizeof extra / sizeof extra[0]);
    const char *config = NULL;
    /* The command line's settings, applied after the file so that they override it. */
    const char *keys[256], *vals[256];
    size_t n = 0;
    int c, idx;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        if (c == 'h') {
            fputs(nightly_help, stdout);
            return 0;
        }
        if (c == '?' || c == ':')
            return usage_error(cx, "nightly", "unknown option or missing value");
        if (c == 'c') {
            config = optarg;
            continue;
        }
        if (n == sizeof keys / sizeof keys[0])
            return usage_error(cx, "nightly", "too many options");
        keys[n] = opts[idx].name;
        vals[n++] = optarg;
    }
    if (optind != argc)
        return usage_error(cx, "nightly", "unexpected argument");
    tx_nightly_config *cfg = NULL;
    tx_err err = {0};
    int rc = tx_nightly_config_new(&cfg, &err);
    if (!rc) {
        const char *tables = getenv("TANXIAO_TABLES");
        if (tables && *tables)
            cfg->run.tables_dir = tables;
    }
    if (!rc && config && (rc = tx_nightly_config_load(cfg, config, &err))) {
        fail(cx, "nightly", &err);
        tx_nightly_config_free(cfg);
        return rc == TX_EPARSE ? EXIT_USAGE : 1;
    }
    for (size_t i = 0; !rc && i < n; i++)
        if ((rc = tx_nightly_config_set(cfg, TX_NIGHTLY_FROM_CLI, 0, keys[i], vals[i], &err))) {
            char msg[900];
            snprintf(msg, sizeof msg, "--%s", err.msg);
            tx_nightly_config_free(cfg);
            return usage_error(cx, "nightly", msg);
        }
    if (!rc && (rc = tx_nightly_config_check(cfg, &err))) {
        if (config)
            tx_err_prefix(&err, "%s", config);
        tx_nightly_config_free(cfg);
        return usage_error(cx, "nightly", err.msg);
    }
    if (rc) {
        fail(cx, "nightly", &err);
        tx_nightly_config_free(cfg);
        return 1;
    }
    progress_state ps = progress_init(cx);
    tx_nightly_env env = {.log = cx->log, .progress = progress_bar, .progress_arg = &ps,
                          .command_line = cmdline, .now = (int64_t)time(NULL)};
    tx_nightly_summary s;
    double t0 = now_s();
    rc = tx_nightly_run(cfg, &env, &s, &err);
    tx_nightly_config_free(cfg);
    if (rc) {
        fail(cx, "nightly", &err);
        return rc == TX_EEXIST ? EXIT_LOCKED : 1;
    }
    tx_log_emit(cx->log, s.files_failed ? TX_LOG_WARN : TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("date", s.plan.date), TX_LF_STR("period", s.plan.period),
                                 TX_LF_STR("baseline", s.plan.baseline),
                                 TX_LF_STR("results", s.results), TX_LF_INT("files", s.files),
                                 TX_LF_INT("stored", s.stored),
                                 TX_LF_INT("files_failed", s.files_failed),
                                 TX_LF_INT("kept", s.kept), TX_LF_INT("pruned", s.pruned),
                                 TX_LF_NUM("seconds", now_s() - t0)},
                10, "tanxiao nightly: done%s",
                s.files_failed ? " (some reading files were skipped)" : "");
    return s.files_failed ? EXIT_SKIPPED : 0;
}

static const char main_help[] =
    "usage: tanxiao COMMAND [options]\n"
    "\n"
    "tanxiao (碳效) computes enterprise energy, CO2, water, carbon-efficiency grades (碳效码)\n"
    "and reductions against a base period from meter time series, and writes compressed HDF5\n"
    "results.\n"
    "\n"
    "commands:\n"
    "  generate DIR      make a deterministic synthetic city (CSV, or straight into a store)\n"
    "  ingest DIR        append a dataset directory's CSV files to the meter store\n"
    "  run               compute a period and write the results file\n"
    "  nightly           ingest new readings, recompute the year to date, keep dated results\n"
    "  inspect FILE      print a results file's provenance and summary tables\n"
    "  export FILE GROUP write one group of a results file as CSV\n"
    "  report RESULTS    write a self-contained HTML report of a results file\n"
    "  floor             benchmark: read and decode what a run reads, nothing else\n"
    "  version           print the version\n"
    "\n"
    "'tanxiao COMMAND --help' explains every option of a command.\n"
    "\n"
    "log options (any command, before or after it):\n"
    "  --quiet           warnings and errors only (no summary on stdout either)\n"
    "  --verbose         debug records too\n"
    "  --log-json        one JSON object per line on stderr: time, level, msg and fields\n"
    "Messages on stderr are log lines: ISO 8601 time with offset (UTC+8), level, message.\n"
    "\n"
    "Exit status: 0 success, 1 the command failed (reason on stderr), 2 usage or\n"
    "configuration error, 3 ingest (or nightly) finished but skipped reading files it could\n"
    "not read (named on stderr), 4 nightly: a lock is held by another process.\n";

/* Takes the log options out of argv (anywhere before "--"): 0, or -1 when both --quiet
 * and --verbose are given. */
static int log_options(int *argc, char **argv, tx_log_params *lp, int *quiet)
{
    int k = 1, quiet_seen = 0, verbose_seen = 0, rest = 0;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!rest && strcmp(a, "--") == 0)
            rest = 1;
        if (!rest && strcmp(a, "--quiet") == 0)
            quiet_seen = 1;
        else if (!rest && strcmp(a, "--verbose") == 0)
            verbose_seen = 1;
        else if (!rest && strcmp(a, "--log-json") == 0)
            lp->json = 1;
        else
            argv[k++] = argv[i];
    }
    argv[k] = NULL;
    *argc = k;
    *quiet = quiet_seen;
    lp->level = quiet_seen ? TX_LOG_WARN : verbose_seen ? TX_LOG_DEBUG : TX_LOG_INFO;
    return quiet_seen && verbose_seen ? -1 : 0;
}

static int dispatch(const cli_ctx *cx, int argc, char **argv, const char *cmdline)
{
    const char *cmd = argv[1];
    if (strcmp(cmd, "generate") == 0)
        return cmd_generate(cx, argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0)
        return cmd_ingest(cx, argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(cx, argc - 1, argv + 1, cmdline);
    if (strcmp(cmd, "floor") == 0)
        return cmd_floor(cx, argc - 1, argv + 1);
    if (strcmp(cmd, "nightly") == 0)
        return cmd_nightly(cx, argc - 1, argv + 1, cmdline);
    if (strcmp(cmd, "inspect") == 0)
        return tx_inspect_main(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return tx_export_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return tx_report_main(argc - 1, argv + 1);
    tx_log_error(cx->log, "tanxiao: unknown command '%s' (see 'tanxiao --help')", cmd);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
#ifdef M_MMAP_THRESHOLD
    /* Memory freed is kept for the next allocation instead of going back to the kernel:
     * blocks up to 32 MB come from the heap, which is not trimmed. In a virtual machine a
     * page the process touches for the first time is dear, and a run or an ingest frees
     * and allocates the same sizes again and again (measured: the 20,000-enterprise day's
     * ingest 0.87 s -> 0.78 s, medians of 5; docs/ARCHITECTURE.md). The buffers of hundreds
     * of MB stay mappings of their own (bigmem.h). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
    /* HDF5 prints its own error stacks by default; the engine reports errors itself. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char cmdline[2048] = "";
    size_t off = 0;
    for (int i = 0; i < argc && off < sizeof cmdline; i++)
        off += (size_t)snprintf(cmdline + off, sizeof cmdline - off, "%s%s", i ? " " : "", argv[i]);
    tx_log_params lp = TX_LOG_PARAMS_DEFAULT;
    int quiet = 0;
    int bad_log = log_options(&argc, argv, &lp, &quiet);
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tanxiao %s\n", TX_VERSION);
        return 0;
    }
    tx_logger log;
    tx_log_init(&log, &lp);
    /* Everything else that reaches stderr (engine warnings, getopt) becomes a record too. */
    int tty = isatty(2) && !lp.json && !quiet;
    FILE *orig = tx_log_capture_stderr(&log);
    cli_ctx cx = {&log, tty ? (orig ? orig : stderr) : NULL, quiet};
    int rc;
    if (bad_log)
        rc = usage_error(&cx, cmd, "--quiet and --verbose exclude each other");
    else
        rc = dispatch(&cx, argc, argv, cmdline);
    fflush(stdout);
    tx_log_release_stderr(orig);
    return rc;
}
