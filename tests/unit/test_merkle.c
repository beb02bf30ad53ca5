/*  Tests for lib/merkle: RFC 6962 known answers, roots against a naive
    reference, every inclusion and consistency proof up to 64 leaves with
    mutations, the node cache, saved state, store failures and hostile
    verifier input. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define H MERKLE_HASHBYTES

/* ---- Known answers ----------------------------------------------------

   The 8 leaves of certificate-transparency-go's merkle tests, and values
   computed independently with Python's hashlib (not libsodium):

   python3 - <<'EOF'
   import hashlib
   leaves=[b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
           b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60,0x70))]
   H=lambda b: hashlib.sha256(b).digest()
   L=lambda d: H(b"\x00"+d); N=lambda a,b: H(b"\x01"+a+b)
   def k_of(n):
       k=1
       while k*2<n: k*=2
       return k
   def mth(hs):
       if not hs: return H(b"")
       if len(hs)==1: return hs[0]
       k=k_of(len(hs)); return N(mth(hs[:k]),mth(hs[k:]))
   def path(m,hs):
       if len(hs)<=1: return []
       k=k_of(len(hs))
       return path(m,hs[:k])+[mth(hs[k:])] if m<k else path(m-k,hs[k:])+[mth(hs[:k])]
   def sub(m,hs,b):
       n=len(hs)
       if m==n: return [] if b else [mth(hs)]
       k=k_of(n)
       return sub(m,hs[:k],b)+[mth(hs[k:])] if m<=k else sub(m-k,hs[k:],False)+[mth(hs[:k])]
   hs=[L(x) for x in leaves]
   for i,h in enumerate(hs): print("leaf",i,h.hex())
   for n in range(1,9): print("root",n,mth(hs[:n]).hex())
   for (m,n) in [(0,8),(5,8),(2,3),(3,8)]: print("path",m,n,[p.hex() for p in path(m,hs[:n])])
   for (m,n) in [(1,8),(6,8),(2,5),(4,8),(3,7)]: print("cons",m,n,[p.hex() for p in
   sub(m,hs[:n],True)]) EOF

   The roots equal those published with certificate-transparency-go. */

static const unsigned char *const s_ct_leaves[8] = {
    (const unsigned char *)"",
    (const unsigned char *)"\x00",
    (const unsigned char *)"\x10",
    (const unsigned char *)"\x20\x21",
    (const unsigned char *)"\x30\x31",
    (const unsigned char *)"\x40\x41\x42\x43",
    (const unsigned char *)"\x50\x51\x52\x53\x54\x55\x56\x57",
    (const unsigned char *)"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
static const size_t s_ct_lens[8] = {0, 1, 1, 2, 2, 4, 8, 16};

static const char *const s_ct_leaf_hex[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};

static const char *const s_ct_root_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct {
    uint64_t a, n;      /* index or old size, and size */
    const char *hex[4]; /* expected proof */
    size_t len;         /* its length */
} ct_proof_t;

static const ct_proof_t s_ct_paths[] = {
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
     3},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
     3},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}, 1},
    {3,
     8,
     {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
     3},
};

static const ct_proof_t s_ct_cons[] = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
     3},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
     3},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
     2},
    {4, 8, {"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}, 1},
    {3,
     7,
     {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
      "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
     4},
};

static void s_unhex(const char *hex, unsigned char out[H])
{
    size_t len = 0;
    cr_assert_eq(sodium_hex2bin(out, H, hex, strlen(hex), NULL, &len, NULL), 0);
    cr_assert_eq(len, (size_t)H);
}

/* ---- A test store ------------------------------------------------------

   Leaves in an array; perfect nodes per level as reported by on_node, with
   a presence flag, so get_node answers 1 for nodes never reported. Counts
   callbacks; can be told to fail. */
typedef struct {
    unsigned char (*leaves)[H];    /* leaf hashes */
    uint64_t n;                    /* leaves held */
    unsigned char (*nodes[64])[H]; /* nodes[level][index] */
    unsigned char *have[64];       /* presence of nodes[level][index] */
    uint64_t cap;                  /* capacity in leaves */
    long leaf_calls, node_calls;   /* callbacks served */
    int fail_leaf;                 /* get_leaf fails when set */
    int node_rc;                   /* get_node answer when not 0 (forced) */
    int fail_on_node;              /* on_node fails when set */
} store_t;

static store_t *s_store_new(uint64_t cap)
{
    store_t *s = calloc(1, sizeof *s);
    cr_assert(s);
    s->cap = cap;
    s->leaves = calloc(cap ? cap : 1, H);
    cr_assert(s->leaves);
    for (unsigned l = 1; l < 64 && (cap >> l) > 0; l++) {
        s->nodes[l] = calloc(cap >> l, H);
        s->have[l] = calloc(cap >> l, 1);
        cr_assert(s->nodes[l] && s->have[l]);
    }
    return s;
}

static void s_store_free(store_t *s)
{
    for (unsigned l = 0; l < 64; l++) {
        free(s->nodes[l]);
        free(s->have[l]);
    }
    free(s->leaves);
    free(s);
}

static int s_get_leaf(void *arg, uint64_t index, unsigned char out[H])
{
    store_t *s = arg;
    s->leaf_calls++;
    if (s->fail_leaf || index >= s->n)
        return -1;
    memcpy(out, s->leaves[index], H);
    return 0;
}

static int s_get_node(void *arg, unsigned level, uint64_t index, unsigned char out[H])
{
    store_t *s = arg;
    s->node_calls++;
    if (s->node_rc)
        return s->node_rc;
    cr_assert(level >= 1 && level < 64);
    if (!s->have[level] || index >= (s->cap >> level) || !s->have[level][index])
        return 1;
    memcpy(out, s->nodes[level][index], H);
    return 0;
}

static int s_on_node(void *arg, unsigned level, uint64_t index, const unsigned char hash[H])
{
    store_t *s = arg;
    if (s->fail_on_node)
        return -1;
    cr_assert(level >= 1 && level < 64 && index < (s->cap >> level));
    memcpy(s->nodes[level][index], hash, H);
    s->have[level][index] = 1;
    return 0;
}

/* Deterministic record i, its leaf hash. */
static void s_record_leaf(uint64_t i, unsigned char out[H])
{
    unsigned char rec[16];
    for (int b = 0; b < 8; b++)
        rec[b] = (unsigned char)(i >> (8 * b));
    memcpy(rec + 8, "hartslag", 8);
    merkle_leaf_hash(rec, sizeof rec, out);
}

/* A store of n records built through a tree with on_node. */
static store_t *s_store_build(uint64_t n, merkle_tree_t **tree_out)
{
    store_t *s = s_store_new(n);
    merkle_tree_t *t = merkle_tree_new();
    cr_assert(t);
    merkle_tree_set_on_node(t, s_on_node, s);
    for (uint64_t i = 0; i < n; i++) {
        s_record_leaf(i, s->leaves[i]);
        s->n = i + 1;
        cr_assert_eq(merkle_tree_append(t, s->leaves[i]), 0);
    }
    if (tree_out)
        *tree_out = t;
    else
        merkle_tree_destroy(&t);
    return s;
}

/* ---- Naive reference, with libsodium's SHA-256 directly ---------------- */

static void s_ref_mth(unsigned char (*hs)[H], uint64_t n, unsigned char out[H])
{
    if (n == 0) {
        crypto_hash_sha256(out, (const unsigned char *)"", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, hs[0], H);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    unsigned char buf[1 + 2 * H];
    buf[0] = 1;
    s_ref_mth(hs, k, buf + 1);
    s_ref_mth(hs + k, n - k, buf + 1 + H);
    crypto_hash_sha256(out, buf, sizeof buf);
}

static merkle_source_t s_src(store_t *s, int cache)
{
    merkle_source_t src = {s_get_leaf, cache ? s_get_node : NULL, s};
    return src;
}

/* ---- Hashing and known answers ---------------------------------------- */

Test(merkle, leaf_and_root_known_answers)
{
    merkle_tree_t *t = merkle_tree_new();
    cr_assert(t);
    unsigned char want[H], got[H];
    s_unhex(s_ct_root_hex[0], want);
    merkle_tree_root(t, got);
    cr_assert_arr_eq(got, want, H);
    merkle_empty_root(got);
    cr_assert_arr_eq(got, want, H);
    for (int i = 0; i < 8; i++) {
        merkle_leaf_hash(s_ct_leaves[i], s_ct_lens[i], got);
        s_unhex(s_ct_leaf_hex[i], want);
        cr_assert_arr_eq(got, want, H, "leaf %d", i);
        cr_assert_eq(merkle_tree_append(t, got), 0);
        merkle_tree_root(t, got);
        s_unhex(s_ct_root_hex[i + 1], want);
        cr_assert_arr_eq(got, want, H, "root at size %d", i + 1);
        cr_assert_eq(merkle_tree_size(t), (uint64_t)i + 1);
    }
    merkle_tree_destroy(&t);
    cr_assert_null(t);
    merkle_tree_destroy(&t); /* twice is safe */
    merkle_tree_destroy(NULL);
}

Test(merkle, node_hash_aliasing)
{
    unsigned char a[H], b[H], want[H], buf[1 + 2 * H];
    memset(a, 0xaa, H);
    memset(b, 0xbb, H);
    buf[0] = 1;
    memcpy(buf + 1, a, H);
    memcpy(buf + 1 + H, b, H);
    crypto_hash_sha256(want, buf, sizeof buf);
    merkle_node_hash(a, b, a);
    cr_assert_arr_eq(a, want, H);
    memset(a, 0xaa, H);
    merkle_node_hash(a, b, b);
    cr_assert_arr_eq(b, want, H);
}

Test(merkle, known_proofs)
{
    store_t *s = s_store_new(8);
    for (int i = 0; i < 8; i++)
        merkle_leaf_hash(s_ct_leaves[i], s_ct_lens[i], s->leaves[i]);
    s->n = 8;
    merkle_source_t src = s_src(s, 0);
    unsigned char proof[MERKLE_PROOF_MAX][H], want[H], root[H];
    size_t len;
    for (size_t c = 0; c < sizeof s_ct_paths / sizeof s_ct_paths[0]; c++) {
        const ct_proof_t *v = &s_ct_paths[c];
        cr_assert_eq(merkle_inclusion_proof(&src, v->n, v->a, proof, &len), 0);
        cr_assert_eq(len, v->len, "path %lu/%lu", (unsigned long)v->a, (unsigned long)v->n);
        for (size_t j = 0; j < len; j++) {
            s_unhex(v->hex[j], want);
            cr_assert_arr_eq(proof[j], want, H);
        }
        s_unhex(s_ct_root_hex[v->n], root);
        cr_assert_eq(merkle_verify_inclusion(s->leaves[v->a], v->a, v->n,
                                             (const unsigned char(*)[H])proof, len, root),
                     0);
    }
    for (size_t c = 0; c < sizeof s_ct_cons / sizeof s_ct_cons[0]; c++) {
        const ct_proof_t *v = &s_ct_cons[c];
        cr_assert_eq(merkle_consistency_proof(&src, v->a, v->n, proof, &len), 0);
        cr_assert_eq(len, v->len, "cons %lu/%lu", (unsigned long)v->a, (unsigned long)v->n);
        for (size_t j = 0; j < len; j++) {
            s_unhex(v->hex[j], want);
            cr_assert_arr_eq(proof[j], want, H);
        }
        unsigned char old_root[H];
        s_unhex(s_ct_root_hex[v->a], old_root);
        s_unhex(s_ct_root_hex[v->n], root);
        cr_assert_eq(merkle_verify_consistency(v->a, v->n, old_root, root,
                                               (const unsigned char(*)[H])proof, len),
                     0);
    }
    s_store_free(s);
}

/* ---- Roots ------------------------------------------------------------ */

Test(merkle, roots_match_reference_0_to_70)
{
    merkle_tree_t *t = NULL;
    store_t *s = s_store_build(70, &t);
    merkle_tree_destroy(&t);
    t = merkle_tree_new();
    merkle_source_t plain = s_src(s, 0), cached = s_src(s, 1);
    for (uint64_t n = 0; n <= 70; n++) {
        unsigned char want[H], got[H];
        s_ref_mth(s->leaves, n, want);
        merkle_tree_root(t, got);
        cr_assert_arr_eq(got, want, H, "tree root at %lu", (unsigned long)n);
        cr_assert_eq(merkle_subtree_root(&plain, 0, n, got), 0);
        cr_assert_arr_eq(got, want, H, "subtree root at %lu", (unsigned long)n);
        cr_assert_eq(merkle_subtree_root(&cached, 0, n, got), 0);
        cr_assert_arr_eq(got, want, H, "cached subtree root at %lu", (unsigned long)n);
        /* every inner range too */
        for (uint64_t b = 0; b <= n; b++) {
            s_ref_mth(s->leaves + b, n - b, want);
            cr_assert_eq(merkle_subtree_root(&cached, b, n, got), 0);
            cr_assert_arr_eq(got, want, H, "range [%lu,%lu)", (unsigned long)b, (unsigned long)n);
        }
        if (n < 70)
            cr_assert_eq(merkle_tree_append(t, s->leaves[n]), 0);
    }
    merkle_tree_destroy(&t);
    s_store_free(s);
}

/* ---- Inclusion -------------------------------------------------------- */

typedef const unsigned char (*cproof_t)[H];

Test(merkle, inclusion_all_up_to_64_with_mutations)
{
    enum { N = 65 };
    store_t *s = s_store_build(N, NULL);
    merkle_source_t src = s_src(s, 0), cached = s_src(s, 1);
    unsigned char roots[N + 1][H];
    for (uint64_t n = 0; n <= N; n++)
        s_ref_mth(s->leaves, n, roots[n]);
    unsigned char proof[MERKLE_PROOF_MAX + 1][H], other[MERKLE_PROOF_MAX][H];
    size_t len, olen;
    unsigned flip = 0;
    for (uint64_t n = 1; n <= 64; n++)
        for (uint64_t i = 0; i < n; i++) {
            cr_assert_eq(merkle_inclusion_proof(&src, n, i, proof, &len), 0);
            cr_assert_eq(merkle_inclusion_proof(&cached, n, i, other, &olen), 0);
            cr_assert_eq(len, olen);
            cr_assert_arr_eq(proof, other, len * H, "cache changes proof %lu/%lu", (unsigned long)i,
                             (unsigned long)n);
            cproof_t p = (cproof_t)proof;
            cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len, roots[n]), 0,
                         "valid %lu/%lu", (unsigned long)i, (unsigned long)n);
            /* wrong leaf */
            cr_assert_eq(merkle_verify_inclusion(s->leaves[(i + 1) % N], i, n, p, len, roots[n]),
                         -1);
            /* wrong root */
            cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len, roots[n - 1]), -1);
            /* wrong index: every other one */
            for (uint64_t j = 0; j < n + 2; j++)
                if (j != i)
                    cr_assert_eq(merkle_verify_inclusion(s->leaves[i], j, n, p, len, roots[n]), -1,
                                 "index %lu for %lu/%lu", (unsigned long)j, (unsigned long)i,
                                 (unsigned long)n);
            /* wrong size, with that size's true root (the root binds the
               size; see docs/audit-format.md) */
            for (uint64_t m = i + 1; m <= N; m++)
                if (m != n)
                    cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, m, p, len, roots[m]), -1,
                                 "size %lu for %lu/%lu", (unsigned long)m, (unsigned long)i,
                                 (unsigned long)n);
            /* a flipped bit in each proof hash */
            for (size_t k = 0; k < len; k++) {
                unsigned bit = flip++ % (H * 8);
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
                cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len, roots[n]), -1);
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
            }
            /* truncated, extended at either end */
            if (len > 0) {
                cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len - 1, roots[n]), -1);
                cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p + 1, len - 1, roots[n]),
                             -1);
            }
            memcpy(proof[len], roots[n], H);
            cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len + 1, roots[n]), -1);
            memmove(proof[1], proof[0], len * H);
            memcpy(proof[0], s->leaves[i], H);
            cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, p, len + 1, roots[n]), -1);
        }
    s_store_free(s);
}

Test(merkle, inclusion_every_bit_flip)
{
    store_t *s = s_store_build(23, NULL);
    merkle_source_t src = s_src(s, 1);
    unsigned char root[H], proof[MERKLE_PROOF_MAX][H];
    size_t len;
    cr_assert_eq(merkle_subtree_root(&src, 0, 23, root), 0);
    const uint64_t idx[] = {0, 7, 16, 21, 22};
    for (size_t c = 0; c < 5; c++) {
        cr_assert_eq(merkle_inclusion_proof(&src, 23, idx[c], proof, &len), 0);
        for (size_t k = 0; k < len; k++)
            for (unsigned bit = 0; bit < H * 8; bit++) {
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
                cr_assert_eq(merkle_verify_inclusion(s->leaves[idx[c]], idx[c], 23, (cproof_t)proof,
                                                     len, root),
                             -1);
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
            }
        cr_assert_eq(
            merkle_verify_inclusion(s->leaves[idx[c]], idx[c], 23, (cproof_t)proof, len, root), 0);
    }
    s_store_free(s);
}

/* ---- Consistency ------------------------------------------------------ */

Test(merkle, consistency_all_up_to_64_with_mutations)
{
    enum { N = 65 };
    store_t *s = s_store_build(N, NULL);
    merkle_source_t src = s_src(s, 0), cached = s_src(s, 1);
    unsigned char roots[N + 1][H];
    for (uint64_t n = 0; n <= N; n++)
        s_ref_mth(s->leaves, n, roots[n]);
    unsigned char proof[MERKLE_PROOF_MAX + 1][H], other[MERKLE_PROOF_MAX][H];
    size_t len, olen;
    unsigned flip = 7;
    for (uint64_t n = 1; n <= 64; n++)
        for (uint64_t m = 1; m <= n; m++) {
            cr_assert_eq(merkle_consistency_proof(&src, m, n, proof, &len), 0);
            cr_assert_eq(merkle_consistency_proof(&cached, m, n, other, &olen), 0);
            cr_assert_eq(len, olen);
            cr_assert_arr_eq(proof, other, len * H);
            cproof_t p = (cproof_t)proof;
            cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p, len), 0,
                         "valid %lu -> %lu", (unsigned long)m, (unsigned long)n);
            if (m == n)
                cr_assert_eq(len, 0);
            /* wrong roots */
            cr_assert_eq(merkle_verify_consistency(m, n, roots[m - 1], roots[n], p, len), -1);
            cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n + 1], p, len), -1);
            if (m != n)
                cr_assert_eq(merkle_verify_consistency(m, n, roots[n], roots[m], p, len), -1);
            /* wrong sizes, with their true roots */
            for (uint64_t k = 1; k <= N; k++) {
                if (k != m && k <= n)
                    cr_assert_eq(merkle_verify_consistency(k, n, roots[k], roots[n], p, len), -1,
                                 "old %lu for %lu -> %lu", (unsigned long)k, (unsigned long)m,
                                 (unsigned long)n);
                if (k != n && k >= m)
                    cr_assert_eq(merkle_verify_consistency(m, k, roots[m], roots[k], p, len), -1,
                                 "new %lu for %lu -> %lu", (unsigned long)k, (unsigned long)m,
                                 (unsigned long)n);
            }
            for (size_t k = 0; k < len; k++) {
                unsigned bit = flip++ % (H * 8);
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
                cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p, len), -1);
                proof[k][bit / 8] ^= (unsigned char)(1u << (bit % 8));
            }
            if (len > 0) {
                cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p, len - 1), -1);
                cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p + 1, len - 1),
                             -1);
            }
            memcpy(proof[len], roots[n], H);
            cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p, len + 1), -1);
            memmove(proof[1], proof[0], len * H);
            memcpy(proof[0], roots[m], H);
            cr_assert_eq(merkle_verify_consistency(m, n, roots[m], roots[n], p, len + 1), -1);
        }
    s_store_free(s);
}

Test(merkle, consistency_edge_cases)
{
    store_t *s = s_store_build(10, NULL);
    merkle_source_t src = s_src(s, 0);
    unsigned char proof[MERKLE_PROOF_MAX][H], empty[H], r10[H], r5[H];
    size_t len = 99;
    merkle_empty_root(empty);
    cr_assert_eq(merkle_subtree_root(&src, 0, 10, r10), 0);
    cr_assert_eq(merkle_subtree_root(&src, 0, 5, r5), 0);
    /* from the empty tree: empty proof, old root must be MTH({}) */
    cr_assert_eq(merkle_consistency_proof(&src, 0, 10, proof, &len), 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(merkle_verify_consistency(0, 10, empty, r10, NULL, 0), 0);
    cr_assert_eq(merkle_verify_consistency(0, 10, r5, r10, NULL, 0), -1);
    cr_assert_eq(merkle_verify_consistency(0, 10, empty, r10, (cproof_t)proof, 1), -1);
    cr_assert_eq(merkle_verify_consistency(0, 0, empty, empty, NULL, 0), 0);
    /* same size */
    cr_assert_eq(merkle_verify_consistency(10, 10, r10, r10, NULL, 0), 0);
    cr_assert_eq(merkle_verify_consistency(10, 10, r10, r5, NULL, 0), -1);
    memcpy(proof[0], r10, H);
    cr_assert_eq(merkle_verify_consistency(10, 10, r10, r10, (cproof_t)proof, 1), -1);
    /* shrinking, empty proof for growth, NULL arguments */
    cr_assert_eq(merkle_verify_consistency(10, 5, r10, r5, (cproof_t)proof, 1), -1);
    cr_assert_eq(merkle_verify_consistency(5, 10, r5, r10, NULL, 0), -1);
    cr_assert_eq(merkle_verify_consistency(5, 10, r5, r10, NULL, 2), -1);
    cr_assert_eq(merkle_verify_consistency(5, 10, NULL, r10, (cproof_t)proof, 1), -1);
    cr_assert_eq(merkle_verify_consistency(5, 10, r5, NULL, (cproof_t)proof, 1), -1);
    len = 99;
    cr_assert_eq(merkle_consistency_proof(&src, 6, 5, proof, &len), -1);
    cr_assert_eq(len, 0);
    cr_assert_eq(merkle_consistency_proof(NULL, 1, 5, proof, &len), -1);
    cr_assert_eq(merkle_consistency_proof(&src, 1, 5, NULL, &len), -1);
    cr_assert_eq(merkle_consistency_proof(&src, 1, 5, proof, NULL), -1);
    s_store_free(s);
}

Test(merkle, inclusion_edge_cases)
{
    store_t *s = s_store_build(10, NULL);
    merkle_source_t src = s_src(s, 0);
    unsigned char proof[MERKLE_PROOF_MAX][H], r1[H], r10[H];
    size_t len = 99;
    cr_assert_eq(merkle_subtree_root(&src, 0, 1, r1), 0);
    cr_assert_eq(merkle_subtree_root(&src, 0, 10, r10), 0);
    /* a tree of one leaf: empty proof, root is the leaf hash */
    cr_assert_eq(merkle_inclusion_proof(&src, 1, 0, proof, &len), 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[0], 0, 1, NULL, 0, r1), 0);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[1], 0, 1, NULL, 0, r1), -1);
    /* index out of range, size 0, NULLs */
    len = 99;
    cr_assert_eq(merkle_inclusion_proof(&src, 10, 10, proof, &len), -1);
    cr_assert_eq(len, 0);
    cr_assert_eq(merkle_inclusion_proof(&src, 0, 0, proof, &len), -1);
    cr_assert_eq(merkle_inclusion_proof(NULL, 10, 1, proof, &len), -1);
    merkle_source_t noleaf = {NULL, s_get_node, s};
    cr_assert_eq(merkle_inclusion_proof(&noleaf, 10, 1, proof, &len), -1);
    cr_assert_eq(merkle_inclusion_proof(&src, 10, 1, NULL, &len), -1);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[0], 0, 0, NULL, 0, r1), -1);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[0], 5, 5, NULL, 0, r1), -1);
    cr_assert_eq(merkle_verify_inclusion(NULL, 0, 1, NULL, 0, r1), -1);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[0], 0, 1, NULL, 0, NULL), -1);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[0], 0, 10, NULL, 4, r10), -1);
    /* subtree root argument checks */
    unsigned char out[H];
    cr_assert_eq(merkle_subtree_root(&src, 5, 4, out), -1);
    cr_assert_eq(merkle_subtree_root(NULL, 0, 4, out), -1);
    cr_assert_eq(merkle_subtree_root(&src, 0, 4, NULL), -1);
    s_store_free(s);
}

/* ---- Hostile verifier input -------------------------------------------- */

Test(merkle, hostile_input_never_verifies)
{
    unsigned char proof[MERKLE_PROOF_MAX + 1][H], a[H], b[H], leaf[H];
    randombytes_buf(proof, sizeof proof);
    randombytes_buf(a, H);
    randombytes_buf(b, H);
    randombytes_buf(leaf, H);
    cproof_t p = (cproof_t)proof;
    const uint64_t sizes[] = {
        1, 2, 3, 63, 64, 65, UINT64_C(1) << 32, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
    for (size_t x = 0; x < 10; x++)
        for (size_t y = 0; y < 10; y++)
            for (size_t len = 0; len <= MERKLE_PROOF_MAX + 1; len++) {
                uint64_t m = sizes[x], n = sizes[y];
                cr_assert_eq(merkle_verify_consistency(m, n, a, b, p, len), -1);
                cr_assert_eq(merkle_verify_inclusion(leaf, m - 1, n, p, len, a), -1);
                cr_assert_eq(merkle_verify_inclusion(leaf, m, n, p, len, a), -1);
            }
    /* random sizes and lengths */
    for (int r = 0; r < 20000; r++) {
        uint64_t m, n;
        randombytes_buf(&m, sizeof m);
        randombytes_buf(&n, sizeof n);
        if (r & 1) {
            m >>= randombytes_uniform(64);
            n >>= randombytes_uniform(64);
        }
        size_t len = randombytes_uniform(MERKLE_PROOF_MAX + 2);
        cr_assert_eq(merkle_verify_consistency(m, n, a, b, p, len), -1);
        cr_assert_eq(merkle_verify_inclusion(leaf, m, n, p, len, a), -1);
    }
    /* over-long proofs refused even when a prefix would verify */
    store_t *s = s_store_build(8, NULL);
    merkle_source_t src = s_src(s, 0);
    unsigned char root[H];
    size_t len;
    cr_assert_eq(merkle_subtree_root(&src, 0, 8, root), 0);
    cr_assert_eq(merkle_inclusion_proof(&src, 8, 3, proof, &len), 0);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[3], 3, 8, p, len, root), 0);
    cr_assert_eq(merkle_verify_inclusion(s->leaves[3], 3, 8, p, MERKLE_PROOF_MAX + 1, root), -1);
    s_store_free(s);
}

/* ---- Node cache -------------------------------------------------------- */

Test(merkle, node_cache_emits_every_perfect_node_once)
{
    store_t *s = s_store_build(1000, NULL);
    for (unsigned l = 1; l < 10; l++)
        for (uint64_t i = 0; i < (1000u >> l); i++) {
            cr_assert(s->have[l][i], "node %u/%lu missing", l, (unsigned long)i);
            unsigned char want[H];
            s_ref_mth(s->leaves + (i << l), UINT64_C(1) << l, want);
            cr_assert_arr_eq(s->nodes[l][i], want, H);
        }
    s_store_free(s);
}

Test(merkle, node_cache_makes_proofs_logarithmic)
{
    enum { N = 100000 };
    store_t *s = s_store_build(N, NULL);
    merkle_source_t plain = s_src(s, 0), cached = s_src(s, 1);
    unsigned char p1[MERKLE_PROOF_MAX][H], p2[MERKLE_PROOF_MAX][H], root[H], old_root[H];
    size_t l1, l2;
    for (int r = 0; r < 50; r++) {
        uint64_t n = 1 + randombytes_uniform(N), i = randombytes_uniform((uint32_t)n);
        uint64_t m = 1 + randombytes_uniform((uint32_t)n);
        s->leaf_calls = s->node_calls = 0;
        cr_assert_eq(merkle_inclusion_proof(&cached, n, i, p2, &l2), 0);
        cr_assert_leq(s->leaf_calls + s->node_calls, 4 * 64, "cached proof took %ld callbacks",
                      s->leaf_calls + s->node_calls);
        cr_assert_eq(merkle_inclusion_proof(&plain, n, i, p1, &l1), 0);
        cr_assert_eq(l1, l2);
        cr_assert_arr_eq(p1, p2, l1 * H);
        cr_assert_eq(merkle_subtree_root(&cached, 0, n, root), 0);
        cr_assert_eq(merkle_verify_inclusion(s->leaves[i], i, n, (cproof_t)p2, l2, root), 0);

        s->leaf_calls = s->node_calls = 0;
        cr_assert_eq(merkle_consistency_proof(&cached, m, n, p2, &l2), 0);
        cr_assert_leq(s->leaf_calls + s->node_calls, 4 * 64);
        cr_assert_eq(merkle_consistency_proof(&plain, m, n, p1, &l1), 0);
        cr_assert_eq(l1, l2);
        cr_assert_arr_eq(p1, p2, l1 * H);
        cr_assert_eq(merkle_subtree_root(&cached, 0, m, old_root), 0);
        cr_assert_eq(merkle_verify_consistency(m, n, old_root, root, (cproof_t)p2, l2), 0);
    }
    s_store_free(s);
}

Test(merkle, random_sizes_up_to_1e5_roots)
{
    enum { N = 100000 };
    store_t *s = s_store_new(N);
    merkle_tree_t *t = merkle_tree_new();
    merkle_tree_set_on_node(t, s_on_node, s);
    merkle_source_t cached = s_src(s, 1);
    /* check the running root against a cached subtree root and, at a few
       random sizes, against the naive reference */
    uint32_t checks[8];
    for (int c = 0; c < 8; c++)
        checks[c] = 1 + randombytes_uniform(N);
    for (uint64_t i = 0; i < N; i++) {
        s_record_leaf(i, s->leaves[i]);
        s->n = i + 1;
        cr_assert_eq(merkle_tree_append(t, s->leaves[i]), 0);
        bool check = (i + 1) % 9973 == 0 || i + 1 == N;
        for (int c = 0; c < 8; c++)
            check |= checks[c] == i + 1;
        if (!check)
            continue;
        unsigned char a[H], b[H], ref[H];
        merkle_tree_root(t, a);
        cr_assert_eq(merkle_subtree_root(&cached, 0, i + 1, b), 0);
        s_ref_mth(s->leaves, i + 1, ref);
        cr_assert_arr_eq(a, ref, H, "size %lu", (unsigned long)(i + 1));
        cr_assert_arr_eq(b, ref, H);
    }
    merkle_tree_destroy(&t);
    s_store_free(s);
}

/* ---- Saved state, restore --------------------------------------------- */

Test(merkle, save_load_continues_to_same_roots)
{
    store_t *s = s_store_build(300, NULL);
    const uint64_t cuts[] = {0, 1, 2, 3, 7, 8, 63, 64, 100, 255, 256, 299};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        merkle_tree_t *t = merkle_tree_new();
        for (uint64_t i = 0; i < cuts[c]; i++)
            cr_assert_eq(merkle_tree_append(t, s->leaves[i]), 0);
        unsigned char buf[MERKLE_STATE_MAX];
        size_t len;
        merkle_tree_save(t, buf, &len);
        cr_assert_leq(len, (size_t)MERKLE_STATE_MAX);
        merkle_tree_t *u = merkle_tree_load(buf, len);
        cr_assert(u);
        cr_assert_eq(merkle_tree_size(u), cuts[c]);
        /* refused: truncated, extended, wrong version, NULL */
        cr_assert_null(merkle_tree_load(buf, len - 1));
        unsigned char big[MERKLE_STATE_MAX + 1];
        memcpy(big, buf, len);
        big[len] = 0;
        cr_assert_null(merkle_tree_load(big, len + 1));
        buf[0] ^= 0xff;
        cr_assert_null(merkle_tree_load(buf, len));
        buf[0] ^= 0xff;
        cr_assert_null(merkle_tree_load(NULL, len));
        cr_assert_null(merkle_tree_load(buf, 8));
        for (uint64_t i = cuts[c]; i < 300; i++) {
            cr_assert_eq(merkle_tree_append(t, s->leaves[i]), 0);
            cr_assert_eq(merkle_tree_append(u, s->leaves[i]), 0);
            unsigned char a[H], b[H];
            merkle_tree_root(t, a);
            merkle_tree_root(u, b);
            cr_assert_arr_eq(a, b, H, "cut %lu at %lu", (unsigned long)cuts[c], (unsigned long)i);
        }
        merkle_tree_destroy(&t);
        merkle_tree_destroy(&u);
    }
    s_store_free(s);
}

Test(merkle, restore_from_store)
{
    store_t *s = s_store_build(777, NULL);
    merkle_source_t plain = s_src(s, 0), cached = s_src(s, 1);
    const uint64_t sizes[] = {0, 1, 5, 64, 500, 777};
    for (size_t c = 0; c < 6; c++) {
        unsigned char want[H], got[H], again[H];
        s_ref_mth(s->leaves, sizes[c], want);
        merkle_tree_t *t = merkle_tree_restore(&plain, sizes[c]);
        cr_assert(t);
        merkle_tree_root(t, got);
        cr_assert_arr_eq(got, want, H);
        s->leaf_calls = s->node_calls = 0;
        merkle_tree_t *u = merkle_tree_restore(&cached, sizes[c]);
        cr_assert(u);
        cr_assert_leq(s->leaf_calls + s->node_calls, 64);
        merkle_tree_root(u, again);
        cr_assert_arr_eq(again, want, H);
        cr_assert_eq(merkle_tree_size(u), sizes[c]);
        if (sizes[c] < 777) {
            cr_assert_eq(merkle_tree_append(u, s->leaves[sizes[c]]), 0);
            s_ref_mth(s->leaves, sizes[c] + 1, want);
            merkle_tree_root(u, got);
            cr_assert_arr_eq(got, want, H);
        }
        merkle_tree_destroy(&t);
        merkle_tree_destroy(&u);
    }
    cr_assert_null(merkle_tree_restore(NULL, 5));
    s->fail_leaf = 1;
    cr_assert_null(merkle_tree_restore(&plain, 5));
    s_store_free(s);
}

Test(merkle, full_tree_refuses_append)
{
    /* a saved state at 2^64 - 2 leaves: popcount 63 */
    unsigned char buf[MERKLE_STATE_MAX];
    buf[0] = MERKLE_STATE_VERSION;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = 0xff;
    buf[8] = 0xfe;
    memset(buf + 9, 0x5a, 63 * H);
    merkle_tree_t *t = merkle_tree_load(buf, 9 + 63 * H);
    cr_assert(t);
    unsigned char leaf[H] = {1};
    cr_assert_eq(merkle_tree_append(t, leaf), 0);
    cr_assert_eq(merkle_tree_size(t), UINT64_MAX);
    unsigned char before[H], after[H];
    merkle_tree_root(t, before);
    cr_assert_eq(merkle_tree_append(t, leaf), -1);
    merkle_tree_root(t, after);
    cr_assert_arr_eq(before, after, H);
    size_t len;
    merkle_tree_save(t, buf, &len);
    cr_assert_eq(len, (size_t)MERKLE_STATE_MAX);
    merkle_tree_destroy(&t);
}

/* ---- Store failures ---------------------------------------------------- */

Test(merkle, store_failures_propagate)
{
    store_t *s = s_store_build(100, NULL);
    merkle_source_t plain = s_src(s, 0), cached = s_src(s, 1);
    unsigned char proof[MERKLE_PROOF_MAX][H], out[H];
    size_t len = 99;
    s->fail_leaf = 1;
    cr_assert_eq(merkle_inclusion_proof(&plain, 100, 37, proof, &len), -1);
    cr_assert_eq(len, 0);
    len = 99;
    cr_assert_eq(merkle_consistency_proof(&plain, 37, 100, proof, &len), -1);
    cr_assert_eq(len, 0);
    cr_assert_eq(merkle_subtree_root(&plain, 0, 100, out), -1);
    s->fail_leaf = 0;
    s->node_rc = -1;
    cr_assert_eq(merkle_inclusion_proof(&cached, 100, 37, proof, &len), -1);
    cr_assert_eq(merkle_consistency_proof(&cached, 37, 100, proof, &len), -1);
    cr_assert_eq(merkle_subtree_root(&cached, 0, 64, out), -1);
    /* "not available" falls back to the leaves */
    s->node_rc = 1;
    unsigned char want[H];
    s_ref_mth(s->leaves, 64, want);
    cr_assert_eq(merkle_subtree_root(&cached, 0, 64, out), 0);
    cr_assert_arr_eq(out, want, H);
    s_store_free(s);
}

Test(merkle, failing_on_node_leaves_tree_unchanged)
{
    store_t *s = s_store_new(16);
    merkle_tree_t *t = merkle_tree_new();
    merkle_tree_set_on_node(t, s_on_node, s);
    for (uint64_t i = 0; i < 16; i++)
        s_record_leaf(i, s->leaves[i]);
    for (uint64_t i = 0; i < 7; i++)
        cr_assert_eq(merkle_tree_append(t, s->leaves[i]), 0);
    unsigned char before[H], after[H], want[H];
    merkle_tree_root(t, before);
    s->fail_on_node = 1;
    cr_assert_eq(merkle_tree_append(t, s->leaves[7]), -1); /* completes 3 nodes */
    cr_assert_eq(merkle_tree_size(t), 7);
    merkle_tree_root(t, after);
    cr_assert_arr_eq(before, after, H);
    s->fail_on_node = 0;
    cr_assert_eq(merkle_tree_append(t, s->leaves[7]), 0);
    merkle_tree_root(t, after);
    s_ref_mth(s->leaves, 8, want);
    cr_assert_arr_eq(after, want, H);
    cr_assert(s->have[3][0]);
    /* clearing the callback */
    merkle_tree_set_on_node(t, NULL, s);
    s->fail_on_node = 1;
    cr_assert_eq(merkle_tree_append(t, s->leaves[8]), 0);
    cr_assert_eq(merkle_tree_append(t, s->leaves[9]), 0);
    merkle_tree_destroy(&t);
    s_store_free(s);
}
