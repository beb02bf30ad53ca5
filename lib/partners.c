/*  partners: the trust list; see partners.h. */
#include "date.h"
#include "partners.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*  Invariant: certs[0..count) hold distinct orgs and distinct CURVE keys;
    by_org and by_key are permutations of 0..count sorted by org and key,
    so lookups are a binary search. Rebuilt (sorted) on every add. */
struct partners_t {
    size_t count;    /* certificates held */
    size_t capacity; /* allocated slots */
    cert_t *certs;   /* in insertion order */
    size_t *by_org;  /* indices sorted by org */
    size_t *by_key;  /* indices sorted by curve_key */
};

partners_t *partners_new(void)
{
    return calloc(1, sizeof(partners_t));
}

void partners_destroy(partners_t **self_p)
{
    if (self_p && *self_p) {
        partners_t *self = *self_p;
        free(self->certs);
        free(self->by_org);
        free(self->by_key);
        free(self);
        *self_p = NULL;
    }
}

size_t partners_count(const partners_t *self)
{
    return self->count;
}

const cert_t *partners_at(const partners_t *self, size_t index)
{
    return index < self->count ? &self->certs[index] : NULL;
}

static int s_org_cmp_n(const char *org, size_t len, const char *other)
{
    int c = strncmp(org, other, len);
    if (c != 0)
        return c;
    return other[len] == '\0' ? 0 : -1;
}

const cert_t *partners_by_org_n(const partners_t *self, const char *org, size_t len)
{
    if (!self || !org || len == 0 || len > NAMES_ORG_MAX)
        return NULL;
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const cert_t *cert = &self->certs[self->by_org[mid]];
        int c = s_org_cmp_n(org, len, cert->org);
        if (c == 0)
            return cert;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const cert_t *partners_by_org(const partners_t *self, const char *org)
{
    return org ? partners_by_org_n(self, org, strnlen(org, NAMES_ORG_MAX + 1)) : NULL;
}

const cert_t *partners_by_curve_key(const partners_t *self, const uint8_t key[CERT_KEYBYTES])
{
    if (!self)
        return NULL;
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const cert_t *cert = &self->certs[self->by_key[mid]];
        int c = memcmp(key, cert->curve_key, CERT_KEYBYTES);
        if (c == 0)
            return cert;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Inserts index `idx` into the sorted permutation `perm` of length n. */
static void s_insert_sorted(size_t *perm, size_t n, size_t idx, const cert_t *certs, bool by_key)
{
    size_t pos = n;
    while (pos > 0) {
        const cert_t *a = &certs[perm[pos - 1]], *b = &certs[idx];
        int c = by_key ? memcmp(a->curve_key, b->curve_key, CERT_KEYBYTES) : strcmp(a->org, b->org);
        if (c <= 0)
            break;
        perm[pos] = perm[pos - 1];
        pos--;
    }
    perm[pos] = idx;
}

int partners_add(partners_t *self, const cert_t *cert)
{
    if (partners_by_org(self, cert->org) || partners_by_curve_key(self, cert->curve_key) ||
        self->count >= PARTNERS_MAX)
        return -1;
    if (self->count == self->capacity) {
        size_t cap = self->capacity ? self->capacity * 2 : 16;
        cert_t *certs = realloc(self->certs, cap * sizeof *certs);
        if (!certs)
            return -1;
        self->certs = certs;
        size_t *by_org = realloc(self->by_org, cap * sizeof *by_org);
        if (!by_org)
            return -1;
        self->by_org = by_org;
        size_t *by_key = realloc(self->by_key, cap * sizeof *by_key);
        if (!by_key)
            return -1;
        self->by_key = by_key;
        self->capacity = cap;
    }
    self->certs[self->count] = *cert;
    s_insert_sorted(self->by_org, self->count, self->count, self->certs, false);
    s_insert_sorted(self->by_key, self->count, self->count, self->certs, true);
    self->count++;
    return 0;
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool s_ignored(const char *name)
{
    size_t len = strlen(name);
    return name[0] == '.' || (len >= 7 && strcmp(name + len - 7, "_secret") == 0);
}

/* The sorted names of the files to read in `dir`; caller frees each and the array. */
static char **s_list_dir(const char *dir, size_t *count, char *err, size_t errlen)
{
    DIR *handle = opendir(dir);
    if (!handle) {
        snprintf(err, errlen, "cannot open certificate directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *entry;
    while (names && (entry = readdir(handle)) != NULL) {
        if (s_ignored(entry->d_name))
            continue;
        if (n == PARTNERS_MAX) {
            snprintf(err, errlen, "%s holds more than %d files", dir, PARTNERS_MAX);
            for (size_t i = 0; i < n; i++)
                free(names[i]);
            free(names);
            names = NULL;
            break;
        }
        if (n == cap) {
            char **more = realloc(names, 2 * cap * sizeof *names);
            if (!more)
                break;
            names = more;
            cap *= 2;
        }
        names[n] = strdup(entry->d_name);
        if (names[n])
            n++;
    }
    closedir(handle);
    if (names)
        qsort(names, n, sizeof *names, s_name_cmp);
    *count = n;
    return names;
}

partners_t *partners_load(const char *dir, int64_t now_ms, partners_report_fn *report, void *arg,
                          char *err, size_t errlen)
{
    size_t n = 0;
    char **names = s_list_dir(dir, &n, err, errlen);
    if (!names)
        return NULL;
    partners_t *self = partners_new();
    cert_t *all = calloc(n ? n : 1, sizeof *all);
    bool *ok = calloc(n ? n : 1, sizeof *ok);
    size_t errors = 0;
    char first[4700] = "";
    char path[4096], why[512];
    if (!self || !all || !ok) {
        snprintf(err, errlen, "out of memory");
        errors++;
        n = 0;
    }
#define PROBLEM(is_error, ...)                                                                     \
    do {                                                                                           \
        snprintf(why, sizeof why, __VA_ARGS__);                                                    \
        if (report)                                                                                \
            report(arg, path, is_error, why);                                                      \
        if (is_error && errors++ == 0)                                                             \
            snprintf(first, sizeof first, "%s: %s", path, why);                                    \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        /* lstat, not stat: the open refuses links (O_NOFOLLOW), so a link
           is named and skipped here rather than failing the directory. */
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            PROBLEM(false, "is a symbolic link, not read: copy the certificate itself into the "
                           "directory");
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        char reason[400];
        if (cert_load(path, &all[i], reason, sizeof reason) != 0) {
            PROBLEM(true, "malformed certificate: %s", reason);
            continue;
        }
        if (all[i].role == CERT_ROLE_BROKER) {
            PROBLEM(false, "broker certificate in the partner directory, ignored");
            continue;
        }
        /* The pseudonym service's and the officers' certificates share the
           directory (hartslag-pseudonymd reads them) but are no partners:
           the broker must not admit their keys, nor a daemon send to them. */
        if (!cert_role_is_partner(all[i].role))
            continue;
        for (size_t j = 0; j < i; j++) {
            if (!ok[j])
                continue;
            if (strcmp(all[j].org, all[i].org) == 0 && all[j].valid_from <= all[i].valid_until &&
                all[i].valid_from <= all[j].valid_until)
                PROBLEM(true, "org '%s' also has certificate %s with overlapping validity",
                        all[i].org, names[j]);
            if (memcmp(all[j].curve_key, all[i].curve_key, CERT_KEYBYTES) == 0)
                PROBLEM(true, "same CURVE key as certificate %s", names[j]);
        }
        ok[i] = true;
        if (!cert_valid_at(&all[i], now_ms)) {
            char from[11], until[11];
            date_format(all[i].valid_from, from);
            date_format(all[i].valid_until, until);
            PROBLEM(false, "certificate of '%s' is not valid today (valid %s to %s), skipped",
                    all[i].org, from, until);
            continue;
        }
        if (partners_add(self, &all[i]) != 0 && !partners_by_org(self, all[i].org))
            PROBLEM(true, "cannot add certificate of '%s'", all[i].org);
    }
#undef PROBLEM
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(all);
    free(ok);
    if (errors > 0) {
        if (first[0])
            snprintf(err, errlen, "%s%s", first, errors > 1 ? " (and more problems)" : "");
        partners_destroy(&self);
    }
    return self;
}
