/* test_mujun.c - the 亩均效益 evaluation (METHOD.md section 6): hand-computed terms and
 * scores, the pollutant-mean rule, caps, missing inputs, who is evaluated, class counts and
 * ties, ranks, and the profile table (the shipped one and broken ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mujun.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TABLES TX_SOURCE_DIR "/datasets/tables"
#define TMPDIR TX_BINARY_DIR "/tests/test_mujun.tmp"

static tx_mujun_profile prof; /* the shipped huangyan_2022, loaded once */

static int setup(void **state)
{
    (void)state;
    tx_err err = {0};
    int rc = tx_mujun_profile_load(TABLES, "huangyan_2022", &prof, &err);
    if (rc)
        fprintf(stderr, "profile: %s\n", err.msg);
    if (mkdir(TX_BINARY_DIR "/tests", 0777) && errno != EEXIST)
        return -1;
    if (mkdir(TMPDIR, 0777) && errno != EEXIST)
        return -1;
    return rc;
}

/* ---- a fixture of n enterprises: every input missing, every output buffer allocated ---- */

typedef struct {
    size_t n;
    uint8_t *above, *complete;
    double *land, *va, *tax, *rev, *rd, *emp, *pol, *tce, *kwh;
    uint8_t *group, *cls, *flags;
    double *score, *term[TX_MUJUN_NTERMS], *value[TX_MUJUN_NTERMS];
    uint32_t *rank;
    void *wksp;
    tx_mujun_in in;
    tx_mujun_out out;
} fx;

static double *nan_array(size_t n)
{
    double *a = test_malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = NAN;
    return a;
}

static uint8_t *byte_array(size_t n, uint8_t v)
{
    uint8_t *a = test_malloc(n ? n : 1);
    memset(a, v, n);
    return a;
}

static fx *fx_new(size_t n)
{
    fx *f = test_malloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->n = n;
    f->above = byte_array(n, 1);
    f->complete = byte_array(n, 1);
    double **in[] = {&f->land, &f->va, &f->tax, &f->rev, &f->rd,
                     &f->emp,  &f->pol, &f->tce, &f->kwh, &f->score};
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++)
        *in[k] = nan_array(n);
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        f->term[k] = nan_array(n);
        f->value[k] = nan_array(n);
    }
    f->group = byte_array(n, 0xEE);
    f->cls = byte_array(n, 0xEE);
    f->flags = byte_array(n, 0xEE);
    f->rank = test_malloc((n ? n : 1) * sizeof *f->rank);
    f->wksp = test_malloc(tx_mujun_wksp_size(n) ? tx_mujun_wksp_size(n) : 1);
    f->in = (tx_mujun_in){.n = n,
                          .above = f->above,
                          .land_mu = f->land,
                          .value_added = f->va,
                          .tax = f->tax,
                          .revenue = f->rev,
                          .rd_expense = f->rd,
                          .employees = f->emp,
                          .pollutant_t = f->pol,
                          .energy_tce_equal_value = f->tce,
                          .electricity_kwh = f->kwh,
                          .energy_complete = f->complete};
    f->out.group = f->group;
    f->out.score = f->score;
    f->out.rank = f->rank;
    f->out.cls = f->cls;
    f->out.flags = f->flags;
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        f->out.term[k] = f->term[k];
        f->out.value[k] = f->value[k];
    }
    return f;
}

static void fx_free(fx *f)
{
    double *d[] = {f->land, f->va, f->tax, f->rev, f->rd, f->emp, f->pol, f->tce, f->kwh,
                   f->score};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        test_free(d[k]);
    for (int k = 0; k < TX_MUJUN_NTERMS; k++) {
        test_free(f->term[k]);
        test_free(f->value[k]);
    }
    test_free(f->above);
    test_free(f->complete);
    test_free(f->group);
    test_free(f->cls);
    test_free(f->flags);
    test_free(f->rank);
    test_free(f->wksp);
    test_free(f);
}

static void fx_run(fx *f, const tx_mujun_profile *p)
{
    assert_int_equal(tx_mujun_evaluate(p, &f->in, &f->out, f->wksp, tx_mujun_wksp_size(f->n)),
                     TX_OK);
}

/* A complete 规上 enterprise: every ratio a round number (see test_above_terms). */
static void set_full_above(fx *f, size_t i)
{
    f->above[i] = 1;
    f->land[i] = 20;
    f->tax[i] = 482;   /* 24.1 万元/亩 */
    f->va[i] = 2000;   /* 100 万元/亩 */
    f->tce[i] = 500;   /* 4 万元/tce */
    f->pol[i] = 0.5;   /* 4000 万元/t */
    f->emp[i] = 100;   /* 20 万元/人 */
    f->rd[i] = 60;
    f->rev[i] = 3000;  /* 0.02 */
    f->kwh[i] = 1e6;   /* not used by 规上 */
}

#define TOL 1e-9

/* ---- the shipped profile ------------------------------------------------------------- */

static void test_shipped_profile(void **state)
{
    (void)state;
    assert_string_equal(prof.id, "huangyan_2022");
    assert_int_equal(prof.year, 2022);
    static const double w[6] = {30, 20, 20, 10, 10, 10};
    static const double b[6] = {24.097, 136.16, 2.694, 4929.81, 18.14, 0.0302};
    for (int k = 0; k < TX_MUJUN_NABOVE; k++) {
        assert_true(prof.above[k].weight == w[k]);
        assert_true(prof.above[k].benchmark == b[k]);
        assert_true(isnan(prof.above[k].cap));
    }
    assert_true(prof.below[TX_MUJUN_BELOW_TAX_PER_MU].weight == 50);
    assert_true(prof.below[TX_MUJUN_BELOW_TAX_PER_MU].benchmark == 11.5932);
    assert_true(prof.below[TX_MUJUN_BELOW_TAX_PER_KWH].weight == 50);
    assert_true(prof.below[TX_MUJUN_BELOW_TAX_PER_KWH].benchmark == 0.2352);
    assert_true(isnan(prof.below[0].cap) && isnan(prof.below[1].cap));
    assert_true(prof.below_min_land_mu == 3);
    for (int g = 0; g < 2; g++) {
        assert_true(prof.share[g][0] == 0.10);
        assert_true(prof.share[g][1] == 0.35);
        assert_true(prof.share[g][2] == 0.10);
    }
    assert_string_equal(prof.file, "mujun_profiles.csv");
    assert_true(prof.file_checksum != 0);

    tx_mujun_profile p;
    tx_err err = {0};
    assert_int_equal(tx_mujun_profile_load(TABLES, "nowhere_1999", &p, &err), TX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no profile 'nowhere_1999'"));
    assert_int_equal(tx_mujun_profile_load(TMPDIR "/absent", "huangyan_2022", &p, &err),
                     TX_ENOTFOUND);
    assert_int_equal(tx_mujun_profile_load(NULL, "huangyan_2022", &p, &err), TX_EINVAL);
}

/* ---- hand-computed terms -------------------------------------------------------------- */

static void test_above_terms(void **state)
{
    (void)state;
    fx *f = fx_new(1);
    set_full_above(f, 0);
    fx_run(f, &prof);
    assert_int_equal(f->group[0], TX_MUJUN_ABOVE);
    assert_int_equal(f->flags[0], 0);
    /* value / benchmark x weight, by hand:
     *   tax_per_mu       482/20 = 24.1     / 24.097  x 30 = 30.0037349048
     *   va_per_mu        2000/20 = 100     / 136.16  x 20 = 14.6886016451
     *   va_per_tce       2000/500 = 4      / 2.694   x 20 = 29.6956198961
     *   va_per_pollutant 2000/0.5 = 4000   / 4929.81 x 10 =  8.1139029699
     *   va_per_employee  2000/100 = 20     / 18.14   x 10 = 11.0253583241
     *   rd_ratio         60/3000 = 0.02    / 0.0302  x 10 =  6.6225165563
     *   score                                            = 100.1497342963 */
    static const double v[6] = {24.1, 100, 4, 4000, 20, 0.02};
    static const double t[6] = {30.0037349048, 14.6886016451, 29.6956198961,
                                8.1139029699,  11.0253583241, 6.6225165563};
    for (int k = 0; k < 6; k++) {
        assert_float_equal(f->value[k][0], v[k], TOL);
        assert_float_equal(f->term[k][0], t[k], 1e-9);
    }
    assert_float_equal(f->score[0], 100.1497342963, 1e-9);
    assert_int_equal(f->rank[0], 1);
    assert_int_equal(f->cls[0], TX_MUJUN_CLS_C); /* n = 1: no A, B or D */
    fx_free(f);
}

static void test_below_terms(void **state)
{
    (void)state;
    fx *f = fx_new(1);
    f->above[0] = 0;
    f->land[0] = 5;
    f->tax[0] = 20;    /* 4 万元/亩 */
    f->kwh[0] = 5e5;   /* 20 x 10^4 元 / 5 x 10^5 kWh = 0.4 元/kWh */
    f->tce[0] = 140.39; /* not used by 规下 */
    fx_run(f, &prof);
    assert_int_equal(f->group[0], TX_MUJUN_BELOW);
    assert_int_equal(f->flags[0], 0);
    /* 4 / 11.5932 x 50 = 17.2514922541; 0.4 / 0.2352 x 50 = 85.0340136054 */
    assert_float_equal(f->value[0][0], 4.0, TOL);
    assert_float_equal(f->value[1][0], 0.4, TOL);
    assert_float_equal(f->term[0][0], 17.2514922541, 1e-9);
    assert_float_equal(f->term[1][0], 85.0340136054, 1e-9);
    assert_float_equal(f->score[0], 102.2855058595, 1e-9);
    for (int k = 2; k < TX_MUJUN_NTERMS; k++)
        assert_true(isnan(f->term[k][0]) && isnan(f->value[k][0]));
    fx_free(f);
}

/* A cap bounds a term's points; without one (the default) a term may exceed its weight. */
static void test_cap(void **state)
{
    (void)state;
    tx_mujun_profile p = prof;
    p.above[TX_MUJUN_VA_PER_TCE].cap = 20; /* at most its weight */
    p.below[TX_MUJUN_BELOW_TAX_PER_KWH].cap = 75;
    fx *f = fx_new(2);
    set_full_above(f, 0);
    f->above[1] = 0;
    f->land[1] = 5;
    f->tax[1] = 20;
    f->kwh[1] = 5e5;
    fx_run(f, &p);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_TCE][0], 20.0, 0);
    assert_float_equal(f->value[TX_MUJUN_VA_PER_TCE][0], 4.0, TOL); /* value uncapped */
    assert_float_equal(f->score[0], 100.1497342963 - 29.6956198961 + 20, 1e-9);
    assert_float_equal(f->term[1][1], 75.0, 0);
    assert_float_equal(f->score[1], 17.2514922541 + 75, 1e-9);
    /* uncapped: 29.70 > weight 20 */
    fx_run(f, &prof);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_TCE][0], 29.6956198961, 1e-9);
    /* a term below its cap is untouched */
    p.above[TX_MUJUN_VA_PER_TCE].cap = 40;
    fx_run(f, &p);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_TCE][0], 29.6956198961, 1e-9);
    fx_free(f);
}

/* Missing pollutant data and zero emissions take the mean of the term over the group's
 * enterprises with non-zero data (a 0 term among them included). */
static void test_pollutant_mean(void **state)
{
    (void)state;
    fx *f = fx_new(7);
    for (size_t i = 0; i < 7; i++)
        set_full_above(f, i);
    f->va[1] = 1000; /* pollutant 2 t: 500 万元/t -> 500 / 4929.81 x 10 = 1.0142378712 */
    f->pol[1] = 2;
    f->pol[2] = NAN; /* missing: mean */
    f->pol[3] = 0;   /* outside the source lists: mean */
    f->va[4] = -50;  /* has data, scores 0 on the term, counts in the mean */
    f->pol[4] = 1;
    f->above[5] = 0; /* 规下: not in the 规上 group's mean */
    f->land[5] = 10;
    f->tax[5] = 10;
    f->above[6] = 1; /* 规上 not evaluated (no land): not in the mean */
    f->land[6] = NAN;
    f->va[6] = 1e9;
    f->pol[6] = 1e-3;
    fx_run(f, &prof);
    const int P = TX_MUJUN_VA_PER_POLLUTANT;
    double mean = (8.1139029699 + 1.0142378712 + 0) / 3;
    assert_float_equal(f->term[P][0], 8.1139029699, 1e-9);
    assert_float_equal(f->term[P][1], 1.0142378712, 1e-9);
    assert_float_equal(f->term[P][2], mean, 1e-9);
    assert_float_equal(f->term[P][3], mean, 1e-9);
    assert_float_equal(f->term[P][4], 0, 0);
    assert_float_equal(f->value[P][4], -50.0, TOL);
    assert_true(isnan(f->value[P][2]) && isnan(f->value[P][3]));
    assert_int_equal(f->flags[2], TX_MUJUN_F_POLLUTANT_MEAN);
    assert_int_equal(f->flags[3], TX_MUJUN_F_POLLUTANT_MEAN);
    assert_int_equal(f->flags[0] | f->flags[1] | f->flags[4], 0);
    assert_int_equal(f->group[5], TX_MUJUN_BELOW);
    assert_int_equal(f->group[6], TX_MUJUN_NOT_EVALUATED);
    /* the mean enters the score */
    assert_float_equal(f->score[2], 100.1497342963 - 8.1139029699 + mean, 1e-9);

    /* A group without any pollutant data: the mean of nothing is 0. */
    for (size_t i = 0; i < 7; i++)
        f->pol[i] = (i % 2) ? 0 : NAN;
    fx_run(f, &prof);
    for (size_t i = 0; i < 5; i++) {
        assert_float_equal(f->term[P][i], 0, 0);
        assert_true(f->flags[i] & TX_MUJUN_F_POLLUTANT_MEAN);
    }

    /* The mean is over capped terms. */
    tx_mujun_profile p = prof;
    p.above[P].cap = 5;
    for (size_t i = 0; i < 7; i++)
        set_full_above(f, i);
    f->pol[1] = NAN;
    f->va[2] = 1000;
    f->pol[2] = 2;
    fx_run(f, &p);
    assert_float_equal(f->term[P][1], (5 * 5 + 1.0142378712) / 6, 1e-9);
    fx_free(f);
}

/* Any other missing input scores 0 and is flagged; a value <= 0 or a zero denominator
 * scores 0 without the flag; incomplete energy is used as measured and flagged. */
static void test_missing_and_zero(void **state)
{
    (void)state;
    fx *f = fx_new(8);
    for (size_t i = 0; i < 8; i++)
        set_full_above(f, i);
    f->tax[0] = NAN;
    f->tce[1] = NAN;
    f->emp[2] = NAN;
    f->rd[3] = NAN;
    f->rev[4] = NAN;
    f->emp[5] = 0;   /* zero denominator */
    f->rev[5] = 0;
    f->tce[5] = 0;
    f->tax[6] = -3;  /* value <= 0 */
    f->va[6] = 0;
    f->complete[7] = 0;
    f->tce[7] = 250; /* measured, incomplete: 8 万元/tce -> 59.3912397921 */
    fx_run(f, &prof);
    const int missing_term[5] = {TX_MUJUN_TAX_PER_MU, TX_MUJUN_VA_PER_TCE,
                                 TX_MUJUN_VA_PER_EMPLOYEE, TX_MUJUN_RD_RATIO,
                                 TX_MUJUN_RD_RATIO};
    static const double full[6] = {30.0037349048, 14.6886016451, 29.6956198961,
                                   8.1139029699,  11.0253583241, 6.6225165563};
    for (size_t i = 0; i < 5; i++) {
        int k = missing_term[i];
        assert_int_equal(f->group[i], TX_MUJUN_ABOVE);
        assert_int_equal(f->flags[i], TX_MUJUN_F_MISSING);
        assert_float_equal(f->term[k][i], 0, 0);
        assert_true(isnan(f->value[k][i]));
        assert_float_equal(f->score[i], 100.1497342963 - full[k], 1e-9);
    }
    assert_int_equal(f->flags[5], 0);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_EMPLOYEE][5], 0, 0);
    assert_float_equal(f->term[TX_MUJUN_RD_RATIO][5], 0, 0);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_TCE][5], 0, 0);
    assert_true(isnan(f->value[TX_MUJUN_VA_PER_EMPLOYEE][5]));
    assert_int_equal(f->flags[6], 0);
    assert_int_equal(f->group[6], TX_MUJUN_ABOVE); /* VA 0 is present */
    assert_float_equal(f->score[6], 6.6225165563, 1e-9); /* rd_ratio alone */
    assert_float_equal(f->value[TX_MUJUN_TAX_PER_MU][6], -0.15, TOL);
    assert_float_equal(f->value[TX_MUJUN_VA_PER_MU][6], 0, 0);
    assert_int_equal(f->rank[6], 8);
    assert_int_equal(f->flags[7], TX_MUJUN_F_ENERGY_INCOMPLETE);
    assert_float_equal(f->term[TX_MUJUN_VA_PER_TCE][7], 59.3912397921, 1e-9);

    /* 规下: without financials both terms score 0 and are flagged; without kWh one. */
    fx *g = fx_new(3);
    for (size_t i = 0; i < 3; i++) {
        g->above[i] = 0;
        g->land[i] = 4;
        g->kwh[i] = 1e5;
    }
    g->tax[1] = 8;
    g->kwh[1] = NAN;
    g->tax[2] = 8;
    g->complete[2] = 0;
    g->kwh[2] = 0; /* zero denominator */
    fx_run(g, &prof);
    assert_int_equal(g->group[0], TX_MUJUN_BELOW);
    assert_float_equal(g->score[0], 0, 0);
    assert_int_equal(g->flags[0], TX_MUJUN_F_MISSING);
    assert_int_equal(g->flags[1], TX_MUJUN_F_MISSING);
    assert_float_equal(g->term[0][1], 2.0 / 11.5932 * 50, 1e-12);
    assert_float_equal(g->term[1][1], 0, 0);
    assert_int_equal(g->flags[2], TX_MUJUN_F_ENERGY_INCOMPLETE);
    assert_float_equal(g->term[1][2], 0, 0);
    fx_free(g);

    /* NULL optional arrays: every such input missing; NULL term/value outputs skipped. */
    f->in.tax = f->in.revenue = f->in.rd_expense = f->in.employees = NULL;
    f->in.pollutant_t = f->in.energy_tce_equal_value = f->in.electricity_kwh = NULL;
    f->in.energy_complete = NULL;
    for (int k = 0; k < TX_MUJUN_NTERMS; k++)
        f->out.term[k] = f->out.value[k] = NULL;
    fx_run(f, &prof);
    assert_int_equal(f->flags[0], TX_MUJUN_F_MISSING | TX_MUJUN_F_POLLUTANT_MEAN);
    assert_float_equal(f->score[0], 14.6886016451, 1e-9); /* va_per_mu alone */
    fx_free(f);
}

/* Who is evaluated (METHOD.md: 规上 land > 0 and VA present; 规下 land >= 3). */
static void test_evaluated(void **state)
{
    (void)state;
    fx *f = fx_new(9);
    for (size_t i = 0; i < 9; i++)
        set_full_above(f, i);
    f->land[0] = NAN;           /* 规上 without land */
    f->land[1] = 0;             /* 规上 with land 0 */
    f->va[2] = NAN;             /* 规上 without VA */
    f->land[3] = NAN;           /* both */
    f->va[3] = NAN;
    f->land[4] = 0.01;          /* 规上 with a little land: evaluated */
    f->above[5] = 0;            /* 规下 2.9 亩 */
    f->land[5] = 2.9;
    f->above[6] = 0;            /* 规下 exactly 3 亩, no VA needed */
    f->land[6] = 3;
    f->va[6] = NAN;
    f->above[7] = 0;            /* 规下 without land */
    f->land[7] = NAN;
    f->above[8] = 0;            /* 规下 with financials missing entirely */
    f->land[8] = 3.5;
    f->tax[8] = f->va[8] = NAN;
    fx_run(f, &prof);
    static const uint8_t group[9] = {0, 0, 0, 0, 1, 0, 2, 0, 2};
    static const uint8_t flags[9] = {TX_MUJUN_F_NO_LAND,
                                     TX_MUJUN_F_NO_LAND,
                                     TX_MUJUN_F_NO_VA,
                                     TX_MUJUN_F_NO_LAND | TX_MUJUN_F_NO_VA,
                                     0,
                                     TX_MUJUN_F_NO_LAND,
                                     0,
                                     TX_MUJUN_F_NO_LAND,
                                     TX_MUJUN_F_MISSING};
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(f->group[i], group[i]);
        assert_int_equal(f->flags[i], flags[i]);
        if (!group[i]) {
            assert_true(isnan(f->score[i]));
            assert_int_equal(f->rank[i], 0);
            assert_int_equal(f->cls[i], TX_MUJUN_CLS_NONE);
            for (int k = 0; k < TX_MUJUN_NTERMS; k++)
                assert_true(isnan(f->term[k][i]) && isnan(f->value[k][i]));
        } else {
            assert_true(isfinite(f->score[i]));
        }
    }
    /* each group ranked on its own: 4 alone in 规上; 6 before 8 (score 0) in 规下 */
    assert_int_equal(f->rank[4], 1);
    assert_int_equal(f->rank[6], 1);
    assert_int_equal(f->rank[8], 2);
    assert_float_equal(f->score[8], 0, 0);
    fx_free(f);
}

/* ---- classes and ranks -------------------------------------------------------------- */

static void test_class_counts(void **state)
{
    (void)state;
    static const struct {
        size_t n, a, b, c, d;
    } cases[] = {
        {0, 0, 0, 0, 0},   {1, 0, 0, 1, 0},    {2, 0, 1, 1, 0},    {3, 0, 1, 2, 0},
        {4, 0, 1, 3, 0},   {5, 1, 2, 1, 1},    /* 0.5 -> 1, 1.75 -> 2 */
        {10, 1, 4, 4, 1},  /* 3.5 -> 4 */      {11, 1, 4, 5, 1}, /* 1.1, 3.85 */
        {15, 2, 5, 6, 2},  /* 1.5 -> 2, 5.25 -> 5 */
        {20, 2, 7, 9, 2},  {21, 2, 7, 10, 2}, /* 2.1, 7.35 */
        {90, 9, 32, 40, 9}, /* 31.5 -> 32 although 0.35 x 90 < 31.5 in binary */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t c[4];
        tx_mujun_class_counts(prof.share[0], cases[k].n, c);
        assert_int_equal(c[0], cases[k].a);
        assert_int_equal(c[1], cases[k].b);
        assert_int_equal(c[2], cases[k].c);
        assert_int_equal(c[3], cases[k].d);
    }
    /* Counts never exceed n: shares 0.6/0.6/0.6 are clamped in the order A, B, D. */
    static const double big[3] = {0.6, 0.6, 0.6};
    size_t c[4];
    tx_mujun_class_counts(big, 5, c);
    assert_int_equal(c[0], 3);
    assert_int_equal(c[1], 2);
    assert_int_equal(c[2], 0);
    assert_int_equal(c[3], 0);
}

/* n 规下 enterprises with the given scores' tax (score proportional to tax, kWh missing). */
static fx *below_group(size_t n, const double *tax)
{
    fx *f = fx_new(n);
    for (size_t i = 0; i < n; i++) {
        f->above[i] = 0;
        f->land[i] = 10;
        f->tax[i] = tax[i];
    }
    return f;
}

/* Distinct scores: class sizes are exactly the counts; evaluation agrees with them. */
static void test_class_boundaries(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 5, 10, 11, 20, 21};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        double tax[21];
        /* scores in a scrambled order so that sorting matters */
        for (size_t i = 0; i < n; i++)
            tax[i] = (double)((i * 13) % n + 1); /* 13 is prime to every n here */
        fx *f = below_group(n, tax);
        fx_run(f, &prof);
        size_t counts[4], got[5] = {0};
        tx_mujun_class_counts(prof.share[1], n, counts);
        for (size_t i = 0; i < n; i++) {
            /* rank = 1 + number of higher scores = n + 1 - tax */
            assert_int_equal(f->rank[i], n + 1 - (size_t)tax[i]);
            size_t pos = f->rank[i] - 1;
            uint8_t want = pos < counts[0]                ? TX_MUJUN_CLS_A
                           : pos < counts[0] + counts[1] ? TX_MUJUN_CLS_B
                           : pos >= n - counts[3]         ? TX_MUJUN_CLS_D
                                                          : TX_MUJUN_CLS_C;
            assert_int_equal(f->cls[i], want);
            got[f->cls[i]]++;
        }
        for (int c = 0; c < 4; c++)
            assert_int_equal(got[c + 1], counts[c]);
        fx_free(f);
    }
}

/* Equal scores share the better class and the same rank. */
static void test_ties(void **state)
{
    (void)state;
    /* n = 10: A 1, B 4, C 4, D 1 (positions 0 | 1-4 | 5-8 | 9). */
    {
        /* ties across A/B (positions 0-1), B/C (4-5) and C/D (8-9) */
        static const double tax[10] = {10, 10, 9, 8, 7, 7, 6, 5, 4, 4};
        static const uint32_t rank[10] = {1, 1, 3, 4, 5, 5, 7, 8, 9, 9};
        static const uint8_t cls[10] = {1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
        fx *f = below_group(10, tax);
        fx_run(f, &prof);
        for (size_t i = 0; i < 10; i++) {
            assert_int_equal(f->rank[i], rank[i]);
            assert_int_equal(f->cls[i], cls[i]);
        }
        fx_free(f);
    }
    {
        /* n = 11: A 1, B 4, C 5, D 1 (positions 0 | 1-4 | 5-9 | 10): a tie over the last
         * two positions starts in C, so D stays empty */
        static const double tax[11] = {20, 19, 19, 18, 17, 16, 15, 14, 13, 2, 2};
        static const uint32_t rank[11] = {1, 2, 2, 4, 5, 6, 7, 8, 9, 10, 10};
        static const uint8_t cls[11] = {1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3};
        fx *f = below_group(11, tax);
        fx_run(f, &prof);
        for (size_t i = 0; i < 11; i++) {
            assert_int_equal(f->rank[i], rank[i]);
            assert_int_equal(f->cls[i], cls[i]);
        }
        fx_free(f);
    }
    {
        /* n = 20: A 2, B 7, C 9, D 2 (positions 0-1 | 2-8 | 9-17 | 18-19): a tie wholly
         * inside D stays D; a tie over the A/B boundary (1-2) is A, so A has 3 members */
        double tax[20];
        for (size_t i = 0; i < 20; i++)
            tax[i] = 21.0 - (double)i;
        tax[2] = tax[1];
        tax[19] = tax[18];
        fx *f = below_group(20, tax);
        fx_run(f, &prof);
        size_t got[5] = {0};
        for (size_t i = 0; i < 20; i++)
            got[f->cls[i]]++;
        assert_int_equal(f->rank[1], 2);
        assert_int_equal(f->rank[2], 2);
        assert_int_equal(f->rank[3], 4);
        assert_int_equal(f->rank[18], 19);
        assert_int_equal(f->rank[19], 19);
        assert_int_equal(f->cls[2], TX_MUJUN_CLS_A);
        assert_int_equal(f->cls[18], TX_MUJUN_CLS_D);
        assert_int_equal(f->cls[19], TX_MUJUN_CLS_D);
        assert_int_equal(got[1], 3);
        assert_int_equal(got[2], 6);
        assert_int_equal(got[3], 9);
        assert_int_equal(got[4], 2);
        fx_free(f);
    }
    {
        /* all equal: all rank 1, all A (n = 10), and so for the zero scores */
        double tax[10];
        for (size_t i = 0; i < 10; i++)
            tax[i] = 5;
        fx *f = below_group(10, tax);
        fx_run(f, &prof);
        for (size_t i = 0; i < 10; i++) {
            assert_int_equal(f->rank[i], 1);
            assert_int_equal(f->cls[i], TX_MUJUN_CLS_A);
        }
        for (size_t i = 0; i < 10; i++)
            f->tax[i] = NAN;
        fx_run(f, &prof);
        for (size_t i = 0; i < 10; i++) {
            assert_float_equal(f->score[i], 0, 0);
            assert_int_equal(f->rank[i], 1);
            assert_int_equal(f->cls[i], TX_MUJUN_CLS_A);
        }
        fx_free(f);
    }
    {
        /* n = 1 to 4 have no A: a tie block at the top starts in B (n >= 2) or C (n = 1) */
        static const double tax[4] = {3, 3, 3, 1};
        static const uint8_t cls[4] = {2, 2, 2, 3};
        fx *f = below_group(4, tax);
        fx_run(f, &prof);
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(f->cls[i], cls[i]);
        assert_int_equal(f->rank[3], 4);
        fx_free(f);
    }
}

/* The two groups are ranked and classed apart, whatever their order in the arrays. */
static void test_groups_apart(void **state)
{
    (void)state;
    fx *f = fx_new(10);
    for (size_t i = 0; i < 10; i++) {
        if (i % 2) {
            set_full_above(f, i);
            f->tax[i] = 100.0 * (double)i;
        } else {
            f->above[i] = 0;
            f->land[i] = 10;
            f->tax[i] = (double)i + 1;
        }
    }
    fx_run(f, &prof);
    /* 5 per group: A 1, B 2, C 1, D 1, by descending tax */
    static const uint8_t cls[10] = {4, 4, 3, 3, 2, 2, 2, 2, 1, 1};
    static const uint32_t rank[10] = {5, 5, 4, 4, 3, 3, 2, 2, 1, 1};
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(f->group[i], (i % 2) ? TX_MUJUN_ABOVE : TX_MUJUN_BELOW);
        assert_int_equal(f->cls[i], cls[i]);
        assert_int_equal(f->rank[i], rank[i]);
    }
    fx_free(f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    fx *f = fx_new(3);
    for (size_t i = 0; i < 3; i++)
        set_full_above(f, i);
    size_t ws = tx_mujun_wksp_size(3);
    assert_int_equal(tx_mujun_evaluate(NULL, &f->in, &f->out, f->wksp, ws), TX_EINVAL);
    assert_int_equal(tx_mujun_evaluate(&prof, NULL, &f->out, f->wksp, ws), TX_EINVAL);
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, NULL, f->wksp, ws), TX_EINVAL);
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, &f->out, NULL, ws), TX_EINVAL);
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, &f->out, f->wksp, ws - 1), TX_EINVAL);
    f->in.land_mu = NULL;
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, &f->out, f->wksp, ws), TX_EINVAL);
    f->in.land_mu = f->land;
    f->out.rank = NULL;
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, &f->out, f->wksp, ws), TX_EINVAL);
    f->out.rank = f->rank;
    f->in.n = 0; /* nothing to do, no workspace needed */
    assert_int_equal(tx_mujun_evaluate(&prof, &f->in, &f->out, NULL, 0), TX_OK);
    assert_int_equal(tx_mujun_wksp_size(SIZE_MAX), SIZE_MAX);
    fx_free(f);
}

/* ---- broken profile files ------------------------------------------------------------ */

static const char good_profile[] =
    "profile,year,group,indicator,weight,benchmark,cap,value,unit,tag,source\n"
    "t,2024,above,tax_per_mu,30,24.097,,,x,U,s\n"       /* line 2 */
    "t,2024,above,va_per_mu,20,136.16,,,x,U,s\n"        /* 3 */
    "t,2024,above,va_per_tce,20,2.694,40,,x,U,s\n"      /* 4 */
    "t,2024,above,va_per_pollutant,10,4929.81,,,x,U,s\n" /* 5 */
    "t,2024,above,va_per_employee,10,18.14,,,x,U,s\n"   /* 6 */
    "t,2024,above,rd_ratio,10,0.0302,,,x,U,s\n"         /* 7 */
    "t,2024,below,tax_per_mu,50,11.5932,,,x,U,s\n"      /* 8 */
    "t,2024,below,tax_per_kwh,50,0.2352,,,x,U,s\n"      /* 9 */
    "t,2024,below,min_land_mu,,,,3,x,U,s\n"             /* 10 */
    "t,2024,above,class_A,,,,0.1,x,U,s\n"               /* 11 */
    "t,2024,above,class_B,,,,0.35,x,U,s\n"              /* 12 */
    "t,2024,above,class_D,,,,0.1,x,U,s\n"               /* 13 */
    "t,2024,below,class_A,,,,0.2,x,U,s\n"               /* 14 */
    "t,2024,below,class_B,,,,0.3,x,U,s\n"               /* 15 */
    "t,2024,below,class_D,,,,0.2,x,U,s\n";              /* 16 */

static void write_profile(const char *text)
{
    FILE *fp = fopen(TMPDIR "/" TX_MUJUN_FILE, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* good_profile with the first `from` replaced by `to`, plus `append`. */
static void write_variant(const char *from, const char *to, const char *append)
{
    char buf[4096];
    const char *at = from ? strstr(good_profile, from) : NULL;
    if (from)
        assert_non_null(at);
    if (at)
        snprintf(buf, sizeof buf, "%.*s%s%s%s", (int)(at - good_profile), good_profile, to,
                 at + strlen(from), append ? append : "");
    else
        snprintf(buf, sizeof buf, "%s%s", good_profile, append ? append : "");
    write_profile(buf);
}

static void expect_error(int code, const char *where)
{
    tx_mujun_profile p;
    tx_err err = {0};
    assert_int_equal(tx_mujun_profile_load(TMPDIR, "t", &p, &err), code);
    if (!strstr(err.msg, where))
        fail_msg("message '%s' lacks '%s'", err.msg, where);
}

static void test_profile_file(void **state)
{
    (void)state;
    tx_mujun_profile p;
    tx_err err = {0};
    write_profile(good_profile);
    assert_int_equal(tx_mujun_profile_load(TMPDIR, "t", &p, &err), TX_OK);
    assert_int_equal(p.year, 2024);
    assert_true(p.above[TX_MUJUN_VA_PER_TCE].cap == 40);
    assert_true(isnan(p.above[TX_MUJUN_TAX_PER_MU].cap));
    assert_true(p.share[1][0] == 0.2 && p.share[1][1] == 0.3 && p.share[1][2] == 0.2);

    const char *f = TX_MUJUN_FILE;
    char where[128];
#define AT(line) (snprintf(where, sizeof where, "%s:%d: ", f, line), where)
    write_variant("va_per_mu", "va_per_acre", NULL);
    expect_error(TX_ETABLE, AT(3));
    write_variant(",136.16,", ",13x6,", NULL);
    expect_error(TX_ETABLE, AT(3));
    write_variant(",136.16,", ",0,", NULL);
    expect_error(TX_ETABLE, AT(3));
    write_variant(",2.694,40,", ",2.694,0,", NULL); /* cap 0 */
    expect_error(TX_ETABLE, AT(4));
    write_variant("rd_ratio,10,", "rd_ratio,-1,", NULL);
    expect_error(TX_ETABLE, AT(7));
    write_variant("rd_ratio,10,", "rd_ratio,,", NULL); /* no weight */
    expect_error(TX_ETABLE, AT(7));
    write_variant("rd_ratio,10,0.0302,,", "rd_ratio,10,0.0302,,1", NULL); /* value set */
    expect_error(TX_ETABLE, AT(7));
    write_variant("t,2024,below,tax_per_kwh", "t,2025,below,tax_per_kwh", NULL);
    expect_error(TX_ETABLE, AT(9));
    write_variant("t,2024,above,class_A", "t,20x4,above,class_A", NULL);
    expect_error(TX_ETABLE, AT(11));
    write_variant("above,class_B,,,,0.35", "above,class_B,1,,,0.35", NULL); /* weight set */
    expect_error(TX_ETABLE, AT(12));
    write_variant("above,class_B,,,,0.35", "above,class_B,,,,1.35", NULL);
    expect_error(TX_ETABLE, AT(12));
    write_variant("above,class_B,,,,0.35", "above,class_B,,,,0.85", NULL); /* sum 1.05 */
    expect_error(TX_ETABLE, AT(13));
    write_variant("below,min_land_mu", "above,min_land_mu", NULL);
    expect_error(TX_ETABLE, AT(10));
    write_variant("below,min_land_mu,,,,3", "below,min_land_mu,,,,-3", NULL);
    expect_error(TX_ETABLE, AT(10));
    write_variant("t,2024,below,class_D", "t,2024,middle,class_D", NULL);
    expect_error(TX_ETABLE, AT(16));
    write_variant(NULL, NULL, "t,2024,above,va_per_mu,20,136.16,,,x,U,s\n");
    expect_error(TX_ETABLE, AT(17));
    write_variant(NULL, NULL, "other,2024,above,va_per_mu,20,-1,,,x,U,s\n"); /* other profile */
    expect_error(TX_ETABLE, AT(17));
    write_variant(NULL, NULL, "t,2024,above\n"); /* short row */
    expect_error(TX_ETABLE, AT(17));
    write_variant("t,2024,below,tax_per_kwh,50,0.2352,,,x,U,s\n", "", NULL);
    expect_error(TX_ETABLE, "profile 't' has no below/tax_per_kwh row");
    write_variant("t,2024,below,class_D,,,,0.2,x,U,s\n", "", NULL);
    expect_error(TX_ETABLE, "profile 't' has no below/class_D row");
    write_variant(",value,", ",val,", NULL);
    expect_error(TX_EPARSE, "missing required column 'value'");
    write_profile("");
    expect_error(TX_EPARSE, f);
    write_variant("t,2024,above,tax_per_mu", "t\"x,2024,above,tax_per_mu", NULL); /* quoting */
    expect_error(TX_EPARSE, AT(2));
#undef AT
    /* the duplicate names its first occurrence */
    write_variant(NULL, NULL, "t,2024,above,va_per_mu,20,136.16,,,x,U,s\n");
    assert_int_equal(tx_mujun_profile_load(TMPDIR, "t", &p, &err), TX_ETABLE);
    assert_non_null(strstr(err.msg, "duplicate row (first at line 3)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_profile), cmocka_unit_test(test_above_terms),
        cmocka_unit_test(test_below_terms),     cmocka_unit_test(test_cap),
        cmocka_unit_test(test_pollutant_mean),  cmocka_unit_test(test_missing_and_zero),
        cmocka_unit_test(test_evaluated),       cmocka_unit_test(test_class_counts),
        cmocka_unit_test(test_class_boundaries), cmocka_unit_test(test_ties),
        cmocka_unit_test(test_groups_apart),    cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_profile_file),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
