/* cli_common.c — options every subcommand shares, error reporting, and the driver's options they make. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

/* The shared option groups' help, in CLI_OPTS_* order. */
static const char *const group_usage[] = {
    "model options:\n"
    "  --shape NAME=DxDx...    bind the shape of graph input NAME (repeatable); unbound symbolic dims are 1\n"
    "  -O0 | -O1 | -O2         optimisation level: -O0 runs only required passes (default -O2)\n"
    "  --disable-pass=NAME     skip pass NAME (repeatable; `vitc passes` lists the pipeline)\n"
    "  --print-after=NAME|all  print the graph after pass NAME, or after every pass (to stderr)\n"
    "  --verify-each           verify the graph after every pass\n"
    "  --max-memory BYTES      refuse a tensor, the activations or the weights above BYTES (suffix K, M\n"
    "                          or G: binary units; default: this machine's physical memory)\n"
    "  --precision fp32|bf16   products with a constant weight in float32 (default) or bfloat16 with\n"
    "                          float32 sums (needs avx512bf16; the evaluator rounds the same operands)\n",
    "engine options (default: JIT-compiled code):\n"
    "  --interp                execute with the reference evaluator\n"
    "  --aot                   execute code compiled ahead of time into a shared library (as `vitc\n"
    "                          compile --emit shared` makes)\n",
    "timing options:\n"
    "  --threads N             threads of the compiled code (default 0: $VITC_NUM_THREADS, else the CPUs\n"
    "                          this process may run on, capped by its cgroup's CPU quota)\n"
    "  --profile               print to stderr the time per op (nodes, ms/run, %, GFLOP/s from the op\n"
    "                          table's flops) and per node, averaged over the recorded runs; then the\n"
    "                          compile time by stage (load, passes, IR, optimise, codegen) and per pass\n"
    "  --trace FILE            write the recorded runs as Chrome trace-event JSON: one event per node per\n"
    "                          run, named \"node (Op)\", with its thread (ui.perfetto.dev opens it)\n",
    "  --runs N                with --profile or --trace: runs recorded after one warm-up run (default 10)\n",
    "compile cache options:\n"
    "  --no-cache              JIT-compile without reading or writing the compile cache ($VITC_CACHE_DIR,\n"
    "                          else $XDG_CACHE_HOME/vitc, else ~/.cache/vitc)\n",
};

static void print_groups(FILE *f, unsigned options) {
  for (unsigned k = 0; k < sizeof group_usage / sizeof *group_usage; k++)
    if (options & (1u << k)) fprintf(f, "%s%s", k && k != 3 ? "\n" : "", group_usage[k]);
}

static void print_error(const char *fmt, va_list ap) {
  fputs("vitc: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_error(fmt, ap);
  va_end(ap);
  return CLI_EXIT_ERROR;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_error(fmt, ap);
  va_end(ap);
  if (cmd) fprintf(stderr, "usage: %s\nsee 'vitc %s --help'\n", cmd->usage, cmd->name);
  else fputs("see 'vitc --help'\n", stderr);
  return CLI_EXIT_ERROR;
}

bool cli_wants_help(const cli_command *cmd, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
      if (cmd->options) putchar('\n');
      print_groups(stdout, cmd->options);
      return true;
    }
  }
  return false;
}

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t len = strlen(name);
  if (strncmp(arg, name, len)) return 0;
  if (arg[len] == '=') {
    *value = arg + len + 1;
    *i += 1;
    return 1;
  }
  if (arg[len]) return 0; /* a longer option that starts with the same letters */
  if (*i + 1 >= argc) {
    cli_error("option '%s' needs a value", name);
    return -1;
  }
  *value = argv[*i + 1];
  *i += 2;
  return 1;
}

void cli_common_init(cli_common *c) {
  memset(c, 0, sizeof *c);
  c->passes.opt_level = VITC_OPT_DEFAULT;
  c->passes.disabled = c->disabled;
  c->engine = CLI_DEFAULT_ENGINE;
  c->runs = 10;
}

int cli_parse_count(const cli_command *cmd, const char *name, const char *value, int lo, int hi, int *out) {
  char *end;
  long n = strtol(value, &end, 10);
  if (*value == 0 || *end || n < lo || n > hi)
    return cli_usage_error(cmd, "%s expects %d..%d, got '%s'", name, lo, hi, value), -1;
  *out = (int)n;
  return 1;
}

/* The options without a value the command has (o: its CLI_OPTS_*): whether arg was one, set in c. */
static bool parse_flag(unsigned o, cli_common *c, const char *arg) {
  if ((o & CLI_OPTS_MODEL) && (!strcmp(arg, "-O0") || !strcmp(arg, "-O1") || !strcmp(arg, "-O2"))) {
    c->passes.opt_level = arg[2] - '0';
  } else if ((o & CLI_OPTS_MODEL) && !strcmp(arg, "--verify-each")) {
    c->passes.verify_each = true;
  } else if ((o & CLI_OPTS_ENGINE) && !strcmp(arg, "--interp")) {
    c->engine = CLI_ENGINE_INTERP;
  } else if ((o & CLI_OPTS_RECORD) && !strcmp(arg, "--profile")) {
    c->profile = true;
    cli_time_compile(c);
  } else if ((o & CLI_OPTS_JIT) && !strcmp(arg, "--no-cache")) {
    c->no_cache = true;
  } else if ((o & CLI_OPTS_ENGINE) && !strcmp(arg, "--aot")) {
    c->engine = CLI_ENGINE_AOT;
  } else {
    return false;
  }
  return true;
}

/* --shape VALUE: 1, or -1 after saying why it is refused. */
static int add_shape_binding(cli_common *c, const char *value) {
  if (c->nbindings == CLI_MAX_LIST) return cli_error("too many --shape options (at most %d)", CLI_MAX_LIST), -1;
  vitc_error err = {0};
  if (vitc_parse_shape_binding(value, &c->bindings[c->nbindings], &err) != VITC_OK)
    return cli_error("--shape: %s", err.msg), -1;
  const vitc_shape_binding *b = &c->bindings[c->nbindings];
  for (int k = 0; k < c->nbindings; k++) /* a second binding would otherwise be silently ignored */
    if (c->bindings[k].input_len == b->input_len && !memcmp(c->bindings[k].input, b->input, (size_t)b->input_len))
      return cli_error("--shape: input '%.*s' is bound twice ('%s' and '%s')", b->input_len, b->input,
                       c->bindings[k].input, value),
             -1;
  c->nbindings++;
  return 1;
}

int cli_parse_common(const cli_command *cmd, cli_common *c, int argc, char **argv, int *i) {
  const char *value = NULL;
  int r;
  unsigned o = cmd->options;
  if (parse_flag(o, c, argv[*i])) {
    *i += 1;
    return 1;
  }
  if ((o & CLI_OPTS_RECORD) && (r = cli_option_value(argc, argv, i, "--threads", &value)) != 0)
    return r < 0 ? -1 : cli_parse_count(cmd, "--threads", value, 0, VITC_RT_MAX_THREADS, &c->threads);
  if ((o & CLI_OPTS_RECORD) && (r = cli_option_value(argc, argv, i, "--trace", &c->trace)) != 0) return r;
  if ((o & CLI_OPTS_RUNS) && (r = cli_option_value(argc, argv, i, "--runs", &value)) != 0)
    return r < 0 ? -1 : cli_parse_count(cmd, "--runs", value, 1, 100000, &c->runs);
  if ((o & CLI_OPTS_MODEL) && (r = cli_option_value(argc, argv, i, "--max-memory", &value)) != 0) {
    if (r < 0) return -1;
    if (!cli_parse_bytes(value, &c->memory_limit))
      return cli_error("--max-memory expects a positive number of bytes with an optional K, M or G suffix, got '%s'",
                       value), -1;
    return 1;
  }
  if ((o & CLI_OPTS_MODEL) && (r = cli_option_value(argc, argv, i, "--precision", &value)) != 0) {
    if (r < 0) return -1;
    if (strcmp(value, "fp32") && strcmp(value, "bf16")) return cli_error("--precision expects fp32 or bf16, got '%s'", value), -1;
    c->precision = strcmp(value, "bf16") ? VITC_PRECISION_FP32 : VITC_PRECISION_BF16;
    return 1;
  }
  if ((o & CLI_OPTS_MODEL) && (r = cli_option_value(argc, argv, i, "--shape", &value)) != 0)
    return r < 0 ? -1 : add_shape_binding(c, value);
  if ((o & CLI_OPTS_MODEL) && (r = cli_option_value(argc, argv, i, "--disable-pass", &value)) != 0) {
    if (r < 0) return -1;
    if (c->passes.ndisabled == CLI_MAX_LIST)
      return cli_error("too many --disable-pass options (at most %d)", CLI_MAX_LIST), -1;
    c->disabled[c->passes.ndisabled++] = value;
    return 1;
  }
  if ((o & CLI_OPTS_MODEL) && (r = cli_option_value(argc, argv, i, "--print-after", &value)) != 0) {
    if (r < 0) return -1;
    c->passes.print_after = value;
    return 1;
  }
  return 0;
}

bool cli_parse_bytes(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(s, &end, 10);
  int shift = !*end ? 0 : !strcmp(end, "K") ? 10 : !strcmp(end, "M") ? 20 : !strcmp(end, "G") ? 30 : -1;
  if (end == s || *s == '-' || errno || shift < 0 || !n || n > (unsigned long long)INT64_MAX >> shift) return false;
  *out = (int64_t)(n << shift);
  return true;
}

bool cli_parse_double(const char *s, double *out) {
  char *end;
  double x = strtod(s, &end);
  if (end == s || *end || !isfinite(x)) return false;
  *out = x;
  return true;
}

const char *cli_model_file(const char *model, char *buf, size_t n) {
  struct stat st;
  if (!stat(model, &st) && S_ISDIR(st.st_mode)) snprintf(buf, n, "%s/model.onnx", model);
  else snprintf(buf, n, "%s", model);
  return buf;
}

vitc_graph *cli_load_unoptimized(const cli_common *c, const char *model, const vitc_shape_binding *extra,
                                 int nextra) {
  char path[4096];
  cli_model_file(model, path, sizeof path);
  vitc_shape_binding bindings[2 * CLI_MAX_LIST];
  int n = 0;
  for (int k = 0; k < c->nbindings; k++) bindings[n++] = c->bindings[k];
  for (int k = 0; k < nextra && n < 2 * CLI_MAX_LIST; k++) bindings[n++] = extra[k];
  vitc_load_options opts = {.bindings = bindings, .nbindings = n};
  vitc_graph *g = NULL;
  vitc_error err = {0};
  if (vitc_load_onnx(path, &opts, &g, &err) != VITC_OK) {
    cli_error("%s", err.msg);
    return NULL;
  }
  g->memory_limit = c->memory_limit;
  return g;
}

bool cli_optimize(const cli_common *c, vitc_graph *g) {
  vitc_error err = {0};
  if (vitc_run_passes(g, &c->passes, &err) != VITC_OK) {
    cli_error("%s", err.msg);
    return false;
  }
  g->precision = c->precision;
  return true;
}

void cli_note_precision(const cli_common *c, const char *cpu_features) {
  static bool said;
  if (said || c->precision != VITC_PRECISION_BF16 || vitc_features_dpbf16(cpu_features)) return;
  said = true;
  fprintf(stderr, "vitc: note: bf16 is emulated on this target, which lacks avx512bf16 (vdpbf16ps): bf16 rounding "
                  "and weights at half size, float32 FMAs, no speed-up over fp32\n");
}

vitc_driver_options cli_driver_options(const cli_common *c) {
  return (vitc_driver_options){
      .bindings = c->bindings, .nbindings = c->nbindings, .passes = c->passes, .memory_limit = c->memory_limit,
      .precision = c->precision, .no_cache = c->no_cache, .times = c->times};
}

vitc_graph *cli_load(const cli_common *c, const char *model) {
  char path[4096];
  cli_model_file(model, path, sizeof path);
  vitc_driver_options o = cli_driver_options(c);
  vitc_graph *g = NULL;
  vitc_error err = {0};
  if (vitc_driver_load(path, &o, &g, &err) != VITC_OK) cli_error("%s", err.msg);
  return g;
}

const char *cli_type_str(vitc_dtype dtype, int rank, const int64_t *dims, char *buf, size_t n) {
  const char *name = vitc_dtype_name(dtype);
  size_t k = name ? (size_t)snprintf(buf, n, "%s[", name) : (size_t)snprintf(buf, n, "dtype%d[", (int)dtype);
  for (int i = 0; i < rank && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ",%" PRId64 : "%" PRId64, dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

int cli_bindings_from_data(const vitc_graph *g, const vitc_value *inputs, const cli_common *common,
                           vitc_shape_binding *out) {
  int n = 0;
  for (int k = 0; k < g->ninputs; k++) {
    const vitc_tensor *t = &g->tensors[g->inputs[k]];
    bool bound_by_user = false, differs = false;
    for (int b = 0; b < common->nbindings; b++) {
      const vitc_shape_binding *u = &common->bindings[b];
      size_t len = u->input_len > 0 ? (size_t)u->input_len : strlen(u->input);
      bound_by_user |= strlen(t->name) == len && !memcmp(u->input, t->name, len);
    }
    if (t->v.dtype != inputs[k].dtype || t->v.rank != inputs[k].rank) continue;
    for (int d = 0; d < t->v.rank; d++) {
      if (t->v.dims[d] == inputs[k].dims[d]) continue;
      if (!t->dim_param[d] || bound_by_user) return -1;
      differs = true;
    }
    if (!differs) continue;
    out[n] = (vitc_shape_binding){.input = t->name, .rank = inputs[k].rank};
    memcpy(out[n].dims, inputs[k].dims, sizeof out[n].dims);
    n++;
  }
  return n;
}

vitc_status cli_check_input(const vitc_graph *g, int index, const vitc_value *v, vitc_error *err) {
  const vitc_tensor *t = &g->tensors[g->inputs[index]];
  bool same = t->v.dtype == v->dtype && t->v.rank == v->rank;
  for (int d = 0; same && d < v->rank; d++) same = t->v.dims[d] == v->dims[d];
  if (same) return VITC_OK;
  char want[160], got[160];
  cli_type_str(t->v.dtype, t->v.rank, t->v.dims, want, sizeof want);
  cli_type_str(v->dtype, v->rank, v->dims, got, sizeof got);
  return vitc_fail(err, VITC_ERR_INVALID, "input '%s': expected %s, got %s%s", t->name, want, got,
                   t->v.dtype == v->dtype ? " (bind another shape with --shape)" : "");
}

void cli_print_values(FILE *f, const vitc_value *v, int limit) {
  int64_t n = vitc_numel(v);
  for (int64_t i = 0; i < n && i < limit; i++) {
    if (i) fputs(", ", f);
    if (vitc_dtype_is_float(v->dtype)) fprintf(f, "%.6g", vitc_load_f(v, i));
    else if (v->dtype == VITC_U64) fprintf(f, "%" PRIu64, (uint64_t)vitc_load_i(v, i));
    else fprintf(f, "%" PRId64, vitc_load_i(v, i));
  }
  if (n > limit) fprintf(f, ", ... (%" PRId64 " values)", n);
}

void cli_print_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    case '\b': fputs("\\b", f); break;
    case '\f': fputs("\\f", f); break;
    default:
      if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
}

bool cli_has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* Where the arrays of an .npz go: values of the tensors ids[], by name. */
typedef struct npz_named {
  const vitc_graph *g;
  const char *path;
  const int *ids;
  int n;
  bool check;
  vitc_value *values;
  bool *given;
} npz_named;

static vitc_status take_npz_member(void *user, const char *name, vitc_value *v, vitc_error *err) {
  npz_named *in = user;
  const char *kind = in->ids == in->g->inputs ? "input" : "output";
  int k = 0;
  while (k < in->n && strcmp(in->g->tensors[in->ids[k]].name, name)) k++;
  vitc_status st = VITC_OK;
  if (k == in->n)
    st = vitc_fail(err, VITC_ERR_INVALID, "%s: array '%s' names no %s of the model", in->path, name, kind);
  else if (in->given[k])
    st = vitc_fail(err, VITC_ERR_INVALID, "%s '%s' is given twice", kind, name);
  if (st) {
    free(v->data);
    return st;
  }
  in->values[k] = *v;
  in->given[k] = true;
  if (in->check && (st = cli_check_input(in->g, k, v, err)) != VITC_OK) vitc_error_prefix(err, "%s", in->path);
  return st;
}

vitc_status cli_read_npz_named(const char *path, const vitc_graph *g, const int *ids, int n, bool check,
                               vitc_value *values, bool *given, vitc_error *err) {
  npz_named in = {g, path, ids, n, check, values, given};
  return vitc_read_npz(path, take_npz_member, &in, err);
}

static vitc_status count_member(void *user, const char *name, vitc_value *v, vitc_error *err) {
  free(v->data);
  ++*(int *)user;
  return VITC_OK;
}

vitc_status cli_count_npz(const char *path, int *count, vitc_error *err) {
  *count = 0;
  return vitc_read_npz(path, count_member, count, err);
}

void cli_free_values(vitc_value *v, int n) {
  for (int k = 0; k < n; k++) {
    free(v[k].data);
    v[k].data = NULL;
  }
}

double cli_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}
