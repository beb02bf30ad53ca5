/*  sigdomain: one table of signing purposes, and no two purposes can
    produce the same signed bytes (issue 18 item 11). The table is checked
    for prefix-freedom, and the bytes each signer really signs are checked
    against its row. */
#include "audit_log.h"
#include "checkpoint.h"
#include "sigdomain.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

static void s_init(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(sigdomain, .init = s_init);

static bool s_starts(const void *bytes, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(bytes, prefix, n) == 0;
}

/* The one purpose whose prefix `bytes` starts with; -1 for none, -2 for
   more than one. */
static int s_purpose_of(const void *bytes, size_t len)
{
    int found = -1;
    for (int d = 0; d < SIGDOMAIN_COUNT_; d++)
        if (s_starts(bytes, len, sigdomain_info((sigdomain_t)d)->prefix))
            found = found == -1 ? d : -2;
    return found;
}

Test(sigdomain, no_prefix_is_a_prefix_of_another)
{
    for (int a = 0; a < SIGDOMAIN_COUNT_; a++) {
        const sigdomain_info_t *ia = sigdomain_info((sigdomain_t)a);
        cr_assert_not_null(ia);
        cr_assert_gt(strlen(ia->prefix), 0);
        /* A tagged purpose's prefix is exactly its tag line. */
        if (ia->tagged) {
            const char *nl = strchr(ia->prefix, '\n');
            cr_assert(nl && nl[1] == '\0', "%s: the tag is one line", ia->purpose);
        }
        for (int b = 0; b < SIGDOMAIN_COUNT_; b++) {
            if (a == b)
                continue;
            const sigdomain_info_t *ib = sigdomain_info((sigdomain_t)b);
            cr_assert_not(s_starts(ib->prefix, strlen(ib->prefix), ia->prefix),
                          "%s's prefix begins %s's: their signed bytes could coincide", ia->purpose,
                          ib->purpose);
            cr_assert_str_neq(ia->purpose, ib->purpose);
        }
    }
    cr_assert_null(sigdomain_info(SIGDOMAIN_COUNT_));
}

Test(sigdomain, tags_for_withdrawals_and_alert_acks)
{
    cr_assert_str_eq(sigdomain_info(SIGDOMAIN_WITHDRAW)->prefix, "hartslag/withdraw/v1\n");
    cr_assert_str_eq(sigdomain_info(SIGDOMAIN_ALERT_ACK)->prefix, "hartslag/alert-ack/v1\n");
    for (int d = 0; d < SIGDOMAIN_COUNT_; d++)
        cr_assert_not(sigdomain_info((sigdomain_t)d)->reserved, "%s still reserved",
                      sigdomain_info((sigdomain_t)d)->purpose);
}

/* A signature made for one tagged purpose verifies for no other, over the
   same payload. */
Test(sigdomain, a_signature_holds_for_its_own_purpose_only)
{
    unsigned char pk[32], sk[64], sig[64];
    crypto_sign_keypair(pk, sk);
    unsigned char digest[32];
    randombytes_buf(digest, sizeof digest);
    const sigdomain_t tagged[] = {SIGDOMAIN_SIGNAL, SIGDOMAIN_WITHDRAW, SIGDOMAIN_ALERT_ACK,
                                  SIGDOMAIN_AGREEMENTS, SIGDOMAIN_CASE_ACTION};
    const size_t n = sizeof tagged / sizeof tagged[0];
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(sigdomain_sign(tagged[i], digest, sizeof digest, sk, sig), 0);
        for (size_t j = 0; j < n; j++)
            cr_assert_eq(sigdomain_verify(tagged[j], digest, sizeof digest, sig, pk) == 0, i == j,
                         "signed as %s, checked as %s", sigdomain_info(tagged[i])->purpose,
                         sigdomain_info(tagged[j])->purpose);
        /* and never as the bare payload */
        cr_assert_neq(crypto_sign_verify_detached(sig, digest, sizeof digest, pk), 0);
    }
    /* The spec-owned formats are not signed here. */
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_COSIGNATURE, digest, 32, sk, sig), -1);
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_CHECKPOINT, digest, 32, sk, sig), -1);
    unsigned char big[SIGDOMAIN_PAYLOAD_MAX + 1] = {0};
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_SIGNAL, big, sizeof big, sk, sig), -1);
    cr_assert_eq(sigdomain_sign(SIGDOMAIN_SIGNAL, big, SIGDOMAIN_PAYLOAD_MAX, sk, sig), 0);
}

/* The bytes the checkpoint and cosignature signers really sign begin with
   their own row's prefix and with no other. */
Test(sigdomain, checkpoint_and_cosignature_bytes_match_their_rows)
{
    unsigned char log_pk[32], log_sk[64], cos_pk[32], cos_sk[64];
    crypto_sign_keypair(log_pk, log_sk);
    crypto_sign_keypair(cos_pk, cos_sk);
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    audit_log_origin_for("passart-heerlen", cp.origin, sizeof cp.origin);
    cp.size = 1000;
    randombytes_buf(cp.root, sizeof cp.root);

    /* Checkpoint: the note body is what the broker's key signs. */
    char body[CHECKPOINT_BODY_MAX + 1];
    size_t body_len;
    cr_assert_eq(checkpoint_body(&cp, body, sizeof body, &body_len), CHECKPOINT_OK);
    cr_assert_eq(s_purpose_of(body, body_len), SIGDOMAIN_CHECKPOINT, "%s", body);
    char note[CHECKPOINT_NOTE_MAX];
    size_t note_len;
    cr_assert_eq(checkpoint_sign(&cp, log_sk, note, sizeof note, &note_len), CHECKPOINT_OK);
    cr_assert_eq(memcmp(note, body, body_len), 0);

    /* Cosignature: "cosignature/v1\ntime T\n" || body, under the partner key. */
    char line[CHECKPOINT_LINE_MAX + 1];
    size_t line_len;
    const uint64_t when = 1767225600;
    cr_assert_eq(checkpoint_cosign(&cp, "politie", cos_sk, when, line, sizeof line, &line_len),
                 CHECKPOINT_OK);
    const char *b64 = strrchr(line, ' ');
    cr_assert_not_null(b64);
    unsigned char blob[4 + 8 + 64];
    size_t blob_len = 0;
    cr_assert_eq(sodium_base642bin(blob, sizeof blob, b64 + 1, line_len - (size_t)(b64 + 1 - line),
                                   "\n", &blob_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                 0);
    cr_assert_eq(blob_len, sizeof blob);
    unsigned char msg[64 + CHECKPOINT_BODY_MAX];
    int n = snprintf((char *)msg, sizeof msg, "cosignature/v1\ntime %llu\n%s",
                     (unsigned long long)when, body);
    cr_assert(n > 0 && (size_t)n < sizeof msg);
    cr_assert_eq(crypto_sign_verify_detached(blob + 12, msg, (size_t)n, cos_pk), 0,
                 "the cosignature is not over the documented bytes");
    cr_assert_eq(s_purpose_of(msg, (size_t)n), SIGDOMAIN_COSIGNATURE);

    /* Signal: the tag line and the digest. */
    unsigned char digest[32], signal_msg[64];
    randombytes_buf(digest, sizeof digest);
    size_t len = sigdomain_message(SIGDOMAIN_SIGNAL, digest, 32, signal_msg, sizeof signal_msg);
    cr_assert_eq(len, 19 + 32);
    cr_assert_eq(s_purpose_of(signal_msg, len), SIGDOMAIN_SIGNAL);
}
