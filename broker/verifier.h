/*  verifier: Ed25519 signature checks of a loop turn, ahead of the loop.

    The broker verifies every signal's signature exactly once (DESIGN §5),
    and that check costs more than anything else in a Submit (~45 µs).
    The loop thread hands the verifier the turn's signed signals before it
    handles the first message; worker threads verify them in order while
    the loop does the store work of the messages before them. When the loop
    reaches a Submit whose check no worker has taken yet, it does it itself,
    so a busy or descheduled worker never makes the loop wait longer than
    the check would have taken anyway.

    Ownership: verifier_t owns its threads. A job borrows the signal and
    the key it is given: both must stay valid until verifier_finish.
    All calls but the workers' own are made from one thread (the loop).
*/
#ifndef HARTSLAG_VERIFIER_H
#define HARTSLAG_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

typedef struct verifier_t verifier_t;

/* `threads` workers (0: every check on the caller's thread), at most
   `capacity` jobs per turn. NULL when the threads cannot be started. */
verifier_t *verifier_new(size_t threads, size_t capacity);
void verifier_destroy(verifier_t **self_p);

/* The worker count verifier_new should get on this machine: one core is
   the loop's, the rest verify (at most 4: beyond that the loop is the
   bottleneck). */
size_t verifier_default_threads(void);

/* Queues one check; returns its job number, or -1 when the turn is full
   (the caller then verifies inline). Only between turns' start and finish. */
int verifier_add(verifier_t *self, const Hartslag__SealedSignal *sealed,
                 const unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES]);

/* Lets the workers start on the jobs added so far. */
void verifier_start(verifier_t *self);

/* The result of job `job` (whatever envelope_verify returned), waiting for
   a worker that has it in hand, or doing it now if none has. */
envelope_error_t verifier_result(verifier_t *self, int job);

/* Ends the turn: jobs nobody took are dropped, and it returns only when no
   worker still touches a job's signal or key. */
void verifier_finish(verifier_t *self);

#endif
