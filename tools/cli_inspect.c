/* cli_inspect.c — `vitc inspect`: what a model takes and returns, its size and cost, and what the
 * passes did to it (op histograms before and after). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct op_count {
  vitc_op op;
  int count;
} op_count;

typedef struct histogram {
  op_count entries[VITC_OP_COUNT];
  int n;     /* distinct ops */
  int nodes; /* live nodes */
} histogram;

static int by_count_then_name(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(vitc_ops[x->op].name, vitc_ops[y->op].name);
}

static void count_ops(const vitc_graph *g, histogram *h) {
  int counts[VITC_OP_COUNT] = {0};
  h->n = h->nodes = 0;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i].dead) continue;
    counts[g->nodes[i].op]++;
    h->nodes++;
  }
  for (int op = 0; op < VITC_OP_COUNT; op++)
    if (counts[op]) h->entries[h->n++] = (op_count){(vitc_op)op, counts[op]};
  qsort(h->entries, (size_t)h->n, sizeof *h->entries, by_count_then_name);
}

static void print_json_tensors(FILE *f, const vitc_graph *g, const int *ids, int n) {
  fputc('[', f);
  for (int k = 0; k < n; k++) {
    const vitc_tensor *t = &g->tensors[ids[k]];
    const char *dtype = vitc_dtype_name(t->v.dtype);
    fputs(k ? ", {\"name\": " : "{\"name\": ", f);
    cli_print_json_string(f, t->name);
    fputs(", \"dtype\": ", f);
    cli_print_json_string(f, dtype ? dtype : "unknown");
    fputs(", \"shape\": [", f);
    for (int d = 0; d < t->v.rank; d++) fprintf(f, d ? ", %" PRId64 : "%" PRId64, t->v.dims[d]);
    fputs("], \"dim_params\": [", f); /* the symbolic names the shape was bound for, null where none */
    for (int d = 0; d < t->v.rank; d++) {
      if (d) fputs(", ", f);
      if (t->dim_param[d]) cli_print_json_string(f, t->dim_param[d]);
      else fputs("null", f);
    }
    fputs("]}", f);
  }
  fputc(']', f);
}

static void print_json_histogram(FILE *f, const histogram *h) {
  fputc('{', f);
  for (int k = 0; k < h->n; k++) {
    if (k) fputs(", ", f);
    cli_print_json_string(f, vitc_ops[h->entries[k].op].name);
    fprintf(f, ": %d", h->entries[k].count);
  }
  fputc('}', f);
}

static void print_json(const vitc_graph *g, const histogram *before, const histogram *after, int64_t params,
                       int64_t bytes, double flops) {
  fputs("{\"model\": ", stdout);
  cli_print_json_string(stdout, g->path);
  printf(", \"opset\": %d, \"inputs\": ", g->opset);
  print_json_tensors(stdout, g, g->inputs, g->ninputs);
  fputs(", \"outputs\": ", stdout);
  print_json_tensors(stdout, g, g->outputs, g->noutputs);
  printf(", \"params\": %" PRId64 ", \"param_bytes\": %" PRId64, params, bytes);
  if (isfinite(flops)) printf(", \"gflops\": %.6g", flops / 1e9);
  else fputs(", \"gflops\": null", stdout); /* JSON has no NaN or infinity */
  printf(", \"nodes_before\": %d, \"nodes_after\": %d, \"ops_before\": ", before->nodes, after->nodes);
  print_json_histogram(stdout, before);
  fputs(", \"ops_after\": ", stdout);
  print_json_histogram(stdout, after);
  fputs("}\n", stdout);
}

static void print_text_tensors(const char *title, const vitc_graph *g, const int *ids, int n) {
  printf("%s:\n", title);
  for (int k = 0; k < n; k++) {
    const vitc_tensor *t = &g->tensors[ids[k]];
    char type[256];
    cli_type_str(t->v.dtype, t->v.rank, t->v.dims, type, sizeof type);
    /* A symbolic dim shows its name and what it was bound to: float32[batch=1,3,224,224]. */
    printf("  %s: %.*s", t->name, (int)strcspn(type, "["), type);
    for (int d = 0; d < t->v.rank; d++) {
      putchar(d ? ',' : '[');
      if (t->dim_param[d]) printf("%s=", t->dim_param[d]);
      printf("%" PRId64, t->v.dims[d]);
    }
    puts(t->v.rank ? "]" : "[]");
  }
}

static void print_text_histogram(const char *title, const histogram *h) {
  printf("%s (%d nodes):\n", title, h->nodes);
  for (int k = 0; k < h->n; k++) printf("  %-24s %d\n", vitc_ops[h->entries[k].op].name, h->entries[k].count);
}

static void print_text(const vitc_graph *g, const histogram *before, const histogram *after, int64_t params,
                       int64_t bytes, double flops) {
  printf("model: %s (opset %d)\n", g->path, g->opset);
  print_text_tensors("inputs", g, g->inputs, g->ninputs);
  print_text_tensors("outputs", g, g->outputs, g->noutputs);
  printf("params: %" PRId64 " (%.2f MiB)\n", params, (double)bytes / (1024.0 * 1024.0));
  printf("gflops: %.4f\n", flops / 1e9);
  print_text_histogram("ops before passes", before);
  print_text_histogram("ops after passes", after);
}

/* A shared library made by `vitc compile --emit shared`: its name and signature are all it states. */
static int inspect_shared(const char *path, bool json) {
  cli_shared s;
  vitc_graph *g = NULL;
  vitc_error err = {0};
  if (cli_shared_open(path, NULL, &s, &g, &err)) return cli_error("%s", err.msg);
  if (json) {
    fputs("{\"model\": ", stdout);
    cli_print_json_string(stdout, path);
    fputs(", \"name\": ", stdout);
    cli_print_json_string(stdout, s.name);
    fputs(", \"inputs\": ", stdout);
    print_json_tensors(stdout, g, g->inputs, g->ninputs);
    fputs(", \"outputs\": ", stdout);
    print_json_tensors(stdout, g, g->outputs, g->noutputs);
    fputs("}\n", stdout);
  } else {
    printf("model: %s (shared library, name %s)\n", path, s.name);
    print_text_tensors("inputs", g, g->inputs, g->ninputs);
    print_text_tensors("outputs", g, g->outputs, g->noutputs);
  }
  vitc_graph_free(g);
  cli_shared_close(&s);
  return CLI_EXIT_OK;
}

static int inspect_main(int argc, char **argv) {
  cli_common common;
  cli_common_init(&common);
  const char *model = NULL;
  bool json = false;
  for (int i = 1; i < argc;) {
    int r = cli_parse_common(&cli_inspect, &common, argc, argv, &i);
    if (r < 0) return CLI_EXIT_ERROR;
    if (r) continue;
    if (!strcmp(argv[i], "--json")) json = true;
    else if (argv[i][0] == '-') return cli_usage_error(&cli_inspect, "unknown option '%s'", argv[i]);
    else if (model) return cli_usage_error(&cli_inspect, "unexpected argument '%s'", argv[i]);
    else model = argv[i];
    i++;
  }
  if (!model) return cli_usage_error(&cli_inspect, "missing MODEL");
  size_t len = strlen(model);
  if (len > 3 && !strcmp(model + len - 3, ".so")) return inspect_shared(model, json);

  vitc_graph *g = cli_load_unoptimized(&common, model, NULL, 0);
  if (!g) return CLI_EXIT_ERROR;
  histogram before, after;
  count_ops(g, &before);
  if (!cli_optimize(&common, g)) {
    vitc_graph_free(g);
    return CLI_EXIT_ERROR;
  }
  count_ops(g, &after);
  int64_t params, bytes;
  vitc_graph_params(g, &params, &bytes);
  double flops = vitc_graph_flops(g);
  if (json) print_json(g, &before, &after, params, bytes, flops);
  else print_text(g, &before, &after, params, bytes, flops);
  vitc_graph_free(g);
  return CLI_EXIT_OK;
}

const cli_command cli_inspect = {
    "inspect",
    "Print a model's inputs and outputs (dtype and shape), parameter count and size, GFLOPs of one run\n"
    "after passes, and op histograms before and after passes. For LIB.so (`vitc compile --emit shared`):\n"
    "its name, inputs and outputs.\n\n"
    "  --json   print one JSON object with keys model, opset, inputs, outputs ([{name, dtype, shape}]),\n"
    "           params, param_bytes, gflops, nodes_before, nodes_after, ops_before, ops_after ({op: count})",
    "vitc inspect MODEL|LIB.so [--json] [model options]",
    inspect_main,
    CLI_OPTS_MODEL,
};
