/*  hartslag agreements: check, explain and diff sharing agreements files.

    check    validates a file (and, with --partners, that every partner has
             a certificate), printing every problem as FILE:LINE:COL.
    explain  evaluates one request exactly as the broker would and says, per
             recipient, which agreement allows it or why not.
    diff     compares two versions per partner pair, for the privacy officers
             who review a change before it is signed.

    Human output by default, --json for machines. Exit 0 valid / allowed,
    1 invalid / denied, 2 usage error.
*/
#include "date.h"
#include "agreements.h"
#include "agreements_diff.h"
#include "agreements_lint.h"
#include "cmd_agreements_case.h"
#include "cmd_agreements_history.h"
#include "cmd_agreements_simulate.h"
#include "cmd_agreements_sign.h"
#include "commands.h"
#include "names.h"
#include "suggest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CERT_READ_MAX (64 * 1024) /* a zcert public file is well under 1 KiB */
#define CERT_FILES_MAX 4096       /* files looked at in a --partners directory */

/* ------------------------------------------------------------------ JSON */

/* Writes a JSON string. Invalid UTF-8 (possible in command-line arguments)
   becomes U+FFFD, so the output is always valid JSON. */
static void s_json_str(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, out);
            i++;
        } else {
            size_t need = c >= 0xf0 && c <= 0xf4   ? 3
                          : c >= 0xe0              ? 2
                          : c >= 0xc2 && c <= 0xdf ? 1
                                                   : 0;
            if (c > 0xf4)
                need = 0;
            bool ok = need > 0 && i + need < len;
            unsigned int cp = need == 1 ? c & 0x1f : need == 2 ? c & 0x0f : c & 0x07;
            for (size_t k = 1; ok && k <= need; k++) {
                if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
                    ok = false;
                else
                    cp = (cp << 6) | (p[i + k] & 0x3f);
            }
            if (ok && ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
                       (cp >= 0xd800 && cp <= 0xdfff)))
                ok = false;
            if (ok) {
                fwrite(p + i, 1, need + 1, out);
                i += need + 1;
            } else {
                fputs("\\ufffd", out);
                i++;
            }
        }
    }
    fputc('"', out);
}

static void s_json_cstr(FILE *out, const char *s)
{
    if (s)
        s_json_str(out, s, strlen(s));
    else
        fputs("null", out);
}

static void s_json_date(FILE *out, int32_t day)
{
    char buf[11];
    date_format(day, buf);
    fprintf(out, "\"%s\"", buf);
}

static void s_json_list(FILE *out, const char *const *items, size_t count)
{
    fputc('[', out);
    for (size_t i = 0; i < count; i++) {
        if (i)
            fputc(',', out);
        s_json_cstr(out, items[i]);
    }
    fputc(']', out);
}

/* Prints an argument for a human: short and without control characters. */
static void s_print_arg(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len && i < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c >= 0x20 && c != 0x7f ? c : '?', out);
    }
    if (len > 80)
        fputs("...", out);
}

/* ----------------------------------------------------------------- usage */

static const char *s_usage_text =
    "usage: hartslag agreements check FILE [--partners DIR] [--json]\n"
    "       hartslag agreements explain FILE --from ORG --to ORG[,ORG...] --type TYPE\n"
    "                                        --purpose PURPOSE --fields F[,F...] [--at "
    "YYYY-MM-DD]\n"
    "                                        [--json]\n"
    "       hartslag agreements explain FILE --case KIND --from ORG [--to ORG[,ORG...]]\n"
    "                                        [--fields F[,F...] | --outcome CODE] [--json]\n"
    "       hartslag agreements diff OLD NEW [--json]\n"
    "       hartslag agreements sign --config DAEMON.yaml [--against OLD] [--yes]\n"
    "                                [--emergency-revoke ORG] FILE\n"
    "       hartslag agreements verify FILE --partners DIR [--against OLD]\n"
    "       hartslag agreements simulate NEW --db BROKER.db [--from DATE] [--to DATE] [--json]\n"
    "                                [--detail]\n"
    "       hartslag agreements history --db BROKER.db [--json]\n"
    "       hartslag agreements show --db BROKER.db --version N [--signature ORG]\n"
    "\n"
    "  check    validate an agreements file; every problem is shown as FILE:LINE:COL.\n"
    "           --partners DIR: every partner must also have a certificate in DIR\n"
    "  explain  say, per recipient, which agreement allows a signal or why not\n"
    "           (--fields '' for a signal without fields; --at defaults to today, UTC);\n"
    "           with --case: what a case conference rule lets ORG share, to whom, or close with\n"
    "  diff     every attribute change, the partners affected, and per partner pair\n"
    "           what NEW allows that OLD did not, and the reverse\n"
    "  sign     show the diff against the version in force, then write FILE.sig.d/ORG.sig\n"
    "           with this partner's sign key (asks first unless --yes). The coordinator's\n"
    "           --emergency-revoke ORG: FILE only suspends ORG, and takes effect on this\n"
    "           signature alone\n"
    "  verify   who signed FILE, who is missing; exit 0 only when the coordinator and\n"
    "           every affected partner signed (the first version: every partner)\n"
    "  simulate a dry run of NEW against the exchanges in the audit log: what would\n"
    "           newly be refused (per pair and reason) or allowed; ids only with --detail\n"
    "  history  every version a broker enforced: when it took effect, its sha256, who signed\n"
    "  show     the exact bytes of version N as the broker enforced it (or --signature ORG:\n"
    "           that partner's signature file)\n"
    "\n"
    "exit codes: 0 valid / allowed, 1 invalid / denied, 2 usage error\n"
    "format reference: docs/agreements.md\n";

static int s_usage(FILE *out, const char *problem)
{
    if (problem)
        fprintf(out, "hartslag agreements: %s\n", problem);
    fputs(s_usage_text, out);
    return problem ? EXIT_USAGE : 0;
}

static bool s_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* ----------------------------------------------------------------- check */

typedef struct {
    char **orgs;  /* org ids found in certificate files */
    size_t count; /* entries in orgs */
    size_t cap;   /* room in orgs */
} orgset_t;

static void s_orgset_free(orgset_t *set)
{
    for (size_t i = 0; i < set->count; i++)
        free(set->orgs[i]);
    free(set->orgs);
    memset(set, 0, sizeof *set);
}

static int s_orgset_add(orgset_t *set, const char *org, size_t len)
{
    for (size_t i = 0; i < set->count; i++)
        if (strlen(set->orgs[i]) == len && memcmp(set->orgs[i], org, len) == 0)
            return 0;
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        char **orgs = realloc(set->orgs, cap * sizeof *orgs);
        if (!orgs)
            return -1;
        set->orgs = orgs;
        set->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, org, len);
    copy[len] = '\0';
    set->orgs[set->count++] = copy;
    return 0;
}

static bool s_orgset_has(const orgset_t *set, const char *org)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->orgs[i], org) == 0)
            return true;
    return false;
}

/* Finds `org = "X"` lines (the metadata of a zcert public file) in one file. */
static int s_scan_cert(int dirfd, const char *name, orgset_t *set)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return 0; /* unreadable: as good as absent */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    char *text = malloc(CERT_READ_MAX + 1);
    if (!text) {
        close(fd);
        return -1;
    }
    size_t len = 0;
    while (len < CERT_READ_MAX) {
        ssize_t n = read(fd, text + len, CERT_READ_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    text[len] = '\0';
    int rc = 0;
    char *line = text;
    while (line < text + len) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            end = text + len;
        char *p = line;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p > 3 && memcmp(p, "org", 3) == 0) {
            p += 3;
            while (p < end && *p == ' ')
                p++;
            if (p < end && *p == '=') {
                p++;
                while (p < end && *p == ' ')
                    p++;
                if (p < end && *p == '"') {
                    char *value = ++p;
                    while (p < end && *p != '"')
                        p++;
                    if (p < end && names_is_org_n(value, (size_t)(p - value)) &&
                        s_orgset_add(set, value, (size_t)(p - value)) != 0)
                        rc = -1;
                }
            }
        }
        line = end + 1;
    }
    free(text);
    return rc;
}

static int s_scan_certs(const char *dir, orgset_t *set, char *err, size_t errlen)
{
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        snprintf(err, errlen, "cannot open directory %s: %s", dir, strerror(errno));
        return -1;
    }
    DIR *d = fdopendir(dirfd);
    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", dir, strerror(errno));
        close(dirfd);
        return -1;
    }
    struct dirent *entry;
    size_t files = 0;
    int rc = 0;
    while ((entry = readdir(d)) != NULL && files < CERT_FILES_MAX) {
        const char *name = entry->d_name;
        size_t len = strlen(name);
        if (name[0] == '.')
            continue;
        /* Secret files hold keys, never metadata we need: do not even open them. */
        if (len >= 7 && strcmp(name + len - 7, "_secret") == 0)
            continue;
        files++;
        if (s_scan_cert(dirfd, name, set) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

static void s_check_json_errors(FILE *out, const agreements_errors_t *errors, bool *first)
{
    for (size_t i = 0; i < agreements_errors_count(errors); i++) {
        const agreements_error_t *e = agreements_errors_at(errors, i);
        if (!*first)
            fputc(',', out);
        *first = false;
        fprintf(out, "{\"line\":%u,\"column\":%u,\"message\":", e->line, e->column);
        s_json_cstr(out, e->message);
        fputc('}', out);
    }
}

typedef struct {
    const char *file;
    bool json;
    bool first;
} lint_ctx_t;

/* One warning of agreements_lint: FILE:LINE:COL in text, an object in JSON. */
static void s_lint_warning(void *arg, const agreements_agreement_t *shadowed,
                           const agreements_agreement_t *by, bool duplicate)
{
    lint_ctx_t *ctx = arg;
    char msg[600];
    snprintf(msg, sizeof msg,
             duplicate ? "agreement %s duplicates agreement %s (line %u): only the first "
                         "ever decides; remove one"
                       : "agreement %s is shadowed by agreement %s (line %u), which allows "
                         "everything it does and comes first: its legal basis and retention "
                         "never apply",
             shadowed->id, by->id, by->line);
    if (ctx->json) {
        printf("%s{\"line\":%u,\"column\":%u,\"message\":", ctx->first ? "" : ",", shadowed->line,
               shadowed->column);
        s_json_cstr(stdout, msg);
        putchar('}');
        ctx->first = false;
    } else
        printf("%s:%u:%u: warning: %s\n", ctx->file, shadowed->line, shadowed->column, msg);
}

static int s_check(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (s_is_help(argv[i]))
            return s_usage(stdout, NULL);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--partners") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return s_usage(stderr, "check: unknown option or missing value");
        else if (!file)
            file = argv[i];
        else
            return s_usage(stderr, "check: one FILE only");
    }
    if (!file)
        return s_usage(stderr, "check: FILE is required");

    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(file, &errors);
    if (!agreements && !errors) {
        fprintf(stderr, "hartslag agreements: out of memory\n");
        return 1;
    }
    /* Partners without a certificate: reported like file errors, at the partner's line. */
    size_t missing = 0;
    const agreements_partner_t *missing_list[AGREEMENTS_PARTNERS_MAX];
    char dir_err[512] = "";
    if (agreements && dir) {
        orgset_t certs = {0};
        if (s_scan_certs(dir, &certs, dir_err, sizeof dir_err) == 0)
            for (size_t i = 0; i < agreements_partner_count(agreements); i++) {
                const agreements_partner_t *p = agreements_partner(agreements, i);
                if (!s_orgset_has(&certs, p->org))
                    missing_list[missing++] = p;
            }
        s_orgset_free(&certs);
    }
    bool valid = agreements && missing == 0 && dir_err[0] == '\0';

    if (json) {
        printf("{\"file\":");
        s_json_cstr(stdout, file);
        printf(",\"valid\":%s", valid ? "true" : "false");
        if (agreements) {
            printf(",\"partnership\":");
            s_json_cstr(stdout, agreements_partnership(agreements));
            printf(",\"version\":%llu,\"partners\":%zu,\"agreements\":%zu,\"alerts\":%zu,"
                   "\"cases\":%zu",
                   (unsigned long long)agreements_version(agreements),
                   agreements_partner_count(agreements), agreements_count(agreements),
                   agreements_alert_count(agreements), agreements_case_rule_count(agreements));
            char hash[AGREEMENTS_HASH_HEX];
            agreements_hash_hex(agreements, hash);
            printf(",\"sha256\":\"%s\"", hash);
        }
        printf(",\"errors\":[");
        bool first = true;
        s_check_json_errors(stdout, errors, &first);
        for (size_t i = 0; i < missing; i++) {
            char msg[160];
            snprintf(msg, sizeof msg, "partner '%s' has no certificate in %s", missing_list[i]->org,
                     dir);
            printf("%s{\"line\":%u,\"column\":%u,\"message\":", first ? "" : ",",
                   missing_list[i]->line, missing_list[i]->column);
            s_json_cstr(stdout, msg);
            putchar('}');
            first = false;
        }
        if (dir_err[0]) {
            printf("%s{\"line\":0,\"column\":0,\"message\":", first ? "" : ",");
            s_json_cstr(stdout, dir_err);
            putchar('}');
        }
        printf("],\"warnings\":[");
        lint_ctx_t lint = {file, true, true};
        if (agreements)
            agreements_lint_shadowed(agreements, s_lint_warning, &lint);
        printf("],\"truncated\":%s}\n", agreements_errors_truncated(errors) ? "true" : "false");
    } else {
        agreements_errors_print(errors, stdout);
        for (size_t i = 0; i < missing; i++)
            printf("%s:%u:%u: partner '%s' has no certificate in %s\n", file, missing_list[i]->line,
                   missing_list[i]->column, missing_list[i]->org, dir);
        if (dir_err[0])
            printf("%s: %s\n", file, dir_err);
        lint_ctx_t lint = {file, false, true};
        if (agreements)
            agreements_lint_shadowed(agreements, s_lint_warning, &lint);
        if (valid) {
            size_t alerts = agreements_alert_count(agreements);
            size_t cases = agreements_case_rule_count(agreements);
            char case_rules[48] = "";
            if (cases > 0)
                snprintf(case_rules, sizeof case_rules, ", %zu case conference rule%s", cases,
                         cases == 1 ? "" : "s");
            printf("%s: valid: partnership %s version %llu, %zu partners, %zu agreements, %zu "
                   "alert rule%s%s\n",
                   file, agreements_partnership(agreements),
                   (unsigned long long)agreements_version(agreements),
                   agreements_partner_count(agreements), agreements_count(agreements), alerts,
                   alerts == 1 ? "" : "s", case_rules);
            char hash[AGREEMENTS_HASH_HEX];
            agreements_hash_hex(agreements, hash);
            printf("%s: sha256 %s\n", file, hash);
        } else
            printf("%s: invalid (%zu problem%s)\n", file,
                   agreements_errors_count(errors) + missing + (dir_err[0] != '\0'),
                   agreements_errors_count(errors) + missing + (dir_err[0] != '\0') == 1 ? ""
                                                                                         : "s");
    }
    agreements_errors_destroy(&errors);
    agreements_destroy(&agreements);
    return valid ? 0 : 1;
}

/* --------------------------------------------------------------- explain */

/* Splits a comma list in place into names pointing into `arg` (no copies).
   Returns the count, or -1 when there are too many or an item is empty. */
static int s_split(const char *arg, agreements_str_t *items, size_t max)
{
    if (arg[0] == '\0')
        return 0;
    size_t n = 0;
    const char *p = arg;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || n == max)
            return -1;
        items[n].str = p;
        items[n].len = len;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return (int)n;
}

/* "did you mean" for a word the agreements do not know (issue 14 item 7):
   `what` is "signal type", "purpose" or "partner". Prints one hint line, or
   nothing when the word is known or nothing is close. */
static void s_hint(const agreements_t *agreements, const char *what, const char *word, size_t len)
{
    const char *candidates[512];
    size_t n = 0;
    char typed[SUGGEST_WORD_MAX + 1];
    if (len > SUGGEST_WORD_MAX)
        return;
    memcpy(typed, word, len);
    typed[len] = '\0';
    if (strcmp(what, "partner") == 0) {
        for (size_t i = 0; i < agreements_partner_count(agreements) && n < 512; i++)
            candidates[n++] = agreements_partner(agreements, i)->org;
    } else {
        for (size_t i = 0; i < agreements_count(agreements); i++) {
            const agreements_agreement_t *a = agreements_at(agreements, i);
            if (strcmp(what, "purpose") == 0 && n < 512)
                candidates[n++] = a->purpose;
            for (size_t k = 0;
                 strcmp(what, "signal type") == 0 && k < a->signal_type_count && n < 512; k++)
                candidates[n++] = a->signal_types[k];
        }
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(candidates[i], typed) == 0)
            return; /* known */
    const char *near = suggest_nearest(typed, candidates, n);
    if (near) {
        printf(strcmp(what, "partner") == 0 ? "hint: the partner list has no %s '"
                                            : "hint: no agreement names the %s '",
               what);
        s_print_arg(stdout, word, len);
        printf("': did you mean '%s'?\n", near);
    }
}

static void s_explain_human(const agreements_t *agreements, const agreements_request_t *req,
                            const agreements_decision_t *d, const char *at)
{
    printf("signal ");
    s_print_arg(stdout, req->signal_type.str, req->signal_type.len);
    printf(" for ");
    s_print_arg(stdout, req->purpose.str, req->purpose.len);
    printf(" from ");
    s_print_arg(stdout, req->sender.str, req->sender.len);
    printf(" on %s (agreements version %llu)\n", at, (unsigned long long)d->version);
    for (size_t i = 0; i < d->count; i++) {
        const agreements_verdict_t *v = &d->recipients[i];
        const agreements_agreement_t *a = v->agreement;
        printf("  -> ");
        s_print_arg(stdout, v->recipient.str, v->recipient.len);
        if (v->reason == AGREEMENTS_ALLOWED) {
            printf(": allowed by agreement %s (line %u)\n", a->id, a->line);
            printf("       legal basis: %s\n", a->legal_basis);
            printf("       retention_days %u, max_queue_days %u\n", a->retention_days,
                   a->max_queue_days);
            continue;
        }
        char reason[128];
        (void)agreements_verdict_reason(v, reason, sizeof reason);
        printf(": denied: ");
        s_print_arg(stdout, reason, strlen(reason));
        if (a) {
            char from[11], until[11];
            date_format(a->valid_from, from);
            date_format(a->valid_until, until);
            printf("\n       closest agreement: %s (line %u): ", a->id, a->line);
            switch (v->reason) {
            case AGREEMENTS_TYPE_NOT_ALLOWED:
                printf("signal types ");
                for (size_t k = 0; k < a->signal_type_count; k++)
                    printf("%s%s", k ? ", " : "", a->signal_types[k]);
                break;
            case AGREEMENTS_PURPOSE_MISMATCH:
                printf("purpose %s", a->purpose);
                break;
            case AGREEMENTS_NOT_YET_VALID:
            case AGREEMENTS_EXPIRED:
                printf("valid %s..%s", from, until);
                break;
            case AGREEMENTS_FIELD_NOT_ALLOWED:
                printf("fields ");
                for (size_t k = 0; k < a->field_count; k++)
                    printf("%s%s", k ? ", " : "", a->fields[k]);
                break;
            default:
                break;
            }
        } else if (v->reason == AGREEMENTS_NO_AGREEMENT)
            printf(" (no agreement from this sender to this recipient)");
        else if (v->reason == AGREEMENTS_UNKNOWN_PARTNER ||
                 v->reason == AGREEMENTS_ROLE_NOT_ALLOWED) {
            /* Name exactly which partner and which flag refuses. */
            const agreements_partner_t *sender =
                agreements_partner_lookup(agreements, req->sender.str, req->sender.len);
            const agreements_partner_t *recipient =
                agreements_partner_lookup(agreements, v->recipient.str, v->recipient.len);
            printf(" (");
            if (!sender || !recipient) {
                s_print_arg(stdout, !sender ? req->sender.str : v->recipient.str,
                            !sender ? req->sender.len : v->recipient.len);
                printf(" is not in the partner list");
            } else if (!sender->may_send)
                printf("%s has may_send: false", sender->org);
            else
                printf("%s has may_receive: false", recipient->org);
            putchar(')');
        }
        putchar('\n');
    }
    printf("result: %s\n", d->allowed ? "allowed" : "denied (every recipient must be allowed)");
    if (!d->allowed) {
        s_hint(agreements, "signal type", req->signal_type.str, req->signal_type.len);
        s_hint(agreements, "purpose", req->purpose.str, req->purpose.len);
        s_hint(agreements, "partner", req->sender.str, req->sender.len);
        for (size_t i = 0; i < req->recipient_count; i++)
            s_hint(agreements, "partner", req->recipients[i].str, req->recipients[i].len);
    }
}

static void s_explain_json(const agreements_request_t *req, const agreements_decision_t *d,
                           const char *at)
{
    printf("{\"allowed\":%s,\"version\":%llu,\"request\":{\"from\":", d->allowed ? "true" : "false",
           (unsigned long long)d->version);
    s_json_str(stdout, req->sender.str, req->sender.len);
    printf(",\"to\":[");
    for (size_t i = 0; i < req->recipient_count; i++) {
        if (i)
            putchar(',');
        s_json_str(stdout, req->recipients[i].str, req->recipients[i].len);
    }
    printf("],\"signal_type\":");
    s_json_str(stdout, req->signal_type.str, req->signal_type.len);
    printf(",\"purpose\":");
    s_json_str(stdout, req->purpose.str, req->purpose.len);
    printf(",\"fields\":[");
    for (size_t i = 0; i < req->field_count; i++) {
        if (i)
            putchar(',');
        s_json_str(stdout, req->fields[i].str, req->fields[i].len);
    }
    printf("],\"at\":\"%s\"},\"recipients\":[", at);
    for (size_t i = 0; i < d->count; i++) {
        const agreements_verdict_t *v = &d->recipients[i];
        const agreements_agreement_t *a = v->agreement;
        char reason[128];
        (void)agreements_verdict_reason(v, reason, sizeof reason);
        printf("%s{\"to\":", i ? "," : "");
        s_json_str(stdout, v->recipient.str, v->recipient.len);
        printf(",\"allowed\":%s,\"reason\":", v->reason == AGREEMENTS_ALLOWED ? "true" : "false");
        if (v->reason == AGREEMENTS_ALLOWED)
            printf("null");
        else
            s_json_cstr(stdout, reason);
        printf(",\"agreement\":");
        if (a) {
            printf("{\"id\":");
            s_json_cstr(stdout, a->id);
            printf(",\"line\":%u,\"legal_basis\":", a->line);
            s_json_cstr(stdout, a->legal_basis);
            printf(",\"purpose\":");
            s_json_cstr(stdout, a->purpose);
            printf(",\"signal_types\":");
            s_json_list(stdout, a->signal_types, a->signal_type_count);
            printf(",\"fields\":");
            s_json_list(stdout, a->fields, a->field_count);
            printf(",\"valid_from\":");
            s_json_date(stdout, a->valid_from);
            printf(",\"valid_until\":");
            s_json_date(stdout, a->valid_until);
            printf(",\"retention_days\":%u,\"max_queue_days\":%u}", a->retention_days,
                   a->max_queue_days);
        } else
            printf("null");
        putchar('}');
    }
    printf("]}\n");
}

static int s_explain(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--case") == 0)
            return agreements_cmd_explain_case(argc, argv);
    const char *file = NULL, *from = NULL, *to = NULL, *type = NULL, *purpose = NULL;
    const char *fields = NULL, *at = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (s_is_help(a))
            return s_usage(stdout, NULL);
        else if (strcmp(a, "--json") == 0)
            json = true;
        else if (strcmp(a, "--from") == 0 && has_value)
            from = argv[++i];
        else if (strcmp(a, "--to") == 0 && has_value)
            to = argv[++i];
        else if (strcmp(a, "--type") == 0 && has_value)
            type = argv[++i];
        else if (strcmp(a, "--purpose") == 0 && has_value)
            purpose = argv[++i];
        else if (strcmp(a, "--fields") == 0 && has_value)
            fields = argv[++i];
        else if (strcmp(a, "--at") == 0 && has_value)
            at = argv[++i];
        else if (a[0] == '-' && a[1] != '\0')
            return s_usage(stderr, "explain: unknown option or missing value");
        else if (!file)
            file = a;
        else
            return s_usage(stderr, "explain: one FILE only");
    }
    if (!file || !from || !to || !type || !purpose || !fields)
        return s_usage(stderr, "explain: FILE, --from, --to, --type, --purpose and --fields are "
                               "required");

    agreements_str_t recipients[AGREEMENTS_RECIPIENTS_MAX];
    static agreements_str_t field_list[AGREEMENTS_FIELDS_MAX];
    int nto = s_split(to, recipients, AGREEMENTS_RECIPIENTS_MAX);
    if (nto <= 0)
        return s_usage(stderr, "explain: --to needs 1 to 64 comma-separated orgs");
    int nfields = s_split(fields, field_list, AGREEMENTS_FIELDS_MAX);
    if (nfields < 0)
        return s_usage(stderr, "explain: --fields needs comma-separated names (at most 256)");
    int64_t day;
    if (at) {
        if (date_parse_cstr(at, &day) != 0)
            return s_usage(stderr, "explain: --at must be a date YYYY-MM-DD");
    } else
        day = agreements_day_from_ms((int64_t)time(NULL) * 1000);
    char at_text[11];
    date_format(day, at_text);

    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(file, &errors);
    if (!agreements) {
        agreements_errors_print(errors, stderr);
        fprintf(stderr, "hartslag agreements: %s is invalid; run 'hartslag agreements check'\n",
                file);
        agreements_errors_destroy(&errors);
        return 1;
    }
    agreements_request_t req = {
        .sender = agreements_str(from),
        .recipients = recipients,
        .recipient_count = (size_t)nto,
        .signal_type = agreements_str(type),
        .purpose = agreements_str(purpose),
        .fields = field_list,
        .field_count = (size_t)nfields,
        .at_ms = (int64_t)day * 86400000,
    };
    agreements_decision_t decision;
    int rc = agreements_evaluate(agreements, &req, &decision);
    if (rc != 0) {
        agreements_destroy(&agreements);
        return s_usage(stderr, "explain: malformed request");
    }
    if (json)
        s_explain_json(&req, &decision, at_text);
    else
        s_explain_human(agreements, &req, &decision, at_text);
    agreements_destroy(&agreements);
    return decision.allowed ? 0 : 1;
}

/* ------------------------------------------------------------------ diff */

/*  What one pair may exchange, as grants: for (from, to, type, purpose), the
    union of the fields and the widest validity, retention and queue time of
    the agreements that cover it. Comparing grants, not agreements, shows
    what changes in effect, whatever way the clauses were regrouped. */
typedef struct {
    const char *from, *to, *type, *purpose; /* key; borrowed from the agreements */
    const char **fields;                    /* sorted, unique; owned array */
    size_t field_count;                     /* entries in fields */
    int32_t valid_from, valid_until;        /* envelope of the agreements' validity */
    uint32_t retention_days;                /* the longest */
    uint32_t max_queue_days;                /* the longest */
} grant_t;

typedef struct {
    grant_t *items; /* sorted by key */
    size_t count;   /* entries */
} grants_t;

static int s_key_cmp(const grant_t *x, const grant_t *y)
{
    int c = strcmp(x->from, y->from);
    if (!c)
        c = strcmp(x->to, y->to);
    if (!c)
        c = strcmp(x->type, y->type);
    if (!c)
        c = strcmp(x->purpose, y->purpose);
    return c;
}

static int s_grant_cmp(const void *a, const void *b)
{
    return s_key_cmp(a, b);
}

static int s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void s_grants_free(grants_t *g)
{
    for (size_t i = 0; i < g->count; i++)
        free(g->items[i].fields);
    free(g->items);
    memset(g, 0, sizeof *g);
}

static int s_grants_build(const agreements_t *ag, grants_t *g)
{
    size_t total = 0;
    for (size_t i = 0; i < agreements_count(ag); i++) {
        const agreements_agreement_t *a = agreements_at(ag, i);
        total += a->to_count * a->signal_type_count;
    }
    g->items = calloc(total ? total : 1, sizeof *g->items);
    if (!g->items)
        return -1;
    for (size_t i = 0; i < agreements_count(ag); i++) {
        const agreements_agreement_t *a = agreements_at(ag, i);
        for (size_t t = 0; t < a->to_count; t++)
            for (size_t k = 0; k < a->signal_type_count; k++) {
                grant_t *x = &g->items[g->count++];
                x->from = a->from;
                x->to = a->to[t];
                x->type = a->signal_types[k];
                x->purpose = a->purpose;
                x->fields = malloc(a->field_count * sizeof *x->fields);
                if (!x->fields)
                    return -1;
                memcpy(x->fields, a->fields, a->field_count * sizeof *x->fields);
                x->field_count = a->field_count;
                x->valid_from = a->valid_from;
                x->valid_until = a->valid_until;
                x->retention_days = a->retention_days;
                x->max_queue_days = a->max_queue_days;
            }
    }
    qsort(g->items, g->count, sizeof *g->items, s_grant_cmp);
    /* Merge grants with the same key. */
    size_t out = 0;
    for (size_t i = 0; i < g->count; i++) {
        grant_t *x = &g->items[i];
        if (out > 0 && s_key_cmp(&g->items[out - 1], x) == 0) {
            grant_t *y = &g->items[out - 1];
            const char **f = realloc(y->fields, (y->field_count + x->field_count) * sizeof *f);
            if (!f)
                return -1;
            memcpy(f + y->field_count, x->fields, x->field_count * sizeof *f);
            y->fields = f;
            y->field_count += x->field_count;
            free(x->fields);
            x->fields = NULL;
            if (x->valid_from < y->valid_from)
                y->valid_from = x->valid_from;
            if (x->valid_until > y->valid_until)
                y->valid_until = x->valid_until;
            if (x->retention_days > y->retention_days)
                y->retention_days = x->retention_days;
            if (x->max_queue_days > y->max_queue_days)
                y->max_queue_days = x->max_queue_days;
        } else {
            if (out != i) {
                g->items[out] = *x;
                x->fields = NULL;
            }
            out++;
        }
    }
    g->count = out;
    for (size_t i = 0; i < g->count; i++) {
        grant_t *x = &g->items[i];
        qsort(x->fields, x->field_count, sizeof *x->fields, s_str_cmp);
        size_t u = 0;
        for (size_t k = 0; k < x->field_count; k++)
            if (u == 0 || strcmp(x->fields[u - 1], x->fields[k]) != 0)
                x->fields[u++] = x->fields[k];
        x->field_count = u;
    }
    return 0;
}

/* Fields in a but not in b (both sorted). */
static size_t s_fields_minus(const grant_t *a, const grant_t *b, const char **out)
{
    size_t n = 0, j = 0;
    for (size_t i = 0; i < a->field_count; i++) {
        while (j < b->field_count && strcmp(b->fields[j], a->fields[i]) < 0)
            j++;
        if (j >= b->field_count || strcmp(b->fields[j], a->fields[i]) != 0)
            out[n++] = a->fields[i];
    }
    return n;
}

typedef struct {
    const grant_t *old_g; /* NULL: added */
    const grant_t *new_g; /* NULL: removed */
} change_t;

static bool s_grant_changed(const grant_t *a, const grant_t *b)
{
    if (a->field_count != b->field_count || a->valid_from != b->valid_from ||
        a->valid_until != b->valid_until || a->retention_days != b->retention_days ||
        a->max_queue_days != b->max_queue_days)
        return true;
    for (size_t i = 0; i < a->field_count; i++)
        if (strcmp(a->fields[i], b->fields[i]) != 0)
            return true;
    return false;
}

static void s_human_grant(const grant_t *g)
{
    char from[11], until[11];
    date_format(g->valid_from, from);
    date_format(g->valid_until, until);
    printf("%s for %s (fields ", g->type, g->purpose);
    for (size_t i = 0; i < g->field_count; i++)
        printf("%s%s", i ? ", " : "", g->fields[i]);
    printf("; valid %s..%s; retention_days %u; max_queue_days %u)", from, until, g->retention_days,
           g->max_queue_days);
}

static void s_json_grant(const grant_t *g)
{
    printf("{\"signal_type\":");
    s_json_cstr(stdout, g->type);
    printf(",\"purpose\":");
    s_json_cstr(stdout, g->purpose);
    printf(",\"fields\":");
    s_json_list(stdout, g->fields, g->field_count);
    printf(",\"valid_from\":");
    s_json_date(stdout, g->valid_from);
    printf(",\"valid_until\":");
    s_json_date(stdout, g->valid_until);
    printf(",\"retention_days\":%u,\"max_queue_days\":%u}", g->retention_days, g->max_queue_days);
}

static void s_human_change(const change_t *c, const char **scratch)
{
    if (!c->old_g) {
        printf("  + now allows ");
        s_human_grant(c->new_g);
        putchar('\n');
        return;
    }
    if (!c->new_g) {
        printf("  - no longer allows ");
        s_human_grant(c->old_g);
        putchar('\n');
        return;
    }
    const grant_t *o = c->old_g, *n = c->new_g;
    printf("  ~ %s for %s:", n->type, n->purpose);
    const char *sep = " ";
    size_t k = s_fields_minus(n, o, scratch);
    if (k) {
        printf("%snow also fields", sep);
        for (size_t i = 0; i < k; i++)
            printf("%s%s", i ? ", " : " ", scratch[i]);
        sep = "; ";
    }
    k = s_fields_minus(o, n, scratch);
    if (k) {
        printf("%sno longer fields", sep);
        for (size_t i = 0; i < k; i++)
            printf("%s%s", i ? ", " : " ", scratch[i]);
        sep = "; ";
    }
    if (o->valid_from != n->valid_from || o->valid_until != n->valid_until) {
        char a[11], b[11], c2[11], d[11];
        date_format(o->valid_from, a);
        date_format(o->valid_until, b);
        date_format(n->valid_from, c2);
        date_format(n->valid_until, d);
        printf("%svalid %s..%s -> %s..%s", sep, a, b, c2, d);
        sep = "; ";
    }
    if (o->retention_days != n->retention_days) {
        printf("%sretention_days %u -> %u", sep, o->retention_days, n->retention_days);
        sep = "; ";
    }
    if (o->max_queue_days != n->max_queue_days)
        printf("%smax_queue_days %u -> %u", sep, o->max_queue_days, n->max_queue_days);
    putchar('\n');
}

static void s_json_change(const change_t *c, const char **scratch)
{
    const grant_t *o = c->old_g, *n = c->new_g;
    printf("{\"signal_type\":");
    s_json_cstr(stdout, n->type);
    printf(",\"purpose\":");
    s_json_cstr(stdout, n->purpose);
    size_t k = s_fields_minus(n, o, scratch);
    printf(",\"fields_added\":");
    s_json_list(stdout, scratch, k);
    k = s_fields_minus(o, n, scratch);
    printf(",\"fields_removed\":");
    s_json_list(stdout, scratch, k);
    printf(",\"valid_from\":{\"old\":");
    s_json_date(stdout, o->valid_from);
    printf(",\"new\":");
    s_json_date(stdout, n->valid_from);
    printf("},\"valid_until\":{\"old\":");
    s_json_date(stdout, o->valid_until);
    printf(",\"new\":");
    s_json_date(stdout, n->valid_until);
    printf("},\"retention_days\":{\"old\":%u,\"new\":%u}", o->retention_days, n->retention_days);
    printf(",\"max_queue_days\":{\"old\":%u,\"new\":%u}}", o->max_queue_days, n->max_queue_days);
}

static const char *s_partner_desc(const agreements_partner_t *p, char *buf, size_t size)
{
    snprintf(buf, size, "role %s, may_send %s, may_receive %s, receives_alerts %s",
             p->role == AGREEMENTS_ROLE_COORDINATOR ? "coordinator" : "partner",
             p->may_send ? "true" : "false", p->may_receive ? "true" : "false",
             p->receives_alerts ? "true" : "false");
    return buf;
}

static bool s_alert_equal(const agreements_alert_rule_t *a, const agreements_alert_rule_t *b)
{
    if (a->distinct_senders != b->distinct_senders || a->window_days != b->window_days ||
        a->notify_senders != b->notify_senders || a->notify_count != b->notify_count ||
        a->signal_type_count != b->signal_type_count || strcmp(a->legal_basis, b->legal_basis) != 0)
        return false;
    for (size_t i = 0; i < a->notify_count; i++)
        if (strcmp(a->notify[i], b->notify[i]) != 0)
            return false;
    for (size_t i = 0; i < a->signal_type_count; i++)
        if (strcmp(a->signal_types[i], b->signal_types[i]) != 0)
            return false;
    return true;
}

static const agreements_alert_rule_t *s_alert_find(const agreements_t *ag, const char *id)
{
    for (size_t i = 0; i < agreements_alert_count(ag); i++)
        if (strcmp(agreements_alert(ag, i)->id, id) == 0)
            return agreements_alert(ag, i);
    return NULL;
}

/* Prints the partner and alert changes; returns how many there were. */
static size_t s_diff_partners_alerts(const agreements_t *old_a, const agreements_t *new_a,
                                     bool json)
{
    size_t changes = 0;
    char desc[160], desc2[160];
    /* partners */
    if (json)
        printf(",\"partners\":{\"added\":[");
    else
        printf("partners:\n");
    bool first = true;
    size_t before = changes;
    for (size_t i = 0; i < agreements_partner_count(new_a); i++) {
        const agreements_partner_t *p = agreements_partner(new_a, i);
        if (agreements_partner_lookup(old_a, p->org, strlen(p->org)))
            continue;
        changes++;
        if (json) {
            printf("%s", first ? "" : ",");
            s_json_cstr(stdout, p->org);
            first = false;
        } else
            printf("  + %s (%s)\n", p->org, s_partner_desc(p, desc, sizeof desc));
    }
    if (json)
        printf("],\"removed\":[");
    first = true;
    for (size_t i = 0; i < agreements_partner_count(old_a); i++) {
        const agreements_partner_t *p = agreements_partner(old_a, i);
        if (agreements_partner_lookup(new_a, p->org, strlen(p->org)))
            continue;
        changes++;
        if (json) {
            printf("%s", first ? "" : ",");
            s_json_cstr(stdout, p->org);
            first = false;
        } else
            printf("  - %s\n", p->org);
    }
    if (json)
        printf("],\"changed\":[");
    first = true;
    for (size_t i = 0; i < agreements_partner_count(new_a); i++) {
        const agreements_partner_t *p = agreements_partner(new_a, i);
        const agreements_partner_t *o = agreements_partner_lookup(old_a, p->org, strlen(p->org));
        if (!o || (o->role == p->role && o->may_send == p->may_send &&
                   o->may_receive == p->may_receive && o->receives_alerts == p->receives_alerts))
            continue;
        changes++;
        s_partner_desc(o, desc, sizeof desc);
        s_partner_desc(p, desc2, sizeof desc2);
        if (json) {
            printf("%s{\"org\":", first ? "" : ",");
            s_json_cstr(stdout, p->org);
            printf(",\"old\":");
            s_json_cstr(stdout, desc);
            printf(",\"new\":");
            s_json_cstr(stdout, desc2);
            putchar('}');
            first = false;
        } else
            printf("  ~ %s: %s -> %s\n", p->org, desc, desc2);
    }
    if (json)
        printf("]}");
    else if (changes == before)
        printf("  (no changes)\n");

    /* alert rules */
    if (json)
        printf(",\"alerts\":{\"added\":[");
    else
        printf("alert rules:\n");
    before = changes;
    first = true;
    for (size_t i = 0; i < agreements_alert_count(new_a); i++) {
        const agreements_alert_rule_t *r = agreements_alert(new_a, i);
        if (s_alert_find(old_a, r->id))
            continue;
        changes++;
        if (json) {
            printf("%s", first ? "" : ",");
            s_json_cstr(stdout, r->id);
            first = false;
        } else
            printf("  + %s (%u senders within %u days)\n", r->id, r->distinct_senders,
                   r->window_days);
    }
    if (json)
        printf("],\"removed\":[");
    first = true;
    for (size_t i = 0; i < agreements_alert_count(old_a); i++) {
        const agreements_alert_rule_t *r = agreements_alert(old_a, i);
        if (s_alert_find(new_a, r->id))
            continue;
        changes++;
        if (json) {
            printf("%s", first ? "" : ",");
            s_json_cstr(stdout, r->id);
            first = false;
        } else
            printf("  - %s\n", r->id);
    }
    if (json)
        printf("],\"changed\":[");
    first = true;
    for (size_t i = 0; i < agreements_alert_count(new_a); i++) {
        const agreements_alert_rule_t *r = agreements_alert(new_a, i);
        const agreements_alert_rule_t *o = s_alert_find(old_a, r->id);
        if (!o || s_alert_equal(o, r))
            continue;
        changes++;
        if (json) {
            printf("%s", first ? "" : ",");
            s_json_cstr(stdout, r->id);
            first = false;
        } else
            printf("  ~ %s: %u senders within %u days -> %u senders within %u days%s\n", r->id,
                   o->distinct_senders, o->window_days, r->distinct_senders, r->window_days,
                   " (or its types, targets or legal basis changed)");
    }
    if (json)
        printf("]}");
    else if (changes == before)
        printf("  (no changes)\n");
    return changes;
}

/* Prints every attribute change (terraform-plan form) and the affected partners. */
static void s_diff_attributes(const agreements_diff_t *diff, bool json)
{
    size_t n = agreements_diff_count(diff);
    if (json) {
        printf(",\"attributes\":[");
        for (size_t i = 0; i < n; i++) {
            const agreements_change_t *c = agreements_diff_at(diff, i);
            char op[2] = {(char)c->op, '\0'};
            printf("%s{\"op\":", i ? "," : "");
            s_json_cstr(stdout, op);
            printf(",\"kind\":");
            s_json_cstr(stdout, agreements_diff_kind_name(c->kind));
            printf(",\"id\":");
            s_json_cstr(stdout, c->id);
            printf(",\"attribute\":");
            if (c->attribute)
                s_json_cstr(stdout, c->attribute);
            else
                printf("null");
            printf(",\"old\":");
            if (c->old_value)
                s_json_cstr(stdout, c->old_value);
            else
                printf("null");
            printf(",\"new\":");
            if (c->new_value)
                s_json_cstr(stdout, c->new_value);
            else
                printf("null");
            putchar('}');
        }
        printf("],\"affected\":[");
        for (size_t i = 0; i < agreements_diff_affected_count(diff); i++) {
            printf("%s", i ? "," : "");
            s_json_cstr(stdout, agreements_diff_affected(diff, i));
        }
        putchar(']');
        return;
    }
    printf("changes:\n");
    for (size_t i = 0; i < n; i++) {
        printf("  ");
        agreements_change_print(agreements_diff_at(diff, i), stdout);
        putchar('\n');
    }
    if (n == 0)
        printf("  (no changes)\n");
    printf("affected partners:");
    for (size_t i = 0; i < agreements_diff_affected_count(diff); i++)
        printf("%s%s", i ? ", " : " ", agreements_diff_affected(diff, i));
    printf("%s\n", agreements_diff_affected_count(diff) ? "" : " (none)");
}

static int s_diff(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL};
    size_t nfiles = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (s_is_help(argv[i]))
            return s_usage(stdout, NULL);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return s_usage(stderr, "diff: unknown option");
        else if (nfiles < 2)
            files[nfiles++] = argv[i];
        else
            return s_usage(stderr, "diff: exactly two files, OLD and NEW");
    }
    if (nfiles != 2)
        return s_usage(stderr, "diff: exactly two files, OLD and NEW");

    agreements_t *ag[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        agreements_errors_t *errors = NULL;
        ag[k] = agreements_load(files[k], &errors);
        if (!ag[k]) {
            agreements_errors_print(errors, stderr);
            fprintf(stderr, "hartslag agreements: %s is invalid; nothing compared\n", files[k]);
            agreements_errors_destroy(&errors);
            agreements_destroy(&ag[0]);
            return 1;
        }
    }
    grants_t g[2] = {{0}, {0}};
    change_t *changes = NULL;
    const char **scratch = NULL;
    int rc = 1;
    if (s_grants_build(ag[0], &g[0]) != 0 || s_grants_build(ag[1], &g[1]) != 0)
        goto done;
    changes = calloc(g[0].count + g[1].count + 1, sizeof *changes);
    size_t scratch_n = 1;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < g[k].count; i++)
            if (g[k].items[i].field_count > scratch_n)
                scratch_n = g[k].items[i].field_count;
    scratch = malloc(scratch_n * sizeof *scratch);
    if (!changes || !scratch)
        goto done;
    size_t nc = 0, i = 0, j = 0;
    while (i < g[0].count || j < g[1].count) {
        int c = i >= g[0].count   ? 1
                : j >= g[1].count ? -1
                                  : s_key_cmp(&g[0].items[i], &g[1].items[j]);
        if (c < 0)
            changes[nc++] = (change_t){&g[0].items[i++], NULL};
        else if (c > 0)
            changes[nc++] = (change_t){NULL, &g[1].items[j++]};
        else {
            if (s_grant_changed(&g[0].items[i], &g[1].items[j]))
                changes[nc++] = (change_t){&g[0].items[i], &g[1].items[j]};
            i++;
            j++;
        }
    }

    const char *pname[2] = {agreements_partnership(ag[0]), agreements_partnership(ag[1])};
    if (json) {
        printf("{\"old\":{\"file\":");
        s_json_cstr(stdout, files[0]);
        printf(",\"partnership\":");
        s_json_cstr(stdout, pname[0]);
        printf(",\"version\":%llu},\"new\":{\"file\":",
               (unsigned long long)agreements_version(ag[0]));
        s_json_cstr(stdout, files[1]);
        printf(",\"partnership\":");
        s_json_cstr(stdout, pname[1]);
        printf(",\"version\":%llu}", (unsigned long long)agreements_version(ag[1]));
    } else {
        printf("agreements diff: %s version %llu (%s) -> %s version %llu (%s)\n", pname[0],
               (unsigned long long)agreements_version(ag[0]), files[0], pname[1],
               (unsigned long long)agreements_version(ag[1]), files[1]);
        if (strcmp(pname[0], pname[1]) != 0)
            printf("warning: the partnership differs\n");
        if (agreements_version(ag[1]) <= agreements_version(ag[0]))
            printf("warning: the new version number is not higher than the old one\n");
    }
    agreements_diff_t *diff = agreements_diff_new(ag[0], ag[1]);
    if (!diff)
        goto done;
    size_t total = agreements_diff_count(diff);
    s_diff_attributes(diff, json);
    agreements_diff_destroy(&diff);
    if (json)
        (void)s_diff_partners_alerts(ag[0], ag[1], json);

    /* Per pair: changes are sorted by key, so one pair's changes are adjacent. */
    if (json)
        printf(",\"pairs\":[");
    else
        printf("partner pairs:\n");
    for (size_t k = 0; k < nc;) {
        const grant_t *key = changes[k].new_g ? changes[k].new_g : changes[k].old_g;
        size_t end = k;
        while (end < nc) {
            const grant_t *x = changes[end].new_g ? changes[end].new_g : changes[end].old_g;
            if (strcmp(x->from, key->from) != 0 || strcmp(x->to, key->to) != 0)
                break;
            end++;
        }
        if (json) {
            printf("%s{\"from\":", k ? "," : "");
            s_json_cstr(stdout, key->from);
            printf(",\"to\":");
            s_json_cstr(stdout, key->to);
            static const char *const kinds[3] = {"added", "removed", "changed"};
            for (int kind = 0; kind < 3; kind++) {
                printf(",\"%s\":[", kinds[kind]);
                bool first = true;
                for (size_t x = k; x < end; x++) {
                    const change_t *c = &changes[x];
                    int ck = !c->old_g ? 0 : !c->new_g ? 1 : 2;
                    if (ck != kind)
                        continue;
                    if (!first)
                        putchar(',');
                    first = false;
                    if (kind == 0)
                        s_json_grant(c->new_g);
                    else if (kind == 1)
                        s_json_grant(c->old_g);
                    else
                        s_json_change(c, scratch);
                }
                putchar(']');
            }
            putchar('}');
        } else {
            printf("%s -> %s\n", key->from, key->to);
            for (size_t x = k; x < end; x++)
                s_human_change(&changes[x], scratch);
        }
        k = end;
    }
    if (json)
        printf("],\"changes\":%zu}\n", total);
    else {
        if (nc == 0)
            printf("  (no changes)\n");
        printf("%zu change%s (%zu in what a pair may exchange)\n", total, total == 1 ? "" : "s",
               nc);
    }
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "hartslag agreements: out of memory\n");
    free(scratch);
    free(changes);
    s_grants_free(&g[0]);
    s_grants_free(&g[1]);
    agreements_destroy(&ag[0]);
    agreements_destroy(&ag[1]);
    return rc;
}

/* ------------------------------------------------------------------ main */

int cmd_agreements(int argc, char **argv)
{
    if (argc < 2)
        return s_usage(stderr, "a subcommand is required");
    const char *sub = argv[1];
    if (s_is_help(sub))
        return s_usage(stdout, NULL);
    if (strcmp(sub, "check") == 0)
        return s_check(argc - 1, argv + 1);
    if (strcmp(sub, "explain") == 0)
        return s_explain(argc - 1, argv + 1);
    if (strcmp(sub, "diff") == 0)
        return s_diff(argc - 1, argv + 1);
    if (strcmp(sub, "sign") == 0)
        return agreements_cmd_sign(argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0)
        return agreements_cmd_verify(argc - 1, argv + 1);
    if (strcmp(sub, "simulate") == 0)
        return agreements_cmd_simulate(argc - 1, argv + 1);
    if (strcmp(sub, "history") == 0)
        return agreements_cmd_history(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return agreements_cmd_show(argc - 1, argv + 1);
    return s_usage(stderr, "unknown subcommand (check, explain, diff, sign or verify)");
}
