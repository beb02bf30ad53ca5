/*  hartslag audit: dispatch to the subcommands (see cmd_audit.h). */
#include "cmd_audit.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;                  /* subcommand */
    int (*run)(int argc, char **argv); /* entry point */
    const char *summary;               /* one line for --help */
} audit_command_t;

static const audit_command_t s_commands[] = {
    {"verify", audit_cmd_verify, "verify the log, its checkpoints, and partners' copies of them"},
    {"prove", audit_cmd_prove, "inclusion proof of one record, consistency between checkpoints"},
    {"verify-proof", audit_cmd_verify_proof, "check a proof offline"},
    {"checkpoints", audit_cmd_checkpoints, "a partner's witness file (--out); the sizes (--list)"},
    {"query", audit_cmd_query, "find records by time, org, event, type, purpose, signal, subject"},
    {"export", audit_cmd_export, "export records as CSV or JSON"},
    {"subject", audit_cmd_subject, "the GDPR art. 15 answer for one citizen"},
    {"report", audit_cmd_report, "a self-contained HTML report"},
    {"stats", audit_cmd_stats, "counts per month for evaluation (small counts suppressed)"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hartslag audit COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof *s_commands; i++)
        fprintf(out, "  %-13s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(out, "\n'hartslag audit COMMAND --help' shows the options of one command.\n"
                 "exit codes: 0 ok, 1 fault found or failure, 2 usage error\n");
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof *s_commands; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hartslag audit: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return EXIT_USAGE;
}
