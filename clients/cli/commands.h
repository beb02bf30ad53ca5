/*  commands: the subcommands of the `hartslag` CLI. Each takes the arguments
    after its own name (argv[0] is the subcommand name) and returns the
    process exit code: 0 success / allowed / valid, 1 failure / denied /
    invalid, 2 usage error. None calls exit().
*/
#ifndef HARTSLAG_COMMANDS_H
#define HARTSLAG_COMMANDS_H

#include "exit_codes.h"

int cmd_keys(int argc, char **argv);       /* keys/cmd_keys.c */
int cmd_agreements(int argc, char **argv); /* clients/cli/cmd_agreements.c */
int cmd_send(int argc, char **argv);       /* clients/cli/cmd_send.c */
int cmd_inbox(int argc, char **argv);      /* clients/cli/cmd_inbox.c */
int cmd_show(int argc, char **argv);       /* clients/cli/cmd_inbox.c */
int cmd_watch(int argc, char **argv);      /* clients/cli/cmd_watch.c */
int cmd_withdraw(int argc, char **argv);   /* clients/cli/cmd_withdraw.c */
int cmd_status(int argc, char **argv);     /* clients/cli/cmd_status.c */
int cmd_audit(int argc, char **argv);      /* clients/cli/cmd_audit.c */
int cmd_alerts(int argc, char **argv);     /* clients/cli/cmd_alerts.c */
int cmd_broker(int argc, char **argv);     /* clients/cli/cmd_broker.c */
int cmd_case(int argc, char **argv);       /* clients/cli/cmd_case.c */

#endif
