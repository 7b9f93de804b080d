/* test_release_constants.c — vitc_target_options.release_constants (backend/codegen.c): a constant's
 * memory is given back once the last node reading it is compiled, and the compiled model still computes
 * what it computed without releasing. Near misses: a constant another constant shares memory with (as a
 * folded Reshape shares its input's) is kept until the later reader of the two; a constant that is a
 * graph output is kept; without the option nothing is given back. */
#include "backend_harness.h"
#include "check.h"

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

typedef struct built {
  test_graph t;
  int shared, alias, kept; /* a constant, one on its memory, a constant graph output */
} built;

/* y = Transpose(Relu(x + C)) * C', C' a [300, 24] constant on C's memory read three nodes after C. */
static built build(void) {
  built b = {.t = tg_new()};
  test_graph *t = &b.t;
  int x = tg_input(t, VITC_F32, DIMS(24, 300));
  b.shared = tg_const(t, VITC_F32, DIMS(24, 300), 7);
  b.alias = vitc_graph_add_tensor(t->g, "alias");
  vitc_tensor *a = &t->g->tensors[b.alias];
  a->v = t->g->tensors[b.shared].v;
  a->v.dims[0] = 300, a->v.dims[1] = 24;
  a->shape_known = true;
  int sum = tg_node(t, VITC_OP_Add, (int[]){x, b.shared}, 2, 1, NULL, 0);
  int relu = tg_node(t, VITC_OP_Relu, &sum, 1, 1, NULL, 0);
  int tr = tg_node(t, VITC_OP_Transpose, &relu, 1, 1, NULL, 0);
  tg_output(t, tg_node(t, VITC_OP_Mul, (int[]){tr, b.alias}, 2, 1, NULL, 0));
  b.kept = tg_const(t, VITC_F32, DIMS(4096), 11);
  tg_output(t, b.kept);
  return b;
}

/* Compiles as the JIT does, releasing or not; outs[k] get the run's outputs (malloc'd). */
static void compile_run(built *b, bool release, void **outs) {
  b->t.compile_threads = 2;
  vitc_target_options to = {.opt_level = 3, .release_constants = release};
  vitc_error err = {0};
  vitc_status st = tg_compile_for(&b->t, &to, 2, &err);
  if (st) fprintf(stderr, "%s: %s\n", release ? "releasing" : "keeping", err.msg);
  CHECK(st == VITC_OK);
  for (int k = 0; k < b->t.g->noutputs; k++) outs[k] = calloc(1, vitc_nbytes(&b->t.g->tensors[b->t.g->outputs[k]].v));
  CHECK(st == VITC_OK && tg_run(&b->t, outs) == 0);
}

/* The middle page of constant c's memory reads as zeros (given back) or not. */
static bool given_back(const test_graph *t, int c) {
  const float *v = t->g->tensors[c].v.data;
  int64_t mid = vitc_numel(&t->g->tensors[c].v) / 2;
  for (int64_t i = mid - 256; i < mid + 256; i++)
    if (v[i] != 0) return false;
  return true;
}

int main(void) {
  built keep = build(), rel = build();
  void *want[2], *got[2];
  compile_run(&keep, false, want);
  CHECK(tg_compare(&keep.t, "keeping constants", 1e-6, 1e-6) == 0);
  CHECK(!given_back(&keep.t, keep.shared));
  float kept[4096];
  memcpy(kept, rel.t.g->tensors[rel.kept].v.data, sizeof kept);
  compile_run(&rel, true, got);
  size_t ybytes = vitc_nbytes(&keep.t.g->tensors[keep.t.g->outputs[0]].v);
  CHECK(!memcmp(want[0], got[0], ybytes));         /* the alias was read before its memory went */
  CHECK(!memcmp(want[1], got[1], sizeof kept));
  CHECK(given_back(&rel.t, rel.shared));
  CHECK(!memcmp(rel.t.g->tensors[rel.kept].v.data, kept, sizeof kept)); /* an output's constant stays */
  for (int k = 0; k < 2; k++) {
    free(want[k]);
    free(got[k]);
  }
  tg_free(&keep.t);
  tg_free(&rel.t);
  CHECK_DONE();
}
