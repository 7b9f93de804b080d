/* emitters.h — declarations of the op emitters that ops.def names (its last column). Internal to
 * backend/. An emitter generates the body of the current node's function (cg.h). */
#ifndef VITC_EMITTERS_H
#define VITC_EMITTERS_H

#include "cg.h"

/* Ops built by emit_elementwise.c from a scalar builder each. */
#define VITC_ELEMENTWISE_EMITTERS(X)                                                                    \
  X(Abs) X(Neg) X(Sqrt) X(Reciprocal) X(Exp) X(Log) X(Erf) X(Tanh) X(Sigmoid) X(Floor) X(Ceil) X(Round)   \
  X(Sign) X(Sin) X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh)        \
  X(IsNaN) X(IsInf) X(Not) X(Relu) X(LeakyRelu) X(PRelu) X(Elu) X(Selu) X(Celu) X(ThresholdedRelu)       \
  X(HardSigmoid) X(HardSwish) X(Softplus) X(Softsign) X(Mish) X(Gelu) X(Shrink) X(Clip) X(Add) X(Sub)    \
  X(Mul) X(Div) X(Pow) X(Mod) X(BitShift) X(Min) X(Max) X(Sum) X(Mean) X(Equal) X(Less) X(LessOrEqual)   \
  X(Greater) X(GreaterOrEqual) X(And) X(Or) X(Xor) X(Where) X(Cast)

#define DECLARE_EMITTER(Op) vitc_status emit_##Op(vitc_cg *cg, const vitc_node *n, vitc_error *err);
VITC_ELEMENTWISE_EMITTERS(DECLARE_EMITTER)
#undef DECLARE_EMITTER

#endif
