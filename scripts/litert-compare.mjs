// litert-compare.mjs runs a float-I/O TFLite model (onnxquant export
// --float-io) in LiteRT for JavaScript and the QDQ ONNX model in ONNX
// Runtime on the same .npy samples, and prints both outputs as JSON:
//
//   node scripts/litert-compare.mjs NODE_MODULES MODEL.tflite MODEL.onnx [--layouts IN/OUT] [--ort-self] SAMPLE.npy...
//
// --ort-self also runs the QDQ model in ONNX Runtime with its graph
// optimizations off (every DequantizeLinear -> op -> QuantizeLinear in
// float, where the default fuses them into integer kernels) and adds those
// outputs as "ort_plain": how far the oracle agrees with itself.
// A sample may also be a folder holding one <input name>.npy per input.
// --layouts gives the layout of each TFLite input and output as the
// exporter's metadata records it ("NHWC" or "ONNX", comma-separated, inputs
// and outputs separated by a slash, e.g. NHWC/ONNX); NHWC (channels-last, any rank) inputs are
// transposed from the samples' NCHW on the way in and NHWC outputs back to
// NCHW on the way out. Without it, a rank-4 tensor whose TFLite shape is the
// NHWC form of the ONNX shape is taken as NHWC. LiteRT is published for browsers: the shim below gives
// it what it expects from one (self, importScripts) before loading it.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {createRequire} from 'node:module';
// int64 samples (Silero's sample rate) feed only ONNX Runtime: the inputs
// the TFLite model takes are float32.
import {readNpy} from './npy.mjs';

// LiteRT logs through console.log; keep stdout for the JSON result. Its
// kernel errors (an operator it cannot run, e.g. int16 HARD_SWISH) only
// reach the log, and run() still returns tensors: collect them and fail.
let runErrors = [];
const toStderr = (...a) => {
  const line = a.join(' ');
  if (/^ERROR/.test(line)) runErrors.push(line);
  process.stderr.write(line + '\n');
};
console.log = console.info = console.warn = console.error = toStderr;

const [nodeModules, tflitePath, onnxPath, ...rest] = process.argv.slice(2);
let layouts = null;
if (rest[0] === '--layouts') {
  const [ins, outs] = rest[1].split('/');
  layouts = {in: ins ? ins.split(',') : [], out: outs ? outs.split(',') : []};
  rest.splice(0, 2);
}
const ortSelf = rest[0] === '--ort-self';
if (ortSelf) rest.shift();
const samples = rest;
const wasmDir = path.join(nodeModules, '@litertjs/core/wasm/');
globalThis.self = globalThis;
globalThis.importScripts = (url) => {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  vm.runInThisContext(fs.readFileSync(file, 'utf8'), {filename: file});
};
globalThis.require = createRequire(path.join(wasmDir, 'x.js'));
globalThis.__dirname = wasmDir;
globalThis.Module = {locateFile: (f) => wasmDir + f};

const litert = await import(path.join(nodeModules, '@litertjs/core/dist/index.js'));
const ort = createRequire(import.meta.url)(path.join(nodeModules, 'onnxruntime-node'));

// Channels-last of any rank: [N, C, S...] in ONNX order is [N, S..., C] in
// TFLite's (NHWC for rank 4, [N, L, C] for rank 3).
function nchwToNhwc(data, shape) {
  const n = shape[0], c = shape[1], sp = shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < sp; i++)
    out[(b * sp + i) * c + ch] = data[(b * c + ch) * sp + i];
  return out;
}

function nhwcToNchw(data, shape) {
  const n = shape[0], c = shape[shape.length - 1], sp = shape.slice(1, -1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < sp; i++)
    out[(b * c + ch) * sp + i] = data[(b * sp + i) * c + ch];
  return out;
}

await litert.loadLiteRt(wasmDir);
const model = await litert.loadAndCompile(new Uint8Array(fs.readFileSync(tflitePath)), {accelerator: 'wasm'});
const session = await ort.InferenceSession.create(onnxPath);
const plain = ortSelf ? await ort.InferenceSession.create(onnxPath, {graphOptimizationLevel: 'disabled'}) : null;
const tflInputs = model.getInputDetails();
const tflOutputs = model.getOutputDetails();
const results = [];
for (const sample of samples) {
  const feeds = {};
  if (fs.statSync(sample).isDirectory()) {
    for (const name of session.inputNames) feeds[name] = readNpy(path.join(sample, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'));
  } else {
    feeds[session.inputNames[0]] = readNpy(sample);
  }
  const ortFeeds = {};
  for (const [name, v] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(v.type, v.data, v.shape);
  const ortOut = await session.run(ortFeeds);
  const plainOut = plain ? await plain.run(ortFeeds) : null;
  const tflIn = tflInputs.map((d, i) => {
    // By name where the TFLite input keeps the ONNX one's (a --branch
    // export drops the inputs only the If's condition reads), else by
    // position.
    const v = feeds[session.inputNames.includes(d.name) ? d.name : session.inputNames[i]];
    const s = Array.from(d.shape);
    const nhwc = layouts ? layouts.in[i] === 'NHWC' :
      v.shape.length === 4 && s.length === 4 && s[3] === v.shape[1] && s[1] === v.shape[2] && s[2] === v.shape[3] && v.shape[1] !== v.shape[3];
    return new litert.Tensor(nhwc ? nchwToNhwc(v.data, v.shape) : v.data, s);
  });
  runErrors = [];
  const tflOut = await model.run(tflIn);
  if (runErrors.length > 0) {
    process.stderr.write(`litert-compare: LiteRT failed on ${sample}: ${runErrors.join('; ')}\n`);
    process.exit(1);
  }
  const outs = {};
  for (const [i, name] of session.outputNames.entries()) {
    const t = tflOut[i];
    const s = Array.from(tflOutputs[i].shape);
    let lr = await t.toTypedArray();
    const o = ortOut[name];
    const nhwc = layouts ? layouts.out[i] === 'NHWC' :
      s.length === 4 && o.dims.length === 4 && s[3] === o.dims[1] && s[1] === o.dims[2] && s[2] === o.dims[3] && o.dims[1] !== o.dims[3];
    if (nhwc) lr = nhwcToNchw(lr, s);
    outs[name] = {shape: Array.from(o.dims), ort: Array.from(o.data), litert: Array.from(lr)};
    if (plainOut) outs[name].ort_plain = Array.from(plainOut[name].data);
  }
  results.push({sample, outputs: outs});
  for (const t of tflIn) t.delete?.();
  for (const t of tflOut) t.delete?.();
}
// Exit only once the (piped, asynchronous) write is done.
process.stdout.write(JSON.stringify({results}), () => process.exit(0));
