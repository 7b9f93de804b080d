/* test_jit_pages.c — what a JIT compilation leaves in memory (issue 16: weights held once). With a compile
 * cache, the weights blob is built in the entry's file and hashed a piece at a time, each piece's pages
 * given back (backend/cg.c, codegen.c): once compiled, none of it is resident until the model runs; near
 * miss: built in memory (no cache), all of it is. The blob's bytes are the same in a file as in memory,
 * and in memory again when the file cannot grow. Once the model is linked, libLLVM's code pages are
 * unmapped (backend/jit.c): near miss, they are resident beforehand (tens of MB: the kernel maps a library's
 * code a whole folio at a time). Runs from the source directory. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Target.h>

#include "backend/backend.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/vitc_rt.h"
#include "check.h"
#include "resident.h"

#define MODEL "tests/models/demo/model.onnx" /* 1.4 MB of weights */

/* The demo model compiled with the cache in dir (NULL: none); the weights' resident kilobytes after. */
static long compiled_weights_kb(const vitc_graph *g, const char *dir) {
  vitc_target_options t = {.opt_level = 3, .cache_dir = dir};
  vitc_compiled *c = NULL;
  vitc_error err = {0};
  vitc_status st = vitc_compile_jit(g, &t, &c, &err);
  if (st) fprintf(stderr, "%s\n", err.msg);
  CHECK(st == VITC_OK);
  if (!c) return -1;
  vitc_compiled_wait_store(c);
  CHECK(c->module->weights_size > 1000000 && c->cached == (dir != NULL));
  long kb = resident_kb(c->module->weights);
  CHECK(kb >= 0);
  vitc_compiled_free(c);
  return kb;
}

/* The blob code generation builds for g: in memory, or in the file fd (from a page in) when fd >= 0; its
 * bytes copied into *bytes (malloc'd) and *size; whether it was left in the file. */
static bool build_blob(const vitc_graph *g, LLVMTargetMachineRef tm, int fd, unsigned char **bytes, size_t *size) {
  vitc_weights_file file = {fd, (uint64_t)sysconf(_SC_PAGESIZE)};
  vitc_target_options t = {.opt_level = 3, .weights_file = fd >= 0 ? &file : NULL};
  vitc_module *m = NULL;
  vitc_error err = {0};
  CHECK(vitc_codegen_ir(g, "m", tm, &t, false, &m, &err) == VITC_OK);
  *bytes = m ? malloc(m->weights_size) : NULL;
  *size = m ? m->weights_size : 0;
  if (*bytes) memcpy(*bytes, m->weights, m->weights_size);
  CHECK(!m || m->weights_hash == vitc_rt_hash(*bytes, *size));
  bool in_file = m && m->weights_mapping_len;
  vitc_module_free(m);
  return in_file;
}

/* The blob is the same built in a file as in memory; a file that cannot grow (opened read-only) leaves it
 * in memory, still the same. */
static void test_blob_in_file(const vitc_graph *g, const char *dir) {
  vitc_target_options t = {.opt_level = 3};
  LLVMTargetMachineRef tm = NULL;
  vitc_error err = {0};
  CHECK(vitc_target_machine(&t, &tm, &err) == VITC_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/blob", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), ro = open(path, O_RDONLY);
  CHECK(fd >= 0 && ro >= 0);
  unsigned char *memory, *file, *refused, *stored;
  size_t n_memory, n_file, n_refused;
  CHECK(!build_blob(g, tm, -1, &memory, &n_memory));
  CHECK(build_blob(g, tm, fd, &file, &n_file));
  CHECK(n_file == n_memory && n_memory > 1000000 && !memcmp(file, memory, n_memory));
  stored = malloc(n_file);
  CHECK(stored && pread(fd, stored, n_file, sysconf(_SC_PAGESIZE)) == (ssize_t)n_file && !memcmp(stored, memory, n_file));
  CHECK(!build_blob(g, tm, ro, &refused, &n_refused));
  CHECK(n_refused == n_memory && !memcmp(refused, memory, n_memory));
  free(memory);
  free(file);
  free(refused);
  free(stored);
  close(fd);
  close(ro);
  unlink(path);
  LLVMDisposeTargetMachine(tm);
}

/* Registering every target runs code that no target machine runs again (10-12 MB of libLLVM's, with the
 * kernel's read-around): vitc_llvm_drop_code_pages registers them first, so a target machine created after
 * it, as the code generation's is after loading a model, brings back only its own code. Near miss: the
 * registration run again after a drop. Runs first: nothing has registered the targets yet. */
static void test_targets_registered_before_drop(const void *llvm_code) {
  vitc_llvm_drop_code_pages();
  long before = resident_kb(llvm_code);
  vitc_target_options t = {.opt_level = 3};
  LLVMTargetMachineRef tm = NULL;
  vitc_error err = {0};
  CHECK(vitc_target_machine(&t, &tm, &err) == VITC_OK);
  LLVMDisposeTargetMachine(tm);
  long machine = resident_kb(llvm_code) - before;
  vitc_llvm_drop_code_pages();
  before = resident_kb(llvm_code);
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  LLVMInitializeAllAsmParsers();
  long registration = resident_kb(llvm_code) - before;
  if (before < 0 || machine >= registration)
    fprintf(stderr, "libLLVM's code brought back: %ld kB by a target machine, %ld kB by registering the targets\n",
            machine, registration);
  CHECK(before >= 0 && machine < registration);
}

int main(void) {
  const void *llvm_code = dlsym(RTLD_DEFAULT, "LLVMContextCreate"); /* looked up before: dlsym reads libLLVM */
  CHECK(llvm_code != NULL);
  test_targets_registered_before_drop(llvm_code);
  vitc_graph *g = NULL;
  vitc_error err = {0};
  vitc_load_options lo = {0};
  vitc_pass_options po = {.opt_level = VITC_OPT_DEFAULT};
  CHECK(vitc_load_onnx(MODEL, &lo, &g, &err) == VITC_OK);
  if (!g) CHECK_DONE();
  CHECK(vitc_run_passes(g, &po, &err) == VITC_OK);
  char dir[] = "/tmp/vitc_jit_pages.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);

  /* LLVM's code: resident once it has run (the near miss), given back once a model is linked. */
  vitc_target_options t = {.opt_level = 3};
  LLVMTargetMachineRef tm = NULL;
  CHECK(vitc_target_machine(&t, &tm, &err) == VITC_OK);
  LLVMDisposeTargetMachine(tm);
  long llvm_before = resident_kb(llvm_code);

  test_blob_in_file(g, dir);
  long in_memory = compiled_weights_kb(g, NULL), in_file = compiled_weights_kb(g, dir);
  if (in_memory < 1000 || in_file > 4)
    fprintf(stderr, "weights resident after compiling: %ld kB in memory, %ld kB in the cache's file\n", in_memory,
            in_file);
  CHECK(in_memory >= 1000 && in_file <= sysconf(_SC_PAGESIZE) / 1024); /* the blob's last page, partly hashed */

  long llvm_after = resident_kb(llvm_code);
  if (llvm_before < 1024 || llvm_after > llvm_before / 4)
    fprintf(stderr, "libLLVM's code: %ld kB resident before, %ld kB after compiling\n", llvm_before, llvm_after);
  CHECK(llvm_before >= 1024 && llvm_after <= llvm_before / 4); /* what linking and freeing ran since it was dropped */

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  vitc_graph_free(g);
  CHECK_DONE();
}
