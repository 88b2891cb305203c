/* nightly.c - `tanxiao nightly`: configuration, plan, ingest, run, retention (nightly.h). */
#include "nightly.h"

#include "runopts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------------------ */

static const char *const nightly_keys[] = {"input", "output-dir", "keep", "date", "period"};
enum { N_NIGHTLY_KEYS = sizeof nightly_keys / sizeof nightly_keys[0] };

int tx_nightly_config_new(tx_nightly_config **out, tx_err *err)
{
    tx_nightly_config *c = calloc(1, sizeof *c);
    *out = c;
    if (!c)
        return tx_err_set(err, TX_ENOMEM, "nightly: out of memory");
    c->run = TX_RUN_PARAMS_DEFAULT;
    c->keep = TX_NIGHTLY_KEEP_DEFAULT;
    c->period_kind = TX_NIGHTLY_YTD;
    return TX_OK;
}

void tx_nightly_config_free(tx_nightly_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nown; i++)
        free(c->own[i]);
    free(c->own);
    free(c->inputs);
    free(c);
}

/* A copy of s owned by the configuration, or NULL (out of memory). */
static const char *keep_copy(tx_nightly_config *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        return NULL;
    char **o = realloc(c->own, (c->nown + 1) * sizeof *o);
    if (!o) {
        free(d);
        return NULL;
    }
    c->own = o;
    c->own[c->nown++] = d;
    return d;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD", a real calendar date of years 2001..9998. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    *y = digits(s, 4);
    *m = digits(s + 5, 2);
    *d = digits(s + 8, 2);
    if (*y < 2001 || *y > 9998 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

static int key_index(const char *key)
{
    for (int i = 0; i < N_NIGHTLY_KEYS; i++)
        if (strcmp(key, nightly_keys[i]) == 0)
            return i;
    int k = tx_runopt_find(key);
    return k < 0 ? -1 : N_NIGHTLY_KEYS + k;
}

int tx_nightly_config_set(tx_nightly_config *c, int source, long line, const char *key,
                          const char *value, tx_err *err)
{
    int idx = key_index(key);
    if (idx < 0 || strcmp(key, "output") == 0) {
        if (idx >= 0)
            return tx_err_set(err, TX_EINVAL, "output is not a nightly key: results go to "
                              "output-dir/tanxiao-YYYY-MM-DD.h5");
        return tx_err_set(err, TX_ENOTFOUND, "unknown key '%.100s'", key);
    }
    if (source == TX_NIGHTLY_FROM_FILE && idx != 0 && c->seen_line[idx])
        return tx_err_set(err, TX_EINVAL, "%s given twice (first on line %ld)", key,
                          c->seen_line[idx]);
    int flag = idx >= N_NIGHTLY_KEYS && tx_runopts[idx - N_NIGHTLY_KEYS].flag;
    if (!flag && (!value || !*value))
        return tx_err_set(err, TX_EINVAL, "%s needs a value", key);
    const char *v = value ? keep_copy(c, value) : NULL;
    if (value && !v)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", key);

    if (strcmp(key, "input") == 0) {
        if (source != c->inputs_from) {
            c->ninputs = 0; /* a later source replaces the list */
            c->inputs_from = source;
        }
        const char **in = realloc(c->inputs, (c->ninputs + 1) * sizeof *in);
        if (!in)
            return tx_err_set(err, TX_ENOMEM, "input: out of memory");
        c->inputs = in;
        c->inputs[c->ninputs++] = v;
    } else if (strcmp(key, "output-dir") == 0)
        c->output_dir = v;
    else if (strcmp(key, "keep") == 0) {
        char *end;
        errno = 0;
        long k = strtol(v, &end, 10);
        if (*end || errno || k < 0 || k > 100000)
            return tx_err_set(err, TX_EINVAL, "keep takes a number 0..100000 (0 keeps all), "
                              "not '%.64s'", v);
        c->keep = k;
    } else if (strcmp(key, "date") == 0) {
        int y, m, d;
        if (strcmp(v, "today") == 0)
            c->year = c->month = c->day = 0;
        else if (parse_date(v, &y, &m, &d))
            return tx_err_set(err, TX_EINVAL, "date takes YYYY-MM-DD (a calendar date) or "
                              "today, not '%.64s'", v);
        else
            c->year = y, c->month = m, c->day = d;
    } else if (strcmp(key, "period") == 0) {
        if (strcmp(v, "ytd") == 0)
            c->period_kind = TX_NIGHTLY_YTD;
        else if (strcmp(v, "rolling12") == 0)
            c->period_kind = TX_NIGHTLY_ROLLING12;
        else
            return tx_err_set(err, TX_EINVAL, "period is ytd (year to date) or rolling12 (the "
                              "last 12 complete months), not '%.64s'", v);
    } else if (strcmp(key, "baseline") == 0) {
        if (strlen(v) != 4 || digits(v, 4) < 2000)
            return tx_err_set(err, TX_EINVAL, "baseline takes a year (the same months of it "
                              "are the base period), not '%.64s'", v);
        c->run.baseline = v;
    } else {
        tx_err e = {0};
        int rc = tx_runopt_set(&c->run, key, v, &e);
        if (rc)
            return tx_err_set(err, rc, "%s %s", key, e.msg);
    }
    if (source == TX_NIGHTLY_FROM_FILE)
        c->seen_line[idx] = line;
    return TX_OK;
}

/* The INI reader: lines are read here, so the handler knows its line (the Debian build of
 * inih passes none), over-long lines are refused instead of being split, and NUL bytes
 * are caught. */
typedef struct {
    tx_nightly_config *c;
    const char *path;
    FILE *f;
    char *buf;
    size_t cap;
    long line;
    long err_line; /* first error (0: none) */
    tx_err err;
} ini_state;

static void ini_fail(ini_state *st, long line, const char *msg)
{
    if (st->err_line == 0 || line < st->err_line) {
        st->err_line = line;
        tx_err_set(&st->err, TX_EPARSE, "%s:%ld: %s", st->path, line, msg);
    }
}

static char *config_reader(char *str, int num, void *stream)
{
    ini_state *st = stream;
    ssize_t n = getline(&st->buf, &st->cap, st->f);
    if (n < 0)
        return NULL;
    st->line++;
    size_t text = (size_t)n; /* the line without its end */
    while (text && (st->buf[text - 1] == '\n' || st->buf[text - 1] == '\r'))
        text--;
    if (memchr(st->buf, '\0', (size_t)n)) {
        ini_fail(st, st->line, "NUL byte in the line (not a text file?)");
        snprintf(str, (size_t)num, "\n");
    } else if (text > (size_t)num - 4) {
        char msg[96];
        snprintf(msg, sizeof msg, "line too long (at most %d characters)", num - 4);
        ini_fail(st, st->line, msg);
        snprintf(str, (size_t)num, "\n");
    } else {
        memcpy(str, st->buf, text);
        memcpy(str + text, "\n", 2);
    }
    return str;
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
    ini_state *st = user;
    char msg[900];
    if (st->err_line && st->err_line <= st->line)
        return 1;
    if (!*section) {
        snprintf(msg, sizeof msg, "key '%.100s' outside a section (put it under [nightly])",
                 name);
        ini_fail(st, st->line, msg);
    } else if (strcmp(section, "nightly") != 0) {
        snprintf(msg, sizeof msg, "unknown section [%.100s] (the file has one section, "
                 "[nightly])", section);
        ini_fail(st, st->line, msg);
    } else {
        tx_err e = {0};
        if (tx_nightly_config_set(st->c, TX_NIGHTLY_FROM_FILE, st->line, name, value, &e))
            ini_fail(st, st->line, e.msg);
    }
    return 1;
}

int tx_nightly_config_load(tx_nightly_config *c, const char *path, tx_err *err)
{
    ini_state st = {.c = c, .path = path};
    st.f = fopen(path, "r");
    if (!st.f)
        return tx_err_set(err, TX_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = ini_parse_stream(config_reader, &st, config_handler, &st);
    int read_error = ferror(st.f);
    fclose(st.f);
    free(st.buf);
    if (rc == -2)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    if (rc > 0)
        ini_fail(&st, rc, "expected 'key = value', '[nightly]' or a comment");
    if (st.err_line) {
        if (err)
            *err = st.err;
        return TX_EPARSE;
    }
    if (read_error)
        return tx_err_set(err, TX_EIO, "%s: read error", path);
    return TX_OK;
}

int tx_nightly_config_check(const tx_nightly_config *c, tx_err *err)
{
    if (!c->run.store_path)
        return tx_err_set(err, TX_EINVAL, "missing store (the meter store: key store or "
                          "--store)");
    if (!c->run.financials_dir)
        return tx_err_set(err, TX_EINVAL, "missing financials (the directory with "
                          "financials.csv: key financials or --financials)");
    if (!c->output_dir)
        return tx_err_set(err, TX_EINVAL, "missing output-dir (where dated results go: key "
                          "output-dir or --output-dir)");
    if (c->ninputs == 0)
        return tx_err_set(err, TX_EINVAL, "missing input (a dataset directory to ingest: key "
                          "input or --input)");
    return TX_OK;
}

/* ---- the plan ----------------------------------------------------------------------- */

int tx_nightly_plan_make(const tx_nightly_config *c, int64_t now, tx_nightly_plan *plan,
                         tx_err *err)
{
    memset(plan, 0, sizeof *plan);
    int y = c->year, m = c->month, d = c->day;
    if (y == 0) {
        int h, mi, se;
        tx_unix_to_local(now, &y, &m, &d, &h, &mi, &se);
    }
    plan->year = y, plan->month = m, plan->day = d;
    snprintf(plan->date, sizeof plan->date, "%04d-%02d-%02d", y, m, d);
    /* The last complete month is the one before the run date's month. */
    int last = y * 12 + (m - 1) - 1; /* months since year 0, 0-based */
    int ly = last / 12, lm = last % 12 + 1;
    int first = c->period_kind == TX_NIGHTLY_ROLLING12 ? last - 11 : ly * 12;
    int fy = first / 12, fm = first % 12 + 1;
    char spec[40];
    snprintf(spec, sizeof spec, "%04d-%02d..%04d-%02d", fy, fm, ly, lm);
    tx_period per;
    int rc = tx_period_parse(spec, &per, err);
    if (rc)
        return rc;
    tx_period_format(&per, plan->period, sizeof plan->period);
    if (c->run.baseline) {
        int by = digits(c->run.baseline, 4);
        if (by >= ly)
            return tx_err_set(err, TX_EINVAL, "baseline %d is not before the period %s",
                              by, plan->period);
        int shift = (ly - by) * 12;
        snprintf(spec, sizeof spec, "%04d-%02d..%04d-%02d", (first - shift) / 12,
                 (first - shift) % 12 + 1, by, lm);
        if ((rc = tx_period_parse(spec, &per, err)))
            return rc;
        tx_period_format(&per, plan->baseline, sizeof plan->baseline);
    }
    return TX_OK;
}

/* ---- the night ---------------------------------------------------------------------- */

/* The lock on the output directory: held (fd returned) or TX_EEXIST naming the holder. */
static int lock_output_dir(const char *dir, int *fd_out, tx_err *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/.tanxiao-nightly.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return tx_err_set(err, TX_EIO, "%s: cannot open the lock file: %s", path,
                          strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK)
            return tx_err_set(err, TX_EIO, "%s: cannot lock: %s", path, strerror(e));
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return tx_err_set(err, TX_EEXIST,
                          "output directory %s is locked by another tanxiao nightly (pid %s; "
                          "lock file %s): not started",
                          dir, *pid ? pid : "unknown", path);
    }
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)k, 0) != k) {
        close(fd);
        return tx_err_set(err, TX_EIO, "%s: cannot write the lock file", path);
    }
    *fd_out = fd;
    return TX_OK;
}

/* 1 when name is exactly "tanxiao-YYYY-MM-DD.h5" with a calendar date. */
static int dated_name(const char *name)
{
    int y, m, d;
    char date[11];
    if (strlen(name) != 21 || strncmp(name, "tanxiao-", 8) != 0 || strcmp(name + 18, ".h5"))
        return 0;
    memcpy(date, name + 8, 10);
    date[10] = '\0';
    return parse_date(date, &y, &m, &d) == 0;
}

/* Removes temporary files of nights that were killed: "tanxiao-*.h5.tmp-PID" and
 * ".latest.tmp-PID" whose PID is gone. Under the directory lock no other night writes
 * here. Best effort. */
static void remove_stale(const char *dir, const tx_logger *log)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *de;
    while ((de = readdir(dh))) {
        const char *n = de->d_name, *t = strstr(n, ".tmp-");
        if (!t || !((strncmp(n, "tanxiao-", 8) == 0 && t - n == 21 && strncmp(t - 3, ".h5", 3) == 0) ||
                    strncmp(n, ".latest.tmp-", 12) == 0))
            continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[1400];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        if (unlink(full) == 0)
            tx_log_emit(log, TX_LOG_WARN, (tx_log_field[]){TX_LF_STR("path", full)}, 1,
                        "nightly: removed a temporary file of a killed night");
    }
    closedir(dh);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int update_latest(const char *dir, const char *name, tx_err *err)
{
    char tmp[1200], link[1200];
    snprintf(tmp, sizeof tmp, "%s/.latest.tmp-%ld", dir, (long)getpid());
    snprintf(link, sizeof link, "%s/latest", dir);
    unlink(tmp);
    if (symlink(name, tmp) != 0)
        return tx_err_set(err, TX_EIO, "%s: cannot make a symbolic link: %s", tmp,
                          strerror(errno));
    if (rename(tmp, link) != 0) {
        int e = errno;
        unlink(tmp);
        return tx_err_set(err, TX_EIO, "%s: cannot replace: %s", link, strerror(e));
    }
    return TX_OK;
}

static int cmp_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Removes the dated results beyond the newest `keep`, never `current`. */
static int prune(const char *dir, long keep, const char *current, tx_nightly_summary *s,
                 const tx_logger *log, tx_err *err)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return tx_err_set(err, TX_EIO, "%s: cannot list: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    int rc = TX_OK;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!dated_name(de->d_name))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        char *d = strdup(de->d_name);
        if (!nn || !d) {
            free(d);
            if (nn)
                names = nn;
            rc = tx_err_set(err, TX_ENOMEM, "%s: out of memory", dir);
            goto done;
        }
        names = nn;
        names[n++] = d;
    }
    qsort(names, n, sizeof *names, cmp_desc);
    s->kept = n;
    for (size_t i = 0; i < n && keep > 0; i++) {
        if ((long)i < keep || strcmp(names[i], current) == 0)
            continue;
        char full[1400];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        if (unlink(full) != 0) {
            rc = tx_err_set(err, TX_EIO, "%s: cannot remove: %s", full, strerror(errno));
            goto done;
        }
        s->pruned++;
        s->kept--;
        tx_log_emit(log, TX_LOG_INFO, (tx_log_field[]){TX_LF_STR("path", full)}, 1,
                    "nightly: removed old results (keep %ld)", keep);
    }
done:
    closedir(dh);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tx_nightly_run(const tx_nightly_config *c, const tx_nightly_env *env,
                   tx_nightly_summary *s, tx_err *err)
{
    memset(s, 0, sizeof *s);
    const tx_logger *log = env ? env->log : NULL;
    int rc = tx_nightly_config_check(c, err);
    if (rc)
        return rc;
    if ((rc = tx_nightly_plan_make(c, env ? env->now : (int64_t)time(NULL), &s->plan, err)))
        return rc;
    const tx_nightly_plan *pl = &s->plan;
    const char *dir = c->output_dir;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tx_err_set(err, TX_EIO, "%s: cannot create the output directory: %s", dir,
                          strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return tx_err_set(err, TX_EIO, "%s: not a directory", dir);
    int lock = -1;
    if ((rc = lock_output_dir(dir, &lock, err)))
        return rc;
    tx_log_debug(log, "nightly: locked %s/.tanxiao-nightly.lock", dir);
    tx_log_emit(log, TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("date", pl->date), TX_LF_STR("period", pl->period),
                                 TX_LF_STR("baseline", pl->baseline),
                                 TX_LF_INT("inputs", c->ninputs),
                                 TX_LF_STR("output_dir", c->output_dir)},
                5, "nightly: %s, period %s%s%s", pl->date, pl->period,
                pl->baseline[0] ? " vs " : "", pl->baseline);
    remove_stale(dir, log);

    /* Ingest: every input directory in order, each its own store session. */
    double t0 = mono_s();
    for (size_t i = 0; i < c->ninputs; i++) {
        tx_ingest_params ip = TX_INGEST_PARAMS_DEFAULT;
        ip.dataset_dir = c->inputs[i];
        ip.store_path = c->run.store_path;
        ip.tables_dir = c->run.tables_dir;
        ip.progress = env ? env->progress : NULL;
        ip.progress_arg = env ? env->progress_arg : NULL;
        tx_ingest_summary is;
        tx_log_debug(log, "nightly: ingesting %s into %s", ip.dataset_dir, ip.store_path);
        if ((rc = tx_ingest(&ip, &is, err))) {
            tx_err_prefix(err, "ingest of %s", ip.dataset_dir);
            goto done;
        }
        s->files += is.files;
        s->stored += is.stored;
        s->duplicates += is.duplicates;
        s->conflicts += is.conflicts;
        s->rejected += is.rejected;
        if (is.files_failed && !s->files_failed)
            snprintf(s->first_failure, sizeof s->first_failure, "%s", is.first_failure);
        s->files_failed += is.files_failed;
        tx_log_emit(log, TX_LOG_INFO,
                    (tx_log_field[]){TX_LF_STR("input", ip.dataset_dir),
                                     TX_LF_INT("files", is.files), TX_LF_INT("rows", is.rows),
                                     TX_LF_INT("stored", is.stored),
                                     TX_LF_INT("duplicates", is.duplicates),
                                     TX_LF_INT("conflicts", is.conflicts),
                                     TX_LF_INT("rejected", is.rejected),
                                     TX_LF_INT("files_failed", is.files_failed)},
                    8, "nightly: ingested %s", ip.dataset_dir);
        if (is.files_failed)
            tx_log_emit(log, TX_LOG_ERROR,
                        (tx_log_field[]){TX_LF_STR("input", ip.dataset_dir),
                                         TX_LF_INT("files_failed", is.files_failed)},
                        2, "nightly: %llu reading file(s) could not be read and were skipped "
                        "(the rest is stored); first: %s",
                        (unsigned long long)is.files_failed, is.first_failure);
        if (is.rejects_path[0] && is.rejected)
            tx_log_emit(log, TX_LOG_INFO,
                        (tx_log_field[]){TX_LF_STR("report", is.rejects_path)}, 1,
                        "nightly: %llu row(s) rejected, listed in the report",
                        (unsigned long long)is.rejected);
    }
    s->seconds_ingest = mono_s() - t0;

    /* The run: year to date into the dated results file (temporary name, then rename). */
    char name[32];
    snprintf(name, sizeof name, "tanxiao-%s.h5", pl->date);
    snprintf(s->results, sizeof s->results, "%s/%s", dir, name);
    tx_run_params rp = c->run;
    rp.period = pl->period;
    rp.baseline = pl->baseline[0] ? pl->baseline : NULL;
    rp.output_path = s->results;
    rp.command_line = env ? env->command_line : NULL;
    rp.progress = env ? env->progress : NULL;
    rp.progress_arg = env ? env->progress_arg : NULL;
    tx_log_debug(log, "nightly: run %s into %s", pl->period, s->results);
    t0 = mono_s();
    if ((rc = tx_run(&rp, &s->run, err))) {
        tx_err_prefix(err, "run of %s", pl->period);
        goto done;
    }
    s->seconds_run = mono_s() - t0;
    sync_dir(dir);
    tx_log_emit(log, TX_LOG_INFO,
                (tx_log_field[]){TX_LF_STR("results", s->results), TX_LF_STR("period", pl->period),
                                 TX_LF_INT("enterprises", s->run.enterprises),
                                 TX_LF_INT("meters", s->run.meters),
                                 TX_LF_NUM("energy_tce", s->run.energy_tce),
                                 TX_LF_NUM("co2_t", s->run.co2_t),
                                 TX_LF_NUM("seconds", s->seconds_run)},
                7, "nightly: results written");

    if ((rc = update_latest(dir, name, err)))
        goto done;
    sync_dir(dir);
    tx_log_debug(log, "nightly: %s/latest -> %s", dir, name);
    if ((rc = prune(dir, c->keep, name, s, log, err)))
        goto done;
    if (s->pruned)
        sync_dir(dir);
done:
    close(lock); /* releases the flock */
    return rc;
}
