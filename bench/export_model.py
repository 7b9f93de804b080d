#!/usr/bin/python3
"""Export a full-size torchvision or timm model (random, seeded weights, opset 17, batch 1, SIZE×SIZE, 224
unless given) for the benchmarks: bench/eval_vit_b16.sh and bench/compare_ort.sh.

usage: /usr/bin/python3 bench/export_model.py [--dynamic-batch] NAME OUTDIR [SIZE]     NAME: one of MODELS below
       /work/venv-timm/bin/python bench/export_model.py timm:NAME OUTDIR [SIZE]        e.g. timm:pvt_v2_b2

timm:NAME is any model timm.create_model knows, tag included (timm:vit_base_patch16_224.mae: MAE's
encoder, no head); SIZE defaults to the model's own input size. It needs the virtualenv
tools/model-toolchain.sh builds (timm 1.0.31 over Debian's torch 1.13).

SIZE lets Swin run at an image size its windows do not tile (swin_t at 256: every stage pads its
feature map to whole windows), and builds the ViTs for that size (vit_b_16 at 384: 577 tokens; torchvision's
ViT fixes its position embedding's length from image_size in the constructor). --dynamic-batch names the input's and output's axis 0 "batch" (symbolic)
instead of 1, for the batch tests of issue 19; the test data stays one image.

Writes OUTDIR/model.onnx (ViT-B/16: ~330 MB; never committed), OUTDIR/test_data_set_0/{input_0,output_0}.pb
in the ONNX backend-test layout, and OUTDIR/gflop.txt: the arithmetic of the model's matrix products
and convolutions (2 FLOP per multiply-add), as torch's profiler counts them in one forward pass (for
ViT-B/16 the same 35.13 as summing the exported MatMul/Gemm/Conv nodes). The weights are drawn by
tests/models/gen.py's randomise_parameters, so the output is not the zero torchvision's initial head
would give.
"""

import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torchvision.models

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
from gen import patch_swin_v2_for_export, randomise_parameters, write_tensor  # noqa: E402

SEED = 16
MODELS = ("vit_b_16", "vit_b_32", "swin_t", "swin_v2_t", "convnext_tiny", "maxvit_t")


def matmul_like_flops(model, image):
    """2 * multiply-adds of the matrix products and convolutions of one forward pass, as torch's
    profiler counts them (ONNX shape inference cannot follow Swin's Shape-computed reshapes)."""
    counted = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::conv2d")
    with torch.no_grad(), torch.profiler.profile(with_flops=True) as prof:
        model(image)
    return sum(e.flops for e in prof.key_averages() if e.key in counted)


def main():
    args = sys.argv[1:]
    dynamic_batch = "--dynamic-batch" in args
    if dynamic_batch:
        args.remove("--dynamic-batch")
    known = args and (args[0] in MODELS or args[0].startswith("timm:"))
    if len(args) not in (2, 3) or not known or (len(args) == 3 and not args[2].isdigit()):
        sys.exit(f"usage: export_model.py [--dynamic-batch] {'|'.join(MODELS)}|timm:NAME OUTDIR [SIZE]")
    name, out_dir = args[:2]
    os.makedirs(os.path.join(out_dir, "test_data_set_0"), exist_ok=True)
    torch.set_num_threads(1)  # the machine's two cores are shared
    torch.manual_seed(SEED)
    if name.startswith("timm:"):
        import timm  # only here: the torchvision exports need Debian's packages alone
        model = timm.create_model(name[len("timm:"):], pretrained=False)
        size = int(args[2]) if len(args) == 3 else model.pretrained_cfg["input_size"][-1]
    else:
        size = int(args[2]) if len(args) == 3 else 224
        extra = {"image_size": size} if name.startswith("vit_") else {}
        model = getattr(torchvision.models, name)(weights=None, **extra)
    randomise_parameters(model)
    model.eval()
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(SEED + 1))
    if name.startswith("swin_v2"):
        patch_swin_v2_for_export(model, image)  # torch 1.13 cannot export Swin V2's in-place bias zeroing
    model_path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(model, (image,), model_path, opset_version=17, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None)
    with torch.no_grad():
        reference = model(image).numpy().astype(np.float32)
    write_tensor(os.path.join(out_dir, "test_data_set_0", "input_0.pb"), image.numpy())
    write_tensor(os.path.join(out_dir, "test_data_set_0", "output_0.pb"), reference)

    onnx.checker.check_model(model_path)  # by path: the model is too large to check in memory
    exported = onnx.load(model_path)
    gflop = matmul_like_flops(model, image) / 1e9
    with open(os.path.join(out_dir, "gflop.txt"), "w") as f:
        f.write(f"{gflop:.3f}\n")
    print(f"{model_path}: {os.path.getsize(model_path) / 2**20:.0f} MiB, {len(exported.graph.node)} nodes, "
          f"{gflop:.2f} GFLOP (MatMul/Gemm/Conv), reference output std {reference.std():.3f}")


if __name__ == "__main__":
    main()
