/* cli_shared.c — models compiled into shared libraries (`vitc compile --emit shared`), opened with
 * dlopen and called through libffi. The library's NAME_signature becomes a graph with inputs and outputs
 * but no nodes, so `vitc run` reads, checks and writes tensors for it as for an ONNX model. The AOT
 * engine of `vitc check --aot` compiles a graph into such a library first. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli.h"
#include "runtime/vitc_rt.h"

#define AOT_NAME "vitc_aot"

static vitc_status signature_graph(const char *path, const char *text, vitc_graph **out, vitc_error *err) {
  vitc_io_desc ins[CLI_MAX_LIST], outs[CLI_MAX_LIST];
  int nin, nout;
  vitc_status st = vitc_parse_signature(text, ins, CLI_MAX_LIST, &nin, outs, CLI_MAX_LIST, &nout, err);
  if (st) return st;
  vitc_graph *g = vitc_graph_new(path);
  if (!g || !(g->inputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nin + 1))) ||
      !(g->outputs = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nout + 1)))) {
    vitc_graph_free(g);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  for (int k = 0; k < nin + nout; k++) {
    const vitc_io_desc *d = k < nin ? &ins[k] : &outs[k - nin];
    int t = vitc_graph_add_tensor(g, d->name);
    if (t < 0) {
      vitc_graph_free(g);
      return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    }
    g->tensors[t].v = (vitc_value){.dtype = d->dtype, .rank = d->rank};
    memcpy(g->tensors[t].v.dims, d->dims, sizeof d->dims);
    g->tensors[t].shape_known = true;
    if (k < nin) g->inputs[g->ninputs++] = t;
    else g->outputs[g->noutputs++] = t;
  }
  *out = g;
  return VITC_OK;
}

static void *symbol(void *dl, const char *name, const char *suffix) {
  char full[512];
  snprintf(full, sizeof full, "%s_%s", name, suffix);
  return dlsym(dl, full);
}

vitc_status cli_shared_open(const char *path, const char *name, cli_shared *s, vitc_graph **g, vitc_error *err) {
  memset(s, 0, sizeof *s);
  /* dlopen searches the library path for a name without '/': make a relative path explicit. */
  char explicit_path[4096];
  snprintf(explicit_path, sizeof explicit_path, "%s%s", strchr(path, '/') ? "" : "./", path);
  if (!(s->dl = dlopen(explicit_path, RTLD_NOW | RTLD_LOCAL)))
    return vitc_fail(err, VITC_ERR_IO, "%s: cannot load: %s", path, dlerror());
  const char *signature = symbol(s->dl, name, "signature");
  s->run = symbol(s->dl, name, "run");
  s->create = symbol(s->dl, name, "create");
  s->create_mapped = symbol(s->dl, name, "create_mapped");
  s->destroy = symbol(s->dl, name, "destroy");
  if (!signature || !s->run || !s->destroy || (!s->create && !s->create_mapped)) {
    cli_shared_close(s);
    return vitc_fail(err, VITC_ERR_INVALID, "%s: not a model compiled by vitc with --name %s (no %s_signature/_run)",
                     path, name, name);
  }
  vitc_status st = signature_graph(path, signature, g, err);
  if (st) cli_shared_close(s);
  return st;
}

void cli_shared_close(cli_shared *s) {
  if (s->dl) dlclose(s->dl);
  memset(s, 0, sizeof *s);
}

vitc_status cli_shared_run(const cli_shared *s, const char *weights, const vitc_graph *g, const vitc_value *inputs,
                           vitc_value *outputs, vitc_error *err) {
  char why[512] = "out of memory creating a context";
  void *ctx;
  if (s->create_mapped) {
    if (!weights) return vitc_fail(err, VITC_ERR_INVALID, "%s: the model keeps its weights in a file: give --weights FILE", g->path);
    ctx = s->create_mapped(weights, why, sizeof why);
  } else {
    ctx = s->create();
  }
  if (!ctx) return vitc_fail(err, VITC_ERR_IO, "%s: %s", g->path, why);
  vitc_status st = VITC_OK;
  void **in = calloc((size_t)g->ninputs + 1, sizeof *in), **out = calloc((size_t)g->noutputs + 1, sizeof *out);
  memset(outputs, 0, sizeof *outputs * (size_t)g->noutputs);
  if (!in || !out) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int k = 0; !st && k < g->ninputs; k++) in[k] = inputs[k].data;
  for (int k = 0; !st && k < g->noutputs; k++) {
    outputs[k] = g->tensors[g->outputs[k]].v;
    size_t bytes = vitc_nbytes(&outputs[k]);
    if (!(outputs[k].data = out[k] = malloc(bytes ? bytes : 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  if (!st && vitc_ffi_call_run(s->run, ctx, in, g->ninputs, out, g->noutputs))
    st = vitc_fail(err, VITC_ERR_INVALID, "%s: %s", g->path, vitc_rt_error(ctx));
  if (st) cli_free_values(outputs, g->noutputs);
  s->destroy(ctx);
  free(in);
  free(out);
  return st;
}

vitc_status cli_execute_aot(const cli_common *c, const vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                            vitc_error *err) {
  char dir[] = "/tmp/vitc-aot-XXXXXX", lib[64];
  if (!mkdtemp(dir)) return vitc_fail(err, VITC_ERR_IO, "cannot create a temporary directory");
  snprintf(lib, sizeof lib, "%s/model.so", dir);
  vitc_target_options host = {NULL, NULL, NULL, 3};
  LLVMTargetMachineRef tm;
  vitc_module *m = NULL;
  cli_shared s;
  vitc_graph *sig = NULL;
  vitc_status st = vitc_target_machine(&host, &tm, err);
  if (!st) {
    if (!(st = vitc_codegen(g, AOT_NAME, tm, 3, true, &m, err))) st = vitc_emit(m, tm, VITC_EMIT_SHARED, lib, NULL, NULL, err);
    LLVMDisposeTargetMachine(tm);
  }
  if (!st && !(st = cli_shared_open(lib, AOT_NAME, &s, &sig, err))) {
    st = cli_shared_run(&s, NULL, g, inputs, outputs, err);
    cli_shared_close(&s);
  }
  vitc_graph_free(sig);
  vitc_module_free(m);
  unlink(lib);
  rmdir(dir);
  return st;
}
