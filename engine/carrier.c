/* carrier.c - carriers, units and which units fit which carrier (INPUTS.md meters.csv). */
#include "tanxiao.h"

#include <string.h>

static const char *const carrier_names[TX_CARRIER_COUNT] = {
#define TX_CARRIER_NAME_(name, str) str,
    TX_CARRIER_MAP(TX_CARRIER_NAME_)
#undef TX_CARRIER_NAME_
};

static const struct {
    const char *name;
    int canonical;
    double factor;
} units[TX_UNIT_COUNT] = {
#define TX_UNIT_ROW_(name, str, canon, factor) {str, canon, factor},
    TX_UNIT_MAP(TX_UNIT_ROW_)
#undef TX_UNIT_ROW_
};

const char *tx_carrier_name(int carrier)
{
    return carrier >= 0 && carrier < TX_CARRIER_COUNT ? carrier_names[carrier] : "unknown";
}

static int lookup(const char *const *names, size_t stride, int count, const char *s,
                  size_t len)
{
    for (int i = 0; i < count; i++) {
        const char *n = *(const char *const *)((const char *)names + (size_t)i * stride);
        if (strlen(n) == len && memcmp(n, s, len) == 0)
            return i;
    }
    return -1;
}

int tx_carrier_parse(const char *s, size_t len)
{
    return lookup(carrier_names, sizeof carrier_names[0], TX_CARRIER_COUNT, s, len);
}

const char *tx_unit_name(int unit)
{
    return unit >= 0 && unit < TX_UNIT_COUNT ? units[unit].name : "unknown";
}

int tx_unit_parse(const char *s, size_t len)
{
    return lookup(&units[0].name, sizeof units[0], TX_UNIT_COUNT, s, len);
}

int tx_unit_canonical(int unit)
{
    return unit >= 0 && unit < TX_UNIT_COUNT ? units[unit].canonical : -1;
}

double tx_unit_to_canonical(int unit)
{
    return unit >= 0 && unit < TX_UNIT_COUNT ? units[unit].factor : 0.0;
}

int tx_carrier_canonical_unit(int carrier)
{
    switch (carrier) {
    case TX_CARRIER_ELECTRICITY:
    case TX_CARRIER_PV_GENERATION:
        return TX_UNIT_KWH;
    case TX_CARRIER_NATURAL_GAS:
    case TX_CARRIER_WATER:
        return TX_UNIT_M3;
    case TX_CARRIER_HEAT:
        return TX_UNIT_MJ;
    default:
        return carrier >= 0 && carrier < TX_CARRIER_COUNT ? TX_UNIT_KG : -1;
    }
}

int tx_unit_fits_carrier(int unit, int carrier)
{
    int canon = tx_unit_canonical(unit);
    return canon >= 0 && canon == tx_carrier_canonical_unit(carrier);
}
