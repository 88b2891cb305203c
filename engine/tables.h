/*
 * tables.h - the reference tables of METHOD.md, read at run time from a directory of CSV
 * files with source columns (datasets/tables by default). Prefix tx_tables_. Internal.
 *
 * Files (all required): energy_coefficients.csv, fuel_emission_factors.csv,
 * grid_emission_factors.csv, heat_factors.csv, carbon_levels.csv, carbon_grades.csv,
 * run_defaults.csv, gbt4754_divisions.csv, districts.csv, targets.csv.
 * Every coefficient is converted to the carrier's canonical unit (kWh, m3, kg, MJ) on load.
 */
#ifndef TX_TABLES_H
#define TX_TABLES_H

#include "tanxiao.h"

#include <stddef.h>
#include <stdint.h>

#define TX_TABLES_MAX_BOUNDS 8
#define TX_TABLES_NFILES 10

typedef struct {
    char series[32];
    char geography[32];
    int year;
    double kgco2_per_kwh;
} tx_grid_factor;

/* A reduction target of the city's plans (targets.csv). */
enum { TX_IND_ENERGY = 0, TX_IND_CO2 = 1, TX_IND_WATER = 2 };
enum { TX_SCOPE_ALL = 0, TX_SCOPE_CITY = 1, TX_SCOPE_DISTRICT = 2, TX_SCOPE_INDUSTRY = 3 };
typedef struct {
    char id[48];
    int indicator;     /* TX_IND_* */
    int scope;         /* TX_SCOPE_*: all = the city, every district and every industry */
    char scope_code[8];
    int base_year, target_year;
    double reduction_pct; /* intensity reduction to reach, % */
} tx_target;

typedef struct {
    /* kgce per canonical unit of each carrier (当量值 for electricity); NaN: not energy */
    double kgce[TX_CARRIER_COUNT];
    double kgce_per_kwh_equal_value; /* 等价值 electricity, for 亩均 */
    /* kgCO2 per canonical unit of each fuel; NaN for carriers that are not fuels */
    double kgco2[TX_CARRIER_COUNT];
    tx_grid_factor *grid; /* owned */
    size_t ngrid;
    double heat_tco2_per_gj;         /* purchased heat */
    double feedwater_kj_per_kg;      /* steam enthalpy reference */
    double steam_enthalpy_kj_per_kg; /* default steam enthalpy */
    /* level and grade classes: ascending inclusive upper bounds (the last class open) */
    double level_bounds[TX_TABLES_MAX_BOUNDS];
    size_t nlevel_bounds;
    double grade_bounds[TX_TABLES_MAX_BOUNDS];
    size_t ngrade_bounds;
    /* run defaults */
    double coverage_min;
    int benchmark_min_members;
    double rollover_fraction;
    double implausible_median_factor;
    double stuck_hours;
    double align_tolerance_s;
    tx_target *targets; /* owned */
    size_t ntargets;
    /* GB/T 4754 section letter of each 2-digit division (0 when unknown) */
    char division_section[100];
    /* provenance: file names and FNV-1a 64 checksums of the files read */
    char file_name[TX_TABLES_NFILES][40];
    uint64_t file_checksum[TX_TABLES_NFILES];
    char dir[512];
} tx_tables;

/* Loads all tables from dir; on error err names file and line. */
int tx_tables_load(const char *dir, tx_tables *t, tx_err *err);
void tx_tables_destroy(tx_tables *t);

/* Grid factor of (series, geography) for data year `year`: the year's own, else the latest
 * earlier year, else the earliest year available (METHOD.md section 8). *year_used gets
 * the year taken. TX_ENOTFOUND when the series/geography has no row at all. */
int tx_tables_grid_factor(const tx_tables *t, const char *series, const char *geography,
                          int year, double *kgco2_per_kwh, int *year_used, tx_err *err);

/* FNV-1a 64 of a buffer / of a whole file (0 and *sum set, or TX_EIO). */
uint64_t tx_fnv1a64(const void *data, size_t len, uint64_t seed);
int tx_file_checksum(const char *path, uint64_t *sum, uint64_t *size, tx_err *err);
#define TX_FNV_SEED UINT64_C(0xcbf29ce484222325)
/* XXH3 64-bit (seed 0) of the whole file open as fd, what `xxhsum -H3 FILE` prints: for the
 * meter store, which is gigabytes (FNV-1a goes a byte at a time, about 0.5 GB/s; XXH3 read
 * through a 1 MiB buffer, 7 GB/s from the page cache here). Read with pread, so safe beside
 * other threads' use of fd; name is for messages. */
int tx_fd_xxh3(int fd, const char *name, uint64_t *sum, uint64_t *size, tx_err *err);

#endif /* TX_TABLES_H */
