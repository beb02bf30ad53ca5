/*  checkpoints: the daemon's part of the audit transparency log (DESIGN §9).
    The broker sends each new signed checkpoint with a consistency proof from
    the last one this daemon holds. The daemon checks the signature with the
    broker's audit key (its certificate's sign-key) and the proof against
    what it holds, stores the checkpoint durably, and answers with its
    cosignature. A checkpoint that does not extend the history it was shown
    before is refused, kept as evidence and raised in the log and in
    `hartslag status`: the broker rewrote, truncated or forked its log. */
#include "daemon_internal.h"

#include "audit_log.h"
#include "checkpoint.h"
#include "dlog.h"
#include "merkle.h"

#include <stdio.h>
#include <string.h>

/* Keeps the refused checkpoint and says so loudly. */
static void s_refuse(daemon_t *self, const char *kind, uint64_t held, const checkpoint_t *cp,
                     const Hartslag__Checkpoint *message)
{
    unsigned char proof[MERKLE_PROOF_MAX * MERKLE_HASHBYTES];
    size_t n = message->n_consistency_proof <= MERKLE_PROOF_MAX ? message->n_consistency_proof : 0;
    for (size_t i = 0; i < n; i++)
        if (message->consistency_proof[i].len == MERKLE_HASHBYTES)
            memcpy(proof + i * MERKLE_HASHBYTES, message->consistency_proof[i].data,
                   MERKLE_HASHBYTES);
    if (store_checkpoint_evidence(self->store, kind, held, cp ? cp->size : 0,
                                  (const char *)message->note.data, message->note.len, proof,
                                  n * MERKLE_HASHBYTES) != 0)
        dlog(DLOG_ERROR, "event=evidence_not_stored error=\"%s\"", store_error(self->store));
    dlog(DLOG_ERROR,
         "event=checkpoint_inconsistent kind=%s held=%llu offered=%llu "
         "hint=\"the broker's audit log does not extend what it showed before; tell the "
         "partnership's privacy officers (evidence kept in hartslagd.db)\"",
         kind, (unsigned long long)held, (unsigned long long)(cp ? cp->size : 0));
    daemon_set_error(self, "audit checkpoint refused (%s): held %llu, offered %llu", kind,
                     (unsigned long long)held, (unsigned long long)(cp ? cp->size : 0));
}

/* Cosigns once our own records in `cp` are proven (inclusion.c). */
static void s_cosign(daemon_t *self, const checkpoint_t *cp)
{
    if (inclusion_ready(self, cp))
        checkpoints_cosign(self, cp);
}

void checkpoints_cosign(daemon_t *self, const checkpoint_t *cp)
{
    char line[CHECKPOINT_LINE_MAX + 1];
    size_t len = 0;
    if (checkpoint_cosign(cp, self->settings.org, keyfile_sign_secret(self->keys),
                          daemon_now_ms() / 1000, line, sizeof line, &len) != CHECKPOINT_OK)
        return;
    Hartslag__Cosignature cosignature = HARTSLAG__COSIGNATURE__INIT;
    cosignature.tree_size = cp->size;
    cosignature.signature.data = (uint8_t *)line;
    cosignature.signature.len = len;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_COSIGNATURE;
    frame.cosignature = &cosignature;
    link_send(self, &frame);
}

/* A newer checkpoint came with a proof from another size than we hold, so
   it cannot be checked. Once is a race (our cosignature crossed it); a
   broker that never sends a usable proof withholds it, and that must show
   (issue 18 A3). We keep the first offer of each such streak as evidence,
   count them for `status`, and tell the broker the size we hold: by
   cosigning our checkpoint again when it is behind (no Hello, which would
   make it resend what is in flight), by a Hello at most every 10 s when it
   thinks we hold more than we do. */
static void s_unproven(daemon_t *self, uint64_t held, const unsigned char held_root[32],
                       const char *origin, const checkpoint_t *cp,
                       const Hartslag__Checkpoint *message)
{
    uint64_t now = daemon_now_ms();
    if (self->unproven_count++ == 0) {
        self->unproven_since_ms = now;
        if (store_checkpoint_evidence(self->store, "unproven", held, cp->size,
                                      (const char *)message->note.data, message->note.len, NULL,
                                      0) != 0)
            dlog(DLOG_ERROR, "event=evidence_not_stored error=\"%s\"", store_error(self->store));
    }
    if (self->unproven_logged_ms == 0 || now - self->unproven_logged_ms >= 60000 ||
        self->unproven_count == 1) {
        self->unproven_logged_ms = now;
        dlog(DLOG_WARN,
             "event=checkpoint_unproven held=%llu offered=%llu proof_from=%llu count=%llu "
             "since_ms=%llu",
             (unsigned long long)held, (unsigned long long)cp->size,
             (unsigned long long)message->from_size, (unsigned long long)self->unproven_count,
             (unsigned long long)self->unproven_since_ms);
    }
    if (message->from_size < held) {
        checkpoint_t ours;
        memset(&ours, 0, sizeof ours);
        snprintf(ours.origin, sizeof ours.origin, "%s", origin);
        ours.size = held;
        memcpy(ours.root, held_root, MERKLE_HASHBYTES);
        s_cosign(self, &ours);
    } else if (self->unproven_hello_ms == 0 || now - self->unproven_hello_ms >= 10000) {
        self->unproven_hello_ms = now;
        link_send_hello(self);
    }
}

void checkpoints_handle(daemon_t *self, const Hartslag__Checkpoint *message)
{
    char origin[CHECKPOINT_NAME_MAX + 1];
    audit_log_origin_for(agreements_partnership(self->agreements), origin, sizeof origin);
    checkpoint_t cp;
    checkpoint_err_t err = checkpoint_open((const char *)message->note.data, message->note.len,
                                           origin, self->broker_cert.sign_key, &cp);
    if (err != CHECKPOINT_OK) {
        dlog(DLOG_WARN, "event=checkpoint_refused reason=\"%s\"", checkpoint_strerror(err));
        return;
    }
    uint64_t held = 0;
    unsigned char held_root[MERKLE_HASHBYTES];
    int have = store_checkpoint_latest(self->store, &held, held_root);
    if (have < 0)
        return;
    if (have == 1) {
        if (cp.size < held) {
            s_refuse(self, "shrunk", held, &cp, message);
            return;
        }
        if (cp.size == held) {
            if (memcmp(cp.root, held_root, MERKLE_HASHBYTES) != 0)
                s_refuse(self, "forked", held, &cp, message);
            else
                s_cosign(self, &cp); /* again: our earlier answer may have been lost */
            return;
        }
        if (message->from_size != held) {
            s_unproven(self, held, held_root, origin, &cp, message);
            return;
        }
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
        size_t n = message->n_consistency_proof;
        bool shaped = n <= MERKLE_PROOF_MAX;
        for (size_t i = 0; shaped && i < n; i++) {
            shaped = message->consistency_proof[i].len == MERKLE_HASHBYTES;
            if (shaped)
                memcpy(proof[i], message->consistency_proof[i].data, MERKLE_HASHBYTES);
        }
        if (!shaped ||
            merkle_verify_consistency(held, cp.size, held_root, cp.root,
                                      (const unsigned char(*)[MERKLE_HASHBYTES])proof, n) != 0) {
            s_refuse(self, "inconsistent", held, &cp, message);
            return;
        }
    }
    if (store_checkpoint_add(self->store, cp.size, (const char *)message->note.data,
                             message->note.len, cp.root) != 0) {
        dlog(DLOG_ERROR, "event=checkpoint_not_stored error=\"%s\"", store_error(self->store));
        return;
    }
    dlog(DLOG_DEBUG, "event=checkpoint_cosigned size=%llu", (unsigned long long)cp.size);
    if (self->unproven_count > 0)
        dlog(DLOG_INFO, "event=checkpoint_proven size=%llu after_unproven=%llu",
             (unsigned long long)cp.size, (unsigned long long)self->unproven_count);
    self->unproven_since_ms = 0;
    self->unproven_count = 0;
    s_cosign(self, &cp);
}
