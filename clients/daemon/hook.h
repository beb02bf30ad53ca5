/*  hook: runs the operator's hook command for a received signal.

    `/bin/sh -c HOOK` in its own process group, with the signal as one line
    of JSON on stdin (from an anonymous in-memory file, so nothing is
    written to disk and the child can never block the daemon on a pipe),
    stdout to /dev/null, stderr inherited (a hook must not print content
    there), HARTSLAG_SIGNAL_ID / HARTSLAG_ORG in its environment, and the
    state directory as its working directory.

    One hook runs at a time. The daemon's loop calls hook_poll each turn:
    it reaps the child without blocking (waitpid WNOHANG) and kills the
    whole process group when the timeout has passed.
*/
#ifndef HARTSLAG_DAEMON_HOOK_H
#define HARTSLAG_DAEMON_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct hook_t hook_t;

/* A runner for `command` (copied), run in `workdir`, with a timeout in seconds. */
hook_t *hook_new(const char *command, const char *org, const char *workdir, unsigned timeout_s);

/* Kills a running hook (its whole process group), reaps it and frees. */
void hook_destroy(hook_t **self_p);

/* True while a hook process runs. */
bool hook_busy(const hook_t *self);

/* Starts the hook for `signal_id` with `json` on stdin. 0, or -1 with the
   reason in `err` (then nothing runs). */
int hook_start(hook_t *self, const char *signal_id, const char *json, uint64_t now_ms, char *err,
               size_t errlen);

/* Checks the running hook. Returns 0 while it runs (or when none runs),
   1 when it finished: *ok tells whether it exited 0, `signal_id` which
   signal it was for, `why` ("exit:N", "signal:N", "timeout") the failure. */
int hook_poll(hook_t *self, uint64_t now_ms, bool *ok, char signal_id[STORE_ID_HEX], char *why,
              size_t whylen);

#endif
