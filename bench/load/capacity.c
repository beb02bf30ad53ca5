/*  hartslag-load part 1: the broker's capacity with thin recipients.
    The broker must be running and the senders connected (main.c). */
#define _GNU_SOURCE
#include "load.h"

#include "wire.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *pending;
} broker_db_t;

/* Every delivery acknowledged and processed by the broker: nothing pending. */
static bool s_broker_all_acked(void *arg, size_t expected)
{
    (void)expected;
    broker_db_t *bdb = arg;
    bool done = false;
    if (sqlite3_step(bdb->pending) == SQLITE_ROW)
        done = sqlite3_column_int64(bdb->pending, 0) == 0;
    sqlite3_reset(bdb->pending);
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
    broker_db_t bdb = {0};
    char path[4400];
    snprintf(path, sizeof path, "%s/broker.db", party->bh->state);
    if (sqlite3_open_v2(path, &bdb.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(bdb.db, "SELECT count(*) FROM deliveries WHERE state=0", -1,
                           &bdb.pending, NULL) != SQLITE_OK) {
        fprintf(stderr, "load: cannot read %s\n", path);
        goto done;
    }
    sqlite3_busy_timeout(bdb.db, 1000);
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
        .all_acked_arg = &bdb,
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
    sqlite3_finalize(bdb.pending);
    sqlite3_close(bdb.db);
    return rc;
}
