/*
 * results.h - the results file: written under a temporary name beside the final one and
 * renamed into place only when complete (RESULTS.md "complete or absent"). Prefix
 * tx_results_. Internal; one thread.
 */
#ifndef TX_RESULTS_H
#define TX_RESULTS_H

#include "h5io.h"
#include "tanxiao.h"

typedef struct tx_results tx_results;

/* Creates "<path>.tmp-<pid>" (truncating a stale one) and registers the zstd filter. */
int tx_results_create(const char *path, int zstd_level, tx_results **out, tx_err *err);
hid_t tx_results_file(const tx_results *r);
int tx_results_level(const tx_results *r);
/* Closes the file, syncs it to disk and renames it to the final path. Frees r. */
int tx_results_commit(tx_results *r, tx_err *err);
/* Closes and removes the temporary file. Frees r. Accepts NULL. */
void tx_results_abort(tx_results *r);

#endif /* TX_RESULTS_H */
