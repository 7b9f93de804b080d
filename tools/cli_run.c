/* cli_run.c — `vitc run`: evaluate a model on TensorProto, .npy or .npz inputs and write its outputs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct input_arg {
  const char *name; /* NULL for a positional file: it goes to the graph input of its position */
  size_t name_len;  /* name is "NAME=FILE" as given; only its first name_len bytes are the name */
  const char *file;
} input_arg;

/* Creates dir and its missing parents (mkdir -p). */
static vitc_status make_dirs(const char *dir, vitc_error *err) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
    return vitc_fail(err, VITC_ERR_IO, "%s: path too long", dir);
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p) continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(path, 0777) && errno != EEXIST) return vitc_fail(err, VITC_ERR_IO, "%s: %s", path, strerror(errno));
    if (!saved) break;
    *p = saved;
  }
  struct stat st;
  if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return vitc_fail(err, VITC_ERR_IO, "%s: not a directory", dir);
  return VITC_OK;
}

static int graph_input_index(const vitc_graph *g, const input_arg *arg) {
  for (int k = 0; k < g->ninputs; k++) {
    const char *name = g->tensors[g->inputs[k]].name;
    if (strlen(name) == arg->name_len && !memcmp(name, arg->name, arg->name_len)) return k;
  }
  return -1;
}

/* Reads every input file into values[graph input index] and its path into files[]; given[k] records which
 * inputs have a value. An .npz gives the inputs its arrays name. The shapes are checked after binding. */
static vitc_status read_inputs(const vitc_graph *g, const input_arg *args, int nargs, vitc_value *values,
                               bool *given, const char **files, vitc_error *err) {
  int positional = 0;
  const char *npz = NULL;
  for (int a = 0; a < nargs; a++) {
    if (!args[a].name && cli_has_suffix(args[a].file, ".npz")) {
      vitc_status st = cli_read_npz_named(npz = args[a].file, g, g->inputs, g->ninputs, false, values, given, err);
      if (st != VITC_OK) return st;
      for (int k = 0; k < g->ninputs; k++)
        if (given[k] && !files[k]) files[k] = npz;
      continue;
    }
    int k = args[a].name ? graph_input_index(g, &args[a]) : positional++;
    if (args[a].name && k < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "the model has no input named '%.*s'", (int)args[a].name_len,
                       args[a].name);
    if (k >= g->ninputs)
      return vitc_fail(err, VITC_ERR_INVALID, "%s: the model takes only %d input%s", args[a].file, g->ninputs,
                       g->ninputs == 1 ? "" : "s");
    if (given[k]) return vitc_fail(err, VITC_ERR_INVALID, "input '%s' is given twice", g->tensors[g->inputs[k]].name);
    given[k] = true;
    files[k] = args[a].file;
    vitc_status st = vitc_read_tensor_file(args[a].file, &values[k], NULL, err);
    if (st != VITC_OK) return st;
  }
  for (int k = 0; k < g->ninputs; k++) {
    const char *name = g->tensors[g->inputs[k]].name;
    if (given[k]) continue;
    if (npz) return vitc_fail(err, VITC_ERR_INVALID, "no value for input '%s' (%s has no array '%s')", name, npz, name);
    return vitc_fail(err, VITC_ERR_INVALID, "no value for input '%s' (give -i %s=FILE)", name, name);
  }
  return VITC_OK;
}

/* A shared library of one image of a symbolic batch runs the inputs' images through NAME_run_batch: the
 * count goes to common->shared.images and g (its signature) is sized for all of them. False when the
 * bindings change more than the first dim, or not alike. */
static bool bind_images(cli_common *common, vitc_graph *g, const vitc_shape_binding *rebound, int n) {
  int64_t images = rebound[0].dims[0];
  if (!common->shared.run_batch || !vitc_graph_per_image(g)) return false;
  for (int b = 0; b < n; b++) {
    if (rebound[b].dims[0] != images) return false;
    for (int k = 0; k < g->ninputs; k++) {
      const vitc_tensor *t = &g->tensors[g->inputs[k]];
      size_t rest = sizeof(int64_t) * (size_t)(t->v.rank - 1);
      if (!strcmp(rebound[b].input, t->name) && memcmp(rebound[b].dims + 1, t->v.dims + 1, rest)) return false;
    }
  }
  for (int k = 0; k < g->ninputs + g->noutputs; k++)
    g->tensors[k < g->ninputs ? g->inputs[k] : g->outputs[k - g->ninputs]].v.dims[0] = images;
  common->shared.images = images;
  return true;
}

/* Binds the symbolic dims (the batch) that the inputs size differently from *g and, for a model file,
 * loads it again for those sizes (a shared library runs them as images, bind_images); then checks every
 * input against the graph. */
static vitc_status bind_to_inputs(cli_common *common, const char *model, vitc_graph **g, const vitc_value *inputs,
                                  const char *const *files, vitc_error *err) {
  vitc_shape_binding *rebound = calloc((size_t)(*g)->ninputs + 1, sizeof *rebound);
  if (!rebound) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  int n = cli_bindings_from_data(*g, inputs, common, rebound);
  vitc_status st = VITC_OK;
  if (n > 0 && common->engine == CLI_ENGINE_SHARED) {
    bind_images(common, *g, rebound, n); /* otherwise the input check names the difference */
  } else if (n > 0) {
    vitc_graph *bound = cli_load_unoptimized(common, model, rebound, n);
    if (!bound || !cli_optimize(common, bound)) {
      vitc_graph_free(bound);
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: cannot bind the model to its inputs' shapes", model);
    } else {
      vitc_graph_free(*g);
      *g = bound;
    }
  }
  for (int k = 0; k < (*g)->ninputs && st == VITC_OK; k++)
    if ((st = cli_check_input(*g, k, &inputs[k], err)) != VITC_OK) vitc_error_prefix(err, "%s", files[k]);
  free(rebound);
  return st;
}

/* Writes the outputs: one .npz when out ends in ".npz", else OUTDIR/output_K.pb (or .npy); prints them. */
static vitc_status write_outputs(const vitc_graph *g, const vitc_value *outputs, const char *out, const char *format,
                                 vitc_error *err) {
  const char *names[CLI_MAX_LIST];
  bool npz = cli_has_suffix(out, ".npz");
  vitc_status st = VITC_OK;
  if (npz && g->noutputs > CLI_MAX_LIST)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s: at most %d outputs go into an .npz", out, CLI_MAX_LIST);
  if (!npz) st = make_dirs(out, err);
  for (int k = 0; st == VITC_OK && k < g->noutputs; k++) {
    const char *name = names[k] = g->tensors[g->outputs[k]].name;
    char path[4096], type[256];
    snprintf(path, sizeof path, "%s/output_%d.%s", out, k, format);
    if (!npz && (st = vitc_write_tensor_file(path, name, &outputs[k], err)) != VITC_OK) break;
    printf("%s: %s = ", name, cli_type_str(outputs[k].dtype, outputs[k].rank, outputs[k].dims, type, sizeof type));
    cli_print_values(stdout, &outputs[k], 10);
    printf("\n");
  }
  if (!st && npz) st = vitc_write_npz(out, names, outputs, g->noutputs, err);
  return st;
}

/* What `vitc run` was asked: the model, its inputs, where and how to write the outputs. */
typedef struct run_request {
  const char *model, *outdir, *name, *format;
  input_arg args[CLI_MAX_LIST];
  int nargs;
} run_request;

/* Parses run's command line into common and q: 0, or the exit status of a usage error. */
static int parse_run(int argc, char **argv, cli_common *common, run_request *q) {
  *q = (run_request){.format = "pb"};
  const char *value;
  for (int i = 1; i < argc;) {
    int r = cli_parse_common(&cli_run, common, argc, argv, &i);
    if (!r) r = cli_option_value(argc, argv, &i, "-o", &q->outdir);
    if (!r) r = cli_option_value(argc, argv, &i, "--name", &q->name);
    if (!r) r = cli_option_value(argc, argv, &i, "--weights", &common->weights);
    if (!r) r = cli_option_value(argc, argv, &i, "--format", &q->format);
    if (r < 0) return CLI_EXIT_ERROR;
    if (r) continue;
    bool named = (r = cli_option_value(argc, argv, &i, "-i", &value)) != 0;
    if (r < 0) return CLI_EXIT_ERROR;
    if (!named) {
      if (argv[i][0] == '-') return cli_usage_error(&cli_run, "unknown option '%s'", argv[i]);
      value = argv[i++];
      if (!q->model) {
        q->model = value;
        continue;
      }
    }
    if (q->nargs == CLI_MAX_LIST) return cli_error("too many inputs (at most %d)", CLI_MAX_LIST);
    if (!named) {
      q->args[q->nargs++] = (input_arg){NULL, 0, value};
      continue;
    }
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1]) return cli_usage_error(&cli_run, "-i expects NAME=FILE.pb, got '%s'", value);
    q->args[q->nargs++] = (input_arg){value, (size_t)(eq - value), eq + 1};
  }
  if (!q->model) return cli_usage_error(&cli_run, "missing MODEL");
  if (!q->outdir) return cli_usage_error(&cli_run, "missing -o OUTDIR");
  if (strcmp(q->format, "pb") && strcmp(q->format, "npy"))
    return cli_usage_error(&cli_run, "--format must be pb or npy, not '%s'", q->format);
  if (strcmp(q->format, "pb") && cli_has_suffix(q->outdir, ".npz"))
    return cli_usage_error(&cli_run, "--format names the files of an output directory, not of %s", q->outdir);
  return 0;
}

static int run_main(int argc, char **argv) {
  cli_common common;
  cli_common_init(&common);
  run_request q;
  int usage = parse_run(argc, argv, &common, &q);
  if (usage) return usage;
  const char *model = q.model;
  int status = CLI_EXIT_ERROR;
  vitc_graph *g = NULL;
  vitc_value *inputs = NULL, *outputs = NULL;
  bool *given = NULL;
  const char **files = NULL;
  vitc_error err = {0};
  size_t len = strlen(model);
  if (len > 3 && !strcmp(model + len - 3, ".so")) {
    /* A model compiled by `vitc compile --emit shared --name NAME`: its signature stands for the graph. */
    if (common.nbindings)
      return cli_usage_error(&cli_run, "--shape has no effect on %s: its shapes were fixed when it was compiled",
                             model);
    if (cli_shared_open(model, q.name, &common.shared, &g, &err) != VITC_OK) {
      cli_error("%s", err.msg);
      goto done;
    }
    common.engine = CLI_ENGINE_SHARED;
  } else if (!(g = cli_load(&common, model))) {
    goto done;
  }
  inputs = calloc((size_t)g->ninputs + 1, sizeof *inputs);
  outputs = calloc((size_t)g->noutputs + 1, sizeof *outputs);
  given = calloc((size_t)g->ninputs + 1, sizeof *given);
  files = calloc((size_t)g->ninputs + 1, sizeof *files);
  if (!inputs || !outputs || !given || !files) {
    cli_error("out of memory");
    goto done;
  }
  if (read_inputs(g, q.args, q.nargs, inputs, given, files, &err) != VITC_OK ||
      bind_to_inputs(&common, model, &g, inputs, files, &err) != VITC_OK ||
      cli_execute(&common, g, inputs, outputs, &err) != VITC_OK ||
      write_outputs(g, outputs, q.outdir, q.format, &err) != VITC_OK) {
    cli_error("%s", err.msg);
    goto done;
  }
  status = CLI_EXIT_OK;
done:
  if (g && inputs) cli_free_values(inputs, g->ninputs);
  if (g && outputs) cli_free_values(outputs, g->noutputs);
  free(inputs);
  free(outputs);
  free(given);
  free(files);
  vitc_graph_free(g);
  if (common.shared.dl) cli_shared_close(&common.shared);
  return status;
}

const cli_command cli_run = {
    "run",
    "Evaluate MODEL on its inputs and write its outputs (named like the graph outputs). An input file is\n"
    "a TensorProto (.pb) or numpy .npy (recognised by content); an .npz gives every input its arrays name.\n"
    "Symbolic dims that --shape leaves unbound (the batch) take the sizes the input files have.\n\n"
    "  -i NAME=FILE      value of graph input NAME (repeatable)\n"
    "  FILE ...          values of the graph inputs in declared order\n"
    "  INPUTS.npz        values of the inputs its arrays name (numpy.savez(path, **inputs))\n"
    "  -o OUTDIR         write OUTDIR/output_K.pb (created if missing)\n"
    "  -o OUT.npz        write all outputs into one .npz, by output name\n"
    "  --format npy      write OUTDIR/output_K.npy instead of .pb\n\n"
    "MODEL may also be a shared library made by `vitc compile --emit shared`; it states its own name:\n"
    "  --name NAME       its symbol prefix, needed only when it holds several models\n"
    "  --weights FILE    its weights file, if it was compiled with --weights",
    "vitc run MODEL|LIB.so [-i NAME=FILE ...] [FILE|INPUTS.npz ...] -o OUTDIR|OUT.npz [--format pb|npy]\n"
    "                [--name NAME] [--weights FILE] [model, engine and timing options]",
    run_main,
    CLI_OPTS_MODEL | CLI_OPTS_ENGINE | CLI_OPTS_RECORD | CLI_OPTS_RUNS | CLI_OPTS_JIT,
};
