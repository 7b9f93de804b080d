/* compiled.c — a graph JIT-compiled in this process, and running it once on owned values. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "runtime/vitc_rt.h"

#define ENTRY_NAME "vitc_model"

vitc_status vitc_compile_jit(const vitc_graph *g, const vitc_target_options *t, vitc_compiled **out, vitc_error *err) {
  *out = NULL;
  vitc_compiled *c = calloc(1, sizeof *c);
  if (!c) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  LLVMTargetMachineRef tm;
  vitc_status st = vitc_target_machine(t, &tm, err);
  vitc_cache_entry *entry = !st && t->cache_dir ? vitc_cache_entry_new(t->cache_dir, g, tm, t, ENTRY_NAME) : NULL;
  if (!st && !(entry && vitc_cache_load(entry, ENTRY_NAME, &tm, c))) {
    if (!tm) st = vitc_target_machine(t, &tm, err); /* a cached entry that failed to link took it */
    /* The weights blob is built in the entry's file: its pages leave memory while the rest is compiled,
     * and the model runs from that file's mapping. */
    vitc_weights_file file;
    vitc_target_options in_file = *t;
    if (entry && vitc_cache_entry_weights_file(entry, &file)) in_file.weights_file = &file;
    if (!st) st = vitc_codegen_ir(g, ENTRY_NAME, tm, &in_file, false, &c->module, err);
    if (st) LLVMDisposeTargetMachine(tm);
    else {
      vitc_graph_drop_mapped_pages(g); /* the weights blob holds what the kernels read */
      if (t->progress) t->progress(t->progress_user, "machine code", 0, 0);
      vitc_objects objects = {0};
      st = vitc_jit_compile_parallel(c->module, t, tm, &objects, &c->jit, err);
      if (!st && entry) {
        memcpy(c->cache_key, vitc_cache_entry_key(entry), sizeof c->cache_key);
        c->storing = vitc_cache_store_start(entry, c->module, &objects, t->cache_max_bytes);
        c->cached = c->storing != NULL; /* unless the store fails: vitc_compiled_wait_store tells */
        entry = NULL; /* the store's */
      }
      vitc_objects_free(&objects);
    }
  }
  vitc_cache_entry_free(entry);
  if (t->progress) t->progress(t->progress_user, NULL, 0, 0);
  if (!st && !(c->run_fn = vitc_jit_run(c->jit)))
    st = vitc_fail(err, VITC_ERR_INTERNAL, "%s: the compiled model has no entry point", g->path);
  if (st) {
    vitc_compiled_free(c);
    return st;
  }
  *out = c;
  return VITC_OK;
}

bool vitc_compiled_from_cache(const vitc_target_options *t, const uint64_t key[2], vitc_compiled **out) {
  *out = NULL;
  vitc_error ignored;
  LLVMTargetMachineRef tm = NULL;
  vitc_cache_entry *entry = vitc_cache_entry_of_key(t->cache_dir, key);
  vitc_compiled *c = calloc(1, sizeof *c);
  bool hit = entry && c && !vitc_target_machine(t, &tm, &ignored) && vitc_cache_load(entry, ENTRY_NAME, &tm, c) &&
             (c->run_fn = vitc_jit_run(c->jit));
  LLVMDisposeTargetMachine(tm); /* NULL unless it was not used */
  vitc_cache_entry_free(entry);
  if (!hit) {
    vitc_compiled_free(c);
    return false;
  }
  *out = c;
  return true;
}

void vitc_compiled_wait_store(vitc_compiled *c) {
  if (c->storing) c->cached = vitc_cache_store_finish(c->storing);
  c->storing = NULL;
}

void vitc_compiled_free(vitc_compiled *c) {
  if (!c) return;
  vitc_compiled_wait_store(c); /* the store reads the module's weights */
  if (c->mapping) { /* the weights are the cache entry's */
    c->module->weights = NULL;
    munmap(c->mapping, c->mapping_len);
  }
  /* The weights first: freeing the JIT runs LLVM's code, whose pages come back then. */
  vitc_module_free(c->module);
  vitc_jit_free(c->jit);
  free(c);
}

vitc_status vitc_module_check_cpu(const vitc_module *m, vitc_error *err) {
  char why[256];
  return vitc_rt_require_cpu(m->cpu_features, why, sizeof why) ? vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s", why)
                                                                : VITC_OK;
}

vitc_status vitc_compiled_run_once(const vitc_compiled *c, const vitc_graph *g, int nthreads, const vitc_value *inputs,
                                   vitc_value *outputs, vitc_error *err) {
  vitc_status st = vitc_module_check_cpu(c->module, err);
  if (st) return st;
  void **in = calloc((size_t)g->ninputs + 1, sizeof *in), **out = calloc((size_t)g->noutputs + 1, sizeof *out);
  vitc_rt_ctx *ctx = vitc_rt_ctx_new(c->module->scratch_size, c->module->weights, nthreads);
  if (ctx && c->hook) vitc_rt_set_node_hook(ctx, c->hook, c->hook_user);
  memset(outputs, 0, sizeof *outputs * (size_t)g->noutputs);
  if (!in || !out || !ctx) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int i = 0; !st && i < g->ninputs; i++) in[i] = inputs[i].data;
  for (int k = 0; !st && k < g->noutputs; k++) {
    outputs[k] = g->tensors[g->outputs[k]].v;
    size_t bytes = vitc_nbytes(&outputs[k]);
    if (!(outputs[k].data = out[k] = malloc(bytes ? bytes : 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  if (!st) {
    int rc = vitc_ffi_call_run(c->run_fn, ctx, in, g->ninputs, out, g->noutputs);
    if (rc) st = vitc_fail(err, VITC_ERR_INVALID, "%s: %s", g->path, vitc_rt_error(ctx));
  }
  if (st)
    for (int k = 0; k < g->noutputs; k++) {
      free(outputs[k].data);
      outputs[k].data = NULL;
    }
  vitc_rt_ctx_free(ctx);
  free(in);
  free(out);
  return st;
}

void vitc_compiled_set_node_hook(vitc_compiled *c, void (*hook)(void *user, int node, const char *label, uint64_t ns),
                                 void *user) {
  c->hook = hook;
  c->hook_user = user;
}
