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
    uint64_t peak = (uint64_t)(52429 + 19661 * (cs + 65536) / 131072); /* 0.80 .. 1.10 */
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
        /* irradiance 4x(1-x) across the day, evaluated at the interval's midpoint */
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
    cu->inc = inc;
    cu->wrapped = cu->replaced = 0;
    if (g->fs) { /* cumulative (interval meters have no register: fs = 0) */
        if (g->repl_yi == cu->yi && i == g->repl_i) {
            cu->reg = g->repl_new + (inc - g->repl_partial);
            cu->replaced = 1;
        } else {
            cu->reg += inc;
        }
        if (cu->reg >= g->fs) {
            cu->reg -= g->fs;
            cu->wrapped = 1;
        }
        cu->value = cu->reg;
    } else {
        cu->value = inc;
    }
    cu->present = !in_run(cu->c->runs, &cu->mrun, cu->mend, cu->yi, i);
    cu->quality = (uint8_t)in_run(cu->c->runs, &cu->erun, cu->eend, cu->yi, i);
}
