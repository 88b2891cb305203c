/* test_nightly_config.c - the nightly configuration (nightly.h): every key read from an INI
 * file, the command line overriding the file, errors naming file, line and reason, the
 * year-to-date plan; and the log lines of log.h (format, JSON escaping, cut lines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "nightly.h"
#include "runopts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIR TX_BINARY_DIR "/tests/nightly_config_work"
#define INI DIR "/n.ini"

static void write_ini(const char *text)
{
    mkdir(DIR, 0755);
    FILE *f = fopen(INI, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads text as a configuration; returns the status and leaves the error in err. */
static int load(const char *text, tx_nightly_config **c, tx_err *err)
{
    write_ini(text);
    assert_int_equal(tx_nightly_config_new(c, err), 0);
    memset(err, 0, sizeof *err);
    return tx_nightly_config_load(*c, INI, err);
}

static const char k_full[] = "\xEF\xBB\xBF; every kind of key\n"
                             "[nightly]\n"
                             "store = /data/store.h5\n"
                             "input = /in/a\n"
                             "input = /in/b   ; a second directory\n"
                             "# a comment\n"
                             "financials = /in/fin\n"
                             "output-dir = /out\n"
                             "keep = 5\n"
                             "date = 2025-10-15\n"
                             "period = rolling12\n"
                             "baseline = 2020\n"
                             "pv-policy = subtract\n"
                             "electricity-basis = equal_value\n"
                             "industry-level = 3\n"
                             "below-scale = none\n"
                             "current-prices = yes\n"
                             "coverage-min = 0.75\n"
                             "min-members = 4\n"
                             "grid-geography = East_China\n"
                             "tables = /t\n"
                             "zstd-level = 5\n";

static void every_key(void **state)
{
    (void)state;
    tx_nightly_config *c;
    tx_err err;
    assert_int_equal(load(k_full, &c, &err), 0);
    assert_string_equal(c->run.store_path, "/data/store.h5");
    assert_int_equal(c->ninputs, 2);
    assert_string_equal(c->inputs[0], "/in/a");
    assert_string_equal(c->inputs[1], "/in/b");
    assert_string_equal(c->run.financials_dir, "/in/fin");
    assert_string_equal(c->output_dir, "/out");
    assert_int_equal(c->keep, 5);
    assert_int_equal(c->year, 2025);
    assert_int_equal(c->month, 10);
    assert_int_equal(c->day, 15);
    assert_int_equal(c->period_kind, TX_NIGHTLY_ROLLING12);
    assert_string_equal(c->run.baseline, "2020");
    assert_int_equal(c->run.pv_policy, 1);
    assert_int_equal(c->run.electricity_basis, 1);
    assert_int_equal(c->run.industry_level, 3);
    assert_int_equal(c->run.below_scale, 1);
    assert_int_equal(c->run.current_prices, 1);
    assert_true(c->run.coverage_min == 0.75);
    assert_int_equal(c->run.min_members, 4);
    assert_string_equal(c->run.grid_geography, "East_China");
    assert_string_equal(c->run.tables_dir, "/t");
    assert_int_equal(c->run.zstd_level, 5);
    assert_int_equal(tx_nightly_config_check(c, &err), 0);
    tx_nightly_config_free(c);

    /* Defaults: keep 30, year to date, today, the run's defaults. */
    assert_int_equal(load("[nightly]\nstore = s\n", &c, &err), 0);
    assert_int_equal(c->keep, TX_NIGHTLY_KEEP_DEFAULT);
    assert_int_equal(c->period_kind, TX_NIGHTLY_YTD);
    assert_int_equal(c->year, 0);
    assert_null(c->run.baseline);
    assert_int_equal(c->run.pv_policy, TX_RUN_PARAMS_DEFAULT.pv_policy);
    assert_int_equal(tx_nightly_config_check(c, &err), TX_EINVAL);
    assert_non_null(strstr(err.msg, "financials"));
    tx_nightly_config_free(c);
}

static void command_line_overrides(void **state)
{
    (void)state;
    tx_nightly_config *c;
    tx_err err;
    assert_int_equal(load(k_full, &c, &err), 0);
    /* As the CLI does: the file first, then the command line, whatever their order. */
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "keep", "7", &err), 0);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "input", "/cli/x", &err), 0);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "input", "/cli/y", &err), 0);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "pv-policy", "grid_only",
                                           &err), 0);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "date", "2026-01-05", &err), 0);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "current-prices", NULL,
                                           &err), 0);
    /* A key given again on the command line is no duplicate: the last one counts. */
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "keep", "8", &err), 0);
    assert_int_equal(c->keep, 8);
    assert_int_equal(c->ninputs, 2); /* the command line's list replaces the file's */
    assert_string_equal(c->inputs[0], "/cli/x");
    assert_string_equal(c->inputs[1], "/cli/y");
    assert_int_equal(c->run.pv_policy, 0);
    assert_int_equal(c->year, 2026);
    assert_int_equal(c->day, 5);
    /* Untouched keys keep the file's value. */
    assert_int_equal(c->run.industry_level, 3);
    assert_string_equal(c->output_dir, "/out");
    /* Bad values from the command line name the key and what it takes. */
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "industry-level", "5", &err),
                     TX_EINVAL);
    assert_string_equal(err.msg, "industry-level takes 2, 3 or 4");
    assert_int_equal(c->run.industry_level, 3);
    assert_int_equal(tx_nightly_config_set(c, TX_NIGHTLY_FROM_CLI, 0, "nope", "1", &err),
                     TX_ENOTFOUND);
    tx_nightly_config_free(c);
}

/* The error of loading text: status and message, which must start with "INI:LINE: ". */
static void load_fails(const char *text, int line, const char *reason)
{
    tx_nightly_config *c;
    tx_err err;
    int rc = load(text, &c, &err);
    tx_nightly_config_free(c);
    char head[600];
    snprintf(head, sizeof head, "%s:%d: ", INI, line);
    if (rc != TX_EPARSE || strncmp(err.msg, head, strlen(head)) != 0 ||
        !strstr(err.msg, reason))
        fail_msg("config %s: got %d '%s', expected line %d and '%s'", text, rc, err.msg, line,
                 reason);
    assert_null(strchr(err.msg, '\n'));
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    load_fails("[nightly]\nstore = s\ncolour = blue\n", 3, "unknown key 'colour'");
    load_fails("[nightly]\nkeep = x\n", 2, "keep takes a number 0..100000");
    load_fails("[nightly]\nkeep = -1\n", 2, "keep takes a number");
    load_fails("[nightly]\n\n\npv-policy = both\n", 4, "pv-policy is grid_only or subtract");
    load_fails("[nightly]\ncoverage-min = 1.5\n", 2, "coverage-min takes a number in [0, 1]");
    load_fails("[nightly]\ncurrent-prices = maybe\n", 2, "current-prices takes true or false");
    load_fails("[nightly]\nstore =\n", 2, "store needs a value");
    load_fails("[nightly]\ndate = 2025-02-29\n", 2, "date takes YYYY-MM-DD");
    load_fails("[nightly]\ndate = 2024-02-30\n", 2, "date takes YYYY-MM-DD");
    load_fails("[nightly]\nperiod = 2025\n", 2, "period is ytd");
    load_fails("[nightly]\nbaseline = 2020-01..2020-09\n", 2, "baseline takes a year");
    load_fails("[nightly]\noutput = r.h5\n", 2, "output-dir");
    load_fails("[nightly]\nkeep = 1\nstore = s\nkeep = 2\n", 4, "keep given twice (first on line 2)");
    load_fails("store = s\n[nightly]\n", 1, "outside a section");
    load_fails("[nightly]\nstore = s\n[run]\nthreads = 2\n", 4, "unknown section [run]");
    load_fails("[nightly]\nstore = s\njust words\n", 3, "expected 'key = value'");
    load_fails("[nightly\nstore = s\n", 1, "expected 'key = value'");
    /* The first error of the file is the one reported. */
    load_fails("[nightly]\nkeep = 1\nbad line\ncolour = x\n", 3, "expected");
    load_fails("[nightly]\ncolour = x\nbad line\n", 2, "unknown key");
    char long_line[400];
    snprintf(long_line, sizeof long_line, "[nightly]\nstore = s\ninput = %0300d\n", 0);
    load_fails(long_line, 3, "line too long");
    /* A NUL byte: written by hand, fputs would stop at it. */
    FILE *f = fopen(INI, "wb");
    assert_non_null(f);
    fwrite("[nightly]\nstore = s\0x\n", 1, 22, f);
    fclose(f);
    tx_nightly_config *c;
    tx_err err = {0};
    assert_int_equal(tx_nightly_config_new(&c, &err), 0);
    assert_int_equal(tx_nightly_config_load(c, INI, &err), TX_EPARSE);
    assert_non_null(strstr(err.msg, "n.ini:2: NUL byte"));
    /* A file that does not open. */
    assert_int_equal(tx_nightly_config_load(c, DIR "/absent.ini", &err), TX_EIO);
    assert_non_null(strstr(err.msg, "absent.ini: cannot open"));
    tx_nightly_config_free(c);
    tx_nightly_config_free(NULL);
}

/* The plan of a configuration text at an instant. */
static int plan(const char *text, int64_t now, tx_nightly_plan *p, tx_err *err)
{
    tx_nightly_config *c;
    assert_int_equal(load(text, &c, err), 0);
    int rc = tx_nightly_plan_make(c, now, p, err);
    tx_nightly_config_free(c);
    return rc;
}

static void year_to_date(void **state)
{
    (void)state;
    tx_nightly_plan p;
    tx_err err;
    int64_t now = 0;
    assert_int_equal(plan("[nightly]\ndate = 2025-10-15\nbaseline = 2020\n", now, &p, &err), 0);
    assert_string_equal(p.date, "2025-10-15");
    assert_string_equal(p.period, "2025-01..2025-09");
    assert_string_equal(p.baseline, "2020-01..2020-09");
    /* The first day of a month: the month before is complete. */
    assert_int_equal(plan("[nightly]\ndate = 2025-10-01\n", now, &p, &err), 0);
    assert_string_equal(p.period, "2025-01..2025-09");
    assert_string_equal(p.baseline, "");
    /* February: January alone. January: the whole previous year. */
    assert_int_equal(plan("[nightly]\ndate = 2025-02-28\nbaseline = 2024\n", now, &p, &err), 0);
    assert_string_equal(p.period, "2025-01..2025-01");
    assert_string_equal(p.baseline, "2024-01..2024-01");
    assert_int_equal(plan("[nightly]\ndate = 2026-01-01\nbaseline = 2020\n", now, &p, &err), 0);
    assert_string_equal(p.period, "2025");
    assert_string_equal(p.baseline, "2020");
    /* Rolling 12 months across a year end; the baseline ends in the same month. */
    assert_int_equal(plan("[nightly]\ndate = 2025-11-20\nperiod = rolling12\nbaseline = 2020\n",
                          now, &p, &err), 0);
    assert_string_equal(p.period, "2024-11..2025-10");
    assert_string_equal(p.baseline, "2019-11..2020-10");
    /* A baseline that is not before the period. */
    assert_int_equal(plan("[nightly]\ndate = 2025-10-15\nbaseline = 2025\n", now, &p, &err),
                     TX_EINVAL);
    assert_non_null(strstr(err.msg, "baseline 2025 is not before"));
    /* No date: today in UTC+8. 2025-02-28T23:00Z is already 1 March in Ningbo. */
    now = tx_local_to_unix(2025, 3, 1, 7, 0, 0);
    assert_int_equal(plan("[nightly]\n", now, &p, &err), 0);
    assert_string_equal(p.date, "2025-03-01");
    assert_string_equal(p.period, "2025-01..2025-02");
    now = tx_local_to_unix(2025, 2, 28, 23, 59, 59);
    assert_int_equal(plan("[nightly]\ndate = today\n", now, &p, &err), 0);
    assert_string_equal(p.date, "2025-02-28");
    assert_string_equal(p.period, "2025-01..2025-01");
}

static void run_options_table(void **state)
{
    (void)state;
    /* Every run option has a name the setter knows, and only current-prices is a flag. */
    tx_err err;
    for (size_t i = 0; i < tx_runopt_count; i++) {
        tx_run_params p = TX_RUN_PARAMS_DEFAULT;
        assert_int_equal(tx_runopt_find(tx_runopts[i].name), (int)i);
        int rc = tx_runopt_set(&p, tx_runopts[i].name, "", &err);
        if (tx_runopts[i].flag)
            assert_int_equal(rc, TX_EINVAL); /* "" is no boolean */
        else {
            assert_int_equal(rc, TX_EINVAL);
            assert_string_equal(err.msg, "needs a value");
        }
    }
    assert_int_equal(tx_runopt_find("nope"), -1);
    int b = -1;
    assert_int_equal(tx_runopt_bool("off", &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(tx_runopt_bool("TRUE", &b), TX_EINVAL);
}

/* docs/nightly.ini loads as it is and names every key (some commented out). */
static void example_config(void **state)
{
    (void)state;
    tx_nightly_config *c;
    tx_err err = {0};
    assert_int_equal(tx_nightly_config_new(&c, &err), 0);
    if (tx_nightly_config_load(c, TX_SOURCE_DIR "/docs/nightly.ini", &err))
        fail_msg("docs/nightly.ini: %s", err.msg);
    assert_int_equal(tx_nightly_config_check(c, &err), 0);
    assert_int_equal(c->keep, 30);
    assert_string_equal(c->run.baseline, "2020");
    tx_nightly_config_free(c);
    FILE *f = fopen(TX_SOURCE_DIR "/docs/nightly.ini", "r");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    static const char *const own[] = {"input", "output-dir", "keep", "date", "period"};
    char key[64];
    for (size_t i = 0; i < tx_runopt_count + 5; i++) {
        const char *k = i < 5 ? own[i] : tx_runopts[i - 5].name;
        if (strcmp(k, "output") == 0)
            continue;
        snprintf(key, sizeof key, "\n%s = ", k);
        char commented[70];
        snprintf(commented, sizeof commented, "\n;%s = ", k);
        if (!strstr(text, key) && !strstr(text, commented))
            fail_msg("docs/nightly.ini does not show the key %s", k);
    }
}

/* ---- log lines -------------------------------------------------------------------------- */

static void log_lines(void **state)
{
    (void)state;
    char line[512];
    tx_log_params text = TX_LOG_PARAMS_DEFAULT, json = TX_LOG_PARAMS_DEFAULT;
    json.json = 1;
    /* 2025-10-15T02:00:01.234+08:00 is 2025-10-14T18:00:01.234Z. */
    int64_t ms = tx_local_to_unix(2025, 10, 15, 2, 0, 1) * 1000 + 234;
    tx_log_field f[] = {TX_LF_STR("path", "/a b/c"), TX_LF_INT("n", -3), TX_LF_NUM("x", 0.5),
                        TX_LF_NUM("bad", NAN), TX_LF_STR("empty", "")};
    tx_log_format(&text, ms, TX_LOG_INFO, f, 5, "done", line, sizeof line);
    assert_string_equal(line, "2025-10-15T02:00:01.234+08:00 INFO done path=\"/a b/c\" n=-3 "
                              "x=0.5 bad=nan");
    tx_log_format(&json, ms, TX_LOG_WARN, f, 5, "a \"quoted\"\tline\n\x01", line, sizeof line);
    assert_string_equal(line, "{\"time\":\"2025-10-15T02:00:01.234+08:00\",\"level\":\"warning\","
                              "\"msg\":\"a \\\"quoted\\\"\\tline\\n\\u0001\",\"path\":\"/a b/c\","
                              "\"n\":-3,\"x\":0.5,\"bad\":null,\"empty\":\"\"}");
    /* UTF-8 passes; invalid bytes (a lone continuation, an overlong form, a surrogate)
     * become U+FFFD. */
    tx_log_format(&json, ms, TX_LOG_ERROR, NULL, 0, "碳效 \x80 \xC0\xAF \xED\xA0\x80", line,
                  sizeof line);
    assert_non_null(strstr(line, "\"msg\":\"碳效 \\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\""));
    assert_non_null(strstr(line, "\"level\":\"error\""));
    /* A message longer than the line is cut on a character boundary and still closes. */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = '"';
    size_t n = tx_log_format(&json, ms, TX_LOG_DEBUG, NULL, 0, big, line, 200);
    assert_true(n < 200);
    assert_int_equal(strlen(line), n);
    assert_string_equal(line + n - 5, "...\"}");
    n = tx_log_format(&text, ms, TX_LOG_DEBUG, NULL, 0, big, line, 200);
    assert_true(n < 200);
    assert_string_equal(line + n - 3, "...");
    /* Text lines never break. */
    tx_log_format(&text, ms, TX_LOG_ERROR, NULL, 0, "one\ntwo\r", line, sizeof line);
    assert_null(strchr(line, '\n'));
    /* Levels. */
    tx_logger lg;
    tx_log_params q = TX_LOG_PARAMS_DEFAULT;
    q.level = TX_LOG_WARN;
    tx_log_init(&lg, &q);
    assert_true(tx_log_enabled(&lg, TX_LOG_ERROR));
    assert_true(tx_log_enabled(&lg, TX_LOG_WARN));
    assert_false(tx_log_enabled(&lg, TX_LOG_INFO));
    assert_false(tx_log_enabled(NULL, TX_LOG_ERROR));
    assert_int_equal(tx_log_level_parse("debug"), TX_LOG_DEBUG);
    assert_int_equal(tx_log_level_parse("loud"), -1);
    assert_string_equal(tx_log_level_name(TX_LOG_WARN), "warning");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key),
        cmocka_unit_test(command_line_overrides),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(year_to_date),
        cmocka_unit_test(run_options_table),
        cmocka_unit_test(example_config),
        cmocka_unit_test(log_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
