/* tensor_names.c — tensor ids by ONNX name while loading.
 *
 * ONNX refers to values by name and a ViT has thousands of them; an open-addressing table of ids keeps
 * each lookup O(1). The keys are the graph's own tensor names, so the table stores ids only. */
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

static size_t hash_name(const char *s) {
  size_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* Slot holding name, or the empty slot where it would go. */
static size_t probe(const fe_loader *ld, const char *name) {
  size_t mask = ld->nslots - 1, i = hash_name(name) & mask;
  while (ld->slots[i] >= 0 && strcmp(ld->g->tensors[ld->slots[i]].name, name)) i = (i + 1) & mask;
  return i;
}

int fe_find_tensor(const fe_loader *ld, const char *name) {
  return ld->nslots ? ld->slots[probe(ld, name)] : -1;
}

/* Keeps the table at most half full. */
static bool reserve(fe_loader *ld) {
  if (2 * (ld->nused + 1) <= ld->nslots) return true;
  size_t n = ld->nslots ? ld->nslots * 2 : 1024;
  int *fresh = malloc(n * sizeof *fresh);
  if (!fresh) return false;
  memset(fresh, 0xff, n * sizeof *fresh); /* all -1 */
  int *old = ld->slots;
  size_t nold = ld->nslots;
  ld->slots = fresh;
  ld->nslots = n;
  for (size_t i = 0; i < nold; i++)
    if (old[i] >= 0) ld->slots[probe(ld, ld->g->tensors[old[i]].name)] = old[i];
  free(old);
  return true;
}

static int add_named(fe_loader *ld, const char *name) {
  if (!reserve(ld)) return -1;
  int id = vitc_graph_add_tensor(ld->g, name);
  if (id < 0) return -1;
  ld->slots[probe(ld, name)] = id;
  ld->nused++;
  return id;
}

int fe_tensor_id(fe_loader *ld, const char *name) {
  int id = fe_find_tensor(ld, name);
  return id >= 0 ? id : add_named(ld, name);
}

int fe_fresh_tensor(fe_loader *ld, const char *hint) {
  char name[512];
  snprintf(name, sizeof name, "%s", hint);
  for (int k = 1; fe_find_tensor(ld, name) >= 0; k++) snprintf(name, sizeof name, "%s_%d", hint, k);
  return add_named(ld, name);
}

bool fe_tensor_defined(const fe_loader *ld, int id) {
  const vitc_tensor *t = &ld->g->tensors[id];
  return t->shape_known || t->producer >= 0;
}

void fe_names_free(fe_loader *ld) {
  free(ld->slots);
  ld->slots = NULL;
  ld->nslots = ld->nused = 0;
}
