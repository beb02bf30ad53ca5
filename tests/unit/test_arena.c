/*  Tests for lib/arena: zeroed, aligned, non-overlapping allocations across
    chunk boundaries and for requests larger than a chunk; reset hands the
    kept chunk out again, zeroed; a frame unpacked on the arena reads the
    same as one unpacked with malloc. Under ASan the writes below also
    prove every allocation is as large as asked. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "wire.h"

static bool s_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

Test(arena, allocations_are_zeroed_aligned_distinct_and_as_large_as_asked)
{
    arena_t arena = {0};
    enum { N = 500 };
    unsigned char *blocks[N];
    size_t sizes[N];
    for (size_t i = 0; i < N; i++) {
        sizes[i] = (i * 37) % 700 + (i % 50 == 0 ? 70000 : 0); /* some exceed a chunk */
        blocks[i] = arena_alloc(&arena, sizes[i]);
        cr_assert_not_null(blocks[i]);
        cr_assert_eq((uintptr_t)blocks[i] % 16, 0, "block %zu misaligned", i);
        cr_assert(s_zero(blocks[i], sizes[i]), "block %zu not zeroed", i);
        memset(blocks[i], (int)(i & 0xff) | 1, sizes[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            cr_assert_eq(blocks[i][k], (unsigned char)((i & 0xff) | 1),
                         "block %zu overwritten at %zu", i, k);
    cr_assert_gt(arena.total, 70000);
    arena_free(&arena);
    cr_assert_null(arena.head);
    arena_free(&arena); /* empty: no-op */
}

Test(arena, reset_keeps_one_chunk_and_hands_it_out_zeroed)
{
    arena_t arena = {0};
    arena_reset(&arena); /* empty: no-op */
    for (int i = 0; i < 100; i++)
        memset(arena_alloc(&arena, 1000), 0xff, 1000); /* several chunks, dirtied */
    unsigned char *newest = arena.head ? (unsigned char *)arena_alloc(&arena, 16) : NULL;
    cr_assert_not_null(newest);
    arena_reset(&arena);
    cr_assert_not_null(arena.head);
    cr_assert_eq(arena.total, 64 * 1024, "one chunk kept, not %zu bytes", arena.total);
    unsigned char *again = arena_alloc(&arena, 60000);
    cr_assert_not_null(again);
    cr_assert(s_zero(again, 60000), "the kept chunk is handed out zeroed");
    cr_assert_null(arena_alloc(&arena, SIZE_MAX), "an impossible size is refused");
    cr_assert_not_null(arena_alloc(&arena, 0), "size 0 gives a valid pointer");
    char *copy = arena_strndup(&arena, "gemeente-x", 8);
    cr_assert_str_eq(copy, "gemeente");
    arena_free(&arena);
}

Test(arena, a_frame_unpacked_on_the_arena_reads_the_same)
{
    Hartslag__Hello hello = HARTSLAG__HELLO__INIT;
    hello.org = "gemeente";
    hello.software = "hartslagd/1.0";
    Hartslag__Frame frame = HARTSLAG__FRAME__INIT;
    frame.version = WIRE_VERSION;
    frame.body_case = HARTSLAG__FRAME__BODY_HELLO;
    frame.hello = &hello;
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(wire_pack_frame(&frame, &bytes, &len), 0);
    arena_t arena = {0};
    for (int round = 0; round < 3; round++) {
        Hartslag__Frame *on_arena = NULL, *on_heap = NULL;
        const char *why = NULL;
        cr_assert_eq(wire_unpack_frame_with(bytes, len, arena_allocator(&arena), &on_arena, &why),
                     0, "%s", why);
        cr_assert_eq(wire_unpack_frame(bytes, len, &on_heap, &why), 0, "%s", why);
        cr_assert_not_null(arena.head, "unpacked on the arena");
        cr_assert_eq(on_arena->body_case, HARTSLAG__FRAME__BODY_HELLO);
        cr_assert_str_eq(on_arena->hello->org, on_heap->hello->org);
        cr_assert_str_eq(on_arena->hello->software, on_heap->hello->software);
        size_t again = hartslag__frame__get_packed_size(on_arena);
        cr_assert_eq(again, len);
        uint8_t *repacked = malloc(again);
        hartslag__frame__pack(on_arena, repacked);
        cr_assert_eq(memcmp(repacked, bytes, len), 0);
        free(repacked);
        hartslag__frame__free_unpacked(on_arena, arena_allocator(&arena)); /* a no-op */
        hartslag__frame__free_unpacked(on_heap, NULL);
        arena_reset(&arena);
    }
    arena_free(&arena);
    free(bytes);
}
