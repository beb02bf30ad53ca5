/*  fuzz_agreements_sig: a signature file (FILE.sig.d/ORG.sig) as anyone
    may drop it next to an agreements file (issue 14, "Bad input").

    Checked against agreements_sig.h: on failure the reason is set and the
    output is untouched; what the parser accepts the writer encodes back to
    exactly the same bytes (one encoding); an accepted signature never
    verifies against a fixed agreements file unless it is the genuine one
    made at start-up (nobody but the key's holder can sign).
*/
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "agreements_sig.h"
#include "fuzz_common.h"

static agreements_t *s_agreements;
static unsigned char s_pk[32], s_sk[64];
static agreements_sig_t s_genuine;

static const char s_file[] = "partnership: fuzz\nversion: 3\ncoordinator: gemeente\npartners:\n"
                             "  - {org: gemeente, role: coordinator}\n"
                             "  - {org: politie, role: partner}\n"
                             "agreements:\n"
                             "  - id: a1\n    from: politie\n    to: [gemeente]\n"
                             "    signal_types: [overlast]\n    fields: [adres]\n"
                             "    purpose: casusoverleg\n    legal_basis: \"Wpg art. 19\"\n"
                             "    valid_from: 2025-01-01\n    valid_until: 2027-12-31\n"
                             "    retention_days: 180\n    max_queue_days: 7\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    unsigned char seed[32];
    memset(seed, 7, sizeof seed);
    crypto_sign_seed_keypair(s_pk, s_sk, seed);
    s_agreements = agreements_parse(s_file, sizeof s_file - 1, "fuzz.yaml", NULL);
    FUZZ_CHECK(s_agreements != NULL);
    FUZZ_CHECK(agreements_sig_sign(s_agreements, "politie", s_sk, &s_genuine) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agreements_sig_t sig, before;
    memset(&sig, 0xa5, sizeof sig);
    before = sig;
    char err[AGREEMENTS_SIG_ERR_MAX] = "";
    int rc = agreements_sig_parse((const char *)data, size, &sig, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(memcmp(&sig, &before, sizeof sig) == 0);
        return 0;
    }
    /* one encoding: the writer gives back the very same bytes */
    char text[AGREEMENTS_SIG_FILE_MAX + 1];
    size_t len = agreements_sig_format(&sig, text, sizeof text);
    FUZZ_CHECK(len == size && memcmp(text, data, size) == 0);
    /* only the genuine signature verifies */
    err[0] = '\0';
    int ok = agreements_sig_verify(&sig, s_agreements, s_pk, err, sizeof err);
    if (ok == 0)
        FUZZ_CHECK(memcmp(sig.signature, s_genuine.signature, sizeof sig.signature) == 0);
    else
        FUZZ_CHECK(err[0] != '\0');
    return 0;
}
