/*  fuzz_pseudonym: a citizen's identifier as a professional types it or a
    source system exports it.

    For each kind, pseudonym_normalise and pseudonym_derive on the input as
    a string. Checked against pseudonym.h: normalising is idempotent and
    fits PSEUDONYM_NORMALISED_MAX; derive succeeds exactly when normalise
    does and equals BLAKE2b over the normalised form (recomputed here); a
    short output buffer is refused cleanly; a BSN that is accepted passes
    the elfproef; a case number is uppercase [A-Z0-9-/]. The input is also
    tried as a kind name and as a hex pseudonym.
*/
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "pseudonym.h"

static unsigned char s_key[PSEUDONYM_KEYBYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    memset(s_key, 0x42, sizeof s_key);
    return 0;
}

/* The pseudonym as pseudonym.h defines it, computed independently. */
static void s_expected(pseudonym_kind_t kind, const char *normalised,
                       unsigned char out[PSEUDONYM_BYTES])
{
    crypto_generichash_state st;
    const char *name = pseudonym_kind_name(kind);
    const unsigned char zero = 0;
    crypto_generichash_init(&st, s_key, sizeof s_key, PSEUDONYM_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)PSEUDONYM_TAG, strlen(PSEUDONYM_TAG));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, (const unsigned char *)name, strlen(name));
    crypto_generichash_update(&st, &zero, 1);
    crypto_generichash_update(&st, (const unsigned char *)normalised, strlen(normalised));
    crypto_generichash_final(&st, out, PSEUDONYM_BYTES);
}

static bool s_elfproef(const char *d)
{
    int sum = 0;
    bool nonzero = false;
    for (int i = 0; i < 9; i++) {
        if (!isdigit((unsigned char)d[i]))
            return false;
        nonzero = nonzero || d[i] != '0';
        sum += (i < 8 ? 9 - i : -1) * (d[i] - '0');
    }
    return d[9] == '\0' && nonzero && ((sum % 11) + 11) % 11 == 0;
}

/* What a normalised identifier of `kind` looks like. */
static void s_check_form(pseudonym_kind_t kind, const char *n)
{
    size_t len = strlen(n);
    FUZZ_CHECK(len >= 1 && len <= PSEUDONYM_NORMALISED_MAX);
    switch (kind) {
    case PSEUDONYM_BSN:
        FUZZ_CHECK(s_elfproef(n));
        break;
    case PSEUDONYM_ADDRESS:
        /* "PPPPLL N" or "PPPPLL N T" */
        FUZZ_CHECK(len >= 8 && n[0] >= '1' && n[0] <= '9' && isdigit((unsigned char)n[1]) &&
                   isdigit((unsigned char)n[2]) && isdigit((unsigned char)n[3]) &&
                   isupper((unsigned char)n[4]) && isupper((unsigned char)n[5]) && n[6] == ' ');
        FUZZ_CHECK(n[7] >= '1' && n[7] <= '9');
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(isdigit((unsigned char)n[i]) || isupper((unsigned char)n[i]) || n[i] == ' ');
        FUZZ_CHECK(n[len - 1] != ' ' && strstr(n, "  ") == NULL);
        break;
    case PSEUDONYM_CASE:
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK(isdigit((unsigned char)n[i]) || isupper((unsigned char)n[i]) ||
                       n[i] == '-' || n[i] == '/');
        break;
    default:
        FUZZ_CHECK(0);
    }
}

static void s_check_kind(pseudonym_kind_t kind, const char *id)
{
    char out[PSEUDONYM_NORMALISED_MAX + 1];
    const char *error = NULL;
    int rc = pseudonym_normalise(kind, id, out, sizeof out, &error);
    unsigned char p[PSEUDONYM_BYTES], q[PSEUDONYM_BYTES];
    memset(p, 0xee, sizeof p);
    const char *derr = NULL;
    int drc = pseudonym_derive(s_key, kind, id, p, &derr);
    FUZZ_CHECK(rc == drc);
    if (rc != 0) {
        FUZZ_CHECK(error != NULL && derr != NULL && out[0] == '\0');
        for (size_t i = 0; i < sizeof p; i++)
            FUZZ_CHECK(p[i] == 0xee);
        return;
    }
    s_check_form(kind, out);

    /* Idempotent. */
    char again[PSEUDONYM_NORMALISED_MAX + 1];
    FUZZ_CHECK(pseudonym_normalise(kind, out, again, sizeof again, NULL) == 0);
    FUZZ_CHECK(strcmp(again, out) == 0);

    /* The pseudonym of the input is that of its normalised form. */
    s_expected(kind, out, q);
    FUZZ_CHECK(memcmp(p, q, sizeof p) == 0);

    /* A buffer below PSEUDONYM_NORMALISED_MAX + 1 may be refused (then it
       holds an empty string) but never overrun; one too small for this id
       must be refused. */
    size_t need = strlen(out) + 1;
    char small[PSEUDONYM_NORMALISED_MAX + 1];
    for (size_t outlen = need - 1; outlen <= need; outlen++) {
        memset(small, 'x', sizeof small);
        int src = pseudonym_normalise(kind, id, small, outlen, NULL);
        if (src == 0)
            FUZZ_CHECK(outlen == need && strcmp(small, out) == 0);
        else
            FUZZ_CHECK(outlen == 0 || small[0] == '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * PSEUDONYM_ID_MAX)
        return 0;
    char id[2 * PSEUDONYM_ID_MAX + 1];
    memcpy(id, data, size);
    id[size] = '\0';

    for (int k = 0; k < PSEUDONYM_KIND_COUNT_; k++)
        s_check_kind((pseudonym_kind_t)k, id);

    pseudonym_kind_t kind;
    if (pseudonym_kind_from_string(id, &kind) == 0)
        FUZZ_CHECK(strcmp(pseudonym_kind_name(kind), id) == 0);

    unsigned char p[PSEUDONYM_BYTES];
    if (pseudonym_from_hex(id, p) == 0) {
        char hex[PSEUDONYM_HEXBYTES];
        pseudonym_to_hex(p, hex);
        FUZZ_CHECK(strlen(id) == 64);
        for (size_t i = 0; i < 64; i++)
            FUZZ_CHECK(hex[i] == tolower((unsigned char)id[i]));
    }
    return 0;
}
