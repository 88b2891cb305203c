/*
 * nightly.h - `tanxiao nightly`: ingest new reading files, recompute the year to date,
 * keep dated results (prefix tx_nightly_). Internal to the engine; one thread.
 *
 * A night, in order (tx_nightly_run):
 *   1. The plan: the run date D (the configured date, else today in UTC+8), the last
 *      complete month before D, the period (year to date: January to that month of its
 *      year; or the 12 months ending with it) and the baseline (the same months of the
 *      configured baseline year).
 *   2. OUTPUT_DIR is created when absent (its parent must exist) and locked: an exclusive
 *      flock on OUTPUT_DIR/.tanxiao-nightly.lock, never waiting (TX_EEXIST naming the
 *      holder's pid when another nightly holds it). The lock file holds the holder's pid
 *      and is never removed (a flock dies with its process). Temporary files of killed
 *      nights (".tmp-PID" of dead PIDs) are removed.
 *   3. Every input directory is ingested into the store, in order (tx_ingest: idempotent,
 *      the store's own writer lock and redo journal). Reading files that cannot be
 *      read are skipped and counted (files_failed); any other ingest error ends the night.
 *   4. tx_run writes OUTPUT_DIR/tanxiao-D.h5 (D as YYYY-MM-DD) under a temporary name and
 *      renames it when complete. A rerun on the same date replaces that file atomically.
 *   5. OUTPUT_DIR/latest becomes a symbolic link to "tanxiao-D.h5" (relative): a new link
 *      under a temporary name renamed over the old one.
 *   6. Dated results beyond the newest `keep` (by the date in the name) are removed; the
 *      file just written is never removed. Only names of exactly the form
 *      tanxiao-YYYY-MM-DD.h5 are considered.
 * A night that fails before step 4 completes leaves the results and `latest` as they
 * were; a killed night leaves at most a ".tmp-PID" file, never a partial file under a
 * dated name (the next night removes it).
 */
#ifndef TX_NIGHTLY_H
#define TX_NIGHTLY_H

#include "log.h"
#include "tanxiao.h"

enum { TX_NIGHTLY_YTD = 0, TX_NIGHTLY_ROLLING12 = 1 };

/* Where a setting came from: later sources override earlier ones (the command line
 * overrides the file whatever the order of the arguments: load the file first). */
enum { TX_NIGHTLY_FROM_FILE = 1, TX_NIGHTLY_FROM_CLI = 2 };

#define TX_NIGHTLY_KEEP_DEFAULT 30

typedef struct {
    tx_run_params run;      /* store, financials, tables, baseline (a year) and policies;
                               the nightly sets the period and the output */
    const char **inputs;    /* dataset directories ingested in order */
    size_t ninputs;
    const char *output_dir;
    long keep;              /* dated results kept; 0 keeps all */
    int period_kind;        /* TX_NIGHTLY_YTD or TX_NIGHTLY_ROLLING12 */
    int year, month, day;   /* the run date; year 0: today (UTC+8) */
    /* private */
    int inputs_from;        /* source of the inputs (a later source replaces the list) */
    long seen_line[40];     /* per key: the file line that set it (duplicates) */
    char **own;             /* copies of every text value */
    size_t nown;
} tx_nightly_config;

/* Allocates a configuration with the defaults (TX_RUN_PARAMS_DEFAULT, keep 30, year to
 * date, today). TX_ENOMEM. */
int tx_nightly_config_new(tx_nightly_config **out, tx_err *err);
/* Accepts NULL. */
void tx_nightly_config_free(tx_nightly_config *c);

/*
 * Sets one key (the names of docs/nightly.ini: input, output-dir, keep, date, period, and
 * every `tanxiao run` option by its long name except output) from source. The value is
 * copied. Errors (TX_EINVAL; err is "KEY REASON", e.g. "keep takes a number 0..100000"):
 * unknown key (TX_ENOTFOUND), bad value, empty value. A key given twice in a file is an
 * error ("given twice, first on line N"), except input, which adds a directory; input
 * from the command line replaces the file's list.
 */
int tx_nightly_config_set(tx_nightly_config *c, int source, long line, const char *key,
                          const char *value, tx_err *err);

/*
 * Reads an INI file (libinih): one section [nightly] with key = value lines; ';' or '#'
 * starts a comment line, " ;" an inline comment. Every error is one line
 * "PATH:LINE: reason" (the first error of the file): unknown key or section, key outside
 * the section, bad value, duplicate key, a line that is not key = value, [section] or a
 * comment, a line over 196 characters, a NUL byte. TX_EIO when the file cannot be opened
 * ("PATH: cannot open: reason"), TX_EPARSE for the rest.
 */
int tx_nightly_config_load(tx_nightly_config *c, const char *path, tx_err *err);

/* Checks that what a night needs is set: store, financials, output-dir, one input at least.
 * TX_EINVAL "missing KEY (...)". */
int tx_nightly_config_check(const tx_nightly_config *c, tx_err *err);

typedef struct {
    int year, month, day; /* run date */
    char date[16];        /* YYYY-MM-DD */
    char period[24];      /* as tx_period_format writes it */
    char baseline[24];    /* empty: none */
} tx_nightly_plan;

/* The plan of a night at instant now (Unix seconds; used when no date is configured).
 * TX_EINVAL when the baseline year is not before the period's last month's year. */
int tx_nightly_plan_make(const tx_nightly_config *c, int64_t now, tx_nightly_plan *plan,
                         tx_err *err);

typedef struct {
    tx_nightly_plan plan;
    uint64_t files, stored, duplicates, conflicts, rejected; /* over every input */
    uint64_t files_failed;                                   /* unreadable reading files */
    char first_failure[768];
    tx_run_summary run;
    char results[1100]; /* the dated results file written */
    size_t kept, pruned;
    double seconds_ingest, seconds_run;
} tx_nightly_summary;

typedef struct {
    const tx_logger *log;    /* may be NULL */
    tx_progress_fn progress; /* may be NULL */
    void *progress_arg;
    const char *command_line; /* recorded in the results */
    int64_t now;              /* Unix seconds: the clock for the default date */
} tx_nightly_env;

/*
 * Runs a night (above). Returns 0, TX_EEXIST when the output directory's lock or the
 * store's writer lock is held by another process (err names it), or the error of the
 * step that failed. s->files_failed > 0 with 0 returned: results were written from the
 * readable files (the CLI exits 3).
 */
int tx_nightly_run(const tx_nightly_config *c, const tx_nightly_env *env,
                   tx_nightly_summary *s, tx_err *err);

#endif /* TX_NIGHTLY_H */
