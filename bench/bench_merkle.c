/*  bench_merkle: the audit log's Merkle tree at 10^6 leaves (default) —
    appends per second (with the node cache fed through on_node), root
    computation, inclusion and consistency proof generation with the node
    cache in memory (and, for scale, a few without), proof verification,
    and checkpoint sign/open/cosign/verify. Figures only; never pass/fail.
    Usage: bench_merkle [leaves, default 1000000] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "checkpoint.h"
#include "merkle.h"

#define H MERKLE_HASHBYTES

/* In-memory store: leaf hashes and every perfect node by level. */
typedef struct {
    unsigned char (*leaves)[H];    /* leaf hashes */
    uint64_t n;                    /* leaves held */
    unsigned char (*nodes[64])[H]; /* nodes[level][index], level >= 1 */
    uint64_t have[64];             /* nodes reported per level (in order) */
} store_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_row(const char *what, long n, double seconds)
{
    printf("%-44s %12.0f /s  %10.2f us each  (%ld in %.2f s)\n", what, (double)n / seconds,
           seconds / (double)n * 1e6, n, seconds);
}

static int s_get_leaf(void *arg, uint64_t index, unsigned char out[H])
{
    store_t *s = arg;
    if (index >= s->n)
        return -1;
    memcpy(out, s->leaves[index], H);
    return 0;
}

static int s_get_node(void *arg, unsigned level, uint64_t index, unsigned char out[H])
{
    store_t *s = arg;
    if (level >= 64 || index >= s->have[level])
        return 1;
    memcpy(out, s->nodes[level][index], H);
    return 0;
}

static int s_on_node(void *arg, unsigned level, uint64_t index, const unsigned char hash[H])
{
    store_t *s = arg;
    if (level >= 64 || !s->nodes[level] || index != s->have[level])
        return -1;
    memcpy(s->nodes[level][index], hash, H);
    s->have[level]++;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n < 2)
        n = 1000000;
    if (sodium_init() < 0)
        return 1;

    store_t st;
    memset(&st, 0, sizeof st);
    st.leaves = malloc((size_t)n * H);
    for (unsigned l = 1; l < 64 && ((uint64_t)n >> l) > 0; l++)
        st.nodes[l] = malloc(((size_t)n >> l) * H);
    if (!st.leaves)
        return 1;
    /* 300-byte records, like a serialized AuditRecord */
    unsigned char rec[300];
    memset(rec, 0x5a, sizeof rec);

    printf("Merkle tree, %ld leaves\n", n);
    double t0 = s_now();
    for (long i = 0; i < n; i++) {
        memcpy(rec, &i, sizeof i);
        merkle_leaf_hash(rec, sizeof rec, st.leaves[i]);
    }
    double t1 = s_now();
    s_row("leaf hash (300-byte record)", n, t1 - t0);

    merkle_tree_t *tree = merkle_tree_new();
    merkle_tree_set_on_node(tree, s_on_node, &st);
    t0 = s_now();
    for (long i = 0; i < n; i++) {
        st.n = (uint64_t)i + 1;
        if (merkle_tree_append(tree, st.leaves[i]) != 0)
            return 1;
    }
    t1 = s_now();
    s_row("append (compact range + on_node)", n, t1 - t0);

    unsigned char root[H];
    long reps = 100000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        merkle_tree_root(tree, root);
    t1 = s_now();
    s_row("root from compact range", reps, t1 - t0);

    merkle_source_t cached = {s_get_leaf, s_get_node, &st};
    merkle_source_t plain = {s_get_leaf, NULL, &st};
    unsigned char check[H];
    reps = 10000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (merkle_subtree_root(&cached, 0, (uint64_t)n - (uint64_t)(i % 1000), check) != 0)
            return 1;
    t1 = s_now();
    s_row("root at any size (node cache)", reps, t1 - t0);
    if (merkle_subtree_root(&cached, 0, (uint64_t)n, check) != 0 || memcmp(check, root, H) != 0) {
        fprintf(stderr, "root mismatch\n");
        return 1;
    }

    static unsigned char proofs[1000][MERKLE_PROOF_MAX][H];
    static size_t lens[1000];
    static uint64_t idx[1000];
    for (int i = 0; i < 1000; i++)
        idx[i] = randombytes_uniform((uint32_t)n);
    reps = 100000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (merkle_inclusion_proof(&cached, (uint64_t)n, idx[i % 1000], proofs[i % 1000],
                                   &lens[i % 1000]) != 0)
            return 1;
    t1 = s_now();
    s_row("inclusion proof (node cache)", reps, t1 - t0);

    reps = 5;
    t0 = s_now();
    for (long i = 0; i < reps; i++) {
        unsigned char p[MERKLE_PROOF_MAX][H];
        size_t len;
        if (merkle_inclusion_proof(&plain, (uint64_t)n, idx[i], p, &len) != 0 || len != lens[i] ||
            memcmp(p, proofs[i], len * H) != 0)
            return 1;
    }
    t1 = s_now();
    s_row("inclusion proof (no cache, O(n))", reps, t1 - t0);

    reps = 200000;
    t0 = s_now();
    for (long i = 0; i < reps; i++) {
        int k = (int)(i % 1000);
        if (merkle_verify_inclusion(st.leaves[idx[k]], idx[k], (uint64_t)n,
                                    (const unsigned char(*)[H])proofs[k], lens[k], root) != 0)
            return 1;
    }
    t1 = s_now();
    s_row("verify inclusion", reps, t1 - t0);

    uint64_t old = (uint64_t)n / 3 + 1;
    unsigned char old_root[H], cp_proof[MERKLE_PROOF_MAX][H];
    size_t cp_len = 0;
    if (merkle_subtree_root(&cached, 0, old, old_root) != 0)
        return 1;
    reps = 100000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (merkle_consistency_proof(&cached, old, (uint64_t)n, cp_proof, &cp_len) != 0)
            return 1;
    t1 = s_now();
    s_row("consistency proof (node cache)", reps, t1 - t0);
    reps = 200000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (merkle_verify_consistency(old, (uint64_t)n, old_root, root,
                                      (const unsigned char(*)[H])cp_proof, cp_len) != 0)
            return 1;
    t1 = s_now();
    s_row("verify consistency", reps, t1 - t0);

    unsigned char state[MERKLE_STATE_MAX];
    size_t state_len;
    merkle_tree_save(tree, state, &state_len);
    reps = 100;
    t0 = s_now();
    for (long i = 0; i < reps; i++) {
        merkle_tree_t *r = merkle_tree_restore(&cached, (uint64_t)n);
        if (!r)
            return 1;
        merkle_tree_destroy(&r);
    }
    t1 = s_now();
    s_row("restore compact range from node cache", reps, t1 - t0);
    printf("saved compact state: %zu bytes\n\n", state_len);

    /* Checkpoints */
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    unsigned char cpk[crypto_sign_PUBLICKEYBYTES], csk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(cpk, csk);
    checkpoint_t cp = {"hartslag.passart-heerlen/audit", (uint64_t)n, {0}}, got;
    memcpy(cp.root, root, H);
    char note[CHECKPOINT_NOTE_MAX + 1], line[CHECKPOINT_LINE_MAX + 1];
    size_t note_len = 0, line_len = 0;
    reps = 20000;
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (checkpoint_sign(&cp, sk, note, sizeof note, &note_len) != CHECKPOINT_OK)
            return 1;
    t1 = s_now();
    s_row("checkpoint sign", reps, t1 - t0);
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (checkpoint_open(note, note_len, cp.origin, pk, &got) != CHECKPOINT_OK)
            return 1;
    t1 = s_now();
    s_row("checkpoint open (parse + verify)", reps, t1 - t0);
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (checkpoint_cosign(&got, "hartslag.passart-heerlen/politie", csk, 1700000000, line,
                              sizeof line, &line_len) != CHECKPOINT_OK)
            return 1;
    t1 = s_now();
    s_row("cosign", reps, t1 - t0);
    t0 = s_now();
    for (long i = 0; i < reps; i++)
        if (checkpoint_cosignature_verify(&cp, line, line_len, "hartslag.passart-heerlen/politie",
                                          cpk, NULL) != CHECKPOINT_OK)
            return 1;
    t1 = s_now();
    s_row("cosignature verify", reps, t1 - t0);

    merkle_tree_destroy(&tree);
    for (unsigned l = 0; l < 64; l++)
        free(st.nodes[l]);
    free(st.leaves);
    return 0;
}
