/* model.c — the public API of include/vitc.h over the driver (driver.h): load, passes and JIT, or the
 * reference evaluator when asked to interpret. Failures are recorded as the thread's last error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "runtime/vitc_rt.h"

struct vitc_model {
  vitc_graph *g;
  vitc_compiled *compiled; /* NULL when interpreting */
  int nthreads;
  int64_t images; /* the batch-1 code runs this many images per vitc_run (vitc_driver_images); g is sized
                     for all of them */
};

struct vitc_context {
  const vitc_model *m;
  vitc_rt_ctx *rt; /* NULL when interpreting */
  vitc_rt_trace *trace; /* the node hook of rt while tracing */
};

_Static_assert(VITC_MAX_THREADS == VITC_RT_MAX_THREADS, "include/vitc.h and runtime/vitc_rt.h agree");

static vitc_status fail_last(vitc_error *err) { return vitc_set_last_error(err); }

/* A caller's mistake: VITC_ERR_INVALID with the message as the thread's last error. */
static vitc_status invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static vitc_status invalid(const char *fmt, ...) {
  vitc_error err = {.status = VITC_ERR_INVALID};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err.msg, sizeof err.msg, fmt, ap);
  va_end(ap);
  return fail_last(&err);
}

static vitc_status check_options(const vitc_options *o) {
  if (o->nshapes < 0) return invalid("vitc_options: nshapes %d is negative", o->nshapes);
  if (o->nshapes && !o->shapes) return invalid("vitc_options: nshapes is %d but shapes is NULL", o->nshapes);
  for (int i = 0; i < o->nshapes; i++)
    if (!o->shapes[i]) return invalid("vitc_options: shapes[%d] is NULL", i);
  if (o->opt_level < VITC_OPT_REQUIRED || o->opt_level > VITC_OPT_DEFAULT)
    return invalid("vitc_options: opt_level %d: expected 0, 1 or 2", o->opt_level);
  if (o->nthreads < 0 || o->nthreads > VITC_MAX_THREADS)
    return invalid("vitc_options: nthreads %d: expected 0 (one per CPU) to %d", o->nthreads, VITC_MAX_THREADS);
  if (o->max_memory < 0) return invalid("vitc_options: max_memory %lld is negative", (long long)o->max_memory);
  if (o->batch < VITC_BATCH_AUTO || o->batch > VITC_BATCH_PER_IMAGE)
    return invalid("vitc_options: batch %d: expected VITC_BATCH_AUTO, VITC_BATCH_FOLD or VITC_BATCH_PER_IMAGE",
                   (int)o->batch);
  return VITC_OK;
}

vitc_status vitc_model_load(const char *path, const vitc_options *opts, vitc_model **out) {
  vitc_options defaults = {.opt_level = VITC_OPT_DEFAULT};
  vitc_error err = {0};
  if (!opts) opts = &defaults;
  if (!out) return invalid("vitc_model_load: out is NULL");
  *out = NULL;
  if (!path) return invalid("vitc_model_load: path is NULL");
  if (check_options(opts)) return VITC_ERR_INVALID;
  vitc_model *m = calloc(1, sizeof *m);
  vitc_shape_binding *bindings = calloc((size_t)opts->nshapes + 1, sizeof *bindings);
  vitc_shape_binding *one = calloc((size_t)opts->nshapes + 1, sizeof *one);
  if (!m || !bindings || !one) {
    free(m);
    free(bindings);
    free(one);
    vitc_fail(&err, VITC_ERR_NOMEM, "out of memory");
    return fail_last(&err);
  }
  m->nthreads = opts->nthreads;
  vitc_status st = VITC_OK;
  for (int i = 0; i < opts->nshapes && !st; i++) st = vitc_parse_shape_binding(opts->shapes[i], &bindings[i], &err);
  vitc_driver_options o = {bindings, opts->nshapes, {.opt_level = opts->opt_level},
                           {.cpu = opts->cpu, .features = opts->features}, opts->max_memory, opts->precision,
                           opts->no_cache, opts->batch};
  m->images = 1;
  if (!st && !opts->interpret && !(st = vitc_driver_images(path, &o, one, &m->images, &err)) && m->images > 1)
    o.bindings = one;
  if (!st && opts->interpret) st = vitc_driver_load(path, &o, &m->g, &err);
  else if (!st) st = vitc_driver_load_compiled(path, &o, &m->g, &m->compiled, &err);
  /* A cold start's compilation leaves its freed heap resident (Swin-T: 7 MB) and the mmap threshold
   * raised by it, so that the scratch comes from that heap: it goes back before the model runs. */
  vitc_give_back_heap();
  for (int k = 0; !st && m->images > 1 && k < m->g->ninputs + m->g->noutputs; k++) /* buffers of all images */
    m->g->tensors[k < m->g->ninputs ? m->g->inputs[k] : m->g->outputs[k - m->g->ninputs]].v.dims[0] *= m->images;
  free(bindings);
  free(one);
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

int vitc_model_num_inputs(const vitc_model *m) {
  return m ? m->g->ninputs : (invalid("vitc_model_num_inputs: the model is NULL"), -1);
}
int vitc_model_num_outputs(const vitc_model *m) {
  return m ? m->g->noutputs : (invalid("vitc_model_num_outputs: the model is NULL"), -1);
}

static vitc_status io_info(const vitc_model *m, int i, bool output, vitc_io_info *info) {
  if (!m || !info)
    return invalid("vitc_model_%s: %s is NULL", output ? "output" : "input", !m ? "the model" : "info");
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
  if (!m || !out) return invalid("vitc_context_new: %s is NULL", !m ? "the model" : "out");
  vitc_context *c = calloc(1, sizeof *c);
  *out = NULL;
  const vitc_module *mod = m->compiled ? m->compiled->module : NULL;
  if (mod && vitc_module_check_cpu(mod, &err)) {
    free(c);
    return fail_last(&err);
  }
  if (mod && vitc_rt_resolve_threads(m->nthreads) < 0) { /* VITC_NUM_THREADS unreadable */
    free(c);
    return invalid("vitc_context_new: %s", vitc_rt_last_error());
  }
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
  vitc_rt_trace_free(c->trace);
  free(c);
}

const char *vitc_version(void) { return VITC_VERSION; }

vitc_status vitc_context_trace_start(vitc_context *c, size_t max_events) {
  vitc_error err;
  if (!c->rt) {
    vitc_fail(&err, VITC_ERR_UNSUPPORTED, "%s: tracing records compiled code; this model is interpreted",
              c->m->g->path);
    return fail_last(&err);
  }
  vitc_rt_trace *t = vitc_rt_trace_new(max_events);
  if (!t) {
    vitc_fail(&err, VITC_ERR_NOMEM, "out of memory for a trace of %zu events", max_events);
    return fail_last(&err);
  }
  vitc_rt_set_node_hook(c->rt, vitc_rt_trace_record, t);
  vitc_rt_trace_free(c->trace);
  c->trace = t;
  return VITC_OK;
}

vitc_status vitc_context_trace_write(const vitc_context *c, const char *path) {
  vitc_error err;
  char why[512];
  if (!c->trace) {
    vitc_fail(&err, VITC_ERR_INVALID, "%s: no trace to write: call vitc_context_trace_start first", path);
    return fail_last(&err);
  }
  if (vitc_rt_trace_write(c->trace, path, why, sizeof why)) {
    vitc_fail(&err, VITC_ERR_IO, "%s", why);
    return fail_last(&err);
  }
  return VITC_OK;
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

/* The buffers' addresses (and, with byte sizes, their sizes) against the model's inputs and outputs. */
static vitc_status check_buffers(const vitc_model *m, const char *fn, bool output, const void *const *bufs,
                                 const size_t *bytes) {
  int count = output ? m->g->noutputs : m->g->ninputs;
  const char *what = output ? "outputs" : "inputs";
  if (count && !bufs) return invalid("%s: %s is NULL (the model has %d)", fn, what, count);
  for (int i = 0; i < count; i++) {
    if (!bufs[i]) return invalid("%s: %s[%d] is NULL", fn, what, i);
    const vitc_tensor *t = &m->g->tensors[output ? m->g->outputs[i] : m->g->inputs[i]];
    if (bytes && (!t->shape_known || bytes[i] != vitc_nbytes(&t->v)))
      return invalid("%s: %s[%d] ('%s') has %zu bytes, the model needs %zu", fn, what, i, t->name, bytes[i],
                     t->shape_known ? vitc_nbytes(&t->v) : 0);
  }
  return VITC_OK;
}

vitc_status vitc_run_checked(vitc_context *c, const void *const *inputs, const size_t *input_bytes, int nin,
                             void *const *outputs, const size_t *output_bytes, int nout) {
  if (!c) return invalid("vitc_run_checked: the context is NULL");
  const vitc_graph *g = c->m->g;
  if (nin != g->ninputs || nout != g->noutputs)
    return invalid("vitc_run_checked: %d inputs and %d outputs given, the model has %d and %d", nin, nout,
                   g->ninputs, g->noutputs);
  if ((nin && !input_bytes) || (nout && !output_bytes))
    return invalid("vitc_run_checked: %s_bytes is NULL", nin && !input_bytes ? "input" : "output");
  if (check_buffers(c->m, "vitc_run_checked", false, inputs, input_bytes) ||
      check_buffers(c->m, "vitc_run_checked", true, (const void *const *)outputs, output_bytes))
    return VITC_ERR_INVALID;
  return vitc_run(c, inputs, outputs);
}

/* One run of the compiled code (or the evaluator) on buffers already checked. */
static vitc_status run_once(vitc_context *c, const void *const *inputs, void *const *outputs) {
  const vitc_model *m = c->m;
  if (!m->compiled) return interpret(m->g, inputs, outputs);
  int rc = vitc_ffi_call_run(m->compiled->run_fn, c->rt, (void *const *)inputs, m->g->ninputs, outputs, m->g->noutputs);
  if (rc) { /* bad input data: an index out of range (runtime/vitc_rt.h) */
    vitc_error err;
    vitc_fail(&err, VITC_ERR_INVALID, "%s: %s", m->g->path, vitc_rt_error(c->rt));
    return fail_last(&err);
  }
  return VITC_OK;
}

/* n runs of the batch-1 code, every buffer advanced by one image's block (its size over m->images) per run. */
static vitc_status run_images(vitc_context *c, const char *fn, int64_t n, const void *const *inputs,
                              void *const *outputs) {
  const vitc_graph *g = c->m->g;
  const char **in = malloc(sizeof *in * ((size_t)g->ninputs + 1));
  char **out = malloc(sizeof *out * ((size_t)g->noutputs + 1));
  vitc_status st = VITC_OK;
  if (!in || !out) {
    vitc_error err;
    vitc_fail(&err, VITC_ERR_NOMEM, "%s: out of memory", fn);
    st = fail_last(&err);
  }
  for (int64_t i = 0; i < n && st == VITC_OK; i++) {
    for (int k = 0; k < g->ninputs; k++)
      in[k] = (const char *)inputs[k] + i * (int64_t)vitc_nbytes(&g->tensors[g->inputs[k]].v) / c->m->images;
    for (int k = 0; k < g->noutputs; k++)
      out[k] = (char *)outputs[k] + i * (int64_t)vitc_nbytes(&g->tensors[g->outputs[k]].v) / c->m->images;
    st = run_once(c, (const void *const *)in, (void *const *)out);
  }
  free(in);
  free(out);
  return st;
}

vitc_status vitc_run(vitc_context *c, const void *const *inputs, void *const *outputs) {
  if (!c) return invalid("vitc_run: the context is NULL");
  const vitc_model *m = c->m;
  if (check_buffers(m, "vitc_run", false, inputs, NULL) ||
      check_buffers(m, "vitc_run", true, (const void *const *)outputs, NULL))
    return VITC_ERR_INVALID;
  return m->images > 1 ? run_images(c, "vitc_run", m->images, inputs, outputs) : run_once(c, inputs, outputs);
}

vitc_status vitc_run_batch(vitc_context *c, int64_t n, const void *const *inputs, void *const *outputs) {
  if (!c) return invalid("vitc_run_batch: the context is NULL");
  const vitc_graph *g = c->m->g; /* compiled: only the inputs and outputs, their symbolic dims unnamed */
  if (c->m->compiled ? !c->m->compiled->module->per_image : !vitc_graph_per_image(g))
    return invalid("vitc_run_batch: %s was not loaded for one image of a symbolic batch (every input's first "
                   "dim symbolic and bound to 1, every output's first dim 1)", g->path);
  if (n < 0) return invalid("vitc_run_batch: n is %lld", (long long)n);
  if (check_buffers(c->m, "vitc_run_batch", false, inputs, NULL) ||
      check_buffers(c->m, "vitc_run_batch", true, (const void *const *)outputs, NULL))
    return VITC_ERR_INVALID;
  /* n blocks of the model's inputs and outputs, each of m->images images */
  return run_images(c, "vitc_run_batch", n * c->m->images, inputs, outputs);
}
