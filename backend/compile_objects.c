/* compile_objects.c — a module's LLVM optimisation and machine code on several threads.
 *
 * LLVM optimises and compiles a module on one thread, and an LLVM context may not be used by two threads
 * at once. So the module (built by vitc_codegen_ir: its equal kernels already merged) is cut into groups
 * of functions, and each group is compiled to an object on a worker thread in a context of its own:
 *
 *   module ──bitcode──▶ group 0: parse, keep group 0's bodies, default<O3>, machine code ──▶ object 0
 *                  └──▶ group 1: parse, keep group 1's bodies, clean-up only, machine code ──▶ object 1 …
 *
 * Every function and global is made external first, so that a call from one group into another resolves
 * by name when the JIT links the objects (jit.c); in each group the other groups' bodies become
 * declarations (available_externally, then elim-avail-extern drops them before anything else runs).
 *
 * A kernel and its task functions (NAME.nI, NAME.nI.tJ) stay together. Functions carrying the
 * VITC_OPT_LEVEL_ATTR attribute (codegen.c: kernels of ops that only move or combine elements, already
 * vectorised by their builders) get that level (1: CLEAN_UP below), the others the target's. Groups hold one level each,
 * balanced by instruction count (largest first into the lightest group), the highest level's compiled first. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backend.h"
#include "runtime/vitc_rt.h"

/* Level 1: what kernels already vectorised by their builders need: their variables in registers, the
 * address arithmetic simplified and hoisted. A quarter cheaper than default<O1> (Swin-T: codegen CPU
 * ~800 ms against ~1050), which runs loop passes to no use on such code. */
#define CLEAN_UP "function(sroa,early-cse,instcombine,simplifycfg,loop-mssa(licm),instcombine)"

/* Slack, so that a thread with a heavy group is not waited for alone: with 2 per thread, the lone O3 group
 * (Swin-T, ConvNeXt-T) and one of three L1 groups fell to one thread, the two others to the other (ConvNeXt-T
 * 2 threads: 232 against 154 ms CPU); with 3, five smaller L1 groups fill in behind the O3 one (critical
 * thread 226 -> 198 ms CPU, Swin-T 183 -> 179, ViT-B/16 302 -> 306: its one O3 kernel bounds it). Each
 * group reads the whole module's bitcode: 3-5 ms. */
enum { GROUPS_PER_THREAD = 3 };

vitc_status vitc_llvm_run_passes(LLVMModuleRef mod, const char *passes, LLVMTargetMachineRef tm, vitc_error *err) {
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(mod, passes, tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (!e) return VITC_OK;
  char *em = LLVMGetErrorMessage(e);
  vitc_status st = vitc_fail(err, VITC_ERR_INTERNAL, "LLVM optimisation (%s) failed: %s", passes, em);
  LLVMDisposeErrorMessage(em);
  return st;
}

/* The level VITC_OPT_LEVEL_ATTR asks for, else fallback. */
static int function_opt_level(LLVMValueRef fn, int fallback) {
  unsigned len = (unsigned)strlen(VITC_OPT_LEVEL_ATTR);
  LLVMAttributeRef a = LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, VITC_OPT_LEVEL_ATTR, len);
  if (!a) return fallback;
  unsigned n;
  const char *v = LLVMGetStringAttributeValue(a, &n);
  return n == 1 && v[0] >= '0' && v[0] <= '3' ? v[0] - '0' : fallback;
}

typedef struct unit {
  size_t size;   /* instructions */
  int level;     /* LLVM optimisation level */
  int group;
} unit;

typedef struct job {
  const char *bitcode;
  size_t bitcode_size;
  const vitc_target_options *target;
  int ngroups, nfunctions;
  const int *function_group; /* per defined function, in module order */
  const int *group_level;
  LLVMMemoryBufferRef *objects; /* per group */
  vitc_error *errors;           /* per group */
  vitc_status *status;          /* per group */
  atomic_int next;
} job;

static size_t count_instructions(LLVMValueRef fn) {
  size_t n = 0;
  for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
    for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) n++;
  return n;
}

/* The unit a function belongs to: its kernel's name NAME.nI for a kernel or one of its tasks, the whole
 * name otherwise (entry points). Returns the key's length. */
static size_t unit_key(const char *name, size_t len, size_t prefix) {
  if (len <= prefix + 2 || strncmp(name + prefix, ".n", 2)) return len;
  const char *dot = memchr(name + prefix + 2, '.', len - prefix - 2);
  return dot ? (size_t)(dot - name) : len;
}

static LLVMMemoryBufferRef compile_group(job *j, int g, LLVMTargetMachineRef tm, vitc_error *err, vitc_status *st) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMMemoryBufferRef bc = LLVMCreateMemoryBufferWithMemoryRange(j->bitcode, j->bitcode_size, "module", 0);
  LLVMModuleRef mod = NULL;
  LLVMMemoryBufferRef obj = NULL;
  if (LLVMParseBitcodeInContext2(ctx, bc, &mod)) {
    *st = vitc_fail(err, VITC_ERR_INTERNAL, "cannot read back the module's bitcode for group %d", g);
    mod = NULL;
  }
  LLVMDisposeMemoryBuffer(bc);
  int k = 0;
  for (LLVMValueRef f = mod ? LLVMGetFirstFunction(mod) : NULL; f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    if (k >= j->nfunctions) break;
    if (j->function_group[k++] != g) LLVMSetLinkage(f, LLVMAvailableExternallyLinkage);
  }
  if (mod && k != j->nfunctions)
    *st = vitc_fail(err, VITC_ERR_INTERNAL, "the module read back has other functions than were written");
  for (LLVMValueRef v = mod ? LLVMGetFirstGlobal(mod) : NULL; v; v = LLVMGetNextGlobal(v))
    if (g && !LLVMIsDeclaration(v)) LLVMSetLinkage(v, LLVMAvailableExternallyLinkage); /* group 0 defines them */
  char passes[160];
  int level = j->group_level[g];
  if (level == 1) snprintf(passes, sizeof passes, "elim-avail-extern,%s", CLEAN_UP);
  else snprintf(passes, sizeof passes, "elim-avail-extern,default<O%d>", level);
  if (mod && !*st) *st = vitc_llvm_run_passes(mod, passes, tm, err);
  char *msg = NULL;
  if (mod && !*st && LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &obj)) {
    *st = vitc_fail(err, VITC_ERR_INTERNAL, "machine code for group %d: %s", g, msg ? msg : "failed");
    obj = NULL;
  }
  LLVMDisposeMessage(msg);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  return obj;
}

/* Compiles groups until none is left, with a target machine per level (its code generator's level too). */
static void *worker(void *arg) {
  job *j = arg;
  LLVMTargetMachineRef tm[4] = {0};
  for (int g; (g = atomic_fetch_add(&j->next, 1)) < j->ngroups;) {
    int level = j->group_level[g];
    vitc_target_options t = *j->target;
    t.opt_level = level;
    if (!tm[level] && (j->status[g] = vitc_target_machine(&t, &tm[level], &j->errors[g]))) continue;
    j->objects[g] = compile_group(j, g, tm[level], &j->errors[g], &j->status[g]);
  }
  for (int l = 0; l < 4; l++)
    if (tm[l]) LLVMDisposeTargetMachine(tm[l]);
  return NULL;
}

/* Assigns each defined function of m to a group; returns the number of groups (0: out of memory). */
static int plan_groups(const vitc_module *m, const vitc_target_options *t, int threads, int *function_group,
                       int *group_level, int max_groups) {
  size_t prefix = strlen(m->name), len;
  int nfn = 0, nunits = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) nfn += !LLVMIsDeclaration(f);
  unit *units = calloc((size_t)nfn + 1, sizeof *units);
  int *fn_unit = calloc((size_t)nfn + 1, sizeof *fn_unit);
  if (!units || !fn_unit) {
    free(units);
    free(fn_unit);
    return 0;
  }
  /* A kernel's tasks follow it in the module (cg_task_begin adds them while the kernel is written), so a
   * unit is a run of functions with one key. */
  const char *key = NULL;
  size_t key_len = 0;
  int k = 0;
  size_t level_size[4] = {0};
  int level_units[4] = {0};
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    const char *name = LLVMGetValueName2(f, &len);
    size_t kl = unit_key(name, len, prefix);
    if (!key || kl != key_len || strncmp(name, key, kl)) {
      units[nunits].level = function_opt_level(f, t->opt_level);
      level_units[units[nunits++].level]++;
      key = name;
      key_len = kl;
    }
    size_t n = count_instructions(f);
    units[nunits - 1].size += n;
    level_size[units[nunits - 1].level] += n;
    fn_unit[k++] = nunits - 1;
  }
  /* groups per level, in proportion to its instructions; at least one for a level that has any */
  size_t total = 0;
  for (int l = 0; l < 4; l++) total += level_size[l];
  /* Level l's groups are first[l] .. end[l] - 1, the highest level's first: workers take groups in index
   * order, and an O3 group costs more per instruction than a clean-up one (1.2x to 6x: ViT-B/16, Swin-T,
   * ConvNeXt-T), so the costliest start first and the cheap ones fill in behind them. Started last, the
   * lone O3 group of ViT-B/16 or ConvNeXt-T ran on one thread after all the others. */
  int first[4] = {0}, end[4] = {0}, used = 0, budget = threads * GROUPS_PER_THREAD;
  for (int l = 3; l >= 0; l--) {
    int n = !level_size[l] ? 0 : (int)((double)budget * (double)level_size[l] / (double)(total ? total : 1) + 0.5);
    if (level_size[l] && n < 1) n = 1;
    if (n > level_units[l]) n = level_units[l];
    if (used + n > max_groups) n = max_groups - used;
    first[l] = used;
    end[l] = used += n;
    for (int g = first[l]; g < end[l]; g++) group_level[g] = l;
  }
  size_t *load = calloc((size_t)used + 1, sizeof *load);
  int *order = malloc(sizeof *order * ((size_t)nunits + 1));
  int ngroups = load && order ? used : 0;
  for (int u = 0; u < nunits && order; u++) order[u] = u;
  /* largest first into the lightest group of its level (insertion sort: units are few hundred at most) */
  for (int a = 1; ngroups && a < nunits; a++)
    for (int b = a; b > 0 && units[order[b]].size > units[order[b - 1]].size; b--) {
      int tmp = order[b];
      order[b] = order[b - 1];
      order[b - 1] = tmp;
    }
  for (int a = 0; ngroups && a < nunits; a++) {
    unit *u = &units[order[a]];
    int best = first[u->level];
    for (int g = best + 1; g < end[u->level]; g++)
      if (load[g] < load[best]) best = g;
    u->group = best;
    load[best] += u->size;
  }
  for (int f = 0; ngroups && f < nfn; f++) function_group[f] = units[fn_unit[f]].group;
  free(load);
  free(order);
  free(units);
  free(fn_unit);
  return ngroups;
}

/* Every defined function and global external, so that the groups' objects link to each other by name. */
static void make_external(LLVMModuleRef mod) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f)) LLVMSetLinkage(f, LLVMExternalLinkage);
  for (LLVMValueRef v = LLVMGetFirstGlobal(mod); v; v = LLVMGetNextGlobal(v))
    if (!LLVMIsDeclaration(v)) LLVMSetLinkage(v, LLVMExternalLinkage);
}

vitc_status vitc_compile_objects(vitc_module *m, const vitc_target_options *t, int threads,
                                 LLVMMemoryBufferRef **objects, int *nobjects, vitc_error *err) {
  *objects = NULL;
  *nobjects = 0;
  if (threads <= 0) threads = vitc_rt_default_threads();
  int nfn = 0, max_groups = threads * GROUPS_PER_THREAD + 4;
  for (LLVMValueRef f = LLVMGetFirstFunction(m->mod); f; f = LLVMGetNextFunction(f)) nfn += !LLVMIsDeclaration(f);
  int *function_group = calloc((size_t)nfn + 1, sizeof *function_group), group_level[64];
  if (max_groups > 64) max_groups = 64;
  int ngroups = function_group ? plan_groups(m, t, threads, function_group, group_level, max_groups) : 0;
  if (!ngroups) {
    free(function_group);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  make_external(m->mod);
  LLVMMemoryBufferRef bitcode = LLVMWriteBitcodeToMemoryBuffer(m->mod);
  /* The groups read the bitcode: the IR's memory is not kept beside their working memory. */
  LLVMDisposeModule(m->mod);
  LLVMOrcDisposeThreadSafeContext(m->tsc);
  m->mod = NULL, m->tsc = NULL, m->llvm = NULL;
  vitc_give_back_heap();
  job j = {.bitcode = LLVMGetBufferStart(bitcode), .bitcode_size = LLVMGetBufferSize(bitcode), .target = t,
           .ngroups = ngroups, .nfunctions = nfn, .function_group = function_group, .group_level = group_level,
           .objects = calloc((size_t)ngroups, sizeof *j.objects), .errors = calloc((size_t)ngroups, sizeof *j.errors),
           .status = calloc((size_t)ngroups, sizeof *j.status)};
  atomic_init(&j.next, 0);
  vitc_status st = j.objects && j.errors && j.status ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  int nthreads = threads < ngroups ? threads : ngroups;
  pthread_t tid[64];
  int started = 0;
  /* this thread works too: threads - 1 helpers */
  for (; !st && started < nthreads - 1 && started < 64; started++)
    if (pthread_create(&tid[started], NULL, worker, &j)) break;
  if (!st) worker(&j);
  for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
  vitc_give_back_heap(); /* the groups' contexts (each thread's malloc arena) */
  for (int g = 0; !st && g < ngroups; g++)
    if (j.status[g]) {
      *err = j.errors[g];
      st = j.status[g];
    }
  if (!st) {
    *objects = j.objects;
    *nobjects = ngroups;
    j.objects = NULL;
  }
  for (int g = 0; j.objects && g < ngroups; g++)
    if (j.objects[g]) LLVMDisposeMemoryBuffer(j.objects[g]);
  free(j.objects);
  free(j.errors);
  free(j.status);
  free(function_group);
  LLVMDisposeMemoryBuffer(bitcode);
  return st;
}

vitc_status vitc_jit_compile_parallel(vitc_module *m, const vitc_target_options *t, LLVMTargetMachineRef tm,
                                      vitc_objects *objects, vitc_jit **out, vitc_error *err) {
  LLVMMemoryBufferRef *bufs = NULL;
  int nbufs = 0;
  vitc_stage_time since = vitc_stage_clock();
  /* optimisation and machine code overlap on the threads: both count as codegen */
  vitc_status st = vitc_compile_objects(m, t, t->compile_threads, &bufs, &nbufs, err);
  for (int k = 0; !st && k < nbufs; k++) vitc_objects_add(objects, LLVMGetBufferStart(bufs[k]), LLVMGetBufferSize(bufs[k]));
  for (int k = 0; bufs && k < nbufs; k++) LLVMDisposeMemoryBuffer(bufs[k]);
  free(bufs);
  if (!st && objects->incomplete) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory keeping the compiled objects");
  if (st) LLVMDisposeTargetMachine(tm);
  else st = vitc_jit_load(objects, m->name, tm, out, err);
  vitc_stage_add(&m->times.codegen, since);
  return st;
}
