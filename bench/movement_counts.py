#!/usr/bin/python3
"""Issue 15's coverage figures: nodes before -> after the passes, Softmax left outside fused ops and
movement nodes left (ops whose ops.def flags include MOVE), from `vitc inspect --json`, as a Markdown table.
usage: bench/movement_counts.py VITC SOURCE_DIR MODEL.onnx..."""
import json, re, subprocess, sys
vitc, root = sys.argv[1], sys.argv[2]
move = set()
for line in open(f"{root}/ir/ops.def"):
    m = re.match(r"X\((\w+),", line)
    if m and "MOVE" in line.split(",")[-1]:
        move.add(m.group(1))
print("| model | nodes before → after | Softmax left | movement left |")
print("|---|---|---|---|")
for path in sys.argv[3:]:
    out = subprocess.run([vitc, "inspect", path, "--json"], capture_output=True, text=True)
    if out.returncode:
        print(f"| {path} | error: {out.stderr.strip()[:80]} | | |"); continue
    d = json.loads(out.stdout)
    after = d["ops_after"]
    soft = sum(v for k, v in after.items() if k in ("Softmax", "LogSoftmax"))
    mv = sum(v for k, v in after.items() if k in move)
    mvd = ", ".join(f"{k} {v}" for k, v in sorted(after.items()) if k in move)
    name = path.rstrip("/").split("/")[-2] if path.endswith("model.onnx") else path
    print(f"| {name} | {d['nodes_before']} → {d['nodes_after']} | {soft} | {mv}{' (' + mvd + ')' if mv else ''} |")
