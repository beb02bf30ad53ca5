/*  audit_witness: see audit_witness.h. */
#include "audit_witness.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_HOLDER_MAX 512

typedef struct {
    const char *path; /* borrowed */
    bool is_file;     /* a witness file, else a daemon store */
} s_input_t;

/*  Invariant: at most one of db/file is open, and it is inputs[at - 1];
    line and note are allocated once, AUDIT_WITNESS_LINE_MAX + 1 and
    CHECKPOINT_OPEN_MAX + 1 bytes. */
struct audit_witness_t {
    s_input_t *inputs;               /* queued inputs */
    size_t n, cap, at;               /* how many, allocated, next to open */
    store_t *db;                     /* the open daemon store (read-only), or NULL */
    store_notes_t *stmt;             /* its notes */
    FILE *file;                      /* the open witness file, or NULL */
    uint64_t line_no;                /* its current line */
    char *line;                      /* a witness file line */
    char *note;                      /* a decoded note */
    char org[S_HOLDER_MAX];          /* the file's org line */
    char holder[S_HOLDER_MAX];       /* the holder of the note handed out */
    char err[AUDIT_WITNESS_ERR_MAX]; /* why the last call failed */
    audit_exchanges_t *exchanges;    /* where exchange lines go (borrowed), or NULL */
};

void audit_witness_collect(audit_witness_t *self, audit_exchanges_t *exchanges)
{
    self->exchanges = exchanges;
}

audit_witness_t *audit_witness_new(void)
{
    audit_witness_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->line = malloc(AUDIT_WITNESS_LINE_MAX + 1);
    self->note = malloc(CHECKPOINT_OPEN_MAX + 1);
    if (!self->line || !self->note)
        audit_witness_destroy(&self);
    return self;
}

static void s_close(audit_witness_t *self)
{
    store_notes_close(&self->stmt);
    store_destroy(&self->db);
    if (self->file)
        fclose(self->file);
    self->file = NULL;
}

void audit_witness_destroy(audit_witness_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    audit_witness_t *self = *self_p;
    s_close(self);
    free(self->inputs);
    free(self->line);
    free(self->note);
    free(self);
    *self_p = NULL;
}

static int s_add(audit_witness_t *self, const char *path, bool is_file)
{
    if (self->n == self->cap) {
        size_t grow = self->cap ? self->cap * 2 : 8;
        s_input_t *more = realloc(self->inputs, grow * sizeof *more);
        if (!more)
            return -1;
        self->inputs = more;
        self->cap = grow;
    }
    self->inputs[self->n++] = (s_input_t){path, is_file};
    return 0;
}

int audit_witness_add_db(audit_witness_t *self, const char *path)
{
    return s_add(self, path, false);
}

int audit_witness_add_file(audit_witness_t *self, const char *path)
{
    return s_add(self, path, true);
}

const char *audit_witness_error(const audit_witness_t *self)
{
    return self->err;
}

/* Opens a daemon store read-only and its notes. */
static int s_open_db(const char *path, store_t **db, store_notes_t **stmt, char *err, size_t errlen)
{
    char why[256];
    *db = store_open_readonly(path, why, sizeof why);
    if (!*db) {
        snprintf(err, errlen,
                 "cannot open %s: %s — give a witness file ('hartslag audit checkpoints "
                 "--config DAEMON.yaml --out FILE' at the partner) or a copy of its hartslagd.db",
                 path, why);
        return -1;
    }
    *stmt = store_notes_open(*db);
    if (!*stmt) {
        snprintf(err, errlen, "%s holds no checkpoints table (not a daemon's hartslagd.db?)", path);
        return -1;
    }
    return 0;
}

/* Opens a witness file and reads its header. */
static int s_open_file(audit_witness_t *self, const char *path)
{
    self->file = fopen(path, "r");
    if (!self->file) {
        snprintf(self->err, sizeof self->err, "cannot open witness file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    self->line_no = 0;
    self->org[0] = '\0';
    return 0;
}

/* The next line of the witness file, newline removed: 1, 0 at the end, -1. */
static int s_read_line(audit_witness_t *self, const char *path)
{
    if (!fgets(self->line, AUDIT_WITNESS_LINE_MAX + 1, self->file)) {
        if (ferror(self->file)) {
            snprintf(self->err, sizeof self->err, "cannot read witness file %s", path);
            return -1;
        }
        return 0;
    }
    self->line_no++;
    size_t len = strlen(self->line);
    if (self->line_no == 1 &&
        strncmp(self->line, AUDIT_WITNESS_MAGIC "\n", sizeof AUDIT_WITNESS_MAGIC) != 0) {
        snprintf(self->err, sizeof self->err, "%s is not a witness file (first line is not \"%s\")",
                 path, AUDIT_WITNESS_MAGIC);
        return -1;
    }
    if (len == 0 || self->line[len - 1] != '\n') {
        snprintf(self->err, sizeof self->err,
                 "witness file %s, line %llu: too long, or no newline at its end", path,
                 (unsigned long long)self->line_no);
        return -1;
    }
    self->line[len - 1] = '\0';
    return 1;
}

/* The next note of the open witness file: 1, 0 at its end, -1. */
static int s_file_next(audit_witness_t *self, const char *path, audit_anchor_t *anchor)
{
    for (;;) {
        int rc = s_read_line(self, path);
        if (rc <= 0) {
            if (rc == 0 && self->line_no == 0) {
                snprintf(self->err, sizeof self->err, "witness file %s is empty", path);
                return -1;
            }
            return rc;
        }
        char *line = self->line;
        if (self->line_no == 1)
            continue; /* the magic, checked by s_read_line */
        const char *b64 = NULL;
        const char *kind = NULL;
        if (strncmp(line, "org ", 4) == 0) {
            snprintf(self->org, sizeof self->org, "%s", line + 4);
            continue;
        } else if (strncmp(line, "exchange ", 9) == 0) {
            if (self->exchanges &&
                audit_exchanges_add_line(self->exchanges, self->org[0] ? self->org : path, line) !=
                    0) {
                snprintf(self->err, sizeof self->err, "witness file %s, line %llu: not understood",
                         path, (unsigned long long)self->line_no);
                return -1;
            }
            continue;
        } else if (strncmp(line, "checkpoint ", 11) == 0) {
            b64 = line + 11;
        } else if (strncmp(line, "refused ", 8) == 0) {
            kind = line + 8;
            char *sp = strchr(line + 8, ' ');
            if (sp) {
                *sp = '\0';
                b64 = sp + 1;
            }
        }
        size_t len = 0;
        const char *end = NULL;
        if (!b64 ||
            sodium_base642bin((unsigned char *)self->note, CHECKPOINT_OPEN_MAX, b64, strlen(b64),
                              NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
            *end != '\0') {
            snprintf(self->err, sizeof self->err, "witness file %s, line %llu: not understood",
                     path, (unsigned long long)self->line_no);
            return -1;
        }
        self->note[len] = '\0';
        const char *org = self->org[0] ? self->org : path;
        if (kind)
            snprintf(self->holder, sizeof self->holder, "%.400s (refused as %.32s)", org, kind);
        else
            snprintf(self->holder, sizeof self->holder, "%s", org);
        anchor->holder = self->holder;
        anchor->note = self->note;
        anchor->len = len;
        return 1;
    }
}

int audit_witness_next(void *arg, audit_anchor_t *anchor)
{
    audit_witness_t *self = arg;
    for (;;) {
        if (!self->db && !self->file) {
            if (self->at == self->n)
                return 0;
            const s_input_t *in = &self->inputs[self->at++];
            int rc = in->is_file
                         ? s_open_file(self, in->path)
                         : s_open_db(in->path, &self->db, &self->stmt, self->err, sizeof self->err);
            if (rc != 0) {
                s_close(self);
                return -1;
            }
        }
        const char *path = self->inputs[self->at - 1].path;
        if (self->file) {
            int rc = s_file_next(self, path, anchor);
            if (rc != 0) {
                if (rc < 0)
                    s_close(self);
                return rc;
            }
            s_close(self);
            continue;
        }
        const char *kind = NULL, *note = NULL;
        size_t len = 0;
        int rc = store_notes_next(self->stmt, &kind, &note, &len);
        if (rc == 0) {
            s_close(self);
            continue;
        }
        if (rc < 0) {
            snprintf(self->err, sizeof self->err, "cannot read %s: %s", path,
                     store_error(self->db));
            s_close(self);
            return -1;
        }
        if (strcmp(kind, "checkpoint") != 0)
            snprintf(self->holder, sizeof self->holder, "%.400s (refused as %.32s)", path, kind);
        else
            snprintf(self->holder, sizeof self->holder, "%s", path);
        anchor->holder = self->holder;
        anchor->note = note;
        anchor->len = len;
        return 1;
    }
}

/* Writes one "key base64\n" line. 0, or -1. */
static int s_put(FILE *out, const char *key, const char *note, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64)
        return -1;
    sodium_bin2base64(b64, cap, (const unsigned char *)note, len, sodium_base64_VARIANT_ORIGINAL);
    int rc = fprintf(out, "%s %s\n", key, b64) < 0 ? -1 : 0;
    free(b64);
    return rc;
}

int audit_witness_export(const char *db_path, const char *org, const char *out_path,
                         uint64_t *count, uint64_t *exchanges, char *err, size_t errlen)
{
    store_t *db = NULL;
    store_notes_t *stmt = NULL;
    FILE *out = NULL;
    int rc = -1;
    bool created = false;
    *count = 0;
    *exchanges = 0;
    if (s_open_db(db_path, &db, &stmt, err, errlen) != 0)
        goto done;
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s%s", out_path, strerror(errno),
                 errno == EEXIST ? " (it is not overwritten: remove it, or choose another name)"
                                 : "");
        goto done;
    }
    created = true;
    if (fchmod(fd, 0600) != 0 || !(out = fdopen(fd, "w"))) {
        close(fd);
        snprintf(err, errlen, "cannot write %s: %s", out_path, strerror(errno));
        goto done;
    }
    fprintf(out, "%s\norg %s\n", AUDIT_WITNESS_MAGIC, org);
    const char *kind = NULL, *note = NULL;
    size_t len = 0;
    int step;
    while ((step = store_notes_next(stmt, &kind, &note, &len)) == 1) {
        char key[64];
        if (strcmp(kind, "checkpoint") == 0)
            snprintf(key, sizeof key, "checkpoint");
        else
            snprintf(key, sizeof key, "refused %.32s", kind);
        for (char *k = key; *k; k++)
            if (*k < 0x21 && k > key + 7)
                *k = '_'; /* one word */
        if (s_put(out, key, note, len) != 0) {
            snprintf(err, errlen, "cannot write %s", out_path);
            goto done;
        }
        (*count)++;
    }
    if (step != 0) {
        snprintf(err, errlen, "cannot read %s: %s", db_path, store_error(db));
        goto done;
    }
    if (audit_exchanges_export(db, org, out, exchanges) != 0) {
        snprintf(err, errlen, "cannot write the exchanges to %s", out_path);
        goto done;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", out_path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (out && fclose(out) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s: %s", out_path, strerror(errno));
        rc = -1;
    }
    if (rc != 0 && created)
        unlink(out_path);
    store_notes_close(&stmt);
    store_destroy(&db);
    return rc;
}
