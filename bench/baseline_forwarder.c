/*  The ceiling: a raw ZeroMQ ROUTER forwarder, CURVE on both hops, no
    policy, no storage, no audit. The same job as the broker's capacity run
    (bench/load/capacity.c): each sender message names two recipients; the
    forwarder copies the payload (a real Deliver frame) to both, answers the
    sender, and counts the recipients' DeliveryAcks. Routing ids: 's'+i for
    senders, 'r'+j for recipients, 'c' for the bench's counter queries.

    `hartslag-load forwarder SECRET_HEX ENDPOINT_FILE` runs the forwarder
    (a process of its own, so its CPU can be read from /proc). */
#define _GNU_SOURCE
#include "load/load.h"

#include "deliver_frame.h"
#include "wire.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t s_fwd_stop;

static void s_on_term(int sig)
{
    (void)sig;
    s_fwd_stop = 1;
}

int forwarder_main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    uint8_t sk[32], pk[32];
    if (sodium_init() < 0 ||
        sodium_hex2bin(sk, 32, argv[2], strlen(argv[2]), NULL, NULL, NULL) != 0)
        return 2;
    crypto_scalarmult_base(pk, sk);
    signal(SIGTERM, s_on_term);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, hwm = 100000, maxmsg = (int)WIRE_FRAME_MAX + 256, linger = 0;
    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, sk, 32);
    zmq_setsockopt(router, ZMQ_CURVE_PUBLICKEY, pk, 32);
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0)
        return 1;
    char endpoint[256];
    size_t elen = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[3]);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 1;
    fprintf(f, "%s\n", endpoint);
    fclose(f);
    rename(tmp, argv[3]);
    uint64_t acks = 0;
    uint8_t rid[256];
    uint8_t *buf = malloc(WIRE_FRAME_MAX + 1024);
    int timeout = 200;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    while (!s_fwd_stop) {
        int rlen = zmq_recv(router, rid, sizeof rid, 0);
        if (rlen <= 0)
            continue;
        int len = zmq_recv(router, buf, WIRE_FRAME_MAX + 1024, 0);
        if (len < 0)
            continue;
        if (rid[0] == 's' && len > 2) {
            for (int r = 0; r < 2; r++) {
                uint8_t to[2] = {'r', buf[r]};
                zmq_send(router, to, 2, ZMQ_SNDMORE);
                zmq_send(router, buf + 2, (size_t)len - 2, 0);
            }
            zmq_send(router, rid, (size_t)rlen, ZMQ_SNDMORE);
            zmq_send(router, "A", 1, 0);
        } else if (rid[0] == 'r') {
            if (len == 1 && buf[0] == 'H') {
                zmq_send(router, rid, (size_t)rlen, ZMQ_SNDMORE);
                zmq_send(router, "W", 1, 0);
            } else
                acks++;
        } else if (rid[0] == 'c') {
            zmq_send(router, rid, (size_t)rlen, ZMQ_SNDMORE);
            zmq_send(router, &acks, sizeof acks, 0);
        }
    }
    free(buf);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}

/* ------------------------------------------------------------------------
   The client side of the ceiling job */

static zsock_t *s_client(const char *endpoint, const uint8_t server_pk[32], char kind, size_t idx)
{
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    uint8_t rid[2] = {(uint8_t)kind, (uint8_t)idx};
    zmq_setsockopt(zsock_resolve(sock), ZMQ_ROUTING_ID, rid, kind == 'c' ? 1 : 2);
    zsock_set_curve_serverkey_bin(sock, server_pk);
    zsock_set_curve_publickey_bin(sock, pk);
    zsock_set_curve_secretkey_bin(sock, sk);
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, 0);
    zsock_set_rcvhwm(sock, 0);
    if (zsock_connect(sock, "%s", endpoint) != 0)
        zsock_destroy(&sock);
    return sock;
}

static bool s_fwd_all_acked(void *arg, size_t expected)
{
    zsock_t *control = arg;
    if (zmq_send(zsock_resolve(control), "S", 1, 0) < 0)
        return false;
    uint64_t acks = 0;
    zsock_set_rcvtimeo(control, 2000);
    if (zmq_recv(zsock_resolve(control), &acks, sizeof acks, 0) != (int)sizeof acks)
        return false;
    return acks >= expected;
}

int bench_forwarder_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out)
{
    int rc = -1;
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    char hex[65], file[4300];
    sodium_bin2hex(hex, sizeof hex, sk, 32);
    snprintf(file, sizeof file, "%s/forwarder.endpoint", party->bh->root);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "hartslag-load", "forwarder", hex, file, (char *)NULL);
        _exit(127);
    }
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(sk, sizeof sk);
    char endpoint[256] = "";
    for (int i = 0; i < 500 && !endpoint[0]; i++) {
        usleep(10000);
        FILE *f = fopen(file, "r");
        if (f) {
            if (!fgets(endpoint, sizeof endpoint, f))
                endpoint[0] = '\0';
            endpoint[strcspn(endpoint, "\n")] = '\0';
            fclose(f);
        }
    }
    zsock_t *send[LOAD_MAX_SENDERS] = {0}, *recv[LOAD_MAX_RECIPIENTS] = {0}, *control = NULL;
    uint8_t **msgs = calloc(n, sizeof *msgs);
    size_t *lens = calloc(n, sizeof *lens);
    if (!endpoint[0])
        goto done;
    for (size_t j = 0; j < party->m; j++) {
        recv[j] = s_client(endpoint, pk, 'r', j);
        char w[4] = "";
        zsock_set_rcvtimeo(recv[j], 5000);
        if (!recv[j] || zmq_send(zsock_resolve(recv[j]), "H", 1, 0) < 0 ||
            zmq_recv(zsock_resolve(recv[j]), w, sizeof w, 0) != 1)
            goto done;
    }
    for (size_t i = 0; i < party->k; i++)
        if (!(send[i] = s_client(endpoint, pk, 's', i)))
            goto done;
    if (!(control = s_client(endpoint, pk, 'c', 0)))
        goto done;
    uint64_t now = wire_now_ms();
    for (size_t i = 0; i < n; i++) {
        size_t cap = sigs[i].len + DELIVER_FRAME_OVERHEAD + 2;
        msgs[i] = malloc(cap);
        msgs[i][0] = (uint8_t)sigs[i].rcpt[0];
        msgs[i][1] = (uint8_t)sigs[i].rcpt[1];
        size_t len = deliver_frame_encode(msgs[i] + 2, cap - 2, sigs[i].sealed, sigs[i].len, now);
        if (len == 0)
            goto done;
        lens[i] = len + 2;
    }
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
        .hartslag = false,
        .all_acked = s_fwd_all_acked,
        .all_acked_arg = control,
        .server = pid,
    };
    rc = zjob_run(&job, out);
done:
    for (size_t i = 0; i < party->k; i++)
        zsock_destroy(&send[i]);
    for (size_t j = 0; j < party->m; j++)
        zsock_destroy(&recv[j]);
    zsock_destroy(&control);
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    free(lens);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    remove(file);
    return rc;
}
