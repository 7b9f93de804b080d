/* PLACEHOLDER: replaced by the implementation of this group. */
#include "ops.h"

vitc_status shape_arg_reduce(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_reduce(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_topk(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ArgMax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ArgMin(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_CumSum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Hardmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_LogSoftmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceL1(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceL2(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceLogSum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceLogSumExp(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceMax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceMean(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceMin(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceProd(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceSum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ReduceSumSquare(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Softmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_TopK(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
double flops_softmax(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) { return 0; }
