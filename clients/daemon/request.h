/*  request: one control request, parsed from a ROUTER message and wiped.

    A request is the routing frame, then 1..REQUEST_FRAMES_MAX text frames
    without NUL bytes: args[0] is the command, the rest "key=value". The
    texts are copied into one buffer (`buf`, `buf_len` bytes: every frame
    followed by a NUL), so wiping is one call over one length, whatever a
    handler wrote into the strings (control.c splits `field=name=value` by
    writing a NUL at the second `=`). A send request carries content and
    the subject's identifier: the received frames are wiped as they are
    copied, and request_clear wipes the whole buffer before freeing it.

    Invariant: args[0..n_args) point into buf; buf_len is buf's allocated
    size; n_args == 0 when buf is NULL.
*/
#ifndef HARTSLAG_DAEMON_REQUEST_H
#define HARTSLAG_DAEMON_REQUEST_H

#include <czmq.h>
#include <stddef.h>

#define REQUEST_FRAMES_MAX 200 /* text frames in one request */

typedef struct {
    zframe_t *routing;              /* sender's routing id; NULL when it had none */
    char *args[REQUEST_FRAMES_MAX]; /* the strings, inside buf */
    size_t n_args;                  /* how many */
    char *buf;                      /* every string with its NUL, back to back */
    size_t buf_len;                 /* buf's size in bytes */
} request_t;

/* Takes *msg_p (a ROUTER message: routing frame, then the request),
   destroys it after wiping every frame, and fills `req`. Returns 0, or -1
   when the message is not 1..REQUEST_FRAMES_MAX text frames without NUL
   (or memory ran out); then req->routing is still set when there was one,
   so the caller can answer, and no string is kept. */
int request_parse(request_t *req, zmsg_t **msg_p) __attribute__((warn_unused_result));

/* Zeroes the whole buffer (all buf_len bytes); the strings become empty. */
void request_wipe(request_t *req);

/* Wipes, frees and resets `req`; safe on a cleared request. */
void request_clear(request_t *req);

#endif
