/*  fuzz_frame: one frame as it arrives at the broker or a daemon socket.

    wire_unpack_frame on the input; for a Submit or Deliver, the checks the
    broker and the daemon run next: wire_check_header on the sealed header,
    wire_check_sealed, envelope_verify with the fixed sender's key. Also
    checks the contract of wire.h: on failure a reason token is set and the
    output is untouched; a frame that unpacks packs again, and what it
    packs to unpacks to the same bytes once more.
*/
#include <stdint.h>
#include <string.h>

#include "deliver_frame.h"
#include "fuzz_common.h"

static fuzz_fixture_t s_fx;

/* Writes the seeds: a Submit and a Deliver around the valid signal, a
   Heartbeat, a Hello, a Checkpoint and an Error. */
static void s_write_seeds(const char *dir)
{
    Hartslag__SealedSignal *sealed = NULL;
    FUZZ_CHECK(envelope_unpack(s_fx.sealed, s_fx.sealed_len, &sealed) == ENVELOPE_OK);

    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    uint8_t *buf = NULL;
    size_t len = 0;

    Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
    submit.signal = sealed;
    frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
    frame.submit = &submit;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &len) == 0);
    fuzz_write_seed(dir, "submit", buf, len);
    free(buf);

    uint8_t deliver[ENVELOPE_SEALED_MAX + DELIVER_FRAME_OVERHEAD];
    len = deliver_frame_encode(deliver, sizeof deliver, s_fx.sealed, s_fx.sealed_len,
                               FUZZ_T0_MS + 1000);
    FUZZ_CHECK(len > 0);
    fuzz_write_seed(dir, "deliver", deliver, len);

    Hartslag__Heartbeat hb = HARTSLAG__HEARTBEAT__INIT;
    hb.sent_at_ms = FUZZ_T0_MS;
    frame.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
    frame.heartbeat = &hb;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &len) == 0);
    fuzz_write_seed(dir, "heartbeat", buf, len);
    free(buf);

    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = "politie";
    hello.software = "hartslagd/0.1.0";
    hello.has_agreements_version = 1;
    hello.agreements_version = 7;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &len) == 0);
    fuzz_write_seed(dir, "hello", buf, len);
    free(buf);

    uint8_t hash[2][32];
    memset(hash, 0xab, sizeof hash);
    ProtobufCBinaryData proof[2] = {{32, hash[0]}, {32, hash[1]}};
    Hartslag__Checkpoint cp = HARTSLAG__CHECKPOINT__INIT;
    cp.note.data = (uint8_t *)"example.org/log\n4\nAAAA\n\n\xe2\x80\x94 broker x\n";
    cp.note.len = strlen((const char *)cp.note.data);
    cp.from_size = 2;
    cp.n_consistency_proof = 2;
    cp.consistency_proof = proof;
    frame.body_case = HARTSLAG__FRAME__BODY_CHECKPOINT;
    frame.checkpoint = &cp;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &len) == 0);
    fuzz_write_seed(dir, "checkpoint", buf, len);
    free(buf);

    Hartslag__Error error = HARTSLAG__ERROR__INIT;
    error.code = "malformed";
    error.detail = "frame could not be read";
    frame.body_case = HARTSLAG__FRAME__BODY_ERROR;
    frame.error = &error;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &len) == 0);
    fuzz_write_seed(dir, "error", buf, len);
    free(buf);

    hartslag__sealed_signal__free_unpacked(sealed, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    fuzz_fixture_init(&s_fx);
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* The checks a receiver runs on the signal inside a Submit or Deliver. */
static void s_check_signal(const Hartslag__SealedSignal *sealed)
{
    FUZZ_CHECK(sealed != NULL);
    Hartslag__SignalHeader *sentinel = (Hartslag__SignalHeader *)&s_fx;
    Hartslag__SignalHeader *header = sentinel;
    const char *reason = NULL;
    if (wire_check_header(sealed->header.data, sealed->header.len, &header, &reason) != 0) {
        FUZZ_CHECK(reason != NULL && *reason);
        FUZZ_CHECK(header == sentinel);
        return;
    }
    FUZZ_CHECK(header != NULL && header != sentinel);
    reason = NULL;
    if (wire_check_sealed(sealed, header, &reason) != 0) {
        FUZZ_CHECK(reason != NULL && *reason);
    } else {
        /* What wire_check_sealed accepted has the sizes envelope_verify needs. */
        envelope_error_t err = envelope_verify(sealed, s_fx.sender.sign_pk);
        FUZZ_CHECK(err == ENVELOPE_OK || err == ENVELOPE_ERR_BAD_SIGNATURE);
    }
    hartslag__signal_header__free_unpacked(header, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Hartslag__Frame *sentinel = (Hartslag__Frame *)&s_fx;
    Hartslag__Frame *frame = sentinel;
    const char *reason = NULL;
    if (wire_unpack_frame(data, size, &frame, &reason) != 0) {
        FUZZ_CHECK(reason != NULL && *reason);
        FUZZ_CHECK(frame == sentinel);
        return 0;
    }
    FUZZ_CHECK(frame != NULL && frame != sentinel);
    FUZZ_CHECK(frame->version == WIRE_VERSION);

    if (frame->body_case == HARTSLAG__FRAME__BODY_SUBMIT)
        s_check_signal(frame->submit->signal);
    else if (frame->body_case == HARTSLAG__FRAME__BODY_DELIVER)
        s_check_signal(frame->deliver->signal);

    /* A frame that was read packs again (unless it grew past the cap), and
       packing is a fixed point: pack(unpack(pack(f))) == pack(f). */
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    if (wire_pack_frame(frame, &packed, &packed_len) == 0) {
        Hartslag__Frame *again = NULL;
        reason = NULL;
        FUZZ_CHECK(wire_unpack_frame(packed, packed_len, &again, &reason) == 0);
        uint8_t *packed2 = NULL;
        size_t packed2_len = 0;
        FUZZ_CHECK(wire_pack_frame(again, &packed2, &packed2_len) == 0);
        FUZZ_CHECK(packed2_len == packed_len && memcmp(packed, packed2, packed_len) == 0);
        free(packed2);
        hartslag__frame__free_unpacked(again, NULL);
        free(packed);
    }
    hartslag__frame__free_unpacked(frame, NULL);
    return 0;
}
