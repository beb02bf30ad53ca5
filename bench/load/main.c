/*  hartslag-load: `make bench` (parts 1 and 2 with both baselines, one
    table) and `make bench-scale` (part 3). See bench/README.md.

      hartslag-load [all]     capacity (saturation and 1,000/s) on Hartslag,
                              the raw CURVE forwarder and mosquitto, then
                              end-to-end latency through hartslagd
      hartslag-load scale     part 3 (long)
      hartslag-load forwarder SECRET_HEX ENDPOINT_FILE   (internal)

    Environment: BENCH_K, BENCH_M (senders, recipients; 4, 4), BENCH_N
    (signals in Hartslag's saturation run; 30000), BENCH_NB (in the baselines'; 100000), BENCH_RATE
   (1000), BENCH_RATE_S (seconds at the offered rate; 5), BENCH_E2E_S (10), BENCH_E2E_LOW (a second
   e2e run at this rate for 5 s; 100, 0 = skip), BENCH_LOG_LEVEL (broker log level; info, the
   shipped default), BENCH_ONLY (comma list of hartslag, forwarder, mosquitto, e2e), BENCH_PERF (a
   perf.data path: `perf record -g` on the broker during its saturation run), BENCH_PERF_RATE (the
   same during its run at the offered rate). */
#define _GNU_SOURCE
#include "load.h"
#include "pg_harness.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t s_env_size(const char *name, size_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    return end && *end == '\0' ? (size_t)n : fallback;
}

static bool s_wanted(const char *what)
{
    const char *only = getenv("BENCH_ONLY");
    if (!only || !*only)
        return true;
    char list[256];
    snprintf(list, sizeof list, ",%s,", only);
    char needle[64];
    snprintf(needle, sizeof needle, ",%s,", what);
    return strstr(list, needle) != NULL;
}

static void s_machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                const char *colon = strchr(line, ':');
                snprintf(model, sizeof model, "%.200s", colon ? colon + 2 : line);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
    printf("machine: %ld cores (%s), load average before the run %.2f %.2f %.2f, %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, load[0], load[1], load[2], when);
}

static void s_row(const char *system, const result_t *r, bool ok, bool wanted)
{
    char offered[32];
    if (r->offered > 0)
        snprintf(offered, sizeof offered, "%.0f/s", r->offered);
    else
        snprintf(offered, sizeof offered, "max");
    if (!ok) {
        printf("%-34s %8s  %12s\n", system, offered, wanted ? "FAILED" : "skipped");
        return;
    }
    printf("%-34s %8s  %12.0f  %10.1f  %11.1f  %9.1f  %9.1f  %7.2f  %6zu\n", system, offered,
           r->per_s, r->cpu_us, r->main_us, r->write_kib, (double)r->rss_kib / 1024.0, r->seconds,
           r->n);
}

typedef struct {
    bool ran;
    result_t capacity;
    bool capacity_ok;
    latency_t e2e, e2e_low;
    bool e2e_ok, e2e_low_ok;
    takeover_t takeover;
    latency_t takeover_e2e;
    bool takeover_ok;
    double server_cpu_us; /* the PostgreSQL server's CPU per signal in the capacity run, or < 0 */
} pg_part_t;

#define SERVER_PIDS_MAX 64

/* CPU so far of every process of the cluster the broker's store is on
   (pg_stat_activity lists the backends and the server's own processes). */
typedef struct {
    pid_t pid[SERVER_PIDS_MAX];
    uint64_t cpu_us[SERVER_PIDS_MAX];
    size_t n;
} server_cpu_t;

static int s_server_cpu(bh_t *bh, server_cpu_t *out)
{
    char *pids = NULL;
    out->n = 0;
    if (bh_query(bh, "SELECT pid FROM pg_stat_activity;", &pids) != 0 || !pids)
        return -1;
    for (char *line = pids; *line && out->n < SERVER_PIDS_MAX;) {
        char *end = NULL;
        long pid = strtol(line, &end, 10);
        if (end == line)
            break;
        if (pid > 0) {
            out->pid[out->n] = (pid_t)pid;
            out->cpu_us[out->n++] = load_cpu_us((pid_t)pid);
        }
        line = end;
    }
    free(pids);
    return 0;
}

/* Server CPU spent between two readings, in microseconds. */
static uint64_t s_server_cpu_spent(const server_cpu_t *before, const server_cpu_t *after)
{
    uint64_t spent = 0;
    for (size_t i = 0; i < after->n; i++) {
        uint64_t was = 0;
        for (size_t j = 0; j < before->n; j++)
            if (before->pid[j] == after->pid[i])
                was = before->cpu_us[j];
        spent += after->cpu_us[i] > was ? after->cpu_us[i] - was : 0;
    }
    return spent;
}

static void s_postgresql(size_t k, size_t m, size_t n, double rate, double e2e_s, double low,
                         const char *level, pg_part_t *pg)
{
    char err[256];
    setenv("HARTSLAG_PG_DURABLE", "1", 1); /* fsync on, as SQLite's synchronous=FULL */
    pg_harness_t *cluster = pg_harness_start(err, sizeof err);
    if (!cluster) {
        fprintf(stderr, "hartslag-load: no PostgreSQL cluster for part 4: %s\n", err);
        return;
    }
    pg->ran = true;
    setenv("HARTSLAG_TEST_STORE", "postgresql", 1); /* bh_new: a schema in the cluster */
    party_t *party = party_new(k, m, 0);
    sealed_t *sigs = NULL;
    pg->server_cpu_us = -1;
    server_cpu_t before, after;
    if (party && party_start_broker(party, level) == 0 && party_connect_senders(party) == 0 &&
        (sigs = load_seal(party, n, 2, 0, 2)) != NULL) {
        bool measured = s_server_cpu(party->bh, &before) == 0;
        pg->capacity_ok = bench_hartslag_capacity(party, sigs, n, 0, &pg->capacity) == 0;
        if (measured && pg->capacity_ok && s_server_cpu(party->bh, &after) == 0 && n > 0)
            pg->server_cpu_us = (double)s_server_cpu_spent(&before, &after) / (double)n;
    }
    if (sigs)
        load_sealed_free(sigs, n);
    if (party && party->bh->pid > 0)
        bh_stop(party->bh, SIGTERM);
    party_destroy(&party);
    memset(&pg->e2e, 0, sizeof pg->e2e);
    pg->e2e_ok = bench_e2e(rate, e2e_s, &pg->e2e) == 0;
    pg->e2e_low_ok = low > 0 && bench_e2e(low, 5, &pg->e2e_low) == 0;
    pg->takeover.kill_after_s = 3;
    pg->takeover_ok = bench_e2e_takeover(100, 10, &pg->takeover, &pg->takeover_e2e) == 0 &&
                      pg->takeover.killed && pg->takeover.takeover_ms >= 0;
    unsetenv("HARTSLAG_TEST_STORE");
    pg_harness_destroy(&cluster);
}

static void s_latency_cell(char *cell, size_t len, const latency_t *lat, bool ok)
{
    if (ok)
        snprintf(cell, len, "%.2f / %.2f", lat->p50_ms, lat->p99_ms);
    else
        snprintf(cell, len, "%s", lat->received ? "INCOMPLETE" : "FAILED");
}

static void s_postgresql_print(const pg_part_t *pg, const result_t *sqlite, bool sqlite_ok,
                               const latency_t *lat, bool lat_ok, const latency_t *lat_low,
                               bool low_ok, double rate, double low)
{
    printf("\nPart 4: the broker's store on PostgreSQL 15 (a private cluster on this machine, "
           "same run, fsync on; CPU us/sig is the broker's, the server's is below)\n");
    char head_hi[48], head_lo[48];
    snprintf(head_hi, sizeof head_hi, "e2e %.0f/s p50/p99 ms", rate);
    snprintf(head_lo, sizeof head_lo, "e2e %.0f/s p50/p99 ms", low);
    printf("%-12s %12s  %10s  %22s  %22s\n", "store", "signals/s", "CPU us/sig", head_hi, head_lo);
    char hi[48], lo[48];
    s_latency_cell(hi, sizeof hi, lat, lat_ok);
    s_latency_cell(lo, sizeof lo, lat_low, low_ok);
    if (sqlite_ok)
        printf("%-12s %12.0f  %10.1f  %22s  %22s\n", "sqlite", sqlite->per_s, sqlite->cpu_us, hi,
               lo);
    s_latency_cell(hi, sizeof hi, &pg->e2e, pg->e2e_ok);
    s_latency_cell(lo, sizeof lo, &pg->e2e_low, pg->e2e_low_ok);
    if (pg->capacity_ok)
        printf("%-12s %12.0f  %10.1f  %22s  %22s\n", "postgresql", pg->capacity.per_s,
               pg->capacity.cpu_us, hi, lo);
    else
        printf("%-12s %12s  %10s  %22s  %22s\n", "postgresql", "FAILED", "", hi, lo);
    if (sqlite_ok && pg->capacity_ok)
        printf("ratio postgresql / sqlite capacity: %.2f   (target >= 0.3: %s)\n",
               pg->capacity.per_s / sqlite->per_s,
               pg->capacity.per_s >= 0.3 * sqlite->per_s ? "met" : "NOT met");
    if (pg->capacity_ok && pg->server_cpu_us >= 0)
        printf("the PostgreSQL server's CPU per signal in that run: %.1f us (its processes, on "
               "the same 2 cores)\n",
               pg->server_cpu_us);
    const takeover_t *tk = &pg->takeover;
    const latency_t *tl = &pg->takeover_e2e;
    if (!tk->killed) {
        printf("takeover: FAILED (the run did not reach the kill)\n");
        return;
    }
    printf("takeover: active broker killed -9 %.0f s into a 100/s run through daemons that know "
           "both endpoints:\n  the standby was active after %.0f ms; the first signal sent after "
           "the kill reached both recipients after %.0f ms;\n  %zu of %zu signals reached both "
           "recipients (%zu lost), %zu took longer than 100 ms (p99 %.0f ms, max %.0f ms), %zu "
           "duplicate deliveries seen%s\n",
           tk->kill_after_s, tk->takeover_ms, tk->first_after_ms, tl->received, tl->sent, tl->lost,
           tk->delayed, tl->p99_ms, tl->max_ms, tk->duplicates,
           pg->takeover_ok ? "" : "  (INCOMPLETE)");
}

static int s_all(void)
{
    size_t k = s_env_size("BENCH_K", 4), m = s_env_size("BENCH_M", 4);
    size_t n = s_env_size("BENCH_N", 30000);
    size_t nb = s_env_size("BENCH_NB", 100000); /* the baselines are 5-10x faster */
    size_t top = n > nb ? n : nb;
    double rate = (double)s_env_size("BENCH_RATE", 1000);
    size_t rate_n = (size_t)(rate * (double)s_env_size("BENCH_RATE_S", 5));
    double e2e_s = (double)s_env_size("BENCH_E2E_S", 10);
    const char *level = getenv("BENCH_LOG_LEVEL") ? getenv("BENCH_LOG_LEVEL") : "info";
    if (m < 2 || m % 2)
        m = 4;
    uint64_t t_start = load_now_ns();
    s_machine();
    party_t *party = party_new(k, m, 0);
    if (!party || party_start_broker(party, level) != 0 || party_connect_senders(party) != 0) {
        fprintf(stderr, "hartslag-load: cannot set up the partnership or start the broker\n");
        party_destroy(&party);
        return 1;
    }
    uint64_t t_seal = load_now_ns();
    size_t n_alerts = s_wanted("alerts") ? n : 0; /* the same run with alert rules on */
    sealed_t *sigs = load_seal(party, top + rate_n, 2, 0, 2);
    if (!sigs) {
        fprintf(stderr, "hartslag-load: sealing failed\n");
        party_destroy(&party);
        return 1;
    }
    double seal_s = (double)(load_now_ns() - t_seal) / 1e9;
    size_t sealed_bytes = sigs[0].len;
    printf("setup: %zu senders, %zu recipients, %zu signals of %zu bytes sealed in %.1f s "
           "(outside the timed part); broker log_level %s\n\n",
           k, m, top + rate_n, sealed_bytes, seal_s, level);
    result_t hs = {0}, fs = {0}, ms = {0}, hr = {0}, fr = {0}, mr = {0};
    bool hs_ok = false, fs_ok = false, ms_ok = false, hr_ok = false, fr_ok = false, mr_ok = false;
    const char *perf_out = getenv("BENCH_PERF");
    if (s_wanted("hartslag")) {
        pid_t perf = perf_out && *perf_out ? load_perf_start(party->bh->pid, perf_out) : 0;
        hs_ok = bench_hartslag_capacity(party, sigs, n, 0, &hs) == 0;
        load_perf_stop(perf);
    }
    /* Alert rules on (SIGHUP with a rule counting every signal): matching
       must cost O(1) per signal, the ratio on/off >= 0.9 (issue 7). */
    result_t ha = {0};
    bool ha_ok = false;
    if (n_alerts) {
        /* A second, fresh broker whose agreements have an alert rule counting
           every signal: the same first run on an empty store as above, so
           the ratio is the matching's cost, not the store's growth. */
        party_t *alerting = party_new(k, m, 0);
        sealed_t *asigs = NULL;
        if (alerting && party_start_broker(alerting, level) == 0 &&
            party_enable_alerts(alerting) == 0 && party_connect_senders(alerting) == 0 &&
            (asigs = load_seal(alerting, n_alerts, 2, 0, 2)) != NULL)
            ha_ok = bench_hartslag_capacity(alerting, asigs, n_alerts, 0, &ha) == 0;
        if (asigs)
            load_sealed_free(asigs, n_alerts);
        if (alerting)
            bh_stop(alerting->bh, SIGTERM);
        party_destroy(&alerting);
    }
    if (s_wanted("forwarder"))
        fs_ok = bench_forwarder_capacity(party, sigs, nb, 0, &fs) == 0;
    if (s_wanted("mosquitto"))
        ms_ok = bench_mosquitto_capacity(party, sigs, nb, 0, &ms) == 0;
    if (s_wanted("hartslag")) {
        const char *perf_rate = getenv("BENCH_PERF_RATE");
        pid_t perf = perf_rate && *perf_rate ? load_perf_start(party->bh->pid, perf_rate) : 0;
        hr_ok = bench_hartslag_capacity(party, sigs + top, rate_n, rate, &hr) == 0;
        load_perf_stop(perf);
    }
    if (s_wanted("forwarder"))
        fr_ok = bench_forwarder_capacity(party, sigs + top, rate_n, rate, &fr) == 0;
    if (s_wanted("mosquitto"))
        mr_ok = bench_mosquitto_capacity(party, sigs + top, rate_n, rate, &mr) == 0;
    uint64_t broker_rss = load_rss_kib(party->bh->pid);
    bh_stop(party->bh, SIGTERM);
    load_sealed_free(sigs, top + rate_n);
    party_destroy(&party);

    latency_t lat;
    memset(&lat, 0, sizeof lat);
    bool lat_ok = s_wanted("e2e") && bench_e2e(rate, e2e_s, &lat) == 0;
    /* The same at a rate this machine sustains, to separate the pipeline's
       latency from queueing behind a saturated stage. */
    double low = (double)s_env_size("BENCH_E2E_LOW", 100);
    latency_t lat_low;
    memset(&lat_low, 0, sizeof lat_low);
    bool low_ok = low > 0 && s_wanted("e2e") && bench_e2e(low, 5, &lat_low) == 0;

    /* Part 4: the same broker on a PostgreSQL store (issue 16), in the
       same run so that the ratio compares like with like. */
    pg_part_t pg = {.ran = false};
    if (s_wanted("postgresql"))
        s_postgresql(k, m, n, rate, e2e_s, low, level, &pg);

    printf("Part 1: capacity, %zu senders -> %zu recipients, 2 recipients per signal, every "
           "delivery stored by the recipient and acknowledged\n",
           k, m);
    printf("%-34s %8s  %12s  %10s  %11s  %9s  %9s  %7s  %6s\n", "system", "offered", "signals/s",
           "CPU us/sig", "main thread", "KiB w/sig", "RSS MiB", "seconds", "n");
    bool want_h = s_wanted("hartslag"), want_f = s_wanted("forwarder"),
         want_m = s_wanted("mosquitto");
    s_row("hartslag broker", &hs, hs_ok, want_h);
    if (n_alerts)
        s_row("hartslag broker, alert rules on", &ha, ha_ok, want_h);
    s_row("ceiling: raw ZeroMQ CURVE fwd", &fs, fs_ok, want_f);
    s_row("mosquitto QoS1 persistence", &ms, ms_ok, want_m);
    s_row("hartslag broker", &hr, hr_ok, want_h);
    s_row("ceiling: raw ZeroMQ CURVE fwd", &fr, fr_ok, want_f);
    s_row("mosquitto QoS1 persistence", &mr, mr_ok, want_m);
    if (hs_ok && ha_ok)
        printf("ratio alert rules on / off (saturation): %.3f   (target >= 0.9)\n",
               ha.per_s / hs.per_s);
    if (hs_ok && fs_ok)
        printf("ratio hartslag / ceiling   (saturation): %.3f   (CPU per signal: %.1fx)\n",
               hs.per_s / fs.per_s, fs.cpu_us > 0 ? hs.cpu_us / fs.cpu_us : 0);
    if (hs_ok && ms_ok)
        printf("ratio hartslag / mosquitto (saturation): %.3f   (CPU per signal: %.1fx)\n",
               hs.per_s / ms.per_s, ms.cpu_us > 0 ? hs.cpu_us / ms.cpu_us : 0);
    printf("broker RSS after part 1: %.1f MiB\n", (double)broker_rss / 1024.0);
    printf("\nPart 2: end-to-end latency, hartslagd s1 -> broker -> hartslagd r1 + r2 "
           "(send request -> both inboxes committed and acked)\n");
    if (lat_ok || lat.received > 0)
        printf("offered %.0f/s for %.0f s: %zu of %zu arrived, p50 %.2f ms, p99 %.2f ms, "
               "p99.9 %.2f ms, max %.2f ms%s\n",
               lat.offered, e2e_s, lat.received, lat.sent, lat.p50_ms, lat.p99_ms, lat.p999_ms,
               lat.max_ms, lat_ok ? "" : "  (INCOMPLETE)");
    if (lat.received > 0)
        printf("  achieved %.0f/s; CPU per signal: sender daemon %.0f us, each recipient daemon "
               "%.0f us, broker %.0f us\n",
               lat.achieved, lat.cpu_sender_us, lat.cpu_recipient_us, lat.cpu_broker_us);
    else if (s_wanted("e2e"))
        printf("FAILED\n");
    if (low_ok)
        printf("offered %.0f/s for 5 s: %zu of %zu arrived, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f "
               "ms, max %.2f ms\n  achieved %.0f/s; CPU per signal: sender daemon %.0f us, each "
               "recipient daemon %.0f us, broker %.0f us\n",
               lat_low.offered, lat_low.received, lat_low.sent, lat_low.p50_ms, lat_low.p99_ms,
               lat_low.p999_ms, lat_low.max_ms, lat_low.achieved, lat_low.cpu_sender_us,
               lat_low.cpu_recipient_us, lat_low.cpu_broker_us);
    printf("\nTargets: capacity >= 10000/s (%s), >= 0.5x mosquitto (%s), e2e p50 <= 2 ms (%s), "
           "p99 <= 5 ms (%s)\n",
           hs_ok ? (hs.per_s >= 10000 ? "met" : "NOT met") : "n/a",
           hs_ok && ms_ok ? (hs.per_s >= 0.5 * ms.per_s ? "met" : "NOT met") : "n/a",
           lat_ok ? (lat.p50_ms <= 2 ? "met" : "NOT met") : "n/a",
           lat_ok ? (lat.p99_ms <= 5 ? "met" : "NOT met") : "n/a");
    if (pg.ran)
        s_postgresql_print(&pg, &hs, hs_ok, &lat, lat_ok, &lat_low, low_ok, rate, low);
    printf("total run time %.0f s\n", (double)(load_now_ns() - t_start) / 1e9);
    bool pg_fine =
        !s_wanted("postgresql") || (pg.ran && pg.capacity_ok && pg.e2e_ok && pg.takeover_ok);
    return hs_ok && fs_ok && ms_ok && hr_ok && fr_ok && mr_ok && lat_ok && pg_fine ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "forwarder") == 0)
        return forwarder_main(argc, argv);
    if (sodium_init() < 0)
        return 1;
    zsys_set_max_sockets(0);
    zsys_set_linger(0);
    zsys_handler_set(NULL);
    signal(SIGPIPE, SIG_IGN);
    /* The harness finds hartslag-broker and hartslagd here. */
    if (!getenv("HARTSLAG_BIN"))
        setenv("HARTSLAG_BIN", "build", 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "scale") == 0)
        return bench_scale();
    if (argc >= 2 && strcmp(argv[1], "all") != 0) {
        fprintf(stderr, "usage: hartslag-load [all|scale]\n");
        return 2;
    }
    return s_all();
}
