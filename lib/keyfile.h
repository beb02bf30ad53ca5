/*  keyfile: an organisation's secret keys (DESIGN §3), and the partnership's
    pseudonym key.

    A partner's secret file holds three key pairs: CURVE (transport), Ed25519
    (signing signals) and X25519 (receiving content keys). The broker's holds
    CURVE and Ed25519 (signing audit checkpoints) only. On disk it is ZPL text
    like a zcert secret file, created 0600; loading refuses a file that group
    or others can access. In memory every secret lives in sodium_malloc
    memory (locked, guarded pages) and is wiped on destroy.

    Ownership: keyfile_t owns its secrets; the accessors return borrowed
    pointers, valid until keyfile_destroy.
*/
#ifndef HARTSLAG_KEYFILE_H
#define HARTSLAG_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYFILE_TEXT_MAX 4096
#define KEYFILE_KEYBYTES 32
#define KEYFILE_SIGN_SECRETBYTES 64 /* libsodium's Ed25519 secret key (seed + public) */
#define KEYFILE_PSEUDONYM_KEYBYTES 32

#define WARN_UNUSED __attribute__((warn_unused_result))

typedef struct keyfile_t keyfile_t;

/* New random keys for `org`; `with_box` false for the broker. NULL on failure. */
keyfile_t *keyfile_generate(const char *org, bool with_box) WARN_UNUSED;

/* Loads a secret file. NULL with the reason in `err` (the reason names the
   file and the fix; it never quotes key material). */
keyfile_t *keyfile_load(const char *path, char *err, size_t errlen) WARN_UNUSED;

/* Writes a new secret file, mode 0600; refuses to overwrite. */
int keyfile_save(const keyfile_t *self, const char *path, char *err, size_t errlen) WARN_UNUSED;

/* Wipes and frees; nulls the caller's pointer; safe on NULL. */
void keyfile_destroy(keyfile_t **self_p);

const char *keyfile_org(const keyfile_t *self);
bool keyfile_has_box(const keyfile_t *self);
const uint8_t *keyfile_curve_public(const keyfile_t *self);
const uint8_t *keyfile_curve_secret(const keyfile_t *self);
const uint8_t *keyfile_sign_public(const keyfile_t *self);
const uint8_t *keyfile_sign_secret(const keyfile_t *self); /* 64 bytes */
const uint8_t *keyfile_box_public(const keyfile_t *self);  /* NULL without box */
const uint8_t *keyfile_box_secret(const keyfile_t *self);  /* NULL without box */

/* The pseudonym service's OPRF key (issue 17): a ristretto255 secret
   scalar and its version, in its own secret file (0600, refused when group
   or others can read it), apart from the transport and audit keys so that
   it can be rotated alone:

        metadata
            org = "ttp"
            version = "1"
        oprf
            public-key = "<Z85 of the 32-byte element>"
            secret-key = "<Z85 of the 32-byte scalar>"

   Load checks that the public element is the secret times the generator
   and that the scalar is canonical and not zero. */
#define KEYFILE_OPRF_SCALARBYTES 32
#define KEYFILE_OPRF_ELEMENTBYTES 32
#define KEYFILE_OPRF_VERSION_MAX 2147483648u /* 2^31, as the certificate */

/* Writes a new random OPRF key of `version` for `org` (0600; refuses to
   overwrite); its public element goes to `pk` for the certificate. */
int keyfile_oprf_generate(const char *path, const char *org, uint32_t version,
                          uint8_t pk[KEYFILE_OPRF_ELEMENTBYTES], char *err,
                          size_t errlen) WARN_UNUSED;

/* Loads an OPRF key file. `sk` should be locked memory (sodium_malloc) the
   caller wipes; `sk` may be NULL to read only the public part (`keys
   show`), which still checks the file's mode. `org` may be NULL or a
   NAMES_ORG_MAX + 1 buffer. */
int keyfile_oprf_load(const char *path, uint8_t *sk, uint8_t pk[KEYFILE_OPRF_ELEMENTBYTES],
                      uint32_t *version, char *org, char *err, size_t errlen) WARN_UNUSED;

#endif
