/*  fuzz_cert: a partner certificate as it arrives from another
    organisation (a ZPL text file).

    cert_parse and zpl_parse on the input. For a certificate that parses:
    its values keep the rules of cert.h (org, texts, role, dates), and it
    survives cert_save + cert_load unchanged (the writer is the reader's
    inverse). For ZPL that parses: every entry is within the caps and found
    again by zpl_get. A short input is also tried as a Z85 key (decode then
    encode gives the same text) and as a certificate date.

    config.h reads files only and is not fuzzed here (see README.md).
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "cert.h"
#include "fuzz_common.h"
#include "names.h"
#include "partners.h"
#include "z85.h"
#include "zpl.h"

static char s_dir[64];   /* private scratch directory for the save/load round trip */
static char s_path[128]; /* the certificate file in it */

static void s_cleanup(void)
{
    unlink(s_path);
    rmdir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    snprintf(s_dir, sizeof s_dir, "/tmp/hartslag-fuzz-cert-XXXXXX");
    FUZZ_CHECK(mkdtemp(s_dir) != NULL);
    snprintf(s_path, sizeof s_path, "%s/cert", s_dir);
    atexit(s_cleanup);
    return 0;
}

/* True when `buf` (size bytes) holds a NUL. */
static bool s_terminated(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

static void s_check_cert(const cert_t *c)
{
    FUZZ_CHECK(names_is_org(c->org));
    FUZZ_CHECK(s_terminated(c->name, sizeof c->name) &&
               s_terminated(c->contact, sizeof c->contact));
    FUZZ_CHECK(names_is_text(c->name, NAMES_TEXT_MAX));
    FUZZ_CHECK(names_is_text(c->contact, NAMES_TEXT_MAX));
    FUZZ_CHECK((unsigned)c->role < CERT_ROLE_COUNT);
    /* The OPRF fields belong to a pseudonym service only (issue 17). */
    if (c->role == CERT_ROLE_PSEUDONYM_SERVICE)
        FUZZ_CHECK(c->oprf_key_version >= 1 && c->oprf_key_version <= CERT_OPRF_VERSION_MAX &&
                   crypto_core_ristretto255_is_valid_point(c->oprf_key) == 1 &&
                   (c->oprf_key[31] & 0x80) == 0);
    else
        FUZZ_CHECK(c->oprf_key_version == 0 && sodium_is_zero(c->oprf_key, CERT_KEYBYTES));
    FUZZ_CHECK(c->valid_from >= 0 && c->valid_from <= c->valid_until);

    partners_t *p = partners_new();
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(partners_add(p, c) == 0);
    FUZZ_CHECK(partners_add(p, c) == -1);
    FUZZ_CHECK(partners_by_org(p, c->org) != NULL);
    partners_destroy(&p);

    /* Save and load again: the same certificate, or a refusal to write a
       value the format cannot carry. */
    char err[256] = "";
    unlink(s_path);
    if (cert_save(c, s_path, err, sizeof err) != 0) {
        FUZZ_CHECK(s_terminated(err, sizeof err) && err[0]);
        return;
    }
    cert_t again;
    memset(err, 0, sizeof err);
    int rc = cert_load(s_path, &again, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "cert_load of a saved certificate: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(again.org, c->org) == 0 && strcmp(again.name, c->name) == 0 &&
               strcmp(again.contact, c->contact) == 0 && again.role == c->role);
    FUZZ_CHECK(memcmp(again.curve_key, c->curve_key, CERT_KEYBYTES) == 0 &&
               memcmp(again.sign_key, c->sign_key, CERT_KEYBYTES) == 0 &&
               memcmp(again.box_key, c->box_key, CERT_KEYBYTES) == 0);
    FUZZ_CHECK(again.valid_from == c->valid_from && again.valid_until == c->valid_until);
    FUZZ_CHECK(again.oprf_key_version == c->oprf_key_version &&
               memcmp(again.oprf_key, c->oprf_key, CERT_KEYBYTES) == 0);
    unlink(s_path);
}

static void s_check_zpl(const zpl_t *z)
{
    size_t n = zpl_count(z);
    FUZZ_CHECK(n <= ZPL_ENTRIES_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *section = zpl_section_at(z, i), *key = zpl_key_at(z, i);
        FUZZ_CHECK(section && key);
        FUZZ_CHECK(strlen(section) <= ZPL_NAME_MAX && strlen(key) <= ZPL_NAME_MAX);
        const char *value = zpl_get(z, section, key);
        FUZZ_CHECK(value != NULL && strlen(value) <= ZPL_VALUE_MAX);
    }
}

/* Short inputs: a Z85 key and a date, each canonical. */
static void s_check_short(const uint8_t *data, size_t size)
{
    char text[Z85_TEXT_LEN(CERT_KEYBYTES) + 1];
    if (size >= sizeof text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t key[CERT_KEYBYTES];
    size_t klen = size / 5 * 4;
    if (z85_decode(key, klen, text) == 0) {
        char back[sizeof text];
        FUZZ_CHECK(z85_encode(back, key, klen) == 0);
        FUZZ_CHECK(strcmp(back, text) == 0);
    }
    int64_t day = 0;
    if (date_parse_cstr(text, &day) == 0) {
        char back[11];
        date_format(day, back);
        FUZZ_CHECK(strcmp(back, text) == 0);
    }
    cert_role_t role;
    if (cert_role_parse(text, &role) == 0)
        FUZZ_CHECK(strcmp(cert_role_name(role), text) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_short(data, size);

    char err[160];
    memset(err, 'x', sizeof err);
    zpl_t *z = zpl_parse((const char *)data, size, err, sizeof err);
    if (z) {
        s_check_zpl(z);
        zpl_destroy(&z);
        FUZZ_CHECK(z == NULL);
    } else {
        FUZZ_CHECK(s_terminated(err, sizeof err) && err[0]);
    }

    cert_t cert;
    memset(err, 'x', sizeof err);
    if (cert_parse((const char *)data, size, &cert, err, sizeof err) == 0)
        s_check_cert(&cert);
    else
        FUZZ_CHECK(s_terminated(err, sizeof err) && err[0]);
    return 0;
}
