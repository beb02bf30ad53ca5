/*  agreements_sigset: the signatures that partners gave one agreements
    file, read from FILE.sig.d/ORG.sig (docs/agreements.md) and each checked
    against the file and the signer's certificate. Shared by `hartslag
    agreements verify` and the broker, which keeps the good ones with the
    version in its history (issue 14 items 2 and 4).

    A signature file is refused, with one line of reason, when it is not a
    regular file, is larger than AGREEMENTS_SIG_FILE_MAX, does not parse,
    names a signer that is not a partner of this version or has no valid
    certificate, does not verify for this file, or is a second signature by
    the same signer. Refusals never hide the good signatures. At most
    AGREEMENTS_SIGSET_FILES files are read, in name order. */
#ifndef HARTSLAG_AGREEMENTS_SIGSET_H
#define HARTSLAG_AGREEMENTS_SIGSET_H

#include "agreements.h"
#include "agreements_sig.h"
#include "partners.h"

#include <stddef.h>

#define AGREEMENTS_SIGSET_FILES 1024 /* signature files read from one directory */

typedef struct agreements_sigset_t agreements_sigset_t;

/* Told about each refused signature file: its path and why. */
typedef void(agreements_sigset_refused_fn)(void *arg, const char *path, const char *reason);

/* Reads `file`.sig.d for `agreements` (the parsed `file`). A missing
   directory is an empty set. NULL with the reason in `err` only when the
   directory exists and cannot be read, or memory runs out. `refused` may
   be NULL. The set borrows nothing from its arguments. */
agreements_sigset_t *agreements_sigset_read(const char *file, const agreements_t *agreements,
                                            const partners_t *partners,
                                            agreements_sigset_refused_fn *refused, void *arg,
                                            char *err, size_t errlen);
void agreements_sigset_destroy(agreements_sigset_t **self_p);

/* The good signatures, in file name order. */
size_t agreements_sigset_count(const agreements_sigset_t *self);
/* The signer of the i-th (borrowed from the set). */
const char *agreements_sigset_signer(const agreements_sigset_t *self, size_t i);
/* The exact bytes of the i-th signature file (borrowed), and their length. */
const char *agreements_sigset_text(const agreements_sigset_t *self, size_t i, size_t *len);
/* How many signature files were refused. */
size_t agreements_sigset_refused(const agreements_sigset_t *self);

#endif
