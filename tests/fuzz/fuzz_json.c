/*  fuzz_json: the daemon's flat-JSON reader (json_flat_next in
    clients/daemon/strbuf.c), which reads an inbox entry's content fields
    back from hartslagd.db to render them for the hook, `hartslag inbox`,
    `show` and `watch`.

    The input is the stored text (NUL-terminated here, as SQLite hands it
    over). The pairs are read to the end of the object or the first error;
    then the contract: a text that reads to its end, written again with
    strbuf_json_string, reads to the same pairs (as C strings: a \u0000
    ends a value where the renderers stop anyway).
*/
#include "fuzz_common.h"

#include "../../clients/daemon/strbuf.h"

#define PAIRS_MAX 4096

typedef struct {
    char *name[PAIRS_MAX];  /* names read (owned) */
    char *value[PAIRS_MAX]; /* values read (owned) */
    size_t n;               /* pairs */
    int rc;                 /* the last json_flat_next: 0 end, -1 error */
} pairs_t;

static void s_read(const char *json, pairs_t *p)
{
    size_t pos = 0;
    p->n = 0;
    char *name = NULL, *value = NULL;
    while ((p->rc = json_flat_next(json, &pos, &name, &value)) == 1) {
        FUZZ_CHECK(name != NULL && value != NULL);
        if (p->n == PAIRS_MAX) {
            free(name);
            free(value);
            p->rc = -2;
            return;
        }
        p->name[p->n] = name;
        p->value[p->n] = value;
        p->n++;
        name = value = NULL;
    }
    FUZZ_CHECK(p->rc == 0 || p->rc == -1);
}

static void s_free(pairs_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->name[i]);
        free(p->value[i]);
    }
    p->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pairs_t first, again;
    char *json = malloc(size + 1);
    FUZZ_CHECK(json != NULL);
    memcpy(json, data, size);
    json[size] = '\0';
    s_read(json, &first);
    free(json);
    if (first.rc == 0) {
        strbuf_t out = {0};
        strbuf_puts(&out, "{");
        for (size_t i = 0; i < first.n; i++) {
            if (i)
                strbuf_puts(&out, ",");
            strbuf_json_string(&out, first.name[i]);
            strbuf_puts(&out, ":");
            strbuf_json_string(&out, first.value[i]);
        }
        strbuf_puts(&out, "}");
        FUZZ_CHECK(strbuf_ok(&out));
        s_read(strbuf_text(&out), &again);
        FUZZ_CHECK(again.rc == 0 && again.n == first.n);
        for (size_t i = 0; i < first.n; i++) {
            FUZZ_CHECK(strcmp(again.name[i], first.name[i]) == 0);
            FUZZ_CHECK(strcmp(again.value[i], first.value[i]) == 0);
        }
        s_free(&again);
        strbuf_wipe(&out);
    }
    s_free(&first);
    return 0;
}
