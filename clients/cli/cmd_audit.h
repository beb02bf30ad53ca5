/*  hartslag audit: the privacy officer's tools over a copy of the broker's
    audit store (broker.db) and the daemons' checkpoint stores. Each
    function takes the arguments after "audit SUBCOMMAND" (argv[0] is the
    subcommand) and returns the exit code: 0 ok (verified / found), 1 fault
    or failure, 2 usage error. */
#ifndef HARTSLAG_CMD_AUDIT_H
#define HARTSLAG_CMD_AUDIT_H

int audit_cmd_verify(int argc, char **argv);       /* cmd_audit_verify.c */
int audit_cmd_prove(int argc, char **argv);        /* cmd_audit_verify.c */
int audit_cmd_verify_proof(int argc, char **argv); /* cmd_audit_verify.c */
int audit_cmd_checkpoints(int argc, char **argv);  /* cmd_audit_checkpoints.c */
int audit_cmd_query(int argc, char **argv);        /* cmd_audit_query.c */
int audit_cmd_export(int argc, char **argv);       /* cmd_audit_query.c */
int audit_cmd_subject(int argc, char **argv);      /* cmd_audit_subject.c */
int audit_cmd_report(int argc, char **argv);       /* cmd_audit_report.c */
int audit_cmd_stats(int argc, char **argv);        /* cmd_audit_report.c */

#endif
