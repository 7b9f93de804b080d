/* cli_engine.c — the one place that maps an engine choice to the code that executes a graph. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli.h"

/* Inputs worth binding when compiled code needs values at compile time: those only ever read as
 * parameters (input 1 and beyond: shapes, axes, indices, scales, pads) and those feeding a node whose
 * output shape is still unknown. */
static bool parameter_input(const vitc_graph *g, int t) {
  bool as_data = false, feeds_dynamic = false;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int j = 0; j < n->nin; j++) {
      if (n->in[j] != t) continue;
      as_data |= j == 0;
      for (int k = 0; k < n->nout; k++) feeds_dynamic |= n->out[k] >= 0 && !g->tensors[n->out[k]].shape_known;
    }
  }
  return !as_data || feeds_dynamic;
}

/* Binds the parameter inputs to this run's values and re-runs the passes; *kept receives the values of
 * the inputs that remain. */
static vitc_status specialise(const cli_common *c, vitc_graph *g, const vitc_value *inputs, vitc_value *kept,
                              vitc_error *err) {
  bool *bind = calloc((size_t)g->ninputs + 1, sizeof *bind);
  if (!bind) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  int nkept = 0;
  for (int k = 0; k < g->ninputs; k++) {
    bind[k] = parameter_input(g, g->inputs[k]);
    if (bind[k]) fprintf(stderr, "vitc: specialising the compiled code on the value of input '%s'\n", g->tensors[g->inputs[k]].name);
    else kept[nkept++] = inputs[k];
  }
  vitc_status st = vitc_graph_bind_inputs(g, bind, inputs, err);
  free(bind);
  return st ? st : vitc_run_passes(g, &c->passes, err);
}

/* --profile: time per op kind, from the runtime's per-node timing hook. Labels are "name (Op)". */
typedef struct op_times {
  char op[VITC_OP_COUNT][64];
  double seconds[VITC_OP_COUNT];
  int calls[VITC_OP_COUNT];
  int count;
} op_times;

static void record_node(void *user, int node, const char *label, uint64_t ns) {
  op_times *t = user;
  const char *open = strrchr(label, '(');
  char op[64];
  snprintf(op, sizeof op, "%s", open ? open + 1 : label);
  op[strcspn(op, ")")] = 0;
  int k = 0;
  while (k < t->count && strcmp(t->op[k], op)) k++;
  if (k == t->count) {
    if (t->count == VITC_OP_COUNT) return;
    snprintf(t->op[t->count++], sizeof t->op[0], "%s", op);
  }
  t->seconds[k] += ns * 1e-9;
  t->calls[k]++;
}

static void print_profile(const op_times *t) {
  double total = 0;
  for (int k = 0; k < t->count; k++) total += t->seconds[k];
  fprintf(stderr, "%-24s %6s %10s %6s\n", "op", "nodes", "ms", "%");
  for (int k = 0; k < t->count; k++)
    fprintf(stderr, "%-24s %6d %10.3f %6.1f\n", t->op[k], t->calls[k], t->seconds[k] * 1e3,
            total > 0 ? 100 * t->seconds[k] / total : 0);
  fprintf(stderr, "%-24s %6s %10.3f\n", "total", "", total * 1e3);
}

static vitc_status execute_jit(const cli_common *c, vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                               vitc_error *err) {
  vitc_value *kept = NULL;
  cli_progress_state progress = {0};
  vitc_target_options host = {NULL, NULL, NULL, 3, cli_progress, &progress};
  vitc_compiled *compiled = NULL;
  vitc_status st = vitc_compile_jit(g, &host, &compiled, err);
  if (st == VITC_ERR_DATA_DEPENDENT) {
    if (!(kept = calloc((size_t)g->ninputs + 1, sizeof *kept))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    if (!(st = specialise(c, g, inputs, kept, err))) st = vitc_compile_jit(g, &host, &compiled, err);
    inputs = kept;
  }
  op_times *times = c->profile ? calloc(1, sizeof *times) : NULL;
  if (!st && times) vitc_compiled_set_node_hook(compiled, record_node, times);
  if (!st) st = vitc_compiled_run_once(compiled, g, c->threads, inputs, outputs, err);
  if (!st && times) print_profile(times);
  free(times);
  vitc_compiled_free(compiled);
  free(kept);
  return st;
}

vitc_status cli_execute(const cli_common *c, vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                        vitc_error *err) {
  switch (c->engine) {
  case CLI_ENGINE_INTERP: return vitc_eval_graph(g, inputs, outputs, err);
  case CLI_ENGINE_JIT: return execute_jit(c, g, inputs, outputs, err);
  case CLI_ENGINE_AOT: return cli_execute_aot(c, g, inputs, outputs, err);
  case CLI_ENGINE_SHARED: return cli_shared_run(&c->shared, c->weights, g, inputs, outputs, err);
  }
  return vitc_fail(err, VITC_ERR_INTERNAL, "unknown engine %d", (int)c->engine);
}
