/* strmap.c — FNV-1a hashed, linear probing, grown at 50% load. */
#include "strmap.h"

#include <stdint.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void strmap_init(StrMap *m, Arena *a)
{
    memset(m, 0, sizeof *m);
    m->arena = a;
}

void *strmap_get(const StrMap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

static void put(StrMap *m, const char *key, void *val)
{
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

void strmap_put(StrMap *m, const char *key, void *val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ocap = m->cap;
        const char **okeys = m->keys;
        void **ovals = m->vals;
        m->cap = ocap ? ocap * 2 : 64;
        m->keys = arena_alloc(m->arena, m->cap * sizeof *m->keys);
        m->vals = arena_alloc(m->arena, m->cap * sizeof *m->vals);
        m->n = 0;
        for (size_t i = 0; i < ocap; i++)
            if (okeys[i])
                put(m, okeys[i], ovals[i]);
    }
    put(m, key, val);
}
