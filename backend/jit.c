/* jit.c — ORC LLJIT. The generated code calls into runtime/ (parallel_for, contexts), which is linked
 * into this library, so those symbols are defined absolutely; libm and libc come from the process. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <link.h>
#include <llvm-c/LLJIT.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "runtime/vitc_rt.h"

struct vitc_jit {
  LLVMOrcLLJITRef lljit;
  void *run; /* NAME_run */
};

static vitc_status llvm_error(LLVMErrorRef e, const char *what, vitc_error *err) {
  char *msg = LLVMGetErrorMessage(e);
  vitc_status st = vitc_fail(err, VITC_ERR_INTERNAL, "JIT: %s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return st;
}

static LLVMErrorRef define_runtime_symbols(LLVMOrcLLJITRef j, LLVMOrcJITDylibRef jd) {
  static const struct {
    const char *name;
    void *addr;
  } syms[] = {
      {"vitc_rt_parallel_for", (void *)vitc_rt_parallel_for},
      {"vitc_rt_ctx_new", (void *)vitc_rt_ctx_new},
      {"vitc_rt_ctx_new_mapped", (void *)vitc_rt_ctx_new_mapped},
      {"vitc_rt_require_cpu", (void *)vitc_rt_require_cpu},
      {"vitc_rt_ctx_free", (void *)vitc_rt_ctx_free},
      {"vitc_rt_node_start", (void *)vitc_rt_node_start},
      {"vitc_rt_node_done", (void *)vitc_rt_node_done},
      {"vitc_rt_run_begin", (void *)vitc_rt_run_begin},
      {"vitc_rt_index_error", (void *)vitc_rt_index_error},
      {"vitc_rt_node_failed", (void *)vitc_rt_node_failed},
      {"vitc_rt_error", (void *)vitc_rt_error},
  };
  enum { N = sizeof syms / sizeof *syms };
  LLVMOrcCSymbolMapPair pairs[N];
  for (int i = 0; i < N; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(j, syms[i].name);
    pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)syms[i].addr;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    pairs[i].Sym.Flags.TargetFlags = 0;
  }
  return LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(pairs, N));
}

/* An LLJIT for tm (which it takes) resolving the runtime's symbols and then the process's. */
static vitc_status jit_new(LLVMTargetMachineRef tm, vitc_jit **out, vitc_error *err) {
  *out = NULL;
  vitc_jit *jit = calloc(1, sizeof *jit);
  if (!jit) {
    LLVMDisposeTargetMachine(tm);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit->lljit, builder);
  if (e) {
    free(jit);
    return llvm_error(e, "cannot create LLJIT", err);
  }
  LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(jit->lljit);
  LLVMOrcDefinitionGeneratorRef process;
  if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&process, LLVMOrcLLJITGetGlobalPrefix(jit->lljit),
                                                                NULL, NULL))) {
    vitc_jit_free(jit);
    return llvm_error(e, "cannot search the process for symbols", err);
  }
  LLVMOrcJITDylibAddGenerator(jd, process);
  if ((e = define_runtime_symbols(jit->lljit, jd))) {
    vitc_jit_free(jit);
    return llvm_error(e, "cannot define runtime symbols", err);
  }
  *out = jit;
  return VITC_OK;
}

/* ---------------------------------------------------------------- LLVM's code given back once linked
 *
 * The kernel maps a shared library's file pages in whole folios (up to 2 MB on ext4), so the code LLVM ran
 * to start, generate and link leaves tens of MB of libLLVM resident (ViT-B/16 warm: 45 of 396 MB), which
 * a host that only runs the linked model never needs again. Its code segment is clean file pages: unmapped
 * from this process they stay in the page cache, and whatever code runs again faults its pages back. A
 * segment written to (text relocations) holds private copies, which unmapping would lose: it is kept. */

static int drop_code_of(struct dl_phdr_info *info, size_t size, void *user) {
  (void)size;
  uintptr_t code = (uintptr_t)user;
  bool mine = false, textrel = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    mine |= ph->p_type == PT_LOAD && code >= start && code < start + ph->p_memsz;
    for (const ElfW(Dyn) *d = ph->p_type == PT_DYNAMIC ? (const void *)start : NULL; d && d->d_tag != DT_NULL; d++)
      textrel |= d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL));
  }
  if (!mine) return 0;
  for (int i = 0; !textrel && i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && !(ph->p_flags & PF_W))
      vitc_drop_pages((const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz);
  }
  return 1;
}

void vitc_llvm_drop_code_pages(void) {
  vitc_llvm_init_targets();
  dl_iterate_phdr(drop_code_of, (void *)(uintptr_t)LLVMOrcCreateLLJIT);
}

/* Looks NAME_run up, which compiles and links everything it reaches now, so that errors surface here. */
static vitc_status jit_link(vitc_jit *jit, const char *name, vitc_error *err) {
  char run[300];
  snprintf(run, sizeof run, "%s_run", name);
  LLVMOrcExecutorAddress addr;
  LLVMErrorRef e = LLVMOrcLLJITLookup(jit->lljit, &addr, run);
  jit->run = e ? NULL : (void *)(uintptr_t)addr;
  return e ? llvm_error(e, "cannot compile the model", err) : VITC_OK;
}

vitc_status vitc_jit_compile(vitc_module *m, LLVMTargetMachineRef tm, vitc_jit **out, vitc_error *err) {
  vitc_jit *jit;
  vitc_status st = jit_new(tm, &jit, err);
  if (st) return st;
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
  m->mod = NULL;
  LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), tsm);
  if (e) st = llvm_error(e, "cannot add the module", err);
  if (!st) st = jit_link(jit, m->name, err);
  if (st) {
    vitc_jit_free(jit);
    return st;
  }
  *out = jit;
  return VITC_OK;
}

vitc_status vitc_jit_load(const vitc_objects *objs, const char *name, LLVMTargetMachineRef tm, vitc_jit **out,
                          vitc_error *err) {
  vitc_jit *jit;
  vitc_status st = jit_new(tm, &jit, err);
  for (int i = 0; !st && i < objs->n; i++) {
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)objs->obj[i].data, objs->obj[i].size, name);
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), buf);
    if (e) st = llvm_error(e, "cannot add a cached object", err);
  }
  if (!st) st = jit_link(jit, name, err);
  if (st) {
    vitc_jit_free(jit);
    return st;
  }
  vitc_llvm_drop_code_pages();
  *out = jit;
  return VITC_OK;
}

void *vitc_jit_run(const vitc_jit *j) { return j->run; }

void *vitc_jit_lookup(vitc_jit *j, const char *symbol) {
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef e = LLVMOrcLLJITLookup(j->lljit, &addr, symbol);
  if (e) {
    LLVMConsumeError(e);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void vitc_jit_free(vitc_jit *j) {
  if (!j) return;
  if (j->lljit) LLVMOrcDisposeLLJIT(j->lljit);
  free(j);
}
