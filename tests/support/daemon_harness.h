/*  daemon_harness: real hartslagd processes for integration tests, on top
    of broker_harness (which holds the partnership's keys, certificates and
    agreements, and runs the broker). Each daemon gets ROOT/ORG/ with its
    configuration, log and state directory; the first daemon starts the
    partnership's pseudonym service (bh_service_start). The CLI is run against a daemon with
    --state-dir. Also a fake broker (a CURVE ROUTER with the broker's keys)
    for protocol-level tests of the daemon.
    Tests only; no Criterion calls in here (callers assert). */
#ifndef HARTSLAG_DAEMON_HARNESS_H
#define HARTSLAG_DAEMON_HARNESS_H

#include "broker_harness.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    bh_t *bh;           /* the partnership (borrowed) */
    char org[33];       /* whose daemon */
    char dir[4400];     /* ROOT/ORG */
    char state[4500];   /* its state_dir */
    char config[4500];  /* its hartslagd.yaml */
    char log[4500];     /* its stderr, appended over restarts */
    char endpoint[256]; /* the broker endpoint it connects to */
    pid_t pid;          /* running process, 0 when stopped */
    size_t log_offset;  /* log length when the current run started */
} dh_t;

/* A daemon for `org` connecting to `endpoint` (NULL: the harness broker's
   endpoint, so start the broker first). `extra_config` is appended to its
   YAML (e.g. "hook: ...\n"), may be NULL. NULL on failure. */
dh_t *dh_new(bh_t *bh, const char *org, const char *endpoint, const char *extra_config);
void dh_destroy(dh_t **self_p);

/* Starts hartslagd and waits until its control socket is up. 0 or -1. */
int dh_start(dh_t *self);

/* Sends `sig` and waits for the exit (SIGKILL after 10 s). */
void dh_stop(dh_t *self, int sig);

/* True once `needle` appears in the log of the current run (polls). */
bool dh_wait_log(dh_t *self, const char *needle, int timeout_ms);

/* Number of times `needle` occurs in the whole log. */
int dh_log_count(const dh_t *self, const char *needle);

/* The whole log (caller frees). */
char *dh_log(const dh_t *self);

/* Runs `hartslag CMD --state-dir STATE ARGS...` (NULL-terminated args),
   with optional stdin; output into *out / *err when not NULL (caller
   frees). Returns the exit code. */
int dh_cli(dh_t *self, const char *stdin_text, char **out, char **err, const char *cmd, ...);

/* Signals in `hartslag inbox --json`; -1 on error. */
int dh_inbox_count(dh_t *self);

/* Polls until the inbox holds `count` signals. */
bool dh_wait_inbox(dh_t *self, int count, int timeout_ms);

/* Sends a signal with the CLI and returns its id (32 hex + NUL in `id`).
   `to`, `type`, `purpose` as for send; the subject is --subject-bsn `bsn`;
   `fields` is a NULL-terminated list of "name=value". 0 or -1. */
int dh_send(dh_t *self, const char *to, const char *type, const char *purpose, const char *bsn,
            const char *const *fields, const char *text, bool wait, char id[33]);

/* ---- a fake broker: the broker's CURVE keys, no ZAP, one peer at a time */
typedef struct {
    zsock_t *router;    /* CURVE server ROUTER */
    char endpoint[256]; /* where it listens */
    zframe_t *peer;     /* routing id of the last daemon heard */
} fb_t;

fb_t *fb_new(bh_t *bh);
void fb_destroy(fb_t **self_p);

/* Receives the next frame from a daemon within `timeout_ms`, answering
   Hello with Welcome (agreements version `version`) and skipping
   Heartbeats and Hellos. NULL on timeout. Free with
   hartslag__frame__free_unpacked(f, NULL). */
Hartslag__Frame *fb_recv(fb_t *self, int timeout_ms, uint64_t version);

/* Waits for a Hello (answered with Welcome); 0 or -1. */
int fb_wait_hello(fb_t *self, int timeout_ms, uint64_t version);

/* Sends a frame to the last peer. 0 or -1. */
int fb_send(fb_t *self, Hartslag__Frame *frame);

/* Sends Deliver{sealed}. 0 or -1. */
int fb_deliver(fb_t *self, const uint8_t *sealed, size_t len);

/* A client of a daemon's control socket that keeps sends in flight (the
   crash loop and the replication test: load through the daemons'
   own outboxes). */
typedef struct {
    zsock_t *dealer; /* owned; dh_control_close destroys it */
    long in_flight;  /* sends not answered yet */
} dh_control_t;

/* Connects to `daemon`'s control socket. 0 or -1. */
int dh_control_open(dh_control_t *control, dh_t *daemon);
void dh_control_close(dh_control_t *control);

/* Sends "send" with to/type/purpose, subject-case=CASE_PREFIX-NUMBER,
   field nummer=NUMBER, user=USER, without waiting for the answer. */
void dh_control_send(dh_control_t *control, const char *to, const char *type,
                     const char *case_prefix, const char *user, long number);

/* Takes one answer: 1 for "ok ID" (in the outbox), 0 for anything else,
   -1 when none came within `timeout_ms`. */
int dh_control_reply(dh_control_t *control, int timeout_ms);

#endif
