/*  agreements_internal: what agreements.c (model, evaluation) and
    agreements_parse.c (YAML, validation) share. Private to lib/; the
    public face is agreements.h.
*/
#ifndef HARTSLAG_AGREEMENTS_INTERNAL_H
#define HARTSLAG_AGREEMENTS_INTERNAL_H

#include "agreements.h"
#include "arena.h"

#include <stdarg.h>

/* Everything an agreements_t points to lives in its arena (arena.h), so
   the model is one object with one lifetime. */

/*  Interning: name -> small integer, by open addressing.
    Invariants: ids are 0..count-1 in insertion order; names[id] is a
    NUL-terminated copy in the owning arena with lens[id] bytes; every id
    appears in exactly one slot, stored as id + 1 (0 = empty); the table is
    at most half full, so every probe sequence ends at an empty slot. */
typedef struct {
    const char **names; /* id -> name */
    uint32_t *lens;     /* id -> length */
    uint32_t count;     /* names interned */
    uint32_t cap;       /* room in names/lens */
    uint32_t *slots;    /* hash table of id + 1 */
    uint32_t mask;      /* slots - 1 (power of two) */
} intern_t;

#define INTERN_NONE UINT32_MAX

/* Returns the id of the name, or INTERN_NONE. */
uint32_t intern_find(const intern_t *self, const char *name, size_t len);
/* Returns the id, adding the name if new; INTERN_NONE on OOM. *added tells which. */
uint32_t intern_add(intern_t *self, arena_t *arena, const char *name, size_t len, bool *added);
void intern_free(intern_t *self);

/* The evaluation form of one agreement: ids instead of names. */
typedef struct {
    uint32_t from;         /* org id of the sender */
    uint32_t purpose;      /* purpose id */
    const uint32_t *types; /* sorted type ids */
    uint32_t type_count;
    const uint32_t *fields; /* sorted field ids */
    uint32_t field_count;
    int32_t valid_from, valid_until; /* inclusive days */
} rule_t;

/* (sender, recipient) -> the range of pair_rules holding its agreements in file order. */
typedef struct {
    uint32_t key;   /* sender * AGREEMENTS_PARTNERS_MAX + recipient, + 1; 0 = empty slot */
    uint32_t start; /* first index into pair_rules */
    uint32_t count; /* agreements of the pair */
} pair_slot_t;

/*  The model. Invariants once agreements_parse returns it: every org named
    anywhere is a partner (orgs id == index into partners); agreements[i]
    and rules[i] describe the same agreement; the pair index covers every
    (from, to) of every agreement exactly once per agreement; nothing
    changes until agreements_destroy. */
struct agreements_t {
    arena_t arena;                       /* owns every string and array below */
    const char *partnership;             /* partnership token */
    uint64_t version;                    /* positive */
    uint8_t hash[AGREEMENTS_HASH_BYTES]; /* SHA-256 of the exact bytes parsed */
    const char *coordinator;             /* org of the coordinator */
    agreements_partner_t *partners;      /* file order; index == org id */
    size_t partner_count;                /* entries in partners */
    agreements_agreement_t *agreements;  /* public views, file order */
    rule_t *rules;                       /* evaluation form, same order */
    size_t agreement_count;              /* entries in agreements and rules */
    agreements_alert_rule_t *alerts;     /* file order */
    size_t alert_count;                  /* entries in alerts */
    agreements_case_rule_t *cases;       /* file order */
    size_t case_count;                   /* entries in cases */
    intern_t orgs;                       /* partner orgs */
    intern_t types;                      /* signal types named by agreements */
    intern_t fields;                     /* field names named by agreements */
    intern_t purposes;                   /* purposes named by agreements */
    pair_slot_t *pairs;                  /* open-addressing table */
    uint32_t pair_mask;                  /* pairs slots - 1 */
    uint32_t *pair_rules;                /* agreement indices grouped by pair */
};

/* Builds the pair index once every agreement and rule is in place. 0 / -1 (OOM). */
int agreements_index_build(agreements_t *self);

/* Error list construction (used by the parser). */
agreements_errors_t *agreements_errors_new(const char *file);
/* Adds an error; ignored (and marked truncated) past AGREEMENTS_ERRORS_MAX. */
void agreements_errors_addv(agreements_errors_t *self, uint32_t line, uint32_t column,
                            const char *fmt, va_list args) __attribute__((format(printf, 4, 0)));
void agreements_errors_sort(agreements_errors_t *self);
/* True once the cap is reached, so the parser can stop early. */
bool agreements_errors_full(const agreements_errors_t *self);

#endif
