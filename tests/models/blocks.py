#!/usr/bin/python3
"""What one block of a model becomes after vitc's passes: the ops of the nodes whose ONNX name starts
with a block's prefix, in graph order, each fused op with what it absorbed.

usage: blocks.py VITC MODEL PREFIX             prints the block, e.g.
         LayerNormalization FusedGemm(bias) Attention(maps) FusedGemm(bias,residual) ...
       blocks.py VITC --check LIST SRC_DIR     checks every "model | prefix | expected" line of LIST
                                               (paths relative to SRC_DIR); exit 1 on a difference
       blocks.py --markdown LIST               LIST as a Markdown table (README's)

It reads `vitc dump`, so it sees exactly the graph the backend compiles. Used by the model.blocks test
and for README's table of what the passes make of each test model.
"""

import re
import subprocess
import sys

NODE = re.compile(r"^%\S+ : \S+ = ([\w.]+)\((.*?)\)( \{.*\})?\s+# (\S+)$")
GEMM_INPUTS = ("A", "B", "bias", "residual", "layerscale")
ATTENTION_INPUTS = ("Q", "K", "V", "bias", "head_scale")


def describe(op, args, attrs):
    """op with what it absorbed: FusedGemm(bias,gelu_erf,residual), Attention(bias,maps)."""
    op = op.removeprefix("vitc.")
    present = [a.strip() not in ("", "_") for a in args.split(",")] if args else []
    tags = []
    if op == "FusedGemm":
        tags = [GEMM_INPUTS[i] for i in (2, 4, 3) if i < len(present) and present[i]]
        act = re.search(r'activation="(\w+)"', attrs or "")
        if act and act.group(1) != "none":
            tags.insert(1 if "bias" in tags else 0, act.group(1))
    elif op == "Attention":
        tags = [ATTENTION_INPUTS[i] for i in (3, 4) if i < len(present) and present[i]]
        if any(present[5:9]):
            tags.append("maps")
        if re.search(r"normalize_qk=1", attrs or ""):
            tags.append("normalize_qk")
    elif op == "PatchMerging" and re.search(r"norm_after=1", attrs or ""):
        tags.append("norm_after")
    elif op == "DepthwiseConvNHWC" and len(present) > 3 and present[3]:
        tags.append("norm")
    return f"{op}({','.join(tags)})" if tags else op


def block(vitc, model, prefix):
    dump = subprocess.run([vitc, "dump", model], check=True, capture_output=True, text=True).stdout
    ops = []
    for line in dump.splitlines():
        m = NODE.match(line)
        if m and m.group(4).startswith(prefix):
            ops.append(describe(m.group(1), m.group(2), m.group(3)))
    return " ".join(ops)


def entries(listing):
    for line in open(listing):
        if line.strip() and not line.startswith("#"):
            yield tuple(f.strip() for f in line.split("|"))


def markdown(listing):
    print("| model | block (node names) | after the passes |\n|---|---|---|")
    for model, prefix, ops in entries(listing):
        print(f"| {model} | `{prefix}` | {ops.replace(' ', ' → ')} |")


def check(vitc, listing, src):
    failures = 0
    for model, prefix, expected in entries(listing):
        got = block(vitc, f"{src}/{model}/model.onnx", prefix)
        status = "ok" if got == expected else "DIFFERS"
        failures += got != expected
        print(f"{model} {prefix}: {status}\n  expected: {expected}\n  got:      {got}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[2] == "--check":
        sys.exit(check(sys.argv[1], sys.argv[3], sys.argv[4]))
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
        sys.exit(markdown(sys.argv[2]))
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    print(block(*sys.argv[1:]))
