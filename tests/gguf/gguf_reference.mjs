// Independent readers of a GGUF file for test_gguf_export, printing one JSON object:
//   node gguf_reference.mjs meta FILE              @huggingface/gguf: metadata + tensor infos
//   node gguf_reference.mjs greedy FILE N IDS      llama.cpp (node-llama-cpp): N greedy tokens
//                                                  after the prompt IDS (a JSON list of ids)
//   node gguf_reference.mjs tokenize FILE TEXTS    llama.cpp's tokenizer, no BOS, no specials, for
//                                                  each string of the JSON list in the file TEXTS
// NODE_PATH must point at the node_modules folder holding the packages (the test sets it).
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const [mode, file, ...rest] = process.argv.slice(2);
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? Number(x) : x));

async function loadModel() {
  const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  return await llama.loadModel({ modelPath: file, gpuLayers: 0 });
}

if (mode === "meta") {
  const { gguf } = await import(require.resolve("@huggingface/gguf"));
  const { metadata, tensorInfos } = await gguf(file, { allowLocalFile: true });
  const meta = {};
  for (const [k, v] of Object.entries(metadata)) {
    // Long arrays as their length and a few samples (the vocabulary has 128k entries).
    meta[k] = Array.isArray(v) && v.length > 8 ? { length: v.length, head: v.slice(0, 3), last: v[v.length - 1] } : v;
  }
  process.stdout.write(json({ metadata: meta, tensors: tensorInfos.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })) }));
} else if (mode === "greedy") {
  const n = Number(rest[0]);
  const ids = JSON.parse(rest[1]);
  const model = await loadModel();
  // An fp32 KV cache, so an F32 export is compared with fp32 arithmetic end to end.
  const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 2,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  const sequence = context.getSequence();
  const out = [];
  // temperature 0 = argmax; no repetition penalty, no grammar.
  for await (const token of sequence.evaluate(ids, { temperature: 0 })) {
    out.push(token);
    if (out.length >= n) break;
  }
  process.stdout.write(json({ tokens: out }));
  await context.dispose();
  await model.dispose();
} else if (mode === "tokenize") {
  const model = await loadModel();
  const { readFileSync } = await import("node:fs");
  const texts = JSON.parse(readFileSync(rest[0], "utf8"));
  process.stdout.write(json({ ids: texts.map((t) => model.tokenize(t, false)) }));
  await model.dispose();
} else {
  process.stderr.write("usage: gguf_reference.mjs meta|greedy|tokenize FILE ...\n");
  process.exit(2);
}
