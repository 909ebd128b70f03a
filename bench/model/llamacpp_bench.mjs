// llama.cpp's side of bench/model/run_vs_llamacpp.sh: load a GGUF with node-llama-cpp (CPU only)
// and time prefill and greedy decode the way bench_engine times the workbench engine (the same
// pseudo-random prompt ids, best of --reps runs, each from an empty KV cache).
//   NODE_PATH=.../node_modules node llamacpp_bench.mjs FILE THREADS PROMPT TOKENS REPS
// Prints one line: load seconds, prefill tok/s, decode tok/s.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const [file, threadsArg, promptArg, tokensArg, repsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1), promptLen = Number(promptArg ?? 64);
const tokens = Number(tokensArg ?? 32), reps = Number(repsArg ?? 3);

const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
let t = performance.now();
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const loadS = (performance.now() - t) / 1000;
const vocab = model.tokens.count ?? model.fileInsights?.tensorInfo?.length ?? 32000;
const prompt = Array.from({ length: promptLen }, (_, i) => Number((BigInt(i) * 2654435761n + 17n) % BigInt(vocab)));

let bestPrefill = Infinity, bestDecode = Infinity;
for (let r = 0; r < reps; ++r) {
  const context = await model.createContext({ contextSize: promptLen + tokens + 16, batchSize: promptLen,
                                              threads, batchThreads: threads });
  const sequence = context.getSequence();
  // Prefill all but the last prompt id; its evaluation is the first step of the generator below.
  t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
  bestPrefill = Math.min(bestPrefill, (performance.now() - t) / 1000);
  let n = 0, start = 0;
  for await (const _ of sequence.evaluate(prompt.slice(-1), { temperature: 0 })) {
    if (n === 0) start = performance.now();  // decode steps from here: tokens of one row each
    if (++n > tokens) break;
  }
  bestDecode = Math.min(bestDecode, (performance.now() - start) / 1000);
  await context.dispose();
}
process.stdout.write(`llama.cpp threads ${threads} | load ${loadS.toFixed(2)} s | prefill ${promptLen - 1} tok: ` +
  `${((promptLen - 1) / bestPrefill).toFixed(1)} tok/s | decode ${tokens} tok: ${(tokens / bestDecode).toFixed(2)} tok/s\n`);
await model.dispose();
