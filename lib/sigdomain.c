/*  sigdomain: the table of signing purposes; see sigdomain.h. */
#include "sigdomain.h"

#include <sodium.h>
#include <string.h>

_Static_assert(SIGDOMAIN_SIGBYTES == crypto_sign_BYTES, "signature size");
_Static_assert(SIGDOMAIN_PUBLICKEYBYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(SIGDOMAIN_SECRETKEYBYTES == crypto_sign_SECRETKEYBYTES, "secret key size");

static const sigdomain_info_t s_table[SIGDOMAIN_COUNT_] = {
    [SIGDOMAIN_SIGNAL] = {"signal", "partner sign key", "hartslag/signal/v1\n", true, false},
    [SIGDOMAIN_CHECKPOINT] = {"checkpoint", "broker sign key", "hartslag.", false, false},
    [SIGDOMAIN_COSIGNATURE] = {"cosignature", "partner sign key", "cosignature/v1\n", false, false},
    [SIGDOMAIN_WITHDRAW] = {"withdraw", "partner sign key", "hartslag/withdraw/v1\n", true, false},
    [SIGDOMAIN_ALERT_ACK] = {"alert-ack", "coordinator's sign key", "hartslag/alert-ack/v1\n", true,
                             false},
    [SIGDOMAIN_AGREEMENTS] = {"agreements", "partner sign key", "hartslag/agreements/v1\n", true,
                              false},
    [SIGDOMAIN_CASE_ACTION] = {"case-action", "partner sign key", "hartslag/case-action/v1\n", true,
                               false},
};

/* The longest prefix plus the largest payload. */
#define S_MESSAGE_MAX (64 + SIGDOMAIN_PAYLOAD_MAX)

const sigdomain_info_t *sigdomain_info(sigdomain_t domain)
{
    return (unsigned)domain < SIGDOMAIN_COUNT_ ? &s_table[domain] : NULL;
}

size_t sigdomain_message(sigdomain_t domain, const uint8_t *payload, size_t len, uint8_t *out,
                         size_t out_max)
{
    const sigdomain_info_t *info = sigdomain_info(domain);
    if (!info || !info->tagged || len > SIGDOMAIN_PAYLOAD_MAX || (!payload && len > 0) || !out)
        return 0;
    size_t plen = strlen(info->prefix);
    if (plen + len > out_max)
        return 0;
    memcpy(out, info->prefix, plen);
    if (len > 0)
        memcpy(out + plen, payload, len);
    return plen + len;
}

int sigdomain_sign(sigdomain_t domain, const uint8_t *payload, size_t len,
                   const unsigned char sk[SIGDOMAIN_SECRETKEYBYTES],
                   unsigned char sig[SIGDOMAIN_SIGBYTES])
{
    uint8_t msg[S_MESSAGE_MAX];
    size_t n = sigdomain_message(domain, payload, len, msg, sizeof msg);
    if (n == 0 || !sk || !sig)
        return -1;
    crypto_sign_detached(sig, NULL, msg, n, sk);
    return 0;
}

int sigdomain_verify(sigdomain_t domain, const uint8_t *payload, size_t len,
                     const unsigned char sig[SIGDOMAIN_SIGBYTES],
                     const unsigned char pk[SIGDOMAIN_PUBLICKEYBYTES])
{
    uint8_t msg[S_MESSAGE_MAX];
    size_t n = sigdomain_message(domain, payload, len, msg, sizeof msg);
    if (n == 0 || !sig || !pk)
        return -1;
    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : -1;
}
