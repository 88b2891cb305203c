/* test_method.c - METHOD.md's worked examples (sections 4 and 5), grading rules, statuses,
 * grid-factor fallback and per-meter period totals with events, through the engine's own
 * method functions and the shipped reference tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "method.h"
#include "tables.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tx_tables tables;

static int setup(void **state)
{
    (void)state;
    tx_err err = {0};
    int rc = tx_tables_load(TX_SOURCE_DIR "/datasets/tables", &tables, &err);
    if (rc)
        fprintf(stderr, "tables: %s\n", err.msg);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    tx_tables_destroy(&tables);
    return 0;
}

/* METHOD.md section 4 worked example: CO2, L, level; energy and its intensity. */
static void test_section4_worked_example(void **state)
{
    (void)state;
    tx_coefs grid_only, subtract;
    tx_err err = {0};
    assert_int_equal(tx_method_coefs(&tables, "MEE_NBS", "Zhejiang", 2022, TX_PV_GRID_ONLY,
                                     TX_ELEC_EQUIVALENT, &grid_only, &err),
                     0);
    assert_int_equal(tx_method_coefs(&tables, "MEE_NBS", "Zhejiang", 2022, TX_PV_SUBTRACT,
                                     TX_ELEC_EQUIVALENT, &subtract, &err),
                     0);
    assert_int_equal(grid_only.grid_year_used, 2022);
    const double grid_kwh = 10000e3, gas_m3 = 500000, pv_kwh = 800e3, va = 8000;
    double gas_co2 = gas_m3 * grid_only.tco2[TX_CARRIER_NATURAL_GAS];
    double grid_co2 = grid_kwh * grid_only.tco2[TX_CARRIER_ELECTRICITY];
    assert_float_equal(gas_co2, 1081.1, 0.05);
    assert_float_equal(grid_co2, 5153.0, 0.05);
    double co2 = gas_co2 + grid_co2 + pv_kwh * grid_only.tco2[TX_CARRIER_PV_GENERATION];
    assert_float_equal(co2 / va, 0.7793, 0.00005);
    double co2_sub = gas_m3 * subtract.tco2[TX_CARRIER_NATURAL_GAS] +
                     grid_kwh * subtract.tco2[TX_CARRIER_ELECTRICITY] +
                     pv_kwh * subtract.tco2[TX_CARRIER_PV_GENERATION];
    assert_float_equal(co2_sub / va, 0.7277, 0.00005);
    double tce = grid_kwh * grid_only.tce[TX_CARRIER_ELECTRICITY] +
                 gas_m3 * grid_only.tce[TX_CARRIER_NATURAL_GAS] +
                 pv_kwh * grid_only.tce[TX_CARRIER_PV_GENERATION];
    assert_float_equal(tce, 1836.2, 0.05);
    assert_float_equal(tce / va, 0.2295, 0.00005);

    /* Grading against an industry whose ratio-of-sums intensity is 0.95: the example
     * enterprise and two members chosen so that sum CO2 / sum VA = 0.95. */
    for (int policy = 0; policy < 2; policy++) {
        double a_co2 = policy ? co2_sub : co2;
        double co2s[3] = {a_co2, 10000.0, 0.95 * 28000.0 - a_co2 - 10000.0};
        double vas[3] = {va, 10000.0, 10000.0}, cov[3] = {1, 1, 1};
        uint8_t elec[3] = {1, 1, 1}, above[3] = {1, 1, 1};
        uint16_t ind[3] = {3311, 3311, 3399};
        uint8_t status[3], level[3], grade[3], blevel[3];
        double L[3], K[3], bench[3];
        tx_grade_out out = {status, L, level, K, grade, bench, blevel,
                            calloc(1, sizeof(tx_grade_cells))};
        assert_non_null(out.cells);
        tx_grade_in in = {3, co2s, vas, cov, elec, above, ind};
        tx_grade_params gp = {tables.coverage_min, 3, 2, TX_BELOW_BENCHMARK,
                              tables.level_bounds, tables.nlevel_bounds,
                              tables.grade_bounds, tables.ngrade_bounds};
        assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
        assert_float_equal(out.cells->intensity[0][33], 0.95, 1e-12);
        assert_float_equal(bench[0], 0.95, 1e-12);
        assert_int_equal(blevel[0], 2);
        assert_int_equal(status[0], TX_STATUS_OK);
        assert_int_equal(level[0], 2); /* 中碳 */
        if (policy == 0) {
            assert_float_equal(K[0], 0.8203, 0.00005);
            assert_int_equal(grade[0], 3);
        } else {
            assert_float_equal(K[0], 0.7660, 0.00005);
            assert_int_equal(grade[0], 2);
        }
        free(out.cells);
    }
}

/* METHOD.md section 5 worked example: comparable prices give 12.0 %, current 21.4 %. */
static void test_section5_worked_example(void **state)
{
    (void)state;
    assert_float_equal(3000.0 / 10000.0, 0.3000, 1e-12);
    double comparable = tx_method_reduction_pct(3300, 14000, 1.12, 3000, 10000, 1.0);
    assert_float_equal(comparable, 12.0, 1e-9);
    /* Any base of the index gives the same result (rebased to the base year). */
    assert_float_equal(tx_method_reduction_pct(3300, 14000, 112.0, 3000, 10000, 100.0),
                       comparable, 1e-9);
    assert_float_equal(tx_method_reduction_pct(3300, 14000, 1.0, 3000, 10000, 1.0), 21.4,
                       0.05);
    assert_true(isnan(tx_method_reduction_pct(3300, 0, 1.0, 3000, 10000, 1.0)));
    assert_true(isnan(tx_method_reduction_pct(3300, 14000, 1.0, 3000, -5, 1.0)));
    assert_true(isnan(tx_method_reduction_pct(NAN, 14000, 1.0, 3000, 10000, 1.0)));
    assert_true(isnan(tx_method_reduction_pct(3300, 14000, 1.0, 0, 10000, 1.0)));
}

/* The NBS variant rounds both intensities to 4 decimals first: the worked example's
 * intensities are exact at 4 decimals, so it agrees; a case where rounding matters. */
static void test_reduction_nbs(void **state)
{
    (void)state;
    assert_float_equal(tx_method_reduction_nbs_pct(3300, 14000, 1.12, 3000, 10000, 1.0), 12.0,
                       1e-9);
    /* I_t = 0.123456 -> 0.1235, I_b = 0.234567 -> 0.2346: (1 - 0.1235/0.2346) x 100. */
    double nbs = tx_method_reduction_nbs_pct(123.456, 1000, 1.0, 234.567, 1000, 1.0);
    assert_float_equal(nbs, (1.0 - 0.1235 / 0.2346) * 100.0, 1e-9);
    double exact = tx_method_reduction_pct(123.456, 1000, 1.0, 234.567, 1000, 1.0);
    assert_true(fabs(nbs - exact) > 1e-4);
    assert_true(isnan(tx_method_reduction_nbs_pct(1, 0, 1, 1, 1, 1)));
}

/* Targets: met, on track, off track, missed, not evaluable, with the rate still needed. */
static void test_targets(void **state)
{
    (void)state;
    double rate;
    /* -20 % by 2026 from 2020: target ratio 0.8. */
    assert_int_equal(tx_method_target(0.78, 2025, 2020, 2026, 20, &rate), TX_TARGET_MET);
    assert_float_equal(rate, 0.0, 0);
    assert_int_equal(tx_method_target(0.80, 2025, 2020, 2026, 20, &rate), TX_TARGET_MET);
    /* 0.85 in 2025: achieved 1 - 0.85^(1/5) = 3.20 %/yr < needed 1 - 0.8^(1/6) = 3.65 %/yr:
     * off track; one year left: 1 - 0.8 / 0.85 = 5.88 %. */
    assert_int_equal(tx_method_target(0.85, 2025, 2020, 2026, 20, &rate), TX_TARGET_OFF_TRACK);
    assert_float_equal(rate, (1.0 - 0.8 / 0.85) * 100.0, 1e-9);
    /* 0.82 in 2024: achieved 1 - 0.82^(1/4) = 4.84 %/yr: on track; two years left. */
    assert_int_equal(tx_method_target(0.82, 2024, 2020, 2026, 20, &rate), TX_TARGET_ON_TRACK);
    assert_float_equal(rate, (1.0 - sqrt(0.8 / 0.82)) * 100.0, 1e-9);
    /* Past the target year and not met. */
    assert_int_equal(tx_method_target(0.9, 2026, 2020, 2026, 20, &rate), TX_TARGET_MISSED);
    assert_int_equal(tx_method_target(0.9, 2027, 2020, 2026, 20, &rate), TX_TARGET_MISSED);
    /* Not evaluable. */
    assert_int_equal(tx_method_target(NAN, 2025, 2020, 2026, 20, &rate), TX_TARGET_NA);
    assert_true(isnan(rate));
    assert_int_equal(tx_method_target(0.9, 2020, 2020, 2026, 20, &rate), TX_TARGET_NA);
    assert_int_equal(tx_method_target(-1, 2025, 2020, 2026, 20, &rate), TX_TARGET_NA);
    /* The shipped targets table. */
    assert_true(tables.ntargets >= 5);
    int found = 0;
    for (size_t i = 0; i < tables.ntargets; i++)
        if (strcmp(tables.targets[i].id, "ningbo_water_2026") == 0) {
            found = 1;
            assert_int_equal(tables.targets[i].indicator, TX_IND_WATER);
            assert_int_equal(tables.targets[i].base_year, 2020);
            assert_int_equal(tables.targets[i].target_year, 2026);
            assert_float_equal(tables.targets[i].reduction_pct, 20.0, 0);
        }
    assert_true(found);
}

static void test_grid_factor_fallback(void **state)
{
    (void)state;
    double f;
    int year;
    tx_err err = {0};
    assert_int_equal(tx_tables_grid_factor(&tables, "MEE_NBS", "Zhejiang", 2025, &f, &year, &err), 0);
    assert_int_equal(year, 2023); /* latest earlier year */
    assert_float_equal(f, 0.4974, 1e-12);
    assert_int_equal(tx_tables_grid_factor(&tables, "MEE_NBS", "Zhejiang", 2020, &f, &year, &err), 0);
    assert_int_equal(year, 2021); /* earliest available */
    assert_float_equal(f, 0.5422, 1e-12);
    assert_int_equal(tx_tables_grid_factor(&tables, "MEE_NBS", "East_China", 2022, &f, &year, &err), 0);
    assert_int_equal(year, 2022);
    assert_float_equal(f, 0.5617, 1e-12);
    assert_int_equal(tx_tables_grid_factor(&tables, "MEE_NBS", "Mars", 2022, &f, &year, &err),
                     TX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Mars"));
}

static void test_tables_contents(void **state)
{
    (void)state;
    assert_float_equal(tables.kgce[TX_CARRIER_ELECTRICITY], 0.1229, 1e-12);
    assert_float_equal(tables.kgce[TX_CARRIER_STEAM], 0.1286, 1e-12);
    assert_float_equal(tables.kgco2[TX_CARRIER_DIESEL], 3.0959, 1e-12);
    assert_true(isnan(tables.kgco2[TX_CARRIER_WATER]));
    assert_int_equal(tables.nlevel_bounds, 2);
    assert_int_equal(tables.ngrade_bounds, 4);
    assert_float_equal(tables.grade_bounds[3], 2.0, 0);
    assert_float_equal(tables.coverage_min, 0.9, 0);
    assert_int_equal(tables.benchmark_min_members, 3);
    assert_int_equal(tables.division_section[26], 'C');
    assert_int_equal(tables.division_section[44], 'D');
    /* Steam CO2 by enthalpy: 1 t at 2777.1 kJ/kg -> 2.69336 GJ x 0.11 t/GJ. */
    tx_coefs c;
    assert_int_equal(tx_method_coefs(&tables, "MEE_NBS", "Zhejiang", 2023, 0, TX_ELEC_EQUIVALENT, &c, NULL), 0);
    assert_float_equal(1000.0 * c.tco2[TX_CARRIER_STEAM], (2777.1 - 83.74) / 1000.0 * 0.11, 1e-12);
    assert_float_equal(c.tce[TX_CARRIER_WATER], 0.0, 0);
    assert_float_equal(c.water[TX_CARRIER_WATER], 1.0, 0);
    /* 等价值: the equal-value figure replaces the calorific equivalent. */
    assert_int_equal(tx_method_coefs(&tables, "MEE_NBS", "Zhejiang", 2023, 0, TX_ELEC_EQUAL_VALUE,
                                     &c, NULL),
                     0);
    assert_float_equal(1000.0 * c.tce[TX_CARRIER_ELECTRICITY], 0.28078, 1e-12);
}

static void test_tables_bad_dir(void **state)
{
    (void)state;
    tx_tables t;
    tx_err err = {0};
    assert_int_not_equal(tx_tables_load("/nonexistent/tables", &t, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/tables"));
}

/* Statuses: precedence, NO_BENCHMARK cells, 规下 graded against 规上 without entering it,
 * a cell exactly at the minimum size. */
static void test_statuses_and_benchmarks(void **state)
{
    (void)state;
    enum { N = 9 };
    /*            0 ok  1 ok  2 ok  3 规下 4 inc  5 va0  6 va-,inc 7 small 8 small */
    double co2[N] = {100, 200, 300, 50, 100, 100, 100, 10, 20};
    double va[N] = {100, 100, 100, 10, 100, 0, -5, 10, 10};
    double cov[N] = {1, 0.95, 0.9, 1, 0.8999, 1, 0.1, 1, 1};
    uint8_t elec[N] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    uint8_t above[N] = {1, 1, 1, 0, 1, 1, 1, 1, 1};
    uint16_t ind[N] = {3311, 3311, 3312, 3311, 3311, 3311, 3311, 2614, 2614};
    uint8_t status[N], level[N], grade[N], blevel[N];
    double L[N], K[N], bench[N];
    tx_grade_out out = {status, L, level, K, grade, bench, blevel,
                        calloc(1, sizeof(tx_grade_cells))};
    assert_non_null(out.cells);
    tx_grade_in in = {N, co2, va, cov, elec, above, ind};
    tx_grade_params gp = {0.9, 3, 2, TX_BELOW_BENCHMARK, tables.level_bounds,
                          tables.nlevel_bounds, tables.grade_bounds, tables.ngrade_bounds};
    assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
    /* Cell 33: members 0, 1, 2 (exactly 3, the minimum): 600 / 300 = 2.0. */
    assert_int_equal(out.cells->members[0][33], 3);
    assert_float_equal(out.cells->intensity[0][33], 2.0, 1e-15);
    assert_true(out.cells->has_benchmark[0][33]);
    assert_int_equal(status[0], TX_STATUS_OK);
    assert_float_equal(K[0], 0.5, 1e-15);
    assert_int_equal(grade[0], 1);
    assert_float_equal(K[1], 1.0, 1e-15);
    assert_int_equal(grade[1], 3);
    assert_float_equal(K[2], 1.5, 1e-15);
    assert_int_equal(grade[2], 4);
    assert_int_equal(level[2], 3); /* L = 3.0 > 2.0: high */
    /* 规下: graded against the 规上 benchmark, K = 5 / 2 = 2.5 -> grade 5. */
    assert_int_equal(status[3], TX_STATUS_OK);
    assert_float_equal(K[3], 2.5, 1e-15);
    assert_int_equal(grade[3], 5);
    /* Incomplete: L still reported, no level, no grade. */
    assert_int_equal(status[4], TX_STATUS_INCOMPLETE);
    assert_float_equal(L[4], 1.0, 0);
    assert_int_equal(level[4], 0);
    assert_int_equal(grade[4], 0);
    assert_true(isnan(K[4]));
    /* VA exactly 0: NOT_RATEABLE, no L; precedence over INCOMPLETE. */
    assert_int_equal(status[5], TX_STATUS_NOT_RATEABLE);
    assert_true(isnan(L[5]));
    assert_int_equal(status[6], TX_STATUS_NOT_RATEABLE);
    /* Cell 26 has 2 members: NO_BENCHMARK, level still given, no K. */
    assert_int_equal(out.cells->members[0][26], 2);
    assert_false(out.cells->has_benchmark[0][26]);
    assert_int_equal(status[7], TX_STATUS_NO_BENCHMARK);
    assert_int_equal(level[7], 2); /* L = 1.0 */
    assert_int_equal(grade[7], 0);
    assert_true(isnan(K[7]));
    assert_int_equal(level[8], 2); /* L = 2.0 exactly: medium (bounds inclusive) */

    /* With a minimum of 4, cell 33 (3 members) loses its benchmark. */
    gp.min_members = 4;
    assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
    assert_int_equal(status[0], TX_STATUS_NO_BENCHMARK);
    assert_int_equal(grade[0], 0);

    /* Level 4 with a minimum of 2: class 3311 has 2 rated 规上 members (0, 1) and is its
     * own benchmark (300 / 200 = 1.5); class 3312 has 1 and falls back to 331 (3 members,
     * 2.0). */
    gp.min_members = 2;
    gp.industry_level = 4;
    assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
    assert_int_equal(blevel[0], 4);
    assert_float_equal(bench[0], 1.5, 1e-15);
    assert_float_equal(K[0], 1.0 / 1.5, 1e-15);
    assert_int_equal(blevel[2], 3);
    assert_float_equal(bench[2], 2.0, 1e-15);
    assert_int_equal(grade[2], 4); /* K = 3 / 2 = 1.5 */
    /* 规下 not graded under TX_BELOW_NONE. */
    gp.below_scale = TX_BELOW_NONE;
    assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
    assert_int_equal(status[3], TX_STATUS_NO_BENCHMARK);
    assert_int_equal(grade[3], 0);
    assert_int_equal(status[0], TX_STATUS_OK);
    assert_int_equal(tx_industry_at_level(2614, 3), 261);
    free(out.cells);
}

/* No electricity meter means INCOMPLETE whatever the coverage. */
static void test_no_electricity_incomplete(void **state)
{
    (void)state;
    double co2 = 1, va = 1, cov = 1, L, K, bench;
    uint8_t elec = 0, above = 1, status, level, grade, blevel;
    uint16_t ind = 1311;
    tx_grade_out out = {&status, &L, &level, &K, &grade, &bench, &blevel,
                        calloc(1, sizeof(tx_grade_cells))};
    assert_non_null(out.cells);
    tx_grade_in in = {1, &co2, &va, &cov, &elec, &above, &ind};
    tx_grade_params gp = {0.9, 1, 2, TX_BELOW_BENCHMARK, tables.level_bounds,
                          tables.nlevel_bounds, tables.grade_bounds, tables.ngrade_bounds};
    assert_int_equal(tx_method_grade(&in, &gp, &out), 0);
    assert_int_equal(status, TX_STATUS_INCOMPLETE);
    free(out.cells);
}

static void meter_spec(int kind, const double *v, size_t n, const tx_event *ev, size_t nev,
                       double mult, double modulus, double capacity, double median_factor,
                       size_t stuck_steps, tx_meter_period *mp)
{
    double delta[64], work[64];
    uint8_t valid[64];
    assert_true(n <= 64);
    tx_meter_spec sp = {kind,     0,        900,           mult,        1.0, modulus,
                        0.9 * modulus, capacity, median_factor, stuck_steps, NULL, 1};
    tx_meter_scratch sc = {delta, valid, work};
    tx_method_meter_period(&sp, v, n, ev, nev, &sc, mp);
}

/* The quality filters off: what the rules of deltas and events give alone. */
static void meter(int kind, const double *v, size_t n, const tx_event *ev, size_t nev,
                  double mult, double modulus, tx_meter_period *mp)
{
    meter_spec(kind, v, n, ev, nev, mult, modulus, NAN, 0, 0, mp);
}

static void test_meter_period_cumulative(void **state)
{
    (void)state;
    tx_meter_period mp;
    /* Plain register with multiplier 2. */
    double r1[] = {100, 110, 125, 130};
    meter(TX_KIND_CUMULATIVE, r1, 4, NULL, 0, 2.0, 0, &mp);
    assert_float_equal(mp.total, 60.0, 1e-12);
    assert_int_equal(mp.nvalid, 3);
    assert_int_equal(mp.nexpected, 3);

    /* Replacement between readings 2 and 3: old register ends at 125, new starts at 0:
     * interval 2 gets (125 - 120) + (5 - 0). */
    double r2[] = {100, 110, 120, 5, 15};
    tx_event rep = {"m", 2 * 900 + 420, TX_EVENT_REPLACE, 125, 0, NAN};
    meter(TX_KIND_CUMULATIVE, r2, 5, &rep, 1, 2.0, 0, &mp);
    assert_float_equal(mp.total, 2.0 * 40, 1e-12);
    assert_int_equal(mp.nvalid, 4);
    assert_int_equal(mp.replacements, 1);
    assert_int_equal(mp.st.negatives, 0);

    /* Replacement inside a gap: bridged from the last old to the first new reading. */
    double r3[] = {100, NAN, NAN, 7};
    tx_event rep2 = {"m", 900 + 420, TX_EVENT_REPLACE, 104, 0, NAN};
    meter(TX_KIND_CUMULATIVE, r3, 4, &rep2, 1, 1.0, 0, &mp);
    assert_float_equal(mp.total, 11.0, 1e-12);
    assert_int_equal(mp.nvalid, 0);
    assert_int_equal(mp.st.gaps, 1);

    /* Multiplier change at reading 1's instant: interval 0 uses 1, intervals 1, 2 use 3. */
    double r4[] = {0, 10, 20, 30};
    tx_event mul = {"m", 900, TX_EVENT_MULTIPLIER, NAN, NAN, 3.0};
    meter(TX_KIND_CUMULATIVE, r4, 4, &mul, 1, 1.0, 0, &mp);
    assert_float_equal(mp.total, 10 + 30 + 30, 1e-12);
    assert_int_equal(mp.multiplier_changes, 1);
    assert_int_equal(mp.nvalid, 3);

    /* A multiplier event before the period applies from the start. */
    tx_event early = {"m", -5000, TX_EVENT_MULTIPLIER, NAN, NAN, 4.0};
    meter(TX_KIND_CUMULATIVE, r4, 4, &early, 1, 1.0, 0, &mp);
    assert_float_equal(mp.total, 120.0, 1e-12);

    /* Rollover of a 4-digit register, then a descent 15 -> 12 that either reading's removal
     * would mend: 15 is further from its neighbours' midpoint, so it is the spike. */
    double r5[] = {9990, 5, 15, 12, 20};
    meter(TX_KIND_CUMULATIVE, r5, 5, NULL, 0, 1.0, 10000, &mp);
    assert_int_equal(mp.st.rollovers, 1);
    assert_int_equal(mp.spikes, 1);
    assert_int_equal(mp.st.negatives, 0);
    assert_float_equal(mp.total, 15 + 7 + 8, 1e-12);
    assert_int_equal(mp.nvalid, 2);

    /* A drop no single removal mends: quarantined, never netted. */
    double r7[] = {0, 10, 20, 5, 8, 30};
    meter(TX_KIND_CUMULATIVE, r7, 6, NULL, 0, 1.0, 0, &mp);
    assert_int_equal(mp.spikes, 0);
    assert_int_equal(mp.st.negatives, 1);
    assert_float_equal(mp.total, 10 + 10 + 3 + 22, 1e-12);
    assert_int_equal(mp.nvalid, 4);

    /* Upward spike and dip: dropped, totals exact. */
    double up[] = {10, 11, 99, 12, 13};
    meter(TX_KIND_CUMULATIVE, up, 5, NULL, 0, 1.0, 0, &mp);
    assert_int_equal(mp.spikes, 1);
    assert_float_equal(mp.total, 3.0, 1e-12);
    double dip[] = {10, 11, 2, 13, 14};
    meter(TX_KIND_CUMULATIVE, dip, 5, NULL, 0, 1.0, 0, &mp);
    assert_int_equal(mp.spikes, 1);
    assert_float_equal(mp.total, 4.0, 1e-12);
    /* A replacement's descent is not a spike. */
    double rr[] = {100, 110, 3, 13};
    tx_event rep3 = {"m", 900 + 60, TX_EVENT_REPLACE, 112, 1, NAN};
    meter(TX_KIND_CUMULATIVE, rr, 4, &rep3, 1, 1.0, 0, &mp);
    assert_int_equal(mp.spikes, 0);
    assert_float_equal(mp.total, 10 + 2 + 2 + 10, 1e-12);

    /* Stuck: four zero steps in a row with a minimum run of 3. */
    double st[] = {0, 0, 0, 0, 0, 5, 5};
    meter_spec(TX_KIND_CUMULATIVE, st, 7, NULL, 0, 1.0, 0, NAN, 0, 3, &mp);
    assert_int_equal(mp.stuck_intervals, 4);
    assert_float_equal(mp.total, 5.0, 0);

    /* Gap bridged exactly: k = 2 missing readings invalidate 3 intervals. */
    double r6[] = {0, 10, NAN, NAN, 40, 50};
    meter(TX_KIND_CUMULATIVE, r6, 6, NULL, 0, 1.0, 0, &mp);
    assert_float_equal(mp.total, 50.0, 1e-12);
    assert_int_equal(mp.nvalid, 2);
    assert_int_equal(mp.st.gap_intervals, 3);
}

/* An interval meter's gaps over a long period against a plain walk: runs of missing
 * values (NaN or infinite) of random lengths, at the start, the end and everywhere between,
 * for every length up to a few vector widths and a year of 15-minute values. */
static void test_meter_period_interval_gaps(void **state)
{
    (void)state;
    const size_t nmax = 35040;
    double *v = test_malloc(nmax * sizeof *v), *delta = test_malloc(nmax * sizeof *delta);
    double *work = test_malloc(nmax * sizeof *work);
    uint8_t *valid = test_malloc(nmax);
    tx_meter_scratch sc = {delta, valid, work};
    tx_meter_spec sp = {TX_KIND_INTERVAL, 0, 900, 1.0, 1.0, 0, 0, NAN, 0, 0, NULL, 1};
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (size_t t = 0; t < 80; t++) {
        const size_t n = t < 70 ? t + 1 : nmax - (t - 70) * 7;
        for (size_t k = 0; k < n;) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t run = 1 + (size_t)(x % 9);
            const int miss = (x >> 20) % 3 == 0;
            for (size_t q = 0; q < run && k < n; q++, k++)
                v[k] = miss ? ((x >> 40) & 1 ? NAN : INFINITY) : (double)(k % 17);
        }
        uint64_t gaps = 0, missing = 0;
        for (size_t k = 0; k < n; k++) {
            const int m = !isfinite(v[k]);
            missing += (uint64_t)m;
            gaps += (uint64_t)(m && (k == 0 || isfinite(v[k - 1])));
        }
        tx_meter_period mp;
        tx_method_meter_period(&sp, v, n, NULL, 0, &sc, &mp);
        assert_int_equal(mp.st.gaps, gaps);
        assert_int_equal(mp.st.gap_intervals, missing);
        assert_int_equal(mp.nvalid, n - missing);
    }
    test_free(valid);
    test_free(work);
    test_free(delta);
    test_free(v);
}

static void test_meter_period_interval(void **state)
{
    (void)state;
    tx_meter_period mp;
    double v[] = {1, 2, 3, NAN};
    meter(TX_KIND_INTERVAL, v, 4, NULL, 0, 2.0, 0, &mp);
    assert_float_equal(mp.total, 12.0, 1e-12);
    assert_int_equal(mp.nvalid, 3);
    assert_int_equal(mp.nexpected, 4);
    assert_int_equal(mp.st.gaps, 1);
    double v2[] = {NAN, NAN, 1, NAN, 2};
    meter(TX_KIND_INTERVAL, v2, 5, NULL, 0, 1.0, 0, &mp);
    assert_int_equal(mp.st.gaps, 2);
    assert_int_equal(mp.st.gap_intervals, 3);
    assert_float_equal(mp.total, 3.0, 0);
    /* Multiplier event at label 1's instant: value 2 (covering (t1, t2]) starts at t1 and
     * uses the new multiplier; values 0 and 1 the old. */
    double w[] = {1, 1, 1, 1};
    tx_event mul = {"m", 900, TX_EVENT_MULTIPLIER, NAN, NAN, 10.0};
    meter(TX_KIND_INTERVAL, w, 4, &mul, 1, 1.0, 0, &mp);
    assert_float_equal(mp.total, 1 + 1 + 10 + 10, 1e-12);

    /* Implausible: 100 is above 20 x the median positive step (1): excluded. */
    double j[] = {1, 1, 1, 1, 100, 1};
    meter_spec(TX_KIND_INTERVAL, j, 6, NULL, 0, 1.0, 0, NAN, 20, 0, &mp);
    assert_int_equal(mp.implausible, 1);
    assert_float_equal(mp.total, 5.0, 0);
    assert_int_equal(mp.nvalid, 5);
    /* With a capacity the capacity decides: 50 excludes it, 200 keeps it. */
    meter_spec(TX_KIND_INTERVAL, j, 6, NULL, 0, 1.0, 0, 50.0, 20, 0, &mp);
    assert_int_equal(mp.implausible, 1);
    meter_spec(TX_KIND_INTERVAL, j, 6, NULL, 0, 1.0, 0, 200.0, 20, 0, &mp);
    assert_int_equal(mp.implausible, 0);
    assert_float_equal(mp.total, 105.0, 0);
    /* A register jump (飞走) over a bridged gap counts against the gap's steps. */
    double g[] = {0, 1, 2, NAN, 4, 5, 100, 101};
    meter_spec(TX_KIND_CUMULATIVE, g, 8, NULL, 0, 1.0, 0, NAN, 20, 0, &mp);
    assert_int_equal(mp.implausible, 1);
    assert_float_equal(mp.total, 1 + 1 + 2 + 1 + 1, 0);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A year of 15-minute steps: the implausible-step exclusion and the stuck runs agree with
 * plain references (sort for the median, a walk for the runs), whether the median is
 * skipped (no step near 20 x it), bracketed from the sample, or in a night-heavy profile
 * where most steps are 0. */
static void test_meter_period_long(void **state)
{
    (void)state;
    enum { N = 35040 };
    double *v = malloc(N * sizeof *v), *delta = malloc(N * sizeof *delta);
    double *work = malloc(N * sizeof *work), *pos = malloc(N * sizeof *pos);
    uint8_t *valid = malloc(N);
    assert_non_null(v);
    assert_non_null(delta);
    assert_non_null(work);
    assert_non_null(pos);
    assert_non_null(valid);
    tx_meter_scratch sc = {delta, valid, work};
    uint64_t x = 12345;
    for (int variant = 0; variant < 4; variant++) {
        /* interval values: daytime 1..1000, nights 0 (variant 2: 3/4 of the day), NaN gaps,
         * and from variant 1 on some steps around 20 x the median */
        for (size_t k = 0; k < N; k++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            int slot = (int)(k % 96), night = variant == 2 ? slot < 72 : slot < 24;
            v[k] = night ? 0.0 : (double)(1 + (x >> 33) % 1000);
            if ((x >> 20) % 997 == 0)
                v[k] = NAN;
        }
        /* The planted steps sit above the median whatever their values, so the median is
         * taken with placeholders there, then they are set just above and just below 20 x
         * it. */
        if (variant >= 1)
            for (size_t k = 500; k < N; k += 4001)
                v[k] = 1e9;
        if (variant == 3)
            v[7] = 1e12; /* one enormous step */
        size_t np = 0;
        for (size_t k = 0; k < N; k++)
            if (v[k] > 0)
                pos[np++] = v[k];
        qsort(pos, np, sizeof *pos, cmp_dbl);
        const double lim = 20.0 * pos[np / 2];
        if (variant >= 1)
            for (size_t k = 500; k < N; k += 4001)
                v[k] = lim + ((k / 4001) % 2 ? 0.5 : -0.5);
        uint32_t want = 0;
        double total = 0;
        for (size_t k = 0; k < N; k++) {
            want += v[k] > lim;
            total += isnan(v[k]) || v[k] > lim ? 0.0 : v[k];
        }
        tx_meter_spec sp = {TX_KIND_INTERVAL, 0, 900, 1.0, 1.0, 0, 0, NAN, 20, 0, NULL, 1};
        tx_meter_period mp;
        tx_method_meter_period(&sp, v, N, NULL, 0, &sc, &mp);
        if (mp.implausible != want)
            fail_msg("variant %d: %u implausible, the reference says %u", variant,
                     mp.implausible, want);
        if (variant == 0 ? want != 0 : want == 0)
            fail_msg("variant %d: the reference has %u implausible steps", variant, want);
        assert_float_equal(mp.total, total, 1e-6 * total);
    }

    /* The median's rank decides: the positive steps are N/2 of 1.0, one of 1.5 (the
     * median, rank N/2) and 2.0 for the rest, interleaved, and one suspect step between
     * 20 x 1.0 and 20 x 1.5 (kept), exactly 20 x 1.5 (kept), just above it and well above
     * it (excluded). The shortcut's lower bound (1.0) cannot clear the suspect, so the
     * exclusion is decided by counting (or by the selected median): both against sorting. */
    const double suspects[] = {25.0, 30.0, nextafter(30.0, INFINITY), 30.5};
    for (size_t c = 0; c < sizeof suspects / sizeof suspects[0]; c++) {
        size_t ones = 0;
        for (size_t k = 0; k < N; k++) {
            v[k] = k % 2 == 0 && ones < N / 2 ? 1.0 : 2.0;
            ones += v[k] == 1.0;
        }
        for (size_t k = 1; ones < N / 2; k += 2) /* (N/2 ones need every even slot) */
            if (v[k] == 2.0) {
                v[k] = 1.0;
                ones++;
            }
        v[N / 3 | 1] = 1.5; /* an odd slot, a 2.0 before */
        v[N - 5] = suspects[c];
        size_t np = 0;
        for (size_t k = 0; k < N; k++)
            pos[np++] = v[k];
        qsort(pos, np, sizeof *pos, cmp_dbl);
        assert_true(pos[np / 2] == 1.5 && pos[np / 2 - 1] == 1.0);
        const double lim = 20.0 * pos[np / 2];
        uint32_t want = 0;
        for (size_t k = 0; k < N; k++)
            want += v[k] > lim;
        tx_meter_spec sp = {TX_KIND_INTERVAL, 0, 900, 1.0, 1.0, 0, 0, NAN, 20, 0, NULL, 1};
        tx_meter_period mp;
        tx_method_meter_period(&sp, v, N, NULL, 0, &sc, &mp);
        if (mp.implausible != want)
            fail_msg("suspect %.17g: %u implausible, the reference says %u", suspects[c],
                     mp.implausible, want);
        assert_int_equal(want, c >= 2);
    }

    /* Stuck runs of a register: every run of >= S zero steps, against a plain walk. */
    const size_t S = 96;
    double r = 1000;
    for (size_t k = 0; k < N; k++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t day = k / 96;
        int still = day % 7 == 3 || (day % 11 == 5 && k % 96 < 50) || (x >> 40) % 50 == 0;
        if (!still)
            r += 0.25 * (double)(1 + (x >> 33) % 40);
        v[k] = r;
    }
    uint32_t want = 0;
    size_t run = 0;
    for (size_t k = 1; k <= N; k++) {
        if (k < N && v[k] == v[k - 1]) {
            run++;
            continue;
        }
        if (run >= S)
            want += (uint32_t)run;
        run = 0;
    }
    tx_meter_spec sp = {TX_KIND_CUMULATIVE, 0, 900, 1.0, 1.0, 0, 0, NAN, 0, S, NULL, 1};
    tx_meter_period mp;
    tx_method_meter_period(&sp, v, N, NULL, 0, &sc, &mp);
    assert_true(want > 0);
    assert_int_equal(mp.stuck_intervals, want);
    free(v);
    free(delta);
    free(work);
    free(pos);
    free(valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section4_worked_example),
        cmocka_unit_test(test_section5_worked_example),
        cmocka_unit_test(test_reduction_nbs),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_grid_factor_fallback),
        cmocka_unit_test(test_tables_contents),
        cmocka_unit_test(test_tables_bad_dir),
        cmocka_unit_test(test_statuses_and_benchmarks),
        cmocka_unit_test(test_no_electricity_incomplete),
        cmocka_unit_test(test_meter_period_cumulative),
        cmocka_unit_test(test_meter_period_interval),
        cmocka_unit_test(test_meter_period_interval_gaps),
        cmocka_unit_test(test_meter_period_long),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
