/*  instruction: see instruction.h. */
#include "instruction.h"

#include "names.h"
#include "sigdomain.h"

#include <string.h>

/* id (16) || LE64(at) || text, into out; its length or 0. */
static size_t s_payload(const ProtobufCBinaryData *id, uint64_t at_ms, const char *text,
                        uint8_t *out, size_t cap)
{
    if (!id || id->len != 16 || !id->data || !text)
        return 0;
    size_t text_len = strlen(text);
    if (24 + text_len > cap)
        return 0;
    memcpy(out, id->data, 16);
    for (int i = 0; i < 8; i++)
        out[16 + i] = (uint8_t)(at_ms >> (8 * i));
    memcpy(out + 24, text, text_len);
    return 24 + text_len;
}

static int s_sign(sigdomain_t domain, const ProtobufCBinaryData *id, uint64_t at_ms,
                  const char *text, const unsigned char sk[64], unsigned char sig[64])
{
    uint8_t payload[24 + 256];
    size_t len = s_payload(id, at_ms, text, payload, sizeof payload);
    return len ? sigdomain_sign(domain, payload, len, sk, sig) : -1;
}

static int s_verify(sigdomain_t domain, const ProtobufCBinaryData *id, protobuf_c_boolean has_at,
                    uint64_t at_ms, const char *text, const ProtobufCBinaryData *sig,
                    const unsigned char pk[32])
{
    if (!has_at || !sig || sig->len != INSTRUCTION_SIGBYTES || !sig->data)
        return -1;
    uint8_t payload[24 + 256];
    size_t len = s_payload(id, at_ms, text, payload, sizeof payload);
    return len ? sigdomain_verify(domain, payload, len, sig->data, pk) : -1;
}

int instruction_withdraw_sign(Hartslag__Withdraw *withdraw, uint64_t now_ms,
                              const unsigned char sk[64], unsigned char sig[INSTRUCTION_SIGBYTES])
{
    if (!withdraw || !names_is_token(withdraw->reason) ||
        s_sign(SIGDOMAIN_WITHDRAW, &withdraw->signal_id, now_ms, withdraw->reason, sk, sig) != 0)
        return -1;
    withdraw->has_signed_at_ms = 1;
    withdraw->signed_at_ms = now_ms;
    withdraw->has_signature = 1;
    withdraw->signature.data = sig;
    withdraw->signature.len = INSTRUCTION_SIGBYTES;
    return 0;
}

int instruction_withdraw_verify(const Hartslag__Withdraw *withdraw, const unsigned char pk[32])
{
    if (!withdraw || !names_is_token(withdraw->reason))
        return -1;
    return s_verify(SIGDOMAIN_WITHDRAW, &withdraw->signal_id, withdraw->has_signed_at_ms,
                    withdraw->signed_at_ms, withdraw->reason, &withdraw->signature, pk);
}

int instruction_alert_ack_sign(Hartslag__AlertAck *ack, uint64_t now_ms, const unsigned char sk[64],
                               unsigned char sig[INSTRUCTION_SIGBYTES])
{
    if (!ack || !names_is_org(ack->lead_org) ||
        s_sign(SIGDOMAIN_ALERT_ACK, &ack->alert_id, now_ms, ack->lead_org, sk, sig) != 0)
        return -1;
    ack->has_signed_at_ms = 1;
    ack->signed_at_ms = now_ms;
    ack->has_signature = 1;
    ack->signature.data = sig;
    ack->signature.len = INSTRUCTION_SIGBYTES;
    return 0;
}

int instruction_alert_ack_verify(const Hartslag__AlertAck *ack, const unsigned char pk[32])
{
    if (!ack || !names_is_org(ack->lead_org))
        return -1;
    return s_verify(SIGDOMAIN_ALERT_ACK, &ack->alert_id, ack->has_signed_at_ms, ack->signed_at_ms,
                    ack->lead_org, &ack->signature, pk);
}

int instruction_alert_handled_verify(const Hartslag__Alert *alert, const unsigned char pk[32])
{
    if (!alert || !names_is_org(alert->lead_org))
        return -1;
    return s_verify(SIGDOMAIN_ALERT_ACK, &alert->alert_id, alert->has_handled_signed_at_ms,
                    alert->handled_signed_at_ms, alert->lead_org, &alert->handled_signature, pk);
}
