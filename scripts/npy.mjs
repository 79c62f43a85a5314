// npy.mjs reads the .npy samples the comparison scripts feed (float32, or
// int64 for inputs such as Silero's sample rate) as {shape, data, type}.
import fs from 'node:fs';

export function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  const int64 = header.includes("'<i8'");
  if (!header.includes("'<f4'") && !int64) throw new Error(`${file}: only float32 and int64 .npy samples are supported`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const off = 10 + hlen;
  const bytes = buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length);
  if (int64) return {shape, data: new BigInt64Array(bytes), type: 'int64'};
  return {shape, data: new Float32Array(bytes), type: 'float32'};
}
