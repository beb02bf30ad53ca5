/*  daemon: life cycle and the event loop; see daemon.h and daemon_internal.h. */
#include "daemon_internal.h"

#include "dlog.h"
#include "pseudonym.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop;   /* SIGINT / SIGTERM */
static volatile sig_atomic_t s_reload; /* SIGHUP */

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

uint64_t daemon_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

void daemon_set_error(daemon_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->last_error, sizeof self->last_error, fmt, ap);
    va_end(ap);
    self->last_error_ms = daemon_now_ms();
}

/* Everything waiting for the turn transaction is settled: sent when
   `committed`, else dropped or answered with an error. */
static void s_settle(daemon_t *self, bool committed)
{
    inbound_flush(self, committed);
    outbound_flush(self, committed);
    control_flush(self, committed);
}

/* SQLite ended the turn transaction by itself (or its commit failed). */
static void s_txn_lost(daemon_t *self, const char *op)
{
    char q[300];
    snprintf(self->txn_error, sizeof self->txn_error, "%s", store_error(self->store));
    dlog(DLOG_ERROR, "event=store_failed op=%s error=%s", op,
         dlog_quote(self->txn_error, q, sizeof q));
    daemon_set_error(self, "database error: %s", self->txn_error);
    store_rollback(self->store);
    self->txn_open = false;
    s_settle(self, false);
}

int daemon_item_begin(daemon_t *self)
{
    if (self->txn_open && !store_in_transaction(self->store))
        s_txn_lost(self, "transaction");
    if (!self->txn_open) {
        if (store_begin(self->store) != 0) {
            snprintf(self->txn_error, sizeof self->txn_error, "%s", store_error(self->store));
            store_rollback(self->store);
            return -1;
        }
        self->txn_open = true;
    }
    if (store_savepoint(self->store) != 0) {
        snprintf(self->txn_error, sizeof self->txn_error, "%s", store_error(self->store));
        if (!store_in_transaction(self->store))
            s_txn_lost(self, "savepoint");
        return -1;
    }
    return 0;
}

bool daemon_item_end(daemon_t *self, bool ok)
{
    if (ok && store_release(self->store) == 0)
        return true;
    snprintf(self->txn_error, sizeof self->txn_error, "%s", store_error(self->store));
    if (store_in_transaction(self->store))
        store_rollback_to(self->store);
    else
        s_txn_lost(self, "transaction");
    return false;
}

int daemon_flush(daemon_t *self)
{
    /* The turn's Accepted are written last. With a send or a delivery in
       the turn they share its commit; alone they need no fsync of their
       own: lost in a power cut, the entry is still pending, is submitted
       again and the broker answers with the same Accepted. That fsync was
       half of a sender's commits. */
    if (outbound_unwritten(self)) {
        if (!self->txn_open && store_begin_lazy(self->store) == 0)
            self->txn_open = true;
        (void)outbound_write(self);
    }
    if (self->txn_open) {
        if (store_commit(self->store) != 0) {
            s_txn_lost(self, "commit");
            return -1;
        }
        self->txn_open = false;
    }
    if (self->n_acks || self->n_accepts || self->n_submits || self->n_replies)
        s_settle(self, true);
    /* Now that the acks and Submits are on their way. */
    if (store_checkpoint(self->store) < 0)
        dlog(DLOG_WARN, "event=wal_checkpoint_failed error=%s", store_error(self->store));
    return 0;
}

void daemon_id_hex(const uint8_t *id, size_t len, char out[STORE_ID_HEX])
{
    out[0] = '\0';
    if (id && len == WIRE_SIGNAL_ID_BYTES)
        sodium_bin2hex(out, STORE_ID_HEX, id, len);
}

int daemon_id_parse(const char *hex, uint8_t id[WIRE_SIGNAL_ID_BYTES])
{
    size_t len = 0;
    if (!hex || strlen(hex) != 2 * WIRE_SIGNAL_ID_BYTES)
        return -1;
    if (sodium_hex2bin(id, WIRE_SIGNAL_ID_BYTES, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != WIRE_SIGNAL_ID_BYTES)
        return -1;
    return 0;
}

static void s_partner_report(void *arg, const char *file, bool is_error, const char *message)
{
    (void)arg;
    char qfile[512], qmsg[512];
    dlog(is_error ? DLOG_ERROR : DLOG_WARN, "event=certificate_problem file=%s message=%s",
         dlog_quote(file, qfile, sizeof qfile), dlog_quote(message, qmsg, sizeof qmsg));
}

/* Loads the agreements file into *out; on failure writes the first errors. */
static int s_load_agreements(const char *path, agreements_t **out, char *err, size_t errlen)
{
    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(path, &errors);
    if (!agreements) {
        const agreements_error_t *first =
            errors && agreements_errors_count(errors) ? agreements_errors_at(errors, 0) : NULL;
        if (first)
            snprintf(err, errlen, "%s:%u:%u: %s (check it with 'hartslag agreements check %s')",
                     first->file, first->line, first->column, first->message, path);
        else
            snprintf(err, errlen, "cannot load agreements %s", path);
        agreements_errors_destroy(&errors);
        return -1;
    }
    *out = agreements;
    return 0;
}

/* Creates the state directory (0700) when missing and takes its lock. */
static int s_state_dir(daemon_t *self, char *err, size_t errlen)
{
    const char *dir = self->settings.state_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state_dir %s is not a directory", dir);
        return -1;
    }
    char lock[DAEMON_PATH_MAX + 32];
    snprintf(lock, sizeof lock, "%s/hartslagd.lock", dir);
    self->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen,
                 "another hartslagd is already running with state_dir %s (stop it first)", dir);
        return -1;
    }
    return 0;
}

daemon_t *daemon_new(const daemon_settings_t *settings, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return NULL;
    }
    daemon_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->settings = *settings;
    self->lock_fd = -1;
    self->started_ms = daemon_now_ms();
    if (s_state_dir(self, err, errlen) != 0)
        goto fail;

    char kerr[600];
    self->keys = keyfile_load(settings->keys, kerr, sizeof kerr);
    if (!self->keys) {
        snprintf(err, errlen, "%s", kerr);
        goto fail;
    }
    if (strcmp(keyfile_org(self->keys), settings->org) != 0 || !keyfile_has_box(self->keys)) {
        snprintf(err, errlen,
                 "%s holds the keys of '%s', not of partner '%s' (check 'org' and 'keys')",
                 settings->keys, keyfile_org(self->keys), settings->org);
        goto fail;
    }
    self->keyring = envelope_keyring_new(keyfile_box_secret(self->keys));
    if (!self->keyring) {
        snprintf(err, errlen, "out of memory (keyring)");
        goto fail;
    }
    if (cert_load(settings->broker_cert, &self->broker_cert, kerr, sizeof kerr) != 0) {
        snprintf(err, errlen, "broker_cert: %s", kerr);
        goto fail;
    }
    if (self->broker_cert.role != CERT_ROLE_BROKER) {
        snprintf(err, errlen, "broker_cert %s is not a broker certificate (role %s)",
                 settings->broker_cert, cert_role_name(self->broker_cert.role));
        goto fail;
    }
    self->partners = partners_load(settings->certificates, (int64_t)daemon_now_ms(),
                                   s_partner_report, NULL, kerr, sizeof kerr);
    if (!self->partners) {
        snprintf(err, errlen, "certificates: %s", kerr);
        goto fail;
    }
    if (s_load_agreements(settings->agreements, &self->agreements, err, errlen) != 0)
        goto fail;
    self->store = store_open(settings->state_dir, err, errlen);
    if (!self->store || inclusion_open(self, err, errlen) != 0)
        goto fail;
    if (settings->hook[0]) {
        self->hook =
            hook_new(settings->hook, settings->org, settings->state_dir, settings->hook_timeout);
        if (!self->hook) {
            snprintf(err, errlen, "out of memory (hook)");
            goto fail;
        }
    }
    /* Our own signal handlers (SIGHUP must not stop the loop). */
    zsys_handler_set(NULL);
    if (control_bind(self, err, errlen) != 0)
        goto fail;
    if (link_connect(self, err, errlen) != 0 || pseudonymise_open(self, err, errlen) != 0)
        goto fail;
    return self;
fail:
    daemon_destroy(&self);
    return NULL;
}

void daemon_destroy(daemon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    daemon_t *self = *self_p;
    if (self->store && self->txn_open) {
        store_rollback(self->store);
        self->txn_open = false;
    }
    /* Nothing waits here once the loop ended (it flushes every turn); what
       might is dropped unsent. */
    zsock_t *broker = self->broker, *control = self->control;
    self->broker = self->control = NULL;
    s_settle(self, false);
    self->broker = broker;
    self->control = control;
    hook_destroy(&self->hook);
    case_open_close(self);
    control_close(self);
    zsock_destroy(&self->broker);
    zsock_destroy(&self->monitor);
    inclusion_close(self);
    store_destroy(&self->store);
    pseudonymise_close(self);
    agreements_destroy(&self->agreements);
    partners_destroy(&self->partners);
    envelope_keyring_destroy(&self->keyring);
    keyfile_destroy(&self->keys);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

/* SIGHUP: new certificates and agreements, or the old ones stay. */
static void s_reload_files(daemon_t *self)
{
    char err[1024], q[1100];
    partners_t *partners = partners_load(self->settings.certificates, (int64_t)daemon_now_ms(),
                                         s_partner_report, NULL, err, sizeof err);
    if (partners) {
        partners_destroy(&self->partners);
        self->partners = partners;
        dlog(DLOG_INFO, "event=certificates_loaded count=%zu", partners_count(partners));
    } else
        dlog(DLOG_ERROR, "event=certificates_refused reason=%s kept=old",
             dlog_quote(err, q, sizeof q));
    agreements_t *agreements = NULL;
    if (s_load_agreements(self->settings.agreements, &agreements, err, sizeof err) == 0) {
        agreements_destroy(&self->agreements);
        self->agreements = agreements;
        dlog(DLOG_INFO, "event=agreements_loaded version=%llu",
             (unsigned long long)agreements_version(agreements));
    } else
        dlog(DLOG_ERROR, "event=agreements_refused reason=%s kept=old",
             dlog_quote(err, q, sizeof q));
}

/* Everything that happens on time rather than on a message. */
static void s_timers(daemon_t *self)
{
    uint64_t now = daemon_now_ms();
    if (self->connected && now - self->last_heard_ms > DAEMON_SILENCE_MS) {
        self->connected = false;
        dlog(DLOG_WARN, "event=broker_silent after_ms=%llu",
             (unsigned long long)(now - self->last_heard_ms));
        daemon_set_error(self, "no answer from the broker at %s", self->settings.broker);
    }
    if (!self->connected && now - self->last_hello_ms >=
                                (self->hello_sent ? DAEMON_HEARTBEAT_MS : DAEMON_HELLO_RETRY_MS))
        self->hello_sent = link_send_hello(self);
    if (self->connected && now - self->last_heartbeat_ms >= DAEMON_HEARTBEAT_MS)
        link_send_heartbeat(self);
    if (self->connected && now - self->last_resubmit_ms >= DAEMON_RESUBMIT_MS)
        outbound_resubmit(self);
    if (self->connected && self->notice_retry_ms && now >= self->notice_retry_ms) {
        /* A Hello makes the broker send every unconfirmed notice again. */
        self->notice_retry_ms = 0;
        dlog(DLOG_INFO, "event=notices_requested reason=not_stored");
        self->hello_sent = link_send_hello(self);
    }
    if (now - self->last_purge_ms >= (uint64_t)self->settings.retention_check * 1000u) {
        hooks_purge(self, now);
        case_purge_tick(self, now);
        case_timer_tick(self, now);
    }
    link_tick(self, now);
    pseudonymise_tick(self, now);
    hooks_tick(self, now);
    control_tick(self, now);
}

int daemon_run(daemon_t *self)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    dlog(DLOG_INFO,
         "event=started org=%s broker=%s inbox_hook=%s agreements_version=%llu partners=%zu",
         self->settings.org, self->settings.broker, self->hook ? "yes" : "no",
         (unsigned long long)agreements_version(self->agreements), partners_count(self->partners));
    hooks_purge(self, daemon_now_ms());
    case_purge_tick(self, daemon_now_ms());
    case_timer_tick(self, daemon_now_ms());
    self->hello_sent = link_send_hello(self);

    zmq_pollitem_t items[] = {
        {zsock_resolve(self->broker), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->control), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->monitor), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->service), 0, ZMQ_POLLIN, 0},
    };
    int result = 0;
    while (!s_stop) {
        if (s_reload) {
            s_reload = 0;
            s_reload_files(self);
        }
        int rc = zmq_poll(items, 4, self->pseudonyms_due ? 0 : DAEMON_TICK_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            dlog(DLOG_ERROR, "event=poll_failed errno=%d", errno);
            result = -1;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            link_handle(self);
        if (items[1].revents & ZMQ_POLLIN)
            control_handle(self);
        if (items[2].revents & ZMQ_POLLIN)
            link_monitor(self);
        if (items[3].revents & ZMQ_POLLIN)
            pseudonymise_handle(self);
        /* One commit for the turn's Deliver, Accepted and send; then the
           acks, answers and Submits that waited for it. */
        daemon_flush(self);
        s_timers(self);
    }
    dlog(DLOG_INFO, "event=stopping");
    return result;
}
