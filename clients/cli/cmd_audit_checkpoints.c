/*  hartslag audit checkpoints: the checkpoints, without anything else.

    --config DAEMON.yaml --out FILE   at a partner: a witness file of the
                                      checkpoints its daemon holds (and
                                      refused), for `audit verify --witness`,
                                      instead of a copy of hartslagd.db
                                      (which holds the decrypted inbox)
    --list --db BROKER_DB [--json]    the checkpoint sizes the broker stored:
                                      what `audit prove --from` accepts

    The witness format is in audit_witness.h and docs/audit-format.md. */
#include "audit_witness.h"
#include "audit_read.h"
#include "cmd_audit.h"
#include "commands.h"

#include "../daemon/config_schema.h"
#include "audit_store.h"
#include "config.h"
#include "db.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_ZONE "Europe/Amsterdam"
#define S_ZONE_FILE "/usr/share/zoneinfo/" S_ZONE
#define S_PATH_MAX 4096

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hartslag audit checkpoints --config DAEMON.yaml --out FILE\n"
                 "       hartslag audit checkpoints --list --db BROKER_DB [--json]\n\n"
                 "--out writes a witness file: only the audit checkpoints the partner's daemon\n"
                 "holds and the ones it refused, nothing of its inbox. Give it to the privacy\n"
                 "officer for 'hartslag audit verify --witness FILE'. The file is created with\n"
                 "mode 0600; an existing file is not overwritten.\n"
                 "--list shows the checkpoints of a copy of the broker's broker.db: their sizes\n"
                 "(what 'hartslag audit prove --from SIZE' accepts) and when they were signed\n"
                 "(local time, " S_ZONE ").\n"
                 "exit codes: 0 done, 1 failure, 2 usage error\n");
}

/* "2026-03-01 13:00:00 CET" in S_ZONE (UTC when the zone is not installed). */
static void s_local_time(int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(out, outlen, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
        snprintf(out, outlen, "?");
}

/* One line (or JSON object) per checkpoint. */
typedef struct {
    bool json;  /* JSON array instead of a table */
    uint64_t n; /* printed so far */
} s_list_t;

static int s_list_one(void *arg, uint64_t size, const char *note, size_t len, int64_t ms)
{
    (void)note;
    (void)len;
    s_list_t *list = arg;
    char when[64];
    s_local_time(ms, when, sizeof when);
    if (list->json)
        printf("%s{\"size\":%llu,\"signed_ms\":%lld,\"signed\":\"%s\"}", list->n ? "," : "",
               (unsigned long long)size, (long long)ms, when);
    else
        printf("%-12llu %s\n", (unsigned long long)size, when);
    list->n++;
    return 0;
}

static int s_list(const char *db_path, bool json)
{
    struct stat st;
    bool zone = stat(S_ZONE_FILE, &st) == 0;
    setenv("TZ", zone ? S_ZONE : "UTC", 1);
    tzset();
    char why[512];
    db_t *db = db_open(db_path, DB_READONLY, why, sizeof why);
    audit_store_t *store = db ? audit_store_open(db, false, why, sizeof why) : NULL;
    uint64_t count = 0;
    int rc = 1;
    /* Read once before printing: a file without the table says so. */
    if (!store || audit_store_checkpoint_count(store, &count) != 0) {
        char shown[1024];
        db_location_shown(db_path, shown, sizeof shown); /* no password */
        fprintf(stderr, "hartslag audit checkpoints: cannot read checkpoints from %s: %s — %s\n",
                shown, db && store ? db_errmsg(db) : why, audit_read_db_hint(db_path));
        goto done;
    }
    if (!zone)
        fprintf(stderr,
                "hartslag audit checkpoints: time zone %s is not installed: times are "
                "in UTC\n",
                S_ZONE);
    if (json)
        printf("[");
    else
        printf("%-12s %s\n", "size", "signed");
    s_list_t list = {json, 0};
    int step = audit_store_checkpoints_each(store, s_list_one, &list);
    if (json)
        printf("]\n");
    if (step != 0) {
        fprintf(stderr, "hartslag audit checkpoints: cannot read %s: %s\n", db_path, db_errmsg(db));
        goto done;
    }
    if (!json)
        fprintf(stderr, "%llu checkpoint%s\n", (unsigned long long)list.n, list.n == 1 ? "" : "s");
    rc = 0;
done:
    audit_store_destroy(&store);
    db_close(&db);
    return rc;
}

static int s_export(const char *config_file, const char *out_path)
{
    char err[AUDIT_WITNESS_ERR_MAX], state[S_PATH_MAX], db_path[S_PATH_MAX + 32];
    config_t *conf =
        config_load(config_file, daemon_config_schema, DAEMON_CONFIG_KEYS, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "hartslag audit checkpoints: %s\n", err);
        return 1;
    }
    const char *dir = config_path(conf, "state_dir", state, sizeof state);
    char org[128];
    snprintf(org, sizeof org, "%s", config_string(conf, "org") ? config_string(conf, "org") : "");
    config_destroy(&conf);
    if (!dir) {
        fprintf(stderr, "hartslag audit checkpoints: %s has no state_dir\n", config_file);
        return 1;
    }
    snprintf(db_path, sizeof db_path, "%s/hartslagd.db", state);
    uint64_t count = 0, exchanges = 0;
    if (audit_witness_export(db_path, org, out_path, &count, &exchanges, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag audit checkpoints: %s\n", err);
        return 1;
    }
    printf("%llu checkpoint%s and %llu exchange%s of %s written to %s (mode 0600); give it to "
           "the privacy officer for 'hartslag audit verify --witness'\n",
           (unsigned long long)count, count == 1 ? "" : "s", (unsigned long long)exchanges,
           exchanges == 1 ? "" : "s", org, out_path);
    return 0;
}

int audit_cmd_checkpoints(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *out = NULL, *db = NULL;
    bool list = false, json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'l':
            list = true;
            break;
        case 'd':
            db = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    if (list && db && !config && !out)
        return s_list(db, json);
    if (!list && config && out && !db && !json)
        return s_export(config, out);
    s_usage(stderr);
    return EXIT_USAGE;
}
