/* PLACEHOLDER: replaced by the implementation of this group. */
#include "ops.h"

vitc_status shape_concat(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_constant_of_shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_depth_to_space(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_dropout(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_expand(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_flatten(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_pad(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_range(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_reshape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_size(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_slice(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_space_to_depth(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_split(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_squeeze(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_tile(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_transpose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status shape_unsqueeze(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Concat(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_ConstantOfShape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_DepthToSpace(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Dropout(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Expand(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Identity(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Pad(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Range(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Reshape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Size(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Slice(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_SpaceToDepth(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Split(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Tile(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Transpose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
vitc_status eval_Trilu(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { return vitc_fail(err, VITC_ERR_UNSUPPORTED, "not implemented"); }
