/* codes.c - identifier and code checks: USCC (GB 32100-2015), GB/T 4754 classes, division
 * codes. */
#include "tanxiao.h"

#include <string.h>

/* GB 32100-2015: 31 characters (no I, O, S, V, Z); weight of position i is 3^i mod 31. */
static const char uscc_charset[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c)
{
    const char *p = c ? strchr(uscc_charset, c) : NULL;
    return p ? (int)(p - uscc_charset) : -1;
}

char tx_uscc_check_char(const char *first17)
{
    int sum = 0, weight = 1;
    for (int i = 0; i < 17; i++) {
        int v = uscc_value(first17[i]);
        if (v < 0)
            return 0;
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    int check = (31 - sum % 31) % 31;
    return uscc_charset[check];
}

int tx_uscc_valid(const char *s, size_t len)
{
    if (len != 18)
        return 0;
    for (int i = 2; i < 8; i++) /* registration authority's division code: digits */
        if (s[i] < '0' || s[i] > '9')
            return 0;
    char c = tx_uscc_check_char(s);
    return c != 0 && c == s[17];
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int tx_industry_normalise(const char *s, size_t len, char out[5])
{
    if (len == 5 && s[0] >= 'A' && s[0] <= 'T') {
        s++;
        len--;
    }
    if (len != 4 || !all_digits(s, 4))
        return TX_EPARSE;
    memcpy(out, s, 4);
    out[4] = '\0';
    return TX_OK;
}

/* 1 when the first two digits are a province-level code of GB/T 2260. */
static int province_code(int p)
{
    return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
           (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
           p == 81 || p == 82;
}

int tx_district_normalise(const char *s, size_t len, char out[7])
{
    if (len != 6 || !all_digits(s, 6) || !province_code((s[0] - '0') * 10 + (s[1] - '0')) ||
        (s[2] == '0' && s[3] == '0' && s[4] == '0' && s[5] == '0'))
        return TX_EPARSE; /* a 6-digit county-level code: province, prefecture, county */
    memcpy(out, s, 6);
    out[6] = '\0';
    return TX_OK;
}
