/* PLACEHOLDER: replaced by the implementation of this group. */
#include "ops.h"

vitc_status shape_layer_norm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_BatchNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_GroupNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_InstanceNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_LayerNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_LpNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_MeanVarianceNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
double flops_norm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) { return 0; }
