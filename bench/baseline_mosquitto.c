/*  The peer broker: mosquitto (Debian's package) on 127.0.0.1 with
    persistence on and Nagle off, QoS 1. The same job as the broker's
    capacity run: each signal (the same packed sealed bytes) is one publish
    to a topic two subscribers hold; the publisher waits for PUBACK; each
    subscriber reads the signal id from the header, stores the ids it read
    in one SQLite transaction, and PUBACKs.

    Two honest differences, both in mosquitto's favour: libmosquitto has no
    manual acknowledgement (it sends PUBACK before on_message runs, so the
    ack precedes the durable store), and mosquitto's persistence is a
    periodic snapshot (autosave_interval 1 s here), not a commit before
    PUBACK. */
#define _GNU_SOURCE
#include "load/load.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    struct mosquitto *mosq;
    uint8_t (*ids)[16];
    size_t n_ids, cap_ids;
    thin_store_t *store;
    atomic_size_t *stored;
    bool subscribed;
    bool connected;
} sub_t;

typedef struct {
    struct mosquitto *mosq;
    size_t *acked;
    bool connected;
} pub_t;

static void s_sub_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    sub_t *sub = obj;
    if (rc == 0)
        sub->connected = true;
}

static void s_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                           const int *granted)
{
    (void)mosq;
    (void)mid;
    sub_t *sub = obj;
    if (qos_count == 1 && granted[0] == 1)
        sub->subscribed = true;
}

static void s_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    sub_t *sub = obj;
    if (sub->n_ids == sub->cap_ids) {
        size_t cap = sub->cap_ids ? sub->cap_ids * 2 : 4096;
        void *more = realloc(sub->ids, cap * 16);
        if (!more)
            return;
        sub->ids = more;
        sub->cap_ids = cap;
    }
    if (load_sealed_id(msg->payload, (size_t)msg->payloadlen, sub->ids[sub->n_ids]) == 0)
        sub->n_ids++;
}

static void s_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    (void)mid;
    pub_t *pub = obj;
    (*pub->acked)++;
}

/* Services a set of clients once: poll, read everything readable, write
   what is queued. */
static void s_service(struct mosquitto **clients, size_t n, int timeout_ms)
{
    struct pollfd fds[LOAD_MAX_RECIPIENTS + LOAD_MAX_SENDERS];
    for (size_t i = 0; i < n; i++) {
        fds[i].fd = mosquitto_socket(clients[i]);
        fds[i].events = POLLIN | (mosquitto_want_write(clients[i]) ? POLLOUT : 0);
        fds[i].revents = 0;
    }
    if (poll(fds, n, timeout_ms) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (fds[i].revents & POLLIN) {
            for (int guard = 0; guard < 100000; guard++) {
                if (mosquitto_loop_read(clients[i], 1) != MOSQ_ERR_SUCCESS)
                    break;
                int avail = 0;
                if (ioctl(fds[i].fd, FIONREAD, &avail) != 0 || avail <= 0)
                    break;
            }
        }
        if (mosquitto_want_write(clients[i]))
            mosquitto_loop_write(clients[i], 1);
        mosquitto_loop_misc(clients[i]);
    }
}

typedef struct {
    sub_t *subs;
    size_t m;
    atomic_bool stop;
    atomic_size_t stored;
    size_t batches;
    int rc;
} sub_ctx_t;

static void *s_subscribers(void *arg)
{
    sub_ctx_t *ctx = arg;
    struct mosquitto *clients[LOAD_MAX_RECIPIENTS];
    for (size_t j = 0; j < ctx->m; j++)
        clients[j] = ctx->subs[j].mosq;
    while (!atomic_load(&ctx->stop)) {
        s_service(clients, ctx->m, 20);
        for (size_t j = 0; j < ctx->m; j++) {
            sub_t *sub = &ctx->subs[j];
            if (sub->n_ids == 0)
                continue;
            if (thin_store_batch(sub->store, (const uint8_t(*)[16])sub->ids, sub->n_ids) != 0)
                ctx->rc = -1;
            ctx->batches++;
            atomic_fetch_add(&ctx->stored, sub->n_ids);
            sub->n_ids = 0;
        }
    }
    return NULL;
}

static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static struct mosquitto *s_new_client(const char *id, bool clean, void *obj, int port)
{
    struct mosquitto *mosq = mosquitto_new(id, clean, obj);
    if (!mosq)
        return NULL;
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set(mosq, 0);
    if (mosquitto_connect(mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(mosq);
        return NULL;
    }
    return mosq;
}

/* Run as root, mosquitto drops to user 'mosquitto', which could not write
   its persistence file in our private directory: keep the current user. */
static char s_user_line[96];

static void s_set_user_line(void)
{
    struct passwd *pw = getpwuid(geteuid());
    if (geteuid() == 0 || pw)
        snprintf(s_user_line, sizeof s_user_line, "user %s\n", pw ? pw->pw_name : "root");
}

int bench_mosquitto_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    char dir[4300], conf[4400], text[16384];
    snprintf(dir, sizeof dir, "%s/mosquitto", party->bh->root);
    mkdir(dir, 0700);
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
    int port = s_free_port();
    s_set_user_line();
    snprintf(text, sizeof text,
             "listener %d 127.0.0.1\nallow_anonymous true\n"
             "persistence true\npersistence_location %s/\nautosave_interval 1\n"
             "set_tcp_nodelay true\nmax_inflight_messages 256\nmax_queued_messages 0\n"
             "log_dest file %s/mosquitto.log\n%s",
             port, dir, dir, s_user_line);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    mosquitto_lib_init();
    sub_t subs[LOAD_MAX_RECIPIENTS];
    pub_t pubs[LOAD_MAX_SENDERS];
    memset(subs, 0, sizeof subs);
    memset(pubs, 0, sizeof pubs);
    size_t acked = 0;
    sub_ctx_t sctx;
    memset(&sctx, 0, sizeof sctx);
    atomic_init(&sctx.stop, false);
    atomic_init(&sctx.stored, 0);
    sctx.subs = subs;
    sctx.m = party->m;
    pthread_t st;
    bool thread = false;
    /* Wait for the listener. */
    for (int i = 0; i < 200; i++) {
        usleep(20000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons((uint16_t)port);
        int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
        close(fd);
        if (ok)
            break;
    }
    for (size_t j = 0; j < party->m; j++) {
        char id[32], topic[32];
        snprintf(id, sizeof id, "r%zu", j + 1);
        subs[j].store = thin_store_open(party->bh->root, id);
        subs[j].mosq = s_new_client(id, false, &subs[j], port);
        if (!subs[j].mosq || !subs[j].store)
            goto done;
        mosquitto_connect_callback_set(subs[j].mosq, s_sub_on_connect);
        mosquitto_subscribe_callback_set(subs[j].mosq, s_on_subscribe);
        mosquitto_message_callback_set(subs[j].mosq, s_on_message);
        snprintf(topic, sizeof topic, "h/%zu", j / 2);
        mosquitto_subscribe(subs[j].mosq, NULL, topic, 1);
    }
    for (size_t i = 0; i < party->k; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%zu", i + 1);
        pubs[i].acked = &acked;
        pubs[i].mosq = s_new_client(id, true, &pubs[i], port);
        if (!pubs[i].mosq)
            goto done;
        mosquitto_publish_callback_set(pubs[i].mosq, s_on_publish);
    }
    /* Handshakes and subscriptions, in this thread, before the clock. */
    struct mosquitto *all[LOAD_MAX_RECIPIENTS + LOAD_MAX_SENDERS];
    struct mosquitto *pclients[LOAD_MAX_SENDERS];
    size_t n_all = 0;
    for (size_t j = 0; j < party->m; j++)
        all[n_all++] = subs[j].mosq;
    for (size_t i = 0; i < party->k; i++)
        all[n_all++] = pclients[i] = pubs[i].mosq;
    for (int tries = 0; tries < 500; tries++) {
        bool ready = true;
        for (size_t j = 0; j < party->m; j++)
            ready = ready && subs[j].subscribed;
        if (ready)
            break;
        s_service(all, n_all, 10);
    }
    for (size_t j = 0; j < party->m; j++)
        if (!subs[j].subscribed) {
            fprintf(stderr, "load: mosquitto subscriber %zu not subscribed\n", j);
            goto done;
        }
    pthread_create(&st, NULL, s_subscribers, &sctx);
    thread = true;
    usleep(20000);
    uint64_t cpu0 = load_cpu_us(pid), main0 = load_main_thread_cpu_us(pid);
    uint64_t written0 = load_write_bytes(pid);
    uint64_t t0 = load_now_ns();
    uint64_t interval = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    size_t sent = 0, window = 1024;
    char topics[LOAD_MAX_RECIPIENTS][32];
    for (size_t p = 0; p < party->m / 2; p++)
        snprintf(topics[p], sizeof topics[p], "h/%zu", p);
    uint64_t deadline = t0 + 600ull * 1000000000ull;
    while (acked < n || atomic_load(&sctx.stored) < 2 * n) {
        uint64_t now = load_now_ns();
        if (now > deadline) {
            fprintf(stderr, "load: mosquitto: %zu acked, %zu stored of %zu\n", acked,
                    atomic_load(&sctx.stored), n);
            goto done;
        }
        while (sent < n && sent - acked < window && (!interval || now >= t0 + sent * interval)) {
            const sealed_t *sig = &sigs[sent];
            if (mosquitto_publish(pubs[sent % party->k].mosq, NULL, topics[sig->rcpt[0] / 2],
                                  (int)sig->len, sig->sealed, 1, false) != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "load: mosquitto publish failed\n");
                goto done;
            }
            sent++;
        }
        int timeout = 20;
        if (interval && sent < n) {
            uint64_t next = t0 + sent * interval;
            now = load_now_ns();
            timeout = next > now ? (int)((next - now) / 1000000) : 0;
        }
        if (acked < n)
            s_service(pclients, party->k, timeout);
        else
            usleep(500);
    }
    uint64_t t_end = load_now_ns();
    uint64_t cpu1 = load_cpu_us(pid), main1 = load_main_thread_cpu_us(pid);
    uint64_t written1 = load_write_bytes(pid);
    out->n = n;
    out->offered = rate;
    out->answered = acked;
    out->acks = atomic_load(&sctx.stored);
    out->seconds = (double)(t_end - t0) / 1e9;
    out->per_s = (double)n / out->seconds;
    out->cpu_us = (double)(cpu1 - cpu0) / (double)n;
    out->main_us = (double)(main1 - main0) / (double)n;
    out->write_kib = (double)(written1 - written0) / 1024.0 / (double)n;
    out->rss_kib = load_rss_kib(pid);
    rc = 0;
done:
    atomic_store(&sctx.stop, true);
    if (thread) {
        pthread_join(st, NULL);
        out->batches = (double)sctx.batches;
        rc |= sctx.rc;
    }
    for (size_t j = 0; j < party->m; j++) {
        if (subs[j].mosq) {
            mosquitto_disconnect(subs[j].mosq);
            mosquitto_destroy(subs[j].mosq);
        }
        thin_store_close(&subs[j].store);
        free(subs[j].ids);
    }
    for (size_t i = 0; i < party->k; i++)
        if (pubs[i].mosq) {
            mosquitto_disconnect(pubs[i].mosq);
            mosquitto_destroy(pubs[i].mosq);
        }
    mosquitto_lib_cleanup();
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return rc;
}
