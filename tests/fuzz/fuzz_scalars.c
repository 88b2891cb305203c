/*
 * fuzz_scalars.c - the scalar parsers of parse.c and the code checks of codes.c on the
 * whole input: tx_parse_double, tx_parse_int64, tx_parse_timestamp, tx_period_parse,
 * tx_field_copy, tx_uscc_valid, tx_industry_normalise, tx_district_normalise.
 *
 * Each is checked against a reference written apart from it: the accepted grammar (a
 * matcher per form), the value (glibc strtod, 128-bit integers, timegm) and round trips
 * (a parsed double printed with %.17g parses back equal; an instant formatted and parsed
 * gives the same instant; a period formatted parses back to the same period).
 */
#include "fuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int digit(char ch) { return ch >= '0' && ch <= '9'; }

/* The text without surrounding spaces and tabs: [*b, *e). */
static void trim(const char *s, size_t n, size_t *b, size_t *e)
{
    *b = 0;
    *e = n;
    while (*b < *e && (s[*b] == ' ' || s[*b] == '\t'))
        ++*b;
    while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\t'))
        --*e;
}

static size_t digits(const char *s, size_t i, size_t e)
{
    size_t k = i;
    while (k < e && digit(s[k]))
        k++;
    return k - i;
}

/* ---- numbers ------------------------------------------------------------------------ */

/* csv.h's grammar: [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?, spaces and tabs around. */
static int double_grammar(const char *s, size_t n)
{
    size_t i, e;
    trim(s, n, &i, &e);
    if (i < e && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t ip = digits(s, i, e), fp = 0;
    i += ip;
    if (i < e && s[i] == '.') {
        i++;
        fp = digits(s, i, e);
        i += fp;
    }
    if (ip + fp == 0)
        return 0;
    if (i < e && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < e && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t xp = digits(s, i, e);
        if (!xp)
            return 0;
        i += xp;
    }
    return i == e;
}

static void check_double(const char *s, size_t n)
{
    double v = 0;
    const int ok = tx_parse_double(s, n, &v) == TX_OK;
    FUZZ_CHECK(ok == double_grammar(s, n), "tx_parse_double accepts exactly its grammar");
    if (!ok)
        return;
    /* glibc's strtod (C locale, correctly rounded) over the same text. */
    size_t b, e;
    trim(s, n, &b, &e);
    char *z = malloc(e - b + 1);
    FUZZ_CHECK(z != NULL, "harness out of memory");
    memcpy(z, s + b, e - b);
    z[e - b] = '\0';
    char *end;
    const double want = strtod(z, &end);
    FUZZ_CHECK(*end == '\0', "strtod reads the whole number");
    free(z);
    FUZZ_CHECK(v == want || (isnan(v) && isnan(want)), "correctly rounded (as strtod)");
    FUZZ_CHECK(signbit(v) == signbit(want), "sign of zero");
    if (isfinite(v)) {
        char buf[40];
        double back = 0;
        snprintf(buf, sizeof buf, "%.17g", v);
        FUZZ_CHECK(tx_parse_double(buf, strlen(buf), &back) == TX_OK, "%.17g parses");
        FUZZ_CHECK(back == v && signbit(back) == signbit(v), "%.17g parses back equal");
    }
}

static void check_int64(const char *s, size_t n)
{
    int64_t v = 0;
    const int ok = tx_parse_int64(s, n, &v) == TX_OK;
    size_t i, e;
    trim(s, n, &i, &e);
    int neg = 0;
    if (i < e && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    int want_ok = i < e && digits(s, i, e) == e - i;
    __int128 w = 0;
    for (; want_ok && i < e; i++) {
        w = w * 10 + (s[i] - '0');
        if (w > (__int128)INT64_MAX + 1)
            want_ok = 0;
    }
    if (neg)
        w = -w;
    if (w > INT64_MAX || w < INT64_MIN)
        want_ok = 0;
    FUZZ_CHECK(ok == want_ok, "tx_parse_int64 accepts exactly the int64 integers");
    FUZZ_CHECK(!ok || v == (int64_t)w, "tx_parse_int64 value");
    if (ok) {
        char buf[32];
        int64_t back = 0;
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        FUZZ_CHECK(tx_parse_int64(buf, strlen(buf), &back) == TX_OK && back == v,
                   "%lld parses back equal");
    }
}

/* ---- timestamps --------------------------------------------------------------------- */

static int num(const char *s, size_t i, size_t len)
{
    int v = 0;
    for (size_t k = 0; k < len; k++) {
        if (!digit(s[i + k]))
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    return v;
}

/* The three forms of INPUTS.md, read field by field and converted with glibc's timegm. */
static int timestamp_reference(const char *s, size_t n, int64_t *out)
{
    size_t b, e;
    trim(s, n, &b, &e);
    s += b;
    n = e - b;
    if (n != 19 && n != 20 && n != 25)
        return 0;
    if (s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
        return 0;
    long offset;
    if (n == 19 && s[10] == ' ')
        offset = 8 * 3600;
    else if (n == 20 && s[10] == 'T' && s[19] == 'Z')
        offset = 0;
    else if (n == 25 && s[10] == 'T' && (s[19] == '+' || s[19] == '-') && s[22] == ':') {
        int oh = num(s, 20, 2), om = num(s, 23, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
        offset = (oh * 3600L + om * 60L) * (s[19] == '-' ? -1 : 1);
    } else
        return 0;
    int y = num(s, 0, 4), mo = num(s, 5, 2), d = num(s, 8, 2);
    int h = num(s, 11, 2), mi = num(s, 14, 2), sec = num(s, 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 59)
        return 0;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    const time_t t = timegm(&tm);
    if (tm.tm_mday != d || tm.tm_mon != mo - 1) /* normalised: no such day */
        return 0;
    *out = (int64_t)t - offset;
    return 1;
}

static void check_timestamp(const char *s, size_t n)
{
    int64_t t = 0, want = 0;
    const int ok = tx_parse_timestamp(s, n, &t) == TX_OK;
    FUZZ_CHECK(ok == timestamp_reference(s, n, &want), "tx_parse_timestamp accepts its forms");
    if (!ok)
        return;
    FUZZ_CHECK(t == want, "tx_parse_timestamp instant (as timegm)");
    /* The offset may carry an instant out of the 4-digit local years that can be written. */
    if (t >= tx_local_to_unix(0, 1, 1, 0, 0, 0) && t <= tx_local_to_unix(9999, 12, 31, 23, 59, 59))
        fuzz_check_timestamp_roundtrip(t);
    /* The +08:00 form is what tx_format_timestamp writes, byte for byte. */
    size_t b, e;
    trim(s, n, &b, &e);
    if (e - b == 25 && memcmp(s + b + 19, "+08:00", 6) == 0) {
        char buf[32];
        tx_format_timestamp(t, buf, sizeof buf);
        FUZZ_CHECK(memcmp(buf, s + b, 25) == 0, "canonical form formats back identically");
    }
}

/* An instant from the input's first 8 bytes, in years 1..9999. */
static void check_instant(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t u;
    memcpy(&u, data, 8);
    const int64_t lo = tx_local_to_unix(1, 1, 1, 0, 0, 0);
    const int64_t hi = tx_local_to_unix(9999, 12, 31, 23, 59, 59);
    const int64_t t = lo + (int64_t)(u % (uint64_t)(hi - lo + 1));
    fuzz_check_timestamp_roundtrip(t);
    int y, mo, d, h, mi, s;
    tx_unix_to_local(t, &y, &mo, &d, &h, &mi, &s);
    FUZZ_CHECK(tx_local_to_unix(y, mo, d, h, mi, s) == t, "civil time round trip");
}

/* ---- periods -------------------------------------------------------------------------- */

static int ym(const char *s, int *y, int *m)
{
    *y = num(s, 0, 4);
    *m = s[4] == '-' ? num(s, 5, 2) : -1;
    return *y >= 1 && *m >= 1 && *m <= 12;
}

/* YYYY, YYYY-MM, or YYYY-MM..YYYY-MM spanning 1 to 12 months (across a year end too), the
 * first year 1..9998 (so that the end and the formatted text stay within 4-digit years). */
static int period_reference(const char *s, tx_period *p)
{
    const size_t n = strlen(s);
    int y, y2, a, b;
    if (n == 4 && (y = num(s, 0, 4)) >= 1) {
        y2 = y;
        a = 1;
        b = 12;
    } else if (n == 7 && ym(s, &y, &a)) {
        y2 = y;
        b = a;
    } else if (n == 16 && s[7] == '.' && s[8] == '.' && ym(s, &y, &a) && ym(s + 9, &y2, &b)) {
        const int months = (y2 * 12 + b) - (y * 12 + a) + 1;
        if (months < 1 || months > 12)
            return 0;
    } else
        return 0;
    if (y > 9998)
        return 0;
    p->year = y;
    p->month_first = a;
    p->year_last = y2;
    p->month_last = b;
    p->nmonths = (y2 * 12 + b) - (y * 12 + a) + 1;
    return 1;
}

static void check_period(const uint8_t *data, size_t size)
{
    char s[64];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    tx_period p, want, back;
    tx_err err = {0};
    const int rc = tx_period_parse(s, &p, &err);
    FUZZ_CHECK(rc == TX_OK || (rc == TX_EPARSE && err.code == TX_EPARSE), "period status");
    FUZZ_CHECK((rc == TX_OK) == period_reference(s, &want), "tx_period_parse accepts its forms");
    if (rc != TX_OK)
        return;
    FUZZ_CHECK(p.year == want.year && p.month_first == want.month_first &&
                   p.year_last == want.year_last && p.month_last == want.month_last &&
                   p.nmonths == want.nmonths, "period fields");
    FUZZ_CHECK(p.start == tx_local_to_unix(p.year, p.month_first, 1, 0, 0, 0), "period start");
    int ey = p.year_last, em = p.month_last + 1;
    if (em == 13) {
        ey++;
        em = 1;
    }
    FUZZ_CHECK(p.end == tx_local_to_unix(ey, em, 1, 0, 0, 0), "period end");
    for (int k = 0; k < p.nmonths; k++) { /* consecutive months from first to last */
        int y, m;
        tx_period_month(&p, k, &y, &m);
        FUZZ_CHECK(y * 12 + m - 1 == p.year * 12 + p.month_first - 1 + k, "month k of the period");
        FUZZ_CHECK(k < p.nmonths - 1 || (y == p.year_last && m == p.month_last), "last month");
    }
    char buf[32];
    tx_period_format(&p, buf, sizeof buf);
    FUZZ_CHECK(tx_period_parse(buf, &back, NULL) == TX_OK, "formatted period parses");
    FUZZ_CHECK(back.year == p.year && back.month_first == p.month_first &&
                   back.year_last == p.year_last && back.month_last == p.month_last &&
                   back.nmonths == p.nmonths && back.start == p.start && back.end == p.end,
               "period round trip");
}

/* ---- fields and codes ----------------------------------------------------------------- */

static void check_field_copy(const char *s, size_t n)
{
    if (!fuzz_utf8_valid(s, n)) /* fields come from files already checked to be UTF-8 */
        return;
    const tx_field f = {s, n};
    char out[24];
    for (size_t cap = 0; cap <= sizeof out; cap += 5) {
        memset(out, 'x', sizeof out);
        const int fits = tx_field_copy(&f, out, cap);
        FUZZ_CHECK(fits == (n < cap), "tx_field_copy fits");
        if (cap == 0)
            continue;
        const size_t m = strlen(out);
        FUZZ_CHECK(m < cap && m <= n && memcmp(out, s, m) == 0, "a prefix, NUL-terminated");
        FUZZ_CHECK(!fits || m == n, "whole when it fits");
        FUZZ_CHECK(fuzz_utf8_valid(out, m), "never cut inside a UTF-8 sequence");
        FUZZ_CHECK(fits || m + 4 > cap - 1, "drops at most a cut character");
    }
    FUZZ_CHECK(tx_field_is(&f, "") == (n == 0), "tx_field_is empty");
}

static void check_codes(const char *s, size_t n)
{
    if (tx_uscc_valid(s, n)) {
        FUZZ_CHECK(n == 18, "USCC length");
        for (int i = 2; i < 8; i++)
            FUZZ_CHECK(digit(s[i]), "USCC division code digits");
        FUZZ_CHECK(tx_uscc_check_char(s) == s[17], "USCC check character");
        FUZZ_CHECK(strchr("IOSVZ", s[17]) == NULL, "USCC character set");
    }
    char ind[5], dist[7];
    if (tx_industry_normalise(s, n, ind) == TX_OK) {
        FUZZ_CHECK(n == 4 || (n == 5 && s[0] >= 'A' && s[0] <= 'T'), "industry form");
        FUZZ_CHECK(strlen(ind) == 4 && digits(ind, 0, 4) == 4, "industry 4 digits");
        FUZZ_CHECK(memcmp(ind, s + n - 4, 4) == 0, "industry digits copied");
    }
    if (tx_district_normalise(s, n, dist) == TX_OK)
        FUZZ_CHECK(n == 6 && strlen(dist) == 6 && digits(dist, 0, 6) == 6 && dist[0] != '0',
                   "district 6 digits");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_double(s, size);
    check_int64(s, size);
    check_timestamp(s, size);
    check_instant(data, size);
    check_period(data, size);
    check_field_copy(s, size);
    check_codes(s, size);
    return 0;
}
