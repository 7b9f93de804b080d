/* PLACEHOLDER: replaced by the implementation of this group. */
#include "ops.h"

vitc_status shape_conv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_conv_transpose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_global_pool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_pool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_AveragePool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Conv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ConvTranspose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_GlobalAveragePool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_GlobalMaxPool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_MaxPool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
double flops_conv(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) { return 0; }
double flops_conv_transpose(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) { return 0; }
double flops_pool(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) { return 0; }
