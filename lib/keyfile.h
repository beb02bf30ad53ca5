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

/* Writes a new random pseudonym key file (0600; refuses to overwrite). */
int keyfile_pseudonym_generate(const char *path, char *err, size_t errlen) WARN_UNUSED;

/* Loads the pseudonym key into `key`, which the caller should hold in
   locked memory (sodium_malloc) and wipe after use. */
int keyfile_pseudonym_load(const char *path, uint8_t key[KEYFILE_PSEUDONYM_KEYBYTES], char *err,
                           size_t errlen) WARN_UNUSED;

#endif
