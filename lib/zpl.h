/*  zpl: a strict reader for the two-level subset of ZPL (ZeroMQ RFC 4) that
    CZMQ certificate files use:

        #   comment
        metadata
            org = "politie"
        curve
            public-key = "..."

    Certificates arrive from other organisations and secret files may have
    been edited by hand, so the reader is built for hostile bytes: the file
    size, line count, entry count and every name and value length are capped,
    and anything outside the subset is an error naming the line. Values may
    be secret keys, so the whole object lives in sodium_malloc memory (locked,
    guarded) and is wiped on destroy.
*/
#ifndef HARTSLAG_ZPL_H
#define HARTSLAG_ZPL_H

#include <stddef.h>

#define ZPL_TEXT_MAX 16384 /* a certificate is well under 1 KiB */
#define ZPL_ENTRIES_MAX 32 /* section/key pairs */
#define ZPL_NAME_MAX 32    /* section or key name */
#define ZPL_VALUE_MAX 256  /* one value, in bytes */

typedef struct zpl_t zpl_t;

/* Parses `len` bytes of `text`. Returns a new object (caller destroys), or
   NULL with a reason in `err` ("line 7: value is not quoted"). The reason
   never quotes a value. */
zpl_t *zpl_parse(const char *text, size_t len, char *err, size_t errlen);

/* Wipes and frees; nulls the caller's pointer; safe on NULL. */
void zpl_destroy(zpl_t **self_p);

/* Value of `section`/`key`, or NULL. Borrowed: valid until destroy. */
const char *zpl_get(const zpl_t *self, const char *section, const char *key);

/* Number of entries, and the section/key of entry `i` (for rejecting unknown keys). */
size_t zpl_count(const zpl_t *self);
const char *zpl_section_at(const zpl_t *self, size_t i);
const char *zpl_key_at(const zpl_t *self, size_t i);

#endif
