/* test_cache_key_pages.c — the compile cache's key hashes every constant (backend/cache.c), and leaves
 * the pages of the model file it read them from dropped: a cold JIT start held all the aligned
 * initializers' file pages beside the copies of the others until code generation (its peak, issue 16).
 * Near miss: the same pages read without the key stay resident, so the measure sees them. The key still
 * names the constants' values: hashed again after the drop, it is the same. Runs from the source
 * directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "check.h"
#include "resident.h"

#define MODEL "tests/models/demo/model.onnx" /* 1.4 MB, its initializers in place in the file */

/* Reads every constant of g, as passes and code generation do; returns a sum so nothing is optimised away. */
static unsigned touch_constants(const vitc_graph *g) {
  unsigned sum = 0;
  for (int t = 0; t < g->ntensors; t++) {
    const vitc_value *v = &g->tensors[t].v;
    for (size_t k = 0; v->data && k < vitc_nbytes(v); k += 512) sum += ((const unsigned char *)v->data)[k];
  }
  return sum;
}

int main(void) {
  vitc_graph *g = NULL;
  vitc_error err = {0};
  vitc_load_options lo = {0};
  CHECK(vitc_load_onnx(MODEL, &lo, &g, &err) == VITC_OK);
  if (!g) CHECK_DONE();
  CHECK(g->mappings != NULL); /* the initializers are read in place */
  vitc_target_options t = {.opt_level = 3};
  LLVMTargetMachineRef tm = NULL;
  CHECK(vitc_target_machine(&t, &tm, &err) == VITC_OK);
  char dir[] = "/tmp/vitc_cache_key_pages.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);

  volatile unsigned sum = touch_constants(g);
  (void)sum;
  long before = resident_kb(g->mappings->addr);
  CHECK(before > 64); /* the near miss: read, the file's pages are resident */
  vitc_cache_entry *e = vitc_cache_entry_new(dir, g, tm, &t, "m");
  CHECK(e != NULL);
  long after = resident_kb(g->mappings->addr);
  if (after != 0) fprintf(stderr, "the model file keeps %ld kB resident after the key (%ld before)\n", after, before);
  CHECK(after == 0);

  vitc_cache_entry *again = vitc_cache_entry_new(dir, g, tm, &t, "m");
  CHECK(again && e && !memcmp(vitc_cache_entry_key(again), vitc_cache_entry_key(e), 2 * sizeof(uint64_t)));
  vitc_cache_entry_free(again);
  vitc_cache_entry_free(e);
  rmdir(dir);
  LLVMDisposeTargetMachine(tm);
  vitc_graph_free(g);
  CHECK_DONE();
}
