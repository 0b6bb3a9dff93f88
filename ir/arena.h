/* arena.h — bump allocator that owns all IR memory of one compilation.
 *
 * Everything allocated from an arena is freed at once by arena_free().
 * Large payloads (weights) are allocated from the arena too: a graph owns
 * its constants, and freeing the graph frees them. */
#ifndef QKC_ARENA_H
#define QKC_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *head;   /* newest block; blocks form a singly linked list */
    size_t total;       /* bytes handed out so far (for resource limits) */
} Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
/* Zeroed, 16-byte aligned memory; aborts on out-of-memory (a compiler bug
 * or a resource limit that a caller failed to check). */
void *arena_alloc(Arena *a, size_t size);
/* 64-byte aligned, zeroed: for tensor payloads. */
void *arena_alloc_aligned(Arena *a, size_t size, size_t align);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grow an array allocated in the arena: returns a new copy with room for
 * `newcap` elements of `elem` bytes, the first `n` copied. */
void *arena_grow(Arena *a, void *old, size_t n, size_t newcap, size_t elem);

#endif
