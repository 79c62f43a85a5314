// one-step.mjs measures how far one quantization step on one element of an
// inner tensor moves a QDQ model's output, in ONNX Runtime alone: the model
// cut before the tensor (PREFIX) computes it from a sample, TRIALS times one
// element chosen at random is moved by one step (the smallest gap between
// its distinct values) up or down, and the model cut after it (SUFFIX)
// computes the output, compared with the unmoved run:
//
//   node scripts/one-step.mjs NODE_MODULES PREFIX.onnx SUFFIX.onnx SAMPLE.npy [TRIALS]
//
// scripts/one-step.sh makes the two cuts. Two integer implementations that
// round one near-tie differently part by at least this much.
import path from 'node:path';
import {createRequire} from 'node:module';
import {readNpy} from './npy.mjs';

const [nodeModules, prefixPath, suffixPath, samplePath, trialsArg] = process.argv.slice(2);
const ort = createRequire(import.meta.url)(path.join(nodeModules, 'onnxruntime-node'));
const trials = Number(trialsArg || 8);

function sqnr(ref, x) {
  let sig = 0, err = 0;
  for (let i = 0; i < ref.length; i++) {
    sig += ref[i] * ref[i];
    err += (ref[i] - x[i]) ** 2;
  }
  return err > 0 ? 10 * Math.log10(sig / err) : Infinity;
}

const prefix = await ort.InferenceSession.create(prefixPath);
const suffix = await ort.InferenceSession.create(suffixPath);
const sample = readNpy(samplePath);
const mid = (await prefix.run({[prefix.inputNames[0]]: new ort.Tensor(sample.type, sample.data, sample.shape)}))[prefix.outputNames[0]];
const values = [...new Set(mid.data)].sort((a, b) => a - b);
let step = Infinity;
for (let i = 1; i < values.length; i++) step = Math.min(step, values[i] - values[i - 1]);
const run = async (data) => {
  const out = await suffix.run({[suffix.inputNames[0]]: new ort.Tensor('float32', data, mid.dims)});
  return suffix.outputNames.map((n) => out[n].data);
};
const base = await run(Float32Array.from(mid.data));
// A fixed linear congruential sequence: the same elements on every run.
let seed = 1;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const results = [];
for (let t = 0; t < trials; t++) {
  const data = Float32Array.from(mid.data);
  const i = Math.floor(next() * data.length);
  data[i] += (next() < 0.5 ? -1 : 1) * step;
  const out = await run(data);
  const s = Math.min(...out.map((o, k) => sqnr(base[k], o)));
  // null: the step was rounded away before it reached an output.
  results.push({element: i, sqnr: Number.isFinite(s) ? s : null});
}
process.stdout.write(JSON.stringify({elements: mid.data.length, step, results}) + '\n');
