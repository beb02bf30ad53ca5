/*  verifier: Ed25519 signature checks of a loop turn, ahead of the loop.
    See verifier.h. */
#include "verifier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { JOB_OPEN, JOB_TAKEN, JOB_DONE };

/* How often the loop looks at a job a worker holds before it sleeps: a
   check takes tens of microseconds, a sleep and wake-up about as long. */
#define SPIN_LOOKS 2000

typedef struct {
    const Hartslag__SealedSignal *sealed;
    const unsigned char *sign_pk;
    atomic_int state;
    envelope_error_t result; /* written before state becomes JOB_DONE */
} job_t;

struct verifier_t {
    pthread_t *threads;
    size_t n_threads;
    job_t *jobs;
    size_t capacity;
    size_t n_jobs;
    bool started;           /* this turn's jobs were handed out */
    atomic_size_t cursor;   /* next job a worker looks at */
    atomic_bool cancel;     /* the turn is over: take no more jobs */
    atomic_bool loop_waits; /* the loop sleeps on done_cond */
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* a new turn (generation) or stopping */
    pthread_cond_t idle_cond; /* the last worker left the turn */
    pthread_cond_t done_cond; /* a job the loop waits for may be done */
    uint64_t generation;
    size_t active; /* workers still in this turn */
    bool stopping;
};

static void s_run(job_t *job)
{
    job->result = envelope_verify(job->sealed, job->sign_pk);
    atomic_store(&job->state, JOB_DONE);
}

static void *s_worker(void *arg)
{
    verifier_t *self = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        while (!self->stopping && self->generation == seen)
            pthread_cond_wait(&self->work_cond, &self->lock);
        if (self->stopping) {
            pthread_mutex_unlock(&self->lock);
            return NULL;
        }
        seen = self->generation;
        size_t n_jobs = self->n_jobs;
        pthread_mutex_unlock(&self->lock);

        while (!atomic_load(&self->cancel)) {
            size_t i = atomic_fetch_add(&self->cursor, 1);
            if (i >= n_jobs)
                break;
            int open = JOB_OPEN;
            if (!atomic_compare_exchange_strong(&self->jobs[i].state, &open, JOB_TAKEN))
                continue; /* the loop took it */
            s_run(&self->jobs[i]);
            if (atomic_load(&self->loop_waits)) {
                pthread_mutex_lock(&self->lock);
                pthread_cond_broadcast(&self->done_cond);
                pthread_mutex_unlock(&self->lock);
            }
        }
        pthread_mutex_lock(&self->lock);
        if (--self->active == 0)
            pthread_cond_broadcast(&self->idle_cond);
        pthread_mutex_unlock(&self->lock);
    }
}

size_t verifier_default_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores <= 1)
        return 0;
    return cores - 1 > 4 ? 4 : (size_t)(cores - 1);
}

verifier_t *verifier_new(size_t threads, size_t capacity)
{
    verifier_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->jobs = calloc(capacity ? capacity : 1, sizeof *self->jobs);
    self->threads = calloc(threads ? threads : 1, sizeof *self->threads);
    if (!self->jobs || !self->threads) {
        free(self->jobs);
        free(self->threads);
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work_cond, NULL);
    pthread_cond_init(&self->idle_cond, NULL);
    pthread_cond_init(&self->done_cond, NULL);
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&self->threads[i], NULL, s_worker, self) != 0) {
            verifier_destroy(&self);
            return NULL;
        }
        self->n_threads++;
    }
    return self;
}

void verifier_destroy(verifier_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    verifier_t *self = *self_p;
    verifier_finish(self);
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->work_cond);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->n_threads; i++)
        pthread_join(self->threads[i], NULL);
    pthread_cond_destroy(&self->done_cond);
    pthread_cond_destroy(&self->idle_cond);
    pthread_cond_destroy(&self->work_cond);
    pthread_mutex_destroy(&self->lock);
    free(self->threads);
    free(self->jobs);
    free(self);
    *self_p = NULL;
}

int verifier_add(verifier_t *self, const Hartslag__SealedSignal *sealed,
                 const unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES])
{
    if (self->started || self->n_jobs >= self->capacity || !sealed || !sign_pk)
        return -1;
    job_t *job = &self->jobs[self->n_jobs];
    job->sealed = sealed;
    job->sign_pk = sign_pk;
    job->result = ENVELOPE_ERR_INVALID_ARGUMENT;
    atomic_store(&job->state, JOB_OPEN);
    return (int)self->n_jobs++;
}

void verifier_start(verifier_t *self)
{
    if (self->started || self->n_jobs == 0 || self->n_threads == 0)
        return;
    atomic_store(&self->cursor, 0);
    atomic_store(&self->cancel, false);
    pthread_mutex_lock(&self->lock);
    self->active = self->n_threads;
    self->generation++;
    self->started = true;
    pthread_cond_broadcast(&self->work_cond);
    pthread_mutex_unlock(&self->lock);
}

envelope_error_t verifier_result(verifier_t *self, int job_number)
{
    if (job_number < 0 || (size_t)job_number >= self->n_jobs)
        return ENVELOPE_ERR_INVALID_ARGUMENT;
    job_t *job = &self->jobs[job_number];
    int open = JOB_OPEN;
    if (atomic_compare_exchange_strong(&job->state, &open, JOB_TAKEN)) {
        s_run(job);
        return job->result;
    }
    for (int i = 0; i < SPIN_LOOKS; i++)
        if (atomic_load(&job->state) == JOB_DONE)
            return job->result;
    /* The worker announces each finished job while loop_waits is set; the
       flag is set before the last look, so the wake-up cannot be missed. */
    pthread_mutex_lock(&self->lock);
    atomic_store(&self->loop_waits, true);
    while (atomic_load(&job->state) != JOB_DONE)
        pthread_cond_wait(&self->done_cond, &self->lock);
    atomic_store(&self->loop_waits, false);
    pthread_mutex_unlock(&self->lock);
    return job->result;
}

void verifier_finish(verifier_t *self)
{
    if (self->started) {
        atomic_store(&self->cancel, true);
        pthread_mutex_lock(&self->lock);
        while (self->active > 0)
            pthread_cond_wait(&self->idle_cond, &self->lock);
        self->started = false;
        pthread_mutex_unlock(&self->lock);
    }
    self->n_jobs = 0;
}
