/*  inclusion: before it cosigns a checkpoint, the daemon has the broker
    prove that the records of its own exchanges are in the log at that
    size (issue 18 A2; docs/audit-format.md §6c, docs/protocol.md
    "Inclusion"), as a Certificate Transparency client checks that the
    entry its SCT promised was logged:

      - each signal we sent: one `accepted` record per recipient, at the
        index the broker gave in Accepted (audit_index + the recipient's
        place in the header);
      - each signal delivered to us (stored or refused): the broker's
        `delivered` record, which the broker finds by the signal's id.

    Rows are written with the change that makes them expected (expect.h),
    asked for at the next checkpoint whose size covers them, in requests
    of at most INCLUSION_ITEMS_MAX, and checked with lib/audit_inclusion:
    the proof against the checkpoint's root, the record's own index, and
    what it says against what we sent or received. All proven: the
    checkpoint is cosigned (checkpoints.c). One missing or wrong: evidence
    kept, the row marked refused, logged, shown in `hartslag status`, and
    the checkpoint is never cosigned. */
#include "daemon_internal.h"

#include "audit_inclusion.h"
#include "dlog.h"
#include "expect.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INCLUSION_ITEMS_MAX 48 /* items per request (the broker's cap) */
#define INCLUSION_ASK_MAX 1536 /* records checked per checkpoint; more wait for the next */
#define INCLUSION_BATCHES_MAX ((INCLUSION_ASK_MAX + INCLUSION_ITEMS_MAX - 1) / INCLUSION_ITEMS_MAX)

/*  Invariant: while `waiting`, asked[0..n_asked) are the rows asked for at
    checkpoint `cp`, in requests first_batch .. first_batch + n_batches - 1
    of INCLUSION_ITEMS_MAX rows each (the last may be shorter);
    answered[b] is true once request first_batch + b was answered. */
struct inclusion_t {
    expect_t *expect;                      /* the tables (expect.h) */
    bool waiting;                          /* answers are due for cp */
    checkpoint_t cp;                       /* the checkpoint being checked */
    uint32_t next_batch;                   /* number of the next request */
    uint32_t first_batch;                  /* the first request for cp */
    size_t n_batches;                      /* requests sent for cp */
    size_t n_answered;                     /* of those, answered */
    bool answered[INCLUSION_BATCHES_MAX];  /* per request */
    bool failed;                           /* a record was refused: cp is not cosigned */
    expect_row_t asked[INCLUSION_ASK_MAX]; /* the rows asked for */
    size_t n_asked;                        /* how many */
};

int inclusion_open(daemon_t *self, char *err, size_t errlen)
{
    self->inclusion = calloc(1, sizeof *self->inclusion);
    if (!self->inclusion) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    self->inclusion->expect = expect_new(self->store, err, errlen);
    if (!self->inclusion->expect) {
        free(self->inclusion);
        self->inclusion = NULL;
        return -1;
    }
    randombytes_buf(&self->inclusion->next_batch, sizeof self->inclusion->next_batch);
    return 0;
}

void inclusion_close(daemon_t *self)
{
    if (!self->inclusion)
        return;
    expect_destroy(&self->inclusion->expect);
    free(self->inclusion);
    self->inclusion = NULL;
}

/* A token or org into a fixed field; false when it does not fit. */
static bool s_copy(char *out, size_t outlen, const char *text)
{
    if (!text || strlen(text) >= outlen)
        return false;
    memcpy(out, text, strlen(text) + 1);
    return true;
}

int inclusion_expect_sent(daemon_t *self, const uint8_t *sealed, size_t len)
{
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
    if (!signal)
        return -1;
    Hartslag__SignalHeader *hdr =
        hartslag__signal_header__unpack(NULL, signal->header.len, signal->header.data);
    int rc =
        hdr && hdr->signal_id.len == EXPECT_ID_BYTES && hdr->subject.len == EXPECT_SUBJECT_BYTES
            ? 0
            : -1;
    for (size_t i = 0; rc == 0 && hdr && i < hdr->n_recipients; i++) {
        expect_row_t row;
        memset(&row, 0, sizeof row);
        memcpy(row.signal_id, hdr->signal_id.data, EXPECT_ID_BYTES);
        memcpy(row.subject, hdr->subject.data, EXPECT_SUBJECT_BYTES);
        row.position = (uint32_t)i;
        if (!s_copy(row.event, sizeof row.event, hdr->has_case_id ? "case_shared" : "accepted") ||
            !s_copy(row.actor, sizeof row.actor, self->settings.org) ||
            !s_copy(row.counterpart, sizeof row.counterpart, hdr->recipients[i]) ||
            !s_copy(row.signal_type, sizeof row.signal_type, hdr->signal_type) ||
            !s_copy(row.purpose, sizeof row.purpose, hdr->purpose) ||
            expect_add(self->inclusion->expect, &row) != 0)
            rc = -1;
    }
    hartslag__signal_header__free_unpacked(hdr, NULL);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    return rc;
}

int inclusion_expect_received(daemon_t *self, const Hartslag__SignalHeader *hdr)
{
    if (hdr->signal_id.len != EXPECT_ID_BYTES || hdr->subject.len != EXPECT_SUBJECT_BYTES)
        return 0; /* the broker would not have routed it */
    expect_row_t row;
    memset(&row, 0, sizeof row);
    memcpy(row.signal_id, hdr->signal_id.data, EXPECT_ID_BYTES);
    memcpy(row.subject, hdr->subject.data, EXPECT_SUBJECT_BYTES);
    if (!s_copy(row.event, sizeof row.event, "delivered") ||
        !s_copy(row.actor, sizeof row.actor, "broker") ||
        !s_copy(row.counterpart, sizeof row.counterpart, self->settings.org) ||
        !s_copy(row.on_behalf_of, sizeof row.on_behalf_of, hdr->sender) ||
        !s_copy(row.signal_type, sizeof row.signal_type, hdr->signal_type) ||
        !s_copy(row.purpose, sizeof row.purpose, hdr->purpose))
        return -1;
    return expect_add(self->inclusion->expect, &row);
}

int inclusion_accepted(daemon_t *self, const char *signal_id, uint64_t audit_index)
{
    uint8_t id[EXPECT_ID_BYTES];
    if (daemon_id_parse(signal_id, id) != 0)
        return -1;
    return expect_accepted(self->inclusion->expect, id, audit_index);
}

int inclusion_counts(daemon_t *self, uint64_t *waiting, uint64_t *refused)
{
    return expect_counts(self->inclusion->expect, waiting, refused);
}

/* Sends request `b` of the rows asked at the current checkpoint. */
static void s_request(daemon_t *self, size_t b)
{
    inclusion_t *inc = self->inclusion;
    Hartslag__InclusionItem items[INCLUSION_ITEMS_MAX];
    Hartslag__InclusionItem *ptrs[INCLUSION_ITEMS_MAX];
    size_t from = b * INCLUSION_ITEMS_MAX, n = 0;
    for (size_t i = from; i < inc->n_asked && n < INCLUSION_ITEMS_MAX; i++, n++) {
        const expect_row_t *row = &inc->asked[i];
        hartslag__inclusion_item__init(&items[n]);
        items[n].signal_id.data = (uint8_t *)row->signal_id;
        items[n].signal_id.len = EXPECT_ID_BYTES;
        items[n].event = (char *)row->event;
        items[n].has_index = row->has_index;
        items[n].index = row->index;
        ptrs[n] = &items[n];
    }
    Hartslag__InclusionRequest request = HARTSLAG__INCLUSION_REQUEST__INIT;
    request.tree_size = inc->cp.size;
    request.batch = inc->first_batch + (uint32_t)b;
    request.items = ptrs;
    request.n_items = n;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_INCLUSION_REQUEST;
    frame.inclusion_request = &request;
    (void)link_send(self, &frame);
}

bool inclusion_ready(daemon_t *self, const checkpoint_t *cp)
{
    inclusion_t *inc = self->inclusion;
    /* A checkpoint that lacked one of our records is never cosigned. */
    if (expect_refused_at(inc->expect, cp->size) != 0)
        return false;
    if (inc->waiting && inc->cp.size == cp->size)
        return false; /* the answers are on their way */
    size_t n = 0;
    if (expect_due(inc->expect, cp->size, inc->asked, INCLUSION_ASK_MAX, &n) != 0) {
        dlog(DLOG_ERROR, "event=store_failed op=inclusion_due error=\"%s\"",
             store_error(self->store));
        return false;
    }
    inc->waiting = false;
    if (n == 0)
        return true;
    inc->waiting = true;
    inc->cp = *cp;
    inc->failed = false;
    inc->n_asked = n;
    inc->first_batch = inc->next_batch;
    inc->n_batches = (n + INCLUSION_ITEMS_MAX - 1) / INCLUSION_ITEMS_MAX;
    inc->next_batch += (uint32_t)inc->n_batches;
    inc->n_answered = 0;
    memset(inc->answered, 0, sizeof inc->answered);
    for (size_t b = 0; b < inc->n_batches; b++)
        s_request(self, b);
    dlog(DLOG_DEBUG, "event=inclusion_asked size=%llu records=%zu", (unsigned long long)cp->size,
         n);
    return false;
}

/* Keeps the evidence of a record the broker did not prove, and says so. */
static void s_refuse(daemon_t *self, const expect_row_t *row, const char *kind,
                     const Hartslag__InclusionAnswer *answer, const char *note, size_t note_len)
{
    inclusion_t *inc = self->inclusion;
    unsigned char proof[MERKLE_PROOF_MAX * MERKLE_HASHBYTES];
    size_t n = 0;
    for (size_t i = 0; i < answer->n_proof && n < MERKLE_PROOF_MAX; i++)
        if (answer->proof[i].len == MERKLE_HASHBYTES)
            memcpy(proof + MERKLE_HASHBYTES * n++, answer->proof[i].data, MERKLE_HASHBYTES);
    expect_evidence_t evidence = {
        .kind = kind,
        .tree_size = inc->cp.size,
        .note = note,
        .note_len = note_len,
        .has_index = answer->has_index,
        .index = answer->index,
        .record = answer->has_record ? answer->record.data : NULL,
        .record_len = answer->has_record ? answer->record.len : 0,
        .proof = n ? proof : NULL,
        .proof_len = n * MERKLE_HASHBYTES,
    };
    inc->failed = true;
    char id[STORE_ID_HEX];
    daemon_id_hex(row->signal_id, EXPECT_ID_BYTES, id);
    if (expect_refused(inc->expect, row, &evidence) != 0)
        dlog(DLOG_ERROR, "event=evidence_not_stored error=\"%s\"", store_error(self->store));
    dlog(DLOG_ERROR,
         "event=inclusion_refused kind=%s signal=%s record=%s counterpart=%s size=%llu "
         "hint=\"the broker's signed audit log lacks the record of this exchange; the checkpoint "
         "is not cosigned; tell the partnership's privacy officers (evidence kept in "
         "hartslagd.db)\"",
         kind, id, row->event, row->counterpart, (unsigned long long)inc->cp.size);
    daemon_set_error(self, "audit record missing (%s): %s of signal %s, checkpoint %llu", kind,
                     row->event, id, (unsigned long long)inc->cp.size);
}

/* Judges one answer: proven (the row goes), still to come (it stays), or
   refused (evidence). */
static void s_judge(daemon_t *self, const expect_row_t *row, const Hartslag__InclusionAnswer *a,
                    const char *note, size_t note_len)
{
    inclusion_t *inc = self->inclusion;
    switch (a->status) {
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_FOUND: {
        if (!a->has_index || !a->has_record) {
            s_refuse(self, row, "malformed_answer", a, note, note_len);
            return;
        }
        if (row->has_index && a->index != row->index) {
            s_refuse(self, row, "wrong_index", a, note, note_len);
            return;
        }
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
        bool shaped = a->n_proof <= MERKLE_PROOF_MAX;
        for (size_t i = 0; shaped && i < a->n_proof; i++) {
            shaped = a->proof[i].len == MERKLE_HASHBYTES;
            if (shaped)
                memcpy(proof[i], a->proof[i].data, MERKLE_HASHBYTES);
        }
        audit_expect_t want = {
            .event = row->event,
            .actor = row->actor,
            .counterpart = row->counterpart,
            .on_behalf_of = row->on_behalf_of[0] ? row->on_behalf_of : NULL,
            .signal_id = row->signal_id,
            .signal_type = row->signal_type,
            .purpose = row->purpose,
            .subject = row->subject,
        };
        const char *why = "bad_proof";
        if (!shaped ||
            audit_inclusion_check(&want, &inc->cp, a->index, a->record.data, a->record.len,
                                  (const unsigned char(*)[MERKLE_HASHBYTES])proof, a->n_proof,
                                  &why) != 0) {
            s_refuse(self, row, why, a, note, note_len);
            return;
        }
        if (expect_proven(inc->expect, row) != 0)
            dlog(DLOG_ERROR, "event=store_failed op=inclusion_proven error=\"%s\"",
                 store_error(self->store));
        return;
    }
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_LATER:
        /* Only a record we could not place may come later, and then after
           this checkpoint. */
        if (row->has_index || (a->has_index && a->index < inc->cp.size))
            s_refuse(self, row, "wrong_index", a, note, note_len);
        return;
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_PENDING:
        /* Our answer to the delivery has not reached the broker (the
           connection dropped): it redelivers and we answer again. An
           accepted record cannot be pending: Accepted came after it. */
        if (row->has_index)
            s_refuse(self, row, "missing", a, note, note_len);
        return;
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_RETRY:
        return; /* asked again at the next checkpoint */
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_CANCELLED:
        /* The sender withdrew it (or it expired) before our answer came:
           the broker writes `withdrawn` / `expired`, no `delivered`. */
        if (row->has_index)
            s_refuse(self, row, "missing", a, note, note_len);
        else if (expect_proven(inc->expect, row) != 0)
            dlog(DLOG_ERROR, "event=store_failed op=inclusion_cancelled");
        return;
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT:
        s_refuse(self, row, "missing", a, note, note_len);
        return;
    case HARTSLAG__INCLUSION_STATUS__INCLUSION_NOT_YOURS:
        s_refuse(self, row, "not_yours", a, note, note_len);
        return;
    default:
        s_refuse(self, row, "malformed_answer", a, note, note_len);
        return;
    }
}

void inclusion_handle(daemon_t *self, const Hartslag__InclusionProof *proof)
{
    inclusion_t *inc = self->inclusion;
    uint32_t b = proof->batch - inc->first_batch;
    if (!inc->waiting || proof->tree_size != inc->cp.size || b >= inc->n_batches ||
        inc->answered[b]) {
        dlog(DLOG_DEBUG, "event=inclusion_stale size=%llu batch=%u",
             (unsigned long long)proof->tree_size, proof->batch);
        return;
    }
    size_t from = (size_t)b * INCLUSION_ITEMS_MAX;
    size_t count =
        inc->n_asked - from < INCLUSION_ITEMS_MAX ? inc->n_asked - from : INCLUSION_ITEMS_MAX;
    /* An answer must be to what we asked, item for item; otherwise it
       counts as none (and the checkpoint waits uncosigned). */
    bool matches = proof->n_items == count;
    for (size_t i = 0; matches && i < count; i++) {
        const Hartslag__InclusionAnswer *a = proof->items[i];
        const expect_row_t *row = &inc->asked[from + i];
        matches = a->signal_id.len == EXPECT_ID_BYTES &&
                  memcmp(a->signal_id.data, row->signal_id, EXPECT_ID_BYTES) == 0 && a->event &&
                  strcmp(a->event, row->event) == 0;
    }
    if (!matches) {
        dlog(DLOG_WARN, "event=inclusion_answer_refused reason=not_what_was_asked size=%llu",
             (unsigned long long)proof->tree_size);
        return;
    }
    char *note = NULL;
    size_t note_len = 0;
    if (expect_note(inc->expect, inc->cp.size, &note, &note_len) != 1)
        note = NULL;
    bool begun = store_begin(self->store) == 0;
    for (size_t i = 0; i < count; i++)
        s_judge(self, &inc->asked[from + i], proof->items[i], note, note_len);
    if (begun && store_commit(self->store) != 0) {
        store_rollback(self->store);
        dlog(DLOG_ERROR, "event=store_failed op=inclusion error=\"%s\"", store_error(self->store));
    }
    free(note);
    inc->answered[b] = true;
    inc->n_answered++;
    if (inc->n_answered < inc->n_batches)
        return;
    inc->waiting = false;
    if (inc->failed) {
        dlog(DLOG_ERROR, "event=checkpoint_not_cosigned size=%llu reason=inclusion_refused",
             (unsigned long long)inc->cp.size);
        return;
    }
    dlog(DLOG_DEBUG, "event=inclusion_proven size=%llu records=%zu",
         (unsigned long long)inc->cp.size, inc->n_asked);
    checkpoints_cosign(self, &inc->cp);
}
