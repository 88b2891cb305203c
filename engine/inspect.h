/*
 * inspect.h - the `tanxiao inspect` and `tanxiao export` subcommands (prefix tx_). Internal
 * to the engine; called by the CLI's dispatch (cli.c).
 *
 * Both read a results file (RESULTS.md) written by `tanxiao run`, or any HDF5 file of the
 * same columnar layout, read-only. They register the engine's zstd filter before reading.
 *
 * tx_inspect_main prints the run's provenance (root attributes) and summary tables (city,
 * grades by industry, districts against targets, data quality, 亩均, products) as aligned
 * text on stdout. A section whose datasets are absent is reported as absent, not an error.
 *
 * tx_export_main writes one group as CSV (RFC 4180, UTF-8): one row per entity, one column
 * per 1-D dataset; a group with 2-D datasets ([row, column], such as /series) is written in
 * long form, one CSV row per (row, column) with the dimension scale values as columns. The
 * output file is written under a temporary name and renamed, so it is complete or absent.
 *
 * Arguments: argc/argv as a subcommand sees them (argv[0] is the subcommand name, options
 * follow; GNU getopt_long, which resets optind). Both return the process exit status: 0
 * success, 1 failure (one line on stderr: "tanxiao inspect: error: ..."), 2 usage error.
 * Not thread-safe (libhdf5 is serial, getopt has global state). HDF5's automatic error
 * printing is left as the caller set it (the CLI turns it off). Memory: export holds the
 * whole group in memory (about the size of the group's uncompressed data); inspect holds
 * at most three groups at a time (/district, /targets, /city; /enterprise and /meter).
 */
#ifndef TX_INSPECT_H
#define TX_INSPECT_H

int tx_inspect_main(int argc, char **argv);
int tx_export_main(int argc, char **argv);

#endif /* TX_INSPECT_H */
