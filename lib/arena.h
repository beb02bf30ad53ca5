/*  arena: a bump allocator for memory that dies all at once.

    Memory is handed out, zeroed, from chunks that never move, and taken
    back all at once. The agreements model lives in one (one object, one
    lifetime); the broker unpacks every message of a loop turn into one,
    because protobuf-c allocates once per field and the frames all die
    together when the turn ends (arena_reset): a turn then costs a few
    mallocs instead of one per field, and no walk over the messages to free
    them.

    An arena_t is a plain struct: zero-initialise it ({0}) and it is empty
    and ready. Memory from it is valid until arena_reset or arena_free;
    freeing through arena_allocator does nothing.
*/
#ifndef HARTSLAG_ARENA_H
#define HARTSLAG_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena_chunk_t arena_chunk_t;
typedef struct {
    arena_chunk_t *head;          /* newest chunk first; NULL when nothing allocated */
    size_t total;                 /* bytes in all chunks */
    ProtobufCAllocator allocator; /* set up by arena_allocator */
} arena_t;

/* `size` bytes, zeroed, 16-aligned; NULL when out of memory or impossible. */
void *arena_alloc(arena_t *arena, size_t size);

/* A NUL-terminated copy of s[0..len). */
char *arena_strndup(arena_t *arena, const char *s, size_t len);

/* Takes back everything; keeps the newest chunk (zeroed again) for reuse. */
void arena_reset(arena_t *arena);

/* Takes back everything and frees every chunk. */
void arena_free(arena_t *arena);

/* A protobuf-c allocator on this arena: valid while the arena lives where
   it is (it points to it). */
ProtobufCAllocator *arena_allocator(arena_t *arena);

#endif
