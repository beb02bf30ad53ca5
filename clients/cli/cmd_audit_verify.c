/*  hartslag audit verify | prove | verify-proof: checking the broker's audit
    log and producing proofs a privacy officer can check offline.

    A proof file is line-based text (one "key value" a line):

        hartslag-proof v1
        kind inclusion                      (or: consistency)
        origin hartslag.passart-heerlen/audit
        index 42                            (inclusion)
        record <base64 of the record as stored>
        old-size 1000                       (consistency)
        old-checkpoint <base64 of a signed note>
        checkpoint <base64 of the signed note the proof leads to>
        hash <hex>                          (one line per proof hash, in order)

    verify-proof checks the notes' signatures with the broker's public
    certificate, then the Merkle proof; nothing in the file is trusted. */
#include "audit_read.h"
#include "cmd_audit.h"
#include "commands.h"

#include "audit_log.h"
#include "audit_store.h"
#include "audit_verify.h"
#include "audit_witness.h"
#include "cert.h"
#include "checkpoint.h"
#include "db.h"
#include "fileio.h"
#include "merkle.h"
#include "partners.h"

#include <dirent.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROOF_FILE_MAX (64 * 1024)

/* Opens the store at `location` (a path, "sqlite:PATH" or "postgresql://...")
   read-only; a message names it without its password. */
static int s_open_db(const char *location, db_t **db)
{
    char why[512], shown[1024];
    *db = db_open(location, DB_READONLY, why, sizeof why);
    if (!*db) {
        db_location_shown(location, shown, sizeof shown); /* no password */
        fprintf(stderr, "hartslag audit: cannot open %s: %s — %s\n", shown, why,
                audit_read_db_hint(location));
        return -1;
    }
    return 0;
}

static int s_broker_key(const char *path, unsigned char pk[32])
{
    cert_t cert;
    char err[600];
    if (!path) {
        fprintf(stderr, "hartslag audit: --broker-cert FILE is required (the broker's public "
                        "certificate: its sign-key checks the checkpoints)\n");
        return -1;
    }
    if (cert_load(path, &cert, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag audit: %s\n", err);
        return -1;
    }
    /* The pseudonym service signs its own log with the same library. */
    if (cert.role != CERT_ROLE_BROKER && cert.role != CERT_ROLE_PSEUDONYM_SERVICE) {
        fprintf(stderr,
                "hartslag audit: %s is not the certificate of a log's signer (the broker, or the "
                "pseudonym service for its own log; this one has role %s)\n",
                path, cert_role_name(cert.role));
        return -1;
    }
    memcpy(pk, cert.sign_key, 32);
    return 0;
}

/* Every partner certificate in `dir`, whatever its validity today: a
   cosignature made while a key was valid stays valid. Caller frees *keys
   and *certs. 0, or -1 (printed). */
static int s_cosigners(const char *dir, cert_t **certs, audit_cosigner_t **keys, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "hartslag audit verify: cannot open --partners %s\n", dir);
        return -1;
    }
    size_t cap = 0;
    *n = 0;
    *certs = NULL;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len >= 7 && strcmp(e->d_name + len - 7, "_secret") == 0))
            continue;
        char path[8192], err[600];
        cert_t cert;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (cert_load(path, &cert, err, sizeof err) != 0) {
            fprintf(stderr, "hartslag audit verify: skipped %s: %s\n", path, err);
            continue;
        }
        /* Only partners cosign: not the broker, an officer or the service. */
        if ((cert.role != CERT_ROLE_PARTNER && cert.role != CERT_ROLE_COORDINATOR) ||
            *n >= PARTNERS_MAX)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            cert_t *more = realloc(*certs, cap * sizeof *more);
            if (!more) {
                rc = -1;
                break;
            }
            *certs = more;
        }
        (*certs)[(*n)++] = cert;
    }
    closedir(d);
    *keys = rc == 0 && *n ? calloc(*n, sizeof **keys) : NULL;
    if (rc != 0 || (*n && !*keys)) {
        fprintf(stderr, "hartslag audit verify: out of memory\n");
        free(*certs);
        *certs = NULL;
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        (*keys)[i].name = (*certs)[i].org;
        memcpy((*keys)[i].pk, (*certs)[i].sign_key, CHECKPOINT_PUBLICKEYBYTES);
    }
    return 0;
}

static void s_verify_usage(FILE *out)
{
    fprintf(out,
            "usage: hartslag audit verify --db BROKER_DB --broker-cert FILE\n"
            "                             [--witness FILE]... [--daemon-db FILE]...\n"
            "                             [--partners DIR] [--json]\n\n"
            "Checks every record of the broker's audit log (index, hash chain, Merkle tree),\n"
            "every stored checkpoint's signature, and — with --witness (a partner's export\n"
            "from 'hartslag audit checkpoints --config DAEMON.yaml --out FILE') or\n"
            "--daemon-db (a copy of its state_dir/hartslagd.db) — that the log is the history\n"
            "the partners were shown, with every checkpoint they hold; and that the subject\n"
            "index leads to every record with a subject. With --partners (the partners'\n"
            "certificates) every cosignature the broker stored is checked too.\n"
            "Names the first bad record and the kind of fault (modified, missing,\n"
            "reordered, duplicated, truncated, rewritten, forked, bad_signature, index).\n"
            "Says how many of the partners' checkpoints were given and how many checked.\n"
            "exit codes: 0 verified, 1 fault found or unreadable, 2 usage error\n");
}

int audit_cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"broker-cert", required_argument, NULL, 'b'},
        {"daemon-db", required_argument, NULL, 'D'},
        {"witness", required_argument, NULL, 'w'},
        {"partners", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = NULL, *broker_cert = NULL, *partners = NULL;
    int json = 0, opt, rc = 1;
    cert_t *certs = NULL;
    audit_cosigner_t *keys = NULL;
    size_t n_keys = 0;
    audit_witness_t *witness = audit_witness_new();
    audit_exchanges_t *exchanges = audit_exchanges_new();
    if (!witness || !exchanges) {
        fprintf(stderr, "hartslag audit verify: out of memory\n");
        audit_witness_destroy(&witness);
        audit_exchanges_destroy(&exchanges);
        return 1;
    }
    audit_witness_collect(witness, exchanges);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            db_path = optarg;
            break;
        case 'b':
            broker_cert = optarg;
            break;
        case 'D':
        case 'w':
            if ((opt == 'D' ? audit_witness_add_db(witness, optarg)
                            : audit_witness_add_file(witness, optarg)) != 0) {
                fprintf(stderr, "hartslag audit verify: out of memory\n");
                goto done;
            }
            if (opt == 'D') {
                char why[512];
                if (audit_exchanges_load_db(exchanges, optarg, optarg, why, sizeof why) != 0) {
                    fprintf(stderr, "hartslag audit verify: %s\n", why);
                    goto done;
                }
            }
            break;
        case 'p':
            partners = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            s_verify_usage(stdout);
            rc = 0;
            goto done;
        default:
            s_verify_usage(stderr);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if (!db_path || optind != argc) {
        s_verify_usage(stderr);
        rc = EXIT_USAGE;
        goto done;
    }
    unsigned char pk[32];
    if (s_broker_key(broker_cert, pk) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (partners && s_cosigners(partners, &certs, &keys, &n_keys) != 0)
        goto done;
    db_t *db = NULL;
    if (s_open_db(db_path, &db) != 0)
        goto done;
    audit_report_t report;
    int result = audit_verify_from(db, pk, audit_witness_next, witness, &report);
    if (result == 0)
        result = audit_verify_cosignatures(db, pk, keys, n_keys, &report);
    db_close(&db);
    /* The log is intact; is it complete for what the partners exchanged? */
    audit_exchanges_result_t held;
    memset(&held, 0, sizeof held);
    bool incomplete = false;
    if (result == 0 && audit_exchanges_count(exchanges) > 0) {
        char why[1024];
        if (audit_exchanges_check(exchanges, db_path, &held, why, sizeof why) != 0) {
            fprintf(stderr, "hartslag audit verify: %s\n", why);
            goto done;
        }
        /* Purged records cannot be matched: a missing one may be among them. */
        incomplete = held.missing > 0 && held.purged == 0;
        if (incomplete)
            result = 1;
    }
    const char *why = audit_witness_error(witness);
    if (json) {
        printf("{\"ok\":%s,\"fault\":\"%s\",\"first_bad\":%lld,\"range_end\":%lld,"
               "\"records\":%llu,\"checkpoints\":%llu,\"anchored_size\":%llu,"
               "\"partner_checkpoints_given\":%llu,\"partner_checkpoints_checked\":%llu,"
               "\"cosignatures\":%llu,\"cosignatures_checked\":%llu,"
               "\"cosignatures_unchecked\":%llu,\"subject_index\":%s,"
               "\"exchanges_listed\":%llu,\"exchanges_found\":%llu,\"exchanges_missing\":%llu}\n",
               result == 0 ? "true" : "false", audit_fault_name(report.kind),
               (long long)report.first_bad, (long long)report.range_end,
               (unsigned long long)report.records, (unsigned long long)report.checkpoints,
               (unsigned long long)report.anchored_size, (unsigned long long)report.given,
               (unsigned long long)report.checked, (unsigned long long)report.cosignatures,
               (unsigned long long)report.cosigs_checked, (unsigned long long)report.cosigs_unknown,
               report.indexed ? "true" : "false", (unsigned long long)held.listed,
               (unsigned long long)held.found, (unsigned long long)held.missing);
    } else if (incomplete) {
        printf("FAULT (missing_record): the log verifies, but %s; %llu of %llu exchanges the "
               "partners listed have no record in the log. The broker left them out: keep "
               "these files as evidence.\n",
               held.first_missing, (unsigned long long)held.missing,
               (unsigned long long)held.listed);
    } else if (result == 0) {
        printf("OK: %s\n", report.detail);
        printf("Cosignatures: %llu stored, %llu checked", (unsigned long long)report.cosignatures,
               (unsigned long long)report.cosigs_checked);
        if (report.cosigs_unknown && !partners)
            printf(" (give --partners DIR with the partners' certificates to check them)");
        else if (report.cosigs_unknown)
            printf("; WARNING: %llu of partners without a certificate in %s, not checked",
                   (unsigned long long)report.cosigs_unknown, partners);
        printf(".\n");
        if (held.listed > 0) {
            printf("Partners' exchanges: %llu listed, %llu found in the log",
                   (unsigned long long)held.listed, (unsigned long long)held.found);
            if (held.missing > 0)
                printf("; WARNING: %llu not found, and the log has %llu purged records "
                       "(older than the retention period) they may be among",
                       (unsigned long long)held.missing, (unsigned long long)held.purged);
            printf(".\n");
        }
    } else {
        printf("FAULT (%s): %s\n", audit_fault_name(report.kind), report.detail);
        printf("Partners' checkpoints: %llu given, %llu checked.\n",
               (unsigned long long)report.given, (unsigned long long)report.checked);
    }
    if (why[0])
        fprintf(stderr, "hartslag audit verify: %s\n", why);
    rc = result == 0 ? 0 : 1;
done:
    audit_witness_destroy(&witness);
    audit_exchanges_destroy(&exchanges);
    free(keys);
    free(certs);
    return rc;
}

/* ------------------------------------------------------------------------
   prove */

static void s_put_base64(FILE *out, const char *key, const void *bytes, size_t len)
{
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *text = malloc(cap);
    if (!text)
        return;
    sodium_bin2base64(text, cap, bytes, len, sodium_base64_VARIANT_ORIGINAL);
    fprintf(out, "%s %s\n", key, text);
    free(text);
}

static void s_put_hashes(FILE *out, unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, proof[i], MERKLE_HASHBYTES);
        fprintf(out, "hash %s\n", hex);
    }
}

/* The index of the first record about signal `hex` (an 'accepted' one if any). */
static int64_t s_find_signal(audit_log_t *log, const char *hex)
{
    uint8_t id[16];
    if (sodium_hex2bin(id, sizeof id, hex, strlen(hex), NULL, NULL, NULL) != 0 || strlen(hex) != 32)
        return -2;
    int64_t found = -1;
    audit_cursor_t *cursor = audit_store_records(audit_log_store(log), 0, UINT64_MAX);
    if (!cursor)
        return -1;
    audit_row_t row;
    while (found < 0 && audit_cursor_next(cursor, &row) == 1) {
        Hartslag__AuditRecord *record =
            row.len > 0 && row.len <= AUDIT_RECORD_MAX
                ? hartslag__audit_record__unpack(NULL, row.len, row.bytes)
                : NULL;
        if (record && record->has_signal_id && record->signal_id.len == 16 &&
            memcmp(record->signal_id.data, id, 16) == 0 && record->event &&
            strcmp(record->event, "accepted") == 0)
            found = row.idx;
        if (record)
            hartslag__audit_record__free_unpacked(record, NULL);
    }
    audit_cursor_destroy(&cursor);
    return found;
}

static void s_prove_usage(FILE *out)
{
    fprintf(out,
            "usage: hartslag audit prove --db BROKER_DB (--record N | --signal HEX) [--size S]\n"
            "                            [--out FILE]\n"
            "       hartslag audit prove --db BROKER_DB --from OLD_SIZE [--to NEW_SIZE] [--out "
            "FILE]\n\n"
            "Writes an inclusion proof of one record (by index, or the 'accepted' record of a\n"
            "signal) in the checkpoint of size S (default: the latest), or a consistency\n"
            "proof between two checkpoints. Check it anywhere with 'hartslag audit\n"
            "verify-proof --broker-cert FILE PROOF'.\n"
            "exit codes: 0 written, 1 not possible (no such record or checkpoint), 2 usage\n");
}

int audit_cmd_prove(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"record", required_argument, NULL, 'r'},
        {"signal", required_argument, NULL, 's'},
        {"size", required_argument, NULL, 'S'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = NULL, *signal = NULL, *out_path = NULL;
    int64_t record = -1, size = -1, from = -1, to = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end = NULL;
        long long value = 0;
        if (opt == 'r' || opt == 'S' || opt == 'f' || opt == 't') {
            value = strtoll(optarg, &end, 10);
            if (!end || *end || value < 0) {
                fprintf(stderr, "hartslag audit prove: '%s' is not a number\n", optarg);
                return EXIT_USAGE;
            }
        }
        switch (opt) {
        case 'd':
            db_path = optarg;
            break;
        case 'r':
            record = value;
            break;
        case 's':
            signal = optarg;
            break;
        case 'S':
            size = value;
            break;
        case 'f':
            from = value;
            break;
        case 't':
            to = value;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            s_prove_usage(stdout);
            return 0;
        default:
            s_prove_usage(stderr);
            return EXIT_USAGE;
        }
    }
    bool inclusion = record >= 0 || signal;
    if (!db_path || optind != argc || inclusion == (from >= 0)) {
        s_prove_usage(stderr);
        return EXIT_USAGE;
    }
    db_t *db = NULL;
    if (s_open_db(db_path, &db) != 0)
        return 1;
    char err[600];
    audit_log_t *log = audit_log_open(db, NULL, false, err, sizeof err);
    int rc = 1;
    FILE *out = NULL;
    char note[CHECKPOINT_NOTE_MAX + 1], old_note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len = 0, old_len = 0;
    uint64_t latest = 0;
    if (!log) {
        fprintf(stderr, "hartslag audit prove: %s\n", err);
        goto done;
    }
    if (audit_log_latest_note(log, note, &note_len, &latest) != 0) {
        fprintf(stderr, "hartslag audit prove: the log has no checkpoint yet\n");
        goto done;
    }
    uint64_t target =
        inclusion ? (size >= 0 ? (uint64_t)size : latest) : (to >= 0 ? (uint64_t)to : latest);
    if (audit_log_note_at(log, target, note, &note_len) != 0) {
        fprintf(stderr, "hartslag audit prove: no checkpoint of size %llu in the store\n",
                (unsigned long long)target);
        goto done;
    }
    if (signal) {
        record = s_find_signal(log, signal);
        if (record < 0) {
            fprintf(stderr, "hartslag audit prove: %s\n",
                    record == -2 ? "--signal needs the 32 hex digits of a signal id"
                                 : "no 'accepted' record of that signal");
            goto done;
        }
    }
    unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    size_t proof_len = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (inclusion) {
        if ((uint64_t)record >= target ||
            audit_log_inclusion_proof(log, (uint64_t)record, target, proof, &proof_len) != 0 ||
            audit_log_record(log, (uint64_t)record, &bytes, &len) != 0) {
            fprintf(stderr, "hartslag audit prove: record %lld is not in checkpoint %llu\n",
                    (long long)record, (unsigned long long)target);
            goto done;
        }
    } else if ((uint64_t)from > target ||
               audit_log_note_at(log, (uint64_t)from, old_note, &old_len) != 0 ||
               audit_log_consistency_proof(log, (uint64_t)from, target, proof, &proof_len) != 0) {
        fprintf(stderr, "hartslag audit prove: no checkpoint of size %lld at or below %llu\n",
                (long long)from, (unsigned long long)target);
        goto done;
    }
    out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        fprintf(stderr, "hartslag audit prove: cannot write %s\n", out_path);
        free(bytes);
        goto done;
    }
    fprintf(out, "hartslag-proof v1\nkind %s\norigin %s\n", inclusion ? "inclusion" : "consistency",
            audit_log_origin(log));
    if (inclusion) {
        fprintf(out, "index %lld\n", (long long)record);
        s_put_base64(out, "record", bytes, len);
    } else {
        fprintf(out, "old-size %lld\n", (long long)from);
        s_put_base64(out, "old-checkpoint", old_note, old_len);
    }
    s_put_base64(out, "checkpoint", note, note_len);
    s_put_hashes(out, proof, proof_len);
    free(bytes);
    rc = 0;
done:
    if (out && out != stdout)
        fclose(out);
    audit_log_destroy(&log);
    db_close(&db);
    return rc;
}

/* ------------------------------------------------------------------------
   verify-proof */

typedef struct {
    char kind[16];                        /* inclusion / consistency */
    char origin[CHECKPOINT_NAME_MAX + 1]; /* the log's origin */
    int64_t index;                        /* inclusion: the record */
    int64_t old_size;                     /* consistency: from */
    uint8_t *record;                      /* inclusion: record bytes */
    size_t record_len;
    char *checkpoint, *old_checkpoint; /* notes */
    size_t checkpoint_len, old_len;
    unsigned char hashes[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    size_t n_hashes;
} proof_t;

static void s_proof_free(proof_t *proof)
{
    free(proof->record);
    free(proof->checkpoint);
    free(proof->old_checkpoint);
}

static int s_base64(const char *text, size_t max, uint8_t **out, size_t *len)
{
    size_t cap = strlen(text);
    if (cap > max * 2)
        return -1;
    *out = malloc(cap + 1);
    if (!*out || sodium_base642bin(*out, cap, text, strlen(text), NULL, len, NULL,
                                   sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    (*out)[*len] = 0;
    return 0;
}

static int s_parse_proof(char *text, proof_t *proof, const char **why)
{
    memset(proof, 0, sizeof *proof);
    proof->index = proof->old_size = -1;
    char *save = NULL;
    int line_no = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (line_no == 1) {
            if (strcmp(line, "hartslag-proof v1") != 0)
                return (*why = "not a hartslag proof file (first line)"), -1;
            continue;
        }
        char *value = strchr(line, ' ');
        if (!value)
            return (*why = "a line without a value"), -1;
        *value++ = '\0';
        char *end = NULL;
        if (strcmp(line, "kind") == 0)
            snprintf(proof->kind, sizeof proof->kind, "%s", value);
        else if (strcmp(line, "origin") == 0)
            snprintf(proof->origin, sizeof proof->origin, "%s", value);
        else if (strcmp(line, "index") == 0 || strcmp(line, "old-size") == 0) {
            long long number = strtoll(value, &end, 10);
            if (!end || *end || number < 0)
                return (*why = "a bad number"), -1;
            *(strcmp(line, "index") == 0 ? &proof->index : &proof->old_size) = number;
        } else if (strcmp(line, "record") == 0) {
            if (proof->record ||
                s_base64(value, AUDIT_RECORD_MAX, &proof->record, &proof->record_len) != 0)
                return (*why = "a bad record"), -1;
        } else if (strcmp(line, "checkpoint") == 0 || strcmp(line, "old-checkpoint") == 0) {
            bool old = strcmp(line, "old-checkpoint") == 0;
            uint8_t **slot = (uint8_t **)(old ? &proof->old_checkpoint : &proof->checkpoint);
            if (*slot || s_base64(value, CHECKPOINT_NOTE_MAX, slot,
                                  old ? &proof->old_len : &proof->checkpoint_len) != 0)
                return (*why = "a bad checkpoint"), -1;
        } else if (strcmp(line, "hash") == 0) {
            if (proof->n_hashes == MERKLE_PROOF_MAX || strlen(value) != 64 ||
                sodium_hex2bin(proof->hashes[proof->n_hashes], MERKLE_HASHBYTES, value, 64, NULL,
                               NULL, NULL) != 0)
                return (*why = "a bad hash"), -1;
            proof->n_hashes++;
        } else
            return (*why = "an unknown line"), -1;
    }
    if (!proof->checkpoint || !proof->origin[0])
        return (*why = "no checkpoint or origin"), -1;
    return 0;
}

int audit_cmd_verify_proof(int argc, char **argv)
{
    const char *broker_cert = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--broker-cert") == 0 && i + 1 < argc)
            broker_cert = argv[++i];
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: hartslag audit verify-proof --broker-cert FILE PROOF\n\n"
                   "Checks a proof from 'hartslag audit prove' offline: the checkpoints'\n"
                   "signatures with the broker's public certificate, then the Merkle proof.\n"
                   "exit codes: 0 the proof holds, 1 it does not, 2 usage error\n");
            return 0;
        } else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr, "usage: hartslag audit verify-proof --broker-cert FILE PROOF\n");
            return EXIT_USAGE;
        }
    }
    unsigned char pk[32];
    if (!path || s_broker_key(broker_cert, pk) != 0) {
        fprintf(stderr, "usage: hartslag audit verify-proof --broker-cert FILE PROOF\n");
        return EXIT_USAGE;
    }
    char *text = NULL, err[600];
    size_t len = 0;
    if (fileio_read(path, PROOF_FILE_MAX, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "hartslag audit verify-proof: %s\n", err);
        return 1;
    }
    proof_t proof;
    const char *why = NULL;
    int rc = 1;
    checkpoint_t cp, old_cp;
    if (s_parse_proof(text, &proof, &why) != 0) {
        printf("INVALID: %s: %s\n", path, why);
        goto done;
    }
    checkpoint_err_t cerr =
        checkpoint_open(proof.checkpoint, proof.checkpoint_len, proof.origin, pk, &cp);
    if (cerr != CHECKPOINT_OK) {
        printf("INVALID: the checkpoint is not signed by this broker: %s\n",
               checkpoint_strerror(cerr));
        goto done;
    }
    if (strcmp(proof.kind, "inclusion") == 0 && proof.record && proof.index >= 0) {
        unsigned char leaf[MERKLE_HASHBYTES];
        merkle_leaf_hash(proof.record, proof.record_len, leaf);
        if (merkle_verify_inclusion(leaf, (uint64_t)proof.index, cp.size,
                                    (const unsigned char(*)[MERKLE_HASHBYTES])proof.hashes,
                                    proof.n_hashes, cp.root) != 0) {
            printf("INVALID: record %lld is not in the log of size %llu\n", (long long)proof.index,
                   (unsigned long long)cp.size);
            goto done;
        }
        Hartslag__AuditRecord *record =
            hartslag__audit_record__unpack(NULL, proof.record_len, proof.record);
        printf("OK: record %lld is in the audit log of size %llu signed by the broker\n",
               (long long)proof.index, (unsigned long long)cp.size);
        if (record) {
            char id[33] = "-";
            if (record->has_signal_id && record->signal_id.len == 16)
                sodium_bin2hex(id, sizeof id, record->signal_id.data, 16);
            printf("  event %s by %s%s%s, signal %s, type %s, purpose %s, legal basis %s\n",
                   record->event, record->actor_org, record->counterpart_org ? " to " : "",
                   record->counterpart_org ? record->counterpart_org : "", id,
                   record->signal_type ? record->signal_type : "-",
                   record->purpose ? record->purpose : "-",
                   record->legal_basis ? record->legal_basis : "-");
            hartslag__audit_record__free_unpacked(record, NULL);
        }
        rc = 0;
    } else if (strcmp(proof.kind, "consistency") == 0 && proof.old_checkpoint &&
               proof.old_size >= 0) {
        cerr = checkpoint_open(proof.old_checkpoint, proof.old_len, proof.origin, pk, &old_cp);
        if (cerr != CHECKPOINT_OK || old_cp.size != (uint64_t)proof.old_size) {
            printf("INVALID: the old checkpoint is not signed by this broker\n");
            goto done;
        }
        if (merkle_verify_consistency(old_cp.size, cp.size, old_cp.root, cp.root,
                                      (const unsigned char(*)[MERKLE_HASHBYTES])proof.hashes,
                                      proof.n_hashes) != 0) {
            printf("INVALID: the log of size %llu is not an extension of the log of size %llu\n",
                   (unsigned long long)cp.size, (unsigned long long)old_cp.size);
            goto done;
        }
        printf("OK: the log of size %llu extends the log of size %llu (both signed by the "
               "broker)\n",
               (unsigned long long)cp.size, (unsigned long long)old_cp.size);
        rc = 0;
    } else
        printf("INVALID: incomplete proof\n");
done:
    s_proof_free(&proof);
    free(text);
    return rc;
}
