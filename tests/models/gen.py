#!/usr/bin/python3
"""Regenerate vitc's real test models: /usr/bin/python3 tests/models/gen.py [MODEL...]

Each family (ViT, DeiT-distilled, Swin V1, Swin V2, ConvNeXt V1, ConvNeXt V2 at opsets 13 and 17; CaiT from timm at 13
and 17; PVT v1 and XCiT at 17, written by hand after their reference code in timm_ports.py; EVA-02, CoaT, BEiT,
TinyViT and PVT v2 from timm at 17) is exported into
tests/models/<family>_op<N>/ in the ONNX backend-test layout (model.onnx, test_data_set_0/input_0.pb,
test_data_set_0/output_0.pb); tests/models/demo/ holds the classifier `make demo` runs. The opset-13
export keeps torch's shape subgraphs (do_constant_folding=False) so vitc's folding has to face them;
the opset-17 export is torch's default folded graph. Both have a dynamic batch axis, which vitc binds
to 1. Every parameter is randomised (torchvision zero-initialises heads, biases and layer scales, which
would make outputs trivially zero), the reference output is torch's float32 result, and each model is
checked by onnx's checker and shape inference and run by run_numpy.py (a numpy ONNX runner sharing no
code with torch or vitc) against that reference before tests/models/README.md documents its ops.
Given model names (e.g. `xcit_op17`), only those are regenerated; the others are checked and described
from the files they already have, which stay untouched.

Needs Debian's python3-torch 1.13, python3-torchvision 0.14, python3-onnx 1.12 (hence /usr/bin/python3).
The models built from timm's own classes (timm_model: CaiT, EVA-02, CoaT, BEiT, TinyViT, PVT v2) also need timm:
regenerate them with tools/model-toolchain.sh, which runs this script in a virtualenv with timm beside
Debian's torch; the other models and the README need only /usr/bin/python3.
"""

import collections
import inspect
import math
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.shape_inference
import torch
import torch.nn as nn
from torchvision.models import convnext, maxvit, swin_transformer, vision_transformer

import run_numpy
import timm_ports

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE_LIMIT = 2 * 1024 * 1024
OPSETS = (13, 17)
DEMO_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class DistilledViT(nn.Module):
    """timm's VisionTransformerDistilled (DeiT) in miniature: a class and a distillation token ahead of
    the patches, one learned position embedding over all of them, pre-norm encoder blocks, a final
    norm, and two heads whose logits are averaged at inference."""

    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes):
        super().__init__()
        num_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 2, hidden_dim))
        self.blocks = nn.Sequential(
            *[vision_transformer.EncoderBlock(num_heads, hidden_dim, mlp_dim, 0.0, 0.0) for _ in range(num_layers)]
        )
        self.norm = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.head = nn.Linear(hidden_dim, num_classes)
        self.head_dist = nn.Linear(hidden_dim, num_classes)

    def forward(self, image):
        x = self.patch_embed(image).flatten(2).transpose(1, 2)
        batch = x.shape[0]
        x = torch.cat([self.cls_token.expand(batch, -1, -1), self.dist_token.expand(batch, -1, -1), x], dim=1)
        x = self.norm(self.blocks(x + self.pos_embed))
        return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2


def vit(image_size, hidden_dim, num_layers, mlp_dim, num_classes=10):
    return vision_transformer.VisionTransformer(
        image_size=image_size, patch_size=8, num_layers=num_layers, num_heads=4,
        hidden_dim=hidden_dim, mlp_dim=mlp_dim, num_classes=num_classes)


def deit():
    return DistilledViT(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=64, mlp_dim=128,
                        num_classes=10)


def swin(version):
    # 64x64 image, patch 4: 16x16 tokens in 4x4 windows, then 8x8 after patch merging. The second block
    # of each stage shifts by 2, so rolled windows and the -100 attention masks occur in both stages.
    extra = {}
    if version == 2:
        extra = dict(block=swin_transformer.SwinTransformerBlockV2,
                     downsample_layer=swin_transformer.PatchMergingV2)
    return swin_transformer.SwinTransformer(
        patch_size=[4, 4], embed_dim=48, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4],
        stochastic_depth_prob=0.0, num_classes=10, **extra)


def convnext_v1():
    config = [convnext.CNBlockConfig(32, 64, 2), convnext.CNBlockConfig(64, None, 2)]
    return convnext.ConvNeXt(config, stochastic_depth_prob=0.0, layer_scale=1e-6, num_classes=10)


class GRN(nn.Module):
    """ConvNeXt V2's global response normalisation on channels-last [N, H, W, C] (official code):
    each channel's L2 norm over the image, divided by that norm's mean over the channels, rescales
    the input; gamma and beta start at zero so a fresh block is the identity."""

    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * nx) + self.beta + x


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of NCHW, as timm's LayerNorm2d (permute, layer_norm, permute)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtV2Block(nn.Module):
    """dwconv 7x7 → channels-last → LayerNorm → Linear(C, 4C) → GELU → GRN → Linear(4C, C) →
    channels-first → residual; no LayerScale in V2."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GRN(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtV2(nn.Module):
    """The official ConvNeXt V2 (facebookresearch/ConvNeXt-V2, timm's convnextv2) without drop path:
    stem Conv 4x4/4 + channels-first LayerNorm, per stage after the first a channels-first LayerNorm
    and Conv 2x2/2, blocks, then global average pool, LayerNorm and Linear."""

    def __init__(self, depths, dims, num_classes):
        super().__init__()
        stages = []
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            if i == 0:
                down = [nn.Conv2d(3, dim, kernel_size=4, stride=4), LayerNorm2d(dim, eps=1e-6)]
            else:
                down = [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], dim, kernel_size=2, stride=2)]
            stages.append(nn.Sequential(*down, *[ConvNeXtV2Block(dim) for _ in range(depth)]))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, image):
        return self.head(self.norm(self.stages(image).mean([-2, -1])))


def convnext_v2():
    # 32x32 image: 8x8, 4x4, 2x2 and 1x1 positions in the four stages (GRN's norm over one position too)
    return ConvNeXtV2(depths=(1, 1, 2, 1), dims=(16, 32, 48, 64), num_classes=10)


def maxvit_small():
    # 64x64 image: the stem halves it to 32, the stages to 16 and 8; partition 4 makes 4x4 then 2x2 windows
    # of 4x4 (block attention) and grids of 4x4 cells (grid attention), 2 and 4 heads of 16
    return maxvit.MaxVit(input_size=(64, 64), stem_channels=16, partition_size=4, block_channels=[32, 64],
                         block_layers=[1, 1], head_dim=16, stochastic_depth_prob=0.0, num_classes=10)


# name, constructor, input image size
FAMILIES = [
    ("vit", lambda: vit(image_size=32, hidden_dim=96, num_layers=3, mlp_dim=192), 32),
    ("deit", deit, 32),
    ("swin_v1", lambda: swin(1), 64),
    ("swin_v2", lambda: swin(2), 64),
    # 72x72: 18x18 tokens, then 9x9, which 4x4 windows do not tile: every block pads its map before the
    # windows and crops after them
    ("swin_v1_padded", lambda: swin(1), 72),
    ("convnext_v1", convnext_v1, 32),
    ("convnext_v2", convnext_v2, 32),
    ("cait", lambda: timm_model("cait"), 32),
    ("pvt", timm_ports.PyramidVisionTransformer, 32),
    ("xcit", timm_ports.XCiT, 32),
    ("eva02", lambda: timm_model("eva02"), 32),
    ("eva02_half", lambda: timm_model("eva02_half"), 32),
    ("coat", lambda: timm_model("coat"), 32),
    ("beit", lambda: timm_model("beit"), 32),
    ("tinyvit", lambda: timm_model("tinyvit"), 64),
    ("maxvit", maxvit_small, 64),
    ("pvt_v2", lambda: timm_model("pvt_v2"), 64),
]
# Models that also get data sets of several images (test_data_set_1, 2, ...: batch 4 and 32), from the
# same torch model: one artifact compiled for a symbolic batch must match torch at every batch.
BATCH_SETS = {"vit_op17": (4, 32)}
# The families exported at other opsets than OPSETS.
FAMILY_OPSETS = {"pvt": (17,), "xcit": (17,), "eva02": (17,), "eva02_half": (17,), "coat": (17,), "beit": (17,),
                 "tinyvit": (17,), "pvt_v2": (17,), "maxvit": (17,), "swin_v1_padded": (17,)}


def timm_model(family):
    """A tiny configuration of timm's own model class (timm is imported here only: regenerating these
    needs the virtualenv tools/model-toolchain.sh builds; every other model needs Debian's packages)."""
    from timm.models import beit, cait, coat, eva, pvt_v2, tiny_vit
    eva02 = dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2, mlp_ratio=4 * 2 / 3,
                 swiglu_mlp=True, scale_mlp=True, use_rot_pos_emb=True, ref_feat_shape=(4, 4), num_classes=10)
    if family == "eva02":  # EVA-02 as published: RoPE on interleaved pairs, SwiGLU with sub-LN
        return eva.Eva(**eva02)
    if family == "eva02_half":  # the rotate-half RoPE layout (x[d/2:] negated ahead of x[:d/2])
        return eva.Eva(**eva02, rope_rotate_half=True)
    if family == "coat":  # serial blocks only; 8 heads so the default crpe windows {3: 2, 5: 3, 7: 3} split them
        return coat.CoaT(img_size=32, patch_size=4, embed_dims=(16, 32, 48, 64), serial_depths=(1, 1, 1, 1),
                         parallel_depth=0, num_heads=8, mlp_ratios=(2, 2, 2, 2), num_classes=10)
    if family == "cait":
        return cait.Cait(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4, mlp_ratio=2,
                         depth_token_only=1, init_values=0.5, num_classes=10)
    if family == "beit":
        return beit.Beit(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2, mlp_ratio=2,
                         use_abs_pos_emb=False, use_rel_pos_bias=True, init_values=0.1, num_classes=10)
    if family == "tinyvit":  # 64x64: 16x16, 8x8, 4x4, 2x2 positions; windows of 4 (2 in the last stage)
        return tiny_vit.TinyVit(embed_dims=(16, 32, 48, 64), depths=(1, 1, 1, 1), num_heads=(1, 2, 2, 4),
                                window_sizes=(4, 4, 4, 2), num_classes=10)
    if family == "pvt_v2":  # 64x64: 16x16, 8x8, 4x4, 2x2 tokens; spatial reduction 8, 4, 2, 1
        return pvt_v2.PyramidVisionTransformerV2(depths=(1, 1, 1, 1), embed_dims=(16, 32, 48, 64), num_heads=(1, 2, 2, 4),
                                                 mlp_ratios=(2, 2, 2, 2), num_classes=10)
    raise ValueError(family)


def randomise_parameters(model):
    """Draw every parameter so that activations stay O(1): matrices and kernels scaled by their fan-in,
    norm gains around 1, small biases; the tables and scales torchvision fills with constants get
    values that make their effect visible in the output."""
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        with torch.no_grad():
            if leaf == "logit_scale":  # Swin V2 cosine-attention temperature, stored as a log
                p.copy_(math.log(10.0) + 0.3 * torch.randn_like(p))
            elif leaf in ("layer_scale", "gamma_1", "gamma_2", "gamma1", "gamma2", "gamma3"):
                p.uniform_(0.3, 1.0)  # LayerScale (ConvNeXt, CaiT, XCiT), ~0 by default: the branch would vanish
            elif leaf == "temperature":  # XCiT's per-head attention temperature [H, 1, 1], ones by default
                p.uniform_(0.5, 2.0)
            elif leaf in ("gamma", "beta"):  # ConvNeXt V2 GRN, zero by default: GRN would be the identity
                p.normal_(0.0, 0.5)
            elif leaf in ("relative_position_bias_table", "pos_embedding", "pos_embed", "class_token",
                          "cls_token", "dist_token"):
                p.normal_(0.0, 0.5)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.normal_(0.0, 1.0 / math.sqrt(fan_in))
            elif leaf.endswith("weight"):  # LayerNorm gains
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.1)
    for name, b in model.named_buffers():  # BatchNorm statistics (XCiT): zero mean and unit variance otherwise
        with torch.no_grad():
            if name.endswith("running_mean"):
                b.normal_(0.0, 0.2)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 1.5)


_V2_BIAS_LINE = "        qkv_bias[length : 2 * length].zero_()\n"
_V2_BIAS_EXPORTABLE = (
    "        qkv_bias = torch.cat([qkv_bias[:length], torch.zeros_like(qkv_bias[length : 2 * length]),"
    " qkv_bias[2 * length :]])\n")


def exportable_shifted_window_attention():
    """torchvision's shifted_window_attention with the Swin V2 key-bias zeroing rewritten as a concat.

    Swin V2 drops the key bias with an in-place `qkv_bias[length:2*length].zero_()` that torch 1.13
    cannot export (no symbolic for aten::zero_). The function is recompiled from torchvision's own
    source with only that line replaced by `cat(q_bias, zeros, v_bias)`, which computes the same
    tensor; everything else stays torchvision's code."""
    source = inspect.getsource(swin_transformer.shifted_window_attention)
    if source.count(_V2_BIAS_LINE) != 1:
        sys.exit("gen.py: torchvision's shifted_window_attention changed; the Swin V2 bias patch no longer applies")
    namespace = dict(vars(swin_transformer))
    exec(compile(source.replace(_V2_BIAS_LINE, _V2_BIAS_EXPORTABLE), swin_transformer.__file__, "exec"), namespace)
    return namespace["shifted_window_attention"]


def patch_swin_v2_for_export(model, image):
    """Install the exportable attention and prove it changes nothing numerically on this model."""
    with torch.no_grad():
        before = model(image)
        swin_transformer.shifted_window_attention = exportable_shifted_window_attention()
        after = model(image)
    difference = (before - after).abs().max().item()
    if difference != 0.0:
        sys.exit(f"gen.py: patched Swin V2 attention differs from torchvision's by {difference}")
    print(f"  swin_v2: patched qkv-bias zeroing verified (max |difference| = {difference})")


def write_tensor(path, array):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array).SerializeToString())


def directory_size(path):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def export(model, image, out_dir, opset, fold_constants):
    """Export in backend-test layout and return the reference output torch computes in float32."""
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(os.path.join(out_dir, "test_data_set_0"))
    model_path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(
        model, (image,), model_path, opset_version=opset, do_constant_folding=fold_constants,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    with torch.no_grad():
        reference = model(image).numpy().astype(np.float32)
    write_tensor(os.path.join(out_dir, "test_data_set_0", "input_0.pb"), image.numpy())
    write_tensor(os.path.join(out_dir, "test_data_set_0", "output_0.pb"), reference)
    return reference


def check_and_describe(name, out_dir, opset, reference):
    """Independent sanity check (onnx's checker and shape inference) and the facts README.md lists."""
    model = onnx.load(os.path.join(out_dir, "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    output_type = inferred.graph.output[0].type.tensor_type
    output_dims = [d.dim_value or d.dim_param for d in output_type.shape.dim]
    if output_dims[1:] != list(reference.shape[1:]):
        sys.exit(f"gen.py: {name}: inferred output shape {output_dims} does not match torch's {reference.shape}")
    if not (0.1 < reference.std() < 20.0) or not np.isfinite(reference).all():
        sys.exit(f"gen.py: {name}: reference output std {reference.std()} is degenerate")
    numpy_error = run_numpy.check(out_dir)
    if not numpy_error < 1e-4:
        sys.exit(f"gen.py: {name}: run_numpy.py's output differs from torch's by {numpy_error:.2e} (relative)")
    histogram = collections.Counter(node.op_type for node in model.graph.node)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    size = directory_size(out_dir)
    if size >= SIZE_LIMIT:
        sys.exit(f"gen.py: {name}: {size} bytes exceeds the {SIZE_LIMIT}-byte limit")
    print(f"  {name}: {size / 1024:.0f} KiB, {len(model.graph.node)} nodes, {params} params, "
          f"output {list(reference.shape)} std {reference.std():.3f}, numpy runner error {numpy_error:.1e}")
    print("    " + ", ".join(f"{op} {n}" for op, n in sorted(histogram.items())))
    return dict(name=name, opset=opset, nodes=len(model.graph.node), params=params, size=size,
                histogram=histogram, numpy_error=numpy_error)


def generate(name, make_model, image_size, opset, fold_constants):
    seed = 1000 * opset + sum(map(ord, name))  # fixed per model, distinct across models
    torch.manual_seed(seed)
    model = make_model()
    randomise_parameters(model)
    model.eval()
    image = torch.randn(1, 3, image_size, image_size, generator=torch.Generator().manual_seed(seed + 1))
    if name.startswith("swin_v2"):
        patch_swin_v2_for_export(model, image)
    out_dir = os.path.join(HERE, name)
    reference = export(model, image, out_dir, opset, fold_constants)
    for k, batch in enumerate(BATCH_SETS.get(name, ()), 1):
        images = torch.randn(batch, 3, image_size, image_size, generator=torch.Generator().manual_seed(seed + 1 + k))
        os.makedirs(os.path.join(out_dir, f"test_data_set_{k}"))
        with torch.no_grad():
            outputs = model(images).numpy().astype(np.float32)
        write_tensor(os.path.join(out_dir, f"test_data_set_{k}", "input_0.pb"), images.numpy())
        write_tensor(os.path.join(out_dir, f"test_data_set_{k}", "output_0.pb"), outputs)
    return check_and_describe(name, out_dir, opset, reference)


def describe_existing(name, opset):
    """The README facts of a model left as it is on disk."""
    out_dir = os.path.join(HERE, name)
    reference = run_numpy.read_tensor(os.path.join(out_dir, "test_data_set_0", "output_0.pb"))
    return check_and_describe(name, out_dir, opset, reference)


def write_readme(rows):
    all_ops = sorted(set().union(*(r["histogram"] for r in rows)))
    lines = [
        "# Real test models",
        "",
        "Generated by `/usr/bin/python3 tests/models/gen.py` (deterministic, seeded, random weights).",
        "Each directory is in the ONNX backend-test layout: `model.onnx`, `test_data_set_0/input_0.pb`",
        "(image, NCHW float32, batch 1) and `test_data_set_0/output_0.pb` (torch's float32 logits);",
        "vit_op17 also has `test_data_set_1` and `test_data_set_2` at batch 4 and 32.",
        "The input's batch axis is dynamic (`batch`); vitc binds it to 1.",
        "Opset-13 models are exported with `do_constant_folding=False`, so their shape subgraphs",
        "(Shape/Gather/Unsqueeze/Concat feeding Reshape, Expand, ...) are still in the graph;",
        "opset-17 models are torch's default folded export.",
        "",
        "`demo/` is the classifier `make demo` compiles: a 4-block ViT over 32x32 images with 10 classes",
        "named in `demo/labels.txt` (CIFAR-10's). Its weights are random, so its predictions mean nothing.",
        "",
        "Swin V2: torch 1.13 cannot export torchvision's in-place `qkv_bias[L:2L].zero_()`; gen.py",
        "recompiles torchvision's `shifted_window_attention` with that line replaced by",
        "`torch.cat([b[:L], zeros_like(b[L:2L]), b[2L:]])` and checks the patched model's output is",
        "bit-identical to the unpatched one before exporting.",
        "",
        "ConvNeXt V2: torchvision 0.14 has none, so gen.py writes it after the official code (blocks of",
        "depthwise 7x7 Conv, LayerNorm, Linear, GELU, GRN, Linear and the residual; channels-first",
        "LayerNorms as permute/layer_norm/permute, as timm's). GRN's `torch.norm` over H and W exports as",
        "`ReduceL2`; its gamma and beta (zero at initialisation) are randomised like the other parameters.",
        "",
        "Every model is checked by `onnx.checker` (full check) and strict shape inference, and run by",
        "`run_numpy.py`, a plain-numpy ONNX runner sharing no code with torch or vitc; the table lists",
        "its max error relative to the largest reference logit (gen.py fails above 1e-4). Run it alone",
        "with `/usr/bin/python3 tests/models/run_numpy.py tests/models/vit_op17 ...`.",
        "",
        "What the frontend and passes must expect beyond the obvious ops:",
        "- Swin's `F.dropout(attn, p=0.0)` runs with torch's default `training=True`, so Swin graphs hold",
        "  `Dropout` nodes with ratio 0 and `training_mode` True, and a second (mask) output: an identity",
        "  on the data, but the mask output exists.",
        "- Swin's attention mask and cyclic shift are built at run time from `Shape` values",
        "  (`ConstantOfShape`, `ScatterND` slice assignments, `Range`, `Mod`, `Equal`, `Where`); with the",
        "  batch bound to 1 all of it folds to constants.",
        "- Opset 13 has no `LayerNormalization`: it appears decomposed (`ReduceMean`, `Sub`, `Pow`, `Sqrt`,",
        "  `Div`, `Mul`, `Add`). GELU is `Erf`-based everywhere.",
        "- `params` counts initializer elements; folding moves some computed constants (Swin's gathered",
        "  relative-position bias) into initializers, so it differs slightly between the two opsets.",
        "",
        "CaiT, EVA-02, CoaT, BEiT, TinyViT and PVT v2 are timm 1.0.31's own model classes in tiny configurations",
        "(gen.py's `timm_model`); `tools/model-toolchain.sh` installs timm in a virtualenv beside Debian's",
        "torch and regenerates them (`make test` needs none of it):",
        "- CaiT: talking-heads self-attention (`proj_l`, `proj_w`: Linear over the head axis before and",
        "  after the softmax, a MatMul by [H, H] between Transposes), LayerScale (`gamma_1`, `gamma_2`),",
        "  then a class-attention block whose query is the class token alone (Nq = 1).",
        "- EVA-02: rotary position embedding on q and k of the patch tokens (the class token is sliced off",
        "  and concatenated back): interleaved pairs in `eva02` (`stack([-x[..., 1::2], x[..., ::2]])`),",
        "  rotate-half in `eva02_half`; SwiGLU whose hidden layer has its own LayerNorm (sub-LN).",
        "- CoaT: factorized attention (softmax of K over the tokens, Kᵀ·V per head, Q·(KᵀV)) plus the",
        "  convolutional relative position encoding (depthwise 3x3/5x5/7x7 convs over 2/3/3 head groups of",
        "  V, times Q); a depthwise-conv position encoding ahead of each block.",
        "- BEiT: relative position bias table per block, LayerScale; TinyViT: MBConv stage, then windowed",
        "  attention with attention biases and a depthwise local conv between attention and MLP.",
        "- PVT v2: overlapping patch embeddings (Conv 7x7/4, 3x3/2 with pads), spatial-reduction attention,",
        "  and an MLP with a depthwise 3x3 conv on the tokens seen as an image (`transpose(1, 2).view(B, C,",
        "  H, W)`, then `flatten(2).transpose(1, 2)`) between its two Linears.",
        "PVT v1 and XCiT are plain torch modules in `timm_ports.py` that follow PVT v1's `pvt.py` and",
        "timm's `xcit.py`:",
        "- PVT v1: spatial-reduction attention; K and V come from a strided Conv and a LayerNorm over the",
        "  reduced tokens (Nk = N / 16 and N / 4 in the first two stages), a class token in the last stage.",
        "- XCiT: cross-covariance attention over channels, q and k normalised along the tokens by",
        "  `F.normalize` (`ReduceL2`, `Clip`, `Expand`, `Div`) and scaled by a per-head temperature",
        "  [H, 1, 1]; LPI's BatchNorm follows a GELU, so it stays a `BatchNormalization` node (the patch",
        "  embedding's fold into their Convs at export); `use_pos_embed=False` (no Fourier encoding).",
        "",
        "MaxViT is torchvision's `MaxVit` in miniature (64x64 input, two stages of one layer each): MBConv",
        "(BatchNorm, 1x1 and depthwise 3x3 Conv, squeeze-excitation) then block and grid attention, each",
        "an `einsum` over windows (grid cells) of the partitioned image, a relative-position bias gathered",
        "from its table, partitions as Reshape and 6-D Transpose.",
        "",
        "| model | opset | nodes | distinct ops | params | size (KiB) | numpy runner error | ops (count) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(r["histogram"].items()))
        lines.append(f"| {r['name']} | {r['opset']} | {r['nodes']} | {len(r['histogram'])} | {r['params']} "
                     f"| {r['size'] // 1024} | {r['numpy_error']:.1e} | {ops} |")
    lines += ["", "## Which model uses which op", "",
              "| op | " + " | ".join(r["name"] for r in rows) + " |",
              "|---|" + "---|" * len(rows)]
    for op in all_ops:
        lines.append(f"| {op} | " + " | ".join(str(r["histogram"].get(op, "")) for r in rows) + " |")
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.set_num_threads(1)  # the machine's two cores are shared
    original_attention = swin_transformer.shifted_window_attention
    wanted = set(sys.argv[1:])
    known = {f"{n}_op{o}" for n, _, _ in FAMILIES for o in FAMILY_OPSETS.get(n, OPSETS)} | {"demo"}
    if wanted - known:
        sys.exit(f"gen.py: unknown models {sorted(wanted - known)} (known: {sorted(known)})")
    rows = []
    for name, make_model, image_size in FAMILIES:
        for opset in FAMILY_OPSETS.get(name, OPSETS):
            model = f"{name}_op{opset}"
            if wanted and model not in wanted:
                rows.append(describe_existing(model, opset))
                continue
            rows.append(generate(model, make_model, image_size, opset, fold_constants=opset != 13))
            swin_transformer.shifted_window_attention = original_attention
    if wanted and "demo" not in wanted:
        rows.append(describe_existing("demo", 17))
    else:
        # The demo classifier: a ViT over 32x32 images with the CIFAR-10 class names.
        rows.append(generate("demo", lambda: vit(image_size=32, hidden_dim=96, num_layers=4, mlp_dim=192), 32,
                             opset=17, fold_constants=True))
        with open(os.path.join(HERE, "demo", "labels.txt"), "w") as f:
            f.write("\n".join(DEMO_LABELS) + "\n")
    write_readme(rows)


if __name__ == "__main__":
    main()
