/*  fuzz_daemon_frame: frames from the broker as hartslagd handles them.

    The input is a run of frames, each a 2-byte big-endian length and that
    many bytes (a last, short one takes what is left), at most
    FRAMES_MAX. Each goes through link_frame, the daemon's own entry point
    after the socket: wire_unpack_frame, then the handler of its body
    (Deliver, Withdraw, Alert, Denied, Expired, DeliveryOutcome, Accepted,
    WithdrawResult, Checkpoint, Welcome, Error, AlertAckResult). Between
    inputs the store goes back to the template of fuzz_daemon.h (one sent
    signal, one received signal, one alert), so a run of frames can touch
    known ids: the 16-byte placeholders FUZZ_ID_OUTBOX / FUZZ_ID_INBOX are
    replaced by those ids. After the frames the turn transaction must
    commit and the store must still answer.
*/
#include "fuzz_daemon.h"

#define FRAMES_MAX 16

static fuzz_daemon_t s_fd;

/* ---- seeds ---------------------------------------------------------- */

typedef struct {
    uint8_t data[64 * 1024]; /* the input being built */
    size_t len;              /* bytes used */
} seed_t;

static void s_add(seed_t *seed, Hartslag__Frame *frame)
{
    frame->version = WIRE_VERSION;
    uint8_t *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(wire_pack_frame(frame, &buf, &len) == 0);
    FUZZ_CHECK(len <= 0xffff && seed->len + 2 + len <= sizeof seed->data);
    seed->data[seed->len++] = (uint8_t)(len >> 8);
    seed->data[seed->len++] = (uint8_t)len;
    memcpy(seed->data + seed->len, buf, len);
    seed->len += len;
    free(buf);
}

static void s_add_raw(seed_t *seed, const uint8_t *data, size_t len)
{
    FUZZ_CHECK(len <= 0xffff && seed->len + 2 + len <= sizeof seed->data);
    seed->data[seed->len++] = (uint8_t)(len >> 8);
    seed->data[seed->len++] = (uint8_t)len;
    memcpy(seed->data + seed->len, data, len);
    seed->len += len;
}

static void s_write(const char *dir, const char *name, seed_t *seed)
{
    fuzz_write_seed(dir, name, seed->data, seed->len);
    seed->len = 0;
}

static ProtobufCBinaryData s_id(const char *holder)
{
    ProtobufCBinaryData b = {16, (uint8_t *)holder};
    return b;
}

static void s_checkpoint(seed_t *seed, uint64_t size, uint64_t from)
{
    char note[CHECKPOINT_NOTE_MAX];
    size_t note_len = 0, n = 0;
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    fuzz_daemon_checkpoint(&s_fd, size, from, note, &note_len, proof, &n);
    ProtobufCBinaryData hashes[MERKLE_PROOF_MAX];
    for (size_t i = 0; i < n; i++) {
        hashes[i].len = MERKLE_HASHBYTES;
        hashes[i].data = proof[i];
    }
    Hartslag__Checkpoint cp = HARTSLAG__CHECKPOINT__INIT;
    cp.note.data = (uint8_t *)note;
    cp.note.len = note_len;
    cp.from_size = from;
    cp.n_consistency_proof = n;
    cp.consistency_proof = hashes;
    Hartslag__Frame f = HARTSLAG__FRAME__INIT;
    f.body_case = HARTSLAG__FRAME__BODY_CHECKPOINT;
    f.checkpoint = &cp;
    s_add(seed, &f);
}

static void s_write_seeds(const char *dir)
{
    static seed_t seed;
    Hartslag__Frame f = HARTSLAG__FRAME__INIT;

    /* The received signal withdrawn; a signal for us (new, since the
       template's was sealed in another run), twice. */
    Hartslag__Withdraw wd = HARTSLAG__WITHDRAW__INIT;
    wd.signal_id = s_id(FUZZ_ID_INBOX);
    wd.reason = "resolved";
    f.body_case = HARTSLAG__FRAME__BODY_WITHDRAW;
    f.withdraw = &wd;
    s_add(&seed, &f);
    s_add_raw(&seed, s_fd.deliver, s_fd.deliver_len);
    s_write(dir, "withdraw-then-deliver", &seed);
    s_add_raw(&seed, s_fd.deliver, s_fd.deliver_len);
    s_add_raw(&seed, s_fd.deliver, s_fd.deliver_len);
    s_write(dir, "deliver-twice", &seed);

    /* Alerts: the known one handled, a new one. */
    s_add_raw(&seed, s_fd.alert, s_fd.alert_len);
    s_write(dir, "alert-known", &seed);
    Hartslag__Frame *alert = NULL;
    const char *reason = NULL;
    FUZZ_CHECK(wire_unpack_frame(s_fd.alert, s_fd.alert_len, &alert, &reason) == 0);
    alert->alert->state = "handled";
    alert->alert->lead_org = "politie";
    s_add(&seed, alert);
    alert->alert->alert_id.data[0] ^= 1;
    alert->alert->state = NULL;
    alert->alert->lead_org = NULL;
    s_add(&seed, alert);
    s_write(dir, "alert-handled-and-new", &seed);
    alert->alert->state = NULL;
    alert->alert->lead_org = NULL;
    hartslag__frame__free_unpacked(alert, NULL);

    /* Outcomes of the signal we sent. */
    Hartslag__Accepted acc = HARTSLAG__ACCEPTED__INIT;
    acc.signal_id = s_id(FUZZ_ID_OUTBOX);
    acc.accepted_at_ms = FUZZ_T0_MS + 5;
    acc.audit_index = 41;
    f.body_case = HARTSLAG__FRAME__BODY_ACCEPTED;
    f.accepted = &acc;
    s_add(&seed, &f);
    Hartslag__DeliveryOutcome out = HARTSLAG__DELIVERY_OUTCOME__INIT;
    uint8_t notice[16];
    memset(notice, 0x77, sizeof notice);
    out.signal_id = s_id(FUZZ_ID_OUTBOX);
    out.recipient = "politie";
    out.stored = 1;
    out.at_ms = FUZZ_T0_MS + 10;
    out.notice_id.data = notice;
    out.notice_id.len = sizeof notice;
    f.body_case = HARTSLAG__FRAME__BODY_DELIVERY_OUTCOME;
    f.delivery_outcome = &out;
    s_add(&seed, &f);
    out.recipient = "welzijn";
    out.stored = 0;
    out.reason = "field_not_allowed";
    notice[0] = 1;
    s_add(&seed, &f);
    s_write(dir, "accepted-outcomes", &seed);

    Hartslag__RecipientDenial rd = HARTSLAG__RECIPIENT_DENIAL__INIT;
    rd.recipient = "welzijn";
    rd.reason = "no_agreement";
    Hartslag__RecipientDenial *rds[] = {&rd};
    Hartslag__Denied den = HARTSLAG__DENIED__INIT;
    den.signal_id = s_id(FUZZ_ID_OUTBOX);
    den.reason = "agreement";
    den.n_recipients = 1;
    den.recipients = rds;
    f.body_case = HARTSLAG__FRAME__BODY_DENIED;
    f.denied = &den;
    s_add(&seed, &f);
    s_write(dir, "denied", &seed);

    Hartslag__Expired exp = HARTSLAG__EXPIRED__INIT;
    exp.signal_id = s_id(FUZZ_ID_OUTBOX);
    exp.recipient = "welzijn";
    f.body_case = HARTSLAG__FRAME__BODY_EXPIRED;
    f.expired = &exp;
    s_add(&seed, &f);
    s_write(dir, "expired", &seed);

    f.body_case = HARTSLAG__FRAME__BODY_ACCEPTED;
    f.accepted = &acc;
    s_add(&seed, &f);
    Hartslag__WithdrawResult wr = HARTSLAG__WITHDRAW_RESULT__INIT;
    wr.signal_id = s_id(FUZZ_ID_OUTBOX);
    wr.ok = 0;
    wr.reason = "not_sender";
    f.body_case = HARTSLAG__FRAME__BODY_WITHDRAW_RESULT;
    f.withdraw_result = &wr;
    s_add(&seed, &f);
    s_write(dir, "withdraw-result", &seed);

    /* Checkpoints: a first one, one that extends it, one that does not. */
    s_checkpoint(&seed, 4, 0);
    s_checkpoint(&seed, 7, 4);
    s_write(dir, "checkpoints-consistent", &seed);
    s_checkpoint(&seed, 6, 0);
    s_checkpoint(&seed, 5, 0);
    s_write(dir, "checkpoint-shrinks", &seed);

    /* The link frames. */
    Hartslag__Welcome wel = HARTSLAG__WELCOME__INIT;
    wel.org = "gemeente";
    wel.agreements_version = 4;
    wel.server_time_ms = FUZZ_T0_MS;
    f.body_case = HARTSLAG__FRAME__BODY_WELCOME;
    f.welcome = &wel;
    s_add(&seed, &f);
    Hartslag__Heartbeat hb = HARTSLAG__HEARTBEAT__INIT;
    hb.sent_at_ms = FUZZ_T0_MS;
    f.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
    f.heartbeat = &hb;
    s_add(&seed, &f);
    Hartslag__AlertAckResult aar = HARTSLAG__ALERT_ACK_RESULT__INIT;
    aar.alert_id.data = s_fd.alert_id;
    aar.alert_id.len = 16;
    aar.ok = 0;
    aar.reason = "lead_not_in_match";
    f.body_case = HARTSLAG__FRAME__BODY_ALERT_ACK_RESULT;
    f.alert_ack_result = &aar;
    s_add(&seed, &f);
    Hartslag__Error er = HARTSLAG__ERROR__INIT;
    er.code = "unknown_alert";
    er.detail = "no such alert";
    f.body_case = HARTSLAG__FRAME__BODY_ERROR;
    f.error = &er;
    s_add(&seed, &f);
    s_write(dir, "welcome-heartbeat-errors", &seed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_daemon_init(&s_fd);
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_daemon_reset(&s_fd);
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    if (size)
        memcpy(copy, data, size);
    fuzz_daemon_ids(&s_fd, copy, size);
    size_t pos = 0;
    for (int n = 0; n < FRAMES_MAX && pos < size; n++) {
        size_t len = size - pos;
        if (len >= 2) {
            size_t want = (size_t)copy[pos] << 8 | copy[pos + 1];
            pos += 2;
            len = want <= size - pos ? want : size - pos;
        } else {
            pos = size;
            break;
        }
        link_frame(s_fd.daemon, copy + pos, len);
        pos += len;
    }
    free(copy);
    /* Whatever the frames were, the turn commits and the store answers. */
    FUZZ_CHECK(daemon_flush(s_fd.daemon) == 0);
    store_counts_t counts;
    FUZZ_CHECK(store_counts(s_fd.daemon->store, &counts) == 0);
    return 0;
}
