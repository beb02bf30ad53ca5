/*  audit_inclusion: see audit_inclusion.h. */
#include "audit_inclusion.h"

#include "audit_log.h"

#include <stdbool.h>
#include <string.h>

/* Both absent, or both present and equal. A NULL `want` is not compared. */
static bool s_same(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

static int s_fail(const char **why, const char *token)
{
    if (why)
        *why = token;
    return -1;
}

int audit_expect_match(const audit_expect_t *want, const Hartslag__AuditRecord *record,
                       const char **why)
{
    if (!want || !record || !want->signal_id)
        return s_fail(why, "unreadable_record");
    if (!s_same(want->event, record->event))
        return s_fail(why, "wrong_event");
    if (!s_same(want->actor, record->actor_org))
        return s_fail(why, "wrong_actor");
    if (!s_same(want->counterpart, record->counterpart_org))
        return s_fail(why, "wrong_counterpart");
    if (!s_same(want->on_behalf_of, record->on_behalf_of))
        return s_fail(why, "wrong_on_behalf_of");
    if (!record->has_signal_id || record->signal_id.len != AUDIT_INCLUSION_ID_BYTES ||
        memcmp(record->signal_id.data, want->signal_id, AUDIT_INCLUSION_ID_BYTES) != 0)
        return s_fail(why, "wrong_signal");
    if (!s_same(want->signal_type, record->signal_type))
        return s_fail(why, "wrong_signal_type");
    if (!s_same(want->purpose, record->purpose))
        return s_fail(why, "wrong_purpose");
    if (want->subject &&
        (!record->has_subject || record->subject.len != AUDIT_INCLUSION_SUBJECT_BYTES ||
         memcmp(record->subject.data, want->subject, AUDIT_INCLUSION_SUBJECT_BYTES) != 0))
        return s_fail(why, "wrong_subject");
    return 0;
}

int audit_inclusion_check(const audit_expect_t *want, const checkpoint_t *cp, uint64_t index,
                          const uint8_t *record, size_t len,
                          const unsigned char (*proof)[MERKLE_HASHBYTES], size_t proof_len,
                          const char **why)
{
    if (!want || !cp || (!record && len > 0))
        return s_fail(why, "unreadable_record");
    if (len == 0 || len > AUDIT_RECORD_MAX)
        return s_fail(why, "unreadable_record");
    /* The proof first, over the bytes as given: what the checkpoint
       commits to. */
    unsigned char leaf[MERKLE_HASHBYTES];
    merkle_leaf_hash(record, len, leaf);
    if (merkle_verify_inclusion(leaf, index, cp->size, proof, proof_len, cp->root) != 0)
        return s_fail(why, "bad_proof");
    Hartslag__AuditRecord *decoded = hartslag__audit_record__unpack(NULL, len, record);
    if (!decoded)
        return s_fail(why, "unreadable_record");
    int rc = 0;
    if (decoded->index != index)
        rc = s_fail(why, "wrong_index");
    else
        rc = audit_expect_match(want, decoded, why);
    hartslag__audit_record__free_unpacked(decoded, NULL);
    return rc;
}
