/*  store: the daemon's durable state, one SQLite database (WAL,
    synchronous=FULL) at STATE_DIR/hartslagd.db:

      outbox  signals this organisation sent, with the sealed bytes until
              the broker has decided; state pseudonym (waiting for the
              pseudonym service; `sealed` then holds the SignalDraft sealed
              to our own box key) -> pending -> accepted | denied,
              accepted -> expired (a recipient never took it), and
              withdrawing -> withdrawn after `hartslag withdraw`
      inbox   signals received, decrypted (this is the partner's own case
              store), unique on signal_id; hook state per signal
      gone    tombstones of withdrawn and purged signals, so a redelivery
              is acknowledged but never stored again
      alerts  multi-agency alerts from the broker (metadata only)
      hook_events  what the hook must still be told about signals that
              left the inbox (withdrawn, purged): ids and reasons only
      audit   the local audit trail: metadata only, never content or BSN

    Invariants: a signal_id is in at most one of inbox and gone; every
    change to inbox or outbox is committed together with its audit row.
    Signal ids are 32 lower-case hex digits throughout.
*/
#ifndef HARTSLAG_DAEMON_STORE_H
#define HARTSLAG_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ID_HEX 33 /* 32 hex digits + NUL */

typedef struct store_t store_t;

/* One outbox entry. Strings are owned by the struct (store_outbox_clear). */
typedef struct {
    char signal_id[STORE_ID_HEX]; /* hex id */
    uint8_t *sealed;              /* packed SealedSignal (state pseudonym: the draft sealed to
                                     our box key); NULL once decided */
    size_t sealed_len;            /* its length */
    char *recipients;             /* comma-separated orgs */
    char *signal_type;            /* token */
    char *purpose;                /* token */
    char *sender_user;            /* professional who sent it */
    char *state;                  /* pseudonym, pending, accepted, denied, expired, withdrawing,
                                     withdrawn */
    char *reason;                 /* broker's reason (denied, expired, withdraw refused) */
    char *detail;                 /* per-recipient reasons, "org=reason org=reason" */
    char *withdraw_reason;        /* reason given to `hartslag withdraw` */
    uint64_t created_ms;          /* when sealed */
    uint64_t updated_ms;          /* last state change */
    uint64_t accepted_ms;         /* broker time of acceptance, 0 before */
    uint64_t audit_index;         /* broker audit index of 'accepted' */
    uint32_t submits;             /* how often it was sent to the broker */
    char *outcomes;               /* what recipients did, "org=stored@MS org=refused:REASON@MS"
                                     (broker time); NULL while none answered */
} store_outbox_t;

/* One inbox entry (a received, decrypted signal). Owned strings. */
typedef struct {
    char signal_id[STORE_ID_HEX]; /* hex id */
    char *sender;                 /* sending org */
    char *sender_user;            /* professional at the sender */
    char *signal_type;            /* token */
    char *purpose;                /* token */
    char *subject;                /* pseudonym, 64 hex digits */
    char *fields;                 /* content fields as a flat JSON object {"name":"value"} */
    char *free_text;              /* free text, or NULL */
    char *urgency;                /* routine, priority, urgent */
    char *agreement_id;           /* the agreement that allowed it here */
    uint64_t created_ms;          /* sender's clock */
    uint64_t valid_until_ms;      /* when the signal lapses */
    uint64_t accepted_ms;         /* broker's acceptance */
    uint64_t received_ms;         /* when we stored it */
    uint64_t retain_until_ms;     /* purge deadline */
    char *hook_state;             /* none, pending, done */
    uint32_t hook_attempts;       /* failed hook runs so far */
    uint64_t hook_next_ms;        /* earliest next hook run */
    /* Said in a case conference (issue 15; set once the entry is linked,
       store_case.h, store_case_text.h): the case, the plan's action it is
       about, the earlier signal it re-shares; NULL otherwise. */
    char *case_id;
    char *case_item;
    char *reshare_of;
} store_inbox_t;

/* A local audit event (metadata only). NULL strings are stored as NULL. */
typedef struct {
    const char *event;       /* sent, accepted, denied, received, rejected, ... */
    const char *signal_id;   /* hex id, or NULL */
    const char *counterpart; /* the other org(s), or NULL */
    const char *actor_user;  /* the professional, or NULL */
    const char *signal_type; /* or NULL */
    const char *purpose;     /* or NULL */
    const char *reason;      /* machine-readable reason, or NULL */
} store_audit_t;

/* Counts for `hartslag status`. */
typedef struct {
    uint64_t outbox_waiting;      /* pseudonym: waiting for the pseudonym service */
    uint64_t outbox_pending;      /* pending + withdrawing */
    uint64_t outbox_accepted;     /* accepted */
    uint64_t outbox_denied;       /* denied */
    uint64_t outbox_other;        /* expired, withdrawn */
    uint64_t recipients_queued;   /* recipients of accepted signals that did not answer yet */
    uint64_t recipients_stored;   /* recipients that stored a signal we sent */
    uint64_t recipients_refused;  /* recipients that refused one */
    uint64_t inbox;               /* live inbox entries */
    uint64_t inbox_hook_pending;  /* entries whose hook has not succeeded yet */
    uint64_t alerts;              /* alerts received */
    uint64_t checkpoint_size;     /* largest audit checkpoint held (verified, cosigned) */
    uint64_t checkpoint_evidence; /* inconsistent checkpoints refused and kept as evidence */
} store_counts_t;

/* Opens (creating when needed) the database in `dir`. NULL with the reason. */
store_t *store_open(const char *dir, char *err, size_t errlen);
void store_destroy(store_t **self_p);

/* Transactions (IMMEDIATE). 0 / -1. */
int store_begin(store_t *self);
/* A transaction whose commit is not fsynced (synchronous=NORMAL): only for
   writes that may be lost in a power cut because they are made again
   anyway (the broker's Accepted: the entry stays pending, is resubmitted
   and accepted again). WAL keeps the order, so a later durable commit
   makes it durable too. 0 / -1. */
int store_begin_lazy(store_t *self);
/* Copies the WAL into the database once it holds enough pages (a PASSIVE
   checkpoint; SQLite's automatic one is off). Call outside a transaction,
   after what waited for the commit has been sent. 1 done, 0 not due,
   -1 error (tried again later). */
int store_checkpoint(store_t *self);
/* Copies the whole WAL into the database and truncates the WAL file (a
   TRUNCATE checkpoint), so content deleted with secure_delete is gone from
   both files. store_commit calls it after a commit that removed an inbox
   entry (a withdrawal, a purge) and store_new once at start (a crash may
   have left such a WAL); when a reader or an open transaction blocks it,
   store_checkpoint retries it. 0 done, 1 pending, -1 error. */
int store_wipe_wal(store_t *self);
/* The open transaction removed content from a table of another module
   (a case's purge): the WAL is wiped after its commit, as for an inbox
   entry. */
void store_note_removed(store_t *self);
int store_commit(store_t *self);
void store_rollback(store_t *self);
/* True while a transaction is open (SQLite may end one by itself after
   some errors: disk full, I/O error). */
bool store_in_transaction(const store_t *self);
/* One item of a larger transaction: store_savepoint, then store_release
   to keep its writes or store_rollback_to to undo only them. 0 / -1. */
int store_savepoint(store_t *self);
int store_release(store_t *self);
void store_rollback_to(store_t *self);

/* The last SQLite error text (for logs; never holds content). */
const char *store_error(const store_t *self);

/* Appends an audit row with the current time. */
int store_audit(store_t *self, const store_audit_t *event);

/* ---- outbox */
int store_outbox_add(store_t *self, const store_outbox_t *entry);
/* Loads one entry: 1 found, 0 not found, -1 error. */
int store_outbox_get(store_t *self, const char *signal_id, store_outbox_t *out);
/* Sets state, reason and detail (NULL leaves reason/detail as they are).
   When `drop_sealed`, forgets the sealed bytes. */
int store_outbox_set_state(store_t *self, const char *signal_id, const char *state,
                           const char *reason, const char *detail, bool drop_sealed);
/* A waiting entry (state pseudonym) gets its sealed signal and becomes
   pending: 1, or 0 when it was no longer waiting (withdrawn), -1 error. */
int store_outbox_seal(store_t *self, const char *signal_id, const uint8_t *sealed, size_t len);
int store_outbox_set_accepted(store_t *self, const char *signal_id, uint64_t accepted_ms,
                              uint64_t audit_index);
/* The broker accepted the entry: a pending one becomes accepted, with its
   "accepted" audit record. 1 done, 0 not pending (or unknown), -1 error. */
int store_outbox_accept(store_t *self, const char *signal_id, uint64_t accepted_ms,
                        uint64_t audit_index);
int store_outbox_set_withdrawing(store_t *self, const char *signal_id, const char *reason);
/* Counts one more Submit of the entry. Inside a transaction it is written
   there; outside it is kept in memory and written with the next commit
   (never a commit of its own: the counter is informational, and a crash
   may lose the last few counts). store_outbox_get/each include it. */
int store_outbox_count_submit(store_t *self, const char *signal_id);
/* Calls `fn` for every entry in `state` (oldest first) until it returns
   non-zero. */
/* Records that `recipient` stored (or refused, `reason`) signal_id, at
   broker time at_ms. 1 when new, 0 when already known (a repeated notice),
   -1 on error. */
int store_outcome_add(store_t *self, const char *signal_id, const char *recipient, bool stored,
                      const char *reason, uint64_t at_ms);

typedef int(store_outbox_fn)(void *arg, const store_outbox_t *entry);
int store_outbox_each(store_t *self, const char *state, store_outbox_fn *fn, void *arg);
void store_outbox_clear(store_outbox_t *entry);

/* ---- inbox */
/* 0 unknown, 1 in the inbox, 2 gone (withdrawn or purged), -1 error.
   `why` (when not NULL, 16 bytes) receives the tombstone reason. */
int store_inbox_known(store_t *self, const char *signal_id, char why[16]);
int store_inbox_add(store_t *self, const store_inbox_t *entry);
/* 1 found, 0 not, -1 error. */
int store_inbox_get(store_t *self, const char *signal_id, store_inbox_t *out);
/* Removes an entry and leaves a tombstone `why` ("withdrawn", "purged").
   Returns 1 when an entry was removed, 0 when there was none (a tombstone
   is written anyway), -1 on error. */
int store_inbox_remove(store_t *self, const char *signal_id, const char *why);
/* Every entry, newest first (`limit` 0 = all). */
typedef int(store_inbox_fn)(void *arg, const store_inbox_t *entry);
int store_inbox_each(store_t *self, size_t limit, store_inbox_fn *fn, void *arg);
/* Entries whose retention or validity ended at `now_ms`. */
int store_inbox_each_expired(store_t *self, uint64_t now_ms, store_inbox_fn *fn, void *arg);
/* The oldest entry whose hook is due at `now_ms`: 1 found, 0 none. */
int store_inbox_next_hook(store_t *self, uint64_t now_ms, store_inbox_t *out);
int store_inbox_hook_result(store_t *self, const char *signal_id, bool ok, uint32_t attempts,
                            uint64_t next_ms);
void store_inbox_clear(store_inbox_t *entry);

/* ---- alerts */
int store_alert_add(store_t *self, const char *alert_id, const char *rule_id, const char *subject,
                    const char *participants_json, const char *legal_basis, uint64_t raised_ms,
                    const char *state, const char *lead_org, const char *hook_json);
/* The next alert whose hook is due: 1 (id and a new JSON string the caller
   frees, attempts), 0 none, -1 error. */
int store_alert_next_hook(store_t *self, uint64_t now_ms, char id[STORE_ID_HEX], char **json,
                          uint32_t *attempts);
int store_alert_hook_result(store_t *self, const char *alert_id, bool ok, uint32_t attempts,
                            uint64_t next_ms);
/* The participants (JSON array, as received) of a held alert: 1 (*json a
   new string the caller frees), 0 not held, -1 error. */
int store_alert_participants(store_t *self, const char *alert_id, char **json);
/* Calls fn with each alert as a JSON object, newest first. */
typedef int(store_json_fn)(void *arg, const char *json);
int store_alert_each(store_t *self, store_json_fn *fn, void *arg);

/* ---- hook events: a signal left the inbox (withdrawn, purged) and the
   hook must tell the case system; ids and reasons only, never content. */
typedef struct {
    int64_t seq;                  /* row id */
    char signal_id[STORE_ID_HEX]; /* the signal it is about */
    char *json;                   /* the event, one JSON object (owned; free) */
    uint32_t attempts;            /* failed hook runs so far */
    char kind[16];                /* withdrawn, purged */
} store_hook_event_t;

/* Queues an event (in the caller's transaction, with the change it tells). */
int store_hook_event_add(store_t *self, const char *signal_id, const char *kind, const char *json);
/* The oldest event due at `now_ms`: 1 found (free out->json), 0 none, -1 error. */
int store_hook_event_next(store_t *self, uint64_t now_ms, store_hook_event_t *out);
/* `ok`: the event is done and removed; else retried from `next_ms`. */
int store_hook_event_result(store_t *self, int64_t seq, bool ok, uint32_t attempts,
                            uint64_t next_ms);
/* Events not yet taken by the hook, and the oldest one's creation time (0 when none). */
int store_hook_events_pending(store_t *self, uint64_t *count, uint64_t *oldest_ms);

/* Health (hartslag status): a small durable write (a row in `meta`), so a
   full disk or a failing fsync shows now rather than at the next signal.
   Call outside a transaction. 0, or -1 with SQLite's reason in `err`. */
int store_probe(store_t *self, char *err, size_t errlen);
/* What waits for the hook (signals, alerts, hook events) and the most
   failed runs of any of them. */
int store_hook_backlog(store_t *self, uint64_t *pending, uint32_t *max_attempts);

int store_counts(store_t *self, store_counts_t *counts);

/* Audit checkpoints (DESIGN §9). The latest held: 1 found (size, root
   filled), 0 none, -1 error. */
int store_checkpoint_latest(store_t *self, uint64_t *size, unsigned char root[32]);
int store_checkpoint_add(store_t *self, uint64_t size, const char *note, size_t note_len,
                         const unsigned char root[32]);
/* Keeps a refused checkpoint and what it was checked against. */
int store_checkpoint_evidence(store_t *self, const char *kind, uint64_t held_size,
                              uint64_t new_size, const char *note, size_t note_len,
                              const void *proof, size_t proof_len);

/* The database handle, for the tables of clients/daemon/expect.h that
   share it (and its transactions). Borrowed. */
struct sqlite3;
struct sqlite3 *store_db(store_t *self);

/* ---- read-only: the CLI's audit readers (hartslag audit ... --witness
   DB, audit checkpoints --out) read a daemon's database, or a copy of it,
   through these and never with SQL of their own (issue 16). */

/* Opens the database file `path` read-only: no schema is created and
   nothing is written. Only the reading calls below and store_counts /
   store_checkpoint_latest may be used. NULL with the reason in `err`. */
store_t *store_open_readonly(const char *path, char *err, size_t errlen);

/* The checkpoint notes held (kind "checkpoint"), then the refused ones
   kept as evidence (kind: why refused); a store older than the evidence
   table gives the held ones alone. store_notes_open: NULL when the
   database holds no checkpoints table (store_error). store_notes_next:
   1 with *kind, *note, *len borrowed until the next call, 0 at the end,
   -1 on error. */
typedef struct store_notes_t store_notes_t;
store_notes_t *store_notes_open(store_t *self);
int store_notes_next(store_notes_t *notes, const char **kind, const char **note, size_t *len);
void store_notes_close(store_notes_t **notes_p);

/* What the daemon says happened, for the officer's completeness check:
   its signals the broker accepted (counterparts: their recipients,
   comma-separated), the recipients that told it they stored one (one
   each), and what it received itself (counterparts NULL). `fn` gets the
   signal id (hex) and the counterparts; a non-zero return stops. A table
   an older store lacks gives no rows. 0, fn's return, or -1. */
typedef enum {
    STORE_EXCHANGE_SENT,      /* outbox entries accepted by the broker */
    STORE_EXCHANGE_STORED_AT, /* recipients that stored one of ours */
    STORE_EXCHANGE_RECEIVED,  /* inbox entries */
} store_exchange_t;
typedef int(store_exchange_fn)(void *arg, const char *signal_id, const char *counterparts);
int store_exchanges_each(store_t *self, store_exchange_t kind, store_exchange_fn *fn, void *arg);

/* Audit rows as JSON objects, newest first, at most `limit`. */
int store_audit_each(store_t *self, size_t limit, store_json_fn *fn, void *arg);

#endif
