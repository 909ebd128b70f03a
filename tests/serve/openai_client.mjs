// The official `openai` npm client (pinned in scripts/fetch/llama_cpp.sh) against a running
// `kanana serve`: models, chat with and without streaming, n > 1, stop, a tool-call round trip,
// embeddings (the SDK asks for base64 and decodes it), and the error shapes the SDK turns into
// APIError. Usage: node openai_client.mjs BASE_URL API_KEY MODEL EMBEDDING_MODEL
// Prints one line per check; exits non-zero on the first failure.
import OpenAI from "openai";

const [baseURL, apiKey, model, embeddingModel] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });

function check(cond, what, detail = "") {
  if (!cond) {
    console.error(`FAIL ${what} ${detail}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

async function expectError(promise, status, param, code, what) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof OpenAI.APIError, `${what}: an APIError`, String(e));
    check(e.status === status, `${what}: status ${status}`, `got ${e.status}`);
    if (param !== undefined) check(e.param === param, `${what}: param ${param}`, `got ${e.param}`);
    if (code !== undefined) check(e.code === code, `${what}: code ${code}`, `got ${e.code}`);
    check(typeof e.error?.message === "string" && e.error.message.length > 0, `${what}: message`);
    return;
  }
  check(false, `${what}: expected an error`);
}

const messages = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Tell me about Seoul." },
];

const models = await client.models.list();
check(models.data.some((m) => m.id === model), "models.list has the model");

const plain = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0 });
const text = plain.choices[0].message.content;
check(typeof text === "string", "chat: content is a string");
check(plain.usage.completion_tokens >= 1 && plain.usage.prompt_tokens > 10, "chat: usage");

const stream = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0, stream: true });
let streamed = "";
let finish = null;
for await (const chunk of stream) {
  const c = chunk.choices[0];
  if (!c) continue;
  streamed += c.delta?.content ?? "";
  if (c.finish_reason) finish = c.finish_reason;
}
check(streamed === text, "stream: the deltas join to the non-streamed text", JSON.stringify([streamed, text]));
check(finish === plain.choices[0].finish_reason, "stream: same finish_reason");

const many = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 1, n: 3, seed: 5 });
check(many.choices.length === 3 && many.choices.every((c, i) => c.index === i), "n=3: three choices");
const again = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 1, n: 3, seed: 5 });
check(again.choices.every((c, i) => c.message.content === many.choices[i].message.content), "seed: same choices");

// A stop string taken from a seeded sample (a random model's greedy text repeats one token):
// the same request with the stop ends right before it.
const long = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 1, seed: 11 });
const full = long.choices[0].message.content;
let stop = null;
for (let i = 2; i + 2 <= full.length; i++) {
  const w = full.slice(i, i + 2);
  if (/^[\x21-\x7e]{2}$/.test(w) && full.indexOf(w) === i) { stop = w; break; }
}
if (stop) {
  const cut = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 1, seed: 11,
                                                     stop: [stop] });
  check(cut.choices[0].message.content === full.slice(0, full.indexOf(stop)), "stop: cut before the stop string");
  check(cut.choices[0].finish_reason === "stop", "stop: finish_reason stop");
} else {
  console.log("skip stop: no ASCII pair in the sampled text");
}

// Tool round trip: the tools are offered, the assistant's call and the tool's result go back.
const tools = [{
  type: "function",
  function: { name: "get_weather", description: "Weather of a city",
              parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
}];
const offered = await client.chat.completions.create({ model, messages, tools, max_tokens: 4, temperature: 0 });
check(offered.usage.prompt_tokens > plain.usage.prompt_tokens + 20, "tools: rendered into the prompt");
const round = await client.chat.completions.create({
  model, tools, max_tokens: 4, temperature: 0,
  messages: [...messages,
    { role: "assistant", content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Seoul"}' } }] },
    { role: "tool", tool_call_id: "call_1", content: '{"celsius": 3}' }],
});
check(round.choices.length === 1 && round.usage.prompt_tokens > offered.usage.prompt_tokens, "tools: the result turn is accepted");

const completion = await client.completions.create({ model, prompt: "The capital of Korea is", max_tokens: 5, temperature: 0 });
check(typeof completion.choices[0].text === "string", "completions: text");

if (embeddingModel) {
  const emb = await client.embeddings.create({ model: embeddingModel, input: ["안녕하세요", "hello world"] });
  check(emb.data.length === 2, "embeddings: two vectors");
  const v = emb.data[0].embedding;
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  check(v.length > 0 && Math.abs(norm - 1) < 1e-3, "embeddings: L2-normalised floats", `dim ${v.length} norm ${norm}`);
  const asFloat = await client.embeddings.create({ model: embeddingModel, input: "안녕하세요", encoding_format: "float" });
  check(asFloat.data[0].embedding.every((x, i) => Math.abs(x - v[i]) < 1e-6), "embeddings: base64 == float");
}

await expectError(client.chat.completions.create({ model: "no-such-model", messages, max_tokens: 2 }), 404, "model",
                  "model_not_found", "unknown model");
await expectError(client.chat.completions.create({ model, messages, max_tokens: 2, temperature: "hot" }), 400,
                  "temperature", undefined, "wrong type");
const wrongKey = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
await expectError(wrongKey.models.list(), 401, undefined, "invalid_api_key", "wrong key");
console.log("all ok");
