/*  fuzz_audit_proof: audit proofs and checkpoints as a privacy officer or
    a partner daemon receives them (lib/merkle.h verification,
    lib/checkpoint.h signed notes).

    A tree of TREE_LEAVES leaves is built at start-up; its leaf hashes, the
    root at every size and a node cache make genuine proofs cheap. The
    first input byte picks the mode:

      0  inclusion    a genuine proof for (index, size) chosen by the input,
                      then mutated by it (index, size, proof length, leaf,
                      root, proof bytes); merkle_verify_inclusion
      1  consistency  the same for (old_size, new_size);
                      merkle_verify_consistency
      2  note         the rest is a checkpoint note: checkpoint_open with the
                      log's key, checkpoint_cosigned with a partner's key,
                      checkpoint_add_signature of a valid cosignature line
      3  line         the rest is one cosignature line:
                      checkpoint_cosignature_verify against a fixed
                      checkpoint, and checkpoint_add_signature to a valid note
      4  sign         the rest gives an origin, a size and a root: what
                      checkpoint_sign and checkpoint_cosign write, open and
                      verify again (the writers are the readers' inverse)

    Invariants: a genuine, unmutated proof verifies; against the genuine
    root for an unchanged index and size, an accepted proof is exactly the
    genuine one for the genuine leaf (soundness: changing the leaf or any
    proof hash must be refused); the same for consistency against the
    genuine new root; an accepted note says what its body says.
*/
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_common.h"
#include "merkle.h"

#define TREE_LEAVES 1100 /* not a power of two, eleven levels */
#define TREE_LEVELS 12
#define PROOF_ROOM (MERKLE_PROOF_MAX + 4) /* lengths past the cap are tried too */
#define ORIGIN "hartslag.fuzz/audit"
#define COSIGNER "politie"

enum { MODE_INCLUSION, MODE_CONSISTENCY, MODE_NOTE, MODE_LINE, MODE_SIGN, MODE_COUNT_ };

static unsigned char s_leaves[TREE_LEAVES][MERKLE_HASHBYTES];
static unsigned char s_roots[TREE_LEAVES + 1][MERKLE_HASHBYTES]; /* root at each size */
static unsigned char s_nodes[TREE_LEVELS][TREE_LEAVES][MERKLE_HASHBYTES];
static bool s_have[TREE_LEVELS][TREE_LEAVES];

static unsigned char s_log_pk[crypto_sign_PUBLICKEYBYTES], s_log_sk[crypto_sign_SECRETKEYBYTES];
static unsigned char s_cos_pk[crypto_sign_PUBLICKEYBYTES], s_cos_sk[crypto_sign_SECRETKEYBYTES];
static checkpoint_t s_cp;                    /* a checkpoint of the tree */
static char s_note[CHECKPOINT_NOTE_MAX + 1]; /* s_cp signed by the log and cosigned */
static size_t s_note_len;
static char s_line[CHECKPOINT_LINE_MAX + 1]; /* the cosignature line of s_cp */
static size_t s_line_len;

/* Reads the input front to back; past its end every read gives zeros. */
typedef struct {
    const uint8_t *p; /* next byte */
    size_t n;         /* bytes left */
} reader_t;

static uint64_t s_read(reader_t *r, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        v = v << 8 | (r->n ? *r->p : 0);
        if (r->n) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

static int s_on_node(void *arg, unsigned level, uint64_t index,
                     const unsigned char hash[MERKLE_HASHBYTES])
{
    (void)arg;
    FUZZ_CHECK(level < TREE_LEVELS && index < TREE_LEAVES);
    memcpy(s_nodes[level][index], hash, MERKLE_HASHBYTES);
    s_have[level][index] = true;
    return 0;
}

static int s_get_leaf(void *arg, uint64_t index, unsigned char out[MERKLE_HASHBYTES])
{
    (void)arg;
    if (index >= TREE_LEAVES)
        return -1;
    memcpy(out, s_leaves[index], MERKLE_HASHBYTES);
    return 0;
}

static int s_get_node(void *arg, unsigned level, uint64_t index,
                      unsigned char out[MERKLE_HASHBYTES])
{
    (void)arg;
    if (level >= TREE_LEVELS || index >= TREE_LEAVES || !s_have[level][index])
        return 1;
    memcpy(out, s_nodes[level][index], MERKLE_HASHBYTES);
    return 0;
}

static const merkle_source_t s_source = {s_get_leaf, s_get_node, NULL};

static void s_build(void)
{
    merkle_tree_t *t = merkle_tree_new();
    FUZZ_CHECK(t != NULL);
    merkle_tree_set_on_node(t, s_on_node, NULL);
    merkle_tree_root(t, s_roots[0]);
    for (uint32_t i = 0; i < TREE_LEAVES; i++) {
        unsigned char rec[4] = {(unsigned char)(i >> 24), (unsigned char)(i >> 16),
                                (unsigned char)(i >> 8), (unsigned char)i};
        merkle_leaf_hash(rec, sizeof rec, s_leaves[i]);
        FUZZ_CHECK(merkle_tree_append(t, s_leaves[i]) == 0);
        merkle_tree_root(t, s_roots[i + 1]);
    }
    merkle_tree_destroy(&t);

    unsigned char seed[32];
    memset(seed, 'L', sizeof seed);
    crypto_sign_seed_keypair(s_log_pk, s_log_sk, seed);
    memset(seed, 'C', sizeof seed);
    crypto_sign_seed_keypair(s_cos_pk, s_cos_sk, seed);
    snprintf(s_cp.origin, sizeof s_cp.origin, "%s", ORIGIN);
    s_cp.size = TREE_LEAVES;
    memcpy(s_cp.root, s_roots[TREE_LEAVES], MERKLE_HASHBYTES);
    char signed_note[CHECKPOINT_NOTE_MAX + 1];
    size_t signed_len = 0;
    FUZZ_CHECK(checkpoint_sign(&s_cp, s_log_sk, signed_note, sizeof signed_note, &signed_len) ==
               CHECKPOINT_OK);
    FUZZ_CHECK(checkpoint_cosign(&s_cp, COSIGNER, s_cos_sk, 1767225600, s_line, sizeof s_line,
                                 &s_line_len) == CHECKPOINT_OK);
    FUZZ_CHECK(checkpoint_add_signature(signed_note, signed_len, s_line, s_line_len, s_note,
                                        sizeof s_note, &s_note_len) == CHECKPOINT_OK);
}

/* Applies the input's mutations to a hash: XOR with 32 input bytes. */
static void s_xor_hash(reader_t *r, unsigned char h[MERKLE_HASHBYTES])
{
    for (size_t i = 0; i < MERKLE_HASHBYTES; i++)
        h[i] ^= (unsigned char)s_read(r, 1);
}

/* Mutation flags, one input byte. */
#define MUT_A 0x01     /* replace index / old_size with 8 input bytes */
#define MUT_B 0x02     /* replace size / new_size with 8 input bytes */
#define MUT_LEN 0x04   /* replace the proof length with one input byte */
#define MUT_H1 0x08    /* XOR the leaf / old root */
#define MUT_H2 0x10    /* XOR the root / new root */
#define MUT_PROOF 0x20 /* XOR the rest of the input into the proof */

static void s_mutate_proof(reader_t *r, uint8_t flags, unsigned char (*proof)[MERKLE_HASHBYTES],
                           size_t *len)
{
    if (flags & MUT_LEN)
        *len = (size_t)s_read(r, 1) % (PROOF_ROOM + 1);
    if (flags & MUT_PROOF) {
        unsigned char *bytes = &proof[0][0];
        for (size_t i = 0; r->n > 0 && i < PROOF_ROOM * MERKLE_HASHBYTES; i++)
            bytes[i] ^= (unsigned char)s_read(r, 1);
    }
}

static void s_inclusion(reader_t *r)
{
    uint64_t size = 1 + s_read(r, 2) % TREE_LEAVES;
    uint64_t index = s_read(r, 2) % size;
    uint8_t flags = (uint8_t)s_read(r, 1);
    static unsigned char proof[PROOF_ROOM][MERKLE_HASHBYTES];
    static unsigned char genuine[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    size_t len = 0, genuine_len = 0;
    memset(proof, 0, sizeof proof);
    FUZZ_CHECK(merkle_inclusion_proof(&s_source, size, index, genuine, &genuine_len) == 0);
    memcpy(proof, genuine, genuine_len * MERKLE_HASHBYTES);
    len = genuine_len;
    unsigned char leaf[MERKLE_HASHBYTES], root[MERKLE_HASHBYTES];
    memcpy(leaf, s_leaves[index], sizeof leaf);
    memcpy(root, s_roots[size], sizeof root);
    FUZZ_CHECK(merkle_verify_inclusion(leaf, index, size, genuine, genuine_len, root) == 0);

    uint64_t m_index = flags & MUT_A ? s_read(r, 8) : index;
    uint64_t m_size = flags & MUT_B ? s_read(r, 8) : size;
    if (flags & MUT_H1)
        s_xor_hash(r, leaf);
    if (flags & MUT_H2)
        s_xor_hash(r, root);
    s_mutate_proof(r, flags, proof, &len);

    int rc = merkle_verify_inclusion(leaf, m_index, m_size, (const unsigned char(*)[32])proof, len,
                                     root);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_CHECK(len <= MERKLE_PROOF_MAX && m_index < m_size);
        /* Soundness: against the genuine root of this index and size,
           only the genuine leaf with the genuine proof is accepted. (With
           another root, the leaf may well be in some other tree.) */
        if (m_index == index && m_size == size && memcmp(root, s_roots[size], sizeof root) == 0) {
            FUZZ_CHECK(memcmp(leaf, s_leaves[index], sizeof leaf) == 0);
            FUZZ_CHECK(len == genuine_len && memcmp(proof, genuine, len * MERKLE_HASHBYTES) == 0);
        }
    }
}

static void s_consistency(reader_t *r)
{
    uint64_t new_size = s_read(r, 2) % (TREE_LEAVES + 1);
    uint64_t old_size = s_read(r, 2) % (new_size + 1);
    uint8_t flags = (uint8_t)s_read(r, 1);
    static unsigned char proof[PROOF_ROOM][MERKLE_HASHBYTES];
    static unsigned char genuine[MERKLE_PROOF_MAX][MERKLE_HASHBYTES];
    size_t len = 0, genuine_len = 0;
    memset(proof, 0, sizeof proof);
    FUZZ_CHECK(merkle_consistency_proof(&s_source, old_size, new_size, genuine, &genuine_len) == 0);
    memcpy(proof, genuine, genuine_len * MERKLE_HASHBYTES);
    len = genuine_len;
    unsigned char old_root[MERKLE_HASHBYTES], new_root[MERKLE_HASHBYTES];
    memcpy(old_root, s_roots[old_size], sizeof old_root);
    memcpy(new_root, s_roots[new_size], sizeof new_root);
    FUZZ_CHECK(merkle_verify_consistency(old_size, new_size, old_root, new_root, genuine,
                                         genuine_len) == 0);

    uint64_t m_old = flags & MUT_A ? s_read(r, 8) : old_size;
    uint64_t m_new = flags & MUT_B ? s_read(r, 8) : new_size;
    if (flags & MUT_H1)
        s_xor_hash(r, old_root);
    if (flags & MUT_H2)
        s_xor_hash(r, new_root);
    s_mutate_proof(r, flags, proof, &len);

    int rc = merkle_verify_consistency(m_old, m_new, old_root, new_root,
                                       (const unsigned char(*)[32])proof, len);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_CHECK(len <= MERKLE_PROOF_MAX && m_old <= m_new);
        /* From the empty tree only the empty root is consistent. Otherwise,
           soundness: against the genuine new root of these sizes, only the
           genuine old root with the genuine proof is accepted. (With equal
           sizes or another new root, other trees may well be consistent.) */
        if (m_old == 0 && m_new > 0)
            FUZZ_CHECK(memcmp(old_root, s_roots[0], sizeof old_root) == 0);
        if (m_old == old_size && m_new == new_size && old_size > 0 && old_size < new_size &&
            memcmp(new_root, s_roots[new_size], sizeof new_root) == 0) {
            FUZZ_CHECK(memcmp(old_root, s_roots[old_size], sizeof old_root) == 0);
            FUZZ_CHECK(len == genuine_len && memcmp(proof, genuine, len * MERKLE_HASHBYTES) == 0);
        }
    }
}

static void s_note_mode(const uint8_t *data, size_t size)
{
    const char *note = (const char *)data;
    checkpoint_t cp;
    memset(&cp, 0xa5, sizeof cp);
    checkpoint_err_t rc = checkpoint_open(note, size, ORIGIN, s_log_pk, &cp);
    FUZZ_CHECK((unsigned)rc < CHECKPOINT_ERR_COUNT_ && checkpoint_strerror(rc) != NULL);
    if (rc == CHECKPOINT_OK) {
        /* The note's body is what checkpoint_body writes for what was read. */
        char body[CHECKPOINT_BODY_MAX + 1];
        size_t body_len = 0;
        FUZZ_CHECK(strcmp(cp.origin, ORIGIN) == 0);
        FUZZ_CHECK(checkpoint_body(&cp, body, sizeof body, &body_len) == CHECKPOINT_OK);
        FUZZ_CHECK(body_len < size && memcmp(body, note, body_len) == 0 && note[body_len] == '\n');
    }
    uint64_t ts = 0;
    rc = checkpoint_cosigned(note, size, COSIGNER, s_cos_pk, &ts);
    FUZZ_CHECK((unsigned)rc < CHECKPOINT_ERR_COUNT_);
    if (rc == CHECKPOINT_OK)
        FUZZ_CHECK(ts <= (uint64_t)CHECKPOINT_TIME_MAX);

    static char out[2 * CHECKPOINT_NOTE_MAX + 2];
    size_t out_len = 0;
    rc = checkpoint_add_signature(note, size, s_line, s_line_len, out, sizeof out, &out_len);
    if (rc == CHECKPOINT_OK) {
        FUZZ_CHECK(out_len == size + s_line_len && out_len <= CHECKPOINT_OPEN_MAX);
        FUZZ_CHECK(memcmp(out, note, size) == 0 && out[out_len] == '\0');
    }
}

static void s_line_mode(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    uint64_t ts = 0;
    checkpoint_err_t rc = checkpoint_cosignature_verify(&s_cp, line, size, COSIGNER, s_cos_pk, &ts);
    FUZZ_CHECK((unsigned)rc < CHECKPOINT_ERR_COUNT_);
    if (rc == CHECKPOINT_OK)
        FUZZ_CHECK(size == s_line_len && memcmp(line, s_line, size) == 0);

    static char out[2 * CHECKPOINT_NOTE_MAX + 2];
    size_t out_len = 0;
    rc = checkpoint_add_signature(s_note, s_note_len, line, size, out, sizeof out, &out_len);
    if (rc == CHECKPOINT_OK) {
        FUZZ_CHECK(out_len == s_note_len + size && out_len <= CHECKPOINT_OPEN_MAX);
        /* Adding a line keeps the log's signature and the cosignature valid. */
        checkpoint_t cp;
        FUZZ_CHECK(checkpoint_open(out, out_len, ORIGIN, s_log_pk, &cp) == CHECKPOINT_OK);
        FUZZ_CHECK(checkpoint_cosigned(out, out_len, COSIGNER, s_cos_pk, &ts) == CHECKPOINT_OK);
    }
}

static void s_sign_mode(const uint8_t *data, size_t size)
{
    reader_t r = {data, size};
    checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    cp.size = s_read(&r, 8);
    for (size_t i = 0; i < CHECKPOINT_HASHBYTES; i++)
        cp.root[i] = (unsigned char)s_read(&r, 1);
    uint64_t ts = s_read(&r, 8);
    size_t olen = r.n < CHECKPOINT_NAME_MAX ? r.n : CHECKPOINT_NAME_MAX;
    memcpy(cp.origin, r.p, olen);
    cp.origin[olen] = '\0';

    static char note[CHECKPOINT_NOTE_MAX + 1];
    size_t note_len = 0;
    checkpoint_err_t rc = checkpoint_sign(&cp, s_log_sk, note, sizeof note, &note_len);
    if (rc != CHECKPOINT_OK)
        return;
    checkpoint_t back;
    rc = checkpoint_open(note, note_len, cp.origin, s_log_pk, &back);
    if (rc != CHECKPOINT_OK)
        fprintf(stderr, "checkpoint_open of a signed note: %s\n", checkpoint_strerror(rc));
    FUZZ_CHECK(rc == CHECKPOINT_OK);
    FUZZ_CHECK(strcmp(back.origin, cp.origin) == 0 && back.size == cp.size &&
               memcmp(back.root, cp.root, sizeof cp.root) == 0);

    char line[CHECKPOINT_LINE_MAX + 1];
    size_t line_len = 0;
    rc = checkpoint_cosign(&cp, COSIGNER, s_cos_sk, ts, line, sizeof line, &line_len);
    if (ts > (uint64_t)CHECKPOINT_TIME_MAX) {
        FUZZ_CHECK(rc == CHECKPOINT_ERR_TIME);
        return;
    }
    FUZZ_CHECK(rc == CHECKPOINT_OK);
    uint64_t got = 0;
    FUZZ_CHECK(checkpoint_cosignature_verify(&cp, line, line_len, COSIGNER, s_cos_pk, &got) ==
               CHECKPOINT_OK);
    FUZZ_CHECK(got == ts);
    static char both[CHECKPOINT_NOTE_MAX + 1];
    size_t both_len = 0;
    rc = checkpoint_add_signature(note, note_len, line, line_len, both, sizeof both, &both_len);
    if (rc == CHECKPOINT_OK) {
        FUZZ_CHECK(checkpoint_cosigned(both, both_len, COSIGNER, s_cos_pk, &got) == CHECKPOINT_OK);
        FUZZ_CHECK(got == ts);
    } else {
        FUZZ_CHECK(rc == CHECKPOINT_ERR_TOO_LARGE || rc == CHECKPOINT_ERR_BUFFER);
    }
}

static void s_write_seeds(const char *dir)
{
    static uint8_t buf[2 * CHECKPOINT_NOTE_MAX];
    /* inclusion and consistency: the genuine proof, then one flipped bit */
    const uint8_t incl[] = {MODE_INCLUSION, 0x03, 0xe7, 0x01, 0x2c, 0x00};
    fuzz_write_seed(dir, "inclusion", incl, sizeof incl);
    const uint8_t incl_flip[] = {MODE_INCLUSION, 0x03, 0xe7, 0x01, 0x2c, MUT_PROOF, 0x01};
    fuzz_write_seed(dir, "inclusion-flip", incl_flip, sizeof incl_flip);
    const uint8_t cons[] = {MODE_CONSISTENCY, 0x04, 0x4c, 0x01, 0x2c, 0x00};
    fuzz_write_seed(dir, "consistency", cons, sizeof cons);
    const uint8_t cons_len[] = {MODE_CONSISTENCY, 0x04, 0x4c, 0x01, 0x2c, MUT_LEN, 0x41};
    fuzz_write_seed(dir, "consistency-len", cons_len, sizeof cons_len);
    buf[0] = MODE_NOTE;
    memcpy(buf + 1, s_note, s_note_len);
    fuzz_write_seed(dir, "note", buf, 1 + s_note_len);
    buf[0] = MODE_LINE;
    memcpy(buf + 1, s_line, s_line_len);
    fuzz_write_seed(dir, "line", buf, 1 + s_line_len);
    buf[0] = MODE_SIGN;
    memset(buf + 1, 0x11, 48);
    memcpy(buf + 49, ORIGIN, strlen(ORIGIN));
    fuzz_write_seed(dir, "sign", buf, 49 + strlen(ORIGIN));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    s_build();
    const char *dir = fuzz_seed_dir();
    if (dir) {
        s_write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    reader_t r = {data + 1, size - 1};
    switch (data[0] % MODE_COUNT_) {
    case MODE_INCLUSION:
        s_inclusion(&r);
        break;
    case MODE_CONSISTENCY:
        s_consistency(&r);
        break;
    case MODE_NOTE:
        s_note_mode(data + 1, size - 1);
        break;
    case MODE_LINE:
        s_line_mode(data + 1, size - 1);
        break;
    case MODE_SIGN:
        s_sign_mode(data + 1, size - 1);
        break;
    }
    return 0;
}
