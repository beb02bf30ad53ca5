/*  hartslag agreements history | show. See cmd_agreements_history.h.

    history  every version the broker enforced, oldest first: number, when
             it took effect (local time), SHA-256, and who signed it
    show     the exact bytes of one version (sha256sum gives the hash the
             audit records carry), or with --signature ORG that partner's
             signature file, to check with `agreements verify`

    Read-only; the tables are written by the broker (broker/queue.c). */
#include "cmd_agreements_history.h"

#include "audit_read.h"
#include "db.h"

#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_usage(FILE *out, const char *why)
{
    if (why)
        fprintf(out, "hartslag agreements: %s\n", why);
    fputs("usage: hartslag agreements history --db BROKER.db [--json]\n"
          "       hartslag agreements show --db BROKER.db --version N [--signature ORG]\n",
          out);
    return 2;
}

static db_t *s_open(const char *path)
{
    char err[512];
    db_t *db = db_open(path, DB_READONLY, err, sizeof err);
    if (!db)
        fprintf(stderr, "hartslag agreements: %s: %s\n", path, err);
    return db;
}

/* The signers of the version with `sha256`, comma-separated, into out. */
static int s_signers(db_t *db, const void *sha256, size_t len, char *out, size_t out_len)
{
    db_stmt_t *st =
        db_prepare(db, "SELECT signer FROM agreements_signatures WHERE sha256=$1 ORDER BY signer");
    if (!st || db_bind_blob(st, 1, sha256, len) != 0)
        return -1;
    out[0] = '\0';
    size_t used = 0;
    db_step_t step;
    while ((step = db_step(st)) == DB_ROW) {
        const char *signer = db_column_text(st, 0);
        int n =
            snprintf(out + used, out_len - used, "%s%s", used ? "," : "", signer ? signer : "?");
        if (n > 0 && (size_t)n < out_len - used)
            used += (size_t)n;
    }
    db_reset(st);
    return step == DB_DONE ? 0 : -1;
}

int agreements_cmd_history(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            path = optarg;
        else if (c == 'j')
            json = true;
        else if (c == 'h')
            return s_usage(stdout, NULL), 0;
        else
            return s_usage(stderr, "history: unknown option");
    }
    if (!path || optind != argc)
        return s_usage(stderr, "history: --db BROKER.db is required");
    db_t *db = s_open(path);
    if (!db)
        return 1;
    db_stmt_t *st = db_prepare(db, "SELECT version, sha256, took_effect_at, length(file) FROM "
                                   "agreements_history ORDER BY seq");
    if (!st) {
        fprintf(stderr,
                "hartslag agreements: %s holds no agreements history (a broker older than "
                "the history, or not a broker store): %s\n",
                path, db_errmsg(db));
        db_close(&db);
        return 1;
    }
    if (json)
        fputs("[", stdout);
    else
        printf("%-8s %-22s %-64s %s\n", "version", "took effect", "sha256", "signed by");
    int rc = 0, n = 0;
    db_step_t step;
    while ((step = db_step(st)) == DB_ROW) {
        uint64_t version = (uint64_t)db_column_int64(st, 0);
        size_t hash_len = 0;
        const void *hash = db_column_blob(st, 1, &hash_len);
        int64_t at_ms = db_column_int64(st, 2);
        char hex[65] = "", when[AUDIT_READ_LOCAL_MAX], signers[2048] = "";
        if (hash && hash_len == 32)
            sodium_bin2hex(hex, sizeof hex, hash, hash_len);
        audit_format_local(at_ms, when);
        /* the statement's row stays valid: s_signers uses another one */
        if (s_signers(db, hash, hash_len, signers, sizeof signers) != 0)
            rc = 1;
        if (json) {
            printf("%s{\"version\":%" PRIu64 ",\"took_effect\":", n ? "," : "", version);
            audit_json_string(stdout, when);
            printf(",\"took_effect_ms\":%" PRId64 ",\"sha256\":\"%s\",\"signed_by\":[", at_ms, hex);
            int k = 0;
            for (char *save = NULL, *s = strtok_r(signers, ",", &save); s;
                 s = strtok_r(NULL, ",", &save))
                printf("%s\"%s\"", k++ ? "," : "", s);
            printf("]}");
        } else
            printf("%-8" PRIu64 " %-22s %-64s %s\n", version, when, hex,
                   signers[0] ? signers : "(no signature files)");
        n++;
    }
    if (step != DB_DONE) {
        fprintf(stderr, "hartslag agreements: %s: %s\n", path, db_errmsg(db));
        rc = 1;
    }
    db_reset(st);
    if (json)
        puts("]");
    else if (n == 0)
        printf("(no version recorded yet)\n");
    db_close(&db);
    return rc;
}

int agreements_cmd_show(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"version", required_argument, NULL, 'v'},
        {"signature", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *version_text = NULL, *signer = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            path = optarg;
        else if (c == 'v')
            version_text = optarg;
        else if (c == 's')
            signer = optarg;
        else if (c == 'h')
            return s_usage(stdout, NULL), 0;
        else
            return s_usage(stderr, "show: unknown option");
    }
    char *end = NULL;
    unsigned long long version = version_text ? strtoull(version_text, &end, 10) : 0;
    if (!path || !version_text || !*version_text || *end || version == 0 || optind != argc)
        return s_usage(stderr, "show: --db BROKER.db and --version N (N >= 1) are required");
    db_t *db = s_open(path);
    if (!db)
        return 1;
    db_stmt_t *st = db_prepare(db, signer ? "SELECT s.signature FROM agreements_history h "
                                            "JOIN agreements_signatures s ON s.sha256=h.sha256 "
                                            "WHERE h.version=$1 AND s.signer=$2 "
                                            "ORDER BY h.seq DESC LIMIT 1"
                                          : "SELECT file FROM agreements_history WHERE "
                                            "version=$1 ORDER BY seq DESC LIMIT 1");
    int rc = 1;
    if (!st || db_bind_int64(st, 1, (int64_t)version) != 0 ||
        (signer && db_bind_text(st, 2, signer) != 0)) {
        fprintf(stderr, "hartslag agreements: %s holds no agreements history: %s\n", path,
                db_errmsg(db));
    } else {
        db_step_t step = db_step(st);
        size_t len = 0;
        const void *bytes = step == DB_ROW ? db_column_blob(st, 0, &len) : NULL;
        if (step == DB_ERROR)
            fprintf(stderr, "hartslag agreements: %s: %s\n", path, db_errmsg(db));
        else if (!bytes && signer)
            fprintf(stderr, "hartslag agreements: no signature of %s for version %llu in %s\n",
                    signer, version, path);
        else if (!bytes)
            fprintf(stderr, "hartslag agreements: version %llu was never in force at %s\n", version,
                    path);
        else if (fwrite(bytes, 1, len, stdout) == len && fflush(stdout) == 0)
            rc = 0;
        db_reset(st);
    }
    db_close(&db);
    return rc;
}
