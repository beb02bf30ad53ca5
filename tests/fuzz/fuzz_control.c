/*  fuzz_control: requests on hartslagd's control socket, as any local
    process of the daemon's user can send them.

    The input is text: requests separated by 0x1e (RS), the frames of a
    request by 0x1f (US); an empty request is a message with a routing id
    and no frame. Each request gets a routing id and goes through
    control_request, the daemon's own entry point after the socket: the
    frame checks (1..200 frames, no embedded NUL), then the command (send,
    status, inbox, show, wait, withdraw, alert-ack, watch, unwatch) with
    its key=value options. The words @OUT, @IN and @ALERT become the
    32-hex ids of the template's sent signal, received signal and alert
    (fuzz_daemon.h). After the requests the turn transaction must commit,
    and every parked request is timed out (control_tick), which answers it
    from the store.
*/
#include "fuzz_daemon.h"

#define REQUESTS_MAX 8
#define FRAMES_MAX 256
#define TEXT_MAX (64 * 1024)

static fuzz_daemon_t s_fd;

static void s_write_seeds(const char *dir)
{
    static const struct {
        const char *name;
        const char *text;
    } seeds[] = {
        {"status", "status\x1f"
                   "format=json\x1estatus\x1f"
                   "format=text"},
        {"send", "send\x1fto=politie,welzijn\x1ftype=zorgmelding\x1fpurpose=zorgcoordinatie\x1f"
                 "subject-bsn=111222333\x1f"
                 "field=datum=2025-01-02\x1f"
                 "text=Vrije tekst\x1fuser=u1\x1furgency=priority\x1fvalid-days=10"},
        {"send-denied", "send\x1fto=politie\x1ftype=overlast\x1fpurpose=casusoverleg\x1f"
                        "subject-address=6411 AB 1\x1f"
                        "field=adres=x\x1fuser=u1"},
        {"send-two-subjects",
         "send\x1fto=welzijn\x1ftype=zorgmelding\x1fpurpose=zorgcoordinatie\x1f"
         "subject-bsn=111222333\x1fsubject-case=Z-1\x1fuser=u1"},
        {"inbox", "inbox\x1f"
                  "format=json\x1flimit=5\x1einbox\x1f"
                  "alerts=yes\x1f"
                  "format=json"},
        {"show", "show\x1fid=@IN\x1f"
                 "format=json\x1eshow\x1fid=@IN"},
        {"wait-withdraw", "wait\x1fid=@OUT\x1ftimeout-ms=10\x1ewithdraw\x1fid=@OUT\x1f"
                          "reason=unjustified\x1ftimeout-ms=15000"},
        {"alert-ack", "alert-ack\x1fid=@ALERT\x1flead=politie"},
        {"watch", "watch\x1f"
                  "format=json\x1eunwatch\x1ewatch\x1f"
                  "format=text"},
        {"malformed", "\x1estatus\x1f\x1fnope\x1e"},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        fuzz_write_seed(dir, seeds[i].name, seeds[i].text, strlen(seeds[i].text));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_daemon_init(&s_fd);
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* Appends one frame: `bytes` with the placeholders replaced. */
static void s_frame(zmsg_t *msg, const uint8_t *bytes, size_t len)
{
    static char text[TEXT_MAX + 64];
    static const char *holders[] = {"@OUT", "@IN", "@ALERT"};
    const char *ids[] = {s_fd.outbox_hex, s_fd.inbox_hex, s_fd.alert_hex};
    size_t n = 0;
    for (size_t i = 0; i < len && n < TEXT_MAX;) {
        bool replaced = false;
        for (size_t k = 0; k < 3 && !replaced; k++) {
            size_t hl = strlen(holders[k]);
            if (len - i >= hl && memcmp(bytes + i, holders[k], hl) == 0) {
                memcpy(text + n, ids[k], 32);
                n += 32;
                i += hl;
                replaced = true;
            }
        }
        if (!replaced)
            text[n++] = (char)bytes[i++];
    }
    FUZZ_CHECK(zmsg_addmem(msg, text, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_daemon_reset(&s_fd);
    size_t pos = 0;
    for (int r = 0; r < REQUESTS_MAX && pos <= size; r++) {
        const uint8_t *end = memchr(data + pos, 0x1e, size - pos);
        size_t req_end = end ? (size_t)(end - data) : size;
        zmsg_t *msg = zmsg_new();
        FUZZ_CHECK(msg != NULL);
        char routing[16];
        snprintf(routing, sizeof routing, "fuzz-%d", r);
        FUZZ_CHECK(zmsg_addstr(msg, routing) == 0);
        if (req_end > pos) {
            size_t frame_start = pos;
            int frames = 0;
            for (size_t i = pos; i <= req_end && frames < FRAMES_MAX; i++)
                if (i == req_end || data[i] == 0x1f) {
                    s_frame(msg, data + frame_start, i - frame_start);
                    frames++;
                    frame_start = i + 1;
                }
        }
        control_request(s_fd.daemon, &msg);
        FUZZ_CHECK(msg == NULL);
        if (!end)
            break;
        pos = req_end + 1;
    }
    if (getenv("HARTSLAG_FUZZ_LOG"))
        for (size_t i = 0; i < s_fd.daemon->n_replies; i++)
            for (size_t k = 0; k < s_fd.daemon->replies[i].n_frames; k++)
                fprintf(stderr, "fuzz: send answer %zu: %s\n", i,
                        s_fd.daemon->replies[i].frames[k]);
    /* The turn commits; every parked request is answered (timed out). */
    FUZZ_CHECK(daemon_flush(s_fd.daemon) == 0);
    control_tick(s_fd.daemon, daemon_now_ms() + 24ull * 3600 * 1000);
    for (size_t i = 0; i < DAEMON_WAITERS_MAX; i++)
        FUZZ_CHECK(s_fd.daemon->waiters[i].routing == NULL);
    return 0;
}
