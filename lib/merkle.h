/*  merkle: RFC 6962 / RFC 9162 Merkle tree math for the audit log (DESIGN §9).

        leaf hash  = SHA-256(0x00 || record bytes)
        node hash  = SHA-256(0x01 || left || right)
        MTH({})    = SHA-256("")  (the empty string)
        MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of
                     two smaller than n                  (RFC 9162 §2.1.1)

    Three parts, all pure (no I/O, no globals, no allocation except the
    tree object):

    1.  merkle_tree_t: the append-only state of a log, kept as its "compact
        range": one perfect-subtree root per set bit of the tree size
        (popcount(size) <= 64 hashes). Appending is amortised O(1) hashing;
        the root is O(log n). The state saves to a small blob so that a
        broker restarts without rehashing its log, or is rebuilt from the
        store in O(log n) with merkle_tree_restore.

    2.  Proof generation over a log held elsewhere. The store supplies
        hashes through a merkle_source_t (callbacks), never the records:

            get_leaf(arg, index, out)         required
                the leaf hash of record `index` (0-based). 0, or -1 on a
                store error (the proof call then fails with -1).

            get_node(arg, level, index, out)  optional (NULL: no cache)
                the root of the PERFECT subtree at (level, index), covering
                leaves [index * 2^level, (index + 1) * 2^level); level >= 1.
                0: found and written; 1: not available (the library
                computes it from its children); -1: store error.

        Storage contract for the node cache. Give the tree an on_node
        callback (merkle_tree_set_on_node); every append then reports each
        perfect subtree it completes, exactly once, bottom-up:

            on_node(arg, level, index, hash)  level >= 1

        Storing those (level, index) -> hash rows (INSERT OR REPLACE: a
        failed append may report a node again) is all a store needs for
        get_node; proofs and subtree roots then cost O(log n) lookups and
        O(log n) hashing instead of O(n). A store may keep only some levels
        (e.g. level % 4 == 0) and answer 1 for the rest: the result is the
        same, only slower. A node that is reported must be the true hash:
        the library trusts get_node as it trusts get_leaf.

    3.  Verification (RFC 9162 §2.1.3.2, §2.1.4.2) for hostile input, e.g.
        a proof file given to a privacy officer: any bytes, any sizes, any
        length are refused or accepted exactly; proofs longer than
        MERKLE_PROOF_MAX hashes are refused.

    Hashes are raw 32-byte arrays. Functions return 0 or -1; verification
    returns 0 only for a valid proof.
*/
#ifndef HARTSLAG_MERKLE_H
#define HARTSLAG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASHBYTES 32 /* SHA-256 */
#define MERKLE_PROOF_MAX 64 /* longest proof accepted or produced, in hashes */
#define MERKLE_LEVELS 64    /* most perfect subtrees in a compact range */
#define MERKLE_STATE_VERSION 1
/* Saved state: version (1) || size (8, big-endian) || popcount(size) hashes,
   largest subtree (leftmost) first. */
#define MERKLE_STATE_MAX (1 + 8 + MERKLE_LEVELS * MERKLE_HASHBYTES)

/* Leaf hash of one record: SHA-256(0x00 || data). */
void merkle_leaf_hash(const unsigned char *data, size_t len, unsigned char out[MERKLE_HASHBYTES]);

/* Interior node hash: SHA-256(0x01 || left || right). `out` may alias
   either input. */
void merkle_node_hash(const unsigned char left[MERKLE_HASHBYTES],
                      const unsigned char right[MERKLE_HASHBYTES],
                      unsigned char out[MERKLE_HASHBYTES]);

/* Root of the empty tree: SHA-256(""). */
void merkle_empty_root(unsigned char out[MERKLE_HASHBYTES]);

/* ---- Append-only tree state ------------------------------------------ */

typedef struct _merkle_tree_t merkle_tree_t;

/* Called by merkle_tree_append for each perfect subtree it completes;
   return 0, or -1 to fail the append (the tree is then unchanged). */
typedef int (*merkle_on_node_fn)(void *arg, unsigned level, uint64_t index,
                                 const unsigned char hash[MERKLE_HASHBYTES]);

/* An empty tree, or NULL when out of memory. */
merkle_tree_t *merkle_tree_new(void);

/* Frees the tree and nulls *self_p; safe on NULL and twice. */
void merkle_tree_destroy(merkle_tree_t **self_p);

/* Sets (or with NULL clears) the callback that receives completed perfect
   subtrees at append time; see the storage contract above. */
void merkle_tree_set_on_node(merkle_tree_t *self, merkle_on_node_fn on_node, void *arg);

/* Number of leaves appended. */
uint64_t merkle_tree_size(const merkle_tree_t *self);

/* Appends one leaf hash. Returns 0, or -1 (the tree is full at 2^64 - 1
   leaves, or on_node failed) leaving the tree unchanged. */
int merkle_tree_append(merkle_tree_t *self, const unsigned char leaf_hash[MERKLE_HASHBYTES])
    __attribute__((warn_unused_result));

/* Root hash at the current size (MTH({}) when empty). */
void merkle_tree_root(const merkle_tree_t *self, unsigned char out[MERKLE_HASHBYTES]);

/* Serialises the compact state into `buf`; *len receives its length
   (at most MERKLE_STATE_MAX). */
void merkle_tree_save(const merkle_tree_t *self, unsigned char buf[MERKLE_STATE_MAX], size_t *len);

/* A tree from a saved state, or NULL when `buf` is not exactly a state
   written by merkle_tree_save (version, length) or out of memory. The
   hashes are taken as given: check the loaded root against the last signed
   checkpoint before trusting it. */
merkle_tree_t *merkle_tree_load(const unsigned char *buf, size_t len)
    __attribute__((warn_unused_result));

/* ---- Proofs over a log held by a store ------------------------------- */

typedef int (*merkle_get_leaf_fn)(void *arg, uint64_t index, unsigned char out[MERKLE_HASHBYTES]);
typedef int (*merkle_get_node_fn)(void *arg, unsigned level, uint64_t index,
                                  unsigned char out[MERKLE_HASHBYTES]);

/* Where proofs find their hashes; see the storage contract above. */
typedef struct {
    merkle_get_leaf_fn get_leaf; /* required */
    merkle_get_node_fn get_node; /* optional perfect-subtree cache, or NULL */
    void *arg;                   /* passed to both */
} merkle_source_t;

/* A tree of `size` leaves rebuilt from the store (O(log n) with a node
   cache, O(n) without). NULL on a store error or out of memory. */
merkle_tree_t *merkle_tree_restore(const merkle_source_t *source, uint64_t size)
    __attribute__((warn_unused_result));

/* MTH(D[begin:end]): the root of the tree over leaves [begin, end). An
   empty range gives MTH({}). Returns 0, or -1 (begin > end, store error). */
int merkle_subtree_root(const merkle_source_t *source, uint64_t begin, uint64_t end,
                        unsigned char out[MERKLE_HASHBYTES]) __attribute__((warn_unused_result));

/* Inclusion proof PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side
   first. Returns 0 with *proof_len hashes in `proof`, or -1 (index >= size,
   store error); on -1 *proof_len is 0. */
int merkle_inclusion_proof(const merkle_source_t *source, uint64_t size, uint64_t index,
                           unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                           size_t *proof_len) __attribute__((warn_unused_result));

/* Consistency proof PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1).
   Empty when old_size is 0 or equal to new_size. Returns 0, or -1
   (old_size > new_size, store error); on -1 *proof_len is 0. */
int merkle_consistency_proof(const merkle_source_t *source, uint64_t old_size, uint64_t new_size,
                             unsigned char proof[MERKLE_PROOF_MAX][MERKLE_HASHBYTES],
                             size_t *proof_len) __attribute__((warn_unused_result));

/* ---- Verification (hostile input) ------------------------------------ */

/* 0 when `proof` proves that `leaf_hash` is leaf `index` of the tree of
   `size` leaves with root `root` (RFC 9162 §2.1.3.2); -1 otherwise,
   including proof_len > MERKLE_PROOF_MAX and a NULL proof with proof_len >
   0. */
int merkle_verify_inclusion(const unsigned char leaf_hash[MERKLE_HASHBYTES], uint64_t index,
                            uint64_t size, const unsigned char (*proof)[MERKLE_HASHBYTES],
                            size_t proof_len, const unsigned char root[MERKLE_HASHBYTES])
    __attribute__((warn_unused_result));

/* 0 when `proof` proves that the tree of old_size leaves with root
   old_root is a prefix of the tree of new_size leaves with root new_root
   (RFC 9162 §2.1.4.2); -1 otherwise. Edge cases, exactly:
     old_size > new_size            refused
     old_size == new_size           proof empty and old_root == new_root
     old_size == 0 < new_size       proof empty and old_root == MTH({}) */
int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const unsigned char old_root[MERKLE_HASHBYTES],
                              const unsigned char new_root[MERKLE_HASHBYTES],
                              const unsigned char (*proof)[MERKLE_HASHBYTES], size_t proof_len)
    __attribute__((warn_unused_result));

#endif
