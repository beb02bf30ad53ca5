/*  audit_log: the audit transparency log; see audit_log.h. */
#include "audit_log.h"

#include "audit_store.h"
#include "audit_subjects.h"
#include "hash_cache.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The node cache keeps perfect subtrees of 2^4 = 16 leaves and up. */
#define AUDIT_NODE_MIN_LEVEL 4
/* Recent hashes in memory (hash_cache.h): 2^14 slots, 640 KiB. */
#define AUDIT_HASH_CACHE_BITS 14

/*  Invariant: tree holds exactly the leaves of rows 0..size-1 of the
    records as this connection sees them (committed plus the open
    transaction); committed_state is the tree as of the last commit,
    last_leaf the leaf hash of row size-1 (zeros when empty). */
struct audit_log_t {
    audit_store_t *store;                            /* the tables, owned */
    hash_cache_t *hashes;                            /* recent leaf and node hashes, owned */
    merkle_tree_t *tree;                             /* current tree */
    unsigned char committed_state[MERKLE_STATE_MAX]; /* tree at the last commit */
    size_t committed_len;
    unsigned char last_leaf[MERKLE_HASHBYTES];      /* chain head */
    unsigned char committed_leaf[MERKLE_HASHBYTES]; /* chain head at the last commit */
    uint64_t checkpoint_size;                       /* latest checkpoint's size */
    uint64_t committed_checkpoint_size;
    char origin[CHECKPOINT_NAME_MAX + 1]; /* checkpoint origin */
    uint8_t *buf;                         /* packing scratch */
};

void audit_log_origin_for(const char *partnership, char *out, size_t outlen)
{
    snprintf(out, outlen, "hartslag.%s/audit", partnership);
}

static int s_get_leaf(void *arg, uint64_t index, unsigned char out[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    if (hash_cache_get(self->hashes, 0, index, out))
        return 0;
    if (audit_store_leaf_get(self->store, index, out) != 1)
        return -1;
    hash_cache_put(self->hashes, 0, index, out);
    return 0;
}

/* merkle's contract: 0 found, 1 not stored, -1 error. */
static int s_get_node(void *arg, unsigned level, uint64_t index,
                      unsigned char out[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    if (level < AUDIT_NODE_MIN_LEVEL)
        return 1; /* never stored (s_on_node): not worth a query */
    if (hash_cache_get(self->hashes, level, index, out))
        return 0;
    int found = audit_store_node_get(self->store, level, index, out);
    if (found == 1)
        hash_cache_put(self->hashes, level, index, out);
    return found == 1 ? 0 : found == 0 ? 1 : -1;
}

static int s_on_node(void *arg, unsigned level, uint64_t index,
                     const unsigned char hash[MERKLE_HASHBYTES])
{
    audit_log_t *self = arg;
    /* Smaller subtrees are a few leaf hashes away (merkle recomputes what
       get_node does not have); storing them doubled the rows written per
       record on the broker's hot path. */
    if (level < AUDIT_NODE_MIN_LEVEL)
        return 0;
    hash_cache_put(self->hashes, level, index, hash);
    return audit_store_node_put(self->store, level, index, hash);
}

static merkle_source_t s_source(audit_log_t *self)
{
    merkle_source_t source = {s_get_leaf, s_get_node, self};
    return source;
}

void audit_log_destroy(audit_log_t **self_p)
{
    if (self_p && *self_p) {
        audit_log_t *self = *self_p;
        audit_store_destroy(&self->store);
        merkle_tree_destroy(&self->tree);
        hash_cache_destroy(&self->hashes);
        free(self->buf);
        free(self);
        *self_p = NULL;
    }
}

/* Reads or records the origin the log was created under. */
static int s_origin(audit_log_t *self, const char *origin, bool writable, char *err, size_t errlen)
{
    char stored[CHECKPOINT_NAME_MAX + 1];
    int found = audit_store_meta_get(self->store, "origin", stored, sizeof stored);
    if (found < 0) {
        snprintf(err, errlen, "not an audit store: %s", db_errmsg(audit_store_db(self->store)));
        return -1;
    }
    if (found == 1) {
        if (origin && *origin && strcmp(stored, origin) != 0) {
            snprintf(err, errlen, "the audit log belongs to '%s', not '%s'", stored, origin);
            return -1;
        }
        snprintf(self->origin, sizeof self->origin, "%s", stored);
        return 0;
    }
    if (writable && origin && *origin) {
        snprintf(self->origin, sizeof self->origin, "%s", origin);
        if (audit_store_meta_set(self->store, "origin", origin) != 0) {
            snprintf(err, errlen, "cannot record the log's origin: %s",
                     db_errmsg(audit_store_db(self->store)));
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "the audit store has no origin (empty or not an audit store)");
    return -1;
}

/* A store written before the subject index: build it now, all or nothing
   (a savepoint inside the caller's transaction, else one of its own). */
static int s_subjects_backfill(audit_log_t *self, char *err, size_t errlen)
{
    db_t *db = audit_store_db(self->store);
    bool nested = db_in_transaction(db);
    if ((nested ? db_exec(db, "SAVEPOINT audit_subjects_backfill") : db_begin(db)) != 0) {
        snprintf(err, errlen, "cannot build the subject index: %s", db_errmsg(db));
        return -1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t rows = 0, size = 0;
    if (audit_store_subjects_create(self->store, &rows) != 0 ||
        audit_store_record_count(self->store, &size) != 0 ||
        (nested ? db_exec(db, "RELEASE audit_subjects_backfill") : db_commit(db)) != 0) {
        snprintf(err, errlen, "cannot build the subject index: %s", db_errmsg(db));
        if (nested)
            db_exec(db, "ROLLBACK TO audit_subjects_backfill; RELEASE audit_subjects_backfill");
        else
            db_rollback(db);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (size == 0)
        return 0; /* a new store: nothing was built, nothing to tell */
    char n[24], ms[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)rows);
    snprintf(ms, sizeof ms, "%lld",
             (long long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    log_event(HLOG_INFO, "audit_subject_index_built", "rows", n, "ms", ms, NULL);
    return 0;
}

audit_log_t *audit_log_open(db_t *db, const char *origin, bool writable, char *err, size_t errlen)
{
    audit_log_t *self = calloc(1, sizeof *self);
    if (!self || !(self->buf = malloc(AUDIT_RECORD_MAX)) ||
        !(self->hashes = hash_cache_new(AUDIT_HASH_CACHE_BITS))) {
        snprintf(err, errlen, "out of memory");
        if (self)
            free(self->buf);
        free(self);
        return NULL;
    }
    self->store = audit_store_open(db, writable, err, errlen);
    if (!self->store)
        goto fail;
    if (writable && !audit_store_subjects_exist(self->store) &&
        s_subjects_backfill(self, err, errlen) != 0)
        goto fail;
    if (s_origin(self, origin, writable, err, errlen) != 0)
        goto fail;
    uint64_t size = 0;
    if (audit_store_record_count(self->store, &size) != 0) {
        snprintf(err, errlen, "cannot read the audit log: %s", db_errmsg(db));
        goto fail;
    }
    merkle_source_t source = s_source(self);
    self->tree = merkle_tree_restore(&source, size);
    if (!self->tree) {
        snprintf(err, errlen,
                 "the audit log's tree cannot be rebuilt (rows missing? run "
                 "'hartslag audit verify')");
        goto fail;
    }
    merkle_tree_set_on_node(self->tree, s_on_node, self);
    if (size > 0) {
        /* The chain head must be the hash of the last record as stored. */
        uint8_t *bytes = NULL;
        size_t len = 0;
        unsigned char leaf[MERKLE_HASHBYTES];
        if (audit_log_record(self, size - 1, &bytes, &len) != 0 ||
            s_get_leaf(self, size - 1, self->last_leaf) != 0) {
            free(bytes);
            snprintf(err, errlen, "the last audit record is unreadable");
            goto fail;
        }
        merkle_leaf_hash(bytes, len, leaf);
        free(bytes);
        if (memcmp(leaf, self->last_leaf, MERKLE_HASHBYTES) != 0) {
            snprintf(err, errlen,
                     "the last audit record does not match its hash: the store was "
                     "changed; run 'hartslag audit verify'");
            goto fail;
        }
    }
    uint64_t cp_size = 0;
    if (audit_store_checkpoint_latest(self->store, &cp_size, NULL, 0, NULL, NULL) != 1)
        cp_size = 0;
    self->checkpoint_size = cp_size;
    audit_log_commit(self);
    return self;
fail:
    audit_log_destroy(&self);
    return NULL;
}

audit_store_t *audit_log_store(audit_log_t *self)
{
    return self->store;
}

void audit_log_commit(audit_log_t *self)
{
    merkle_tree_save(self->tree, self->committed_state, &self->committed_len);
    memcpy(self->committed_leaf, self->last_leaf, MERKLE_HASHBYTES);
    self->committed_checkpoint_size = self->checkpoint_size;
}

void audit_log_rollback(audit_log_t *self)
{
    merkle_tree_t *tree = merkle_tree_load(self->committed_state, self->committed_len);
    if (tree) {
        merkle_tree_destroy(&self->tree);
        self->tree = tree;
        merkle_tree_set_on_node(self->tree, s_on_node, self);
    }
    memcpy(self->last_leaf, self->committed_leaf, MERKLE_HASHBYTES);
    self->checkpoint_size = self->committed_checkpoint_size;
    /* the rolled-back indexes will be used again, for other records */
    hash_cache_clear(self->hashes);
}

int64_t audit_log_append(audit_log_t *self, Hartslag__AuditRecord *record)
{
    uint64_t index = merkle_tree_size(self->tree);
    record->index = index;
    record->prev_hash.data = self->last_leaf;
    record->prev_hash.len = MERKLE_HASHBYTES;
    size_t len = hartslag__audit_record__get_packed_size(record);
    if (len > AUDIT_RECORD_MAX)
        return -1;
    hartslag__audit_record__pack(record, self->buf);
    unsigned char leaf[MERKLE_HASHBYTES];
    merkle_leaf_hash(self->buf, len, leaf);
    int rc = audit_store_record_put(self->store, index, self->buf, len, leaf);
    record->prev_hash.data = NULL;
    record->prev_hash.len = 0;
    if (rc == 0 && record->has_subject && record->subject.len == AUDIT_SUBJECT_BYTES)
        /* The subject index, in the same transaction: an access request's
           answer must be complete. An existing row (left behind by a
           truncated log, an operator's edit) must not stop the broker;
           audit_verify reports such rows. */
        rc = audit_store_subject_put(self->store, audit_subject_tag(record->subject.data), index);
    if (rc != 0 || merkle_tree_append(self->tree, leaf) != 0)
        return -1;
    hash_cache_put(self->hashes, 0, index, leaf);
    memcpy(self->last_leaf, leaf, MERKLE_HASHBYTES);
    return (int64_t)index;
}

uint64_t audit_log_size(const audit_log_t *self)
{
    return merkle_tree_size(self->tree);
}

void audit_log_root(const audit_log_t *self, unsigned char root[MERKLE_HASHBYTES])
{
    merkle_tree_root(self->tree, root);
}

const char *audit_log_origin(const audit_log_t *self)
{
    return self->origin;
}

uint64_t audit_log_checkpoint_size(const audit_log_t *self)
{
    return self->checkpoint_size;
}

int audit_log_checkpoint(audit_log_t *self, const unsigned char sign_sk[CHECKPOINT_SECRETKEYBYTES],
                         int64_t now_ms)
{
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", self->origin);
    cp.size = merkle_tree_size(self->tree);
    merkle_tree_root(self->tree, cp.root);
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t len = 0;
    if (checkpoint_sign(&cp, sign_sk, note, sizeof note, &len) != CHECKPOINT_OK)
        return -1;
    if (audit_store_checkpoint_put(self->store, cp.size, note, now_ms) != 0)
        return -1;
    self->checkpoint_size = cp.size;
    return 0;
}

int audit_log_latest_note(audit_log_t *self, char note[CHECKPOINT_NOTE_MAX + 1], size_t *len,
                          uint64_t *size)
{
    return audit_store_checkpoint_latest(self->store, size, note, CHECKPOINT_NOTE_MAX + 1, len,
                                         NULL) == 1
               ? 0
               : -1;
}

int audit_log_note_at(audit_log_t *self, uint64_t size, char note[CHECKPOINT_NOTE_MAX + 1],
                      size_t *len)
{
    return audit_store_checkpoint_at(self->store, size, note, CHECKPOINT_NOTE_MAX + 1, len) == 1
               ? 0
               : -1;
}

int audit_log_inclusion_proof(audit_log_t *self, uint64_t index, uint64_t size,
                              unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES], size_t *len)
{
    if (size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_inclusion_proof(&source, size, index, proof, len);
}

int audit_log_consistency_proof(audit_log_t *self, uint64_t old_size, uint64_t new_size,
                                unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                                size_t *len)
{
    if (new_size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_consistency_proof(&source, old_size, new_size, proof, len);
}

int audit_log_root_at(audit_log_t *self, uint64_t size, unsigned char root[MERKLE_HASHBYTES])
{
    if (size > merkle_tree_size(self->tree))
        return -1;
    merkle_source_t source = s_source(self);
    return merkle_subtree_root(&source, 0, size, root);
}

int audit_log_store_cosignature(audit_log_t *self, uint64_t size, const char *org, const char *line,
                                int64_t now_ms)
{
    return audit_store_cosignature_put(self->store, size, org, line, now_ms);
}

int audit_log_record(audit_log_t *self, uint64_t index, uint8_t **bytes, size_t *len)
{
    return audit_store_record_get(self->store, index, bytes, len) == 1 ? 0 : -1;
}

/* Removes the subject index rows of the records below `end` that still
   have their bytes: once purged, nothing may lead to the subject. */
static int s_purge_subjects(audit_log_t *self, uint64_t end)
{
    audit_cursor_t *cursor = audit_store_records(self->store, 0, UINT64_MAX);
    if (!cursor)
        return -1;
    audit_row_t row;
    int rc, result = 0;
    while (result == 0 && (rc = audit_cursor_next(cursor, &row)) == 1) {
        const uint8_t *subject = NULL;
        if (row.idx < 0 || (uint64_t)row.idx >= end)
            break;
        if (row.len == 0 || audit_record_subject(row.bytes, row.len, &subject) != 1)
            continue;
        result =
            audit_store_subject_delete(self->store, audit_subject_tag(subject), (uint64_t)row.idx);
    }
    if (result == 0 && rc < 0)
        result = -1;
    audit_cursor_destroy(&cursor);
    return result;
}

int audit_log_purge(audit_log_t *self, int64_t cutoff_ms, uint64_t *purged_before)
{
    *purged_before = 0;
    audit_cursor_t *cursor = audit_store_records(self->store, 0, UINT64_MAX);
    if (!cursor)
        return -1;
    /* Records are appended in time order: purge the prefix before cutoff. */
    uint64_t end = 0;
    audit_row_t row;
    int rc;
    while ((rc = audit_cursor_next(cursor, &row)) == 1) {
        if (row.len == 0) {
            end = (uint64_t)row.idx + 1;
            continue; /* purged before */
        }
        Hartslag__AuditRecord *record =
            row.len <= AUDIT_RECORD_MAX ? hartslag__audit_record__unpack(NULL, row.len, row.bytes)
                                        : NULL;
        bool old = record && (int64_t)record->time_ms < cutoff_ms;
        if (record)
            hartslag__audit_record__free_unpacked(record, NULL);
        if (!old)
            break;
        end = (uint64_t)row.idx + 1;
    }
    audit_cursor_destroy(&cursor);
    if (rc < 0)
        return -1;
    /* The newest record is never purged: it is the chain head. */
    if (end >= merkle_tree_size(self->tree))
        end = merkle_tree_size(self->tree) ? merkle_tree_size(self->tree) - 1 : 0;
    if (end == 0)
        return 0;
    if (s_purge_subjects(self, end) != 0)
        return -1;
    uint64_t changed = 0;
    if (audit_store_purge(self->store, end, &changed) != 0)
        return -1;
    *purged_before = changed > 0 ? end : 0;
    return 0;
}
