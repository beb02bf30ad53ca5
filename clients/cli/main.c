/*  hartslag: the command-line tool of a Hartslag partner. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

#ifndef HARTSLAG_VERSION
#define HARTSLAG_VERSION "0.1.0"
#endif

typedef struct {
    const char *name;                  /* subcommand word */
    int (*run)(int argc, char **argv); /* its entry point */
    const char *summary;               /* one line for --help */
} command_t;

static const command_t s_commands[] = {
    {"keys", cmd_keys, "create and inspect keys and certificates"},
    {"agreements", cmd_agreements, "check, explain and diff sharing agreements"},
    {"send", cmd_send, "seal and send a signal through the local hartslagd"},
    {"inbox", cmd_inbox, "list the signals (or alerts) this organisation received"},
    {"show", cmd_show, "show one received or sent signal"},
    {"watch", cmd_watch, "print new signals as they arrive, until interrupted"},
    {"withdraw", cmd_withdraw, "withdraw a signal this organisation sent"},
    {"status", cmd_status, "connection, outbox and inbox of the local hartslagd"},
    {"alerts", cmd_alerts, "multi-agency alerts; the coordinator marks them handled"},
    {"case", cmd_case, "case conferences: open, invite, accept, schedule, close; list, show"},
    {"audit", cmd_audit, "verify, prove, query and report on the audit log (privacy officers)"},
    {"broker", cmd_broker, "status: what the running broker does now (its operator)"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hartslag COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-12s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\n'hartslag COMMAND --help' shows the options of one command.\n"
                 "exit codes: 0 success, 1 failure (or denied/invalid), 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hartslag %s\n", HARTSLAG_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hartslag: unknown command '%s' (try 'hartslag --help')\n", argv[1]);
    return EXIT_USAGE;
}
