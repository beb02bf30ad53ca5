/*  hartslag-load part 3 (`make bench-scale`): 1,000 connected partner
    identities; 1,000,000 signals queued for an offline partner and drained
    when it returns; an audit log of 10,000,000 records.

    The 10M-record audit log is built directly with lib/audit_log.h (the
    broker's own append code, checkpoints every 1,000 records as the broker
    does under load), not through the broker: through the broker it would
    take hours of submitting. Environment: BENCH_PARTNERS (1000),
    BENCH_QUEUED (1000000), BENCH_AUDIT (10000000). */
#define _GNU_SOURCE
#include "load.h"

#include "audit_log.h"
#include "db_borrow.h"
#include "keyfile.h"
#include "testutil.h"
#include "wire.h"

#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t s_env(const char *name, size_t fallback)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long long n = v && *v ? strtoull(v, &end, 10) : 0;
    return v && *v && end && !*end ? (size_t)n : fallback;
}

/* ---- 1,000 connected partners */

static int s_partners(size_t total)
{
    printf("== %zu connected partner identities\n", total);
    party_t *party = party_new(1, 2, total > 3 ? total - 3 : 0);
    if (!party || party_start_broker(party, "info") != 0) {
        party_destroy(&party);
        return -1;
    }
    uint64_t rss0 = load_rss_kib(party->bh->pid);
    bh_client_t **clients = calloc(total, sizeof *clients);
    uint64_t t0 = load_now_ns();
    size_t connected = 0;
    for (size_t i = 0; i < total; i++) {
        char org[32];
        if (i == 0)
            snprintf(org, sizeof org, "s1");
        else if (i <= 2)
            snprintf(org, sizeof org, "r%zu", i);
        else
            snprintf(org, sizeof org, "p%zu", i - 2);
        clients[i] = bh_client_new(party->bh, org, false);
        if (clients[i] && bh_hello(clients[i]) == 0)
            connected++;
    }
    double secs = (double)(load_now_ns() - t0) / 1e9;
    sleep(1);
    uint64_t rss1 = load_rss_kib(party->bh->pid), hwm = load_hwm_kib(party->bh->pid);
    printf("connected %zu of %zu (Hello/Welcome each) in %.1f s; broker RSS %.1f MiB before, "
           "%.1f MiB with all connected (peak %.1f MiB)\n",
           connected, total, secs, (double)rss0 / 1024, (double)rss1 / 1024, (double)hwm / 1024);
    for (size_t i = 0; i < total; i++)
        bh_client_destroy(&clients[i]);
    free(clients);
    bh_stop(party->bh, SIGTERM);
    party_destroy(&party);
    return connected == total ? 0 : -1;
}

/* ---- 1,000,000 queued for an offline partner */

static int s_submit_all(party_t *party, sealed_t *sigs, size_t n, size_t *accepted)
{
    zmq_pollitem_t items[LOAD_MAX_SENDERS];
    for (size_t i = 0; i < party->k; i++) {
        items[i].socket = zsock_resolve(party->sender[i]->dealer);
        items[i].fd = 0;
        items[i].events = ZMQ_POLLIN;
    }
    size_t sent = 0, answered = 0;
    uint8_t *buf = malloc(WIRE_FRAME_MAX + 1024);
    while (answered < n) {
        while (sent < n && sent - answered < 2048) {
            Hartslag__SealedSignal *signal =
                hartslag__sealed_signal__unpack(NULL, sigs[sent].len, sigs[sent].sealed);
            Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
            submit.signal = signal;
            Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
            frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
            frame.submit = &submit;
            bh_send(party->sender[sigs[sent].sender], &frame);
            hartslag__sealed_signal__free_unpacked(signal, NULL);
            sent++;
        }
        if (zmq_poll(items, (int)party->k, 30000) <= 0) {
            fprintf(stderr, "load: no answers from the broker\n");
            break;
        }
        for (size_t i = 0; i < party->k; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int len;
            while ((len = zmq_recv(items[i].socket, buf, WIRE_FRAME_MAX + 1024, ZMQ_DONTWAIT)) >=
                   0) {
                Hartslag__Frame *f = hartslag__frame__unpack(NULL, (size_t)len, buf);
                if (f && (f->body_case == HARTSLAG__FRAME__BODY_ACCEPTED ||
                          f->body_case == HARTSLAG__FRAME__BODY_DENIED)) {
                    answered++;
                    if (f->body_case == HARTSLAG__FRAME__BODY_ACCEPTED)
                        (*accepted)++;
                }
                if (f)
                    hartslag__frame__free_unpacked(f, NULL);
            }
        }
    }
    free(buf);
    return answered == n ? 0 : -1;
}

static int s_queued(size_t total)
{
    printf("== %zu signals queued for an offline partner\n", total);
    party_t *party = party_new(4, 2, 0);
    if (!party || party_start_broker(party, "info") != 0 || party_connect_senders(party) != 0) {
        party_destroy(&party);
        return -1;
    }
    size_t chunk = 50000, accepted = 0;
    uint64_t t0 = load_now_ns();
    double seal_s = 0;
    for (size_t done = 0; done < total; done += chunk) {
        size_t n = total - done < chunk ? total - done : chunk;
        uint64_t ts = load_now_ns();
        sealed_t *sigs = load_seal(party, n, 1, 0, 2);
        seal_s += (double)(load_now_ns() - ts) / 1e9;
        if (!sigs || s_submit_all(party, sigs, n, &accepted) != 0) {
            load_sealed_free(sigs, n);
            party_destroy(&party);
            return -1;
        }
        load_sealed_free(sigs, n);
    }
    double fill_s = (double)(load_now_ns() - t0) / 1e9 - seal_s;
    sleep(2);
    pid_t pid = party->bh->pid;
    uint64_t rss_q = load_rss_kib(pid), hwm_q = load_hwm_kib(pid);
    char db[4400];
    snprintf(db, sizeof db, "%s/broker.db", party->bh->state);
    struct stat st;
    double db_mib = stat(db, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
    printf("queued %zu accepted (submit %.0f/s, sealing %.0f s not counted); broker RSS %.1f MiB "
           "(peak so far %.1f MiB), broker.db %.0f MiB\n",
           accepted, (double)accepted / fill_s, seal_s, (double)rss_q / 1024, (double)hwm_q / 1024,
           db_mib);
    /* The partner returns: one thin recipient, batch store, ack. */
    bh_client_t *r = bh_client_new(party->bh, "r1", false);
    zsock_set_rcvhwm(r->dealer, 0);
    zsock_set_sndhwm(r->dealer, 0);
    thin_store_t *store = thin_store_open(party->bh->root, "drain");
    uint8_t(*ids)[16] = malloc(4096 * 16);
    uint8_t *buf = malloc(WIRE_FRAME_MAX + 1024);
    size_t got = 0;
    uint64_t rss_max = 0, t1 = load_now_ns(), last_rss = t1;
    bh_hello(r);
    void *sock = zsock_resolve(r->dealer);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    while (got < accepted) {
        if (zmq_poll(&item, 1, 30000) <= 0) {
            fprintf(stderr, "load: drain stalled at %zu\n", got);
            break;
        }
        size_t n = 0;
        int len;
        while (n < 4096 && (len = zmq_recv(sock, buf, WIRE_FRAME_MAX + 1024, ZMQ_DONTWAIT)) >= 0) {
            Hartslag__Frame *f = hartslag__frame__unpack(NULL, (size_t)len, buf);
            if (f && f->body_case == HARTSLAG__FRAME__BODY_DELIVER && f->deliver->signal) {
                Hartslag__SignalHeader *h = hartslag__signal_header__unpack(
                    NULL, f->deliver->signal->header.len, f->deliver->signal->header.data);
                if (h && h->signal_id.len == 16)
                    memcpy(ids[n++], h->signal_id.data, 16);
                if (h)
                    hartslag__signal_header__free_unpacked(h, NULL);
            }
            if (f)
                hartslag__frame__free_unpacked(f, NULL);
        }
        if (n && thin_store_batch(store, (const uint8_t(*)[16])ids, n) == 0)
            for (size_t i = 0; i < n; i++)
                bh_ack(r, ids[i], true, NULL);
        got += n;
        uint64_t now = load_now_ns();
        if (now - last_rss > 200000000ull) {
            uint64_t rss = load_rss_kib(pid);
            rss_max = rss > rss_max ? rss : rss_max;
            last_rss = now;
        }
    }
    /* Until the broker has processed the last ack. */
    sqlite3 *rdb = NULL;
    sqlite3_stmt *q = NULL;
    sqlite3_open_v2(db, &rdb, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(rdb, 1000);
    sqlite3_prepare_v2(rdb, "SELECT count(*) FROM deliveries WHERE state=0", -1, &q, NULL);
    for (int i = 0; i < 60000; i++) {
        int64_t pending = -1;
        if (q && sqlite3_step(q) == SQLITE_ROW)
            pending = sqlite3_column_int64(q, 0);
        if (q)
            sqlite3_reset(q);
        if (pending == 0)
            break;
        usleep(1000);
    }
    double drain_s = (double)(load_now_ns() - t1) / 1e9;
    sqlite3_finalize(q);
    sqlite3_close(rdb);
    uint64_t rss_end = load_rss_kib(pid), hwm = load_hwm_kib(pid);
    printf("drained %zu in %.1f s: %.0f signals/s fully acked; broker RSS during drain max "
           "%.1f MiB, at the end %.1f MiB, peak of the whole run %.1f MiB\n",
           got, drain_s, (double)got / drain_s, (double)rss_max / 1024, (double)rss_end / 1024,
           (double)hwm / 1024);
    free(ids);
    free(buf);
    thin_store_close(&store);
    bh_client_destroy(&r);
    bh_stop(party->bh, SIGTERM);
    party_destroy(&party);
    return got == accepted ? 0 : -1;
}

/* ---- 10,000,000 audit records */

static double s_time_cmd(char *const argv[], int *status)
{
    uint64_t t0 = load_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    waitpid(pid, status, 0);
    return (double)(load_now_ns() - t0) / 1e9;
}

static int s_audit(size_t total)
{
    printf("== audit log of %zu records (built with lib/audit_log.h, not through the broker)\n",
           total);
    party_t *party = party_new(1, 2, 0); /* for the broker's keys and certificate */
    if (!party)
        return -1;
    char path[4400], cert[4400], secret[4400];
    snprintf(path, sizeof path, "%s/audit.db", party->bh->root);
    snprintf(cert, sizeof cert, "%s/broker.cert", party->bh->keys);
    snprintf(secret, sizeof secret, "%s/broker.cert_secret", party->bh->keys);
    char err[600];
    keyfile_t *keys = keyfile_load(secret, err, sizeof err);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    char origin[CHECKPOINT_NAME_MAX + 1];
    audit_log_origin_for("bench", origin, sizeof origin);
    db_t *audit_db = db_borrow_embedded(db); /* the log speaks lib/db.h */
    audit_log_t *log = audit_db ? audit_log_open(audit_db, origin, true, err, sizeof err) : NULL;
    if (!keys || !log) {
        fprintf(stderr, "load: audit: %s\n", err);
        return -1;
    }
    static const char *events[] = {"submitted", "accepted", "accepted", "delivered",
                                   "delivered", "acked",    "acked"};
    static char *fields[] = {"adres", "categorie", "datum", "toelichting"};
    uint8_t probe_subject[32];
    randombytes_buf(probe_subject, sizeof probe_subject);
    uint8_t subject[32], id[16];
    uint64_t t0 = load_now_ns();
    int64_t time_ms = (int64_t)wire_now_ms() - 86400000;
    size_t probes = 0;
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0; i++) {
        if (i % 50000 == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            rc = -1;
        size_t step = i % 7;
        if (step == 0) {
            randombytes_buf(id, sizeof id);
            /* One signal in 10,000 is about the probed citizen. */
            if (randombytes_uniform(10000) == 0) {
                memcpy(subject, probe_subject, 32);
                probes++;
            } else
                randombytes_buf(subject, sizeof subject);
        }
        Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
        record.time_ms = (uint64_t)(time_ms + (int64_t)(i / 100));
        record.event = (char *)events[step];
        record.actor_org = step >= 5 ? "r1" : step >= 3 ? "broker" : "s1";
        record.actor_user = step < 3 ? "agent-4711" : NULL;
        record.counterpart_org = step == 0 ? NULL : (step % 2) ? "r1" : "r2";
        record.on_behalf_of = (step == 3 || step == 4) ? "s1" : NULL;
        record.has_signal_id = 1;
        record.signal_id.data = id;
        record.signal_id.len = 16;
        record.signal_type = "overlast";
        record.purpose = "casusoverleg";
        record.has_subject = 1;
        record.subject.data = subject;
        record.subject.len = 32;
        if (step < 3) {
            record.fields = fields;
            record.n_fields = 4;
        }
        if (step == 1 || step == 2) {
            record.agreement_id = "s1-overlast";
            record.legal_basis = "Wpg art. 19";
        }
        record.has_agreements_version = 1;
        record.agreements_version = 3;
        record.outcome = "ok";
        if (audit_log_append(log, &record) < 0)
            rc = -1;
        if ((i + 1) % 1000 == 0 &&
            audit_log_checkpoint(log, keyfile_sign_secret(keys), time_ms + (int64_t)(i / 100)) != 0)
            rc = -1;
        if ((i + 1) % 50000 == 0 || i + 1 == total) {
            if (i + 1 == total &&
                audit_log_checkpoint(log, keyfile_sign_secret(keys), time_ms + (int64_t)(i / 100)))
                rc = -1;
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                rc = -1;
            else
                audit_log_commit(log);
        }
    }
    double build_s = (double)(load_now_ns() - t0) / 1e9;
    struct stat st;
    double db_mib = stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
    printf("built %zu records in %.0f s (%.0f appends/s incl. checkpoints every 1,000), %.0f MiB\n",
           (size_t)audit_log_size(log), build_s, (double)total / build_s, db_mib);
    /* Inclusion proofs through the library (the broker's and the CLI's code). */
    uint64_t size = audit_log_size(log);
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    size_t plen = 0;
    int samples = 1000;
    uint64_t tp = load_now_ns();
    for (int i = 0; i < samples && rc == 0; i++)
        if (audit_log_inclusion_proof(log, randombytes_uniform((uint32_t)size), size, proof,
                                      &plen) != 0)
            rc = -1;
    double proof_us = (double)(load_now_ns() - tp) / 1e3 / samples;
    audit_log_destroy(&log);
    db_close(&audit_db);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
    sqlite3_close(db);
    keyfile_destroy(&keys);
    printf("inclusion proof (audit_log_inclusion_proof, random record, %d samples): %.1f us each\n",
           samples, proof_us);
    const char *bin = tu_bin("hartslag");
    char record_arg[32], subject_hex[65];
    snprintf(record_arg, sizeof record_arg, "%llu", (unsigned long long)(size / 2));
    sodium_bin2hex(subject_hex, sizeof subject_hex, probe_subject, 32);
    int status = 0;
    char *prove[] = {(char *)bin, "audit", "prove", "--db", path, "--record", record_arg, NULL};
    double prove_s = s_time_cmd(prove, &status);
    printf("hartslag audit prove --record %s: %.1f ms (whole process, exit %d)\n", record_arg,
           prove_s * 1e3, WEXITSTATUS(status));
    char *query[] = {(char *)bin, "audit", "query", "--db", path, "--subject", subject_hex, NULL};
    double query_s = s_time_cmd(query, &status);
    printf("hartslag audit query --subject (%zu signals, %zu records of that subject): %.1f ms "
           "(whole process, exit %d)\n",
           probes, probes * 7, query_s * 1e3, WEXITSTATUS(status));
    char *verify[] = {(char *)bin, "audit", "verify", "--db", path, "--broker-cert", cert, NULL};
    double verify_s = s_time_cmd(verify, &status);
    printf("hartslag audit verify: %.1f s, %.0f records/s (exit %d)\n", verify_s,
           (double)size / verify_s, WEXITSTATUS(status));
    /* Issue 14 item 6: the dry run of a new version over the whole log
       (target: 1,000,000 records in <= 10 s). The new version drops the
       field adres, so every exchange of the log is newly refused. */
    char *text = tu_read_file(party->bh->agreements, NULL);
    char *at = text ? strstr(text, "fields: [adres, ") : NULL;
    char next_path[4400];
    snprintf(next_path, sizeof next_path, "%s/agreements-next.yaml", party->bh->root);
    if (at) {
        memmove(at + 9, at + 16, strlen(at + 16) + 1); /* "fields: [" + what followed adres */
        tu_write_file(next_path, text, 0644);
        char *simulate[] = {(char *)bin, "agreements", "simulate", next_path, "--db", path, NULL};
        double simulate_s = s_time_cmd(simulate, &status);
        printf("hartslag agreements simulate (%llu records, %llu exchanges): %.1f s, %.0f "
               "records/s (exit %d)\n",
               (unsigned long long)size, (unsigned long long)(size / 7 * 2), simulate_s,
               (double)size / simulate_s, WEXITSTATUS(status));
    }
    free(text);
    party_destroy(&party);
    return rc;
}

int bench_scale(void)
{
    uint64_t t0 = load_now_ns();
    int rc = 0;
    size_t partners = s_env("BENCH_PARTNERS", 1000), queued = s_env("BENCH_QUEUED", 1000000),
           audit = s_env("BENCH_AUDIT", 10000000);
    if (partners)
        rc |= s_partners(partners);
    if (queued)
        rc |= s_queued(queued);
    if (audit)
        rc |= s_audit(audit);
    printf("bench-scale total %.0f s\n", (double)(load_now_ns() - t0) / 1e9);
    return rc ? 1 : 0;
}
