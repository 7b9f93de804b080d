/* cli_compile.c — `vitc compile`: ahead-of-time output (object, assembly, LLVM IR or shared library)
 * with NAME.h beside it, for the host or a cross target. */
#include <ctype.h>
#include <string.h>

#include "backend/backend.h"
#include "cli.h"

static bool is_c_identifier(const char *s) {
  if (!*s || isdigit((unsigned char)*s)) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}

/* NAME.h in the directory of out. */
static void header_path(const char *out, const char *name, char *buf, size_t n) {
  const char *slash = strrchr(out, '/');
  int dir = slash ? (int)(slash - out + 1) : 0;
  snprintf(buf, n, "%.*s%s.h", dir, out, name);
}

/* True when triple names another architecture than this machine's: "aarch64-linux-gnu" on x86_64. */
static bool foreign_arch(const char *triple) {
  char *host = LLVMGetDefaultTargetTriple();
  size_t a = strcspn(triple, "-"), b = strcspn(host, "-");
  bool foreign = a != b || strncmp(triple, host, a);
  LLVMDisposeMessage(host);
  return foreign;
}

static int compile_main(int argc, char **argv) {
  cli_common common;
  cli_common_init(&common);
  const char *model = NULL, *out = NULL, *name = "model", *emit = "obj", *weights = NULL;
  cli_progress_state progress = {0};
  vitc_target_options target = {NULL, NULL, NULL, 3, cli_progress, &progress};
  for (int i = 1; i < argc;) {
    int r = cli_parse_common(&cli_compile, &common, argc, argv, &i);
    if (!r) r = cli_option_value(argc, argv, &i, "-o", &out);
    if (!r) r = cli_option_value(argc, argv, &i, "--name", &name);
    if (!r) r = cli_option_value(argc, argv, &i, "--emit", &emit);
    if (!r) r = cli_option_value(argc, argv, &i, "--weights", &weights);
    if (!r) r = cli_option_value(argc, argv, &i, "--target", &target.triple);
    if (!r) r = cli_option_value(argc, argv, &i, "--mcpu", &target.cpu);
    if (!r) r = cli_option_value(argc, argv, &i, "--mattr", &target.features);
    if (r < 0) return CLI_EXIT_ERROR;
    if (r) continue;
    if (argv[i][0] == '-') return cli_usage_error(&cli_compile, "unknown option '%s'", argv[i]);
    if (model) return cli_usage_error(&cli_compile, "unexpected argument '%s'", argv[i]);
    model = argv[i++];
  }
  if (!model) return cli_usage_error(&cli_compile, "missing MODEL");
  if (!out) return cli_usage_error(&cli_compile, "missing -o OUT");
  if (!is_c_identifier(name)) return cli_usage_error(&cli_compile, "--name '%s' is not a C identifier", name);
  static const struct {
    const char *name;
    vitc_emit_kind kind;
  } kinds[] = {{"obj", VITC_EMIT_OBJ}, {"asm", VITC_EMIT_ASM}, {"llvm", VITC_EMIT_LLVM}, {"shared", VITC_EMIT_SHARED}};
  int kind = -1;
  for (int k = 0; k < 4; k++)
    if (!strcmp(emit, kinds[k].name)) kind = k;
  if (kind < 0) return cli_usage_error(&cli_compile, "--emit must be obj, asm, llvm or shared, not '%s'", emit);
  /* The shared library is linked by this machine's cc with this machine's runtime archive. */
  if (kinds[kind].kind == VITC_EMIT_SHARED && target.triple && foreign_arch(target.triple))
    return cli_usage_error(&cli_compile, "--emit shared links with this machine's cc and runtime, not for --target %s: "
                           "use --emit obj and link %s.o with that target's gcc and a runtime built for it "
                           "(as tools/cross-aarch64.sh does)", target.triple, name);

  vitc_error err = {0};
  LLVMTargetMachineRef tm;
  if (vitc_target_machine(&target, &tm, &err)) return cli_error("%s", err.msg);
  target.release_constants = true; /* the graph is only freed after its code is generated */
  vitc_graph *g = cli_load(&common, model);
  vitc_module *m = NULL;
  int status = CLI_EXIT_OK;
  if (!g) status = CLI_EXIT_ERROR;
  else if (vitc_codegen_for(g, name, tm, &target, weights == NULL, &m, &err)) status = cli_error("%s", err.msg);
  else cli_note_precision(&common, m->cpu_features);
  if (!status) {
    char header[4096];
    header_path(out, name, header, sizeof header);
    bool with_header = kinds[kind].kind == VITC_EMIT_OBJ || kinds[kind].kind == VITC_EMIT_SHARED;
    cli_progress(&progress, "machine code", 0, 0);
    vitc_status st = vitc_emit(m, tm, kinds[kind].kind, out, with_header ? header : NULL, weights, &err);
    cli_progress(&progress, NULL, 0, 0);
    if (st)
      status = cli_error("%s", err.msg);
    else
      printf("wrote %s%s%s%s%s (weights %zu bytes, scratch %zu bytes)\n", out, with_header ? " and " : "",
             with_header ? header : "", weights ? " and " : "", weights ? weights : "", m->weights_size, m->scratch_size);
  }
  vitc_module_free(m);
  vitc_graph_free(g);
  LLVMDisposeTargetMachine(tm);
  return status;
}

const cli_command cli_compile = {
    "compile",
    "Compile MODEL ahead of time. Writes OUT and, for obj and shared, NAME.h beside it declaring\n"
    "NAME_create/NAME_run/NAME_destroy; link with -lvitc_rt -lm -lpthread.\n\n"
    "  -o OUT             output file (written under a temporary name, renamed when complete)\n"
    "  --name NAME        symbol prefix, a C identifier (default: model)\n"
    "  --emit KIND        obj (default), asm, llvm, or shared (a .so that `vitc run` and `vitc inspect`\n"
    "                     load; this machine's architecture only)\n"
    "  --weights FILE     keep the weights in FILE (mapped at NAME_create_mapped, checked by hash)\n"
    "                     instead of embedding them in .rodata\n"
    "  --target TRIPLE    cross-compile (default: this machine, with its CPU features)\n"
    "  --mcpu CPU         target CPU (e.g. znver4, neoverse-v1)\n"
    "  --mattr FEATURES   target features (e.g. +avx512f,+fma)",
    "vitc compile MODEL -o OUT [--name NAME] [--emit obj|asm|llvm|shared] [--weights FILE]\n"
    "                    [--target TRIPLE --mcpu CPU --mattr FEATURES] [model options]",
    compile_main,
    CLI_OPTS_MODEL,
};
