/* attributes.c — AttributeProto to vitc_attr, everything copied into the graph's arena. */
#include <string.h>

#include "frontend_internal.h"

static char *arena_strndup(vitc_arena *a, const uint8_t *s, size_t n) {
  char *p = vitc_arena_alloc(a, n + 1);
  if (p && n) memcpy(p, s, n);
  return p;
}

/* Arrays get at least one element so an empty list is a non-NULL pointer like any other. */
static void *arena_array(vitc_arena *a, size_t n, size_t elem) { return vitc_arena_alloc(a, (n ? n : 1) * elem); }

static const char *attr_type_name(int t) {
  const ProtobufCEnumValue *ev =
      protobuf_c_enum_descriptor_get_value(&onnx__attribute_proto__attribute_type__descriptor, t);
  return ev ? ev->name : "unknown";
}

vitc_status fe_convert_attr(fe_loader *ld, const Onnx__AttributeProto *ap, vitc_attr *a, vitc_error *err) {
  vitc_arena *arena = ld->g->arena;
  const char *name = fe_str(ap->name);
  memset(a, 0, sizeof *a);
  if (!(a->name = vitc_arena_strdup(arena, name))) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!ap->has_type) return vitc_fail(err, VITC_ERR_INVALID, "attribute '%s' has no type", name);
  bool ok = true;
  switch (ap->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    a->type = VITC_ATTR_FLOAT;
    a->f = ap->f;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    a->type = VITC_ATTR_INT;
    a->i = ap->i;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    a->type = VITC_ATTR_STRING;
    ok = (a->s = arena_strndup(arena, ap->s.data, ap->s.len)) != NULL;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    a->type = VITC_ATTR_INTS;
    a->n = (int)ap->n_ints;
    if ((ok = (a->ints = arena_array(arena, ap->n_ints, sizeof(int64_t))) != NULL) && ap->n_ints)
      memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    a->type = VITC_ATTR_FLOATS;
    a->n = (int)ap->n_floats;
    if ((ok = (a->floats = arena_array(arena, ap->n_floats, sizeof(double))) != NULL))
      for (size_t i = 0; i < ap->n_floats; i++) a->floats[i] = ap->floats[i];
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
    a->type = VITC_ATTR_STRINGS;
    a->n = (int)ap->n_strings;
    ok = (a->strings = arena_array(arena, ap->n_strings, sizeof(char *))) != NULL;
    for (size_t i = 0; ok && i < ap->n_strings; i++)
      ok = (a->strings[i] = arena_strndup(arena, ap->strings[i].data, ap->strings[i].len)) != NULL;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    if (!ap->t) return vitc_fail(err, VITC_ERR_INVALID, "attribute '%s' of type TENSOR holds no tensor", name);
    char label[300];
    snprintf(label, sizeof label, "attribute '%s'", name);
    a->type = VITC_ATTR_TENSOR;
    return fe_load_tensor(ld, ap->t, label, &a->t, err);
  }
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "attribute '%s' holds a subgraph; vitc does not support control flow",
                     name);
  default:
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "attribute '%s' has type %s, which vitc does not support", name,
                     attr_type_name(ap->type));
  }
  return ok ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
}
