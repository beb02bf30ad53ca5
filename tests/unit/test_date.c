/*  Tests for lib/date: strict YYYY-MM-DD both ways, leap years, the
    1970..9999 range, and every 997th day formatting back to itself. */
#include <criterion/criterion.h>
#include <string.h>

#include "date.h"

Test(date, strict_calendar_dates)
{
    int64_t day;
    cr_assert_eq(date_parse_cstr("1970-01-01", &day), 0);
    cr_assert_eq(day, 0);
    cr_assert_eq(date_parse_cstr("2000-03-01", &day), 0);
    cr_assert_eq(day, 11017);
    cr_assert_eq(date_parse("2025-01-01", 10, &day), 0);
    cr_assert_eq(day, 20089);
    cr_assert_eq(date_parse_cstr("2024-02-29", &day), 0);
    cr_assert_eq(date_parse_cstr("2000-02-29", &day), 0);
    const char *bad[] = {"2025-02-29",  "1900-02-29", "2100-02-29", "2025-04-31", "2025-13-01",
                         "2025-00-10",  "2025-01-00", "2025-1-01",  "2025/01/01", "1969-12-31",
                         "2025-01-01T", "2026-01-0x", "",           " 2025-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(date_parse_cstr(bad[i], &day), -1, "%s must be refused", bad[i]);
    cr_assert_eq(date_parse("2025-01-01T", 10, &day), 0, "len bounds the text");
    cr_assert_eq(date_parse(NULL, 10, &day), -1);
    cr_assert_eq(date_parse_cstr(NULL, &day), -1);
}

Test(date, format_round_trips_and_clamps)
{
    char buf[11];
    for (int64_t d = 0; d < 2932897; d += 997) {
        date_format(d, buf);
        cr_assert_eq(strlen(buf), 10);
        int64_t back;
        cr_assert_eq(date_parse(buf, 10, &back), 0, "%s", buf);
        cr_assert_eq(back, d);
    }
    date_format(20089, buf);
    cr_assert_str_eq(buf, "2025-01-01");
    date_format(-5, buf);
    cr_assert_str_eq(buf, "1970-01-01");
    date_format(INT64_MAX, buf);
    cr_assert_str_eq(buf, "9999-12-31");
}
