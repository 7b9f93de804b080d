// ort_time.js — ONNX Runtime's time per inference on a model, for bench/compare_ort.sh.
// usage: node bench/ort_time.js MODEL INPUT.raw THREADS ITERS   (NODE_PATH: where onnxruntime-node is)
// INPUT.raw is the model's one float32 input, raw little-endian, shaped 1x3xSxS (S from its size: 224 for
// most models, 256 for timm's swinv2_tiny_window8_256). ORT gets every graph
// optimisation, THREADS intra-op threads and one inter-op thread, like vitc's thread pool. Prints the
// mean milliseconds of ITERS runs after one warm-up, and the first logits, to cross-check with vitc.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, threads, iters] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const side = Math.round(Math.sqrt(data.length / 3));
  if (3 * side * side !== data.length) throw new Error(`${input}: ${data.length} floats is no 1x3xSxS image`);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, side, side])};
  let out = await session.run(feeds);
  const start = process.hrtime.bigint();
  for (let i = 0; i < Number(iters); i++) out = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / Number(iters);
  const logits = out[session.outputNames[0]].data;
  console.log(`${ms.toFixed(3)} ms ${Array.from(logits.slice(0, 3)).map((x) => x.toFixed(4)).join(' ')}`);
}
main().catch((e) => { console.error(`ort_time.js: ${e.message}`); process.exit(2); });
