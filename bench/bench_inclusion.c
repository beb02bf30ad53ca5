/*  bench_inclusion: what proving a partner's own records costs (issue 18
    A2), per signal, on a file-backed audit log shaped like the broker's
    (SQLite, WAL, node cache, subject index): per recipient one `accepted`
    and one `delivered` record. Measured:
      - broker, by index: read the record, check it concerns the partner,
        inclusion proof at the checkpoint (the sender's `accepted`);
      - broker, by signal id: the `delivered` record found through the
        subject index from the signal's `accepted` on (the recipient's);
      - daemon: audit_inclusion_check (proof + decode + compare);
      - bytes of one answer on the wire.
    Times are the process's CPU time (shared machines). Figures only;
    never pass/fail. Usage: bench_inclusion [signals, default 200000] [recent|old] */
#include "audit_inclusion.h"
#include "audit_log.h"
#include "audit_subjects.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_row(const char *what, long n, double seconds)
{
    printf("%-52s %10.0f /s  %8.2f us each  (%ld in %.2f s)\n", what, (double)n / seconds,
           seconds / (double)n * 1e6, n, seconds);
}

static void s_record(Hartslag__AuditRecord *r, const char *event, const char *actor,
                     const char *counterpart, const char *on_behalf_of, uint8_t id[16],
                     uint8_t subject[32])
{
    static char *fields[] = {"adres", "categorie", "datum"};
    hartslag__audit_record__init(r);
    r->time_ms = 1764000000000ull;
    r->event = (char *)event;
    r->actor_org = (char *)actor;
    r->counterpart_org = (char *)counterpart;
    r->on_behalf_of = (char *)on_behalf_of;
    r->has_signal_id = 1;
    r->signal_id.data = id;
    r->signal_id.len = 16;
    r->signal_type = "overlast";
    r->purpose = "casusoverleg";
    r->has_subject = 1;
    r->subject.data = subject;
    r->subject.len = 32;
    if (strcmp(event, "accepted") == 0) {
        r->fields = fields;
        r->n_fields = 3;
        r->agreement_id = "politie-overlast";
        r->legal_basis = "Wet gemeentelijke schuldhulpverlening art. 8";
        r->actor_user = "agent 1234";
    }
    r->outcome = "ok";
}

int main(int argc, char **argv)
{
    long signals = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    /* "recent" (default): records of the last 2,000 signals, as a daemon
       asks at the next checkpoint; "old": anywhere in the log (cold). */
    bool recent = !(argc > 2 && strcmp(argv[2], "old") == 0);
    if (sodium_init() < 0 || signals < 1000)
        return 1;
    char path[] = "/tmp/bench_inclusion_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    char err[256];
    db_t *db = db_open(path, DB_CREATE, err, sizeof err);
    if (!db || db_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;") != 0)
        return 1;
    audit_log_t *log = audit_log_open(db, "hartslag.bench/audit", true, err, sizeof err);
    if (!log) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint8_t(*ids)[16] = malloc((size_t)signals * 16);
    uint8_t(*subjects)[32] = malloc((size_t)signals * 32);
    uint64_t *accepted_at = malloc((size_t)signals * sizeof *accepted_at);
    uint64_t *delivered_at = malloc((size_t)signals * sizeof *delivered_at);
    randombytes_buf(ids, (size_t)signals * 16);
    for (long i = 0; i < signals; i++)
        randombytes_buf(subjects[i], 32);
    /* Log: per signal submitted, accepted; its delivered follows 50 signals later. */
    double t0 = s_now();
    db_begin(db);
    for (long i = 0; i < signals + 50; i++) {
        Hartslag__AuditRecord r;
        if (i < signals) {
            s_record(&r, "submitted", "politie", NULL, NULL, ids[i], subjects[i]);
            if (audit_log_append(log, &r) < 0)
                return 1;
            s_record(&r, "accepted", "politie", "gemeente", NULL, ids[i], subjects[i]);
            int64_t index = audit_log_append(log, &r);
            if (index < 0)
                return 1;
            accepted_at[i] = (uint64_t)index;
        }
        if (i >= 50) {
            long k = i - 50;
            s_record(&r, "delivered", "broker", "gemeente", "politie", ids[k], subjects[k]);
            int64_t index = audit_log_append(log, &r);
            if (index < 0)
                return 1;
            delivered_at[k] = (uint64_t)index;
        }
        if (i % 1000 == 999) {
            db_commit(db);
            audit_log_commit(log);
            db_begin(db);
        }
    }
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    if (audit_log_checkpoint(log, sk, 1) != 0)
        return 1;
    db_commit(db);
    audit_log_commit(log);
    double t1 = s_now();
    checkpoint_t cp = {.size = audit_log_size(log)};
    audit_log_root(log, cp.root);
    printf("log: %llu records (%ld signals) built in %.1f s\n", (unsigned long long)cp.size,
           signals, t1 - t0);

    long reps = signals < 20000 ? signals : 20000;
    long *pick = malloc((size_t)reps * sizeof *pick);
    for (long i = 0; i < reps; i++)
        pick[i] = recent ? signals - 1 - (long)randombytes_uniform(2000)
                         : (long)randombytes_uniform((uint32_t)signals);
    uint8_t **records = calloc((size_t)reps, sizeof *records);
    size_t *lens = calloc((size_t)reps, sizeof *lens);
    unsigned char(*proofs)[MERKLE_PROOF_MAX][MERKLE_HASHBYTES] =
        malloc((size_t)reps * sizeof *proofs);
    size_t *plens = calloc((size_t)reps, sizeof *plens);

    /* Broker, by index: record + its owner check + proof. Inside one
       transaction, as in the broker's turn. */
    db_begin(db);
    t0 = s_now();
    size_t bytes = 0;
    for (long i = 0; i < reps; i++) {
        uint64_t index = accepted_at[pick[i]];
        if (audit_log_record(log, index, &records[i], &lens[i]) != 0)
            return 1;
        Hartslag__AuditRecord *r = hartslag__audit_record__unpack(NULL, lens[i], records[i]);
        if (!r || strcmp(r->actor_org, "politie") != 0)
            return 1;
        hartslag__audit_record__free_unpacked(r, NULL);
        if (audit_log_inclusion_proof(log, index, cp.size, proofs[i], &plens[i]) != 0)
            return 1;
        bytes += 16 + 10 + 10 + lens[i] + plens[i] * 34 + 8;
    }
    t1 = s_now();
    s_row("broker: accepted by index (read, check, proof)", reps, t1 - t0);

    /* Broker, by id: the delivered record through the subject index. */
    audit_store_t *store = audit_log_store(log);
    t0 = s_now();
    for (long i = 0; i < reps; i++) {
        long k = pick[i];
        uint64_t found = UINT64_MAX;
        /* As broker/inclusion.c searches: the subject's records from the
           accepted one on, through the audit store's subject cursor. */
        audit_cursor_t *cursor =
            audit_store_subject_records(store, audit_subject_tag(subjects[k]), accepted_at[k]);
        audit_row_t row;
        while (cursor && found == UINT64_MAX && audit_cursor_next(cursor, &row) == 1) {
            Hartslag__AuditRecord *r = hartslag__audit_record__unpack(NULL, row.len, row.bytes);
            if (r && strcmp(r->event, "delivered") == 0 &&
                memcmp(r->signal_id.data, ids[k], 16) == 0)
                found = (uint64_t)row.idx;
            hartslag__audit_record__free_unpacked(r, NULL);
        }
        audit_cursor_destroy(&cursor);
        if (found != delivered_at[k])
            return 1;
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
        size_t n = 0;
        if (audit_log_inclusion_proof(log, found, cp.size, proof, &n) != 0)
            return 1;
    }
    t1 = s_now();
    db_commit(db);
    s_row("broker: delivered by signal id (subject index, proof)", reps, t1 - t0);

    /* Daemon: check each answer. */
    t0 = s_now();
    for (long i = 0; i < reps; i++) {
        long k = pick[i];
        audit_expect_t want = {.event = "accepted",
                               .actor = "politie",
                               .counterpart = "gemeente",
                               .signal_id = ids[k],
                               .signal_type = "overlast",
                               .purpose = "casusoverleg",
                               .subject = subjects[k]};
        const char *why = NULL;
        if (audit_inclusion_check(&want, &cp, accepted_at[k], records[i], lens[i],
                                  (const unsigned char(*)[MERKLE_HASHBYTES])proofs[i], plens[i],
                                  &why) != 0) {
            fprintf(stderr, "check failed: %s\n", why);
            return 1;
        }
    }
    t1 = s_now();
    s_row("daemon: audit_inclusion_check", reps, t1 - t0);
    printf("answer on the wire: %.0f bytes per record (%zu proof hashes at %llu records)\n",
           (double)bytes / (double)reps, plens[0], (unsigned long long)cp.size);

    for (long i = 0; i < reps; i++)
        free(records[i]);
    free(records);
    free(lens);
    free(proofs);
    free(plens);
    free(pick);
    free(ids);
    free(subjects);
    free(accepted_at);
    free(delivered_at);
    audit_log_destroy(&log);
    db_close(&db);
    unlink(path);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    return 0;
}
