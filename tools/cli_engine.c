/* cli_engine.c — the one place that maps an engine choice to the code that executes a graph. */
#include <stdlib.h>

#include "backend/backend.h"
#include "cli.h"

/* Binds the integer inputs of a graph whose shapes are not static, then re-runs the passes; *kept
 * receives the values of the inputs that remain. */
static vitc_status specialise(const cli_common *c, vitc_graph *g, const vitc_value *inputs, vitc_value *kept,
                              vitc_error *err) {
  bool *bind = calloc((size_t)g->ninputs + 1, sizeof *bind);
  if (!bind) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  int nkept = 0;
  for (int k = 0; k < g->ninputs; k++) {
    vitc_dtype t = g->tensors[g->inputs[k]].v.dtype;
    bind[k] = !vitc_dtype_is_float(t) && t != VITC_BOOL;
    if (bind[k]) fprintf(stderr, "vitc: specialising the compiled code on the value of input '%s'\n", g->tensors[g->inputs[k]].name);
    else kept[nkept++] = inputs[k];
  }
  vitc_status st = vitc_graph_bind_inputs(g, bind, inputs, err);
  free(bind);
  return st ? st : vitc_run_passes(g, &c->passes, err);
}

static vitc_status execute_jit(const cli_common *c, vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                               vitc_error *err) {
  vitc_value *kept = NULL;
  vitc_status st = VITC_OK;
  if (vitc_graph_first_dynamic_node(g) >= 0) {
    if (!(kept = calloc((size_t)g->ninputs + 1, sizeof *kept))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    st = specialise(c, g, inputs, kept, err);
    inputs = kept;
  }
  vitc_target_options host = {NULL, NULL, NULL, 3};
  vitc_compiled *compiled = NULL;
  if (!st) st = vitc_compile_jit(g, &host, &compiled, err);
  if (!st) st = vitc_compiled_run_once(compiled, g, c->threads, inputs, outputs, err);
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
