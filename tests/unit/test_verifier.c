/*  Tests for broker/verifier: every job's answer is envelope_verify's, whoever
    computes it (a worker, or the caller when no worker has taken it); a
    turn may end with jobs nobody asked for; turns follow each other
    without leftovers; a full turn says so; two keys, forged signatures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "verifier.h"

#define SIGNALS 64
#define T0 1735689600000ull

typedef struct {
    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
    unsigned char box_sk[crypto_box_SECRETKEYBYTES];
    envelope_keyring_t *ring;
} party_t;

static party_t s_alice, s_bob, s_recipient;
static Hartslag__SealedSignal *s_signals[SIGNALS];
static const unsigned char *s_keys[SIGNALS]; /* the key each job is checked with */
static envelope_error_t s_expected[SIGNALS]; /* envelope_verify's answer */

static void s_party(party_t *p)
{
    crypto_sign_keypair(p->sign_pk, p->sign_sk);
    crypto_box_keypair(p->box_pk, p->box_sk);
    p->ring = envelope_keyring_new(p->box_sk);
    cr_assert_not_null(p->ring);
}

static Hartslag__SealedSignal *s_seal(party_t *sender, const char *org, uint32_t n)
{
    envelope_field_t fields[] = {{"datum", "2025-01-01"}};
    envelope_draft_t d = {0};
    d.sender = org;
    d.sender_user = "u1";
    d.signal_type = "overlast";
    d.purpose = "casusoverleg";
    d.agreements_version = n;
    memset(d.subject, (int)n, sizeof d.subject);
    d.fields = fields;
    d.n_fields = 1;
    d.created_at_ms = T0;
    d.valid_until_ms = T0 + 86400000ull;
    d.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    envelope_recipient_t r = {.org = "welzijn"};
    memcpy(r.box_pk, s_recipient.box_pk, sizeof r.box_pk);
    envelope_sender_t keys = {sender->sign_sk, sender->ring};
    uint8_t *bytes = NULL;
    size_t len = 0;
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    const char *reason = NULL;
    cr_assert_eq(envelope_seal(&d, &keys, &r, 1, &bytes, &len, id, &reason), ENVELOPE_OK);
    Hartslag__SealedSignal *s = NULL;
    cr_assert_eq(envelope_unpack(bytes, len, &s), ENVELOPE_OK);
    free(bytes);
    return s;
}

/* Half by alice, half by bob; every third checked with the other's key,
   every fifth with a flipped signature bit: a mix of good and bad. */
static void s_setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    s_party(&s_alice);
    s_party(&s_bob);
    s_party(&s_recipient);
    for (uint32_t i = 0; i < SIGNALS; i++) {
        bool by_alice = i % 2 == 0;
        s_signals[i] = s_seal(by_alice ? &s_alice : &s_bob, by_alice ? "politie" : "gemeente", i);
        bool other_key = i % 3 == 0;
        s_keys[i] = (by_alice != other_key) ? s_alice.sign_pk : s_bob.sign_pk;
        if (i % 5 == 0)
            s_signals[i]->signature.data[i % s_signals[i]->signature.len] ^= 0x01;
        s_expected[i] = envelope_verify(s_signals[i], s_keys[i]);
    }
    size_t good = 0;
    for (size_t i = 0; i < SIGNALS; i++)
        good += s_expected[i] == ENVELOPE_OK;
    cr_assert(good > 0 && good < SIGNALS, "the fixture must mix good and bad signatures");
}

static void s_teardown(void)
{
    for (size_t i = 0; i < SIGNALS; i++)
        hartslag__sealed_signal__free_unpacked(s_signals[i], NULL);
    envelope_keyring_destroy(&s_alice.ring);
    envelope_keyring_destroy(&s_bob.ring);
    envelope_keyring_destroy(&s_recipient.ring);
}

TestSuite(verifier, .init = s_setup, .fini = s_teardown);

static void s_one_turn(verifier_t *v, size_t n, size_t offset, bool ask_all)
{
    int jobs[SIGNALS];
    for (size_t i = 0; i < n; i++) {
        size_t k = (i + offset) % SIGNALS;
        jobs[i] = verifier_add(v, s_signals[k], s_keys[k]);
        cr_assert_eq(jobs[i], (int)i);
    }
    verifier_start(v);
    for (size_t i = 0; i < n; i++) {
        if (!ask_all && i % 4 == 1)
            continue; /* a Submit denied before its signature mattered */
        size_t k = (i + offset) % SIGNALS;
        envelope_error_t got = verifier_result(v, jobs[i]);
        cr_assert_eq(got, s_expected[k], "turn offset %zu job %zu: %s, expected %s", offset, i,
                     envelope_strerror(got), envelope_strerror(s_expected[k]));
        cr_assert_eq(verifier_result(v, jobs[i]), got, "a second look gives the same answer");
    }
    verifier_finish(v);
}

Test(verifier, answers_match_envelope_verify_for_any_thread_count)
{
    size_t counts[] = {0, 1, 2, 4};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        verifier_t *v = verifier_new(counts[c], SIGNALS);
        cr_assert_not_null(v);
        for (size_t turn = 0; turn < 40; turn++)
            s_one_turn(v, 1 + (turn * 7) % SIGNALS, turn, turn % 2 == 0);
        verifier_destroy(&v);
        cr_assert_null(v);
    }
}

Test(verifier, unasked_jobs_are_dropped_and_the_next_turn_starts_clean)
{
    verifier_t *v = verifier_new(2, SIGNALS);
    cr_assert_not_null(v);
    for (size_t turn = 0; turn < 200; turn++) {
        for (size_t i = 0; i < SIGNALS; i++)
            cr_assert_geq(verifier_add(v, s_signals[i], s_keys[i]), 0);
        verifier_start(v);
        /* Only the last one: the workers may or may not have reached it. */
        cr_assert_eq(verifier_result(v, SIGNALS - 1), s_expected[SIGNALS - 1]);
        verifier_finish(v);
    }
    /* After many abandoned turns a fresh one still answers every job. */
    s_one_turn(v, SIGNALS, 3, true);
    verifier_destroy(&v);
}

Test(verifier, a_full_turn_and_late_adds_are_refused)
{
    verifier_t *v = verifier_new(1, 4);
    cr_assert_not_null(v);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(verifier_add(v, s_signals[i], s_keys[i]), i);
    cr_assert_eq(verifier_add(v, s_signals[4], s_keys[4]), -1, "capacity 4");
    verifier_start(v);
    cr_assert_eq(verifier_add(v, s_signals[0], s_keys[0]), -1, "no adds once started");
    cr_assert_eq(verifier_result(v, 4), ENVELOPE_ERR_INVALID_ARGUMENT, "no such job");
    cr_assert_eq(verifier_result(v, -1), ENVELOPE_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(verifier_result(v, i), s_expected[i]);
    verifier_finish(v);
    cr_assert_eq(verifier_add(v, s_signals[5], s_keys[5]), 0, "a new turn starts at job 0");
    verifier_finish(v); /* finish without start: nothing was handed out */
    cr_assert_eq(verifier_add(v, NULL, s_keys[0]), -1);
    verifier_destroy(&v);
    verifier_destroy(&v); /* NULL: no-op */
}

Test(verifier, default_threads_leave_a_core_for_the_loop)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = verifier_default_threads();
    if (cores <= 1)
        cr_assert_eq(threads, 0);
    else
        cr_assert(threads >= 1 && threads <= 4 && (long)threads <= cores - 1, "%zu of %ld", threads,
                  cores);
}
