/* arena.c — bump allocator: blocks of at least 64 KiB, big requests get
 * their own block. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t size;   /* usable bytes after the header */
    size_t used;
    _Alignas(64) unsigned char data[];
};

enum { BLOCK_MIN = 64 * 1024 };

Arena *arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a) {
        fprintf(stderr, "qkc: out of memory\n");
        abort();
    }
    return a;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (ArenaBlock *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

void *arena_alloc_aligned(Arena *a, size_t size, size_t align)
{
    if (size == 0)
        size = 1;
    ArenaBlock *b = a->head;
    if (b) {
        size_t off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->size && size <= b->size - off) {
            b->used = off + size;
            a->total += size;
            return b->data + off;
        }
    }
    size_t need = size + align;
    if (need < size) {
        fprintf(stderr, "qkc: allocation size overflow\n");
        abort();
    }
    size_t bsize = need > BLOCK_MIN ? need : BLOCK_MIN;
    ArenaBlock *nb = calloc(1, sizeof *nb + bsize);
    if (!nb) {
        fprintf(stderr, "qkc: out of memory (%zu bytes)\n", bsize);
        abort();
    }
    nb->size = bsize;
    /* A big request gets a block of its own behind the current one, so the
     * current block's free tail stays usable. */
    if (b && bsize > BLOCK_MIN) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        a->head = nb;
    }
    size_t off = 0; /* data is 64-aligned; align <= 64 in practice */
    if (align > 64)
        off = (align - ((uintptr_t)nb->data & (align - 1))) & (align - 1);
    nb->used = off + size;
    a->total += size;
    return nb->data + off;
}

void *arena_alloc(Arena *a, size_t size) { return arena_alloc_aligned(a, size, 16); }

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc_aligned(a, n + 1, 1);
    if (n) /* (s may be NULL when n is 0: an empty protobuf string) */
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return s ? arena_strndup(a, s, strlen(s)) : NULL; }

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc_aligned(a, (size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_grow(Arena *a, void *old, size_t n, size_t newcap, size_t elem)
{
    void *p = arena_alloc(a, newcap * elem);
    if (n)
        memcpy(p, old, n * elem);
    return p;
}
