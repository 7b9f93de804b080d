/* vitc.c — the vitc command line: dispatches to one subcommand per file (tools/cli_*.c).
 *
 * The library never prints; this tool does. Errors go to stderr as "vitc: MESSAGE" and exit with 2. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const cli_command *const commands[] = {&cli_inspect, &cli_run, &cli_check, &cli_compile, &cli_dump, &cli_ops,
                                            &cli_passes, &cli_bench};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

static void print_usage(FILE *f) {
  fputs("usage: vitc COMMAND [options]\n\n"
        "vitc compiles ONNX vision-transformer models to native code: it runs them JIT-compiled (the default),\n"
        "compiles them ahead of time into objects or shared libraries, or executes them with its reference\n"
        "evaluator (--interp).\n\n"
        "commands:\n",
        f);
  for (int k = 0; k < NCOMMANDS; k++) fprintf(f, "  %s\n", commands[k]->usage);
  fputs("\nrun 'vitc COMMAND --help' for a command's options, 'vitc --version' for the version.\n\n"
        "environment:\n"
        "  VITC_NUM_THREADS   threads of compiled code when --threads (or the API's nthreads) is 0; default:\n"
        "                     the CPUs this process may run on, capped by its cgroup's CPU quota\n",
        f);
}

/* `vitc compile --emit shared` links the runtime archive the build made (or $VITC_RT_LIB). An installed
 * vitc (P/bin/vitc) uses the one installed beside it, P/lib/libvitc_rt.a, so the build tree can go. */
static void use_installed_runtime(void) {
  char exe[4096], rt[4200];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (getenv("VITC_RT_LIB") || n <= 0) return;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (!slash) return;
  *slash = 0;
  snprintf(rt, sizeof rt, "%s/../lib/libvitc_rt.a", exe);
  if (!access(rt, R_OK)) setenv("VITC_RT_LIB", rt, 0);
}

int main(int argc, char **argv) {
  vitc_driver_keep_freed_heap(true); /* the tool's whole run loads, compiles or evaluates */
  use_installed_runtime();
  if (argc < 2) {
    print_usage(stderr);
    return CLI_EXIT_ERROR;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    print_usage(stdout);
    return CLI_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("vitc %s\n", vitc_version());
    return CLI_EXIT_OK;
  }
  /* The runtime would fall back to the CPU count on a value it cannot read: say so instead. */
  const char *threads = getenv("VITC_NUM_THREADS");
  if (vitc_rt_parse_threads(threads) < 0)
    return cli_error("VITC_NUM_THREADS is '%s': expected a whole number from 1 to %d", threads, VITC_RT_MAX_THREADS);
  for (int k = 0; k < NCOMMANDS; k++) {
    if (strcmp(argv[1], commands[k]->name)) continue;
    if (cli_wants_help(commands[k], argc - 1, argv + 1)) return CLI_EXIT_OK;
    return commands[k]->main(argc - 1, argv + 1);
  }
  return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
}
