/*  hartslag agreements sign | verify. See cmd_agreements_sign.h.

    sign    shows the diff against the version in force, asks, and writes
            FILE.sig.d/ORG.sig with the partner's Ed25519 sign key
    verify  reads every FILE.sig.d/ORG.sig, checks each against FILE and the
            partners' certificates, and applies the signing rule
            (lib/agreements_rule): exit 0 only when it holds
*/
#include "cmd_agreements_sign.h"

#include "../daemon/config_schema.h"
#include "agreements.h"
#include "agreements_diff.h"
#include "agreements_rule.h"
#include "agreements_sig.h"
#include "agreements_sigset.h"
#include "fileio.h"
#include "keyfile.h"
#include "partners.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PATH_MAX 4096

static int s_usage(FILE *out, const char *why)
{
    if (why)
        fprintf(out, "hartslag agreements: %s\n", why);
    fprintf(out, "usage: hartslag agreements sign --config DAEMON.yaml [--against OLD.yaml] "
                 "[--yes] FILE\n"
                 "       hartslag agreements verify FILE --partners DIR [--against OLD.yaml]\n");
    return why ? 2 : 0;
}

static agreements_t *s_load(const char *path)
{
    agreements_errors_t *errors = NULL;
    agreements_t *ag = agreements_load(path, &errors);
    if (!ag) {
        agreements_errors_print(errors, stderr);
        fprintf(stderr, "hartslag agreements: %s is invalid; nothing signed or verified\n", path);
        agreements_errors_destroy(&errors);
    }
    return ag;
}

static void s_print_diff(const agreements_t *old_a, const agreements_t *new_a, const char *old_path)
{
    agreements_diff_t *diff = agreements_diff_new(old_a, new_a);
    if (!diff) {
        printf("(the diff could not be computed: out of memory)\n");
        return;
    }
    printf("changes against version %llu (%s):\n", (unsigned long long)agreements_version(old_a),
           old_path);
    for (size_t i = 0; i < agreements_diff_count(diff); i++) {
        printf("  ");
        agreements_change_print(agreements_diff_at(diff, i), stdout);
        putchar('\n');
    }
    if (agreements_diff_count(diff) == 0)
        printf("  (no changes)\n");
    printf("affected partners:");
    for (size_t i = 0; i < agreements_diff_affected_count(diff); i++)
        printf("%s%s", i ? ", " : " ", agreements_diff_affected(diff, i));
    printf("%s\n", agreements_diff_affected_count(diff) ? "" : " (none)");
    agreements_diff_destroy(&diff);
}

/* --emergency-revoke ORG: the coordinator cuts a partner off at once. Only
   a version that does nothing but take permissions away from ORG
   (agreements_rule_emergency) qualifies; the broker lets it take effect on
   the coordinator's signature alone and audits it. 0 when this signature
   may be such an emergency signature, else -1 with the reason. */
static int s_emergency_check(const agreements_t *old_a, const agreements_t *next,
                             const char *signer, const char *revoke)
{
    if (strcmp(signer, agreements_coordinator(next)) != 0) {
        fprintf(stderr,
                "hartslag agreements: only the coordinator (%s) signs an emergency revocation; "
                "nothing signed\n",
                agreements_coordinator(next));
        return -1;
    }
    if (!old_a) {
        fprintf(stderr, "hartslag agreements: an emergency revocation needs the version in force "
                        "(--against); nothing signed\n");
        return -1;
    }
    agreements_diff_t *diff = agreements_diff_new(old_a, next);
    char suspended[NAMES_ORG_MAX + 1] = "";
    bool ok =
        diff && agreements_rule_emergency(old_a, next, diff, revoke, suspended, sizeof suspended);
    agreements_diff_destroy(&diff);
    if (!ok) {
        fprintf(stderr,
                "hartslag agreements: this version does more than take permissions away from %s "
                "(suspend it with may_send/may_receive/receives_alerts: false, or remove its "
                "partner entry, its agreements, or it from recipient and notify lists; change "
                "nothing else but the version); an emergency revocation cannot add or widen "
                "anything. Nothing signed\n",
                revoke);
        return -1;
    }
    printf("emergency revocation of %s: the broker lets this version take effect on the "
           "coordinator's signature alone, and audits it\n",
           revoke);
    return 0;
}

/* ------------------------------------------------------------------ sign */

int agreements_cmd_sign(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"against", required_argument, NULL, 'a'},
        {"yes", no_argument, NULL, 'y'},
        {"emergency-revoke", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL, *against = NULL, *revoke = NULL;
    bool yes = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'c')
            config_file = optarg;
        else if (c == 'a')
            against = optarg;
        else if (c == 'y')
            yes = true;
        else if (c == 'e')
            revoke = optarg;
        else if (c == 'h')
            return s_usage(stdout, NULL);
        else
            return s_usage(stderr, "sign: unknown option");
    }
    if (!config_file || optind != argc - 1)
        return s_usage(stderr, "sign: --config DAEMON.yaml and one FILE are required");
    const char *file = argv[optind];

    char err[512], keys[S_PATH_MAX], in_force[S_PATH_MAX];
    config_t *conf =
        config_load(config_file, daemon_config_schema, DAEMON_CONFIG_KEYS, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "hartslag agreements: %s\n", err);
        return 1;
    }
    char org[NAMES_ORG_MAX + 1];
    snprintf(org, sizeof org, "%s", config_string(conf, "org"));
    bool have_keys = config_path(conf, "keys", keys, sizeof keys) != NULL;
    bool have_in_force = config_path(conf, "agreements", in_force, sizeof in_force) != NULL;
    config_destroy(&conf);
    if (!have_keys) {
        fprintf(stderr, "hartslag agreements: %s names no keys file\n", config_file);
        return 1;
    }
    if (!against && have_in_force)
        against = in_force;

    agreements_t *next = s_load(file);
    if (!next)
        return 1;
    int rc = 1;
    agreements_t *old_a = NULL;
    keyfile_t *kf = NULL;
    if (!agreements_partner_lookup(next, org, strlen(org))) {
        fprintf(stderr, "hartslag agreements: %s is not a partner in %s; nothing signed\n", org,
                file);
        goto done;
    }
    char hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(next, hash);
    printf("agreements %s: partnership %s, version %llu, sha256 %s\n", file,
           agreements_partnership(next), (unsigned long long)agreements_version(next), hash);
    if (against) {
        old_a = s_load(against);
        if (!old_a)
            goto done;
        s_print_diff(old_a, next, against);
    } else
        printf("no version in force to compare with: this is the first version\n");
    if (revoke && s_emergency_check(old_a, next, org, revoke) != 0)
        goto done;
    if (!yes) {
        printf("Sign version %llu of %s as %s? Type 'yes' to sign: ",
               (unsigned long long)agreements_version(next), agreements_partnership(next), org);
        fflush(stdout);
        char answer[16] = "";
        if (!fgets(answer, sizeof answer, stdin) || strcmp(answer, "yes\n") != 0) {
            printf("\nnot signed\n");
            goto done;
        }
    }
    kf = keyfile_load(keys, err, sizeof err);
    if (!kf) {
        fprintf(stderr, "hartslag agreements: %s\n", err);
        goto done;
    }
    if (strcmp(keyfile_org(kf), org) != 0) {
        fprintf(stderr, "hartslag agreements: the keys file %s is of %s, not %s; nothing signed\n",
                keys, keyfile_org(kf), org);
        goto done;
    }
    agreements_sig_t sig;
    if (agreements_sig_sign(next, org, keyfile_sign_secret(kf), &sig) != 0) {
        fprintf(stderr, "hartslag agreements: signing failed\n");
        goto done;
    }
    char text[AGREEMENTS_SIG_FILE_MAX], dir[S_PATH_MAX], path[S_PATH_MAX + 64];
    size_t len = agreements_sig_format(&sig, text, sizeof text);
    snprintf(dir, sizeof dir, "%s.sig.d", file);
    snprintf(path, sizeof path, "%s/%s.sig", dir, org);
    if (len == 0 || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "hartslag agreements: cannot create %s: %s\n", dir, strerror(errno));
        goto done;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "hartslag agreements: cannot replace %s: %s\n", path, strerror(errno));
        goto done;
    }
    if (fileio_write_new(path, text, len, 0644, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag agreements: %s\n", err);
        goto done;
    }
    printf("signed: %s\n", path);
    rc = 0;
done:
    keyfile_destroy(&kf);
    agreements_destroy(&old_a);
    agreements_destroy(&next);
    return rc;
}

/* ---------------------------------------------------------------- verify */

/* A refused signature file: one line naming it. */
static void s_refused(void *arg, const char *path, const char *reason)
{
    (void)arg;
    printf("%s: refused: %s\n", path, reason);
}

static void s_report(void *arg, const char *file, bool is_error, const char *message)
{
    (void)arg;
    fprintf(stderr, "%s: %s: %s\n", file, is_error ? "error" : "warning", message);
}

int agreements_cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"partners", required_argument, NULL, 'p'},
        {"against", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *against = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'p')
            dir = optarg;
        else if (c == 'a')
            against = optarg;
        else if (c == 'h')
            return s_usage(stdout, NULL);
        else
            return s_usage(stderr, "verify: unknown option");
    }
    if (!dir || optind != argc - 1)
        return s_usage(stderr, "verify: one FILE and --partners DIR are required");
    const char *file = argv[optind];
    agreements_t *next = s_load(file), *old_a = NULL;
    if (!next)
        return 1;
    char err[512];
    int rc = 1;
    partners_t *partners = NULL;
    agreements_diff_t *diff = NULL;
    agreements_sigset_t *sigset = NULL;
    const char **signers = NULL, **required = NULL;
    size_t n_signers = 0, n_required = 0;
    if (against && !(old_a = s_load(against)))
        goto done;
    partners = partners_load(dir, (int64_t)time(NULL) * 1000, s_report, NULL, err, sizeof err);
    if (!partners) {
        fprintf(stderr, "hartslag agreements: %s: %s\n", dir, err);
        goto done;
    }
    size_t np = agreements_partner_count(next);
    signers = calloc(np + 1, sizeof *signers);
    required = calloc(np + 1, sizeof *required);
    if (!signers || !required)
        goto done;
    char hash[AGREEMENTS_HASH_HEX];
    agreements_hash_hex(next, hash);
    printf("agreements %s: partnership %s, version %llu, sha256 %s\n", file,
           agreements_partnership(next), (unsigned long long)agreements_version(next), hash);
    fflush(stdout);
    sigset = agreements_sigset_read(file, next, partners, s_refused, NULL, err, sizeof err);
    if (!sigset) {
        fprintf(stderr, "hartslag agreements: %s\n", err);
        goto done;
    }
    size_t refused = agreements_sigset_refused(sigset);
    for (size_t i = 0; i < agreements_sigset_count(sigset); i++) {
        const char *signer = agreements_sigset_signer(sigset, i);
        /* borrowed from next: the set checked that the signer is a partner */
        signers[n_signers++] = agreements_partner_lookup(next, signer, strlen(signer))->org;
    }
    if (old_a) {
        diff = agreements_diff_new(old_a, next);
        if (!diff)
            goto done;
    }
    agreements_rule_result_t r =
        agreements_rule_check(old_a, next, diff, signers, n_signers, required, &n_required);
    printf("signed by:");
    for (size_t i = 0; i < n_signers; i++)
        printf("%s%s", i ? ", " : " ", signers[i]);
    printf("%s\n", n_signers ? "" : " (nobody)");
    if (r == AGREEMENTS_RULE_ROLLBACK) {
        printf("REFUSED: version %llu with this sha256 cannot follow version %llu in force (%s): "
               "a lower version, or the same version with other content\n",
               (unsigned long long)agreements_version(next),
               (unsigned long long)agreements_version(old_a), against);
        goto done;
    }
    if (r == AGREEMENTS_RULE_UNCHANGED) {
        printf("unchanged: this is the version in force (%s)\n", against);
        rc = 0;
        goto done;
    }
    printf("must sign (%s):", old_a ? "the coordinator and every affected partner"
                                    : "every partner, as this is the first version");
    for (size_t i = 0; i < n_required; i++)
        printf("%s%s", i ? ", " : " ", required[i]);
    printf("\nmissing:");
    size_t missing = 0;
    for (size_t i = 0; i < n_required; i++) {
        bool have = false;
        for (size_t k = 0; k < n_signers; k++)
            have = have || strcmp(signers[k], required[i]) == 0;
        if (!have)
            printf("%s%s", missing++ ? ", " : " ", required[i]);
    }
    printf("%s\n", missing ? "" : " (none)");
    if (r == AGREEMENTS_RULE_OK) {
        printf("OK: every required partner signed%s\n",
               refused ? " (some signature files were refused, see above)" : "");
        rc = 0;
    } else
        printf("NOT ENOUGH SIGNATURES: this version may not take effect\n");
done:
    agreements_sigset_destroy(&sigset);
    free(signers);
    free(required);
    agreements_diff_destroy(&diff);
    partners_destroy(&partners);
    agreements_destroy(&old_a);
    agreements_destroy(&next);
    return rc;
}
