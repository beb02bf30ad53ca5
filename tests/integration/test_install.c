/*  make install (mk/install.mk): a staged install into a temporary DESTDIR,
    the demo scenario run from the installed binaries and example
    configurations, the help texts of the installed binaries, the layout for
    other prefixes, uninstall, and `systemd-analyze verify` of the installed
    unit files. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAKE "/usr/bin/make"

static char *s_tmp;

static void s_setup(void)
{
    tu_watchdog(240);
    s_tmp = tu_tmpdir();
    cr_assert_not_null(s_tmp);
}

static void s_teardown(void)
{
    tu_rmtree(s_tmp);
    free(s_tmp);
}

TestSuite(install, .init = s_setup, .fini = s_teardown);

/* A path under the temporary directory (rotating static buffers). */
static const char *s_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *s_path(const char *fmt, ...)
{
    static char slots[8][4096];
    static int next;
    char *slot = slots[next++ % 8];
    int n = snprintf(slot, 4096, "%s/", s_tmp);
    va_list args;
    va_start(args, fmt);
    vsnprintf(slot + n, 4096 - (size_t)n, fmt, args);
    va_end(args);
    return slot;
}

static bool s_is_file(const char *path, mode_t mode)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode;
}

/* Runs `make install`-style TARGET with DESTDIR and PREFIX (NOBUILD: the
   binaries under test are HARTSLAG_BIN; nothing is rebuilt). Uses plain
   `make` once the top-level Makefile includes mk/install.mk, else adds the
   fragment with -f. Returns make's exit code; its stderr in *err. */
static int s_make(const char *target, const char *destdir, const char *prefix, const char *build,
                  char **err)
{
    char dest_arg[4200], prefix_arg[4200], build_arg[4200];
    snprintf(dest_arg, sizeof dest_arg, "DESTDIR=%s", destdir);
    snprintf(prefix_arg, sizeof prefix_arg, "PREFIX=%s", prefix);
    snprintf(build_arg, sizeof build_arg, "BUILD=%s", build ? build : tu_bin(""));
    char *probe[] = {MAKE, "-s", "-C", (char *)tu_src(), "-n", "NOBUILD=1", "install", NULL};
    bool included = tu_run(probe, NULL, NULL, NULL) == 0;
    char *with_include[] = {MAKE,           "-s",       "-C",     (char *)tu_src(),
                            "-f",           "Makefile", "-f",     "mk/install.mk",
                            "NOBUILD=1",    build_arg,  dest_arg, prefix_arg,
                            (char *)target, NULL};
    char *plain[] = {MAKE,      "-s",     "-C",       (char *)tu_src(), "NOBUILD=1",
                     build_arg, dest_arg, prefix_arg, (char *)target,   NULL};
    return tu_run(included ? plain : with_include, NULL, NULL, err);
}

static void s_install(const char *destdir, const char *prefix)
{
    char *err = NULL;
    int rc = s_make("install", destdir, prefix, NULL, &err);
    cr_assert_eq(rc, 0, "make install DESTDIR=%s PREFIX=%s failed: %s", destdir, prefix, err);
    free(err);
}

Test(install, layout_for_prefix_usr)
{
    const char *root = s_path("root");
    s_install(root, "/usr");
    const char *bins[] = {"hartslag", "hartslagd", "hartslag-broker", "hartslag-pseudonymd"};
    for (size_t i = 0; i < 4; i++)
        cr_assert(s_is_file(s_path("root/usr/bin/%s", bins[i]), 0755), "bin/%s", bins[i]);
    const char *examples[] = {"agreements", "broker", "gemeente", "politie", "welzijn", "woonpunt"};
    for (size_t i = 0; i < 6; i++)
        cr_assert(s_is_file(s_path("root/usr/share/hartslag/examples/%s.yaml", examples[i]), 0644),
                  "examples/%s.yaml", examples[i]);
    cr_assert(s_is_file(s_path("root/usr/share/hartslag/demo.sh"), 0755));
    cr_assert(s_is_file(s_path("root/usr/share/hartslag/scripts/demo.sh"), 0755));
    const char *docs[] = {"README.md",     "keys.md",       "daemon.md", "protocol.md",
                          "agreements.md", "operations.md", "docker.md"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        cr_assert(s_is_file(s_path("root/usr/share/doc/hartslag/%s", docs[i]), 0644), "doc %s",
                  docs[i]);
    for (size_t i = 0; i < 4; i++)
        cr_assert(s_is_file(s_path("root/usr/share/man/man1/%s.1", bins[i]), 0644), "man %s",
                  bins[i]);
    /* PREFIX=/usr: Debian's systemdsystemunitdir, ExecStart in /usr/bin. */
    char *unit = tu_read_file(s_path("root/lib/systemd/system/hartslag-broker.service"), NULL);
    cr_assert_not_null(unit);
    cr_assert(strstr(
        unit, "\nExecStart=/usr/bin/hartslag-broker --config /etc/hartslag/broker/broker.yaml"));
    cr_assert_null(strstr(unit, "/usr/local/"), "a /usr/local path left in the unit");
    free(unit);
    unit = tu_read_file(s_path("root/lib/systemd/system/hartslagd@.service"), NULL);
    cr_assert_not_null(unit);
    cr_assert(strstr(unit, "\nExecStart=/usr/bin/hartslagd --config /etc/hartslag/%i/%i.yaml"));
    free(unit);
    /* Nothing outside PREFIX and the unit directory: /etc and /var are the
       operator's (docs/operations.md). */
    struct stat st;
    cr_assert_neq(stat(s_path("root/etc"), &st), 0);
    cr_assert_neq(stat(s_path("root/var"), &st), 0);
}

/* Every link in an installed doc leads somewhere: relative ones to a file
   beside it, absolute ones into the installed tree (issue 13 F20: the
   installed operations.md pointed to ../keys/README.md). */
Test(install, installed_docs_link_only_to_installed_files)
{
    const char *root = s_path("links");
    s_install(root, "/usr");
    const char *docdir = s_path("links/usr/share/doc/hartslag");
    DIR *dir = opendir(docdir);
    cr_assert_not_null(dir);
    int links = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 4 || strcmp(entry->d_name + n - 3, ".md") != 0)
            continue;
        char path[8300];
        snprintf(path, sizeof path, "%s/%s", docdir, entry->d_name);
        char *text = tu_read_file(path, NULL);
        cr_assert_not_null(text);
        for (const char *p = text; (p = strstr(p, "](")) != NULL;) {
            p += 2;
            size_t len = strcspn(p, ")# \n");
            char target[1024];
            snprintf(target, sizeof target, "%.*s", (int)(len < 1000 ? len : 1000), p);
            p += len;
            if (!target[0] || strstr(target, "://") || strncmp(target, "mailto:", 7) == 0)
                continue;
            char resolved[9400];
            if (target[0] == '/')
                snprintf(resolved, sizeof resolved, "%s%s", root, target);
            else
                snprintf(resolved, sizeof resolved, "%s/%s", docdir, target);
            struct stat st;
            cr_assert_eq(stat(resolved, &st), 0, "%s links to %s, which is not installed",
                         entry->d_name, target);
            links++;
        }
        free(text);
    }
    closedir(dir);
    cr_assert_gt(links, 10, "only %d links checked", links);
}

Test(install, other_prefix_and_uninstall)
{
    const char *root = s_path("root");
    s_install(root, "/opt/hartslag");
    cr_assert(s_is_file(s_path("root/opt/hartslag/bin/hartslagd"), 0755));
    char *unit =
        tu_read_file(s_path("root/opt/hartslag/lib/systemd/system/hartslagd@.service"), NULL);
    cr_assert_not_null(unit, "units go to PREFIX/lib/systemd/system unless PREFIX is /usr");
    cr_assert(strstr(unit, "\nExecStart=/opt/hartslag/bin/hartslagd --config"));
    free(unit);
    char *err = NULL;
    cr_assert_eq(s_make("uninstall", root, "/opt/hartslag", NULL, &err), 0, "%s", err);
    free(err);
    char *out = NULL;
    char *find[] = {"/usr/bin/find", (char *)root, "-type", "f", NULL};
    cr_assert_eq(tu_run(find, NULL, &out, NULL), 0);
    cr_assert_str_empty(out, "left behind by make uninstall: %s", out);
    free(out);
}

Test(install, missing_binaries_are_reported)
{
    char *err = NULL;
    int rc = s_make("install-bin", s_path("root"), "/usr", s_path("nothing-built"), &err);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(err, "is missing: run 'make' first"), "%s", err);
    free(err);
}

/* The acceptance test: the demo scenario (scripts/demo.sh: keys, broker,
   daemons, signals, a denial, an offline partner, a case conference, a
   withdrawal) from the
   installed binaries and the installed example configurations. */
Test(install, demo_runs_from_the_installed_tree)
{
    const char *root = s_path("root");
    s_install(root, "/usr");
    char *argv[] = {(char *)s_path("root/usr/share/hartslag/demo.sh"), NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(argv, NULL, &out, &err);
    cr_assert_eq(rc, 0, "installed demo failed (%d):\n%s\n%s", rc, out, err);
    cr_assert(strstr(out, "1. Keys"), "%s", out);
    cr_assert(strstr(out, "denied as expected"), "%s", out);
    cr_assert(strstr(out, "Welzijn comes online"), "%s", out);
    /* the case conference: opened from the alert, closed with an outcome */
    cr_assert(strstr(out, ": open recorded by the broker"), "%s", out);
    cr_assert(strstr(out, ": plan recorded by the broker"), "%s", out);
    cr_assert(strstr(out, ": done recorded by the broker"), "%s", out);
    cr_assert(strstr(out, ": close recorded by the broker"), "%s", out);
    /* ... in the resident's letter, with its outcome, and in the figures */
    cr_assert(strstr(out, "Casuïstiekoverleg 1") && strstr(out, "zorg geregeld"), "%s", out);
    cr_assert(strstr(out, "all      outcome  zorg_geregeld"), "%s", out);
    cr_assert(strstr(out, "no BSN, address or content"), "%s", out);
    cr_assert(strstr(out, "Done: stopping"), "%s", out);
    free(out);
    free(err);
}

/* Every installed binary: --help and --version exit 0, --help documents the
   exit codes, an unknown flag is a usage error (2). */
Test(install, installed_binaries_document_themselves)
{
    const char *root = s_path("root");
    s_install(root, "/usr");
    const char *bins[] = {"hartslag", "hartslagd", "hartslag-broker", "hartslag-pseudonymd"};
    for (size_t i = 0; i < 4; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/usr/bin/%s", root, bins[i]);
        char *out = NULL;
        char *help[] = {path, "--help", NULL};
        cr_assert_eq(tu_run(help, NULL, &out, NULL), 0, "%s --help", bins[i]);
        cr_assert(strstr(out, "exit codes:"), "%s --help does not list its exit codes", bins[i]);
        free(out);
        char *version[] = {path, "--version", NULL};
        cr_assert_eq(tu_run(version, NULL, &out, NULL), 0, "%s --version", bins[i]);
        cr_assert(strncmp(out, bins[i], strlen(bins[i])) == 0, "%s --version: %s", bins[i], out);
        free(out);
        char *bad[] = {path, "--no-such-flag", NULL};
        cr_assert_eq(tu_run(bad, NULL, NULL, NULL), 2, "%s --no-such-flag", bins[i]);
    }
}

/* True when a line of `text` mentions `needle`. */
static bool s_mentions(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* systemd-analyze verify on the installed units, in the DESTDIR as root
   directory. The fake root gets what the units need from the host: the
   system's own units (targets) and /bin/kill (ExecReload). verify exits 0
   even for an unknown directive, so any message about our units fails. */
Test(install, systemd_analyze_verifies_the_units)
{
    const char *root = s_path("root");
    s_install(root, "/usr");
    cr_assert_eq(access("/usr/bin/systemd-analyze", X_OK), 0,
                 "systemd-analyze missing: run scripts/deps.sh (Debian package systemd)");
    char *mk[] = {"/bin/mkdir", "-p", (char *)s_path("root/usr/lib/systemd"),
                  (char *)s_path("root/bin"), NULL};
    cr_assert_eq(tu_run(mk, NULL, NULL, NULL), 0);
    char *cp_units[] = {"/bin/cp", "-r", "/lib/systemd/system",
                        (char *)s_path("root/usr/lib/systemd/"), NULL};
    cr_assert_eq(tu_run(cp_units, NULL, NULL, NULL), 0);
    char *cp_kill[] = {"/bin/cp", "/bin/kill", (char *)s_path("root/bin/kill"), NULL};
    cr_assert_eq(tu_run(cp_kill, NULL, NULL, NULL), 0);

    char root_arg[4200];
    snprintf(root_arg, sizeof root_arg, "--root=%s", root);
    char *verify[] = {"/usr/bin/systemd-analyze",
                      "verify",
                      "--man=no",
                      root_arg,
                      "/lib/systemd/system/hartslag-broker.service",
                      "/lib/systemd/system/hartslagd@politie.service",
                      "/lib/systemd/system/hartslag-pseudonymd.service",
                      NULL};
    char *out = NULL, *err = NULL;
    int rc = tu_run(verify, NULL, &out, &err);
    cr_assert_eq(rc, 0, "systemd-analyze verify failed:\n%s%s", out, err);
    cr_assert(!s_mentions(err, "hartslag") && !s_mentions(out, "hartslag"),
              "systemd-analyze verify complains:\n%s%s", out, err);
    free(out);
    free(err);

    /* The same check catches a misspelt directive and a missing binary. */
    char *unit = tu_read_file(s_path("root/lib/systemd/system/hartslag-broker.service"), NULL);
    cr_assert_not_null(unit);
    size_t len = strlen(unit) + 64;
    char *broken = malloc(len);
    cr_assert_not_null(broken);
    char *at = strstr(unit, "[Service]\n");
    cr_assert_not_null(at);
    at += strlen("[Service]\n");
    snprintf(broken, len, "%.*sProtectSystm=strict\n%s", (int)(at - unit), unit, at);
    cr_assert_eq(
        tu_write_file(s_path("root/lib/systemd/system/hartslag-typo.service"), broken, 0644), 0);
    free(broken);
    free(unit);
    char *verify_typo[] = {"/usr/bin/systemd-analyze",
                           "verify",
                           "--man=no",
                           root_arg,
                           "/lib/systemd/system/hartslag-typo.service",
                           NULL};
    rc = tu_run(verify_typo, NULL, &out, &err);
    cr_assert(s_mentions(err, "ProtectSystm"), "a typo went unnoticed (rc %d): %s", rc, err);
    free(out);
    free(err);
    cr_assert_eq(unlink(s_path("root/usr/bin/hartslag-broker")), 0);
    char *verify_nobin[] = {"/usr/bin/systemd-analyze",
                            "verify",
                            "--man=no",
                            root_arg,
                            "/lib/systemd/system/hartslag-broker.service",
                            NULL};
    rc = tu_run(verify_nobin, NULL, &out, &err);
    cr_assert(rc != 0 || s_mentions(err, "hartslag-broker"), "a missing binary went unnoticed");
    free(out);
    free(err);
}

/* The space-separated values of every `key=` line of a unit, one string
   (" v1 v2 … "), with %i replaced by `instance`. Caller frees. */
static char *s_unit_values(const char *unit, const char *key, const char *instance)
{
    size_t cap = strlen(unit) * 4 + 16;
    char *out = calloc(1, cap);
    cr_assert_not_null(out);
    size_t at = 0;
    out[at++] = ' ';
    size_t klen = strlen(key);
    for (const char *line = unit; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        for (const char *p = line + klen + 1; *p && *p != '\n'; p++) {
            if (p[0] == '%' && p[1] == 'i') {
                at += (size_t)snprintf(out + at, cap - at, "%s", instance);
                p++;
            } else
                out[at++] = *p;
        }
        out[at++] = ' ';
    }
    out[at] = '\0';
    return out;
}

/* True when `path` is `dir` or below it. */
static bool s_below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* True when a unit with these settings cannot see `path`: an
   InaccessiblePaths= entry covers it, or a TemporaryFileSystem= does and
   no Bind*Paths= entry brings it (or a parent of it) back. */
static bool s_hidden(const char *inaccessible, const char *tmpfs, const char *binds,
                     const char *path)
{
    char buf[4096], *save = NULL;
    snprintf(buf, sizeof buf, "%s", inaccessible);
    for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save))
        if (s_below(path, e[0] == '-' ? e + 1 : e))
            return true;
    bool covered = false;
    snprintf(buf, sizeof buf, "%s", tmpfs);
    for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(e, ':');
        if (colon)
            *colon = '\0';
        covered = covered || s_below(path, e);
    }
    if (!covered)
        return false;
    snprintf(buf, sizeof buf, "%s", binds);
    for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(e, ':'); /* SOURCE:DEST — the destination counts */
        const char *dest = colon ? colon + 1 : e;
        if (dest[0] == '-')
            dest++;
        if (s_below(path, dest) || s_below(dest, path))
            return false;
    }
    return true;
}

/* Issue 18 item 7: the broker and each daemon run as users of their own
   and neither can see the other's keys, pseudonym key, inbox or control
   socket, also when both run on one host. */
Test(install, units_run_broker_and_daemons_as_separate_users_in_separate_directories)
{
    const char *root = s_path("root");
    s_install(root, "/usr");
    char *broker = tu_read_file(s_path("root/lib/systemd/system/hartslag-broker.service"), NULL);
    char *daemon = tu_read_file(s_path("root/lib/systemd/system/hartslagd@.service"), NULL);
    cr_assert(broker && daemon);
    struct {
        const char *name, *text, *instance, *user, *own[2], *other[2];
    } units[] = {
        {"hartslag-broker.service",
         broker,
         "",
         " hartslag-broker ",
         {"/etc/hartslag/broker", "/var/lib/hartslag/broker"},
         {"/etc/hartslag/politie", "/var/lib/hartslag/politie"}},
        {"hartslagd@politie.service",
         daemon,
         "politie",
         " hartslagd-politie ",
         {"/etc/hartslag/politie", "/var/lib/hartslag/politie"},
         {"/etc/hartslag/broker", "/var/lib/hartslag/broker"}},
    };
    for (size_t u = 0; u < 2; u++) {
        char *user = s_unit_values(units[u].text, "User", units[u].instance);
        char *group = s_unit_values(units[u].text, "Group", units[u].instance);
        char *dynamic = s_unit_values(units[u].text, "DynamicUser", units[u].instance);
        cr_assert(strcmp(user, units[u].user) == 0 ||
                      (strstr(dynamic, "yes") && strcmp(user, " ") == 0),
                  "%s runs as%s, not as%s", units[u].name, user, units[u].user);
        cr_assert_str_eq(group, units[u].user, "%s: group%s", units[u].name, group);
        char *inaccessible = s_unit_values(units[u].text, "InaccessiblePaths", units[u].instance);
        char *tmpfs = s_unit_values(units[u].text, "TemporaryFileSystem", units[u].instance);
        char *binds_rw = s_unit_values(units[u].text, "BindPaths", units[u].instance);
        char *binds_ro = s_unit_values(units[u].text, "BindReadOnlyPaths", units[u].instance);
        char *state = s_unit_values(units[u].text, "StateDirectory", units[u].instance);
        char binds[8192];
        snprintf(binds, sizeof binds, "%s%s", binds_rw, binds_ro);
        for (int i = 0; i < 2; i++) {
            cr_assert(s_hidden(inaccessible, tmpfs, binds, units[u].other[i]), "%s can see %s",
                      units[u].name, units[u].other[i]);
            cr_assert(s_hidden(inaccessible, tmpfs, binds, "/etc/hartslag/keys"),
                      "%s can see the old shared keys directory", units[u].name);
            cr_assert_not(s_hidden(inaccessible, tmpfs, binds, units[u].own[i]),
                          "%s hides its own %s", units[u].name, units[u].own[i]);
        }
        /* Its state directory is the one it writes. */
        cr_assert(strstr(binds_rw, " /var/lib/hartslag/") || strstr(state, " hartslag/"),
                  "%s: no state directory", units[u].name);
        free(user);
        free(group);
        free(dynamic);
        free(inaccessible);
        free(tmpfs);
        free(binds_rw);
        free(binds_ro);
        free(state);
    }
    free(broker);
    free(daemon);
}

/* docs/operations.md explains every log event the broker and the daemon
   can write (log_event(…, "NAME", …) in broker/, "event=NAME" in
   clients/daemon/): an operator must be able to look up any line. */
Test(install, operations_guide_documents_every_log_event)
{
    char script[1024];
    snprintf(
        script, sizeof script,
        "cd '%s' && { perl -0777 -ne 'while (/log_event\\(\\s*[^,]+?,\\s*\"([a-z_]+)\"/sg) "
        "{ print \"$1\\n\" }' broker/*.c lib/*.c; "
        "grep -ohE '\"(partner_added|partner_revoked)\"' broker/*.c | tr -d '\"'; "
        "grep -ohE 's_alert_out\\([^\"]*\"[a-z_]+\"' broker/*.c | sed 's/.*\"\\(.*\\)\"/\\1/'; "
        "grep -ohE 'event=[a-z_]+' clients/daemon/*.c | sed 's/^event=//'; } | sort -u",
        tu_src());
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/docs/operations.md", tu_src());
    char *doc = tu_read_file(path, NULL);
    cr_assert_not_null(doc);
    size_t events = 0;
    for (char *save = NULL, *e = strtok_r(out, "\n", &save); e; e = strtok_r(NULL, "\n", &save)) {
        char needle[128];
        snprintf(needle, sizeof needle, "`%s`", e);
        cr_expect(strstr(doc, needle), "docs/operations.md does not explain the log event %s", e);
        events++;
    }
    cr_assert_gt(events, 40, "found only %zu events in the sources", events);
    free(doc);
    free(out);
}
