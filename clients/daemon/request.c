/*  request: control requests, parsed and wiped; see request.h. */
#include "request.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int request_parse(request_t *req, zmsg_t **msg_p)
{
    memset(req, 0, sizeof *req);
    zmsg_t *msg = *msg_p;
    req->routing = zmsg_pop(msg);
    size_t n = zmsg_size(msg);
    bool ok = req->routing && n >= 1 && n <= REQUEST_FRAMES_MAX;
    size_t total = 0;
    for (zframe_t *f = zmsg_first(msg); ok && f; f = zmsg_next(msg)) {
        size_t size = zframe_size(f);
        if (size > 0 && memchr(zframe_data(f), '\0', size))
            ok = false; /* an embedded NUL: refuse, never truncate silently */
        else if (size >= SIZE_MAX - total)
            ok = false;
        else
            total += size + 1;
    }
    if (ok) {
        req->buf = malloc(total);
        ok = req->buf != NULL;
    }
    size_t at = 0;
    for (zframe_t *f = zmsg_first(msg); f; f = zmsg_next(msg)) {
        size_t size = zframe_size(f);
        if (ok) {
            if (size > 0)
                memcpy(req->buf + at, zframe_data(f), size);
            req->buf[at + size] = '\0';
            req->args[req->n_args++] = req->buf + at;
            at += size + 1;
        }
        if (size > 0)
            sodium_memzero(zframe_data(f), size);
    }
    zmsg_destroy(msg_p);
    if (!ok) {
        free(req->buf); /* nothing copied into it */
        req->buf = NULL;
        req->n_args = 0;
        return -1;
    }
    req->buf_len = total;
    return 0;
}

void request_wipe(request_t *req)
{
    if (req->buf)
        sodium_memzero(req->buf, req->buf_len);
}

void request_clear(request_t *req)
{
    request_wipe(req);
    free(req->buf);
    zframe_destroy(&req->routing);
    memset(req, 0, sizeof *req);
}
