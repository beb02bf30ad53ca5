/*  arena: a bump allocator for memory that dies all at once; see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_CHUNK (64 * 1024)

struct arena_chunk_t {
    arena_chunk_t *next; /* older chunk */
    size_t used;         /* bytes handed out from data */
    size_t size;         /* bytes in data */
};

/* The chunk header is padded so data starts 16-aligned (malloc alignment). */
#define ARENA_HEADER ((sizeof(arena_chunk_t) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static unsigned char *s_chunk_data(arena_chunk_t *chunk)
{
    return (unsigned char *)chunk + ARENA_HEADER;
}

void *arena_alloc(arena_t *arena, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_chunk_t *chunk = arena->head;
    if (!chunk || chunk->size - chunk->used < size) {
        /* Large requests get a chunk of their own, so a chunk never wastes more than a
           small request's worth at its end. */
        size_t data = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        chunk = calloc(1, ARENA_HEADER + data);
        if (!chunk)
            return NULL;
        chunk->size = data;
        if (size > ARENA_CHUNK / 4 && arena->head) {
            /* keep the current chunk in front: it still has room */
            chunk->next = arena->head->next;
            arena->head->next = chunk;
        } else {
            chunk->next = arena->head;
            arena->head = chunk;
        }
        arena->total += data;
    }
    void *p = s_chunk_data(chunk) + chunk->used;
    chunk->used += size;
    return p;
}

char *arena_strndup(arena_t *arena, const char *s, size_t len)
{
    char *copy = arena_alloc(arena, len + 1);
    if (copy && len)
        memcpy(copy, s, len);
    return copy;
}

static void s_free_chain(arena_chunk_t *chunk)
{
    while (chunk) {
        arena_chunk_t *next = chunk->next;
        free(chunk);
        chunk = next;
    }
}

void arena_reset(arena_t *arena)
{
    arena_chunk_t *keep = arena->head;
    if (!keep)
        return;
    s_free_chain(keep->next);
    keep->next = NULL;
    memset(s_chunk_data(keep), 0, keep->used); /* arena_alloc promises zeroed memory */
    keep->used = 0;
    arena->total = keep->size;
}

void arena_free(arena_t *arena)
{
    s_free_chain(arena->head);
    arena->head = NULL;
    arena->total = 0;
}

static void *s_pb_alloc(void *arg, size_t size)
{
    return arena_alloc(arg, size);
}

static void s_pb_free(void *arg, void *pointer)
{
    (void)arg;
    (void)pointer; /* taken back by arena_reset / arena_free */
}

ProtobufCAllocator *arena_allocator(arena_t *arena)
{
    arena->allocator.alloc = s_pb_alloc;
    arena->allocator.free = s_pb_free;
    arena->allocator.allocator_data = arena;
    return &arena->allocator;
}
