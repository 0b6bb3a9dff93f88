/* strmap.h — a string-keyed hash map (open addressing) whose keys and
 * table live in an arena; for name lookups that must stay linear on huge
 * graphs. Keys are not copied: they must outlive the map. */
#ifndef QKC_STRMAP_H
#define QKC_STRMAP_H

#include <stddef.h>

#include "arena.h"

typedef struct StrMap {
    Arena *arena;
    const char **keys;
    void **vals;
    size_t cap, n;
} StrMap;

void strmap_init(StrMap *m, Arena *a);
void *strmap_get(const StrMap *m, const char *key);
/* Insert or replace. */
void strmap_put(StrMap *m, const char *key, void *val);

#endif
