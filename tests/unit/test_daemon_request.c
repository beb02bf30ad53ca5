/*  request (clients/daemon/request.c): control requests are parsed into
    one buffer and every byte of it is wiped, including what follows a NUL
    a handler wrote into a string (issue 18 item 10). */
#include "../../clients/daemon/request.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#define CANARY_VALUE "Jansen-CANARY-4711"

static zmsg_t *s_msg(const char **frames, size_t n)
{
    zmsg_t *msg = zmsg_new();
    cr_assert_not_null(msg);
    cr_assert_eq(zmsg_addmem(msg, "\x00\x6b\x8b\x45\x67", 5), 0); /* routing id */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(zmsg_addstr(msg, frames[i]), 0);
    return msg;
}

static bool s_all_zero(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != 0)
            return false;
    return true;
}

Test(request, parses_frames_into_strings)
{
    const char *frames[] = {"send", "to=politie", "field=naam=" CANARY_VALUE, ""};
    zmsg_t *msg = s_msg(frames, 4);
    request_t req;
    cr_assert_eq(request_parse(&req, &msg), 0);
    cr_assert_null(msg);
    cr_assert_not_null(req.routing);
    cr_assert_eq(req.n_args, 4);
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(req.args[i], frames[i]);
    cr_assert_eq(req.buf_len,
                 strlen("send") + strlen("to=politie") + strlen("field=naam=" CANARY_VALUE) + 4);
    request_clear(&req);
    cr_assert_null(req.buf);
    cr_assert_null(req.routing);
    request_clear(&req); /* twice is safe */
}

/* control.c splits field=name=value by writing a NUL at the second '=';
   the value after it must be wiped too (it was not: strlen stopped at the
   NUL). */
Test(request, wipe_covers_every_byte_after_a_handler_split_a_string)
{
    const char *frames[] = {"send", "field=naam=" CANARY_VALUE, "subject-bsn=123456782"};
    zmsg_t *msg = s_msg(frames, 3);
    request_t req;
    cr_assert_eq(request_parse(&req, &msg), 0);
    char *eq = strchr(req.args[1] + 6, '=');
    cr_assert_not_null(eq);
    *eq = '\0'; /* as s_send_cmd does */
    const char *value = eq + 1;
    cr_assert_str_eq(value, CANARY_VALUE);
    request_wipe(&req);
    cr_assert(s_all_zero(req.buf, req.buf_len), "content left in the request buffer after wiping");
    request_clear(&req);
}

Test(request, refuses_nul_bytes_no_frames_and_too_many)
{
    request_t req;
    /* an embedded NUL */
    zmsg_t *msg = s_msg((const char *[]){"send"}, 1);
    cr_assert_eq(zmsg_addmem(msg, "field=a=b\0c", 11), 0);
    cr_assert_eq(request_parse(&req, &msg), -1);
    cr_assert_null(msg);
    cr_assert_not_null(req.routing, "kept, so the caller can answer");
    cr_assert_eq(req.n_args, 0);
    cr_assert_null(req.buf);
    request_clear(&req);
    /* only a routing frame */
    msg = s_msg(NULL, 0);
    cr_assert_eq(request_parse(&req, &msg), -1);
    request_clear(&req);
    /* REQUEST_FRAMES_MAX + 1 frames */
    msg = s_msg((const char *[]){"send"}, 1);
    for (int i = 0; i < REQUEST_FRAMES_MAX; i++)
        cr_assert_eq(zmsg_addstr(msg, "x=y"), 0);
    cr_assert_eq(request_parse(&req, &msg), -1);
    request_clear(&req);
    /* exactly REQUEST_FRAMES_MAX is fine */
    msg = s_msg((const char *[]){"send"}, 1);
    for (int i = 1; i < REQUEST_FRAMES_MAX; i++)
        cr_assert_eq(zmsg_addstr(msg, "x=y"), 0);
    cr_assert_eq(request_parse(&req, &msg), 0);
    cr_assert_eq(req.n_args, REQUEST_FRAMES_MAX);
    request_clear(&req);
}
