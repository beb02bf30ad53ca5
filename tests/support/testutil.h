/*  testutil: helpers shared by the Criterion tests: temporary directories,
    running the built binaries, reading files. Tests only. */
#ifndef HARTSLAG_TESTUTIL_H
#define HARTSLAG_TESTUTIL_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

/* A free TCP port on 127.0.0.1 for a test's listener, below the kernel's
   ephemeral range (ip_local_port_range, 32768 and up here): a port the
   kernel hands out on its own can be taken by any outgoing connection
   (another suite's, or a client reconnecting to itself) between a
   listener's stop and its restart on the same port; this one cannot.
   Chosen at random and checked by a bind. -1 when none was found. */
int tu_listen_port(void);

/* A new directory under /tmp (caller frees the path; tu_rmtree removes it). */
char *tu_tmpdir(void);

/* Removes a directory tree (like rm -rf; refuses paths outside /tmp). */
void tu_rmtree(const char *path);

/* Full path of a built binary: $HARTSLAG_BIN/name (static buffer per call site use). */
const char *tu_bin(const char *name);

/* Repository root: $HARTSLAG_SRC or ".". */
const char *tu_src(void);

/* Runs argv (NULL-terminated) with optional stdin text; captures stdout and
   stderr into new NUL-terminated strings (caller frees; either may be NULL
   if not wanted). Returns the exit code, or -1 if it died by a signal. */
int tu_run(char *const argv[], const char *stdin_text, char **out, char **err);

/* Starts argv[0] (a path) with stdout and stderr sent to files (NULL: left
   as they are), appended when `append`, else truncated, with `env_extra`
   ("NAME=value", NULL-terminated, may be NULL) added to the environment.
   posix_spawn: nothing runs in the child between fork and exec, which
   matters in a test process with ZeroMQ threads. The pid, or -1. */
pid_t tu_spawn(char *const argv[], const char *stdout_path, const char *stderr_path, bool append,
               char *const env_extra[]);

/* Whole file into a new NUL-terminated buffer; NULL if unreadable. */
char *tu_read_file(const char *path, size_t *len);

/* Writes text to a new file with `mode`. Returns 0 or -1. */
int tu_write_file(const char *path, const char *text, int mode);

/* True when `needle` (len bytes) occurs in any regular file under `dir`. */
bool tu_dir_contains(const char *dir, const void *needle, size_t len);

/* Ends the calling test's process with a message and status 124 when it is
 * still running `seconds` from now (SIGALRM); a later call re-arms it. Tests
 * use this instead of Criterion's .timeout, whose runner now and then leaks
 * an entry of its timeout queue (libcriterion 2.4.1), which LeakSanitizer
 * then reports as a failure of the whole test binary. */
void tu_watchdog(unsigned seconds);

#endif
