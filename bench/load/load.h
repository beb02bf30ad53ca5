/*  hartslag-load: the load generator of issue 8 (bench/README.md).

    One binary, several jobs: the broker's capacity with thin recipients
    (part 1), end-to-end latency through real hartslagd daemons (part 2),
    the scale runs (part 3), and the same capacity job on two baselines: a
    raw ZeroMQ CURVE forwarder (the ceiling, bench/baseline_forwarder.c)
    and mosquitto QoS 1 (bench/baseline_mosquitto.c). Benchmark code only:
    it builds on tests/support (keys, certificates, agreements, a real
    broker process). */
#ifndef HARTSLAG_BENCH_LOAD_H
#define HARTSLAG_BENCH_LOAD_H

#include "broker_harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LOAD_MAX_SENDERS 64
#define LOAD_MAX_RECIPIENTS 64

/* ---- clocks and /proc */
uint64_t load_now_ns(void);
uint64_t load_cpu_us(pid_t pid); /* utime + stime of the whole process */
/* The same for its main thread only: the broker's loop, whose share per
   signal bounds its capacity when the other threads have cores to run on. */
uint64_t load_main_thread_cpu_us(pid_t pid);
/* Bytes it caused to be written to storage (/proc/PID/io write_bytes). */
uint64_t load_write_bytes(pid_t pid);
uint64_t load_rss_kib(pid_t pid); /* VmRSS */
uint64_t load_hwm_kib(pid_t pid); /* VmHWM (peak RSS) */
void load_sleep_until_ns(uint64_t t);
/* perf record -e cpu-clock --call-graph dwarf on `target` into `out`; stop with SIGINT. */
pid_t load_perf_start(pid_t target, const char *out);
void load_perf_stop(pid_t perf);
double load_percentile(double *sorted, size_t n, double p); /* sorted ascending */
int load_cmp_double(const void *a, const void *b);

/* ---- a partnership of K senders s1..sK and M recipients r1..rM, every
   sender allowed to send 'overlast' to every recipient. */
typedef struct {
    bh_t *bh;
    size_t k, m;
    char senders[LOAD_MAX_SENDERS][16];
    char recipients[LOAD_MAX_RECIPIENTS][16];
    bh_client_t *sender[LOAD_MAX_SENDERS]; /* connected DEALERs with the senders' keys */
} party_t;

/* Keys, certificates, agreements for K + M partners (plus `extra` partners
   p1..pN that only exist, for the scale run). NULL on failure. */
party_t *party_new(size_t k, size_t m, size_t extra);
void party_destroy(party_t **self_p);

/* Starts the broker (rate limiter raised out of the way, log_level
   `log_level`). 0 or -1. */
int party_start_broker(party_t *self, const char *log_level);

/* Adds an alert rule counting every signal (notify: the coordinator) to
   the running broker's agreements and reloads them (SIGHUP). 0 or -1. */
int party_enable_alerts(party_t *self);

/* Connects the senders' DEALERs (bh_client_new + Hello). 0 or -1. */
int party_connect_senders(party_t *self);

/* One pre-sealed signal. */
typedef struct {
    uint8_t *sealed; /* packed SealedSignal (owned) */
    size_t len;
    uint8_t id[16];
    uint32_t sender;  /* index into senders */
    uint32_t rcpt[2]; /* indexes into recipients */
} sealed_t;

/* Seals n signals, round-robin over senders; signal i goes to recipient
   pair i % (m/2) (2p, 2p+1), or to `only` when n_rcpt == 1. Uses
   `threads` threads. NULL on failure. */
sealed_t *load_seal(party_t *self, size_t n, size_t n_rcpt, size_t only, int threads);
void load_sealed_free(sealed_t *sigs, size_t n);

/* ---- the generic capacity job over ZeroMQ (Hartslag and the forwarder) */
typedef struct {
    /* What is sent: msgs[i] on sender socket i % k. */
    uint8_t **msgs;
    size_t *lens;
    size_t n;
    double rate;    /* offered signals/s, 0 = saturation */
    size_t window;  /* max submitted and not yet answered, over all senders */
    zsock_t **send; /* k sender sockets (answers: one per message) */
    size_t k;
    zsock_t **recv; /* m recipient sockets */
    size_t m;
    const char *db_dir; /* recipient SQLite databases go here */
    bool hartslag;      /* recipients speak the Hartslag protocol (else the forwarder's) */
    /* Called until it returns true after every ack was sent: the server
       has processed all of them. */
    bool (*all_acked)(void *arg, size_t expected_acks);
    void *all_acked_arg;
    pid_t server; /* CPU and RSS measured for this process */
} zjob_t;

typedef struct {
    double seconds;   /* first send .. last ack processed */
    double per_s;     /* signals/s fully acknowledged */
    double cpu_us;    /* server CPU per signal */
    double main_us;   /* of which its main (loop) thread */
    double write_kib; /* storage writes per signal, KiB */
    double offered;   /* offered rate (0 = saturation) */
    size_t n;         /* signals */
    size_t answered;  /* Accepted / PUBACK / forwarder answers */
    size_t refused;   /* anything but Accepted */
    size_t acks;      /* acks sent by recipients */
    uint64_t rss_kib; /* server RSS at the end */
    double batches;   /* recipient store transactions */
} result_t;

int zjob_run(const zjob_t *job, result_t *out);

/* ---- thin recipient storage: one SQLite WAL database, synchronous=FULL */
typedef struct thin_store thin_store_t;
thin_store_t *thin_store_open(const char *dir, const char *name);
int thin_store_batch(thin_store_t *self, const uint8_t (*ids)[16], size_t n);
void thin_store_close(thin_store_t **self_p);

/* Extracts the signal id of a packed SealedSignal (header unpacked, nothing
   decrypted). 0 or -1. */
int load_sealed_id(const uint8_t *sealed, size_t len, uint8_t id[16]);

/* ---- the jobs */
int bench_hartslag_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out);
int bench_forwarder_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out);
int bench_mosquitto_capacity(party_t *party, sealed_t *sigs, size_t n, double rate, result_t *out);
int forwarder_main(int argc, char **argv);

typedef struct {
    double p50_ms, p99_ms, p999_ms, max_ms;
    size_t sent, received, lost;
    double offered, achieved;
    double seconds;
    double cpu_sender_us, cpu_recipient_us, cpu_broker_us; /* per signal */
} latency_t;
int bench_e2e(double rate, double seconds, latency_t *out);

/* The same with a standby broker on the same (PostgreSQL) store and the
   daemons configured with both endpoints: the active broker is killed -9
   `kill_after_s` into the run, and the figures say how long the standby
   took and what the daemons saw. */
typedef struct {
    double kill_after_s;   /* in: when the active broker is killed */
    bool killed;           /* it was */
    double takeover_ms;    /* kill -> the standby logs event=active; -1 never */
    double first_after_ms; /* kill -> the first signal sent after it reached both recipients */
    size_t delayed;        /* signals whose latency exceeded 100 ms */
    size_t duplicates;     /* watch events a recipient gave twice for one signal */
} takeover_t;
int bench_e2e_takeover(double rate, double seconds, takeover_t *takeover, latency_t *out);

int bench_scale(void);

#endif
