/*  hartslag agreements simulate: a dry run of a new agreements version
    against the exchanges the audit log holds (issue 14 item 6); see
    docs/agreements.md "Dry run". */
#ifndef HARTSLAG_CMD_AGREEMENTS_SIMULATE_H
#define HARTSLAG_CMD_AGREEMENTS_SIMULATE_H

/* argv[0] is "simulate". Exit codes 0 (ran; what would change is in the
   output) / 1 (the file or the log could not be read) / 2 (usage). */
int agreements_cmd_simulate(int argc, char **argv);

#endif
