/*  agreements_sigset: see agreements_sigset.h. */
#include "agreements_sigset.h"

#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_MAX_ 4400

typedef struct {
    char signer[NAMES_ORG_MAX + 1];
    char *text; /* the signature file's bytes, NUL-terminated */
    size_t len;
} good_t;

struct agreements_sigset_t {
    good_t *good;
    size_t n_good;
    size_t n_refused;
};

static int s_sig_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".sig") == 0;
}

/* Reads and checks one signature file: 0 with its bytes in *text (caller
   frees), or -1 with the reason. */
static int s_check_one(const char *path, const agreements_t *agreements, const partners_t *partners,
                       agreements_sig_t *sig, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return -1;
    }
    if (st.st_size > AGREEMENTS_SIG_FILE_MAX) {
        snprintf(err, errlen, "too large (%lld bytes, a signature file has at most %d)",
                 (long long)st.st_size, AGREEMENTS_SIG_FILE_MAX);
        return -1;
    }
    if (fileio_read(path, AGREEMENTS_SIG_FILE_MAX, text, len, err, errlen) != 0)
        return -1;
    int rc = agreements_sig_parse(*text, *len, sig, err, errlen);
    if (rc == 0 && !agreements_partner_lookup(agreements, sig->signer, strlen(sig->signer))) {
        snprintf(err, errlen, "the signer %s is not a partner in this version", sig->signer);
        rc = -1;
    }
    const cert_t *cert = rc == 0 ? partners_by_org(partners, sig->signer) : NULL;
    if (rc == 0 && !cert) {
        snprintf(err, errlen, "no valid certificate of %s in the partners directory", sig->signer);
        rc = -1;
    }
    if (rc == 0)
        rc = agreements_sig_verify(sig, agreements, cert->sign_key, err, errlen);
    if (rc != 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

agreements_sigset_t *agreements_sigset_read(const char *file, const agreements_t *agreements,
                                            const partners_t *partners,
                                            agreements_sigset_refused_fn *refused, void *arg,
                                            char *err, size_t errlen)
{
    agreements_sigset_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char dir[PATH_MAX_];
    snprintf(dir, sizeof dir, "%s.sig.d", file);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, s_sig_name, alphasort);
    if (n < 0) {
        if (errno == ENOENT)
            return self;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        free(self);
        return NULL;
    }
    self->good = calloc((size_t)n + 1, sizeof *self->good);
    for (int i = 0; self->good && i < n && i < AGREEMENTS_SIGSET_FILES; i++) {
        char path[PATH_MAX_ + 300], why[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        agreements_sig_t sig;
        char *text = NULL;
        size_t len = 0;
        if (s_check_one(path, agreements, partners, &sig, &text, &len, why, sizeof why) != 0) {
            self->n_refused++;
            if (refused)
                refused(arg, path, why);
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < self->n_good; k++)
            dup = dup || strcmp(self->good[k].signer, sig.signer) == 0;
        if (dup) {
            snprintf(why, sizeof why, "a second signature by %s", sig.signer);
            free(text);
            self->n_refused++;
            if (refused)
                refused(arg, path, why);
            continue;
        }
        good_t *g = &self->good[self->n_good++];
        snprintf(g->signer, sizeof g->signer, "%s", sig.signer);
        g->text = text;
        g->len = len;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!self->good) {
        snprintf(err, errlen, "out of memory");
        agreements_sigset_destroy(&self);
    }
    return self;
}

void agreements_sigset_destroy(agreements_sigset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agreements_sigset_t *self = *self_p;
    for (size_t i = 0; i < self->n_good; i++)
        free(self->good[i].text);
    free(self->good);
    free(self);
    *self_p = NULL;
}

size_t agreements_sigset_count(const agreements_sigset_t *self)
{
    return self->n_good;
}

const char *agreements_sigset_signer(const agreements_sigset_t *self, size_t i)
{
    return i < self->n_good ? self->good[i].signer : NULL;
}

const char *agreements_sigset_text(const agreements_sigset_t *self, size_t i, size_t *len)
{
    if (i >= self->n_good)
        return NULL;
    if (len)
        *len = self->good[i].len;
    return self->good[i].text;
}

size_t agreements_sigset_refused(const agreements_sigset_t *self)
{
    return self->n_refused;
}
