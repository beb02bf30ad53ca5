/*  The delivery window: a recipient with a full window gets the rest in
    order as it acks, none skipped and none twice — also when new signals
    arrive while older ones still wait in the store. */
#include "broker_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define SIGNALS 40

static bh_t *bh;
static bh_client_t *politie, *gemeente;

/* Set up and torn down by the suite, so a failed assertion leaves no broker behind. */
static void s_setup(void)
{
    tu_watchdog(120);
    const char *orgs[] = {"gemeente", "politie", "welzijn"};
    bh = bh_new(orgs, 3, bh_default_agreements);
    cr_assert_not_null(bh);
    cr_assert_eq(bh_start(bh, "delivery_window: 4\n"), 0);
    politie = bh_client_new(bh, "politie", false);
    gemeente = bh_client_new(bh, "gemeente", false);
}

static void s_teardown(void)
{
    bh_client_destroy(&politie);
    bh_client_destroy(&gemeente);
    bh_destroy(&bh);
}

TestSuite(window, .init = s_setup, .fini = s_teardown);

Test(window, a_full_window_never_skips_or_repeats)
{
    cr_assert_eq(bh_hello(politie), 0);
    cr_assert_eq(bh_hello(gemeente), 0);
    uint8_t ids[SIGNALS][16];
    int seen[SIGNALS] = {0};
    int received = 0;
    /* Send in waves while acking slowly, so new signals arrive while older
       ones wait behind a full window. */
    for (int i = 0; i < SIGNALS; i++) {
        uint8_t *sealed = NULL;
        size_t len = 0;
        cr_assert_eq(bh_seal(bh, politie, "gemeente", "overlast", "casusoverleg", "datum", NULL,
                             &sealed, &len, ids[i]),
                     0);
        Hartslag__Frame *answer = bh_submit(politie, sealed, len, 5000);
        free(sealed);
        cr_assert_not_null(answer);
        cr_assert_eq(answer->body_case, HARTSLAG__FRAME__BODY_ACCEPTED);
        hartslag__frame__free_unpacked(answer, NULL);
        if (i % 3 == 2) {
            /* Take and ack one delivery now and then. */
            Hartslag__Frame *frame = bh_recv(gemeente, 2000);
            if (frame && frame->body_case == HARTSLAG__FRAME__BODY_DELIVER) {
                Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
                    NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
                for (int k = 0; header && k < SIGNALS; k++)
                    if (memcmp(ids[k], header->signal_id.data, 16) == 0) {
                        seen[k]++;
                        received++;
                    }
                bh_ack(gemeente, header->signal_id.data, true, NULL);
                hartslag__signal_header__free_unpacked(header, NULL);
            }
            if (frame)
                hartslag__frame__free_unpacked(frame, NULL);
        }
    }
    /* Drain: ack everything as it comes. */
    while (received < SIGNALS) {
        Hartslag__Frame *frame = bh_recv(gemeente, 5000);
        cr_assert_not_null(frame, "stalled after %d of %d deliveries", received, SIGNALS);
        if (frame->body_case == HARTSLAG__FRAME__BODY_DELIVER) {
            Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
                NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
            cr_assert_not_null(header);
            for (int k = 0; k < SIGNALS; k++)
                if (memcmp(ids[k], header->signal_id.data, 16) == 0) {
                    seen[k]++;
                    received++;
                }
            bh_ack(gemeente, header->signal_id.data, true, NULL);
            hartslag__signal_header__free_unpacked(header, NULL);
        }
        hartslag__frame__free_unpacked(frame, NULL);
    }
    for (int k = 0; k < SIGNALS; k++)
        cr_assert_eq(seen[k], 1, "signal %d delivered %d times", k, seen[k]);
    cr_assert_null(bh_recv(gemeente, 500), "nothing more");
}
