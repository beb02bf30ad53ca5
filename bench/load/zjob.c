/*  hartslag-load: the capacity job over ZeroMQ (Hartslag broker and the
    raw forwarder): one sender thread pipelining pre-built messages over K
    DEALERs, one thread of M thin recipients that store each batch they
    read in one SQLite transaction and only then ack. See load.h. */
#define _GNU_SOURCE
#include "load.h"

#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECV_BATCH 4096

static int s_run_no; /* thin stores are fresh for every run */

typedef struct {
    const zjob_t *job;
    uint64_t t0_ns;
    size_t answered, refused;
    int rc;
} sender_ctx_t;

typedef struct {
    const zjob_t *job;
    atomic_size_t acks;
    atomic_bool stop;
    size_t batches;
    int rc;
} recv_ctx_t;

static void *s_sender(void *arg)
{
    sender_ctx_t *ctx = arg;
    const zjob_t *job = ctx->job;
    zmq_pollitem_t items[LOAD_MAX_SENDERS];
    for (size_t i = 0; i < job->k; i++) {
        items[i].socket = zsock_resolve(job->send[i]);
        items[i].fd = 0;
        items[i].events = ZMQ_POLLIN;
        items[i].revents = 0;
    }
    size_t sent = 0;
    uint8_t *buf = malloc(WIRE_FRAME_MAX + 1024);
    uint64_t interval = job->rate > 0 ? (uint64_t)(1e9 / job->rate) : 0;
    uint64_t deadline = ctx->t0_ns + 600ull * 1000000000ull;
    while (ctx->answered < job->n) {
        uint64_t now = load_now_ns();
        if (now > deadline) {
            fprintf(stderr, "load: sender gave up: %zu of %zu answered\n", ctx->answered, job->n);
            ctx->rc = -1;
            break;
        }
        while (sent < job->n && sent - ctx->answered < job->window &&
               (!interval || now >= ctx->t0_ns + sent * interval)) {
            void *socket = zsock_resolve(job->send[sent % job->k]);
            if (zmq_send(socket, job->msgs[sent], job->lens[sent], 0) < 0) {
                ctx->rc = -1;
                break;
            }
            sent++;
        }
        long timeout = 100;
        if (interval && sent < job->n && sent - ctx->answered < job->window) {
            uint64_t next = ctx->t0_ns + sent * interval;
            now = load_now_ns();
            timeout = next > now ? (long)((next - now) / 1000000) : 0;
        }
        if (zmq_poll(items, (int)job->k, timeout) < 0)
            continue;
        for (size_t i = 0; i < job->k; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            for (;;) {
                int len = zmq_recv(items[i].socket, buf, WIRE_FRAME_MAX + 1024, ZMQ_DONTWAIT);
                if (len < 0)
                    break;
                if (!job->hartslag) {
                    ctx->answered++;
                    continue;
                }
                Hartslag__Frame *frame = hartslag__frame__unpack(NULL, (size_t)len, buf);
                if (!frame)
                    continue;
                if (frame->body_case == HARTSLAG__FRAME__BODY_ACCEPTED)
                    ctx->answered++;
                else if (frame->body_case == HARTSLAG__FRAME__BODY_DENIED) {
                    if (ctx->refused++ == 0)
                        fprintf(stderr, "load: denied: %s\n", frame->denied->reason);
                    ctx->answered++;
                } else if (frame->body_case == HARTSLAG__FRAME__BODY_ERROR) {
                    fprintf(stderr, "load: error: %s\n", frame->error->code);
                }
                hartslag__frame__free_unpacked(frame, NULL);
            }
        }
    }
    free(buf);
    return NULL;
}

/* The id of a Deliver frame (the thin recipient reads the header, never
   the content). 0, 1 when it is not a Deliver, -1 when unreadable. */
static int s_deliver_id(const uint8_t *bytes, size_t len, uint8_t id[16])
{
    Hartslag__Frame *frame = hartslag__frame__unpack(NULL, len, bytes);
    if (!frame)
        return -1;
    int rc = 1;
    if (frame->body_case == HARTSLAG__FRAME__BODY_DELIVER && frame->deliver->signal) {
        Hartslag__SignalHeader *header = hartslag__signal_header__unpack(
            NULL, frame->deliver->signal->header.len, frame->deliver->signal->header.data);
        rc = -1;
        if (header && header->signal_id.len == 16) {
            memcpy(id, header->signal_id.data, 16);
            rc = 0;
        }
        if (header)
            hartslag__signal_header__free_unpacked(header, NULL);
    }
    hartslag__frame__free_unpacked(frame, NULL);
    return rc;
}

static int s_send_ack(void *socket, const uint8_t id[16])
{
    Hartslag__DeliveryAck ack = HARTSLAG__DELIVERY_ACK__INIT;
    ack.signal_id.data = (uint8_t *)id;
    ack.signal_id.len = 16;
    ack.status = HARTSLAG__ACK_STATUS__ACK_STORED;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVERY_ACK;
    frame.delivery_ack = &ack;
    uint8_t bytes[128];
    size_t len = hartslag__frame__get_packed_size(&frame);
    if (len > sizeof bytes)
        return -1;
    hartslag__frame__pack(&frame, bytes);
    return zmq_send(socket, bytes, len, 0) < 0 ? -1 : 0;
}

static void *s_recipients(void *arg)
{
    recv_ctx_t *ctx = arg;
    const zjob_t *job = ctx->job;
    thin_store_t *stores[LOAD_MAX_RECIPIENTS];
    s_run_no++;
    zmq_pollitem_t items[LOAD_MAX_RECIPIENTS];
    for (size_t j = 0; j < job->m; j++) {
        char name[32];
        snprintf(name, sizeof name, "thin-%zu-%d-%d", j, (int)getpid(), s_run_no);
        stores[j] = thin_store_open(job->db_dir, name);
        items[j].socket = zsock_resolve(job->recv[j]);
        items[j].fd = 0;
        items[j].events = ZMQ_POLLIN;
        items[j].revents = 0;
    }
    uint8_t(*ids)[16] = malloc(RECV_BATCH * 16);
    uint8_t *buf = malloc(WIRE_FRAME_MAX + 1024);
    while (!atomic_load(&ctx->stop)) {
        if (zmq_poll(items, (int)job->m, 20) <= 0)
            continue;
        for (size_t j = 0; j < job->m; j++) {
            if (!(items[j].revents & ZMQ_POLLIN))
                continue;
            size_t n = 0;
            while (n < RECV_BATCH) {
                int len = zmq_recv(items[j].socket, buf, WIRE_FRAME_MAX + 1024, ZMQ_DONTWAIT);
                if (len < 0)
                    break;
                if (s_deliver_id(buf, (size_t)len, ids[n]) == 0)
                    n++;
            }
            if (n == 0)
                continue;
            if (!stores[j] || thin_store_batch(stores[j], (const uint8_t(*)[16])ids, n) != 0) {
                fprintf(stderr, "load: thin recipient store failed\n");
                ctx->rc = -1;
                continue;
            }
            ctx->batches++;
            for (size_t i = 0; i < n; i++)
                if (s_send_ack(items[j].socket, ids[i]) != 0)
                    ctx->rc = -1;
            atomic_fetch_add(&ctx->acks, n);
        }
    }
    for (size_t j = 0; j < job->m; j++)
        thin_store_close(&stores[j]);
    free(ids);
    free(buf);
    return NULL;
}

int zjob_run(const zjob_t *job, result_t *out)
{
    memset(out, 0, sizeof *out);
    recv_ctx_t rctx;
    memset(&rctx, 0, sizeof rctx);
    rctx.job = job;
    atomic_init(&rctx.acks, 0);
    atomic_init(&rctx.stop, false);
    sender_ctx_t sctx;
    memset(&sctx, 0, sizeof sctx);
    sctx.job = job;
    pthread_t rt, st;
    pthread_create(&rt, NULL, s_recipients, &rctx);
    usleep(20000);
    uint64_t cpu0 = load_cpu_us(job->server);
    uint64_t main0 = load_main_thread_cpu_us(job->server);
    uint64_t written0 = load_write_bytes(job->server);
    sctx.t0_ns = load_now_ns();
    pthread_create(&st, NULL, s_sender, &sctx);
    pthread_join(st, NULL);
    size_t expected = 2 * job->n;
    uint64_t t_end = 0;
    uint64_t deadline = load_now_ns() + 300ull * 1000000000ull;
    int rc = sctx.rc;
    while (rc == 0) {
        if (atomic_load(&rctx.acks) >= expected - 2 * sctx.refused &&
            job->all_acked(job->all_acked_arg, expected - 2 * sctx.refused)) {
            t_end = load_now_ns();
            break;
        }
        if (load_now_ns() > deadline) {
            fprintf(stderr, "load: only %zu of %zu acks\n", atomic_load(&rctx.acks), expected);
            rc = -1;
            break;
        }
        usleep(500);
    }
    uint64_t cpu1 = load_cpu_us(job->server);
    uint64_t main1 = load_main_thread_cpu_us(job->server);
    uint64_t written1 = load_write_bytes(job->server);
    atomic_store(&rctx.stop, true);
    pthread_join(rt, NULL);
    out->n = job->n;
    out->offered = job->rate;
    out->answered = sctx.answered;
    out->refused = sctx.refused;
    out->acks = atomic_load(&rctx.acks);
    out->batches = (double)rctx.batches;
    out->rss_kib = load_rss_kib(job->server);
    if (rc == 0 && t_end) {
        out->seconds = (double)(t_end - sctx.t0_ns) / 1e9;
        out->per_s = (double)(job->n - sctx.refused) / out->seconds;
        out->cpu_us = (double)(cpu1 - cpu0) / (double)job->n;
        out->main_us = (double)(main1 - main0) / (double)job->n;
        out->write_kib = (double)(written1 - written0) / 1024.0 / (double)job->n;
    }
    return rc | rctx.rc;
}
