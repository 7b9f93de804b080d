/* backend.h — from an optimised, shape-complete graph to native code through the LLVM 16 C API.
 *
 * vitc_codegen lowers a graph into one LLVM module: a function per distinct kernel (generated as LLVM IR
 * by the op's emitter named in ir/ops.def, shared by the nodes whose code is the same), and the model's
 * entry points:
 *
 *   NAME_create() / NAME_create_mapped(path) / NAME_destroy(ctx)    contexts (runtime/vitc_rt.h)
 *   int NAME_run(vitc_rt_ctx *ctx, const T *in0, …, T *out0, …)      one inference, caller-owned buffers
 *   const char NAME_signature[]                                      inputs/outputs, for hosts that
 *                                                                      only learn the signature at run time
 *
 * Constants are packed into one weights blob (64-byte aligned entries, possibly transformed at compile
 * time, e.g. prepacked GEMM panels); activations live at planned offsets in the context's scratch.
 * The module then goes to the ORC JIT or to object/asm/IR/shared-library files (aot.c). For the JIT its
 * kernels are optimised and compiled in groups on several threads, movement and element-wise kernels with
 * a clean-up only (compile_objects.c), and the objects linked (jit.c).
 */
#ifndef VITC_BACKEND_H
#define VITC_BACKEND_H

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>

#include "ir/ir.h"

/* Called from the compiling thread as a compilation advances: a stage ("kernels", "optimising",
 * "machine code") with done of total units (total 0: the stage has none), then once with stage NULL when
 * the compilation ends. The library never prints; a tool may (tools/cli_progress.c). */
typedef void (*vitc_progress_fn)(void *user, const char *stage, int done, int total);

typedef struct vitc_target_options {
  const char *triple;   /* NULL: the host */
  const char *cpu;      /* NULL: the host's (features taken from LLVMGetHostCPUFeatures, see target.c) */
  const char *features; /* NULL: the host's for the host's CPU, the named CPU's own otherwise */
  int opt_level;        /* 0..3: LLVM pipeline default<ON> */
  vitc_progress_fn progress; /* NULL: none */
  void *progress_user;
  const char *cache_dir; /* vitc_compile_jit's compile cache (cache.c); NULL: none */
  uint64_t cache_max_bytes; /* entries beyond this size are removed, least recently used first; 0: 4 GiB */
  int compile_threads; /* JIT: threads optimising and compiling (0: vitc_rt_default_threads()) */
  /* A run of row-wise nodes whose widest tensor has more bytes than this runs a group of rows at a time,
   * groups of at most a quarter of it (row_groups.c); 0: 16 MB, half the L3 of the CPUs measured. */
  size_t row_group_bytes;
  /* The graph is only freed after this compilation: each constant's memory is given back (vitc_drop_pages)
   * once the nodes reading it are compiled and it is in the weights blob, so that the constants and the
   * blob are not held in full together. Its values are gone then (a copy reads as zeros). */
  bool release_constants;
  /* JIT: the weights blob is built in this file (a compile cache entry being written: cache.c) rather than
   * in memory, so that its pages can leave memory as it grows; NULL: in memory. */
  const struct vitc_weights_file *weights_file;
} vitc_target_options;

/* A file, open for reading and writing, whose bytes from `offset` (a multiple of the page size) on hold
 * the weights blob; the file is grown as the blob is (vitc_cache_entry_weights_file). */
typedef struct vitc_weights_file {
  int fd;
  uint64_t offset;
} vitc_weights_file;

/* Registers every LLVM target (once): the first target machine's, or the first vitc_llvm_drop_code_pages'. */
void vitc_llvm_init_targets(void);
/* A target machine for the options; fails naming an unknown triple or CPU. */
vitc_status vitc_target_machine(const vitc_target_options *t, LLVMTargetMachineRef *out, vitc_error *err);
/* Floats per vector register the generated code should use on tm: 16 with AVX-512, 8 with AVX(2), else 4
 * (SSE, NEON). Read from tm's feature list (a CPU named without features counts as its baseline). */
int vitc_target_lanes(LLVMTargetMachineRef tm);
/* Vector registers the target has: 32 with AVX-512 and on AArch64, 16 with AVX(2) or SSE. With
 * vitc_target_lanes, what sizes a kernel's register tile (emit_gemm.h: f32v_registers). */
int vitc_target_vector_registers(LLVMTargetMachineRef tm);
/* The instruction an int8 product (vitc.Int8Gemm, emit_gemm_int8.c) is built on, the widest tm has:
 * vpdpbusd on 512 bits (avx512vnni) or 256 (avxvnni), vpmaddwd on int16 pairs (avx2), or none. */
typedef enum vitc_int8_dot { VITC_INT8_NONE, VITC_INT8_PMADDWD, VITC_INT8_VNNI256, VITC_INT8_VNNI512 } vitc_int8_dot;
vitc_int8_dot vitc_target_int8_dot(LLVMTargetMachineRef tm);
/* Whether tm's feature list enables `feature` (an LLVM name such as "avx512bf16"). */
bool vitc_target_has_feature(LLVMTargetMachineRef tm, const char *feature);
/* Whether code for this LLVM feature list (a target machine's, vitc_module.cpu_features) runs bf16 products
 * on vdpbf16ps (avx512bf16). Without it they are emulated (emit_gemm.h): the same bf16 operands and the
 * same float32 sums, from two FMAs per pair, at no speed-up over float32. */
bool vitc_features_dpbf16(const char *features);

/* Where the backend's time went (ir/ir.h: vitc_stage_time). */
typedef struct vitc_backend_times {
  vitc_stage_time ir;       /* the kernels' and entry points' LLVM IR, written by the op emitters */
  vitc_stage_time weights;  /* of which: constants copied or prepacked into the weights blob */
  vitc_stage_time optimise; /* verifying, merging equal kernels, LLVM's optimisation pipeline */
  vitc_stage_time codegen;  /* instruction selection, machine code and linking (JIT) */
} vitc_backend_times;

typedef struct vitc_module {
  LLVMOrcThreadSafeContextRef tsc; /* owns llvm */
  LLVMContextRef llvm;
  LLVMModuleRef mod;
  char *name;            /* symbol prefix */
  unsigned char *weights; /* packed constants: malloc'd, or a read-only mapping of weights_mapping_len bytes */
  size_t weights_mapping_len; /* nonzero: weights map vitc_target_options.weights_file, which they are in */
  /* embed_weights: NAME_weights, zeros of the blob's size in section VITC_WEIGHTS_SECTION "NAME_weights",
   * over which vitc_emit writes `weights` in the object file; NULL otherwise. */
  LLVMValueRef weights_gv;
  size_t weights_size;
  uint64_t weights_hash;
  size_t scratch_size;
  int nkernels;          /* distinct node functions: nodes with the same code share one */
  char *signature;       /* the NAME_signature text (malloc'd) */
  char *cpu_features;    /* the target's LLVM feature list the code was built for (NAME_cpu_features) */
  vitc_backend_times times;
  bool per_image;        /* one image of a symbolic batch: NAME_run_batch exists (vitc_graph_per_image) */
} vitc_module;

#define VITC_WEIGHTS_SECTION ".rodata.vitc." /* + NAME_weights: the embedded blob's ELF section */

/* Generates, verifies and optimises the module for tm. `embed_weights` gives the module the blob as
 * NAME_weights (AOT default), written into the output by vitc_emit; otherwise NAME_create is left out and
 * the host supplies the blob (JIT, or a side file). */
vitc_status vitc_codegen(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm, int opt_level,
                         bool embed_weights, vitc_module **out, vitc_error *err);
/* The same at t->opt_level, reporting to t->progress. */
vitc_status vitc_codegen_for(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm,
                             const vitc_target_options *t, bool embed_weights, vitc_module **out, vitc_error *err);
/* The module's IR, verified and with equal kernels merged, but not optimised: for vitc_compile_objects. */
vitc_status vitc_codegen_ir(const vitc_graph *g, const char *name, LLVMTargetMachineRef tm,
                            const vitc_target_options *t, bool embed_weights, vitc_module **out, vitc_error *err);
void vitc_module_free(vitc_module *m);

/* A function attribute: the LLVM optimisation level ("0".."3") a function needs at most, where it is less
 * than the target's (codegen.c sets it on kernels that only move or combine elements). */
#define VITC_OPT_LEVEL_ATTR "vitc-opt-level"
/* Runs an LLVM pass pipeline (text, as opt's -passes) over mod for tm. */
vitc_status vitc_llvm_run_passes(LLVMModuleRef mod, const char *passes, LLVMTargetMachineRef tm, vitc_error *err);
/* Optimises and compiles m (from vitc_codegen_ir) into objects on up to `threads` threads (0:
 * vitc_rt_default_threads()), each group of kernels in an LLVM context of its own at its level
 * (compile_objects.c). Takes m's LLVM module (disposed once written as bitcode, which the groups read;
 * m keeps weights and metadata). *objects (malloc'd, *nobjects entries)
 * link into one program (vitc_jit_compile_parallel). */
vitc_status vitc_compile_objects(vitc_module *m, const vitc_target_options *t, int threads,
                                 LLVMMemoryBufferRef **objects, int *nobjects, vitc_error *err);
/* VITC_ERR_UNSUPPORTED naming the feature when this CPU lacks one the module's code was built for. */
vitc_status vitc_module_check_cpu(const vitc_module *m, vitc_error *err);

/* ---------------------------------------------------------------- JIT */

typedef struct vitc_jit vitc_jit;
/* Takes ownership of m's LLVM module (m keeps weights and metadata) and of tm, and compiles the entry
 * points eagerly so that errors surface here. */
vitc_status vitc_jit_compile(vitc_module *m, LLVMTargetMachineRef tm, vitc_jit **out, vitc_error *err);

/* Object files: those the JIT linked (captured for the compile cache) or those a cache entry holds. */
typedef struct vitc_object {
  unsigned char *data;
  size_t size;
} vitc_object;
typedef struct vitc_objects {
  vitc_object *obj;
  int n, cap;
  bool incomplete; /* an object could not be kept (out of memory) */
} vitc_objects;
/* Appends a copy of data (thread-safe: the JIT may link on several threads). */
void vitc_objects_add(vitc_objects *o, const void *data, size_t size);
void vitc_objects_free(vitc_objects *o);
/* A JIT linking the objects (of a module called name: vitc_jit_compile_parallel's, or a cache entry's)
 * without any LLVM IR; takes tm. */
vitc_status vitc_jit_load(const vitc_objects *objs, const char *name, LLVMTargetMachineRef tm, vitc_jit **out,
                          vitc_error *err);
/* vitc_compile_objects on t->compile_threads, its objects appended to `objects` (the caller's to free, and
 * to store in the compile cache), then vitc_jit_load: the JIT's compilation of a module from
 * vitc_codegen_ir. Takes tm, and m's LLVM module (m keeps weights and metadata). */
vitc_status vitc_jit_compile_parallel(vitc_module *m, const vitc_target_options *t, LLVMTargetMachineRef tm,
                                      vitc_objects *objects, vitc_jit **out, vitc_error *err);
void *vitc_jit_lookup(vitc_jit *j, const char *symbol); /* NULL if absent */
/* NAME_run, found when the JIT linked: no lookup runs LLVM's code again (vitc_llvm_drop_code_pages). */
void *vitc_jit_run(const vitc_jit *j);
/* Unmaps libLLVM's code pages from this process (jit.c): once a model is linked, only what LLVM runs again
 * comes back. Nothing is lost: they are clean pages of the library's file. The targets are registered
 * first, so that the code doing it (12 MB touched, run once) is not brought back later beside the weights. */
void vitc_llvm_drop_code_pages(void);
void vitc_jit_free(vitc_jit *j);

/* A graph compiled in-process and ready to run: what `vitc run`/`check` and the public API use. */
typedef struct vitc_cache_store vitc_cache_store; /* an entry being written (cache.c) */
typedef struct vitc_compiled {
  vitc_module *module;
  vitc_jit *jit;
  void *run_fn; /* NAME_run */
  void (*hook)(void *user, int node, const char *label, uint64_t ns);
  void *hook_user;
  void *mapping; /* the compile cache's entry, read-only, when module->weights lie in it (else NULL) */
  size_t mapping_len;
  bool cached;          /* the compile cache holds this compilation: loaded from there, or stored (storing) */
  uint64_t cache_key[2]; /* then: its entry's key */
  vitc_cache_store *storing; /* the entry being written in the background, until vitc_compiled_wait_store */
} vitc_compiled;
/* Code-generates g for the target and JIT-compiles it; with t->cache_dir, looks the compilation up in the
 * compile cache first and after a miss starts storing it there (cache.c), which vitc_compiled_wait_store
 * or vitc_compiled_free waits for. */
vitc_status vitc_compile_jit(const vitc_graph *g, const vitc_target_options *t, vitc_compiled **out, vitc_error *err);
/* Waits for c's entry to be stored, if it is being stored; then c->cached tells whether it was. */
void vitc_compiled_wait_store(vitc_compiled *c);
/* The compilation in t->cache_dir's entry `key` (vitc_compiled.cache_key), without its graph; false when
 * that entry is missing or not whole. */
bool vitc_compiled_from_cache(const vitc_target_options *t, const uint64_t key[2], vitc_compiled **out);
void vitc_compiled_free(vitc_compiled *c);
/* One run on a fresh context with nthreads threads (0: one per CPU): outputs get malloc'd data owned
 * by the caller, typed like the graph's outputs. */
vitc_status vitc_compiled_run_once(const vitc_compiled *c, const vitc_graph *g, int nthreads, const vitc_value *inputs,
                                   vitc_value *outputs, vitc_error *err);
/* Installs a timing hook (runtime/vitc_rt.h) on the contexts vitc_compiled_run_once creates. */
void vitc_compiled_set_node_hook(vitc_compiled *c, void (*hook)(void *user, int node, const char *label, uint64_t ns),
                                 void *user);

/* ---------------------------------------------------------------- compile cache (cache.c) */

/* The compile cache's directory: $VITC_CACHE_DIR, else $XDG_CACHE_HOME/vitc, else ~/.cache/vitc; false
 * when none can be named. */
bool vitc_cache_default_dir(char *dir, size_t n);
/* One compilation of g for tm with t's options and entry points NAME_*, and where it is kept under dir.
 * NULL when it cannot be cached (out of memory, a path too long, this build not identifiable). */
typedef struct vitc_cache_entry vitc_cache_entry;
vitc_cache_entry *vitc_cache_entry_new(const char *dir, const vitc_graph *g, LLVMTargetMachineRef tm,
                                       const vitc_target_options *t, const char *name);
/* The entry whose key is key (vitc_compiled.cache_key), to be loaded without describing the compilation
 * again: its header's key and hashes are still checked. NULL when out of memory or the path is too long. */
vitc_cache_entry *vitc_cache_entry_of_key(const char *dir, const uint64_t key[2]);
void vitc_cache_entry_free(vitc_cache_entry *e);
const uint64_t *vitc_cache_entry_key(const vitc_cache_entry *e); /* its two words */
/* The file the entry is written to before it is renamed into place, created in its directory: code
 * generation builds the weights blob in it (vitc_target_options.weights_file), and the store then adds
 * the rest. False when it cannot be created (nothing will be cached then). */
bool vitc_cache_entry_weights_file(vitc_cache_entry *e, vitc_weights_file *f);
/* On a hit fills c's module (weights in the read-only mapping c->mapping) and JIT (linked from the cached
 * objects; it takes *tm, which becomes NULL) and returns true. False for an entry that is missing,
 * corrupt, truncated or another compilation's: then *tm is the caller's still, or NULL if the JIT
 * took it and failed. */
bool vitc_cache_load(const vitc_cache_entry *e, const char *name, LLVMTargetMachineRef *tm, vitc_compiled *c);
/* Starts writing the entry (m's metadata and weights unless m->weights_mapping_len says they are in the
 * entry's file already, the objects) atomically on a thread of its own, so
 * that the first result need not wait for it; takes e and the objects (objs is left empty). m must live
 * until vitc_cache_store_finish. NULL when nothing will be stored (an incomplete object list). Storing
 * then removes the least recently used other entries while all of them take more than max_bytes
 * (0: VITC_CACHE_MAX_BYTES), and temporary files a writer left an hour ago. */
#define VITC_CACHE_MAX_BYTES (4ull << 30)
vitc_cache_store *vitc_cache_store_start(vitc_cache_entry *e, const vitc_module *m, vitc_objects *objs,
                                         uint64_t max_bytes);
/* Waits for the store and frees s (NULL: nothing); true when the entry is in place. */
bool vitc_cache_store_finish(vitc_cache_store *s);
/* The index of model files: `source` (the caller's description of a model file and of the options it is
 * loaded with) to the key of the entry its compilation is in, so that a host loading the same file again
 * need not read it. The index is this build's: another build's records are not seen. */
bool vitc_cache_index_read(const char *dir, const void *source, size_t len, uint64_t key[2]);
void vitc_cache_index_write(const char *dir, const void *source, size_t len, const uint64_t key[2]);

/* ---------------------------------------------------------------- AOT */

typedef enum vitc_emit_kind { VITC_EMIT_OBJ, VITC_EMIT_ASM, VITC_EMIT_LLVM, VITC_EMIT_SHARED } vitc_emit_kind;
/* Writes the module (and, for obj/shared, NAME.h beside it) to path through a temporary file renamed on
 * success: a failure never leaves a partial output. weights_path, if not NULL, receives the weights
 * side file (the module was generated without embedded weights). Embedded weights go into the output
 * too (aot.c: written into an ELF object's section after LLVM, else the initializer of NAME_weights,
 * which is then set in m's module). */
vitc_status vitc_emit(vitc_module *m, LLVMTargetMachineRef tm, vitc_emit_kind kind, const char *path,
                      const char *header_path, const char *weights_path, vitc_error *err);

/* ---------------------------------------------------------------- signature */

typedef struct vitc_io_desc {
  char name[256];
  vitc_dtype dtype;
  int rank;
  int64_t dims[VITC_MAX_RANK];
} vitc_io_desc;
/* Parses a NAME_signature text ("in NAME DTYPE D0xD1…\n…out …\n"). */
vitc_status vitc_parse_signature(const char *text, vitc_io_desc *ins, int max_in, int *nin, vitc_io_desc *outs,
                                 int max_out, int *nout, vitc_error *err);

/* Calls NAME_run(ctx, args…) whose arity is known only now, through libffi. */
int vitc_ffi_call_run(void *run_fn, void *ctx, void *const *inputs, int nin, void *const *outputs, int nout);
/* The same for NAME_run_batch(ctx, images, args…). */
int vitc_ffi_call_run_batch(void *run_batch_fn, void *ctx, int64_t images, void *const *inputs, int nin,
                            void *const *outputs, int nout);

#endif
