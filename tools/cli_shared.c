/* cli_shared.c — models compiled into shared libraries (`vitc compile --emit shared`), opened with
 * dlopen and called through libffi. The library's NAME_signature becomes a graph with inputs and outputs
 * but no nodes, so `vitc run` reads, checks and writes tensors for it as for an ONNX model. The AOT
 * engine of `vitc check --aot` compiles a graph into such a library first. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli.h"

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

/* The NAME of the one NAME_signature a 64-bit ELF shared library exports (its dynamic symbol table),
 * into name: a library made by `vitc compile --emit shared` states its own name this way. */
static vitc_status model_name(const char *path, char *name, size_t n, vitc_error *err) {
  int fd = open(path, O_RDONLY);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb)) {
    if (fd >= 0) close(fd);
    return vitc_fail(err, VITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  size_t size = (size_t)sb.st_size;
  const unsigned char *f = size >= sizeof(Elf64_Ehdr) ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  close(fd);
  if (f == MAP_FAILED || memcmp(f, ELFMAG, SELFMAG) || f[EI_CLASS] != ELFCLASS64) {
    if (f != MAP_FAILED) munmap((void *)f, size);
    return vitc_fail(err, VITC_ERR_INVALID, "%s: not a 64-bit ELF shared library", path);
  }
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  int found = 0;
  for (int i = 0; eh->e_shoff + (uint64_t)(i + 1) * sizeof(Elf64_Shdr) <= size && i < eh->e_shnum; i++) {
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff) + i;
    if (sh->sh_type != SHT_DYNSYM || sh->sh_link >= eh->e_shnum || sh->sh_offset + sh->sh_size > size) continue;
    const Elf64_Shdr *strtab = (const Elf64_Shdr *)(f + eh->e_shoff) + sh->sh_link;
    if (strtab->sh_offset + strtab->sh_size > size) continue;
    const char *strs = (const char *)f + strtab->sh_offset;
    for (size_t k = 0; k < sh->sh_size / sizeof(Elf64_Sym); k++) {
      const Elf64_Sym *sym = (const Elf64_Sym *)(f + sh->sh_offset) + k;
      if (sym->st_name >= strtab->sh_size || sym->st_shndx == SHN_UNDEF) continue;
      const char *s = strs + sym->st_name;
      size_t len = strnlen(s, strtab->sh_size - sym->st_name), suffix = strlen("_signature");
      if (len <= suffix || len - suffix >= n || strcmp(s + len - suffix, "_signature")) continue;
      if (found++) {
        munmap((void *)f, size);
        return vitc_fail(err, VITC_ERR_INVALID, "%s: it holds several models (%s and %.*s): give --name NAME", path,
                         name, (int)(len - suffix), s);
      }
      snprintf(name, n, "%.*s", (int)(len - suffix), s);
    }
  }
  munmap((void *)f, size);
  if (!found) return vitc_fail(err, VITC_ERR_INVALID, "%s: not a model compiled by vitc (no NAME_signature)", path);
  return VITC_OK;
}

vitc_status cli_shared_open(const char *path, const char *name, cli_shared *s, vitc_graph **g, vitc_error *err) {
  memset(s, 0, sizeof *s);
  vitc_status st = name ? VITC_OK : model_name(path, s->name, sizeof s->name, err);
  if (st) return st;
  if (name) snprintf(s->name, sizeof s->name, "%s", name);
  name = s->name;
  /* dlopen searches the library path for a name without '/': make a relative path explicit. */
  char explicit_path[4096];
  snprintf(explicit_path, sizeof explicit_path, "%s%s", strchr(path, '/') ? "" : "./", path);
  if (!(s->dl = dlopen(explicit_path, RTLD_NOW | RTLD_LOCAL)))
    return vitc_fail(err, VITC_ERR_IO, "%s: cannot load: %s", path, dlerror());
  const char *signature = symbol(s->dl, name, "signature");
  s->run = symbol(s->dl, name, "run");
  s->run_batch = symbol(s->dl, name, "run_batch");
  s->create = symbol(s->dl, name, "create");
  s->create_mapped = symbol(s->dl, name, "create_mapped");
  s->destroy = symbol(s->dl, name, "destroy");
  if (!signature || !s->run || !s->destroy || (!s->create && !s->create_mapped)) {
    cli_shared_close(s);
    return vitc_fail(err, VITC_ERR_INVALID, "%s: not a model compiled by vitc with --name %s (no %s_signature/_run)",
                     path, name, name);
  }
  if ((st = signature_graph(path, signature, g, err))) cli_shared_close(s);
  for (int k = 0; !st && s->run_batch && k < (*g)->ninputs; k++) /* its batch binds from the data */
    (*g)->tensors[(*g)->inputs[k]].dim_param[0] = "batch";
  return st;
}

void cli_shared_close(cli_shared *s) {
  if (s->dl) dlclose(s->dl);
  s->dl = NULL;
}

vitc_status cli_shared_run(const cli_common *c, const cli_shared *s, const char *weights, const vitc_graph *g,
                           const vitc_value *inputs, vitc_value *outputs, vitc_error *err) {
  char why[512] = "out of memory creating a context";
  void *ctx;
  if (s->create_mapped) {
    if (!weights) return vitc_fail(err, VITC_ERR_INVALID, "%s: the model keeps its weights in a file: give --weights FILE", g->path);
    ctx = s->create_mapped(weights, why, sizeof why);
  } else {
    ctx = s->create();
  }
  if (!ctx) return vitc_fail(err, VITC_ERR_IO, "%s: %s", g->path, why);
  vitc_status st = s->images ? cli_run_context(c, g, s->run_batch, s->images, ctx, inputs, outputs, err)
                             : cli_run_context(c, g, s->run, 0, ctx, inputs, outputs, err);
  s->destroy(ctx);
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
    if (!(st = vitc_codegen(g, AOT_NAME, tm, 3, true, &m, err))) {
      cli_note_precision(c, m->cpu_features);
      st = vitc_emit(m, tm, VITC_EMIT_SHARED, lib, NULL, NULL, err);
    }
    LLVMDisposeTargetMachine(tm);
  }
  if (!st && !(st = cli_shared_open(lib, AOT_NAME, &s, &sig, err))) {
    st = cli_shared_run(c, &s, NULL, g, inputs, outputs, err);
    cli_shared_close(&s);
  }
  vitc_graph_free(sig);
  vitc_module_free(m);
  unlink(lib);
  rmdir(dir);
  return st;
}
