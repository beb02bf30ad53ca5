/*  daemon_internal: the daemon's state, shared by its files:
      daemon.c    life cycle, event loop, timers, reload
      link.c      the broker connection: frames in and out (docs/protocol.md)
      inbound.c   a delivered signal: verify, check, open, store, ack
      outbound.c  a new signal: pseudonymise, pre-check, seal, outbox, submit;
                  withdrawals
      control.c   the control socket (docs/daemon.md, "Control protocol")
      hooks.c     running the hook for stored signals, purging the inbox
      checkpoints.c  audit checkpoints: verify, keep, cosign (or keep evidence)
      inclusion.c    our records in the broker's log, proven before we cosign
      pseudonymise.c the pseudonym service: subjects blinded, evaluated,
                     checked; signals waiting for their pseudonym
    Not a public interface: only clients/daemon/ includes it.
*/
#ifndef HARTSLAG_DAEMON_INTERNAL_H
#define HARTSLAG_DAEMON_INTERNAL_H

#include "daemon.h"
#include "hook.h"
#include "request.h"
#include "store.h"
#include "strbuf.h"
#include "subject_cache.h"

#include "agreements.h"
#include "cert.h"
#include "checkpoint.h"
#include "envelope.h"
#include "keyfile.h"
#include "partners.h"
#include "pseudonym_client.h"
#include "wire.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define DAEMON_HEARTBEAT_MS 2000            /* protocol Heartbeat to the broker */
#define DAEMON_HELLO_RETRY_MS 200           /* Hello again while no connection takes it */
#define DAEMON_SILENCE_MS 6000              /* nothing heard this long: not connected, send Hello */
#define DAEMON_RESUBMIT_MS 5000             /* resubmit pending outbox entries */
#define DAEMON_NOTICE_RETRY_MS 5000         /* ask again for a notice we could not store */
#define DAEMON_TICK_MS 100                  /* poll timeout; hook reaping granularity */
#define DAEMON_WAITERS_MAX 64               /* CLI requests waiting for the broker */
#define DAEMON_WATCHERS_MAX 64              /* `hartslag watch` clients */
#define DAEMON_WATCH_TTL_MS 35000           /* a watcher that did not renew is dropped */
#define DAEMON_CONTROL_MSG_MAX (256 * 1024) /* one control request */
#define DAEMON_HOOK_BACKOFF_MS 2000u        /* first retry of a failed hook */
#define DAEMON_HOOK_BACKOFF_MAX_MS 3600000u
#define DAEMON_VALID_DAYS_DEFAULT 90 /* a signal lapses after this unless --valid-days */
#define DAEMON_VALID_DAYS_MAX 730
#define DAEMON_BATCH_MAX 256 /* Deliver / Accepted frames held for one commit */
#define DAEMON_SENDS_MAX 64  /* control `send` requests held for one commit */

#define DAEMON_WELCOME_WAIT_MS 5000 /* handshake done, no Welcome this long: say so */

/* Why the broker link is down, as the socket monitor tells it (link.c). */
typedef enum {
    LINK_OK,               /* no problem known */
    LINK_UNREACHABLE,      /* TCP connect refused or timed out: broker down, wrong endpoint */
    LINK_KEY_REFUSED,      /* the broker's ZAP refused our CURVE key: it does not know us */
    LINK_HANDSHAKE_FAILED, /* the CURVE handshake failed: wrong broker_cert, or not a broker */
    LINK_NO_WELCOME,       /* handshake done, but no Welcome to our Hello */
} link_problem_t;

typedef enum {
    WAIT_OUTCOME,   /* `send --wait`: Accepted / Denied */
    WAIT_WITHDRAW,  /* `withdraw`: WithdrawResult */
    WAIT_ALERT_ACK, /* `alert-ack`: AlertAckResult (signal_id holds the alert id) */
    WAIT_CASE,      /* `case` steps: CaseResult (signal_id holds the step's id) */
} wait_kind_t;

/* A CLI request parked until the broker answers. */
typedef struct {
    zframe_t *routing;            /* control socket routing id; NULL = free slot */
    wait_kind_t kind;             /* what it waits for */
    char signal_id[STORE_ID_HEX]; /* which signal */
    char case_id[STORE_ID_HEX];   /* WAIT_CASE: the case the step is about */
    char verb[16];                /* WAIT_CASE: the step ("open", ...) */
    uint64_t deadline_ms;         /* answer "timeout" after this */
} waiter_t;

/*  The turn transaction (daemon.c). The frames and requests of one loop
    turn that write to the store (Deliver, Accepted, control `send`) share
    one transaction, each in its own savepoint, and one commit (one fsync)
    at daemon_flush. What may only happen once their rows are durable waits
    in the queues below until then: DeliveryAcks (DESIGN §8), watcher
    events, "ok ID" answers and Submits. A failed commit sends no ack and
    answers every waiting `send` with an error. */

/* A DeliveryAck (and what follows it) waiting for the commit. */
typedef struct {
    uint8_t id[WIRE_SIGNAL_ID_BYTES]; /* the signal id */
    bool has_id;                      /* false: the header was unreadable */
    bool stored;                      /* ACK_STORED, else ACK_REJECTED */
    char reason[128];                 /* ACK_REJECTED: the reason token */
    bool received;                    /* a new inbox row: log it, tell the watchers */
    char signal_id[STORE_ID_HEX];     /* hex id, for the log */
    strbuf_t log;                     /* the rest of the signal_received log line */
    strbuf_t json, line;              /* the watcher event (content: wiped) */
} pending_ack_t;

/* An Accepted from the broker: written at daemon_flush (outbound_write),
   answered to `send --wait` after the commit. */
typedef struct {
    char signal_id[STORE_ID_HEX]; /* hex id */
    bool updated;                 /* the outbox entry moved to accepted */
    bool known;                   /* the outbox holds the entry */
    uint64_t accepted_ms;         /* the broker's acceptance time */
    uint64_t audit_index;         /* the broker's audit index */
} pending_accept_t;

/* A new outbox entry, submitted once committed. */
typedef struct {
    char signal_id[STORE_ID_HEX]; /* hex id */
    uint8_t *sealed;              /* packed SealedSignal (owned) */
    size_t sealed_len;            /* its length */
    strbuf_t log;                 /* the rest of the signal_sent log line */
} pending_submit_t;

/* A control answer to a `send`, held so that answers leave in request
   order and "ok ID" only after the commit. */
typedef struct {
    zframe_t *routing; /* the client */
    char *frames[3];   /* the answer (owned) */
    size_t n_frames;   /* how many */
    bool needs_commit; /* "ok ID": becomes an error when the commit fails */
} pending_reply_t;

/* A `hartslag watch` client. */
typedef struct {
    zframe_t *routing; /* routing id; NULL = free slot */
    bool json;         /* JSON lines, else text lines */
    uint64_t seen_ms;  /* last renewal */
} watcher_t;

/* A `case open --subject-*` waiting for its pseudonym (case_open.c). */
#define CASE_OPENS_MAX 16            /* opens waiting at once */
#define CASE_OPEN_PSEUDONYM_MS 8000u /* then answered "no pseudonym", nothing opened */
typedef struct {
    request_t req;        /* the request, owned (it holds the identifier); routing NULL = free */
    uint64_t deadline_ms; /* answer with an error after this */
    int slot;             /* its slot in its request's batch; -1 not in flight */
    int flight;           /* that request (index into daemon_t.flights) */
} case_open_wait_t;

/* One request to the pseudonym service (pseudonymise.c). Two may be in
   flight: the daemon blinds and checks one batch while the service
   evaluates the other, on two cores (docs/pseudonyms.md §9). */
#define PSEUDONYM_FLIGHTS 2
typedef struct {
    pseudonym_batch_t *batch;               /* its subjects, blinds and request id */
    char ids[OPRF_BATCH_MAX][STORE_ID_HEX]; /* the waiting signal of each slot; "" for a
                                               case open (case_open.c) */
    uint64_t deadline_ms;                   /* in flight until then; 0 free */
} pseudonym_flight_t;

/*  Invariants: keys, keyring, partners, agreements, store, broker and
    control are always valid while the daemon lives; so are service,
    subject_cache and each flight's batch (pseudonymise.c); `connected` is true only while
    something was heard from the broker within DAEMON_SILENCE_MS after a
    Welcome. */
struct daemon_t {
    daemon_settings_t settings;              /* resolved configuration */
    keyfile_t *keys;                         /* our secret keys */
    envelope_keyring_t *keyring;             /* box key + shared keys */
    partners_t *partners;                    /* partner certificates */
    agreements_t *agreements;                /* our copy of the agreements */
    cert_t broker_cert;                      /* the broker's certificate */
    store_t *store;                          /* outbox, inbox, audit */
    zsock_t *broker;                         /* DEALER to the broker */
    zsock_t *control;                        /* ROUTER, local control socket */
    char control_path[DAEMON_PATH_MAX + 32]; /* its file */
    int lock_fd;                             /* flock on STATE_DIR/hartslagd.lock */
    hook_t *hook;                            /* hook runner, NULL when no hook */
    bool hook_for_alert;                     /* the running hook is for an alert */
    uint32_t hook_alert_attempts;            /* ...which had failed this often before */

    bool connected;              /* see invariant */
    uint64_t started_ms;         /* daemon start */
    uint64_t last_heard_ms;      /* last frame from the broker */
    uint64_t last_hello_ms;      /* last Hello sent */
    bool hello_sent;             /* the last Hello left the socket */
    uint64_t last_heartbeat_ms;  /* last Heartbeat sent */
    uint64_t unproven_since_ms;  /* first newer checkpoint without a usable proof, 0 if none */
    uint64_t unproven_count;     /* checkpoints offered without one since then */
    uint64_t unproven_logged_ms; /* last checkpoint_unproven log line */
    uint64_t unproven_hello_ms;  /* last Hello sent to correct the broker's view */
    uint64_t last_resubmit_ms;   /* last resubmission pass */
    uint64_t last_purge_ms;      /* last retention pass */
    uint64_t next_hook_check_ms; /* when to look for a due hook again */
    uint64_t welcome_ms;         /* last Welcome */
    uint64_t broker_agreements_version;               /* what the broker enforces */
    char broker_agreements_hash[AGREEMENTS_HASH_HEX]; /* its SHA-256 in hex; "" when not told */
    char last_error[256];                             /* last problem worth showing in status */
    uint64_t last_error_ms;                           /* when */

    zsock_t *monitor;             /* PAIR: the broker DEALER's socket monitor events */
    link_problem_t link_problem;  /* why the link is down; LINK_OK when not known */
    uint64_t link_problem_ms;     /* since when */
    uint64_t handshake_ms;        /* a handshake not yet answered by Welcome; 0 none */
    bool link_tcp_up;             /* TCP was connected since the last connect retry */
    uint64_t notice_retry_ms;     /* send Hello then: a notice was not stored; 0 none */
    int64_t hook_event_seq;       /* the running hook is for this hook event; 0 not */
    uint32_t hook_event_attempts; /* ...which had failed this often before */
    char hook_event_kind[16];     /* ...of this kind (withdrawn, purged) */

    waiter_t waiters[DAEMON_WAITERS_MAX];    /* parked CLI requests */
    watcher_t watchers[DAEMON_WATCHERS_MAX]; /* watch clients */

    bool txn_open;                              /* the turn transaction is open */
    char txn_error[256];                        /* why the last one failed */
    pending_ack_t acks[DAEMON_BATCH_MAX];       /* inbound.c */
    size_t n_acks;                              /* used */
    pending_accept_t accepts[DAEMON_BATCH_MAX]; /* outbound.c */
    size_t n_accepts;                           /* used */
    size_t n_accepts_written;                   /* of those, written (outbound_write) */
    pending_submit_t submits[DAEMON_SENDS_MAX]; /* outbound.c */
    size_t n_submits;                           /* used */
    pending_reply_t replies[DAEMON_SENDS_MAX];  /* control.c */
    size_t n_replies;                           /* used */
    struct inclusion_t *inclusion;              /* inclusion.c: records to prove */

    /* pseudonymise.c (issue 17) */
    zsock_t *service;                              /* DEALER to the pseudonym service */
    cert_t service_cert;                           /* its certificate */
    pseudonym_service_key_t service_key;           /* its OPRF public key and version */
    subject_cache_t *subject_cache;                /* recent pseudonyms, memory only */
    pseudonym_flight_t flights[PSEUDONYM_FLIGHTS]; /* requests out, or free */
    uint64_t service_next_ms;                      /* do not ask before this */
    uint64_t service_backoff_ms;                   /* the next wait after a failure */
    uint64_t service_down_since_ms;                /* first unanswered request; 0 answering */
    char service_problem[200];                     /* why no pseudonyms now; "" none */
    bool pseudonyms_due;                           /* a signal began waiting: ask now */
    uint64_t service_heartbeat_ms;                 /* last Heartbeat to the service */
    uint64_t service_scan_ms;                      /* last look for waiting signals */
    case_open_wait_t case_opens[CASE_OPENS_MAX];   /* case_open.c: opens waiting for it */
};

/* daemon.c */
uint64_t daemon_now_ms(void);
void daemon_set_error(daemon_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts one item of the turn transaction (opening it when needed): 0, or
   -1 when the store failed (nothing of the item is written). */
int daemon_item_begin(daemon_t *self);
/* Ends the item: `ok` keeps its writes, else they are undone. True when
   they are kept (to become durable at daemon_flush). If SQLite ended the
   whole transaction, everything waiting is treated as not committed. */
bool daemon_item_end(daemon_t *self, bool ok);
/* Commits the turn transaction, then sends what waited for it (or, when
   the commit failed, no ack and an error answer). Call before anything
   that must see, or must follow, the turn's writes. 0 when committed (or
   nothing was open), -1 when the commit failed. */
int daemon_flush(daemon_t *self);

/* link.c */
int link_connect(daemon_t *self, char *err, size_t errlen);
/* Reads the broker socket's monitor events: connection refused, handshake
   refused or failed, and logs each change of problem once. */
void link_monitor(daemon_t *self);
/* Time-based link checks (no Welcome after a handshake). */
void link_tick(daemon_t *self, uint64_t now_ms);
/* The link problem as a code ("broker_unreachable", ...; NULL for none)
   and a one-line fix into `fix`. */
const char *link_problem_code(const daemon_t *self, char *fix, size_t fixlen);
int link_send(daemon_t *self, Hartslag__Frame *frame);
/* Sends Hello; false when the socket had no connection to take it. */
bool link_send_hello(daemon_t *self);
void link_send_heartbeat(daemon_t *self);
/* Receives and handles what the broker sent (link_frame for each frame). */
void link_handle(daemon_t *self);
/* Handles the bytes of one frame from the broker: unpack, then dispatch.
   Also the entry point of tests/fuzz/fuzz_daemon_frame.c. */
void link_frame(daemon_t *self, const uint8_t *data, size_t size);

/* checkpoints.c */
void checkpoints_handle(daemon_t *self, const Hartslag__Checkpoint *message);
/* Sends our cosignature of `cp` (verified, stored, our records proven). */
void checkpoints_cosign(daemon_t *self, const checkpoint_t *cp);

/* inclusion.c (issue 18 A2) */
typedef struct inclusion_t inclusion_t;
int inclusion_open(daemon_t *self, char *err, size_t errlen);
void inclusion_close(daemon_t *self);
/* In the item that writes the outbox entry: one expected `accepted` record
   per recipient of the packed SealedSignal. 0 / -1. */
int inclusion_expect_sent(daemon_t *self, const uint8_t *sealed, size_t len);
/* In the item that stores or refuses a delivered signal: the expected
   `delivered` record. 0 / -1. */
int inclusion_expect_received(daemon_t *self, const Hartslag__SignalHeader *hdr);
/* In the item that records the broker's Accepted: the `accepted` records'
   indexes. 0 / -1. */
int inclusion_accepted(daemon_t *self, const char *signal_id, uint64_t audit_index);
/* True when `cp` may be cosigned now: none of our records is due in it.
   Otherwise asks the broker for them (the cosignature follows their
   proofs) or, when one was refused at this size, never. */
bool inclusion_ready(daemon_t *self, const checkpoint_t *cp);
void inclusion_handle(daemon_t *self, const Hartslag__InclusionProof *proof);
/* Records still to be proven; records refused (evidence kept). */
int inclusion_counts(daemon_t *self, uint64_t *waiting, uint64_t *refused);

/* pseudonymise.c */
int pseudonymise_open(daemon_t *self, char *err, size_t errlen);
void pseudonymise_close(daemon_t *self);
/* The pseudonym of a subject from the cache: 1 found (written to `out`), 0
   not cached (the signal waits for the service), -1 an invalid identifier
   (*error a static text without the identifier). */
int pseudonymise_cached(daemon_t *self, pseudonym_kind_t kind, const char *id,
                        unsigned char out[PSEUDONYM_BYTES], const char **error);
/* Reads what the service sent. */
void pseudonymise_handle(daemon_t *self);
/* Asks for the waiting signals' pseudonyms; notices a silent service. */
void pseudonymise_tick(daemon_t *self, uint64_t now_ms);
/* For status: the service's problem ("" none) and since when. */
const char *pseudonymise_problem(const daemon_t *self, uint64_t *since_ms);
/* True while a request to the service is in flight. */
bool pseudonymise_in_flight(const daemon_t *self);

/* inbound.c */
/* A notice (Alert, Withdraw) could not be stored and was not acknowledged.
   The broker resends notices only after a Hello, so one is sent once the
   retry delay has passed (daemon.c timers): retried like a signal. */
void inbound_notice_lost(daemon_t *self);
void inbound_deliver(daemon_t *self, const Hartslag__Deliver *deliver);
void inbound_withdraw(daemon_t *self, const Hartslag__Withdraw *withdraw);
void inbound_alert(daemon_t *self, const Hartslag__Alert *alert);
/* Sends the waiting DeliveryAcks and watcher events (`committed`), or drops
   them (the broker redelivers). */
void inbound_flush(daemon_t *self, bool committed);

/* outbound.c */
typedef struct {
    const char *to;            /* comma-separated orgs */
    const char *signal_type;   /* token */
    const char *purpose;       /* token */
    const char *subject_kind;  /* bsn, address, case */
    const char *subject;       /* the identifier (never logged) */
    const char **field_names;  /* content field names */
    const char **field_values; /* and values */
    size_t n_fields;           /* number of fields */
    const char *free_text;     /* or NULL */
    const char *user;          /* professional id */
    const char *urgency;       /* routine, priority, urgent */
    unsigned valid_days;       /* 1..DAEMON_VALID_DAYS_MAX */
    /* A share into a case conference (cases.c): the case's id and its
       subject's pseudonym, ready; the case's rule was checked instead of
       `agreements:`. NULL for a signal. */
    const uint8_t *case_id;
    const uint8_t *pseudonym;
    const uint8_t *case_item;  /* 16 bytes: the plan's action of a case text, or NULL */
    const uint8_t *reshare_of; /* 16 bytes: the signal a re-share repeats, or NULL */
} send_request_t;

/* Outcome of outbound_send for the CLI. */
typedef struct {
    char signal_id[STORE_ID_HEX]; /* the new id on success */
    const char *state;            /* on success: "pending", or "pseudonym" (waiting for it) */
    char code[64];                /* error code: usage, denied, unknown_partner, internal... */
    char message[1024];           /* human text (never the identifier or content) */
    char detail[2048];            /* denied: "org=reason org=reason" */
} send_result_t;

int outbound_send(daemon_t *self, const send_request_t *req, send_result_t *result);
/* Seals a waiting signal's draft with its pseudonym (pseudonymise.c), in
   an item of the turn transaction: the outbox entry becomes pending and is
   submitted after the commit. 0, or -1 (logged; the entry keeps waiting,
   or, when the draft cannot be sealed at all, is marked failed). */
int outbound_seal_waiting(daemon_t *self, const char *signal_id,
                          const unsigned char pseudonym[PSEUDONYM_BYTES]);
/* Opens a waiting entry's draft (sealed to our box key): the caller frees
   it with hartslag__signal_draft__free_unpacked after wiping. NULL when it
   cannot be opened. */
Hartslag__SignalDraft *outbound_open_draft(daemon_t *self, const uint8_t *sealed, size_t len);
/* Wipes the draft's identifier and content, then frees it. */
void outbound_free_draft(Hartslag__SignalDraft **draft_p);
void outbound_resubmit(daemon_t *self);
void outbound_accepted(daemon_t *self, const Hartslag__Accepted *accepted);
/* Writes the turn's Accepted into the turn transaction (daemon_flush);
   true when there was something to write. */
bool outbound_write(daemon_t *self);
/* True when Accepted wait to be written. */
bool outbound_unwritten(const daemon_t *self);
void outbound_denied(daemon_t *self, const Hartslag__Denied *denied);
void outbound_expired(daemon_t *self, const Hartslag__Expired *expired);
/* Records what a recipient did with a signal we sent, then acknowledges
   the broker's notice (not when the store failed: it comes again). */
void outbound_outcome(daemon_t *self, const Hartslag__DeliveryOutcome *outcome);
/* Queues a DeliveryAck for after the turn's commit (inbound.c). */
pending_ack_t *inbound_queue_ack(daemon_t *self, const ProtobufCBinaryData *id, bool stored,
                                 const char *reason);
void outbound_withdraw_result(daemon_t *self, const Hartslag__WithdrawResult *result);
/* Submits the new entries and answers `send --wait` waiters (`committed`),
   or forgets them. */
void outbound_flush(daemon_t *self, bool committed);
/* Starts a withdrawal: 0, or -1 with code/message set. */
int outbound_withdraw(daemon_t *self, const char *signal_id, const char *reason,
                      send_result_t *result);

/* control.c */
int control_bind(daemon_t *self, char *err, size_t errlen);
/* Receives and handles the waiting control requests (control_request). */
void control_handle(daemon_t *self);
/* Handles one request message as read from the control socket (routing
   id, then 1..200 text frames); takes and destroys *msg_p, wiping it.
   Also the entry point of tests/fuzz/fuzz_control.c. */
void control_request(daemon_t *self, zmsg_t **msg_p);
void control_tick(daemon_t *self, uint64_t now_ms);
/* The broker's verdict on our AlertAck for `alert_id` (NULL: whichever
   waits): answers the parked `alert-ack` (`refused` NULL: handled; else
   the reason token). */
void control_alert_verdict(daemon_t *self, const char *alert_id, const char *refused);
/* Tells parked requests for `signal_id` of `kind` that the broker answered. */
void control_resolve(daemon_t *self, wait_kind_t kind, const char *signal_id);
/* Pushes something new (a stored signal, an alert) to every watcher: JSON
   watchers get `json`, the others `text` (one line each, no newline). */
void control_notify(daemon_t *self, const char *json, const char *text);
/* For the other control handlers: answer frames, an error, an option. */
int control_answer(daemon_t *self, zframe_t *routing, const char *const *frames, size_t n);
void control_error(daemon_t *self, zframe_t *routing, const char *code, const char *message);
const char *control_opt(const request_t *req, const char *key);

/* case_agenda.c: `case op=agenda date=D`: the open cases scheduled on D,
   then those open too long, streamed as "item" frames. */
void cases_agenda(daemon_t *self, const request_t *req);

/* case_timer.c: flags, once, every case this daemon coordinates that is
   open longer than its rule's max_open_days (audit, hook, watchers). */
void case_timer_tick(daemon_t *self, uint64_t now_ms);

/* case_purge.c: deletes the rows of every case whose retention after its
   close (or our leaving) ended, audited, with a `purged` case event. */
void case_purge_tick(daemon_t *self, uint64_t now_ms);

/* cases.c: case conferences (issue 15). A CaseNotice is checked (every
   participant's state against its signed steps) and stored; `case`
   control requests take steps, answered once the broker's CaseResult
   came (cases_answer; `refused` NULL with w->deadline passed: no
   answer). */
void cases_notice(daemon_t *self, const Hartslag__CaseNotice *notice);
void cases_result(daemon_t *self, const Hartslag__CaseResult *result);
/* A step; an open about a subject identifier whose pseudonym is not at
   hand takes the request (*req is left empty) until the service answers
   (case_open.c). */
void cases_command(daemon_t *self, request_t *req);
/* Goes on with a parked open once its subject's pseudonym is known. */
void cases_open_resume(daemon_t *self, request_t *req, const uint8_t pseudonym[PSEUDONYM_BYTES]);

/* case_open.c: `case open --subject-bsn|address|case` (see there). */
/* True when the request names a subject identifier. */
bool case_open_names_subject(const request_t *req);
/* The pseudonym of the request's subject: 0 at hand (in `subject`), 1 the
   request was taken and waits for the service, -1 an error (code and
   message, never the identifier). */
int case_open_subject(daemon_t *self, request_t *req, uint8_t subject[PSEUDONYM_BYTES], char *code,
                      size_t codelen, char *message, size_t msglen);
/* Puts the waiting opens' subjects in the batch of request `flight`,
   being built (pseudonymise.c). */
void case_open_gather(daemon_t *self, int flight);
/* Request `flight` was answered: the opens in it go on. */
void case_open_answered(daemon_t *self, int flight, const uint8_t (*pseudonyms)[PSEUDONYM_BYTES]);
/* The requests failed (`problem`, without identifiers): the opens in
   them are answered with an error; nothing is opened. */
void case_open_failed(daemon_t *self, const char *problem);
/* Answers the opens that waited CASE_OPEN_PSEUDONYM_MS. */
void case_open_tick(daemon_t *self, uint64_t now_ms);
/* Wipes and drops every waiting open (the daemon stops). */
void case_open_close(daemon_t *self);
void cases_answer(daemon_t *self, waiter_t *w, const Hartslag__CaseResult *result);
/* A share into a case (`case op=share`): fills `sr` from the request and
   the case as this daemon verified it (its participants taking part now,
   but us, are the recipients; its rule decides the fields), with the
   strings in `buf`. 0, or -1 with an error code and message. */
typedef struct {
    char to[ENVELOPE_RECIPIENTS_MAX * 34];
    char purpose[65];
    char kind[65]; /* the case's rule */
    uint8_t case_id[16];
    uint8_t pseudonym[32];
} case_share_buf_t;
int cases_share_request(daemon_t *self, const request_t *req, send_request_t *sr,
                        case_share_buf_t *buf, char *code, size_t codelen, char *message,
                        size_t msglen);

/* case_texts.c: what this daemon says in a case (see there). */
/* Fills `sr` for a signal into case `case_hex`: recipients (everyone
   taking part now but us; with `only`, exactly those partners, each of
   whom must take part), the rule's purpose, the case's subject; type
   case_share. 0, or -1 with an error code and message. */
int case_texts_prepare(daemon_t *self, const char *case_hex, const char *only, send_request_t *sr,
                       case_share_buf_t *buf, char *code, size_t codelen, char *message,
                       size_t msglen);
/* Keeps a text of a step we are about to take, until the broker's verdict
   (case_texts_settle). kind: title, action_text, note. 0, -1. */
int case_texts_pending(daemon_t *self, const char *case_hex, const char *step_hex, const char *kind,
                       const char *item_hex, const char *user, const char *free_text);
/* Records what we shared (or re-shared) in a case, sent in `signal_id`. */
int case_texts_share_sent(daemon_t *self, const char *case_hex, const char *signal_id,
                          const char *kind, const char *item_hex, const char *user,
                          const char *fields_json, const char *free_text, const char *reshare_of);
/* Our step `step_hex` was recorded (`kept`: its texts go out to who takes
   part now) or refused (they are dropped). */
void case_texts_settle(daemon_t *self, const char *case_hex, const char *step_hex, bool kept);
/* `org` accepted in a case we coordinate: it gets the case's title. */
void case_texts_joined(daemon_t *self, const char *case_hex, const char *org);
/* A re-share (`case op=reshare`): fills `sr` from our earlier signal in
   the case, to the partners named. 0, or -1 with an error code and
   message. Clear `buf` with case_reshare_buf_clear in every case. */
typedef struct {
    case_share_buf_t share;
    const char *names[WIRE_FIELDS_MAX];
    const char *values[WIRE_FIELDS_MAX];
    size_t n_fields;
    char *fields_json; /* malloc'd */
    char *free_text;   /* malloc'd */
    char *pairs;       /* malloc'd: the strings names and values point into */
    size_t pairs_len;
    uint8_t reshare_of[16];
    uint8_t item[16];
    char kind[16];
    char signal_hex[33];
    char item_hex[33];
} case_reshare_buf_t;
int case_texts_reshare_request(daemon_t *self, const request_t *req, send_request_t *sr,
                               case_reshare_buf_t *buf, char *code, size_t codelen, char *message,
                               size_t msglen);
void case_reshare_buf_clear(case_reshare_buf_t *buf);
void control_close(daemon_t *self);
/* Sends the waiting `send` answers; "ok ID" becomes an error unless
   `committed`. */
void control_flush(daemon_t *self, bool committed);

/* hooks.c */
void hooks_tick(daemon_t *self, uint64_t now_ms);
void hooks_purge(daemon_t *self, uint64_t now_ms);
/* A signal from `sender` left the inbox (`kind` "withdrawn" or "purged",
   for `reason`): renders the event for the watchers into `json` / `text`
   (ids and reasons only, never content) and, with a hook, queues it for
   the hook in the open transaction. 0, or -1 when the store failed. */
int hooks_removed(daemon_t *self, const char *kind, const char *signal_id, const char *sender,
                  const char *reason, strbuf_t *json, strbuf_t *text);

/* Hex of a 16-byte id into `out`; "" when the length is wrong. */
void daemon_id_hex(const uint8_t *id, size_t len, char out[STORE_ID_HEX]);
/* Parses 32 hex digits; 0 / -1. */
int daemon_id_parse(const char *hex, uint8_t id[WIRE_SIGNAL_ID_BYTES]);

#endif
