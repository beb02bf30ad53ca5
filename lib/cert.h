/*  cert: the public certificate of a partner organisation or of the broker
    (DESIGN §3). On disk it is a CZMQ zcert public file, so the broker's
    zauth/zcertstore reads the same files:

        metadata
            org = "politie"
            name = "Politie Limburg, basisteam Heerlen"
            role = "partner"
            contact = "veiligheidshuis@politie.example"
            sign-key = "<Z85 Ed25519 public key>"
            box-key = "<Z85 X25519 public key>"
            valid-from = "2026-01-01"
            valid-until = "2027-12-31"
        curve
            public-key = "<Z85 CURVE public key>"

    A pseudonym service's certificate (role "pseudonym-service", issue 17)
    has no box-key and carries two more metadata fields, required for that
    role and refused for every other:

            oprf-key = "<Z85 of the 32-byte ristretto255 OPRF public element>"
            oprf-key-version = "1"           (1 .. 2^31)

    An officer's certificate (role "officer") has the same keys as a
    partner's: a privacy officer's own identity towards the pseudonym
    service (art. 15 lookups). Neither role is a partner of the broker.

    cert_t is a plain value (public data only), copied freely. Parsing is
    strict: every field checked, unknown metadata refused.
*/
#ifndef HARTSLAG_CERT_H
#define HARTSLAG_CERT_H

#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CERT_KEYBYTES 32

typedef enum {
    CERT_ROLE_PARTNER = 0,           /* may send and receive signals */
    CERT_ROLE_COORDINATOR = 1,       /* a partner that also holds the regie and receives alerts */
    CERT_ROLE_BROKER = 2,            /* the broker itself: transport and audit keys */
    CERT_ROLE_PSEUDONYM_SERVICE = 3, /* hartslag-pseudonymd: transport, audit and OPRF keys */
    CERT_ROLE_OFFICER = 4,           /* a privacy officer asking the pseudonym service */
} cert_role_t;

#define CERT_ROLE_COUNT 5
#define CERT_OPRF_VERSION_MAX 2147483648u /* 2^31 */

/* True for the roles whose holders exchange signals through the broker. */
bool cert_role_is_partner(cert_role_t role);

typedef struct {
    char org[NAMES_ORG_MAX + 1];      /* short id, [a-z0-9-]{1,32} */
    char name[NAMES_TEXT_MAX + 1];    /* organisation's display name */
    char contact[NAMES_TEXT_MAX + 1]; /* functional mailbox or phone line */
    cert_role_t role;                 /* what the holder may do */
    uint8_t curve_key[CERT_KEYBYTES]; /* CURVE transport public key */
    uint8_t sign_key[CERT_KEYBYTES];  /* Ed25519: signals (partner) or checkpoints (broker) */
    uint8_t box_key[CERT_KEYBYTES];   /* X25519 content-key box key; zero for the broker */
    int64_t valid_from;               /* first valid day, days since 1970-01-01 (UTC) */
    int64_t valid_until;              /* last valid day, inclusive */
    uint8_t oprf_key[CERT_KEYBYTES];  /* pseudonym service: OPRF public element; else zero */
    uint32_t oprf_key_version;        /* pseudonym service: 1..2^31; else 0 */
} cert_t;

/* Parses certificate text. 0, or -1 with the reason in `err`. */
int cert_parse(const char *text, size_t len, cert_t *cert, char *err, size_t errlen);

/* Reads and parses a certificate file (at most ZPL_TEXT_MAX bytes). */
int cert_load(const char *path, cert_t *cert, char *err, size_t errlen);

/* Writes `cert` as a zcert-compatible public file. Refuses to overwrite. */
int cert_save(const cert_t *cert, const char *path, char *err, size_t errlen);

#define CERT_CURVE_FINGERPRINT_SIZE 20 /* "xxxx:xxxx:xxxx:xxxx" and NUL */

/* The fingerprint of one CURVE public key, as the broker's auth_failed log
   lines and audit records and `hartslag keys show` print it: the first 8
   bytes of its SHA-256, in hex, in groups of 4. */
void cert_curve_fingerprint(const uint8_t key[CERT_KEYBYTES],
                            char out[CERT_CURVE_FINGERPRINT_SIZE]);

/* True when `unix_ms` falls on a day in [valid_from, valid_until]. */
bool cert_valid_at(const cert_t *cert, int64_t unix_ms);

/* The certificate's fingerprint, the one that partners compare by phone
   before they trust a certificate, shown the same way by every tool
   (`hartslag keys`, the audit report). It covers every field, so nothing
   in the certificate can change in transit and keep it: the first 16
   bytes of

       SHA-256( "hartslag/cert-fingerprint/v1"     (28 bytes, no length, no NUL)
                || F(org) || F(name) || F(role) || F(contact)
                || F(curve key) || F(sign key) || F(box key)
                || F(valid-from) || F(valid-until)
                [ || F(oprf key) || F(oprf key version) ] )

   where F(x) = LE64(len(x)) || x; texts are the UTF-8 values as in the
   file (role as "partner", "coordinator" or "broker", dates as
   "YYYY-MM-DD"), keys the 32 raw bytes (the broker's box key: 32 zeros).
   The bracketed part is there for a pseudonym service only (its version
   as decimal text), so every other certificate keeps its fingerprint.
   Written as lower-case hex in groups of four ("1a2b:3c4d:..."): 39
   characters and a NUL. */
#define CERT_FINGERPRINT_TAG "hartslag/cert-fingerprint/v1"
#define CERT_FINGERPRINT_MAX 40
void cert_fingerprint(const cert_t *cert, char out[CERT_FINGERPRINT_MAX]);

/* "partner", "coordinator", "broker", "pseudonym-service", "officer"; and
   back (-1 when unknown). */
const char *cert_role_name(cert_role_t role);
int cert_role_parse(const char *text, cert_role_t *role);

#endif
