"""numerics-summary.py reads litert-compare.mjs's JSON on stdin and prints
one markdown cell group: "SQNR | within one step | argmax" of the second
runtime against the first (ONNX Runtime) over every sample and output.

    python3 scripts/numerics-summary.py [REFERENCE OTHER]

REFERENCE and OTHER name the arrays compared (default: ort litert; with
litert-compare's --ort-self, "ort ort_plain" compares ONNX Runtime with its
graph optimizations on against off). SQNR is the lowest over samples and
outputs with REFERENCE as the signal; one step is the smallest gap between
distinct REFERENCE values; argmax counts the outputs of more than one
element whose REFERENCE maximum is also OTHER's.
"""
import json
import math
import sys

ref, other = (sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else ("ort", "litert")
d = json.load(sys.stdin)
sq, within, n, agree, cls = [], 0, 0, 0, 0
for r in d["results"]:
    for o in r["outputs"].values():
        a, b = o[ref], o[other]
        sig = sum(x * x for x in a)
        err = sum((x - y) ** 2 for x, y in zip(a, b))
        sq.append(10 * math.log10(sig / err) if err > 0 else float("inf"))
        vals = sorted(set(a))
        step = min((y - x for x, y in zip(vals, vals[1:])), default=0)
        within += sum(1 for x, y in zip(a, b) if abs(x - y) <= step * 1.0001)
        n += len(a)
        if len(a) > 1:
            cls += 1
            agree += b[max(range(len(a)), key=a.__getitem__)] == max(b)
print("%.1f | %.1f%% | %s" % (min(sq), 100 * within / n, "%d/%d" % (agree, cls) if cls else "-"))
