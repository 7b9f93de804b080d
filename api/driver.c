/* driver.c — load → passes → compile, for the public API and the tool (driver.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* o's target with the defaults filled in: the LLVM opt level, the compile cache's directory (into dir). */
static vitc_target_options target_of(const vitc_driver_options *o, char *dir, size_t n) {
  vitc_target_options t = o->target;
  if (!t.opt_level) t.opt_level = VITC_LLVM_OPT_LEVEL;
  if (o->no_cache) t.cache_dir = NULL;
  else if (!t.cache_dir && vitc_cache_default_dir(dir, n)) t.cache_dir = dir;
  return t;
}

/* vitc_driver_compile, its compile cache entry possibly still being written (vitc_compiled.storing). */
static vitc_status compile_storing(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                   vitc_value *kept, vitc_compiled **out, vitc_error *err) {
  char cache_dir[PATH_MAX];
  vitc_target_options t = target_of(o, cache_dir, sizeof cache_dir);
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

/* Waits for the entry to be stored, so that the runs the caller times do not share the machine with it;
 * only a model loaded for a host (vitc_driver_load_compiled) runs while it is written. */
vitc_status vitc_driver_compile(vitc_graph *g, const vitc_driver_options *o, const vitc_value *inputs, bool *bound,
                                vitc_value *kept, vitc_compiled **out, vitc_error *err) {
  vitc_status st = compile_storing(g, o, inputs, bound, kept, out, err);
  if (!st) vitc_compiled_wait_store(*out);
  return st;
}

/* ---------------------------------------------------------------- a model file's compilation, cached
 *
 * The compile cache's entries are named by the optimised graph, which takes loading the file and the
 * passes to know. The index (backend.h) also names a model file's entry by the file's identity and the
 * options, so that loading it again maps the compiled code and weights without reading the model. */

/* The file's identity (device, inode, size, modification and change times: writing to a file changes
 * them) and every option that shapes the graph or the code, as text in buf; false when it does not fit. */
static bool describe_source(const struct stat *st, const vitc_driver_options *o, const vitc_target_options *t,
                            char *buf, size_t n) {
  size_t k = 0;
#define ADD(...) k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__)
  ADD("file %llu %llu %lld %lld.%09ld %lld.%09ld\n", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
      (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
      st->st_ctim.tv_nsec);
  ADD("passes -O%d memory %lld precision %d\n", o->passes.opt_level, (long long)o->memory_limit, (int)o->precision);
  for (int i = 0; i < o->passes.ndisabled; i++) ADD("disable %s\n", o->passes.disabled[i]);
  for (int i = 0; i < o->nbindings; i++) {
    const vitc_shape_binding *b = &o->bindings[i];
    ADD("shape %.*s", b->input_len ? b->input_len : (int)strlen(b->input), b->input);
    for (int d = 0; d < b->rank; d++) ADD(" %lld", (long long)b->dims[d]);
    ADD("\n");
  }
  ADD("target %s %s %s -O%d\n", t->triple ? t->triple : "host", t->cpu ? t->cpu : "host",
      t->features ? t->features : "host", t->opt_level);
#undef ADD
  return k < n;
}

/* Whether everything g read from files is in the model file of this size: then its identity stands for
 * the graph's (a model with external data maps more files, whose identities the index would not see). */
static bool reads_only_model_file(const vitc_graph *g, const struct stat *st) {
  int n = 0;
  for (const vitc_mapping *m = g->mappings; m; m = m->next) n += m->len == (size_t)st->st_size ? 1 : 2;
  return n <= 1;
}

/* A graph of only the inputs and outputs the signature names: what a model compiled from the cache needs
 * to check and describe its buffers. */
static vitc_status graph_of_signature(const char *path, const char *signature, vitc_graph **out, vitc_error *err) {
  enum { MAX_IO = 256 };
  vitc_io_desc *io = calloc(2 * MAX_IO, sizeof *io);
  vitc_graph *g = io ? vitc_graph_new(path) : NULL;
  int nin, nout;
  vitc_status st = g ? vitc_parse_signature(signature, io, MAX_IO, &nin, io + MAX_IO, MAX_IO, &nout, err)
                     : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!st && (!(g->inputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nin + 1))) ||
              !(g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nout + 1)))))
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int k = 0; !st && k < nin + nout; k++) {
    const vitc_io_desc *d = k < nin ? &io[k] : &io[MAX_IO + k - nin];
    int id = vitc_graph_add_tensor(g, d->name);
    if (id < 0) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
      break;
    }
    vitc_tensor *t = &g->tensors[id];
    t->v.dtype = d->dtype;
    t->v.rank = d->rank;
    memcpy(t->v.dims, d->dims, sizeof t->v.dims);
    t->shape_known = true;
    if (k < nin) g->inputs[g->ninputs++] = id;
    else g->outputs[g->noutputs++] = id;
  }
  free(io);
  if (st) vitc_graph_free(g);
  else *out = g;
  return st;
}

vitc_status vitc_driver_load_compiled(const char *path, const vitc_driver_options *o, vitc_graph **g,
                                      vitc_compiled **out, vitc_error *err) {
  *g = NULL;
  *out = NULL;
  char cache_dir[PATH_MAX], source[8192], again[sizeof source];
  vitc_target_options t = target_of(o, cache_dir, sizeof cache_dir);
  struct stat before, after;
  uint64_t key[2];
  bool indexed = t.cache_dir && !stat(path, &before) && describe_source(&before, o, &t, source, sizeof source);
  if (indexed && vitc_cache_index_read(t.cache_dir, source, strlen(source), key) &&
      vitc_compiled_from_cache(&t, key, out)) {
    vitc_error ignored;
    if (!graph_of_signature(path, (*out)->module->signature, g, &ignored)) return VITC_OK;
    vitc_compiled_free(*out);
    *out = NULL;
  }
  vitc_status st = vitc_driver_load(path, o, g, err);
  /* The graph is replaced by its inputs and outputs below: its constants can go as they are compiled. */
  vitc_driver_options releasing = *o;
  releasing.target.release_constants = true;
  if (!st) st = compile_storing(*g, &releasing, NULL, NULL, NULL, out, err);
  /* The record may name an entry still being written: one that then fails to be written is a miss. */
  if (!st && indexed && (*out)->cached && reads_only_model_file(*g, &before) && !stat(path, &after) &&
      describe_source(&after, o, &t, again, sizeof again) && !strcmp(source, again))
    vitc_cache_index_write(t.cache_dir, source, strlen(source), (*out)->cache_key);
  /* The graph's constants (copies of the model's unaligned initializers among them) are in the weights
   * blob now: keep only its inputs and outputs. */
  vitc_graph *io;
  vitc_error ignored;
  if (!st && !graph_of_signature(path, (*out)->module->signature, &io, &ignored)) {
    vitc_graph_free(*g);
    *g = io;
  }
  return st;
}
