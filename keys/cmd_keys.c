/*  hartslag keys: create and inspect keys and certificates (keys/README.md
    documents the on-disk layout). Secret material is never printed. */
#include "date.h"
#include "exit_codes.h"

#include "cert.h"
#include "fileio.h"
#include "json_out.h"
#include "keyfile.h"
#include "partners.h"
#include "z85.h"
#include "zpl.h"

#include <czmq.h>

#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_VALID_DAYS 730

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hartslag keys COMMAND [OPTIONS]\n\n"
                 "  init --org ORG --name NAME --role partner|coordinator|officer --contact C\n"
                 "       --out DIR [--valid-from YYYY-MM-DD] [--valid-until YYYY-MM-DD]\n"
                 "        new keys for a partner (or a privacy officer, who asks the pseudonym\n"
                 "        service): DIR/ORG.cert (public, give it to the broker and every\n"
                 "        partner) and DIR/ORG.cert_secret (0600, never leaves this machine)\n"
                 "  broker --out DIR [--name NAME] [--contact C]\n"
                 "        new broker keys: DIR/broker.cert and DIR/broker.cert_secret\n"
                 "  pseudonym-service --org ORG --out DIR [--name NAME] [--contact C]\n"
                 "       [--key-version N] [--valid-from YYYY-MM-DD] [--valid-until YYYY-MM-DD]\n"
                 "        new keys for hartslag-pseudonymd: DIR/ORG.cert (public, with the OPRF\n"
                 "        public key and its version N, default 1), DIR/ORG.cert_secret and\n"
                 "        DIR/ORG.oprf_secret (both 0600, never leave the service's host)\n"

                 "  show FILE\n"
                 "        public information of a certificate or secret file (never secrets;\n"
                 "        of an OPRF key file its version and public key)\n"
                 "  verify [--json] DIR\n"
                 "        check a certificate directory; report every problem: exit 1 when a\n"
                 "        certificate is malformed, expired or not yet valid (unless it is the\n"
                 "        successor of a valid one), a warning when one expires within 30 days\n\n"
                 "exit codes: 0 success, 1 failure, 2 usage error\n");
}

static int64_t s_today(void)
{
    return (int64_t)time(NULL) / 86400;
}

/* Creates the keys directory (0700) when it is not there. */
static int s_make_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "hartslag keys: cannot create directory %s\n", dir);
            return 1;
        }
    }
    return 0;
}

/* Writes the public certificate and the secret file of a new key set. */
static int s_write_pair(const cert_t *cert, keyfile_t *keys, const char *dir)
{
    char cert_path[4096], secret_path[4200], err[600];
    if (s_make_dir(dir) != 0)
        return 1;
    snprintf(cert_path, sizeof cert_path, "%s/%s.cert", dir, cert->org);
    snprintf(secret_path, sizeof secret_path, "%s_secret", cert_path);
    if (keyfile_save(keys, secret_path, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag keys: %s\n", err);
        return 1;
    }
    if (cert_save(cert, cert_path, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag keys: %s\n", err);
        remove(secret_path);
        return 1;
    }
    char fp[40];
    cert_fingerprint(cert, fp);
    printf("public certificate: %s\nsecret keys:        %s (mode 0600)\nfingerprint:        %s\n",
           cert_path, secret_path, fp);
    return 0;
}

/* What `init`, `broker` and `pseudonym-service` create. */
typedef enum {
    KIND_PARTNER, /* init: partner, coordinator or officer */
    KIND_BROKER,  /* broker */
    KIND_SERVICE, /* pseudonym-service */
} key_kind_t;

/* Writes DIR/ORG.oprf_secret and puts its public element and version into
   the certificate. 0, or 1 with a message. */
static int s_write_oprf(cert_t *cert, const char *dir, uint32_t version, char *path, size_t pathlen)
{
    char err[600];
    if (s_make_dir(dir) != 0)
        return 1;
    snprintf(path, pathlen, "%s/%s.oprf_secret", dir, cert->org);
    if (keyfile_oprf_generate(path, cert->org, version, cert->oprf_key, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag keys: %s\n", err);
        return 1;
    }
    cert->oprf_key_version = version;
    return 0;
}

static int s_init(int argc, char **argv, key_kind_t kind)
{
    bool broker = kind == KIND_BROKER, service = kind == KIND_SERVICE;
    static const struct option options[] = {
        {"org", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {"contact", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'd'},
        {"valid-from", required_argument, NULL, 'f'},
        {"valid-until", required_argument, NULL, 'u'},
        {"key-version", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *org = broker ? "broker" : NULL, *name = broker ? "Hartslag broker" : NULL;
    const char *role = broker ? "broker" : NULL, *contact = broker ? "broker operator" : NULL;
    if (service) {
        name = "Hartslag pseudonym service";
        role = "pseudonym-service";
        contact = "pseudonym service operator";
    }
    const char *out = NULL, *from = NULL, *until = NULL, *key_version = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            org = broker ? org : optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'r':
            role = kind != KIND_PARTNER ? role : optarg;
            break;
        case 'k':
            key_version = service ? optarg : NULL;
            if (!service) {
                s_usage(stderr);
                return EXIT_USAGE;
            }
            break;
        case 'c':
            contact = optarg;
            break;
        case 'd':
            out = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'u':
            until = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!org || !name || !role || !contact || !out || optind != argc) {
        fprintf(stderr, "hartslag keys %s: missing or extra arguments\n", argv[0]);
        s_usage(stderr);
        return EXIT_USAGE;
    }
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    if (!names_is_org(org)) {
        fprintf(stderr, "hartslag keys: --org must be 1-32 of [a-z0-9-], e.g. 'politie'\n");
        return EXIT_USAGE;
    }
    if (cert_role_parse(role, &cert.role) != 0 ||
        (kind == KIND_PARTNER && cert.role != CERT_ROLE_PARTNER &&
         cert.role != CERT_ROLE_COORDINATOR && cert.role != CERT_ROLE_OFFICER)) {
        fprintf(stderr, "hartslag keys: --role must be 'partner', 'coordinator' or 'officer'\n");
        return EXIT_USAGE;
    }
    uint32_t version = 1;
    if (key_version) {
        char *end = NULL;
        unsigned long long v = strtoull(key_version, &end, 10);
        if (key_version[0] < '1' || key_version[0] > '9' || *end || v > CERT_OPRF_VERSION_MAX) {
            fprintf(stderr, "hartslag keys: --key-version must be a number from 1 to %u\n",
                    CERT_OPRF_VERSION_MAX);
            return EXIT_USAGE;
        }
        version = (uint32_t)v;
    }
    if (!names_is_text(name, NAMES_TEXT_MAX) || !names_is_text(contact, NAMES_TEXT_MAX) ||
        strchr(name, '"') || strchr(contact, '"')) {
        fprintf(stderr,
                "hartslag keys: --name and --contact must be 1-%d bytes of text "
                "without quotes or control characters\n",
                NAMES_TEXT_MAX);
        return EXIT_USAGE;
    }
    cert.valid_from = s_today();
    cert.valid_until = cert.valid_from + DEFAULT_VALID_DAYS;
    if ((from && date_parse_cstr(from, &cert.valid_from) != 0) ||
        (until && date_parse_cstr(until, &cert.valid_until) != 0) ||
        cert.valid_until < cert.valid_from) {
        fprintf(stderr, "hartslag keys: --valid-from/--valid-until must be dates YYYY-MM-DD, "
                        "in order\n");
        return EXIT_USAGE;
    }
    memcpy(cert.org, org, strlen(org) + 1);
    memcpy(cert.name, name, strlen(name) + 1);
    memcpy(cert.contact, contact, strlen(contact) + 1);
    keyfile_t *keys = keyfile_generate(org, kind == KIND_PARTNER);
    if (!keys) {
        fprintf(stderr, "hartslag keys: cannot generate keys (out of secure memory? "
                        "raise the memlock limit: ulimit -l)\n");
        return 1;
    }
    memcpy(cert.curve_key, keyfile_curve_public(keys), CERT_KEYBYTES);
    memcpy(cert.sign_key, keyfile_sign_public(keys), CERT_KEYBYTES);
    if (kind == KIND_PARTNER)
        memcpy(cert.box_key, keyfile_box_public(keys), CERT_KEYBYTES);
    char oprf_path[4200] = "";
    int rc = service ? s_write_oprf(&cert, out, version, oprf_path, sizeof oprf_path) : 0;
    if (rc == 0)
        rc = s_write_pair(&cert, keys, out);
    if (rc != 0 && oprf_path[0])
        remove(oprf_path);
    else if (rc == 0 && service)
        printf("OPRF key:           %s (mode 0600, version %" PRIu32 ")\n", oprf_path,
               cert.oprf_key_version);
    keyfile_destroy(&keys);
    return rc;
}

static void s_print_key(const char *label, const uint8_t key[32])
{
    char z85[Z85_TEXT_LEN(32) + 1];
    z85_encode(z85, key, 32);
    printf("%-13s %s\n", label, z85);
}

static void s_print_cert(const cert_t *cert)
{
    char from[11], until[11], fp[40];
    date_format(cert->valid_from, from);
    date_format(cert->valid_until, until);
    cert_fingerprint(cert, fp);
    printf("org:          %s\nname:         %s\nrole:         %s\ncontact:      %s\n"
           "valid:        %s to %s\n",
           cert->org, cert->name, cert_role_name(cert->role), cert->contact, from, until);
    s_print_key("curve key:", cert->curve_key);
    char curve_fp[CERT_CURVE_FINGERPRINT_SIZE];
    cert_curve_fingerprint(cert->curve_key, curve_fp);
    printf("curve key fp: %s (as the broker's auth_failed lines name it)\n", curve_fp);
    s_print_key("sign key:", cert->sign_key);
    if (cert->role != CERT_ROLE_BROKER && cert->role != CERT_ROLE_PSEUDONYM_SERVICE)
        s_print_key("box key:", cert->box_key);
    if (cert->role == CERT_ROLE_PSEUDONYM_SERVICE) {
        s_print_key("oprf key:", cert->oprf_key);
        printf("oprf version: %" PRIu32 "\n", cert->oprf_key_version);
    }
    printf("fingerprint:  %s\n", fp);
}

static int s_show(int argc, char **argv)
{
    if (argc != 2) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    const char *path = argv[1];
    char *text = NULL, err[600];
    size_t len = 0;
    if (fileio_read(path, ZPL_TEXT_MAX, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag keys: %s\n", err);
        return 1;
    }
    bool secret = strstr(text, "secret-key") != NULL;
    bool pseudonym = strstr(text, "\npseudonym\n") != NULL || strncmp(text, "pseudonym\n", 10) == 0;
    bool oprf = strstr(text, "\noprf\n") != NULL;
    sodium_memzero(text, len);
    free(text);
    if (oprf) {
        uint8_t pk[KEYFILE_OPRF_ELEMENTBYTES];
        uint32_t version = 0;
        char org[NAMES_ORG_MAX + 1];
        if (keyfile_oprf_load(path, NULL, pk, &version, org, err, sizeof err) != 0) {
            fprintf(stderr, "hartslag keys: %s\n", err);
            return 1;
        }
        printf("%s: SECRET OPRF key of the pseudonym service '%s' (only the public key "
               "shown)\n",
               path, org);
        printf("oprf version: %" PRIu32 "\n", version);
        s_print_key("oprf key:", pk);
        return 0;
    }
    if (pseudonym) {
        printf("%s: a retired pseudonym key (secret; its value is never shown). Nothing uses it "
               "since the pseudonym service: delete every copy (docs/pseudonyms.md)\n",
               path);
        return 0;
    }
    if (secret) {
        keyfile_t *keys = keyfile_load(path, err, sizeof err);
        if (!keys) {
            fprintf(stderr, "hartslag keys: %s\n", err);
            return 1;
        }
        printf("%s: SECRET key file of '%s' (only public keys shown)\n", path, keyfile_org(keys));
        s_print_key("curve key:", keyfile_curve_public(keys));
        char curve_fp[CERT_CURVE_FINGERPRINT_SIZE];
        cert_curve_fingerprint(keyfile_curve_public(keys), curve_fp);
        printf("curve key fp: %s (as the broker's auth_failed lines name it)\n", curve_fp);
        s_print_key("sign key:", keyfile_sign_public(keys));
        if (keyfile_has_box(keys))
            s_print_key("box key:", keyfile_box_public(keys));
        keyfile_destroy(&keys);
        return 0;
    }
    cert_t cert;
    if (cert_load(path, &cert, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag keys: %s\n", err);
        return 1;
    }
    printf("%s: public certificate\n", path);
    s_print_cert(&cert);
    return 0;
}

#define VERIFY_EXPIRY_WARN_DAYS 30 /* warn when a certificate ends within this */

typedef struct {
    size_t errors;   /* problems that fail the directory */
    size_t warnings; /* certificates skipped */
    bool json;       /* --json: problems go into the JSON object, not lines */
    zlist_t *lines;  /* --json: the problem messages, "error: ..." / "warning: ..." */
} verify_tally_t;

static void s_report(void *arg, const char *file, bool is_error, const char *message)
{
    verify_tally_t *tally = arg;
    /* The expiry pass below reports validity itself, as an error when it
       leaves an org without a certificate. */
    if (!is_error && strstr(message, "is not valid today"))
        return;
    if (tally->json) {
        char line[5000];
        snprintf(line, sizeof line, "%s: %s: %s", is_error ? "error" : "warning", file, message);
        zlist_append(tally->lines, line);
    } else
        printf("%s: %s: %s\n", is_error ? "error" : "warning", file, message);
    if (is_error)
        tally->errors++;
    else
        tally->warnings++;
}

/* Validity of one certificate today, in words for `verify`. */
typedef enum {
    VALIDITY_OK,        /* valid, not ending soon */
    VALIDITY_EXPIRING,  /* valid, ends within VERIFY_EXPIRY_WARN_DAYS */
    VALIDITY_SUCCESSOR, /* not yet valid, but its org has a valid one today (a rotation) */
    VALIDITY_FUTURE,    /* not yet valid, and its org has none valid today */
    VALIDITY_EXPIRED,   /* valid_until has passed */
} validity_t;

static const char *s_validity_name(validity_t v)
{
    static const char *names[] = {"valid", "expiring", "successor", "not_yet_valid", "expired"};
    return names[v];
}

/* One certificate file of the directory, as `verify` judges its dates. */
typedef struct {
    char file[300];      /* file name inside the directory */
    cert_t cert;         /* its contents */
    validity_t validity; /* today */
    int64_t days_left;   /* days until valid_until (negative: expired) */
} verify_cert_t;

/* Reads every certificate of `dir` and judges its dates against `today`;
   malformed files are left to partners_load. Returns the list (caller
   frees) and its length in *n. */
static verify_cert_t *s_read_dates(const char *dir, int64_t today, size_t *n)
{
    *n = 0;
    zdir_t *zdir = zdir_new(dir, "-");
    if (!zdir)
        return NULL;
    zlist_t *files = zdir_list(zdir);
    verify_cert_t *certs = calloc(zlist_size(files) + 1, sizeof *certs);
    for (zfile_t *f = zlist_first(files); certs && f; f = zlist_next(files)) {
        const char *name = strrchr(zfile_filename(f, NULL), '/');
        name = name ? name + 1 : zfile_filename(f, NULL);
        size_t len = strlen(name);
        if (name[0] == '.' || (len >= 7 && strcmp(name + len - 7, "_secret") == 0))
            continue; /* as partners_load: hidden and secret files are not certificates */
        verify_cert_t *c = &certs[*n];
        char err[400];
        if (cert_load(zfile_filename(f, NULL), &c->cert, err, sizeof err) != 0 ||
            c->cert.role == CERT_ROLE_BROKER)
            continue;
        snprintf(c->file, sizeof c->file, "%s", name);
        c->days_left = c->cert.valid_until - today;
        (*n)++;
    }
    for (size_t i = 0; certs && i < *n; i++) {
        verify_cert_t *c = &certs[i];
        if (c->cert.valid_until < today)
            c->validity = VALIDITY_EXPIRED;
        else if (c->cert.valid_from > today) {
            c->validity = VALIDITY_FUTURE;
            for (size_t j = 0; j < *n; j++)
                if (j != i && strcmp(certs[j].cert.org, c->cert.org) == 0 &&
                    certs[j].cert.valid_from <= today && today <= certs[j].cert.valid_until)
                    c->validity = VALIDITY_SUCCESSOR;
        } else if (c->days_left < VERIFY_EXPIRY_WARN_DAYS)
            c->validity = VALIDITY_EXPIRING;
        else
            c->validity = VALIDITY_OK;
    }
    zlist_destroy(&files);
    zdir_destroy(&zdir);
    return certs;
}

/* The line `verify` prints for one certificate. */
static void s_print_validity(const char *dir, const verify_cert_t *c)
{
    char from[11], until[11], fp[40];
    date_format(c->cert.valid_from, from);
    date_format(c->cert.valid_until, until);
    cert_fingerprint(&c->cert, fp);
    switch (c->validity) {
    case VALIDITY_OK:
        printf("ok: %-16s %-11s valid until %s  %s\n", c->cert.org, cert_role_name(c->cert.role),
               until, fp);
        break;
    case VALIDITY_EXPIRING:
        printf("warning: %s/%s: certificate of '%s' expires on %s, in %lld day(s): rotate it "
               "now (docs/operations.md, \"Rotating keys\")\n",
               dir, c->file, c->cert.org, until, (long long)c->days_left);
        break;
    case VALIDITY_SUCCESSOR:
        printf("ok: %-16s %-11s not yet valid (from %s to %s): the next certificate, kept "
               "beside the current one  %s\n",
               c->cert.org, cert_role_name(c->cert.role), from, until, fp);
        break;
    case VALIDITY_FUTURE:
        printf("error: %s/%s: certificate of '%s' is not yet valid (from %s) and '%s' has no "
               "other valid certificate: it cannot connect until then\n",
               dir, c->file, c->cert.org, from, c->cert.org);
        break;
    case VALIDITY_EXPIRED:
        printf("error: %s/%s: certificate of '%s' expired on %s: the broker refuses it; "
               "install its successor and remove this file\n",
               dir, c->file, c->cert.org, until);
        break;
    }
}

static void s_json_cert(const verify_cert_t *c, bool first)
{
    char from[11], until[11], fp[40];
    date_format(c->cert.valid_from, from);
    date_format(c->cert.valid_until, until);
    cert_fingerprint(&c->cert, fp);
    printf("%s{\"file\":", first ? "" : ",");
    json_out_string(stdout, c->file);
    printf(",\"org\":");
    json_out_string(stdout, c->cert.org);
    printf(",\"role\":\"%s\",\"valid_from\":\"%s\",\"valid_until\":\"%s\",\"days_left\":%lld,"
           "\"state\":\"%s\",\"expires_within_30_days\":%s,\"fingerprint\":\"%s\"}",
           cert_role_name(c->cert.role), from, until, (long long)c->days_left,
           s_validity_name(c->validity),
           c->days_left >= 0 && c->days_left < VERIFY_EXPIRY_WARN_DAYS ? "true" : "false", fp);
}

static int s_verify(int argc, char **argv)
{
    bool json = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else {
            s_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!dir) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    verify_tally_t tally = {0, 0, json, zlist_new()};
    if (!tally.lines)
        return 1;
    zlist_autofree(tally.lines);
    char err[4800];
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    partners_t *partners = partners_load(dir, now_ms, s_report, &tally, err, sizeof err);
    if (!partners && tally.errors == 0) {
        tally.errors = 1;
        char line[5000];
        snprintf(line, sizeof line, "error: %s", err);
        if (json)
            zlist_append(tally.lines, line);
        else
            printf("%s\n", line);
    }
    size_t n = 0;
    verify_cert_t *certs = partners ? s_read_dates(dir, s_today(), &n) : NULL;
    size_t valid = 0, expiring = 0;
    for (size_t i = 0; i < n; i++) {
        validity_t v = certs[i].validity;
        if (v == VALIDITY_EXPIRED || v == VALIDITY_FUTURE)
            tally.errors++;
        else if (v == VALIDITY_EXPIRING) {
            tally.warnings++;
            expiring++;
        }
        if (v == VALIDITY_OK || v == VALIDITY_EXPIRING)
            valid++;
        if (!json)
            s_print_validity(dir, &certs[i]);
    }
    if (json) {
        printf("{\"directory\":");
        json_out_string(stdout, dir);
        printf(",\"usable\":%s,\"errors\":%zu,\"warnings\":%zu,\"valid\":%zu,"
               "\"expiring_within_30_days\":%zu,\"certificates\":[",
               tally.errors ? "false" : "true", tally.errors, tally.warnings, valid, expiring);
        for (size_t i = 0; i < n; i++)
            s_json_cert(&certs[i], i == 0);
        printf("],\"problems\":[");
        bool first = true;
        for (char *line = zlist_first(tally.lines); line; line = zlist_next(tally.lines)) {
            printf("%s", first ? "" : ",");
            json_out_string(stdout, line);
            first = false;
        }
        printf("]}\n");
    } else if (tally.errors)
        printf("%s: NOT usable (%zu error(s), %zu warning(s)); fix the errors, then run "
               "'hartslag keys verify %s' again\n",
               dir, tally.errors, tally.warnings, dir);
    else
        printf("%s: %zu valid certificate(s), %zu warning(s)%s\n", dir, valid, tally.warnings,
               expiring ? "; rotate the expiring ones now" : "");
    free(certs);
    partners_destroy(&partners);
    zlist_destroy(&tally.lines);
    return tally.errors ? 1 : 0;
}

int cmd_keys(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "hartslag keys: libsodium failed to initialise\n");
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "init") == 0)
        return s_init(argc - 1, argv + 1, KIND_PARTNER);
    if (strcmp(sub, "broker") == 0)
        return s_init(argc - 1, argv + 1, KIND_BROKER);
    if (strcmp(sub, "pseudonym-service") == 0)
        return s_init(argc - 1, argv + 1, KIND_SERVICE);
    if (strcmp(sub, "pseudonym-key") == 0) {
        /* Issue 17: no partner holds a pseudonym key any more. */
        fprintf(stderr, "hartslag keys: pseudonym-key is retired: pseudonyms come from the "
                        "pseudonym service, whose key only it holds ('hartslag keys "
                        "pseudonym-service', docs/pseudonyms.md)\n");
        return EXIT_USAGE;
    }
    if (strcmp(sub, "show") == 0)
        return s_show(argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0)
        return s_verify(argc - 1, argv + 1);
    fprintf(stderr, "hartslag keys: unknown command '%s'\n", sub);
    s_usage(stderr);
    return EXIT_USAGE;
}
