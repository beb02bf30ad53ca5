/*  fuzz_daemon: a real hartslagd (daemon_t) for the daemon's fuzz targets
    (fuzz_daemon_frame, fuzz_control), built once at start-up:

    - a partnership in a temp directory under /dev/shm (else TMPDIR): keys
      for the broker, "gemeente" (coordinator: us), "politie" and
      "welzijn", their certificates, agreements.yaml, a pseudonym key;
    - daemon_new for "gemeente" against a broker endpoint where nothing
      listens (sends fail at once: ZMQ_IMMEDIATE, DONTWAIT);
    - a starting state: one signal we sent (outbox, pending), one signal
      politie sent us (inbox, via link_frame) and one alert (inbox, via
      link_frame), written to hartslagd.db and kept as the template.

    Before every input the store is put back to the template (the file is
    copied over and reopened) and the waiters and watchers are dropped, so
    an input replays the same way alone and inside a run.

    Ids change when the set-up changes, so inputs name them by
    placeholders that fuzz_daemon_ids replaces: in frames the 16 bytes
    FUZZ_ID_OUTBOX, FUZZ_ID_INBOX, FUZZ_ID_ALERT; in control text the
    words "@OUT", "@IN", "@ALERT" (32 hex digits each).

    Keys come from the deterministic random source (fuzz_common.h) and are
    made before any ZeroMQ socket exists, so the signals sealed with them
    (and written into seeds) verify in every run. */
#ifndef HARTSLAG_FUZZ_DAEMON_H
#define HARTSLAG_FUZZ_DAEMON_H

#include "fuzz_common.h"

#include "../../clients/daemon/daemon_internal.h"
#include "../../clients/daemon/dlog.h"

#include "audit_log.h"
#include "checkpoint.h"
#include "deliver_frame.h"
#include "keyfile.h"
#include "merkle.h"
#include "pseudonym.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FUZZ_ID_OUTBOX                                                                             \
    "\xf0"                                                                                         \
    "OUTBOX-SIGNAL"                                                                                \
    "\xf0\xf0"
#define FUZZ_ID_INBOX                                                                              \
    "\xf1"                                                                                         \
    "INBOX--SIGNAL"                                                                                \
    "\xf1\xf1"
#define FUZZ_ID_ALERT                                                                              \
    "\xf2"                                                                                         \
    "ALERT--NOTICE"                                                                                \
    "\xf2\xf2"
#define FUZZ_ORIGIN_PARTNERSHIP "fuzz-partnership"
#define FUZZ_DAEMON_DB_MAX (8u * 1024 * 1024) /* the template database */

static const char s_fuzz_agreements[] = "partnership: " FUZZ_ORIGIN_PARTNERSHIP "\n"
                                        "version: 3\n"
                                        "coordinator: gemeente\n"
                                        "partners:\n"
                                        "  - {org: gemeente, role: coordinator}\n"
                                        "  - {org: politie, role: partner}\n"
                                        "  - {org: welzijn, role: partner}\n"
                                        "agreements:\n"
                                        "  - id: politie-overlast\n"
                                        "    from: politie\n"
                                        "    to: [gemeente, welzijn]\n"
                                        "    signal_types: [overlast]\n"
                                        "    fields: [adres, datum, categorie, toelichting]\n"
                                        "    purpose: casusoverleg\n"
                                        "    legal_basis: \"Wpg art. 19\"\n"
                                        "    valid_from: 2025-01-01\n"
                                        "    valid_until: 2099-12-31\n"
                                        "    retention_days: 180\n"
                                        "    max_queue_days: 7\n"
                                        "  - id: gemeente-zorg\n"
                                        "    from: gemeente\n"
                                        "    to: [politie, welzijn]\n"
                                        "    signal_types: [zorgmelding]\n"
                                        "    fields: [datum, toelichting]\n"
                                        "    purpose: zorgcoordinatie\n"
                                        "    legal_basis: \"Wmo 2015 art. 5.2.1\"\n"
                                        "    valid_from: 2025-01-01\n"
                                        "    valid_until: 2099-12-31\n"
                                        "    retention_days: 90\n"
                                        "    max_queue_days: 7\n";

/* The daemon and what the targets need to build inputs. Invariant after
   fuzz_daemon_init: daemon is a live daemon for "gemeente" whose store
   equals the template (fuzz_daemon_reset); the ids are those of the
   template's outbox entry, inbox entry and alert. */
typedef struct {
    char root[512];                         /* the temp directory */
    daemon_t *daemon;                       /* the daemon under test */
    keyfile_t *politie;                     /* a sender to us */
    keyfile_t *broker;                      /* the broker (checkpoint key) */
    uint8_t *deliver;                       /* a Deliver frame from politie (malloc) */
    size_t deliver_len;                     /* its length */
    uint8_t alert[WIRE_FRAME_MAX];          /* an Alert frame */
    size_t alert_len;                       /* its length */
    uint8_t outbox_id[16];                  /* the template's outbox entry */
    uint8_t inbox_id[16];                   /* the template's inbox entry */
    uint8_t alert_id[16];                   /* the template's alert */
    char outbox_hex[STORE_ID_HEX];          /* the same ids in hex */
    char inbox_hex[STORE_ID_HEX];           /* ... */
    char alert_hex[STORE_ID_HEX];           /* ... */
    unsigned char subject[PSEUDONYM_BYTES]; /* the alert's subject */
    uint8_t *db;                            /* the template hartslagd.db (malloc) */
    size_t db_len;                          /* its length */
} fuzz_daemon_t;

static inline void s_fd_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    FUZZ_CHECK(n > 0 && (size_t)n < cap);
}

static inline void s_fd_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    FUZZ_CHECK(close(fd) == 0);
}

/* Makes keys and a certificate for `org`; the keyfile stays open. */
static inline keyfile_t *s_fd_party(fuzz_daemon_t *fd, const char *org, cert_role_t role)
{
    char err[600], path[1024];
    keyfile_t *keys = keyfile_generate(org, role != CERT_ROLE_BROKER);
    FUZZ_CHECK(keys != NULL);
    snprintf(path, sizeof path, "%s/%s.cert_secret", fd->root, org);
    FUZZ_CHECK(keyfile_save(keys, path, err, sizeof err) == 0);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", org);
    snprintf(cert.name, sizeof cert.name, "Fuzz %s", org);
    snprintf(cert.contact, sizeof cert.contact, "fuzz@%s.example", org);
    cert.role = role;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    if (role != CERT_ROLE_BROKER && role != CERT_ROLE_PSEUDONYM_SERVICE)
        memcpy(cert.box_key, keyfile_box_public(keys), 32);
    if (role == CERT_ROLE_PSEUDONYM_SERVICE) {
        /* No service runs: the template's subject is put in the cache. */
        snprintf(path, sizeof path, "%s/%s.oprf_secret", fd->root, org);
        cert.oprf_key_version = 1;
        FUZZ_CHECK(keyfile_oprf_generate(path, org, 1, cert.oprf_key, err, sizeof err) == 0);
    }
    int64_t today = (int64_t)time(NULL) / 86400;
    cert.valid_from = today - 1;
    cert.valid_until = today + 3650;
    bool outside = role == CERT_ROLE_BROKER || role == CERT_ROLE_PSEUDONYM_SERVICE;
    snprintf(path, sizeof path, "%s/%s%s.cert", fd->root, outside ? "" : "certificates/", org);
    FUZZ_CHECK(cert_save(&cert, path, err, sizeof err) == 0);
    return keys;
}

/* A Deliver frame of a signal politie seals for gemeente and welzijn. */
static inline void s_fd_seal_deliver(fuzz_daemon_t *fd, const keyfile_t *to_gemeente,
                                     const keyfile_t *to_welzijn)
{
    static const envelope_field_t fields[] = {
        {"adres", "Markt 1, Heerlen"},
        {"datum", "2025-01-01"},
    };
    envelope_draft_t d;
    memset(&d, 0, sizeof d);
    d.sender = "politie";
    d.sender_user = "u12345";
    d.signal_type = "overlast";
    d.purpose = "casusoverleg";
    d.agreements_version = 3;
    memset(d.subject, 0x5a, sizeof d.subject);
    d.fields = fields;
    d.n_fields = sizeof fields / sizeof fields[0];
    d.free_text = "Buren melden overlast.";
    /* Sealed now (the id starts with the time), valid for 700 days: a
       Deliver in a seed stays deliverable that long after the seeds were
       written (tests/fuzz/README.md). */
    d.created_at_ms = (uint64_t)time(NULL) * 1000u;
    d.valid_until_ms = d.created_at_ms + 700 * FUZZ_DAY_MS;
    d.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    envelope_recipient_t r[2];
    r[0].org = "gemeente";
    memcpy(r[0].box_pk, keyfile_box_public(to_gemeente), 32);
    r[1].org = "welzijn";
    memcpy(r[1].box_pk, keyfile_box_public(to_welzijn), 32);
    envelope_keyring_t *ring = envelope_keyring_new(keyfile_box_secret(fd->politie));
    FUZZ_CHECK(ring != NULL);
    envelope_sender_t keys = {keyfile_sign_secret(fd->politie), ring};
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    const char *reason = NULL;
    FUZZ_CHECK(envelope_seal(&d, &keys, r, 2, &sealed, &sealed_len, fd->inbox_id, &reason) ==
               ENVELOPE_OK);
    envelope_keyring_destroy(&ring);
    fd->deliver = malloc(sealed_len + DELIVER_FRAME_OVERHEAD);
    FUZZ_CHECK(fd->deliver != NULL);
    fd->deliver_len = deliver_frame_encode(fd->deliver, sealed_len + DELIVER_FRAME_OVERHEAD, sealed,
                                           sealed_len, FUZZ_T0_MS + 1000);
    FUZZ_CHECK(fd->deliver_len > 0);
    free(sealed);
}

/* An Alert frame for gemeente (the coordinator). */
static inline void s_fd_alert(fuzz_daemon_t *fd)
{
    memcpy(fd->alert_id, FUZZ_ID_ALERT, 16);
    memset(fd->subject, 0x5a, sizeof fd->subject);
    char *types[] = {"overlast"};
    Hartslag__AlertParticipant p = HARTSLAG__ALERT_PARTICIPANT__INIT;
    p.org = "politie";
    p.contact = "fuzz@politie.example";
    p.n_signal_types = 1;
    p.signal_types = types;
    Hartslag__AlertParticipant *ps[] = {&p};
    Hartslag__Alert alert = HARTSLAG__ALERT__INIT;
    alert.alert_id.data = fd->alert_id;
    alert.alert_id.len = 16;
    alert.rule_id = "multi-agency";
    alert.subject.data = fd->subject;
    alert.subject.len = sizeof fd->subject;
    alert.n_participants = 1;
    alert.participants = ps;
    alert.legal_basis = "Wpg art. 19";
    alert.raised_at_ms = FUZZ_T0_MS;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT;
    frame.alert = &alert;
    uint8_t *buf = NULL;
    FUZZ_CHECK(wire_pack_frame(&frame, &buf, &fd->alert_len) == 0);
    FUZZ_CHECK(fd->alert_len <= sizeof fd->alert);
    memcpy(fd->alert, buf, fd->alert_len);
    free(buf);
}

/* Drops what one input left behind that is not in the store. */
static inline void s_fd_forget(daemon_t *d)
{
    (void)daemon_flush(d);
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++)
        zframe_destroy(&d->waiters[i].routing);
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++)
        zframe_destroy(&d->watchers[i].routing);
    d->last_error[0] = '\0';
    d->connected = false;
}

/* Puts the store back to the template and drops the other state. */
static inline void fuzz_daemon_reset(fuzz_daemon_t *fd)
{
    daemon_t *d = fd->daemon;
    s_fd_forget(d);
    inclusion_close(d); /* it holds statements on the store's connection */
    store_destroy(&d->store);
    char path[1024], err[512];
    const char *names[] = {"hartslagd.db-wal", "hartslagd.db-shm"};
    for (size_t i = 0; i < 2; i++) {
        s_fd_path(path, sizeof path, d->settings.state_dir, names[i]);
        (void)unlink(path);
    }
    s_fd_path(path, sizeof path, d->settings.state_dir, "hartslagd.db");
    s_fd_write(path, fd->db, fd->db_len);
    d->store = store_open(d->settings.state_dir, err, sizeof err);
    if (!d->store || inclusion_open(d, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: store_open: %s\n", err);
        abort();
    }
}

/* Keeps hartslagd.db as it is now as the template. */
static inline void s_fd_snapshot(fuzz_daemon_t *fd)
{
    daemon_t *d = fd->daemon;
    s_fd_forget(d);
    inclusion_close(d);
    store_destroy(&d->store); /* the last close folds the WAL into the file */
    char path[1024], err[512];
    s_fd_path(path, sizeof path, d->settings.state_dir, "hartslagd.db");
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL);
    fd->db = malloc(FUZZ_DAEMON_DB_MAX);
    FUZZ_CHECK(fd->db != NULL);
    fd->db_len = fread(fd->db, 1, FUZZ_DAEMON_DB_MAX, f);
    FUZZ_CHECK(fd->db_len > 0 && fd->db_len < FUZZ_DAEMON_DB_MAX);
    FUZZ_CHECK(fclose(f) == 0);
    d->store = store_open(d->settings.state_dir, err, sizeof err);
    FUZZ_CHECK(d->store != NULL);
    FUZZ_CHECK(inclusion_open(d, err, sizeof err) == 0);
}

static fuzz_daemon_t *s_fd_live; /* what fuzz_daemon_init built, for s_fd_atexit */

/* At exit: the daemon stopped, the temp directory removed. */
static inline void s_fd_atexit(void)
{
    fuzz_daemon_t *fd = s_fd_live;
    if (!fd)
        return;
    daemon_destroy(&fd->daemon);
    keyfile_destroy(&fd->politie);
    keyfile_destroy(&fd->broker);
    free(fd->deliver);
    free(fd->db);
    zdir_t *dir = zdir_new(fd->root, NULL);
    if (dir)
        zdir_remove(dir, true);
    zdir_destroy(&dir);
    s_fd_live = NULL;
}

/* Builds everything (see the top); aborts when anything fails. */
static inline void fuzz_daemon_init(fuzz_daemon_t *fd)
{
    memset(fd, 0, sizeof *fd);
    fuzz_sodium_init();
    dlog_set_level(getenv("HARTSLAG_FUZZ_LOG") ? DLOG_DEBUG : (dlog_level_t)(DLOG_ERROR + 1));
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(fd->root, sizeof fd->root, "%s/hartslag-fuzz-XXXXXX", base ? base : "/tmp");
    FUZZ_CHECK(mkdtemp(fd->root) != NULL);
    char path[1024], err[600];
    s_fd_path(path, sizeof path, fd->root, "certificates");
    FUZZ_CHECK(mkdir(path, 0700) == 0);

    /* Every key before the first ZeroMQ socket (see the top). */
    fd->broker = s_fd_party(fd, "broker", CERT_ROLE_BROKER);
    keyfile_t *gemeente = s_fd_party(fd, "gemeente", CERT_ROLE_COORDINATOR);
    fd->politie = s_fd_party(fd, "politie", CERT_ROLE_PARTNER);
    keyfile_t *welzijn = s_fd_party(fd, "welzijn", CERT_ROLE_PARTNER);
    s_fd_seal_deliver(fd, gemeente, welzijn);
    keyfile_destroy(&gemeente);
    keyfile_destroy(&welzijn);
    s_fd_alert(fd);
    s_fd_path(path, sizeof path, fd->root, "agreements.yaml");
    s_fd_write(path, s_fuzz_agreements, sizeof s_fuzz_agreements - 1);
    keyfile_t *service = s_fd_party(fd, "pseudoniemdienst", CERT_ROLE_PSEUDONYM_SERVICE);
    keyfile_destroy(&service);

    daemon_settings_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.org, sizeof s.org, "gemeente");
    snprintf(s.keys, sizeof s.keys, "%s/gemeente.cert_secret", fd->root);
    snprintf(s.broker, sizeof s.broker, "tcp://127.0.0.1:1");
    snprintf(s.broker_cert, sizeof s.broker_cert, "%s/broker.cert", fd->root);
    snprintf(s.certificates, sizeof s.certificates, "%s/certificates", fd->root);
    snprintf(s.agreements, sizeof s.agreements, "%s/agreements.yaml", fd->root);
    snprintf(s.pseudonym_service, sizeof s.pseudonym_service, "tcp://127.0.0.1:1");
    snprintf(s.pseudonym_service_cert, sizeof s.pseudonym_service_cert, "%s/pseudoniemdienst.cert",
             fd->root);
    snprintf(s.state_dir, sizeof s.state_dir, "%s/state", fd->root);
    s.hook_timeout = 30;
    s.retention_check = 3600;
    fd->daemon = daemon_new(&s, err, sizeof err);
    if (!fd->daemon) {
        fprintf(stderr, "fuzz: daemon_new: %s\n", err);
        abort();
    }
    /* After CZMQ's own exit handler, so that it runs before it. */
    s_fd_live = fd;
    atexit(s_fd_atexit);

    /* The template: a signal we sent, one we received, an alert. */
    const char *names[] = {"datum"}, *values[] = {"2025-01-01"};
    send_request_t req = {
        .to = "politie,welzijn",
        .signal_type = "zorgmelding",
        .purpose = "zorgcoordinatie",
        .subject_kind = "bsn",
        .subject = "111222333",
        .field_names = names,
        .field_values = values,
        .n_fields = 1,
        .free_text = "Zorg over bewoner.",
        .user = "u1",
        .urgency = "routine",
        .valid_days = 30,
    };
    /* The subject's pseudonym as the service would have given it earlier:
       in the daemon's cache, so the template is sealed at once. */
    unsigned char input[PSEUDONYM_INPUT_MAX], pseudonym[PSEUDONYM_BYTES];
    size_t input_len = 0;
    FUZZ_CHECK(pseudonym_oprf_input(PSEUDONYM_BSN, req.subject, input, &input_len, NULL) == 0);
    randombytes_buf(pseudonym, sizeof pseudonym);
    subject_cache_put(fd->daemon->subject_cache, input, input_len, 1, daemon_now_ms(), pseudonym);
    send_result_t result;
    if (outbound_send(fd->daemon, &req, &result) != 0) {
        fprintf(stderr, "fuzz: outbound_send: %s %s\n", result.code, result.message);
        abort();
    }
    snprintf(fd->outbox_hex, sizeof fd->outbox_hex, "%s", result.signal_id);
    FUZZ_CHECK(daemon_id_parse(fd->outbox_hex, fd->outbox_id) == 0);
    link_frame(fd->daemon, fd->deliver, fd->deliver_len);
    link_frame(fd->daemon, fd->alert, fd->alert_len);
    FUZZ_CHECK(daemon_flush(fd->daemon) == 0);
    daemon_id_hex(fd->inbox_id, 16, fd->inbox_hex);
    daemon_id_hex(fd->alert_id, 16, fd->alert_hex);
    store_inbox_t entry;
    FUZZ_CHECK(store_inbox_get(fd->daemon->store, fd->inbox_hex, &entry) == 1);
    store_inbox_clear(&entry);
    s_fd_snapshot(fd);
}

/* Replaces every placeholder id in `buf` (len bytes) by the real one. */
static inline void fuzz_daemon_ids(const fuzz_daemon_t *fd, uint8_t *buf, size_t len)
{
    const char *holders[] = {FUZZ_ID_OUTBOX, FUZZ_ID_INBOX};
    const uint8_t *ids[] = {fd->outbox_id, fd->inbox_id};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i + 16 <= len; i++)
            if (memcmp(buf + i, holders[k], 16) == 0) {
                memcpy(buf + i, ids[k], 16);
                i += 15;
            }
}

static inline int s_fd_leaf(void *arg, uint64_t index, unsigned char out[MERKLE_HASHBYTES])
{
    (void)arg;
    unsigned char byte = (unsigned char)index;
    merkle_leaf_hash(&byte, 1, out);
    return 0;
}

/* A checkpoint note of `size` leaves (leaf i = H(byte i)) signed with the
   broker's key into `note`, and the consistency proof from `from`. */
static inline void fuzz_daemon_checkpoint(const fuzz_daemon_t *fd, uint64_t size, uint64_t from,
                                          char note[CHECKPOINT_NOTE_MAX], size_t *note_len,
                                          unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                                          size_t *proof_len)
{
    merkle_source_t source = {s_fd_leaf, NULL, NULL};
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    audit_log_origin_for(FUZZ_ORIGIN_PARTNERSHIP, cp.origin, sizeof cp.origin);
    cp.size = size;
    FUZZ_CHECK(merkle_subtree_root(&source, 0, size, cp.root) == 0);
    FUZZ_CHECK(checkpoint_sign(&cp, keyfile_sign_secret(fd->broker), note, CHECKPOINT_NOTE_MAX,
                               note_len) == CHECKPOINT_OK);
    *proof_len = 0;
    if (from > 0)
        FUZZ_CHECK(merkle_consistency_proof(&source, from, size, proof, proof_len) == 0);
}

#endif
