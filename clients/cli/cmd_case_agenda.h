/*  hartslag case agenda: the list a meeting of the case conference works
    from (issue 15), from what this organisation's daemon holds: the open
    cases scheduled on the meeting's date, and those open longer than their
    rule allows. As text (Dutch, or --lang en), one JSON object per line
    (--json), or a self-contained HTML page for the meeting room (--html:
    no scripts, no network, a Content-Security-Policy that forbids both).
    Metadata only: the daemon's case tables hold no content. */
#ifndef HARTSLAG_CMD_CASE_AGENDA_H
#define HARTSLAG_CMD_CASE_AGENDA_H

/* argv[0] is "agenda". Exit codes 0 / 1 (the daemon failed) / 2 (usage). */
int case_cmd_agenda(int argc, char **argv);

#endif
