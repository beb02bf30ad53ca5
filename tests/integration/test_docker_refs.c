/*  docker/Dockerfile, docker/compose.yaml and docker/init-keys.sh refer only
    to binaries, flags, paths, environment variables and configuration keys
    that exist, and keep the hardening they promise. No Docker engine runs on
    the CI machine: the image's contents are checked against a staged
    `make install` with the Dockerfile's own variables, and the configurations
    the init service writes are loaded by the real broker, pseudonym service
    and daemons, each seeing only the volumes compose gives it. The OPRF key
    stays in the pseudonym service's volume, and no pseudonym key (retired in
    issue 17) is made or kept anywhere. */
#define _GNU_SOURCE /* asprintf */
#include "testutil.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

static char *s_tmp;
static yaml_document_t s_doc;
static yaml_node_t *s_services;

/* ----------------------------------------------------------- helpers */

static const char *s_src(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *s_src(const char *fmt, ...)
{
    static char slots[8][4096];
    static int next;
    char *slot = slots[next++ % 8];
    int n = snprintf(slot, 4096, "%s/", tu_src());
    va_list args;
    va_start(args, fmt);
    vsnprintf(slot + n, 4096 - (size_t)n, fmt, args);
    va_end(args);
    return slot;
}

static const char *s_tmppath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *s_tmppath(const char *fmt, ...)
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

static bool s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *s_read(const char *path)
{
    char *text = tu_read_file(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    return text;
}

/* ---------------------------------------------------------- YAML tree */

static const char *s_scalar(yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* Value of `key` in a mapping, following compose's `<<` merge keys. */
static yaml_node_t *s_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    yaml_node_t *merged = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = s_scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
        if (k && strcmp(k, "<<") == 0)
            merged = yaml_document_get_node(doc, p->value);
    }
    return merged ? s_get(doc, merged, key) : NULL;
}

static size_t s_len(yaml_node_t *seq)
{
    return seq && seq->type == YAML_SEQUENCE_NODE
               ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start)
               : 0;
}

static const char *s_item(yaml_document_t *doc, yaml_node_t *seq, size_t i)
{
    return s_scalar(yaml_document_get_node(doc, seq->data.sequence.items.start[i]));
}

static bool s_seq_has(yaml_document_t *doc, yaml_node_t *seq, const char *value)
{
    for (size_t i = 0; i < s_len(seq); i++)
        if (strcmp(s_item(doc, seq, i), value) == 0)
            return true;
    return false;
}

static int s_load(const char *path, yaml_document_t *doc)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return ok && yaml_document_get_root_node(doc) ? 0 : -1;
}

/* ------------------------------------------------ schemas and sources */

/* The configuration keys of a schema table: every `{"key", CONFIG_` in
   the C file, as " key1 key2 ... " (caller frees). */
static char *s_schema_keys(const char *file)
{
    char *text = s_read(file);
    size_t cap = 4096, len = 1;
    char *keys = calloc(1, cap);
    keys[0] = ' ';
    for (char *p = text; (p = strstr(p, "{\"")) != NULL; p += 2) {
        char *end = strchr(p + 2, '"');
        if (!end || strncmp(end, "\", CONFIG_", 10) != 0)
            continue;
        size_t n = (size_t)(end - (p + 2));
        cr_assert(len + n + 2 < cap);
        memcpy(keys + len, p + 2, n);
        len += n;
        keys[len++] = ' ';
    }
    free(text);
    cr_assert_gt(len, 10, "no CONFIG_ schema table found in %s", file);
    return keys;
}

static bool s_word_in(const char *words, const char *word)
{
    char pattern[256];
    snprintf(pattern, sizeof pattern, " %s ", word);
    return strstr(words, pattern) != NULL;
}

/* True when some .c file under clients/cli reads the environment variable. */
static bool s_cli_reads_env(const char *name)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "getenv(\"%s\")", name);
    char *argv[] = {"/bin/grep", "-rqF", pattern, (char *)s_src("clients/cli"), NULL};
    return tu_run(argv, NULL, NULL, NULL) == 0;
}

/* True when docker/init-keys.sh reads the variable (${NAME:-default}). */
static bool s_init_reads_env(const char *name)
{
    char *script = s_read(s_src("docker/init-keys.sh"));
    char pattern[128];
    snprintf(pattern, sizeof pattern, "${%s:-", name);
    bool found = strstr(script, pattern) != NULL;
    free(script);
    return found;
}

/* The `--help` output of a built binary (hartslag: of its subcommand). */
static char *s_help(const char *binary, const char *subcommand)
{
    char *argv[] = {(char *)tu_bin(binary), subcommand ? (char *)subcommand : "--help",
                    subcommand ? "--help" : NULL, NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0, "%s %s --help failed", binary,
                 subcommand ? subcommand : "");
    return out;
}

/* Checks one command line (argv from compose or a Dockerfile exec form):
   the program exists in the image, and every --flag is one its --help
   lists. `installed` is the staged image tree (/usr/local/bin). */
static void s_check_command(const char *where, char *const *argv, size_t argc)
{
    cr_assert_gt(argc, 0, "%s: empty command", where);
    const char *prog = argv[0];
    const char *built[] = {"hartslag", "hartslagd", "hartslag-broker", "hartslag-pseudonymd"};
    bool is_built = false;
    for (size_t i = 0; i < 4; i++)
        is_built = is_built || strcmp(prog, built[i]) == 0;
    if (strcmp(prog, "bash") == 0 || strcmp(prog, "sh") == 0)
        return; /* Essential in Debian: present in debian:12-slim */
    cr_assert(s_exists(s_tmppath("image/usr/local/bin/%s", prog)),
              "%s: '%s' is not in the image's /usr/local/bin", where, prog);
    if (!is_built)
        return;
    cr_assert_eq(access(tu_bin(prog), X_OK), 0, "%s: %s is not built", where, prog);
    const char *sub = NULL;
    if (strcmp(prog, "hartslag") == 0 && argc > 1 && argv[1][0] != '-')
        sub = argv[1];
    char *help = s_help(prog, sub);
    for (size_t i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        char flag[128];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(argv[i], "="), argv[i]);
        cr_assert(strstr(help, flag), "%s: %s has no flag %s (see its --help)", where, prog, flag);
    }
    if (sub) {
        char *top = s_help("hartslag", NULL);
        char needle[64];
        snprintf(needle, sizeof needle, "  %s ", sub);
        cr_assert(strstr(top, needle), "%s: hartslag has no command '%s'", where, sub);
        free(top);
    }
    free(help);
}

/* ---------------------------------------------------------- Dockerfile */

typedef struct {
    char *text;       /* the whole file, continuation lines joined */
    char *lines[256]; /* instructions, pointers into text */
    size_t n;         /* number of instructions */
} dockerfile_t;

static void s_dockerfile_load(dockerfile_t *df)
{
    memset(df, 0, sizeof *df);
    df->text = s_read(s_src("docker/Dockerfile"));
    /* Join "\\\n" continuations in place, then split into lines. */
    char *w = df->text;
    for (char *r = df->text; *r; r++) {
        if (r[0] == '\\' && r[1] == '\n') {
            r++;
            *w++ = ' ';
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
    for (char *line = df->text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        while (isspace((unsigned char)*line))
            line++;
        if (*line && *line != '#') {
            cr_assert_lt(df->n, 256);
            df->lines[df->n++] = line;
        }
        line = nl ? nl + 1 : NULL;
    }
}

/* The value of NAME=VALUE in a line, into out ("" when absent). */
static void s_assignment(const char *line, const char *name, char *out, size_t outlen)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", name);
    const char *at = strstr(line, pattern);
    out[0] = '\0';
    if (at) {
        at += strlen(pattern);
        snprintf(out, outlen, "%.*s", (int)strcspn(at, " \t"), at);
    }
}

/* Splits a JSON exec form ["a", "b"] into argv (pointers into a copy). */
static size_t s_exec_form(const char *json, char *copy, size_t copylen, char **argv, size_t max)
{
    snprintf(copy, copylen, "%s", json);
    size_t n = 0;
    for (char *p = copy; (p = strchr(p, '"')) != NULL && n < max;) {
        char *end = strchr(p + 1, '"');
        cr_assert_not_null(end, "unterminated string in %s", json);
        *end = '\0';
        argv[n++] = p + 1;
        p = end + 1;
    }
    return n;
}

/* ------------------------------------------------------------- setup */

static void s_setup(void)
{
    tu_watchdog(120);
    s_tmp = tu_tmpdir();
    cr_assert_not_null(s_tmp);
    cr_assert_eq(s_load(s_src("docker/compose.yaml"), &s_doc), 0,
                 "docker/compose.yaml is not valid YAML");
    s_services = s_get(&s_doc, yaml_document_get_root_node(&s_doc), "services");
    cr_assert_not_null(s_services, "compose.yaml has no services");
}

static void s_teardown(void)
{
    yaml_document_delete(&s_doc);
    if (!getenv("KEEP"))
        tu_rmtree(s_tmp);
    free(s_tmp);
}

TestSuite(docker_refs, .init = s_setup, .fini = s_teardown);

/* Stages the image's /usr/local exactly as the Dockerfile's build stage
   does: the same make targets and variables, plus its extra installs. */
static void s_stage_image(const dockerfile_t *df)
{
    const char *make_line = NULL, *extra = NULL;
    for (size_t i = 0; i < df->n; i++)
        if (strncmp(df->lines[i], "RUN ", 4) == 0 && strstr(df->lines[i], "mk/install.mk")) {
            make_line = strstr(df->lines[i], "make -f Makefile -f mk/install.mk");
            extra = strstr(df->lines[i], "install -m 0755 docker/");
        }
    cr_assert_not_null(make_line, "the Dockerfile does not install with mk/install.mk");
    char destdir[256], prefix[256];
    s_assignment(make_line, "DESTDIR", destdir, sizeof destdir);
    s_assignment(make_line, "PREFIX", prefix, sizeof prefix);
    cr_assert_str_eq(destdir, "/out");
    cr_assert_str_eq(prefix, "/usr/local");
    /* The install targets named on the line. */
    char *argv[32] = {"/usr/bin/make", "-s",       "-C", (char *)tu_src(), "-f", "Makefile", "-f",
                      "mk/install.mk", "NOBUILD=1"};
    size_t argc = 9;
    char build_arg[4200], dest_arg[4200];
    snprintf(build_arg, sizeof build_arg, "BUILD=%s", tu_bin(""));
    snprintf(dest_arg, sizeof dest_arg, "DESTDIR=%s", s_tmppath("image"));
    argv[argc++] = build_arg;
    argv[argc++] = dest_arg;
    argv[argc++] = "PREFIX=/usr/local";
    char targets[1024];
    snprintf(targets, sizeof targets, "%.*s", (int)strcspn(make_line, "&"), make_line);
    for (char *save = NULL, *t = strtok_r(targets, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (strncmp(t, "install", 7) == 0 && argc < 31)
            argv[argc++] = t;
    cr_assert_gt(argc, 12, "no install targets in the Dockerfile");
    argv[argc] = NULL;
    char *err = NULL;
    cr_assert_eq(tu_run(argv, NULL, NULL, &err), 0, "staging the image failed: %s", err);
    free(err);
    /* `install -m 0755 docker/X.sh /out/usr/local/bin/NAME` */
    cr_assert_not_null(extra, "the Dockerfile does not install the init script");
    char script[256], dest[256];
    cr_assert_eq(sscanf(extra, "install -m 0755 %255s %255s", script, dest), 2);
    cr_assert(s_exists(s_src("%s", script)), "the Dockerfile installs %s, which is missing",
              script);
    cr_assert_eq(strncmp(dest, "/out/usr/local/bin/", 19), 0);
    char *cp[] = {"/bin/cp", (char *)s_src("%s", script),
                  (char *)s_tmppath("image/usr/local/bin/%s", dest + 19), NULL};
    cr_assert_eq(tu_run(cp, NULL, NULL, NULL), 0);
}

/* ------------------------------------------------------------- tests */

Test(docker_refs, dockerfile_references_exist)
{
    dockerfile_t df;
    s_dockerfile_load(&df);
    s_stage_image(&df);
    size_t froms = 0;
    bool user_made = false, user_set = false, healthcheck = false;
    for (size_t i = 0; i < df.n; i++) {
        const char *line = df.lines[i];
        if (strncmp(line, "FROM ", 5) == 0) {
            froms++;
            cr_assert(strncmp(line + 5, "debian:12 ", 10) == 0 ||
                          strncmp(line + 5, "debian:12-slim", 14) == 0,
                      "not Debian 12: %s", line);
        } else if (strncmp(line, "COPY ", 5) == 0) {
            char a[512], b[512], c[512];
            if (strncmp(line, "COPY --from=build ", 18) == 0) {
                cr_assert_eq(sscanf(line + 18, "%511s %511s", a, b), 2);
                cr_assert_eq(strncmp(a, "/out/", 5), 0, "%s", line);
                cr_assert(s_exists(s_tmppath("image/%s", a + 5)), "not installed: %s", a);
            } else {
                cr_assert_eq(sscanf(line + 5, "%511s %511s", a, b), 2, "%s", line);
                cr_assert_eq(sscanf(line + 5, "%511s %511s %511s", a, b, c), 2, "%s", line);
                cr_assert(s_exists(s_src("%s", a)), "COPY of a missing path: %s", a);
            }
        } else if (strncmp(line, "RUN scripts/deps.sh", 19) == 0) {
            cr_assert_eq(access(s_src("scripts/deps.sh"), X_OK), 0);
        } else if (strncmp(line, "RUN ", 4) == 0 && strstr(line, "useradd")) {
            user_made = strstr(line, "--uid 10001") && strstr(line, "--gid hartslag") &&
                        strstr(line, " hartslag ");
        } else if (strncmp(line, "USER ", 5) == 0) {
            user_set = strcmp(line + 5, "hartslag") == 0;
        } else if (strncmp(line, "HEALTHCHECK ", 12) == 0 || strncmp(line, "CMD ", 4) == 0) {
            const char *json = strchr(line, '[');
            cr_assert_not_null(json, "use the exec form: %s", line);
            char copy[1024], *argv[32];
            size_t argc = s_exec_form(json, copy, sizeof copy, argv, 32);
            s_check_command(line, argv, argc);
            if (line[0] == 'H') {
                healthcheck = true;
                cr_assert(argc >= 2 && strcmp(argv[0], "hartslag") == 0 &&
                          strcmp(argv[1], "status") == 0);
            }
        } else if (strncmp(line, "EXPOSE ", 7) == 0) {
            cr_assert_str_eq(line + 7, "7455 7456", "the broker's and the pseudonym service's");
        }
    }
    cr_assert_eq(froms, 2, "a build stage and a runtime stage");
    cr_assert(user_made && user_set, "a non-root user hartslag, uid 10001");
    cr_assert(healthcheck);
    free(df.text);
}

/* The runtime stage installs the Debian package of every shared library
   the built binaries need (readelf NEEDED -> dpkg -S). */
Test(docker_refs, runtime_stage_has_every_needed_library)
{
    dockerfile_t df;
    s_dockerfile_load(&df);
    const char *apt = NULL;
    for (size_t i = 0; i < df.n; i++)
        if (strstr(df.lines[i], "apt-get install") &&
            strstr(df.lines[i], "--no-install-recommends"))
            apt = df.lines[i];
    cr_assert_not_null(apt, "no apt-get install --no-install-recommends in the runtime stage");
    const char *bins[] = {"hartslag", "hartslagd", "hartslag-broker", "hartslag-pseudonymd"};
    for (size_t b = 0; b < 4; b++) {
        char *out = NULL;
        char *readelf[] = {"/usr/bin/readelf", "-d", (char *)tu_bin(bins[b]), NULL};
        cr_assert_eq(tu_run(readelf, NULL, &out, NULL), 0);
        for (char *p = out; (p = strstr(p, "Shared library: [")) != NULL;) {
            p += strlen("Shared library: [");
            char soname[128], pattern[160];
            snprintf(soname, sizeof soname, "%.*s", (int)strcspn(p, "]"), p);
            if (strncmp(soname, "libc.so", 7) == 0 || strncmp(soname, "libm.so", 7) == 0 ||
                strncmp(soname, "ld-linux", 8) == 0)
                continue; /* libc6: always there */
            if (strstr(soname, "asan") || strstr(soname, "ubsan"))
                continue; /* a sanitizer build */
            snprintf(pattern, sizeof pattern, "*/%s", soname);
            char *dpkg_out = NULL;
            char *dpkg[] = {"/usr/bin/dpkg-query", "-S", pattern, NULL};
            cr_assert_eq(tu_run(dpkg, NULL, &dpkg_out, NULL), 0, "no package has %s", soname);
            char package[128], needle[160];
            snprintf(package, sizeof package, "%.*s", (int)strcspn(dpkg_out, ":"), dpkg_out);
            snprintf(needle, sizeof needle, " %s ", package);
            cr_assert(strstr(apt, needle), "%s needs %s (package %s), not in: %s", bins[b], soname,
                      package, apt);
            free(dpkg_out);
        }
        free(out);
    }
    free(df.text);
}

/* The services and their hardening. */
Test(docker_refs, compose_services_are_hardened)
{
    const char *expected[] = {"init", "broker", "pseudonymd", "gemeente", "politie", "welzijn"};
    for (size_t i = 0; i < 6; i++)
        cr_assert_not_null(s_get(&s_doc, s_services, expected[i]), "no service %s", expected[i]);
    const char *image = NULL;
    for (yaml_node_pair_t *p = s_services->data.mapping.pairs.start;
         p < s_services->data.mapping.pairs.top; p++) {
        const char *name = s_scalar(yaml_document_get_node(&s_doc, p->key));
        yaml_node_t *svc = yaml_document_get_node(&s_doc, p->value);
        const char *img = s_scalar(s_get(&s_doc, svc, "image"));
        cr_assert_not_null(img, "%s: no image", name);
        if (image)
            cr_assert_str_eq(img, image, "%s: one image for every service", name);
        image = img;
        cr_assert(s_seq_has(&s_doc, s_get(&s_doc, svc, "cap_drop"), "ALL"), "%s: cap_drop ALL",
                  name);
        cr_assert_str_eq(s_scalar(s_get(&s_doc, svc, "read_only")), "true", "%s: read_only", name);
        cr_assert(s_seq_has(&s_doc, s_get(&s_doc, svc, "security_opt"), "no-new-privileges:true"),
                  "%s: no-new-privileges", name);
        yaml_node_t *tmpfs = s_get(&s_doc, svc, "tmpfs");
        cr_assert(s_len(tmpfs) > 0 && strncmp(s_item(&s_doc, tmpfs, 0), "/tmp", 4) == 0,
                  "%s: tmpfs on /tmp", name);
        yaml_node_t *memlock = s_get(&s_doc, s_get(&s_doc, svc, "ulimits"), "memlock");
        const char *soft = s_scalar(s_get(&s_doc, memlock, "soft"));
        const char *hard = s_scalar(s_get(&s_doc, memlock, "hard"));
        cr_assert(soft && hard && strtoull(soft, NULL, 10) >= 16u << 20 &&
                      strtoull(hard, NULL, 10) >= strtoull(soft, NULL, 10),
                  "%s: memlock ulimit of at least 16 MiB", name);
        const char *user = s_scalar(s_get(&s_doc, svc, "user"));
        if (strcmp(name, "init") == 0) {
            /* Root only to chown, with just those capabilities. */
            yaml_node_t *add = s_get(&s_doc, svc, "cap_add");
            for (size_t i = 0; i < s_len(add); i++) {
                const char *cap = s_item(&s_doc, add, i);
                cr_assert(strcmp(cap, "CHOWN") == 0 || strcmp(cap, "DAC_OVERRIDE") == 0 ||
                              strcmp(cap, "FOWNER") == 0,
                          "init: unexpected capability %s", cap);
            }
            yaml_node_t *build = s_get(&s_doc, svc, "build");
            cr_assert_str_eq(s_scalar(s_get(&s_doc, build, "context")), "..");
            cr_assert(s_exists(s_src("%s", s_scalar(s_get(&s_doc, build, "dockerfile")))));
        } else {
            cr_assert_str_eq(user, "10001:10001", "%s runs as the image's hartslag user", name);
            cr_assert_null(s_get(&s_doc, svc, "cap_add"), "%s adds capabilities", name);
            cr_assert_null(s_get(&s_doc, svc, "privileged"), "%s", name);
        }
    }
}

/* Volumes: declared, secrets read-only, each service sees only its own
   secrets: the OPRF key's volume only init and the pseudonym service. */
Test(docker_refs, compose_volumes)
{
    yaml_node_t *declared = s_get(&s_doc, yaml_document_get_root_node(&s_doc), "volumes");
    cr_assert_not_null(declared);
    cr_assert_not_null(s_get(&s_doc, declared, "keys-pseudonymd"));
    size_t oprf_mounts = 0;
    for (yaml_node_pair_t *p = s_services->data.mapping.pairs.start;
         p < s_services->data.mapping.pairs.top; p++) {
        const char *name = s_scalar(yaml_document_get_node(&s_doc, p->key));
        yaml_node_t *volumes = s_get(&s_doc, yaml_document_get_node(&s_doc, p->value), "volumes");
        bool init = strcmp(name, "init") == 0, state = false, own_keys = false;
        for (size_t i = 0; i < s_len(volumes); i++) {
            char spec[512], *parts[3] = {spec, NULL, NULL};
            snprintf(spec, sizeof spec, "%s", s_item(&s_doc, volumes, i));
            size_t n = 1;
            for (char *c = spec; *c && n < 3; c++)
                if (*c == ':') {
                    *c = '\0';
                    parts[n++] = c + 1;
                }
            cr_assert_geq(n, 2, "%s: volume %s", name, spec);
            cr_assert_not_null(s_get(&s_doc, declared, parts[0]), "%s: undeclared volume %s", name,
                               parts[0]);
            bool ro = n == 3 && strcmp(parts[2], "ro") == 0;
            if (strncmp(parts[0], "keys-", 5) == 0) {
                if (strcmp(parts[0], "keys-pseudonymd") == 0) {
                    cr_assert(init || strcmp(name, "pseudonymd") == 0,
                              "%s mounts the pseudonym service's keys (the OPRF key)", name);
                    oprf_mounts++;
                }
                if (init) {
                    char want[600];
                    snprintf(want, sizeof want, "/secrets/%s", parts[0] + 5);
                    cr_assert_str_eq(parts[1], want);
                    continue;
                }
                cr_assert_str_eq(parts[0] + 5, name, "%s mounts another's secrets (%s)", name,
                                 parts[0]);
                cr_assert_str_eq(parts[1], "/etc/hartslag/keys");
                cr_assert(ro, "%s: secrets must be mounted read-only", name);
                own_keys = true;
            } else if (strcmp(parts[0], "config") == 0) {
                cr_assert_str_eq(parts[1], "/etc/hartslag");
                cr_assert(init || ro, "%s: the configuration must be read-only", name);
            } else if (strncmp(parts[0], "state-", 6) == 0) {
                cr_assert_str_eq(parts[0] + 6, name, "%s mounts another's state", name);
                cr_assert_str_eq(parts[1], "/var/lib/hartslag");
                state = true;
            } else {
                cr_assert_fail("%s: unexpected volume %s", name, parts[0]);
            }
        }
        if (!init)
            cr_assert(state && own_keys, "%s: needs its state and its keys", name);
    }
    cr_assert_eq(oprf_mounts, 2, "init and pseudonymd mount keys-pseudonymd, nobody else");
}

/* The start order: the pseudonym service after init, every daemon after
   the broker and the pseudonym service (a daemon without its service holds
   every new signal back as "waiting for a pseudonym"). */
Test(docker_refs, compose_start_order)
{
    yaml_node_t *init = s_get(&s_doc, s_services, "init");
    const char *orgs = s_scalar(s_get(&s_doc, s_get(&s_doc, init, "environment"), "HARTSLAG_ORGS"));
    cr_assert_not_null(orgs);
    yaml_node_t *psd =
        s_get(&s_doc, s_get(&s_doc, s_get(&s_doc, s_services, "pseudonymd"), "depends_on"), "init");
    cr_assert_str_eq(s_scalar(s_get(&s_doc, psd, "condition")), "service_completed_successfully",
                     "pseudonymd must wait for the init service");
    char words[256];
    snprintf(words, sizeof words, "%s", orgs);
    size_t n = 0;
    for (char *save = NULL, *org = strtok_r(words, " ", &save); org;
         org = strtok_r(NULL, " ", &save), n++) {
        yaml_node_t *deps = s_get(&s_doc, s_get(&s_doc, s_services, org), "depends_on");
        cr_assert_not_null(deps, "%s has no depends_on", org);
        const char *needs[] = {"init", "broker", "pseudonymd"};
        for (size_t i = 0; i < 3; i++) {
            const char *cond = s_scalar(s_get(&s_doc, s_get(&s_doc, deps, needs[i]), "condition"));
            cr_assert_not_null(cond, "%s does not wait for %s", org, needs[i]);
            cr_assert_str_eq(cond, i == 0 ? "service_completed_successfully" : "service_started",
                             "%s: depends_on %s", org, needs[i]);
        }
    }
    cr_assert_gt(n, 0);
}

/* Commands, health checks, environment and --config files. */
Test(docker_refs, compose_commands_and_environment)
{
    dockerfile_t df;
    s_dockerfile_load(&df);
    s_stage_image(&df);
    free(df.text);
    yaml_node_t *init = s_get(&s_doc, s_services, "init");
    const char *orgs = s_scalar(s_get(&s_doc, s_get(&s_doc, init, "environment"), "HARTSLAG_ORGS"));
    cr_assert_not_null(orgs);
    char org_words[256];
    snprintf(org_words, sizeof org_words, " %s ", orgs);
    for (yaml_node_pair_t *p = s_services->data.mapping.pairs.start;
         p < s_services->data.mapping.pairs.top; p++) {
        const char *name = s_scalar(yaml_document_get_node(&s_doc, p->key));
        yaml_node_t *svc = yaml_document_get_node(&s_doc, p->value);
        const char *lists[] = {"command", "healthcheck"};
        for (size_t l = 0; l < 2; l++) {
            yaml_node_t *seq = s_get(&s_doc, svc, lists[l]);
            if (l == 1) {
                if (s_get(&s_doc, seq, "disable"))
                    continue;
                seq = s_get(&s_doc, seq, "test");
            }
            cr_assert_gt(s_len(seq), 0, "%s: no %s", name, lists[l]);
            char *argv[32];
            size_t argc = 0;
            for (size_t i = l == 1 ? 1 : 0; i < s_len(seq) && argc < 32; i++)
                argv[argc++] = (char *)s_item(&s_doc, seq, i);
            if (l == 1)
                cr_assert_str_eq(s_item(&s_doc, seq, 0), "CMD", "%s: healthcheck exec form", name);
            char where[128];
            snprintf(where, sizeof where, "compose service %s %s", name, lists[l]);
            s_check_command(where, argv, argc);
            /* --config names a file the init service writes. */
            for (size_t i = 0; i + 1 < argc; i++)
                if (strcmp(argv[i], "--config") == 0) {
                    char want[128];
                    snprintf(want, sizeof want, "/etc/hartslag/%s.yaml", name);
                    cr_assert_str_eq(argv[i + 1], want, "%s", where);
                    bool written = strcmp(name, "broker") == 0
                                       ? strcmp(argv[0], "hartslag-broker") == 0
                                   : strcmp(name, "pseudonymd") == 0
                                       ? strcmp(argv[0], "hartslag-pseudonymd") == 0
                                       : s_word_in(org_words, name);
                    cr_assert(written, "%s: the init service writes no %s", where, want);
                }
        }
        yaml_node_t *env = s_get(&s_doc, svc, "environment");
        for (yaml_node_pair_t *e = env ? env->data.mapping.pairs.start : NULL;
             env && e < env->data.mapping.pairs.top; e++) {
            const char *var = s_scalar(yaml_document_get_node(&s_doc, e->key));
            const char *value = s_scalar(yaml_document_get_node(&s_doc, e->value));
            if (strcmp(name, "init") == 0) {
                cr_assert(s_init_reads_env(var), "init: docker/init-keys.sh ignores %s", var);
            } else {
                cr_assert(s_cli_reads_env(var), "%s: the hartslag CLI does not read %s", name, var);
                if (strcmp(var, "HARTSLAG_CONFIG") == 0) {
                    char want[128];
                    snprintf(want, sizeof want, "/etc/hartslag/%s.yaml", name);
                    cr_assert_str_eq(value, want);
                }
            }
        }
    }
}

/* ------------------------------------- the init service, run for real */

/* Starts argv with stderr into `log`; returns the pid. */
static pid_t s_spawn(char *const argv[], const char *log)
{
    return tu_spawn(argv, "/dev/null", log, false, NULL);
}

static bool s_wait_for(const char *log, const char *text, int tenths)
{
    for (int i = 0; i < tenths; i++) {
        char *content = tu_read_file(log, NULL);
        bool found = content && strstr(content, text);
        free(content);
        if (found)
            return true;
        usleep(100000);
    }
    return false;
}

/* The container view of one service: /etc/hartslag from the config volume
   with its own secret volume at keys/ (copies, as Docker mounts them). */
static const char *s_view(const char *service)
{
    const char *view = s_tmppath("view-%s", service);
    char *cp[] = {"/bin/cp", "-r", (char *)s_tmppath("etc"), (char *)view, NULL};
    cr_assert_eq(tu_run(cp, NULL, NULL, NULL), 0);
    char *rm[] = {"/bin/rm", "-rf", (char *)s_tmppath("view-%s/keys", service), NULL};
    cr_assert_eq(tu_run(rm, NULL, NULL, NULL), 0);
    char *cpk[] = {"/bin/cp", "-rp", (char *)s_tmppath("secrets/%s", service),
                   (char *)s_tmppath("view-%s/keys", service), NULL};
    cr_assert_eq(tu_run(cpk, NULL, NULL, NULL), 0);
    return view;
}

/* Every key of a written configuration is in the binary's schema, and
   none is retired: the daemon's schema still names pseudonym_key, only to
   refuse it. */
static void s_check_config_keys(const char *file, const char *schema)
{
    yaml_document_t doc;
    cr_assert_eq(s_load(file, &doc), 0, "%s is not YAML", file);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    cr_assert_eq(root->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *key = s_scalar(yaml_document_get_node(&doc, p->key));
        cr_assert(key && s_word_in(schema, key), "%s: unknown configuration key '%s'", file, key);
        cr_assert(strcmp(key, "pseudonym_key") != 0, "%s names the retired pseudonym_key", file);
    }
    yaml_document_delete(&doc);
}

/* The value of a top-level key of a written configuration (caller frees),
   or NULL. */
static char *s_config_value(const char *file, const char *key)
{
    yaml_document_t doc;
    cr_assert_eq(s_load(file, &doc), 0, "%s is not YAML", file);
    const char *value = s_scalar(s_get(&doc, yaml_document_get_root_node(&doc), key));
    char *copy = value ? strdup(value) : NULL;
    yaml_document_delete(&doc);
    return copy;
}

/* Runs the image's hartslag-init-keys as compose does (every variable of
   the init service's environment), with the paths moved into s_tmp and the
   image's examples (a staged install). Its stderr into *err. */
static int s_run_init(char **err)
{
    static char vars[24][4200];
    char *argv[32] = {"/usr/bin/env"};
    size_t argc = 1, n = 0;
    yaml_node_t *env = s_get(&s_doc, s_get(&s_doc, s_services, "init"), "environment");
    cr_assert_not_null(env);
    for (yaml_node_pair_t *e = env->data.mapping.pairs.start; e < env->data.mapping.pairs.top;
         e++) {
        cr_assert_lt(n, 16, "init: too many environment variables for this test");
        snprintf(vars[n], sizeof vars[n], "%s=%s", s_scalar(yaml_document_get_node(&s_doc, e->key)),
                 s_scalar(yaml_document_get_node(&s_doc, e->value)));
        argv[argc++] = vars[n++];
    }
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_CLI=%s", tu_bin("hartslag"));
    argv[argc++] = vars[n++];
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_ETC=%s", s_tmppath("etc"));
    argv[argc++] = vars[n++];
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_SECRETS=%s", s_tmppath("secrets"));
    argv[argc++] = vars[n++];
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_STATE=%s", s_tmppath("state"));
    argv[argc++] = vars[n++];
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_EXAMPLES=%s",
             s_tmppath("image/usr/local/share/hartslag/examples"));
    argv[argc++] = vars[n++];
    /* As root the script hands the files to the image's uid 10001; here to
       whoever runs the test, who then runs the services. */
    snprintf(vars[n], sizeof vars[n], "HARTSLAG_OWNER=%u:%u", (unsigned)getuid(),
             (unsigned)getgid());
    argv[argc++] = vars[n++];
    argv[argc++] = (char *)s_tmppath("image/usr/local/bin/hartslag-init-keys");
    argv[argc] = NULL;
    return tu_run(argv, NULL, NULL, err);
}

/* The paths of the files under `dir` whose name matches `pattern`, one a
   line ("" when none; caller frees). */
static char *s_find(const char *dir, const char *pattern)
{
    char *argv[] = {"/usr/bin/find", (char *)dir, "-name", (char *)pattern, NULL};
    char *out = NULL;
    cr_assert_eq(tu_run(argv, NULL, &out, NULL), 0, "find %s", dir);
    return out;
}

/* Mode bits of a path (-1 when missing). */
static int s_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The value of `secret-key = "..."` in the service's OPRF key file: the
   bytes that must be in its volume only. */
static void s_oprf_secret_value(const char *file, char *out, size_t outlen)
{
    char *text = s_read(file);
    const char *at = strstr(text, "secret-key = \"");
    cr_assert_not_null(at, "%s has no secret-key", file);
    at += strlen("secret-key = \"");
    size_t len = strcspn(at, "\"");
    cr_assert_gt(len, 20);
    cr_assert_lt(len, outlen);
    memcpy(out, at, len);
    out[len] = '\0';
    sodium_memzero(text, strlen(text));
    free(text);
}

/* The compose view of the pseudonym service's config with bind moved to a
   free loopback port (it has no --bind flag; scripts/demo.sh does the
   same). */
static void s_rebind(const char *config)
{
    char *text = s_read(config);
    char *line = strstr(text, "\nbind: ");
    cr_assert_not_null(line, "%s has no bind", config);
    char *rest = strchr(line + 1, '\n');
    cr_assert_not_null(rest);
    char *rewritten = NULL;
    cr_assert_gt(
        asprintf(&rewritten, "%.*s\nbind: tcp://127.0.0.1:*%s", (int)(line - text), text, rest), 0);
    cr_assert_eq(unlink(config), 0);
    cr_assert_eq(tu_write_file(config, rewritten, 0644), 0);
    free(rewritten);
    free(text);
}

/* The endpoint=... of a service's "event=started" log line. */
static void s_started_endpoint(const char *log_path, char *out, size_t outlen)
{
    char *log = s_read(log_path);
    const char *at = strstr(log, "event=started");
    cr_assert_not_null(at);
    at = strstr(at, "endpoint=");
    cr_assert_not_null(at, "%s", log);
    snprintf(out, outlen, "%.*s", (int)strcspn(at + 9, " \n"), at + 9);
    free(log);
}

/* A configuration the init service keeps while a file from before issue 17
   is around, or while the pseudonym service's keys are incomplete, would
   start daemons that refuse to run or a service with a new OPRF key: the
   script refuses instead, and says why. */
Test(docker_refs, init_service_refuses_retired_or_partial_pseudonym_keys)
{
    tu_watchdog(120);
    dockerfile_t df;
    s_dockerfile_load(&df);
    s_stage_image(&df);
    free(df.text);
    char *err = NULL;
    cr_assert_eq(s_run_init(&err), 0, "init-keys failed: %s", err);
    free(err);

    /* A partner's volume still holding the retired shared key. */
    const char *old_key = s_tmppath("secrets/politie/pseudonym.key");
    cr_assert_eq(tu_write_file(old_key, "an old pseudonym key\n", 0600), 0);
    cr_assert_neq(s_run_init(&err), 0, "init-keys kept a retired pseudonym key");
    cr_assert(strstr(err, "pseudonym.key") && strstr(err, "retired"), "%s", err);
    free(err);
    cr_assert_eq(unlink(old_key), 0);

    /* A daemon configuration from before, naming pseudonym_key. */
    const char *config = s_tmppath("etc/welzijn.yaml");
    char *text = s_read(config);
    char *old_config = NULL;
    cr_assert_gt(asprintf(&old_config, "%spseudonym_key: keys/pseudonym.key\n", text), 0);
    cr_assert_eq(unlink(config), 0);
    cr_assert_eq(tu_write_file(config, old_config, 0644), 0);
    cr_assert_neq(s_run_init(&err), 0, "init-keys kept a configuration naming pseudonym_key");
    cr_assert(strstr(err, "welzijn.yaml") && strstr(err, "pseudonym_service"), "%s", err);
    free(err);
    cr_assert_eq(unlink(config), 0);
    cr_assert_eq(tu_write_file(config, text, 0644), 0);
    free(old_config);
    free(text);
    cr_assert_eq(s_run_init(&err), 0, "init-keys failed after the cleanup: %s", err);
    free(err);

    /* The service's OPRF key lost, its other keys there: never replaced
       silently (a new key gives every subject a new pseudonym). */
    char *found = s_find(s_tmppath("secrets/pseudonymd"), "*.oprf_secret");
    char oprf[4200];
    snprintf(oprf, sizeof oprf, "%.*s", (int)strcspn(found, "\n"), found);
    free(found);
    cr_assert_eq(unlink(oprf), 0, "no OPRF key in the service's volume");
    cr_assert_neq(s_run_init(&err), 0, "init-keys replaced a lost OPRF key");
    cr_assert(strstr(err, "only some"), "%s", err);
    free(err);
    cr_assert_not(s_exists(oprf), "init-keys made a new OPRF key");
}

Test(docker_refs, init_service_writes_working_configurations)
{
    tu_watchdog(120);
    dockerfile_t df;
    s_dockerfile_load(&df);
    s_stage_image(&df);
    free(df.text);
    yaml_node_t *init = s_get(&s_doc, s_services, "init");
    yaml_node_t *env = s_get(&s_doc, init, "environment");
    const char *orgs = s_scalar(s_get(&s_doc, env, "HARTSLAG_ORGS"));
    const char *bind = s_scalar(s_get(&s_doc, env, "HARTSLAG_BROKER_BIND"));
    const char *endpoint = s_scalar(s_get(&s_doc, env, "HARTSLAG_BROKER_ENDPOINT"));
    const char *psd_bind = s_scalar(s_get(&s_doc, env, "HARTSLAG_PSEUDONYM_BIND"));
    const char *psd_endpoint = s_scalar(s_get(&s_doc, env, "HARTSLAG_PSEUDONYM_ENDPOINT"));
    const char *psd_org = s_scalar(s_get(&s_doc, env, "HARTSLAG_PSEUDONYM_ORG"));
    cr_assert_str_eq(bind, "tcp://0.0.0.0:7455", "inside compose the broker binds every interface");
    cr_assert_str_eq(endpoint, "tcp://broker:7455", "the partners reach the service 'broker'");
    cr_assert_str_eq(psd_bind, "tcp://0.0.0.0:7456",
                     "inside compose the pseudonym service binds every interface");
    cr_assert_str_eq(psd_endpoint, "tcp://pseudonymd:7456",
                     "the partners reach the service 'pseudonymd'");
    cr_assert_not_null(psd_org);

    /* Twice: idempotent. */
    char *err = NULL;
    cr_assert_eq(s_run_init(&err), 0, "init-keys failed: %s", err);
    free(err);
    char *before = s_read(s_tmppath("secrets/politie/politie.cert_secret"));
    char *oprf_before = s_read(s_tmppath("secrets/pseudonymd/%s.oprf_secret", psd_org));
    cr_assert_eq(s_run_init(&err), 0, "second init-keys run failed: %s", err);
    cr_assert(strstr(err, "kept"), "%s", err);
    free(err);
    char *after = s_read(s_tmppath("secrets/politie/politie.cert_secret"));
    char *oprf_after = s_read(s_tmppath("secrets/pseudonymd/%s.oprf_secret", psd_org));
    cr_assert_str_eq(before, after, "a second run replaced keys");
    cr_assert_str_eq(oprf_before, oprf_after, "a second run replaced the OPRF key");
    sodium_memzero(before, strlen(before));
    sodium_memzero(after, strlen(after));
    sodium_memzero(oprf_before, strlen(oprf_before));
    sodium_memzero(oprf_after, strlen(oprf_after));
    free(before);
    free(after);
    free(oprf_before);
    free(oprf_after);

    /* No pseudonym key anywhere; the OPRF key in the service's volume only,
       by name and by content; every secret 0600, every secret volume 0700. */
    char *found = s_find(s_tmp, "pseudonym.key");
    cr_assert_str_eq(found, "", "a pseudonym key was made: %s", found);
    free(found);
    found = s_find(s_tmppath("secrets"), "*.oprf_secret");
    char want[4200];
    snprintf(want, sizeof want, "%s\n", s_tmppath("secrets/pseudonymd/%s.oprf_secret", psd_org));
    cr_assert_str_eq(found, want, "the OPRF key must be in the service's volume only");
    free(found);
    found = s_find(s_tmppath("etc"), "*_secret");
    cr_assert_str_eq(found, "", "a secret in the public config volume: %s", found);
    free(found);
    char oprf_value[128];
    s_oprf_secret_value(s_tmppath("secrets/pseudonymd/%s.oprf_secret", psd_org), oprf_value,
                        sizeof oprf_value);
    char volumes[256];
    snprintf(volumes, sizeof volumes, "broker %s", orgs);
    for (char *save = NULL, *v = strtok_r(volumes, " ", &save); v; v = strtok_r(NULL, " ", &save))
        cr_assert_not(tu_dir_contains(s_tmppath("secrets/%s", v), oprf_value, strlen(oprf_value)),
                      "the volume keys-%s holds the OPRF key", v);
    cr_assert_not(tu_dir_contains(s_tmppath("etc"), oprf_value, strlen(oprf_value)),
                  "the config volume holds the OPRF key");
    sodium_memzero(oprf_value, sizeof oprf_value);
    const char *psd_files[] = {"cert_secret", "oprf_secret"};
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(s_mode(s_tmppath("secrets/pseudonymd/%s.%s", psd_org, psd_files[i])), 0600,
                     "%s.%s is not 0600", psd_org, psd_files[i]);
    cr_assert_eq(s_mode(s_tmppath("secrets/pseudonymd")), 0700);
    cr_assert_eq(s_mode(s_tmppath("secrets/broker")), 0700);
    cr_assert_eq(s_mode(s_tmppath("etc/pseudonymd.cert")), 0644);
    /* The certificate the daemons check answers against is the service's. */
    char *cert = s_read(s_tmppath("etc/pseudonymd.cert"));
    char *own = s_read(s_tmppath("secrets/pseudonymd/%s.cert", psd_org));
    cr_assert_str_eq(cert, own, "pseudonymd.cert is not the service's certificate");
    free(cert);
    free(own);

    char *broker_schema = s_schema_keys(s_src("lib/broker_config_schema.h"));
    char *daemon_schema = s_schema_keys(s_src("clients/daemon/config_schema.h"));
    s_check_config_keys(s_tmppath("etc/broker.yaml"), broker_schema);

    /* The broker as its container sees it, on a free loopback port. */
    const char *bview = s_view("broker");
    char bconfig[4200], bstate[4200];
    snprintf(bconfig, sizeof bconfig, "%s/broker.yaml", bview);
    snprintf(bstate, sizeof bstate, "%s", s_tmppath("state-broker"));
    char *bargv[] = {(char *)tu_bin("hartslag-broker"),
                     "--config",
                     bconfig,
                     "--bind",
                     "tcp://127.0.0.1:*",
                     "--state-dir",
                     bstate,
                     NULL};
    const char *blog = s_tmppath("broker.log");
    pid_t broker = s_spawn(bargv, blog);
    cr_assert(s_wait_for(blog, "event=started", 100), "the broker did not start");
    char endpoint_now[256];
    s_started_endpoint(blog, endpoint_now, sizeof endpoint_now);

    /* The pseudonym service as its container sees it: its store in its
       state volume (which the image creates, 0700), on a free port. */
    const char *pview = s_view("pseudonymd");
    char pconfig[4200];
    snprintf(pconfig, sizeof pconfig, "%s/pseudonymd.yaml", pview);
    char *store = s_config_value(pconfig, "store");
    char *coordinator = s_config_value(pconfig, "coordinator");
    char *psd_org_config = s_config_value(pconfig, "org");
    cr_assert_not_null(store);
    cr_assert_str_eq(store, s_tmppath("state/pseudonymd.db"), "the store is in its state volume");
    cr_assert_str_eq(coordinator, s_scalar(s_get(&s_doc, env, "HARTSLAG_COORDINATOR")),
                     "limit alerts go to the coordinator");
    cr_assert_str_eq(psd_org_config, psd_org);
    free(store);
    free(coordinator);
    free(psd_org_config);
    cr_assert_eq(mkdir(s_tmppath("state"), 0700), 0);
    s_rebind(pconfig);
    char *pargv[] = {(char *)tu_bin("hartslag-pseudonymd"), "--config", pconfig, NULL};
    const char *plog = s_tmppath("pseudonymd.log");
    pid_t service = s_spawn(pargv, plog);
    cr_assert(s_wait_for(plog, "event=started", 100), "the pseudonym service did not start");
    char service_now[256];
    s_started_endpoint(plog, service_now, sizeof service_now);
    cr_assert(s_exists(s_tmppath("state/pseudonymd.db")), "the service made no store");

    char words[256];
    snprintf(words, sizeof words, "%s", orgs);
    pid_t daemons[8];
    size_t n = 0;
    for (char *save = NULL, *org = strtok_r(words, " ", &save); org && n < 8;
         org = strtok_r(NULL, " ", &save)) {
        const char *view = s_view(org);
        char config[4200], dstate[4200], dlog[4200];
        snprintf(config, sizeof config, "%s/%s.yaml", view, org);
        s_check_config_keys(config, daemon_schema);
        char *service_endpoint = s_config_value(config, "pseudonym_service");
        char *service_cert = s_config_value(config, "pseudonym_service_cert");
        cr_assert_not_null(service_endpoint, "%s: no pseudonym_service", org);
        cr_assert_not_null(service_cert, "%s: no pseudonym_service_cert", org);
        cr_assert_str_eq(service_endpoint, psd_endpoint, "%s", org);
        char cert_path[4200];
        snprintf(cert_path, sizeof cert_path, "%s/%s", view, service_cert);
        cr_assert(s_exists(cert_path), "%s: %s is not in its view", org, service_cert);
        free(service_endpoint);
        free(service_cert);
        snprintf(dstate, sizeof dstate, "%s", s_tmppath("state-%s", org));
        snprintf(dlog, sizeof dlog, "%s", s_tmppath("%s.log", org));
        char *check[] = {(char *)tu_bin("hartslagd"),
                         "--config",
                         config,
                         "--state-dir",
                         dstate,
                         "--broker",
                         endpoint_now,
                         "--pseudonym-service",
                         service_now,
                         "--check",
                         NULL};
        char *cerr = NULL;
        cr_assert_eq(tu_run(check, NULL, NULL, &cerr), 0, "hartslagd --check (%s): %s", org, cerr);
        free(cerr);
        char *dargv[] = {(char *)tu_bin("hartslagd"),
                         "--config",
                         config,
                         "--state-dir",
                         dstate,
                         "--broker",
                         endpoint_now,
                         "--pseudonym-service",
                         service_now,
                         NULL};
        daemons[n++] = s_spawn(dargv, dlog);
        cr_assert(s_wait_for(dlog, "event=connected", 100), "%s did not connect", org);
        /* The health check, as compose runs it (HARTSLAG_CONFIG names the
           config; here the state dir moved, so the CLI gets it directly). */
        char *status[] = {(char *)tu_bin("hartslag"), "status", "--state-dir", dstate, NULL};
        char *out = NULL;
        cr_assert_eq(tu_run(status, NULL, &out, NULL), 0, "hartslag status (%s): %s", org, out);
        free(out);
    }
    /* A signal with a subject: the daemon blinds it, the service evaluates
       it and the daemon checks the proof against pseudonymd.cert. Accepted
       by the broker only with a verified pseudonym. */
    char org_words[256];
    snprintf(org_words, sizeof org_words, " %s ", orgs);
    cr_assert(s_word_in(org_words, "politie"), "the example signal is the police's");
    char *send[] = {(char *)tu_bin("hartslag"),
                    "send",
                    "--state-dir",
                    (char *)s_tmppath("state-politie"),
                    "--user",
                    "agent-4711",
                    "--to",
                    (char *)s_scalar(s_get(&s_doc, env, "HARTSLAG_COORDINATOR")),
                    "--type",
                    "overlast",
                    "--purpose",
                    "casusoverleg",
                    "--subject-address",
                    "6411 AB 12a",
                    "--field",
                    "adres=Voorbeeldstraat 12a, 6411 AB Heerlen",
                    "--field",
                    "datum=2026-03-02",
                    "--field",
                    "categorie=geluidsoverlast",
                    "--wait",
                    "--timeout",
                    "30",
                    NULL};
    char *out = NULL, *serr = NULL;
    cr_assert_eq(tu_run(send, NULL, &out, &serr), 0, "hartslag send through the service: %s %s",
                 out, serr);
    free(out);
    free(serr);
    for (size_t i = 0; i < n; i++) {
        kill(daemons[i], SIGTERM);
        int status;
        waitpid(daemons[i], &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a daemon did not stop cleanly");
    }
    int status;
    kill(service, SIGTERM);
    waitpid(service, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the pseudonym service did not stop cleanly");
    kill(broker, SIGTERM);
    waitpid(broker, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the broker did not stop cleanly");
    free(broker_schema);
    free(daemon_schema);
}
