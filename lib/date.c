/*  date: calendar dates as days since 1970-01-01 (UTC); see date.h. */
#include "date.h"

#include <stdbool.h>
#include <string.h>

#define DATE_LAST_DAY 2932896 /* 9999-12-31 */

/* Howard Hinnant's days_from_civil: proleptic Gregorian, exact, no tables. */
static int64_t s_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static void s_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int year = (int)yoe + (int)era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = year + (*m <= 2);
}

static bool s_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int date_parse(const char *text, size_t len, int64_t *day)
{
    if (!text || len != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    int v[3] = {0, 0, 0};
    static const int start[3] = {0, 5, 8}, width[3] = {4, 2, 2};
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < width[p]; k++) {
            char c = text[start[p] + k];
            if (c < '0' || c > '9')
                return -1;
            v[p] = v[p] * 10 + (c - '0');
        }
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1)
        return -1;
    unsigned max = mdays[v[1] - 1] + (v[1] == 2 && s_is_leap(v[0]));
    if ((unsigned)v[2] > max)
        return -1;
    *day = s_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]);
    return 0;
}

int date_parse_cstr(const char *text, int64_t *day)
{
    return text ? date_parse(text, strlen(text), day) : -1;
}

void date_format(int64_t day, char out[11])
{
    if (day < 0)
        day = 0;
    if (day > DATE_LAST_DAY)
        day = DATE_LAST_DAY;
    int y;
    unsigned m, d;
    s_civil_from_days(day, &y, &m, &d);
    unsigned uy = (unsigned)y;
    out[0] = (char)('0' + uy / 1000 % 10);
    out[1] = (char)('0' + uy / 100 % 10);
    out[2] = (char)('0' + uy / 10 % 10);
    out[3] = (char)('0' + uy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}
