/*  check: what the broker verifies before it serves, and `hartslag-broker
    --check`.

    The broker's own key must be the broker's: a partner's secret file (it
    holds a box key), a key whose public part a partner certificate names,
    or a key whose certificate beside it (`X.cert` next to `X.cert_secret`)
    is not a broker certificate or names other keys would let the broker
    pose as a partner, or a partner read the broker's traffic. broker_new
    refuses all of them; --check reports them with everything else it can
    find (configuration, certificates, agreements, state directory) in one
    pass, one line per problem.
*/
#ifndef HARTSLAG_BROKER_CHECK_H
#define HARTSLAG_BROKER_CHECK_H

#include "broker.h"
#include "keyfile.h"
#include "partners.h"

#include <stddef.h>
#include <stdio.h>

/* 0 when `keys` (loaded from `keys_path`) may serve as the broker's key
   beside the partner table `partners`; -1 with the problem and its fix in
   `err`. */
int broker_keys_check(const keyfile_t *keys, const char *keys_path, const partners_t *partners,
                      char *err, size_t errlen);

/* Loads what broker_new would load, without binding or writing, and
   prints one line per problem to `out` ("problem: ..."), then a summary.
   Returns the number of problems (0: the broker can start). */
int broker_check(const broker_config_t *config, FILE *out);

#endif
