/*
 * runopts.h - the options of `tanxiao run` by name (prefix tx_runopt_). Internal.
 *
 * One table of the run's options and one setter, shared by `tanxiao run` (getopt),
 * `tanxiao nightly`'s command line and its configuration file, so an option has the same
 * name, values and checks everywhere: `--pv-policy subtract` on a command line is
 * `pv-policy = subtract` in a file.
 */
#ifndef TX_RUNOPTS_H
#define TX_RUNOPTS_H

#include "tanxiao.h"

typedef struct {
    const char *name; /* long option name without the dashes */
    int flag;         /* 1: takes no value on the command line (a boolean in a file) */
} tx_runopt;

/* The options, in the order of `tanxiao run --help`; tx_runopt_count entries. */
extern const tx_runopt tx_runopts[];
extern const size_t tx_runopt_count;

/* Index of an option by name, or -1. */
int tx_runopt_find(const char *name);

/*
 * Sets option `name` in p from value. Strings are stored by pointer: value must outlive p.
 * A flag takes NULL (set) or a boolean text (true/false, yes/no, on/off, 1/0). Returns 0,
 * TX_ENOTFOUND (no such option: err "unknown option NAME") or TX_EINVAL (err says what the
 * option takes, without the option's name: "takes grid_only or subtract"), or for an
 * empty value "needs a value". Thread-safe.
 */
int tx_runopt_set(tx_run_params *p, const char *name, const char *value, tx_err *err);

/* Parses a boolean text (see above) into *out: 0 or TX_EINVAL. */
int tx_runopt_bool(const char *s, int *out);

#endif /* TX_RUNOPTS_H */
