/*
 * products.h - product energy benchmarks (METHOD.md section 7, 能效标杆水平 / 基准水平):
 * the reference table, the optional dataset file products.csv, and the classification of
 * an enterprise's product line for a period (prefix tx_products_). Internal to the engine.
 *
 * Table: datasets/tables/product_benchmarks.csv, one row per product:
 *   product,name,output_unit,energy_unit,specific_unit,benchmark,baseline,edition,tag,source
 * benchmark and baseline are specific energy uses in specific_unit = energy_unit per
 * output_unit (e.g. kgce/t for cement clinker; kgoe per t and energy factor for refining).
 *
 * Input: products.csv (docs/INPUTS-EXTENSIONS.md), one row per enterprise, period and
 * product: enterprise_id,period,product,output,energy with output in the product's
 * output_unit and energy the total for that output in its energy_unit.
 *
 * Classification (lower is better): specific = energy / output;
 *   class 1 TX_PRODUCT_BENCHMARK       specific <= benchmark
 *   class 2 TX_PRODUCT_BETWEEN         benchmark < specific <= baseline
 *   class 3 TX_PRODUCT_BELOW_BASELINE  specific > baseline
 *   class 0 TX_PRODUCT_UNCLASSIFIED    output or energy not reported, or output <= 0; the
 *                                      reason is a TX_PRODUCT_WHY_* code.
 *
 * Memory: a tx_products table is a fixed-size struct (no ownership, nothing to destroy);
 * the row parser and the classification do not allocate; tx_products_aggregate works in a
 * caller workspace; only the loaders allocate (the CSV reader, and the rows of
 * tx_products_read_new). Everything is thread-safe on distinct outputs; the table is
 * read-only after loading.
 */
#ifndef TX_PRODUCTS_H
#define TX_PRODUCTS_H

#include "csv.h"
#include "inputs.h"
#include "records.h"
#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

#define TX_PRODUCTS_MAX 64     /* rows of product_benchmarks.csv */
#define TX_PRODUCT_ID_CAP 32   /* bytes incl. NUL; ids are [a-z0-9_]+ */
#define TX_PRODUCT_NAME_CAP 96 /* UTF-8 bytes incl. NUL */
#define TX_PRODUCT_UNIT_CAP 48 /* bytes incl. NUL */
#define TX_PRODUCTS_FILE "product_benchmarks.csv"

/* Classes; the names are those of METHOD.md section 7. */
#define TX_PRODUCT_CLASS_MAP(X)                                                            \
    X(UNCLASSIFIED, 0, "not classified")                                                   \
    X(BENCHMARK, 1, "at or better than benchmark")                                         \
    X(BETWEEN, 2, "between")                                                               \
    X(BELOW_BASELINE, 3, "below baseline")

typedef enum {
#define TX_PRODUCT_CLASS_ENUM_(name, code, msg) TX_PRODUCT_##name = (code),
    TX_PRODUCT_CLASS_MAP(TX_PRODUCT_CLASS_ENUM_)
#undef TX_PRODUCT_CLASS_ENUM_
} tx_product_class;

/* Why a product line is not classified (class 0); NONE for classes 1..3. */
#define TX_PRODUCT_WHY_MAP(X)                                                              \
    X(NONE, "")                                                                            \
    X(NO_OUTPUT, "output not reported")                                                    \
    X(ZERO_OUTPUT, "output <= 0")                                                          \
    X(NO_ENERGY, "energy not reported")

typedef enum {
#define TX_PRODUCT_WHY_ENUM_(name, msg) TX_PRODUCT_WHY_##name,
    TX_PRODUCT_WHY_MAP(TX_PRODUCT_WHY_ENUM_)
#undef TX_PRODUCT_WHY_ENUM_
    TX_PRODUCT_WHY_COUNT
} tx_product_why;

/* Name of a class / message of a reason; never NULL ("unknown" outside the tables). */
const char *tx_products_class_name(int cls);
const char *tx_products_why_message(int why);

/* ---- the reference table ------------------------------------------------------------ */

typedef struct {
    char id[TX_PRODUCT_ID_CAP];                /* e.g. "cement_clinker" */
    char name[TX_PRODUCT_NAME_CAP];            /* e.g. "水泥熟料" */
    char output_unit[TX_PRODUCT_UNIT_CAP];     /* unit of products.csv `output`, e.g. "t" */
    char energy_unit[TX_PRODUCT_UNIT_CAP];     /* unit of products.csv `energy`, e.g. "kgce" */
    char specific_unit[TX_PRODUCT_UNIT_CAP];   /* energy_unit per output_unit, e.g. "kgce/t" */
    double benchmark;                          /* 标杆水平, specific_unit, finite > 0 */
    double baseline;                           /* 基准水平, specific_unit, >= benchmark */
    int edition;                               /* year of the list's edition */
    char tag;                                  /* 'C', 'S' or 'U' (METHOD.md tags) */
} tx_product;

typedef struct {
    tx_product p[TX_PRODUCTS_MAX]; /* in file order */
    size_t n;
    uint64_t checksum, bytes; /* FNV-1a 64 and size of the file read, for provenance */
} tx_products;

/* Loads dir/product_benchmarks.csv into t. All columns are required. Each row: a unique
 * id of [a-z0-9_] (at most 31 bytes), a name and the three units (non-empty, within their
 * caps), benchmark finite > 0, baseline finite >= benchmark, edition 1900..2200, tag C, S
 * or U. Any violation, or more than TX_PRODUCTS_MAX rows, is TX_ETABLE naming file and
 * line; also TX_ENOTFOUND, TX_EIO, TX_EPARSE (from the reader) and TX_ENOMEM. t is
 * zeroed on failure. */
int tx_products_load(const char *dir, tx_products *t, tx_err *err);

/* Index of the product whose id equals s (len bytes, exact match) or -1. */
int tx_products_find(const tx_products *t, const char *s, size_t len);

/* ---- classification -------------------------------------------------------------------- */

/* Classifies one product line. output in the product's output_unit, energy in its
 * energy_unit (totals); NaN (any non-finite value) means not reported. *specific receives
 * energy / output (+inf when a tiny output makes the ratio overflow: class 3), or NaN
 * when the line is not classified; *why (may be NULL) the reason code. Returns the class
 * (TX_PRODUCT_*). Reasons are checked in the order NO_OUTPUT, ZERO_OUTPUT, NO_ENERGY. The
 * comparison is txk_classify's, inclusive upper bounds {benchmark, baseline}: a specific
 * equal to the benchmark is class 1, equal to the baseline class 2. Thread-safe. */
int tx_products_classify(const tx_product *p, double output, double energy, double *specific,
                         int *why);

/* ---- products.csv ---------------------------------------------------------------------- */

/* Columns: enterprise_id, period, product, output, energy; all required in the header. */
extern const tx_input_columns tx_cols_products;

typedef struct {
    char enterprise_id[TX_USCC_LEN + 1];
    int year;      /* 1900..2200 */
    int month;     /* 1..12, or 0 for an annual row */
    int product;   /* index into the table */
    double output; /* >= 0 in the product's output_unit; NaN when the cell is blank */
    double energy; /* >= 0 in the product's energy_unit; NaN when the cell is blank */
} tx_product_row;

/*
 * One products.csv row (col from tx_input_header with tx_cols_products, at least 5
 * entries) into r: TX_INPUT_OK, or the TX_REJECT_* reason and, sometimes, a detail text
 * (static, never freed). Reasons, in the order they are checked:
 *   TOO_FEW_FIELDS  the row ends before one of the five columns
 *   MISSING_FIELD   enterprise_id, period or product blank
 *   BAD_USCC        enterprise_id not a valid 18-character USCC
 *   BAD_VALUE       period not YYYY or YYYY-MM (year 1900..2200, month 01..12), or an
 *                   unknown product id (detail names the table)
 *   BAD_NUMBER      output or energy not a number (detail names the column)
 *   NOT_FINITE      output or energy overflows (detail names the column)
 *   BAD_VALUE       output or energy negative (detail names the column)
 * A blank output or energy is accepted as "not reported" (NaN): the line is kept and left
 * unclassified with its reason. Spaces and tabs around fields are ignored. Does not
 * allocate; thread-safe.
 */
int tx_products_parse_row(const tx_csv_row *row, const int *col, const tx_products *t,
                          tx_product_row *r, const char **detail);

/* Rejected-row callback of tx_products_read_new: the row as read, the reason and detail. */
typedef void (*tx_products_reject_fn)(void *arg, const tx_csv_row *row, int reason,
                                      const char *detail);

typedef struct {
    tx_product_row *rows; /* n accepted rows in file order */
    size_t n;
    uint64_t lines;                     /* data rows read */
    uint64_t rejected;                  /* of them rejected */
    uint64_t reasons[TX_REJECT_COUNT];  /* rejected rows per reason */
    uint64_t checksum, bytes;           /* FNV-1a 64 and size of the file */
} tx_product_rows;

/* Reads a whole products.csv: every row through tx_products_parse_row; rejected rows are
 * counted and passed to on_reject (may be NULL), accepted rows kept. TX_ENOTFOUND when the
 * file does not exist (the file is optional: the caller decides), TX_EPARSE for a file
 * that cannot be read as CSV (header, encoding, truncation), TX_EIO, TX_ENOMEM. *out is
 * NULL on failure; free it with tx_product_rows_free. */
int tx_products_read_new(const char *path, const tx_products *t, tx_products_reject_fn on_reject,
                         void *arg, tx_product_rows **out, tx_err *err);
void tx_product_rows_free(tx_product_rows *r);

/* ---- period aggregation -------------------------------------------------------------- */

typedef struct {
    char enterprise_id[TX_USCC_LEN + 1];
    int product;         /* index into the table */
    double output;       /* period total, output_unit (NaN when a row left it blank) */
    double energy;       /* period total, energy_unit (NaN when a row left it blank) */
    double specific;     /* energy / output, specific_unit; NaN when not classified */
    int cls;             /* TX_PRODUCT_* */
    int why;             /* TX_PRODUCT_WHY_* */
    int months_found;    /* months of the period with data (12 for an annual row) */
    int months_expected; /* months in the period (tx_period nmonths) */
    uint16_t month_mask; /* bit m-1 set when calendar month m was found (the period's months
                            are distinct calendar months); 0x0FFF for an annual row */
    uint8_t from_annual; /* 1 when the annual row was used */
    uint8_t incomplete;  /* months_found < months_expected (classified anyway) */
} tx_product_result;

/* Workspace bytes tx_products_aggregate needs for nrows rows (0 for none; SIZE_MAX when
 * the size overflows). */
size_t tx_products_aggregate_wksp_size(size_t nrows);

/*
 * Period totals and classes per (enterprise, product). Only rows of the period count: for a
 * calendar year (tx_period "2025": months 1..12 of one year) the group's annual row of that
 * year when it has one, else its monthly rows; for any other period (one month, a range,
 * possibly across a year end) the monthly rows of its months, annual rows ignored. Each
 * group's months are summed in time order; a group with months missing is classified
 * anyway and flagged incomplete. When several rows give the same (enterprise, product,
 * year, month), the later one in rows[] wins and the others are counted in *replaced (may
 * be NULL); when the annual row decides, the group's monthly rows are not read.
 *
 * out must hold cap results; cap >= nrows always suffices. Results are ordered by
 * enterprise id (bytewise), then product index. *nout receives their number. wksp holds
 * wksp_size bytes >= tx_products_aggregate_wksp_size(nrows), suitably aligned for any
 * type (malloc'd memory is).
 *
 * Returns 0; TX_EINVAL for NULL arguments (rows, out or wksp may be NULL only when nrows
 * is 0), a period that is not what tx_period_parse makes (months 1..12, nmonths 1..12
 * matching year/month_first to year_last/month_last), a row whose product index is outside
 * the table or whose month is outside 0..12, or a workspace too small; TX_ERANGE when more
 * than cap groups exist (*nout then holds the number needed). Does not allocate;
 * thread-safe.
 */
int tx_products_aggregate(const tx_products *t, const tx_product_row *rows, size_t nrows,
                          const tx_period *period, void *wksp, size_t wksp_size,
                          tx_product_result *out, size_t cap, size_t *nout, size_t *replaced);

#endif /* TX_PRODUCTS_H */
