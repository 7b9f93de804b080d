/* print.c — the graph as text (`vitc dump`, --print-after) and as Graphviz.
 *
 * The text form reads like an SSA listing, one item a line:
 *
 *   graph "model.onnx" opset 17
 *   input  %x : f32[1,3,224,224]
 *   const  %w : f32[768,3,16,16]
 *   const  %shape : i64[2] = [1, -1]
 *   %y : f32[1,768,14,14] = Conv(%x, %w, %b) {group=1, strides=[16,16]}   # conv_1
 *   output %y
 *
 * Absent optional inputs and unused optional outputs print as _, a tensor whose shape is not inferred yet
 * as ?. Only constants that live nodes or outputs use are listed, and only small ones (at most
 * SMALL_VALUE elements) show their values: a dump of a ViT stays a few hundred lines. */
#include <stdlib.h>

#include "ir.h"

#define SMALL_VALUE 8

static void print_type(const vitc_tensor *t, FILE *f) {
  char buf[256];
  fputs(t->shape_known ? vitc_value_type_str(&t->v, buf, sizeof buf) : "?", f);
}

static void print_values(const vitc_value *v, FILE *f) {
  int64_t n = vitc_numel(v);
  fputc('[', f);
  for (int64_t i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    if (vitc_dtype_is_float(v->dtype)) fprintf(f, "%g", vitc_load_f(v, i));
    else if (v->dtype == VITC_U64) fprintf(f, "%llu", (unsigned long long)((const uint64_t *)v->data)[i]);
    else fprintf(f, "%lld", (long long)vitc_load_i(v, i));
  }
  fputc(']', f);
}

static void print_string(const char *s, FILE *f) {
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void print_attr(const vitc_attr *a, FILE *f) {
  fprintf(f, "%s=", a->name);
  switch (a->type) {
  case VITC_ATTR_INT: fprintf(f, "%lld", (long long)a->i); break;
  case VITC_ATTR_FLOAT: fprintf(f, "%g", a->f); break;
  case VITC_ATTR_STRING: print_string(a->s, f); break;
  case VITC_ATTR_INTS:
    fputc('[', f);
    for (int k = 0; k < a->n; k++) fprintf(f, k ? ",%lld" : "%lld", (long long)a->ints[k]);
    fputc(']', f);
    break;
  case VITC_ATTR_FLOATS:
    fputc('[', f);
    for (int k = 0; k < a->n; k++) fprintf(f, k ? ",%g" : "%g", a->floats[k]);
    fputc(']', f);
    break;
  case VITC_ATTR_STRINGS:
    fputc('[', f);
    for (int k = 0; k < a->n; k++) {
      if (k) fputc(',', f);
      print_string(a->strings[k], f);
    }
    fputc(']', f);
    break;
  case VITC_ATTR_TENSOR: {
    char buf[256];
    fputs(vitc_value_type_str(&a->t, buf, sizeof buf), f);
    if (a->t.data && vitc_numel(&a->t) <= SMALL_VALUE) print_values(&a->t, f);
    break;
  }
  }
}

static void print_node(const vitc_graph *g, const vitc_node *n, FILE *f) {
  for (int k = 0; k < n->nout; k++) {
    if (k) fputs(", ", f);
    if (n->out[k] < 0) {
      fputc('_', f);
      continue;
    }
    fprintf(f, "%%%s : ", g->tensors[n->out[k]].name);
    print_type(&g->tensors[n->out[k]], f);
  }
  fprintf(f, " = %s%s%s(", vitc_ops[n->op].domain, *vitc_ops[n->op].domain ? "." : "", vitc_ops[n->op].name);
  for (int j = 0; j < n->nin; j++) {
    if (j) fputs(", ", f);
    if (n->in[j] < 0) fputc('_', f);
    else fprintf(f, "%%%s", g->tensors[n->in[j]].name);
  }
  fputc(')', f);
  if (n->nattr) {
    fputs(" {", f);
    for (int a = 0; a < n->nattr; a++) {
      if (a) fputs(", ", f);
      print_attr(&n->attrs[a], f);
    }
    fputc('}', f);
  }
  fprintf(f, "   # %s\n", n->name);
}

void vitc_print_graph(const vitc_graph *g, FILE *f) {
  fprintf(f, "graph \"%s\" opset %d\n", g->path, g->opset);
  for (int k = 0; k < g->ninputs; k++) {
    fprintf(f, "input  %%%s : ", g->tensors[g->inputs[k]].name);
    print_type(&g->tensors[g->inputs[k]], f);
    fputc('\n', f);
  }
  int *uses = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  if (uses) vitc_graph_use_counts(g, uses); /* without it every constant is listed: still a valid dump */
  for (int t = 0; t < g->ntensors; t++) {
    const vitc_tensor *c = &g->tensors[t];
    if (c->producer >= 0 || !c->v.data || (uses && !uses[t])) continue;
    fprintf(f, "const  %%%s : ", c->name);
    print_type(c, f);
    if (vitc_numel(&c->v) <= SMALL_VALUE) {
      fputs(" = ", f);
      print_values(&c->v, f);
    }
    fputc('\n', f);
  }
  free(uses);
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead) print_node(g, &g->nodes[i], f);
  for (int k = 0; k < g->noutputs; k++) fprintf(f, "output %%%s\n", g->tensors[g->outputs[k]].name);
}

/* Graphviz: ops are boxes, graph inputs and outputs ellipses; edges carry the tensor's type. Constants
 * are left out (a ViT has hundreds of weights): their count appears in the op's label. */
static void dot_label(const char *s, FILE *f) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
}

static void dot_edge(const vitc_graph *g, int t, const char *to_prefix, int to, FILE *f) {
  const vitc_tensor *tt = &g->tensors[t];
  char buf[256];
  if (tt->producer >= 0) fprintf(f, "  n%d -> %s%d [label=\"", tt->producer, to_prefix, to);
  else fprintf(f, "  t%d -> %s%d [label=\"", t, to_prefix, to);
  dot_label(tt->shape_known ? vitc_value_type_str(&tt->v, buf, sizeof buf) : "?", f);
  fputs("\"];\n", f);
}

void vitc_print_dot(const vitc_graph *g, FILE *f) {
  fputs("digraph vitc {\n  node [fontname=\"monospace\"];\n  label=\"", f);
  dot_label(g->path, f);
  fputs("\";\n", f);
  for (int k = 0; k < g->ninputs; k++) {
    fprintf(f, "  t%d [shape=ellipse, label=\"", g->inputs[k]);
    dot_label(g->tensors[g->inputs[k]].name, f);
    fputs("\"];\n", f);
  }
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    int consts = 0;
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      if (t >= 0 && g->tensors[t].producer < 0 && g->tensors[t].v.data) consts++;
    }
    fprintf(f, "  n%d [shape=box, label=\"%s\\n", i, vitc_ops[n->op].name);
    dot_label(n->name, f);
    if (consts) fprintf(f, "\\n+%d const", consts);
    fputs("\"];\n", f);
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      if (t >= 0 && !(g->tensors[t].producer < 0 && g->tensors[t].v.data)) dot_edge(g, t, "n", i, f);
    }
  }
  for (int k = 0; k < g->noutputs; k++) {
    fprintf(f, "  out%d [shape=ellipse, label=\"", k);
    dot_label(g->tensors[g->outputs[k]].name, f);
    fputs("\"];\n", f);
    dot_edge(g, g->outputs[k], "out", k, f);
  }
  fputs("}\n", f);
}
