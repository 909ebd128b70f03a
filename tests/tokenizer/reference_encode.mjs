// Independent reference for the C++ byte-level BPE: encode test cases with @lenml/tokenizers
// (a JavaScript port of Hugging Face transformers' tokenizers) and print one line of
// space-separated ids per case.
//
//   node reference_encode.mjs --js-dir DIR --model llama3|qwen3 CASES.hex [--decode] [--bench]
//
// CASES.hex has one case per line, the case's raw bytes in hex, so newlines and invalid
// UTF-8 survive. Bytes become a JavaScript string with Buffer.toString("utf8"), which
// replaces each maximal invalid subpart with U+FFFD exactly as Rust's from_utf8_lossy does;
// the C++ side decodes the same way before tokenizing. --bench prints tokens/s on stderr.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const jsDir = opt("--js-dir");
const model = opt("--model");
const input = args.filter((a, i) => !a.startsWith("--") && !["--js-dir", "--model"].includes(args[i - 1]))[0];
if (!jsDir || !model || !input) {
  console.error("usage: node reference_encode.mjs --js-dir DIR --model llama3|qwen3 CASES.hex [--bench]");
  process.exit(2);
}
const require = createRequire(join(jsDir, "package.json"));
const { fromPreTrained } = require(`@lenml/tokenizer-${model}`);
const tokenizer = fromPreTrained();

const cases = readFileSync(input, "utf8").split("\n");
if (cases.length > 0 && cases[cases.length - 1] === "") cases.pop();
const texts = cases.map((hex) => Buffer.from(hex, "hex").toString("utf8"));

const started = process.hrtime.bigint();
const out = [];
let tokens = 0;
for (const text of texts) {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  tokens += ids.length;
  out.push(ids.join(" "));
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(out.join("\n") + "\n");
if (args.includes("--bench")) {
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
  console.error(`js ${model}: ${tokens} tokens, ${bytes} bytes in ${seconds.toFixed(3)} s: ` +
                `${Math.round(tokens / seconds)} tokens/s, ${(bytes / seconds / 1e6).toFixed(2)} MB/s`);
}
