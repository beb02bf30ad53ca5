/*  bench_envelope: seal, verify and open per second for a signal to 2
    recipients with 512 bytes of content (serialized SignalContent), plus
    the broker's whole per-signal check (unpack, header, sealed, verify) and
    the recipient's (unpack, header, sealed, open). Figures only; never
    pass/fail. Usage: bench_envelope [seconds per figure, default 1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "wire.h"

#define CONTENT_BYTES 512

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_report(const char *what, long n, double seconds)
{
    printf("%-34s %9.0f /s  %8.2f us each  (%ld in %.2f s)\n", what, (double)n / seconds,
           seconds / (double)n * 1e6, n, seconds);
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    if (budget <= 0)
        budget = 1.0;
    if (sodium_init() < 0)
        return 1;

    unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES], sign_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char box_pk[crypto_box_PUBLICKEYBYTES], box_sk[crypto_box_SECRETKEYBYTES];
    crypto_sign_keypair(sign_pk, sign_sk);
    crypto_box_keypair(box_pk, box_sk);
    envelope_keyring_t *ring = envelope_keyring_new(box_sk);
    unsigned char r_pk[2][crypto_box_PUBLICKEYBYTES], r_sk[2][crypto_box_SECRETKEYBYTES];
    envelope_keyring_t *r_ring[2];
    envelope_recipient_t recipients[2] = {{"politie", {0}}, {"welzijn", {0}}};
    for (int i = 0; i < 2; i++) {
        crypto_box_keypair(r_pk[i], r_sk[i]);
        memcpy(recipients[i].box_pk, r_pk[i], sizeof r_pk[i]);
        r_ring[i] = envelope_keyring_new(r_sk[i]);
    }
    if (!ring || !r_ring[0] || !r_ring[1])
        return 1;

    /* Content: two short fields and a value that brings the packed
       SignalContent to CONTENT_BYTES. */
    static char value[CONTENT_BYTES];
    envelope_field_t fields[3] = {{"adres", "Markt 1, 6411 AB Heerlen"},
                                  {"datum", "2025-01-01"},
                                  {"toelichting_kort", value}};
    size_t fixed = (2 + 2 + 5 + 2 + 24) + (2 + 2 + 5 + 2 + 10) + (2 + 2 + 16 + 3);
    size_t vlen = CONTENT_BYTES - fixed - 1;
    memset(value, 'x', vlen);
    value[vlen] = '\0';
    envelope_draft_t draft = {0};
    draft.sender = "gemeente";
    draft.sender_user = "u12345";
    draft.signal_type = "overlast";
    draft.purpose = "casusoverleg";
    draft.agreements_version = 7;
    memset(draft.subject, 0x5a, sizeof draft.subject);
    draft.fields = fields;
    draft.n_fields = 3;
    draft.created_at_ms = wire_now_ms();
    draft.valid_until_ms = draft.created_at_ms + 180ull * 24 * 3600 * 1000;
    envelope_sender_t sender = {sign_sk, ring};
    envelope_peer_t peer = {"gemeente", {0}, {0}};
    memcpy(peer.sign_pk, sign_pk, sizeof sign_pk);
    memcpy(peer.box_pk, box_pk, sizeof box_pk);

    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    unsigned char id[ENVELOPE_SIGNAL_ID_BYTES];
    if (envelope_seal(&draft, &sender, recipients, 2, &sealed, &sealed_len, id, NULL) !=
        ENVELOPE_OK)
        return 1;
    Hartslag__SealedSignal *s = NULL;
    Hartslag__SignalHeader *h = NULL;
    if (envelope_unpack(sealed, sealed_len, &s) != ENVELOPE_OK ||
        wire_check_header(s->header.data, s->header.len, &h, NULL) != 0)
        return 1;
    printf("envelope: 2 recipients, content %zu bytes, sealed %zu bytes, header %zu bytes\n",
           s->ciphertext.len - ENVELOPE_ABYTES, sealed_len, s->header.len);

    long n = 0;
    double t0 = s_now(), t;
    do {
        for (int k = 0; k < 64; k++, n++) {
            uint8_t *out = NULL;
            size_t out_len;
            if (envelope_seal(&draft, &sender, recipients, 2, &out, &out_len, id, NULL) !=
                ENVELOPE_OK)
                return 1;
            free(out);
        }
    } while ((t = s_now() - t0) < budget);
    s_report("seal (2 recipients)", n, t);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 64; k++, n++)
            if (envelope_verify(s, sign_pk) != ENVELOPE_OK)
                return 1;
    } while ((t = s_now() - t0) < budget);
    s_report("verify", n, t);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 64; k++, n++) {
            Hartslag__SignalContent *c = NULL;
            if (envelope_open(s, h, &peer, "welzijn", r_ring[1], &c) != ENVELOPE_OK)
                return 1;
            envelope_content_destroy(&c);
        }
    } while ((t = s_now() - t0) < budget);
    s_report("open (header already parsed)", n, t);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 64; k++, n++) {
            Hartslag__SealedSignal *s2 = NULL;
            Hartslag__SignalHeader *h2 = NULL;
            if (envelope_unpack(sealed, sealed_len, &s2) != ENVELOPE_OK ||
                wire_check_header(s2->header.data, s2->header.len, &h2, NULL) != 0 ||
                wire_check_sealed(s2, h2, NULL) != 0 || envelope_verify(s2, sign_pk) != ENVELOPE_OK)
                return 1;
            hartslag__signal_header__free_unpacked(h2, NULL);
            hartslag__sealed_signal__free_unpacked(s2, NULL);
        }
    } while ((t = s_now() - t0) < budget);
    s_report("broker check (unpack..verify)", n, t);

    n = 0;
    t0 = s_now();
    do {
        for (int k = 0; k < 64; k++, n++) {
            Hartslag__SealedSignal *s2 = NULL;
            Hartslag__SignalHeader *h2 = NULL;
            Hartslag__SignalContent *c = NULL;
            if (envelope_unpack(sealed, sealed_len, &s2) != ENVELOPE_OK ||
                wire_check_header(s2->header.data, s2->header.len, &h2, NULL) != 0 ||
                envelope_open(s2, h2, &peer, "politie", r_ring[0], &c) != ENVELOPE_OK)
                return 1;
            envelope_content_destroy(&c);
            hartslag__signal_header__free_unpacked(h2, NULL);
            hartslag__sealed_signal__free_unpacked(s2, NULL);
        }
    } while ((t = s_now() - t0) < budget);
    s_report("recipient receive (unpack..open)", n, t);

    hartslag__signal_header__free_unpacked(h, NULL);
    hartslag__sealed_signal__free_unpacked(s, NULL);
    free(sealed);
    envelope_keyring_destroy(&ring);
    envelope_keyring_destroy(&r_ring[0]);
    envelope_keyring_destroy(&r_ring[1]);
    sodium_memzero(sign_sk, sizeof sign_sk);
    sodium_memzero(box_sk, sizeof box_sk);
    sodium_memzero(r_sk, sizeof r_sk);
    return 0;
}
