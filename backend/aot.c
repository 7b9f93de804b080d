/* aot.c — ahead-of-time outputs: object, assembly, LLVM IR or shared library, the C header declaring
 * the model's typed API, and the optional weights side file. Every file is written under a temporary
 * name in its destination directory and renamed only when all of them succeeded, so a failure never
 * leaves a partial output. */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/ErrorHandling.h>

#include "backend.h"

extern char **environ;

#ifndef VITC_RT_ARCHIVE
#define VITC_RT_ARCHIVE "libvitc_rt.a"
#endif

/* A temporary file beside path: "path.tmp.XXXXXX" (created, closed, to be written by name). */
static vitc_status make_temp(const char *path, char *tmp, size_t n, vitc_error *err) {
  snprintf(tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return vitc_fail(err, VITC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  /* mkstemp creates the file 0600; the renamed output should get the mode any new file would. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  return VITC_OK;
}

static vitc_status write_file(const char *tmp, const char *final, const void *data, size_t n, vitc_error *err) {
  FILE *f = fopen(tmp, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
    if (f) fclose(f);
    return vitc_fail(err, VITC_ERR_IO, "%s: write failed: %s", final, strerror(errno));
  }
  return VITC_OK;
}

/* Whether a file of at least `bytes` fits beside `tmp`: the file-size limit and the free space of its file
 * system. LLVM writes the object itself and cannot report a failed write as an error (below), so the
 * object's known lower bound, the weights it holds, is checked before it starts. */
static vitc_status room_for(const char *tmp, const char *final, uint64_t bytes, vitc_error *err) {
  struct rlimit lim;
  if (!getrlimit(RLIMIT_FSIZE, &lim) && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < bytes)
    return vitc_fail(err, VITC_ERR_IO, "%s: write failed: it needs at least %llu bytes, the file size limit is %llu",
                     final, (unsigned long long)bytes, (unsigned long long)lim.rlim_cur);
  struct statvfs fs;
  if (!statvfs(tmp, &fs) && (uint64_t)fs.f_bavail * fs.f_frsize < bytes)
    return vitc_fail(err, VITC_ERR_IO, "%s: write failed: it needs at least %llu bytes, %llu are free", final,
                     (unsigned long long)bytes, (unsigned long long)fs.f_bavail * fs.f_frsize);
  return VITC_OK;
}

/* The files of the output LLVM is writing. A write that fails inside LLVM (a full disk past room_for's
 * estimate) is a fatal error there, which ends the process: its handler, installed only while LLVM
 * writes, removes the temporary files and names the output, so the process ends as any failed command
 * does, with status 2 and no partial file. */
static struct {
  const char *file, *output_tmp, *final;
} llvm_writing;

static void llvm_write_failed(const char *reason) {
  unlink(llvm_writing.file);
  unlink(llvm_writing.output_tmp);
  fprintf(stderr, "vitc: %s: write failed: %s\n", llvm_writing.final, reason);
  _exit(2);
}

/* LLVM writes mod into file (the output's temporary output_tmp, or an object beside it). */
static vitc_status llvm_write(LLVMTargetMachineRef tm, LLVMModuleRef mod, LLVMCodeGenFileType kind, bool text,
                              const char *file, const char *output_tmp, const char *final, vitc_error *err) {
  char *msg = NULL;
  llvm_writing.file = file, llvm_writing.output_tmp = output_tmp, llvm_writing.final = final;
  LLVMInstallFatalErrorHandler(llvm_write_failed);
  bool failed = text ? LLVMPrintModuleToFile(mod, file, &msg) : LLVMTargetMachineEmitToFile(tm, mod, file, kind, &msg);
  LLVMResetFatalErrorHandler();
  vitc_status st = failed ? vitc_fail(err, VITC_ERR_IO, "%s: %s", final, msg ? msg : "write failed") : VITC_OK;
  LLVMDisposeMessage(msg);
  return st;
}

/* Links obj into the shared library tmp_out; messages name the final output path. */
static vitc_status run_linker(const char *obj, const char *tmp_out, const char *out, vitc_error *err) {
  const char *rt = getenv("VITC_RT_LIB") ? getenv("VITC_RT_LIB") : VITC_RT_ARCHIVE;
  char *argv[] = {"cc", "-shared", "-o", (char *)tmp_out, (char *)obj, (char *)rt, "-lm", "-lpthread", NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, "cc", NULL, NULL, argv, environ);
  if (rc) return vitc_fail(err, VITC_ERR_IO, "cannot run the system linker 'cc': %s", strerror(rc));
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status))
    return vitc_fail(err, VITC_ERR_IO, "linking %s failed (cc -shared with %s)", out, rt);
  return VITC_OK;
}

static const char *c_type(vitc_dtype t) {
  switch (t) {
  case VITC_F32: return "float";
  case VITC_F64: return "double";
  case VITC_I64: return "int64_t";
  case VITC_I32: return "int32_t";
  case VITC_I16: return "int16_t";
  case VITC_I8: return "int8_t";
  case VITC_U64: return "uint64_t";
  case VITC_U32: return "uint32_t";
  case VITC_U16: case VITC_F16: case VITC_BF16: return "uint16_t";
  default: return "uint8_t"; /* U8, BOOL */
  }
}

/* A C identifier from a tensor name: other characters become '_', a leading digit gets one. */
static void c_ident(const char *name, char *out, size_t n) {
  size_t k = 0;
  if (isdigit((unsigned char)*name) && k + 1 < n) out[k++] = '_';
  for (; *name && k + 1 < n; name++) out[k++] = isalnum((unsigned char)*name) ? *name : '_';
  out[k] = 0;
}

/* ", const float *in_x, …, float *out_y": the buffers of NAME_run and NAME_run_batch; returns the length. */
static int io_params(char *h, size_t cap, const vitc_io_desc *ins, int nin, const vitc_io_desc *outs, int nout) {
  int n = 0;
  for (int i = 0; i < nin + nout && n < (int)cap; i++) {
    const vitc_io_desc *d = i < nin ? &ins[i] : &outs[i - nin];
    char ident[256];
    c_ident(d->name, ident, sizeof ident);
    n += snprintf(h + n, cap - (size_t)n, ", %s%s *%s%s", i < nin ? "const " : "", c_type(d->dtype),
                  i < nin ? "in_" : "out_", ident);
  }
  return n;
}

/* The header's opening comment, guard and size macros. */
static int header_preamble(char *h, size_t cap, const vitc_module *m, const char *up, bool mapped, int nin, int nout) {
  const char *nm = m->name;
  return snprintf(h, cap,
                  "/* %s.h — generated by vitc. Link %s.o with -lvitc_rt -lm -lpthread.\n"
                  " *\n"
                  " * Create a context per host thread (it owns %zu bytes of scratch and a thread pool), run it\n"
                  " * on caller-owned buffers of the sizes below, destroy it. Weights are %s. */\n"
                  "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
                  "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
                  "typedef struct vitc_rt_ctx vitc_rt_ctx;\n"
                  "const char *vitc_rt_last_error(void); /* why the last NAME_create of this thread failed */\n\n"
                  "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n#define %s_SCRATCH_BYTES %zu\n"
                  "#define %s_WEIGHTS_BYTES %zu\n\n",
                  nm, nm, m->scratch_size,
                  mapped ? "read from a side file (mapped, checked against its size and hash)" : "embedded", up, up, up,
                  nin, up, nout, up, m->scratch_size, up, m->weights_size);
}

/* The RANK, SHAPE and COUNT macros of every input and output. */
static int header_io_macros(char *h, size_t cap, int n, const char *up, const vitc_io_desc *ins, int nin,
                            const vitc_io_desc *outs, int nout) {
  for (int i = 0; i < nin + nout && n < (int)cap; i++) {
    const vitc_io_desc *d = i < nin ? &ins[i] : &outs[i - nin];
    int64_t count = 1;
    char shape[24 * VITC_MAX_RANK + 4] = "";
    int sn = 0;
    for (int r = 0; r < d->rank; r++) {
      count *= d->dims[r];
      sn += snprintf(shape + sn, sizeof shape - (size_t)sn, r ? ", %lld" : "%lld", (long long)d->dims[r]);
    }
    n += snprintf(h + n, cap - (size_t)n,
                  "/* %s %d: \"%s\", %s */\n#define %s_%s%d_RANK %d\n#define %s_%s%d_SHAPE {%s}\n"
                  "#define %s_%s%d_COUNT %lld /* elements */\n",
                  i < nin ? "input" : "output", i < nin ? i : i - nin, d->name, vitc_dtype_name(d->dtype), up,
                  i < nin ? "INPUT" : "OUTPUT", i < nin ? i : i - nin, d->rank, up, i < nin ? "INPUT" : "OUTPUT",
                  i < nin ? i : i - nin, d->rank ? shape : "1", up, i < nin ? "INPUT" : "OUTPUT", i < nin ? i : i - nin,
                  (long long)count);
  }
  return n;
}

/* NAME_create and its _threads form, or NAME_create_mapped for a side weights file. */
static int header_create(char *h, size_t cap, int n, const char *nm, bool mapped) {
  if (mapped)
    return n +
           snprintf(h + n, cap - (size_t)n,
                    "\n/* Maps the weights file written by `vitc compile --weights`; NULL with a message in err\n"
                    " * when it is missing or does not match this model, when this CPU lacks a feature the\n"
                    " * code was compiled for (%s_cpu_features), or when nthreads is 0 and $VITC_NUM_THREADS is\n"
                    " * set but not a count. */\n"
                    "vitc_rt_ctx *%s_create_mapped(const char *weights_path, char *err, size_t errlen);\n"
                    "/* The same with nthreads threads (0: $VITC_NUM_THREADS, else the CPUs this process may use). */\n"
                    "vitc_rt_ctx *%s_create_mapped_threads(const char *weights_path, int nthreads, char *err,\n"
                    "                                       size_t errlen);\n",
                    nm, nm, nm);
  return n + snprintf(h + n, cap - (size_t)n,
                      "\n/* NULL when out of memory, when this CPU lacks a feature the code was compiled for\n"
                      " * (%s_cpu_features), or when $VITC_NUM_THREADS is set but not a count: vitc_rt_last_error()\n"
                      " * says which. Its thread pool has $VITC_NUM_THREADS threads, else one per CPU this process\n"
                      " * may use (affinity, cgroup quota). */\n"
                      "vitc_rt_ctx *%s_create(void);\n"
                      "/* The same with nthreads threads (0: as %s_create). */\n"
                      "vitc_rt_ctx *%s_create_threads(int nthreads);\n",
                      nm, nm, nm, nm);
}

/* NAME_run (and NAME_run_batch of a per-image model), the signature and precision strings, the guard's end. */
static int header_run(char *h, size_t cap, int n, const vitc_module *m, const char *up, const vitc_io_desc *ins,
                      int nin, const vitc_io_desc *outs, int nout) {
  const char *nm = m->name;
  n += snprintf(h + n, cap - (size_t)n, "extern const char %s_cpu_features[]; /* LLVM's +feature list */\n", nm);
  n += snprintf(h + n, cap - (size_t)n,
                "void %s_destroy(vitc_rt_ctx *ctx);\n\n"
                "/* Returns 0, or non-zero when the input data is bad (an index out of range): then the outputs\n"
                " * are undefined and %s_last_error(ctx) says which node, index and bound, until the next run. */\n"
                "const char *%s_last_error(const vitc_rt_ctx *ctx);\nint %s_run(vitc_rt_ctx *ctx",
                nm, nm, nm, nm);
  n += io_params(h + n, cap - (size_t)n, ins, nin, outs, nout);
  n += snprintf(h + n, cap - (size_t)n, ");\n");
  if (m->per_image && n < (int)cap) {
    n +=
        snprintf(h + n, cap - (size_t)n,
                 "\n/* The model was compiled for one image of its symbolic batch: the sizes above are per image.\n"
                 " * %s_run_batch runs n images, every buffer holding n consecutive per-image blocks (%s_INPUT0_COUNT\n"
                 " * elements each, ...); it returns as %s_run does, at the first image that fails. */\n"
                 "#define %s_PER_IMAGE 1\nint %s_run_batch(vitc_rt_ctx *ctx, int64_t n",
                 nm, up, nm, up, nm);
    n += io_params(h + n, cap - (size_t)n, ins, nin, outs, nout);
    n += snprintf(h + n, cap - (size_t)n, ");\n");
  }
  n += snprintf(
      h + n, cap - (size_t)n,
      "\n/* One line per input/output: \"in|out NAME DTYPE D0xD1...\". */\nextern const char %s_signature[];\n"
      "/* The products' arithmetic: \"fp32\", or \"bf16\" (bfloat16 operands, float32 sums; vitc --precision). */\n"
      "extern const char %s_precision[];\n\n"
      "#ifdef __cplusplus\n}\n#endif\n#endif\n",
      nm, nm);
  return n;
}

/* ---------------------------------------------------------------- the embedded weights
 *
 * NAME_weights is zeros in the module (codegen.c): in a little-endian 64-bit ELF object the blob is
 * written over them, at its section's offset in the file, so that neither LLVM nor its assembler holds a
 * copy of it (ViT-B/16: 346 MB each). Anything else (assembly, IR, another object format or byte order)
 * gets the blob as the global's initializer before it is written. */

/* Whether tm writes little-endian 64-bit ELF objects: its triple names no system with another format
 * (Triple::getDefaultFormat: Mach-O, COFF, XCOFF, GOFF, wasm) and its data layout is little-endian with
 * 8-byte pointers. */
static bool writes_elf64_le(LLVMTargetMachineRef tm) {
  static const char *const other[] = {"apple", "darwin", "macos", "ios", "tvos", "watchos", "driverkit", "windows",
                                      "win32", "mingw", "cygwin", "uefi", "aix", "zos", "wasm"};
  char *triple = LLVMGetTargetMachineTriple(tm);
  bool elf = true;
  for (size_t k = 0; k < sizeof other / sizeof *other; k++) elf &= !strstr(triple, other[k]);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  elf &= LLVMByteOrder(layout) == LLVMLittleEndian && LLVMPointerSize(layout) == 8;
  LLVMDisposeTargetData(layout);
  return elf;
}

static bool read_at(int fd, void *buf, size_t n, uint64_t at) { return pread(fd, buf, n, (off_t)at) == (ssize_t)n; }

/* The file offset of the SHT_PROGBITS section called `name` and `size` bytes long in the ELF64 object fd,
 * or 0 when there is none. */
static uint64_t elf_section_offset(int fd, const char *name, size_t size) {
  Elf64_Ehdr eh;
  Elf64_Shdr sh, strtab;
  if (!read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof sh || !read_at(fd, &sh, sizeof sh, eh.e_shoff))
    return 0;
  /* many sections: their count and the names' index are in section 0 */
  uint64_t count = eh.e_shnum ? eh.e_shnum : sh.sh_size, names = eh.e_shstrndx == SHN_XINDEX ? sh.sh_link : eh.e_shstrndx;
  size_t len = strlen(name) + 1;
  char *found = malloc(len);
  uint64_t offset = 0;
  if (!found || !read_at(fd, &strtab, sizeof strtab, eh.e_shoff + names * sizeof sh)) count = 0;
  for (uint64_t i = 1; i < count && !offset; i++)
    if (read_at(fd, &sh, sizeof sh, eh.e_shoff + i * sizeof sh) && sh.sh_type == SHT_PROGBITS && sh.sh_size == size &&
        sh.sh_name < strtab.sh_size && read_at(fd, found, len, strtab.sh_offset + sh.sh_name) && !memcmp(found, name, len))
      offset = sh.sh_offset;
  free(found);
  return offset;
}

/* Writes m's weights over NAME_weights' zeros in the ELF object at path. */
static vitc_status write_weights_into(const vitc_module *m, const char *path, const char *final, vitc_error *err) {
  if (!m->weights_size) return VITC_OK; /* a byte of zeros stands for no weights */
  char section[300];
  snprintf(section, sizeof section, VITC_WEIGHTS_SECTION "%s_weights", m->name);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  uint64_t at = fd < 0 ? 0 : elf_section_offset(fd, section, m->weights_size);
  vitc_status st = at ? VITC_OK : vitc_fail(err, VITC_ERR_INTERNAL, "%s: the object has no section %s", final, section);
  for (size_t done = 0; !st && done < m->weights_size;) {
    ssize_t k = pwrite(fd, m->weights + done, m->weights_size - done, (off_t)(at + done));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) st = vitc_fail(err, VITC_ERR_IO, "%s: write failed: %s", final, strerror(errno));
    else done += (size_t)k;
  }
  if (fd >= 0 && close(fd) && !st) st = vitc_fail(err, VITC_ERR_IO, "%s: write failed: %s", final, strerror(errno));
  return st;
}

/* Whether the weights are written into the object after LLVM (write_weights_into); if not, NAME_weights
 * gets them as its initializer now. */
static bool weights_after_llvm(vitc_module *m, LLVMTargetMachineRef tm, vitc_emit_kind kind) {
  if (!m->weights_gv) return false;
  if ((kind == VITC_EMIT_OBJ || kind == VITC_EMIT_SHARED) && writes_elf64_le(tm)) return true;
  if (m->weights_size) {
    LLVMSetInitializer(m->weights_gv,
                       LLVMConstStringInContext(m->llvm, (const char *)m->weights, (unsigned)m->weights_size, true));
    LLVMSetExternallyInitialized(m->weights_gv, false);
  }
  LLVMSetSection(m->weights_gv, ""); /* the target's read-only data (a Mach-O section is named otherwise) */
  return false;
}

static char *make_header(const vitc_module *m, bool mapped, vitc_error *err) {
  vitc_io_desc ins[64], outs[64];
  int nin, nout;
  if (vitc_parse_signature(m->signature, ins, 64, &nin, outs, 64, &nout, err)) return NULL;
  size_t cap = 8192 + 1024 * (size_t)(nin + nout);
  char *h = malloc(cap), up[256];
  if (!h) {
    vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    return NULL;
  }
  size_t k = 0;
  for (k = 0; m->name[k] && k + 1 < sizeof up; k++) up[k] = (char)toupper((unsigned char)m->name[k]);
  up[k] = 0;
  int n = header_preamble(h, cap, m, up, mapped, nin, nout);
  n = header_io_macros(h, cap, n, up, ins, nin, outs, nout);
  n = header_create(h, cap, n, m->name, mapped);
  n = header_run(h, cap, n, m, up, ins, nin, outs, nout);
  if (n >= (int)cap) {
    free(h);
    vitc_fail(err, VITC_ERR_INTERNAL, "header too long");
    return NULL;
  }
  return h;
}

vitc_status vitc_emit(vitc_module *m, LLVMTargetMachineRef tm, vitc_emit_kind kind, const char *path,
                      const char *header_path, const char *weights_path, vitc_error *err) {
  char tmp[4096], tmp_obj[4096] = "", tmp_h[4096] = "", tmp_w[4096] = "";
  char *header = NULL;
  vitc_status st;
  if (strlen(path) + 16 > sizeof tmp) return vitc_fail(err, VITC_ERR_IO, "%s: path too long", path);
  if ((st = make_temp(path, tmp, sizeof tmp, err))) return st;
  bool weights_after = weights_after_llvm(m, tm, kind);
  uint64_t held = m->weights_gv ? m->weights_size : 0; /* the weights the object holds (none beside --weights) */
  if (kind == VITC_EMIT_LLVM) {
    st = llvm_write(tm, m->mod, LLVMAssemblyFile, true, tmp, tmp, path, err);
  } else if (kind == VITC_EMIT_ASM || kind == VITC_EMIT_OBJ) {
    if (!(st = room_for(tmp, path, held, err)) &&
        !(st = llvm_write(tm, m->mod, kind == VITC_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, false, tmp, tmp, path, err)) &&
        weights_after)
      st = write_weights_into(m, tmp, path, err);
  } else if (!(st = make_temp(path, tmp_obj, sizeof tmp_obj, err)) && !(st = room_for(tmp, path, 2 * held, err)) &&
             !(st = llvm_write(tm, m->mod, LLVMObjectFile, false, tmp_obj, tmp, path, err)) &&
             (!weights_after || !(st = write_weights_into(m, tmp_obj, path, err)))) {
    st = run_linker(tmp_obj, tmp, path, err); /* the object and the library beside it each hold the weights */
  }
  if (!st && header_path) {
    if (!(header = make_header(m, weights_path != NULL, err))) st = err->status;
    else if (!(st = make_temp(header_path, tmp_h, sizeof tmp_h, err)))
      st = write_file(tmp_h, header_path, header, strlen(header), err);
  }
  if (!st && weights_path && !(st = make_temp(weights_path, tmp_w, sizeof tmp_w, err)))
    st = write_file(tmp_w, weights_path, m->weights, m->weights_size, err);
  if (!st && rename(tmp, path)) st = vitc_fail(err, VITC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  if (!st && *tmp_h && rename(tmp_h, header_path))
    st = vitc_fail(err, VITC_ERR_IO, "%s: cannot write: %s", header_path, strerror(errno));
  if (!st && *tmp_w && rename(tmp_w, weights_path))
    st = vitc_fail(err, VITC_ERR_IO, "%s: cannot write: %s", weights_path, strerror(errno));
  if (st) {
    unlink(tmp);
    if (*tmp_h) unlink(tmp_h);
    if (*tmp_w) unlink(tmp_w);
  }
  if (*tmp_obj) unlink(tmp_obj);
  free(header);
  return st;
}
