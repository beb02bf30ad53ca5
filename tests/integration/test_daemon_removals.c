/*  Issue 13 B4: a signal that leaves a recipient's inbox (withdrawn by its
    sender, purged after retention) is told to the recipient's own systems:
    the hook gets {"kind":"withdrawn"|"purged",...} (ids and reasons only,
    retried like a signal) and `hartslag watch --json` prints it. The hook
    is the example one from examples/gemeente.yaml, so the case system's
    import file loses the signal. Real broker, real daemons. */
#define _GNU_SOURCE /* memmem */
#include "daemon_harness.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BSN "123456782"
#define CANARY "CANARY-removal-4c1e"

static bh_t *s_bh;
static dh_t *s_gemeente, *s_politie;

/* The `hook: |` block of examples/gemeente.yaml, as YAML lines. */
static char *s_example_hook(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/examples/gemeente.yaml", tu_src());
    char *yaml = tu_read_file(path, NULL);
    cr_assert_not_null(yaml, "cannot read %s", path);
    char *start = strstr(yaml, "\nhook: |\n");
    cr_assert_not_null(start, "examples/gemeente.yaml has no 'hook: |' block");
    start++;
    char *end = start + strlen("hook: |\n");
    while (strncmp(end, "  ", 2) == 0)
        end = strchr(end, '\n') + 1;
    char *block = strndup(start, (size_t)(end - start));
    free(yaml);
    return block;
}

static void s_setup(void)
{
    tu_watchdog(90);
    const char *orgs[] = {"gemeente", "politie", "welzijn", "woonpunt"};
    s_bh = bh_new(orgs, 4, bh_default_agreements);
    cr_assert_not_null(s_bh);
    cr_assert_eq(bh_start(s_bh, NULL), 0, "broker did not start");
    char *hook = s_example_hook();
    char extra[8192];
    snprintf(extra, sizeof extra, "%sretention_check: 1\n", hook);
    free(hook);
    s_gemeente = dh_new(s_bh, "gemeente", NULL, extra);
    s_politie = dh_new(s_bh, "politie", NULL, NULL);
    cr_assert(s_gemeente && s_politie);
    dh_t *both[] = {s_gemeente, s_politie};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(dh_start(both[i]), 0, "%s did not start:\n%s", both[i]->org, dh_log(both[i]));
        cr_assert(dh_wait_log(both[i], "event=connected", 10000), "%s did not connect:\n%s",
                  both[i]->org, dh_log(both[i]));
    }
}

static void s_teardown(void)
{
    dh_destroy(&s_gemeente);
    dh_destroy(&s_politie);
    bh_destroy(&s_bh);
}

TestSuite(removals, .init = s_setup, .fini = s_teardown);

static const char *s_fields[] = {"adres=Kanaalstraat 5, 6411 AB Heerlen", "datum=2026-03-01",
                                 "categorie=" CANARY, NULL};

/* A file in gemeente's state dir (the hook's working directory). */
static char *s_state_file(const char *name)
{
    char path[4700];
    snprintf(path, sizeof path, "%s/%s", s_gemeente->state, name);
    return tu_read_file(path, NULL);
}

/* Polls until the file `name` in gemeente's state dir holds `needle`
   (and, when `gone` is given, no longer holds it). */
static bool s_wait_file(const char *name, const char *needle, const char *gone)
{
    for (int i = 0; i < 150; i++) {
        char *text = s_state_file(name);
        bool done = text && strstr(text, needle) && (!gone || !strstr(text, gone));
        free(text);
        if (done)
            return true;
        usleep(100000);
    }
    return false;
}

/* A signal from politie, stored by gemeente and handed to its case system. */
static void s_delivered(char id[33])
{
    cr_assert_eq(
        dh_send(s_politie, "gemeente", "overlast", "casusoverleg", BSN, s_fields, NULL, true, id),
        0, "send failed:\n%s", dh_log(s_politie));
    cr_assert(s_wait_file("zaaksysteem-import.jsonl", id, NULL),
              "the hook did not import the signal:\n%s", dh_log(s_gemeente));
}

/* Which of gemeente's database files hold `needle`: bit 0 hartslagd.db,
   bit 1 hartslagd.db-wal. */
static int s_db_holds(const char *needle)
{
    const char *files[] = {"hartslagd.db", "hartslagd.db-wal"};
    int found = 0;
    for (int i = 0; i < 2; i++) {
        char path[4700];
        snprintf(path, sizeof path, "%s/%s", s_gemeente->state, files[i]);
        size_t len = 0;
        char *bytes = tu_read_file(path, &len);
        if (bytes && memmem(bytes, len, needle, strlen(needle)))
            found |= 1 << i;
        free(bytes);
    }
    return found;
}

/* secure_delete wipes a removed signal from hartslagd.db, but its pages
   stayed in hartslagd.db-wal while the daemon ran and after a crash
   (issue 18 item 9). After a withdrawal commits, the WAL is checkpointed
   and truncated. */
Test(removals, a_withdrawn_signal_leaves_no_content_in_the_database_or_its_wal)
{
    char id[33];
    s_delivered(id);
    cr_assert_neq(s_db_holds(CANARY), 0, "positive control: the inbox holds the content");
    char *err = NULL;
    int rc = dh_cli(s_politie, NULL, NULL, &err, "withdraw", id, "--reason", "unjustified",
                    (char *)NULL);
    cr_assert_eq(rc, 0, "withdraw failed: %s", err);
    free(err);
    cr_assert(dh_wait_log(s_gemeente, "event=signal_withdrawn", 10000), "%s", dh_log(s_gemeente));
    /* The daemon runs on. */
    int held = 0;
    for (int i = 0; i < 50 && (held = s_db_holds(CANARY)) != 0; i++)
        usleep(100000);
    cr_assert_eq(held, 0, "withdrawn content still in %s while the daemon runs",
                 held & 2 ? "hartslagd.db-wal" : "hartslagd.db");
    /* A crash leaves nothing either. */
    dh_stop(s_gemeente, SIGKILL);
    held = s_db_holds(CANARY);
    cr_assert_eq(held, 0, "withdrawn content in %s after a crash",
                 held & 2 ? "hartslagd.db-wal" : "hartslagd.db");
}

Test(removals, a_withdrawal_reaches_the_hook_and_watch)
{
    char path[4700];
    snprintf(path, sizeof path, "%s/watch.out", s_gemeente->dir);
    char *watch[] = {(char *)tu_bin("hartslag"), "watch", "--json", "--state-dir",
                     s_gemeente->state,          NULL};
    pid_t pid = tu_spawn(watch, path, NULL, false, NULL);
    char id[33];
    s_delivered(id);
    char *err = NULL;
    int rc = dh_cli(s_politie, NULL, NULL, &err, "withdraw", id, "--reason", "unjustified",
                    (char *)NULL);
    cr_assert_eq(rc, 0, "withdraw failed: %s", err);
    free(err);
    /* The case system took the signal out of its import file. */
    bool removed = s_wait_file("zaaksysteem-removed.jsonl", id, NULL);
    char *import = s_state_file("zaaksysteem-import.jsonl");
    char *note = s_state_file("zaaksysteem-removed.jsonl");
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        char *text = tu_read_file(path, NULL);
        seen = text && strstr(text, "\"kind\":\"withdrawn\"") && strstr(text, id);
        free(text);
        if (!seen)
            usleep(100000);
    }
    kill(pid, SIGINT);
    waitpid(pid, NULL, 0);
    char *watched = tu_read_file(path, NULL);
    cr_assert(removed, "the hook never heard of the withdrawal:\n%s", dh_log(s_gemeente));
    cr_assert(import && !strstr(import, id), "the signal is still in the case system: %s",
              import ? import : "");
    cr_assert(strstr(note, "\"kind\":\"withdrawn\"") &&
                  strstr(note, "\"reason\":\"unjustified\"") &&
                  strstr(note, "\"sender\":\"politie\""),
              "%s", note);
    cr_assert_null(strstr(note, CANARY), "content in a withdrawal event: %s", note);
    cr_assert(seen, "watch --json printed no withdrawal: %s", watched ? watched : "");
    free(import);
    free(note);
    free(watched);
}

Test(removals, a_retention_purge_reaches_the_hook)
{
    char id[33];
    s_delivered(id);
    /* The retention period ends now (retention_check is 1 s here). */
    char db_path[4700], sql[300];
    snprintf(db_path, sizeof db_path, "%s/hartslagd.db", s_gemeente->state);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(sql, sizeof sql, "UPDATE inbox SET retain_until_ms = 1 WHERE signal_id = '%s'", id);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    cr_assert(s_wait_file("zaaksysteem-removed.jsonl", "\"kind\":\"purged\"", NULL),
              "the hook never heard of the purge:\n%s", dh_log(s_gemeente));
    char *note = s_state_file("zaaksysteem-removed.jsonl");
    cr_assert(strstr(note, id) && strstr(note, "\"reason\":\"retention\""), "%s", note);
    free(note);
    char *import = s_state_file("zaaksysteem-import.jsonl");
    cr_assert(import && !strstr(import, id), "the purged signal is still in the case system");
    free(import);
    /* Nor in the database or its WAL (issue 18 item 9). */
    int held = s_db_holds(CANARY);
    cr_assert_eq(held, 0, "purged content still in %s",
                 held & 2 ? "hartslagd.db-wal" : "hartslagd.db");
}

/* The hook's news of a withdrawal survives a failing hook and a restart:
   it is kept in the database and retried until the hook takes it. */
Test(removals, a_failed_withdrawal_event_is_retried_after_a_restart)
{
    /* welzijn's hook fails on removals until the file "ok" exists. */
    dh_t *welzijn = dh_new(s_bh, "welzijn", NULL,
                           "hook: |\n"
                           "  line=$(cat)\n"
                           "  case \"$line\" in\n"
                           "  '{\"kind\":\"withdrawn\"'*) [ -f ok ] || exit 4 ;;\n"
                           "  esac\n"
                           "  printf '%s\\n' \"$line\" >> events.jsonl\n");
    cr_assert_not_null(welzijn);
    cr_assert_eq(dh_start(welzijn), 0, "%s", dh_log(welzijn));
    cr_assert(dh_wait_log(welzijn, "event=connected", 10000), "%s", dh_log(welzijn));
    char id[33];
    cr_assert_eq(
        dh_send(s_politie, "welzijn", "overlast", "casusoverleg", BSN, s_fields, NULL, true, id), 0,
        "send failed:\n%s", dh_log(s_politie));
    cr_assert(dh_wait_inbox(welzijn, 1, 10000), "%s", dh_log(welzijn));
    char *err = NULL;
    cr_assert_eq(
        dh_cli(s_politie, NULL, NULL, &err, "withdraw", id, "--reason", "resolved", (char *)NULL),
        0, "%s", err);
    free(err);
    cr_assert(dh_wait_log(welzijn, "event=hook_failed", 10000), "%s", dh_log(welzijn));
    cr_assert(dh_log_count(welzijn, "kind=withdrawn why=exit:4") >= 1, "%s", dh_log(welzijn));
    dh_stop(welzijn, SIGTERM);
    char ok[4700], events[4700];
    snprintf(ok, sizeof ok, "%s/ok", welzijn->state);
    snprintf(events, sizeof events, "%s/events.jsonl", welzijn->state);
    cr_assert_eq(tu_write_file(ok, "", 0600), 0);
    cr_assert_eq(dh_start(welzijn), 0, "%s", dh_log(welzijn));
    bool told = false;
    for (int i = 0; i < 150 && !told; i++) {
        char *text = tu_read_file(events, NULL);
        told = text && strstr(text, "\"kind\":\"withdrawn\"") && strstr(text, id) &&
               strstr(text, "\"reason\":\"resolved\"");
        free(text);
        if (!told)
            usleep(100000);
    }
    char *log = dh_log(welzijn);
    dh_destroy(&welzijn);
    cr_assert(told, "the withdrawal never reached the hook after the restart:\n%s", log);
    free(log);
}
