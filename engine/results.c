/* results.c - the results file's lifecycle: temporary name, sync, atomic rename. */
#include "results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tx_results {
    hid_t file;
    int level;
    char path[1024];
    char tmp[1100];
};

/* Removes "<path>.tmp-PID" files left by runs that were killed (PID no longer alive), so
 * killed runs do not pile up temporary files beside the results. Best effort. */
static void remove_stale_temporaries(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp-", 5) != 0)
            continue;
        char *end;
        long pid = strtol(n + blen + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to judge): leave it */
        char full[2300];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        unlink(full);
    }
    closedir(d);
}

int tx_results_create(const char *path, int zstd_level, tx_results **out, tx_err *err)
{
    remove_stale_temporaries(path);
    *out = NULL;
    int rc = tx_h5_register_zstd(err);
    if (rc)
        return rc;
    tx_results *r = calloc(1, sizeof *r);
    if (!r)
        return tx_err_set(err, TX_ENOMEM, "%s: out of memory", path);
    if (strlen(path) >= sizeof r->path) {
        free(r);
        return tx_err_set(err, TX_EINVAL, "%s: path too long", path);
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->tmp, sizeof r->tmp, "%s.tmp-%ld", path, (long)getpid());
    r->level = zstd_level;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        free(r);
        return tx_err_set(err, TX_EHDF5, "%s: cannot make file access properties", path);
    }
    r->file = H5Fcreate(r->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (r->file < 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot create results file", r->tmp);
        free(r);
        return rc;
    }
    *out = r;
    return TX_OK;
}

hid_t tx_results_file(const tx_results *r)
{
    return r->file;
}

int tx_results_level(const tx_results *r)
{
    return r->level;
}

int tx_results_commit(tx_results *r, tx_err *err)
{
    int rc = TX_OK;
    if (H5Fclose(r->file) < 0) {
        r->file = -1;
        rc = tx_err_set(err, TX_EHDF5, "%s: cannot close results file", r->tmp);
        goto fail;
    }
    r->file = -1;
    /* fsync before rename so a crash never leaves a renamed but empty file. */
    int fd = open(r->tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        rc = tx_err_set(err, TX_EIO, "%s: cannot sync results file", r->tmp);
        goto fail;
    }
    close(fd);
    if (rename(r->tmp, r->path) != 0) {
        rc = tx_err_set(err, TX_EIO, "%s: cannot rename to %s", r->tmp, r->path);
        goto fail;
    }
    free(r);
    return TX_OK;
fail:
    unlink(r->tmp);
    free(r);
    return rc;
}

void tx_results_abort(tx_results *r)
{
    if (!r)
        return;
    if (r->file >= 0)
        H5Fclose(r->file);
    unlink(r->tmp);
    free(r);
}
