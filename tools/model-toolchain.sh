#!/bin/sh
# Regenerate the test models that come from timm (tests/models/gen.py's timm_model: CaiT, EVA-02, CoaT,
# BEiT, TinyViT, PVT v2). Not used by `make test`: the generated models are committed.
#
#   tools/model-toolchain.sh [MODEL...]      e.g. tools/model-toolchain.sh eva02_op17 coat_op17
#   tools/model-toolchain.sh --quant [NAME...]   the int8 models of tests/models/quant (tests/models/quantize.py)
#
# timm 1.0.31 is the newest release checked to import, build and export these models with Debian's
# python3-torch 1.13; the virtualenv sees Debian's torch, torchvision and onnx (--system-site-packages)
# and adds only timm and its pure-python dependencies.
set -eu
# ONNX Runtime's quantizer and runtime make and check the int8 models. It needs a newer onnx than Debian's
# 1.12 (onnx.reference) and ml_dtypes; the virtualenv keeps them away from the torch exports' onnx.
if [ "${1:-}" = --quant ]; then
    shift
    QVENV=${VITC_QUANT_VENV:-/work/venv-quant}
    ORT_VERSION=1.32.0
    if ! "$QVENV/bin/python" -c "import onnxruntime as o, onnx.reference, ml_dtypes, sys; sys.exit(o.__version__ != '$ORT_VERSION')" 2>/dev/null; then
        /usr/bin/python3 -m venv --system-site-packages "$QVENV"
        "$QVENV/bin/pip" install --quiet "onnxruntime==$ORT_VERSION" ml_dtypes
        "$QVENV/bin/pip" install --quiet --upgrade onnx
    fi
    exec "$QVENV/bin/python" "$(dirname "$0")/../tests/models/quantize.py" "$@"
fi
VENV=${VITC_TIMM_VENV:-/work/venv-timm}
TIMM_VERSION=1.0.31
if ! "$VENV/bin/python" -c "import timm, sys; sys.exit(timm.__version__ != '$TIMM_VERSION')" 2>/dev/null; then
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
    "$VENV/bin/pip" install --quiet "timm==$TIMM_VERSION"
fi
# timm must not have pulled in a torch of its own: the references are torch 1.13's outputs.
"$VENV/bin/python" -c "import torch, sys; sys.exit(not torch.__version__.startswith('1.13'))"
exec "$VENV/bin/python" "$(dirname "$0")/../tests/models/gen.py" "$@"
