/*  broker: the event loop, the protocol handlers and the group commit;
    see broker.h, docs/protocol.md. */
#include "broker.h"
#include "active.h"
#include "auth_gate.h"
#include "auth_limit.h"
#include "agreements_history.h"
#include "cases.h"
#include "check.h"
#include "control.h"
#include "inclusion.h"
#include "status.h"

#include "agreements.h"
#include "arena.h"
#include "audit_log.h"
#include "checkpoint.h"
#include "cert.h"
#include "deliver_frame.h"
#include "envelope.h"
#include "instruction.h"
#include "keyfile.h"
#include "log.h"
#include "match.h"
#include "names.h"
#include "partners.h"
#include "store.h"
#include "verifier.h"
#include "wire.h"
#include "z85.h"

#include <czmq.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 200              /* poll timeout: how often timers are looked at */
#define EXPIRY_EVERY_MS 1000     /* expiry scan */
#define REDELIVER_AFTER_MS 10000 /* deliveries unacknowledged this long are sent again */
/* A daemon sends a Heartbeat every 2 s (docs/protocol.md); three missed
   ones and the broker stops counting it as connected. */
#define PEER_SILENT_MS 6000
#define LIMIT_LOG_EVERY_MS 10000      /* a partner's refused frames are logged this often at most */
#define MISMATCH_AUDIT_EVERY_MS 60000 /* one org_mismatch record per partner per minute */
#define HELLO_RESET_EVERY_MS 10000    /* a Hello resends what is in flight this often at most */
#define PURGE_EVERY_MS 3600000        /* audit retention purge, hourly */
#define PRUNE_EVERY_MS 60000          /* lapsed-id cleanup */
#define CHECKPOINT_EVERY_MS 1000      /* a checkpoint at least this often... */
#define CHECKPOINT_EVERY_RECORDS 1000 /* ...or after this many records */
#define DAY_MS 86400000LL
/* A turn that only settled acks announces nothing, so its commit may wait
   this long for the next turn's: a lost ack only means a redelivery that
   the recipient recognises, and the loop saves an fsync per ack. */
#define ACK_COMMIT_DELAY_MS 5
/* A turn holds every message it read until its commit: stop reading at
   this many bytes, so large frames cannot multiply the memory a turn
   needs by max_batch. */
#define TURN_BYTES_MAX (8u << 20)
#define WAL_CHECK_EVERY_MS 100          /* how often the WAL's size is looked at */
#define WAL_CHECKPOINT_BYTES (4u << 20) /* and checkpointed from this size on */

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_reload;

void broker_request_stop(void)
{
    s_stop = 1;
}

void broker_request_reload(void)
{
    s_reload = 1;
}

/* One partner as the loop knows it. Invariant: routing is NULL exactly when
   the partner is not known to be connected in this broker run. */
typedef struct {
    char org[NAMES_ORG_MAX + 1]; /* the partner's org id */
    zframe_t *routing;           /* its current ROUTER routing id, owned */
    uint32_t inflight;           /* deliveries sent and not yet acknowledged */
    int64_t sent_upto;           /* highest delivery seq sent on this connection */
    bool dirty;                  /* has work to pump this turn */
    bool backlog;                /* pending deliveries may exist beyond sent_upto */
    int64_t progress_ms;         /* last ack, or when the first of those in flight left */
    int64_t heard_ms;            /* when it last sent anything */
    uint8_t curve_key[32];       /* the key it connected with (its certificate's) */
    uint64_t limited;            /* frames refused by its budget since last logged */
    int64_t limited_logged_ms;   /* when that was last logged */
    int64_t mismatch_audit_ms;   /* last org_mismatch audit record */
    int64_t hello_reset_ms;      /* last Hello that resent what was in flight */
    bool notices_due;            /* pending notices must be sent this turn */
    int64_t notice_upto;         /* highest notice seq sent on this connection */
    bool checkpoint_due;         /* send it the latest checkpoint this turn */
    uint64_t checkpoint_size;    /* largest checkpoint it holds (Hello, Cosignature) */
    double tokens;               /* rate limiter bucket */
    int64_t tokens_at_ms;        /* when the bucket was last filled */
    zhashx_t *sent;              /* hex signal id -> sent_t, on this connection */
    int64_t connected_ms;        /* when routing was set (broker status) */
} peer_t;

/* A delivery in flight, remembered so its ack needs no lookup in the store
   (the audit record of the ack names the signal's sender, type, purpose
   and subject). Forgotten on ack, disconnect or a failed turn. */
typedef struct {
    int64_t seq;
    queue_meta_t meta;
} sent_t;

typedef enum {
    REPLY_PLAIN,      /* sent whatever happens (Welcome, Heartbeat, Error) */
    REPLY_ACCEPTED,   /* becomes Denied{storage_unavailable} if the turn fails */
    REPLY_DENIED,     /* same on failure: the denial's audit record was lost */
    REPLY_WITHDRAWN,  /* becomes WithdrawResult{ok=false} if the turn fails */
    REPLY_DELIVER,    /* dropped if the turn fails (redelivered later) */
    REPLY_CHECKPOINT, /* dropped if the turn fails (its checkpoint was not stored) */
    REPLY_CASE,       /* becomes CaseResult{ok=false, storage_unavailable} if the turn fails */
} reply_kind_t;

typedef struct {
    zframe_t *routing;     /* where to send, owned */
    uint8_t *bytes;        /* packed Frame, owned (malloc) */
    size_t len;            /* its length */
    reply_kind_t kind;     /* what to do on a failed turn */
    uint8_t signal_id[16]; /* for rewriting on a failed turn */
} reply_t;

/* One message of the turn, read (and its signature check queued) before
   the turn handles the first one. */
typedef struct {
    zmsg_t *msg;
    const cert_t *cert;     /* the valid partner the CURVE key names; NULL if none */
    const cert_t *expired;  /* the partner the key names when its certificate is not valid now */
    Hartslag__Frame *frame; /* NULL if unreadable (why) or not read (no partner) */
    const char *why;        /* why the frame could not be read */
    int verify_job;         /* verifier job of a Submit, -1 if none */
} inbound_t;

struct broker_t {
    broker_config_t config;    /* copied; strings borrowed from the caller */
    char endpoint[256];        /* bound endpoint */
    auth_gate_t *gate;         /* ZAP handler: admits partners, reports refusals */
    auth_limit_t *auth_limit;  /* auth_failed records: one per key per minute */
    broker_control_t *control; /* local control socket (hartslag broker status) */
    int64_t started_ms;        /* when broker_new ran */
    zsock_t *router;           /* the one ROUTER socket */
    keyfile_t *keys;           /* broker CURVE + audit signing keys */
    partners_t *partners;      /* live partner table */
    agreements_t *agreements;  /* live agreements */
    char *agreements_file;     /* the bytes the start read them from, until recorded */
    size_t agreements_file_len;
    history_admission_t start_admission; /* the start's verdict on the file, for the first turn */
    agreements_t *start_refused;         /* the file refused at start, for its audit record */
    broker_store_t *store;               /* durable store (broker/store.h) */
    active_t *active;                    /* PostgreSQL: the store's lock; NULL for SQLite */
    char active_name[64];                /* this broker as the lock's holder: "host pid" */
    int64_t active_since_ms;             /* when it took the lock */
    bool lost_lock;                      /* it lost the lock: stop without a last turn */
    audit_log_t *audit;                  /* transparency log, in the store's database */
    match_t *match;                      /* blind multi-agency match index (DESIGN §10) */
    case_share_t case_share;             /* scratch: the decision on a share into a case */
    bool checkpoint_made;                /* this turn signed a new checkpoint */
    bool started;                        /* the first turn (startup audit) has run */
    int64_t next_checkpoint_ms;          /* when a checkpoint is due by time */
    zhashx_t *peers;                     /* org -> peer_t */
    reply_t *replies;                    /* answers of the current turn */
    size_t n_replies, cap_replies;
    bool turn_failed;       /* a store write failed this turn: fail closed */
    int64_t now_ms;         /* clock at the start of the turn */
    int64_t next_expiry_ms; /* next expiry scan */
    int64_t next_prune_ms;  /* next prune */
    int64_t next_purge_ms;  /* next audit retention purge */
    uint8_t *frame_buf;     /* scratch for packing deliveries and sealed signals */
    size_t frame_cap;
    verifier_t *verifier;     /* signature checks of the turn, ahead of the loop */
    arena_t arena;            /* the turn's unpacked frames, taken back after the turn */
    inbound_t *inbound;       /* the messages of the turn, read before any is handled */
    uint8_t (*submitted)[16]; /* the turn's submitted signal ids, for broker_store_prefetch */
    bool in_transaction;      /* a turn's transaction waits for the next turn's commit */
    int64_t transaction_ms;   /* when that transaction began */
};

/* ------------------------------------------------------------------------
   Small helpers */

static void s_hex(const uint8_t *bytes, size_t len, char *out, size_t outlen)
{
    if (outlen < len * 2 + 1 || !bytes) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    sodium_bin2hex(out, outlen, bytes, len);
}

static void s_sent_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

/* What a peer has in flight must be pending in the store: an ack of it is
   settled without asking (broker_store_settle_sent). */
static void s_sent_forget(peer_t *peer, const uint8_t id[16])
{
    char hex[33];
    s_hex(id, 16, hex, sizeof hex);
    zhashx_delete(peer->sent, hex);
}

static void s_peer_destroy(void **item)
{
    peer_t *peer = *item;
    if (peer) {
        zframe_destroy(&peer->routing);
        zhashx_destroy(&peer->sent);
        free(peer);
        *item = NULL;
    }
}

static peer_t *s_peer(broker_t *self, const char *org)
{
    peer_t *peer = zhashx_lookup(self->peers, org);
    if (!peer) {
        peer = calloc(1, sizeof *peer);
        if (!peer)
            return NULL;
        snprintf(peer->org, sizeof peer->org, "%s", org);
        peer->sent = zhashx_new();
        if (!peer->sent) {
            free(peer);
            return NULL;
        }
        zhashx_set_destructor(peer->sent, s_sent_destroy);
        peer->backlog = true;
        peer->tokens = self->config.rate_burst;
        peer->tokens_at_ms = self->now_ms;
        zhashx_insert(self->peers, org, peer);
    }
    return peer;
}

static void s_peer_disconnect(peer_t *peer)
{
    zframe_destroy(&peer->routing);
    peer->notice_upto = 0;
    peer->backlog = true;
    peer->inflight = 0;
    peer->sent_upto = 0;
    zhashx_purge(peer->sent);
}

/* Queues a packed frame for after the commit; takes ownership of bytes. */
static void s_reply(broker_t *self, zframe_t *routing, uint8_t *bytes, size_t len,
                    reply_kind_t kind, const uint8_t *signal_id)
{
    if (!bytes)
        return;
    if (self->n_replies == self->cap_replies) {
        size_t cap = self->cap_replies ? self->cap_replies * 2 : 256;
        reply_t *more = realloc(self->replies, cap * sizeof *more);
        if (!more) {
            free(bytes);
            return;
        }
        self->replies = more;
        self->cap_replies = cap;
    }
    reply_t *reply = &self->replies[self->n_replies++];
    reply->routing = zframe_dup(routing);
    reply->bytes = bytes;
    reply->len = len;
    reply->kind = kind;
    if (signal_id)
        memcpy(reply->signal_id, signal_id, 16);
    else
        memset(reply->signal_id, 0, 16);
}

/* Packs `frame` (version set here) and queues it. */
static void s_reply_frame(broker_t *self, zframe_t *routing, Hartslag__Frame *frame,
                          reply_kind_t kind, const uint8_t *signal_id)
{
    frame->version = WIRE_VERSION;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (wire_pack_frame(frame, &bytes, &len) == 0)
        s_reply(self, routing, bytes, len, kind, signal_id);
}

static void s_reply_error(broker_t *self, zframe_t *routing, const char *code, const char *detail)
{
    Hartslag__Error error = HARTSLAG__ERROR__INIT;
    error.code = (char *)code;
    error.detail = (char *)detail;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ERROR;
    frame.error = &error;
    s_reply_frame(self, routing, &frame, REPLY_PLAIN, NULL);
}

/* ------------------------------------------------------------------------
   Audit (metadata only: DESIGN §9) */

typedef struct {
    const char *event;        /* accepted, denied, delivered, ... */
    const char *actor;        /* authenticated org, or "broker" */
    const char *actor_user;   /* professional within actor, or NULL */
    const char *counterpart;  /* the other side, or NULL */
    const char *on_behalf_of; /* org the actor acted for, or NULL */
    const uint8_t *signal_id; /* 16 bytes, or NULL */
    const char *signal_type;  /* or NULL */
    const char *purpose;      /* or NULL */
    const uint8_t *subject;   /* 32 bytes, or NULL */
    char **fields;            /* field names, or NULL */
    size_t n_fields;
    const char *agreement_id;       /* the clause, or NULL */
    uint64_t agreements_version;    /* 0 = not set */
    const uint8_t *agreements_hash; /* SHA-256 of that version, or NULL */
    const char *legal_basis;        /* or NULL */
    const char *outcome;            /* "ok" or "refused" */
    const char *reason;             /* or NULL */
    uint32_t subject_key_version;   /* the pseudonym service key of `subject`; 0 = not stated */
    const uint8_t *case_id;         /* 16 bytes: a share into a case conference, or NULL */
    const uint8_t *case_item;       /* 16 bytes: the plan's action a case text is about, or NULL */
    const uint8_t *reshare_of;      /* 16 bytes: the earlier signal a re-share repeats, or NULL */
} audit_entry_t;

/* Appends a record built elsewhere (broker/cases.c) in the turn's
   transaction; its index or -1 (and the turn fails). */
static int64_t s_append(broker_t *self, Hartslag__AuditRecord *record)
{
    int64_t index = audit_log_append(self->audit, record);
    if (index < 0) {
        if (!self->turn_failed)
            log_event(HLOG_ERROR, "audit_write_failed", "error", broker_store_error(self->store),
                      "effect", "failing closed: nothing of this batch is accepted or delivered",
                      NULL);
        self->turn_failed = true;
    }
    return index;
}

/* Appends one record in the turn's transaction; returns its index or -1
   (and marks the turn failed: nothing of it will be announced). */
static int64_t s_audit(broker_t *self, const audit_entry_t *entry)
{
    Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
    record.time_ms = (uint64_t)self->now_ms;
    record.event = (char *)entry->event;
    record.actor_org = (char *)entry->actor;
    record.actor_user = (char *)entry->actor_user;
    record.counterpart_org = (char *)entry->counterpart;
    record.on_behalf_of = (char *)entry->on_behalf_of;
    if (entry->signal_id) {
        record.has_signal_id = 1;
        record.signal_id.data = (uint8_t *)entry->signal_id;
        record.signal_id.len = 16;
    }
    record.signal_type = (char *)entry->signal_type;
    record.purpose = (char *)entry->purpose;
    if (entry->subject) {
        record.has_subject = 1;
        record.subject.data = (uint8_t *)entry->subject;
        record.subject.len = 32;
    }
    if (entry->subject_key_version) {
        record.has_subject_key_version = 1;
        record.subject_key_version = entry->subject_key_version;
    }
    record.fields = entry->fields;
    record.n_fields = entry->n_fields;
    record.agreement_id = (char *)entry->agreement_id;
    if (entry->agreements_version) {
        record.has_agreements_version = 1;
        record.agreements_version = entry->agreements_version;
    }
    if (entry->agreements_hash) {
        record.has_agreements_hash = 1;
        record.agreements_hash.data = (uint8_t *)entry->agreements_hash;
        record.agreements_hash.len = AGREEMENTS_HASH_BYTES;
    }
    record.legal_basis = (char *)entry->legal_basis;
    record.outcome = (char *)(entry->outcome ? entry->outcome : "ok");
    record.reason = (char *)entry->reason;
    if (entry->case_id) {
        record.has_case_id = 1;
        record.case_id.data = (uint8_t *)entry->case_id;
        record.case_id.len = 16;
    }
    if (entry->case_item) {
        record.has_case_item = 1;
        record.case_item.data = (uint8_t *)entry->case_item;
        record.case_item.len = 16;
    }
    if (entry->reshare_of) {
        record.has_reshare_of = 1;
        record.reshare_of.data = (uint8_t *)entry->reshare_of;
        record.reshare_of.len = 16;
    }
    return s_append(self, &record);
}

/* ------------------------------------------------------------------------
   Denials */

typedef struct {
    const char *recipient; /* org */
    char reason[128];      /* e.g. field_not_allowed:adres */
} denial_t;

/* Audits and queues a Denied. `header` may be NULL when it was unreadable. */
/* `unread_id` names the signal when its header was refused unread (NULL
   when not even the id could be read); otherwise the header's id counts. */
static void s_deny_as(broker_t *self, peer_t *peer, zframe_t *routing,
                      const Hartslag__SignalHeader *header, const uint8_t *unread_id,
                      const char *reason, const denial_t *denials, size_t n_denials)
{
    const uint8_t *id = header && header->signal_id.len == 16 ? header->signal_id.data : unread_id;
    audit_entry_t entry = {
        .event = "denied",
        .actor = peer->org,
        .actor_user = header ? header->sender_user : NULL,
        .signal_id = id,
        .signal_type = header ? header->signal_type : NULL,
        .purpose = header ? header->purpose : NULL,
        .subject = header && header->subject.len == 32 ? header->subject.data : NULL,
        .subject_key_version =
            header && header->has_subject_key_version ? header->subject_key_version : 0,
        .fields = header ? header->fields : NULL,
        .n_fields = header ? header->n_fields : 0,
        .agreements_version = agreements_version(self->agreements),
        .agreements_hash = agreements_hash(self->agreements),
        .outcome = "refused",
        .reason = reason,
    };
    if (n_denials == 0)
        s_audit(self, &entry);
    for (size_t i = 0; i < n_denials; i++) {
        char full[200];
        snprintf(full, sizeof full, "%s:%s", reason, denials[i].reason);
        entry.counterpart = denials[i].recipient;
        entry.reason = full;
        s_audit(self, &entry);
    }
    char hex[33];
    s_hex(id, id ? 16 : 0, hex, sizeof hex);
    log_event(HLOG_INFO, "denied", "sender", peer->org, "id", id ? hex : "-", "reason", reason,
              NULL);

    Hartslag__RecipientDenial items[ENVELOPE_RECIPIENTS_MAX];
    Hartslag__RecipientDenial *item_ptrs[ENVELOPE_RECIPIENTS_MAX];
    size_t n = n_denials < ENVELOPE_RECIPIENTS_MAX ? n_denials : ENVELOPE_RECIPIENTS_MAX;
    for (size_t i = 0; i < n; i++) {
        hartslag__recipient_denial__init(&items[i]);
        items[i].recipient = (char *)denials[i].recipient;
        items[i].reason = (char *)denials[i].reason;
        item_ptrs[i] = &items[i];
    }
    Hartslag__Denied denied = HARTSLAG__DENIED__INIT;
    denied.signal_id.data = (uint8_t *)id;
    denied.signal_id.len = id ? 16 : 0;
    denied.reason = (char *)reason;
    denied.recipients = item_ptrs;
    denied.n_recipients = n;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_DENIED;
    frame.denied = &denied;
    s_reply_frame(self, routing, &frame, REPLY_DENIED, id);
}

static void s_deny(broker_t *self, peer_t *peer, zframe_t *routing,
                   const Hartslag__SignalHeader *header, const char *reason,
                   const denial_t *denials, size_t n_denials)
{
    s_deny_as(self, peer, routing, header, NULL, reason, denials, n_denials);
}

static void s_reply_accepted(broker_t *self, zframe_t *routing, const uint8_t *id,
                             int64_t accepted_at, int64_t audit_index)
{
    Hartslag__Accepted accepted = HARTSLAG__ACCEPTED__INIT;
    accepted.signal_id.data = (uint8_t *)id;
    accepted.signal_id.len = 16;
    accepted.accepted_at_ms = (uint64_t)accepted_at;
    accepted.audit_index = (uint64_t)audit_index;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ACCEPTED;
    frame.accepted = &accepted;
    s_reply_frame(self, routing, &frame, REPLY_ACCEPTED, id);
}

/* Token bucket: true when the partner may submit one more signal now. */
static bool s_rate_ok(broker_t *self, peer_t *peer)
{
    if (self->config.rate_limit == 0)
        return true;
    double elapsed = (double)(self->now_ms - peer->tokens_at_ms) / 1000.0;
    peer->tokens_at_ms = self->now_ms;
    peer->tokens += elapsed * self->config.rate_limit;
    if (peer->tokens > self->config.rate_burst)
        peer->tokens = self->config.rate_burst;
    if (peer->tokens < 1.0)
        return false;
    peer->tokens -= 1.0;
    return true;
}

/* One budget per partner for every frame that can make the broker write an
   audit record or answer with work, checked before anything is audited
   (issue 18 B6). Acknowledgements and heartbeats are outside it: an ack
   settles at most one delivery the broker chose to send, a heartbeat
   writes nothing. A refused Submit gets Denied{rate_limited} (the daemon
   submits it again later), anything else Error{rate_limited}; neither is
   audited, and the refusals are logged at most every 10 s per partner. */
static bool s_within_budget(broker_t *self, peer_t *peer, zframe_t *routing,
                            const Hartslag__Frame *frame)
{
    if ((frame && (frame->body_case == HARTSLAG__FRAME__BODY_DELIVERY_ACK ||
                   frame->body_case == HARTSLAG__FRAME__BODY_HEARTBEAT)) ||
        s_rate_ok(self, peer))
        return true;
    peer->limited++;
    if (peer->limited_logged_ms == 0 ||
        self->now_ms - peer->limited_logged_ms >= LIMIT_LOG_EVERY_MS) {
        char count[24];
        snprintf(count, sizeof count, "%llu", (unsigned long long)peer->limited);
        log_event(HLOG_WARN, "rate_limited", "org", peer->org, "refused", count, NULL);
        peer->limited_logged_ms = self->now_ms;
        peer->limited = 0;
    }
    if (frame && frame->body_case == HARTSLAG__FRAME__BODY_SUBMIT) {
        uint8_t id[16];
        const Hartslag__SealedSignal *sealed = frame->submit ? frame->submit->signal : NULL;
        bool readable = sealed && sealed->header.data &&
                        wire_peek_signal_id(sealed->header.data, sealed->header.len, id) == 0;
        Hartslag__Denied denied = HARTSLAG__DENIED__INIT;
        denied.signal_id.data = readable ? id : NULL;
        denied.signal_id.len = readable ? 16 : 0;
        denied.reason = "rate_limited";
        Hartslag__Frame reply = HARTSLAG__FRAME__INIT;
        reply.body_case = HARTSLAG__FRAME__BODY_DENIED;
        reply.denied = &denied;
        s_reply_frame(self, routing, &reply, REPLY_PLAIN, NULL);
    } else
        s_reply_error(self, routing, "rate_limited",
                      "too many messages from your organisation; slow down");
    return false;
}

/* A delivery being handed to one partner (see s_pump_one). */
typedef struct {
    broker_t *self;
    peer_t *peer;
} pump_ctx_t;

static int s_pump_one(void *arg, int64_t seq, const uint8_t id[16], const queue_meta_t *meta,
                      const uint8_t *sealed, size_t sealed_len, int64_t accepted_at_ms);

/* ------------------------------------------------------------------------
   Alerts (DESIGN §10) */

/* Packs the Alert frame for `alert` in `state` ("open" or "handled"). */
static int s_alert_frame(broker_t *self, const match_alert_t *alert, const char *state,
                         const char *lead, const Hartslag__AlertAck *ack, uint8_t **bytes,
                         size_t *len)
{
    Hartslag__AlertParticipant items[MATCH_PARTICIPANTS_MAX];
    Hartslag__AlertParticipant *item_ptrs[MATCH_PARTICIPANTS_MAX];
    char *types[MATCH_PARTICIPANTS_MAX][MATCH_TYPES_MAX];
    ProtobufCBinaryData ids[MATCH_PARTICIPANTS_MAX][MATCH_IDS_MAX];
    for (size_t i = 0; i < alert->n_participants; i++) {
        const match_participant_t *p = &alert->participants[i];
        const cert_t *cert = partners_by_org(self->partners, p->org);
        hartslag__alert_participant__init(&items[i]);
        items[i].org = (char *)p->org;
        items[i].contact = cert ? (char *)cert->contact : "-";
        for (size_t t = 0; t < p->n_types; t++)
            types[i][t] = (char *)p->types[t];
        items[i].signal_types = types[i];
        items[i].n_signal_types = p->n_types;
        items[i].first_at_ms = (uint64_t)p->first_ms;
        items[i].last_at_ms = (uint64_t)p->last_ms;
        for (size_t k = 0; k < p->n_ids; k++) {
            ids[i][k].data = (uint8_t *)p->ids[k];
            ids[i][k].len = 16;
        }
        items[i].signal_ids = ids[i];
        items[i].n_signal_ids = p->n_ids;
        item_ptrs[i] = &items[i];
    }
    Hartslag__Alert message = HARTSLAG__ALERT__INIT;
    message.alert_id.data = (uint8_t *)alert->alert_id;
    message.alert_id.len = 16;
    message.rule_id = (char *)alert->rule->id;
    message.subject.data = (uint8_t *)alert->subject;
    message.subject.len = 32;
    message.participants = item_ptrs;
    message.n_participants = alert->n_participants;
    message.legal_basis = (char *)alert->rule->legal_basis;
    message.raised_at_ms = (uint64_t)alert->raised_ms;
    message.state = (char *)state;
    message.lead_org = (char *)lead;
    if (ack) { /* the coordinator's signature, passed on unchanged */
        message.has_handled_signed_at_ms = 1;
        message.handled_signed_at_ms = ack->signed_at_ms;
        message.has_handled_signature = 1;
        message.handled_signature = ack->signature;
    }
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT;
    frame.alert = &message;
    return wire_pack_frame(&frame, bytes, len);
}

/* The partners an alert goes to: the rule's `notify`, and with
   `notify_senders` the partners in the match. Only live partners; each
   once. Returns the count. */
static size_t s_alert_recipients(broker_t *self, const match_alert_t *alert, const char **out)
{
    size_t n = 0;
    const agreements_alert_rule_t *rule = alert->rule;
    size_t candidates = rule->notify_count + (rule->notify_senders ? alert->n_participants : 0);
    for (size_t i = 0; i < candidates && n < MATCH_PARTICIPANTS_MAX + 8; i++) {
        const char *org = i < rule->notify_count ? rule->notify[i]
                                                 : alert->participants[i - rule->notify_count].org;
        const cert_t *cert = partners_by_org(self->partners, org);
        if (!cert || !cert_valid_at(cert, self->now_ms))
            continue;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k], org) == 0;
        if (!seen)
            out[n++] = org;
    }
    return n;
}

/* Sends (durably, as notices) and audits an alert or its update. */
static void s_alert_out(broker_t *self, const match_alert_t *alert, const char *event,
                        const char *actor, const char *state, const char *lead,
                        const Hartslag__AlertAck *ack)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (s_alert_frame(self, alert, state, lead, ack, &bytes, &len) != 0) {
        self->turn_failed = true;
        return;
    }
    const char *recipients[MATCH_PARTICIPANTS_MAX + 8];
    size_t n = s_alert_recipients(self, alert, recipients);
    char reason[96];
    snprintf(reason, sizeof reason, "%s%s", lead ? "lead:" : "joined:",
             lead            ? lead
             : alert->joined ? alert->joined
                             : "-");
    for (size_t i = 0; i < n; i++) {
        audit_entry_t entry = {
            .event = event,
            .actor = actor,
            .counterpart = recipients[i],
            .signal_id = alert->alert_id,
            .subject = alert->subject,
            .agreement_id = alert->rule->id,
            .agreements_version = agreements_version(self->agreements),
            .agreements_hash = agreements_hash(self->agreements),
            .legal_basis = alert->rule->legal_basis,
            .outcome = "ok",
            .reason = reason,
        };
        s_audit(self, &entry);
        if (broker_store_notice_add(self->store, recipients[i], NOTICE_ALERT, alert->alert_id,
                                    bytes, len) != 0)
            self->turn_failed = true;
        peer_t *peer = s_peer(self, recipients[i]);
        if (peer)
            peer->notices_due = true;
    }
    free(bytes);
    char hex[33], count[12], targets[12];
    s_hex(alert->alert_id, 16, hex, sizeof hex);
    snprintf(count, sizeof count, "%zu", alert->n_participants);
    snprintf(targets, sizeof targets, "%zu", n);
    log_event(HLOG_INFO, event, "alert", hex, "rule", alert->rule->id, "participants", count,
              "recipients", targets, NULL);
}

static void s_raise_alert(void *arg, const match_alert_t *alert)
{
    s_alert_out(arg, alert, "alert", "broker", "open", NULL, NULL);
}

/* Tells the coordinator the verdict on its AlertAck (AlertAckResult). A
   success is dropped if the turn fails (like a checkpoint: nothing was
   stored); the daemon then reports that no verdict came. */
static void s_alert_ack_result(broker_t *self, zframe_t *routing, const uint8_t *alert_id,
                               const char *refused)
{
    Hartslag__AlertAckResult result = HARTSLAG__ALERT_ACK_RESULT__INIT;
    result.alert_id.data = (uint8_t *)alert_id;
    result.alert_id.len = 16;
    result.ok = refused == NULL;
    result.reason = (char *)refused;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT_ACK_RESULT;
    frame.alert_ack_result = &result;
    s_reply_frame(self, routing, &frame, refused ? REPLY_PLAIN : REPLY_CHECKPOINT, NULL);
}

/* The coordinator marks a match handled and names the partner that leads. */
static void s_on_alert_ack(broker_t *self, peer_t *peer, zframe_t *routing, Hartslag__AlertAck *ack)
{
    const char *coordinator = agreements_coordinator(self->agreements);
    if (!coordinator || strcmp(coordinator, peer->org) != 0) {
        s_reply_error(self, routing, "not_coordinator", "only the coordinator handles alerts");
        return;
    }
    if (ack->alert_id.len != 16 || !names_is_org(ack->lead_org)) {
        s_reply_error(self, routing, "malformed", "alert ack needs a 16-byte id and a lead org");
        return;
    }
    /* The partners will check the coordinator's signature; refuse a bad
       one here already, so the coordinator hears it at once. */
    const cert_t *cert = partners_by_org(self->partners, peer->org);
    if (!cert || instruction_alert_ack_verify(ack, cert->sign_key) != 0) {
        s_alert_ack_result(self, routing, ack->alert_id.data, "bad_signature");
        return;
    }
    match_alert_t *alert = calloc(1, sizeof *alert);
    if (!alert)
        return;
    int found =
        match_lookup(self->match, self->agreements, ack->alert_id.data, self->now_ms, alert);
    bool lead_ok = strcmp(ack->lead_org, coordinator) == 0;
    for (size_t i = 0; found == 1 && i < alert->n_participants && !lead_ok; i++)
        lead_ok = strcmp(alert->participants[i].org, ack->lead_org) == 0;
    if (found < 0)
        self->turn_failed = true;
    else if (found == 0)
        s_alert_ack_result(self, routing, ack->alert_id.data, "unknown_alert");
    else if (!lead_ok)
        s_alert_ack_result(self, routing, ack->alert_id.data, "lead_not_in_match");
    else if (match_mark_handled(self->match, ack->alert_id.data, ack->lead_org, self->now_ms) != 0)
        self->turn_failed = true;
    else {
        s_alert_out(self, alert, "alert_handled", peer->org, "handled", ack->lead_org, ack);
        s_alert_ack_result(self, routing, ack->alert_id.data, NULL);
    }
    free(alert);
}

/* ------------------------------------------------------------------------
   Submit */

/* Verified exactly once: by a worker when `in` queued the check with this
   very key, here otherwise. */
/* ------------------------------------------------------------------------
   Case conferences (issue 15, broker/cases.h) */

static int64_t s_case_audit(void *arg, Hartslag__AuditRecord *record)
{
    return s_append(arg, record);
}

static void s_case_notify(void *arg, const char *org)
{
    peer_t *peer = s_peer(arg, org);
    if (peer)
        peer->notices_due = true;
}

static void s_cases_ctx(broker_t *self, cases_ctx_t *ctx)
{
    *ctx = (cases_ctx_t){
        .store = self->store,
        .agreements = self->agreements,
        .partners = self->partners,
        .now_ms = self->now_ms,
        .clock_skew_ms = (int64_t)self->config.clock_skew_s * 1000,
        .max_age_ms = (int64_t)self->config.max_submit_age_s * 1000,
        .audit = s_case_audit,
        .notify = s_case_notify,
        .arg = self,
    };
}

/* A step in a case: decided and recorded in this turn, answered after the
   commit (or with storage_unavailable when it fails). */
static void s_on_case_request(broker_t *self, peer_t *peer, zframe_t *routing,
                              Hartslag__CaseRequest *request)
{
    cases_ctx_t ctx;
    s_cases_ctx(self, &ctx);
    case_verdict_t verdict;
    if (cases_take(&ctx, peer->org, request->action, &verdict) != 0)
        self->turn_failed = true;
    Hartslag__CaseResult result = HARTSLAG__CASE_RESULT__INIT;
    result.action_id.data = verdict.has_action_id ? verdict.action_id : NULL;
    result.action_id.len = verdict.has_action_id ? 16 : 0;
    result.ok = verdict.ok;
    if (verdict.ok) {
        result.has_audit_index = result.has_at_ms = 1;
        result.audit_index = (uint64_t)verdict.audit_index;
        result.at_ms = (uint64_t)verdict.at_ms;
    } else
        result.reason = verdict.reason[0] ? verdict.reason : "storage_unavailable";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_CASE_RESULT;
    frame.case_result = &result;
    /* Without a readable id there is nothing to rewrite on failure. */
    s_reply_frame(self, routing, &frame, verdict.has_action_id ? REPLY_CASE : REPLY_PLAIN,
                  verdict.has_action_id ? verdict.action_id : NULL);
}

static envelope_error_t s_check_signature(broker_t *self, const inbound_t *in,
                                          const Hartslag__SealedSignal *sealed,
                                          const cert_t *sender_cert)
{
    if (in->verify_job >= 0 && in->cert == sender_cert)
        return verifier_result(self->verifier, in->verify_job);
    return envelope_verify(sealed, sender_cert->sign_key);
}

static void s_on_submit(broker_t *self, peer_t *peer, zframe_t *routing, const inbound_t *in,
                        Hartslag__Submit *submit)
{
    Hartslag__SealedSignal *sealed = submit->signal;
    Hartslag__SignalHeader *header = NULL;
    const char *why = NULL;
    char reason[96];
    if (!sealed || !sealed->header.data ||
        wire_check_header(sealed->header.data, sealed->header.len, &header, &why) != 0) {
        snprintf(reason, sizeof reason, "bad_header:%s", why ? why : "missing");
        uint8_t unread_id[16];
        bool readable =
            sealed && sealed->header.data &&
            wire_peek_signal_id(sealed->header.data, sealed->header.len, unread_id) == 0;
        s_deny_as(self, peer, routing, NULL, readable ? unread_id : NULL, reason, NULL, 0);
        return;
    }
    const uint8_t *id = header->signal_id.data;
    audit_entry_t submitted = {
        .event = "submitted",
        .actor = peer->org,
        .actor_user = header->sender_user,
        .signal_id = id,
        .signal_type = header->signal_type,
        .purpose = header->purpose,
        .subject = header->subject.data,
        .subject_key_version = header->has_subject_key_version ? header->subject_key_version : 0,
        .fields = header->fields,
        .n_fields = header->n_fields,
        .agreements_version = header->agreements_version,
        .outcome = "ok",
    };
    s_audit(self, &submitted);
    if (wire_check_sealed(sealed, header, &why) != 0) {
        snprintf(reason, sizeof reason, "bad_signal:%s", why);
        s_deny(self, peer, routing, header, reason, NULL, 0);
        goto done;
    }
    if (strcmp(header->sender, peer->org) != 0) {
        s_deny(self, peer, routing, header, "sender_mismatch", NULL, 0);
        goto done;
    }
    if ((int64_t)header->valid_until_ms <= self->now_ms) {
        s_deny(self, peer, routing, header, "lapsed", NULL, 0);
        goto done;
    }
    if ((int64_t)header->created_at_ms > self->now_ms + (int64_t)self->config.clock_skew_s * 1000) {
        s_deny(self, peer, routing, header, "clock_skew", NULL, 0);
        goto done;
    }
    /* A signal sealed longer ago than a daemon may reasonably have been
       offline is backdated: its creation time would move the recipient's
       clocks (issue 18 A5). */
    if ((int64_t)header->created_at_ms < self->now_ms - (int64_t)self->config.clock_skew_s * 1000 -
                                             (int64_t)self->config.max_submit_age_s * 1000) {
        s_deny(self, peer, routing, header, "backdated", NULL, 0);
        goto done;
    }

    /* The sealed signal as stored and delivered: packed once, canonical. */
    size_t sealed_len = hartslag__sealed_signal__get_packed_size(sealed);
    if (sealed_len > self->frame_cap) {
        s_deny(self, peer, routing, header, "too_large", NULL, 0);
        goto done;
    }
    uint8_t *packed = self->frame_buf;
    hartslag__sealed_signal__pack(sealed, packed);
    uint8_t digest[QUEUE_DIGEST_BYTES];
    crypto_generichash(digest, sizeof digest, packed, sealed_len, NULL, 0);

    queue_signal_t known;
    int found = broker_store_find_signal(self->store, id, &known);
    if (found < 0) {
        self->turn_failed = true;
        s_deny(self, peer, routing, header, "storage_unavailable", NULL, 0);
        goto done;
    }
    if (found == 1) {
        if (strcmp(known.meta.sender, peer->org) == 0 &&
            sodium_memcmp(known.digest, digest, sizeof digest) == 0) {
            char hex[33];
            s_hex(id, 16, hex, sizeof hex);
            log_event(HLOG_INFO, "replay_accepted", "sender", peer->org, "id", hex, NULL);
            s_reply_accepted(self, routing, id, known.accepted_at_ms, known.audit_index);
        } else
            s_deny(self, peer, routing, header, "duplicate_signal_id", NULL, 0);
        goto done;
    }

    /* Recipients must be live partners (the agreements may list more). */
    denial_t denials[ENVELOPE_RECIPIENTS_MAX];
    size_t n_denials = 0;
    for (size_t i = 0; i < header->n_recipients; i++) {
        const cert_t *cert = partners_by_org(self->partners, header->recipients[i]);
        denials[i].recipient = header->recipients[i];
        snprintf(denials[i].reason, sizeof denials[i].reason, "%s",
                 cert && cert_valid_at(cert, self->now_ms) ? "allowed" : "unknown_recipient");
        if (!cert || !cert_valid_at(cert, self->now_ms))
            n_denials++;
    }
    if (n_denials > 0) {
        s_deny(self, peer, routing, header, "unknown_recipient", denials, header->n_recipients);
        goto done;
    }
    const cert_t *sender_cert = partners_by_org(self->partners, peer->org);
    if (!sender_cert || s_check_signature(self, in, sealed, sender_cert) != ENVELOPE_OK) {
        s_deny(self, peer, routing, header, "bad_signature", NULL, 0);
        goto done;
    }

    agreements_str_t recipients[ENVELOPE_RECIPIENTS_MAX], fields[WIRE_FIELDS_MAX];
    for (size_t i = 0; i < header->n_recipients; i++)
        recipients[i] = agreements_str(header->recipients[i]);
    for (size_t i = 0; i < header->n_fields; i++)
        fields[i] = agreements_str(header->fields[i]);
    agreements_request_t request = {
        .sender = agreements_str(header->sender),
        .recipients = recipients,
        .recipient_count = header->n_recipients,
        .signal_type = agreements_str(header->signal_type),
        .purpose = agreements_str(header->purpose),
        .fields = fields,
        .field_count = header->n_fields,
        .at_ms = self->now_ms,
    };
    agreements_decision_t decision;
    /* A share into a case conference is decided by the case (its rule, its
       participants now), not by `agreements:` (broker/cases.h). */
    bool in_case = header->has_case_id;
    case_share_t *share = in_case ? &self->case_share : NULL;
    if (in_case) {
        cases_ctx_t cases;
        s_cases_ctx(self, &cases);
        if (cases_share(&cases, peer->org, header, share) != 0) {
            self->turn_failed = true;
            s_deny(self, peer, routing, header, "storage_unavailable", NULL, 0);
            goto done;
        }
        if (!share->allowed) {
            for (size_t i = 0; i < header->n_recipients; i++) {
                denials[i].recipient = header->recipients[i];
                snprintf(denials[i].reason, sizeof denials[i].reason, "%s",
                         share->recipient_reason[i]);
            }
            s_deny(self, peer, routing, header, share->reason, denials, header->n_recipients);
            goto done;
        }
    } else if (agreements_evaluate(self->agreements, &request, &decision) != 0 ||
               !decision.allowed) {
        for (size_t i = 0; i < decision.count; i++) {
            denials[i].recipient = header->recipients[i];
            if (decision.recipients[i].reason == AGREEMENTS_ALLOWED)
                snprintf(denials[i].reason, sizeof denials[i].reason, "allowed");
            else
                agreements_verdict_reason(&decision.recipients[i], denials[i].reason,
                                          sizeof denials[i].reason);
        }
        s_deny(self, peer, routing, header, "agreement", denials, decision.count);
        goto done;
    }

    /* Allowed: audit, store, deliveries, then (after the commit) Accepted. */
    queue_meta_t meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.sender, sizeof meta.sender, "%s", header->sender);
    snprintf(meta.signal_type, sizeof meta.signal_type, "%s", header->signal_type);
    snprintf(meta.purpose, sizeof meta.purpose, "%s", header->purpose);
    memcpy(meta.subject, header->subject.data, 32);
    int64_t first_index = -1;
    for (size_t i = 0; i < header->n_recipients; i++) {
        const agreements_agreement_t *clause = in_case ? NULL : decision.recipients[i].agreement;
        audit_entry_t entry = {
            .event = in_case ? "case_shared" : "accepted",
            .actor = peer->org,
            .actor_user = header->sender_user,
            .counterpart = header->recipients[i],
            .signal_id = id,
            .signal_type = header->signal_type,
            .purpose = header->purpose,
            .subject = header->subject.data,
            .subject_key_version =
                header->has_subject_key_version ? header->subject_key_version : 0,
            .fields = header->fields,
            .n_fields = header->n_fields,
            .agreement_id = in_case  ? share->kind
                            : clause ? clause->id
                                     : NULL,
            .agreements_version = in_case ? agreements_version(self->agreements) : decision.version,
            .agreements_hash = agreements_hash(self->agreements),
            .legal_basis = in_case  ? share->rule->legal_basis
                           : clause ? clause->legal_basis
                                    : NULL,
            .outcome = "ok",
            .case_id = in_case ? header->case_id.data : NULL,
            .case_item = header->has_case_item ? header->case_item.data : NULL,
            .reshare_of = header->has_reshare_of ? header->reshare_of.data : NULL,
        };
        int64_t index = s_audit(self, &entry);
        if (first_index < 0)
            first_index = index;
    }
    if (broker_store_insert_signal(self->store, id, &meta, digest, packed, sealed_len, self->now_ms,
                                   (int64_t)header->valid_until_ms, first_index) != 0)
        self->turn_failed = true;
    for (size_t i = 0; i < header->n_recipients && !self->turn_failed; i++) {
        const agreements_agreement_t *clause = in_case ? NULL : decision.recipients[i].agreement;
        /* A share waits for an offline participant no longer than the case
           may stay open. */
        int64_t days = in_case ? share->rule->max_open_days : clause ? clause->max_queue_days : 1;
        int64_t expires = self->now_ms + days * DAY_MS;
        int64_t seq = broker_store_insert_delivery(self->store, id, header->recipients[i], expires);
        if (seq < 0)
            self->turn_failed = true;
        peer_t *recipient = s_peer(self, header->recipients[i]);
        if (!recipient)
            continue;
        /* A connected recipient with nothing older waiting gets it straight
           from the bytes in hand, not read back from the store. */
        if (seq >= 0 && recipient->routing && !recipient->backlog &&
            recipient->inflight < self->config.delivery_window) {
            pump_ctx_t ctx = {self, recipient};
            if (s_pump_one(&ctx, seq, id, &meta, packed, sealed_len, self->now_ms) != 0)
                recipient->dirty = recipient->backlog = true;
        } else {
            /* It waits in the store: anything newer must wait behind it. */
            recipient->dirty = true;
            recipient->backlog = true;
        }
    }
    char hex[33];
    s_hex(id, 16, hex, sizeof hex);
    /* What is said in a case conference is not a new signal about the
       subject: it does not count towards an alert. */
    if (!self->turn_failed && !in_case &&
        match_signal(self->match, self->agreements, id, header->subject.data, peer->org,
                     header->signal_type, self->now_ms, (int64_t)header->valid_until_ms,
                     s_raise_alert, self) != 0)
        self->turn_failed = true;
    char n_rec[12];
    snprintf(n_rec, sizeof n_rec, "%zu", header->n_recipients);
    log_event(HLOG_INFO, "accepted", "sender", peer->org, "id", hex, "type", header->signal_type,
              "recipients", n_rec, NULL);
    s_reply_accepted(self, routing, id, self->now_ms, first_index);
done:
    hartslag__signal_header__free_unpacked(header, NULL);
}

/* ------------------------------------------------------------------------
   Acks, withdrawals, hello */

/* Queues, for the signal's sender, what `recipient` did with it (issue 13
   B5). The notice id is derived from signal and recipient so that the
   notice table holds one per pair and the sender can acknowledge it. */
static void s_outcome_notice(broker_t *self, const queue_meta_t *meta, const uint8_t id[16],
                             const char *recipient, bool stored, const char *reason)
{
    static const char tag[] = "hartslag/outcome-notice/v1";
    uint8_t notice_id[16];
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, sizeof notice_id);
    crypto_generichash_update(&state, (const uint8_t *)tag, sizeof tag);
    crypto_generichash_update(&state, id, 16);
    crypto_generichash_update(&state, (const uint8_t *)recipient, strlen(recipient) + 1);
    crypto_generichash_final(&state, notice_id, sizeof notice_id);
    Hartslag__DeliveryOutcome outcome = HARTSLAG__DELIVERY_OUTCOME__INIT;
    outcome.signal_id.data = (uint8_t *)id;
    outcome.signal_id.len = 16;
    outcome.recipient = (char *)recipient;
    outcome.stored = stored;
    outcome.reason = stored ? NULL : (char *)reason;
    outcome.at_ms = (uint64_t)self->now_ms;
    outcome.notice_id.data = notice_id;
    outcome.notice_id.len = sizeof notice_id;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVERY_OUTCOME;
    frame.delivery_outcome = &outcome;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (wire_pack_frame(&frame, &bytes, &len) != 0) {
        self->turn_failed = true;
        return;
    }
    if (broker_store_notice_add(self->store, meta->sender, NOTICE_OUTCOME, notice_id, bytes, len) !=
        0)
        self->turn_failed = true;
    free(bytes);
    peer_t *sender = s_peer(self, meta->sender);
    if (sender)
        sender->notices_due = true;
}

static void s_on_ack(broker_t *self, peer_t *peer, zframe_t *routing, Hartslag__DeliveryAck *ack)
{
    if (ack->signal_id.len != 16) {
        s_reply_error(self, routing, "malformed", "signal_id must be 16 bytes");
        return;
    }
    bool stored = ack->status == HARTSLAG__ACK_STATUS__ACK_STORED;
    const char *reason = NULL;
    if (!stored)
        reason = ack->reason && names_is_token(ack->reason) ? ack->reason : "unspecified";
    delivery_state_t settled = stored ? DELIVERY_ACKED : DELIVERY_REJECTED;
    queue_signal_t known;
    int changed;
    char hex[33];
    s_hex(ack->signal_id.data, 16, hex, sizeof hex);
    sent_t *sent = zhashx_lookup(peer->sent, hex);
    if (sent) {
        known.meta = sent->meta;
        /* In `sent` means pending: whatever else settles a delivery
           (expiry, withdrawal) takes it out of `sent` too. */
        changed = broker_store_settle_sent(self->store, sent->seq, ack->signal_id.data, peer->org,
                                           settled);
        zhashx_delete(peer->sent, hex);
    } else {
        int found = broker_store_find_signal(self->store, ack->signal_id.data, &known);
        if (found == 0) {
            /* Not a signal: the daemon confirms it stored an alert, a
               delivery outcome or a case step (whose notice id it
               acknowledges). */
            if (broker_store_notice_remove(self->store, peer->org, NOTICE_ALERT,
                                           ack->signal_id.data) != 0 ||
                broker_store_notice_remove(self->store, peer->org, NOTICE_OUTCOME,
                                           ack->signal_id.data) != 0 ||
                broker_store_notice_remove(self->store, peer->org, NOTICE_CASE,
                                           ack->signal_id.data) != 0)
                self->turn_failed = true;
            return;
        }
        changed = found == 1
                      ? broker_store_settle(self->store, ack->signal_id.data, peer->org, settled)
                      : found;
    }
    if (changed < 0) {
        self->turn_failed = true;
        return;
    }
    if (peer->inflight > 0)
        peer->inflight--;
    peer->progress_ms = self->now_ms;
    if (peer->backlog)
        peer->dirty = true; /* room in the window for what waits in the store */
    if (changed == 0)
        return; /* a duplicate or late ack: already settled */
    /* The recipient's answer is the proof of the hand-over: one `delivered`
       per signal and recipient, timed when it was certainly in the
       recipient's hands. */
    audit_entry_t handed = {
        .event = "delivered",
        .actor = "broker",
        .counterpart = peer->org,
        .on_behalf_of = known.meta.sender,
        .signal_id = ack->signal_id.data,
        .signal_type = known.meta.signal_type,
        .purpose = known.meta.purpose,
        .subject = known.meta.subject,
        .outcome = "ok",
    };
    int64_t handed_index = s_audit(self, &handed);
    if (handed_index >= 0 &&
        broker_store_delivered_set(self->store, ack->signal_id.data, peer->org, handed_index) != 0)
        self->turn_failed = true;
    audit_entry_t entry = {
        .event = stored ? "acked" : "rejected_by_recipient",
        .actor = peer->org,
        .counterpart = known.meta.sender,
        .signal_id = ack->signal_id.data,
        .signal_type = known.meta.signal_type,
        .purpose = known.meta.purpose,
        .subject = known.meta.subject,
        .outcome = stored ? "ok" : "refused",
        .reason = reason,
    };
    s_audit(self, &entry);
    s_outcome_notice(self, &known.meta, ack->signal_id.data, peer->org, stored, reason);
    if (!stored) {
        log_event(HLOG_WARN, "rejected_by_recipient", "recipient", peer->org, "id", hex, "reason",
                  reason, NULL);
    }
}

typedef struct {
    broker_t *self;
    const uint8_t *id;
    const queue_signal_t *known;
    const char *reason;
    const uint8_t *frame;
    size_t len;
} withdraw_ctx_t;

static void s_withdraw_recipient(void *arg, const char *recipient)
{
    withdraw_ctx_t *ctx = arg;
    broker_t *self = ctx->self;
    if (broker_store_notice_add(self->store, recipient, NOTICE_WITHDRAW, ctx->id, ctx->frame,
                                ctx->len) != 0)
        self->turn_failed = true;
    audit_entry_t entry = {
        .event = "withdrawn",
        .actor = ctx->known->meta.sender,
        .counterpart = recipient,
        .signal_id = ctx->id,
        .signal_type = ctx->known->meta.signal_type,
        .purpose = ctx->known->meta.purpose,
        .subject = ctx->known->meta.subject,
        .outcome = "ok",
        .reason = ctx->reason,
    };
    s_audit(self, &entry);
    peer_t *peer = s_peer(self, recipient);
    if (peer) {
        peer->notices_due = true;
        s_sent_forget(peer, ctx->id); /* cancelled: an ack now settles nothing */
    }
}

static void s_reply_withdraw_result(broker_t *self, zframe_t *routing, const uint8_t *id, bool ok,
                                    const char *reason)
{
    Hartslag__WithdrawResult result = HARTSLAG__WITHDRAW_RESULT__INIT;
    result.signal_id.data = (uint8_t *)id;
    result.signal_id.len = 16;
    result.ok = ok;
    result.reason = (char *)reason;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
    frame.withdraw_result = &result;
    s_reply_frame(self, routing, &frame, ok ? REPLY_WITHDRAWN : REPLY_PLAIN, id);
}

static void s_on_withdraw(broker_t *self, peer_t *peer, zframe_t *routing,
                          Hartslag__Withdraw *withdraw)
{
    if (withdraw->signal_id.len != 16 || !names_is_token(withdraw->reason)) {
        s_reply_error(self, routing, "malformed", "withdraw needs a 16-byte id and a reason token");
        return;
    }
    const uint8_t *id = withdraw->signal_id.data;
    queue_signal_t known;
    int found = broker_store_find_signal(self->store, id, &known);
    if (found < 0) {
        self->turn_failed = true;
        s_reply_withdraw_result(self, routing, id, false, "storage_unavailable");
        return;
    }
    if (found == 0 || strcmp(known.meta.sender, peer->org) != 0) {
        s_reply_withdraw_result(self, routing, id, false, found ? "not_sender" : "unknown_signal");
        return;
    }
    /* The recipients delete on the sender's signature, not on our word:
       check it here too, so a bad one is refused at once. */
    const cert_t *cert = partners_by_org(self->partners, peer->org);
    if (!cert || instruction_withdraw_verify(withdraw, cert->sign_key) != 0) {
        s_reply_withdraw_result(self, routing, id, false, "bad_signature");
        return;
    }
    if (!known.withdrawn) {
        withdraw->sender = peer->org; /* whose key the recipients check */
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.version = WIRE_VERSION;
        frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
        frame.withdraw = withdraw;
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (wire_pack_frame(&frame, &bytes, &len) != 0) {
            s_reply_withdraw_result(self, routing, id, false, "internal");
            return;
        }
        if (match_withdraw(self->match, id, known.meta.subject) != 0)
            self->turn_failed = true;
        withdraw_ctx_t ctx = {self, id, &known, withdraw->reason, bytes, len};
        if (broker_store_withdraw(self->store, id, s_withdraw_recipient, &ctx) != 0)
            self->turn_failed = true;
        free(bytes);
        char hex[33];
        s_hex(id, 16, hex, sizeof hex);
        log_event(HLOG_INFO, "withdrawn", "sender", peer->org, "id", hex, "reason",
                  withdraw->reason, NULL);
    }
    s_reply_withdraw_result(self, routing, id, true, NULL);
}

static void s_on_withdraw_result(broker_t *self, peer_t *peer, Hartslag__WithdrawResult *result)
{
    if (result->signal_id.len != 16)
        return;
    if (!result->ok) {
        /* A recipient refused it (its signature did not verify there):
           sending it again would not change that. */
        char hex[33];
        s_hex(result->signal_id.data, 16, hex, sizeof hex);
        log_event(HLOG_WARN, "withdraw_refused_by_recipient", "recipient", peer->org, "id", hex,
                  "reason",
                  result->reason && names_is_token(result->reason) ? result->reason : "unspecified",
                  NULL);
    }
    if (broker_store_notice_remove(self->store, peer->org, NOTICE_WITHDRAW,
                                   result->signal_id.data) != 0)
        self->turn_failed = true;
}

/* Tells `peer` who it is to us and which agreements version (number and
   hash) is in force: the answer to a Hello, and again to every connected
   partner after a reload changed the version, so that each daemon's status
   shows what the broker enforces now (issue 14 item 1). */
static void s_welcome(broker_t *self, peer_t *peer, zframe_t *routing)
{
    Hartslag__Welcome welcome = HARTSLAG__WELCOME__INIT;
    welcome.org = peer->org;
    welcome.agreements_version = agreements_version(self->agreements);
    welcome.server_time_ms = (uint64_t)self->now_ms;
    welcome.has_agreements_hash = 1;
    welcome.agreements_hash.data = (uint8_t *)agreements_hash(self->agreements);
    welcome.agreements_hash.len = AGREEMENTS_HASH_BYTES;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_WELCOME;
    frame.welcome = &welcome;
    s_reply_frame(self, routing, &frame, REPLY_PLAIN, NULL);
}

static void s_on_hello(broker_t *self, peer_t *peer, zframe_t *routing, Hartslag__Hello *hello)
{
    if (!hello->org || strcmp(hello->org, peer->org) != 0) {
        /* A misconfigured daemon says it again every few seconds: one
           record a minute tells the story without flooding the log. */
        if (peer->mismatch_audit_ms == 0 ||
            self->now_ms - peer->mismatch_audit_ms >= MISMATCH_AUDIT_EVERY_MS) {
            peer->mismatch_audit_ms = self->now_ms;
            audit_entry_t entry = {.event = "auth_failed",
                                   .actor = peer->org,
                                   .outcome = "refused",
                                   .reason = "org_mismatch"};
            s_audit(self, &entry);
            log_event(HLOG_WARN, "org_mismatch", "org", peer->org, NULL);
        }
        s_reply_error(self, routing, "org_mismatch",
                      "Hello.org differs from the org of your CURVE key");
        return;
    }
    s_welcome(self, peer, routing);
    peer->checkpoint_size = hello->has_checkpoint_size ? hello->checkpoint_size : 0;
    peer->checkpoint_due = true;
    /* A Hello means the daemon may have lost what was in flight. Notices
       (alerts, withdrawals, outcomes) go again at once: a daemon asks with
       a Hello after it failed to store one. Deliveries go again not more
       often than the redelivery timer would send them, so that a stream
       of Hellos cannot make the broker resend its window over and over
       (issue 18 B6). */
    peer->notice_upto = 0;
    peer->notices_due = true;
    if (peer->hello_reset_ms != 0 && self->now_ms - peer->hello_reset_ms < HELLO_RESET_EVERY_MS)
        return;
    peer->hello_reset_ms = self->now_ms;
    peer->backlog = true;
    peer->inflight = 0;
    peer->sent_upto = 0;
    peer->dirty = true;
}

/* ------------------------------------------------------------------------
   Checkpoints and cosignatures (DESIGN §9) */

/* Verifies and stores a partner's cosignature of one of our checkpoints. */
static void s_on_cosignature(broker_t *self, peer_t *peer, zframe_t *routing,
                             Hartslag__Cosignature *cosig)
{
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len = 0;
    checkpoint_t cp;
    const cert_t *cert = partners_by_org(self->partners, peer->org);
    char line[CHECKPOINT_LINE_MAX + 1];
    if (!cert || cosig->signature.len == 0 || cosig->signature.len > CHECKPOINT_LINE_MAX ||
        audit_log_note_at(self->audit, cosig->tree_size, note, &note_len) != 0 ||
        checkpoint_open(note, note_len, audit_log_origin(self->audit),
                        keyfile_sign_public(self->keys), &cp) != CHECKPOINT_OK ||
        checkpoint_cosignature_verify(&cp, (const char *)cosig->signature.data,
                                      cosig->signature.len, peer->org, cert->sign_key,
                                      NULL) != CHECKPOINT_OK) {
        log_event(HLOG_WARN, "cosignature_refused", "org", peer->org, NULL);
        s_reply_error(self, routing, "bad_cosignature",
                      "the cosignature does not verify against a checkpoint of this broker");
        return;
    }
    memcpy(line, cosig->signature.data, cosig->signature.len);
    line[cosig->signature.len] = '\0';
    if (audit_log_store_cosignature(self->audit, cosig->tree_size, peer->org, line, self->now_ms) !=
        0)
        self->turn_failed = true;
    if (cosig->tree_size > peer->checkpoint_size)
        peer->checkpoint_size = cosig->tree_size;
    /* A daemon that cosigns an older checkpoint again is telling us what it
       holds: send it the latest, with a proof from there. */
    if (cosig->tree_size < audit_log_checkpoint_size(self->audit))
        peer->checkpoint_due = true;
}

/* Signs a checkpoint when one is due (every second or every
   CHECKPOINT_EVERY_RECORDS records, and at shutdown). */
static void s_maybe_checkpoint(broker_t *self, bool force)
{
    uint64_t size = audit_log_size(self->audit);
    uint64_t signed_size = audit_log_checkpoint_size(self->audit);
    if (size == signed_size)
        return;
    if (!force && size - signed_size < CHECKPOINT_EVERY_RECORDS &&
        self->now_ms < self->next_checkpoint_ms)
        return;
    self->next_checkpoint_ms = self->now_ms + CHECKPOINT_EVERY_MS;
    if (audit_log_checkpoint(self->audit, keyfile_sign_secret(self->keys), self->now_ms) != 0) {
        self->turn_failed = true;
        return;
    }
    self->checkpoint_made = true;
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers))
        peer->checkpoint_due = true;
}

/* Queues the latest checkpoint, with a consistency proof from what the
   partner holds, for every connected partner that is due one. */
static void s_send_checkpoints(broker_t *self)
{
    char note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len = 0;
    uint64_t size = 0;
    bool have = audit_log_latest_note(self->audit, note, &note_len, &size) == 0;
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
        if (!peer->routing)
            peer->checkpoint_due = false;
        if (!peer->checkpoint_due || !have)
            continue;
        peer->checkpoint_due = false;
        if (peer->checkpoint_size == size)
            continue;
        unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
        size_t proof_len = 0;
        uint64_t from = peer->checkpoint_size;
        if (from > size || (from > 0 && audit_log_consistency_proof(self->audit, from, size, proof,
                                                                    &proof_len) != 0)) {
            proof_len = 0; /* the daemon sees the log shrank: it keeps the evidence */
        }
        ProtobufCBinaryData items[MERKLE_PROOF_MAX];
        for (size_t i = 0; i < proof_len; i++) {
            items[i].data = proof[i];
            items[i].len = MERKLE_HASHBYTES;
        }
        Hartslag__Checkpoint checkpoint = HARTSLAG__CHECKPOINT__INIT;
        checkpoint.note.data = (uint8_t *)note;
        checkpoint.note.len = note_len;
        checkpoint.from_size = from;
        checkpoint.consistency_proof = items;
        checkpoint.n_consistency_proof = proof_len;
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.body_case = HARTSLAG__FRAME__BODY_CHECKPOINT;
        frame.checkpoint = &checkpoint;
        s_reply_frame(self, peer->routing, &frame, REPLY_CHECKPOINT, NULL);
    }
}

/* ------------------------------------------------------------------------
   Refused keys (auth_gate.h): logged and audited, one record per key per
   minute (auth_limit.h) */

/* Logs and audits a refused connection when the limiter says it is due. */
static void s_auth_failed(broker_t *self, const uint8_t *key, const char *address,
                          const char *reason, const char *detail)
{
    auth_limit_count_t count;
    if (!auth_limit_note(self->auth_limit, key, (int64_t)wire_now_ms(), &count))
        return;
    char fingerprint[CERT_CURVE_FINGERPRINT_SIZE] = "unknown";
    if (key)
        cert_curve_fingerprint(key, fingerprint);
    char attempts[24], others[24], why[256];
    snprintf(attempts, sizeof attempts, "%llu", (unsigned long long)count.attempts);
    snprintf(others, sizeof others, "%llu", (unsigned long long)count.others);
    /* The record's reason says what the log line says (audit.md). */
    snprintf(why, sizeof why, "%s%s%s key=%s peer=%s attempts=%s", reason, detail ? ":" : "",
             detail ? detail : "", fingerprint, address ? address : "unknown", attempts);
    audit_entry_t entry = {
        .event = "auth_failed", .actor = "broker", .outcome = "refused", .reason = why};
    s_audit(self, &entry);
    log_event(HLOG_WARN, "auth_failed", "reason", reason, "detail", detail ? detail : "-", "key",
              fingerprint, "peer", address ? address : "unknown", "attempts", attempts,
              "unrecorded_other_keys", others, NULL);
}

static bool s_admit(void *arg, const uint8_t key[AUTH_GATE_KEYBYTES])
{
    broker_t *self = arg;
    const cert_t *cert = partners_by_curve_key(self->partners, key);
    return cert && cert_valid_at(cert, (int64_t)wire_now_ms());
}

static void s_refused(void *arg, const uint8_t *key, const char *address, const char *reason,
                      const char *detail)
{
    broker_t *self = arg;
    /* A partner's key refused because its certificate is out of date is not
       an unknown key: the operator must renew it, not hunt a probe. */
    if (key && strcmp(reason, "unknown_key") == 0 && partners_by_curve_key(self->partners, key))
        reason = "certificate_not_valid";
    s_auth_failed(arg, key, address, reason, detail);
}

/* ------------------------------------------------------------------------
   One message */

/* The pure part of reading a message: who sent it (the CURVE key, looked
   up in the live table) and its frame. A Submit's signature check is
   queued here so the workers can start before the loop reaches it. */
static void s_read(broker_t *self, inbound_t *in)
{
    in->cert = NULL;
    in->frame = NULL;
    in->why = NULL;
    in->expired = NULL;
    in->verify_job = -1;
    zframe_t *routing = zmsg_first(in->msg);
    zframe_t *payload = zmsg_next(in->msg);
    if (!routing || !payload || zmsg_size(in->msg) != 2)
        return;
    const char *user_id = zframe_meta(payload, "User-Id");
    uint8_t key[32];
    const cert_t *cert = NULL;
    if (user_id && z85_decode(key, sizeof key, user_id) == 0)
        cert = partners_by_curve_key(self->partners, key);
    if (cert && !cert_valid_at(cert, self->now_ms))
        in->expired = cert;
    if (!cert || !cert_valid_at(cert, self->now_ms))
        return;
    in->cert = cert;
    if (wire_unpack_frame_with(zframe_data(payload), zframe_size(payload),
                               arena_allocator(&self->arena), &in->frame, &in->why) != 0) {
        in->frame = NULL;
        return;
    }
    if (in->frame->body_case == HARTSLAG__FRAME__BODY_SUBMIT && in->frame->submit->signal)
        in->verify_job =
            verifier_add(self->verifier, in->frame->submit->signal, in->cert->sign_key);
}

static void s_handle(broker_t *self, inbound_t *in)
{
    zframe_t *routing = zmsg_first(in->msg);
    zframe_t *payload = zmsg_next(in->msg);
    if (!routing)
        return;
    if (!payload || zmsg_size(in->msg) != 2) {
        s_reply_error(self, routing, "malformed", "send exactly one frame per message");
        return;
    }
    /* Identity: the CURVE key from the handshake, looked up in the live table. */
    const cert_t *cert = in->cert;
    if (!cert) {
        /* Admitted at the handshake, revoked or expired since. A known key
           whose certificate is outside its validity is not an unknown key:
           say which partner, so its operator can renew. */
        const char *expired = in->expired ? in->expired->org : NULL;
        const char *user_id = zframe_meta(payload, "User-Id");
        uint8_t key[32];
        bool known = user_id && z85_decode(key, sizeof key, user_id) == 0;
        s_auth_failed(self, known ? key : NULL, NULL,
                      expired ? "certificate_not_valid" : "key_not_in_partner_table", NULL);
        s_reply_error(self, routing, "not_authenticated",
                      expired ? "your certificate is not valid today: ask the coordinator for a "
                                "renewed one"
                              : "your key is not (or no longer) a partner of this broker");
        return;
    }
    peer_t *peer = s_peer(self, cert->org);
    if (!peer)
        return;
    if (!peer->routing || !zframe_eq(peer->routing, routing)) {
        /* A new connection (or the broker restarted): start delivering. */
        s_peer_disconnect(peer);
        peer->routing = zframe_dup(routing);
        memcpy(peer->curve_key, cert->curve_key, sizeof peer->curve_key);
        peer->connected_ms = self->now_ms;
        peer->dirty = true;
        peer->notices_due = true;
        peer->checkpoint_due = true;
        log_event(HLOG_INFO, "connected", "org", peer->org, NULL);
    }
    peer->heard_ms = self->now_ms;
    Hartslag__Frame *frame = in->frame;
    if (!s_within_budget(self, peer, routing, frame))
        return;
    if (!frame) {
        const char *why = in->why;
        log_event(HLOG_WARN, "bad_frame", "org", peer->org, "reason", why, NULL);
        s_reply_error(self, routing, why ? why : "malformed", "the frame could not be read");
        return;
    }
    switch (frame->body_case) {
    case HARTSLAG__FRAME__BODY_HELLO:
        s_on_hello(self, peer, routing, frame->hello);
        break;
    case HARTSLAG__FRAME__BODY_SUBMIT:
        s_on_submit(self, peer, routing, in, frame->submit);
        break;
    case HARTSLAG__FRAME__BODY_DELIVERY_ACK:
        s_on_ack(self, peer, routing, frame->delivery_ack);
        break;
    case HARTSLAG__FRAME__BODY_WITHDRAW:
        s_on_withdraw(self, peer, routing, frame->withdraw);
        break;
    case HARTSLAG__FRAME__BODY_WITHDRAW_RESULT:
        s_on_withdraw_result(self, peer, frame->withdraw_result);
        break;
    case HARTSLAG__FRAME__BODY_HEARTBEAT: {
        Hartslag__Heartbeat beat = HARTSLAG__HEARTBEAT__INIT;
        beat.sent_at_ms = (uint64_t)self->now_ms;
        Hartslag__Frame reply = HARTSLAG__FRAME__INIT;
        reply.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
        reply.heartbeat = &beat;
        s_reply_frame(self, routing, &reply, REPLY_PLAIN, NULL);
        break;
    }
    case HARTSLAG__FRAME__BODY_COSIGNATURE:
        s_on_cosignature(self, peer, routing, frame->cosignature);
        break;
    case HARTSLAG__FRAME__BODY_ALERT_ACK:
        s_on_alert_ack(self, peer, routing, frame->alert_ack);
        break;
    case HARTSLAG__FRAME__BODY_CASE_REQUEST:
        s_on_case_request(self, peer, routing, frame->case_request);
        break;
    case HARTSLAG__FRAME__BODY_INCLUSION_REQUEST: {
        /* broker/inclusion.c; sent after the commit, like a checkpoint. */
        uint8_t *bytes = NULL;
        size_t len = 0;
        const char *why = NULL;
        if (inclusion_answer(self->audit, self->store, peer->org, frame->inclusion_request, &bytes,
                             &len, &why) == 0)
            s_reply(self, routing, bytes, len, REPLY_CHECKPOINT, NULL);
        else
            s_reply_error(self, routing, why, "the inclusion request could not be answered");
        break;
    }
    default:
        s_reply_error(self, routing, "unexpected", "daemons may not send that message");
        break;
    }
}

/* ------------------------------------------------------------------------
   Pumping deliveries and notices (inside the turn's transaction) */

static int s_pump_one(void *arg, int64_t seq, const uint8_t id[16], const queue_meta_t *meta,
                      const uint8_t *sealed, size_t sealed_len, int64_t accepted_at_ms)
{
    pump_ctx_t *ctx = arg;
    broker_t *self = ctx->self;
    /* No audit record here: a frame handed to ZeroMQ may never reach a
       daemon that just went away. `delivered` is written when the
       recipient answers (s_on_ack). */
    size_t cap = sealed_len + DELIVER_FRAME_OVERHEAD;
    uint8_t *bytes = malloc(cap);
    size_t len =
        bytes ? deliver_frame_encode(bytes, cap, sealed, sealed_len, (uint64_t)accepted_at_ms) : 0;
    if (len == 0) {
        free(bytes);
        return 1;
    }
    s_reply(self, ctx->peer->routing, bytes, len, REPLY_DELIVER, id);
    sent_t *sent = malloc(sizeof *sent);
    if (sent) {
        char hex[33];
        s_hex(id, 16, hex, sizeof hex);
        sent->seq = seq;
        sent->meta = *meta;
        zhashx_update(ctx->peer->sent, hex, sent);
    }
    if (ctx->peer->inflight == 0)
        ctx->peer->progress_ms = self->now_ms;
    ctx->peer->inflight++;
    ctx->peer->sent_upto = seq;
    return 0;
}

typedef struct {
    broker_t *self;
    peer_t *peer;
} notice_ctx_t;

static void s_notice_one(void *arg, int64_t seq, notice_kind_t kind, const uint8_t id[16],
                         const uint8_t *frame, size_t len)
{
    notice_ctx_t *ctx = arg;
    ctx->peer->notice_upto = seq;
    uint8_t *bytes = malloc(len);
    if (!bytes)
        return;
    memcpy(bytes, frame, len);
    s_reply(ctx->self, ctx->peer->routing, bytes, len, REPLY_PLAIN, id);
    if (kind == NOTICE_EXPIRED &&
        broker_store_notice_remove(ctx->self->store, ctx->peer->org, kind, id) != 0)
        ctx->self->turn_failed = true;
}

static void s_pump(broker_t *self)
{
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
        if (!peer->routing) {
            peer->dirty = peer->notices_due = false;
            continue;
        }
        if (peer->notices_due) {
            notice_ctx_t ctx = {self, peer};
            if (broker_store_notices(self->store, peer->org, peer->notice_upto, s_notice_one,
                                     &ctx) < 0)
                self->turn_failed = true;
            peer->notices_due = false;
        }
        if (peer->dirty && peer->inflight < self->config.delivery_window) {
            pump_ctx_t ctx = {self, peer};
            uint32_t room = self->config.delivery_window - peer->inflight;
            int got = broker_store_pending(self->store, peer->org, peer->sent_upto, room,
                                           s_pump_one, &ctx);
            if (got < 0)
                self->turn_failed = true;
            else if ((uint32_t)got < room)
                peer->backlog = false; /* all caught up: new signals can go out directly */
        }
        peer->dirty = false;
    }
}

/* On PostgreSQL, a submission's "is this id new?" would cost a round trip
   each: ask for the whole turn at once (broker_store_prefetch). */
static void s_prefetch(broker_t *self, size_t n_inbound)
{
    size_t n = 0;
    for (size_t i = 0; i < n_inbound; i++) {
        const Hartslag__Frame *frame = self->inbound[i].frame;
        const Hartslag__SealedSignal *sealed =
            frame && frame->body_case == HARTSLAG__FRAME__BODY_SUBMIT && frame->submit
                ? frame->submit->signal
                : NULL;
        if (sealed && sealed->header.data &&
            wire_peek_signal_id(sealed->header.data, sealed->header.len, self->submitted[n]) == 0)
            n++;
    }
    if (n > 0 && broker_store_prefetch(self->store, (const uint8_t(*)[16])self->submitted, n) != 0)
        self->turn_failed = true;
}

/* ------------------------------------------------------------------------
   Timers */

static void s_expired_one(void *arg, const uint8_t id[16], const queue_meta_t *meta,
                          const char *recipient)
{
    broker_t *self = arg;
    audit_entry_t entry = {
        .event = "expired",
        .actor = "broker",
        .counterpart = recipient,
        .on_behalf_of = meta->sender,
        .signal_id = id,
        .signal_type = meta->signal_type,
        .purpose = meta->purpose,
        .subject = meta->subject,
        .outcome = "refused",
        .reason = "max_queue_days",
    };
    s_audit(self, &entry);
    Hartslag__Expired expired = HARTSLAG__EXPIRED__INIT;
    expired.signal_id.data = (uint8_t *)id;
    expired.signal_id.len = 16;
    expired.recipient = (char *)recipient;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_EXPIRED;
    frame.expired = &expired;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (wire_pack_frame(&frame, &bytes, &len) == 0) {
        if (broker_store_notice_add(self->store, meta->sender, NOTICE_EXPIRED, id, bytes, len) != 0)
            self->turn_failed = true;
        free(bytes);
    }
    peer_t *sender = s_peer(self, meta->sender);
    if (sender)
        sender->notices_due = true;
    peer_t *late = s_peer(self, recipient);
    if (late)
        s_sent_forget(late, id); /* expired: an ack now settles nothing */
    char hex[33];
    s_hex(id, 16, hex, sizeof hex);
    log_event(HLOG_INFO, "expired", "sender", meta->sender, "recipient", recipient, "id", hex,
              NULL);
}

/* Every turn, before anything is sent: a connected partner whose
   certificate has passed its validity (or no longer exists) is cut off,
   so that nothing more is pushed to it (issue 18 A4). */
static void s_drop_invalid_peers(broker_t *self)
{
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
        if (!peer->routing)
            continue;
        const cert_t *cert = partners_by_curve_key(self->partners, peer->curve_key);
        if (cert && cert_valid_at(cert, self->now_ms))
            continue;
        if (!cert) { /* revoked: s_partner_changed audits that */
            s_peer_disconnect(peer);
            continue;
        }
        audit_entry_t entry = {.event = "partner_expired",
                               .actor = "broker",
                               .counterpart = peer->org,
                               .outcome = "ok",
                               .reason = "certificate_not_valid"};
        s_audit(self, &entry);
        log_event(HLOG_WARN, "partner_expired", "org", peer->org, "reason", entry.reason, NULL);
        s_peer_disconnect(peer);
    }
}

static void s_timers(broker_t *self)
{
    s_drop_invalid_peers(self);
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers))
        if (peer->routing && self->now_ms - peer->heard_ms > PEER_SILENT_MS) {
            /* ZMTP heartbeats close the connection too, but the loop would
               only learn of it from a failed send. */
            log_event(HLOG_INFO, "disconnected", "org", peer->org, "reason", "silent", NULL);
            s_peer_disconnect(peer);
        }
    if (self->now_ms >= self->next_expiry_ms) {
        self->next_expiry_ms = self->now_ms + EXPIRY_EVERY_MS;
        /* A recipient that stopped acknowledging without disconnecting (its
           disk failed, say) gets everything unacknowledged again: it drops
           what it already stored. */
        for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers))
            if (peer->routing && peer->inflight > 0 &&
                self->now_ms - peer->progress_ms > REDELIVER_AFTER_MS) {
                char count[12];
                snprintf(count, sizeof count, "%u", peer->inflight);
                log_event(HLOG_WARN, "redelivering", "org", peer->org, "unacknowledged", count,
                          NULL);
                peer->inflight = 0;
                peer->sent_upto = 0;
                peer->backlog = true;
                peer->dirty = true;
                peer->progress_ms = self->now_ms;
            }
        if (broker_store_expire(self->store, self->now_ms, s_expired_one, self) < 0)
            self->turn_failed = true;
    }
    if (self->now_ms >= self->next_purge_ms && self->config.audit_retention_days > 0) {
        self->next_purge_ms = self->now_ms + PURGE_EVERY_MS;
        uint64_t purged_before = 0;
        int64_t cutoff = self->now_ms - (int64_t)self->config.audit_retention_days * DAY_MS;
        if (audit_log_purge(self->audit, cutoff, &purged_before) != 0)
            self->turn_failed = true;
        else if (purged_before > 0) {
            Hartslag__AuditRecord record = HARTSLAG__AUDIT_RECORD__INIT;
            record.time_ms = (uint64_t)self->now_ms;
            record.event = "purged";
            record.actor_org = "broker";
            record.outcome = "ok";
            record.reason = "retention";
            record.has_purged_before = 1;
            record.purged_before = purged_before;
            if (audit_log_append(self->audit, &record) < 0)
                self->turn_failed = true;
            char count[24];
            snprintf(count, sizeof count, "%llu", (unsigned long long)purged_before);
            log_event(HLOG_INFO, "audit_purged", "before_index", count, NULL);
        }
    }
    if (self->now_ms >= self->next_prune_ms) {
        self->next_prune_ms = self->now_ms + PRUNE_EVERY_MS;
        if (broker_store_prune(self->store, self->now_ms) < 0 ||
            match_prune(self->match, self->agreements, self->now_ms) != 0)
            self->turn_failed = true;
    }
}

/* ------------------------------------------------------------------------
   Reload (SIGHUP) */

static void s_report_cert(void *arg, const char *file, bool is_error, const char *message)
{
    (void)arg;
    log_event(is_error ? HLOG_ERROR : HLOG_WARN, "certificate_problem", "file", file, "problem",
              message, NULL);
}

static void s_partner_changed(void *arg, const char *org, bool added)
{
    broker_t *self = arg;
    audit_entry_t entry = {.event = added ? "partner_added" : "partner_revoked",
                           .actor = "broker",
                           .counterpart = org,
                           .outcome = "ok"};
    s_audit(self, &entry);
    log_event(HLOG_INFO, added ? "partner_added" : "partner_revoked", "org", org, NULL);
    peer_t *peer = added ? NULL : zhashx_lookup(self->peers, org);
    if (peer)
        s_peer_disconnect(peer);
}

/* Audits the partners added and revoked since the table was last seen
   (at start: since the last run). */
static void s_sync_partners(broker_t *self)
{
    size_t n = partners_count(self->partners);
    uint8_t(*keys)[32] = calloc(n ? n : 1, sizeof *keys);
    const char **orgs = calloc(n ? n : 1, sizeof *orgs);
    if (!keys || !orgs) {
        self->turn_failed = true;
    } else {
        for (size_t i = 0; i < n; i++) {
            memcpy(keys[i], partners_at(self->partners, i)->curve_key, 32);
            orgs[i] = partners_at(self->partners, i)->org;
        }
        if (broker_store_partners_sync(self->store, (const uint8_t(*)[32])keys, orgs, n,
                                       s_partner_changed, self) != 0)
            self->turn_failed = true;
    }
    free(keys);
    free(orgs);
}

/* The version in force took effect (or was read again). `emergency_org`
   is non-empty when it took effect on the coordinator's signature alone,
   suspending that partner (issue 14 rule 3, the emergency path). */
static void s_agreements_loaded(broker_t *self, const char *emergency_org)
{
    char version[24], hash[AGREEMENTS_HASH_HEX];
    snprintf(version, sizeof version, "%llu",
             (unsigned long long)agreements_version(self->agreements));
    agreements_hash_hex(self->agreements, hash);
    bool emergency = emergency_org && emergency_org[0];
    audit_entry_t entry = {.event = "agreements_loaded",
                           .actor = "broker",
                           .counterpart = emergency ? emergency_org : NULL,
                           .agreements_version = agreements_version(self->agreements),
                           .agreements_hash = agreements_hash(self->agreements),
                           .outcome = "ok",
                           .reason = emergency ? "emergency_revoke" : NULL};
    s_audit(self, &entry);
    log_event(HLOG_INFO, "agreements_loaded", "version", version, "sha256", hash, NULL);
    if (emergency)
        log_event(
            HLOG_WARN, "agreements_emergency_revoke", "org", emergency_org, "version", version,
            "effect",
            "signed by the coordinator alone: it only takes permissions from this partner; its "
            "traffic is refused from now on",
            NULL);
}

static void s_signature_refused(void *arg, const char *path, const char *reason)
{
    (void)arg;
    log_event(HLOG_WARN, "agreements_signature_refused", "file", path, "reason", reason, NULL);
}

/* Keeps a version in the history (and its signatures); false on a store
   error, which fails the turn. */
static bool s_agreements_keep(broker_t *self, const agreements_t *next, const char *bytes,
                              size_t len, bool record)
{
    size_t n_signers = 0;
    if (agreements_history_keep(self->store, next, self->config.agreements, bytes, len,
                                self->partners, record, self->now_ms, s_signature_refused, NULL,
                                &n_signers) != 0) {
        self->turn_failed = true;
        return false;
    }
    if (record) {
        char count[24];
        snprintf(count, sizeof count, "%zu", n_signers);
        log_event(HLOG_INFO, "agreements_recorded", "signature_files", count, NULL);
    }
    return true;
}

/* A version refused (rollback, or signatures missing): logged and
   audited; the version in force stays. */
static void s_agreements_refused(broker_t *self, const agreements_t *next,
                                 const history_admission_t *admission)
{
    char version[24], in_force[24], hash[AGREEMENTS_HASH_HEX];
    snprintf(version, sizeof version, "%llu", (unsigned long long)agreements_version(next));
    snprintf(in_force, sizeof in_force, "%llu",
             (unsigned long long)agreements_version(self->agreements));
    agreements_hash_hex(next, hash);
    audit_entry_t entry = {.event = "agreements_refused",
                           .actor = "broker",
                           .agreements_version = agreements_version(next),
                           .agreements_hash = agreements_hash(next),
                           .outcome = "refused",
                           .reason = admission->refusal};
    s_audit(self, &entry);
    bool unsigned_ = strcmp(admission->refusal, "missing_signatures") == 0;
    log_event(HLOG_ERROR, "agreements_refused", "version", version, "sha256", hash, "reason",
              admission->refusal, "missing", unsigned_ ? admission->missing : "-", "in_force",
              in_force, "effect",
              unsigned_ ? "the version in force stays; the partners named must sign this version "
                          "(hartslag agreements sign), then reload"
                        : "the version in force stays; a new version needs a higher number",
              NULL);
}

/* At start, before the loop: the file's version against the history in
   the store. The first version a broker enforces must be signed by every
   partner, or the broker does not start. A later file that the rules
   refuse (lower, same number with other bytes, signatures missing) leaves
   the version in force, read back from the store, so that a restart with
   an old or unsigned file cannot change the rules; the refusal is audited
   in the first turn. 0, or -1 with the reason in err. */
static int s_agreements_at_start(broker_t *self, char *err, size_t errlen)
{
    uint64_t version = 0;
    uint8_t hash[AGREEMENTS_HASH_BYTES];
    char *kept = NULL;
    size_t kept_len = 0;
    int found = broker_store_agreements_in_force(self->store, &version, hash, &kept, &kept_len);
    if (found < 0) {
        snprintf(err, errlen,
                 "cannot read the agreements history in the store (%s): refusing to start "
                 "rather than enforce agreements nobody signed",
                 broker_store_error(self->store));
        return -1;
    }
    agreements_t *in_force = NULL;
    if (found == 1) {
        agreements_errors_t *errors = NULL;
        in_force = agreements_parse(kept, kept_len, "agreements history", &errors);
        agreements_errors_destroy(&errors);
    }
    free(kept);
    if (found == 1 && !in_force) {
        snprintf(err, errlen, "the agreements version in force (in the store) does not parse");
        return -1;
    }
    history_admission_t *admission = &self->start_admission;
    if (agreements_history_admit(in_force, self->agreements, self->config.agreements,
                                 self->partners, s_signature_refused, NULL, admission) != 0) {
        agreements_destroy(&in_force);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!admission->refusal) {
        agreements_destroy(&in_force);
        return 0;
    }
    if (!in_force) {
        snprintf(err, errlen,
                 "agreements %s: version %llu is the first this broker enforces and must be "
                 "signed by every partner in it; missing: %s. Each partner signs it with "
                 "'hartslag agreements sign --config DAEMON.yaml %s'; check with 'hartslag "
                 "agreements verify %s --partners %s'",
                 self->config.agreements, (unsigned long long)agreements_version(self->agreements),
                 admission->missing, self->config.agreements, self->config.agreements,
                 self->config.certificates);
        return -1;
    }
    self->start_refused = self->agreements;
    self->agreements = in_force;
    free(self->agreements_file);
    self->agreements_file = NULL;
    return 0;
}

/* The first turn: was the last run cut short, which agreements and
   partners are in force. */
static void s_startup(broker_t *self)
{
    char clean[8] = "";
    int found = broker_store_meta_get(self->store, "clean_shutdown", clean, sizeof clean);
    if (found < 0)
        self->turn_failed = true;
    else if (audit_log_size(self->audit) > 0 && !(found == 1 && strcmp(clean, "1") == 0)) {
        audit_entry_t entry = {
            .event = "recovered", .actor = "broker", .outcome = "ok", .reason = "unclean_shutdown"};
        s_audit(self, &entry);
        log_event(HLOG_WARN, "recovered", "reason", "unclean_shutdown", "effect",
                  "every committed signal and audit record is kept; the rest was never "
                  "acknowledged",
                  NULL);
    }
    if (broker_store_meta_set(self->store, "clean_shutdown", "0") != 0)
        self->turn_failed = true;
    if (self->start_refused) {
        s_agreements_refused(self, self->start_refused, &self->start_admission);
        agreements_destroy(&self->start_refused);
    } else if (s_agreements_keep(self, self->agreements, self->agreements_file,
                                 self->agreements_file_len,
                                 self->start_admission.verdict != HISTORY_UNCHANGED)) {
        free(self->agreements_file);
        self->agreements_file = NULL;
    }
    s_agreements_loaded(self, self->start_admission.emergency_org);
    s_sync_partners(self);
}

static void s_reload_all(broker_t *self)
{
    char err[4800];
    partners_t *fresh = partners_load(self->config.certificates, self->now_ms, s_report_cert, NULL,
                                      err, sizeof err);
    if (!fresh) {
        log_event(HLOG_ERROR, "reload_refused", "what", "certificates", "reason", err, NULL);
    } else {
        partners_destroy(&self->partners);
        self->partners = fresh;
        s_sync_partners(self); /* the next handshake is checked against it (s_admit) */
    }
    agreements_errors_t *errors = NULL;
    char *bytes = NULL;
    size_t len = 0;
    agreements_t *agreements =
        agreements_history_read(self->config.agreements, &bytes, &len, &errors);
    if (!agreements) {
        const agreements_error_t *first = errors ? agreements_errors_at(errors, 0) : NULL;
        char where[64];
        snprintf(where, sizeof where, "%u:%u", first ? first->line : 0, first ? first->column : 0);
        log_event(HLOG_ERROR, "reload_refused", "what", "agreements", "at", where, "reason",
                  first ? first->message : "unreadable", NULL);
        agreements_errors_destroy(&errors);
        return;
    }
    history_admission_t admission;
    if (agreements_history_admit(self->agreements, agreements, self->config.agreements,
                                 self->partners, s_signature_refused, NULL, &admission) != 0)
        log_event(HLOG_ERROR, "reload_refused", "what", "agreements", "reason", "out of memory",
                  NULL);
    else if (admission.refusal)
        s_agreements_refused(self, agreements, &admission);
    else if (s_agreements_keep(self, agreements, bytes, len,
                               admission.verdict != HISTORY_UNCHANGED)) {
        bool changed = admission.verdict != HISTORY_UNCHANGED;
        agreements_destroy(&self->agreements);
        self->agreements = agreements;
        agreements = NULL;
        s_agreements_loaded(self, admission.emergency_org);
        for (peer_t *peer = zhashx_first(self->peers); changed && peer;
             peer = zhashx_next(self->peers))
            if (peer->routing)
                s_welcome(self, peer, peer->routing);
    }
    agreements_destroy(&agreements); /* NULL when it took effect */
    free(bytes);
}

/* ------------------------------------------------------------------------
   The turn */

static int s_send(broker_t *self, const reply_t *reply)
{
    void *socket = zsock_resolve(self->router);
    if (zmq_send(socket, zframe_data(reply->routing), zframe_size(reply->routing),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(socket, reply->bytes, reply->len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* After a failed commit: what may still be said, and how. */
static void s_rewrite_failed(reply_t *reply)
{
    if (reply->kind == REPLY_ACCEPTED || reply->kind == REPLY_DENIED) {
        Hartslag__Denied denied = HARTSLAG__DENIED__INIT;
        denied.signal_id.data = reply->signal_id;
        denied.signal_id.len = 16;
        denied.reason = "storage_unavailable";
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.version = WIRE_VERSION;
        frame.body_case = HARTSLAG__FRAME__BODY_DENIED;
        frame.denied = &denied;
        free(reply->bytes);
        reply->bytes = NULL;
        if (wire_pack_frame(&frame, &reply->bytes, &reply->len) != 0)
            reply->bytes = NULL;
    } else if (reply->kind == REPLY_WITHDRAWN) {
        Hartslag__WithdrawResult result = HARTSLAG__WITHDRAW_RESULT__INIT;
        result.signal_id.data = reply->signal_id;
        result.signal_id.len = 16;
        result.ok = false;
        result.reason = "storage_unavailable";
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.version = WIRE_VERSION;
        frame.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
        frame.withdraw_result = &result;
        free(reply->bytes);
        reply->bytes = NULL;
        if (wire_pack_frame(&frame, &reply->bytes, &reply->len) != 0)
            reply->bytes = NULL;
    } else if (reply->kind == REPLY_CASE) {
        Hartslag__CaseResult result = HARTSLAG__CASE_RESULT__INIT;
        result.action_id.data = reply->signal_id;
        result.action_id.len = 16;
        result.ok = false;
        result.reason = "storage_unavailable";
        Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
        frame.version = WIRE_VERSION;
        frame.body_case = HARTSLAG__FRAME__BODY_CASE_RESULT;
        frame.case_result = &result;
        free(reply->bytes);
        reply->bytes = NULL;
        if (wire_pack_frame(&frame, &reply->bytes, &reply->len) != 0)
            reply->bytes = NULL;
    } else if (reply->kind == REPLY_DELIVER || reply->kind == REPLY_CHECKPOINT) {
        free(reply->bytes);
        reply->bytes = NULL;
    }
}

static peer_t *s_peer_by_routing(broker_t *self, zframe_t *routing)
{
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers))
        if (peer->routing && zframe_eq(peer->routing, routing))
            return peer;
    return NULL;
}

static int s_turn(broker_t *self, bool readable, bool final)
{
    self->now_ms = (int64_t)wire_now_ms();
    if (!self->in_transaction) {
        self->turn_failed = broker_store_begin(self->store) != 0;
        if (self->turn_failed) {
            log_event(HLOG_ERROR, "store_unavailable", "error", broker_store_error(self->store),
                      NULL);
            /* The turn still answers (Denied{storage_unavailable}), but no
               statement of it may run outside a transaction: a server back
               by the next statement would commit each on its own, a signal
               without its deliveries. */
            db_refuse(broker_store_db(self->store), true);
        } else if (self->active && active_check(self->active) != 0) {
            /* A new session (the old one was cut, or ended while this
               process hung) holds no lock: another broker may be active
               now. Read, send and write nothing more; stop, to come back
               as a standby. */
            broker_store_rollback(self->store);
            self->lost_lock = true;
            s_stop = 1;
            log_event(HLOG_ERROR, "active_lost", "effect",
                      "the store's lock is gone; stopping without writing (restart as standby)",
                      NULL);
            return -1;
        }
        self->transaction_ms = self->now_ms;
    }
    if (!self->started) {
        self->started = true;
        s_startup(self);
    }
    if (s_reload) {
        s_reload = 0;
        s_reload_all(self);
    }
    /* Handshakes first: they wait for nothing but the partner table. */
    auth_gate_serve(self->gate, s_admit, s_refused, self);
    size_t n_inbound = 0, turn_bytes = 0;
    while (readable && n_inbound < self->config.max_batch && turn_bytes < TURN_BYTES_MAX) {
        inbound_t *in = &self->inbound[n_inbound];
        in->msg = zmsg_recv(self->router);
        if (!in->msg)
            break;
        turn_bytes += zmsg_content_size(in->msg);
        s_read(self, in);
        n_inbound++;
    }
    s_prefetch(self, n_inbound);
    verifier_start(self->verifier);
    bool acks_only = n_inbound > 0;
    for (size_t i = 0; i < n_inbound; i++) {
        const Hartslag__Frame *frame = self->inbound[i].frame;
        if (!frame || frame->body_case != HARTSLAG__FRAME__BODY_DELIVERY_ACK)
            acks_only = false;
        s_handle(self, &self->inbound[i]);
    }
    verifier_finish(self->verifier);
    for (size_t i = 0; i < n_inbound; i++)
        zmsg_destroy(&self->inbound[i].msg);
    arena_reset(&self->arena);
    s_timers(self);
    s_pump(self);
    if (final && broker_store_meta_set(self->store, "clean_shutdown", "1") != 0)
        self->turn_failed = true;
    s_maybe_checkpoint(self, final);
    s_send_checkpoints(self);
    self->in_transaction = !self->turn_failed && !final && acks_only && self->n_replies == 0 &&
                           self->now_ms - self->transaction_ms < ACK_COMMIT_DELAY_MS;
    if (self->in_transaction)
        return 0;
    bool committed = !self->turn_failed && broker_store_commit(self->store) == 0;
    if (committed)
        audit_log_commit(self->audit);
    else {
        broker_store_rollback(self->store);
        audit_log_rollback(self->audit);
        log_event(HLOG_ERROR, "turn_failed", "error", broker_store_error(self->store), "effect",
                  "nothing of this batch was accepted; senders told storage_unavailable", NULL);
        for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
            peer->inflight = 0;
            peer->sent_upto = 0;
            zhashx_purge(peer->sent);
        }
    }
    for (size_t i = 0; i < self->n_replies; i++) {
        reply_t *reply = &self->replies[i];
        if (!committed)
            s_rewrite_failed(reply);
        if (reply->bytes && s_send(self, reply) != 0 && reply->kind == REPLY_DELIVER) {
            /* Gone or full: it stays pending and is sent again on reconnect. */
            peer_t *peer = s_peer_by_routing(self, reply->routing);
            if (peer) {
                log_event(HLOG_INFO, "disconnected", "org", peer->org, "reason", "send_failed",
                          NULL);
                s_peer_disconnect(peer);
            }
        }
        free(reply->bytes);
        zframe_destroy(&reply->routing);
    }
    self->n_replies = 0;
    db_refuse(broker_store_db(self->store), false);
    return committed ? 0 : -1;
}

/* ------------------------------------------------------------------------
   hartslag broker status (status.h), between turns */

static char *s_status(void *arg, bool json, char *err, size_t errlen)
{
    broker_t *self = arg;
    size_t n = partners_count(self->partners);
    status_partner_t *partners = calloc(n ? n : 1, sizeof *partners);
    if (!partners) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *org = partners_at(self->partners, i)->org;
        peer_t *peer = zhashx_lookup(self->peers, org);
        snprintf(partners[i].org, sizeof partners[i].org, "%s", org);
        partners[i].connected = peer && peer->routing;
        partners[i].connected_ms = partners[i].connected ? peer->connected_ms : 0;
        partners[i].inflight = peer ? peer->inflight : 0;
    }
    char hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(self->agreements, hash);
    status_snapshot_t snap = {.now_ms = (int64_t)wire_now_ms(),
                              .started_ms = self->started_ms,
                              .endpoint = self->endpoint,
                              .agreements_version = agreements_version(self->agreements),
                              .agreements_hash = hash,
                              .audit_records = audit_log_size(self->audit),
                              .store_backend = db_backend(broker_store_db(self->store)),
                              .active_name = self->active ? self->active_name : NULL,
                              .active_since_ms = self->active ? self->active_since_ms : 0,
                              .partners = partners,
                              .n_partners = n};
    char *text = status_render(self->store, audit_log_store(self->audit), &snap, json, err, errlen);
    free(partners);
    return text;
}

/* ------------------------------------------------------------------------
   Life cycle */

bool broker_stop_requested(void)
{
    return s_stop != 0;
}

/* On a PostgreSQL store two brokers may share one database: wait here,
   before anything is read into memory or bound, until this one holds the
   store's lock (broker/active.h). A stop while waiting ends the start. */
static int s_become_active(broker_t *self, char *err, size_t errlen)
{
    db_t *db = broker_store_db(self->store);
    if (!active_applies(db))
        return 0;
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(self->active_name, sizeof self->active_name, "%.40s %ld", host, (long)getpid());
    self->active = active_new(db);
    if (!self->active || active_session_settings(self->active, self->active_name) != 0) {
        snprintf(err, errlen, "cannot set up the store session: %s", db_errmsg(db));
        return -1;
    }
    bool told = false, held = false, failing = false;
    while (!s_stop) {
        int rc = active_try(self->active, &held);
        if (rc != 0 && !failing) /* once per outage, not every half second */
            log_event(HLOG_ERROR, "store_unavailable", "error", db_errmsg(db), NULL);
        failing = rc != 0;
        if (rc == 0 && held) {
            break;
        } else if (rc == 0 && !told) {
            char holder[128] = "";
            (void)active_holder(self->active, holder, sizeof holder);
            log_event(HLOG_INFO, "standby", "active", holder[0] ? holder : "unknown", "effect",
                      "not listening until the active broker's session ends", NULL);
            told = true;
        }
        zclock_sleep(ACTIVE_RETRY_MS);
    }
    if (!held) {
        snprintf(err, errlen, "stopped while waiting as a standby");
        return -1;
    }
    self->active_since_ms = (int64_t)wire_now_ms();
    log_event(HLOG_INFO, "active", "name", self->active_name, NULL);
    return 0;
}

broker_t *broker_new(const broker_config_t *config, char *err, size_t errlen)
{
    if (!zmq_has("curve")) {
        snprintf(err, errlen,
                 "this libzmq was built without CURVE security; install a libzmq "
                 "with libsodium support (Debian: libzmq5)");
        return NULL;
    }
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    broker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->now_ms = (int64_t)wire_now_ms();
    self->peers = zhashx_new();
    zhashx_set_destructor(self->peers, s_peer_destroy);
    self->frame_cap = WIRE_FRAME_MAX;
    self->frame_buf = malloc(self->frame_cap);
    self->inbound = calloc(config->max_batch ? config->max_batch : 1, sizeof *self->inbound);
    self->submitted = calloc(config->max_batch ? config->max_batch : 1, sizeof *self->submitted);
    self->verifier = verifier_new(config->verify_threads, config->max_batch);
    if (!self->frame_buf || !self->inbound || !self->submitted || !self->verifier) {
        snprintf(err, errlen, "out of memory (or cannot start %u verifier threads)",
                 config->verify_threads);
        goto fail;
    }
    char why[4800];
    self->keys = keyfile_load(config->keys, why, sizeof why);
    if (!self->keys) {
        snprintf(err, errlen, "broker keys: %s", why);
        goto fail;
    }
    self->partners =
        partners_load(config->certificates, self->now_ms, s_report_cert, NULL, why, sizeof why);
    if (!self->partners) {
        snprintf(err, errlen, "partner certificates: %s (check with 'hartslag keys verify %s')",
                 why, config->certificates);
        goto fail;
    }
    if (broker_keys_check(self->keys, config->keys, self->partners, err, errlen) != 0)
        goto fail;
    agreements_errors_t *errors = NULL;
    self->agreements = agreements_history_read(config->agreements, &self->agreements_file,
                                               &self->agreements_file_len, &errors);
    if (!self->agreements) {
        const agreements_error_t *first = errors ? agreements_errors_at(errors, 0) : NULL;
        snprintf(err, errlen, "agreements %s:%u:%u: %s (check with 'hartslag agreements check')",
                 config->agreements, first ? first->line : 0, first ? first->column : 0,
                 first ? first->message : "cannot be read");
        agreements_errors_destroy(&errors);
        goto fail;
    }
    /* The state directory holds the queue and the audit log: owner only. */
    if (mkdir(config->state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state directory %s: %s", config->state_dir,
                 strerror(errno));
        goto fail;
    }
    self->store = broker_store_open(config->store, why, sizeof why);
    if (!self->store) {
        snprintf(err, errlen, "%s (does the state directory %s exist and is it writable?)", why,
                 config->state_dir);
        goto fail;
    }
    if (s_become_active(self, err, errlen) != 0)
        goto fail;
    if (s_agreements_at_start(self, err, errlen) != 0)
        goto fail;
    /* Without it SQLite's automatic checkpoint (10,000 pages) still runs,
       inside a commit: slower under load, never wrong. */
    if (broker_store_checkpoints_start(self->store, WAL_CHECK_EVERY_MS, WAL_CHECKPOINT_BYTES, why,
                                       sizeof why) != 0)
        log_event(HLOG_WARN, "wal_checkpointer_unavailable", "reason", why, NULL);
    char origin[CHECKPOINT_NAME_MAX + 1];
    audit_log_origin_for(agreements_partnership(self->agreements), origin, sizeof origin);
    /* the store's connection: the audit records commit with the signal */
    self->audit = audit_log_open(broker_store_db(self->store), origin, true, why, sizeof why);
    if (!self->audit) {
        snprintf(err, errlen, "audit log in %s: %s", config->store, why);
        goto fail;
    }
    self->match = match_open(self->store, why, sizeof why);
    if (!self->match) {
        snprintf(err, errlen, "match index in %s: %s", config->store, why);
        goto fail;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    self->auth_limit = auth_limit_new();
    if (!self->router || !self->auth_limit) {
        snprintf(err, errlen, "cannot create the broker socket");
        goto fail;
    }
    /* ZAP before the bind: without a handler libzmq would admit any CURVE
       client. The gate also watches the handshakes that fail before ZAP. */
    self->gate = auth_gate_new(self->router, "hartslag", why, sizeof why);
    if (!self->gate) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    zsock_set_zap_domain(self->router, "hartslag");
    zsock_set_curve_server(self->router, 1);
    zsock_set_curve_secretkey_bin(self->router, keyfile_curve_secret(self->keys));
    zsock_set_curve_publickey_bin(self->router, keyfile_curve_public(self->keys));
    /* libzmq applies the limit to the CURVE-encrypted message: leave room for
       its box overhead, so a frame just over WIRE_FRAME_MAX is still read and
       answered (wire_unpack_frame refuses it) instead of cutting the link. */
    zsock_set_maxmsgsize(self->router, (int)WIRE_FRAME_MAX + 256);
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_sndhwm(self->router, 100000);
    zsock_set_rcvhwm(self->router, 100000);
    zsock_set_heartbeat_ivl(self->router, 2000);
    zsock_set_heartbeat_timeout(self->router, 6000);
    zsock_set_linger(self->router, 1000);
    zsock_set_rcvtimeo(self->router, 0);
    if (zsock_bind(self->router, "%s", config->bind) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s (is another broker running there?)", config->bind,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    char *endpoint = zsock_last_endpoint(self->router);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint ? endpoint : config->bind);
    free(endpoint);
    self->control = broker_control_new(config->state_dir, err, errlen);
    if (!self->control)
        goto fail;
    self->started_ms = self->now_ms;
    return self;
fail:
    broker_destroy(&self);
    return NULL;
}

void broker_destroy(broker_t **self_p)
{
    if (self_p && *self_p) {
        broker_t *self = *self_p;
        broker_control_destroy(&self->control);
        zsock_destroy(&self->router);
        auth_gate_destroy(&self->gate); /* after the router: it may still ask */
        auth_limit_destroy(&self->auth_limit);
        zhashx_destroy(&self->peers);
        active_destroy(&self->active);
        match_destroy(&self->match);
        audit_log_destroy(&self->audit);
        broker_store_destroy(&self->store);
        agreements_destroy(&self->agreements);
        agreements_destroy(&self->start_refused);
        free(self->agreements_file);
        partners_destroy(&self->partners);
        keyfile_destroy(&self->keys);
        for (size_t i = 0; i < self->n_replies; i++) {
            free(self->replies[i].bytes);
            zframe_destroy(&self->replies[i].routing);
        }
        free(self->replies);
        verifier_destroy(&self->verifier);
        arena_free(&self->arena);
        free(self->inbound);
        free(self->submitted);
        free(self->frame_buf);
        free(self);
        *self_p = NULL;
    }
}

const char *broker_endpoint(const broker_t *self)
{
    return self->endpoint;
}

int broker_run(broker_t *self)
{
    zpoller_t *poller =
        zpoller_new(self->router, auth_gate_zap(self->gate), auth_gate_monitor(self->gate),
                    broker_control_socket(self->control), NULL);
    if (!poller)
        return -1;
    char partners[12];
    snprintf(partners, sizeof partners, "%zu", partners_count(self->partners));
    log_event(HLOG_INFO, "started", "endpoint", self->endpoint, "partners", partners, NULL);
    int failures = 0;
    while (!s_stop) {
        /* A transaction left open by an acks-only turn is committed by the
           next turn, at the latest ACK_COMMIT_DELAY_MS later. */
        void *which = zpoller_wait(poller, self->in_transaction ? ACK_COMMIT_DELAY_MS : TICK_MS);
        if (s_stop)
            break;
        if (s_turn(self, which != NULL, false) == 0)
            failures = 0;
        else if (++failures > 0)
            zclock_sleep(failures < 10 ? 10 * failures : 100); /* let the disk recover */
        broker_control_serve(self->control, s_status, self);
    }
    /* Finish the batch in hand: whatever is already read is committed above;
       one last turn answers what arrived meanwhile without blocking. */
    if (self->lost_lock) { /* another broker may be writing: not one more statement */
        zpoller_destroy(&poller);
        return -1;
    }
    s_turn(self, true, true);
    zpoller_destroy(&poller);
    log_event(HLOG_INFO, "stopped", NULL);
    return 0;
}
