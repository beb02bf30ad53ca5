/*  inclusion: see inclusion.h. */
#include "inclusion.h"

#include "audit_store.h"
#include "audit_subjects.h"
#include "checkpoint.h"
#include "merkle.h"
#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* What the answers of one frame may take, leaving room for the frame. */
#define INCLUSION_ANSWER_BUDGET (WIRE_FRAME_MAX - 2048)

/* One answer being built: the record and proof it points into. */
typedef struct {
    Hartslag__InclusionAnswer answer;                        /* what is packed */
    uint8_t *record;                                         /* FOUND: the stored bytes (owned) */
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES]; /* FOUND: the path */
    ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];            /* pointing into proof */
} slot_t;

/* True when the record is about `org`: its actor, counterpart or the org
   acted for. Only those are shown to it. */
static bool s_concerns(const Hartslag__AuditRecord *record, const char *org)
{
    return (record->actor_org && strcmp(record->actor_org, org) == 0) ||
           (record->counterpart_org && strcmp(record->counterpart_org, org) == 0) ||
           (record->on_behalf_of && strcmp(record->on_behalf_of, org) == 0);
}

/* The `delivered` record of signal `id` to `org`, searched in the records
   of the signal's subject from its first `accepted` record on: 1 and
   *index, 0 when there is none, -1 on a store error. Only for deliveries
   settled by a broker that did not yet keep the record's index in the
   queue: the search reads every later record of the subject, which grows
   quadratically when one subject has thousands of signals in flight. */
static int s_find_delivered(audit_log_t *audit, broker_store_t *queue, const queue_signal_t *known,
                            const uint8_t id[16], const char *org, uint64_t *index)
{
    (void)queue;
    uint64_t from = known->audit_index > 0 ? (uint64_t)known->audit_index : 0;
    audit_cursor_t *cursor = audit_store_subject_records(
        audit_log_store(audit), audit_subject_tag(known->meta.subject), from);
    if (!cursor)
        return -1;
    audit_row_t row;
    int found = 0, rc;
    while (found == 0 && (rc = audit_cursor_next(cursor, &row)) == 1) {
        if (row.len == 0 || row.len > AUDIT_RECORD_MAX)
            continue; /* purged */
        Hartslag__AuditRecord *record = hartslag__audit_record__unpack(NULL, row.len, row.bytes);
        if (!record)
            continue;
        if (record->event && strcmp(record->event, "delivered") == 0 && record->has_signal_id &&
            record->signal_id.len == 16 && memcmp(record->signal_id.data, id, 16) == 0 &&
            record->counterpart_org && strcmp(record->counterpart_org, org) == 0) {
            *index = (uint64_t)row.idx;
            found = 1;
        }
        hartslag__audit_record__free_unpacked(record, NULL);
    }
    if (found == 0 && rc < 0)
        found = -1;
    audit_cursor_destroy(&cursor);
    return found;
}

/* Fills `slot` with the record at `index` and its proof at `size`, when
   it is about `org`. Returns the status; -1 on a store error. */
static int s_record(audit_log_t *audit, const char *org, uint64_t index, uint64_t size,
                    slot_t *slot)
{
    slot->answer.has_index = 1;
    slot->answer.index = index;
    if (index >= audit_log_size(audit))
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT;
    if (index >= size)
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_LATER;
    size_t len = 0;
    if (audit_log_record(audit, index, &slot->record, &len) != 0)
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT; /* purged */
    Hartslag__AuditRecord *record = hartslag__audit_record__unpack(NULL, len, slot->record);
    bool mine = record && s_concerns(record, org);
    hartslag__audit_record__free_unpacked(record, NULL);
    if (!mine) {
        free(slot->record);
        slot->record = NULL;
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_NOT_YOURS;
    }
    size_t n = 0;
    if (audit_log_inclusion_proof(audit, index, size, slot->proof, &n) != 0)
        return -1;
    slot->answer.has_record = 1;
    slot->answer.record.data = slot->record;
    slot->answer.record.len = len;
    for (size_t i = 0; i < n; i++) {
        slot->hashes[i].data = slot->proof[i];
        slot->hashes[i].len = MERKLE_HASHBYTES;
    }
    slot->answer.proof = slot->hashes;
    slot->answer.n_proof = n;
    return HARTSLAG__INCLUSION_STATUS__INCLUSION_FOUND;
}

/* The status of one item; -1 on a store error. */
static int s_item(audit_log_t *audit, broker_store_t *queue, const char *org, uint64_t size,
                  const Hartslag__InclusionItem *item, slot_t *slot)
{
    if (item->has_index)
        return s_record(audit, org, item->index, size, slot);
    /* "delivered", by id: the recipient is never told its index. */
    queue_signal_t known;
    int found = broker_store_find_signal(queue, item->signal_id.data, &known);
    if (found <= 0)
        return found < 0 ? -1 : HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT;
    uint64_t index = 0;
    int64_t kept = 0;
    found = broker_store_delivered_index(queue, item->signal_id.data, org, &kept);
    if (found == 1 && kept >= 0)
        index = (uint64_t)kept;
    else if (found == 0)
        found = s_find_delivered(audit, queue, &known, item->signal_id.data, org, &index);
    if (found < 0)
        return -1;
    if (found == 1)
        return s_record(audit, org, index, size, slot);
    delivery_state_t state;
    found = broker_store_delivery_state(queue, item->signal_id.data, org, &state);
    if (found < 0)
        return -1;
    if (found == 1 && state == DELIVERY_PENDING)
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_PENDING;
    if (found == 1 && (state == DELIVERY_WITHDRAWN || state == DELIVERY_EXPIRED))
        return HARTSLAG__INCLUSION_STATUS__INCLUSION_CANCELLED;
    return HARTSLAG__INCLUSION_STATUS__INCLUSION_ABSENT;
}

static int s_refuse(const char **why, const char *token)
{
    if (why)
        *why = token;
    return -1;
}

int inclusion_answer(audit_log_t *audit, broker_store_t *queue, const char *org,
                     const Hartslag__InclusionRequest *request, uint8_t **out, size_t *out_len,
                     const char **why)
{
    size_t n = request->n_items;
    if (n == 0 || n > INCLUSION_ITEMS_MAX)
        return s_refuse(why, "malformed");
    for (size_t i = 0; i < n; i++) {
        const Hartslag__InclusionItem *item = request->items[i];
        if (item->signal_id.len != 16 || !item->event ||
            (!item->has_index && strcmp(item->event, "delivered") != 0))
            return s_refuse(why, "malformed");
    }
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len = 0;
    if (request->tree_size == 0 ||
        audit_log_note_at(audit, request->tree_size, note, &note_len) != 0)
        return s_refuse(why, "unknown_checkpoint");
    slot_t *slots = calloc(n, sizeof *slots);
    Hartslag__InclusionAnswer **answers = calloc(n, sizeof *answers);
    int rc = slots && answers ? 0 : s_refuse(why, "storage_unavailable");
    size_t budget = INCLUSION_ANSWER_BUDGET;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const Hartslag__InclusionItem *item = request->items[i];
        slot_t *slot = &slots[i];
        hartslag__inclusion_answer__init(&slot->answer);
        slot->answer.signal_id = item->signal_id;
        slot->answer.event = item->event;
        int status = s_item(audit, queue, org, request->tree_size, item, slot);
        if (status < 0) {
            rc = s_refuse(why, "storage_unavailable");
            break;
        }
        size_t size = hartslag__inclusion_answer__get_packed_size(&slot->answer) + 16;
        if (size > budget) {
            /* Too much for one frame: the daemon asks again later. */
            free(slot->record);
            hartslag__inclusion_answer__init(&slot->answer);
            slot->record = NULL;
            slot->answer.signal_id = item->signal_id;
            slot->answer.event = item->event;
            status = HARTSLAG__INCLUSION_STATUS__INCLUSION_RETRY;
            budget = 0;
        } else
            budget -= size;
        slot->answer.status = (Hartslag__InclusionStatus)status;
        answers[i] = &slot->answer;
    }
    if (rc == 0) {
        Hartslag__InclusionProof proof = HARTSLAG__INCLUSION_PROOF__INIT;
        proof.tree_size = request->tree_size;
        proof.batch = request->batch;
        proof.items = answers;
        proof.n_items = n;
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.version = WIRE_VERSION;
        frame.body_case = HARTSLAG__FRAME__BODY_INCLUSION_PROOF;
        frame.inclusion_proof = &proof;
        if (wire_pack_frame(&frame, out, out_len) != 0)
            rc = s_refuse(why, "storage_unavailable");
    }
    for (size_t i = 0; slots && i < n; i++)
        free(slots[i].record);
    free(slots);
    free(answers);
    return rc;
}
