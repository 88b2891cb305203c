/*
 * records.h - the entity records shared by ingest, the store, the generator and the run.
 * Plain structs, fixed-size strings (NUL-terminated), no ownership.
 */
#ifndef TX_RECORDS_H
#define TX_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define TX_USCC_LEN 18
#define TX_NAME_CAP 160   /* UTF-8 bytes incl. NUL; longer names are rejected at ingest */
#define TX_CLUSTER_CAP 48 /* bytes incl. NUL */
#define TX_METER_ID_CAP 48

typedef struct {
    char id[TX_USCC_LEN + 1]; /* USCC */
    char name[TX_NAME_CAP];   /* UTF-8 */
    char industry[5];         /* 4-digit GB/T 4754-2017 class */
    char district[7];         /* 6-digit division code */
    double land_area_mu;      /* NaN when absent */
    uint8_t above_scale;      /* 1 规上, 0 规下 */
    char cluster[TX_CLUSTER_CAP];
} tx_enterprise;

typedef struct {
    char id[TX_METER_ID_CAP];
    char enterprise_id[TX_USCC_LEN + 1];
    uint8_t carrier;           /* tx_carrier */
    uint8_t unit;              /* tx_unit */
    uint8_t kind;              /* TX_KIND_CUMULATIVE or TX_KIND_INTERVAL */
    uint8_t register_digits;   /* 0 = unknown (no rollover) */
    uint16_t interval_minutes; /* 15, 30, 60 or 1440 */
    double multiplier;         /* > 0, from meters.csv (events may change it later) */
    double capacity;           /* per hour, meter unit after multiplier; NaN when absent */
    /* Placement in the store, assigned by tx_store_put_meters: row within the series grid
     * of interval_minutes. */
    uint32_t row;
} tx_meter;

typedef struct {
    char meter_id[TX_METER_ID_CAP];
    int64_t t;             /* Unix seconds */
    uint8_t type;          /* TX_EVENT_REPLACE or TX_EVENT_MULTIPLIER */
    double old_reading;    /* replace: old register at removal (NaN when absent) */
    double new_reading;    /* replace: new register at installation */
    double new_multiplier; /* multiplier from t on (NaN: unchanged) */
} tx_event;

#endif /* TX_RECORDS_H */
