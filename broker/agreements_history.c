/*  agreements_history: see agreements_history.h. */
#include "agreements_history.h"

#include "agreements_diff.h"
#include "agreements_rule.h"
#include "agreements_sigset.h"
#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

history_verdict_t agreements_history_judge(bool in_force, uint64_t version,
                                           const uint8_t hash[AGREEMENTS_HASH_BYTES],
                                           const agreements_t *next)
{
    if (!in_force)
        return HISTORY_FIRST;
    bool same_bytes = memcmp(hash, agreements_hash(next), AGREEMENTS_HASH_BYTES) == 0;
    if (agreements_version(next) == version)
        return same_bytes ? HISTORY_UNCHANGED : HISTORY_OTHER_BYTES;
    return agreements_version(next) > version ? HISTORY_NEWER : HISTORY_LOWER;
}

const char *agreements_history_refusal(history_verdict_t verdict)
{
    switch (verdict) {
    case HISTORY_LOWER:
        return "lower_version";
    case HISTORY_OTHER_BYTES:
        return "same_version_other_bytes";
    default:
        return NULL;
    }
}

agreements_t *agreements_history_read(const char *path, char **bytes, size_t *len,
                                      agreements_errors_t **errors)
{
    char err[512];
    *bytes = NULL;
    *len = 0;
    if (fileio_read(path, AGREEMENTS_FILE_MAX, bytes, len, err, sizeof err) != 0) {
        /* agreements_load words the problem as the tools show it */
        return agreements_load(path, errors);
    }
    agreements_t *agreements = agreements_parse(*bytes, *len, path, errors);
    if (!agreements) {
        free(*bytes);
        *bytes = NULL;
        *len = 0;
    }
    return agreements;
}

typedef struct {
    history_refused_fn *refused;
    void *arg;
} relay_t;

static void s_relay(void *arg, const char *path, const char *reason)
{
    relay_t *relay = arg;
    if (relay->refused)
        relay->refused(relay->arg, path, reason);
}

int agreements_history_keep(broker_store_t *store, const agreements_t *next, const char *path,
                            const char *bytes, size_t len, const partners_t *partners, bool record,
                            int64_t now_ms, history_refused_fn *refused, void *arg,
                            size_t *n_signers)
{
    *n_signers = 0;
    if (record && broker_store_agreements_record(store, agreements_version(next),
                                                 agreements_hash(next), bytes, len, now_ms) != 0)
        return -1;
    char err[512];
    relay_t relay = {refused, arg};
    agreements_sigset_t *sigset =
        agreements_sigset_read(path, next, partners, s_relay, &relay, err, sizeof err);
    if (!sigset) {
        if (refused)
            refused(arg, path, err);
        return 0; /* no signatures to keep is not a store error */
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < agreements_sigset_count(sigset); i++) {
        size_t n = 0;
        const char *text = agreements_sigset_text(sigset, i, &n);
        rc = broker_store_agreements_signature(store, agreements_hash(next),
                                               agreements_sigset_signer(sigset, i), text, n);
    }
    *n_signers = agreements_sigset_count(sigset);
    agreements_sigset_destroy(&sigset);
    return rc;
}

int agreements_history_admit(const agreements_t *in_force, const agreements_t *next,
                             const char *path, const partners_t *partners,
                             history_refused_fn *refused, void *arg, history_admission_t *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = in_force ? agreements_history_judge(true, agreements_version(in_force),
                                                       agreements_hash(in_force), next)
                            : HISTORY_FIRST;
    out->refusal = agreements_history_refusal(out->verdict);
    if (out->refusal || out->verdict == HISTORY_UNCHANGED)
        return 0;
    char err[512];
    relay_t relay = {refused, arg};
    agreements_sigset_t *sigset =
        agreements_sigset_read(path, next, partners, s_relay, &relay, err, sizeof err);
    if (!sigset && refused)
        refused(arg, path, err); /* an unreadable directory: no signatures */
    size_t n_partners = agreements_partner_count(next);
    const char **signers = calloc(n_partners + 1, sizeof *signers);
    const char **required = calloc(n_partners + 1, sizeof *required);
    agreements_diff_t *diff = in_force ? agreements_diff_new(in_force, next) : NULL;
    int rc = signers && required && (!in_force || diff) ? 0 : -1;
    size_t n_signers = 0, n_required = 0;
    for (size_t i = 0; rc == 0 && sigset && i < agreements_sigset_count(sigset); i++)
        signers[n_signers++] = agreements_sigset_signer(sigset, i);
    agreements_rule_result_t result =
        rc == 0
            ? agreements_rule_check(in_force, next, diff, signers, n_signers, required, &n_required)
            : AGREEMENTS_RULE_MISSING;
    if (rc == 0 && result == AGREEMENTS_RULE_MISSING) {
        bool coordinator = false;
        for (size_t i = 0; i < n_signers; i++)
            coordinator = coordinator || strcmp(signers[i], agreements_coordinator(next)) == 0;
        if (coordinator && agreements_rule_emergency(in_force, next, diff, NULL, out->emergency_org,
                                                     sizeof out->emergency_org))
            result = AGREEMENTS_RULE_OK;
        else
            out->emergency_org[0] = '\0';
    }
    if (rc == 0 && result != AGREEMENTS_RULE_OK) {
        out->refusal = "missing_signatures";
        size_t used = 0;
        for (size_t i = 0; i < n_required; i++) {
            bool have = false;
            for (size_t k = 0; k < n_signers; k++)
                have = have || strcmp(signers[k], required[i]) == 0;
            int n = have ? 0
                         : snprintf(out->missing + used, sizeof out->missing - used, "%s%s",
                                    used ? ", " : "", required[i]);
            if (n > 0 && (size_t)n < sizeof out->missing - used)
                used += (size_t)n;
        }
    }
    agreements_diff_destroy(&diff);
    free(required);
    free(signers);
    agreements_sigset_destroy(&sigset);
    return rc;
}
