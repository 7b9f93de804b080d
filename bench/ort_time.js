// ort_time.js — ONNX Runtime's time per inference on a model, for bench/compare_ort.sh.
// usage: node bench/ort_time.js MODEL INPUT.raw THREADS ITERS [BATCH]   (NODE_PATH: where onnxruntime-node is)
// INPUT.raw is the model's one float32 input, raw little-endian, shaped 1x3xSxS (S from its size: 224 for
// most models, 256 for timm's swinv2_tiny_window8_256, 384 for a ViT exported at that size); with BATCH (a
// model exported with a symbolic batch, bench/throughput.sh) the image repeated BATCH times is the input.
// ORT gets every graph
// optimisation, THREADS intra-op threads and one inter-op thread, like vitc's thread pool. Prints the
// mean milliseconds of ITERS runs after one warm-up, and the first logits, to cross-check with vitc.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, threads, iters, batchArg] = process.argv.slice(2);
  const batch = Number(batchArg || 1);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const bytes = fs.readFileSync(input);
  const image = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const side = Math.round(Math.sqrt(image.length / 3));
  if (3 * side * side !== image.length) throw new Error(`${input}: ${image.length} floats is no 1x3xSxS image`);
  const data = new Float32Array(image.length * batch);
  for (let b = 0; b < batch; b++) data.set(image, b * image.length);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, [batch, 3, side, side])};
  let out = await session.run(feeds);
  const start = process.hrtime.bigint();
  for (let i = 0; i < Number(iters); i++) out = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / Number(iters);
  const logits = out[session.outputNames[0]].data;
  console.log(`${ms.toFixed(3)} ms ${Array.from(logits.slice(0, 3)).map((x) => x.toFixed(4)).join(' ')}`);
}
main().catch((e) => { console.error(`ort_time.js: ${e.message}`); process.exit(2); });
