/*  hartslag-load part 2: end-to-end latency through real hartslagd daemons.

    One sender daemon (s1) and two recipient daemons (r1, r2), real broker,
    all on loopback. The bench drives s1 through its control socket
    (docs/daemon.md "Control protocol": `send`, pipelined, paced at the
    offered rate) and watches r1 and r2 (`watch format=json`). A signal's
    latency is from the moment the bench sends the `send` request to the
    moment the second recipient's watch event arrives. A recipient daemon
    emits that event after its inbox transaction committed and after it
    sent the DeliveryAck, so the figure covers: control request, sealing,
    the sender's outbox commit, Submit, the broker's turn and commit,
    Deliver, signature check, decryption, the recipient's inbox commit, the
    ack, and the watch event's own hop back to the bench. */
#define _GNU_SOURCE
#include "load.h"

#include "daemon_harness.h"
#include "pg_harness.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static zsock_t *s_control(dh_t *d)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zsock_set_sndhwm(sock, 0);
    zsock_set_rcvhwm(sock, 0);
    zsock_set_linger(sock, 0);
    if (zsock_connect(sock, "ipc://%s/control.sock", d->state) != 0)
        zsock_destroy(&sock);
    return sock;
}

static int s_watch(zsock_t *sock)
{
    if (zstr_sendx(sock, "watch", "format=json", NULL) != 0)
        return -1;
    return 0;
}

static int s_send_signal(zsock_t *ctrl, size_t seq)
{
    char text[64];
    snprintf(text, sizeof text, "text=bench-seq-%zu end", seq);
    return zstr_sendx(ctrl, "send", "to=r1,r2", "type=overlast", "purpose=casusoverleg",
                      "subject-case=bench-case-42", "field=adres=Voorbeeldstraat 12a",
                      "field=categorie=geluid", "field=datum=2026-03-02", text, "user=agent-4711",
                      NULL);
}

/* A takeover during the run: the active broker is killed -9 at `kill_at`
   (ns after the start) and the standby's log is read until it says it is
   active. */
typedef struct {
    pid_t victim;
    uint64_t kill_at;
    const char *standby_log;
    uint64_t t_kill, t_active, t_first; /* absolute ns; 0 = not yet */
    size_t duplicates;
} s_takeover_t;

static void s_takeover_step(s_takeover_t *tk, uint64_t t0)
{
    uint64_t now = load_now_ns();
    if (!tk->t_kill && now >= t0 + tk->kill_at) {
        kill(tk->victim, SIGKILL);
        tk->t_kill = load_now_ns();
    }
    if (tk->t_kill && !tk->t_active) {
        char *log = tu_read_file(tk->standby_log, NULL);
        if (log && strstr(log, "event=active"))
            tk->t_active = load_now_ns();
        free(log);
    }
}

/* Sends `n` signals at `rate` and collects latencies (ns) into lat; got
   counts signals seen by both recipients. */
static int s_run(zsock_t *ctrl, zsock_t *watch[2], size_t n, double rate, double *lat, size_t *both,
                 size_t *errors, double *seconds, s_takeover_t *tk)
{
    uint64_t *t_send = calloc(n, sizeof *t_send);
    uint8_t *seen = calloc(n, 1);
    zmq_pollitem_t items[3] = {{zsock_resolve(ctrl), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(watch[0]), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(watch[1]), 0, ZMQ_POLLIN, 0}};
    uint64_t interval = (uint64_t)(1e9 / rate);
    uint64_t t0 = load_now_ns(), last_renew = t0;
    uint64_t deadline = t0 + (uint64_t)((double)n / rate * 1e9) + 20ull * 1000000000ull;
    size_t sent = 0;
    *both = 0;
    *errors = 0;
    while (*both + *errors < n && load_now_ns() < deadline) {
        if (tk)
            s_takeover_step(tk, t0);
        uint64_t now = load_now_ns();
        while (sent < n && now >= t0 + sent * interval) {
            t_send[sent] = load_now_ns();
            if (s_send_signal(ctrl, sent) != 0)
                (*errors)++;
            sent++;
        }
        if (now - last_renew > 10ull * 1000000000ull) {
            s_watch(watch[0]);
            s_watch(watch[1]);
            last_renew = now;
        }
        long timeout = 50;
        if (sent < n) {
            uint64_t next = t0 + sent * interval;
            now = load_now_ns();
            /* Rounded up: rounding down turned every sub-millisecond wait into
               a busy loop (timeout 0), a whole core of this 2-core machine
               taken from the daemons and the broker at 1,000/s. A request
               sent up to 1 ms late keeps its own send time, and the ones
               overdue go out together, so the offered rate holds. */
            timeout = next > now ? (long)((next - now + 999999) / 1000000) : 0;
        }
        if (tk && timeout > 5)
            timeout = 5;
        if (zmq_poll(items, 3, timeout) <= 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN) {
            for (;;) {
                zmsg_t *msg = zmsg_recv_nowait(ctrl);
                if (!msg)
                    break;
                char *first = zmsg_popstr(msg);
                if (!first || strcmp(first, "ok") != 0) {
                    char *more = zmsg_popstr(msg);
                    if ((*errors)++ < 3)
                        fprintf(stderr, "load: e2e send: %s %s\n", first ? first : "?",
                                more ? more : "");
                    free(more);
                }
                free(first);
                zmsg_destroy(&msg);
            }
        }
        for (int w = 0; w < 2; w++) {
            if (!(items[1 + w].revents & ZMQ_POLLIN))
                continue;
            for (;;) {
                zmsg_t *msg = zmsg_recv_nowait(watch[w]);
                if (!msg)
                    break;
                uint64_t t = load_now_ns();
                char *kind = zmsg_popstr(msg);
                char *payload = zmsg_popstr(msg);
                const char *mark = payload ? strstr(payload, "bench-seq-") : NULL;
                if (kind && strcmp(kind, "item") == 0 && mark) {
                    size_t seq = (size_t)strtoull(mark + 10, NULL, 10);
                    if (seq < n && !(seen[seq] & (1u << w))) {
                        seen[seq] |= (uint8_t)(1u << w);
                        if (seen[seq] == 3)
                            lat[(*both)++] = (double)(t - t_send[seq]);
                        if (seen[seq] == 3 && tk && tk->t_kill && !tk->t_first &&
                            t_send[seq] >= tk->t_kill)
                            tk->t_first = t;
                    } else if (seq < n && tk) {
                        tk->duplicates++;
                    }
                }
                free(kind);
                free(payload);
                zmsg_destroy(&msg);
            }
        }
    }
    *seconds = (double)(load_now_ns() - t0) / 1e9;
    free(t_send);
    free(seen);
    return 0;
}

int bench_e2e(double rate, double seconds, latency_t *out)
{
    return bench_e2e_takeover(rate, seconds, NULL, out);
}

int bench_e2e_takeover(double rate, double seconds, takeover_t *takeover, latency_t *out)
{
    memset(out, 0, sizeof *out);
    pid_t standby = 0;
    char standby_log[4400] = "", both_endpoints[600] = "";
    s_takeover_t tk = {0};
    int rc = -1;
    party_t *party = party_new(1, 2, 0);
    dh_t *d[3] = {NULL, NULL, NULL};
    zsock_t *ctrl = NULL, *watch[2] = {NULL, NULL};
    double *lat = NULL;
    if (!party || party_start_broker(party, "info") != 0) {
        fprintf(stderr, "load: e2e: broker did not start\n");
        goto done;
    }
    if (takeover) {
        /* the standby on a port of its own, as on a second machine; the
           daemons know both endpoints */
        char bind[64];
        snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", pg_harness_free_port());
        snprintf(both_endpoints, sizeof both_endpoints, "%s,%s", party->bh->endpoint, bind);
        standby = bh_standby_start(party->bh, bind, standby_log, sizeof standby_log);
        bool waiting = false;
        for (int waited = 0; standby > 0 && !waiting && waited < 10000; waited += 50) {
            char *log = tu_read_file(standby_log, NULL);
            waiting = log && strstr(log, "event=standby");
            free(log);
            usleep(50000);
        }
        if (!waiting) {
            fprintf(stderr, "load: takeover: the standby broker did not start waiting\n");
            goto done;
        }
    }
    const char *orgs[3] = {"s1", "r1", "r2"};
    for (int i = 0; i < 3; i++) {
        d[i] = dh_new(party->bh, orgs[i], takeover ? both_endpoints : NULL, NULL);
        if (!d[i] || dh_start(d[i]) != 0 || !dh_wait_log(d[i], "event=connected", 10000)) {
            fprintf(stderr, "load: e2e: daemon %s did not start\n", orgs[i]);
            goto done;
        }
    }
    ctrl = s_control(d[0]);
    watch[0] = s_control(d[1]);
    watch[1] = s_control(d[2]);
    if (!ctrl || !watch[0] || !watch[1] || s_watch(watch[0]) || s_watch(watch[1]))
        goto done;
    for (int w = 0; w < 2; w++) {
        zsock_set_rcvtimeo(watch[w], 5000);
        char *ok = zstr_recv(watch[w]);
        bool fine = ok && strcmp(ok, "ok") == 0;
        zstr_free(&ok);
        if (!fine) {
            fprintf(stderr, "load: e2e: watch refused\n");
            goto done;
        }
    }
    /* Warm up (not measured): connections, caches, first checkpoints. */
    size_t warm = 200, both = 0, errors = 0;
    double secs = 0;
    lat = calloc(warm, sizeof *lat);
    s_run(ctrl, watch, warm, 500, lat, &both, &errors, &secs, NULL);
    free(lat);
    size_t n = (size_t)(rate * seconds);
    lat = calloc(n, sizeof *lat);
    uint64_t c0[4] = {load_cpu_us(d[0]->pid), load_cpu_us(d[1]->pid), load_cpu_us(d[2]->pid),
                      load_cpu_us(party->bh->pid)};
    /* BENCH_PERF_E2E=PREFIX: perf on the sender daemon, one recipient daemon, the broker. */
    const char *perf = getenv("BENCH_PERF_E2E");
    pid_t perfs[3] = {0, 0, 0};
    if (perf && *perf) {
        pid_t targets[3] = {d[0]->pid, d[1]->pid, party->bh->pid};
        const char *names[3] = {"sender", "recipient", "broker"};
        for (int i = 0; i < 3; i++) {
            char file[4200];
            snprintf(file, sizeof file, "%s.%s", perf, names[i]);
            perfs[i] = load_perf_start(targets[i], file);
        }
    }
    if (takeover) {
        tk.victim = party->bh->pid;
        tk.kill_at = (uint64_t)(takeover->kill_after_s * 1e9);
        tk.standby_log = standby_log;
    }
    s_run(ctrl, watch, n, rate, lat, &both, &errors, &secs, takeover ? &tk : NULL);
    if (takeover) {
        waitpid(tk.victim, NULL, 0);
        party->bh->pid = 0; /* killed: nothing to stop */
        takeover->killed = tk.t_kill != 0;
        takeover->takeover_ms = tk.t_active ? (double)(tk.t_active - tk.t_kill) / 1e6 : -1;
        takeover->first_after_ms = tk.t_first ? (double)(tk.t_first - tk.t_kill) / 1e6 : -1;
        takeover->duplicates = tk.duplicates;
        takeover->delayed = 0;
        for (size_t i = 0; i < both; i++)
            if (lat[i] > 100e6)
                takeover->delayed++;
    }
    for (int i = 0; i < 3; i++)
        load_perf_stop(perfs[i]);
    uint64_t c1[4] = {load_cpu_us(d[0]->pid), load_cpu_us(d[1]->pid), load_cpu_us(d[2]->pid),
                      load_cpu_us(party->bh->pid)};
    out->cpu_sender_us = (double)(c1[0] - c0[0]) / (double)n;
    out->cpu_recipient_us = (double)(c1[1] - c0[1] + c1[2] - c0[2]) / 2.0 / (double)n;
    out->cpu_broker_us = (double)(c1[3] - c0[3]) / (double)n;
    qsort(lat, both, sizeof *lat, load_cmp_double);
    out->sent = n;
    out->received = both;
    out->lost = n - both;
    out->offered = rate;
    out->seconds = secs;
    out->achieved = (double)both / secs;
    out->p50_ms = load_percentile(lat, both, 50) / 1e6;
    out->p99_ms = load_percentile(lat, both, 99) / 1e6;
    out->p999_ms = load_percentile(lat, both, 99.9) / 1e6;
    out->max_ms = both ? lat[both - 1] / 1e6 : 0;
    rc = both == n ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "load: e2e: %zu of %zu signals reached both recipients (%zu errors)\n",
                both, n, errors);
done:
    free(lat);
    zsock_destroy(&ctrl);
    zsock_destroy(&watch[0]);
    zsock_destroy(&watch[1]);
    for (int i = 0; i < 3; i++)
        if (d[i]) {
            dh_stop(d[i], SIGTERM);
            dh_destroy(&d[i]);
        }
    if (standby > 0) {
        kill(standby, SIGTERM);
        waitpid(standby, NULL, 0);
    }
    if (party && party->bh->pid > 0)
        bh_stop(party->bh, SIGTERM);
    party_destroy(&party);
    return rc;
}
