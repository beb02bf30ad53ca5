/*  merkle: RFC 6962 / 9162 Merkle tree math; see merkle.h. */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(MERKLE_HASHBYTES == crypto_hash_sha256_BYTES, "hash size");

/*  The compact range of a tree of `size` leaves.

    Invariants: count == popcount(size); hashes[0 .. count) are the roots of
    the perfect subtrees that partition leaves [0, size), largest (leftmost)
    first: one subtree of 2^b leaves for each set bit b of size, in
    descending order of b. Entries at and above `count` are unused. */
struct _merkle_tree_t {
    uint64_t size;                                         /* leaves appended */
    unsigned count;                                        /* hashes in use */
    unsigned char hashes[MERKLE_LEVELS][MERKLE_HASHBYTES]; /* the compact range */
    merkle_on_node_fn on_node;                             /* completed-node sink, or NULL */
    void *on_node_arg;                                     /* its argument */
};

void merkle_leaf_hash(const unsigned char *data, size_t len, unsigned char out[MERKLE_HASHBYTES])
{
    static const unsigned char prefix = 0x00;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const unsigned char left[MERKLE_HASHBYTES],
                      const unsigned char right[MERKLE_HASHBYTES],
                      unsigned char out[MERKLE_HASHBYTES])
{
    unsigned char buf[1 + 2 * MERKLE_HASHBYTES];
    buf[0] = 0x01;
    memcpy(buf + 1, left, MERKLE_HASHBYTES);
    memcpy(buf + 1 + MERKLE_HASHBYTES, right, MERKLE_HASHBYTES);
    crypto_hash_sha256(out, buf, sizeof buf);
}

void merkle_empty_root(unsigned char out[MERKLE_HASHBYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

static unsigned s_popcount(uint64_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t s_split(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k)
        k <<= 1;
    return k;
}

/* ---- Tree state ----------------------------------------------------- */

merkle_tree_t *merkle_tree_new(void)
{
    return calloc(1, sizeof(merkle_tree_t));
}

void merkle_tree_destroy(merkle_tree_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void merkle_tree_set_on_node(merkle_tree_t *self, merkle_on_node_fn on_node, void *arg)
{
    self->on_node = on_node;
    self->on_node_arg = on_node ? arg : NULL;
}

uint64_t merkle_tree_size(const merkle_tree_t *self)
{
    return self->size;
}

int merkle_tree_append(merkle_tree_t *self, const unsigned char leaf_hash[MERKLE_HASHBYTES])
{
    if (self->size == UINT64_MAX)
        return -1;
    /* Merge with the left neighbour once per trailing 1-bit of size: the new
       leaf completes a perfect subtree at each of those levels. Work on a
       copy so that a failing on_node leaves the tree unchanged. */
    uint64_t s = self->size;
    unsigned count = self->count;
    unsigned char h[MERKLE_HASHBYTES];
    memcpy(h, leaf_hash, sizeof h);
    for (unsigned level = 0; (s >> level) & 1; level++) {
        count--;
        merkle_node_hash(self->hashes[count], h, h);
        if (self->on_node &&
            self->on_node(self->on_node_arg, level + 1, s >> (level + 1), h) != 0) {
            sodium_memzero(h, sizeof h);
            return -1;
        }
    }
    memcpy(self->hashes[count], h, sizeof h);
    self->count = count + 1;
    self->size = s + 1;
    return 0;
}

void merkle_tree_root(const merkle_tree_t *self, unsigned char out[MERKLE_HASHBYTES])
{
    if (self->count == 0) {
        merkle_empty_root(out);
        return;
    }
    unsigned char r[MERKLE_HASHBYTES];
    memcpy(r, self->hashes[self->count - 1], sizeof r);
    for (unsigned i = self->count - 1; i-- > 0;)
        merkle_node_hash(self->hashes[i], r, r);
    memcpy(out, r, sizeof r);
}

void merkle_tree_save(const merkle_tree_t *self, unsigned char buf[MERKLE_STATE_MAX], size_t *len)
{
    buf[0] = MERKLE_STATE_VERSION;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (unsigned char)(self->size >> (56 - 8 * i));
    memcpy(buf + 9, self->hashes, (size_t)self->count * MERKLE_HASHBYTES);
    *len = 9 + (size_t)self->count * MERKLE_HASHBYTES;
}

merkle_tree_t *merkle_tree_load(const unsigned char *buf, size_t len)
{
    if (!buf || len < 9 || buf[0] != MERKLE_STATE_VERSION)
        return NULL;
    uint64_t size = 0;
    for (int i = 0; i < 8; i++)
        size = (size << 8) | buf[1 + i];
    unsigned count = s_popcount(size);
    if (len != 9 + (size_t)count * MERKLE_HASHBYTES)
        return NULL;
    merkle_tree_t *self = merkle_tree_new();
    if (!self)
        return NULL;
    self->size = size;
    self->count = count;
    memcpy(self->hashes, buf + 9, (size_t)count * MERKLE_HASHBYTES);
    return self;
}

/* ---- Subtree roots over a source ------------------------------------ */

/* MTH(D[begin:begin+n]) for n >= 1. Perfect aligned ranges are looked up in
   the node cache first. Recursion depth is at most 64. */
static int s_mth(const merkle_source_t *src, uint64_t begin, uint64_t n,
                 unsigned char out[MERKLE_HASHBYTES])
{
    if (n == 1)
        return src->get_leaf(src->arg, begin, out) == 0 ? 0 : -1;
    if (src->get_node && (n & (n - 1)) == 0 && (begin & (n - 1)) == 0) {
        unsigned level = 0;
        while ((UINT64_C(1) << level) < n)
            level++;
        int rc = src->get_node(src->arg, level, begin >> level, out);
        if (rc == 0)
            return 0;
        if (rc != 1)
            return -1;
    }
    uint64_t k = s_split(n);
    unsigned char left[MERKLE_HASHBYTES], right[MERKLE_HASHBYTES];
    if (s_mth(src, begin, k, left) != 0 || s_mth(src, begin + k, n - k, right) != 0)
        return -1;
    merkle_node_hash(left, right, out);
    return 0;
}

static int s_source_ok(const merkle_source_t *src)
{
    return src && src->get_leaf;
}

int merkle_subtree_root(const merkle_source_t *source, uint64_t begin, uint64_t end,
                        unsigned char out[MERKLE_HASHBYTES])
{
    if (!s_source_ok(source) || !out || begin > end)
        return -1;
    if (begin == end) {
        merkle_empty_root(out);
        return 0;
    }
    unsigned char h[MERKLE_HASHBYTES];
    if (s_mth(source, begin, end - begin, h) != 0)
        return -1;
    memcpy(out, h, sizeof h);
    return 0;
}

merkle_tree_t *merkle_tree_restore(const merkle_source_t *source, uint64_t size)
{
    if (!s_source_ok(source))
        return NULL;
    merkle_tree_t *self = merkle_tree_new();
    if (!self)
        return NULL;
    uint64_t begin = 0;
    for (unsigned bit = 64; bit-- > 0;) {
        uint64_t n = UINT64_C(1) << bit;
        if (!(size & n))
            continue;
        if (s_mth(source, begin, n, self->hashes[self->count]) != 0) {
            merkle_tree_destroy(&self);
            return NULL;
        }
        self->count++;
        begin += n;
    }
    self->size = size;
    return self;
}

/* ---- Proof generation ----------------------------------------------- */

/* Proof hashes are produced top-down (root side first) by the recursion
   and stored reversed at the end, so the result is leaf side first. */
typedef struct {
    unsigned char (*hashes)[MERKLE_HASHBYTES]; /* caller's array */
    size_t len;                                /* hashes produced */
} s_proof_t;

static int s_push(s_proof_t *p, const merkle_source_t *src, uint64_t begin, uint64_t n)
{
    if (p->len == MERKLE_PROOF_MAX)
        return -1;
    if (s_mth(src, begin, n, p->hashes[p->len]) != 0)
        return -1;
    p->len++;
    return 0;
}

static void s_reverse(s_proof_t *p)
{
    unsigned char tmp[MERKLE_HASHBYTES];
    for (size_t i = 0, j = p->len; i + 1 < j; i++, j--) {
        memcpy(tmp, p->hashes[i], sizeof tmp);
        memcpy(p->hashes[i], p->hashes[j - 1], sizeof tmp);
        memcpy(p->hashes[j - 1], tmp, sizeof tmp);
    }
}

int merkle_inclusion_proof(const merkle_source_t *source, uint64_t size, uint64_t index,
                           unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                           size_t *proof_len)
{
    if (proof_len)
        *proof_len = 0;
    if (!s_source_ok(source) || !proof || !proof_len || index >= size)
        return -1;
    s_proof_t p = {proof, 0};
    /* PATH(m, D[begin:begin+n]): descend towards the leaf, taking the
       sibling subtree's root at each level. */
    uint64_t begin = 0, n = size, m = index;
    while (n > 1) {
        uint64_t k = s_split(n);
        int rc;
        if (m < k) {
            rc = s_push(&p, source, begin + k, n - k);
            n = k;
        } else {
            rc = s_push(&p, source, begin, k);
            begin += k;
            m -= k;
            n -= k;
        }
        if (rc != 0) {
            sodium_memzero(proof, p.len * MERKLE_HASHBYTES);
            return -1;
        }
    }
    s_reverse(&p);
    *proof_len = p.len;
    return 0;
}

int merkle_consistency_proof(const merkle_source_t *source, uint64_t old_size, uint64_t new_size,
                             unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                             size_t *proof_len)
{
    if (proof_len)
        *proof_len = 0;
    if (!s_source_ok(source) || !proof || !proof_len || old_size > new_size)
        return -1;
    if (old_size == 0 || old_size == new_size)
        return 0;
    s_proof_t p = {proof, 0};
    /* SUBPROOF(m, D[begin:begin+n], b), iteratively. */
    uint64_t begin = 0, n = new_size, m = old_size;
    int b = 1;
    int rc = 0;
    while (m != n) {
        uint64_t k = s_split(n);
        if (m <= k) {
            rc = s_push(&p, source, begin + k, n - k);
            n = k;
        } else {
            rc = s_push(&p, source, begin, k);
            begin += k;
            m -= k;
            n -= k;
            b = 0;
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && !b)
        rc = s_push(&p, source, begin, n);
    if (rc != 0) {
        sodium_memzero(proof, p.len * MERKLE_HASHBYTES);
        return -1;
    }
    s_reverse(&p);
    *proof_len = p.len;
    return 0;
}

/* ---- Verification --------------------------------------------------- */

static int s_equal(const unsigned char a[MERKLE_HASHBYTES], const unsigned char b[MERKLE_HASHBYTES])
{
    return sodium_memcmp(a, b, MERKLE_HASHBYTES) == 0;
}

int merkle_verify_inclusion(const unsigned char leaf_hash[MERKLE_HASHBYTES], uint64_t index,
                            uint64_t size, const unsigned char (*proof)[MERKLE_HASHBYTES],
                            size_t proof_len, const unsigned char root[MERKLE_HASHBYTES])
{
    if (!leaf_hash || !root || index >= size || proof_len > MERKLE_PROOF_MAX ||
        (proof_len > 0 && !proof))
        return -1;
    uint64_t fn = index, sn = size - 1;
    unsigned char r[MERKLE_HASHBYTES];
    memcpy(r, leaf_hash, sizeof r);
    for (size_t i = 0; i < proof_len; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], r, r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && s_equal(r, root)) ? 0 : -1;
}

int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const unsigned char old_root[MERKLE_HASHBYTES],
                              const unsigned char new_root[MERKLE_HASHBYTES],
                              const unsigned char (*proof)[MERKLE_HASHBYTES], size_t proof_len)
{
    if (!old_root || !new_root || old_size > new_size || proof_len > MERKLE_PROOF_MAX ||
        (proof_len > 0 && !proof))
        return -1;
    if (old_size == new_size)
        return (proof_len == 0 && s_equal(old_root, new_root)) ? 0 : -1;
    if (old_size == 0) {
        unsigned char empty[MERKLE_HASHBYTES];
        merkle_empty_root(empty);
        return (proof_len == 0 && s_equal(old_root, empty)) ? 0 : -1;
    }
    if (proof_len == 0)
        return -1;
    /* Step 2: when old_size is a power of two the old root itself is the
       first element of the path; it is not in the proof. */
    size_t i = 0;
    const unsigned char *first;
    if ((old_size & (old_size - 1)) == 0) {
        first = old_root;
    } else {
        first = proof[0];
        i = 1;
    }
    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    unsigned char fr[MERKLE_HASHBYTES], sr[MERKLE_HASHBYTES];
    memcpy(fr, first, sizeof fr);
    memcpy(sr, first, sizeof sr);
    for (; i < proof_len; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && s_equal(fr, old_root) && s_equal(sr, new_root)) ? 0 : -1;
}
