/* target.c — target machines. For the host, the CPU name LLVM reports can be "generic" (seen on Zen 5)
 * while the feature list is right, so the host's features are always passed: without them the JIT
 * would emit SSE2 code. */
#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

static void init_all_targets(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  LLVMInitializeAllAsmParsers();
}

void vitc_llvm_init_targets(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_all_targets);
}

/* LLVM accepts an unknown CPU or feature with only a warning written to stderr ("'x' is not a recognized
 * processor for this target (ignoring processor)") and then generates baseline code; the C API has no
 * way to ask. So the warning is captured while the machine is created and turned into an error. */
static LLVMTargetMachineRef create_checked(LLVMTargetRef target, const char *triple, const char *cpu,
                                           const char *features, LLVMCodeGenOptLevel level, char *complaint,
                                           size_t n) {
  static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&stderr_lock);
  fflush(stderr);
  FILE *capture = tmpfile();
  int saved = capture ? dup(2) : -1;
  if (saved >= 0) dup2(fileno(capture), 2);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, level, LLVMRelocPIC,
                                                    LLVMCodeModelDefault);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
    rewind(capture);
    size_t got = fread(complaint, 1, n - 1, capture);
    complaint[got] = 0;
    char *nl = strchr(complaint, '\n');
    if (nl) *nl = 0;
  }
  if (capture) fclose(capture);
  pthread_mutex_unlock(&stderr_lock);
  return tm;
}

vitc_status vitc_target_machine(const vitc_target_options *t, LLVMTargetMachineRef *out, vitc_error *err) {
  vitc_llvm_init_targets();
  *out = NULL;
  bool host = !t->triple || !*t->triple;
  char *triple = host ? LLVMGetDefaultTargetTriple() : LLVMNormalizeTargetTriple(t->triple);
  char *host_cpu = NULL, *host_features = NULL;
  LLVMTargetRef target;
  char *msg = NULL;
  vitc_status st = VITC_OK;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    st = vitc_fail(err, VITC_ERR_INVALID, "unknown target triple '%s': %s", t->triple ? t->triple : triple, msg);
    goto out;
  }
  const char *cpu = t->cpu, *features = t->features;
  /* The host's features only go with the host's CPU: `--mcpu x86-64-v3` alone means that CPU's features,
   * not this machine's AVX-512 (an object built so must run on every x86-64-v3). */
  if (host && (!cpu || !*cpu)) {
    host_cpu = LLVMGetHostCPUName();
    host_features = LLVMGetHostCPUFeatures();
    cpu = host_cpu;
    if (!features) features = host_features;
  }
  if (!cpu) cpu = "generic";
  if (!features) features = "";
  LLVMCodeGenOptLevel level = t->opt_level <= 0 ? LLVMCodeGenLevelNone
                              : t->opt_level == 1 ? LLVMCodeGenLevelLess
                              : t->opt_level == 2 ? LLVMCodeGenLevelDefault
                                                  : LLVMCodeGenLevelAggressive;
  char complaint[512] = "";
  LLVMTargetMachineRef tm = create_checked(target, triple, cpu, features, level, complaint, sizeof complaint);
  if (!tm) {
    st = vitc_fail(err, VITC_ERR_INVALID, "cannot create a target machine for '%s' (cpu '%s')", triple, cpu);
    goto out;
  }
  if (*complaint) {
    LLVMDisposeTargetMachine(tm);
    st = vitc_fail(err, VITC_ERR_INVALID, "target '%s': %s", triple, complaint);
    goto out;
  }
  *out = tm;
out:
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(host_cpu);
  LLVMDisposeMessage(host_features);
  return st;
}

/* The feature list is comma-separated "+name"/"-name" entries; the host's lists disabled ones too. */
static bool has_feature(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
    if (p > list && p[-1] == '+' && (p - 1 == list || p[-2] == ',') && (p[n] == ',' || p[n] == 0)) return true;
  return false;
}

bool vitc_target_has_feature(LLVMTargetMachineRef tm, const char *feature) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  bool has = has_feature(features, feature);
  LLVMDisposeMessage(features);
  return has;
}

bool vitc_features_dpbf16(const char *features) { return has_feature(features, "avx512bf16"); }

int vitc_target_lanes(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  int lanes = has_feature(features, "avx512f")                                  ? 16
              : has_feature(features, "avx") || has_feature(features, "avx2") ? 8
                                                                               : 4;
  LLVMDisposeMessage(features);
  return lanes;
}

int vitc_target_vector_registers(LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  bool arm64 = strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0;
  LLVMDisposeMessage(triple);
  return arm64 || vitc_target_has_feature(tm, "avx512f") ? 32 : 16;
}

vitc_int8_dot vitc_target_int8_dot(LLVMTargetMachineRef tm) {
  char *features = LLVMGetTargetMachineFeatureString(tm);
  vitc_int8_dot dot = has_feature(features, "avx512vnni") ? VITC_INT8_VNNI512
                      : has_feature(features, "avxvnni")  ? VITC_INT8_VNNI256
                      : has_feature(features, "avx2")     ? VITC_INT8_PMADDWD
                                                          : VITC_INT8_NONE;
  LLVMDisposeMessage(features);
  return dot;
}
