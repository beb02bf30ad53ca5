/*  instruction: what one partner tells another through the broker, signed
    by the partner so that the broker can forward it but never forge it
    (issue 18 A1).

    Two kinds, each under its own signature domain (lib/sigdomain):
      withdraw   the sender of a signal withdraws it; every recipient
                 deletes it. Signed payload:
                     signal_id (16) || LE64(signed_at_ms) || reason
      alert-ack  the coordinator marks a multi-agency alert handled and
                 names the partner that leads. Signed payload:
                     alert_id (16) || LE64(signed_at_ms) || lead_org
    The text fields are tokens (names_is_token / names_is_org), so their
    length is the rest of the payload. The signature travels in the
    protobuf message itself (Withdraw, AlertAck, Alert.handled_*).

    Sign functions fill the message's signed_at_ms and signature fields;
    the signature bytes live in the caller's `sig` buffer, which must
    outlive the message. Verify functions return 0 only for a 64-byte
    signature that verifies with `pk`; anything missing is -1. */
#ifndef HARTSLAG_INSTRUCTION_H
#define HARTSLAG_INSTRUCTION_H

#include "hartslag.pb-c.h"

#include <stdint.h>

#define INSTRUCTION_SIGBYTES 64

int instruction_withdraw_sign(Hartslag__Withdraw *withdraw, uint64_t now_ms,
                              const unsigned char sk[64], unsigned char sig[INSTRUCTION_SIGBYTES])
    __attribute__((warn_unused_result));
int instruction_withdraw_verify(const Hartslag__Withdraw *withdraw, const unsigned char pk[32])
    __attribute__((warn_unused_result));

int instruction_alert_ack_sign(Hartslag__AlertAck *ack, uint64_t now_ms, const unsigned char sk[64],
                               unsigned char sig[INSTRUCTION_SIGBYTES])
    __attribute__((warn_unused_result));
int instruction_alert_ack_verify(const Hartslag__AlertAck *ack, const unsigned char pk[32])
    __attribute__((warn_unused_result));

/* The coordinator's acknowledgement as the broker passes it on in an
   updated Alert (state "handled", lead_org, handled_signed_at_ms,
   handled_signature). */
int instruction_alert_handled_verify(const Hartslag__Alert *alert, const unsigned char pk[32])
    __attribute__((warn_unused_result));

#endif
