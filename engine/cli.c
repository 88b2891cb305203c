/*
 * cli.c - the `tanxiao` command: generate, ingest, run. Environment variables are read
 * here only (TANXIAO_TABLES). Exit status 0 on success; 1 on a failed command with a
 * one-line reason on stderr; 2 on a usage error.
 */
#include "tanxiao.h"

#include "h5io.h"
#include "inspect.h"
#include "report.h"
#include "txgen.h"

#include <getopt.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

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
    fprintf(stderr, "\r%-20s [%.*s%*s] %3d%%", what, fill, "##############################",
            width - fill, "", (int)(100.0 * (double)done / (double)total));
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

static void fail(const char *cmd, const tx_err *err)
{
    fprintf(stderr, "tanxiao %s: error: %s\n", cmd, err->msg[0] ? err->msg : tx_strerror(err->code));
}

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "tanxiao %s: %s (see 'tanxiao %s --help')\n", cmd, msg, cmd);
    return EXIT_USAGE;
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
    "  --no-faults       no injected faults (gaps, rollover, replacement, spikes, jumps,\n"
    "                    stuck registers, multiplier change, resets, bad and duplicate rows)\n"
    "  --store FILE      write the readings into this meter store instead of CSV\n"
    "  --zstd-level L    compression level of the store (default 3)\n"
    "  --threads N       OpenMP threads (default: all cores)\n"
    "  -h, --help        this help\n";

static int cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"enterprises", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"report-year", required_argument, 0, 'r'}, {"base-year", required_argument, 0, 'b'},
        {"divisions", required_argument, 0, 'd'},   {"no-faults", no_argument, 0, 'F'},
        {"store", required_argument, 0, 'S'},       {"zstd-level", required_argument, 0, 'z'},
        {"threads", required_argument, 0, 't'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
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
                return usage_error("generate", "--enterprises takes a number 1..10000000");
            p.n_enterprises = (size_t)v;
            break;
        case 's':
            if (parse_long(optarg, 0, 0x7fffffffL, &v))
                return usage_error("generate", "--seed takes a non-negative number");
            p.seed = (uint64_t)v;
            break;
        case 'r':
        case 'b':
            if (parse_long(optarg, 2001, 2199, &v))
                return usage_error("generate", "years must be 2001..2199");
            *(c == 'r' ? &p.report_year : &p.base_year) = (int)v;
            break;
        case 'd':
            if (parse_long(optarg, 1, 99, &v))
                return usage_error("generate", "--divisions takes 1..99");
            p.n_divisions = (int)v;
            break;
        case 'F':
            p.faults = 0;
            break;
        case 'S':
            store = optarg;
            break;
        case 'z':
            if (parse_long(optarg, -50, 22, &level))
                return usage_error("generate", "--zstd-level takes -50..22");
            break;
        case 't':
            if (parse_long(optarg, 1, 1024, &v))
                return usage_error("generate", "--threads takes 1..1024");
            omp_set_num_threads((int)v);
            break;
        case 'h':
            fputs(generate_help, stdout);
            return 0;
        default:
            return usage_error("generate", "unknown option");
        }
    }
    if (optind != argc - 1)
        return usage_error("generate", "needs exactly one output directory");
    if (p.base_year > p.report_year)
        return usage_error("generate", "--base-year must not be after --report-year");
    const char *dir = argv[optind];
    progress_state ps = {isatty(2), 0, NULL};
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
        fail("generate", &err);
        return 1;
    }
    printf("tanxiao generate: %zu enterprises, %zu meters, years %d and %d, seed %llu -> %s%s%s "
           "in %.1f s\n",
           ne, nm, p.base_year, p.report_year, (unsigned long long)p.seed, dir,
           store ? " + store " : "", store ? store : "", now_s() - t0);
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

static int cmd_ingest(int argc, char **argv)
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
                return usage_error("ingest", "--zstd-level takes -50..22");
            break;
        case 'h':
            fputs(ingest_help, stdout);
            return 0;
        default:
            return usage_error("ingest", "unknown option");
        }
    }
    if (optind != argc - 1)
        return usage_error("ingest", "needs exactly one dataset directory");
    if (!p.store_path)
        return usage_error("ingest", "--store is required");
    p.dataset_dir = argv[optind];
    p.zstd_level = (int)level;
    progress_state ps = {isatty(2), 0, NULL};
    p.progress = progress_bar;
    p.progress_arg = &ps;
    tx_ingest_summary s;
    tx_err err = {0};
    double t0 = now_s();
    int rc = tx_ingest(&p, &s, &err);
    double dt = now_s() - t0;
    if (rc) {
        fail("ingest", &err);
        return 1;
    }
    printf("tanxiao ingest: %llu files, %llu rows (%.1f MB) in %.1f s: %llu stored, %llu "
           "duplicates dropped, %llu conflicts (later kept), %llu aligned, %llu rejected\n",
           (unsigned long long)s.files, (unsigned long long)s.rows, (double)s.bytes / 1e6, dt,
           (unsigned long long)s.stored, (unsigned long long)s.duplicates,
           (unsigned long long)s.conflicts, (unsigned long long)s.aligned,
           (unsigned long long)s.rejected);
    printf("catalogue: %llu new enterprises (%llu changed), %llu new meters (%llu changed), %llu "
           "new events\n",
           (unsigned long long)s.enterprises_new, (unsigned long long)s.enterprises_changed,
           (unsigned long long)s.meters_new, (unsigned long long)s.meters_changed,
           (unsigned long long)s.events_new);
    for (int r = 0; r < TX_REJECT_COUNT; r++)
        if (s.reasons[r])
            printf("  rejected %-20s %8llu  (%s)\n", tx_reject_name(r),
                   (unsigned long long)s.reasons[r], tx_reject_message(r));
    if (s.rejects_path[0])
        printf("report: %s\n", s.rejects_path);
    if (s.files_failed) {
        fprintf(stderr,
                "tanxiao ingest: error: %llu reading file(s) could not be read and were skipped "
                "whole (the rest is stored); first: %s\n",
                (unsigned long long)s.files_failed, s.first_failure);
        return 3;
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

static int cmd_run(int argc, char **argv, const char *cmdline)
{
    static const struct option opts[] = {
        {"store", required_argument, 0, 'S'},          {"financials", required_argument, 0, 'f'},
        {"period", required_argument, 0, 'p'},         {"baseline", required_argument, 0, 'b'},
        {"output", required_argument, 0, 'o'},         {"tables", required_argument, 0, 'T'},
        {"grid-series", required_argument, 0, 'g'},    {"grid-geography", required_argument, 0, 'G'},
        {"pv-policy", required_argument, 0, 'P'},      {"current-prices", no_argument, 0, 'C'},
        {"coverage-min", required_argument, 0, 'c'},   {"min-members", required_argument, 0, 'm'},
        {"threads", required_argument, 0, 't'},        {"zstd-level", required_argument, 0, 'z'},
        {"electricity-basis", required_argument, 0, 'E'},
        {"industry-level", required_argument, 0, 'L'}, {"below-scale", required_argument, 0, 'B'},
        {"mujun-profile", required_argument, 0, 'M'},
        {"help", no_argument, 0, 'h'},                 {0, 0, 0, 0}};
    tx_run_params p = TX_RUN_PARAMS_DEFAULT;
    p.tables_dir = getenv("TANXIAO_TABLES");
    if (p.tables_dir && !*p.tables_dir)
        p.tables_dir = NULL;
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            p.store_path = optarg;
            break;
        case 'f':
            p.financials_dir = optarg;
            break;
        case 'p':
            p.period = optarg;
            break;
        case 'b':
            p.baseline = optarg;
            break;
        case 'o':
            p.output_path = optarg;
            break;
        case 'T':
            p.tables_dir = optarg;
            break;
        case 'g':
            p.grid_series = optarg;
            break;
        case 'G':
            p.grid_geography = optarg;
            break;
        case 'P':
            if (strcmp(optarg, "grid_only") == 0)
                p.pv_policy = 0;
            else if (strcmp(optarg, "subtract") == 0)
                p.pv_policy = 1;
            else
                return usage_error("run", "--pv-policy is grid_only or subtract");
            break;
        case 'C':
            p.current_prices = 1;
            break;
        case 'M':
            p.mujun_profile = optarg;
            break;
        case 'E':
            if (strcmp(optarg, "equivalent") == 0)
                p.electricity_basis = 0;
            else if (strcmp(optarg, "equal_value") == 0)
                p.electricity_basis = 1;
            else
                return usage_error("run", "--electricity-basis is equivalent or equal_value");
            break;
        case 'L':
            if (parse_long(optarg, 2, 4, &v))
                return usage_error("run", "--industry-level takes 2, 3 or 4");
            p.industry_level = (int)v;
            break;
        case 'B':
            if (strcmp(optarg, "benchmark") == 0)
                p.below_scale = 0;
            else if (strcmp(optarg, "none") == 0)
                p.below_scale = 1;
            else
                return usage_error("run", "--below-scale is benchmark or none");
            break;
        case 'c': {
            char *end;
            p.coverage_min = strtod(optarg, &end);
            if (*end || !(p.coverage_min >= 0 && p.coverage_min <= 1))
                return usage_error("run", "--coverage-min takes a number in [0, 1]");
            break;
        }
        case 'm':
            if (parse_long(optarg, 1, 1000000, &v))
                return usage_error("run", "--min-members takes a positive number");
            p.min_members = (int)v;
            break;
        case 't':
            if (parse_long(optarg, 1, 1024, &v))
                return usage_error("run", "--threads takes 1..1024");
            p.threads = (int)v;
            break;
        case 'z':
            if (parse_long(optarg, -50, 22, &v))
                return usage_error("run", "--zstd-level takes -50..22");
            p.zstd_level = (int)v;
            break;
        case 'h':
            fputs(run_help, stdout);
            return 0;
        default:
            return usage_error("run", "unknown option");
        }
    }
    if (optind != argc)
        return usage_error("run", "unexpected argument");
    if (!p.store_path || !p.financials_dir || !p.period || !p.output_path)
        return usage_error("run", "--store, --financials, --period and --output are required");
    p.command_line = cmdline;
    progress_state ps = {isatty(2), 0, NULL};
    p.progress = progress_bar;
    p.progress_arg = &ps;
    tx_run_summary s;
    tx_err err = {0};
    double t0 = now_s();
    int rc = tx_run(&p, &s, &err);
    double dt = now_s() - t0;
    if (rc) {
        fail("run", &err);
        return 1;
    }
    struct stat sb;
    double mb = stat(p.output_path, &sb) == 0 ? (double)sb.st_size / 1e6 : NAN;
    printf("tanxiao run: %llu enterprises, %llu meters, %.1f M readings in %.1f s "
           "(%.1f M readings/s, %d threads, peak memory %.0f MiB)\n",
           (unsigned long long)s.enterprises, (unsigned long long)s.meters,
           (double)s.readings / 1e6, dt, (double)s.readings / 1e6 / dt, omp_get_max_threads(),
           peak_rss_mib());
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
    return 0;
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
    "  inspect FILE      print a results file's provenance and summary tables\n"
    "  export FILE GROUP write one group of a results file as CSV\n"
    "  report RESULTS    write a self-contained HTML report of a results file\n"
    "  version           print the version\n"
    "\n"
    "'tanxiao COMMAND --help' explains every option of a command.\n"
    "Exit status: 0 success, 1 the command failed (reason on stderr), 2 usage error,\n"
    "3 ingest finished but skipped reading files it could not read (named on stderr).\n";

int main(int argc, char **argv)
{
    /* HDF5 prints its own error stacks by default; the engine reports errors itself. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
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
    char cmdline[2048] = "";
    size_t off = 0;
    for (int i = 0; i < argc && off < sizeof cmdline; i++)
        off += (size_t)snprintf(cmdline + off, sizeof cmdline - off, "%s%s", i ? " " : "", argv[i]);
    if (strcmp(cmd, "generate") == 0)
        return cmd_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0)
        return cmd_ingest(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1, cmdline);
    if (strcmp(cmd, "inspect") == 0)
        return tx_inspect_main(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return tx_export_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return tx_report_main(argc - 1, argv + 1);
    fprintf(stderr, "tanxiao: unknown command '%s' (see 'tanxiao --help')\n", cmd);
    return EXIT_USAGE;
}
