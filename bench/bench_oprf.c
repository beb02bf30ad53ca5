/*  bench_oprf: what the pseudonym service's VOPRF (lib/oprf, issue 17)
    costs per identifier, beside today's keyed BLAKE2b pseudonym
    (pseudonym_derive) in the same run. Figures per identifier:
    - keyed BLAKE2b: pseudonym_derive of a BSN (normalise + hash);
    - VOPRF, batch 1: blind + blind_evaluate + finalize for one identifier,
      and each of the three steps alone (client, server, client);
    - VOPRF, batch 64: 64 blinds, one blind_evaluate of 64 elements with
      one proof, one finalize that checks it, divided by 64.
    Both parties run in this one process, so a figure is CPU, not network.
    Figures only; never pass/fail. Usage: bench_oprf [seconds per figure, default 1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "oprf.h"
#include "pseudonym.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n identifiers in `seconds`. */
static void s_report(const char *what, long n, double seconds)
{
    printf("%-44s %10.0f ids/s  %9.2f us each  (%ld in %.2f s)\n", what, (double)n / seconds,
           seconds / (double)n * 1e6, n, seconds);
}

/* Identifiers as the service would see them: valid BSNs (elfproef). */
static const char *const s_ids[] = {"111222333", "123456782", "100000009", "999999990"};
#define IDS (sizeof s_ids / sizeof s_ids[0])

typedef struct {
    uint8_t sk[OPRF_SCALARBYTES];
    uint8_t pk[OPRF_ELEMENTBYTES];
    const uint8_t *inputs[OPRF_BATCH_MAX];
    size_t lens[OPRF_BATCH_MAX];
    uint8_t blind[OPRF_BATCH_MAX][OPRF_SCALARBYTES];
    uint8_t blinded[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    uint8_t evaluated[OPRF_BATCH_MAX][OPRF_ELEMENTBYTES];
    uint8_t proof[OPRF_PROOFBYTES];
    uint8_t out[OPRF_BATCH_MAX][OPRF_OUTPUTBYTES];
} batch_t;

#define C32(a) ((const uint8_t(*)[32])(a))

static int s_blind(batch_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (oprf_blind(b->inputs[i], b->lens[i], NULL, b->blind[i], b->blinded[i]) != OPRF_OK)
            return -1;
    return 0;
}

static int s_evaluate(batch_t *b, size_t n)
{
    return oprf_blind_evaluate(b->sk, b->pk, C32(b->blinded), n, NULL, b->evaluated, b->proof) ==
                   OPRF_OK
               ? 0
               : -1;
}

static int s_finalize(batch_t *b, size_t n)
{
    return oprf_finalize(b->pk, b->inputs, b->lens, C32(b->blind), C32(b->blinded),
                         C32(b->evaluated), n, b->proof, b->out) == OPRF_OK
               ? 0
               : -1;
}

/* The whole round for n identifiers; 0 or -1. */
static int s_round(batch_t *b, size_t n)
{
    return s_blind(b, n) == 0 && s_evaluate(b, n) == 0 && s_finalize(b, n) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    if (budget <= 0)
        budget = 1.0;
    if (sodium_init() < 0)
        return 1;

    static batch_t b;
    if (oprf_generate_key_pair(b.sk, b.pk) != OPRF_OK)
        return 1;
    for (size_t i = 0; i < OPRF_BATCH_MAX; i++) {
        b.inputs[i] = (const uint8_t *)s_ids[i % IDS];
        b.lens[i] = strlen(s_ids[i % IDS]);
    }
    unsigned char key[PSEUDONYM_KEYBYTES], pseudonym[PSEUDONYM_BYTES];
    randombytes_buf(key, sizeof key);

    printf("VOPRF ristretto255-SHA512 (RFC 9497) vs keyed BLAKE2b, per identifier, %s\n",
           sodium_version_string());

    /* Keyed BLAKE2b, today's pseudonym. */
    long n = 0;
    double t0 = s_now(), t1;
    do {
        for (int k = 0; k < 1000; k++, n++)
            if (pseudonym_derive(key, PSEUDONYM_BSN, s_ids[n % IDS], pseudonym, NULL) != 0)
                return 1;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("keyed BLAKE2b (pseudonym_derive, bsn)", n, t1 - t0);

    /* VOPRF, batch 1: each step, then the round. */
    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 50; k++, n++)
            if (s_blind(&b, 1) != 0)
                return 1;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("  blind (client)", n, t1 - t0);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 50; k++, n++)
            if (s_evaluate(&b, 1) != 0)
                return 1;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("  blind_evaluate + proof, batch 1 (server)", n, t1 - t0);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 50; k++, n++)
            if (s_finalize(&b, 1) != 0)
                return 1;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("  finalize + verify, batch 1 (client)", n, t1 - t0);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 20; k++, n++)
            if (s_round(&b, 1) != 0)
                return 1;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("VOPRF round, batch 1", n, t1 - t0);

    /* VOPRF, batch 64: per identifier. */
    const size_t bn = OPRF_BATCH_MAX;
    double server = 0;
    long rounds = 0;
    t0 = s_now();
    do {
        if (s_blind(&b, bn) != 0)
            return 1;
        double s0 = s_now();
        if (s_evaluate(&b, bn) != 0)
            return 1;
        server += s_now() - s0;
        if (s_finalize(&b, bn) != 0)
            return 1;
        rounds++;
        t1 = s_now();
    } while (t1 - t0 < budget);
    s_report("  blind_evaluate + proof, batch 64 (server)", rounds * (long)bn, server);
    s_report("VOPRF round, batch 64", rounds * (long)bn, t1 - t0);

    sodium_memzero(key, sizeof key);
    sodium_memzero(&b, sizeof b);
    return 0;
}
