/* test_lower_einsum.c — lower_einsum on tiny graphs: the products it turns into MatMul (with the
 * Transposes and Reshapes each needs, and none where none is needed) and the equations that must stay
 * Einsum. Each case checks the histogram, the evaluator before/after the pass and the JIT of the whole
 * pipeline (fusion_harness.h). Sizes are odd and distinct so that a swapped label shows. */
#include "fusion_harness.h"

typedef struct einsum_case {
  const char *what, *equation;
  int rank[2];
  int64_t dims[2][5];
  int matmul, transpose, reshape, einsum; /* after the pass */
} einsum_case;

static const einsum_case cases[] = {
    {"q·kᵀ per head", "bhid,bhjd->bhij", {4, 4}, {{2, 3, 7, 5}, {2, 3, 9, 5}}, 1, 1, 0, 0},
    {"p·v per head", "bhij,bhjd->bhid", {4, 4}, {{2, 3, 7, 9}, {2, 3, 9, 5}}, 1, 0, 0, 0},
    {"MaxViT's spelling", "B G H I D, B G H J D -> B G H I J", {5, 5}, {{1, 3, 2, 7, 5}, {1, 3, 2, 9, 5}}, 1, 1, 0, 0},
    {"matrix product", "ik,kj->ij", {2, 2}, {{7, 5}, {5, 9}}, 1, 0, 0, 0},
    {"output reordered", "bij,bjk->kbi", {3, 3}, {{2, 7, 5}, {2, 5, 9}}, 1, 1, 0, 0},
    {"two summed labels", "bmcd,bncd->bmn", {4, 4}, {{2, 7, 3, 5}, {2, 9, 3, 5}}, 1, 1, 2, 0},
    {"outer product", "bi,bj->bij", {2, 2}, {{3, 7}, {3, 9}}, 1, 0, 2, 0},
    {"batch label last", "ijb,jkb->bik", {3, 3}, {{7, 5, 3}, {5, 9, 3}}, 1, 2, 0, 0},
    {"near miss: diagonal", "bii,bij->bj", {3, 3}, {{2, 7, 7}, {2, 7, 9}}, 0, 0, 0, 1},
    {"near miss: label summed in B alone", "bij,bjk->bi", {3, 3}, {{2, 7, 5}, {2, 5, 9}}, 0, 0, 0, 1},
    {"near miss: batch broadcast", "bij,bjk->bik", {3, 3}, {{1, 7, 5}, {3, 5, 9}}, 0, 0, 0, 1},
    {"near miss: one operand", "bij->bji", {3, 0}, {{2, 7, 5}}, 0, 0, 0, 1},
};

static void build(test_graph *t, int c) {
  const einsum_case *e = &cases[c];
  int in[2], nin = e->rank[1] ? 2 : 1;
  for (int k = 0; k < nin; k++) in[k] = tg_input(t, VITC_F32, e->rank[k], e->dims[k]);
  vitc_attr eq = {.name = "equation", .type = VITC_ATTR_STRING, .s = e->equation};
  tg_output(t, tg_node(t, VITC_OP_Einsum, in, nin, 1, &eq, 1));
}

int main(void) {
  for (int c = 0; c < (int)(sizeof cases / sizeof *cases); c++) {
    const fh_count want[] = {{VITC_OP_MatMul, cases[c].matmul},
                             {VITC_OP_Transpose, cases[c].transpose},
                             {VITC_OP_Reshape, cases[c].reshape},
                             {VITC_OP_Einsum, cases[c].einsum}};
    vitc_graph_free(fh_check(cases[c].what, build, c, vitc_lower_einsum, want, 4));
  }
  CHECK_DONE();
}
