/*  check: the broker's own key, and `hartslag-broker --check`. */
#include "check.h"

#include "agreements_history.h"
#include "store.h"

#include "agreements.h"
#include "cert.h"
#include "wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_SUFFIX "_secret"

/* The certificate `keys init`/`keys broker` wrote beside a secret file:
   "X.cert" for "X.cert_secret". False when the name has no such pair. */
static bool s_cert_beside(const char *keys_path, char *out, size_t outlen)
{
    size_t len = strlen(keys_path), suffix = strlen(SECRET_SUFFIX);
    if (len <= suffix || strcmp(keys_path + len - suffix, SECRET_SUFFIX) != 0 ||
        len - suffix >= outlen)
        return false;
    memcpy(out, keys_path, len - suffix);
    out[len - suffix] = '\0';
    return true;
}

int broker_keys_check(const keyfile_t *keys, const char *keys_path, const partners_t *partners,
                      char *err, size_t errlen)
{
    if (keyfile_has_box(keys)) {
        snprintf(err, errlen,
                 "%s is a partner's secret key file (org %s), not the broker's; create the "
                 "broker's own with 'hartslag keys broker --out DIR'",
                 keys_path, keyfile_org(keys));
        return -1;
    }
    for (size_t i = 0; partners && i < partners_count(partners); i++) {
        const cert_t *cert = partners_at(partners, i);
        if (sodium_memcmp(cert->curve_key, keyfile_curve_public(keys), CERT_KEYBYTES) == 0 ||
            sodium_memcmp(cert->sign_key, keyfile_sign_public(keys), CERT_KEYBYTES) == 0) {
            snprintf(err, errlen,
                     "the broker key %s is also partner %s's key in the certificate "
                     "directory; the broker needs keys of its own ('hartslag keys broker')",
                     keys_path, cert->org);
            return -1;
        }
    }
    char cert_path[4096];
    if (!s_cert_beside(keys_path, cert_path, sizeof cert_path) || access(cert_path, F_OK) != 0)
        return 0; /* no certificate beside the key: nothing more to compare */
    cert_t cert;
    char why[400];
    if (cert_load(cert_path, &cert, why, sizeof why) != 0) {
        snprintf(err, errlen, "the certificate beside the broker key, %s: %s", cert_path, why);
        return -1;
    }
    if (cert.role != CERT_ROLE_BROKER) {
        snprintf(err, errlen,
                 "%s is a %s certificate (org %s), not a broker certificate; the broker needs "
                 "keys of its own ('hartslag keys broker')",
                 cert_path, cert_role_name(cert.role), cert.org);
        return -1;
    }
    if (sodium_memcmp(cert.curve_key, keyfile_curve_public(keys), CERT_KEYBYTES) != 0 ||
        sodium_memcmp(cert.sign_key, keyfile_sign_public(keys), CERT_KEYBYTES) != 0) {
        snprintf(err, errlen,
                 "the certificate %s does not belong to the key %s (the partners' "
                 "broker_cert would not match this broker)",
                 cert_path, keys_path);
        return -1;
    }
    return 0;
}

typedef struct {
    FILE *out;
    int problems;
} check_ctx_t;

static void s_problem(check_ctx_t *ctx, const char *what, const char *why)
{
    fprintf(ctx->out, "problem: %s: %s\n", what, why);
    ctx->problems++;
}

static void s_report_cert(void *arg, const char *file, bool is_error, const char *message)
{
    check_ctx_t *ctx = arg;
    if (is_error)
        s_problem(ctx, file, message);
    else
        fprintf(ctx->out, "warning: %s: %s\n", file, message);
}

static void s_check_state_dir(check_ctx_t *ctx, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            s_problem(ctx, dir, strerror(errno));
        else
            fprintf(ctx->out, "note: %s does not exist yet; the broker creates it (0700)\n", dir);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        s_problem(ctx, dir, "state_dir is not a directory");
        return;
    }
    if (access(dir, W_OK | X_OK) != 0)
        s_problem(ctx, dir, "state_dir is not writable by this user");
    if (st.st_mode & 077)
        fprintf(ctx->out,
                "warning: %s is open to group or others (it holds the audit log): chmod 700\n",
                dir);
    static const char *const files[] = {"broker.db", "broker.db-wal", "broker.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            fprintf(ctx->out,
                    "warning: %s is open to group or others; the broker sets it to 0600 "
                    "when it starts\n",
                    path);
    }
}

static void s_signature_refused(void *arg, const char *path, const char *reason)
{
    check_ctx_t *ctx = arg;
    fprintf(ctx->out, "warning: %s: refused: %s\n", path, reason);
}

/* The signatures beside the agreements file. Before the first start (no
   store yet) the broker requires every partner's, so a missing one is a
   problem; later it depends on the version in force in the store, which
   --check does not open: the start says (agreements_refused). */
static void s_check_signatures(check_ctx_t *ctx, const broker_config_t *config,
                               const agreements_t *agreements, const partners_t *partners)
{
    /* A server's store cannot be looked at without connecting: not first. */
    const char *store = broker_store_sqlite_path(config->store);
    bool first = store && access(store, F_OK) != 0;
    history_admission_t admission;
    if (agreements_history_admit(NULL, agreements, config->agreements, partners,
                                 s_signature_refused, ctx, &admission) != 0) {
        s_problem(ctx, config->agreements, "out of memory");
        return;
    }
    if (!admission.refusal)
        return;
    char why[700];
    snprintf(why, sizeof why,
             "not signed by every partner (missing: %s): the first version a broker enforces "
             "needs all of them (hartslag agreements verify)",
             admission.missing);
    if (first)
        s_problem(ctx, config->agreements, why);
    else
        fprintf(ctx->out,
                "note: %s is not signed by every partner (missing: %s); at start it takes effect "
                "only if the coordinator and every partner its change affects signed it\n",
                config->agreements, admission.missing);
}

int broker_check(const broker_config_t *config, FILE *out)
{
    check_ctx_t ctx = {out, 0};
    char why[4800];
    int64_t now_ms = (int64_t)wire_now_ms();
    keyfile_t *keys = keyfile_load(config->keys, why, sizeof why);
    if (!keys)
        s_problem(&ctx, "keys", why);
    partners_t *partners =
        partners_load(config->certificates, now_ms, s_report_cert, &ctx, why, sizeof why);
    if (!partners && ctx.problems == (keys ? 0 : 1))
        s_problem(&ctx, config->certificates, why); /* a failure no certificate was named for */
    if (keys && broker_keys_check(keys, config->keys, partners, why, sizeof why) != 0)
        s_problem(&ctx, "keys", why);
    if (partners && partners_count(partners) == 0)
        fprintf(out, "warning: %s holds no valid partner certificate: nobody can connect\n",
                config->certificates);
    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(config->agreements, &errors);
    if (!agreements) {
        size_t n = errors ? agreements_errors_count(errors) : 0;
        for (size_t i = 0; i < n; i++) {
            const agreements_error_t *e = agreements_errors_at(errors, i);
            char where[4200];
            if (e->line)
                snprintf(where, sizeof where, "%s:%u:%u", e->file, e->line, e->column);
            else
                snprintf(where, sizeof where, "%s", e->file);
            s_problem(&ctx, where, e->message);
        }
        if (n == 0)
            s_problem(&ctx, config->agreements, "cannot be read");
    } else {
        for (size_t i = 0; partners && i < partners_count(partners); i++) {
            const cert_t *cert = partners_at(partners, i);
            if (cert->role == CERT_ROLE_COORDINATOR) {
                const char *coordinator = agreements_coordinator(agreements);
                if (coordinator && strcmp(coordinator, cert->org) != 0)
                    fprintf(out,
                            "warning: %s has role coordinator, but the agreements name %s as "
                            "the coordinator\n",
                            cert->org, coordinator);
            }
        }
    }
    if (agreements && partners)
        s_check_signatures(&ctx, config, agreements, partners);
    s_check_state_dir(&ctx, config->state_dir);
    if (ctx.problems == 0)
        fprintf(out,
                "ok: keys, %zu partner certificate%s, agreements version %llu, state directory\n",
                partners ? partners_count(partners) : 0,
                partners && partners_count(partners) == 1 ? "" : "s",
                agreements ? (unsigned long long)agreements_version(agreements) : 0ULL);
    else
        fprintf(out, "%d problem%s found; the broker would not start\n", ctx.problems,
                ctx.problems == 1 ? "" : "s");
    agreements_destroy(&agreements);
    agreements_errors_destroy(&errors);
    partners_destroy(&partners);
    keyfile_destroy(&keys);
    return ctx.problems;
}
