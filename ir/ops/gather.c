/* PLACEHOLDER: replaced by the implementation of this group. */
#include "ops.h"

vitc_status shape_gather(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_gather_elements(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_gather_nd(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_nonzero(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_one_hot(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Gather(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_GatherElements(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_GatherND(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_NonZero(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_OneHot(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ScatterElements(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ScatterND(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
