#!/usr/bin/python3
"""Issue 15's coverage figures: nodes before -> after the passes, Softmax left outside fused ops and
movement nodes left (ops whose ops.def flags include MOVE), from `vitc inspect --json`, as a Markdown table.
usage: bench/movement_counts.py VITC SOURCE_DIR MODEL.onnx...
       bench/movement_counts.py --check LIMITS VITC SOURCE_DIR MODEL.onnx...
With --check (the model.movement test) it prints the table and exits 1 when a model keeps a Softmax or
more than 20 movement nodes, or more than its line "NAME COUNT" in LIMITS allows (the families the passes
do not cover yet, at their counts now: a ceiling that only goes down), or when a listed model is back
within 20 (its line must go)."""
import json, re, subprocess, sys

GOAL = 20
args = sys.argv[1:]
limits = None
if args[:1] == ["--check"]:
    limits = {}
    for line in open(args[1]):
        if line.strip() and not line.startswith("#"):
            name, count = line.split()
            limits[name] = int(count)
    args = args[2:]
vitc, root = args[0], args[1]
move = set()
for line in open(f"{root}/ir/ops.def"):
    m = re.match(r"X\((\w+),", line)
    if m and "MOVE" in line.split(",")[-1]:
        move.add(m.group(1))
failures = []
print("| model | nodes before → after | Softmax left | movement left |")
print("|---|---|---|---|")
for path in args[2:]:
    name = path.rstrip("/").split("/")[-2] if path.endswith("model.onnx") else path
    out = subprocess.run([vitc, "inspect", path, "--json"], capture_output=True, text=True)
    if out.returncode:
        print(f"| {name} | error: {out.stderr.strip()[:80]} | | |")
        failures.append(f"{name}: vitc inspect failed")
        continue
    d = json.loads(out.stdout)
    after = d["ops_after"]
    soft = sum(v for k, v in after.items() if k in ("Softmax", "LogSoftmax"))
    mv = sum(v for k, v in after.items() if k in move)
    mvd = ", ".join(f"{k} {v}" for k, v in sorted(after.items()) if k in move)
    print(f"| {name} | {d['nodes_before']} → {d['nodes_after']} | {soft} | {mv}{' (' + mvd + ')' if mv else ''} |")
    if limits is None:
        continue
    ceiling = max(GOAL, limits.get(name, GOAL))
    if soft:
        failures.append(f"{name}: {soft} Softmax outside fused ops")
    if mv > ceiling:
        failures.append(f"{name}: {mv} movement nodes, more than {ceiling}")
    if name in limits and mv <= GOAL:
        failures.append(f"{name}: {mv} movement nodes, within {GOAL}: drop its line from the limits")
for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
