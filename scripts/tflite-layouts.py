"""tflite-layouts.py prints the layouts onnxquant's exporter recorded in a
TFLite model's metadata, in litert-compare.mjs's --layouts form (inputs,
then outputs, comma-separated, e.g. NHWC/ONNX).

    python3 scripts/tflite-layouts.py MODEL.tflite
"""
import json
import re
import sys

b = open(sys.argv[1], "rb").read()
m = re.search(rb'\{"target".*?"output_layouts":\[[^\]]*\]\}', b)
d = json.loads(m.group(0))
print(",".join(d["input_layouts"]) + "/" + ",".join(d["output_layouts"]))
