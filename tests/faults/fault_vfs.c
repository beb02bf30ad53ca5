/*  fault_vfs: storage fault injection for test builds (SQLite's habit: the
    error paths are tested, not hoped for). An SQLite VFS that wraps the
    default one ("unix") and forwards every call, except that xWrite, xSync
    and xTruncate first ask the fault state whether to fail.

    Linked only into build/tests/hartslag-broker-faults and
    build/tests/hartslagd-faults (mk/faults.mk), never into the production
    binaries. It installs itself as the default VFS from a constructor, and
    only when HARTSLAG_FAULT_FILE is set; the file it names holds the mode:

      none          forward everything (also when the file is missing)
      write         every xWrite fails (SQLITE_IOERR_WRITE), xTruncate too
      commit        the sync of a commit fails: xSync of the WAL or rollback
                    journal (SQLITE_IOERR_FSYNC); the frames were written
      fsync         every xSync fails, the database file's too (checkpoints)
      full          the disk is full: every xWrite fails with SQLITE_FULL

    A mode may be followed by a count, "write 3": the first 3 matching calls
    after the file changed still succeed, then the fault starts, so a commit
    can be torn half-way. The file is looked at (stat) on every faultable
    call and re-read when its inode, size or times changed; write it by
    rename so that every change is seen. Each new mode is logged once on
    stderr, and the first fault it injects; no path or data is logged. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAULT_VFS_NAME "hartslag-fault"
#define FAULT_FILE_MAX 64 /* bytes of the control file that are read */

typedef enum {
    FAULT_NONE,
    FAULT_WRITE,
    FAULT_COMMIT,
    FAULT_FSYNC,
    FAULT_FULL,
} fault_mode_t;

static const char *s_mode_names[] = {"none", "write", "commit", "fsync", "full"};

/*  An open file: our methods in `base`, the wrapped file right behind this
    struct (szOsFile covers both). Invariant: base.pMethods is NULL exactly
    when the wrapped file failed to open. */
typedef struct {
    sqlite3_file base;  /* what SQLite sees; pMethods = &s_io */
    sqlite3_file *real; /* the default VFS's file, at &self[1] */
    int flags;          /* SQLITE_OPEN_* of this file: main db, WAL, journal */
} fault_file_t;

/*  The fault state. Invariant: `mode`, `delay` and `identity` describe the
    control file as last read; `delay` counts down the matching calls that
    may still succeed. Guarded by `lock` (SQLite may be used from any
    thread, even if the broker and the daemon use it from one). */
static struct {
    pthread_mutex_t lock; /* guards the rest */
    sqlite3_vfs *real;    /* the wrapped default VFS */
    char *path;           /* control file (copied from the environment) */
    bool have_file;       /* the control file existed at the last look */
    struct stat identity; /* its stat at the last read */
    fault_mode_t mode;    /* current mode */
    unsigned long delay;  /* matching calls left before the fault starts */
    bool reported;        /* the first fault of this mode was logged */
} s_state = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Parses "MODE [COUNT]"; unknown words mean none (and are logged). */
static void s_parse(const char *text, fault_mode_t *mode, unsigned long *delay)
{
    char word[16] = "";
    size_t n = 0;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    while (n + 1 < sizeof word && *text >= 'a' && *text <= 'z')
        word[n++] = *text++;
    word[n] = '\0';
    *mode = FAULT_NONE;
    *delay = 0;
    bool known = false;
    for (size_t i = 0; i < sizeof s_mode_names / sizeof s_mode_names[0]; i++)
        if (strcmp(word, s_mode_names[i]) == 0) {
            *mode = (fault_mode_t)i;
            known = true;
        }
    if (!known && n > 0)
        fprintf(stderr, "fault_vfs: event=fault_mode_unknown effect=none\n");
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text >= '0' && *text <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(text, &end, 10);
        if (errno == 0 && end != text)
            *delay = value;
    }
}

/* Re-reads the control file when it changed. Called with the lock held. */
static void s_refresh(void)
{
    struct stat st;
    if (stat(s_state.path, &st) != 0) {
        if (s_state.have_file && s_state.mode != FAULT_NONE)
            fprintf(stderr, "fault_vfs: event=fault_mode mode=none\n");
        s_state.have_file = false;
        s_state.mode = FAULT_NONE;
        return;
    }
    if (s_state.have_file && s_same_file(&st, &s_state.identity))
        return;
    char text[FAULT_FILE_MAX + 1] = "";
    int fd = open(s_state.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* replaced right now: look again at the next call */
    ssize_t got = read(fd, text, FAULT_FILE_MAX);
    close(fd);
    text[got > 0 ? got : 0] = '\0';
    fault_mode_t mode;
    unsigned long delay;
    s_parse(text, &mode, &delay);
    s_state.have_file = true;
    s_state.identity = st;
    if (mode != s_state.mode || delay > 0)
        fprintf(stderr, "fault_vfs: event=fault_mode mode=%s after=%lu\n", s_mode_names[mode],
                delay);
    s_state.mode = mode;
    s_state.delay = delay;
    s_state.reported = false;
}

/* The error `op` on `file` must return now, or SQLITE_OK. `op` is one of
   'w' (xWrite), 's' (xSync), 't' (xTruncate). */
static int s_fault(const fault_file_t *file, char op)
{
    pthread_mutex_lock(&s_state.lock);
    s_refresh();
    int rc = SQLITE_OK;
    bool journal = (file->flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
    switch (s_state.mode) {
    case FAULT_WRITE:
        rc = op == 'w' ? SQLITE_IOERR_WRITE : op == 't' ? SQLITE_IOERR_TRUNCATE : SQLITE_OK;
        break;
    case FAULT_COMMIT:
        rc = op == 's' && journal ? SQLITE_IOERR_FSYNC : SQLITE_OK;
        break;
    case FAULT_FSYNC:
        rc = op == 's' ? SQLITE_IOERR_FSYNC : SQLITE_OK;
        break;
    case FAULT_FULL:
        rc = op == 'w' ? SQLITE_FULL : SQLITE_OK;
        break;
    case FAULT_NONE:
        break;
    }
    if (rc != SQLITE_OK && s_state.delay > 0) {
        s_state.delay--;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK && !s_state.reported) {
        s_state.reported = true;
        const char *kind = (file->flags & SQLITE_OPEN_WAL)            ? "wal"
                           : (file->flags & SQLITE_OPEN_MAIN_JOURNAL) ? "journal"
                           : (file->flags & SQLITE_OPEN_MAIN_DB)      ? "db"
                                                                      : "other";
        fprintf(stderr, "fault_vfs: event=fault_injected mode=%s op=%s file=%s rc=%d\n",
                s_mode_names[s_state.mode],
                op == 'w'   ? "write"
                : op == 's' ? "sync"
                            : "truncate",
                kind, rc);
    }
    pthread_mutex_unlock(&s_state.lock);
    return rc;
}

/* ------------------------------------------------------------------------
   File methods: forward, failing where told */

static sqlite3_file *s_real(sqlite3_file *file)
{
    return ((fault_file_t *)file)->real;
}

static int s_close(sqlite3_file *file)
{
    sqlite3_file *real = s_real(file);
    int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
    file->pMethods = NULL;
    return rc;
}

static int s_read(sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xRead(real, buf, amount, offset);
}

static int s_write(sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
    int rc = s_fault((fault_file_t *)file, 'w');
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_file *real = s_real(file);
    return real->pMethods->xWrite(real, buf, amount, offset);
}

static int s_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    int rc = s_fault((fault_file_t *)file, 't');
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_file *real = s_real(file);
    return real->pMethods->xTruncate(real, size);
}

static int s_sync(sqlite3_file *file, int flags)
{
    int rc = s_fault((fault_file_t *)file, 's');
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_file *real = s_real(file);
    return real->pMethods->xSync(real, flags);
}

static int s_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xFileSize(real, size);
}

static int s_lock(sqlite3_file *file, int level)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xLock(real, level);
}

static int s_unlock(sqlite3_file *file, int level)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xUnlock(real, level);
}

static int s_check_reserved(sqlite3_file *file, int *out)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xCheckReservedLock(real, out);
}

static int s_file_control(sqlite3_file *file, int op, void *arg)
{
    sqlite3_file *real = s_real(file);
    int rc = real->pMethods->xFileControl(real, op, arg);
    /* Name ourselves in the VFS name, as shims do (PRAGMA vfsname). */
    if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK && arg) {
        char **name = arg;
        char *wrapped = sqlite3_mprintf(FAULT_VFS_NAME "/%z", *name);
        if (wrapped)
            *name = wrapped;
    }
    return rc;
}

static int s_sector_size(sqlite3_file *file)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xSectorSize(real);
}

static int s_device_characteristics(sqlite3_file *file)
{
    sqlite3_file *real = s_real(file);
    return real->pMethods->xDeviceCharacteristics(real);
}

static int s_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion < 2)
        return SQLITE_IOERR_SHMMAP;
    return real->pMethods->xShmMap(real, page, size, extend, out);
}

static int s_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion < 2)
        return SQLITE_IOERR_SHMLOCK;
    return real->pMethods->xShmLock(real, offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *file)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion >= 2)
        real->pMethods->xShmBarrier(real);
}

static int s_shm_unmap(sqlite3_file *file, int delete_flag)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion < 2)
        return SQLITE_OK;
    return real->pMethods->xShmUnmap(real, delete_flag);
}

static int s_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion < 3) {
        *out = NULL;
        return SQLITE_OK;
    }
    return real->pMethods->xFetch(real, offset, amount, out);
}

static int s_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    sqlite3_file *real = s_real(file);
    if (real->pMethods->iVersion < 3)
        return SQLITE_OK;
    return real->pMethods->xUnfetch(real, offset, page);
}

static const sqlite3_io_methods s_io = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved,
    .xFileControl = s_file_control,
    .xSectorSize = s_sector_size,
    .xDeviceCharacteristics = s_device_characteristics,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

/* ------------------------------------------------------------------------
   VFS methods: open wraps, the rest forwards */

static int s_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                  int *out_flags)
{
    (void)vfs;
    fault_file_t *self = (fault_file_t *)file;
    self->real = (sqlite3_file *)&self[1];
    self->flags = flags;
    int rc = s_state.real->xOpen(s_state.real, name, self->real, flags, out_flags);
    file->pMethods = self->real->pMethods ? &s_io : NULL;
    return rc;
}

static int s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return s_state.real->xDelete(s_state.real, name, sync_dir);
}

static int s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_state.real->xAccess(s_state.real, name, flags, out);
}

static int s_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return s_state.real->xFullPathname(s_state.real, name, n, out);
}

static void *s_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return s_state.real->xDlOpen(s_state.real, name);
}

static void s_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    s_state.real->xDlError(s_state.real, n, out);
}

static void (*s_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    (void)vfs;
    return s_state.real->xDlSym(s_state.real, handle, symbol);
}

static void s_dl_close(sqlite3_vfs *vfs, void *handle)
{
    (void)vfs;
    s_state.real->xDlClose(s_state.real, handle);
}

static int s_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_state.real->xRandomness(s_state.real, n, out);
}

static int s_sleep(sqlite3_vfs *vfs, int microseconds)
{
    (void)vfs;
    return s_state.real->xSleep(s_state.real, microseconds);
}

static int s_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_state.real->xCurrentTime(s_state.real, out);
}

static int s_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_state.real->xGetLastError ? s_state.real->xGetLastError(s_state.real, n, out) : 0;
}

static int s_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return s_state.real->xCurrentTimeInt64(s_state.real, out);
}

static sqlite3_vfs s_vfs = {
    .iVersion = 2,
    .zName = FAULT_VFS_NAME,
    .xOpen = s_open,
    .xDelete = s_delete,
    .xAccess = s_access,
    .xFullPathname = s_full_pathname,
    .xDlOpen = s_dl_open,
    .xDlError = s_dl_error,
    .xDlSym = s_dl_sym,
    .xDlClose = s_dl_close,
    .xRandomness = s_randomness,
    .xSleep = s_sleep,
    .xCurrentTime = s_current_time,
    .xGetLastError = s_last_error,
    .xCurrentTimeInt64 = s_current_time64,
};

/* Registers the shim as the default VFS when HARTSLAG_FAULT_FILE is set. */
__attribute__((constructor)) static void s_install(void)
{
    const char *path = getenv("HARTSLAG_FAULT_FILE");
    if (!path || !*path)
        return;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real->iVersion < 2 || !real->xCurrentTimeInt64 || s_state.real) {
        fprintf(stderr, "fault_vfs: event=fault_vfs_unavailable\n");
        return;
    }
    s_state.path = strdup(path);
    if (!s_state.path)
        return;
    s_state.real = real;
    s_vfs.szOsFile = (int)sizeof(fault_file_t) + real->szOsFile;
    s_vfs.mxPathname = real->mxPathname;
    if (sqlite3_vfs_register(&s_vfs, 1) != SQLITE_OK) {
        fprintf(stderr, "fault_vfs: event=fault_vfs_unavailable\n");
        return;
    }
    fprintf(stderr, "fault_vfs: event=fault_vfs_installed wraps=%s\n", real->zName);
}
