/*  pseudonym_lookup: see pseudonym_lookup.h. */
#include "pseudonym_lookup.h"

#include "cert.h"
#include "config.h"
#include "keyfile.h"
#include "pseudonym_client.h"

#include <czmq.h>
#include <sodium.h>
#include <string.h>

static const config_key_t s_officer_schema[] = {
    {"keys", CONFIG_STRING, true, NULL},
    {"pseudonym_service", CONFIG_STRING, true, NULL},
    {"pseudonym_service_cert", CONFIG_STRING, true, NULL},
};

static const char *s_purposes[] = {"art15", "audit_query"};

int pseudonym_lookup(const char *officer_path, pseudonym_kind_t kind, const char *id,
                     const char *purpose, uint8_t out[PSEUDONYM_BYTES], char *err, size_t errlen)
{
    bool known = false;
    for (size_t i = 0; purpose && i < sizeof s_purposes / sizeof s_purposes[0]; i++)
        known |= strcmp(purpose, s_purposes[i]) == 0;
    if (!known) {
        snprintf(err, errlen,
                 "state the purpose of this lookup: art15 (an access request) or "
                 "audit_query (an investigation), with --lookup-purpose (audit "
                 "query) or --purpose (audit subject)");
        return 2;
    }
    if (!officer_path) {
        snprintf(err, errlen,
                 "a BSN or address is looked up through the pseudonym service: "
                 "give --officer FILE (docs/audit.md, \"The officer's file\")");
        return 2;
    }
    char cerr[600];
    config_t *config =
        config_load(officer_path, s_officer_schema,
                    sizeof s_officer_schema / sizeof s_officer_schema[0], cerr, sizeof cerr);
    if (!config) {
        snprintf(err, errlen, "%s", cerr);
        return -1;
    }
    int rc = -1;
    keyfile_t *keys = NULL;
    pseudonym_batch_t *batch = NULL;
    zsock_t *service = NULL;
    uint8_t *request = NULL;
    zframe_t *answer = NULL;
    Hartslag__PseudonymFrame *frame = NULL;
    char keys_path[4096], cert_path[4096];
    cert_t cert;
    if (!config_path(config, "keys", keys_path, sizeof keys_path) ||
        !config_path(config, "pseudonym_service_cert", cert_path, sizeof cert_path)) {
        snprintf(err, errlen, "%s: keys or pseudonym_service_cert too long", officer_path);
        goto done;
    }
    keys = keyfile_load(keys_path, cerr, sizeof cerr);
    if (!keys) {
        snprintf(err, errlen, "%s", cerr);
        goto done;
    }
    if (cert_load(cert_path, &cert, cerr, sizeof cerr) != 0) {
        snprintf(err, errlen, "pseudonym_service_cert: %s", cerr);
        goto done;
    }
    if (cert.role != CERT_ROLE_PSEUDONYM_SERVICE) {
        snprintf(err, errlen, "%s is not a pseudonym service's certificate", cert_path);
        goto done;
    }
    pseudonym_service_key_t key;
    memcpy(key.public_key, cert.oprf_key, sizeof key.public_key);
    key.key_version = cert.oprf_key_version;
    batch = pseudonym_batch_new();
    if (!batch) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    const char *why = NULL;
    if (pseudonym_batch_add(batch, kind, id, NULL, &why) != 0) {
        snprintf(err, errlen, "%s", why ? why : "not a valid identifier");
        rc = 2;
        goto done;
    }
    size_t len = 0;
    if (pseudonym_batch_request(batch, purpose, &key, (uint64_t)zclock_time(), &request, &len,
                                &why) != 0) {
        snprintf(err, errlen, "%s", why);
        goto done;
    }
    service = zsock_new(ZMQ_DEALER);
    if (!service) {
        snprintf(err, errlen, "cannot make a socket");
        goto done;
    }
    zsock_set_curve_serverkey_bin(service, cert.curve_key);
    zsock_set_curve_publickey_bin(service, keyfile_curve_public(keys));
    zsock_set_curve_secretkey_bin(service, keyfile_curve_secret(keys));
    zsock_set_maxmsgsize(service, PSEUDONYM_SERVICE_FRAME_MAX);
    zsock_set_linger(service, 0);
    zsock_set_sndtimeo(service, PSEUDONYM_LOOKUP_TIMEOUT_MS);
    zsock_set_rcvtimeo(service, PSEUDONYM_LOOKUP_TIMEOUT_MS);
    zsock_set_immediate(service, 1);
    const char *endpoint = config_string(config, "pseudonym_service");
    zframe_t *out_frame = NULL;
    if (zsock_connect(service, "%s", endpoint) != 0 || !(out_frame = zframe_new(request, len)) ||
        zframe_send(&out_frame, service, 0) != 0) {
        zframe_destroy(&out_frame);
        snprintf(err, errlen,
                 "the pseudonym service at %s cannot be reached (or does not accept the keys in "
                 "%s): nothing was looked up",
                 endpoint, keys_path);
        goto done;
    }
    answer = zframe_recv(service);
    frame = answer ? pseudonym_frame_unpack(zframe_data(answer), zframe_size(answer)) : NULL;
    if (!frame) {
        snprintf(err, errlen,
                 "no %sanswer from the pseudonym service at %s within %d s: nothing "
                 "was looked up",
                 answer ? "valid " : "", endpoint, PSEUDONYM_LOOKUP_TIMEOUT_MS / 1000);
        goto done;
    }
    pseudonym_refusal_t refusal;
    memset(&refusal, 0, sizeof refusal);
    uint8_t pseudonyms[1][PSEUDONYM_BYTES];
    pseudonym_answer_t result = pseudonym_batch_answer(batch, &key, frame, pseudonyms, &refusal);
    if (result == PSEUDONYM_ANSWER_OK) {
        memcpy(out, pseudonyms[0], PSEUDONYM_BYTES);
        rc = 0;
    } else if (result == PSEUDONYM_ANSWER_REFUSED) {
        snprintf(err, errlen, "the pseudonym service refused the lookup: %s%s%s", refusal.code,
                 refusal.detail[0] ? " - " : "", refusal.detail);
    } else {
        snprintf(err, errlen, "%s (expected key version %u of %s): nothing was looked up",
                 pseudonym_answer_text(result), key.key_version, cert_path);
    }
    sodium_memzero(pseudonyms, sizeof pseudonyms);
done:
    if (frame)
        hartslag__pseudonym_frame__free_unpacked(frame, NULL);
    zframe_destroy(&answer);
    zsock_destroy(&service);
    free(request);
    pseudonym_batch_destroy(&batch);
    keyfile_destroy(&keys);
    config_destroy(&config);
    return rc;
}
