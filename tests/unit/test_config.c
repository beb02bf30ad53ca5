/*  config: flat YAML configuration with exact error positions. */
#include "config.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const config_key_t s_schema[] = {
    {"bind", CONFIG_STRING, true, "tcp://127.0.0.1:7455"},
    {"state_dir", CONFIG_STRING, true, NULL},
    {"max_rate", CONFIG_UINT, false, "100"},
    {"verbose", CONFIG_BOOL, false, "false"},
};
#define N_KEYS (sizeof s_schema / sizeof s_schema[0])

static char *s_dir;

static void s_setup(void)
{
    s_dir = tu_tmpdir();
}

static void s_teardown(void)
{
    tu_rmtree(s_dir);
    free(s_dir);
}

TestSuite(config, .init = s_setup, .fini = s_teardown);

static config_t *s_load(const char *text, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/c.yaml", s_dir);
    remove(path);
    cr_assert_eq(tu_write_file(path, text, 0644), 0);
    return config_load(path, s_schema, N_KEYS, err, errlen);
}

Test(config, reads_values_defaults_and_paths)
{
    char err[1200], out[4096];
    config_t *config =
        s_load("# broker\nstate_dir: state\nmax_rate: 250\nverbose: true\n", err, sizeof err);
    cr_assert_not_null(config, "%s", err);
    cr_assert_str_eq(config_string(config, "bind"), "tcp://127.0.0.1:7455");
    cr_assert_eq(config_uint(config, "max_rate"), 250);
    cr_assert(config_bool(config, "verbose"));
    cr_assert_eq(config_check(config, err, sizeof err), 0);
    char expect[4200];
    snprintf(expect, sizeof expect, "%s/state", s_dir);
    cr_assert_str_eq(config_path(config, "state_dir", out, sizeof out), expect);
    cr_assert_eq(config_set(config, "state_dir", "/abs/dir", err, sizeof err), 0);
    cr_assert_str_eq(config_path(config, "state_dir", out, sizeof out), "/abs/dir");
    cr_assert_eq(config_set(config, "max_rate", "x1", err, sizeof err), -1);
    cr_assert(strstr(err, "whole number"));
    cr_assert_eq(config_set(config, "nope", "1", err, sizeof err), -1);
    cr_assert_null(config_string(config, "nope"));
    config_destroy(&config);
    cr_assert_null(config);
}

static void s_refuses(const char *text, const char *expect)
{
    char err[1200] = "";
    config_t *config = s_load(text, err, sizeof err);
    cr_assert_null(config, "accepted: %s", text);
    cr_assert(strstr(err, expect), "error '%s' lacks '%s'", err, expect);
}

Test(config, errors_carry_line_and_column)
{
    s_refuses("state_dir: s\nbnd: x\n", "c.yaml:2:1: unknown key 'bnd'");
    s_refuses("state_dir: s\nmax_rate: many\n", "c.yaml:2:11: max_rate: expected a whole number");
    s_refuses("state_dir: s\nverbose: yes please\n", ":2:10: verbose: expected true or false");
    s_refuses("state_dir: s\nstate_dir: t\n", ":2:1: duplicate key 'state_dir'");
    s_refuses("state_dir: [a, b]\n", ":1:12: 'state_dir' must have a single value");
    s_refuses("- a\n- b\n", ":1:1: expected 'key: value' lines");
    s_refuses("state_dir: &x s\nbind: *x\n", "anchors and aliases");
    s_refuses("state_dir: 's\n", "c.yaml:");
    s_refuses("max_rate: 99999999999999999999999\n", "whole number");
}

Test(config, missing_required_is_reported)
{
    char err[1200];
    config_t *config = s_load("max_rate: 3\n", err, sizeof err);
    cr_assert_not_null(config, "%s", err);
    cr_assert_eq(config_check(config, err, sizeof err), -1);
    cr_assert(strstr(err, "missing required setting 'state_dir'"), "%s", err);
    config_destroy(&config);
    cr_assert_null(config_load("/nonexistent.yaml", s_schema, N_KEYS, err, sizeof err));
}
