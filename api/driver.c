/* driver.c — load → passes → compile, for the public API and the tool (driver.h). */
#include <stdlib.h>

#include "driver.h"

/* The passes, timed into o->times when it is set. */
static vitc_status run_passes(vitc_graph *g, const vitc_driver_options *o, vitc_error *err) {
  vitc_pass_options po = o->passes;
  vitc_stage_time since = vitc_stage_clock();
  if (o->times) po.times = o->times->pass;
  vitc_status st = vitc_run_passes(g, &po, err);
  if (o->times) vitc_stage_add(&o->times->passes, since);
  return st;
}

vitc_status vitc_driver_load(const char *path, const vitc_driver_options *o, vitc_graph **out, vitc_error *err) {
  vitc_load_options lo = {o->bindings, o->nbindings};
  vitc_stage_time since = vitc_stage_clock();
  vitc_status st = vitc_load_onnx(path, &lo, out, err);
  if (o->times) vitc_stage_add(&o->times->load, since);
  if (!st) (*out)->memory_limit = o->memory_limit; /* before shape inference, which checks it */
  if (!st && (st = run_passes(*out, o, err))) {
    vitc_graph_free(*out);
    *out = NULL;
  }
  if (!st) (*out)->precision = o->precision;
  return st;
}

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

/* Binds the parameter inputs to these values and re-runs the passes. */
static vitc_status specialise(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                              vitc_value *kept, vitc_error *err) {
  int nkept = 0;
  for (int k = 0; k < g->ninputs; k++) {
    bound[k] = parameter_input(g, g->inputs[k]);
    if (!bound[k]) kept[nkept++] = inputs[k];
  }
  vitc_status st = vitc_graph_bind_inputs(g, bound, inputs, err);
  return st ? st : run_passes(g, o, err);
}

static vitc_status compile_timed(const vitc_graph *g, const vitc_driver_options *o, const vitc_target_options *t,
                                 vitc_compiled **out, vitc_error *err) {
  vitc_status st = vitc_compile_jit(g, t, out, err);
  if (!st && o->times) o->times->backend = (*out)->module->times; /* at most one compilation succeeds */
  return st;
}

vitc_status vitc_driver_compile(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                vitc_value *kept, vitc_compiled **out, vitc_error *err) {
  vitc_target_options t = o->target;
  if (!t.opt_level) t.opt_level = VITC_LLVM_OPT_LEVEL;
  int ninputs = g->ninputs;
  for (int k = 0; bound && k < ninputs; k++) bound[k] = false;
  for (int k = 0; kept && inputs && k < ninputs; k++) kept[k] = inputs[k];
  vitc_status st = compile_timed(g, o, &t, out, err);
  if (st != VITC_ERR_DATA_DEPENDENT || !inputs) return st;
  bool *flags = bound ? bound : calloc((size_t)ninputs + 1, sizeof *flags);
  if (!flags) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!(st = specialise(g, o, inputs, flags, kept, err))) st = compile_timed(g, o, &t, out, err);
  if (flags != bound) free(flags);
  return st;
}
