/* npy_file.c — numpy's .npy (one array) and .npz (a zip of named .npy members) files, the formats a
 * Python user has at hand (numpy.save / numpy.savez / numpy.savez_compressed).
 *
 * .npy: "\x93NUMPY", version, header length, then a Python dict literal
 *       {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), } padded to 64 bytes, then the
 *       raw elements. Fortran-ordered arrays are transposed to row-major on reading.
 * .npz: a zip archive whose members NAME.npy are stored (savez) or deflated (savez_compressed); sizes come
 *       from the central directory (ZIP64 extra fields included, as numpy writes them). vitc writes stored
 *       members with their CRC-32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "frontend_internal.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* numpy's type strings for vitc's dtypes ('<' little-endian, '|' byte-sized). bfloat16 has none. */
static const struct {
  vitc_dtype dtype;
  const char *descr;
} npy_types[] = {
    {VITC_F32, "f4"}, {VITC_F64, "f8"}, {VITC_F16, "f2"}, {VITC_I8, "i1"},  {VITC_I16, "i2"},
    {VITC_I32, "i4"}, {VITC_I64, "i8"}, {VITC_U8, "u1"},  {VITC_U16, "u2"}, {VITC_U32, "u4"},
    {VITC_U64, "u8"}, {VITC_BOOL, "b1"},
};

bool fe_is_npy(const uint8_t *data, size_t len) { return len >= 10 && !memcmp(data, npy_magic, 6); }
bool fe_is_npz(const uint8_t *data, size_t len) { return len >= 4 && !memcmp(data, "PK\3\4", 4); }

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The text after `'key':` in the header dict, or NULL. */
static const char *header_field(const char *header, const char *key) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "'%s'", key);
  const char *p = strstr(header, quoted);
  if (!p) return NULL;
  p += strlen(quoted);
  while (*p == ' ') p++;
  if (*p++ != ':') return NULL;
  while (*p == ' ') p++;
  return p;
}

static vitc_status parse_descr(const char *p, vitc_dtype *dtype, vitc_error *err) {
  if (!p || *p != '\'') return vitc_fail(err, VITC_ERR_PARSE, "the .npy header has no 'descr'");
  const char *end = strchr(p + 1, '\'');
  if (!end || end - p - 1 != 3) return vitc_fail(err, VITC_ERR_PARSE, "unsupported .npy dtype %.16s", p);
  char order = p[1];
  for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++) {
    if (strncmp(p + 2, npy_types[i].descr, 2)) continue;
    bool byte_sized = vitc_dtype_size(npy_types[i].dtype) == 1;
    if (order == '>' && !byte_sized)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "big-endian .npy data (%.5s) is not supported", p);
    *dtype = npy_types[i].dtype;
    return VITC_OK;
  }
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "unsupported .npy dtype %.5s", p);
}

static vitc_status parse_shape(const char *p, vitc_value *v, vitc_error *err) {
  if (!p || *p++ != '(') return vitc_fail(err, VITC_ERR_PARSE, "the .npy header has no 'shape' tuple");
  v->rank = 0;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') return VITC_OK;
    char *end;
    long long d = strtoll(p, &end, 10);
    if (end == p || d < 0) return vitc_fail(err, VITC_ERR_PARSE, "bad dimension in the .npy shape");
    if (v->rank == VITC_MAX_RANK)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, ".npy arrays of rank above %d are not supported", VITC_MAX_RANK);
    v->dims[v->rank++] = d;
    p = end;
  }
}

/* Column-major data of v's shape → row-major: element (i0..in) sits at Σ ik·stride_k with stride_0 = 1. */
static void fortran_to_row_major(const vitc_value *v, const uint8_t *src, uint8_t *dst) {
  size_t esize = vitc_dtype_size(v->dtype);
  int64_t n = vitc_numel(v), idx[VITC_MAX_RANK] = {0}, stride[VITC_MAX_RANK];
  for (int d = 0, s = 1; d < v->rank; s *= (int)v->dims[d], d++) stride[d] = s;
  for (int64_t i = 0; i < n; i++) {
    int64_t from = 0;
    for (int d = 0; d < v->rank; d++) from += idx[d] * stride[d];
    memcpy(dst + (size_t)i * esize, src + (size_t)from * esize, esize);
    for (int d = v->rank - 1; d >= 0 && ++idx[d] == v->dims[d]; d--) idx[d] = 0;
  }
}

vitc_status fe_decode_npy(const uint8_t *data, size_t len, vitc_value *out, vitc_error *err) {
  memset(out, 0, sizeof *out);
  if (!fe_is_npy(data, len)) return vitc_fail(err, VITC_ERR_PARSE, "not a .npy array (bad magic)");
  int major = data[6];
  size_t prefix = major == 1 ? 10 : 12;
  if ((major != 1 && major != 2 && major != 3) || len < prefix)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, ".npy format version %d is not supported", major);
  size_t header_len = major == 1 ? le16(data + 8) : le32(data + 8);
  if (header_len > len - prefix) return vitc_fail(err, VITC_ERR_PARSE, "truncated .npy header");
  char *header = strndup((const char *)data + prefix, header_len);
  if (!header) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  const char *fortran = header_field(header, "fortran_order");
  vitc_status st = parse_descr(header_field(header, "descr"), &out->dtype, err);
  if (!st) st = parse_shape(header_field(header, "shape"), out, err);
  if (!st && !fortran) st = vitc_fail(err, VITC_ERR_PARSE, "the .npy header has no 'fortran_order'");
  bool column_major = !st && !strncmp(fortran, "True", 4);
  free(header);
  if (st) return st;
  int64_t numel;
  if (!vitc_checked_numel(out->dims, out->rank, &numel))
    return vitc_fail(err, VITC_ERR_PARSE, "the .npy shape overflows");
  size_t bytes = vitc_nbytes(out), body = prefix + header_len;
  if (len - body != bytes)
    return vitc_fail(err, VITC_ERR_PARSE, ".npy data holds %zu bytes where its shape needs %zu", len - body, bytes);
  if (!(out->data = malloc(bytes ? bytes : 1))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (column_major)
    fortran_to_row_major(out, data + body, out->data);
  else
    memcpy(out->data, data + body, bytes);
  return VITC_OK;
}

vitc_status fe_encode_npy(const vitc_value *v, uint8_t **buf, size_t *len, vitc_error *err) {
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
    if (npy_types[i].dtype == v->dtype) descr = npy_types[i].descr;
  if (!descr)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "numpy has no dtype for %s", vitc_dtype_name(v->dtype) ?: "?");
  char header[128 + 24 * VITC_MAX_RANK];
  int n = snprintf(header, sizeof header, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                   vitc_dtype_size(v->dtype) == 1 ? '|' : '<', descr);
  for (int d = 0; d < v->rank; d++) n += snprintf(header + n, sizeof header - (size_t)n, "%lld, ", (long long)v->dims[d]);
  n -= v->rank == 1 ? 1 : v->rank > 1 ? 2 : 0; /* "(3,)" for rank 1, "(2, 3)" above, "()" for a scalar */
  n += snprintf(header + n, sizeof header - (size_t)n, "), }");
  size_t padded = ((size_t)n + 10 + 1 + 63) / 64 * 64 - 10; /* the data starts 64-byte aligned */
  size_t bytes = vitc_nbytes(v);
  *len = 10 + padded + bytes;
  if (!(*buf = malloc(*len))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  memcpy(*buf, npy_magic, 6);
  (*buf)[6] = 1, (*buf)[7] = 0, (*buf)[8] = (uint8_t)padded, (*buf)[9] = (uint8_t)(padded >> 8);
  memcpy(*buf + 10, header, (size_t)n);
  memset(*buf + 10 + n, ' ', padded - (size_t)n - 1);
  (*buf)[10 + padded - 1] = '\n';
  memcpy(*buf + 10 + padded, v->data, bytes);
  return VITC_OK;
}

/* ---------------------------------------------------------------- .npz */

enum { LOCAL_HEADER = 30, CENTRAL_HEADER = 46, END_RECORD = 22 };

/* Inflates a raw deflate stream of exactly `size` output bytes. */
static vitc_status inflate_member(const uint8_t *src, size_t src_len, uint8_t *dst, size_t size, vitc_error *err) {
  z_stream z = {0};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  z.next_in = (Bytef *)src, z.avail_in = (uInt)src_len;
  z.next_out = dst, z.avail_out = (uInt)size;
  int rc = inflate(&z, Z_FINISH);
  bool whole = rc == Z_STREAM_END && z.total_out == size;
  inflateEnd(&z);
  return whole ? VITC_OK : vitc_fail(err, VITC_ERR_PARSE, "a deflated member does not inflate to its size");
}

/* The member's sizes and local-header offset, from its central entry's ZIP64 extra field where the
 * 32-bit fields say 0xFFFFFFFF. */
static void zip64_sizes(const uint8_t *extra, size_t extra_len, uint64_t *size, uint64_t *csize, uint64_t *offset) {
  for (size_t at = 0; at + 4 <= extra_len;) {
    uint32_t id = le16(extra + at), n = le16(extra + at + 2);
    const uint8_t *p = extra + at + 4, *end = p + n;
    if (at + 4 + n > extra_len) return;
    if (id == 1) {
      uint64_t *fields[3] = {size, csize, offset};
      for (int f = 0; f < 3; f++)
        if (*fields[f] == 0xFFFFFFFFu && p + 8 <= end) *fields[f] = le64(p), p += 8;
    }
    at += 4 + n;
  }
}

vitc_status fe_decode_npz(const uint8_t *data, size_t len, vitc_array_visit visit, void *user, vitc_error *err) {
  size_t at = len >= END_RECORD ? len - END_RECORD : 0;
  while (at > 0 && le32(data + at) != 0x06054b50u) at--;
  if (len < END_RECORD || le32(data + at) != 0x06054b50u)
    return vitc_fail(err, VITC_ERR_PARSE, "not a .npz archive (no zip directory)");
  uint32_t count = le16(data + at + 10);
  uint64_t dir = le32(data + at + 16);
  for (uint32_t m = 0; m < count; m++) {
    if (dir > len || len - dir < CENTRAL_HEADER || le32(data + dir) != 0x02014b50u)
      return vitc_fail(err, VITC_ERR_PARSE, "corrupt .npz directory");
    const uint8_t *e = data + dir;
    uint32_t method = le16(e + 10), name_len = le16(e + 28), extra_len = le16(e + 30), comment_len = le16(e + 32);
    uint64_t csize = le32(e + 20), size = le32(e + 24), offset = le32(e + 42);
    if (len - dir - CENTRAL_HEADER < (uint64_t)name_len + extra_len + comment_len)
      return vitc_fail(err, VITC_ERR_PARSE, "corrupt .npz directory");
    zip64_sizes(e + CENTRAL_HEADER + name_len, extra_len, &size, &csize, &offset);
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)name_len, (const char *)e + CENTRAL_HEADER);
    dir += CENTRAL_HEADER + name_len + extra_len + comment_len;
    size_t stem = strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".npy") ? strlen(name) - 4 : strlen(name);
    name[stem] = 0;
    if (offset > len || len - offset < LOCAL_HEADER || le32(data + offset) != 0x04034b50u)
      return vitc_fail(err, VITC_ERR_PARSE, "member '%s': corrupt local header", name);
    uint64_t start = offset + LOCAL_HEADER + le16(data + offset + 26) + le16(data + offset + 28);
    if (start > len || len - start < csize) return vitc_fail(err, VITC_ERR_PARSE, "member '%s' is truncated", name);
    if (method != 0 && method != 8)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "member '%s': zip compression method %u is not supported", name,
                       method);
    if (method == 0 && csize != size) return vitc_fail(err, VITC_ERR_PARSE, "member '%s': bad sizes", name);
    uint8_t *inflated = NULL;
    if (method == 8) {
      if (!(inflated = malloc(size ? size : 1))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
      vitc_status st = inflate_member(data + start, csize, inflated, size, err);
      if (st) {
        free(inflated);
        vitc_error_prefix(err, "member '%s'", name);
        return st;
      }
    }
    vitc_value v;
    vitc_status st = fe_decode_npy(inflated ? inflated : data + start, size, &v, err);
    free(inflated);
    if (!st) st = visit(user, name, &v, err);
    if (st) {
      vitc_error_prefix(err, "member '%s'", name);
      return st;
    }
  }
  return VITC_OK;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }

vitc_status fe_encode_npz(const char *const *names, const vitc_value *values, int n, uint8_t **buf, size_t *len,
                          vitc_error *err) {
  uint8_t **members = calloc((size_t)n + 1, sizeof *members);
  size_t *sizes = calloc((size_t)n + 1, sizeof *sizes), total = END_RECORD;
  uint32_t *crcs = calloc((size_t)n + 1, sizeof *crcs), *offsets = calloc((size_t)n + 1, sizeof *offsets);
  vitc_status st = members && sizes && crcs && offsets ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int m = 0; m < n && !st; m++) {
    st = fe_encode_npy(&values[m], &members[m], &sizes[m], err);
    if (!st && (sizes[m] >= 0xFFFFFFFFu || total + sizes[m] >= 0xFFFFFFFFu))
      st = vitc_fail(err, VITC_ERR_UNSUPPORTED, "too large for a .npz archive without ZIP64");
    if (st) {
      vitc_error_prefix(err, "array '%s'", names[m]);
      break;
    }
    crcs[m] = (uint32_t)crc32(0, members[m], (uInt)sizes[m]);
    total += LOCAL_HEADER + CENTRAL_HEADER + 2 * (strlen(names[m]) + 4) + sizes[m];
  }
  if (!st && !(*buf = malloc(total))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  uint8_t *p = st ? NULL : *buf;
  for (int m = 0; p && m < n; m++) { /* local header, name, stored data */
    uint32_t name_len = (uint32_t)strlen(names[m]) + 4, size = (uint32_t)sizes[m];
    offsets[m] = (uint32_t)(p - *buf);
    memset(p, 0, LOCAL_HEADER);
    put32(p, 0x04034b50u), put16(p + 4, 20), put32(p + 14, crcs[m]), put32(p + 18, size), put32(p + 22, size);
    put16(p + 26, name_len);
    memcpy(p + LOCAL_HEADER, names[m], name_len - 4), memcpy(p + LOCAL_HEADER + name_len - 4, ".npy", 4);
    memcpy(p + LOCAL_HEADER + name_len, members[m], size);
    p += LOCAL_HEADER + name_len + size;
  }
  uint8_t *dir = p;
  for (int m = 0; p && m < n; m++) { /* central directory */
    uint32_t name_len = (uint32_t)strlen(names[m]) + 4, size = (uint32_t)sizes[m];
    memset(p, 0, CENTRAL_HEADER);
    put32(p, 0x02014b50u), put16(p + 4, 20), put16(p + 6, 20), put32(p + 16, crcs[m]), put32(p + 20, size);
    put32(p + 24, size), put16(p + 28, name_len), put32(p + 42, offsets[m]);
    memcpy(p + CENTRAL_HEADER, names[m], name_len - 4), memcpy(p + CENTRAL_HEADER + name_len - 4, ".npy", 4);
    p += CENTRAL_HEADER + name_len;
  }
  if (p) {
    memset(p, 0, END_RECORD);
    put32(p, 0x06054b50u), put16(p + 8, (uint32_t)n), put16(p + 10, (uint32_t)n);
    put32(p + 12, (uint32_t)(p - dir)), put32(p + 16, (uint32_t)(dir - *buf));
    *len = (size_t)(p + END_RECORD - *buf);
  }
  for (int m = 0; members && m < n; m++) free(members[m]);
  free(members), free(sizes), free(crcs), free(offsets);
  return st;
}
