/*
 * journal.h - a redo journal under HDF5 (prefix tx_journal_). Internal to the engine.
 *
 * A store writer changes the committed file without putting it at risk. It opens the file
 * through an HDF5 virtual file driver of its own, which splits every write by address:
 *   - at or beyond the committed size, rounded up to a page (the "tail"): straight into the
 *     store file, where no committed metadata points;
 *   - below it: into "STORE.journal", a page (4 KiB) at a time, each page of the file once
 *     (a page written again is updated in the journal), and reads of those pages come from
 *     there. The committed bytes are never touched during the session.
 * Commit (after H5Fclose): the tail is synced; then, under an exclusive flock on the store
 * file (readers hold a shared one for their whole session, see store.c), the journal's
 * pages are synced, a commit record is appended and synced (the commit point), the pages
 * are copied into the store, which is truncated to its new size and synced, and the
 * journal is removed. When readers hold the store, the commit copies it instead ("STORE.
 * wip-PID" with the pages applied, synced, renamed over STORE), so that they keep the state
 * they opened. A killed writer leaves either no commit record (the store is as before; the
 * tail is cut off at recovery) or a complete journal, which tx_journal_recover applies
 * again (applying is idempotent) before anybody reads the store.
 *
 * Journal file: a 64-byte header (magic "TXJRNL01", page size, committed size, device and
 * inode of the store, xxh3 of the header), records of [u64 page number][page], and at
 * commit a 64-byte record (magic "TXCOMMIT", pages, final size, device, inode, xxh3 of the
 * page numbers, xxh3 of the record). Little-endian, as the machines that run it.
 *
 * The cost: each changed page is written twice (journal and store) and nothing is copied
 * (measured in docs/ARCHITECTURE.md).
 */
#ifndef TX_JOURNAL_H
#define TX_JOURNAL_H

#include "tanxiao.h"

#include <hdf5.h>
#include <stdint.h>

typedef struct tx_journal tx_journal;

/* Starts a session on the existing file store: opens it for writing and creates
 * "store.journal" (which must not exist: recover first). */
int tx_journal_begin(const char *store, tx_journal **out, tx_err *err);
/* A file access property list (caller closes it) that opens the store through j. One open
 * file at a time. */
hid_t tx_journal_fapl(tx_journal *j, tx_err *err);
/* After H5Fclose: makes the session's writes the store (see above). *copied is set to 1
 * when readers held the store and it was copied instead of changed in place. Frees j. */
int tx_journal_commit(tx_journal *j, int *copied, tx_err *err);
/* Discards the session: cuts the tail off the store, removes the journal. Frees j.
 * Accepts NULL. */
void tx_journal_abort(tx_journal *j);
/* 1 when "store.journal" holds a committed session for the file open as fd, 0 when not
 * (none, incomplete or stale), TX_E* on errors. */
int tx_journal_pending(const char *store, int fd, tx_err *err);
/* Finishes or discards what a killed writer left: a committed journal is applied (under an
 * exclusive flock on the store, waiting for readers), an incomplete one removed and the
 * store's tail cut off. The caller holds the writer's lock. */
int tx_journal_recover(const char *store, tx_err *err);

#endif
