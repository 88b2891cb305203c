/*
 * report.h - `tanxiao report`: one self-contained HTML page from a results file (prefix
 * tx_report_). Part of the command line, beside cli.c.
 *
 * The page holds the run's provenance (root attributes), the city summary (/city), and
 * charts drawn with Apache ECharts: grades 1..5 per industry row, district intensity
 * changes against the targets of /targets, the largest emitters, the grade-5 enterprises
 * by K, and data coverage and statuses. The ECharts script is inlined and a
 * Content-Security-Policy forbids every network fetch, so the page works offline.
 */
#ifndef TX_REPORT_H
#define TX_REPORT_H

/*
 * The whole subcommand. argv[0] is the command name ("report"), the rest its options
 * (`tanxiao report --help` explains them). Reads the environment variables TANXIAO_ECHARTS
 * (the ECharts script when --echarts is not given) and TANXIAO_TABLES (the reference
 * tables giving district and industry names when --tables is not given); nothing else in
 * the engine reads them.
 *
 * The page is written under OUTPUT.tmp-PID, fsynced and renamed: it is either complete or
 * absent. Returns the exit status: 0 success, 1 failure (one line on stderr), 2 usage
 * error. Not thread-safe (libhdf5 is serial). Memory: the results' /enterprise columns
 * (about 0.5 KB per enterprise) plus the page (the ECharts script, about 1 MB, and a few
 * KB of data).
 */
int tx_report_main(int argc, char **argv);

#endif /* TX_REPORT_H */
