/*  hartslag-load part 1: the broker's capacity with thin recipients.
    The broker must be running and the senders connected (main.c). */
#define _GNU_SOURCE
#include "load.h"

#include "db.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every delivery acknowledged and processed by the broker: nothing
   pending. Read through lib/db.h, so the same job runs on either store. */
static bool s_broker_all_acked(void *arg, size_t expected)
{
    (void)expected;
    db_t *store = arg;
    db_stmt_t *pending = db_prepare(store, "SELECT count(*) FROM deliveries WHERE state = 0");
    bool done = false;
    if (pending && db_step(pending) == DB_ROW)
        done = db_column_int64(pending, 0) == 0;
    if (pending)
        db_reset(pending);
    return done;
}

/* Packs Frame{Submit{signal}} around a packed SealedSignal. */
static uint8_t *s_submit_frame(const sealed_t *sig, size_t *len)
{
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, sig->len, sig->sealed);
    if (!signal)
        return NULL;
    Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
    submit.signal = signal;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
    frame.submit = &submit;
    *len = hartslag__frame__get_packed_size(&frame);
    uint8_t *bytes = malloc(*len);
    hartslag__frame__pack(&frame, bytes);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    return bytes;
}

int bench_hartslag_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out)
{
    int rc = -1;
    bh_client_t *rcpt[LOAD_MAX_RECIPIENTS] = {0};
    zsock_t *recv[LOAD_MAX_RECIPIENTS], *send[LOAD_MAX_SENDERS];
    uint8_t **msgs = calloc(n, sizeof *msgs);
    size_t *lens = calloc(n, sizeof *lens);
    char err[256];
    db_t *store = db_open(bh_store(party->bh), DB_READONLY, err, sizeof err);
    if (!store) {
        fprintf(stderr, "load: cannot read the broker's store: %s\n", err);
        goto done;
    }
    db_set_busy_timeout(store, 1000);
    for (size_t i = 0; i < n; i++)
        if (!(msgs[i] = s_submit_frame(&sigs[i], &lens[i])))
            goto done;
    for (size_t j = 0; j < party->m; j++) {
        rcpt[j] = bh_client_new(party->bh, party->recipients[j], false);
        if (!rcpt[j] || bh_hello(rcpt[j]) != 0) {
            fprintf(stderr, "load: recipient %s cannot connect\n", party->recipients[j]);
            goto done;
        }
        zsock_set_sndhwm(rcpt[j]->dealer, 0);
        zsock_set_rcvhwm(rcpt[j]->dealer, 0);
        recv[j] = rcpt[j]->dealer;
    }
    for (size_t i = 0; i < party->k; i++)
        send[i] = party->sender[i]->dealer;
    zjob_t job = {
        .msgs = msgs,
        .lens = lens,
        .n = n,
        .rate = rate,
        .window = 1024,
        .send = send,
        .k = party->k,
        .recv = recv,
        .m = party->m,
        .db_dir = party->bh->root,
        .hartslag = true,
        .all_acked = s_broker_all_acked,
        .all_acked_arg = store,
        .server = party->bh->pid,
    };
    rc = zjob_run(&job, out);
done:
    for (size_t j = 0; j < party->m; j++)
        bh_client_destroy(&rcpt[j]);
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    free(lens);
    db_close(&store);
    return rc;
}
