/* cli_engine.c — the one place that maps an engine choice to the code that executes a graph, and the
 * recording of compiled runs for --profile and --trace: the runtime's trace recorder (runtime/vitc_rt.h)
 * is the context's node hook over the runs after a warm-up, whatever made the code (JIT, --aot, LIB.so). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

vitc_status cli_record_start(const cli_common *c, size_t per_run, int runs, vitc_rt_ctx *ctx, vitc_rt_trace **trace,
                             vitc_error *err) {
  *trace = NULL;
  if (!c->profile && !c->trace) return VITC_OK;
  if (!(*trace = vitc_rt_trace_new(per_run ? per_run * (size_t)runs : 1)))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a trace of %d runs", runs);
  vitc_rt_set_node_hook(ctx, vitc_rt_trace_record, *trace);
  return VITC_OK;
}

/* The op of a "node (Op)" label, into op. */
static void label_op(const char *label, char *op, size_t n) {
  const char *open = strrchr(label, '(');
  snprintf(op, n, "%s", open ? open + 1 : label);
  op[strcspn(op, ")")] = 0;
}

typedef struct profile_row {
  char name[300]; /* an op, or a node's "name (Op)" */
  double ns, flops; /* summed over the runs */
  int count;        /* per op: events; per node: runs */
} profile_row;

static int by_time(const void *a, const void *b) {
  const profile_row *x = a, *y = b;
  return (x->ns < y->ns) - (x->ns > y->ns);
}

/* Rows of time and flops, per op (by_op) or per node, summed over the recorded events; returns the
 * row count. Flops come from g's nodes (none for a shared-library model). */
static int profile_rows(const vitc_graph *g, const vitc_rt_trace_event *ev, size_t nev, bool by_op, profile_row *rows,
                        size_t cap) {
  int n = 0;
  for (size_t e = 0; e < nev; e++) {
    char key[300];
    if (by_op) label_op(ev[e].label, key, sizeof key);
    else snprintf(key, sizeof key, "%s", ev[e].label);
    int k = 0;
    while (k < n && strcmp(rows[k].name, key)) k++;
    if (k == n) {
      if ((size_t)n == cap) continue;
      rows[n++] = (profile_row){0};
      snprintf(rows[k].name, sizeof rows[k].name, "%s", key);
    }
    rows[k].ns += (double)ev[e].duration_ns;
    rows[k].flops += ev[e].node < g->nnodes ? vitc_node_flops(g, ev[e].node) : 0;
    rows[k].count++;
  }
  qsort(rows, (size_t)n, sizeof *rows, by_time);
  return n;
}

/* Names last: node names are long. */
static void print_rows(const profile_row *rows, int n, int runs, double total_ns, bool by_op) {
  fprintf(stderr, "%10s %6s %9s %6s  %s\n", "ms/run", "%", "GFLOP/s", by_op ? "nodes" : "", by_op ? "op" : "node");
  for (int k = 0; k < n; k++) {
    fprintf(stderr, "%10.3f %6.1f ", rows[k].ns / runs * 1e-6, total_ns > 0 ? 100 * rows[k].ns / total_ns : 0);
    if (rows[k].flops > 0 && rows[k].ns > 0) fprintf(stderr, "%9.2f", rows[k].flops / rows[k].ns);
    else fprintf(stderr, "%9s", "-");
    if (by_op) fprintf(stderr, " %6d  %s\n", rows[k].count / runs, rows[k].name);
    else fprintf(stderr, " %6s  %s\n", "", rows[k].name);
  }
}

static vitc_status print_profile(const vitc_graph *g, const vitc_rt_trace *trace, int runs, vitc_error *err) {
  size_t nev;
  const vitc_rt_trace_event *ev = vitc_rt_trace_events(trace, &nev);
  size_t cap = nev ? nev : 1; /* at most one row per event */
  profile_row *rows = calloc(cap, sizeof *rows);
  if (!rows) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  double total_ns = 0, flops = 0;
  for (size_t e = 0; e < nev; e++) total_ns += (double)ev[e].duration_ns;
  fprintf(stderr, "profile: %d run%s after one warm-up, %.3f ms/run in nodes\n\nper op:\n", runs,
          runs == 1 ? "" : "s", total_ns / runs * 1e-6);
  int n = profile_rows(g, ev, nev, true, rows, cap);
  for (int k = 0; k < n; k++) flops += rows[k].flops;
  print_rows(rows, n, runs, total_ns, true);
  fprintf(stderr, "%10.3f %6s ", total_ns / runs * 1e-6, "100.0");
  if (flops > 0 && total_ns > 0) fprintf(stderr, "%9.2f %6s  total\n", flops / total_ns, "");
  else fprintf(stderr, "%9s %6s  total\n", "-", "");
  fputs("\nper node:\n", stderr);
  n = profile_rows(g, ev, nev, false, rows, cap);
  print_rows(rows, n, runs, total_ns, false);
  free(rows);
  return VITC_OK;
}

vitc_status cli_record_finish(const cli_common *c, const vitc_graph *g, int runs, vitc_rt_ctx *ctx,
                              vitc_rt_trace *trace, vitc_error *err) {
  if (!trace) return VITC_OK;
  vitc_rt_set_node_hook(ctx, NULL, NULL);
  char why[512];
  vitc_status st = VITC_OK;
  if (c->trace && vitc_rt_trace_write(trace, c->trace, why, sizeof why))
    st = vitc_fail(err, VITC_ERR_IO, "--trace: %s", why);
  if (!st && c->profile) st = print_profile(g, trace, runs, err);
  if (!st && c->profile && c->times) cli_print_compile_times(stderr, c->times, true);
  vitc_rt_trace_free(trace);
  return st;
}

void cli_time_compile(cli_common *c) {
  int npasses;
  vitc_pipeline(&npasses);
  c->times = &c->compile_times;
  c->times->pass = npasses <= CLI_MAX_PASSES ? c->pass_times : NULL; /* else passes only in total */
}

void cli_compile_stages(const vitc_driver_times *t, const char **names, const vitc_stage_time **stages) {
  static const char *const stage_names[CLI_COMPILE_STAGES] = {"load", "passes", "ir", "weights", "optimise", "codegen"};
  const vitc_stage_time *in_order[CLI_COMPILE_STAGES] = {&t->load, &t->passes, &t->backend.ir, &t->backend.weights,
                                                         &t->backend.optimise, &t->backend.codegen};
  for (int k = 0; k < CLI_COMPILE_STAGES; k++) names[k] = stage_names[k], stages[k] = in_order[k];
}

void cli_print_compile_times(FILE *f, const vitc_driver_times *t, bool per_pass) {
  const char *names[CLI_COMPILE_STAGES];
  const vitc_stage_time *stage[CLI_COMPILE_STAGES];
  cli_compile_stages(t, names, stage);
  vitc_stage_time total = {0};
  for (int k = 0; k < CLI_COMPILE_STAGES; k++)
    if (stage[k] != &t->backend.weights) total.wall_ms += stage[k]->wall_ms, total.cpu_ms += stage[k]->cpu_ms;
  fprintf(f, "compile:  %.0f ms, CPU %.0f ms:", total.wall_ms, total.cpu_ms);
  for (int k = 0; k < CLI_COMPILE_STAGES; k++)
    fprintf(f, "%s %s%s %.0f (CPU %.0f)", k ? "," : "", stage[k] == &t->backend.weights ? "of which " : "", names[k],
            stage[k]->wall_ms, stage[k]->cpu_ms);
  fputs(" ms\n", f);
  int npasses;
  const vitc_pass *passes = vitc_pipeline(&npasses);
  for (int k = 0; per_pass && t->pass && k < npasses; k++)
    if (t->pass[k].wall_ms >= 1)
      fprintf(f, "  pass %-26s %8.1f ms (CPU %.1f)\n", passes[k].name, t->pass[k].wall_ms, t->pass[k].cpu_ms);
}

static void count_node(void *user, int node, const char *label, uint64_t ns) { ++*(size_t *)user; }

vitc_status cli_run_context(const cli_common *c, const vitc_graph *g, void *run_fn, int64_t images, vitc_rt_ctx *ctx,
                            const vitc_value *inputs, vitc_value *outputs, vitc_error *err) {
  void **in = calloc((size_t)g->ninputs + 1, sizeof *in), **out = calloc((size_t)g->noutputs + 1, sizeof *out);
  vitc_status st = !in || !out ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory") : VITC_OK;
  memset(outputs, 0, sizeof *outputs * (size_t)g->noutputs);
  for (int k = 0; !st && k < g->ninputs; k++) in[k] = inputs[k].data;
  for (int k = 0; !st && k < g->noutputs; k++) {
    outputs[k] = g->tensors[g->outputs[k]].v;
    size_t bytes = vitc_nbytes(&outputs[k]);
    if (!(outputs[k].data = out[k] = malloc(bytes ? bytes : 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  bool recording = c->profile || c->trace;
  vitc_rt_trace *trace = NULL;
  size_t per_run = 0; /* nodes the warm-up run reported: a shared library's graph has none to count */
  if (recording) vitc_rt_set_node_hook(ctx, count_node, &per_run);
  /* The warm-up run pays for first touches of weights and scratch and for starting the pool. */
  for (int r = 0; !st && r < (recording ? 1 + c->runs : 1); r++) {
    if (recording && r == 1 && (st = cli_record_start(c, per_run, c->runs, ctx, &trace, err))) break;
    if (images ? vitc_ffi_call_run_batch(run_fn, ctx, images, in, g->ninputs, out, g->noutputs)
               : vitc_ffi_call_run(run_fn, ctx, in, g->ninputs, out, g->noutputs))
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: %s", g->path, vitc_rt_error(ctx)); /* bad input data */
  }
  if (recording && !trace) vitc_rt_set_node_hook(ctx, NULL, NULL); /* the warm-up run failed */
  vitc_status fin = cli_record_finish(c, g, c->runs, ctx, trace, err);
  if (!st) st = fin;
  if (st) cli_free_values(outputs, g->noutputs);
  free(in);
  free(out);
  return st;
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
  vitc_compiled *compiled = NULL;
  vitc_rt_ctx *ctx = NULL;
  vitc_status st = !input_ids || !bound || !kept ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory") : VITC_OK;
  for (int k = 0; !st && k < ninputs; k++) input_ids[k] = g->inputs[k];
  if (!st) st = vitc_driver_compile(g, &o, inputs, bound, kept, &compiled, err);
  if (!st) cli_note_precision(c, compiled->module->cpu_features);
  for (int k = 0; bound && k < ninputs; k++)
    if (bound[k])
      fprintf(stderr, "vitc: specialising the compiled code on the value of input '%s'\n", g->tensors[input_ids[k]].name);
  if (!st && !(ctx = vitc_rt_ctx_new(compiled->module->scratch_size, compiled->module->weights, c->threads)))
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory creating a context");
  if (!st) st = cli_run_context(c, g, compiled->run_fn, 0, ctx, kept, outputs, err);
  vitc_rt_ctx_free(ctx);
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
  case CLI_ENGINE_SHARED: return cli_shared_run(c, &c->shared, c->weights, g, inputs, outputs, err);
  }
  return vitc_fail(err, VITC_ERR_INTERNAL, "unknown engine %d", (int)c->engine);
}
