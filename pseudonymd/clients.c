/*  clients: the service's client table; see clients.h. */
#include "clients.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CLIENTS_MAX 4096 /* certificates in one directory */

struct clients_t {
    client_t *items; /* one per valid client certificate */
    size_t n;
};

static int s_role(cert_role_t role, settings_role_t *out)
{
    switch (role) {
    case CERT_ROLE_PARTNER:
        *out = SETTINGS_ROLE_PARTNER;
        return 0;
    case CERT_ROLE_COORDINATOR:
        *out = SETTINGS_ROLE_COORDINATOR;
        return 0;
    case CERT_ROLE_OFFICER:
        *out = SETTINGS_ROLE_OFFICER;
        return 0;
    default:
        return -1;
    }
}

static int s_skip(const char *name)
{
    size_t len = strlen(name);
    return name[0] == '.' || (len >= 7 && strcmp(name + len - 7, "_secret") == 0);
}

clients_t *clients_load(const char *dir, int64_t now_ms, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read the certificate directory %s", dir);
        return NULL;
    }
    clients_t *self = calloc(1, sizeof *self);
    if (self)
        self->items = calloc(CLIENTS_MAX, sizeof *self->items);
    if (!self || !self->items) {
        snprintf(err, errlen, "out of memory");
        closedir(d);
        clients_destroy(&self);
        return NULL;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(d)) != NULL) {
        if (s_skip(entry->d_name))
            continue;
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* links are not followed, as partners_load */
        cert_t cert;
        char why[600];
        if (cert_load(path, &cert, why, sizeof why) != 0) {
            snprintf(err, errlen, "malformed certificate: %s", why);
            rc = -1;
            break;
        }
        settings_role_t role;
        if (s_role(cert.role, &role) != 0 || !cert_valid_at(&cert, now_ms))
            continue;
        for (size_t i = 0; i < self->n; i++) {
            if (memcmp(self->items[i].curve_key, cert.curve_key, CERT_KEYBYTES) == 0 ||
                strcmp(self->items[i].org, cert.org) == 0) {
                snprintf(err, errlen,
                         "%s: org '%s' or its CURVE key has another valid "
                         "certificate in %s",
                         path, cert.org, dir);
                rc = -1;
            }
        }
        if (rc == 0 && self->n >= CLIENTS_MAX) {
            snprintf(err, errlen, "more than %d certificates in %s", CLIENTS_MAX, dir);
            rc = -1;
        }
        if (rc != 0)
            break;
        client_t *c = &self->items[self->n++];
        memcpy(c->org, cert.org, sizeof c->org);
        c->role = role;
        memcpy(c->curve_key, cert.curve_key, CERT_KEYBYTES);
    }
    closedir(d);
    if (rc != 0)
        clients_destroy(&self);
    return self;
}

void clients_destroy(clients_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->items);
        free(*self_p);
        *self_p = NULL;
    }
}

size_t clients_count(const clients_t *self)
{
    return self->n;
}

const client_t *clients_by_key(const clients_t *self, const uint8_t key[CERT_KEYBYTES])
{
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->items[i].curve_key, key, CERT_KEYBYTES) == 0)
            return &self->items[i];
    return NULL;
}

const client_t *clients_by_org(const clients_t *self, const char *org)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->items[i].org, org) == 0)
            return &self->items[i];
    return NULL;
}

int clients_service_cert(const char *dir, const char *org, int64_t now_ms, cert_t *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *entry;
    while (!found && (entry = readdir(d)) != NULL) {
        if (s_skip(entry->d_name))
            continue;
        char path[4096 + 256], why[600];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            cert_load(path, out, why, sizeof why) != 0)
            continue;
        found = out->role == CERT_ROLE_PSEUDONYM_SERVICE && strcmp(out->org, org) == 0 &&
                cert_valid_at(out, now_ms);
    }
    closedir(d);
    return found;
}
