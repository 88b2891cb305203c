/* runopts.c - the options of `tanxiao run` by name (runopts.h). */
#include "runopts.h"

#include "method.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const tx_runopt tx_runopts[] = {
    {"store", 0},          {"financials", 0},        {"period", 0},         {"baseline", 0},
    {"output", 0},         {"tables", 0},            {"grid-series", 0},    {"grid-geography", 0},
    {"pv-policy", 0},      {"electricity-basis", 0}, {"industry-level", 0}, {"below-scale", 0},
    {"mujun-profile", 0},  {"current-prices", 1},    {"coverage-min", 0},   {"min-members", 0},
    {"threads", 0},        {"zstd-level", 0},
};
const size_t tx_runopt_count = sizeof tx_runopts / sizeof tx_runopts[0];

int tx_runopt_find(const char *name)
{
    for (size_t i = 0; i < tx_runopt_count; i++)
        if (strcmp(tx_runopts[i].name, name) == 0)
            return (int)i;
    return -1;
}

int tx_runopt_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                  "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = 1, TX_OK;
        if (strcmp(s, no[i]) == 0)
            return *out = 0, TX_OK;
    }
    return TX_EINVAL;
}

static int long_in(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Index of s in a NULL-terminated list of names, or -1. */
static int one_of(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int tx_runopt_set(tx_run_params *p, const char *name, const char *value, tx_err *err)
{
    int k = tx_runopt_find(name);
    if (k < 0)
        return tx_err_set(err, TX_ENOTFOUND, "unknown option %s", name);
    if (tx_runopts[k].flag) {
        int on = 1;
        if (value && tx_runopt_bool(value, &on))
            return tx_err_set(err, TX_EINVAL, "takes true or false");
        p->current_prices = on; /* the one flag */
        return TX_OK;
    }
    if (!value || !*value)
        return tx_err_set(err, TX_EINVAL, "needs a value");
    static const char *const pv[] = {"grid_only", "subtract", NULL};
    static const char *const basis[] = {"equivalent", "equal_value", NULL};
    static const char *const below[] = {"benchmark", "none", NULL};
    long v;
    int i;
    if (strcmp(name, "store") == 0)
        p->store_path = value;
    else if (strcmp(name, "financials") == 0)
        p->financials_dir = value;
    else if (strcmp(name, "period") == 0)
        p->period = value;
    else if (strcmp(name, "baseline") == 0)
        p->baseline = value;
    else if (strcmp(name, "output") == 0)
        p->output_path = value;
    else if (strcmp(name, "tables") == 0)
        p->tables_dir = value;
    else if (strcmp(name, "grid-series") == 0)
        p->grid_series = value;
    else if (strcmp(name, "grid-geography") == 0)
        p->grid_geography = value;
    else if (strcmp(name, "mujun-profile") == 0)
        p->mujun_profile = value;
    else if (strcmp(name, "pv-policy") == 0) {
        if ((i = one_of(value, pv)) < 0)
            return tx_err_set(err, TX_EINVAL, "is grid_only or subtract");
        p->pv_policy = i ? TX_PV_SUBTRACT : TX_PV_GRID_ONLY;
    } else if (strcmp(name, "electricity-basis") == 0) {
        if ((i = one_of(value, basis)) < 0)
            return tx_err_set(err, TX_EINVAL, "is equivalent or equal_value");
        p->electricity_basis = i ? TX_ELEC_EQUAL_VALUE : TX_ELEC_EQUIVALENT;
    } else if (strcmp(name, "below-scale") == 0) {
        if ((i = one_of(value, below)) < 0)
            return tx_err_set(err, TX_EINVAL, "is benchmark or none");
        p->below_scale = i ? TX_BELOW_NONE : TX_BELOW_BENCHMARK;
    } else if (strcmp(name, "industry-level") == 0) {
        if (long_in(value, 2, 4, &v))
            return tx_err_set(err, TX_EINVAL, "takes 2, 3 or 4");
        p->industry_level = (int)v;
    } else if (strcmp(name, "coverage-min") == 0) {
        char *end;
        double x = strtod(value, &end);
        if (*end || !(x >= 0 && x <= 1))
            return tx_err_set(err, TX_EINVAL, "takes a number in [0, 1]");
        p->coverage_min = x;
    } else if (strcmp(name, "min-members") == 0) {
        if (long_in(value, 1, 1000000, &v))
            return tx_err_set(err, TX_EINVAL, "takes a positive number");
        p->min_members = (int)v;
    } else if (strcmp(name, "threads") == 0) {
        if (long_in(value, 1, 1024, &v))
            return tx_err_set(err, TX_EINVAL, "takes 1..1024");
        p->threads = (int)v;
    } else if (strcmp(name, "zstd-level") == 0) {
        if (long_in(value, -50, 22, &v))
            return tx_err_set(err, TX_EINVAL, "takes -50..22");
        p->zstd_level = (int)v;
    } else
        return tx_err_set(err, TX_ENOTFOUND, "unknown option %s", name); /* table drift */
    return TX_OK;
}
