/* cli_dump.c — `vitc dump` (the graph after passes, as text or Graphviz), `vitc ops` (the op table) and
 * `vitc passes` (the pass pipeline). */
#include <errno.h>
#include <string.h>

#include "cli.h"

static int dump_main(int argc, char **argv) {
  cli_common common;
  cli_common_init(&common);
  const char *model = NULL, *out_path = NULL;
  bool dot = false;
  for (int i = 1; i < argc;) {
    int r = cli_parse_common(&cli_dump, &common, argc, argv, &i);
    if (!r) r = cli_option_value(argc, argv, &i, "-o", &out_path);
    if (r < 0) return CLI_EXIT_ERROR;
    if (r) continue;
    if (!strcmp(argv[i], "--dot")) dot = true;
    else if (argv[i][0] == '-') return cli_usage_error(&cli_dump, "unknown option '%s'", argv[i]);
    else if (model) return cli_usage_error(&cli_dump, "unexpected argument '%s'", argv[i]);
    else model = argv[i];
    i++;
  }
  if (!model) return cli_usage_error(&cli_dump, "missing MODEL");

  vitc_graph *g = cli_load(&common, model);
  if (!g) return CLI_EXIT_ERROR;
  FILE *f = out_path ? fopen(out_path, "w") : stdout;
  int status = CLI_EXIT_OK;
  if (!f) {
    status = cli_error("%s: %s", out_path, strerror(errno));
  } else {
    if (dot) vitc_print_dot(g, f);
    else vitc_print_graph(g, f);
    if (fflush(f) || ferror(f)) status = cli_error("%s: write failed", out_path ? out_path : "stdout");
    if (f != stdout && fclose(f)) status = cli_error("%s: %s", out_path, strerror(errno));
  }
  vitc_graph_free(g);
  return status;
}

const cli_command cli_dump = {
    "dump",
    "Print the graph after passes as text, or as Graphviz with --dot.\n\n"
    "  --dot      Graphviz output (render with: dot -Tsvg)\n"
    "  -o FILE    write to FILE instead of stdout",
    "vitc dump MODEL [--dot] [-o FILE] [model options]",
    dump_main,
    CLI_OPTS_MODEL,
};

static int ops_main(int argc, char **argv) {
  if (argc > 1) return cli_usage_error(&cli_ops, "unexpected argument '%s'", argv[1]);
  for (int op = 0; op < VITC_OP_COUNT; op++) {
    const vitc_op_info *info = &vitc_ops[op];
    if (info->domain[0]) printf("%s.%s\n", info->domain, info->name);
    else printf("%s\n", info->name);
  }
  return CLI_EXIT_OK;
}

const cli_command cli_ops = {
    "ops",
    "List the ops vitc supports (from ir/ops.def), one per line; fused ops carry their domain.",
    "vitc ops",
    ops_main,
};

static int passes_main(int argc, char **argv) {
  if (argc > 1) return cli_usage_error(&cli_passes, "unexpected argument '%s'", argv[1]);
  int n;
  const vitc_pass *passes = vitc_pipeline(&n);
  for (int k = 0; k < n; k++) printf("%-18s %s%s\n", passes[k].name, passes[k].required ? "* " : "", passes[k].summary);
  return CLI_EXIT_OK;
}

const cli_command cli_passes = {
    "passes",
    "List the passes in the order they run (--disable-pass and --print-after name them); * marks those\n"
    "that run at -O0 too.",
    "vitc passes",
    passes_main,
};
