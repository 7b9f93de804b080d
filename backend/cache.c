/* cache.c — the compile cache: JIT-compiled code kept on disk, so that a model compiled once starts
 * again without generating, optimising or compiling any code, and reads its packed weights from a
 * read-only mapping instead of packing them again.
 *
 * An entry is one file DIR/KEY.jit, KEY naming the compilation: the optimised graph (ops, attributes,
 * shapes, names, and each constant by the hash of its content), the target (triple, CPU, features), the
 * options that change code (LLVM opt level, precision, memory limit), vitc's version and build, LLVM's
 * version. The whole description is stored in the entry too and compared byte for byte, so two
 * compilations whose keys collide are still told apart.
 *
 *   offset 0                  header: magic, format, vitc version, key, sizes, the module's metadata,
 *                             and hashes of itself, of the metadata section and of the weights
 *   weights_offset (a page)   the weights blob, mapped read-only by the process that uses the entry
 *   meta_offset               metadata: the key's description, NAME_signature, cpu features,
 *                             then each object file (its size, its bytes)
 *
 * The weights come first, at an offset known before anything is compiled: code generation builds the blob
 * in the entry's temporary file (vitc_cache_entry_weights_file), whose pages can then leave memory while
 * LLVM compiles, and the process runs from that file's mapping. The store adds the metadata after them
 * and the header last.
 *
 * Entries are written under a temporary name in the same directory and renamed, so a reader sees a whole
 * entry or none (not flushed to disk: after a crash the hashes tell a torn entry); processes racing on
 * one key each rename a whole entry. An entry whose magic, format, version, key, size or any hash is
 * wrong is ignored and written again. Nothing here fails a compilation: a directory that cannot be
 * created or written only means no caching. An entry is written on a thread of its own while the model
 * runs (its weights are hundreds of MB to copy), and storing it trims the directory to a size, least
 * recently used (stored or hit) entries first. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "runtime/vitc_rt.h"

#define ENTRY_MAGIC "VITCJIT"
enum { ENTRY_FORMAT = 3 };

typedef struct entry_header {
  char magic[8];
  uint32_t format, header_size;
  char version[32]; /* VITC_VERSION */
  uint64_t key[2];
  uint64_t description_size; /* the key's description, first in the metadata */
  uint64_t meta_offset, meta_size, meta_hash;
  uint64_t weights_offset, weights_size, weights_hash;
  uint64_t scratch_size;
  int32_t nkernels, nobjects;
  int32_t per_image, unused; /* vitc_module.per_image: NAME_run_batch exists */
  uint64_t header_hash; /* of every byte above */
} entry_header;

/* ---------------------------------------------------------------- object lists */

static pthread_mutex_t objects_lock = PTHREAD_MUTEX_INITIALIZER; /* the JIT may link on several threads */

void vitc_objects_add(vitc_objects *o, const void *data, size_t size) {
  pthread_mutex_lock(&objects_lock);
  unsigned char *copy = malloc(size ? size : 1);
  if (copy && o->n == o->cap) {
    int cap = o->cap ? 2 * o->cap : 4;
    vitc_object *grown = realloc(o->obj, sizeof *grown * (size_t)cap);
    if (grown) {
      o->obj = grown;
      o->cap = cap;
    }
  }
  if (copy && o->n < o->cap) {
    memcpy(copy, data, size);
    o->obj[o->n++] = (vitc_object){copy, size};
  } else {
    free(copy);
    o->incomplete = true;
  }
  pthread_mutex_unlock(&objects_lock);
}

void vitc_objects_free(vitc_objects *o) {
  for (int i = 0; i < o->n; i++) free(o->obj[i].data);
  free(o->obj);
  *o = (vitc_objects){0};
}

/* ---------------------------------------------------------------- the key */

/* A growing byte string; on allocation failure it becomes NULL and stays so. */
typedef struct bytes {
  unsigned char *p;
  size_t len, cap;
  bool failed;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *grown = realloc(b->p, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}
static void put_u64(bytes *b, uint64_t x) { put(b, &x, sizeof x); }
static void put_str(bytes *b, const char *s) { put(b, s ? s : "", s ? strlen(s) + 1 : 1); }

static void put_value(bytes *b, const vitc_value *v, bool shape_known) {
  put_u64(b, (uint64_t)v->dtype);
  put_u64(b, (uint64_t)v->rank);
  put(b, v->dims, sizeof v->dims[0] * (size_t)(v->rank > 0 ? v->rank : 0));
  put_u64(b, shape_known);
  put_u64(b, v->data ? 1 + vitc_rt_hash(v->data, shape_known ? vitc_nbytes(v) : 0) : 0);
}

/* Returns the bytes of data it hashed. */
static size_t put_tensor(bytes *b, const vitc_graph *g, int t, bool *seen) {
  put_u64(b, (uint64_t)(int64_t)t);
  if (t < 0 || seen[t]) return 0;
  seen[t] = true;
  put_str(b, g->tensors[t].name);
  put_value(b, &g->tensors[t].v, g->tensors[t].shape_known);
  return g->tensors[t].v.data && g->tensors[t].shape_known ? vitc_nbytes(&g->tensors[t].v) : 0;
}

static void put_attr(bytes *b, const vitc_attr *a) {
  put_str(b, a->name);
  put_u64(b, a->type);
  put_u64(b, (uint64_t)a->i);
  put(b, &a->f, sizeof a->f);
  put_str(b, a->s);
  put_u64(b, (uint64_t)a->n);
  if (a->type == VITC_ATTR_INTS) put(b, a->ints, sizeof *a->ints * (size_t)a->n);
  if (a->type == VITC_ATTR_FLOATS) put(b, a->floats, sizeof *a->floats * (size_t)a->n);
  for (int k = 0; a->type == VITC_ATTR_STRINGS && k < a->n; k++) put_str(b, a->strings[k]);
  if (a->type == VITC_ATTR_TENSOR) put_value(b, &a->t, true);
}

/* This build of vitc: the GNU build id of the binary holding this code (a hash of its contents the
 * linker writes), else that file's size, time and inode. A rebuilt library never reads its
 * predecessor's entries even when the version number did not change. */
typedef struct build_id {
  unsigned char bytes[64];
  size_t len;
} build_id;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *user) {
  (void)size;
  build_id *id = user;
  uintptr_t self = (uintptr_t)find_build_id;
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    mine |= ph->p_type == PT_LOAD && self >= start && self < start + ph->p_memsz;
  }
  if (!mine) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const void *)p;
      const unsigned char *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
          nh->n_descsz <= sizeof id->bytes && desc + nh->n_descsz <= end) {
        memcpy(id->bytes, desc, nh->n_descsz);
        id->len = nh->n_descsz;
        return 1;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  struct stat st;
  const char *file = *info->dlpi_name ? info->dlpi_name : "/proc/self/exe";
  if (!stat(file, &st)) {
    uint64_t parts[4] = {(uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec,
                         (uint64_t)st.st_ino};
    memcpy(id->bytes, parts, sizeof parts);
    id->len = sizeof parts;
  }
  return 1;
}

static build_id this_build;
static void read_build_id(void) { dl_iterate_phdr(find_build_id, &this_build); }

#define HASH_DROP_STEP (32u << 20)

/* The description of compiling g for tm with t's options; NULL when out of memory or when this build
 * cannot be identified (then nothing is cached). */
static bytes describe(const vitc_graph *g, LLVMTargetMachineRef tm, const vitc_target_options *t, const char *name) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, read_build_id);
  bytes b = {0};
  bool *seen = calloc((size_t)g->ntensors + 1, sizeof *seen);
  if (!seen || !this_build.len) {
    free(seen);
    b.failed = true;
    return b;
  }
  put_str(&b, "vitc " VITC_VERSION);
  put(&b, this_build.bytes, this_build.len);
  unsigned llvm[3];
  LLVMGetVersion(&llvm[0], &llvm[1], &llvm[2]);
  put(&b, llvm, sizeof llvm);
  char *triple = LLVMGetTargetMachineTriple(tm), *cpu = LLVMGetTargetMachineCPU(tm),
       *features = LLVMGetTargetMachineFeatureString(tm);
  put_str(&b, triple);
  put_str(&b, cpu);
  put_str(&b, features);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  put_str(&b, name);
  put_u64(&b, (uint64_t)t->opt_level);
  put_u64(&b, (uint64_t)t->row_group_bytes);
  put_u64(&b, g->precision);
  put_u64(&b, (uint64_t)vitc_graph_memory_limit(g));
  put_u64(&b, (uint64_t)g->ninputs);
  for (int i = 0; i < g->ninputs; i++) put_tensor(&b, g, g->inputs[i], seen);
  put_u64(&b, (uint64_t)g->noutputs);
  for (int i = 0; i < g->noutputs; i++) put_tensor(&b, g, g->outputs[i], seen);
  size_t hashed = 0; /* constants' bytes since the model file's pages were last dropped */
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    /* Hashing reads every constant: those read in place from the mapped model file would otherwise all
     * be resident at once beside the copies of the others, until code generation drops them. */
    if (hashed > HASH_DROP_STEP) {
      vitc_graph_drop_mapped_pages(g);
      hashed = 0;
    }
    if (n->dead) continue;
    put_str(&b, vitc_ops[n->op].domain);
    put_str(&b, vitc_ops[n->op].name);
    put_str(&b, n->name);
    put_u64(&b, (uint64_t)n->opset);
    put_u64(&b, (uint64_t)n->nin);
    for (int k = 0; k < n->nin; k++) hashed += put_tensor(&b, g, n->in[k], seen);
    put_u64(&b, (uint64_t)n->nout);
    for (int k = 0; k < n->nout; k++) hashed += put_tensor(&b, g, n->out[k], seen);
    put_u64(&b, (uint64_t)n->nattr);
    for (int k = 0; k < n->nattr; k++) put_attr(&b, &n->attrs[k]);
  }
  free(seen);
  vitc_graph_drop_mapped_pages(g);
  return b;
}

/* ---------------------------------------------------------------- the directory */

bool vitc_cache_default_dir(char *dir, size_t n) {
  const char *own = getenv("VITC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int len;
  if (own && *own) len = snprintf(dir, n, "%s", own);
  else if (xdg && *xdg) len = snprintf(dir, n, "%s/vitc", xdg);
  else if (home && *home) len = snprintf(dir, n, "%s/.cache/vitc", home);
  else return false;
  return len > 0 && (size_t)len < n;
}

/* Creates dir and its missing parents. */
static bool make_dirs(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return false;
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) && errno != EEXIST) return false;
    *p = '/';
  }
  return !mkdir(path, 0777) || errno == EEXIST;
}

/* ---------------------------------------------------------------- entries */

struct vitc_cache_entry {
  char path[PATH_MAX];
  char temp[PATH_MAX + 16]; /* the file being written, renamed to path when whole; open as temp_fd (else -1) */
  int temp_fd;
  bytes description;
  uint64_t key[2];
};

/* DIR/KEY.SUFFIX into path; false when it does not fit. */
static bool key_path(char *path, size_t n, const char *dir, const uint64_t key[2], const char *suffix) {
  int len = snprintf(path, n, "%s/%016llx%016llx.%s", dir, (unsigned long long)key[0], (unsigned long long)key[1],
                     suffix);
  return len > 0 && (size_t)len < n;
}

static uint64_t header_hash(const entry_header *h) { return vitc_rt_hash(h, offsetof(entry_header, header_hash)); }

vitc_cache_entry *vitc_cache_entry_new(const char *dir, const vitc_graph *g, LLVMTargetMachineRef tm,
                                       const vitc_target_options *t, const char *name) {
  vitc_cache_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->temp_fd = -1;
  e->description = describe(g, tm, t, name);
  if (e->description.failed) {
    vitc_cache_entry_free(e);
    return NULL;
  }
  /* Two hashes of the description (the second over it behind a one-byte prefix) name the file. */
  e->key[0] = vitc_rt_hash(e->description.p, e->description.len);
  put(&e->description, "", 1);
  memmove(e->description.p + 1, e->description.p, e->description.len - 1);
  e->description.p[0] = 0x5c;
  e->key[1] = vitc_rt_hash(e->description.p, e->description.len);
  if (e->description.failed || !key_path(e->path, sizeof e->path, dir, e->key, "jit")) {
    vitc_cache_entry_free(e);
    return NULL;
  }
  return e;
}

vitc_cache_entry *vitc_cache_entry_of_key(const char *dir, const uint64_t key[2]) {
  vitc_cache_entry *e = calloc(1, sizeof *e);
  if (e && key_path(e->path, sizeof e->path, dir, key, "jit")) {
    e->temp_fd = -1;
    e->key[0] = key[0];
    e->key[1] = key[1];
    return e;
  }
  free(e);
  return NULL;
}

const uint64_t *vitc_cache_entry_key(const vitc_cache_entry *e) { return e->key; }

void vitc_cache_entry_free(vitc_cache_entry *e) {
  if (!e) return;
  if (e->temp_fd >= 0) { /* never stored */
    close(e->temp_fd);
    unlink(e->temp);
  }
  free(e->description.p);
  free(e);
}


/* The metadata section read back: where each part lies in the mapping. */
typedef struct entry_meta {
  const char *signature, *cpu_features;
  vitc_objects objects;
} entry_meta;

/* Reads a NUL-terminated string at *at within [p, end). */
static const char *take_str(const unsigned char *p, size_t end, size_t *at) {
  const unsigned char *nul = *at < end ? memchr(p + *at, 0, end - *at) : NULL;
  if (!nul) return NULL;
  const char *s = (const char *)p + *at;
  *at = (size_t)(nul - p) + 1;
  return s;
}

/* Checks a mapped entry of len bytes against e but for its weights (weights_valid); fills m (objects
 * pointing into the mapping). */
static bool entry_valid(const vitc_cache_entry *e, const unsigned char *map, size_t len, entry_meta *m) {
  const entry_header *h = (const entry_header *)map;
  if (len < sizeof *h || memcmp(h->magic, ENTRY_MAGIC, sizeof h->magic) || h->format != ENTRY_FORMAT ||
      h->header_size != sizeof *h || strncmp(h->version, VITC_VERSION, sizeof h->version) ||
      h->key[0] != e->key[0] || h->key[1] != e->key[1] || h->header_hash != header_hash(h) ||
      h->nobjects < 1 || h->nobjects > 1 << 16 || !(m->objects.obj = calloc((size_t)h->nobjects, sizeof(vitc_object))))
    return false;
  uint64_t meta_end = len;
  if (h->weights_offset < sizeof *h || h->weights_offset % 64 || h->weights_offset > len ||
      h->weights_size > len - h->weights_offset || h->meta_offset != h->weights_offset + h->weights_size ||
      h->meta_size != len - h->meta_offset || vitc_rt_hash(map + h->meta_offset, h->meta_size) != h->meta_hash)
    return false;
  size_t at = h->meta_offset, dlen = h->description_size;
  if (meta_end - at < dlen || (e->description.len && (dlen != e->description.len ||
                                                      memcmp(map + at, e->description.p, dlen))))
    return false;
  at += dlen;
  if (!(m->signature = take_str(map, meta_end, &at)) || !(m->cpu_features = take_str(map, meta_end, &at)))
    return false;
  for (int i = 0; i < h->nobjects; i++) {
    uint64_t size;
    if (meta_end - at < sizeof size) return false;
    memcpy(&size, map + at, sizeof size);
    at += sizeof size;
    if (meta_end - at < size) return false;
    m->objects.obj[i] = (vitc_object){(unsigned char *)map + at, size};
    m->objects.n = i + 1;
    at += size;
  }
  return at == meta_end;
}

/* The weights of a valid entry: read last (all of them), once the rest is known to fit and its code is
 * linked, so that LLVM's code pages are given back before the weights' pages come in. */
static bool weights_valid(const unsigned char *map) {
  const entry_header *h = (const entry_header *)map;
  return vitc_rt_hash(map + h->weights_offset, h->weights_size) == h->weights_hash;
}

bool vitc_cache_load(const vitc_cache_entry *e, const char *name, LLVMTargetMachineRef *tm, vitc_compiled *c) {
  int fd = open(e->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  void *map = MAP_FAILED;
  if (!fstat(fd, &st) && st.st_size >= (off_t)sizeof(entry_header))
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return false;
  const entry_header *h = map;
  entry_meta meta = {0};
  vitc_module *m = calloc(1, sizeof *m);
  bool hit = m && entry_valid(e, map, (size_t)st.st_size, &meta) &&
             (m->name = strdup(name)) && (m->signature = strdup(meta.signature)) &&
             (m->cpu_features = strdup(meta.cpu_features));
  vitc_error ignored;
  bool linked = hit && !vitc_jit_load(&meta.objects, name, *tm, &c->jit, &ignored);
  if (linked && weights_valid(map)) {
    *tm = NULL; /* the JIT owns it */
    m->weights = h->weights_size ? (unsigned char *)map + h->weights_offset : NULL;
    m->weights_size = h->weights_size;
    m->weights_hash = h->weights_hash;
    m->scratch_size = h->scratch_size;
    m->nkernels = h->nkernels;
    m->per_image = h->per_image != 0;
    c->module = m;
    c->cached = true;
    c->cache_key[0] = e->key[0];
    c->cache_key[1] = e->key[1];
    c->mapping = map;
    c->mapping_len = (size_t)st.st_size;
    utimensat(AT_FDCWD, e->path, NULL, 0); /* recently used: trimming keeps it longest */
  } else {
    if (hit) *tm = NULL; /* the JIT took it (and vitc_jit_load disposed of it if it failed) */
    if (linked) vitc_jit_free(c->jit);
    c->jit = NULL;
    hit = false;
    vitc_module_free(m);
    munmap(map, (size_t)st.st_size);
  }
  free(meta.objects.obj);
  return hit;
}

/* Writes all of data to fd at offset. */
static bool write_at(int fd, const void *data, size_t n, uint64_t offset) {
  const unsigned char *p = data;
  while (n) {
    ssize_t k = pwrite(fd, p, n, (off_t)offset);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= (size_t)k;
    offset += (uint64_t)k;
  }
  return true;
}

/* A temporary file beside path (its directory created if missing) into temp; -1 if it cannot be made. */
static int make_temp(const char *path, char *temp, size_t n) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = 0;
  snprintf(temp, n, "%s.tmp.XXXXXX", path);
  return make_dirs(dir) ? mkostemp(temp, O_CLOEXEC) : -1;
}

/* Closes the temporary file fd and renames it to path, or removes it on failure (ok false, or a failed
 * close). Readers see the whole file or none. There is no fsync: it cost a tenth of a second for a
 * ViT-B/16 entry, and a crash that leaves a renamed file torn or empty is caught anyway, as every file
 * written here is checked against its hashes (header, metadata, weights; the index record's) when read,
 * and written again if wrong. */
static bool rename_temp(int fd, const char *temp, const char *path, bool ok) {
  ok = !close(fd) && ok && !rename(temp, path);
  if (!ok) unlink(temp);
  return ok;
}

/* Entries in a directory, for trimming. */
typedef struct dir_entry {
  char name[NAME_MAX + 1];
  off_t size;
  struct timespec used; /* modification time: a hit sets it */
} dir_entry;

static int least_recent_first(const void *a, const void *b) {
  const struct timespec *x = &((const dir_entry *)a)->used, *y = &((const dir_entry *)b)->used;
  return x->tv_sec != y->tv_sec ? (x->tv_sec < y->tv_sec ? -1 : 1) : (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Removes the least recently used entries of dir but `keep` while they take more than max_bytes, and
 * temporary files older than an hour (their writer died). Another process may still map a removed entry:
 * its mapping stays valid. */
static void trim(const char *dir, const char *keep, uint64_t max_bytes) {
  DIR *d = opendir(dir);
  dir_entry *list = NULL;
  size_t n = 0, cap = 0;
  uint64_t total = 0;
  time_t now = time(NULL);
  char path[PATH_MAX];
  for (struct dirent *de; d && (de = readdir(d));) {
    size_t len = strlen(de->d_name);
    bool entry = len > 4 && !strcmp(de->d_name + len - 4, ".jit"), temp = strstr(de->d_name, ".tmp.") != NULL;
    struct stat st;
    if ((!entry && !temp) || snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
        stat(path, &st))
      continue;
    if (temp) {
      if (now - st.st_mtime > 3600) unlink(path);
      continue;
    }
    total += (uint64_t)st.st_size;
    if (!strcmp(path, keep)) continue;
    if (n == cap) {
      dir_entry *grown = realloc(list, sizeof *list * (cap = cap ? 2 * cap : 64));
      if (!grown) break;
      list = grown;
    }
    snprintf(list[n].name, sizeof list[n].name, "%s", de->d_name);
    list[n].size = st.st_size;
    list[n++].used = st.st_mtim;
  }
  if (d) closedir(d);
  if (n) qsort(list, n, sizeof *list, least_recent_first); /* list is NULL when the directory is empty */
  for (size_t i = 0; i < n && total > max_bytes; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
    if (!unlink(path)) total -= (uint64_t)list[i].size;
  }
  free(list);
}

/* Where an entry's weights begin: a page after the header, so that they map aligned. */
static uint64_t weights_offset(void) {
  long page = sysconf(_SC_PAGESIZE);
  return page > 64 ? (uint64_t)page : 64;
}

bool vitc_cache_entry_weights_file(vitc_cache_entry *e, vitc_weights_file *f) {
  if (e->temp_fd < 0) e->temp_fd = make_temp(e->path, e->temp, sizeof e->temp);
  *f = (vitc_weights_file){e->temp_fd, weights_offset()};
  return e->temp_fd >= 0;
}

/* Writes the entry: m's weights (unless code generation built them in the entry's file), the metadata
 * with the objects after them, the header; true when it is in place. */
static bool store(vitc_cache_entry *e, const vitc_module *m, const vitc_objects *objs, uint64_t max_bytes) {
  bytes meta = {0};
  put(&meta, e->description.p, e->description.len);
  put_str(&meta, m->signature);
  put_str(&meta, m->cpu_features);
  for (int i = 0; i < objs->n; i++) {
    put_u64(&meta, objs->obj[i].size);
    put(&meta, objs->obj[i].data, objs->obj[i].size);
  }
  uint64_t at = weights_offset();
  entry_header h = {.magic = ENTRY_MAGIC, .format = ENTRY_FORMAT, .header_size = sizeof h,
                    .key = {e->key[0], e->key[1]}, .description_size = e->description.len,
                    .meta_offset = at + m->weights_size, .meta_size = meta.len,
                    .meta_hash = vitc_rt_hash(meta.p, meta.len), .weights_offset = at,
                    .weights_size = m->weights_size, .weights_hash = m->weights_hash, .scratch_size = m->scratch_size,
                    .nkernels = m->nkernels, .nobjects = objs->n, .per_image = m->per_image};
  snprintf(h.version, sizeof h.version, "%s", VITC_VERSION);
  h.header_hash = header_hash(&h);
  vitc_weights_file f;
  bool stored = !meta.failed && vitc_cache_entry_weights_file(e, &f);
  if (stored && !m->weights_mapping_len) stored = write_at(f.fd, m->weights, m->weights_size, at);
  /* the file is cut where the metadata ends: a blob built in it had room to grow */
  stored = stored && write_at(f.fd, meta.p, meta.len, h.meta_offset) && !ftruncate(f.fd, (off_t)(h.meta_offset + meta.len)) &&
           write_at(f.fd, &h, sizeof h, 0);
  if (e->temp_fd >= 0) stored = rename_temp(e->temp_fd, e->temp, e->path, stored);
  e->temp_fd = -1;
  if (stored) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", e->path);
    *strrchr(dir, '/') = 0;
    trim(dir, e->path, max_bytes ? max_bytes : VITC_CACHE_MAX_BYTES);
  }
  free(meta.p);
  return stored;
}

struct vitc_cache_store {
  pthread_t thread;
  vitc_cache_entry *entry;
  const vitc_module *module;
  vitc_objects objects;
  uint64_t max_bytes;
  bool joinable, stored;
};

static void *store_thread(void *arg) {
  vitc_cache_store *s = arg;
  s->stored = store(s->entry, s->module, &s->objects, s->max_bytes);
  return NULL;
}

vitc_cache_store *vitc_cache_store_start(vitc_cache_entry *e, const vitc_module *m, vitc_objects *objs,
                                         uint64_t max_bytes) {
  vitc_cache_store *s = objs->incomplete || !objs->n ? NULL : calloc(1, sizeof *s);
  if (!s) {
    vitc_cache_entry_free(e);
    vitc_objects_free(objs);
    return NULL;
  }
  *s = (vitc_cache_store){.entry = e, .module = m, .objects = *objs, .max_bytes = max_bytes};
  *objs = (vitc_objects){0};
  s->joinable = !pthread_create(&s->thread, NULL, store_thread, s);
  if (!s->joinable) store_thread(s); /* no thread to spare: the caller waits for the store instead */
  return s;
}

bool vitc_cache_store_finish(vitc_cache_store *s) {
  if (!s) return false;
  if (s->joinable) pthread_join(s->thread, NULL);
  bool stored = s->stored;
  vitc_cache_entry_free(s->entry);
  vitc_objects_free(&s->objects);
  free(s);
  return stored;
}

/* ---------------------------------------------------------------- the index of model files
 *
 * DIR/KEY.src: magic, the source's description (this build's id, then what the caller describes), the
 * entry's key, and a hash of all of it. */

#define INDEX_MAGIC "VITCSRC"

/* The source's description behind this build's identity, and the index file it names. */
static bool index_of(const char *dir, const void *source, size_t len, bytes *b, char *path, size_t n) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, read_build_id);
  if (!this_build.len) return false;
  put(b, INDEX_MAGIC, sizeof INDEX_MAGIC);
  put_str(b, "vitc " VITC_VERSION);
  put(b, this_build.bytes, this_build.len);
  put(b, source, len);
  uint64_t name[2] = {vitc_rt_hash(b->p, b->len), vitc_rt_hash(source, len)};
  return !b->failed && key_path(path, n, dir, name, "src");
}

bool vitc_cache_index_read(const char *dir, const void *source, size_t len, uint64_t key[2]) {
  bytes b = {0};
  char path[PATH_MAX];
  bool found = false;
  int fd = index_of(dir, source, len, &b, path, sizeof path) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    uint64_t tail[3]; /* key, hash */
    unsigned char *file = malloc(b.len + sizeof tail + 1);
    ssize_t got = file ? read(fd, file, b.len + sizeof tail + 1) : -1;
    if (got == (ssize_t)(b.len + sizeof tail) && !memcmp(file, b.p, b.len)) {
      memcpy(tail, file + b.len, sizeof tail);
      found = tail[2] == vitc_rt_hash(file, b.len + 2 * sizeof(uint64_t));
      key[0] = tail[0];
      key[1] = tail[1];
    }
    free(file);
    close(fd);
  }
  free(b.p);
  return found;
}

void vitc_cache_index_write(const char *dir, const void *source, size_t len, const uint64_t key[2]) {
  bytes b = {0};
  char path[PATH_MAX];
  if (index_of(dir, source, len, &b, path, sizeof path)) {
    put(&b, key, 2 * sizeof *key);
    uint64_t hash = b.failed ? 0 : vitc_rt_hash(b.p, b.len);
    char temp[PATH_MAX + 16];
    int fd = b.failed ? -1 : make_temp(path, temp, sizeof temp);
    if (fd >= 0) rename_temp(fd, temp, path, write_at(fd, b.p, b.len, 0) && write_at(fd, &hash, sizeof hash, b.len));
  }
  free(b.p);
}
