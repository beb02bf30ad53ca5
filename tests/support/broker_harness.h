/*  broker_harness: a throwaway partnership for integration tests: keys and
    certificates for the broker and some partners in a temporary directory,
    an agreements file, a real hartslag-broker process on 127.0.0.1 with an
    ephemeral port, and raw CURVE clients that speak the wire protocol.
    Tests only; no Criterion calls in here (callers assert). */
#ifndef HARTSLAG_BROKER_HARNESS_H
#define HARTSLAG_BROKER_HARNESS_H

#include "hartslag.pb-c.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    char *root;            /* temporary directory, removed by bh_destroy */
    char certs[4200];      /* partner certificate directory */
    char keys[4200];       /* secret files: ORG.cert_secret */
    char state[4200];      /* broker state dir */
    char agreements[4200]; /* agreements.yaml */
    char config[4200];     /* broker.yaml */
    char log[4200];        /* broker stderr */
    char store[4300];      /* the broker's store location (bh_store) */
    pid_t pid;             /* broker process, 0 when not running */
    char endpoint[256];    /* where the broker listens */
    uint8_t broker_pk[32]; /* broker CURVE public key */

    /* The partnership's pseudonym service (issue 17): started by the first
       dh_new, or by bh_service_start. Its keys are ROOT/keys/BH_SERVICE_ORG.* */
    pid_t service_pid;          /* 0 when not running */
    bool service_started;       /* it was started once (dh_new then leaves it alone) */
    char service_endpoint[256]; /* where it listens (the port is kept across restarts) */
    char service_cert[4300];    /* its certificate (role pseudonym-service) */
    char service_oprf[4300];    /* its OPRF secret (tests compute expected pseudonyms) */
    char service_config[4200];  /* pseudonymd.yaml */
    char service_store[4200];   /* its SQLite store */
    char service_log[4200];     /* its stderr */
} bh_t;

#define BH_SERVICE_ORG "pseudoniemdienst"

/* The backend the suites run against (issue 16): SQLite in the state
   directory, or, when the environment says HARTSLAG_TEST_STORE=postgresql,
   a schema of its own in a private PostgreSQL cluster that the test
   binary starts before its first test (tests/support/pg_harness.h). The
   store location goes into broker.yaml as `store:` and is what tests give
   the audit tools as `--db`. */
bool bh_postgresql(void);

/* The broker's store location: "sqlite:STATE/broker.db" or
   "postgresql://...". Borrowed. */
const char *bh_store(const bh_t *self);

/* Runs `sql` (one or more statements) on the broker's store with the
   backend's command-line client (sqlite3 or psql), output as sqlite3
   prints it: one line per row, columns separated by '|'. The exit code
   of the client (0 ok), *out a new string (caller frees). */
int bh_query(const bh_t *self, const char *sql, char **out);

/* The same on the store at `location` ("sqlite:PATH", a bare PATH, or
   "postgresql://..."), e.g. a copy made by bh_store_copy. */
int bh_query_at(const char *location, const char *sql, char **out);

/* A consistent copy of the broker's store while the broker may be
   writing, for a test to tamper with (the audit tools get the copy, the
   running broker keeps its store). SQLite: `sqlite3 .backup` into
   ROOT/NAME.db. PostgreSQL: a fresh schema, the store's schema name
   followed by _NAME, holding each table of the store's schema with its
   columns, keys and indexes (CREATE TABLE ... (LIKE ... INCLUDING ALL))
   and its rows, all read in one REPEATABLE READ transaction (one
   snapshot). `name`: lower-case letters, digits and '_'. The copy's
   location in `location`. 0 or -1. */
int bh_store_copy(const bh_t *self, const char *name, char *location, size_t len);

/* Writes the store's whole content where a canary scan of the state
   directory finds it: nothing for SQLite (broker.db is there already), a
   plain pg_dump of the partnership's schema into STATE/store.sql for
   PostgreSQL. 0 or -1. */
int bh_store_dump(const bh_t *self);

/* A partnership of `orgs` (the first is the coordinator) with
   `agreements_yaml` as its agreements file. NULL on failure. */
bh_t *bh_new(const char *const *orgs, size_t n_orgs, const char *agreements_yaml);
void bh_destroy(bh_t **self_p);

/* (Re)signs the agreements file as it is now: empties FILE.sig.d and
   writes a signature by each of `signers` (NULL-terminated; NULL: every
   partner of the file that has keys here). 0 or -1. */
int bh_sign_agreements(bh_t *self, const char *const *signers);

/* Replaces the agreements file with `text` and signs it as above. */
int bh_write_agreements(bh_t *self, const char *text, const char *const *signers);

/* Starts the broker (extra YAML lines appended to its config, may be NULL);
   waits until it listens. 0 or -1. A restart reuses the same port. */
int bh_start(bh_t *self, const char *extra_config);

/* Sends `sig` and waits for the broker to exit (SIGKILL after 10 s). */
void bh_stop(bh_t *self, int sig);

/* Starts the pseudonym service (keys made on the first call; `extra_config`
   YAML lines appended; without a `limits:` line in it the limits are high
   enough for any test). Waits until it listens. 0 or -1. */
int bh_service_start(bh_t *self, const char *extra_config);

/* A second broker on the same store and keys (issue 16's standby): the
   running broker's configuration with a state directory of its own
   (ROOT/standby) and `bind` (the same endpoint, or one of its own as on a
   second machine), its stderr in ROOT/broker-b.log (copied to `log`).
   It does not wait: a standby binds only when it holds the store's lock.
   The process id, or -1. The caller stops it. */
pid_t bh_standby_start(bh_t *self, const char *bind, char *log, size_t loglen);
/* Sends `sig` to the service and waits for it to exit. */
void bh_service_stop(bh_t *self, int sig);

/* The service's log so far (caller frees). */
char *bh_service_log(const bh_t *self);

/* The pseudonym the service gives `id` of `kind` (pseudonym.h), computed
   here with its OPRF secret, independently of the daemons. 0 or -1. */
int bh_service_pseudonym(const bh_t *self, int kind, const char *id, uint8_t out[32]);

/* Keys and certificate (in the certificate directory) for `org` with
   `role` (a cert_role_t), e.g. an officer. 0 or -1. */
int bh_add_keys(bh_t *self, const char *org, int role);

/* Sends a signal without waiting (e.g. SIGHUP). */
void bh_signal(bh_t *self, int sig);

/* The broker's log so far (caller frees). */
char *bh_log(const bh_t *self);

/* A raw partner client. */
typedef struct {
    zsock_t *dealer;          /* CURVE client socket */
    char org[33];             /* whose keys it uses */
    uint8_t sign_sk[64];      /* its Ed25519 secret key */
    uint8_t box_sk[32];       /* its box secret key */
    uint64_t created_at_ms;   /* bh_seal's SignalHeader.created_at_ms; 0 = now */
    uint64_t valid_until_ms;  /* bh_seal's valid_until_ms; 0 = 30 days from now */
    int64_t sent_at;          /* monotonic ms of the last frame sent */
    const uint8_t *subject;   /* bh_seal's subject (32 bytes); NULL = random */
    const uint8_t *case_id;   /* bh_seal's SignalHeader.case_id (16 bytes); NULL = none */
    const uint8_t *case_item; /* bh_seal's SignalHeader.case_item (16 bytes); NULL = none */
} bh_client_t;

/* Connects as `org` (its keys); `random_key` connects with a fresh key the
   broker does not know instead. */
bh_client_t *bh_client_new(bh_t *self, const char *org, bool random_key);
void bh_client_destroy(bh_client_t **self_p);

/* Packs and sends a frame (version set). 0 or -1. */
int bh_send(bh_client_t *client, Hartslag__Frame *frame);

/* Sends raw bytes as one frame (or `parts` frames of them). */
int bh_send_raw(bh_client_t *client, const void *bytes, size_t len, int parts);

/* Receives the next Checkpoint within `timeout_ms`, dropping other frames. */
Hartslag__Frame *bh_recv_checkpoint(bh_client_t *client, int timeout_ms);

/* Receives one frame within `timeout_ms`, skipping Heartbeat, Welcome,
   Checkpoint and DeliveryOutcome (notices that come at any time). While
   it waits it sends a Heartbeat every 2 s, as a daemon does: a partner
   silent for 6 s counts as gone (docs/protocol.md).
   NULL on timeout. Free with hartslag__frame__free_unpacked(f, NULL). */
Hartslag__Frame *bh_recv(bh_client_t *client, int timeout_ms);

/* Sends Hello and waits for Welcome. 0 or -1. */
int bh_hello(bh_client_t *client);

/* Seals a signal from client->org to `to` (comma-separated) with the given
   type, purpose and one content field per name in `fields` (comma-
   separated; value "v-NAME" unless `canary` is given, which is put in every
   value). Writes the packed SealedSignal (caller frees) and its id. */
int bh_seal(bh_t *self, bh_client_t *client, const char *to, const char *type, const char *purpose,
            const char *fields, const char *canary, uint8_t **sealed, size_t *len, uint8_t id[16]);

/* Sends Submit{sealed} (as packed bytes) and returns the answer frame. */
Hartslag__Frame *bh_submit(bh_client_t *client, const uint8_t *sealed, size_t len, int timeout_ms);

/* Acknowledges a delivery. */
int bh_ack(bh_client_t *client, const uint8_t id[16], bool stored, const char *reason);

/* An agreements file allowing politie -> gemeente,welzijn overlast/casusoverleg
   with fields adres,datum,categorie,toelichting, and gemeente -> politie,welzijn
   zorgmelding/zorgcoordinatie with fields datum,toelichting. */
extern const char *bh_default_agreements;

#endif
