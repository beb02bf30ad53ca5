/*  fileio: bounded whole-file reads and careful writes. Every file Hartslag
    reads may have come from elsewhere (a partner's certificate, an edited
    config), so the size is capped before anything is allocated.
*/
#ifndef HARTSLAG_FILEIO_H
#define HARTSLAG_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a regular file of at most `max` bytes into a new NUL-terminated
   buffer (caller frees with free()). 0, or -1 with the reason in `err`. */
int fileio_read(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen);

/* Like fileio_read for a secret file: refuses a file that group or others
   may read or write, or that another user owns, with a message naming the
   file and the fix (as ssh does). The buffer is sodium_malloc memory:
   free it with sodium_free (which wipes it). */
int fileio_read_secret(const char *path, size_t max, char **text, size_t *len, char *err,
                       size_t errlen);

/* Creates `path` with `mode` (refusing to overwrite an existing file),
   writes `len` bytes, fsyncs. On failure the partial file is removed. */
int fileio_write_new(const char *path, const void *bytes, size_t len, int mode, char *err,
                     size_t errlen);

/* Makes a database file and its SQLite companions ("-wal", "-shm",
   "-journal") private before SQLite opens them: creates `path` 0600 when it
   does not exist (SQLite would create it 0644 less the umask, and gives the
   companions the database's mode), and narrows an existing one to 0600.
   Refuses a symbolic link. Sets `*narrowed` when an existing file was open
   to group or others (the caller logs it). 0, or -1 with the reason. */
int fileio_private_db(const char *path, bool *narrowed, char *err, size_t errlen);

#endif
