/*  exit_codes: the process exit codes every `hartslag` subcommand returns
    (the CLI's commands in clients/cli and `hartslag keys` in keys/):
    0 success / allowed / valid, 1 failure / denied / invalid, 2 usage
    error. Here in lib/ so that keys/ need not reach into clients/ for
    them (issue 16). */
#ifndef HARTSLAG_EXIT_CODES_H
#define HARTSLAG_EXIT_CODES_H

#define EXIT_USAGE 2

#endif
