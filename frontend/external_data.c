/* external_data.c — tensors whose bytes live in a separate file next to the model.
 *
 * A model is untrusted input, so its external_data location is confined to the model's directory:
 * absolute paths, '..' components and symlinks resolving outside (compared by realpath) are refused.
 * The bytes are mapped, not copied; the graph records the mapping and vitc_graph_free unmaps it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend_internal.h"

typedef struct external_ref {
  const char *location;
  int64_t offset;
  int64_t length; /* -1 when absent: the tensor's byte size */
} external_ref;

static vitc_status parse_count(const char *label, const char *key, const char *text, int64_t *out,
                               vitc_error *err) {
  char *end;
  errno = 0;
  long long x = strtoll(text, &end, 10);
  if (errno || end == text || *end || x < 0)
    return vitc_fail(err, VITC_ERR_INVALID, "%s has external data %s '%s', not a byte count", label, key, text);
  *out = x;
  return VITC_OK;
}

static vitc_status read_ref(const Onnx__TensorProto *tp, const char *label, external_ref *ref, vitc_error *err) {
  ref->location = NULL;
  ref->offset = 0;
  ref->length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const char *key = fe_str(tp->external_data[i]->key), *value = fe_str(tp->external_data[i]->value);
    vitc_status st = VITC_OK;
    if (!strcmp(key, "location")) ref->location = value;
    else if (!strcmp(key, "offset")) st = parse_count(label, key, value, &ref->offset, err);
    else if (!strcmp(key, "length")) st = parse_count(label, key, value, &ref->length, err);
    if (st) return st;
  }
  if (!ref->location || !*ref->location)
    return vitc_fail(err, VITC_ERR_INVALID, "%s stores its data externally but gives no location", label);
  return VITC_OK;
}

static bool has_dotdot_component(const char *path) {
  for (const char *p = path; *p;) {
    size_t len = strcspn(p, "/");
    if (len == 2 && p[0] == '.' && p[1] == '.') return true;
    p += len;
    while (*p == '/') p++;
  }
  return false;
}

/* True when real (a resolved path) is inside the resolved directory dir_real. */
static bool is_inside(const char *real, const char *dir_real) {
  size_t n = strlen(dir_real);
  if (n == 1) return true; /* the model directory is "/" */
  return !strncmp(real, dir_real, n) && real[n] == '/';
}

/* Resolves the location to a path inside the model directory (malloc'd into *out). */
static vitc_status resolve_inside(const fe_loader *ld, const char *location, const char *label, char **out,
                                  vitc_error *err) {
  *out = NULL;
  if (location[0] == '/' || has_dotdot_component(location))
    return vitc_fail(err, VITC_ERR_INVALID, "external data path '%s' of %s escapes the model directory", location,
                     label);
  char joined[PATH_MAX];
  if ((size_t)snprintf(joined, sizeof joined, "%s/%s", ld->dir, location) >= sizeof joined)
    return vitc_fail(err, VITC_ERR_INVALID, "external data path '%s' of %s is too long", location, label);
  char *dir_real = realpath(ld->dir, NULL);
  if (!dir_real)
    return vitc_fail(err, VITC_ERR_IO, "cannot resolve the model directory '%s': %s", ld->dir, strerror(errno));
  char *real = realpath(joined, NULL);
  vitc_status st = VITC_OK;
  if (!real)
    st = vitc_fail(err, VITC_ERR_IO, "external data file '%s' of %s: %s", location, label, strerror(errno));
  else if (!is_inside(real, dir_real))
    st = vitc_fail(err, VITC_ERR_INVALID, "external data path '%s' of %s escapes the model directory", location,
                   label);
  free(dir_real);
  if (st) free(real);
  else *out = real;
  return st;
}

static vitc_status map_range(fe_loader *ld, int fd, int64_t offset, size_t len, vitc_value *v, vitc_error *err) {
  int64_t page = sysconf(_SC_PAGESIZE);
  int64_t aligned = offset - offset % page, delta = offset - aligned;
  size_t map_len = (size_t)delta + len;
  void *addr = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, (off_t)aligned);
  if (addr == MAP_FAILED) return vitc_fail(err, VITC_ERR_IO, "cannot map external data: %s", strerror(errno));
  if (!fe_read_in_place(v, (char *)addr + delta)) { /* an unaligned small or integer tensor: copied */
    v->data = vitc_arena_alloc(ld->g->arena, len);
    if (v->data) memcpy(v->data, (char *)addr + delta, len);
    munmap(addr, map_len);
    return v->data ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  vitc_mapping *m = vitc_arena_alloc(ld->g->arena, sizeof *m);
  if (!m) {
    munmap(addr, map_len);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  m->addr = addr;
  m->len = map_len;
  m->next = ld->g->mappings;
  ld->g->mappings = m;
  v->data = (char *)addr + delta;
  return VITC_OK;
}

vitc_status fe_map_external(fe_loader *ld, const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                            vitc_error *err) {
  external_ref ref;
  char *path;
  vitc_status st = read_ref(tp, label, &ref, err);
  if (st || (st = resolve_inside(ld, ref.location, label, &path, err))) return st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0)
    return vitc_fail(err, VITC_ERR_IO, "external data file '%s' of %s: %s", ref.location, label, strerror(errno));
  struct stat sb;
  size_t need = vitc_nbytes(v);
  int64_t length = ref.length < 0 ? (int64_t)need : ref.length;
  char ty[160];
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
    st = vitc_fail(err, VITC_ERR_IO, "external data file '%s' of %s is not a readable regular file", ref.location,
                   label);
  else if ((uint64_t)length != need)
    st = vitc_fail(err, VITC_ERR_INVALID, "%s %s: its external data has %lld bytes but its shape needs %zu bytes",
                   label, vitc_value_type_str(v, ty, sizeof ty), (long long)length, need);
  else if (ref.offset > sb.st_size || length > sb.st_size - ref.offset)
    st = vitc_fail(err, VITC_ERR_INVALID,
                   "external data of %s (offset %lld, length %lld) lies beyond the end of '%s' (%lld bytes)", label,
                   (long long)ref.offset, (long long)length, ref.location, (long long)sb.st_size);
  else if (need == 0) /* nothing to map; a 1-byte buffer still marks the value as known */
    st = (v->data = vitc_arena_alloc(ld->g->arena, 1)) ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  else
    st = map_range(ld, fd, ref.offset, need, v, err);
  close(fd);
  return st;
}
