/*
 * txgen.c - the synthetic city: catalogue, financials, deflators, injected faults, and the
 * per-slot series and truth. The CSV writer is in txgen_csv.c.
 *
 * Randomness is counter based: every draw is a hash of (seed, what, index, ...), so an
 * enterprise's attributes depend only on the seed and its index, and a meter's value at a
 * slot only on the meter's key, the year and the slot. Nothing depends on call order, and
 * txg_meter_series needs no state beyond the immutable city.
 *
 * The catalogue (annual scales, value added, land area) uses exp() from the C library and is
 * rounded to 0.01 afterwards; the per-slot series use integer arithmetic only.
 */
#include "txgen_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const txg_params TXG_PARAMS_DEFAULT = {
    .seed = 1,
    .n_enterprises = 200,
    .report_year = 2025,
    .base_year = 2020,
    .faults = 1,
    .n_divisions = 0,
};

/* ---- hashing and draws -------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

uint64_t txg_hash(uint64_t key, uint64_t a, uint64_t b)
{
    uint64_t x = mix64(key ^ (a * UINT64_C(0x9e3779b97f4a7c15) + UINT64_C(0x632be59bd9b4e019)));
    return mix64(x ^ (b * UINT64_C(0xc2b2ae3d27d4eb4f) + UINT64_C(0x165667b19e3779f9)));
}

/* A short sequential stream for one catalogue item, seeded by a hash. */
typedef struct {
    uint64_t s;
} rng_t;

static rng_t rng_at(uint64_t seed, uint64_t what, uint64_t index)
{
    rng_t r = {txg_hash(seed, what, index)};
    return r;
}

static uint64_t rng_next(rng_t *r)
{
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(r->s);
}

static double rng_u01(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_uniform(rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_u01(r);
}

static uint64_t rng_below(rng_t *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

/* Standard normal by Irwin-Hall (12 uniforms): bounded tails, no libm. */
static double rng_normal(rng_t *r)
{
    double s = 0;
    for (int k = 0; k < 12; k++)
        s += rng_u01(r);
    return s - 6.0;
}

static double rng_lognormal(rng_t *r, double median, double sigma)
{
    return median * exp(sigma * rng_normal(r));
}

static int64_t round_h(double x) /* to hundredths */
{
    return (int64_t)floor(x * 100.0 + 0.5);
}

/* ---- reference data embedded in the generator --------------------------------------- */

/* GB/T 4754-2017 manufacturing divisions with real 4-digit classes, ordered so that the
 * first few (used by small test cities, n_divisions = k) differ in carbon intensity. L is a
 * typical CO2 intensity (tCO2 per 万元 of value added) the generator aims at. */
typedef struct {
    const char *code;
    double L;
    int weight; /* share in a full city (Ningbo-like mix) */
    int process_heat;
    const char *words[3];
    const char *cluster;
    const char *classes[7];
} division_info;

static const division_info divisions[] = {
    {"38", 0.35, 10, 0, {"电器", "电机", "电气"}, "慈溪家电产业集群",
     {"3813", "3825", "3831", "3841", "3851", "3871", NULL}},
    {"34", 0.30, 10, 0, {"机械", "轴承", "液压"}, "宁波高端装备产业集群",
     {"3411", "3442", "3451", "3484", "3491", NULL}},
    {"26", 2.00, 6, 1, {"化工", "新材料", "化学"}, "镇海石化产业集群",
     {"2613", "2614", "2631", "2641", "2651", NULL}},
    {"29", 0.80, 8, 0, {"塑业", "橡塑", "塑胶"}, "余姚塑料产业集群", {"2911", "2922", "2927", NULL}},
    {"33", 0.70, 8, 0, {"五金", "金属制品", "紧固件"}, "宁波五金产业集群",
     {"3311", "3340", "3360", "3391", NULL}},
    {"17", 1.20, 5, 1, {"纺织", "印染", "织造"}, "宁波纺织服装产业集群", {"1711", "1713", "1752", NULL}},
    {"36", 0.30, 8, 0, {"汽车部件", "汽配", "车业"}, "宁波汽车零部件产业集群", {"3612", "3670", NULL}},
    {"35", 0.25, 7, 0, {"模具", "装备", "精机"}, "宁海模具产业集群",
     {"3511", "3523", "3525", "3562", NULL}},
    {"39", 0.30, 6, 0, {"电子", "光电", "半导体"}, "宁波集成电路产业集群",
     {"3914", "3971", "3973", "3982", NULL}},
    {"30", 2.50, 3, 1, {"建材", "玻璃", "新型材料"}, NULL, {"3011", "3021", "3041", NULL}},
    {"32", 1.50, 3, 1, {"铜业", "铝业", "有色金属"}, "宁波新材料产业集群", {"3211", "3216", "3251", NULL}},
    {"31", 3.00, 1, 1, {"钢铁", "特钢", "钢材"}, NULL, {"3110", "3120", "3130", NULL}},
    {"22", 2.00, 2, 1, {"纸业", "包装", "纸品"}, NULL, {"2221", "2231", NULL}},
    {"28", 1.80, 2, 1, {"化纤", "纤维", "新材料"}, "镇海石化产业集群", {"2822", NULL}},
    {"13", 0.50, 2, 1, {"食品", "粮油", "水产"}, NULL, {"1331", "1361", "1391", NULL}},
    {"14", 0.60, 1, 1, {"食品", "乳业", "调味品"}, NULL, {"1441", "1461", NULL}},
    {"15", 0.50, 1, 1, {"酒业", "饮品", "茶业"}, NULL, {"1514", "1530", NULL}},
    {"18", 0.20, 5, 0, {"服饰", "制衣", "服装"}, "宁波纺织服装产业集群", {"1819", "1830", NULL}},
    {"19", 0.25, 1, 0, {"鞋业", "皮革", "制鞋"}, NULL, {"1951", "1952", NULL}},
    {"20", 0.60, 1, 0, {"木业", "板材", "竹木"}, NULL, {"2021", NULL}},
    {"21", 0.30, 2, 0, {"家具", "家居", "木器"}, NULL, {"2110", "2130", NULL}},
    {"23", 0.40, 1, 0, {"印务", "彩印", "印刷"}, NULL, {"2319", NULL}},
    {"24", 0.30, 3, 0, {"文具", "玩具", "文体用品"}, "宁海文具产业集群", {"2411", "2452", NULL}},
    {"25", 3.00, 1, 1, {"石化", "能源", "炼化"}, "镇海石化产业集群", {"2511", NULL}},
    {"27", 0.40, 2, 1, {"制药", "药业", "生物医药"}, NULL, {"2710", "2720", NULL}},
    {"37", 0.35, 2, 0, {"船舶", "轨道交通", "海工"}, NULL, {"3714", "3731", NULL}},
    {"40", 0.20, 3, 0, {"仪表", "仪器", "智能仪表"}, NULL, {"4011", "4012", NULL}},
    {"41", 0.50, 2, 0, {"实业", "日用品", "家居用品"}, NULL, {"4111", "4190", NULL}},
    {"42", 0.80, 1, 0, {"再生资源", "资源利用", "环保"}, NULL, {"4210", "4220", NULL}},
    {"43", 0.30, 1, 0, {"设备维修", "机电工程", "检修"}, NULL, {"4310", "4320", NULL}},
};
#define NDIV (sizeof divisions / sizeof divisions[0])

/* The ten districts of datasets/tables/districts.csv, weighted by industrial weight. */
static const struct {
    const char *code;
    int weight;
} districts[] = {
    {"330203", 8}, {"330205", 6}, {"330206", 14}, {"330211", 8},  {"330212", 16},
    {"330213", 7}, {"330225", 5}, {"330226", 8},  {"330281", 14}, {"330282", 14},
};
#define NDISTRICT (sizeof districts / sizeof districts[0])

static const char *const syllables[] = {
    "甬", "海", "天", "华", "丰", "盛", "鑫", "泰", "恒", "达", "宏", "远", "通", "明",
    "瑞", "兴", "顺", "利", "金", "诚", "信", "博", "力", "中", "东", "方", "新", "光",
    "荣", "吉", "安", "康", "德", "永", "昌", "隆", "富", "源", "星", "辰", "成", "益",
    "嘉", "和", "君", "宇", "凯", "越", "腾", "捷", "港", "舜", "慈", "明", "鄞", "象",
};
#define NSYLL (sizeof syllables / sizeof syllables[0])

/* Spring Festival (month, day) for 2000..2035; other years use Feb 5. */
static const unsigned char spring_festival[][2] = {
    {2, 5},  {1, 24}, {2, 12}, {2, 1},  {1, 22}, {2, 9},  {1, 29}, {2, 18}, {2, 7},
    {1, 26}, {2, 14}, {2, 3},  {1, 23}, {2, 10}, {1, 31}, {2, 19}, {2, 8},  {1, 28},
    {2, 16}, {2, 5},  {1, 25}, {2, 12}, {2, 1},  {1, 22}, {2, 10}, {1, 29}, {2, 17},
    {2, 6},  {1, 26}, {2, 13}, {2, 3},  {1, 23}, {2, 11}, {1, 31}, {2, 19}, {2, 8},
};

/* Hourly load shape (x100) per shift pattern; normalised to mean 1 at city creation. */
static const int shape_raw[3][24] = {
    {18, 18, 18, 18, 18, 18, 18, 50, 100, 100, 100, 100, 70, 100, 100, 100, 100, 60, 22, 22, 22,
     22, 22, 22},
    {25, 25, 25, 25, 25, 25, 50, 100, 100, 100, 100, 100, 85, 100, 100, 100, 100, 100, 85, 100,
     100, 100, 100, 60},
    {96, 96, 95, 95, 95, 96, 98, 88, 100, 100, 100, 100, 97, 100, 100, 88, 100, 100, 100, 100,
     100, 99, 98, 88},
};
/* Monday..Sunday (x100) per shift pattern. */
static const int week_raw[3][7] = {
    {100, 100, 100, 100, 100, 45, 30},
    {100, 100, 100, 100, 100, 70, 50},
    {100, 100, 100, 100, 100, 95, 90},
};

static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* ---- small helpers -------------------------------------------------------------------- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t pow10_i(int d)
{
    int64_t v = 1;
    while (d-- > 0)
        v *= 10;
    return v;
}

static uint64_t mulq(uint64_t a, uint64_t q16)
{
    return (uint64_t)(((unsigned __int128)a * q16) >> 16);
}

/* cos(2 pi num / den) in Q16 by the parabolic sine approximation (integer only). */
static int64_t cos_q16(int64_t num, int64_t den)
{
    int64_t u = ((num % den) + den) % den;
    int64_t x = (2 * u * 65536) / den + 32768;
    x %= 131072;
    if (x < 65536)
        return 4 * x * (65536 - x) / 65536;
    x -= 65536;
    return -(4 * x * (65536 - x) / 65536);
}

/* A hash as a noise factor 1 + sigma z in Q16, z ~ Irwin-Hall(4) scaled to unit variance. */
static uint64_t noise_q16(uint64_t h, int32_t sigma)
{
    int64_t s = (int64_t)(h & 0xffff) + (int64_t)((h >> 16) & 0xffff) +
                (int64_t)((h >> 32) & 0xffff) + (int64_t)(h >> 48);
    int64_t f = 65536 + (int64_t)sigma * (s - 131070) / 37838;
    return f > 0 ? (uint64_t)f : 0;
}

static int32_t q16(double x)
{
    return (int32_t)floor(x * 65536.0 + 0.5);
}

/* ---- the per-slot model --------------------------------------------------------------- */

int64_t txg_year_intervals(const txg_city *c, size_t m, int yi)
{
    return (int64_t)c->ndays[yi] * (1440 / c->met[m].interval_minutes);
}

/* Day factor (Q16) of a load profile: weekday, season, holidays, day noise. */
static uint64_t load_day_factor(const txg_city *c, const txg_meter_gen *g, int yi, int64_t d)
{
    int sh = g->shift - 1;
    int dow = (int)((c->dow0[yi] + d) % 7);
    uint64_t f = (uint64_t)c->week_q16[sh][dow];
    int64_t season = 65536 + (int64_t)g->season_q16 * cos_q16(d - 205, c->ndays[yi]) / 65536;
    f = mulq(f, (uint64_t)season);
    int64_t o = d - c->cny[yi];
    int32_t hol = 65536;
    if (o >= -10 && o <= -6)
        hol = 52429; /* 0.80 */
    else if (o >= -5 && o <= 6)
        hol = 19661; /* 0.30 */
    else if (o >= 7 && o <= 12)
        hol = 42598; /* 0.65 */
    else if (o >= 13 && o <= 16)
        hol = 58982; /* 0.90 */
    else if (d >= c->natday[yi] && d < c->natday[yi] + 7)
        hol = 45875; /* 0.70 */
    if (g->shift == 3)
        hol = 65536 - (65536 - hol) / 2; /* continuous plants stop less */
    f = mulq(f, (uint64_t)hol);
    if (g->sigma_day)
        f = mulq(f, noise_q16(txg_hash(g->key, (uint64_t)c->year[yi] | UINT64_C(1) << 32,
                                       (uint64_t)d),
                              g->sigma_day));
    return f;
}

/* PV day: peak irradiance by season times the day's weather (Q16); half the day length. */
static uint64_t pv_day_factor(const txg_city *c, const txg_meter_gen *g, int yi, int64_t d,
                              int64_t *half_min)
{
    int64_t cs = cos_q16(d - 172, c->ndays[yi]); /* 1 at the June solstice */
    *half_min = 363 + 57 * cs / 65536;
    uint64_t peak = (uint64_t)(42598 + 19661 * (cs + 65536) / 131072); /* 0.65 .. 0.95 */
    uint64_t h = txg_hash(g->key, (uint64_t)c->year[yi] | UINT64_C(2) << 32, (uint64_t)d);
    uint64_t u = h & 0xffff;                     /* cloudiness */
    uint64_t w = 65536 - (55705 * (u * u >> 16) >> 16); /* 1 - 0.85 u^2 */
    if (d >= 158 && d <= 190)                    /* plum rains */
        w = w * 7 / 10;
    return mulq(mulq(peak, w), 45875); /* performance ratio 0.70 */
}

static void cursor_day(txg_cursor *cu, int64_t d)
{
    if (cu->g->profile == TXG_PROF_PV)
        cu->dayf = pv_day_factor(cu->c, cu->g, cu->yi, d, &cu->half_min);
    else
        cu->dayf = load_day_factor(cu->c, cu->g, cu->yi, d);
    cu->day = d;
}

/* Consumption of interval i (1..n) in hundredths. */
static int64_t cursor_inc(txg_cursor *cu, int64_t i)
{
    const txg_meter_gen *g = cu->g;
    int64_t d = (i - 1) / cu->spd, s = (i - 1) % cu->spd;
    if (d != cu->day)
        cursor_day(cu, d);
    uint64_t v = mulq(g->rate_q16[cu->yi], cu->dayf);
    if (g->profile == TXG_PROF_PV) {
        /* irradiance 4x(1-x) from sunrise to sunset around solar noon (11:54 in Ningbo,
         * 121.5 E), at the interval's midpoint; times in half-minutes */
        int64_t mid2 = 2 * s * cu->step + cu->step, h2 = 2 * cu->half_min;
        int64_t x = mid2 - (2 * 714 - h2);
        if (x <= 0 || x >= 2 * h2)
            return 0;
        int64_t xq = x * 65536 / (2 * h2);
        v = mulq(v, (uint64_t)(4 * xq * (65536 - xq) / 65536));
    } else if (cu->step < 1440) {
        v = mulq(v, (uint64_t)cu->c->shape_q16[g->shift - 1][s * cu->step / 60]);
    }
    v = mulq(v, noise_q16(txg_hash(g->key, (uint64_t)cu->c->year[cu->yi], (uint64_t)i),
                          g->sigma_slot));
    return (int64_t)((v + 32768) >> 16);
}

void txg_cursor_init(txg_cursor *cu, const txg_city *c, size_t m, int yi)
{
    const txg_meter_gen *g = &c->gen[m];
    memset(cu, 0, sizeof *cu);
    cu->c = c;
    cu->g = g;
    cu->yi = yi;
    cu->step = c->met[m].interval_minutes;
    cu->spd = 1440 / cu->step;
    cu->n = (int64_t)c->ndays[yi] * cu->spd;
    cu->day = -1;
    cu->mrun = g->miss0;
    cu->mend = (size_t)g->miss0 + g->nmiss;
    while (cu->mrun < cu->mend && c->runs[cu->mrun].yi < yi)
        cu->mrun++;
    cu->erun = g->est0;
    cu->eend = (size_t)g->est0 + g->nest;
    while (cu->erun < cu->eend && c->runs[cu->erun].yi < yi)
        cu->erun++;
    if (c->met[m].kind == TX_KIND_CUMULATIVE) {
        cu->reg = g->start[yi];
        cu->value = cu->reg;
        cu->present = 1;
    }
}

static int in_run(const txg_run *runs, size_t *k, size_t end, int yi, int64_t i)
{
    while (*k < end && runs[*k].yi == yi && runs[*k].i0 + runs[*k].len <= i)
        (*k)++;
    return *k < end && runs[*k].yi == yi && i >= runs[*k].i0;
}

void txg_cursor_next(txg_cursor *cu)
{
    const txg_meter_gen *g = cu->g;
    int64_t i = ++cu->i;
    int64_t inc = cursor_inc(cu, i);
    int fx = g->fx_yi == cu->yi ? g->fx : TXG_FX_NONE;
    cu->wrapped = cu->replaced = cu->flags = 0;
    if (fx == TXG_FX_STUCK && i >= g->fx_i && i < g->fx_i + g->fx_len)
        inc = 0; /* the register stands still: not measured */
    if (fx == TXG_FX_MULTIPLIER && i > g->fx_i) {
        inc = (inc + g->fx_mult / 2) / g->fx_mult;
        cu->flags |= TXG_CF_NEWMULT;
    }
    cu->inc = inc;
    if (g->fs) { /* cumulative (interval meters have no register: fs = 0) */
        int64_t prev = cu->reg;
        if (g->repl_yi == cu->yi && i == g->repl_i) {
            cu->reg = g->repl_new + (inc - g->repl_partial);
            cu->replaced = 1;
        } else if (fx == TXG_FX_NEGATIVE && i == g->fx_i) {
            cu->reg = prev / 5; /* a reset without an event; this interval is lost */
            cu->flags |= TXG_CF_NEGATIVE;
        } else if (fx == TXG_FX_IMPLAUSIBLE && i == g->fx_i) {
            cu->reg += inc + g->fx_amount;
            cu->flags |= TXG_CF_IMPLAUSIBLE;
        } else {
            cu->reg += inc;
        }
        if (cu->reg >= g->fs) {
            cu->reg -= g->fs;
            cu->wrapped = 1;
        }
        cu->value = cu->reg;
        if ((fx == TXG_FX_SPIKE_UP || fx == TXG_FX_SPIKE_DOWN) && i == g->fx_i) {
            cu->value = fx == TXG_FX_SPIKE_UP ? cu->reg + g->fx_amount : prev / 10;
            cu->flags |= TXG_CF_SPIKE;
        }
    } else {
        cu->value = inc;
        if (fx == TXG_FX_IMPLAUSIBLE && i == g->fx_i) {
            cu->value = inc * 1000;
            cu->flags |= TXG_CF_IMPLAUSIBLE;
        }
    }
    cu->present = !in_run(cu->c->runs, &cu->mrun, cu->mend, cu->yi, i);
    cu->quality = (uint8_t)in_run(cu->c->runs, &cu->erun, cu->eend, cu->yi, i);
}

/* ---- catalogue ------------------------------------------------------------------------ */

enum {
    ROLE_INCOMPLETE = 1,
    ROLE_ROLLOVER = 2,
    ROLE_REPLACE = 4,
    ROLE_NOFIN = 8,
    ROLE_VANEG = 16,
    ROLE_VAZERO = 32,
    ROLE_UNRATED = ROLE_INCOMPLETE | ROLE_NOFIN | ROLE_VANEG | ROLE_VAZERO,
};

/* Kinds of meter a fault asks for (next_meter). */
enum { WANT_CUM_EL, WANT_INTERVAL, WANT_ANY, WANT_CUM_FINE, WANT_CUM, WANT_KINDS };

/* Per-enterprise generation state, needed only while the city is built. */
typedef struct {
    int div;
    int cls;
    int shift;
    int role;
    double scale[TXG_MAX_YEARS]; /* energy of the year relative to the report year */
    double e_kwh, gas_m3, water_m3, steam_t, heat_gj, diesel_kg, pv_kwp;
    double lnoise, imp;
    size_t el1;
} ent_gen;

typedef struct {
    txg_city *c;
    ent_gen *eg;
    size_t *perm;
    size_t cap_runs, cap_faults, cap_csvx;
    size_t next_pos[WANT_KINDS]; /* per WANT_* kind: where next_meter resumes in the meter order */
} builder;

static int last_yi(const txg_city *c)
{
    return c->ny - 1;
}

static int64_t slot_jan1(const txg_city *c, int yi, int step)
{
    return (c->t0[yi] - TX_EPOCH_UNIX) / ((int64_t)step * 60);
}

static void ent_basic(txg_city *c, size_t i, ent_gen *e)
{
    rng_t r = rng_at(c->p.seed, 1, i);
    size_t k = (size_t)c->p.n_divisions;
    if (k > 0) {
        e->div = (int)((i + txg_hash(c->p.seed, 2, 0) % k) % k);
    } else {
        int tot = 0;
        for (size_t d = 0; d < NDIV; d++)
            tot += divisions[d].weight;
        int x = (int)rng_below(&r, (uint64_t)tot);
        size_t d = 0;
        while (x >= divisions[d].weight)
            x -= divisions[d++].weight;
        e->div = (int)d;
    }
    const division_info *di = &divisions[e->div];
    int ncls = 0;
    while (ncls < 7 && di->classes[ncls])
        ncls++;
    e->cls = (int)rng_below(&r, (uint64_t)ncls);
    int tot = 0;
    for (size_t d = 0; d < NDISTRICT; d++)
        tot += districts[d].weight;
    int x = (int)rng_below(&r, (uint64_t)tot);
    size_t d = 0;
    while (x >= districts[d].weight)
        x -= districts[d++].weight;

    tx_enterprise *en = &c->ent[i];
    memcpy(en->industry, di->classes[e->cls], 5);
    memcpy(en->district, districts[d].code, 7);
    en->above_scale = rng_u01(&r) < 0.85;
    double u = rng_u01(&r);
    if (di->L >= 1.5)
        e->shift = u < 0.7 ? 3 : 2;
    else
        e->shift = u < 0.3 ? 1 : u < 0.7 ? 2 : 3;
    c->industry_prefix[i] = rng_u01(&r) < 0.2;
}

/* GB 11714 check character of an 8-character organisation code body. */
static char org_check(const char *body)
{
    static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int k = 0; k < 8; k++) {
        char ch = body[k];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch - 'A' + 10;
        sum += v * w[k];
    }
    int cc = 11 - sum % 11;
    return cc == 10 ? 'X' : cc == 11 ? '0' : (char)('0' + cc);
}

static void make_uscc(txg_city *c, size_t i, uint64_t attempt)
{
    rng_t r = rng_at(c->p.seed, 3, i ^ (attempt << 40));
    char *s = c->ent[i].id;
    s[0] = '9';
    s[1] = '1';
    memcpy(s + 2, c->ent[i].district, 6);
    char body[9];
    if (rng_u01(&r) < 0.5) { /* registered after 2015: "MA" + 6 characters */
        body[0] = 'M';
        body[1] = 'A';
        for (int k = 2; k < 8; k++)
            body[k] = uscc_chars[rng_below(&r, 31)];
    } else { /* an older organisation code: 8 digits */
        body[0] = (char)('5' + rng_below(&r, 5));
        for (int k = 1; k < 8; k++)
            body[k] = (char)('0' + rng_below(&r, 10));
    }
    memcpy(s + 8, body, 8);
    s[16] = org_check(body);
    s[17] = tx_uscc_check_char(s);
    s[18] = '\0';
}

typedef struct {
    char id[TX_USCC_LEN + 1];
    size_t idx;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int d = strcmp(x->id, y->id);
    return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Makes the USCCs unique: the later of two equal codes draws again. */
static int unique_usccs(txg_city *c)
{
    id_ref *refs = malloc(c->nent * sizeof *refs);
    if (!refs)
        return TX_ENOMEM;
    for (uint64_t attempt = 1;; attempt++) {
        for (size_t i = 0; i < c->nent; i++) {
            memcpy(refs[i].id, c->ent[i].id, sizeof refs[i].id);
            refs[i].idx = i;
        }
        qsort(refs, c->nent, sizeof *refs, cmp_id_ref);
        int dup = 0;
        for (size_t i = 1; i < c->nent; i++)
            if (strcmp(refs[i].id, refs[i - 1].id) == 0) {
                make_uscc(c, refs[i].idx, attempt);
                dup = 1;
            }
        if (!dup)
            break;
    }
    free(refs);
    return TX_OK;
}

static void make_name(txg_city *c, size_t i, const ent_gen *e, int special)
{
    rng_t r = rng_at(c->p.seed, 4, i);
    const division_info *di = &divisions[e->div];
    size_t a = rng_below(&r, NSYLL), b = rng_below(&r, NSYLL - 1);
    if (b >= a)
        b++;
    const char *word = di->words[rng_below(&r, 3)];
    double u = rng_u01(&r);
    const char *suffix = u < 0.7 ? "有限公司" : u < 0.9 ? "科技有限公司" : "股份有限公司";
    char *n = c->ent[i].name;
    if (special == 2 || (special == 0 && rng_below(&r, 40) == 0))
        snprintf(n, TX_NAME_CAP, "宁波%s%s%s%s(一厂,二厂)", syllables[a], syllables[b], word,
                 suffix);
    else if (special == 3)
        snprintf(n, TX_NAME_CAP, "宁波\"%s%s\"%s%s", syllables[a], syllables[b], word, suffix);
    else
        snprintf(n, TX_NAME_CAP, "宁波%s%s%s%s", syllables[a], syllables[b], word, suffix);
    const char *cl = di->cluster;
    if (cl && rng_u01(&r) < 0.6)
        snprintf(c->ent[i].cluster, TX_CLUSTER_CAP, "%s", cl);
    double land = c->ent[i].above_scale ? rng_lognormal(&r, 30, 0.8) : rng_lognormal(&r, 8, 0.6);
    u = rng_u01(&r);
    c->ent[i].land_area_mu = u < 0.04 ? NAN : u < 0.06 ? 0.0 : (double)round_h(land) / 100.0;
}

/* Annual scales of one enterprise (report year; the base year through scale[]). */
static void ent_quantities(txg_city *c, size_t i, ent_gen *e)
{
    rng_t r = rng_at(c->p.seed, 5, i);
    const division_info *di = &divisions[e->div];
    int above = c->ent[i].above_scale;
    double E = rng_lognormal(&r, 3e6, 1.1) * (above ? 1.0 : 0.12) * (di->L >= 1.5 ? 2.0 : 1.0);
    E = E < 3e4 ? 3e4 : E > 5e8 ? 5e8 : E;
    e->e_kwh = E;
    double heat_mult = di->process_heat ? 3.0 : 1.0;
    e->gas_m3 = rng_u01(&r) < (di->process_heat ? 0.7 : 0.3)
                    ? E * 0.05 * heat_mult * rng_lognormal(&r, 1, 0.8)
                    : 0;
    e->water_m3 = E * 0.01 * heat_mult * rng_lognormal(&r, 1, 0.8);
    e->steam_t = rng_u01(&r) < (di->process_heat ? 0.30 : 0.05)
                     ? E * 0.002 * rng_lognormal(&r, 1, 0.6)
                     : 0;
    e->heat_gj = rng_u01(&r) < 0.05 ? E * 0.003 * rng_lognormal(&r, 1, 0.6) : 0;
    e->diesel_kg = rng_u01(&r) < 0.10 ? E * 0.003 * rng_lognormal(&r, 1, 0.6) : 0;
    e->pv_kwp = rng_u01(&r) < (above ? 0.25 : 0.08)
                    ? floor(E / 8760.0 * rng_uniform(&r, 0.2, 0.8) * 10 + 0.5) / 10
                    : 0;
    if (e->pv_kwp > 0 && e->pv_kwp < 5)
        e->pv_kwp = 5;
    int span = c->year[last_yi(c)] - c->year[0];
    double g_e = c->ny > 1 ? rng_lognormal(&r, 1.0 + 0.02 * span, 0.15) : 1.0;
    e->scale[last_yi(c)] = 1.0;
    if (c->ny > 1)
        e->scale[0] = 1.0 / g_e;
    e->imp = rng_lognormal(&r, pow(1.03, span), 0.10);
    e->lnoise = rng_lognormal(&r, 1.0, 0.5);
}

static int add_meter(txg_city *c, size_t ei, const char *suffix, int carrier, int unit,
                     int kind, int step, double mult)
{
    size_t m = c->nmet++;
    tx_meter *mt = &c->met[m];
    snprintf(mt->id, sizeof mt->id, "E%06zu-%s", ei + 1, suffix);
    memcpy(mt->enterprise_id, c->ent[ei].id, sizeof mt->enterprise_id);
    mt->carrier = (uint8_t)carrier;
    mt->unit = (uint8_t)unit;
    mt->kind = (uint8_t)kind;
    mt->interval_minutes = (uint16_t)step;
    mt->multiplier = mult;
    mt->capacity = NAN;
    mt->register_digits = 0;
    txg_meter_gen *g = &c->gen[m];
    memset(g, 0, sizeof *g);
    g->key = txg_hash(c->p.seed ^ UINT64_C(0x5eed), ei, txg_hash(0, carrier, (uint64_t)suffix[0] << 8 |
                                                               (uint64_t)suffix[strlen(suffix) - 1]));
    g->ent = (uint32_t)ei;
    g->repl_yi = -1;
    g->fx_yi = -1;
    return (int)m;
}

/* Sets the mean rates of a load-profile meter from its report-year annual quantity
 * (canonical unit, after the multiplier), and the register when cumulative. */
static void meter_rates(txg_city *c, size_t m, const ent_gen *e, double annual, int digits,
                        int publish_digits, rng_t *r)
{
    tx_meter *mt = &c->met[m];
    txg_meter_gen *g = &c->gen[m];
    double per_unit = tx_unit_to_canonical(mt->unit) * mt->multiplier;
    double amax = 0;
    for (int yi = 0; yi < c->ny; yi++) {
        double units = annual * e->scale[yi] / per_unit;
        double n = (double)txg_year_intervals(c, m, yi);
        g->rate_q16[yi] = (uint64_t)floor(units * 100.0 / n * 65536.0 + 0.5);
        amax = units * 100.0 > amax ? units * 100.0 : amax;
    }
    if (mt->kind != TX_KIND_CUMULATIVE)
        return;
    int64_t a = (int64_t)ceil(amax);
    while ((double)pow10_i(digits + 2) < 8.0 * (double)a) /* extreme tails only */
        digits++;
    g->fs = pow10_i(digits + 2);
    if (publish_digits)
        mt->register_digits = (uint8_t)digits;
    int ly = last_yi(c);
    g->start[ly] = 2 * a + (int64_t)rng_below(r, (uint64_t)(g->fs - 5 * a));
    if (c->ny > 1)
        g->start[0] = (int64_t)rng_below(r, (uint64_t)(g->fs - 3 * a));
}

/* Register digits so that a year uses at most 1/8 of the register. */
static int register_digits_for(double amax_units, int lo, int hi, rng_t *r)
{
    int d = lo;
    while (d < hi && (double)pow10_i(d) < 8.0 * amax_units)
        d++;
    if (d < hi && rng_u01(r) < 0.3)
        d++;
    return d;
}

static double max_scale(const txg_city *c, const ent_gen *e)
{
    double s = 0;
    for (int yi = 0; yi < c->ny; yi++)
        s = e->scale[yi] > s ? e->scale[yi] : s;
    return s;
}

static void make_meters(txg_city *c, size_t i, ent_gen *e)
{
    rng_t r = rng_at(c->p.seed, 6, i);
    double smax = max_scale(c, e);
    int has_el2 = rng_u01(&r) < 0.15;
    int el2_step = rng_u01(&r) < 0.5 ? 15 : 30;
    double share1 = has_el2 ? 0.7 : 1.0;
    static const double mults[] = {1, 30, 50, 80, 100, 200, 400};

    for (int k = 0; k < 1 + has_el2; k++) {
        double annual = e->e_kwh * (k == 0 ? share1 : 1.0 - share1);
        double amax_kwh = annual * smax;
        int mi = 0;
        for (int j = 6; j >= 0; j--)
            if (amax_kwh / mults[j] >= 3e4) {
                mi = j;
                break;
            }
        if (mi > 0 && rng_u01(&r) < 0.3)
            mi--;
        double mult = mults[mi];
        int digits = register_digits_for(amax_kwh / mult, 6, 8, &r);
        size_t m = (size_t)add_meter(c, i, k == 0 ? "EL1" : "EL2", TX_CARRIER_ELECTRICITY,
                                     TX_UNIT_KWH, TX_KIND_CUMULATIVE, k == 0 ? 15 : el2_step, mult);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->season_q16 = q16(0.10);
        g->sigma_slot = q16(0.12);
        g->sigma_day = q16(0.06);
        meter_rates(c, m, e, annual, digits, 1, &r);
        if (rng_u01(&r) < 0.5)
            c->met[m].capacity = ceil(6.0 * amax_kwh / 8760.0);
        if (k == 0)
            e->el1 = m;
    }
    if (e->gas_m3 > 0) {
        double amax = e->gas_m3 * smax;
        /* big consumers are often metered in 10^4 m3 (coarse: 0.01 unit = 100 m3) */
        int unit = amax > 2e7 || (amax > 5e6 && rng_u01(&r) < 0.5) ? TX_UNIT_E4M3 : TX_UNIT_M3;
        double units = amax / tx_unit_to_canonical(unit);
        int digits = register_digits_for(units, 5, 9, &r);
        size_t m = (size_t)add_meter(c, i, "GAS1", TX_CARRIER_NATURAL_GAS, unit,
                                     TX_KIND_CUMULATIVE, 60, 1);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->season_q16 = q16(-0.20);
        g->sigma_slot = q16(0.18);
        g->sigma_day = q16(0.10);
        meter_rates(c, m, e, e->gas_m3, digits, rng_u01(&r) < 0.7, &r);
        if (rng_u01(&r) < 0.4)
            c->met[m].capacity = ceil(6.0 * units / 8760.0 * 100) / 100;
    }
    {
        int cum = rng_u01(&r) < 0.5;
        double units = e->water_m3 * smax;
        int digits = register_digits_for(units, 5, 9, &r);
        size_t m = (size_t)add_meter(c, i, "WAT1", TX_CARRIER_WATER, TX_UNIT_M3,
                                     cum ? TX_KIND_CUMULATIVE : TX_KIND_INTERVAL, 1440, 1);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->season_q16 = q16(0.15);
        g->sigma_slot = q16(0.20);
        meter_rates(c, m, e, e->water_m3, digits, rng_u01(&r) < 0.7, &r);
    }
    if (e->steam_t > 0) {
        size_t m = (size_t)add_meter(c, i, "STM1", TX_CARRIER_STEAM, TX_UNIT_T, TX_KIND_INTERVAL,
                                     60, 1);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->season_q16 = q16(-0.15);
        g->sigma_slot = q16(0.15);
        g->sigma_day = q16(0.08);
        meter_rates(c, m, e, e->steam_t * 1000.0, 0, 0, &r);
        if (rng_u01(&r) < 0.3)
            c->met[m].capacity = ceil(6.0 * e->steam_t * smax / 8760.0 * 100) / 100;
    }
    if (e->heat_gj > 0) {
        size_t m = (size_t)add_meter(c, i, "HT1", TX_CARRIER_HEAT, TX_UNIT_GJ, TX_KIND_INTERVAL,
                                     1440, 1);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->season_q16 = q16(-0.45);
        g->sigma_slot = q16(0.15);
        meter_rates(c, m, e, e->heat_gj * 1000.0, 0, 0, &r);
    }
    if (e->diesel_kg > 0) {
        int unit = e->diesel_kg * smax > 2e5 ? TX_UNIT_T : TX_UNIT_KG;
        size_t m = (size_t)add_meter(c, i, "DSL1", TX_CARRIER_DIESEL, unit, TX_KIND_INTERVAL,
                                     1440, 1);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_LOAD;
        g->shift = (uint8_t)e->shift;
        g->sigma_slot = q16(0.28);
        meter_rates(c, m, e, e->diesel_kg, 0, 0, &r);
    }
    if (e->pv_kwp > 0) {
        double mult = e->pv_kwp > 2000 ? 10 : 1;
        size_t m = (size_t)add_meter(c, i, "PV1", TX_CARRIER_PV_GENERATION, TX_UNIT_KWH,
                                     TX_KIND_INTERVAL, 15, mult);
        txg_meter_gen *g = &c->gen[m];
        g->profile = TXG_PROF_PV;
        g->shift = 1;
        g->sigma_slot = q16(0.08);
        for (int yi = 0; yi < c->ny; yi++) /* full-sun energy per interval */
            g->rate_q16[yi] =
                (uint64_t)floor(e->pv_kwp * 15.0 / 60.0 * 100.0 / mult * 65536.0 + 0.5);
        if (rng_u01(&r) < 0.5)
            c->met[m].capacity = ceil(e->pv_kwp * 1.1 / mult) * mult;
    }
}

/* ---- roles and faults ----------------------------------------------------------------- */

typedef struct {
    uint64_t h;
    size_t i;
} hash_ref;

static int cmp_hash_ref(const void *a, const void *b)
{
    const hash_ref *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* A permutation of 0..n-1 ordered by hash(seed, what, index). */
static size_t *perm_by_hash(uint64_t seed, uint64_t what, size_t n)
{
    hash_ref *t = malloc((n ? n : 1) * sizeof *t);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!t || !perm) {
        free(t);
        free(perm);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        t[i].h = txg_hash(seed, what, i);
        t[i].i = i;
    }
    qsort(t, n, sizeof *t, cmp_hash_ref);
    for (size_t i = 0; i < n; i++)
        perm[i] = t[i].i;
    free(t);
    return perm;
}

/* First enterprise in perm order without a role, avoiding the listed divisions if possible. */
static long pick_enterprise(const builder *b, const int *avoid, int navoid)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < b->c->nent; k++) {
            size_t i = b->perm[k];
            if (b->eg[i].role)
                continue;
            int bad = 0;
            for (int a = 0; pass == 0 && a < navoid; a++)
                bad |= b->eg[i].div == avoid[a];
            if (!bad)
                return (long)i;
        }
    return -1;
}

static void assign_roles(builder *b)
{
    txg_city *c = b->c;
    size_t n = c->nent;
    int avoid[3] = {0}, navoid = 0;
    long i;
    if (c->p.faults && n >= 10 && (i = pick_enterprise(b, avoid, navoid)) >= 0) {
        b->eg[i].role |= ROLE_INCOMPLETE;
        avoid[navoid++] = b->eg[i].div;
    }
    if (n >= 10 && (i = pick_enterprise(b, avoid, navoid)) >= 0) {
        b->eg[i].role |= ROLE_NOFIN;
        avoid[navoid++] = b->eg[i].div;
    }
    if (n >= 10 && (i = pick_enterprise(b, avoid, navoid)) >= 0) {
        b->eg[i].role |= ROLE_VANEG;
        avoid[navoid++] = b->eg[i].div;
    }
    if (c->p.faults && (i = pick_enterprise(b, NULL, 0)) >= 0)
        b->eg[i].role |= ROLE_ROLLOVER;
    if (c->p.faults && (i = pick_enterprise(b, NULL, 0)) >= 0)
        b->eg[i].role |= ROLE_REPLACE;
    if (n >= 100 && (i = pick_enterprise(b, NULL, 0)) >= 0)
        b->eg[i].role |= ROLE_VAZERO;
    for (size_t extra = n >= 67 ? n * 3 / 100 - 1 : 0; extra > 0; extra--)
        if ((i = pick_enterprise(b, NULL, 0)) >= 0)
            b->eg[i].role |= ROLE_NOFIN;
}

/* Keeps at least three rated 规上 members in every division that has enough enterprises,
 * so small test cities have industry benchmarks. */
static void ensure_rated_members(builder *b)
{
    txg_city *c = b->c;
    for (size_t d = 0; d < NDIV; d++) {
        int rated = 0;
        for (size_t i = 0; i < c->nent; i++)
            rated += b->eg[i].div == (int)d && c->ent[i].above_scale &&
                     !(b->eg[i].role & ROLE_UNRATED);
        for (size_t i = 0; i < c->nent && rated < 3; i++)
            if (b->eg[i].div == (int)d && !c->ent[i].above_scale &&
                !(b->eg[i].role & ROLE_UNRATED)) {
                c->ent[i].above_scale = 1;
                rated++;
            }
    }
}

static int push_run(builder *b, size_t m, int kind, int yi, int64_t i0, int64_t len)
{
    txg_city *c = b->c;
    if (c->nruns == b->cap_runs) {
        size_t cap = b->cap_runs ? 2 * b->cap_runs : 64;
        txg_run *p = realloc(c->runs, cap * sizeof *p);
        if (!p)
            return TX_ENOMEM;
        c->runs = p;
        b->cap_runs = cap;
    }
    txg_run *r = &c->runs[c->nruns++];
    r->meter = (uint32_t)m;
    r->kind = (uint8_t)kind;
    r->yi = (uint8_t)yi;
    r->i0 = i0;
    r->len = len;
    return TX_OK;
}

static int push_fault(builder *b, int kind, size_t m, int yi, int64_t i, int64_t count)
{
    txg_city *c = b->c;
    if (c->nfaults == b->cap_faults) {
        size_t cap = b->cap_faults ? 2 * b->cap_faults : 64;
        txg_fault *p = realloc(c->faults, cap * sizeof *p);
        if (!p)
            return TX_ENOMEM;
        c->faults = p;
        b->cap_faults = cap;
    }
    txg_fault *f = &c->faults[c->nfaults++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->meter = m;
    f->enterprise = c->gen[m].ent;
    f->year = c->year[yi];
    f->slot = slot_jan1(c, yi, c->met[m].interval_minutes) + i;
    f->count = (uint32_t)count;
    return TX_OK;
}

static int cmp_run(const void *a, const void *b)
{
    const txg_run *x = a, *y = b;
    if (x->meter != y->meter)
        return x->meter < y->meter ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->yi != y->yi)
        return x->yi < y->yi ? -1 : 1;
    return (x->i0 > y->i0) - (x->i0 < y->i0);
}

static int cmp_dup(const void *a, const void *b)
{
    const txg_dup *x = a, *y = b;
    if (x->meter != y->meter)
        return x->meter < y->meter ? -1 : 1;
    if (x->yi != y->yi)
        return x->yi < y->yi ? -1 : 1;
    return (x->i0 > y->i0) - (x->i0 < y->i0);
}

static int cmp_fault(const void *a, const void *b)
{
    const txg_fault *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->meter != y->meter)
        return x->meter < y->meter ? -1 : 1;
    if (x->year != y->year)
        return x->year < y->year ? -1 : 1;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

/* 1 when the meter is of the kind a fault wants. */
static int meter_wanted(const tx_meter *mt, int want)
{
    switch (want) {
    case WANT_CUM_EL:
        return mt->carrier == TX_CARRIER_ELECTRICITY && mt->kind == TX_KIND_CUMULATIVE;
    case WANT_INTERVAL:
        return mt->kind == TX_KIND_INTERVAL;
    case WANT_CUM_FINE: /* a register read at least hourly */
        return mt->kind == TX_KIND_CUMULATIVE && mt->interval_minutes <= 60;
    case WANT_CUM:
        return mt->kind == TX_KIND_CUMULATIVE;
    default:
        return 1;
    }
}

/* The next meter in hash order that is unused, matches `want` and belongs to an
 * enterprise without a register fault; SIZE_MAX when none is left. */
static size_t next_meter(builder *b, const size_t *mperm, const uint8_t *used, int want)
{
    const txg_city *c = b->c;
    /* Meters only ever become used, so what was passed over stays passed over: each kind
     * resumes where it stopped, and choosing all faults costs O(meters), not O(meters x
     * faults). */
    for (size_t k = b->next_pos[want]; k < c->nmet; k++) {
        size_t m = mperm[k];
        if (used[m] || (b->eg[c->gen[m].ent].role &
                        (ROLE_INCOMPLETE | ROLE_ROLLOVER | ROLE_REPLACE)))
            continue;
        if (!meter_wanted(&c->met[m], want))
            continue;
        b->next_pos[want] = k;
        return m;
    }
    b->next_pos[want] = c->nmet;
    return SIZE_MAX;
}

static int push_csvx(builder *b, const txg_csvx *x)
{
    txg_city *c = b->c;
    if (c->ncsvx == b->cap_csvx) {
        size_t cap = b->cap_csvx ? 2 * b->cap_csvx : 32;
        txg_csvx *p = realloc(c->csvx, cap * sizeof *p);
        if (!p)
            return TX_ENOMEM;
        c->csvx = p;
        b->cap_csvx = cap;
    }
    c->csvx[c->ncsvx++] = *x;
    return TX_OK;
}

/* Mean consumption per interval of meter m in year yi, hundredths (at least 1). */
static int64_t mean_step(const txg_city *c, size_t m, int yi)
{
    int64_t r = (int64_t)(c->gen[m].rate_q16[yi] >> 16);
    return r > 1 ? r : 1;
}

/*
 * The quality faults of METHOD.md section 8, each on its own meter of an enterprise
 * without another register fault, in the report year, away from the year's ends.
 */
static int inject_quality_faults(builder *b, rng_t *r, uint8_t *used, const size_t *mperm)
{
    txg_city *c = b->c;
    size_t n = c->nent;
    int ly = last_yi(c);
    int rc = TX_OK;
    /* stuck electricity registers, two or three days; multiplier changes (the event is made
     * in finish_registers): first, as they need the scarcer electricity registers */
    size_t nstuck = 1 + n / 200;
    for (size_t k = 0; k < nstuck && !rc; k++) {
        size_t m = next_meter(b, mperm, used, WANT_CUM_EL);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        int64_t len = (2 + (int64_t)rng_below(r, 2)) * (1440 / c->met[m].interval_minutes);
        g->fx = TXG_FX_STUCK;
        g->fx_yi = (int8_t)ly;
        g->fx_i = nn / 10 + (int64_t)rng_below(r, (uint64_t)(nn * 8 / 10 - len));
        g->fx_len = len;
        rc = push_fault(b, TXG_FAULT_STUCK, m, ly, g->fx_i, len);
    }
    size_t nmult = 1 + n / 500;
    for (size_t k = 0; k < nmult && !rc; k++) {
        size_t m = next_meter(b, mperm, used, WANT_CUM_EL);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        g->fx = TXG_FX_MULTIPLIER;
        g->fx_yi = (int8_t)ly;
        g->fx_i = nn / 4 + (int64_t)rng_below(r, (uint64_t)(nn / 2));
        g->fx_mult = 2;
        rc = push_fault(b, TXG_FAULT_MULTIPLIER, m, ly, g->fx_i, 1);
    }
    /* spikes: up and down in turn */
    size_t nspike = n / 50 > 2 ? n / 50 : 2;
    for (size_t k = 0; k < nspike && !rc; k++) {
        size_t m = next_meter(b, mperm, used, WANT_CUM);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        g->fx = (uint8_t)(k % 2 ? TXG_FX_SPIKE_DOWN : TXG_FX_SPIKE_UP);
        g->fx_yi = (int8_t)ly;
        g->fx_i = 2 + (int64_t)rng_below(r, (uint64_t)(nn - 4));
        g->fx_amount = 50 * mean_step(c, m, ly);
        rc = push_fault(b, TXG_FAULT_SPIKE, m, ly, g->fx_i, 1);
    }
    /* implausible: interval values and register jumps in turn */
    size_t nimpl = 2 * (1 + n / 100);
    for (size_t k = 0; k < nimpl && !rc; k++) {
        int interval = k % 2 == 0;
        size_t m = next_meter(b, mperm, used, interval ? WANT_INTERVAL : WANT_CUM_FINE);
        if (m == SIZE_MAX && !interval)
            m = next_meter(b, mperm, used, WANT_CUM);
        if (m == SIZE_MAX)
            continue;
        used[m] = 1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        int64_t i = nn / 10 + (int64_t)rng_below(r, (uint64_t)(nn * 8 / 10));
        int64_t step = mean_step(c, m, ly);
        if (interval) {
            /* a value well above the median: an honest step, 1000 times */
            int64_t want = step / 4 > 1 ? step / 4 : 1;
            txg_cursor cu;
            txg_cursor_init(&cu, c, m, ly);
            while (i < nn - 1 && cursor_inc(&cu, i) < want)
                i++;
        }
        g->fx = TXG_FX_IMPLAUSIBLE;
        g->fx_yi = (int8_t)ly;
        g->fx_i = i;
        /* 1000 steps; a daily register has room for fewer (a year is at most 1/8 of it) */
        g->fx_amount = (c->met[m].interval_minutes < 1440 ? 1000 : 200) * step;
        rc = push_fault(b, TXG_FAULT_IMPLAUSIBLE, m, ly, i, 1);
    }
    /* negative jumps without an event */
    size_t nneg = 1 + n / 200;
    for (size_t k = 0; k < nneg && !rc; k++) {
        size_t m = next_meter(b, mperm, used, WANT_CUM);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        g->fx = TXG_FX_NEGATIVE;
        g->fx_yi = (int8_t)ly;
        g->fx_i = nn / 10 + (int64_t)rng_below(r, (uint64_t)(nn * 8 / 10));
        rc = push_fault(b, TXG_FAULT_NEGATIVE, m, ly, g->fx_i, 1);
    }
    return rc;
}

/* A CSV fault of a reading: push it and its entry in the fault list. */
static int push_csv_fault(builder *b, int kind, int fault, size_t m, int yi, int64_t i,
                          int64_t day, int32_t shift_s, int64_t count)
{
    txg_csvx x;
    memset(&x, 0, sizeof x);
    x.meter = (uint32_t)m;
    x.kind = (uint8_t)kind;
    x.yi = (uint8_t)yi;
    x.shift_s = shift_s;
    x.i = i;
    x.day = day;
    int rc = push_csvx(b, &x);
    return rc ? rc : push_fault(b, fault, m, yi, i, count);
}

/* The first meter in hash order of the wanted kind, whatever its other faults. */
static size_t any_meter(const txg_city *c, const size_t *mperm, int want)
{
    for (size_t k = 0; k < c->nmet; k++)
        if (meter_wanted(&c->met[mperm[k]], want))
            return mperm[k];
    return SIZE_MAX;
}

/*
 * Faults of the CSV files only, in the report year: real rows stamped a little off the
 * grid, extra rows off the grid, conflicting rows in an earlier file, rows of a day in a
 * later back-fill file (each on its own clean meter), and one malformed row of every
 * reading reject reason (next to any meter's rows: a rejected row changes nothing).
 */
static int inject_csv_faults(builder *b, rng_t *r, uint8_t *used, const size_t *mperm)
{
    txg_city *c = b->c;
    size_t n = c->nent;
    int ly = last_yi(c);
    int rc = TX_OK;
    size_t few = 3 + n / 100 < 50 ? 3 + n / 100 : 50;
    size_t fewer = 2 + n / 200 < 25 ? 2 + n / 200 : 25;
    const struct {
        int kind, fault;
        size_t count;
    } plan[] = {{TXG_CSV_ALIGNED, TXG_FAULT_ALIGNED, few},
                {TXG_CSV_CONFLICT, TXG_FAULT_CONFLICT, few},
                {TXG_CSV_OFFGRID, TXG_FAULT_OFF_GRID, fewer},
                {TXG_CSV_BACKFILL, TXG_FAULT_BACKFILL, fewer}};
    /* round robin over the kinds, so that a small city has each of them */
    for (size_t k = 0; k < few && !rc; k++)
        for (size_t p = 0; p < sizeof plan / sizeof plan[0] && !rc; p++) {
            if (k >= plan[p].count)
                continue;
            size_t m = next_meter(b, mperm, used, WANT_ANY);
            if (m == SIZE_MAX)
                break;
            used[m] = 1;
            int64_t spd = 1440 / c->met[m].interval_minutes;
            int64_t day = 2 + (int64_t)rng_below(r, (uint64_t)(c->ndays[ly] - 4));
            int64_t i = day * spd + (int64_t)rng_below(r, (uint64_t)spd);
            int32_t shift = 0;
            int64_t count = 1;
            if (plan[p].kind == TXG_CSV_ALIGNED)
                shift = 5 + (int32_t)rng_below(r, 55);
            if (plan[p].kind == TXG_CSV_CONFLICT)
                day--; /* the extra row goes into the file of the day before */
            if (plan[p].kind == TXG_CSV_BACKFILL)
                count = (day + 1) * spd - i; /* the rest of the day */
            rc = push_csv_fault(b, plan[p].kind, plan[p].fault, m, ly, i, day, shift, count);
        }
    /* malformed rows: reason, form, the kind of meter they sit with */
    const struct {
        int reason, variant, want;
    } bad[] = {
        {TX_REJECT_UNKNOWN_METER, 0, WANT_ANY},   {TX_REJECT_BAD_TIMESTAMP, 0, WANT_ANY},
        {TX_REJECT_BAD_NUMBER, 0, WANT_ANY},      {TX_REJECT_BAD_NUMBER, 1, WANT_ANY},
        {TX_REJECT_NOT_FINITE, 0, WANT_ANY},      {TX_REJECT_NEGATIVE_INTERVAL, 0, WANT_INTERVAL},
        {TX_REJECT_BAD_VALUE, 0, WANT_CUM},       {TX_REJECT_BAD_QUALITY, 0, WANT_ANY},
        {TX_REJECT_MISSING_FIELD, 0, WANT_ANY},   {TX_REJECT_TOO_FEW_FIELDS, 0, WANT_ANY},
        {TX_REJECT_BEFORE_EPOCH, 0, WANT_ANY},
    };
    size_t *bperm = perm_by_hash(c->p.seed, 13, c->nmet);
    if (!bperm)
        return TX_ENOMEM;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0] && !rc; k++) {
        /* a different meter for each: start the search at a different place */
        size_t m = SIZE_MAX;
        for (size_t j = 0; j < c->nmet && m == SIZE_MAX; j++) {
            size_t cand = bperm[(k * 7 + j) % c->nmet];
            if (meter_wanted(&c->met[cand], bad[k].want))
                m = cand;
        }
        if (m == SIZE_MAX)
            m = any_meter(c, bperm, bad[k].want);
        if (m == SIZE_MAX)
            continue;
        int64_t spd = 1440 / c->met[m].interval_minutes;
        txg_csvx x;
        memset(&x, 0, sizeof x);
        x.meter = (uint32_t)m;
        x.kind = TXG_CSV_BAD;
        x.yi = (uint8_t)ly;
        x.reason = (uint8_t)bad[k].reason;
        x.variant = (uint8_t)bad[k].variant;
        x.day = 1 + (int64_t)rng_below(r, (uint64_t)(c->ndays[ly] - 6));
        /* a negative interval value names an instant of another day's file */
        int64_t iday = x.day + (bad[k].reason == TX_REJECT_NEGATIVE_INTERVAL ? 3 : 0);
        x.i = iday * spd + (int64_t)rng_below(r, (uint64_t)spd);
        rc = push_csvx(b, &x);
    }
    free(bperm);
    return rc;
}

static int inject_faults(builder *b)
{
    txg_city *c = b->c;
    size_t n = c->nent;
    int ly = last_yi(c);
    rng_t r = rng_at(c->p.seed, 8, 0);
    int rc = TX_OK;
    uint8_t *used = calloc(c->nmet ? c->nmet : 1, 1);
    size_t *mperm = perm_by_hash(c->p.seed, 9, c->nmet);
    if (!used || !mperm) {
        rc = TX_ENOMEM;
        goto done;
    }

    for (size_t i = 0; i < n; i++) {
        size_t m = b->eg[i].el1;
        txg_meter_gen *g = &c->gen[m];
        int64_t nn = txg_year_intervals(c, m, ly);
        if (b->eg[i].role & ROLE_INCOMPLETE) { /* > 15 % of the year's readings missing */
            int64_t len = nn / 5 + (int64_t)rng_below(&r, (uint64_t)(nn / 50));
            int64_t s = nn / 10 + (int64_t)rng_below(&r, (uint64_t)(nn - len - nn / 5));
            if ((rc = push_run(b, m, TXG_RUN_MISSING, ly, s, len)) ||
                (rc = push_fault(b, TXG_FAULT_INCOMPLETE, m, ly, s, len)))
                goto done;
            used[m] = 1;
        }
        if (b->eg[i].role & ROLE_ROLLOVER) { /* wraps about 40 % into the report year */
            double annual = (double)g->rate_q16[ly] / 65536.0 * (double)nn;
            g->start[ly] = g->fs - (int64_t)(0.4 * annual);
            used[m] = 1;
        }
        if (b->eg[i].role & ROLE_REPLACE) {
            g->repl_yi = ly;
            g->repl_i = nn / 4 + (int64_t)rng_below(&r, (uint64_t)(nn / 2));
            g->repl_new = rng_u01(&r) < 0.5 ? 0 : (int64_t)rng_below(&r, 10000);
            used[m] = 1;
        }
    }

    /* (a) gaps in cumulative electricity registers: bridged, so totals stay exact */
    size_t ngap = n / 25 > 2 ? n / 25 : 2;
    for (size_t k = 0; k < ngap; k++) {
        size_t m = next_meter(b, mperm, used, WANT_CUM_EL);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        int yi = (int)rng_below(&r, (uint64_t)c->ny);
        int64_t nn = txg_year_intervals(c, m, yi);
        int runs = 1 + (int)rng_below(&r, 3);
        int64_t seg = nn / runs;
        for (int q = 0; q < runs; q++) {
            int64_t len = rng_u01(&r) < 0.5 ? 1 + (int64_t)rng_below(&r, 4)
                                            : 1 + (int64_t)rng_below(&r, 200);
            int64_t s = q * seg + 2 + (int64_t)rng_below(&r, (uint64_t)(seg - len - 4));
            if ((rc = push_run(b, m, TXG_RUN_MISSING, yi, s, len)) ||
                (rc = push_fault(b, TXG_FAULT_GAP, m, yi, s, len)))
                goto done;
        }
    }
    /* (b) gaps in interval meters: lost consumption, at most 3 % of a year */
    for (size_t k = 0; k < ngap; k++) {
        size_t m = next_meter(b, mperm, used, WANT_INTERVAL);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        int yi = (int)rng_below(&r, (uint64_t)c->ny);
        int64_t nn = txg_year_intervals(c, m, yi);
        int runs = 1 + (int)rng_below(&r, 3);
        int64_t seg = nn / runs, maxlen = nn / 100 > 1 ? nn / 100 : 1;
        for (int q = 0; q < runs; q++) {
            int64_t len = 1 + (int64_t)rng_below(&r, (uint64_t)maxlen);
            int64_t s = q * seg + 1 + (int64_t)rng_below(&r, (uint64_t)(seg - len));
            if ((rc = push_run(b, m, TXG_RUN_MISSING, yi, s, len)) ||
                (rc = push_fault(b, TXG_FAULT_GAP, m, yi, s, len)))
                goto done;
        }
    }
    /* (f) reading rows repeated in a later day's file */
    size_t ndup = 2 + (n >= 50) + (n >= 500);
    c->dups = calloc(ndup, sizeof *c->dups);
    if (!c->dups) {
        rc = TX_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < ndup; k++) { /* the first on a 15-minute register: several rows */
        size_t m = next_meter(b, mperm, used, k == 0 ? WANT_CUM_EL : WANT_ANY);
        if (m == SIZE_MAX)
            m = next_meter(b, mperm, used, WANT_ANY);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        txg_dup *d = &c->dups[c->ndups++];
        int yi = (int)rng_below(&r, (uint64_t)c->ny);
        int64_t spd = 1440 / c->met[m].interval_minutes;
        int64_t day = 1 + (int64_t)rng_below(&r, (uint64_t)(c->ndays[yi] - 6));
        d->meter = (uint32_t)m;
        d->yi = (uint8_t)yi;
        d->zform = (uint8_t)(k % 2);
        d->len = spd >= 12 ? 3 + (int64_t)rng_below(&r, 6) : 1;
        d->i0 = day * spd + (int64_t)rng_below(&r, (uint64_t)(spd - d->len + 1));
        if (d->i0 == 0)
            d->i0 = 1;
        d->to_day = day + 1 + (int64_t)rng_below(&r, 3);
        if ((rc = push_fault(b, TXG_FAULT_DUPLICATE, m, yi, d->i0, d->len)))
            goto done;
    }
    /* a few estimated values (quality 1), never a year's first or last reading */
    size_t nest = n / 10 > 3 ? n / 10 : 3;
    for (size_t k = 0; k < nest; k++) {
        size_t m = next_meter(b, mperm, used, k == 0 ? WANT_CUM_EL : WANT_ANY);
        if (m == SIZE_MAX)
            m = next_meter(b, mperm, used, WANT_ANY);
        if (m == SIZE_MAX)
            break;
        used[m] = 1;
        int yi = (int)rng_below(&r, (uint64_t)c->ny);
        int64_t nn = txg_year_intervals(c, m, yi);
        int64_t len = nn >= 1000 ? 1 + (int64_t)rng_below(&r, 4) : 1;
        int64_t s = 1 + (int64_t)rng_below(&r, (uint64_t)(nn - len - 1));
        if ((rc = push_run(b, m, TXG_RUN_ESTIMATED, yi, s, len)) ||
            (rc = push_fault(b, TXG_FAULT_ESTIMATED, m, yi, s, len)))
            goto done;
    }
    if ((rc = inject_quality_faults(b, &r, used, mperm)))
        goto done;
    rc = inject_csv_faults(b, &r, used, mperm);
done:
    free(used);
    free(mperm);
    return rc;
}

/* Per-meter offsets into the sorted runs and duplicates. */
static void index_runs(txg_city *c)
{
    if (c->nruns)
        qsort(c->runs, c->nruns, sizeof *c->runs, cmp_run);
    if (c->ndups)
        qsort(c->dups, c->ndups, sizeof *c->dups, cmp_dup);
    for (size_t k = c->nruns; k-- > 0;) {
        txg_meter_gen *g = &c->gen[c->runs[k].meter];
        if (c->runs[k].kind == TXG_RUN_MISSING) {
            g->miss0 = (uint32_t)k;
            g->nmiss++;
        } else {
            g->est0 = (uint32_t)k;
            g->nest++;
        }
    }
    for (size_t k = c->ndups; k-- > 0;) {
        txg_meter_gen *g = &c->gen[c->dups[k].meter];
        g->dup0 = (uint32_t)k;
        g->ndup++;
    }
}

/* Work that needs the cursor: registers of consecutive years joined, the replacement's
 * readings and event, the rollover's slot. */
static int finish_registers(builder *b)
{
    txg_city *c = b->c;
    int ly = last_yi(c);
    txg_cursor cu;
    size_t nev = 0;
    for (size_t m = 0; m < c->nmet; m++)
        nev += (c->gen[m].repl_yi >= 0) + (c->gen[m].fx == TXG_FX_MULTIPLIER);
    if (nev && !(c->ev = calloc(nev, sizeof *c->ev)))
        return TX_ENOMEM;
    if (c->adjacent) {
        /* The shared Jan 1 00:00 reading ends one year and starts the next: the first
         * year's register is the second's start minus the first's consumption. One walk
         * of a year per register; meters are independent, hence the threads. */
        const long nmet = (long)c->nmet;
#pragma omp parallel for schedule(dynamic, 16)
        for (long m = 0; m < nmet; m++) {
            txg_meter_gen *g = &c->gen[m];
            if (!g->fs)
                continue;
            txg_cursor w;
            txg_cursor_init(&w, c, (size_t)m, 0);
            int64_t sum = 0;
            while (w.i < w.n) {
                txg_cursor_next(&w);
                sum += w.inc;
            }
            if (g->start[ly] < sum)
                g->start[ly] = sum;
            g->start[0] = g->start[ly] - sum;
        }
    }
    for (size_t m = 0; m < c->nmet; m++) {
        txg_meter_gen *g = &c->gen[m];
        if (!g->fs)
            continue;
        if (g->repl_yi >= 0) {
            txg_cursor_init(&cu, c, m, g->repl_yi);
            int64_t inc = cursor_inc(&cu, g->repl_i);
            g->repl_partial = inc * 7 / c->met[m].interval_minutes;
            while (cu.i < g->repl_i - 1)
                txg_cursor_next(&cu);
            int64_t old = (cu.reg + g->repl_partial) % g->fs;
            tx_event *ev = &c->ev[c->nev++];
            memcpy(ev->meter_id, c->met[m].id, sizeof ev->meter_id);
            ev->t = c->t0[g->repl_yi] +
                    ((g->repl_i - 1) * c->met[m].interval_minutes + 7) * INT64_C(60);
            ev->type = TX_EVENT_REPLACE;
            ev->old_reading = (double)old / 100.0;
            ev->new_reading = (double)g->repl_new / 100.0;
            ev->new_multiplier = NAN;
            int rc = push_fault(b, TXG_FAULT_REPLACEMENT, m, g->repl_yi, g->repl_i - 1, 1);
            if (rc)
                return rc;
        }
        if (g->fx == TXG_FX_MULTIPLIER) { /* on the grid instant fx_i */
            tx_event *ev = &c->ev[c->nev++];
            memcpy(ev->meter_id, c->met[m].id, sizeof ev->meter_id);
            ev->t = c->t0[g->fx_yi] + g->fx_i * c->met[m].interval_minutes * INT64_C(60);
            ev->type = TX_EVENT_MULTIPLIER;
            ev->old_reading = ev->new_reading = NAN;
            ev->new_multiplier = c->met[m].multiplier * g->fx_mult;
        }
        if (b->eg[g->ent].role & ROLE_ROLLOVER && m == b->eg[g->ent].el1) {
            txg_cursor_init(&cu, c, m, ly);
            while (cu.i < cu.n) {
                txg_cursor_next(&cu);
                if (cu.wrapped) {
                    int rc = push_fault(b, TXG_FAULT_ROLLOVER, m, ly, cu.i, 1);
                    if (rc)
                        return rc;
                }
            }
        }
    }
    if (c->nfaults)
        qsort(c->faults, c->nfaults, sizeof *c->faults, cmp_fault);
    return TX_OK;
}

static int cmp_csvx(const void *a, const void *b)
{
    const txg_csvx *x = a, *y = b;
    if (x->yi != y->yi)
        return x->yi < y->yi ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->meter != y->meter)
        return x->meter < y->meter ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->reason != y->reason)
        return x->reason < y->reason ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The wrong values of the conflicting rows (the series are final now), and the CSV faults
 * in the order the writer meets them. */
static int finish_csv_faults(txg_city *c)
{
    for (size_t k = 0; k < c->ncsvx; k++) {
        txg_csvx *x = &c->csvx[k];
        if (x->kind != TXG_CSV_CONFLICT)
            continue;
        int64_t slot = slot_jan1(c, x->yi, c->met[x->meter].interval_minutes) + x->i;
        double v = NAN;
        int rc = txg_meter_series(c, x->meter, slot, 1, &v, NULL);
        if (rc)
            return rc;
        uint64_t h = txg_hash(c->p.seed, 14, k);
        x->wrong = (int64_t)floor(v * 100.0 + 0.5) + 100 + (int64_t)(h % 9900);
    }
    if (c->ncsvx)
        qsort(c->csvx, c->ncsvx, sizeof *c->csvx, cmp_csvx);
    return TX_OK;
}

/* ---- deflators and financials -------------------------------------------------------- */

static int make_deflators(builder *b, double *ratio)
{
    txg_city *c = b->c;
    int used[NDIV] = {0};
    for (size_t i = 0; i < c->nent; i++)
        used[b->eg[i].div] = 1;
    int span = c->p.report_year - c->p.base_year + 1;
    size_t rows = 0;
    for (size_t d = 0; d < NDIV; d++)
        rows += used[d] ? (size_t)span : 0;
    c->defl = calloc(rows, sizeof *c->defl);
    if (!c->defl)
        return TX_ENOMEM;
    /* rows sorted by division code */
    for (int pass = 10; pass < 100; pass++)
        for (size_t d = 0; d < NDIV; d++) {
            if (!used[d] || atoi(divisions[d].code) != pass)
                continue;
            rng_t r = rng_at(c->p.seed, 7, d);
            double drift = rng_uniform(&r, -0.03, 0.03), P = 100.0;
            for (int y = c->p.base_year; y <= c->p.report_year; y++) {
                if (y > c->p.base_year)
                    P = (double)round_h(P * (1.0 + drift + 0.01 * rng_normal(&r))) / 100.0;
                txg_deflator *df = &c->defl[c->ndefl++];
                memcpy(df->division, divisions[d].code, 3);
                df->year = y;
                df->price_index = P;
            }
            ratio[d] = P / 100.0;
        }
    return TX_OK;
}

static void add_fin(txg_city *c, size_t i, int year, int month, int64_t va, int64_t rev,
                    int64_t tax, int64_t rd, int64_t emp, int64_t pol)
{
    txg_financial *f = &c->fin[c->nfin++];
    f->enterprise = i;
    f->year = year;
    f->month = month;
    f->value_added = (double)va / 100.0;
    f->revenue = (double)rev / 100.0;
    f->tax = (double)tax / 100.0;
    f->rd_expense = rd < 0 ? NAN : (double)rd / 100.0;
    f->employees = (double)emp;
    f->pollutant_t = pol < 0 ? NAN : (double)pol / 100.0;
}

static void split12(int64_t total, const double *w, int64_t *out)
{
    double W = 0;
    for (int k = 0; k < 12; k++)
        W += w[k];
    int64_t acc = 0;
    for (int k = 0; k < 11; k++) {
        out[k] = (int64_t)floor((double)total * w[k] / W);
        acc += out[k];
    }
    out[11] = total - acc;
}

static int make_financials(builder *b, const double *ratio)
{
    txg_city *c = b->c;
    c->fin = calloc(c->nent * (size_t)c->ny * 12, sizeof *c->fin);
    if (!c->fin)
        return TX_ENOMEM;
    int ly = last_yi(c);
    for (size_t i = 0; i < c->nent; i++) {
        ent_gen *e = &b->eg[i];
        const division_info *di = &divisions[e->div];
        double co2 = e->e_kwh * 0.55e-3 + e->gas_m3 * 2.1622e-3 + e->steam_t * 0.2963 +
                     e->heat_gj * 0.11 + e->diesel_kg * 3.0959e-3;
        double va_r = co2 / (di->L * e->lnoise);
        int monthly = !(e->role & (ROLE_VANEG | ROLE_VAZERO)) &&
                      txg_hash(c->p.seed, 10, i) % 10 == 0;
        for (int yi = 0; yi < c->ny; yi++) {
            rng_t r = rng_at(c->p.seed, 11, i * 4 + (size_t)yi);
            double va = yi == ly ? va_r : va_r * e->scale[yi] / (ratio[e->div] * e->imp);
            int64_t va_h = round_h(va) > 100 ? round_h(va) : 100;
            int64_t rev = round_h((double)va_h / 100.0 * rng_uniform(&r, 3, 6));
            int64_t tax = round_h((double)va_h / 100.0 * rng_uniform(&r, 0.06, 0.18));
            int64_t rd = rng_u01(&r) < 0.1 ? -1
                                           : round_h((double)rev / 100.0 * rng_uniform(&r, 0.005, 0.05));
            int64_t emp = (int64_t)floor((double)va_h / 100.0 / rng_uniform(&r, 15, 40) + 0.5);
            emp = emp < 5 ? 5 : emp;
            double u = rng_u01(&r);
            int64_t pol = (!c->ent[i].above_scale && u < 0.7) || u < 0.25 ? -1
                          : u < 0.30 ? 0
                                     : round_h(co2 * e->scale[yi] * rng_uniform(&r, 0.0005, 0.003));
            if (yi == ly && (e->role & ROLE_NOFIN))
                continue;
            if (yi == ly && (e->role & ROLE_VANEG))
                va_h = -round_h(rng_uniform(&r, 20, 300));
            if (yi == ly && (e->role & ROLE_VAZERO))
                va_h = 0;
            if (!monthly) {
                add_fin(c, i, c->year[yi], 0, va_h, rev, tax, rd, emp, pol);
                continue;
            }
            double w[12];
            for (int k = 0; k < 12; k++)
                w[k] = rng_uniform(&r, 0.8, 1.2) * (k == 1 ? 0.6 : 1.0);
            int64_t pv[12], pr[12], pt[12], pd[12], pp[12];
            split12(va_h, w, pv);
            split12(rev, w, pr);
            split12(tax, w, pt);
            split12(rd < 0 ? 0 : rd, w, pd);
            split12(pol < 0 ? 0 : pol, w, pp);
            for (int k = 0; k < 12; k++)
                add_fin(c, i, c->year[yi], k + 1, pv[k], pr[k], pt[k], rd < 0 ? -1 : pd[k], emp,
                        pol < 0 ? -1 : pp[k]);
        }
    }
    return TX_OK;
}

/* ---- the city ------------------------------------------------------------------------ */

int txg_city_new(const txg_params *p, txg_city **out, tx_err *err)
{
    if (!p || !out)
        return tx_err_set(err, TX_EINVAL, "txg_city_new: NULL argument");
    *out = NULL;
    if (p->n_enterprises < 1 || p->n_enterprises > 999999)
        return tx_err_set(err, TX_EINVAL, "txg_city_new: n_enterprises %zu not in 1..999999",
                          p->n_enterprises);
    if (p->base_year < 2000 || p->report_year > 2098 || p->base_year > p->report_year)
        return tx_err_set(err, TX_EINVAL,
                          "txg_city_new: years %d..%d: need 2000 <= base <= report <= 2098",
                          p->base_year, p->report_year);
    if (p->n_divisions < 0 || (size_t)p->n_divisions > NDIV)
        return tx_err_set(err, TX_EINVAL, "txg_city_new: n_divisions %d not in 0..%zu",
                          p->n_divisions, NDIV);

    int rc = TX_ENOMEM;
    builder b = {0};
    double ratio[NDIV];
    for (size_t d = 0; d < NDIV; d++)
        ratio[d] = 1.0;
    txg_city *c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    b.c = c;
    c->p = *p;
    c->ny = p->base_year == p->report_year ? 1 : 2;
    c->year[0] = p->base_year;
    c->year[c->ny - 1] = p->report_year;
    c->adjacent = c->ny == 2 && p->report_year == p->base_year + 1;
    for (int yi = 0; yi < c->ny; yi++) {
        int y = c->year[yi];
        c->ndays[yi] = 365 + is_leap(y);
        c->t0[yi] = tx_local_to_unix(y, 1, 1, 0, 0, 0);
        c->dow0[yi] = (int)(((c->t0[yi] + TX_LOCAL_OFFSET_S) / 86400 + 3) % 7);
        int cm = 2, cd = 5;
        if (y >= 2000 && y - 2000 < (int)(sizeof spring_festival / sizeof spring_festival[0])) {
            cm = spring_festival[y - 2000][0];
            cd = spring_festival[y - 2000][1];
        }
        c->cny[yi] = (int)((tx_local_to_unix(y, cm, cd, 0, 0, 0) - c->t0[yi]) / 86400);
        c->natday[yi] = (int)((tx_local_to_unix(y, 10, 1, 0, 0, 0) - c->t0[yi]) / 86400);
    }
    for (int sh = 0; sh < 3; sh++) {
        int64_t sum = 0, sum7 = 0;
        for (int h = 0; h < 24; h++)
            sum += shape_raw[sh][h];
        for (int h = 0; h < 24; h++)
            c->shape_q16[sh][h] = (int32_t)(shape_raw[sh][h] * INT64_C(65536) * 24 / sum);
        for (int d = 0; d < 7; d++)
            sum7 += week_raw[sh][d];
        for (int d = 0; d < 7; d++)
            c->week_q16[sh][d] = (int32_t)(week_raw[sh][d] * INT64_C(65536) * 7 / sum7);
    }

    size_t n = p->n_enterprises;
    c->nent = n;
    c->ent = calloc(n, sizeof *c->ent);
    c->industry_prefix = calloc(n, 1);
    c->met = calloc(8 * n, sizeof *c->met);
    c->gen = calloc(8 * n, sizeof *c->gen);
    b.eg = calloc(n, sizeof *b.eg);
    b.perm = perm_by_hash(p->seed, 12, n);
    if (!c->ent || !c->industry_prefix || !c->met || !c->gen || !b.eg || !b.perm)
        goto fail;

    for (size_t i = 0; i < n; i++)
        ent_basic(c, i, &b.eg[i]);
    assign_roles(&b);
    ensure_rated_members(&b);
    for (size_t i = 0; i < n; i++) {
        int special = n >= 2 && i == b.perm[n - 1] ? 2 : n >= 3 && i == b.perm[n - 2] ? 3 : 0;
        make_name(c, i, &b.eg[i], special);
        make_uscc(c, i, 0);
    }
    if ((rc = unique_usccs(c)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        ent_quantities(c, i, &b.eg[i]);
        make_meters(c, i, &b.eg[i]);
    }
    rc = TX_ENOMEM;
    if (c->nmet < 8 * n) { /* give back the unused tail */
        tx_meter *pm = realloc(c->met, c->nmet * sizeof *pm);
        txg_meter_gen *pg = realloc(c->gen, c->nmet * sizeof *pg);
        if (pm)
            c->met = pm;
        if (pg)
            c->gen = pg;
    }
    if ((rc = make_deflators(&b, ratio)) || (rc = make_financials(&b, ratio)))
        goto fail;
    if (p->faults && (rc = inject_faults(&b)))
        goto fail;
    index_runs(c);
    if ((rc = finish_registers(&b)) || (rc = finish_csv_faults(c)))
        goto fail;
    free(b.eg);
    free(b.perm);
    *out = c;
    return TX_OK;
fail:
    free(b.eg);
    free(b.perm);
    txg_city_free(c);
    return tx_err_set(err, rc, "txg_city_new: %s", tx_strerror(rc));
}

void txg_city_free(txg_city *c)
{
    if (!c)
        return;
    free(c->ent);
    free(c->industry_prefix);
    free(c->met);
    free(c->gen);
    free(c->ev);
    free(c->fin);
    free(c->defl);
    free(c->runs);
    free(c->dups);
    free(c->faults);
    free(c->csvx);
    free(c);
}

const txg_params *txg_city_params(const txg_city *c)
{
    return &c->p;
}

const tx_enterprise *txg_enterprises(const txg_city *c, size_t *n)
{
    *n = c->nent;
    return c->ent;
}

const tx_meter *txg_meters(const txg_city *c, size_t *n)
{
    *n = c->nmet;
    return c->met;
}

const tx_event *txg_events(const txg_city *c, size_t *n)
{
    *n = c->nev;
    return c->ev;
}

const txg_financial *txg_financials(const txg_city *c, size_t *n)
{
    *n = c->nfin;
    return c->fin;
}

const txg_deflator *txg_deflators(const txg_city *c, size_t *n)
{
    *n = c->ndefl;
    return c->defl;
}

const txg_fault *txg_faults(const txg_city *c, size_t *n)
{
    *n = c->nfaults;
    return c->faults;
}

const char *txg_fault_name(int kind)
{
    static const char *const names[] = {
        "gap",      "incomplete", "rollover", "replacement", "duplicate",
        "estimated", "spike",     "implausible", "stuck",   "multiplier",
        "negative", "aligned",    "off_grid", "conflict",    "backfill"};
    return kind >= 0 && kind < (int)(sizeof names / sizeof names[0]) ? names[kind] : "unknown";
}

/* ---- series and truth ------------------------------------------------------------------ */

static int year_index(const txg_city *c, int year)
{
    for (int yi = 0; yi < c->ny; yi++)
        if (c->year[yi] == year)
            return yi;
    return -1;
}

void txg_year_slots(const txg_city *c, size_t m, int year, int64_t *first, int64_t *last)
{
    int step = c->met[m].interval_minutes;
    int64_t per = (int64_t)step * 60;
    int64_t s0 = (tx_local_to_unix(year, 1, 1, 0, 0, 0) - TX_EPOCH_UNIX) / per;
    int64_t s1 = (tx_local_to_unix(year + 1, 1, 1, 0, 0, 0) - TX_EPOCH_UNIX) / per;
    *first = c->met[m].kind == TX_KIND_CUMULATIVE ? s0 : s0 + 1;
    *last = s1;
}

int txg_meter_series(const txg_city *c, size_t m, int64_t slot0, size_t nslots, double *value,
                     uint8_t *quality)
{
    if (!c || m >= c->nmet || (nslots && !value))
        return TX_EINVAL;
    for (size_t k = 0; k < nslots; k++) {
        value[k] = NAN;
        if (quality)
            quality[k] = 0;
    }
    if (!nslots)
        return TX_OK;
    int64_t lo = slot0, hi = slot0 + (int64_t)nslots - 1;
    for (int yi = 0; yi < c->ny; yi++) {
        int64_t first, last;
        txg_year_slots(c, m, c->year[yi], &first, &last);
        int64_t a = lo > first ? lo : first, z = hi < last ? hi : last;
        if (z == last && c->adjacent && yi + 1 < c->ny && c->met[m].kind == TX_KIND_CUMULATIVE)
            z--; /* the shared Jan 1 reading comes from the next year, without this one's walk */
        if (a > z)
            continue;
        int64_t base = slot_jan1(c, yi, c->met[m].interval_minutes);
        txg_cursor cu;
        txg_cursor_init(&cu, c, m, yi);
        for (;;) {
            int64_t s = base + cu.i;
            if (s >= a && cu.present) {
                value[s - slot0] = (double)cu.value / 100.0;
                if (quality)
                    quality[s - slot0] = cu.quality;
            }
            if (s >= z)
                break;
            txg_cursor_next(&cu);
        }
    }
    return TX_OK;
}

int txg_meter_truth(const txg_city *c, size_t m, int year, txg_truth *t)
{
    if (!c || !t || m >= c->nmet)
        return TX_EINVAL;
    int yi = year_index(c, year);
    if (yi < 0)
        return TX_ENOTFOUND;
    const tx_meter *mt = &c->met[m];
    const txg_meter_gen *g = &c->gen[m];
    int cum = mt->kind == TX_KIND_CUMULATIVE;
    /* a stuck register: a run of zero steps of at least max(3, 24 h / step) */
    int64_t stuck_min = (TXG_STUCK_HOURS * 60 + mt->interval_minutes - 1) / mt->interval_minutes;
    if (stuck_min < 3)
        stuck_min = 3;
    txg_cursor cu;
    txg_cursor_init(&cu, c, m, yi);
    int64_t total = 0, total_new = 0, valid = 0, zero_run = 0;
    memset(t, 0, sizeof *t);
    int prev_ok = 1;
    while (cu.i < cu.n) {
        txg_cursor_next(&cu);
        int excluded = (cu.flags & (TXG_CF_IMPLAUSIBLE | TXG_CF_NEGATIVE)) != 0;
        /* a reading is usable when present and not a spike (which the rules drop) */
        int ok = cu.present && !(cu.flags & TXG_CF_SPIKE);
        int is_valid;
        if (cum) {
            if (!excluded) /* bridged across gaps and dropped spikes: exact */
                *(cu.flags & TXG_CF_NEWMULT ? &total_new : &total) += cu.inc;
            is_valid = ok && prev_ok && !excluded;
        } else {
            is_valid = ok && !excluded;
            if (is_valid)
                total += cu.inc;
        }
        valid += is_valid;
        t->gaps += !ok && prev_ok;
        t->rollovers += cu.wrapped;
        t->replacements += cu.replaced;
        t->spikes += (cu.flags & TXG_CF_SPIKE) != 0;
        t->implausible += (cu.flags & TXG_CF_IMPLAUSIBLE) != 0;
        t->negatives += (cu.flags & TXG_CF_NEGATIVE) != 0;
        if (cum && is_valid && cu.inc == 0) {
            zero_run++;
        } else {
            if (zero_run >= stuck_min)
                t->stuck_intervals += (uint32_t)zero_run;
            zero_run = 0;
        }
        prev_ok = ok;
    }
    if (zero_run >= stuck_min)
        t->stuck_intervals += (uint32_t)zero_run;
    if (g->fx == TXG_FX_MULTIPLIER && g->fx_yi == yi)
        t->multiplier_changes = 1;
    double uf = tx_unit_to_canonical(mt->unit);
    t->total = (double)total / 100.0 * mt->multiplier * uf;
    if (total_new)
        t->total += (double)total_new / 100.0 * (mt->multiplier * g->fx_mult) * uf;
    t->coverage = (double)valid / (double)cu.n;
    return TX_OK;
}
