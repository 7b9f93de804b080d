/* cli_engine.c — the one place that maps an engine choice to the code that executes a graph. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
  vitc_driver_options o = cli_driver_options(c);
  cli_progress_state progress = {0};
  o.target.progress = cli_progress;
  o.target.progress_user = &progress;
  int ninputs = g->ninputs, *input_ids = calloc((size_t)ninputs + 1, sizeof *input_ids);
  bool *bound = calloc((size_t)ninputs + 1, sizeof *bound);
  vitc_value *kept = calloc((size_t)ninputs + 1, sizeof *kept);
  op_times *times = c->profile ? calloc(1, sizeof *times) : NULL;
  vitc_compiled *compiled = NULL;
  bool nomem = !input_ids || !bound || !kept || (c->profile && !times);
  vitc_status st = nomem ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory") : VITC_OK;
  for (int k = 0; !st && k < ninputs; k++) input_ids[k] = g->inputs[k];
  if (!st) st = vitc_driver_compile(g, &o, inputs, bound, kept, &compiled, err);
  for (int k = 0; bound && k < ninputs; k++)
    if (bound[k])
      fprintf(stderr, "vitc: specialising the compiled code on the value of input '%s'\n", g->tensors[input_ids[k]].name);
  if (!st && times) vitc_compiled_set_node_hook(compiled, record_node, times);
  if (!st) st = vitc_compiled_run_once(compiled, g, c->threads, kept, outputs, err);
  if (!st && times) print_profile(times);
  free(times);
  vitc_compiled_free(compiled);
  free(kept);
  free(bound);
  free(input_ids);
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
