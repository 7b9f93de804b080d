/* test_plan_memory.c — backend/plan_memory.c: in hand-built and random graphs, every two ranges of the
 * arena (scratch tensors, and nodes' work spaces live during their node only) that are live at the same
 * time are disjoint, all lie inside the planned size, 64-byte aligned, and memory dead at a node's time
 * is reused for its work space. The lifetimes are recomputed here from the graph, not taken from the
 * planner. */
#include <stdlib.h>

#include "backend/plan.h"
#include "check.h"

/* A float32 tensor of n elements produced by an op over `in`. */
static int add_op(vitc_graph *g, vitc_op op, const int *in, int nin, int64_t n) {
  int out = vitc_graph_add_tensor(g, NULL);
  g->tensors[out].v = (vitc_value){.dtype = VITC_F32, .rank = 1, .dims = {n}};
  vitc_graph_add_node(g, op, NULL, in, nin, &out, 1, NULL, 0);
  return out;
}

/* A node that computes (any op but the Reshape-like ones does to the planner). */
static int add_node(vitc_graph *g, const int *in, int nin, int64_t n) { return add_op(g, VITC_OP_Add, in, nin, n); }

static vitc_graph *new_graph(int64_t input_elems) {
  vitc_graph *g = vitc_graph_new("plan.onnx");
  g->inputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int));
  g->inputs[g->ninputs++] = vitc_graph_add_tensor(g, NULL);
  g->tensors[g->inputs[0]].v = (vitc_value){.dtype = VITC_F32, .rank = 1, .dims = {input_elems}};
  return g;
}

typedef struct range {
  int first, last;
  size_t at, bytes;
} range;

/* The tensor whose memory t is: t, or through views (vitc_view_base) the first tensor of their chain. */
static int base_of(const vitc_graph *g, int t) {
  int p = g->tensors[t].producer, in = p >= 0 ? vitc_view_base(g, p) : -1;
  return in >= 0 ? base_of(g, in) : t;
}

/* The live ranges as the planner must see them: a scratch tensor from its producer to its last reader,
 * directly or through any view of it (which must sit at its offset: *misplaced counts those that do
 * not), node i's work space at node i. Returns how many, with the sum of their sizes. */
static int live_ranges(const vitc_graph *g, const size_t *node_scratch, const size_t *tensor_offset,
                       const size_t *node_offset, range *r, size_t *sum, int *misplaced) {
  int count = 0;
  *sum = 0;
  *misplaced = 0;
  for (int t = 0; t < g->ntensors; t++) {
    if (!vitc_is_scratch_tensor(g, t)) continue;
    if (base_of(g, t) != t) {
      *misplaced += tensor_offset[t] != tensor_offset[base_of(g, t)];
      continue;
    }
    range x = {g->tensors[t].producer, g->tensors[t].producer, tensor_offset[t], vitc_nbytes(&g->tensors[t].v)};
    for (int i = 0; i < g->nnodes; i++)
      for (int j = 0; j < g->nodes[i].nin; j++)
        if (g->nodes[i].in[j] >= 0 && base_of(g, g->nodes[i].in[j]) == t && i > x.last) x.last = i;
    r[count++] = x;
    *sum += x.bytes;
  }
  for (int i = 0; i < g->nnodes; i++)
    if (node_scratch[i]) {
      r[count++] = (range){i, i, node_offset[i], node_scratch[i]};
      *sum += node_scratch[i];
    }
  return count;
}

/* Plans g and checks the plan; returns the arena size (0 on failure). */
static size_t check_plan(const vitc_graph *g, const size_t *node_scratch) {
  size_t *tensor_offset = malloc(sizeof(size_t) * (size_t)g->ntensors);
  size_t *node_offset = malloc(sizeof(size_t) * (size_t)g->nnodes);
  range *r = malloc(sizeof *r * (size_t)(g->ntensors + g->nnodes));
  size_t total = 0, sum;
  vitc_error err = {0};
  CHECK(vitc_plan_memory(g, node_scratch, NULL, tensor_offset, node_offset, &total, &err) == VITC_OK);
  int misplaced;
  int n = live_ranges(g, node_scratch, tensor_offset, node_offset, r, &sum, &misplaced);
  CHECK(misplaced == 0);
  int clashes = 0, outside = 0, unaligned = 0;
  for (int a = 0; a < n; a++) {
    outside += r[a].at + r[a].bytes > total;
    unaligned += r[a].at % 64 != 0;
    for (int b = a + 1; b < n; b++) {
      bool same_time = r[a].first <= r[b].last && r[b].first <= r[a].last;
      bool same_bytes = r[a].at < r[b].at + r[b].bytes && r[b].at < r[a].at + r[a].bytes;
      clashes += same_time && same_bytes && r[a].bytes && r[b].bytes;
    }
  }
  CHECK(clashes == 0);
  CHECK(outside == 0);
  CHECK(unaligned == 0);
  CHECK(total <= sum + 64 * (size_t)n);
  free(tensor_offset);
  free(node_offset);
  free(r);
  return clashes || outside || unaligned || misplaced ? 0 : total;
}

/* x -> a -> b -> c -> y: the work space of the node making c needs b (its input) and c alive beside it,
 * but a is dead by then, so its bytes serve again. */
static void test_chain(void) {
  vitc_graph *g = new_graph(16);
  int x = g->inputs[0];
  int a = add_node(g, &x, 1, 1024);
  int b = add_node(g, &a, 1, 16);
  int c = add_node(g, &b, 1, 32);
  g->outputs[g->noutputs++] = add_node(g, &c, 1, 16);
  size_t none[4] = {0}, fits[4] = {0, 0, 2048, 0}, grows[4] = {0, 0, 4096, 0};
  size_t base = check_plan(g, none);
  CHECK(base == 4096 + 64); /* a, then b above it; c fits in a's place */
  CHECK(check_plan(g, fits) == base); /* in a's place, c above it: the arena does not grow */
  CHECK(check_plan(g, grows) == 4096 + 128 + 64); /* all of a's place: c and b go above */
  vitc_graph_free(g);
}

/* A node's work space is live beside every input it reads, however early produced, and every output. */
static void test_long_lived_input(void) {
  vitc_graph *g = new_graph(8);
  int x = g->inputs[0];
  int a = add_node(g, &x, 1, 256);
  int b = add_node(g, &a, 1, 256);
  int c = add_node(g, &b, 1, 256);
  int ac[2] = {a, c};
  g->outputs[g->noutputs++] = add_node(g, ac, 2, 8);
  size_t scratch[4] = {512, 0, 1024, 2048};
  CHECK(check_plan(g, scratch) >= 2 * 1024 + 2048); /* a, c and node 3's work space */
  vitc_graph_free(g);
}

/* x -> a -> Reshape -> Identity -> ... -> y reading the Identity last: a's bytes, which the views are,
 * stay taken until y (else b and c, each as big as a, would fit there), and the views cost nothing. */
static void test_view_lifetime(void) {
  vitc_graph *g = new_graph(16);
  int x = g->inputs[0];
  int a = add_node(g, &x, 1, 1024);
  int v = add_op(g, VITC_OP_Reshape, &a, 1, 1024);
  int w = add_op(g, VITC_OP_Identity, &v, 1, 1024);
  int b = add_node(g, &x, 1, 1024);
  int c = add_node(g, &b, 1, 1024);
  int cw[2] = {c, w};
  g->outputs[g->noutputs++] = add_node(g, cw, 2, 16);
  CHECK(vitc_view_base(g, 1) == a && vitc_view_base(g, 2) == v);
  size_t none[6] = {0};
  CHECK(check_plan(g, none) == 3 * 4096); /* a (with v, w), b and c: all live at node 4 */
  vitc_graph_free(g);
}

/* Views must copy when their input is a graph input, a constant or a graph output, or their output a
 * graph output; only Reshape-like ops are views. */
static void test_view_copies(void) {
  vitc_graph *g = new_graph(16);
  int x = g->inputs[0];
  vitc_value k = {.dtype = VITC_F32, .rank = 1, .dims = {16}, .data = (float[16]){0}};
  int konst = vitc_graph_add_constant(g, NULL, &k);
  int of_input = add_op(g, VITC_OP_Flatten, &x, 1, 16);                /* node 0 */
  int of_const = add_op(g, VITC_OP_Squeeze, &konst, 1, 16);            /* node 1 */
  int sum = add_node(g, (int[]){of_input, of_const}, 2, 16);          /* node 2 */
  int out = add_op(g, VITC_OP_Unsqueeze, &sum, 1, 16);                 /* node 3: a graph output */
  int of_out = add_op(g, VITC_OP_Reshape, &out, 1, 16);                /* node 4: view of a graph output */
  int relu = add_op(g, VITC_OP_Relu, &sum, 1, 16);                     /* node 5: computes */
  int view = add_op(g, VITC_OP_Identity, &relu, 1, 16);                /* node 6: the one view */
  g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * 2);
  g->outputs[0] = out;
  g->outputs[1] = add_node(g, (int[]){of_out, view}, 2, 16);
  g->noutputs = 2;
  int expect[8] = {-1, -1, -1, -1, -1, -1, relu, -1};
  for (int i = 0; i < g->nnodes; i++) CHECK(vitc_view_base(g, i) == expect[i]);
  size_t none[8] = {0};
  CHECK(check_plan(g, none) > 0);
  vitc_graph_free(g);
}

/* Random DAGs: each node reads one to three earlier tensors, or reshapes one (a view, but for graph
 * inputs), some nodes ask for work space. */
static void test_random(void) {
  unsigned seed = 7;
  int views = 0;
  for (int round = 0; round < 50; round++) {
    vitc_graph *g = new_graph(64);
    int nnodes = 5 + round % 40;
    size_t *scratch = calloc((size_t)nnodes, sizeof *scratch);
    for (int i = 0; i < nnodes; i++) {
      int in[3], nin = 1 + (int)((seed = seed * 1664525u + 1013904223u) >> 30) % 3;
      for (int j = 0; j < nin; j++) in[j] = (int)((seed = seed * 1664525u + 1013904223u) >> 8) % g->ntensors;
      int64_t n = 1 + (int64_t)((seed = seed * 1664525u + 1013904223u) >> 20);
      seed = seed * 1664525u + 1013904223u;
      if (seed % 3 == 0) add_op(g, VITC_OP_Reshape, in, 1, vitc_numel(&g->tensors[in[0]].v)); /* maybe a view */
      else add_node(g, in, nin, n);
      if (seed >> 31) scratch[i] = (seed >> 12) % 50000;
    }
    g->outputs[g->noutputs++] = g->ntensors - 1;
    for (int i = 0; i < nnodes; i++) views += vitc_view_base(g, i) >= 0;
    CHECK(check_plan(g, scratch) > 0);
    free(scratch);
    vitc_graph_free(g);
  }
  CHECK(views > 100);
}

int main(void) {
  test_chain();
  test_long_lived_input();
  test_view_lifetime();
  test_view_copies();
  test_random();
  CHECK_DONE();
}
