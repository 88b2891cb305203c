/*
 * tables_h5.h - the reference tables a run used and the coefficients it applied, written
 * into the results file (prefix tx_tables_h5_). Internal to the engine; called once by the
 * run while the results file is being written.
 *
 * /tables/<name>: one group per table file the run read (the ten of tables.h, then
 * mujun_profiles.csv and product_benchmarks.csv), <name> the file name without ".csv".
 * Each CSV column is one 1-D dataset named after its header, in file row order: integer
 * columns int64, numeric columns float64 (empty cell NaN, "inf" infinity), everything else
 * (codes such as "01", and the tag and source columns) fixed-length UTF-8 strings holding
 * the field exactly as parsed (RFC 4180 unquoted). Every dataset has `units` (known units
 * of the shipped tables; "" for text) and `long_name`. Group attributes: file_name,
 * checksum ("fnv1a64:<16 hex digits>", the checksum the root attribute `tables` records),
 * bytes, rows, columns (the header, comma-joined, in file order) and long_name.
 *
 * /coefficients: one row per month of the period, then per month of the baseline: month
 * (YYYYMM, the dimension scale), period (0 report, 1 baseline), the grid factor and the
 * data year of the row it came from, and for every carrier except water the tce and tCO2
 * per canonical unit actually applied (`<carrier>_tce_per_<unit>`,
 * `<carrier>_tco2_per_<unit>`): electricity tce on the run's basis, PV by the run's policy.
 */
#ifndef TX_TABLES_H5_H
#define TX_TABLES_H5_H

#include "method.h"
#include "tables.h"
#include "tanxiao.h"

#include <hdf5.h>

/*
 * Writes /tables and /coefficients into file. t: the tables the run loaded (their
 * directory is re-read, and a file whose checksum differs from the one recorded at load is
 * TX_ETABLE: the results never hold a table other than the one used). per and coefs: the
 * report period and its coefficients (per->nmonths entries); base and base_coefs the same
 * for the baseline, or NULL. level: zstd level. Returns 0 or a negative tx_status with err
 * set: TX_EIO, TX_ENOMEM, TX_EPARSE (not a CSV text), TX_ETABLE (a row wider or narrower
 * than the header, a header name that cannot be a dataset name, a changed file),
 * TX_EHDF5. Call from one thread.
 */
int tx_tables_h5_write(hid_t file, const tx_tables *t, const tx_period *per,
                       const tx_coefs *coefs, const tx_period *base,
                       const tx_coefs *base_coefs, int level, tx_err *err);

#endif /* TX_TABLES_H5_H */
