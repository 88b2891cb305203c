/*
 * log.h - log lines for the command line (prefix tx_log_).
 *
 * A record is a time, a level, a message and optional fields. It is written as one line,
 * with one write(2), to a file descriptor (stderr for the CLI):
 *
 *   text: 2025-10-15T02:00:01.234+08:00 INFO nightly: results written path=/x/y.h5 n=3
 *   json: {"time":"2025-10-15T02:00:01.234+08:00","level":"info","msg":"nightly: results
 *          written","path":"/x/y.h5","n":3}
 *
 * Time is ISO 8601 with milliseconds and the engine's civil offset (UTC+8, tanxiao.h), so
 * a line means the same instant on any machine. Levels: error, warning, info, debug; a
 * logger writes the records at or above its threshold (quiet: warning; default: info;
 * verbose: debug). In JSON mode every line is one JSON object with "time", "level", "msg"
 * and the record's fields; strings are escaped and invalid UTF-8 is replaced by U+FFFD so
 * every line parses. Text mode appends fields as key=value, quoting values with spaces.
 * A line longer than TX_LOG_LINE_MAX bytes is cut (the message ends in "...").
 *
 * tx_log_capture_stderr turns every line the process writes to `stderr` through stdio
 * (engine warnings, getopt's complaints) into a record of the logger, so that in JSON mode
 * the whole of stderr stays machine-readable. A line's level is taken from the engine's
 * own marker ("tanxiao run: error: ...", "tanxiao: warning: ..."; the text is kept as it
 * is); lines without a warning marker are errors (usage complaints, failures). glibc lets a program assign
 * `stderr` (glibc manual, "Standard Streams"); the capture is a fopencookie stream and is
 * undone by tx_log_release_stderr.
 *
 * Thread safety: a logger is read-only after tx_log_init, and each record is one write,
 * so threads may log concurrently; lines never interleave within a line. The stderr
 * capture keeps a partial line per process and relies on stdio's stream lock.
 * Memory: records are formatted in a TX_LOG_LINE_MAX stack buffer; nothing is allocated
 * except the capture's state (tx_log_capture_stderr).
 */
#ifndef TX_LOG_H
#define TX_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TX_LOG_ERROR = 0, TX_LOG_WARN = 1, TX_LOG_INFO = 2, TX_LOG_DEBUG = 3 } tx_log_level;

#define TX_LOG_LINE_MAX 4096

typedef struct {
    int fd;             /* where lines go (2: stderr) */
    tx_log_level level; /* records above this level are dropped */
    int json;           /* 1: one JSON object per line */
} tx_log_params;
extern const tx_log_params TX_LOG_PARAMS_DEFAULT; /* fd 2, info, text */

typedef struct {
    tx_log_params p;
} tx_logger;

/* Field of a record: a key and a string, integer or number (NaN and infinities are
 * written as null in JSON). Build them with the TX_LF_ macros. */
typedef struct {
    const char *key;
    int type; /* 0 string, 1 integer, 2 number */
    const char *s;
    long long i;
    double d;
} tx_log_field;
#define TX_LF_STR(k, v) ((tx_log_field){.key = (k), .type = 0, .s = (v)})
#define TX_LF_INT(k, v) ((tx_log_field){.key = (k), .type = 1, .i = (long long)(v)})
#define TX_LF_NUM(k, v) ((tx_log_field){.key = (k), .type = 2, .d = (double)(v)})

void tx_log_init(tx_logger *lg, const tx_log_params *p);
/* 1 when records of this level are written. */
int tx_log_enabled(const tx_logger *lg, tx_log_level level);
/* Level name as written in JSON ("error", "warning", "info", "debug"), and parsed back:
 * tx_log_level_parse returns the level or -1. */
const char *tx_log_level_name(tx_log_level level);
int tx_log_level_parse(const char *s);

/* Writes one record (nothing when the level is filtered out or lg is NULL). fields may be
 * NULL when nfields is 0. */
void tx_log_emit(const tx_logger *lg, tx_log_level level, const tx_log_field *fields,
                 size_t nfields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define tx_log_error(lg, ...) tx_log_emit((lg), TX_LOG_ERROR, NULL, 0, __VA_ARGS__)
#define tx_log_warn(lg, ...) tx_log_emit((lg), TX_LOG_WARN, NULL, 0, __VA_ARGS__)
#define tx_log_info(lg, ...) tx_log_emit((lg), TX_LOG_INFO, NULL, 0, __VA_ARGS__)
#define tx_log_debug(lg, ...) tx_log_emit((lg), TX_LOG_DEBUG, NULL, 0, __VA_ARGS__)

/* Formats one record into out (cap bytes, at least 64) without the newline, with the given
 * Unix time in milliseconds: the line tx_log_emit writes. Returns its length. For tests. */
size_t tx_log_format(const tx_log_params *p, int64_t unix_ms, tx_log_level level,
                     const tx_log_field *fields, size_t nfields, const char *msg, char *out,
                     size_t cap);

/* Routes `stderr` through the logger (see above); the logger must outlive the capture.
 * Returns the original stream (still open: a progress bar on a terminal writes there; it
 * is also what tx_log_release_stderr needs), or NULL when the capture could not be set up
 * (stderr is then unchanged). Not thread-safe: call it before starting threads. */
FILE *tx_log_capture_stderr(const tx_logger *lg);
/* Writes a pending partial line as a record, closes the capture and makes `original` (the
 * value tx_log_capture_stderr returned) stderr again. No-op for NULL. */
void tx_log_release_stderr(FILE *original);

#ifdef __cplusplus
}
#endif
#endif /* TX_LOG_H */
