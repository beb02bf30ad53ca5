/*  bench_pseudonym_service: fresh pseudonyms per second for one client
    against a real hartslag-pseudonymd on loopback (issue 17's target:
    5,000/s for one daemon), done the way hartslagd does it: the client
    blinds a batch, sends the request, checks the answer's proof and
    unblinds (lib/pseudonym_client); with a backlog of new subjects
    hartslagd keeps two requests in flight (the last figure), so that it
    blinds and checks one batch while the service evaluates the other. Every
    identifier is new, so nothing comes from a cache. Keyed BLAKE2b (the
    retired scheme) is measured in the same run for comparison.

    It makes its own keys and configuration in a temporary directory and
    starts the service next to this binary (BUILD/hartslag-pseudonymd).
    Figures only; never pass/fail. Usage: bench_pseudonym_service [ids per figure] */
#include "cert.h"
#include "keyfile.h"
#include "pseudonym.h"
#include "pseudonym_client.h"

#include <czmq.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int s_keys(const char *dir, const char *org, cert_role_t role, const char *cert_dir,
                  cert_t *cert_out, const char *oprf_path)
{
    char path[4200], err[600];
    keyfile_t *keys = keyfile_generate(org, role != CERT_ROLE_PSEUDONYM_SERVICE);
    if (!keys)
        return -1;
    snprintf(path, sizeof path, "%s/%s.cert_secret", dir, org);
    int rc = keyfile_save(keys, path, err, sizeof err);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", org);
    snprintf(cert.name, sizeof cert.name, "bench %s", org);
    snprintf(cert.contact, sizeof cert.contact, "bench@example.org");
    cert.role = role;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    if (role != CERT_ROLE_PSEUDONYM_SERVICE)
        memcpy(cert.box_key, keyfile_box_public(keys), 32);
    else {
        cert.oprf_key_version = 1;
        if (rc == 0)
            rc = keyfile_oprf_generate(oprf_path, org, 1, cert.oprf_key, err, sizeof err);
    }
    int64_t today = (int64_t)time(NULL) / 86400;
    cert.valid_from = today - 1;
    cert.valid_until = today + 30;
    snprintf(path, sizeof path, "%s/%s.cert", cert_dir, org);
    if (rc == 0)
        rc = cert_save(&cert, path, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "bench_pseudonym_service: %s\n", err);
    if (cert_out)
        *cert_out = cert;
    keyfile_destroy(&keys);
    return rc;
}

/* n fresh identifiers in batches of `batch`, up to `flights` requests in
   flight (hartslagd keeps two while subjects wait): seconds taken, or -1. */
static double s_run(zsock_t *service, const pseudonym_service_key_t *key, int n, size_t batch,
                    int flights, int *serial)
{
    pseudonym_batch_t *b[2] = {pseudonym_batch_new(), pseudonym_batch_new()};
    bool out_now[2] = {false, false};
    uint8_t(*out)[PSEUDONYM_BYTES] = malloc(OPRF_BATCH_MAX * PSEUDONYM_BYTES);
    double start = s_now();
    int asked = 0, done = 0;
    if (!b[0] || !b[1] || !out || flights < 1 || flights > 2)
        goto fail;
    while (done < n) {
        for (int f = 0; f < flights && asked < n; f++) {
            if (out_now[f])
                continue;
            pseudonym_batch_reset(b[f]);
            size_t k = batch < (size_t)(n - asked) ? batch : (size_t)(n - asked);
            for (size_t i = 0; i < k; i++) {
                char id[32];
                snprintf(id, sizeof id, "BENCH-%d", (*serial)++);
                if (pseudonym_batch_add(b[f], PSEUDONYM_CASE, id, NULL, NULL) != 0)
                    goto fail;
            }
            uint8_t *bytes = NULL;
            size_t len = 0;
            if (pseudonym_batch_request(b[f], "send", key, (uint64_t)zclock_time(), &bytes, &len,
                                        NULL) != 0)
                goto fail;
            zframe_t *frame = zframe_new(bytes, len);
            free(bytes);
            if (zframe_send(&frame, service, 0) != 0)
                goto fail;
            out_now[f] = true;
            asked += (int)k;
        }
        zframe_t *answer = zframe_recv(service);
        if (!answer)
            goto fail;
        Hartslag__PseudonymFrame *reply =
            pseudonym_frame_unpack(zframe_data(answer), zframe_size(answer));
        zframe_destroy(&answer);
        pseudonym_refusal_t refusal;
        pseudonym_answer_t result = PSEUDONYM_ANSWER_NOT_OURS;
        int f = 0;
        for (; f < 2 && result == PSEUDONYM_ANSWER_NOT_OURS; f++)
            if (out_now[f])
                result = pseudonym_batch_answer(b[f], key, reply, out, &refusal);
        if (reply)
            hartslag__pseudonym_frame__free_unpacked(reply, NULL);
        if (result != PSEUDONYM_ANSWER_OK) {
            fprintf(stderr, "bench_pseudonym_service: %s %s\n", pseudonym_answer_text(result),
                    result == PSEUDONYM_ANSWER_REFUSED ? refusal.code : "");
            goto fail;
        }
        out_now[f - 1] = false;
        done += (int)pseudonym_batch_size(b[f - 1]);
    }
    double seconds = s_now() - start;
    pseudonym_batch_destroy(&b[0]);
    pseudonym_batch_destroy(&b[1]);
    free(out);
    return seconds;
fail:
    pseudonym_batch_destroy(&b[0]);
    pseudonym_batch_destroy(&b[1]);
    free(out);
    return -1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
    if (n < 64 || n > 10000000 || sodium_init() < 0) {
        fprintf(stderr, "usage: bench_pseudonym_service [ids per figure, 64..10000000]\n");
        return 2;
    }
    char exe[4096], bin[4200];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (got <= 0)
        return 1;
    exe[got] = '\0';
    snprintf(bin, sizeof bin, "%s/../hartslag-pseudonymd", dirname(exe));
    char tmpl[] = "/tmp/bench-pseudonymd-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    char keys[4200], certs[4200], oprf[4300], config[4300], store[4300], text[20000];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    snprintf(certs, sizeof certs, "%s/certs", dir);
    snprintf(oprf, sizeof oprf, "%s/ttp.oprf_secret", keys);
    snprintf(config, sizeof config, "%s/pseudonymd.yaml", dir);
    snprintf(store, sizeof store, "%s/pseudonymd.db", dir);
    mkdir(keys, 0700);
    mkdir(certs, 0755);
    cert_t service_cert;
    if (s_keys(keys, "ttp", CERT_ROLE_PSEUDONYM_SERVICE, keys, &service_cert, oprf) != 0 ||
        s_keys(keys, "politie", CERT_ROLE_PARTNER, certs, NULL, NULL) != 0)
        return 1;
    snprintf(text, sizeof text,
             "org: ttp\nbind: tcp://127.0.0.1:*\nkeys: %s/ttp.cert_secret\noprf_key: %s\n"
             "certificates: %s\nstore: %s\ncoordinator: politie\nlog_level: info\n"
             "limits:\n  default: {per_minute: 100000000, per_day: 1000000000}\n",
             keys, oprf, certs, store);
    char log[4300];
    snprintf(log, sizeof log, "%s/pseudonymd.log", dir);
    if (s_write(config, text) != 0)
        return 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *child[] = {bin, "--config", config, NULL};
    pid_t pid;
    if (posix_spawn(&pid, bin, &actions, NULL, child, environ) != 0) {
        fprintf(stderr, "bench_pseudonym_service: cannot start %s\n", bin);
        return 1;
    }
    posix_spawn_file_actions_destroy(&actions);
    /* Its endpoint from its "started" line. */
    char endpoint[256] = "";
    for (int i = 0; i < 200 && !endpoint[0]; i++) {
        usleep(25000);
        FILE *f = fopen(log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            const char *at = strstr(line, "event=started") ? strstr(line, "endpoint=") : NULL;
            if (at)
                sscanf(at + 9, "%255[^ \n]", endpoint);
        }
        if (f)
            fclose(f);
    }
    int rc = 1;
    zsock_t *service = NULL;
    keyfile_t *client = NULL;
    if (!endpoint[0]) {
        fprintf(stderr, "bench_pseudonym_service: the service did not start (see %s)\n", log);
        goto done;
    }
    char path[4300], err[600];
    snprintf(path, sizeof path, "%s/politie.cert_secret", keys);
    client = keyfile_load(path, err, sizeof err);
    service = zsock_new(ZMQ_DEALER);
    if (!client || !service)
        goto done;
    zsock_set_curve_serverkey_bin(service, service_cert.curve_key);
    zsock_set_curve_publickey_bin(service, keyfile_curve_public(client));
    zsock_set_curve_secretkey_bin(service, keyfile_curve_secret(client));
    zsock_set_rcvtimeo(service, 10000);
    zsock_set_linger(service, 0);
    if (zsock_connect(service, "%s", endpoint) != 0)
        goto done;
    pseudonym_service_key_t key;
    memcpy(key.public_key, service_cert.oprf_key, 32);
    key.key_version = service_cert.oprf_key_version;
    int serial = 0;
    if (s_run(service, &key, 64, 64, 1, &serial) < 0) /* warm up: connect, handshake */
        goto done;
    printf("one client against hartslag-pseudonymd on loopback\n");
    size_t batches[] = {1, 16, 64, 64};
    int flights[] = {1, 1, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        int count = (int)(batches[i] == 1 ? n / 4 : n);
        double seconds = s_run(service, &key, count, batches[i], flights[i], &serial);
        if (seconds < 0)
            goto done;
        printf("fresh pseudonyms, batch %-3zu, %d in flight    %8.0f /s  (%d in %.2f s)\n",
               batches[i], flights[i], count / seconds, count, seconds);
    }
    /* The retired scheme, same run. */
    uint8_t pkey[PSEUDONYM_KEYBYTES], out[PSEUDONYM_BYTES];
    randombytes_buf(pkey, sizeof pkey);
    double start = s_now();
    long blake = 0;
    while (s_now() - start < 0.5)
        for (int i = 0; i < 1000; i++, blake++) {
            char id[32];
            snprintf(id, sizeof id, "BENCH-%ld", blake);
            if (pseudonym_derive(pkey, PSEUDONYM_CASE, id, out, NULL) != 0)
                goto done;
        }
    double seconds = s_now() - start;
    printf("retired keyed BLAKE2b (no service)          %8.0f /s  (%ld in %.2f s)\n",
           blake / seconds, blake, seconds);
    rc = 0;
done:
    zsock_destroy(&service);
    keyfile_destroy(&client);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
