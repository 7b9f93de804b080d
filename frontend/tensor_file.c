/* tensor_file.c — tensor files: serialized TensorProto (.pb, the format of ONNX backend-test data:
 * test_data_set_0/input_0.pb; reading shares the initializer decoder, writing uses raw_data) and numpy's
 * .npy and .npz (npy_file.c). Every file is written under a temporary name and renamed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend_internal.h"

static void *malloc_fn(void *ctx, size_t bytes) { return malloc(bytes); }

static vitc_status decode_tensor_file(const fe_file *file, vitc_value *out, char **name, vitc_error *err) {
  Onnx__TensorProto *tp = file->len ? onnx__tensor_proto__unpack(NULL, file->len, file->data) : NULL;
  if (!tp) return vitc_fail(err, VITC_ERR_PARSE, "not a valid TensorProto (protobuf parse failed)");
  char label[300];
  snprintf(label, sizeof label, "tensor '%s'", fe_str(tp->name));
  vitc_status st = fe_tensor_type(tp, label, out, err);
  if (!st && fe_tensor_is_external(tp))
    st = vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s keeps its data in an external file; a tensor file must hold it",
                   label);
  if (!st) st = fe_tensor_decode_inline(tp, label, out, malloc_fn, NULL, err);
  if (!st && name && !(*name = strdup(fe_str(tp->name)))) {
    free(out->data);
    out->data = NULL;
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st;
}

vitc_status vitc_read_tensor_file(const char *path, vitc_value *out, char **name, vitc_error *err) {
  memset(out, 0, sizeof *out);
  if (name) *name = NULL;
  fe_file file;
  vitc_status st = fe_map_file(path, &file, err);
  if (!st) {
    if (fe_is_npy(file.data, file.len)) {
      st = fe_decode_npy(file.data, file.len, out, err);
      if (!st && name && !(*name = strdup(""))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    } else {
      st = decode_tensor_file(&file, out, name, err);
    }
    fe_unmap_file(&file);
  }
  if (st) {
    free(out->data);
    out->data = NULL;
    vitc_error_prefix(err, "%s", path);
  }
  return st;
}

vitc_status vitc_read_npz(const char *path, vitc_array_visit visit, void *user, vitc_error *err) {
  fe_file file;
  vitc_status st = fe_map_file(path, &file, err);
  if (!st) {
    st = fe_decode_npz(file.data, file.len, visit, user, err);
    fe_unmap_file(&file);
  }
  if (st) vitc_error_prefix(err, "%s", path);
  return st;
}

static vitc_status write_all(int fd, const uint8_t *buf, size_t len, vitc_error *err) {
  while (len) {
    ssize_t k = write(fd, buf, len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return vitc_fail(err, VITC_ERR_IO, "cannot write: %s", strerror(errno));
    buf += k;
    len -= (size_t)k;
  }
  return VITC_OK;
}

/* Writes buf to path.tmp.XXXXXX and renames it over path, so readers never see a partial file. */
static vitc_status write_atomically(const char *path, const uint8_t *buf, size_t len, vitc_error *err) {
  size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
  char *tmp = malloc(n);
  if (!tmp) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  snprintf(tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    vitc_status st = vitc_fail(err, VITC_ERR_IO, "cannot create a temporary file: %s", strerror(errno));
    free(tmp);
    return st;
  }
  vitc_status st = write_all(fd, buf, len, err);
  if (!st && fchmod(fd, 0644) < 0) st = vitc_fail(err, VITC_ERR_IO, "cannot set permissions: %s", strerror(errno));
  if (close(fd) < 0 && !st) st = vitc_fail(err, VITC_ERR_IO, "cannot write: %s", strerror(errno));
  if (!st && rename(tmp, path) < 0) st = vitc_fail(err, VITC_ERR_IO, "cannot rename into place: %s", strerror(errno));
  if (st) unlink(tmp);
  free(tmp);
  return st;
}

static bool ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n >= k && !strcmp(s + n - k, tail);
}

vitc_status vitc_write_npz(const char *path, const char *const *names, const vitc_value *values, int n,
                           vitc_error *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  vitc_status st = fe_encode_npz(names, values, n, &buf, &len, err);
  if (!st) st = write_atomically(path, buf, len, err);
  free(buf);
  if (st) vitc_error_prefix(err, "%s", path);
  return st;
}

vitc_status vitc_write_tensor_file(const char *path, const char *name, const vitc_value *v, vitc_error *err) {
  vitc_status st = VITC_OK;
  int64_t numel;
  if (!vitc_dtype_size(v->dtype))
    st = vitc_fail(err, VITC_ERR_INVALID, "cannot write a tensor of unknown data type %d", (int)v->dtype);
  else if (v->rank < 0 || v->rank > VITC_MAX_RANK || !vitc_checked_numel(v->dims, v->rank, &numel))
    st = vitc_fail(err, VITC_ERR_INVALID, "cannot write a tensor of rank %d with negative or overflowing dims", v->rank);
  if (st) {
    vitc_error_prefix(err, "%s", path);
    return st;
  }
  if (ends_with(path, ".npy")) {
    uint8_t *buf = NULL;
    size_t len = 0;
    st = fe_encode_npy(v, &buf, &len, err);
    if (!st) st = write_atomically(path, buf, len, err);
    free(buf);
    if (st) vitc_error_prefix(err, "%s", path);
    return st;
  }
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t dims[VITC_MAX_RANK];
  memcpy(dims, v->dims, sizeof dims);
  tp.n_dims = (size_t)v->rank;
  tp.dims = dims;
  tp.has_data_type = 1;
  tp.data_type = v->dtype;
  tp.name = (char *)(name ? name : "");
  tp.has_raw_data = 1;
  tp.raw_data.len = vitc_nbytes(v);
  tp.raw_data.data = v->data;
  size_t len = onnx__tensor_proto__get_packed_size(&tp);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  } else {
    onnx__tensor_proto__pack(&tp, buf);
    st = write_atomically(path, buf, len, err);
  }
  free(buf);
  if (st) vitc_error_prefix(err, "%s", path);
  return st;
}
