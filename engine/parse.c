/*
 * parse.c - the scalar parsers of INPUTS.md (numbers, timestamps, periods) and field
 * helpers. None of them depends on the C locale, allocates, or keeps state: all are
 * thread-safe.
 */
#include "csv.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Narrows [*p, *e) to the text without surrounding spaces and tabs. */
static inline void trim(const char **p, const char **e)
{
    while (*p < *e && is_blank(**p))
        (*p)++;
    while (*e > *p && is_blank((*e)[-1]))
        (*e)--;
}

/* ---- numbers ----------------------------------------------------------------------- */

/* Significant digits kept for strtod. A decimal number whose correctly rounded double
 * differs from its neighbour's needs at most 767 significant digits, so keeping 780 and
 * replacing the rest by one sticky nonzero digit rounds exactly as all of them would. */
#define SLOW_DIGITS 780

/*
 * The exact decimal value of the validated mantissa text [ms, me) (digits with at most one
 * '.') times 10^ex, correctly rounded by strtod. The string handed to strtod is digits and
 * an exponent only, with no decimal point, so it reads the same in every locale.
 */
static double slow_decimal(const char *ms, const char *me, int64_t ex)
{
    char buf[SLOW_DIGITS + 32];
    size_t n = 0;
    int64_t frac = 0, dropped = 0;
    int seen_dot = 0, sticky = 0;
    for (const char *p = ms; p < me; p++) {
        if (*p == '.') {
            seen_dot = 1;
            continue;
        }
        frac += seen_dot;
        if (n == 0 && *p == '0')
            continue;
        if (n < SLOW_DIGITS)
            buf[n++] = *p;
        else {
            dropped++;
            sticky |= *p != '0';
        }
    }
    if (n == 0)
        return 0.0;
    if (sticky) {
        buf[n++] = '1';
        dropped--;
    }
    int64_t e10 = ex - frac + dropped;
    /* Beyond these the result is 0 or infinity whatever the digits. */
    if (e10 > 400000)
        e10 = 400000;
    if (e10 < -400000)
        e10 = -400000;
    snprintf(buf + n, sizeof buf - n, "e%lld", (long long)e10);
    return strtod(buf, NULL);
}

int tx_parse_double(const char *s, size_t len, double *out)
{
    const char *p = s, *e = s + len;
    trim(&p, &e);
    int neg = 0;
    if (p < e && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    /* One pass validates and accumulates the digits after leading zeros into m; m wraps
     * when there are more than 19 of them, and is then not used. [is, ie) is the integer
     * part without leading zeros, [fs, fe) the fraction. */
    const char *const ms = p;
    while (p < e && *p == '0')
        p++;
    const char *const is = p;
    uint64_t m = 0;
    for (; p < e && is_digit(*p); p++)
        m = m * 10 + (uint64_t)(*p - '0');
    const char *const ie = p, *fs = p, *fe = p;
    if (p < e && *p == '.') {
        fs = ++p;
        for (; p < e && is_digit(*p); p++)
            m = m * 10 + (uint64_t)(*p - '0');
        fe = p;
    }
    const char *const me = p;
    if (me - ms == (fs != ie ? 1 : 0)) /* no digit at all (a '.' alone counts none) */
        return TX_EPARSE;
    int64_t ex = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == e || !is_digit(*p))
            return TX_EPARSE;
        for (; p < e && is_digit(*p); p++)
            if (ex < INT64_C(1000000000)) /* saturates: far beyond any finite double */
                ex = ex * 10 + (*p - '0');
        if (eneg)
            ex = -ex;
    }
    if (p != e)
        return TX_EPARSE;

    double v = -1.0;
#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: with at most 19 digits m is exact in a uint64; when m <= 2^53
     * and 10^|k| <= 10^22 both are exact doubles, so one IEEE multiply or divide gives the
     * correctly rounded result. It covers meter readings, which have 15 or fewer
     * significant digits. (Not with x87 excess precision, FLT_EVAL_METHOD != 0.) */
    static const double k_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if ((ie - is) + (fe - fs) <= 19) {
        const int64_t k = ex - (fe - fs);
        if (m == 0)
            v = 0.0;
        else if (m <= (UINT64_C(1) << 53) && k >= -22 && k <= 22)
            v = k >= 0 ? (double)m * k_pow10[k] : (double)m / k_pow10[-k];
    }
#endif
    if (v < 0)
        v = slow_decimal(ms, me, ex);
    *out = neg ? -v : v;
    return TX_OK;
}

int tx_parse_int64(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *e = s + len;
    trim(&p, &e);
    int neg = 0;
    if (p < e && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    if (p == e)
        return TX_EPARSE;
    const uint64_t limit = neg ? (UINT64_C(1) << 63) : (UINT64_C(1) << 63) - 1;
    uint64_t v = 0;
    for (; p < e; p++) {
        if (!is_digit(*p))
            return TX_EPARSE;
        const uint64_t d = (uint64_t)(*p - '0');
        if (v > (limit - d) / 10)
            return TX_EPARSE;
        v = v * 10 + d;
    }
    /* -(v - 1) - 1 avoids negating 2^63 as an int64. */
    *out = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
    return TX_OK;
}

/* ---- timestamps -------------------------------------------------------------------- */

static int num2(const char *p)
{
    return is_digit(p[0]) && is_digit(p[1]) ? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

static int num4(const char *p)
{
    int a = num2(p), b = num2(p + 2);
    return a < 0 || b < 0 ? -1 : a * 100 + b;
}

static int days_in_month(int y, int m)
{
    static const unsigned char k_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : k_days[m - 1];
}

/*
 * Fixed-width forms, told apart by length:
 *   19  YYYY-MM-DD HH:MM:SS        local time, +08:00
 *   20  YYYY-MM-DDTHH:MM:SSZ       UTC
 *   25  YYYY-MM-DDTHH:MM:SS+HH:MM  any offset (RFC 3339: hours 00..23, minutes 00..59)
 */
int tx_parse_timestamp(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *e = s + len;
    trim(&p, &e);
    const size_t n = (size_t)(e - p);
    if (n != 19 && n != 20 && n != 25)
        return TX_EPARSE;
    if (p[4] != '-' || p[7] != '-' || p[13] != ':' || p[16] != ':')
        return TX_EPARSE;
    int offset; /* seconds east of UTC */
    if (n == 19) {
        if (p[10] != ' ')
            return TX_EPARSE;
        offset = TX_LOCAL_OFFSET_S;
    } else {
        if (p[10] != 'T')
            return TX_EPARSE;
        if (n == 20) {
            if (p[19] != 'Z')
                return TX_EPARSE;
            offset = 0;
        } else {
            const int oh = num2(p + 20), om = num2(p + 23);
            if ((p[19] != '+' && p[19] != '-') || p[22] != ':' || oh < 0 || oh > 23 || om < 0 ||
                om > 59)
                return TX_EPARSE;
            offset = (oh * 3600 + om * 60) * (p[19] == '-' ? -1 : 1);
        }
    }
    const int y = num4(p), mo = num2(p + 5), d = num2(p + 8);
    const int h = num2(p + 11), mi = num2(p + 14), sec = num2(p + 17);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return TX_EPARSE;
    *out = tx_local_to_unix(y, mo, d, h, mi, sec) + TX_LOCAL_OFFSET_S - offset;
    return TX_OK;
}

void tx_format_timestamp(int64_t t, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    int y, mo, d, h, mi, s;
    tx_unix_to_local(t, &y, &mo, &d, &h, &mi, &s);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, mo, d, h, mi, s);
}

/* ---- fields ------------------------------------------------------------------------ */

int tx_field_is(const tx_field *f, const char *word)
{
    const size_t n = strlen(word);
    return f->len == n && (n == 0 || memcmp(f->ptr, word, n) == 0);
}

int tx_field_copy(const tx_field *f, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t n = f->len;
    const int fits = n < cap;
    if (!fits) {
        n = cap - 1;
        /* Do not cut a UTF-8 sequence: drop continuation bytes and the lead byte before
         * them when the cut falls inside one. */
        if (n < f->len && ((unsigned char)f->ptr[n] & 0xC0) == 0x80) {
            while (n > 0 && ((unsigned char)f->ptr[n] & 0xC0) == 0x80)
                n--;
        }
    }
    if (n)
        memcpy(out, f->ptr, n);
    out[n] = '\0';
    return fits;
}

/* ---- periods ----------------------------------------------------------------------- */

/* "YYYY-MM" at p: year 1..9999 and month 1..12, else -1 in *y. */
static void year_month(const char *p, int *y, int *m)
{
    *y = num4(p);
    *m = p[4] == '-' ? num2(p + 5) : -1;
    if (*y < 1 || *m < 1 || *m > 12)
        *y = -1;
}

int tx_period_parse(const char *s, tx_period *p, tx_err *err)
{
    if (!s || !p)
        return tx_err_set(err, TX_EINVAL, "period: missing argument");
    static const char k_forms[] = "expected YYYY, YYYY-MM or YYYY-MM..YYYY-MM";
    const size_t n = strlen(s);
    int y = -1, y2 = -1, mf = 1, ml = 12;
    if (n == 4) {
        y = num4(s);
        y2 = y;
    } else if (n == 7) {
        year_month(s, &y, &mf);
        ml = mf;
        y2 = y;
    } else if (n == 16 && s[7] == '.' && s[8] == '.') {
        year_month(s, &y, &mf);
        year_month(s + 9, &y2, &ml);
        if (y >= 1 && y2 >= 1) {
            int months = (y2 * 12 + ml) - (y * 12 + mf) + 1;
            if (months < 1)
                return tx_err_set(err, TX_EPARSE,
                                  "invalid period '%s': the first month is after the last", s);
            if (months > 12)
                return tx_err_set(err, TX_EPARSE,
                                  "invalid period '%s': a period spans at most 12 months", s);
        }
    }
    if (y < 1 || y2 < 1 || y > 9998)
        return tx_err_set(err, TX_EPARSE, "invalid period '%.64s%s': %s", s,
                          n > 64 ? "..." : "", k_forms);
    p->year = y;
    p->month_first = mf;
    p->year_last = y2;
    p->month_last = ml;
    p->nmonths = (y2 * 12 + ml) - (y * 12 + mf) + 1;
    p->start = tx_local_to_unix(y, mf, 1, 0, 0, 0);
    p->end = ml == 12 ? tx_local_to_unix(y2 + 1, 1, 1, 0, 0, 0)
                      : tx_local_to_unix(y2, ml + 1, 1, 0, 0, 0);
    return TX_OK;
}

void tx_period_format(const tx_period *p, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    if (p->month_first == 1 && p->month_last == 12 && p->year_last == p->year)
        snprintf(out, cap, "%04d", p->year);
    else
        snprintf(out, cap, "%04d-%02d..%04d-%02d", p->year, p->month_first, p->year_last,
                 p->month_last);
}

void tx_period_month(const tx_period *p, int k, int *year, int *month)
{
    int idx = p->year * 12 + (p->month_first - 1) + k;
    *year = idx / 12;
    *month = idx % 12 + 1;
}
