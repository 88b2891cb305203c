/*
 * fuzz.h - shared by the fuzz targets of tests/fuzz (zstd tests/fuzz/ style).
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput for one parser of outside input. The
 * same source is linked either with libFuzzer (-fsanitize=fuzzer: fuzz_<name>, built with
 * -DTANXIAO_FUZZ=ON and clang) or with replay.c (fuzz_replay_<name>: runs the target on
 * given files, built whenever tests are on and registered with ctest over the corpus).
 *
 * A target returns 0 for any input; an invariant that does not hold is reported on stderr
 * and abort()s, which both drivers report as a crash.
 */
#ifndef TX_FUZZ_H
#define TX_FUZZ_H

#include "csv.h"
#include "inputs.h"
#include "tables.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports "file:line: check failed: cond (what)" and aborts. */
_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *what);
#define FUZZ_CHECK(cond, what)                                                             \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fuzz_fail(__FILE__, __LINE__, #cond, what);                                    \
    } while (0)

/* Reads every byte of [p, p+n) (so the sanitizers see a view that is not readable) and
 * returns a value that depends on all of them. */
unsigned fuzz_touch(const void *p, size_t n);

/* 1 when s[0..n) is UTF-8 without NUL (RFC 3629; a decoder written apart from csv.c's). */
int fuzz_utf8_valid(const char *s, size_t n);
/* Length of the longest prefix of s[0..n) made of whole valid characters other than NUL. */
size_t fuzz_utf8_prefix(const char *s, size_t n);

/* Checks the views of a record returned by tx_csv_next: raw readable, every field readable
 * and either inside the raw text (a view into the file buffer) or disjoint from it (an
 * unescaped quoted field in the reader's scratch), fields in the file buffer in order. */
void fuzz_check_row(const tx_csv_row *row);

/* A row parser's result: TX_INPUT_OK or a reason in [0, TX_REJECT_COUNT); detail NULL or a
 * string. */
void fuzz_check_reason(int reason, const char *detail);

/* The reason a row parser must give for its required columns which[0..n) (in that order):
 * TX_REJECT_TOO_FEW_FIELDS for the first one past the row's end, TX_REJECT_MISSING_FIELD
 * for the first one holding only blanks, else TX_INPUT_OK. fuzz_check_required checks a
 * parser's reason against it. */
int fuzz_required_reason(const tx_csv_row *row, const int *col, const int *which, size_t n);
void fuzz_check_required(int reason, const tx_csv_row *row, const int *col, const int *which,
                         size_t n);

/* Field without surrounding spaces and tabs. */
tx_field fuzz_trim(tx_field f);

/* 1 when the NUL-terminated string s equals the trimmed field. */
int fuzz_str_is_field(const char *s, tx_field f);

/* The reference tables (datasets/tables), loaded on first use; aborts when they cannot be
 * loaded (a broken checkout, not an input problem). */
const tx_tables *fuzz_tables(void);

/* Calls fn on every record of an input file: opens data as a CSV, reads the header with
 * cols (checking the column map), then every record until the end or a reader error
 * (checking that an error is a negative status and that the reader stays stopped). */
typedef void (*fuzz_row_fn)(const tx_csv_row *row, const int *col, void *arg);
void fuzz_each_row(const uint8_t *data, size_t size, const tx_input_columns *cols,
                   fuzz_row_fn fn, void *arg);

/* t formatted and parsed back gives t (for instants of years 1..9999). */
void fuzz_check_timestamp_roundtrip(int64_t t);

#endif /* TX_FUZZ_H */
