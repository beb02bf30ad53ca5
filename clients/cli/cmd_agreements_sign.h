/*  hartslag agreements sign | verify: partners sign an agreements version
    (issue 14 item 2); see docs/agreements.md "Signatures". */
#ifndef HARTSLAG_CMD_AGREEMENTS_SIGN_H
#define HARTSLAG_CMD_AGREEMENTS_SIGN_H

/* argv[0] is "sign" / "verify". Exit codes 0 / 1 (refused, not signed,
   rule not met) / 2 (usage). */
int agreements_cmd_sign(int argc, char **argv);
int agreements_cmd_verify(int argc, char **argv);

#endif
