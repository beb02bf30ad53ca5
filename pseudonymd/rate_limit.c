/*  rate_limit: per-client element counts; see rate_limit.h. */
#include "rate_limit.h"

#include <czmq.h>

/* One client's counters. Invariant: minute_count and day_count count the
   windows minute and day; a counter of an older window is stale and
   read as 0. */
typedef struct {
    int64_t minute;         /* index of the minute window counted */
    uint32_t minute_count;  /* elements in it */
    int64_t minute_refused; /* window of the last per-minute refusal, -1 none */
    int64_t day;            /* index of the UTC day counted */
    uint32_t day_count;     /* elements in it */
    int64_t day_refused;    /* window of the last per-day refusal, -1 none */
} counter_t;

struct rate_limit_t {
    zhashx_t *clients; /* org -> counter_t (owned) */
};

static void s_free_counter(void **item)
{
    free(*item);
    *item = NULL;
}

rate_limit_t *rate_limit_new(void)
{
    rate_limit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->clients = zhashx_new();
    if (!self->clients) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->clients, s_free_counter);
    return self;
}

void rate_limit_destroy(rate_limit_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy(&(*self_p)->clients);
        free(*self_p);
        *self_p = NULL;
    }
}

static int64_t s_window(int64_t now_ms, int64_t size)
{
    return now_ms >= 0 ? now_ms / size : -1;
}

/* The client's counter brought up to the windows of now_ms. */
static counter_t *s_counter(rate_limit_t *self, const char *org, int64_t now_ms)
{
    counter_t *c = zhashx_lookup(self->clients, org);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->minute_refused = c->day_refused = -1;
        c->minute = s_window(now_ms, RATE_LIMIT_MINUTE_MS);
        c->day = s_window(now_ms, RATE_LIMIT_DAY_MS);
        if (zhashx_insert(self->clients, org, c) != 0) {
            free(c);
            return NULL;
        }
    }
    int64_t minute = s_window(now_ms, RATE_LIMIT_MINUTE_MS);
    int64_t day = s_window(now_ms, RATE_LIMIT_DAY_MS);
    if (minute != c->minute) {
        c->minute = minute;
        c->minute_count = 0;
    }
    if (day != c->day) {
        c->day = day;
        c->day_count = 0;
    }
    return c;
}

rate_limit_result_t rate_limit_take(rate_limit_t *self, const char *org,
                                    const rate_limit_limits_t *limits, uint32_t n, int64_t now_ms,
                                    rate_limit_refusal_t *refusal)
{
    counter_t *c = s_counter(self, org, now_ms);
    rate_limit_result_t result = RATE_LIMIT_OK;
    /* Out of memory: refuse (fail closed), as if over the day. */
    if (!c || (uint64_t)c->day_count + n > limits->per_day)
        result = RATE_LIMIT_PER_DAY;
    else if ((uint64_t)c->minute_count + n > limits->per_minute)
        result = RATE_LIMIT_PER_MINUTE;
    if (result == RATE_LIMIT_OK) {
        c->minute_count += n;
        c->day_count += n;
        return result;
    }
    if (refusal) {
        int64_t window = result == RATE_LIMIT_PER_DAY ? RATE_LIMIT_DAY_MS : RATE_LIMIT_MINUTE_MS;
        int64_t index = s_window(now_ms, window);
        refusal->retry_after_ms = (uint64_t)((index + 1) * window - now_ms);
        refusal->allowed = result == RATE_LIMIT_PER_DAY ? limits->per_day : limits->per_minute;
        int64_t *last = !c                             ? NULL
                        : result == RATE_LIMIT_PER_DAY ? &c->day_refused
                                                       : &c->minute_refused;
        refusal->first_in_window = last && *last != index;
        if (last)
            *last = index;
    }
    return result;
}

void rate_limit_used(const rate_limit_t *self, const char *org, int64_t now_ms, uint32_t *minute,
                     uint32_t *day)
{
    const counter_t *c = zhashx_lookup(self->clients, org);
    *minute = c && c->minute == s_window(now_ms, RATE_LIMIT_MINUTE_MS) ? c->minute_count : 0;
    *day = c && c->day == s_window(now_ms, RATE_LIMIT_DAY_MS) ? c->day_count : 0;
}

const char *rate_limit_name(rate_limit_result_t result)
{
    return result == RATE_LIMIT_PER_DAY ? "per_day" : "per_minute";
}
