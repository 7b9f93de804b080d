/* cli.h — what the subcommands of the vitc tool share: option parsing, the load → passes flow, the
 * choice of execution engine, and printing of values.
 *
 * Only tools/ prints or exits. A subcommand returns its exit code: 0 success, 1 a check found a
 * mismatch, 2 any error (usage, I/O, model, evaluation). */
#ifndef VITC_CLI_H
#define VITC_CLI_H

#include "frontend/frontend.h"
#include "passes/passes.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_MISMATCH = 1, CLI_EXIT_ERROR = 2 };

#define CLI_MAX_LIST 64 /* repeatable options (--shape, --disable-pass, -i) */

/* Every way vitc can execute a graph. The choice is made in cli_engine.c only. */
typedef enum cli_engine {
  CLI_ENGINE_INTERP, /* the reference evaluator (ir/eval.c) */
} cli_engine;
#define CLI_DEFAULT_ENGINE CLI_ENGINE_INTERP /* what runs without an engine option */

/* Options every subcommand that loads a model accepts. */
typedef struct cli_common {
  vitc_shape_binding bindings[CLI_MAX_LIST];
  int nbindings;
  const char *disabled[CLI_MAX_LIST];
  vitc_pass_options passes;
  cli_engine engine;
} cli_common;

/* One subcommand: its name, one-line summary, usage text and entry point (argv[0] is the name). */
typedef struct cli_command {
  const char *name;
  const char *summary;
  const char *usage;
  int (*main)(int argc, char **argv);
} cli_command;

extern const cli_command cli_inspect, cli_run, cli_check, cli_dump, cli_ops, cli_compile;
/* The common options and the pass pipeline, for --help. */
void cli_print_common_usage(FILE *f);

/* Prints "vitc: MESSAGE" to stderr and returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a usage error for command cmd ("vitc: MESSAGE" plus a pointer to --help), returns 2. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True (and prints the usage to stdout) when argv holds -h or --help. */
bool cli_wants_help(const cli_command *cmd, int argc, char **argv);

/* Matches argv[*i] against option `name` given as "NAME VALUE" or "NAME=VALUE"; on a match stores
 * the value, advances *i past what it used and returns 1; returns 0 when argv[*i] is another option
 * and -1 (after reporting) when the value is missing. */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);

void cli_common_init(cli_common *c);
/* Consumes argv[*i] if it is a common option (1), reports a bad value (-1), or leaves it (0). */
int cli_parse_common(cli_common *c, int argc, char **argv, int *i);

/* Parses a finite double ("1e-4") into *out; false if s is not one. */
bool cli_parse_double(const char *s, double *out);

/* vitc_load_onnx with the --shape bindings plus extra (may be NULL; for inputs --shape does not
 * name). Prints the error and returns NULL on failure. */
vitc_graph *cli_load_unoptimized(const cli_common *c, const char *path, const vitc_shape_binding *extra,
                                 int nextra);
/* vitc_run_passes with the common options; prints the error and returns false on failure. */
bool cli_optimize(const cli_common *c, vitc_graph *g);
/* The flow of every command: load, then passes. NULL (after printing) on failure. */
vitc_graph *cli_load(const cli_common *c, const char *path);

/* Executes g on inputs (one per graph input) with the chosen engine; outputs get malloc'd data. */
vitc_status cli_execute(cli_engine engine, const vitc_graph *g, const vitc_value *inputs,
                        vitc_value *outputs, vitc_error *err);

/* "float32[1,3,224,224]" into buf (the long dtype name: messages and JSON read it). */
const char *cli_type_str(vitc_dtype dtype, int rank, const int64_t *dims, char *buf, size_t n);
/* Checks that v fits graph input `index` (dtype and shape); the message names input, expected, got. */
vitc_status cli_check_input(const vitc_graph *g, int index, const vitc_value *v, vitc_error *err);
/* Prints up to `limit` leading elements of v, comma separated. */
void cli_print_values(FILE *f, const vitc_value *v, int limit);
/* Frees the data of n values. */
void cli_free_values(vitc_value *v, int n);

#endif
