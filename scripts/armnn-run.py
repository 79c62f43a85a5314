#!/usr/bin/python3
"""armnn-run.py runs a float-I/O TFLite model (onnxquant export --float-io) in
Arm NN 20.08's CpuRef backend (Debian: python3-pyarmnn, libarmnn-cpuref-backend22)
and prints the outputs as JSON, a second, Arm-made oracle next to LiteRT:

    /usr/bin/python3 scripts/armnn-run.py MODEL.tflite LAYOUTS SAMPLE.npy...

LAYOUTS is the exporter's metadata as for litert-compare.mjs ("NHWC/ONNX"): an
NHWC input is transposed from the sample's NCHW, an NHWC output back to NCHW.
Arm NN serves int8 models without per-channel FULLY_CONNECTED (it aborts the
process on those) and without 16x8; run it in a subprocess."""
import json
import sys

import numpy as np
import pyarmnn as ann


def main():
    path, layouts, samples = sys.argv[1], sys.argv[2], sys.argv[3:]
    ins, outs = (layouts.split("/") + [""])[:2]
    in_layouts, out_layouts = ins.split(","), outs.split(",")
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(path)
    in_names = parser.GetSubgraphInputTensorNames(0)
    out_names = parser.GetSubgraphOutputTensorNames(0)
    in_info = [parser.GetNetworkInputBindingInfo(0, n) for n in in_names]
    out_info = [parser.GetNetworkOutputBindingInfo(0, n) for n in out_names]
    runtime = ann.IRuntime(ann.CreationOptions())
    opt, _ = ann.Optimize(network, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(opt)
    results = []
    for sample in samples:
        x = np.load(sample).astype(np.float32)
        if in_layouts[0] == "NHWC":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        in_tensors = ann.make_input_tensors(in_info, [x])
        out_tensors = ann.make_output_tensors(out_info)
        runtime.EnqueueWorkload(net_id, in_tensors, out_tensors)
        outputs = []
        for i, y in enumerate(ann.workload_tensors_to_ndarray(out_tensors)):
            if i < len(out_layouts) and out_layouts[i] == "NHWC":
                y = y.transpose(0, 3, 1, 2)
            outputs.append([float(v) for v in np.asarray(y).reshape(-1)])
        results.append({"sample": sample, "outputs": outputs})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
