/*  hartslag agreements explain --case: what the `cases:` section allows
    (issue 15). The administrator's question before a case conference is
    set up — "may politie share these fields into a casusoverleg, to whom,
    and may gemeente close one with this outcome?" — answered from the
    file alone, the same way the broker answers it (agreements_case_share,
    agreements_case_coordinate). What the file cannot know (is the case
    open, has the partner accepted) is said, never assumed.
    See docs/agreements.md "explain for a case conference". */
#ifndef HARTSLAG_CMD_AGREEMENTS_CASE_H
#define HARTSLAG_CMD_AGREEMENTS_CASE_H

/* argv[0] is "explain"; argv holds --case KIND. Exit codes 0 (allowed) /
   1 (denied, or the file is invalid) / 2 (usage). */
int agreements_cmd_explain_case(int argc, char **argv);

#endif
