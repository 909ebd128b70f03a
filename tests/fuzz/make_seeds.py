#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/seeds/<harness>/ from the project's own fixtures
(recipes and filter recipes under resources/, the tiny test tokenizer, small valid files of each
binary format). Run from anywhere; rerun after a format changes. Seeds are committed."""
import gzip, json, os, shutil, struct, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
seeds = Path(__file__).resolve().parent / "seeds"

def put(harness, name, data):
    d = seeds / harness
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

# JSON-shaped inputs: the shipped recipes.
for f in sorted((root / "resources/recipes/train").glob("*.json")):
    put("recipe", f.name, f.read_bytes())
    put("json", "recipe-" + f.name, f.read_bytes())
    stages = json.loads(f.read_text()).get("stages")
    if stages is not None:
        put("mixture_stages", f.name, json.dumps(stages))
for f in sorted((root / "resources/recipes/filters").glob("*.json")):
    put("filter_recipe", f.name, f.read_bytes())
put("json", "deep.json", "[" * 600 + "]" * 600)
put("json", "big-number.json", '{"a": 1e999, "b": 18446744073709551615, "c": -9223372036854775809}')

config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
          "vocab_size": 256, "max_position_embeddings": 128, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
          "hidden_act": "silu", "torch_dtype": "float32", "tie_word_embeddings": True, "bos_token_id": 1,
          "eos_token_id": [2, 3],
          "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                           "original_max_position_embeddings": 64}}
put("config_json", "llama.json", json.dumps(config, indent=1))
put("config_json", "huge-layers.json", json.dumps({**config, "num_hidden_layers": 2**62}))

# The unit tests' hand-made tokenizer (tests/tokenizer/tiny_bpe_json.h), both merge styles.
pre = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
tok = {"normalizer": None, "pre_tokenizer": pre, "decoder": {"type": "ByteLevel"},
       "added_tokens": [{"id": 7, "content": "<x>", "special": True, "lstrip": True, "rstrip": True,
                         "single_word": False, "normalized": False}],
       "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4, "c": 5, "abc": 6},
                 "merges": ["a b", "Ġ ab", "ab c"]}}
put("tokenizer_json", "tiny-string-merges.json", json.dumps(tok))
tok["model"]["merges"] = [["a", "b"], ["Ġ", "ab"], ["ab", "c"]]
put("tokenizer_json", "tiny-pair-merges.json", json.dumps(tok))
put("tokenizer_codec", "mixed.txt", "Hello 안녕하세요 <|x|> abc 123\n\t  done")
put("tokenizer_codec", "invalid-utf8.bin", b"ab\xff\xfe\xc3(")

msgs = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "안녕?"},
        {"role": "assistant", "content": "네, 안녕하세요.", "tool_calls": [{"id": "call_1", "type": "function",
         "function": {"name": "calc", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "content": "1", "tool_call_id": "call_1"}, {"role": "assistant", "content": "done"}]
put("chat_template", "conversation.json", json.dumps(msgs, ensure_ascii=False))

put("jsonl", "prefs.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
    {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
    {"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "hello"}],
     "rejected": [{"role": "assistant", "content": "go away"}]}]) + "\n{bad\n\n")
events = [{"type": "state", "state": "running", "t": 1.0}, {"type": "log", "level": "info", "message": "x", "t": 1.5},
          {"type": "metric", "step": 1, "t": 2.0, "metrics": {"loss": 3.2}}, {"type": "state", "state": "finished", "t": 3.0}]
put("events", "events.jsonl", "\n".join(json.dumps(e) for e in events) + "\n{\"type\": \"metric\", \"step\": 2")

job = {"name": "demo", "kind": "pretrain", "command": ["kanana", "train", "--recipe", "r.json"], "run_dir": "/tmp/run",
       "env": {"OMP_NUM_THREADS": "1"}, "resources": {"nproc_per_node": 2, "nodes": 1, "time_limit": "01:00:00"},
       "target": {"kind": "local"}}
put("job_spec", "local.json", json.dumps(job))
put("job_spec", "ssh.json", json.dumps({**job, "target": {"kind": "ssh", "host": "gpu1", "user": "me", "port": 22}}))

put("tool_calls", "llama3.txt", '<|python_tag|>{"name": "search", "parameters": {"q": "kanana", "n": 3}}')
put("tool_calls", "hermes.txt", 'ok <tool_call>{"name": "search", "arguments": {"q": "x", "mode": "a"}}</tool_call>')
put("tool_calls", "schema.json", '{"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}}}')

# Corpus files: first byte picks the extension (0 jsonl, 1 .gz, 2 .zst, 3 .txt).
lines = ("\n".join(json.dumps({"id": i, "text": t, "lang": "ko"}, ensure_ascii=False)
                   for i, t in enumerate(["안녕하세요. 반갑습니다.", "Hello world.", ""])) + "\n").encode()
put("corpus_reader", "plain.jsonl", b"\x00" + lines)
put("corpus_reader", "gzip.bin", b"\x01" + gzip.compress(lines))
if shutil.which("zstd"):
    put("corpus_reader", "zstd.bin", b"\x02" + subprocess.run(["zstd", "-q", "-c"], input=lines, capture_output=True).stdout)
put("corpus_reader", "text.bin", b"\x03First paragraph.\n\nSecond one.\n")

# safetensors: two tensors (F32 and BF16) and metadata.
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata: header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob
put("safetensors", "two.safetensors", safetensors({"a": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                                  "b": ("BF16", [3], b"\x80\x3f" * 3)}, {"format": "pt"}))
put("safetensors_index", "index.json", json.dumps({"metadata": {"total_size": 8},
                                                    "weight_map": {"a": "model-00001-of-00001.safetensors"}}))

# GGUF v3: two metadata keys and one F32 tensor.
def gguf():
    def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
    kv = s("general.architecture") + struct.pack("<I", 8) + s("llama")
    kv += s("general.alignment") + struct.pack("<I", 4) + struct.pack("<I", 32)
    info = s("w") + struct.pack("<I", 2) + struct.pack("<QQ", 2, 2) + struct.pack("<I", 0) + struct.pack("<Q", 0)
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 2) + kv + info
    out += b"\x00" * ((32 - len(out) % 32) % 32)
    return out + struct.pack("<4f", 1, 2, 3, 4)
put("gguf", "tiny.gguf", gguf())

# fastText: no model file ships with the project; the loader's own header check is the seed.
put("fasttext", "bad-magic.bin", struct.pack("<ii", 793712314, 12) + b"\x00" * 64)
print("seeds in", seeds)
