/* inline_weights.c — a model's inline initializers read in place from the mapped file.
 *
 * protobuf-c copies every bytes field while unpacking, so a 350 MB model with its weights inline would
 * be held twice (the mapping and the unpacked copy) and a third time in the graph's arena. Instead the
 * model is unpacked from a copy without its initializers' raw_data, and each initializer's raw_data is
 * found in the file:
 *
 *   ModelProto  field 7 graph ─▶ GraphProto  field 5 initializer (repeated) ─▶ TensorProto  field 9 raw_data
 *
 * The file stays mapped for the graph's life (vitc_graph_free unmaps it); its pages are clean file pages,
 * which the kernel can drop and read again (vitc_graph_drop_mapped_pages). Anything this walk does not
 * expect (a group, a graph given twice, a malformed varint) leaves the model to the plain unpack, whose
 * checks then apply. */
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

typedef struct field {
  uint64_t number;
  int wire;
  size_t start, end;   /* the whole field, tag included */
  size_t value, len;   /* a WIRE_LEN field's payload */
} field;

static bool read_varint(const uint8_t *p, size_t end, size_t *at, uint64_t *out) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64 && *at < end; shift += 7) {
    uint8_t b = p[(*at)++];
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = x;
      return true;
    }
  }
  return false;
}

/* The field starting at *at (before end); false on anything malformed or a group. */
static bool next_field(const uint8_t *p, size_t end, size_t *at, field *f) {
  uint64_t tag, n;
  f->start = *at;
  if (!read_varint(p, end, at, &tag)) return false;
  f->number = tag >> 3;
  f->wire = (int)(tag & 7);
  switch (f->wire) {
  case WIRE_VARINT: if (!read_varint(p, end, at, &n)) return false; break;
  case WIRE_I64: if (end - *at < 8) return false; *at += 8; break;
  case WIRE_I32: if (end - *at < 4) return false; *at += 4; break;
  case WIRE_LEN:
    if (!read_varint(p, end, at, &n) || n > end - *at) return false;
    f->value = *at;
    f->len = (size_t)n;
    *at += (size_t)n;
    break;
  default: return false;
  }
  f->end = *at;
  return true;
}

static size_t put_varint(uint8_t *out, uint64_t x) {
  size_t n = 0;
  do {
    uint8_t b = x & 0x7f;
    x >>= 7;
    if (out) out[n] = b | (x ? 0x80 : 0);
    n++;
  } while (x);
  return n;
}

static size_t put_bytes(uint8_t *out, const uint8_t *src, size_t n) {
  if (out) memcpy(out, src, n);
  return n;
}

/* Writes a TensorProto without raw_data (out may be NULL: only counts); *raw gets its raw_data's place. */
static bool strip_tensor(const uint8_t *p, size_t at, size_t end, uint8_t *out, size_t *size, fe_range *raw) {
  size_t n = 0;
  raw->offset = 0;
  raw->len = -1;
  for (field f; at < end;) {
    if (!next_field(p, end, &at, &f)) return false;
    if (f.number == TENSOR_RAW_DATA && f.wire == WIRE_LEN) {
      raw->offset = f.value;
      raw->len = (int64_t)f.len;
      continue;
    }
    n += put_bytes(out ? out + n : NULL, p + f.start, f.end - f.start);
  }
  *size = n;
  return true;
}

/* Writes a GraphProto with its initializers stripped; raws[k] for the k-th initializer. */
static bool strip_graph(const uint8_t *p, size_t at, size_t end, uint8_t *out, size_t *size, fe_range *raws) {
  size_t n = 0, k = 0;
  for (field f; at < end;) {
    if (!next_field(p, end, &at, &f)) return false;
    if (f.number != GRAPH_INITIALIZER || f.wire != WIRE_LEN) {
      n += put_bytes(out ? out + n : NULL, p + f.start, f.end - f.start);
      continue;
    }
    size_t tensor_size;
    if (!strip_tensor(p, f.value, f.value + f.len, NULL, &tensor_size, &raws[k])) return false;
    n += put_varint(out ? out + n : NULL, (GRAPH_INITIALIZER << 3) | WIRE_LEN);
    n += put_varint(out ? out + n : NULL, tensor_size);
    if (out) strip_tensor(p, f.value, f.value + f.len, out + n, &tensor_size, &raws[k]);
    n += tensor_size;
    k++;
  }
  *size = n;
  return true;
}

/* Initializers in the graph field at [at, end): counted so that raws can be sized. */
static bool count_initializers(const uint8_t *p, size_t at, size_t end, size_t *count) {
  *count = 0;
  for (field f; at < end;) {
    if (!next_field(p, end, &at, &f)) return false;
    *count += f.number == GRAPH_INITIALIZER && f.wire == WIRE_LEN;
  }
  return true;
}

/* The model without its initializers' raw_data (malloc'd into *out, *out_len), or false to unpack as is. */
static bool strip_model(const fe_file *file, uint8_t **out, size_t *out_len, fe_range **raws, size_t *nraws) {
  const uint8_t *p = file->data;
  size_t at = 0, end = file->len, graphs = 0;
  field graph = {0};
  for (field f; at < end;) {
    if (!next_field(p, end, &at, &f)) return false;
    if (f.number == MODEL_GRAPH) {
      if (f.wire != WIRE_LEN) return false;
      graph = f;
      graphs++;
    }
  }
  size_t count, graph_size;
  if (graphs != 1 || !count_initializers(p, graph.value, graph.value + graph.len, &count) || !count) return false;
  fe_range *r = calloc(count, sizeof *r);
  if (!r || !strip_graph(p, graph.value, graph.value + graph.len, NULL, &graph_size, r)) {
    free(r);
    return false;
  }
  size_t before = graph.start, after = end - graph.end;
  size_t len = before + put_varint(NULL, (MODEL_GRAPH << 3) | WIRE_LEN) + put_varint(NULL, graph_size) + graph_size +
               after;
  uint8_t *buf = malloc(len);
  if (!buf) {
    free(r);
    return false;
  }
  size_t n = put_bytes(buf, p, before);
  n += put_varint(buf + n, (MODEL_GRAPH << 3) | WIRE_LEN);
  n += put_varint(buf + n, graph_size);
  strip_graph(p, graph.value, graph.value + graph.len, buf + n, &graph_size, r);
  n += graph_size;
  put_bytes(buf + n, p + graph.end, after);
  *out = buf;
  *out_len = len;
  *raws = r;
  *nraws = count;
  return true;
}

Onnx__ModelProto *fe_unpack_model(const fe_file *file, fe_range **raws, size_t *nraws) {
  *raws = NULL;
  *nraws = 0;
  uint8_t *stripped;
  size_t len;
  if (!strip_model(file, &stripped, &len, raws, nraws)) return onnx__model_proto__unpack(NULL, file->len, file->data);
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, stripped);
  free(stripped);
  if (!model || !model->graph || model->graph->n_initializer != *nraws) {
    /* the walk and protobuf-c disagree: trust protobuf-c alone */
    if (model) onnx__model_proto__free_unpacked(model, NULL);
    free(*raws);
    *raws = NULL;
    *nraws = 0;
    return onnx__model_proto__unpack(NULL, file->len, file->data);
  }
  return model;
}
