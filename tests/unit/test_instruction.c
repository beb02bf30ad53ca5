/*  instruction: signed withdrawals and alert acknowledgements verify with
    the signer's key only, and not once any signed field changed. */
#include "instruction.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

typedef struct {
    unsigned char pk[32];
    unsigned char sk[64];
} keys_t;

static keys_t s_keys(void)
{
    keys_t k;
    crypto_sign_keypair(k.pk, k.sk);
    return k;
}

Test(instruction, a_withdrawal_verifies_with_its_signers_key_only)
{
    cr_assert_geq(sodium_init(), 0);
    keys_t sender = s_keys(), broker = s_keys();
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    Hartslag__Withdraw w = HARTSLAG__WITHDRAW__INIT;
    w.signal_id.data = id;
    w.signal_id.len = sizeof id;
    w.reason = "resolved";
    cr_assert_neq(instruction_withdraw_verify(&w, sender.pk), 0, "unsigned verified");
    unsigned char sig[INSTRUCTION_SIGBYTES];
    cr_assert_eq(instruction_withdraw_sign(&w, 1700000000000ull, sender.sk, sig), 0);
    cr_assert_eq(instruction_withdraw_verify(&w, sender.pk), 0);
    cr_assert_neq(instruction_withdraw_verify(&w, broker.pk), 0, "another key verified");
    w.reason = "unjustified";
    cr_assert_neq(instruction_withdraw_verify(&w, sender.pk), 0, "changed reason verified");
    w.reason = "resolved";
    w.signed_at_ms++;
    cr_assert_neq(instruction_withdraw_verify(&w, sender.pk), 0, "changed time verified");
    w.signed_at_ms--;
    id[0] ^= 1;
    cr_assert_neq(instruction_withdraw_verify(&w, sender.pk), 0, "changed id verified");
    id[0] ^= 1;
    cr_assert_eq(instruction_withdraw_verify(&w, sender.pk), 0);
}

Test(instruction, an_alert_ack_is_not_a_withdrawal)
{
    cr_assert_geq(sodium_init(), 0);
    keys_t coordinator = s_keys();
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    Hartslag__AlertAck ack = HARTSLAG__ALERT_ACK__INIT;
    ack.alert_id.data = id;
    ack.alert_id.len = sizeof id;
    ack.lead_org = "welzijn";
    unsigned char sig[INSTRUCTION_SIGBYTES];
    cr_assert_eq(instruction_alert_ack_sign(&ack, 1700000000000ull, coordinator.sk, sig), 0);
    cr_assert_eq(instruction_alert_ack_verify(&ack, coordinator.pk), 0);
    /* The same fields as a withdrawal (reason "welzijn"): another domain. */
    Hartslag__Withdraw w = HARTSLAG__WITHDRAW__INIT;
    w.signal_id = ack.alert_id;
    w.reason = "welzijn";
    w.has_signed_at_ms = 1;
    w.signed_at_ms = ack.signed_at_ms;
    w.signature = ack.signature;
    cr_assert_neq(instruction_withdraw_verify(&w, coordinator.pk), 0);
    /* Passed on in the updated Alert, unchanged. */
    Hartslag__Alert alert = HARTSLAG__ALERT__INIT;
    alert.alert_id = ack.alert_id;
    alert.lead_org = "welzijn";
    alert.has_handled_signed_at_ms = 1;
    alert.handled_signed_at_ms = ack.signed_at_ms;
    alert.handled_signature = ack.signature;
    cr_assert_eq(instruction_alert_handled_verify(&alert, coordinator.pk), 0);
    alert.lead_org = "politie";
    cr_assert_neq(instruction_alert_handled_verify(&alert, coordinator.pk), 0, "another lead");
}
