/*  partners: the partnership's trust list, a directory of public partner
    certificates (DESIGN §3), indexed by org and by CURVE public key.

    Loading is strict, because the broker replaces its live table with the
    result and must never take half a directory: a malformed certificate, an
    unknown role, two certificates of one org with overlapping validity, or
    one CURVE key used twice fails the whole load. Certificates that are not
    yet valid or have expired are skipped with a warning. Files ending in
    "_secret" and hidden files are ignored (zcertstore does the same).

    Ownership: partners_t owns its certificates; lookups return borrowed
    pointers valid until partners_destroy.
*/
#ifndef HARTSLAG_PARTNERS_H
#define HARTSLAG_PARTNERS_H

#include "cert.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARTNERS_MAX 10000 /* certificates in one directory */

typedef struct partners_t partners_t;

/* Called once per problem found while loading: `file` is the certificate's
   path, `is_error` false for a warning (skipped certificate). */
typedef void(partners_report_fn)(void *arg, const char *file, bool is_error, const char *message);

/* Loads every certificate in `dir` that is valid at `now_ms`. Reports each
   problem through `report` (may be NULL). Returns NULL if any error was
   found (the reason of the first in `err`), else a new table. */
partners_t *partners_load(const char *dir, int64_t now_ms, partners_report_fn *report, void *arg,
                          char *err, size_t errlen);

/* An empty table (for tests and tools); add with partners_add. */
partners_t *partners_new(void);

/* Adds a copy of `cert`; -1 when its org or CURVE key is already present. */
int partners_add(partners_t *self, const cert_t *cert);

void partners_destroy(partners_t **self_p);

size_t partners_count(const partners_t *self);
const cert_t *partners_at(const partners_t *self, size_t index);

/* Lookups: NULL when not found. `org` need not be NUL-terminated in the _n form. */
const cert_t *partners_by_org(const partners_t *self, const char *org);
const cert_t *partners_by_org_n(const partners_t *self, const char *org, size_t len);
const cert_t *partners_by_curve_key(const partners_t *self, const uint8_t key[CERT_KEYBYTES]);

#endif
