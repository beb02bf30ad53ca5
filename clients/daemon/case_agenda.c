/*  case_agenda: the `case op=agenda date=YYYY-MM-DD` control request, the
    list a meeting of the case conference works from (issue 15): the open
    cases this daemon holds that are scheduled on that date, then those
    open longer than their rule allows (case_timer.c), then the plans'
    actions due by that date and not done. Streamed like `case list`: per
    case an "item" frame (per action an "action" frame) with the case as JSON and its
    fields as plain frames (so that the CLI renders text and HTML without
    parsing JSON), then "ok" and the count. */
#include "daemon_internal.h"

#include "date.h"
#include "store_case_agenda.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    daemon_t *self;
    zframe_t *routing;
    size_t count;
    bool failed;
} agenda_walk_t;

static int s_one(void *arg, const store_agenda_case_t *item)
{
    agenda_walk_t *walk = arg;
    char opened[24];
    snprintf(opened, sizeof opened, "%llu", (unsigned long long)item->opened_ms);
    const char *frames[] = {"item",
                            item->json,
                            item->case_id,
                            item->kind,
                            item->coordinator,
                            item->meeting_date ? item->meeting_date : "",
                            item->participants ? item->participants : "",
                            opened,
                            item->overdue ? "overdue" : "",
                            item->scheduled ? "scheduled" : ""};
    walk->count++;
    if (control_answer(walk->self, walk->routing, frames, sizeof frames / sizeof frames[0]) != 0) {
        walk->failed = true;
        return -1;
    }
    return 0;
}

static int s_action(void *arg, const store_agenda_action_t *item)
{
    agenda_walk_t *walk = arg;
    const char *frames[] = {"action",   item->json,  item->case_id,
                            item->item, item->owner, item->due_date};
    walk->count++;
    if (control_answer(walk->self, walk->routing, frames, sizeof frames / sizeof frames[0]) != 0) {
        walk->failed = true;
        return -1;
    }
    return 0;
}

void cases_agenda(daemon_t *self, const request_t *req)
{
    const char *date = control_opt(req, "date");
    int64_t day;
    if (!date || strlen(date) != 10 || date_parse_cstr(date, &day) != 0) {
        control_error(self, req->routing, "usage", "give the meeting's date: --date YYYY-MM-DD");
        return;
    }
    agenda_walk_t walk = {self, req->routing, 0, false};
    int rc = store_case_agenda_each(self->store, date, s_one, &walk);
    if (rc == 0 && !walk.failed)
        rc = store_case_agenda_actions(self->store, date, s_action, &walk);
    if (walk.failed)
        return;
    if (rc != 0) {
        control_error(self, req->routing, "internal", "cannot read the cases database");
        return;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", walk.count);
    const char *frames[] = {"ok", count};
    (void)control_answer(self, req->routing, frames, 2);
}
