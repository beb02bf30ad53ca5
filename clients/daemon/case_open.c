/*  case_open: opening a case about a subject identifier (issue 15):
    `case op=open subject-bsn=...` (or subject-address, subject-case). The
    identifier becomes the case's pseudonym here exactly as for `send`
    (pseudonymise.c: normalised, domain-separated, the RFC 9497 VOPRF
    through the pseudonym service, the memory-only cache), and goes
    nowhere else: not into the store, a log line, an error message or the
    broker.

    A cached pseudonym opens the case at once. Otherwise the request is
    parked here (the request owns the identifier and is wiped when it is
    cleared) and its subject joins the next batch to the service; the
    answer resumes the open (cases_open_resume), which is then answered as
    every step is, after the broker's verdict. A refusal, a service that
    does not answer, or CASE_OPEN_PSEUDONYM_MS without a pseudonym answer
    the request with an error naming no identifier, and nothing is opened:
    never a fallback, and never a case under a pseudonym not checked
    against the service's key. */
#include "daemon_internal.h"

#include "dlog.h"
#include "pseudonym.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const s_kinds[] = {"bsn", "address", "case"};

/* The subject option of the request: its kind, and the identifier
   normalised into `out` (which the caller wipes). 1 named, 0 none, -1
   invalid or named twice (*why a static text without the identifier,
   *key the option). */
static int s_subject(const request_t *req, pseudonym_kind_t *kind,
                     char out[PSEUDONYM_NORMALISED_MAX + 1], const char **key, const char **why)
{
    int named = 0;
    const char *value = NULL;
    static const char *const keys[] = {"subject-bsn", "subject-address", "subject-case"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = control_opt(req, keys[i]);
        if (!v)
            continue;
        named++;
        value = v;
        *key = keys[i];
        if (pseudonym_kind_from_string(s_kinds[i], kind) != 0) {
            *why = "unknown kind of subject";
            return -1;
        }
    }
    if (named == 0)
        return 0;
    if (named > 1) {
        *key = "subject";
        *why = "give one of --subject-bsn, --subject-address, --subject-case";
        return -1;
    }
    if (pseudonym_normalise(*kind, value, out, PSEUDONYM_NORMALISED_MAX + 1, why) != 0)
        return -1;
    return 1;
}

bool case_open_names_subject(const request_t *req)
{
    return control_opt(req, "subject-bsn") || control_opt(req, "subject-address") ||
           control_opt(req, "subject-case");
}

int case_open_subject(daemon_t *self, request_t *req, uint8_t subject[PSEUDONYM_BYTES], char *code,
                      size_t codelen, char *message, size_t msglen)
{
    pseudonym_kind_t kind;
    char id[PSEUDONYM_NORMALISED_MAX + 1];
    const char *key = "subject", *why = NULL;
    int named = s_subject(req, &kind, id, &key, &why);
    if (named != 1) {
        sodium_memzero(id, sizeof id);
        snprintf(code, codelen, "usage");
        if (named == 0)
            snprintf(message, msglen, "name the subject");
        else if (strcmp(key, "subject") == 0)
            snprintf(message, msglen, "%s", why);
        else
            snprintf(message, msglen, "invalid --%s: %s", key, why ? why : "not accepted");
        return -1;
    }
    if (!self->connected) {
        sodium_memzero(id, sizeof id);
        snprintf(code, codelen, "not_connected");
        snprintf(message, msglen,
                 "not connected to the broker; nothing was opened. Try again when 'hartslag "
                 "status' says connected");
        return -1;
    }
    int cached = pseudonymise_cached(self, kind, id, subject, &why);
    sodium_memzero(id, sizeof id);
    if (cached < 0) {
        snprintf(code, codelen, "usage");
        snprintf(message, msglen, "invalid --%s: %s", key, why ? why : "not accepted");
        return -1;
    }
    if (cached == 1)
        return 0;
    for (size_t i = 0; i < CASE_OPENS_MAX; i++) {
        case_open_wait_t *w = &self->case_opens[i];
        if (w->req.routing)
            continue;
        w->req = *req; /* taken: the caller's copy is left empty */
        memset(req, 0, sizeof *req);
        w->deadline_ms = daemon_now_ms() + CASE_OPEN_PSEUDONYM_MS;
        w->slot = -1;
        /* Someone waits: the service is asked now, whatever the backoff
           after an earlier failure says (a failure again doubles it). */
        self->pseudonyms_due = true;
        if (!pseudonymise_in_flight(self))
            self->service_next_ms = 0;
        dlog(DLOG_INFO, "event=case_open_waiting reason=pseudonym");
        return 1;
    }
    snprintf(code, codelen, "busy");
    snprintf(message, msglen,
             "too many cases wait for the pseudonym service; nothing was opened, try again");
    return -1;
}

/* Answers a parked open with an error and frees its slot. */
static void s_fail(daemon_t *self, case_open_wait_t *w, const char *message)
{
    dlog(DLOG_WARN, "event=case_open_failed reason=pseudonym_service");
    control_error(self, w->req.routing, "pseudonym_unavailable", message);
    request_clear(&w->req);
    w->slot = -1;
}

/* Opens a parked case with its pseudonym and frees its slot. */
static void s_resume(daemon_t *self, case_open_wait_t *w, const uint8_t pseudonym[PSEUDONYM_BYTES])
{
    dlog(DLOG_INFO, "event=case_open_pseudonymised");
    cases_open_resume(self, &w->req, pseudonym);
    request_clear(&w->req);
    w->slot = -1;
}

void case_open_gather(daemon_t *self, int flight)
{
    pseudonym_flight_t *f = &self->flights[flight];
    for (size_t i = 0; i < CASE_OPENS_MAX; i++) {
        case_open_wait_t *w = &self->case_opens[i];
        if (!w->req.routing || w->slot >= 0)
            continue;
        pseudonym_kind_t kind;
        char id[PSEUDONYM_NORMALISED_MAX + 1];
        const char *key = NULL, *why = NULL;
        uint8_t pseudonym[PSEUDONYM_BYTES];
        size_t slot = 0;
        int cached = s_subject(&w->req, &kind, id, &key, &why) == 1
                         ? pseudonymise_cached(self, kind, id, pseudonym, &why)
                         : -1;
        if (cached == 1) /* an answer since it was parked gave it */
            s_resume(self, w, pseudonym);
        else if (cached < 0)
            s_fail(self, w, "the subject can no longer be read; nothing was opened");
        else if (pseudonym_batch_size(f->batch) < OPRF_BATCH_MAX &&
                 pseudonym_batch_add(f->batch, kind, id, &slot, &why) == 0) {
            w->slot = (int)slot;
            w->flight = flight;
            f->ids[slot][0] = '\0'; /* not an outbox entry */
        }
        sodium_memzero(id, sizeof id);
        sodium_memzero(pseudonym, sizeof pseudonym);
    }
}

void case_open_answered(daemon_t *self, int flight, const uint8_t (*pseudonyms)[PSEUDONYM_BYTES])
{
    for (size_t i = 0; i < CASE_OPENS_MAX; i++) {
        case_open_wait_t *w = &self->case_opens[i];
        if (w->req.routing && w->slot >= 0 && w->flight == flight)
            s_resume(self, w, pseudonyms[w->slot]);
    }
}

void case_open_failed(daemon_t *self, const char *problem)
{
    char message[400];
    snprintf(message, sizeof message,
             "the pseudonym service did not answer with a pseudonym (%s); nothing was "
             "opened. See 'hartslag status', then try again",
             problem);
    for (size_t i = 0; i < CASE_OPENS_MAX; i++) {
        case_open_wait_t *w = &self->case_opens[i];
        if (w->req.routing && w->slot >= 0)
            s_fail(self, w, message);
    }
}

void case_open_tick(daemon_t *self, uint64_t now_ms)
{
    for (size_t i = 0; i < CASE_OPENS_MAX; i++) {
        case_open_wait_t *w = &self->case_opens[i];
        if (w->req.routing && now_ms >= w->deadline_ms)
            s_fail(self, w,
                   "the pseudonym service did not answer in time; nothing was opened. See "
                   "'hartslag status', then try again");
    }
}

void case_open_close(daemon_t *self)
{
    for (size_t i = 0; i < CASE_OPENS_MAX; i++)
        request_clear(&self->case_opens[i].req);
}
