/*  pseudonymd/replay: recently used request ids, on an injected clock. */
#include "replay.h"

#include <criterion/criterion.h>
#include <string.h>

#define T0 1796342400000ll

Test(pseudonymd_replay, an_id_is_seen_for_ten_minutes_per_client)
{
    replay_t *r = replay_new();
    uint8_t a[16], b[16];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    cr_assert_not(replay_seen(r, "politie", a, T0));
    cr_assert_eq(replay_remember(r, "politie", a, T0), 0);
    cr_assert(replay_seen(r, "politie", a, T0 + 1));
    cr_assert(replay_seen(r, "politie", a, T0 + REPLAY_WINDOW_MS - 1));
    cr_assert_not(replay_seen(r, "gemeente", a, T0 + 1), "ids are per client");
    cr_assert_not(replay_seen(r, "politie", b, T0 + 1));
    cr_assert_eq(replay_size(r, T0 + 1), 1);
    cr_assert_not(replay_seen(r, "politie", a, T0 + REPLAY_WINDOW_MS), "kept too long");
    cr_assert_eq(replay_size(r, T0 + REPLAY_WINDOW_MS), 0, "not forgotten");
    replay_destroy(&r);
    replay_destroy(&r);
}

Test(pseudonymd_replay, expiry_goes_in_order)
{
    replay_t *r = replay_new();
    uint8_t id[16];
    for (int i = 0; i < 100; i++) {
        memset(id, 0, sizeof id);
        id[0] = (uint8_t)i;
        cr_assert_eq(replay_remember(r, "politie", id, T0 + i * 1000), 0);
    }
    cr_assert_eq(replay_size(r, T0 + 100 * 1000), 100);
    /* 50 s after the window of the first: the first 51 are gone. */
    cr_assert_eq(replay_size(r, T0 + REPLAY_WINDOW_MS + 50 * 1000), 49);
    id[0] = 50;
    cr_assert_not(replay_seen(r, "politie", id, T0 + REPLAY_WINDOW_MS + 50 * 1000));
    id[0] = 51;
    cr_assert(replay_seen(r, "politie", id, T0 + REPLAY_WINDOW_MS + 50 * 1000));
    /* Remembering twice keeps the first time. */
    cr_assert_eq(replay_remember(r, "politie", id, T0 + REPLAY_WINDOW_MS + 50 * 1000), 0);
    cr_assert_eq(replay_size(r, T0 + REPLAY_WINDOW_MS + 50 * 1000), 49);
    replay_destroy(&r);
}
