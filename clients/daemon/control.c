/*  control: the local control socket, ipc://STATE_DIR/control.sock (mode
    0600, so only the daemon's own user can talk to it). A ROUTER; each
    request is one multi-part message of strings, a command word followed
    by key=value options; each answer starts with "ok", "error" or
    "denied". docs/daemon.md ("Control protocol") is the reference. */
#include "daemon_internal.h"

#include "dlog.h"
#include "instruction.h"
#include "render.h"
#include "request.h"
#include "strbuf.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_WAIT_DEFAULT_MS 30000 /* send --wait / withdraw */
#define CONTROL_WAIT_MAX_MS 600000
#define CONTROL_SUN_PATH_MAX 107        /* sockaddr_un.sun_path without NUL */
#define CONTROL_ALERT_ACK_WAIT_MS 15000 /* the broker's verdict on an alert ack */
#define HEALTH_HOOK_BACKLOG_MAX 100     /* this many waiting for the hook: unhealthy */
#define HEALTH_HOOK_FAILURES 4          /* one item's hook failed this often in a row: unhealthy */
#define HEALTH_PROBLEMS_MAX 8           /* kinds of problem status can name */
#define HEALTH_UNPROVEN_MAX_MS 600000   /* no usable consistency proof this long: unhealthy */

int control_bind(daemon_t *self, char *err, size_t errlen)
{
    int n = snprintf(self->control_path, sizeof self->control_path, "%s/control.sock",
                     self->settings.state_dir);
    if (n < 0 || (size_t)n > CONTROL_SUN_PATH_MAX) {
        snprintf(err, errlen,
                 "state_dir path too long for a control socket (at most %d bytes with "
                 "'/control.sock'); choose a shorter state_dir",
                 CONTROL_SUN_PATH_MAX);
        return -1;
    }
    /* We hold the state_dir lock, so a socket file left here is stale. */
    unlink(self->control_path);
    self->control = zsock_new(ZMQ_ROUTER);
    if (!self->control) {
        snprintf(err, errlen, "cannot create the control socket");
        return -1;
    }
    zsock_set_router_mandatory(self->control, 1);
    zsock_set_maxmsgsize(self->control, DAEMON_CONTROL_MSG_MAX);
    zsock_set_linger(self->control, 0);
    mode_t old = umask(0077);
    int rc = zsock_bind(self->control, "ipc://%s", self->control_path);
    umask(old);
    if (rc != 0 || chmod(self->control_path, 0600) != 0) {
        snprintf(err, errlen, "cannot bind control socket %s: %s", self->control_path,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

void control_close(daemon_t *self)
{
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++)
        zframe_destroy(&self->waiters[i].routing);
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++)
        zframe_destroy(&self->watchers[i].routing);
    if (self->control) {
        zsock_destroy(&self->control);
        unlink(self->control_path);
    }
}

/* Sends [routing, frames...] without blocking. 0, or -1 when the peer is
   gone or not reading. */
static int s_send(daemon_t *self, zframe_t *routing, const char *const *frames, size_t n)
{
    void *sock = zsock_resolve(self->control);
    if (zmq_send(sock, zframe_data(routing), zframe_size(routing), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (zmq_send(sock, frames[i], strlen(frames[i]), (i + 1 < n ? ZMQ_SNDMORE : 0)) < 0)
            return -1;
    return 0;
}

static void s_error(daemon_t *self, zframe_t *routing, const char *code, const char *message)
{
    const char *frames[] = {"error", code, message};
    (void)s_send(self, routing, frames, 3);
}

static void s_ok1(daemon_t *self, zframe_t *routing, const char *payload)
{
    const char *frames[] = {"ok", payload};
    (void)s_send(self, routing, frames, payload ? 2 : 1);
}

/* For the other control handlers (cases.c). */
int control_answer(daemon_t *self, zframe_t *routing, const char *const *frames, size_t n)
{
    return s_send(self, routing, frames, n);
}

void control_error(daemon_t *self, zframe_t *routing, const char *code, const char *message)
{
    s_error(self, routing, code, message);
}

/* The value of the first `key=` option, or NULL. */
static const char *s_opt(const request_t *req, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 1; i < req->n_args; i++)
        if (strncmp(req->args[i], key, klen) == 0 && req->args[i][klen] == '=')
            return req->args[i] + klen + 1;
    return NULL;
}

const char *control_opt(const request_t *req, const char *key)
{
    return s_opt(req, key);
}

static bool s_json(const request_t *req)
{
    const char *format = s_opt(req, "format");
    return format && strcmp(format, "json") == 0;
}

static uint64_t s_uint_opt(const request_t *req, const char *key, uint64_t fallback, uint64_t max)
{
    const char *text = s_opt(req, key);
    if (!text || !*text)
        return fallback;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max)
        return fallback;
    return v;
}

/* ---- status */

/* One reason the daemon is unhealthy: a code and plain words. */
typedef struct {
    const char *code; /* not_connected, store_failing, hook_backlog, hook_failing, records_missing,
                         checkpoint_refused */
    char text[1024];  /* what is wrong and what to do */
} health_problem_t;

/* True when the broker enforces our version number with other bytes. */
static bool s_hash_differs(const daemon_t *self)
{
    if (!self->broker_agreements_hash[0] ||
        self->broker_agreements_version != agreements_version(self->agreements))
        return false;
    char ours[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(self->agreements, ours);
    return strcmp(ours, self->broker_agreements_hash) != 0;
}

/* What makes the daemon unhealthy now (`hartslag status` exits 1). */
static size_t s_health(daemon_t *self, const store_counts_t *c,
                       health_problem_t problems[HEALTH_PROBLEMS_MAX])
{
    size_t n = 0;
    if (!self->connected) {
        problems[n].code = "not_connected";
        snprintf(problems[n].text, sizeof problems[n].text, "not connected to the broker at %.256s",
                 self->settings.broker);
        n++;
    }
    uint64_t service_since = 0;
    const char *service_problem = pseudonymise_problem(self, &service_since);
    if (service_problem[0] && c->outbox_waiting) {
        problems[n].code = "pseudonyms_waiting";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "%llu signal%s wait for a pseudonym: %.200s",
                 (unsigned long long)c->outbox_waiting, c->outbox_waiting == 1 ? "" : "s",
                 service_problem);
        n++;
    }
    char err[200];
    if (store_probe(self->store, err, sizeof err) != 0) {
        problems[n].code = "store_failing";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "the database cannot write (%s): nothing new is stored or acknowledged; free "
                 "space or fix the disk under %.256s",
                 err, self->settings.state_dir);
        n++;
    }
    uint64_t waiting = 0;
    uint32_t failures = 0;
    if (self->hook && store_hook_backlog(self->store, &waiting, &failures) == 0) {
        if (failures >= HEALTH_HOOK_FAILURES) {
            problems[n].code = "hook_failing";
            snprintf(problems[n].text, sizeof problems[n].text,
                     "the hook failed %u times in a row (see event=hook_failed in the log); "
                     "%llu item(s) wait for it: fix the hook or the case system",
                     failures, (unsigned long long)waiting);
            n++;
        } else if (waiting >= HEALTH_HOOK_BACKLOG_MAX) {
            problems[n].code = "hook_backlog";
            snprintf(problems[n].text, sizeof problems[n].text,
                     "%llu items wait for the hook (at most %d is healthy): is the hook too "
                     "slow?",
                     (unsigned long long)waiting, HEALTH_HOOK_BACKLOG_MAX);
            n++;
        }
    }
    uint64_t waiting_records = 0, refused_records = 0;
    if (inclusion_counts(self, &waiting_records, &refused_records) == 0 && refused_records) {
        problems[n].code = "records_missing";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "%llu record%s of our exchanges %s missing or wrong in the broker's signed audit "
                 "log; those checkpoints were not cosigned (evidence kept in hartslagd.db): tell "
                 "the privacy officers",
                 (unsigned long long)refused_records, refused_records == 1 ? "" : "s",
                 refused_records == 1 ? "is" : "are");
        n++;
    }
    if (c->checkpoint_evidence) {
        problems[n].code = "checkpoint_refused";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "%llu inconsistent audit checkpoint%s from the broker %s refused (evidence "
                 "kept in hartslagd.db): tell the privacy officers",
                 (unsigned long long)c->checkpoint_evidence, c->checkpoint_evidence == 1 ? "" : "s",
                 c->checkpoint_evidence == 1 ? "was" : "were");
        n++;
    }
    if (s_hash_differs(self)) {
        char ours[AGREEMENTS_HASH_HEX];
        agreements_hash_hex(self->agreements, ours);
        problems[n].code = "agreements_differ";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "our agreements file is version %llu like the broker's, but other content "
                 "(sha256 %s here, %s at the broker): get the file the broker enforces from the "
                 "coordinator, compare it with sha256sum, install it and send SIGHUP",
                 (unsigned long long)agreements_version(self->agreements), ours,
                 self->broker_agreements_hash);
        n++;
    }
    uint64_t now = daemon_now_ms();
    if (self->unproven_since_ms && now - self->unproven_since_ms >= HEALTH_UNPROVEN_MAX_MS) {
        problems[n].code = "checkpoint_unproven";
        snprintf(problems[n].text, sizeof problems[n].text,
                 "no consistency proof for %llu minutes: the broker offered %llu newer audit "
                 "checkpoint%s without a proof from the one we hold (evidence kept in "
                 "hartslagd.db): tell the privacy officers",
                 (unsigned long long)((now - self->unproven_since_ms) / 60000),
                 (unsigned long long)self->unproven_count, self->unproven_count == 1 ? "" : "s");
        n++;
    }
    return n;
}

static void s_status(daemon_t *self, const request_t *req)
{
    char our_hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(self->agreements, our_hash);
    store_counts_t c;
    if (store_counts(self->store, &c) != 0) {
        s_error(self, req->routing, "internal", "cannot read the database");
        return;
    }
    health_problem_t problems[HEALTH_PROBLEMS_MAX];
    size_t n_problems = s_health(self, &c, problems);
    uint64_t now = daemon_now_ms();
    uint64_t unproven = 0, refused = 0;
    (void)inclusion_counts(self, &unproven, &refused);
    char fix[400];
    const char *problem = self->connected ? NULL : link_problem_code(self, fix, sizeof fix);
    uint64_t service_since = 0;
    const char *service_problem = pseudonymise_problem(self, &service_since);
    strbuf_t out = {0};
    if (s_json(req)) {
        strbuf_puts(&out, "{\"org\":");
        strbuf_json_string(&out, self->settings.org);
        strbuf_puts(&out, ",\"broker\":");
        strbuf_json_string(&out, self->settings.broker);
        strbuf_printf(
            &out,
            ",\"connected\":%s,\"last_heard_ms\":%llu,\"agreements_version\":%llu,"
            "\"agreements_hash\":\"%s\",\"broker_agreements_version\":%llu,\"outbox\":{\"pending\":"
            "%llu,"
            "\"accepted\":%llu,\"denied\":%llu,\"other\":%llu},\"recipients\":{\"queued\":%llu,"
            "\"stored\":%llu,\"refused\":%llu},\"inbox\":%llu,"
            "\"hook_pending\":%llu,\"alerts\":%llu,\"checkpoint_size\":%llu,"
            "\"checkpoint_evidence\":%llu,\"unproven_checkpoints\":%llu,"
            "\"unproven_since_ms\":%llu,\"uptime_s\":%llu,\"last_error\":",
            self->connected ? "true" : "false", (unsigned long long)self->last_heard_ms,
            (unsigned long long)agreements_version(self->agreements), our_hash,
            (unsigned long long)self->broker_agreements_version,
            (unsigned long long)c.outbox_pending, (unsigned long long)c.outbox_accepted,
            (unsigned long long)c.outbox_denied, (unsigned long long)c.outbox_other,
            (unsigned long long)c.recipients_queued, (unsigned long long)c.recipients_stored,
            (unsigned long long)c.recipients_refused, (unsigned long long)c.inbox,
            (unsigned long long)c.inbox_hook_pending, (unsigned long long)c.alerts,
            (unsigned long long)c.checkpoint_size, (unsigned long long)c.checkpoint_evidence,
            (unsigned long long)self->unproven_count, (unsigned long long)self->unproven_since_ms,
            (unsigned long long)((now - self->started_ms) / 1000));
        strbuf_json_string(&out, self->last_error[0] ? self->last_error : NULL);
        strbuf_puts(&out, ",\"broker_agreements_hash\":");
        strbuf_json_string(&out,
                           self->broker_agreements_hash[0] ? self->broker_agreements_hash : NULL);
        strbuf_printf(&out, ",\"agreements_hash_differs\":%s",
                      s_hash_differs(self) ? "true" : "false");
        strbuf_printf(&out, ",\"records_unproven\":%llu,\"records_refused\":%llu",
                      (unsigned long long)unproven, (unsigned long long)refused);
        strbuf_printf(&out, ",\"pseudonym_service\":{\"endpoint\":");
        strbuf_json_string(&out, self->settings.pseudonym_service);
        strbuf_printf(&out, ",\"key_version\":%u,\"waiting\":%llu,\"cached\":%zu,\"problem\":",
                      self->service_key.key_version, (unsigned long long)c.outbox_waiting,
                      subject_cache_count(self->subject_cache, now));
        strbuf_json_string(&out, service_problem[0] ? service_problem : NULL);
        strbuf_printf(&out, ",\"problem_since_ms\":%llu}", (unsigned long long)service_since);
        strbuf_puts(&out, ",\"broker_problem\":");
        strbuf_json_string(&out, problem);
        strbuf_puts(&out, ",\"broker_fix\":");
        strbuf_json_string(&out, problem ? fix : NULL);
        strbuf_printf(&out, ",\"healthy\":%s,\"problems\":[", n_problems ? "false" : "true");
        for (size_t i = 0; i < n_problems; i++) {
            strbuf_puts(&out, i ? ",{\"code\":" : "{\"code\":");
            strbuf_json_string(&out, problems[i].code);
            strbuf_puts(&out, ",\"text\":");
            strbuf_json_string(&out, problems[i].text);
            strbuf_puts(&out, "}");
        }
        strbuf_puts(&out, "]}");
    } else {
        char heard[32];
        render_time(self->last_heard_ms, heard);
        strbuf_printf(&out, "org          %s\n", self->settings.org);
        if (self->connected)
            strbuf_printf(&out, "broker       %s  connected (last heard %llu ms ago)\n",
                          self->settings.broker, (unsigned long long)(now - self->last_heard_ms));
        else
            strbuf_printf(&out, "broker       %s  NOT CONNECTED (last heard: %s)\n",
                          self->settings.broker, self->last_heard_ms ? heard : "never");
        if (problem) {
            char since[32];
            render_time(self->link_problem_ms, since);
            strbuf_printf(&out, "             why: %s (since %s)\n             fix: %s\n", problem,
                          since, fix);
        } else if (!self->connected)
            strbuf_puts(&out, "             why: not known yet (connecting; see the daemon log)\n");
        strbuf_printf(&out, "agreements   version %llu, sha256 %s",
                      (unsigned long long)agreements_version(self->agreements), our_hash);
        if (self->broker_agreements_version && !self->broker_agreements_hash[0])
            strbuf_printf(&out, " (broker enforces %llu; it does not tell its sha256)",
                          (unsigned long long)self->broker_agreements_version);
        else if (self->broker_agreements_version && !s_hash_differs(self))
            strbuf_printf(&out, " (broker enforces %llu%s)",
                          (unsigned long long)self->broker_agreements_version,
                          self->broker_agreements_version == agreements_version(self->agreements)
                              ? ", the same file"
                              : "");
        else if (self->broker_agreements_version)
            strbuf_printf(&out,
                          "\n             BROKER ENFORCES OTHER CONTENT under version %llu: "
                          "sha256 %s\n             fix: get that file from the coordinator, "
                          "compare it with sha256sum, install it and send SIGHUP",
                          (unsigned long long)self->broker_agreements_version,
                          self->broker_agreements_hash);
        strbuf_printf(&out,
                      "\noutbox       %llu pending, %llu accepted, %llu denied, %llu "
                      "expired/withdrawn\n"
                      "recipients   %llu queued, %llu stored, %llu refused\n"
                      "inbox        %llu signals (%llu waiting for the hook), %llu alerts\n",
                      (unsigned long long)c.outbox_pending, (unsigned long long)c.outbox_accepted,
                      (unsigned long long)c.outbox_denied, (unsigned long long)c.outbox_other,
                      (unsigned long long)c.recipients_queued,
                      (unsigned long long)c.recipients_stored,
                      (unsigned long long)c.recipients_refused, (unsigned long long)c.inbox,
                      (unsigned long long)c.inbox_hook_pending, (unsigned long long)c.alerts);
        strbuf_printf(&out,
                      "pseudonyms   service %s (key version %u), %llu signal%s waiting for a "
                      "pseudonym\n",
                      self->settings.pseudonym_service, self->service_key.key_version,
                      (unsigned long long)c.outbox_waiting, c.outbox_waiting == 1 ? "" : "s");
        if (service_problem[0]) {
            char since[32];
            render_time(service_since, since);
            strbuf_printf(&out, "             why: %s (since %s)\n", service_problem, since);
        }
        strbuf_printf(&out, "audit        checkpoint %llu held and cosigned%s\n",
                      (unsigned long long)c.checkpoint_size,
                      c.checkpoint_evidence ? "; INCONSISTENT CHECKPOINTS REFUSED (evidence kept: "
                                              "tell the privacy officers)"
                                            : "");
        if (self->unproven_since_ms)
            strbuf_printf(&out,
                          "             no consistency proof for %llu minutes (%llu newer "
                          "checkpoint%s offered without one; evidence kept)\n",
                          (unsigned long long)((now - self->unproven_since_ms) / 60000),
                          (unsigned long long)self->unproven_count,
                          self->unproven_count == 1 ? "" : "s");
        strbuf_printf(&out, "records      %llu of our exchanges to be proven in the audit log%s\n",
                      (unsigned long long)unproven,
                      refused ? "; RECORDS MISSING FROM THE AUDIT LOG (evidence kept: tell the "
                                "privacy officers)"
                              : "");
        if (self->last_error[0]) {
            char when[32];
            render_time(self->last_error_ms, when);
            strbuf_printf(&out, "last error   %s (%s)\n", self->last_error, when);
        }
        if (!n_problems)
            strbuf_puts(&out, "health       ok\n");
        else {
            strbuf_puts(&out, "health       UNHEALTHY\n");
            for (size_t i = 0; i < n_problems; i++)
                strbuf_printf(&out, "             %s: %s\n", problems[i].code, problems[i].text);
        }
    }
    if (strbuf_ok(&out))
        s_ok1(self, req->routing, strbuf_text(&out));
    strbuf_wipe(&out);
}

/* ---- send: every answer waits for the turn transaction (in order) */

/* Queues an answer to a `send`; an "ok" one (needs_commit) is only sent if
   the turn transaction commits. */
static void s_queue_reply(daemon_t *self, zframe_t *routing, const char *const *frames, size_t n,
                          bool needs_commit)
{
    if (self->n_replies == DAEMON_SENDS_MAX)
        daemon_flush(self);
    pending_reply_t *reply = &self->replies[self->n_replies];
    memset(reply, 0, sizeof *reply);
    reply->routing = zframe_dup(routing);
    for (size_t i = 0; i < n && i < 3; i++) {
        reply->frames[i] = strdup(frames[i]);
        if (reply->frames[i])
            reply->n_frames++;
    }
    if (!reply->routing || reply->n_frames != n) {
        for (size_t i = 0; i < 3; i++)
            free(reply->frames[i]);
        zframe_destroy(&reply->routing);
        if (needs_commit)
            dlog(DLOG_ERROR, "event=out_of_memory op=send_answer");
        return;
    }
    reply->needs_commit = needs_commit;
    self->n_replies++;
}

static void s_queue_error(daemon_t *self, zframe_t *routing, const char *code, const char *message)
{
    const char *frames[] = {"error", code, message};
    s_queue_reply(self, routing, frames, 3, false);
}

void control_flush(daemon_t *self, bool committed)
{
    size_t n = self->n_replies;
    self->n_replies = 0;
    char message[400];
    snprintf(message, sizeof message, "cannot store the signal in the outbox: %s", self->txn_error);
    for (size_t i = 0; i < n; i++) {
        pending_reply_t *reply = &self->replies[i];
        if (self->control) {
            if (reply->needs_commit && !committed)
                s_error(self, reply->routing, "internal", message);
            else
                (void)s_send(self, reply->routing, (const char *const *)reply->frames,
                             reply->n_frames);
        }
        for (size_t f = 0; f < reply->n_frames; f++)
            free(reply->frames[f]);
        zframe_destroy(&reply->routing);
    }
}

/* Keeps our copy of a share we sent in a case (case_texts.c). */
static int s_case_share_kept(daemon_t *self, const request_t *req, const send_request_t *sr,
                             const char *signal_id, const char *kind, const char *item_hex,
                             const char *reshare_of)
{
    strbuf_t fields = {0};
    strbuf_puts(&fields, "{");
    for (size_t i = 0; i < sr->n_fields; i++) {
        strbuf_puts(&fields, i ? "," : "");
        strbuf_json_string(&fields, sr->field_names[i]);
        strbuf_puts(&fields, ":");
        strbuf_json_string(&fields, sr->field_values[i]);
    }
    strbuf_puts(&fields, "}");
    int rc = strbuf_ok(&fields)
                 ? case_texts_share_sent(self, s_opt(req, "id"), signal_id, kind, item_hex,
                                         sr->user, strbuf_text(&fields), sr->free_text, reshare_of)
                 : -1;
    strbuf_wipe(&fields);
    return rc;
}

/* `case op=reshare`: our earlier item in a case, again, to partners that
   take part now (case_texts.c); answered like a share. */
static void s_reshare(daemon_t *self, const request_t *req)
{
    send_request_t sr;
    memset(&sr, 0, sizeof sr);
    case_reshare_buf_t buf;
    memset(&buf, 0, sizeof buf);
    send_result_t result;
    memset(&result, 0, sizeof result);
    if (case_texts_reshare_request(self, req, &sr, &buf, result.code, sizeof result.code,
                                   result.message, sizeof result.message) != 0) {
        const char *frames[] = {"error", result.code, result.message};
        s_queue_reply(self, req->routing, frames, 3, false);
    } else if (outbound_send(self, &sr, &result) != 0) {
        const char *frames[] = {"error", result.code, result.message};
        s_queue_reply(self, req->routing, frames, 3, false);
    } else if (s_case_share_kept(self, req, &sr, result.signal_id, buf.kind, buf.item_hex,
                                 buf.signal_hex) != 0) {
        const char *frames[] = {"error", "internal",
                                "cannot keep this organisation's copy of the re-share"};
        s_queue_reply(self, req->routing, frames, 3, true);
    } else {
        dlog(DLOG_INFO, "event=case_reshared case=%s signal=%s reshare_of=%s to=%s",
             s_opt(req, "id"), result.signal_id, buf.signal_hex, sr.to);
        const char *frames[] = {"ok", result.signal_id, result.state};
        s_queue_reply(self, req->routing, frames, 3, true);
    }
    case_reshare_buf_clear(&buf);
}

static void s_send_cmd(daemon_t *self, const request_t *req)
{
    send_request_t sr;
    memset(&sr, 0, sizeof sr);
    /* `case op=share`: a signal into a case conference (cases.c fills the
       recipients, purpose and subject from the case). */
    const char *op = strcmp(req->args[0], "case") == 0 ? s_opt(req, "op") : NULL;
    bool share = op && strcmp(op, "share") == 0;
    bool reshare = op && strcmp(op, "reshare") == 0;
    const char *names[WIRE_FIELDS_MAX + 1], *values[WIRE_FIELDS_MAX + 1];
    sr.to = s_opt(req, "to");
    sr.signal_type = s_opt(req, "type");
    sr.purpose = s_opt(req, "purpose");
    sr.free_text = s_opt(req, "text");
    sr.user = s_opt(req, "user");
    sr.urgency = s_opt(req, "urgency");
    sr.valid_days = (unsigned)s_uint_opt(req, "valid-days", DAEMON_VALID_DAYS_DEFAULT, 100000);
    static const char *kinds[] = {"bsn", "address", "case"};
    int subjects = 0;
    for (size_t k = 0; k < 3; k++) {
        char key[32];
        snprintf(key, sizeof key, "subject-%s", kinds[k]);
        const char *value = s_opt(req, key);
        if (value) {
            sr.subject_kind = kinds[k];
            sr.subject = value;
            subjects++;
        }
    }
    if (subjects > 1) {
        s_queue_error(self, req->routing, "usage", "give exactly one subject option");
        return;
    }
    for (size_t i = 1; i < req->n_args; i++) {
        if (strncmp(req->args[i], "field=", 6) != 0)
            continue;
        char *nv = req->args[i] + 6;
        char *eq = strchr(nv, '=');
        if (!eq) {
            s_queue_error(self, req->routing, "usage", "--field needs name=value");
            return;
        }
        if (sr.n_fields == WIRE_FIELDS_MAX) {
            s_queue_error(self, req->routing, "usage", "too many fields");
            return;
        }
        *eq = '\0';
        names[sr.n_fields] = nv;
        values[sr.n_fields] = eq + 1;
        sr.n_fields++;
    }
    sr.field_names = names;
    sr.field_values = values;
    send_result_t result;
    case_share_buf_t share_buf;
    if (reshare) {
        s_reshare(self, req);
        return;
    }
    if (share && sr.n_fields == 0 && !sr.free_text) {
        s_queue_error(self, req->routing, "usage", "share at least one --field or --text");
        return;
    }
    if (share && cases_share_request(self, req, &sr, &share_buf, result.code, sizeof result.code,
                                     result.message, sizeof result.message) != 0) {
        const char *frames[] = {"error", result.code, result.message};
        s_queue_reply(self, req->routing, frames, 3, false);
        return;
    }
    if (outbound_send(self, &sr, &result) == 0) {
        /* Our own copy of what we said in the case: shown in `case show`,
           re-shared on request, purged with the case. */
        if (share &&
            s_case_share_kept(self, req, &sr, result.signal_id, "share", NULL, NULL) != 0) {
            const char *frames[] = {"error", "internal",
                                    "cannot keep this organisation's copy of the share"};
            s_queue_reply(self, req->routing, frames, 3, true);
            return;
        }
        const char *frames[] = {"ok", result.signal_id, result.state};
        s_queue_reply(self, req->routing, frames, 3, true);
    } else if (strcmp(result.code, "denied") == 0) {
        const char *frames[] = {"denied", result.message, result.detail};
        s_queue_reply(self, req->routing, frames, 3, false);
    } else {
        const char *frames[] = {"error", result.code, result.message};
        s_queue_reply(self, req->routing, frames, 3, false);
    }
}

/* ---- wait / withdraw: answers once the outbox entry has moved on */

/* Answers a waiter from the outbox entry; true when answered. */
static bool s_answer(daemon_t *self, zframe_t *routing, wait_kind_t kind, const char *signal_id,
                     bool final)
{
    store_outbox_t entry;
    int found = store_outbox_get(self->store, signal_id, &entry);
    if (found <= 0) {
        s_error(self, routing, found < 0 ? "internal" : "not_found",
                found < 0 ? "outbox database error" : "no such signal in the outbox");
        return true;
    }
    bool settled = kind == WAIT_OUTCOME ? strcmp(entry.state, "pending") != 0 &&
                                              strcmp(entry.state, "pseudonym") != 0
                                        : strcmp(entry.state, "withdrawing") != 0;
    if (settled || final) {
        char index[32];
        snprintf(index, sizeof index, "%llu", (unsigned long long)entry.audit_index);
        const char *frames[] = {"ok", entry.state, entry.reason ? entry.reason : "",
                                entry.detail ? entry.detail : "", index};
        (void)s_send(self, routing, frames, 5);
    }
    store_outbox_clear(&entry);
    return settled || final;
}

static void s_park(daemon_t *self, const request_t *req, wait_kind_t kind, const char *signal_id)
{
    uint64_t timeout = s_uint_opt(req, "timeout-ms", CONTROL_WAIT_DEFAULT_MS, CONTROL_WAIT_MAX_MS);
    if (s_answer(self, req->routing, kind, signal_id, timeout == 0))
        return;
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing)
            continue;
        w->routing = zframe_dup(req->routing);
        w->kind = kind;
        snprintf(w->signal_id, sizeof w->signal_id, "%s", signal_id);
        w->deadline_ms = daemon_now_ms() + timeout;
        return;
    }
    (void)s_answer(self, req->routing, kind, signal_id, true);
}

static const char *s_id_opt(daemon_t *self, const request_t *req)
{
    const char *id = s_opt(req, "id");
    uint8_t bin[WIRE_SIGNAL_ID_BYTES];
    if (!id || daemon_id_parse(id, bin) != 0) {
        s_error(self, req->routing, "usage", "a signal id is 32 hex digits");
        return NULL;
    }
    return id;
}

static void s_wait_cmd(daemon_t *self, const request_t *req)
{
    const char *id = s_id_opt(self, req);
    if (id)
        s_park(self, req, WAIT_OUTCOME, id);
}

static void s_withdraw_cmd(daemon_t *self, const request_t *req)
{
    const char *id = s_id_opt(self, req);
    if (!id)
        return;
    const char *reason = s_opt(req, "reason");
    send_result_t result;
    if (outbound_withdraw(self, id, reason ? reason : "withdrawn", &result) != 0) {
        s_error(self, req->routing, result.code, result.message);
        return;
    }
    if (result.state && strcmp(result.state, "withdrawn") == 0) {
        daemon_flush(self); /* it never left: withdrawn once this commits */
        s_park(self, req, WAIT_WITHDRAW, id);
        return;
    }
    if (!self->connected) {
        s_error(self, req->routing, "not_connected",
                "the withdrawal is recorded and will be sent when the broker is reachable "
                "(see 'hartslag status')");
        return;
    }
    s_park(self, req, WAIT_WITHDRAW, id);
}

/* ---- alert-ack: the coordinator marks a match handled and names the lead */

static void s_alert_ack_cmd(daemon_t *self, const request_t *req)
{
    const char *id = s_opt(req, "id");
    const char *lead = s_opt(req, "lead");
    uint8_t alert_id[16];
    if (!id || strlen(id) != 32 ||
        sodium_hex2bin(alert_id, sizeof alert_id, id, 32, NULL, NULL, NULL) != 0) {
        s_error(self, req->routing, "usage", "give the alert id: 32 hex digits");
        return;
    }
    if (!lead || !names_is_org(lead)) {
        s_error(self, req->routing, "usage", "--lead must be a partner org id");
        return;
    }
    if (strcmp(self->settings.org, agreements_coordinator(self->agreements)) != 0) {
        s_error(self, req->routing, "not_coordinator",
                "only the coordinator marks alerts handled (agreements.yaml: coordinator)");
        return;
    }
    /* What this daemon knows settles the plain mistakes before the broker
       is asked: the alert must be one we hold, the lead in its match. */
    char *participants = NULL;
    int held = store_alert_participants(self->store, id, &participants);
    char message[300];
    if (held <= 0) {
        snprintf(message, sizeof message,
                 held < 0 ? "cannot read the alerts database"
                          : "alert %s is not among this organisation's alerts; see 'hartslag "
                            "alerts' for the ids",
                 id);
        s_error(self, req->routing, held < 0 ? "internal" : "unknown_alert", message);
        return;
    }
    char needle[64];
    snprintf(needle, sizeof needle, "\"org\":\"%s\"", lead);
    bool lead_ok = strcmp(lead, self->settings.org) == 0 || strstr(participants, needle) != NULL;
    free(participants);
    if (!lead_ok) {
        snprintf(message, sizeof message,
                 "%s is not a partner in the match of alert %s, nor the coordinator; name one "
                 "of the partners 'hartslag alerts' lists",
                 lead, id);
        s_error(self, req->routing, "lead_not_in_match", message);
        return;
    }
    if (!self->connected) {
        s_error(self, req->routing, "not_connected",
                "not connected to the broker; try again when 'hartslag status' says connected");
        return;
    }
    /* Audited before it leaves: the record is committed (with the rest of
       the turn) first, and without it nothing is sent. */
    store_audit_t audit = {.event = "alert_ack_sent", .signal_id = id, .counterpart = lead};
    if (daemon_item_begin(self) != 0 ||
        !daemon_item_end(self, store_audit(self->store, &audit) == 0) || daemon_flush(self) != 0) {
        dlog(DLOG_ERROR, "event=audit_failed op=alert_ack alert=%s effect=not_sent", id);
        s_error(self, req->routing, "storage",
                "the audit record could not be written, so nothing was sent; see 'hartslag "
                "status'");
        return;
    }
    Hartslag__AlertAck ack = HARTSLAG__ALERT_ACK__INIT;
    ack.alert_id.data = alert_id;
    ack.alert_id.len = sizeof alert_id;
    ack.lead_org = (char *)lead;
    /* Signed: the partners accept "handled, lead X" only from us. */
    unsigned char sig[INSTRUCTION_SIGBYTES];
    if (instruction_alert_ack_sign(&ack, daemon_now_ms(), keyfile_sign_secret(self->keys), sig) !=
        0) {
        s_error(self, req->routing, "internal", "the acknowledgement could not be signed");
        return;
    }
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_ALERT_ACK;
    frame.alert_ack = &ack;
    if (link_send(self, &frame) != 0) {
        dlog(DLOG_ERROR, "event=alert_ack_unsent alert=%s reason=not_connected", id);
        s_error(self, req->routing, "not_connected",
                "the broker connection is not ready; the attempt is in the audit log");
        return;
    }
    dlog(DLOG_INFO, "event=alert_ack_sent alert=%s lead=%s", id, lead);
    /* Answered when the broker's verdict comes (control_alert_verdict). */
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing)
            continue;
        w->routing = zframe_dup(req->routing);
        w->kind = WAIT_ALERT_ACK;
        snprintf(w->signal_id, sizeof w->signal_id, "%s", id);
        w->deadline_ms = daemon_now_ms() + s_uint_opt(req, "timeout-ms", CONTROL_ALERT_ACK_WAIT_MS,
                                                      CONTROL_WAIT_MAX_MS);
        return;
    }
    s_error(self, req->routing, "no_verdict",
            "the acknowledgement was sent, but too many requests wait to follow the broker's "
            "answer; check 'hartslag alerts' for the state");
}

/* Answers an `alert-ack` waiter: "ok handled", or an error that says why. */
static void s_alert_answer(daemon_t *self, waiter_t *w, const char *refused, bool timeout)
{
    char message[400];
    if (timeout) {
        snprintf(message, sizeof message,
                 "no answer from the broker about alert %s: the acknowledgement was sent, but it "
                 "is not known whether the broker recorded it; check 'hartslag alerts' (state "
                 "handled) and 'hartslag status', then try again",
                 w->signal_id);
        s_error(self, w->routing, "no_verdict", message);
    } else if (!refused) {
        const char *frames[] = {"ok", "handled"};
        (void)s_send(self, w->routing, frames, 2);
    } else {
        if (strcmp(refused, "unknown_alert") == 0)
            snprintf(message, sizeof message,
                     "the broker refused: it knows no alert %s under the current rules (it may "
                     "have lapsed, or the agreements changed)",
                     w->signal_id);
        else if (strcmp(refused, "lead_not_in_match") == 0)
            snprintf(message, sizeof message,
                     "the broker refused: the lead is not a partner in the match of alert %s, nor "
                     "the coordinator",
                     w->signal_id);
        else
            snprintf(message, sizeof message, "the broker refused alert %s (%s)", w->signal_id,
                     refused);
        s_error(self, w->routing, "refused", message);
    }
    zframe_destroy(&w->routing);
}

void control_alert_verdict(daemon_t *self, const char *alert_id, const char *refused)
{
    if (refused)
        dlog(DLOG_WARN, "event=alert_ack_refused alert=%s reason=%s", alert_id ? alert_id : "-",
             refused);
    else
        dlog(DLOG_INFO, "event=alert_ack_confirmed alert=%s", alert_id);
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing && w->kind == WAIT_ALERT_ACK &&
            (!alert_id || strcmp(w->signal_id, alert_id) == 0))
            s_alert_answer(self, w, refused, false);
    }
}

void control_resolve(daemon_t *self, wait_kind_t kind, const char *signal_id)
{
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing && w->kind == kind && strcmp(w->signal_id, signal_id) == 0 &&
            s_answer(self, w->routing, kind, signal_id, false))
            zframe_destroy(&w->routing);
    }
}

/* ---- inbox / show */

typedef struct {
    daemon_t *self;
    zframe_t *routing;
    bool json;
    bool failed;
    size_t count;
    size_t limit; /* alerts: at most this many (0: all) */
} list_ctx_t;

static int s_list_one(void *arg, const store_inbox_t *entry)
{
    list_ctx_t *ctx = arg;
    strbuf_t out = {0};
    if (ctx->json)
        render_inbox_json(entry, &out);
    else
        render_inbox_line(entry, &out);
    int rc = 0;
    if (!strbuf_ok(&out))
        rc = -1;
    else {
        const char *frames[] = {"item", strbuf_text(&out)};
        rc = s_send(ctx->self, ctx->routing, frames, 2);
        ctx->count++;
    }
    strbuf_wipe(&out);
    if (rc != 0)
        ctx->failed = true;
    return rc;
}

static int s_alert_one(void *arg, const char *json)
{
    list_ctx_t *ctx = arg;
    if (ctx->limit && ctx->count >= ctx->limit)
        return 0; /* newest first: the rest are older */
    const char *frames[] = {"item", json};
    ctx->count++;
    if (s_send(ctx->self, ctx->routing, frames, 2) != 0) {
        ctx->failed = true;
        return -1;
    }
    return 0;
}

/* Lists are streamed: "item" messages, then one "ok" with the count, so no
   list is ever held whole in memory. */
static void s_inbox_cmd(daemon_t *self, const request_t *req)
{
    list_ctx_t ctx = {
        self, req->routing, s_json(req), false, 0, (size_t)s_uint_opt(req, "limit", 0, 1000000)};
    const char *alerts = s_opt(req, "alerts");
    int rc = alerts && strcmp(alerts, "yes") == 0
                 ? store_alert_each(self->store, s_alert_one, &ctx)
                 : store_inbox_each(self->store, (size_t)s_uint_opt(req, "limit", 0, 1000000),
                                    s_list_one, &ctx);
    if (ctx.failed)
        return;
    if (rc != 0) {
        s_error(self, req->routing, "internal", "cannot read the inbox database");
        return;
    }
    char count[32];
    snprintf(count, sizeof count, "%zu", ctx.count);
    s_ok1(self, req->routing, count);
}

static void s_show_cmd(daemon_t *self, const request_t *req)
{
    const char *id = s_id_opt(self, req);
    if (!id)
        return;
    strbuf_t out = {0};
    store_inbox_t in;
    store_outbox_t sent;
    int found = store_inbox_get(self->store, id, &in);
    if (found > 0) {
        if (s_json(req))
            render_inbox_json(&in, &out);
        else
            render_inbox_text(&in, &out);
        store_inbox_clear(&in);
    } else if (found == 0 && (found = store_outbox_get(self->store, id, &sent)) > 0) {
        if (s_json(req))
            render_outbox_json(&sent, &out);
        else
            render_outbox_text(&sent, &out);
        store_outbox_clear(&sent);
    }
    if (found < 0)
        s_error(self, req->routing, "internal", "cannot read the database");
    else if (found == 0) {
        char why[16] = "";
        int known = store_inbox_known(self->store, id, why);
        char message[200];
        if (known == 2)
            snprintf(message, sizeof message, "signal %s is no longer here (%s)", id, why);
        else
            snprintf(message, sizeof message,
                     "no signal %s in the inbox or outbox (see 'hartslag inbox')", id);
        s_error(self, req->routing, "not_found", message);
    } else if (strbuf_ok(&out))
        s_ok1(self, req->routing, strbuf_text(&out));
    else
        s_error(self, req->routing, "internal", "out of memory");
    strbuf_wipe(&out);
}

/* ---- watch */

static void s_watch_cmd(daemon_t *self, const request_t *req)
{
    watcher_t *slot = NULL;
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++) {
        watcher_t *w = &self->watchers[i];
        if (w->routing && zframe_eq(w->routing, req->routing)) {
            slot = w;
            break;
        }
        if (!w->routing && !slot)
            slot = w;
    }
    if (!slot) {
        s_error(self, req->routing, "busy", "too many watchers; try again later");
        return;
    }
    if (!slot->routing)
        slot->routing = zframe_dup(req->routing);
    slot->json = s_json(req);
    slot->seen_ms = daemon_now_ms();
    s_ok1(self, req->routing, NULL);
}

static void s_unwatch_cmd(daemon_t *self, const request_t *req)
{
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++)
        if (self->watchers[i].routing && zframe_eq(self->watchers[i].routing, req->routing))
            zframe_destroy(&self->watchers[i].routing);
    s_ok1(self, req->routing, NULL);
}

void control_notify(daemon_t *self, const char *json, const char *text)
{
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++) {
        watcher_t *w = &self->watchers[i];
        if (!w->routing)
            continue;
        const char *frames[] = {"item", w->json ? json : text};
        if (s_send(self, w->routing, frames, 2) != 0)
            zframe_destroy(&w->routing); /* gone, or not reading */
    }
}

void control_tick(daemon_t *self, uint64_t now_ms)
{
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++) {
        waiter_t *w = &self->waiters[i];
        if (w->routing && now_ms >= w->deadline_ms && w->kind == WAIT_ALERT_ACK)
            s_alert_answer(self, w, NULL, true);
        else if (w->routing && now_ms >= w->deadline_ms && w->kind == WAIT_CASE)
            cases_answer(self, w, NULL);
        else if (w->routing && now_ms >= w->deadline_ms) {
            (void)s_answer(self, w->routing, w->kind, w->signal_id, true);
            zframe_destroy(&w->routing);
        }
    }
    for (size_t i = 0; i < DAEMON_WATCHERS_MAX; i++) {
        watcher_t *w = &self->watchers[i];
        if (w->routing && now_ms - w->seen_ms > DAEMON_WATCH_TTL_MS)
            zframe_destroy(&w->routing);
    }
}

/* ---- dispatch */

void control_request(daemon_t *self, zmsg_t **msg_p)
{
    request_t req;
    memset(&req, 0, sizeof req);
    if (!msg_p || !*msg_p)
        return;
    /* request.c wipes the frames and, on release, the whole copy. */
    if (request_parse(&req, msg_p) != 0) {
        daemon_flush(self); /* answers leave in request order */
        if (req.routing)
            s_error(self, req.routing, "malformed", "a request is 1..200 text frames");
        request_clear(&req);
        return;
    }
    if (!req.routing || req.n_args == 0) {
        request_clear(&req);
        return;
    }
    const char *cmd = req.args[0];
    /* A run of `send`s shares the turn transaction; anything else sees
       it committed and is answered after them. */
    if (strcmp(cmd, "send") != 0)
        daemon_flush(self);
    if (strcmp(cmd, "status") == 0)
        s_status(self, &req);
    else if (strcmp(cmd, "send") == 0)
        s_send_cmd(self, &req);
    else if (strcmp(cmd, "wait") == 0)
        s_wait_cmd(self, &req);
    else if (strcmp(cmd, "inbox") == 0)
        s_inbox_cmd(self, &req);
    else if (strcmp(cmd, "show") == 0)
        s_show_cmd(self, &req);
    else if (strcmp(cmd, "watch") == 0)
        s_watch_cmd(self, &req);
    else if (strcmp(cmd, "unwatch") == 0)
        s_unwatch_cmd(self, &req);
    else if (strcmp(cmd, "withdraw") == 0)
        s_withdraw_cmd(self, &req);
    else if (strcmp(cmd, "alert-ack") == 0)
        s_alert_ack_cmd(self, &req);
    else if (strcmp(cmd, "case") == 0 && s_opt(&req, "op") &&
             (strcmp(s_opt(&req, "op"), "share") == 0 || strcmp(s_opt(&req, "op"), "reshare") == 0))
        s_send_cmd(self, &req);
    else if (strcmp(cmd, "case") == 0)
        cases_command(self, &req);
    else
        s_error(self, req.routing, "unknown_command",
                "unknown control command (is the CLI newer than the daemon?)");
    request_clear(&req);
}

void control_handle(daemon_t *self)
{
    for (int turn = 0; turn < 64; turn++) {
        if (!(zsock_events(self->control) & ZMQ_POLLIN))
            return;
        zmsg_t *msg = zmsg_recv(self->control);
        if (!msg)
            return;
        control_request(self, &msg);
    }
}
