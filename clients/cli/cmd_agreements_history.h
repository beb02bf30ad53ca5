/*  hartslag agreements history | show: the versions a broker enforced, read
    from its store (issue 14 item 4); see docs/agreements.md "History". */
#ifndef HARTSLAG_CMD_AGREEMENTS_HISTORY_H
#define HARTSLAG_CMD_AGREEMENTS_HISTORY_H

/* argv[0] is "history" / "show". Exit codes 0 / 1 (no such store or
   version) / 2 (usage). */
int agreements_cmd_history(int argc, char **argv);
int agreements_cmd_show(int argc, char **argv);

#endif
