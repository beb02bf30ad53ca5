/*  broker_harness: see broker_harness.h. */
#include "broker_harness.h"

#include "agreements.h"
#include "agreements_sig.h"
#include "cert.h"
#include "envelope.h"
#include "keyfile.h"
#include "oprf.h"
#include "pg_harness.h"
#include "pseudonym.h"
#include "testutil.h"
#include "wire.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *bh_default_agreements = "partnership: test-partnership\n"
                                    "version: 3\n"
                                    "coordinator: gemeente\n"
                                    "partners:\n"
                                    "  - {org: gemeente, role: coordinator}\n"
                                    "  - {org: politie, role: partner}\n"
                                    "  - {org: welzijn, role: partner}\n"
                                    "  - {org: woonpunt, role: partner}\n"
                                    "agreements:\n"
                                    "  - id: politie-overlast\n"
                                    "    from: politie\n"
                                    "    to: [gemeente, welzijn]\n"
                                    "    signal_types: [overlast]\n"
                                    "    fields: [adres, datum, categorie, toelichting]\n"
                                    "    purpose: casusoverleg\n"
                                    "    legal_basis: \"Wpg art. 19\"\n"
                                    "    valid_from: 2025-01-01\n"
                                    "    valid_until: 2099-12-31\n"
                                    "    retention_days: 180\n"
                                    "    max_queue_days: 7\n"
                                    "  - id: gemeente-zorg\n"
                                    "    from: gemeente\n"
                                    "    to: [politie, welzijn]\n"
                                    "    signal_types: [zorgmelding]\n"
                                    "    fields: [datum, toelichting]\n"
                                    "    purpose: zorgcoordinatie\n"
                                    "    legal_basis: \"Wmo 2015 art. 5.2.1\"\n"
                                    "    valid_from: 2025-01-01\n"
                                    "    valid_until: 2099-12-31\n"
                                    "    retention_days: 90\n"
                                    "    max_queue_days: 7\n";

static int s_new_keys(bh_t *self, const char *org, cert_role_t role)
{
    char err[600], path[8500];
    keyfile_t *keys = keyfile_generate(org, role != CERT_ROLE_BROKER);
    if (!keys)
        return -1;
    snprintf(path, sizeof path, "%s/%s.cert_secret", self->keys, org);
    int rc = keyfile_save(keys, path, err, sizeof err);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", org);
    snprintf(cert.name, sizeof cert.name, "Test %s", org);
    snprintf(cert.contact, sizeof cert.contact, "test@%s.example", org);
    cert.role = role;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    if (role != CERT_ROLE_BROKER)
        memcpy(cert.box_key, keyfile_box_public(keys), 32);
    else
        memcpy(self->broker_pk, keyfile_curve_public(keys), 32);
    int64_t today = (int64_t)time(NULL) / 86400;
    cert.valid_from = today - 1;
    cert.valid_until = today + 365;
    snprintf(path, sizeof path, "%s/%s.cert", role == CERT_ROLE_BROKER ? self->keys : self->certs,
             org);
    if (rc == 0)
        rc = cert_save(&cert, path, err, sizeof err);
    keyfile_destroy(&keys);
    return rc;
}

int bh_sign_agreements(bh_t *self, const char *const *signers)
{
    agreements_errors_t *errors = NULL;
    agreements_t *agreements = agreements_load(self->agreements, &errors);
    agreements_errors_destroy(&errors);
    if (!agreements)
        return -1;
    char dir[4300];
    snprintf(dir, sizeof dir, "%s.sig.d", self->agreements);
    DIR *old = opendir(dir);
    for (struct dirent *e = old ? readdir(old) : NULL; e; e = readdir(old)) {
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            remove(path);
    }
    if (old)
        closedir(old);
    mkdir(dir, 0755);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < agreements_partner_count(agreements); i++) {
        const char *org = agreements_partner(agreements, i)->org;
        bool wanted = !signers;
        for (size_t k = 0; signers && signers[k]; k++)
            wanted = wanted || strcmp(signers[k], org) == 0;
        char path[4600], err[256];
        snprintf(path, sizeof path, "%s/%s.cert_secret", self->keys, org);
        if (!wanted || access(path, F_OK) != 0)
            continue;
        keyfile_t *keys = keyfile_load(path, err, sizeof err);
        agreements_sig_t sig;
        char text[AGREEMENTS_SIG_FILE_MAX];
        size_t len = 0;
        rc = keys && agreements_sig_sign(agreements, org, keyfile_sign_secret(keys), &sig) == 0 &&
                     (len = agreements_sig_format(&sig, text, sizeof text)) > 0
                 ? 0
                 : -1;
        keyfile_destroy(&keys);
        snprintf(path, sizeof path, "%s/%s.sig", dir, org);
        text[len < sizeof text ? len : sizeof text - 1] = '\0';
        if (rc == 0)
            rc = tu_write_file(path, text, 0644);
    }
    agreements_destroy(&agreements);
    return rc;
}

int bh_write_agreements(bh_t *self, const char *text, const char *const *signers)
{
    remove(self->agreements);
    if (tu_write_file(self->agreements, text, 0644) != 0)
        return -1;
    return bh_sign_agreements(self, signers);
}

bool bh_postgresql(void)
{
    return pg_harness_requested();
}

const char *bh_store(const bh_t *self)
{
    return self->store;
}

int bh_query(const bh_t *self, const char *sql, char **out)
{
    return bh_query_at(self->store, sql, out);
}

int bh_query_at(const char *location, const char *sql, char **out)
{
    if (strncmp(location, "postgresql://", 13) != 0) {
        const char *path = strncmp(location, "sqlite:", 7) == 0 ? location + 7 : location;
        char *argv[] = {"/usr/bin/sqlite3", (char *)path, (char *)sql, NULL};
        return tu_run(argv, NULL, out, NULL);
    }
    char *argv[] = {"/usr/bin/psql",  "-X", "-q",        "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    (char *)location, "-c", (char *)sql, NULL};
    return tu_run(argv, NULL, out, NULL);
}

/* The schema named in a PostgreSQL store location (search_path). */
static int s_schema_of(const char *location, char *schema, size_t len)
{
    const char *at = strstr(location, "search_path%3D");
    if (!at)
        return -1;
    size_t n = strcspn(at + 14, "&");
    if (n == 0 || n >= len)
        return -1;
    snprintf(schema, len, "%.*s", (int)n, at + 14);
    return 0;
}

int bh_store_copy(const bh_t *self, const char *name, char *location, size_t len)
{
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
        return -1;
    if (!bh_postgresql()) {
        char path[4400], command[4500];
        snprintf(path, sizeof path, "%s/%s.db", self->root, name);
        snprintf(command, sizeof command, ".backup '%s'", path);
        char *argv[] = {"/usr/bin/sqlite3", (char *)self->store + 7, command, NULL};
        if (tu_run(argv, NULL, NULL, NULL) != 0)
            return -1;
        return (size_t)snprintf(location, len, "sqlite:%s", path) < len ? 0 : -1;
    }
    char from[64], to[128];
    if (s_schema_of(self->store, from, sizeof from) != 0 ||
        (size_t)snprintf(to, sizeof to, "%s_%s", from, name) >= 64 ||
        pg_harness_schema(to, location, len) != 0)
        return -1;
    /* One snapshot for every table: the broker may commit meanwhile. The
       identity columns take the copied values (OVERRIDING SYSTEM VALUE). */
    char sql[1200];
    snprintf(sql, sizeof sql,
             "BEGIN ISOLATION LEVEL REPEATABLE READ;"
             "DO $$ DECLARE t text; BEGIN"
             "  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '%s' LOOP"
             "    EXECUTE format('CREATE TABLE %%I.%%I (LIKE %%I.%%I INCLUDING ALL)',"
             "                   '%s', t, '%s', t);"
             "    EXECUTE format('INSERT INTO %%I.%%I OVERRIDING SYSTEM VALUE "
             "                    SELECT * FROM %%I.%%I', '%s', t, '%s', t);"
             "  END LOOP; END $$;"
             "COMMIT;",
             from, to, from, to, from);
    return bh_query(self, sql, NULL) == 0 ? 0 : -1;
}

int bh_store_dump(const bh_t *self)
{
    if (!bh_postgresql())
        return 0;
    char file[4400], schema[128];
    snprintf(file, sizeof file, "%s/store.sql", self->state);
    const char *at = strstr(self->store, "search_path%3D");
    if (!at)
        return -1;
    snprintf(schema, sizeof schema, "%.*s", (int)strcspn(at + 14, "&"), at + 14);
    /* pg_dump reads the location without the schema option */
    char base[512];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(self->store, "?"), self->store);
    char *argv[] = {"/usr/bin/pg_dump", "-d", base, "-n", schema, "-f", file, NULL};
    return tu_run(argv, NULL, NULL, NULL) == 0 ? 0 : -1;
}

pid_t bh_standby_start(bh_t *self, const char *bind, char *log, size_t loglen)
{
    char dir[4400], config[4400];
    snprintf(dir, sizeof dir, "%s/standby", self->root);
    snprintf(config, sizeof config, "%s/broker-b.yaml", self->root);
    snprintf(log, loglen, "%s/broker-b.log", self->root);
    char *text = tu_read_file(self->config, NULL);
    const char *state = text ? strstr(text, "state_dir: ") : NULL;
    const char *bind_at = text ? strstr(text, "bind: ") : NULL;
    if (!state || !bind_at || bind_at > state) {
        free(text);
        return -1;
    }
    /* bind comes before state_dir in what bh_start writes */
    size_t len = strlen(text) + strlen(dir) + strlen(bind) + 64;
    char *standby = malloc(len);
    snprintf(standby, len, "%.*sbind: %s%.*sstate_dir: %s%s", (int)(bind_at - text), text, bind,
             (int)(state - strchr(bind_at, '\n')), strchr(bind_at, '\n'), dir, strchr(state, '\n'));
    free(text);
    int rc = tu_write_file(config, standby, 0644);
    free(standby);
    if (rc != 0)
        return -1;
    char *argv[] = {(char *)tu_bin("hartslag-broker"), "--config", config, NULL};
    pid_t pid = tu_spawn(argv, NULL, log, false, NULL);
    return pid > 0 ? pid : -1;
}

bh_t *bh_new(const char *const *orgs, size_t n_orgs, const char *agreements_yaml)
{
    if (sodium_init() < 0)
        return NULL;
    bh_t *self = calloc(1, sizeof *self);
    self->root = tu_tmpdir();
    snprintf(self->certs, sizeof self->certs, "%s/certs", self->root);
    snprintf(self->keys, sizeof self->keys, "%s/keys", self->root);
    snprintf(self->state, sizeof self->state, "%s/state", self->root);
    snprintf(self->agreements, sizeof self->agreements, "%s/agreements.yaml", self->root);
    snprintf(self->config, sizeof self->config, "%s/broker.yaml", self->root);
    snprintf(self->log, sizeof self->log, "%s/broker.log", self->root);
    snprintf(self->store, sizeof self->store, "sqlite:%s/broker.db", self->state);
    if (bh_postgresql()) {
        /* a schema per partnership, named after its directory */
        char schema[64];
        const char *base = strrchr(self->root, '/');
        snprintf(schema, sizeof schema, "bh_%s", base ? base + 1 : "x");
        for (char *c = schema; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '_';
        if (pg_harness_schema(schema, self->store, sizeof self->store) != 0) {
            tu_rmtree(self->root);
            free(self->root);
            free(self);
            return NULL;
        }
    }
    mkdir(self->certs, 0755);
    mkdir(self->keys, 0700);
    mkdir(self->state, 0700);
    snprintf(self->endpoint, sizeof self->endpoint, "tcp://127.0.0.1:%d", tu_listen_port());
    int rc = s_new_keys(self, "broker", CERT_ROLE_BROKER);
    for (size_t i = 0; i < n_orgs && rc == 0; i++)
        rc = s_new_keys(self, orgs[i], i == 0 ? CERT_ROLE_COORDINATOR : CERT_ROLE_PARTNER);
    /* Signed by every partner, as a broker requires of the first version
       it enforces (docs/agreements.md): a partner of the agreements that
       the test did not name gets keys and a certificate too, as it would
       have to sign. */
    if (rc == 0)
        rc = tu_write_file(self->agreements, agreements_yaml, 0644);
    agreements_errors_t *errors = NULL;
    agreements_t *parsed = rc == 0 ? agreements_load(self->agreements, &errors) : NULL;
    agreements_errors_destroy(&errors);
    for (size_t i = 0; parsed && rc == 0 && i < agreements_partner_count(parsed); i++) {
        const agreements_partner_t *p = agreements_partner(parsed, i);
        char path[4600];
        snprintf(path, sizeof path, "%s/%s.cert_secret", self->keys, p->org);
        if (access(path, F_OK) != 0)
            rc = s_new_keys(self, p->org,
                            p->role == AGREEMENTS_ROLE_COORDINATOR ? CERT_ROLE_COORDINATOR
                                                                   : CERT_ROLE_PARTNER);
    }
    agreements_destroy(&parsed);
    if (rc == 0)
        rc = bh_sign_agreements(self, NULL);
    if (rc != 0)
        bh_destroy(&self);
    return self;
}

void bh_destroy(bh_t **self_p)
{
    if (self_p && *self_p) {
        bh_t *self = *self_p;
        if (self->pid > 0)
            bh_stop(self, SIGKILL);
        if (self->service_pid > 0)
            bh_service_stop(self, SIGKILL);
        if (getenv("HARTSLAG_TEST_KEEP")) /* a developer looking at a failure */
            fprintf(stderr, "broker_harness: kept %s\n", self->root);
        else
            tu_rmtree(self->root);
        free(self->root);
        free(self);
        *self_p = NULL;
    }
}

char *bh_log(const bh_t *self)
{
    char *text = tu_read_file(self->log, NULL);
    return text ? text : strdup("");
}

static int s_start_once(bh_t *self, const char *extra_config, bool *port_taken);

/* A restart binds the port of the run before. On loopback a client that
   keeps reconnecting can briefly hold it (TCP simultaneous open to
   itself), so a start refused for that reason is tried again, as a
   supervisor would. */
int bh_start(bh_t *self, const char *extra_config)
{
    for (int attempt = 0;; attempt++) {
        bool port_taken = false;
        int rc = s_start_once(self, extra_config, &port_taken);
        if (rc == 0 || !port_taken || attempt == 40)
            return rc;
        usleep(250000);
    }
}

static int s_start_once(bh_t *self, const char *extra_config, bool *port_taken)
{
    char config[32768];
    snprintf(config, sizeof config,
             "bind: %s\nstate_dir: %s\ncertificates: %s\nkeys: %s/broker.cert_secret\n"
             "agreements: %s\n%s%s%s%s",
             self->endpoint, self->state, self->certs, self->keys, self->agreements,
             bh_postgresql() ? "store: \"" : "", bh_postgresql() ? self->store : "",
             bh_postgresql() ? "\"\n" : "", extra_config ? extra_config : "");
    remove(self->config);
    if (tu_write_file(self->config, config, 0644) != 0)
        return -1;
    /* Each start appends to the log; remember where this run begins. */
    size_t offset = 0;
    char *before = tu_read_file(self->log, &offset);
    free(before);
    char *argv[] = {(char *)tu_bin("hartslag-broker"), "--config", self->config, NULL};
    pid_t pid = tu_spawn(argv, NULL, self->log, true, NULL);
    if (pid < 0)
        return -1;
    self->pid = pid;
    for (int i = 0; i < 200; i++) {
        usleep(25000);
        size_t len = 0;
        char *log = tu_read_file(self->log, &len);
        const char *run = log && len > offset ? log + offset : NULL;
        const char *started = run ? strstr(run, "event=started endpoint=") : NULL;
        if (started) {
            started += strlen("event=started endpoint=");
            size_t n = strcspn(started, " \n");
            if (n < sizeof self->endpoint) {
                memcpy(self->endpoint, started, n);
                self->endpoint[n] = '\0';
            }
            free(log);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            /* Read the log once more: the exit may have followed the line. */
            free(log);
            log = tu_read_file(self->log, &len);
            run = log && len > offset ? log + offset : NULL;
            *port_taken = run && strstr(run, "Address already in use") != NULL;
            free(log);
            self->pid = 0;
            return -1;
        }
        free(log);
    }
    return -1;
}

void bh_signal(bh_t *self, int sig)
{
    if (self->pid > 0)
        kill(self->pid, sig);
}

void bh_stop(bh_t *self, int sig)
{
    if (self->pid <= 0)
        return;
    kill(self->pid, sig);
    for (int i = 0; i < 400; i++) {
        int status;
        if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
            self->pid = 0;
            return;
        }
        usleep(25000);
    }
    kill(self->pid, SIGKILL);
    waitpid(self->pid, NULL, 0);
    self->pid = 0;
}

bh_client_t *bh_client_new(bh_t *self, const char *org, bool random_key)
{
    bh_client_t *client = calloc(1, sizeof *client);
    snprintf(client->org, sizeof client->org, "%s", org);
    uint8_t curve_pk[32], curve_sk[32];
    if (random_key) {
        crypto_box_keypair(curve_pk, curve_sk);
    } else {
        char path[8500], err[600];
        snprintf(path, sizeof path, "%s/%s.cert_secret", self->keys, org);
        keyfile_t *keys = keyfile_load(path, err, sizeof err);
        if (!keys) {
            free(client);
            return NULL;
        }
        memcpy(curve_pk, keyfile_curve_public(keys), 32);
        memcpy(curve_sk, keyfile_curve_secret(keys), 32);
        memcpy(client->sign_sk, keyfile_sign_secret(keys), 64);
        memcpy(client->box_sk, keyfile_box_secret(keys), 32);
        keyfile_destroy(&keys);
    }
    client->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_curve_serverkey_bin(client->dealer, self->broker_pk);
    zsock_set_curve_publickey_bin(client->dealer, curve_pk);
    zsock_set_curve_secretkey_bin(client->dealer, curve_sk);
    zsock_set_linger(client->dealer, 0);
    /* A send never blocks a test for good (a DEALER whose connection is
       being torn down waits for a peer): it fails after 5 s instead, and
       the test says where. */
    zsock_set_sndtimeo(client->dealer, 5000);
    zsock_set_reconnect_ivl(client->dealer, 50);
    zsock_set_reconnect_ivl_max(client->dealer, 200);
    if (zsock_connect(client->dealer, "%s", self->endpoint) != 0) {
        bh_client_destroy(&client);
        return NULL;
    }
    return client;
}

void bh_client_destroy(bh_client_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy(&(*self_p)->dealer);
        sodium_memzero(*self_p, sizeof **self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

int bh_send(bh_client_t *client, Hartslag__Frame *frame)
{
    frame->version = WIRE_VERSION;
    size_t len = hartslag__frame__get_packed_size(frame);
    uint8_t *bytes = malloc(len ? len : 1);
    hartslag__frame__pack(frame, bytes);
    int rc = bh_send_raw(client, bytes, len, 1);
    free(bytes);
    return rc;
}

int bh_send_raw(bh_client_t *client, const void *bytes, size_t len, int parts)
{
    void *socket = zsock_resolve(client->dealer);
    client->sent_at = zclock_mono();
    for (int i = 0; i < parts; i++)
        if (zmq_send(socket, bytes, len, i + 1 < parts ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

static Hartslag__Frame *s_recv(bh_client_t *client, int timeout_ms, bool skip_checkpoints)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    zpoller_t *poller = zpoller_new(client->dealer, NULL);
    Hartslag__Frame *frame = NULL;
    while (!frame) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            break;
        if (zclock_mono() - client->sent_at >= 2000) {
            Hartslag__Heartbeat beat = HARTSLAG__HEARTBEAT__INIT;
            Hartslag__Frame ping = HARTSLAG__FRAME__INIT;
            ping.body_case = HARTSLAG__FRAME__BODY_HEARTBEAT;
            ping.heartbeat = &beat;
            (void)bh_send(client, &ping);
        }
        if (!zpoller_wait(poller, (int)(left < 1000 ? left : 1000))) {
            if (zpoller_terminated(poller))
                break;
            continue;
        }
        zframe_t *payload = zframe_recv(client->dealer);
        if (!payload)
            break;
        frame = hartslag__frame__unpack(NULL, zframe_size(payload), zframe_data(payload));
        zframe_destroy(&payload);
        if (frame && (frame->body_case == HARTSLAG__FRAME__BODY_HEARTBEAT ||
                      frame->body_case == HARTSLAG__FRAME__BODY_WELCOME ||
                      ((frame->body_case == HARTSLAG__FRAME__BODY_CHECKPOINT ||
                        frame->body_case == HARTSLAG__FRAME__BODY_DELIVERY_OUTCOME) &&
                       skip_checkpoints))) {
            hartslag__frame__free_unpacked(frame, NULL);
            frame = NULL;
        }
    }
    zpoller_destroy(&poller);
    return frame;
}

Hartslag__Frame *bh_recv(bh_client_t *client, int timeout_ms)
{
    return s_recv(client, timeout_ms, true);
}

Hartslag__Frame *bh_recv_checkpoint(bh_client_t *client, int timeout_ms)
{
    for (;;) {
        Hartslag__Frame *frame = s_recv(client, timeout_ms, false);
        if (!frame || frame->body_case == HARTSLAG__FRAME__BODY_CHECKPOINT)
            return frame;
        hartslag__frame__free_unpacked(frame, NULL);
    }
}

int bh_hello(bh_client_t *client)
{
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = client->org;
    hello.software = "test-harness";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    if (bh_send(client, &frame) != 0)
        return -1;
    zpoller_t *poller = zpoller_new(client->dealer, NULL);
    int rc = -1;
    int64_t deadline = zclock_mono() + 5000;
    while (rc != 0 && zclock_mono() < deadline && zpoller_wait(poller, 1000)) {
        zframe_t *payload = zframe_recv(client->dealer);
        Hartslag__Frame *reply =
            payload ? hartslag__frame__unpack(NULL, zframe_size(payload), zframe_data(payload))
                    : NULL;
        if (reply && reply->body_case == HARTSLAG__FRAME__BODY_WELCOME)
            rc = 0;
        if (reply)
            hartslag__frame__free_unpacked(reply, NULL);
        zframe_destroy(&payload);
    }
    zpoller_destroy(&poller);
    return rc;
}

int bh_seal(bh_t *self, bh_client_t *client, const char *to, const char *type, const char *purpose,
            const char *fields, const char *canary, uint8_t **sealed, size_t *len, uint8_t id[16])
{
    envelope_recipient_t recipients[64];
    size_t n_recipients = 0;
    char list[512];
    snprintf(list, sizeof list, "%s", to);
    for (char *save = NULL, *org = strtok_r(list, ",", &save); org && n_recipients < 64;
         org = strtok_r(NULL, ",", &save)) {
        char path[8500], err[600];
        snprintf(path, sizeof path, "%s/%s.cert", self->certs, org);
        cert_t cert;
        if (cert_load(path, &cert, err, sizeof err) != 0)
            randombytes_buf(cert.box_key, 32); /* unknown recipient: any key */
        recipients[n_recipients].org = strdup(org);
        memcpy(recipients[n_recipients].box_pk, cert.box_key, 32);
        n_recipients++;
    }
    envelope_field_t items[32];
    char names[32][64], values[32][256], free_text[256] = "";
    size_t n_fields = 0;
    char field_list[512];
    snprintf(field_list, sizeof field_list, "%s", fields);
    for (char *save = NULL, *name = strtok_r(field_list, ",", &save); name && n_fields < 32;
         name = strtok_r(NULL, ",", &save)) {
        snprintf(names[n_fields], 64, "%s", name);
        snprintf(values[n_fields], 256, "%s%s", canary ? canary : "v-", canary ? "" : name);
        if (strcmp(name, "toelichting") == 0) {
            /* The free text is not a content field: the envelope names it. */
            snprintf(free_text, sizeof free_text, "%s", values[n_fields]);
            continue;
        }
        items[n_fields].name = names[n_fields];
        items[n_fields].value = values[n_fields];
        n_fields++;
    }
    envelope_draft_t draft;
    memset(&draft, 0, sizeof draft);
    draft.sender = client->org;
    draft.sender_user = "tester 1";
    draft.signal_type = type;
    draft.purpose = purpose;
    draft.agreements_version = 3;
    if (client->subject)
        memcpy(draft.subject, client->subject, sizeof draft.subject);
    else
        randombytes_buf(draft.subject, sizeof draft.subject);
    draft.case_id = client->case_id;
    draft.case_item = client->case_item;
    draft.free_text = free_text[0] ? free_text : NULL;
    draft.fields = items;
    draft.n_fields = n_fields;
    draft.valid_until_ms =
        client->valid_until_ms ? client->valid_until_ms : wire_now_ms() + 86400000ull * 30;
    draft.created_at_ms = client->created_at_ms;
    draft.urgency = HARTSLAG__URGENCY__URGENCY_ROUTINE;
    envelope_keyring_t *ring = envelope_keyring_new(client->box_sk);
    envelope_sender_t sender = {client->sign_sk, ring};
    const char *reason = NULL;
    envelope_error_t rc =
        envelope_seal(&draft, &sender, recipients, n_recipients, sealed, len, id, &reason);
    envelope_keyring_destroy(&ring);
    for (size_t i = 0; i < n_recipients; i++)
        free((char *)recipients[i].org);
    if (rc != ENVELOPE_OK)
        fprintf(stderr, "bh_seal: %s\n", reason ? reason : "refused");
    return rc == ENVELOPE_OK ? 0 : -1;
}

Hartslag__Frame *bh_submit(bh_client_t *client, const uint8_t *sealed, size_t len, int timeout_ms)
{
    Hartslag__SealedSignal *signal = hartslag__sealed_signal__unpack(NULL, len, sealed);
    if (!signal)
        return NULL;
    Hartslag__Submit submit = HARTSLAG__SUBMIT__INIT;
    submit.signal = signal;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_SUBMIT;
    frame.submit = &submit;
    int rc = bh_send(client, &frame);
    hartslag__sealed_signal__free_unpacked(signal, NULL);
    return rc == 0 ? bh_recv(client, timeout_ms) : NULL;
}

int bh_ack(bh_client_t *client, const uint8_t id[16], bool stored, const char *reason)
{
    Hartslag__DeliveryAck ack = HARTSLAG__DELIVERY_ACK__INIT;
    ack.signal_id.data = (uint8_t *)id;
    ack.signal_id.len = 16;
    ack.status = stored ? HARTSLAG__ACK_STATUS__ACK_STORED : HARTSLAG__ACK_STATUS__ACK_REJECTED;
    ack.reason = (char *)reason;
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.body_case = HARTSLAG__FRAME__BODY_DELIVERY_ACK;
    frame.delivery_ack = &ack;
    return bh_send(client, &frame);
}

int bh_add_keys(bh_t *self, const char *org, int role)
{
    return s_new_keys(self, org, (cert_role_t)role);
}

/* The service's keys: CURVE + Ed25519, the OPRF secret, the certificate
   that names the OPRF public key (in keys/, beside broker.cert). */
static int s_service_keys(bh_t *self)
{
    char err[600], path[8500];
    snprintf(self->service_cert, sizeof self->service_cert, "%s/%s.cert", self->keys,
             BH_SERVICE_ORG);
    snprintf(self->service_oprf, sizeof self->service_oprf, "%s/%s.oprf_secret", self->keys,
             BH_SERVICE_ORG);
    keyfile_t *keys = keyfile_generate(BH_SERVICE_ORG, false);
    if (!keys)
        return -1;
    snprintf(path, sizeof path, "%s/%s.cert_secret", self->keys, BH_SERVICE_ORG);
    int rc = keyfile_save(keys, path, err, sizeof err);
    cert_t cert;
    memset(&cert, 0, sizeof cert);
    snprintf(cert.org, sizeof cert.org, "%s", BH_SERVICE_ORG);
    snprintf(cert.name, sizeof cert.name, "Test pseudonym service");
    snprintf(cert.contact, sizeof cert.contact, "test@ttp.example");
    cert.role = CERT_ROLE_PSEUDONYM_SERVICE;
    memcpy(cert.curve_key, keyfile_curve_public(keys), 32);
    memcpy(cert.sign_key, keyfile_sign_public(keys), 32);
    cert.oprf_key_version = 1;
    if (rc == 0)
        rc = keyfile_oprf_generate(self->service_oprf, BH_SERVICE_ORG, 1, cert.oprf_key, err,
                                   sizeof err);
    int64_t today = (int64_t)time(NULL) / 86400;
    cert.valid_from = today - 1;
    cert.valid_until = today + 365;
    if (rc == 0)
        rc = cert_save(&cert, self->service_cert, err, sizeof err);
    keyfile_destroy(&keys);
    return rc;
}

/* One start: 0 when it listens, -1 when it did not start; *taken when it
   exited because the port was briefly taken (see bh_start). */
static int s_service_once(bh_t *self, bool *taken)
{
    size_t offset = 0;
    free(tu_read_file(self->service_log, &offset));
    char *argv[] = {(char *)tu_bin("hartslag-pseudonymd"), "--config", self->service_config, NULL};
    pid_t pid = tu_spawn(argv, NULL, self->service_log, true, NULL);
    if (pid < 0)
        return -1;
    self->service_pid = pid;
    for (int i = 0; i < 400; i++) {
        usleep(25000);
        size_t len = 0;
        char *log = tu_read_file(self->service_log, &len);
        const char *run = log && len > offset ? log + offset : NULL;
        const char *started = run ? strstr(run, "event=started") : NULL;
        const char *at = started ? strstr(started, "endpoint=") : NULL;
        if (at) {
            at += strlen("endpoint=");
            size_t n = strcspn(at, " \n");
            if (n < sizeof self->service_endpoint) {
                memcpy(self->service_endpoint, at, n);
                self->service_endpoint[n] = '\0';
            }
            free(log);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            self->service_pid = 0;
            *taken = run && strstr(run, "in use") != NULL;
            free(log);
            return -1;
        }
        free(log);
    }
    bh_service_stop(self, SIGKILL);
    return -1;
}

int bh_service_start(bh_t *self, const char *extra_config)
{
    if (!self->service_started) {
        snprintf(self->service_config, sizeof self->service_config, "%s/pseudonymd.yaml",
                 self->root);
        snprintf(self->service_store, sizeof self->service_store, "%s/pseudonymd.db", self->root);
        snprintf(self->service_log, sizeof self->service_log, "%s/pseudonymd.log", self->root);
        snprintf(self->service_endpoint, sizeof self->service_endpoint, "tcp://127.0.0.1:%d",
                 tu_listen_port());
        if (s_service_keys(self) != 0)
            return -1;
    }
    self->service_started = true;
    bool limits = extra_config && strstr(extra_config, "limits:");
    char config[32768];
    snprintf(config, sizeof config,
             "org: %s\nbind: %s\nkeys: %s/%s.cert_secret\noprf_key: %s\ncertificates: %s\n"
             "store: %s\ncoordinator: gemeente\n%s%s",
             BH_SERVICE_ORG, self->service_endpoint, self->keys, BH_SERVICE_ORG, self->service_oprf,
             self->certs, self->service_store,
             limits ? "" : "limits:\n  default: {per_minute: 1000000, per_day: 100000000}\n",
             extra_config ? extra_config : "");
    remove(self->service_config);
    if (tu_write_file(self->service_config, config, 0644) != 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        bool taken = false;
        int rc = s_service_once(self, &taken);
        if (rc == 0 || !taken || attempt == 40)
            return rc;
        usleep(250000);
    }
}

void bh_service_stop(bh_t *self, int sig)
{
    if (self->service_pid <= 0)
        return;
    kill(self->service_pid, sig);
    for (int i = 0; i < 400; i++) {
        if (waitpid(self->service_pid, NULL, WNOHANG) == self->service_pid) {
            self->service_pid = 0;
            return;
        }
        usleep(25000);
    }
    kill(self->service_pid, SIGKILL);
    waitpid(self->service_pid, NULL, 0);
    self->service_pid = 0;
}

char *bh_service_log(const bh_t *self)
{
    char *text = self->service_log[0] ? tu_read_file(self->service_log, NULL) : NULL;
    return text ? text : strdup("");
}

int bh_service_pseudonym(const bh_t *self, int kind, const char *id, uint8_t out[32])
{
    uint8_t *sk = sodium_malloc(OPRF_SCALARBYTES);
    uint8_t pk[OPRF_ELEMENTBYTES], input[PSEUDONYM_INPUT_MAX];
    uint8_t blind[1][OPRF_SCALARBYTES], blinded[1][OPRF_ELEMENTBYTES];
    uint8_t evaluated[1][OPRF_ELEMENTBYTES], proof[OPRF_PROOFBYTES], output[1][OPRF_OUTPUTBYTES];
    uint32_t version = 0;
    char err[600];
    size_t len = 0;
    int rc = -1;
    if (sk && keyfile_oprf_load(self->service_oprf, sk, pk, &version, NULL, err, sizeof err) == 0 &&
        pseudonym_oprf_input((pseudonym_kind_t)kind, id, input, &len, NULL) == 0 &&
        oprf_blind(input, len, NULL, blind[0], blinded[0]) == OPRF_OK &&
        oprf_blind_evaluate(sk, pk, (const uint8_t(*)[OPRF_ELEMENTBYTES])blinded, 1, NULL,
                            evaluated, proof) == OPRF_OK) {
        const uint8_t *inputs[1] = {input};
        if (oprf_finalize(pk, inputs, &len, (const uint8_t(*)[OPRF_SCALARBYTES])blind,
                          (const uint8_t(*)[OPRF_ELEMENTBYTES])blinded,
                          (const uint8_t(*)[OPRF_ELEMENTBYTES])evaluated, 1, proof,
                          output) == OPRF_OK) {
            pseudonym_from_oprf_output(output[0], out);
            rc = 0;
        }
    }
    if (sk)
        sodium_free(sk);
    return rc;
}
