/*  pseudonymd/settings: pseudonymd.yaml, strict. */
#include "settings.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(pseudonymd_settings, .init = s_setup, .fini = s_teardown);

#define BASE                                                                                       \
    "org: ttp\nbind: tcp://127.0.0.1:7460\nkeys: keys/ttp.cert_secret\n"                           \
    "oprf_key: /etc/ttp.oprf_secret\ncertificates: certs\nstore: p.db\ncoordinator: gemeente\n"

static settings_t *s_load(const char *text, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/p.yaml", s_dir);
    remove(path);
    cr_assert_eq(tu_write_file(path, text, 0644), 0);
    return settings_load(path, err, errlen);
}

Test(pseudonymd_settings, reads_every_key)
{
    char err[800];
    settings_t *s = s_load(BASE "limits:\n  default: {per_minute: 100, per_day: 5000}\n"
                                "  clients:\n    politie: {per_minute: 200, per_day: 10000}\n"
                                "revoked: [welzijn]\n"
                                "purposes:\n  officer: [art15]\nlog_level: warn\n",
                           err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_str_eq(s->org, "ttp");
    cr_assert_str_eq(s->bind, "tcp://127.0.0.1:7460");
    char want[4300];
    snprintf(want, sizeof want, "%s/keys/ttp.cert_secret", s_dir);
    cr_assert_str_eq(s->keys, want, "relative paths are the file's directory's");
    cr_assert_str_eq(s->oprf_key, "/etc/ttp.oprf_secret");
    cr_assert_str_eq(s->coordinator, "gemeente");
    cr_assert_str_eq(s->log_level, "warn");
    cr_assert_eq(settings_limits(s, "gemeente")->per_minute, 100);
    cr_assert_eq(settings_limits(s, "politie")->per_day, 10000);
    cr_assert(settings_is_revoked(s, "welzijn"));
    cr_assert_not(settings_is_revoked(s, "politie"));
    /* purposes: officer given, the others by default. */
    cr_assert(settings_purpose_allowed(s, SETTINGS_ROLE_OFFICER, "art15"));
    cr_assert_not(settings_purpose_allowed(s, SETTINGS_ROLE_OFFICER, "audit_query"));
    cr_assert(settings_purpose_allowed(s, SETTINGS_ROLE_PARTNER, "send"));
    cr_assert(settings_purpose_allowed(s, SETTINGS_ROLE_COORDINATOR, "send"));
    cr_assert_not(settings_purpose_allowed(s, SETTINGS_ROLE_PARTNER, "art15"));
    free(s);
}

static void s_refuses(const char *text, const char *expect)
{
    char err[800] = "";
    settings_t *s = s_load(text, err, sizeof err);
    cr_assert_null(s, "accepted: %s", text);
    cr_assert(strstr(err, expect), "error '%s' lacks '%s'", err, expect);
}

Test(pseudonymd_settings, strict)
{
    const char *limits = "limits:\n  default: {per_minute: 100, per_day: 5000}\n";
    char text[2048];
    snprintf(text, sizeof text, BASE "%sbnd: x\n", limits);
    s_refuses(text, ":10:1: unknown key 'bnd'");
    s_refuses(BASE, "missing required key 'limits'");
    s_refuses(BASE "limits:\n  default: {per_minute: 100}\n", "needs both");
    s_refuses(BASE "limits:\n  default: {per_minute: 0, per_day: 5}\n", "whole number");
    s_refuses(BASE "limits:\n  default: {per_minute: -1, per_day: 5}\n", "whole number");
    s_refuses(BASE "limits:\n  default: {per_minute: 10, per_day: 5}\n", "above per_day");
    s_refuses(BASE "limits:\n  default: {per_minute: 1, per_day: 5, burst: 3}\n",
              "unknown or repeated key 'burst'");
    snprintf(text, sizeof text, BASE "%s  clients:\n    Politie: {per_minute: 1, per_day: 2}\n",
             limits);
    s_refuses(text, "org id");
    snprintf(text, sizeof text, BASE "%srevoked: welzijn\n", limits);
    s_refuses(text, "list of org ids");
    snprintf(text, sizeof text, BASE "%spurposes:\n  broker: [send]\n", limits);
    s_refuses(text, "unknown role 'broker'");
    snprintf(text, sizeof text, BASE "%spurposes:\n  partner: [\"Send It\"]\n", limits);
    s_refuses(text, "a purpose is");
    snprintf(text, sizeof text, BASE "%sorg: again\n", limits);
    s_refuses(text, "appears twice");
    s_refuses("org: [\n", "p.yaml:");
    s_refuses("- a\n- b\n", "one mapping");
}
