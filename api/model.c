/* model.c — the public API of include/vitc.h over the driver (driver.h): load, passes and JIT, or the
 * reference evaluator when asked to interpret. Failures are recorded as the thread's last error. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "runtime/vitc_rt.h"

struct vitc_model {
  vitc_graph *g;
  vitc_compiled *compiled; /* NULL when interpreting */
  int nthreads;
};

struct vitc_context {
  const vitc_model *m;
  vitc_rt_ctx *rt; /* NULL when interpreting */
};

static vitc_status fail_last(vitc_error *err) { return vitc_set_last_error(err); }

vitc_status vitc_model_load(const char *path, const vitc_options *opts, vitc_model **out) {
  vitc_options defaults = {.opt_level = VITC_OPT_DEFAULT};
  vitc_error err = {0};
  if (!opts) opts = &defaults;
  *out = NULL;
  vitc_model *m = calloc(1, sizeof *m);
  vitc_shape_binding *bindings = calloc((size_t)opts->nshapes + 1, sizeof *bindings);
  if (!m || !bindings) {
    free(m);
    free(bindings);
    vitc_fail(&err, VITC_ERR_NOMEM, "out of memory");
    return fail_last(&err);
  }
  m->nthreads = opts->nthreads;
  vitc_status st = VITC_OK;
  for (int i = 0; i < opts->nshapes && !st; i++) st = vitc_parse_shape_binding(opts->shapes[i], &bindings[i], &err);
  vitc_driver_options o = {
      bindings, opts->nshapes, {.opt_level = opts->opt_level}, {.cpu = opts->cpu, .features = opts->features},
      opts->precision};
  if (!st && (opts->opt_level < VITC_OPT_REQUIRED || opts->opt_level > VITC_OPT_DEFAULT))
    st = vitc_fail(&err, VITC_ERR_INVALID, "opt_level %d: expected 0, 1 or 2", opts->opt_level);
  if (!st) st = vitc_driver_load(path, &o, &m->g, &err);
  if (!st && !opts->interpret) st = vitc_driver_compile(m->g, &o, NULL, NULL, NULL, &m->compiled, &err);
  free(bindings);
  if (st) {
    vitc_model_free(m);
    return fail_last(&err);
  }
  *out = m;
  return VITC_OK;
}

void vitc_model_free(vitc_model *m) {
  if (!m) return;
  vitc_compiled_free(m->compiled);
  vitc_graph_free(m->g);
  free(m);
}

int vitc_model_num_inputs(const vitc_model *m) { return m->g->ninputs; }
int vitc_model_num_outputs(const vitc_model *m) { return m->g->noutputs; }

static vitc_status io_info(const vitc_model *m, int i, bool output, vitc_io_info *info) {
  int count = output ? m->g->noutputs : m->g->ninputs;
  if (i < 0 || i >= count) {
    vitc_error err;
    vitc_fail(&err, VITC_ERR_INVALID, "%s %d does not exist (the model has %d)", output ? "output" : "input", i, count);
    return fail_last(&err);
  }
  const vitc_tensor *t = &m->g->tensors[output ? m->g->outputs[i] : m->g->inputs[i]];
  if (!t->shape_known) {
    vitc_error err;
    vitc_fail(&err, VITC_ERR_DATA_DEPENDENT, "%s: the shape of '%s' depends on input values; caller-owned "
              "buffers need static shapes", m->g->path, t->name);
    return fail_last(&err);
  }
  info->name = t->name;
  info->dtype = t->v.dtype;
  info->rank = t->v.rank;
  memcpy(info->dims, t->v.dims, sizeof info->dims);
  info->bytes = vitc_nbytes(&t->v);
  return VITC_OK;
}

vitc_status vitc_model_input(const vitc_model *m, int i, vitc_io_info *info) { return io_info(m, i, false, info); }
vitc_status vitc_model_output(const vitc_model *m, int i, vitc_io_info *info) { return io_info(m, i, true, info); }

vitc_status vitc_context_new(const vitc_model *m, vitc_context **out) {
  vitc_error err;
  vitc_context *c = calloc(1, sizeof *c);
  *out = NULL;
  const vitc_module *mod = m->compiled ? m->compiled->module : NULL;
  if (!c || (mod && !(c->rt = vitc_rt_ctx_new(mod->scratch_size, mod->weights, m->nthreads)))) {
    free(c);
    vitc_fail(&err, VITC_ERR_NOMEM, "out of memory creating a context");
    return fail_last(&err);
  }
  c->m = m;
  *out = c;
  return VITC_OK;
}

void vitc_context_free(vitc_context *c) {
  if (!c) return;
  vitc_rt_ctx_free(c->rt);
  free(c);
}

static vitc_status interpret(const vitc_graph *g, const void *const *inputs, void *const *outputs) {
  vitc_error err = {0};
  vitc_value *in = calloc((size_t)g->ninputs + 1, sizeof *in), *out = calloc((size_t)g->noutputs + 1, sizeof *out);
  vitc_status st = !in || !out ? vitc_fail(&err, VITC_ERR_NOMEM, "out of memory") : VITC_OK;
  for (int i = 0; !st && i < g->ninputs; i++) {
    in[i] = g->tensors[g->inputs[i]].v;
    in[i].data = (void *)inputs[i];
  }
  if (!st) st = vitc_eval_graph(g, in, out, &err);
  for (int k = 0; !st && k < g->noutputs; k++) {
    const vitc_tensor *t = &g->tensors[g->outputs[k]];
    if (!t->shape_known || vitc_nbytes(&out[k]) != vitc_nbytes(&t->v))
      st = vitc_fail(&err, VITC_ERR_DATA_DEPENDENT, "%s: output '%s' has a run-time shape that does not fit the "
                     "caller's buffer", g->path, t->name);
    else
      memcpy(outputs[k], out[k].data, vitc_nbytes(&out[k]));
  }
  for (int k = 0; out && k < g->noutputs; k++) free(out[k].data);
  free(in);
  free(out);
  return st ? fail_last(&err) : VITC_OK;
}

vitc_status vitc_run(vitc_context *c, const void *const *inputs, void *const *outputs) {
  const vitc_model *m = c->m;
  if (!m->compiled) return interpret(m->g, inputs, outputs);
  int rc = vitc_ffi_call_run(m->compiled->run_fn, c->rt, (void *const *)inputs, m->g->ninputs, outputs, m->g->noutputs);
  if (rc) {
    vitc_error err;
    vitc_fail(&err, VITC_ERR_INTERNAL, "%s: compiled model returned %d", m->g->path, rc);
    return fail_last(&err);
  }
  return VITC_OK;
}
