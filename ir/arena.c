/* arena.c — bump allocation in chunks; one arena per graph or compilation, freed at once. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#define ALIGN 64
#define CHUNK (1 << 20)

typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  _Alignas(ALIGN) unsigned char data[];
} chunk;

struct vitc_arena {
  chunk *head;
};

vitc_arena *vitc_arena_new(void) { return calloc(1, sizeof(vitc_arena)); }

void vitc_arena_free(vitc_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *vitc_arena_alloc(vitc_arena *a, size_t n) {
  n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  if (n == 0) n = ALIGN;
  chunk *c = a->head;
  if (!c || c->size - c->used < n) {
    /* Large requests get a chunk of their own, placed behind the current one so its free space stays
     * usable. */
    size_t size = n > CHUNK / 4 ? n : CHUNK;
    if (size > SIZE_MAX - sizeof(chunk)) return NULL;
    chunk *fresh = aligned_alloc(ALIGN, (sizeof(chunk) + size + ALIGN - 1) & ~(size_t)(ALIGN - 1));
    if (!fresh) return NULL;
    fresh->used = 0;
    fresh->size = size;
    if (c && size != CHUNK) {
      fresh->next = c->next;
      c->next = fresh;
    } else {
      fresh->next = c;
      a->head = fresh;
    }
    c = fresh;
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *vitc_arena_strdup(vitc_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = vitc_arena_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}
