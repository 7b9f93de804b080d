/* cli_bench.c — `vitc bench`: compile a model once with the JIT, time its inference, and set the speed
 * against the graph's arithmetic (the op table's flops column, as `vitc inspect` counts it) and this
 * machine's peak (cli_peak.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "runtime/vitc_rt.h"

typedef struct bench_result {
  int threads, iters, warmup;
  const char *precision; /* --precision: "fp32" or "bf16" */
  double load_ms, compile_ms, first_run_ms, min_ms, median_ms, mean_ms;
  const vitc_driver_times *times; /* by stage */
  double gflop, gflops, peak_gflops;
  char peak_source[4400];
  long rss_bytes;
} bench_result;

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Inputs the model runs on: floats in [-1, 1) from a fixed LCG (so the values, not only the timings, are
 * the same from run to run), zeros for integer and bool inputs. */
static vitc_status make_inputs(const vitc_graph *g, vitc_value *in, vitc_error *err) {
  uint32_t state = 12345;
  for (int k = 0; k < g->ninputs; k++) {
    const vitc_tensor *t = &g->tensors[g->inputs[k]];
    if (!t->shape_known)
      return vitc_fail(err, VITC_ERR_INVALID, "input '%s' has no static shape (bind it with --shape)", t->name);
    in[k] = t->v;
    size_t bytes = vitc_nbytes(&t->v);
    if (!(in[k].data = calloc(1, bytes ? bytes : 1))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; vitc_dtype_is_float(t->v.dtype) && i < vitc_numel(&t->v); i++) {
      state = state * 1664525u + 1013904223u;
      vitc_store_f(&in[k], i, (state >> 8) * (2.0 / 16777216.0) - 1.0);
    }
  }
  return VITC_OK;
}

/* Runs the compiled model warmup + iters times on one context; times[] receives the timed runs in ms.
 * --profile and --trace record the timed runs. */
static vitc_status time_runs(const cli_common *cc, const vitc_compiled *c, const vitc_graph *g, const vitc_value *in,
                             int threads, int warmup, int iters, double *times, double *first_ms, vitc_error *err) {
  void **ins = calloc((size_t)g->ninputs + 1, sizeof *ins), **outs = calloc((size_t)g->noutputs + 1, sizeof *outs);
  vitc_rt_ctx *ctx = vitc_rt_ctx_new(c->module->scratch_size, c->module->weights, threads);
  vitc_status st = !ins || !outs || !ctx ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory") : VITC_OK;
  for (int k = 0; !st && k < g->ninputs; k++) ins[k] = in[k].data;
  for (int k = 0; !st && k < g->noutputs; k++) {
    size_t bytes = vitc_nbytes(&g->tensors[g->outputs[k]].v);
    if (!(outs[k] = malloc(bytes ? bytes : 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  vitc_rt_trace *trace = NULL;
  for (int r = 0; !st && r < warmup + iters; r++) {
    if (r == warmup && (st = cli_record_start(cc, (size_t)g->nnodes, iters, ctx, &trace, err))) break;
    double t0 = cli_now_ms();
    int rc = vitc_ffi_call_run(c->run_fn, ctx, ins, g->ninputs, outs, g->noutputs);
    if (rc) st = vitc_fail(err, VITC_ERR_INVALID, "%s: %s", g->path, vitc_rt_error(ctx));
    if (!r) *first_ms = cli_now_ms() - t0; /* pays for first touches of weights and scratch, starting the pool */
    if (!rc && r >= warmup) times[r - warmup] = cli_now_ms() - t0;
  }
  vitc_status fin = cli_record_finish(cc, g, iters, ctx, trace, err);
  if (!st) st = fin;
  for (int k = 0; outs && k < g->noutputs; k++) free(outs[k]);
  free(ins);
  free(outs);
  vitc_rt_ctx_free(ctx);
  return st;
}

static void summarise(double *times, bench_result *r) {
  double sum = 0;
  for (int k = 0; k < r->iters; k++) sum += times[k];
  qsort(times, (size_t)r->iters, sizeof *times, by_value);
  r->min_ms = times[0];
  r->median_ms = r->iters % 2 ? times[r->iters / 2] : (times[r->iters / 2 - 1] + times[r->iters / 2]) / 2;
  r->mean_ms = sum / r->iters;
  r->gflops = r->gflop / (r->median_ms * 1e-3);
  r->peak_gflops = cli_peak_gflops(r->threads, r->gflops, r->peak_source, sizeof r->peak_source);
  struct rusage u;
  r->rss_bytes = getrusage(RUSAGE_SELF, &u) ? 0 : u.ru_maxrss * 1024L; /* Linux reports kilobytes */
}

static vitc_status bench(const cli_common *c, const char *model, bench_result *r, vitc_error *err) {
  double t0 = cli_now_ms();
  vitc_graph *g = cli_load(c, model);
  if (!g) return VITC_ERR_INVALID; /* reported by cli_load */
  r->load_ms = cli_now_ms() - t0;
  int ninputs = g->ninputs;
  vitc_value *in = calloc((size_t)ninputs + 1, sizeof *in), *kept = calloc((size_t)ninputs + 1, sizeof *kept);
  double *times = calloc((size_t)r->iters, sizeof *times);
  vitc_compiled *compiled = NULL;
  vitc_driver_options o = cli_driver_options(c);
  vitc_status st = !in || !kept || !times ? vitc_fail(err, VITC_ERR_NOMEM, "out of memory") : make_inputs(g, in, err);
  double t1 = cli_now_ms();
  if (!st) st = vitc_driver_compile(g, &o, in, NULL, kept, &compiled, err);
  if (!st) cli_note_precision(c, compiled->module->cpu_features);
  r->compile_ms = cli_now_ms() - t1;
  r->gflop = vitc_graph_flops(g) / 1e9;
  if (!st) st = time_runs(c, compiled, g, kept, r->threads, r->warmup, r->iters, times, &r->first_run_ms, err);
  if (!st) summarise(times, r);
  vitc_compiled_free(compiled);
  cli_free_values(in, in ? ninputs : 0);
  free(in);
  free(kept);
  free(times);
  vitc_graph_free(g);
  return st;
}

static void print_json(const char *model, const bench_result *r) {
  fputs("{\"model\": ", stdout);
  cli_print_json_string(stdout, model);
  /* %.6g: a tiny graph runs in microseconds, a big one in seconds. */
  printf(", \"precision\": \"%s\", \"threads\": %d, \"iters\": %d, \"warmup\": %d, \"load_ms\": %.6g, \"compile_ms\": %.6g, "
         "\"min_ms\": %.6g, \"median_ms\": %.6g, \"mean_ms\": %.6g, \"gflop\": %.6g, \"gflops\": %.6g, "
         "\"peak_gflops\": %.6g, \"pct_peak\": %.6g, \"rss_bytes\": %ld, \"first_run_ms\": %.6g",
         r->precision, r->threads, r->iters, r->warmup, r->load_ms, r->compile_ms, r->min_ms, r->median_ms, r->mean_ms, r->gflop,
         r->gflops, r->peak_gflops, r->peak_gflops > 0 ? 100 * r->gflops / r->peak_gflops : 0.0, r->rss_bytes,
         r->first_run_ms);
  const char *names[CLI_COMPILE_STAGES];
  const vitc_stage_time *stage[CLI_COMPILE_STAGES];
  cli_compile_stages(r->times, names, stage);
  fputs(", \"compile_stages\": {", stdout);
  for (int k = 0; k < CLI_COMPILE_STAGES; k++)
    printf("%s\"%s\": {\"wall_ms\": %.6g, \"cpu_ms\": %.6g}", k ? ", " : "", names[k], stage[k]->wall_ms,
           stage[k]->cpu_ms);
  fputs("}}\n", stdout);
}

static void print_text(const char *model, const bench_result *r) {
  printf("model:    %s (%.4g GFLOP)\n", model, r->gflop);
  printf("threads:  %d, %d timed runs after %d warm-up, %s products\n", r->threads, r->iters, r->warmup, r->precision);
  printf("compile:  %.1f ms (load and passes %.1f ms), first run %.1f ms\n", r->compile_ms, r->load_ms, r->first_run_ms);
  cli_print_compile_times(stdout, r->times, false);
  printf("time:     min %.3f ms, median %.3f ms, mean %.3f ms\n", r->min_ms, r->median_ms, r->mean_ms);
  printf("speed:    %.1f GFLOP/s at the median", r->gflops);
  if (r->peak_gflops > 0)
    printf(", %.1f%% of this machine's peak (%.1f GFLOP/s on %d thread%s, %s)", 100 * r->gflops / r->peak_gflops,
           r->peak_gflops, r->threads, r->threads == 1 ? "" : "s", r->peak_source);
  printf("\nmemory:   %.1f MB peak resident\n", r->rss_bytes / 1048576.0);
}

static int bench_main(int argc, char **argv) {
  cli_common common;
  cli_common_init(&common);
  const char *model = NULL, *value;
  bench_result r = {.iters = 10, .warmup = 3};
  bool json = false;
  for (int i = 1; i < argc;) {
    int rc = cli_parse_common(&cli_bench, &common, argc, argv, &i);
    if (!rc && (rc = cli_option_value(argc, argv, &i, "--iters", &value)) > 0 &&
        cli_parse_count(&cli_bench, "--iters", value, 1, 1000000, &r.iters) < 0)
      return CLI_EXIT_ERROR;
    if (!rc && (rc = cli_option_value(argc, argv, &i, "--warmup", &value)) > 0 &&
        cli_parse_count(&cli_bench, "--warmup", value, 0, 1000000, &r.warmup) < 0)
      return CLI_EXIT_ERROR;
    if (rc < 0) return CLI_EXIT_ERROR;
    if (rc) continue;
    if (!strcmp(argv[i], "--json")) json = true;
    else if (!strcmp(argv[i], "--interp") || !strcmp(argv[i], "--aot"))
      return cli_usage_error(&cli_bench, "bench times JIT-compiled code: %s does not apply", argv[i]);
    else if (argv[i][0] == '-') return cli_usage_error(&cli_bench, "unknown option '%s'", argv[i]);
    else if (model) return cli_usage_error(&cli_bench, "more than one MODEL ('%s' and '%s')", model, argv[i]);
    else model = argv[i];
    i++;
  }
  if (!model) return cli_usage_error(&cli_bench, "missing MODEL");
  char path[4096];
  cli_model_file(model, path, sizeof path);
  r.precision = common.precision == VITC_PRECISION_BF16 ? "bf16" : "fp32";
  r.threads = common.threads ? common.threads : vitc_rt_default_threads(); /* as the runtime resolves 0 */
  cli_time_compile(&common);
  r.times = common.times;
  vitc_error err = {0};
  vitc_status s = bench(&common, path, &r, &err);
  if (s && err.msg[0]) return cli_error("%s", err.msg);
  if (s) return CLI_EXIT_ERROR;
  if (json) print_json(path, &r);
  else print_text(path, &r);
  return CLI_EXIT_OK;
}

const cli_command cli_bench = {
    "bench",
    "Compile MODEL (a .onnx file, or a directory holding model.onnx) once with the JIT, run it on fixed\n"
    "pseudo-random inputs, and print min / median / mean time, GFLOP/s (the graph's arithmetic as `vitc\n"
    "inspect` counts it, over the median), % of this machine's peak (a short FMA probe, cached per CPU\n"
    "model and thread count in $XDG_CACHE_HOME/vitc or ~/.cache/vitc), compile time and peak resident\n"
    "memory.\n\n"
    "  --iters N    timed runs (default 10)\n"
    "  --warmup N   untimed runs before them (default 3)\n"
    "  --json       one JSON object: model, precision, threads, iters, warmup, load_ms, compile_ms, min_ms, median_ms,\n"
    "               mean_ms, gflop, gflops, peak_gflops, pct_peak, rss_bytes, first_run_ms, and compile_stages:\n"
    "               {load, passes, ir, weights (part of ir), optimise, codegen} each {wall_ms, cpu_ms}\n\n"
    "--profile and --trace record the timed runs.",
    "vitc bench MODEL [--iters N] [--warmup N] [--json] [model and timing options]",
    bench_main,
    CLI_OPTS_MODEL | CLI_OPTS_RECORD | CLI_OPTS_JIT,
};
