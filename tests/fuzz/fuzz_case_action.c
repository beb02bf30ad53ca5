/*  fuzz_case_action: a case conference step as the broker and the daemons
    read it off the network (lib/case_action.h, issue 15).

    - The input is a serialized CaseAction: case_action_check either
      refuses it with a reason or accepts it, and then the step is valid
      by case_action_validate, has a named verb, re-packs to exactly the
      input (one encoding), and signing it with a fixed key yields the
      same bytes and a signature that verifies for that key only.
    - The input is also read as a SignedCaseAction: case_action_verify
      accepts it for the fixed key only when it is that key's genuine
      signature of a valid step (re-signing gives the same bytes), never
      for another key, and never crashes.
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case_action.h"
#include "fuzz_common.h"

static unsigned char s_pk[32], s_sk[64], s_other_pk[32];

/* One valid step of each verb, and one signed, as seeds. */
static void s_write_seeds(const char *dir)
{
    static uint8_t action_id[16] = {1}, case_id[16] = {2}, subject[32] = {3};
    static char *partners[] = {"politie", "welzijn"};
    for (int verb = HARTSLAG__CASE_VERB__CASE_OPEN; verb <= HARTSLAG__CASE_VERB__CASE_CLOSE;
         verb++) {
        Hartslag__CaseAction a = HARTSLAG__CASE_ACTION__INIT;
        a.action_id = (ProtobufCBinaryData){16, action_id};
        a.case_id = (ProtobufCBinaryData){16, case_id};
        a.actor = "gemeente";
        a.actor_user = "regisseur 1";
        a.verb = (Hartslag__CaseVerb)verb;
        a.created_at_ms = FUZZ_T0_MS;
        a.agreements_version = 3;
        if (verb == HARTSLAG__CASE_VERB__CASE_OPEN) {
            a.kind = "casusoverleg-passart";
            a.has_subject = 1;
            a.subject = (ProtobufCBinaryData){32, subject};
        }
        if (verb == HARTSLAG__CASE_VERB__CASE_OPEN || verb == HARTSLAG__CASE_VERB__CASE_INVITE ||
            verb == HARTSLAG__CASE_VERB__CASE_REMOVE) {
            a.partners = partners;
            a.n_partners = 2;
        }
        if (verb == HARTSLAG__CASE_VERB__CASE_SCHEDULE)
            a.meeting_date = "2027-01-14";
        if (verb == HARTSLAG__CASE_VERB__CASE_CLOSE)
            a.outcome = "opgelost";
        uint8_t *bytes = NULL;
        size_t len = 0;
        unsigned char sig[CASE_SIGBYTES];
        const char *why = NULL;
        FUZZ_CHECK(case_action_sign(&a, s_sk, &bytes, &len, sig, &why) == 0);
        fuzz_write_seed(dir, case_verb_name(a.verb), bytes, len);
        if (verb == HARTSLAG__CASE_VERB__CASE_ACCEPT) {
            Hartslag__SignedCaseAction signed_step = HARTSLAG__SIGNED_CASE_ACTION__INIT;
            signed_step.action = (ProtobufCBinaryData){len, bytes};
            signed_step.signature = (ProtobufCBinaryData){sizeof sig, sig};
            uint8_t packed[CASE_ACTION_MAX + 128];
            size_t n = hartslag__signed_case_action__pack(&signed_step, packed);
            fuzz_write_seed(dir, "signed-accept", packed, n);
        }
        free(bytes);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FUZZ_CHECK(sodium_init() >= 0);
    unsigned char seed[32] = {7};
    crypto_sign_seed_keypair(s_pk, s_sk, seed);
    unsigned char other_sk[64], other_seed[32] = {8};
    crypto_sign_seed_keypair(s_other_pk, other_sk, other_seed);
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Hartslag__CaseAction *action = NULL;
    const char *why = NULL;
    if (case_action_check(data, size, &action, &why) == 0) {
        FUZZ_CHECK(action != NULL);
        FUZZ_CHECK(case_verb_name(action->verb) != NULL);
        const char *again = NULL;
        FUZZ_CHECK(case_action_validate(action, &again) == 0);
        size_t packed = hartslag__case_action__get_packed_size(action);
        FUZZ_CHECK(packed == size);
        uint8_t *bytes = NULL;
        size_t len = 0;
        unsigned char sig[CASE_SIGBYTES];
        FUZZ_CHECK(case_action_sign(action, s_sk, &bytes, &len, sig, &again) == 0);
        FUZZ_CHECK(len == size && memcmp(bytes, data, size) == 0);
        Hartslag__SignedCaseAction signed_step = HARTSLAG__SIGNED_CASE_ACTION__INIT;
        signed_step.action.data = bytes;
        signed_step.action.len = len;
        signed_step.signature.data = sig;
        signed_step.signature.len = sizeof sig;
        FUZZ_CHECK(case_action_verify(&signed_step, s_pk) == 0);
        FUZZ_CHECK(case_action_verify(&signed_step, s_other_pk) != 0);
        free(bytes);
        hartslag__case_action__free_unpacked(action, NULL);
    } else {
        FUZZ_CHECK(action == NULL && why != NULL && *why);
    }
    if (size <= 4096) {
        Hartslag__SignedCaseAction *signed_step =
            hartslag__signed_case_action__unpack(NULL, size, data);
        if (signed_step && case_action_verify(signed_step, s_pk) == 0) {
            /* Accepted only as the genuine signature of a valid step:
               re-signing the step gives the same 64 bytes (Ed25519 is
               deterministic and libsodium refuses non-canonical ones). */
            Hartslag__CaseAction *inner = NULL;
            const char *inner_why = NULL;
            FUZZ_CHECK(case_action_check(signed_step->action.data, signed_step->action.len, &inner,
                                         &inner_why) == 0);
            uint8_t *bytes = NULL;
            size_t len = 0;
            unsigned char sig[CASE_SIGBYTES];
            FUZZ_CHECK(case_action_sign(inner, s_sk, &bytes, &len, sig, &inner_why) == 0);
            FUZZ_CHECK(memcmp(sig, signed_step->signature.data, CASE_SIGBYTES) == 0);
            FUZZ_CHECK(case_action_verify(signed_step, s_other_pk) != 0);
            free(bytes);
            hartslag__case_action__free_unpacked(inner, NULL);
        }
        if (signed_step)
            hartslag__signed_case_action__free_unpacked(signed_step, NULL);
    }
    return 0;
}
