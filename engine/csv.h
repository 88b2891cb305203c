/*
 * csv.h - RFC 4180 CSV reader and the scalar parsers of INPUTS.md (prefix tx_csv_,
 * tx_parse_). Internal to the engine.
 *
 * Reader contract (INPUTS.md "Common CSV rules"): UTF-8 with an optional BOM, comma
 * separated, a header row, RFC 4180 quoting (quoted fields may hold commas, doubled quotes
 * and newlines), LF or CRLF line ends, empty lines skipped. A record's line number is the
 * physical line on which it starts (1-based; the header is line 1 unless empty lines
 * precede it), counting the newlines inside quoted fields. An empty line is one with no
 * byte before its line end ("\n" or "\r\n"); a line of spaces is a record. Malformed
 * quoting (a quote inside an unquoted field, text after a closing quote, an unterminated
 * quoted field at end of file) and a carriage return inside an unquoted field (CR-only line
 * ends) are TX_EPARSE naming file and line. A NUL byte anywhere, or invalid UTF-8 (RFC 3629:
 * overlong forms and surrogates are invalid), is TX_EPARSE ("file:line: not a UTF-8 text
 * file (...)"), found when the file is opened. After any error the reader stops: later
 * tx_csv_next calls return the same code.
 *
 * Memory: the whole file is held (read into one buffer of its size + 64 bytes); fields are
 * views into it, or into a per-reader scratch buffer for quoted fields that need
 * unescaping; the field array and the scratch grow to the widest record. Field views stay
 * valid until the next tx_csv_next call, raw views until tx_csv_free. Not thread-safe; one
 * reader per thread is fine.
 */
#ifndef TX_CSV_H
#define TX_CSV_H

#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tx_csv tx_csv;

typedef struct {
    const char *ptr; /* not NUL-terminated */
    size_t len;
} tx_field;

typedef struct {
    size_t nfields;
    const tx_field *fields; /* nfields entries, unquoted and unescaped */
    uint64_t line;          /* physical line the record starts on */
    const char *raw;        /* the record's raw text as in the file (without line end) */
    size_t raw_len;
} tx_csv_row;

/* Opens a file (read whole); name used in messages is the path. TX_ENOTFOUND when it does
 * not exist, TX_EIO when it cannot be read, TX_ENOMEM, or TX_EPARSE when it is not UTF-8
 * text. *out is NULL on failure. */
int tx_csv_open(const char *path, tx_csv **out, tx_err *err);
/* Reader over a caller buffer (copied); name is used in messages. Errors as tx_csv_open. */
int tx_csv_open_mem(const char *name, const char *buf, size_t len, tx_csv **out,
                    tx_err *err);
/* Reads exactly n bytes of fd at off (pread: no shared file offset): 0, or -1 on an error
 * or when the file ends before. */
int tx_pread_exact(int fd, void *buf, size_t n, uint64_t off);
/* Bytes a caller's buffer for tx_csv_window needs after its content. */
#define TX_CSV_PAD 64
/* A reader over len bytes of buf (not copied; buf must have TX_CSV_PAD more bytes, which
 * the reader writes, and outlive the reader): a window of a file's rows, for reading a
 * large file in pieces. It numbers lines from line and expects ncols fields a row (the
 * file's header). TX_EPARSE when the bytes are not UTF-8 text (a sequence cut short at
 * their end included). */
int tx_csv_window(const char *name, char *buf, size_t len, uint64_t line, size_t ncols,
                  tx_csv **out, tx_err *err);
/* Fields in the header row (0 before tx_csv_header). */
size_t tx_csv_ncols(const tx_csv *c);
void tx_csv_free(tx_csv *c);
/* A reader over bytes [from, to) of c's content, for reading one file's parts in parallel
 * threads: it shares c's buffer (c must outlive it and not be read meanwhile), numbers
 * lines from line, and checks the field count against c's header. to is c's size or just
 * after a '\n'; a part that starts or ends inside a quoted field reads that field wrongly,
 * so callers split only text without quotes. */
int tx_csv_part(const tx_csv *c, size_t from, size_t to, uint64_t line, tx_csv **out,
                tx_err *err);
/* The offset of the next record and (line not NULL) its physical line. */
size_t tx_csv_pos(const tx_csv *c, uint64_t *line);
/* The content (tx_csv_size bytes). */
const char *tx_csv_data(const tx_csv *c);
const char *tx_csv_name(const tx_csv *c);
/* Size in bytes of the file's content (a BOM included). */
size_t tx_csv_size(const tx_csv *c);

/*
 * Reads the header row and maps column names. names[0..nnames) are the known columns,
 * matched exactly after trimming spaces and tabs around the header's names; col[k] receives
 * the field index of names[k] or -1. A missing column with required[k] != 0 is TX_EPARSE
 * ("file:line: missing required column 'x'"); required may be NULL (nothing required). A
 * duplicated known column is TX_EPARSE ("file:line: duplicate column 'x'"). Unknown columns
 * are counted in *nunknown (may be NULL) and their names joined with ", " into unknown (cap
 * bytes, may be NULL; a list that does not fit ends with "...") so the caller warns once per
 * file. An empty file (no header) is TX_EPARSE ("file: empty file, no header").
 * The header's field count is kept for the truncation check of tx_csv_next.
 */
int tx_csv_header(tx_csv *c, const char *const *names, const uint8_t *required,
                  size_t nnames, int *col, size_t *nunknown, char *unknown, size_t cap,
                  tx_err *err);

/* Next record: 1 and *row filled, 0 at end of file, or a negative tx_status (err set).
 * Records are returned whatever their field count (rows of the wrong width are the caller's
 * to reject), except that a last record with no line end and fewer fields than the header
 * is a file cut short: TX_EPARSE ("file:line: truncated file: ..."). */
int tx_csv_next(tx_csv *c, tx_csv_row *row, tx_err *err);

/* ---- scalar parsers: 0 on success, TX_EPARSE otherwise (no err: callers add context) -- */

/* Decimal number with optional sign, fraction and exponent ("12", "-1.5", ".5", "5.",
 * "1e-3"); leading and trailing spaces and tabs are allowed; empty, "nan", "inf", hex,
 * thousands separators and trailing junk are rejected. The result is the correctly rounded
 * double whatever the locale. It may still be non-finite on overflow: callers check. */
int tx_parse_double(const char *s, size_t len, double *out);
/* Integer with optional sign and surrounding spaces and tabs; out of int64 range is
 * TX_EPARSE. */
int tx_parse_int64(const char *s, size_t len, int64_t *out);
/* Timestamp in one of the INPUTS.md forms: "YYYY-MM-DDTHH:MM:SS+08:00" (any +HH:MM or
 * -HH:MM offset), "YYYY-MM-DD HH:MM:SS" (taken as +08:00), or "YYYY-MM-DDTHH:MM:SSZ";
 * surrounding spaces allowed; fields range-checked (month 1..12, day within month,
 * hour 0..23, minute and second 0..59). Result in Unix seconds. */
int tx_parse_timestamp(const char *s, size_t len, int64_t *out);
/* Formats t as "YYYY-MM-DDTHH:MM:SS+08:00" into out (at least 26 bytes). */
void tx_format_timestamp(int64_t t, char *out, size_t cap);
/* 1 when the field equals the NUL-terminated word exactly. */
int tx_field_is(const tx_field *f, const char *word);
/* Copies a field into a NUL-terminated buffer, truncating (never inside a UTF-8 sequence);
 * returns 1 if it fit, else 0 (also when cap is 0: nothing is written). */
int tx_field_copy(const tx_field *f, char *out, size_t cap);

#endif /* TX_CSV_H */
