/*  hartslag agreements: the built CLI, run as a privacy officer would:
    check (valid, invalid with FILE:LINE:COL, --partners, --json), explain
    (allowed, denied with reasons, --json), diff (an added type, --json),
    usage errors and --help. Exit codes 0 / 1 / 2.

    Needs HARTSLAG_BIN (directory of the built `hartslag`) and HARTSLAG_SRC
    (repository root), as `make test` sets them. */
#include "broker_harness.h"
#include "daemon_harness.h"
#include "testutil.h"
#include <criterion/criterion.h>
#include <sodium.h>
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------- helpers */

static char s_tmp[64];   /* per-test temporary directory */
static char s_bin[4096]; /* the hartslag binary */
static char s_src[2048]; /* repository root */

static void s_setup(void)
{
    tu_watchdog(30);
    const char *bin = getenv("HARTSLAG_BIN");
    const char *src = getenv("HARTSLAG_SRC");
    snprintf(s_bin, sizeof s_bin, "%s/hartslag", bin ? bin : "build");
    snprintf(s_src, sizeof s_src, "%s", src ? src : ".");
    snprintf(s_tmp, sizeof s_tmp, "/tmp/hartslag-cli-agreements-XXXXXX");
    cr_assert_not_null(mkdtemp(s_tmp));
}

static void s_rmdir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            s_rmdir(child);
        else
            unlink(child);
    }
    closedir(d);
    rmdir(path);
}

static void s_teardown(void)
{
    /* only ever our own mkdtemp directory */
    if (strncmp(s_tmp, "/tmp/hartslag-cli-agreements-", 29) == 0)
        s_rmdir(s_tmp);
}

TestSuite(cli_agreements, .init = s_setup, .fini = s_teardown);

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(buf, cap);
            cr_assert_not_null(grown);
            buf = grown;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

typedef struct {
    int status; /* exit code, or -1 when killed by a signal */
    char *out;  /* stdout */
    char *err;  /* stderr */
} run_t;

/* Runs `hartslag agreements ARGS...` (NULL-terminated), capturing both streams. */
static run_t s_run(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = s_bin;
    argv[argc++] = (char *)"agreements";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;

    char out_path[128], err_path[128];
    snprintf(out_path, sizeof out_path, "%s/stdout", s_tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr", s_tmp);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, s_bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s", s_bin, strerror(rc));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    run_t r;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = s_slurp(out_path);
    r.err = s_slurp(err_path);
    cr_assert_not_null(r.out);
    cr_assert_not_null(r.err);
    return r;
}

static void s_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

static const char *s_path(const char *relative)
{
    static char buf[4][2200];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", s_src, relative);
    return p;
}

#define EXAMPLE s_path("examples/agreements.yaml")
#define INVALID s_path("tests/fixtures/agreements/invalid.yaml")
#define V8 s_path("tests/fixtures/agreements/passart-v8.yaml")

static void s_contains(const char *haystack, const char *needle)
{
    cr_assert_not_null(strstr(haystack, needle), "expected '%s' in:\n%s", needle, haystack);
}

/* A strict JSON checker (RFC 8259 grammar, no extensions): --json must parse. */
static const char *s_json_value(const char *p, int depth);

static const char *s_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *s_json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
                continue;
            }
            if (!*p || !strchr("\"\\/bfnrt", *p))
                return NULL;
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *s_json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = s_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool object = *p == '{';
        p = s_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = s_json_string(s_ws(p));
                if (!p)
                    return NULL;
                p = s_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = s_json_value(p, depth + 1);
            if (!p)
                return NULL;
            p = s_ws(p);
            if (*p == ',')
                p++;
            else if (*p == close)
                return p + 1;
            else
                return NULL;
        }
    }
    if (*p == '"')
        return s_json_string(p);
    if (strncmp(p, "true", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    const char *start = p;
    if (*p == '-')
        p++;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > start ? p : NULL;
}

static void s_valid_json(const char *text)
{
    cr_assert_eq(text[0], '{', "JSON output must be an object:\n%s", text);
    const char *end = s_json_value(text, 0);
    cr_assert_not_null(end, "invalid JSON:\n%s", text);
    cr_assert_eq(*s_ws(end), '\0', "trailing bytes after JSON:\n%s", text);
}

/* ---------------------------------------------------------------- check */

Test(cli_agreements, check_valid_example)
{
    run_t r = s_run("check", EXAMPLE, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "valid: partnership passart-heerlen version 7");
    s_free(&r);
}

/* Issue 14 item 7: a rule that an earlier one entirely covers never
   decides: check warns, at its line, and the file stays valid. */
Test(cli_agreements, check_warns_about_a_shadowed_rule)
{
    char *text = tu_read_file(EXAMPLE, NULL);
    cr_assert_not_null(text);
    char path[128];
    snprintf(path, sizeof path, "%s/shadowed.yaml", s_tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    char *alerts = strstr(text, "\nalerts:");
    cr_assert_not_null(alerts);
    fprintf(f,
            "%.*s\n"
            "  - id: politie-overlast-again\n"
            "    from: politie\n"
            "    to: [gemeente]\n"
            "    signal_types: [overlast]\n"
            "    fields: [adres]\n"
            "    purpose: casusoverleg\n"
            "    legal_basis: \"Wpg art. 19\"\n"
            "    valid_from: 2026-01-01\n"
            "    valid_until: 2026-12-31\n"
            "    retention_days: 30\n"
            "    max_queue_days: 7\n"
            "%s",
            (int)(alerts - text), text, alerts);
    fclose(f);
    free(text);
    run_t r = s_run("check", path, NULL);
    cr_assert_eq(r.status, 0, "a warning is not an error: %s%s", r.out, r.err);
    s_contains(r.out, "warning: agreement politie-overlast-again is shadowed by agreement "
                      "politie-overlast-casusoverleg");
    s_free(&r);
    r = s_run("check", path, "--json", NULL);
    s_contains(r.out, "\"warnings\":[{\"line\":");
    s_free(&r);
}

Test(cli_agreements, check_invalid_shows_line_and_column)
{
    run_t r = s_run("check", INVALID, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out,
               "invalid.yaml:13:20: recipient 'woningcorporatie' is not in the partner list");
    s_contains(r.out, "invalid.yaml:19:18: agreement 'politie-overlast': valid_until 2024-12-31 "
                      "is before valid_from 2025-01-01");
    s_contains(r.out, "invalid.yaml:22:5: unknown key 'remarks'");
    s_contains(r.out, "invalid (3 problems)");
    s_free(&r);
}

Test(cli_agreements, check_json)
{
    run_t r = s_run("check", EXAMPLE, "--json", NULL);
    cr_assert_eq(r.status, 0);
    s_valid_json(r.out);
    s_contains(r.out, "\"valid\":true");
    s_contains(r.out, "\"partnership\":\"passart-heerlen\"");
    s_contains(r.out, "\"errors\":[]");
    s_free(&r);
    r = s_run("check", "--json", INVALID, NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "\"valid\":false");
    s_contains(r.out, "{\"line\":13,\"column\":20,\"message\":\"recipient 'woningcorporatie'");
    s_free(&r);
}

Test(cli_agreements, check_hostile_and_missing_files)
{
    char path[128];
    snprintf(path, sizeof path, "%s/empty.yaml", s_tmp);
    FILE *f = fopen(path, "w");
    fclose(f);
    run_t r = s_run("check", path, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "empty.yaml:1:1: empty file");
    s_free(&r);
    r = s_run("check", "/nonexistent.yaml", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "cannot open");
    s_free(&r);
}

static void s_cert(const char *name, const char *org)
{
    char path[256];
    snprintf(path, sizeof path, "%s/certs/%s", s_tmp, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "#   ****  Generated on 2025-01-01 by CZMQ  ****\n"
            "#   ZeroMQ CURVE Public Certificate\n"
            "metadata\n"
            "    org = \"%s\"\n"
            "    role = \"partner\"\n"
            "curve\n"
            "    public-key = \"rq:rM>}U?@Lns47E1%%kR.o@n%%FcmmsL/@{H8]yf7\"\n",
            org);
    fclose(f);
}

Test(cli_agreements, check_partners_directory)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/certs", s_tmp);
    cr_assert_eq(mkdir(dir, 0700), 0);
    s_cert("gemeente.crt", "gemeente");
    s_cert("politie.crt", "politie");
    s_cert("welzijn.crt", "welzijn");
    s_cert("woonpunt.crt", "woonpunt");
    s_cert("ggd.crt_secret", "ggd"); /* secret files are never read */
    run_t r = s_run("check", EXAMPLE, "--partners", dir, NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    s_contains(r.out, "agreements.yaml:31:5: partner 'ggd' has no certificate in");
    s_free(&r);
    r = s_run("check", EXAMPLE, "--partners", dir, "--json", NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "partner 'ggd' has no certificate");
    s_free(&r);
    s_cert("ggd.crt", "ggd");
    r = s_run("check", EXAMPLE, "--partners", dir, NULL);
    cr_assert_eq(r.status, 0, "%s", r.out);
    s_free(&r);
    r = s_run("check", EXAMPLE, "--partners", "/nonexistent-dir", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "cannot open directory");
    s_free(&r);
}

/* -------------------------------------------------------------- explain */

Test(cli_agreements, explain_allowed)
{
    run_t r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "gemeente,welzijn", "--type",
                    "overlast", "--purpose", "casusoverleg", "--fields",
                    "adres,datum,categorie,toelichting", "--at", "2026-05-01", NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "-> gemeente: allowed by agreement politie-overlast-casusoverleg");
    s_contains(r.out, "-> welzijn: allowed by agreement politie-overlast-casusoverleg");
    s_contains(r.out, "legal basis: Wpg art. 19; convenant Hartslag Passart art. 4");
    s_contains(r.out, "retention_days 180, max_queue_days 7");
    s_contains(r.out, "result: allowed");
    s_free(&r);
}

Test(cli_agreements, explain_denied_with_reasons)
{
    run_t r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "gemeente,woonpunt,nobody",
                    "--type", "overlast", "--purpose", "casusoverleg", "--fields", "adres,bsn",
                    "--at", "2026-05-01", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "-> gemeente: denied: field_not_allowed:bsn");
    s_contains(r.out, "closest agreement: politie-overlast-casusoverleg");
    s_contains(r.out, "-> woonpunt: denied: no_agreement");
    s_contains(r.out, "-> nobody: denied: unknown_partner (nobody is not in the partner list)");
    s_contains(r.out, "result: denied");
    s_free(&r);
    /* outside the validity, and a sender that may not send */
    r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "gemeente", "--type", "overlast",
              "--purpose", "casusoverleg", "--fields", "adres", "--at", "2028-01-01", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "denied: expired");
    s_free(&r);
    r = s_run("explain", EXAMPLE, "--from", "ggd", "--to", "gemeente", "--type", "zorgmelding",
              "--purpose", "zorgcoordinatie", "--fields", "", "--at", "2026-01-01", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "denied: role_not_allowed (ggd has may_send: false)");
    s_free(&r);
}

/* Issue 14 item 7: a misspelt type, purpose or partner gets a "did you
   mean" from what the file knows. */
Test(cli_agreements, explain_suggests_the_word_meant)
{
    run_t r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "welzjin", "--type", "overlst",
                    "--purpose", "casusoverlg", "--fields", "adres", "--at", "2026-05-01", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out,
               "hint: no agreement names the signal type 'overlst': did you mean 'overlast'?");
    s_contains(r.out, "hint: no agreement names the purpose 'casusoverlg': did you mean "
                      "'casusoverleg'?");
    s_contains(r.out, "hint: the partner list has no partner 'welzjin': did you mean 'welzijn'?");
    s_free(&r);
    /* nothing to suggest for known words */
    r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "woonpunt", "--type", "overlast",
              "--purpose", "casusoverleg", "--fields", "adres", "--at", "2026-05-01", NULL);
    cr_assert_null(strstr(r.out, "hint:"), "%s", r.out);
    s_free(&r);
}

Test(cli_agreements, explain_json)
{
    run_t r = s_run("explain", EXAMPLE, "--json", "--from", "politie", "--to", "gemeente,welzijn",
                    "--type", "overlast", "--purpose", "veiligheidshuis", "--fields", "adres",
                    "--at", "2026-05-01", NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "\"allowed\":false");
    s_contains(r.out, "\"version\":7");
    s_contains(r.out, "\"reason\":\"purpose_mismatch\"");
    s_contains(r.out, "\"recipients\":[");
    s_free(&r);
    /* hostile arguments still give valid JSON */
    r = s_run("explain", EXAMPLE, "--json", "--from", "po\"li\\tie\x01\xff", "--to", "gemeente",
              "--type", "overlast", "--purpose", "casusoverleg", "--fields", "adres", NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "\"reason\":\"unknown_partner\"");
    s_free(&r);
}

/* Issue 15: the `cases:` section, asked the way the broker decides it. */
Test(cli_agreements, explain_case_share_is_all_or_nothing)
{
    run_t r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "politie",
                    "--to", "welzijn,woonpunt", "--fields", "adres,toelichting", NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "participant welzijn may share: datum, toelichting");
    s_contains(r.out, "politie shares adres, toelichting into the case: allowed");
    s_contains(r.out, "result: allowed");
    s_contains(r.out, "the case is open and that the sender and every recipient take part");
    s_free(&r);
    /* one field outside politie's list refuses the share; ggd takes no part */
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "politie", "--to",
              "welzijn,ggd", "--fields", "adres,bsn", NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    s_contains(r.out, "denied: field_not_allowed:bsn");
    s_contains(r.out, "-> ggd: denied: not_participant");
    s_contains(r.out, "-> welzijn: may receive");
    s_contains(r.out, "result: denied (all or nothing)");
    s_free(&r);
    /* welzijn may not share an address even though politie may */
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "welzijn", "--to",
              "politie", "--fields", "adres", NULL);
    cr_assert_eq(r.status, 1, "%s", r.out);
    s_contains(r.out, "denied: field_not_allowed:adres");
    s_free(&r);
}

Test(cli_agreements, explain_case_close_needs_the_coordinator_and_a_listed_outcome)
{
    run_t r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "gemeente",
                    "--outcome", "zorg_geregeld", NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "gemeente closes a case with outcome zorg_geregeld: allowed");
    s_free(&r);
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "gemeente",
              "--outcome", "verhuisd", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "denied: unknown_outcome");
    s_free(&r);
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "politie",
              "--outcome", "zorg_geregeld", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "denied: not_coordinator");
    s_free(&r);
    /* a misspelt kind: nothing allowed, and the kind meant is suggested */
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-pasart", "--from", "gemeente",
              "--outcome", "zorg_geregeld", NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "denied: unknown_case_kind");
    s_contains(r.out, "did you mean 'casusoverleg-passart'?");
    s_free(&r);
    /* sharing and closing are separate questions */
    r = s_run("explain", EXAMPLE, "--case", "casusoverleg-passart", "--from", "gemeente",
              "--outcome", "opgelost", "--fields", "adres", NULL);
    cr_assert_eq(r.status, 2);
    s_free(&r);
}

Test(cli_agreements, explain_case_json)
{
    run_t r = s_run("explain", EXAMPLE, "--json", "--case", "casusoverleg-passart", "--from",
                    "politie", "--to", "ggd", "--fields", "toelichting", NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "\"question\":\"share\"");
    s_contains(r.out, "\"max_open_days\":180");
    s_contains(r.out, "{\"to\":\"ggd\",\"allowed\":false,\"reason\":\"not_participant\"}");
    s_free(&r);
    /* hostile arguments still give valid JSON */
    r = s_run("explain", EXAMPLE, "--json", "--case", "ca\"se\x01\xff", "--from", "po\\litie",
              "--to", "gemeente", "--fields", "adres", NULL);
    cr_assert_eq(r.status, 1);
    s_valid_json(r.out);
    s_contains(r.out, "\"rule\":null");
    s_free(&r);
}

/* ----------------------------------------------------------------- diff */

Test(cli_agreements, diff_shows_added_type)
{
    run_t r = s_run("diff", EXAMPLE, V8, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "version 7");
    s_contains(r.out, "version 8");
    s_contains(r.out, "politie -> gemeente\n");
    s_contains(r.out, "+ now allows vandalisme for casusoverleg");
    s_contains(r.out, "retention_days 180 -> 270");
    s_free(&r);
    /* the reverse: the type is taken away */
    r = s_run("diff", V8, EXAMPLE, NULL);
    cr_assert_eq(r.status, 0);
    s_contains(r.out, "- no longer allows vandalisme for casusoverleg");
    s_free(&r);
    r = s_run("diff", EXAMPLE, EXAMPLE, NULL);
    cr_assert_eq(r.status, 0);
    s_contains(r.out, "0 changes");
    s_free(&r);
}

Test(cli_agreements, diff_json)
{
    run_t r = s_run("diff", "--json", EXAMPLE, V8, NULL);
    cr_assert_eq(r.status, 0);
    s_valid_json(r.out);
    s_contains(r.out, "\"pairs\":[");
    s_contains(r.out, "\"added\":[{\"signal_type\":\"vandalisme\"");
    s_contains(r.out, "\"retention_days\":{\"old\":180,\"new\":270}");
    s_free(&r);
}

/* EXAMPLE with `from` replaced by `to` once; the result is written to NAME in the temp dir. */
static const char *s_edited(const char *name, const char *from, const char *to)
{
    char *text = s_slurp(EXAMPLE);
    cr_assert_not_null(text);
    char *at = strstr(text, from);
    cr_assert_not_null(at, "%s not in the example", from);
    static char path[4][256];
    static int next;
    char *out = path[next++ % 4];
    snprintf(out, 256, "%s/%s", s_tmp, name);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    free(text);
    return out;
}

Test(cli_agreements, diff_shows_every_attribute)
{
    /* only a legal basis: the grants are equal, but the diff must show it */
    const char *nb = s_edited("basis.yaml", "Wpg art. 19; convenant Hartslag Passart art. 4",
                              "Wpg art. 20; convenant Hartslag Passart art. 4");
    run_t r = s_run("diff", EXAMPLE, nb, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "~ agreement politie-overlast-casusoverleg: legal_basis "
                      "\"Wpg art. 19; convenant Hartslag Passart art. 4\" -> "
                      "\"Wpg art. 20; convenant Hartslag Passart art. 4\"\n");
    s_contains(r.out, "affected partners: gemeente, politie, welzijn\n");
    s_contains(r.out, "1 change ");
    s_free(&r);
    /* only an id: a rename */
    const char *nid = s_edited("rename.yaml", "id: woonpunt-signalen", "id: woonpunt-meldingen");
    r = s_run("diff", EXAMPLE, nid, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "~ agreement woonpunt-signalen: renamed to woonpunt-meldingen "
                      "(no other change)\n");
    s_free(&r);
    r = s_run("diff", "--json", EXAMPLE, nid, NULL);
    cr_assert_eq(r.status, 0);
    s_valid_json(r.out);
    s_contains(r.out, "\"attributes\":[{\"op\":\">\",\"kind\":\"agreement\","
                      "\"id\":\"woonpunt-meldingen\",\"attribute\":null,"
                      "\"old\":\"woonpunt-signalen\",\"new\":\"woonpunt-meldingen\"}]");
    s_contains(r.out, "\"affected\":[");
    s_contains(r.out, "\"changes\":1}");
    s_free(&r);
}

Test(cli_agreements, check_prints_the_sha256_of_the_exact_bytes)
{
    size_t len = 0;
    char *text = tu_read_file(EXAMPLE, &len);
    cr_assert_not_null(text);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)text, len);
    free(text);
    char hex[crypto_hash_sha256_BYTES * 2 + 1], want[120];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    run_t r = s_run("check", EXAMPLE, NULL);
    cr_assert_eq(r.status, 0);
    snprintf(want, sizeof want, ": sha256 %s\n", hex);
    s_contains(r.out, want);
    s_free(&r);
    r = s_run("check", "--json", EXAMPLE, NULL);
    cr_assert_eq(r.status, 0);
    s_valid_json(r.out);
    snprintf(want, sizeof want, "\"sha256\":\"%s\"", hex);
    s_contains(r.out, want);
    s_free(&r);
}

Test(cli_agreements, diff_of_invalid_file_fails)
{
    run_t r = s_run("diff", EXAMPLE, INVALID, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.err, "invalid.yaml:13:20:");
    s_free(&r);
}

/* ---------------------------------------------------------------- usage */

Test(cli_agreements, usage_errors_exit_2)
{
    run_t r = s_run(NULL);
    cr_assert_eq(r.status, 2);
    s_contains(r.err, "usage:");
    s_free(&r);
    const char *cases[][8] = {
        {"frobnicate", NULL},
        {"check", NULL},
        {"check", "a.yaml", "b.yaml", NULL},
        {"check", "--bogus", "a.yaml", NULL},
        {"diff", "a.yaml", NULL},
        {"explain", "a.yaml", "--from", "politie", "--to", "gemeente", NULL},
        {"explain", "a.yaml", "--from", "politie", "--to", "", "--type", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = s_run(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5],
                  cases[i][6], cases[i][7]);
        cr_assert_eq(r.status, 2, "case %zu (%s): exit %d", i, cases[i][0], r.status);
        s_contains(r.err, "usage:");
        s_free(&r);
    }
    r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "gemeente", "--type", "overlast",
              "--purpose", "casusoverleg", "--fields", "adres", "--at", "2026-02-30", NULL);
    cr_assert_eq(r.status, 2);
    s_contains(r.err, "--at must be a date");
    s_free(&r);
    r = s_run("explain", EXAMPLE, "--from", "politie", "--to", "gemeente,,welzijn", "--type",
              "overlast", "--purpose", "casusoverleg", "--fields", "adres", NULL);
    cr_assert_eq(r.status, 2);
    s_free(&r);
}

Test(cli_agreements, help_on_each)
{
    const char *subs[] = {"check", "explain", "diff"};
    for (size_t i = 0; i < 3; i++) {
        run_t r = s_run(subs[i], "--help", NULL);
        cr_assert_eq(r.status, 0);
        s_contains(r.out, "usage: hartslag agreements check FILE");
        s_contains(r.out, "exit codes");
        s_free(&r);
    }
    run_t r = s_run("--help", NULL);
    cr_assert_eq(r.status, 0);
    s_contains(r.out, "usage:");
    s_free(&r);
}

/* ------------------------------------------------ sign / verify (issue 14) */

static bh_t *s_part;       /* keys, certificates and the version in force */
static dh_t *s_daemons[4]; /* configurations of the four partners (never started) */
static char s_new[4300];   /* version 4: politie-overlast's legal basis changed */
static const char *s_part_orgs[4] = {"gemeente", "politie", "welzijn", "woonpunt"};

static void s_sign_setup(void)
{
    s_setup();
    s_part = bh_new(s_part_orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_part);
    for (int i = 0; i < 4; i++) {
        s_daemons[i] = dh_new(s_part, s_part_orgs[i], "tcp://127.0.0.1:9", NULL);
        cr_assert_not_null(s_daemons[i]);
    }
    /* version 4 of the same partnership: one legal basis changed */
    char text[8000];
    snprintf(text, sizeof text, "%s", bh_default_agreements);
    char *v = strstr(text, "version: 3");
    cr_assert_not_null(v);
    v[9] = '4';
    char *lb = strstr(text, "Wpg art. 19");
    cr_assert_not_null(lb);
    lb[10] = '8';
    snprintf(s_new, sizeof s_new, "%s/agreements-v4.yaml", s_tmp);
    cr_assert_eq(tu_write_file(s_new, text, 0644), 0);
}

static void s_sign_teardown(void)
{
    for (int i = 0; i < 4; i++)
        dh_destroy(&s_daemons[i]);
    bh_destroy(&s_part);
    s_teardown();
}

TestSuite(cli_agreements_sign, .init = s_sign_setup, .fini = s_sign_teardown);

/* Signs `file` as daemon i with --yes. */
static void s_sign_as(int i, const char *file)
{
    run_t r = s_run("sign", "--config", s_daemons[i]->config, "--yes", file, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_free(&r);
}

Test(cli_agreements_sign, sign_shows_the_diff_and_verify_applies_the_rule)
{
    /* nobody signed: coordinator + the partners the change names are missing */
    run_t r =
        s_run("verify", s_new, "--partners", s_part->certs, "--against", s_part->agreements, NULL);
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    s_contains(r.out, "signed by: (nobody)\n");
    s_contains(r.out, "missing: gemeente, politie, welzijn\n");
    s_free(&r);
    /* asked, not confirmed: nothing written */
    char *argv[] = {s_bin,         "agreements", "sign", "--config", s_daemons[1]->config,
                    (char *)s_new, NULL};
    char *out = NULL, *err = NULL;
    cr_assert_eq(tu_run(argv, "no\n", &out, &err), 1, "%s%s", out, err);
    cr_assert(strstr(out, "~ agreement politie-overlast: legal_basis \"Wpg art. 19\" -> "
                          "\"Wpg art. 18\""),
              "the signer sees the diff against the version in force: %s", out);
    cr_assert(strstr(out, "not signed"), "%s", out);
    free(out);
    free(err);
    char sig[4400];
    snprintf(sig, sizeof sig, "%s.sig.d/politie.sig", s_new);
    cr_assert_neq(access(sig, F_OK), 0, "no signature without confirmation");
    /* confirmed on stdin */
    cr_assert_eq(tu_run(argv, "yes\n", &out, &err), 0, "%s%s", out, err);
    cr_assert(strstr(out, "signed: "), "%s", out);
    free(out);
    free(err);
    cr_assert_eq(access(sig, F_OK), 0);
    r = s_run("verify", s_new, "--partners", s_part->certs, "--against", s_part->agreements, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "signed by: politie\n");
    s_contains(r.out, "missing: gemeente, welzijn\n");
    s_free(&r);
    s_sign_as(0, s_new);
    s_sign_as(2, s_new);
    r = s_run("verify", s_new, "--partners", s_part->certs, "--against", s_part->agreements, NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    s_contains(r.out, "missing: (none)\n");
    s_contains(r.out, "OK: every required partner signed\n");
    s_free(&r);
    /* as a first version, every partner must sign: woonpunt is missing */
    r = s_run("verify", s_new, "--partners", s_part->certs, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "missing: woonpunt\n");
    s_free(&r);
    /* a downgrade is refused whatever the signatures */
    r = s_run("verify", s_part->agreements, "--partners", s_part->certs, "--against", s_new, NULL);
    cr_assert_eq(r.status, 1);
    s_contains(r.out, "REFUSED: version 3");
    s_free(&r);
}

/* Writes `len` bytes as NEW.sig.d/NAME and returns the verify output line about it. */
static void s_expect_refused(const char *name, const void *bytes, size_t len, const char *reason)
{
    char path[4400];
    snprintf(path, sizeof path, "%s.sig.d/%s", s_new, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    run_t r =
        s_run("verify", s_new, "--partners", s_part->certs, "--against", s_part->agreements, NULL);
    char want[5000];
    snprintf(want, sizeof want, "%s: refused: %s", path, reason);
    cr_assert(strstr(r.out, want), "expected '%s' in:\n%s%s", want, r.out, r.err);
    /* one line per refused file */
    const char *line = strstr(r.out, want);
    const char *nl = strchr(line, '\n');
    cr_assert(nl && !strstr(nl, path), "%s", r.out);
    s_free(&r);
    remove(path);
}

static char *s_replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    cr_assert_not_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

Test(cli_agreements_sign, bad_signature_files_are_refused_one_line_each)
{
    s_sign_as(1, s_new);
    char path[4400];
    snprintf(path, sizeof path, "%s.sig.d/politie.sig", s_new);
    size_t len = 0;
    char *good = tu_read_file(path, &len);
    cr_assert_not_null(good);

    s_expect_refused("truncated.sig", good, 100, "line 4: truncated");
    char *wrong_key = s_replace(good, "signer politie", "signer welzijn");
    s_expect_refused("wrongkey.sig", wrong_key, strlen(wrong_key),
                     "the signature does not verify with welzijn's sign key");
    free(wrong_key);
    char *stranger = s_replace(good, "signer politie", "signer ggd");
    s_expect_refused("stranger.sig", stranger, strlen(stranger),
                     "the signer ggd is not a partner in this version");
    free(stranger);
    s_expect_refused("x-duplicate.sig", good, len, "a second signature by politie");

    /* a signature of version 3 (the old file) */
    s_sign_as(1, s_part->agreements);
    char old_path[4600];
    snprintf(old_path, sizeof old_path, "%s.sig.d/politie.sig", s_part->agreements);
    size_t old_len = 0;
    char *old_sig = tu_read_file(old_path, &old_len);
    cr_assert_not_null(old_sig);
    s_expect_refused("old.sig", old_sig, old_len, "signs version 3, not version 4");
    free(old_sig);

    /* a signature of another partnership */
    char *text = tu_read_file(s_new, NULL);
    char *other = s_replace(text, "partnership: test-partnership", "partnership: elders");
    char other_path[4300];
    snprintf(other_path, sizeof other_path, "%s/other.yaml", s_tmp);
    cr_assert_eq(tu_write_file(other_path, other, 0644), 0);
    free(text);
    free(other);
    s_sign_as(1, other_path);
    snprintf(old_path, sizeof old_path, "%s.sig.d/politie.sig", other_path);
    char *other_sig = tu_read_file(old_path, &old_len);
    cr_assert_not_null(other_sig);
    s_expect_refused("other.sig", other_sig, old_len,
                     "signs partnership 'elders', not 'test-partnership'");
    free(other_sig);

    /* 10 MB, and binary garbage */
    size_t big = 10u * 1024 * 1024;
    char *huge = malloc(big);
    cr_assert_not_null(huge);
    memset(huge, 'a', big);
    s_expect_refused("huge.sig", huge, big, "too large (10485760 bytes");
    free(huge);
    const unsigned char garbage[] = {0x00, 0xff, 0x13, 0x37, 0x8b, 0x1f, 0x00, 0x7f, 0x0a};
    s_expect_refused("garbage.sig", garbage, sizeof garbage, "not a signature file");
    free(good);
}
