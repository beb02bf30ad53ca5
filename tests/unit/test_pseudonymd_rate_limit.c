/*  pseudonymd/rate_limit: per-client element counts, on an injected clock. */
#include "rate_limit.h"

#include <criterion/criterion.h>

#define MIN RATE_LIMIT_MINUTE_MS
#define DAY RATE_LIMIT_DAY_MS
/* 2026-12-04 00:00:00 UTC, a day boundary, and a minute boundary. */
#define T0 1796342400000ll

Test(pseudonymd_rate_limit, counts_elements_per_minute)
{
    rate_limit_t *rl = rate_limit_new();
    rate_limit_limits_t lim = {.per_minute = 100, .per_day = 5000};
    rate_limit_refusal_t r;
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 64, T0 + 1000, &r), RATE_LIMIT_OK);
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 36, T0 + 2000, &r), RATE_LIMIT_OK);
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 1, T0 + 3000, &r), RATE_LIMIT_PER_MINUTE);
    cr_assert_eq(r.allowed, 100);
    cr_assert_eq(r.retry_after_ms, MIN - 3000);
    cr_assert(r.first_in_window);
    /* A second refusal in the same window raises no second alert. */
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 1, T0 + 4000, &r), RATE_LIMIT_PER_MINUTE);
    cr_assert_not(r.first_in_window);
    uint32_t minute, day;
    rate_limit_used(rl, "politie", T0 + 4000, &minute, &day);
    cr_assert_eq(minute, 100, "a refused request counted");
    cr_assert_eq(day, 100);
    /* Another client has its own counters. */
    cr_assert_eq(rate_limit_take(rl, "gemeente", &lim, 100, T0 + 4000, &r), RATE_LIMIT_OK);
    /* The next minute frees room; a refusal there is a new window's first. */
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 100, T0 + MIN, &r), RATE_LIMIT_OK);
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 1, T0 + MIN + 10, &r), RATE_LIMIT_PER_MINUTE);
    cr_assert(r.first_in_window);
    rate_limit_destroy(&rl);
    rate_limit_destroy(&rl);
}

Test(pseudonymd_rate_limit, counts_elements_per_utc_day)
{
    rate_limit_t *rl = rate_limit_new();
    rate_limit_limits_t lim = {.per_minute = 100, .per_day = 250};
    rate_limit_refusal_t r;
    int64_t t = T0 + 5 * 3600 * 1000ll;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rate_limit_take(rl, "politie", &lim, 50, t + i * MIN, &r), RATE_LIMIT_OK);
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 1, t + 5 * MIN, &r), RATE_LIMIT_PER_DAY);
    cr_assert_eq(r.allowed, 250);
    cr_assert_eq(r.retry_after_ms, (uint64_t)(T0 + DAY - (t + 5 * MIN)));
    cr_assert(r.first_in_window);
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 1, T0 + DAY - 1, &r), RATE_LIMIT_PER_DAY);
    cr_assert_not(r.first_in_window);
    /* UTC midnight starts a new day. */
    cr_assert_eq(rate_limit_take(rl, "politie", &lim, 100, T0 + DAY, &r), RATE_LIMIT_OK);
    rate_limit_destroy(&rl);
}

Test(pseudonymd_rate_limit, a_batch_larger_than_the_limit_is_refused_whole)
{
    rate_limit_t *rl = rate_limit_new();
    rate_limit_limits_t lim = {.per_minute = 10, .per_day = 1000};
    rate_limit_refusal_t r;
    cr_assert_eq(rate_limit_take(rl, "fg", &lim, 11, T0, &r), RATE_LIMIT_PER_MINUTE);
    uint32_t minute, day;
    rate_limit_used(rl, "fg", T0, &minute, &day);
    cr_assert_eq(minute, 0);
    cr_assert_eq(rate_limit_take(rl, "fg", &lim, 10, T0, &r), RATE_LIMIT_OK);
    cr_assert_str_eq(rate_limit_name(RATE_LIMIT_PER_DAY), "per_day");
    cr_assert_str_eq(rate_limit_name(RATE_LIMIT_PER_MINUTE), "per_minute");
    rate_limit_destroy(&rl);
}
