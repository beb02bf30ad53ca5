/*  hartslag-load: clocks, /proc readings, the partnership, sealing, the
    thin recipients' store. See load.h. */
#define _GNU_SOURCE
#include "load.h"

#include "cert.h"
#include "envelope.h"
#include "keyfile.h"
#include "testutil.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t load_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void load_sleep_until_ns(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static uint64_t s_stat_cpu_us(const char *path);

uint64_t load_cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return s_stat_cpu_us(path);
}

uint64_t load_main_thread_cpu_us(pid_t pid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    return s_stat_cpu_us(path);
}

uint64_t load_write_bytes(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long bytes = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %llu", &bytes) == 1)
            break;
    fclose(f);
    return bytes;
}

static uint64_t s_stat_cpu_us(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command (which may hold spaces) start after ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p += 2;
    unsigned long long utime = 0, stime = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (utime + stime) * 1000000ull / (unsigned long long)(hz > 0 ? hz : 100);
}

static uint64_t s_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t value = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) {
            value = strtoull(line + klen, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

uint64_t load_rss_kib(pid_t pid)
{
    return s_status_kib(pid, "VmRSS:");
}

uint64_t load_hwm_kib(pid_t pid)
{
    return s_status_kib(pid, "VmHWM:");
}

int load_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double load_percentile(double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)n);
    if (i >= n)
        i = n - 1;
    return sorted[i];
}

/* ------------------------------------------------------------------------
   perf record on a process (BENCH_PERF*) */

pid_t load_perf_start(pid_t target, const char *out)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%d", (int)target);
    pid_t perf = fork();
    if (perf == 0) {
        const char *graph = getenv("BENCH_PERF_CALLGRAPH");
        execlp("perf", "perf", "record", "-q", "-e", "cpu-clock", "-F", "1000", "--call-graph",
               graph && *graph ? graph : "dwarf,16384", "-p", pid, "-o", out, (char *)NULL);
        _exit(127);
    }
    usleep(300000);
    return perf;
}

void load_perf_stop(pid_t perf)
{
    if (perf > 0) {
        kill(perf, SIGINT);
        waitpid(perf, NULL, 0);
    }
}

/* ------------------------------------------------------------------------
   The partnership */

static int s_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return 0;
        }
        size_t cap2 = *cap * 2 + (size_t)n;
        char *more = realloc(*buf, cap2);
        if (!more)
            return -1;
        *buf = more;
        *cap = cap2;
    }
}

party_t *party_new(size_t k, size_t m, size_t extra)
{
    if (k == 0 || k > LOAD_MAX_SENDERS || m == 0 || m > LOAD_MAX_RECIPIENTS)
        return NULL;
    party_t *self = calloc(1, sizeof *self);
    self->k = k;
    self->m = m;
    size_t n = k + m + extra;
    char **orgs = calloc(n, sizeof *orgs);
    const char **corgs = calloc(n, sizeof *corgs);
    size_t cap = 4096, len = 0;
    char *yaml = malloc(cap);
    yaml[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        snprintf(self->senders[i], sizeof self->senders[i], "s%u", (unsigned)(i + 1));
        orgs[i] = strdup(self->senders[i]);
    }
    for (size_t i = 0; i < m; i++) {
        snprintf(self->recipients[i], sizeof self->recipients[i], "r%u", (unsigned)(i + 1));
        orgs[k + i] = strdup(self->recipients[i]);
    }
    for (size_t i = 0; i < extra; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%u", (unsigned)(i + 1));
        orgs[k + m + i] = strdup(name);
    }
    int rc = s_append(&yaml, &len, &cap,
                      "partnership: bench\nversion: 3\ncoordinator: %s\npartners:\n", orgs[0]);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s_append(&yaml, &len, &cap, "  - {org: %s, role: %s}\n", orgs[i],
                      i == 0 ? "coordinator" : "partner");
    rc |= s_append(&yaml, &len, &cap, "agreements:\n");
    for (size_t i = 0; i < k && rc == 0; i++) {
        rc = s_append(&yaml, &len, &cap, "  - id: %s-overlast\n    from: %s\n    to: [", orgs[i],
                      orgs[i]);
        for (size_t j = 0; j < m && rc == 0; j++)
            rc = s_append(&yaml, &len, &cap, "%s%s", j ? ", " : "", self->recipients[j]);
        rc |= s_append(&yaml, &len, &cap,
                       "]\n    signal_types: [overlast]\n"
                       "    fields: [adres, categorie, datum, toelichting]\n"
                       "    purpose: casusoverleg\n    legal_basis: \"Wpg art. 19\"\n"
                       "    valid_from: 2025-01-01\n    valid_until: 2099-12-31\n"
                       "    retention_days: 180\n    max_queue_days: 7\n");
    }
    for (size_t i = 0; i < n; i++)
        corgs[i] = orgs[i];
    if (rc == 0)
        self->bh = bh_new(corgs, n, yaml);
    for (size_t i = 0; i < n; i++)
        free(orgs[i]);
    free(orgs);
    free(corgs);
    free(yaml);
    if (!self->bh) {
        free(self);
        return NULL;
    }
    return self;
}

void party_destroy(party_t **self_p)
{
    if (self_p && *self_p) {
        party_t *self = *self_p;
        for (size_t i = 0; i < self->k; i++)
            bh_client_destroy(&self->sender[i]);
        bh_destroy(&self->bh);
        free(self);
        *self_p = NULL;
    }
}

int party_start_broker(party_t *self, const char *log_level)
{
    char extra[256];
    snprintf(extra, sizeof extra, "rate_limit: 10000000\nrate_burst: 10000000\nlog_level: %s\n",
             log_level ? log_level : "info");
    return bh_start(self->bh, extra);
}

int party_connect_senders(party_t *self)
{
    for (size_t i = 0; i < self->k; i++) {
        if (!self->sender[i])
            self->sender[i] = bh_client_new(self->bh, self->senders[i], false);
        if (!self->sender[i] || bh_hello(self->sender[i]) != 0)
            return -1;
        zsock_set_sndhwm(self->sender[i]->dealer, 0);
        zsock_set_rcvhwm(self->sender[i]->dealer, 0);
    }
    return 0;
}

/* ------------------------------------------------------------------------
   Sealing */

typedef struct {
    party_t *party;
    sealed_t *sigs;
    size_t from, to, n_rcpt, only;
    uint8_t box_pk[LOAD_MAX_RECIPIENTS][32];
    uint8_t sign_sk[LOAD_MAX_SENDERS][64];
    uint8_t box_sk[LOAD_MAX_SENDERS][32];
    int rc;
} seal_job_t;

static void *s_seal_thread(void *arg)
{
    seal_job_t *job = arg;
    party_t *party = job->party;
    envelope_keyring_t *rings[LOAD_MAX_SENDERS];
    for (size_t s = 0; s < party->k; s++)
        rings[s] = envelope_keyring_new(job->box_sk[s]);
    static const char text[] =
        "Melding van overlast: geluid en samenscholing bij de ingang, derde keer deze maand; "
        "bewoners voelen zich niet veilig. Graag bespreken in het casusoverleg van donderdag, "
        "wijkagent is bereikbaar via het bekende nummer.";
    envelope_field_t fields[3] = {
        {"adres", "Voorbeeldstraat 12a, 6411 AB Heerlen"},
        {"categorie", "geluid"},
        {"datum", "2026-03-02"},
    };
    for (size_t i = job->from; i < job->to && job->rc == 0; i++) {
        sealed_t *sig = &job->sigs[i];
        size_t s = i % party->k;
        envelope_recipient_t rcpt[2];
        size_t n_rcpt = job->n_rcpt;
        if (n_rcpt == 1) {
            sig->rcpt[0] = sig->rcpt[1] = (uint32_t)job->only;
        } else {
            size_t pair = i % (party->m / 2);
            sig->rcpt[0] = (uint32_t)(2 * pair);
            sig->rcpt[1] = (uint32_t)(2 * pair + 1);
        }
        for (size_t r = 0; r < n_rcpt; r++) {
            rcpt[r].org = party->recipients[sig->rcpt[r]];
            memcpy(rcpt[r].box_pk, job->box_pk[sig->rcpt[r]], 32);
        }
        envelope_draft_t draft;
        memset(&draft, 0, sizeof draft);
        draft.sender = party->senders[s];
        draft.sender_user = "agent-4711";
        draft.signal_type = "overlast";
        draft.purpose = "casusoverleg";
        draft.agreements_version = 3;
        /* Subjects from a pool (BENCH_SUBJECTS, default 10,000,000): some
           subjects get signals from several partners, so with alert rules on
           the matching really works and now and then raises an alert, as in
           a partnership. A small pool (e.g. 5000) makes most signals raise
           one: that measures alerting, not matching. */
        const char *env = getenv("BENCH_SUBJECTS");
        uint32_t subjects =
            env && strtoul(env, NULL, 10) > 0 ? (uint32_t)strtoul(env, NULL, 10) : 10000000u;
        uint32_t pool = randombytes_uniform(subjects);
        memset(draft.subject, 0x5a, sizeof draft.subject);
        memcpy(draft.subject, &pool, sizeof pool);
        draft.fields = fields;
        draft.n_fields = 3;
        draft.free_text = text;
        draft.valid_until_ms = wire_now_ms() + 86400000ull * 30;
        draft.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
        envelope_sender_t sender = {job->sign_sk[s], rings[s]};
        const char *why = NULL;
        sig->sender = (uint32_t)s;
        if (envelope_seal(&draft, &sender, rcpt, n_rcpt, &sig->sealed, &sig->len, sig->id, &why) !=
            ENVELOPE_OK) {
            fprintf(stderr, "seal: %s\n", why ? why : "failed");
            job->rc = -1;
        }
    }
    for (size_t s = 0; s < party->k; s++)
        envelope_keyring_destroy(&rings[s]);
    return NULL;
}

sealed_t *load_seal(party_t *self, size_t n, size_t n_rcpt, size_t only, int threads)
{
    if (threads < 1)
        threads = 1;
    if (threads > 8)
        threads = 8;
    sealed_t *sigs = calloc(n ? n : 1, sizeof *sigs);
    seal_job_t proto;
    memset(&proto, 0, sizeof proto);
    proto.party = self;
    proto.sigs = sigs;
    proto.n_rcpt = n_rcpt;
    proto.only = only;
    char path[8500], err[600];
    for (size_t r = 0; r < self->m; r++) {
        cert_t cert;
        snprintf(path, sizeof path, "%s/%s.cert", self->bh->certs, self->recipients[r]);
        if (cert_load(path, &cert, err, sizeof err) != 0) {
            free(sigs);
            return NULL;
        }
        memcpy(proto.box_pk[r], cert.box_key, 32);
    }
    for (size_t s = 0; s < self->k; s++) {
        snprintf(path, sizeof path, "%s/%s.cert_secret", self->bh->keys, self->senders[s]);
        keyfile_t *keys = keyfile_load(path, err, sizeof err);
        if (!keys) {
            free(sigs);
            return NULL;
        }
        memcpy(proto.sign_sk[s], keyfile_sign_secret(keys), 64);
        memcpy(proto.box_sk[s], keyfile_box_secret(keys), 32);
        keyfile_destroy(&keys);
    }
    seal_job_t *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t tids[8];
    for (int t = 0; t < threads; t++) {
        jobs[t] = proto;
        jobs[t].from = n * (size_t)t / (size_t)threads;
        jobs[t].to = n * (size_t)(t + 1) / (size_t)threads;
        pthread_create(&tids[t], NULL, s_seal_thread, &jobs[t]);
    }
    int rc = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        rc |= jobs[t].rc;
    }
    sodium_memzero(&proto, sizeof proto);
    for (int t = 0; t < threads; t++)
        sodium_memzero(&jobs[t], sizeof jobs[t]);
    free(jobs);
    if (rc != 0) {
        load_sealed_free(sigs, n);
        return NULL;
    }
    return sigs;
}

void load_sealed_free(sealed_t *sigs, size_t n)
{
    if (!sigs)
        return;
    for (size_t i = 0; i < n; i++)
        free(sigs[i].sealed);
    free(sigs);
}

int load_sealed_id(const uint8_t *sealed, size_t len, uint8_t id[16])
{
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
    if (!signal)
        return -1;
    Hartslag__SignalHeader *header =
        hartslag__signal_header__unpack(NULL, signal->header.len, signal->header.data);
    int rc = -1;
    if (header && header->signal_id.len == 16) {
        memcpy(id, header->signal_id.data, 16);
        rc = 0;
    }
    if (header)
        hartslag__signal_header__free_unpacked(header, NULL);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    return rc;
}

/* ------------------------------------------------------------------------
   Thin recipients' store */

struct thin_store {
    sqlite3 *db;
    sqlite3_stmt *insert;
};

thin_store_t *thin_store_open(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    thin_store_t *self = calloc(1, sizeof *self);
    if (sqlite3_open(path, &self->db) != SQLITE_OK ||
        sqlite3_exec(self->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS inbox(id BLOB PRIMARY KEY) WITHOUT ROWID;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(self->db, "INSERT OR IGNORE INTO inbox(id) VALUES (?1)", -1,
                           &self->insert, NULL) != SQLITE_OK) {
        fprintf(stderr, "thin store %s: %s\n", path, sqlite3_errmsg(self->db));
        thin_store_close(&self);
        return NULL;
    }
    return self;
}

int thin_store_batch(thin_store_t *self, const uint8_t (*ids)[16], size_t n)
{
    if (sqlite3_exec(self->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_blob(self->insert, 1, ids[i], 16, SQLITE_STATIC);
        int rc = sqlite3_step(self->insert);
        sqlite3_reset(self->insert);
        if (rc != SQLITE_DONE) {
            sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void thin_store_close(thin_store_t **self_p)
{
    if (self_p && *self_p) {
        sqlite3_finalize((*self_p)->insert);
        sqlite3_close((*self_p)->db);
        free(*self_p);
        *self_p = NULL;
    }
}

int party_enable_alerts(party_t *self)
{
    /* A new version (the broker refuses the same number with other bytes),
       signed by every partner. BENCH_ALERT_RULES=0 reloads without a rule:
       the same second run, to see how much of the difference is only the
       larger store. */
    char *text = tu_read_file(self->bh->agreements, NULL);
    char *at = text ? strstr(text, "version: 3\n") : NULL;
    if (!at) {
        free(text);
        return -1;
    }
    at[9] = '4';
    const char *rules = getenv("BENCH_ALERT_RULES");
    char rule[512] = "";
    if (!rules || strcmp(rules, "0") != 0)
        snprintf(rule, sizeof rule,
                 "alerts:\n  - id: bench-match\n    distinct_senders: 2\n    window_days: 90\n"
                 "    notify: [%s]\n    notify_senders: false\n    legal_basis: \"bench\"\n",
                 self->senders[0]);
    size_t n = strlen(text) + strlen(rule) + 1;
    char *next = malloc(n);
    if (next)
        snprintf(next, n, "%s%s", text, rule);
    free(text);
    int written = next ? bh_write_agreements(self->bh, next, NULL) : -1;
    free(next);
    if (written != 0)
        return -1;
    char *before = bh_log(self->bh);
    int loaded_before = 0;
    for (const char *p = before; (p = strstr(p, "event=agreements_loaded")) != NULL; p++)
        loaded_before++;
    free(before);
    bh_signal(self->bh, SIGHUP);
    for (int i = 0; i < 200; i++) {
        usleep(25000);
        char *log = bh_log(self->bh);
        int loaded = 0;
        for (const char *p = log; (p = strstr(p, "event=agreements_loaded")) != NULL; p++)
            loaded++;
        bool refused = strstr(log, "what=agreements") != NULL;
        free(log);
        if (refused)
            return -1;
        if (loaded > loaded_before)
            return 0;
    }
    return -1;
}
