/* movement_kernels.c — the byte-moving kernels behind the data-movement ops (see movement.h). */
#include <stdio.h>

#include "movement.h"

/* One row of n elements; the switch gives the compiler a constant element size for the common dtypes. */
#define COPY_ROW_LOOP(SIZE)                                                                      \
  for (int64_t j = 0; j < n; j++) memcpy(d + j * dstep * (SIZE), s + j * sstep * (SIZE), (SIZE)); \
  return

static void copy_row(char *d, int64_t dstep, const char *s, int64_t sstep, int64_t n, size_t esize) {
  if (dstep == 1 && sstep == 1) {
    memcpy(d, s, (size_t)n * esize);
    return;
  }
  switch (esize) {
  case 1: COPY_ROW_LOOP(1);
  case 2: COPY_ROW_LOOP(2);
  case 4: COPY_ROW_LOOP(4);
  case 8: COPY_ROW_LOOP(8);
  default: COPY_ROW_LOOP(esize);
  }
}

/* dst[i * drow + j] = src[i + j * scol] for i < rows, j < cols: a 2-D transpose done in square tiles so
 * that both the strided reads and the contiguous writes stay in cache. */
enum { TILE = 32 };
#define COPY_TILE_LOOP(SIZE)                                                                      \
  for (int64_t i0 = 0; i0 < rows; i0 += TILE)                                                     \
    for (int64_t j0 = 0; j0 < cols; j0 += TILE) {                                                 \
      int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows, j1 = j0 + TILE < cols ? j0 + TILE : cols; \
      for (int64_t i = i0; i < i1; i++)                                                           \
        for (int64_t j = j0; j < j1; j++)                                                         \
          memcpy(d + (i * drow + j) * (SIZE), s + (i + j * scol) * (SIZE), (SIZE));               \
    }                                                                                             \
  return

static void copy_tile(char *d, int64_t drow, const char *s, int64_t scol, int64_t rows, int64_t cols,
                      size_t esize) {
  switch (esize) {
  case 1: COPY_TILE_LOOP(1);
  case 2: COPY_TILE_LOOP(2);
  case 4: COPY_TILE_LOOP(4);
  case 8: COPY_TILE_LOOP(8);
  default: COPY_TILE_LOOP(esize);
  }
}

void vitc_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                       const int64_t *dims, int rank, size_t esize) {
  int64_t d[VITC_COPY_MAX_RANK], ds[VITC_COPY_MAX_RANK], ss[VITC_COPY_MAX_RANK];
  int r = 0;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 0) return;
    if (dims[i] == 1) continue;
    if (r > 0 && ds[r - 1] == dst_strides[i] * dims[i] && ss[r - 1] == src_strides[i] * dims[i]) {
      d[r - 1] *= dims[i];
      ds[r - 1] = dst_strides[i];
      ss[r - 1] = src_strides[i];
      continue;
    }
    d[r] = dims[i];
    ds[r] = dst_strides[i];
    ss[r] = src_strides[i];
    r++;
  }
  if (r == 0) {
    memcpy(dst, src, esize);
    return;
  }
  /* When the innermost dim is contiguous in dst but not in src, a dim contiguous in src (if any) pairs
   * with it for a tiled transpose. */
  int inner = r - 1, tiled = -1;
  if (ds[inner] == 1 && ss[inner] != 1)
    for (int k = inner - 1; k >= 0 && tiled < 0; k--)
      if (ss[k] == 1) tiled = k;
  int outer[VITC_COPY_MAX_RANK], nouter = 0;
  for (int k = 0; k < inner; k++)
    if (k != tiled) outer[nouter++] = k;

  int64_t idx[VITC_COPY_MAX_RANK] = {0}, doff = 0, soff = 0;
  for (;;) {
    char *dp = (char *)dst + doff * (int64_t)esize;
    const char *sp = (const char *)src + soff * (int64_t)esize;
    if (tiled >= 0) copy_tile(dp, ds[tiled], sp, ss[inner], d[tiled], d[inner], esize);
    else copy_row(dp, ds[inner], sp, ss[inner], d[inner], esize);
    int j = nouter - 1;
    for (; j >= 0; j--) {
      int a = outer[j];
      doff += ds[a];
      soff += ss[a];
      if (++idx[j] < d[a]) break;
      doff -= ds[a] * d[a];
      soff -= ss[a] * d[a];
      idx[j] = 0;
    }
    if (j < 0) return;
  }
}

void vitc_fill_elements(void *dst, int64_t count, const void *elem, size_t esize) {
  if (count <= 0) return;
  char *d = dst;
  size_t total = (size_t)count * esize, done = esize;
  memcpy(d, elem, esize);
  while (done < total) { /* doubling: log2(count) memcpy calls */
    size_t chunk = done < total - done ? done : total - done;
    memcpy(d + done, d, chunk);
    done += chunk;
  }
}

const char *vitc_dims_str(const int64_t *dims, int rank, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (used < n) snprintf(buf + used, n - used, "]");
  return buf;
}

vitc_status vitc_set_shape(vitc_value *out, vitc_dtype dtype, const int64_t *dims, int rank, vitc_error *err) {
  int64_t count;
  if (!vitc_checked_numel(dims, rank, &count)) {
    char s[256];
    return vitc_fail(err, VITC_ERR_INVALID, "output shape %s is negative or too large",
                     vitc_dims_str(dims, rank, s, sizeof s));
  }
  out->dtype = dtype;
  out->rank = rank;
  memcpy(out->dims, dims, sizeof(int64_t) * (size_t)rank);
  return VITC_OK;
}

vitc_status vitc_check_index_dtype(const vitc_value *v, const char *what, vitc_error *err) {
  if (v->dtype != VITC_I64 && v->dtype != VITC_I32)
    return vitc_fail(err, VITC_ERR_INVALID, "%s must be int32 or int64, not %s", what,
                     vitc_dtype_name(v->dtype) ? vitc_dtype_name(v->dtype) : "an unknown type");
  return VITC_OK;
}

vitc_status vitc_load_index(const vitc_value *idx, int64_t i, int64_t dim, int64_t *out, vitc_error *err) {
  int64_t v = idx->dtype == VITC_I64 ? ((const int64_t *)idx->data)[i] : ((const int32_t *)idx->data)[i];
  int64_t k = v < 0 ? v + dim : v;
  if (k < 0 || k >= dim)
    return vitc_fail(err, VITC_ERR_INVALID, "index %lld is out of range for an axis of size %lld", (long long)v,
                     (long long)dim);
  *out = k;
  return VITC_OK;
}
