/*  agreements_history: which agreements version may take effect, judged
    against the one in force, and the record the broker keeps of every
    version it enforced: the exact bytes and the partners' signature files
    that verified (issue 14 items 3 and 4; the tables are in broker/store_queue).

    A version is identified by (number, SHA-256 of the exact bytes). A
    version lower than the one in force, or the same number with other
    bytes, is refused whatever its signatures (rollback protection), at
    start and on SIGHUP alike: the version in force is the last one
    recorded, so a restart with an old file keeps the newer version. */
#ifndef HARTSLAG_BROKER_AGREEMENTS_HISTORY_H
#define HARTSLAG_BROKER_AGREEMENTS_HISTORY_H

#include "agreements.h"
#include "names.h"
#include "partners.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HISTORY_FIRST,       /* nothing in force yet: it takes effect */
    HISTORY_NEWER,       /* a higher version: it takes effect */
    HISTORY_UNCHANGED,   /* the version in force, byte for byte */
    HISTORY_LOWER,       /* refused: lower than the version in force */
    HISTORY_OTHER_BYTES, /* refused: the version in force's number, other bytes */
} history_verdict_t;

/* The verdict on `next` against the version in force (`in_force` false:
   none yet). */
history_verdict_t agreements_history_judge(bool in_force, uint64_t version,
                                           const uint8_t hash[AGREEMENTS_HASH_BYTES],
                                           const agreements_t *next);

/* A token for a refusal ("lower_version", "same_version_other_bytes"),
   NULL for a verdict that lets the version take effect. */
const char *agreements_history_refusal(history_verdict_t verdict);

/* Told about each signature file that was refused (path, reason). */
typedef void(history_refused_fn)(void *arg, const char *path, const char *reason);

/* Whether a version offered may take effect. */
typedef struct {
    history_verdict_t verdict; /* against the version in force */
    const char *refusal;       /* NULL: it takes effect (or is unchanged); else a token:
                                  lower_version, same_version_other_bytes, missing_signatures */
    char missing[512];         /* with missing_signatures: the orgs that did not sign, "a, b" */
    char emergency_org[NAMES_ORG_MAX + 1]; /* non-empty when the coordinator's signature
                                              alone let a suspension of this org through */
} history_admission_t;

/* Decides on `next` (read from `path`) after `in_force` (NULL: the first
   version this broker enforces): the rollback rule, then the signing rule
   (lib/agreements_rule) over the signature files in `path`.sig.d checked
   against `partners`: the first version needs every partner's signature,
   a later one the coordinator's and every affected partner's, or only the
   coordinator's for an emergency revocation of one partner. 0, or -1 when
   memory ran out. */
int agreements_history_admit(const agreements_t *in_force, const agreements_t *next,
                             const char *path, const partners_t *partners,
                             history_refused_fn *refused, void *arg, history_admission_t *out);

/* Reads the agreements file at `path` and parses exactly the bytes it
   read, so that the hash, the rules and the recorded bytes are one file.
   NULL on failure, with the problems in *errors as agreements_load does
   (a read failure is one problem at 0:0). *bytes is malloc'd (caller
   frees). */
agreements_t *agreements_history_read(const char *path, char **bytes, size_t *len,
                                      agreements_errors_t **errors);

/* Keeps `next` in the history, in the caller's transaction: the version
   (when `record` is true: it takes effect now) and every signature file
   in `path`.sig.d that verifies against `partners` and is not kept yet.
   *n_signers is the number of good signature files found. 0 or -1 (a store
   error). */
int agreements_history_keep(broker_store_t *store, const agreements_t *next, const char *path,
                            const char *bytes, size_t len, const partners_t *partners, bool record,
                            int64_t now_ms, history_refused_fn *refused, void *arg,
                            size_t *n_signers);

#endif
