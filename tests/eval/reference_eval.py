#!/usr/bin/python3
"""Independent reference for multiple-choice scoring, written from lm-evaluation-harness's
documented semantics and the Llama equations (not from the C++ code).

Prompt: for each few-shot example, doc_to_text + target_delimiter + gold choice +
fewshot_delimiter; then doc_to_text of the item. Request: (context, target_delimiter + choice);
trailing whitespace of the context moves to the continuation; the continuation tokens are
encode(context + continuation)[len(encode(context)):]. The tokenizer is the test's byte-level
one (token id = UTF-8 byte value, no BOS). Score = sum of log-softmax over the continuation
tokens, in float64. acc = argmax(score) == gold; acc_norm = argmax(score / len(choice in
UTF-8 bytes)) == gold.

usage: reference_eval.py SPEC_JSON OUT_JSON
SPEC_JSON: {"model_dir", "items": [{"question", "choices", "answer", "fewshot_lines": [...]}],
            "pool": {line: item}, "template_prefix", "template_middle", "target_delimiter",
            "fewshot_delimiter"}
The doc_to_text of an item is template_prefix + question + template_middle.
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def load_weights(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def log_probs(cfg, W, ids):
    """log softmax of next-token logits for one sequence (S,) -> (S, vocab), float64."""
    S = len(ids)
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.arange(S, dtype=torch.float64)[:, None] * inv.to(torch.float64)[None, :]
    ang = torch.cat([ang, ang], -1)
    cos, sin = ang.cos(), ang.sin()

    def rope(x):  # (heads, S, hd)
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    mask = torch.tril(torch.ones(S, S, dtype=torch.bool))
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(S, nh, hd).transpose(0, 1)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(S, nkv, hd).transpose(0, 1)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(S, nkv, hd).transpose(0, 1)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(nh // nkv, 0)
        v = v.repeat_interleave(nh // nkv, 0)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~mask, float("-inf"))
        a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(S, nh * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (g * torch.sigmoid(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    return torch.log_softmax(x @ head.T, -1)


def encode(text):
    return list(text.encode("utf-8"))


def main():
    spec = json.load(open(sys.argv[1]))
    cfg = json.load(open(spec["model_dir"] + "/config.json"))
    W = load_weights(spec["model_dir"] + "/model.safetensors")
    pool = {int(k): v for k, v in spec["pool"].items()}
    tdelim, fdelim = spec["target_delimiter"], spec["fewshot_delimiter"]

    def doc_to_text(doc):
        return spec["template_prefix"] + doc["question"] + spec["template_middle"]

    out = []
    for item in spec["items"]:
        context = ""
        for line in item["fewshot_lines"]:
            shot = pool[line]
            context += doc_to_text(shot) + tdelim + shot["choices"][shot["answer"]] + fdelim
        context += doc_to_text(item)
        scores = []
        for choice in item["choices"]:
            ctx, cont = context, tdelim + choice
            n_spaces = len(ctx) - len(ctx.rstrip())
            if n_spaces > 0:
                cont = ctx[-n_spaces:] + cont
                ctx = ctx[:-n_spaces]
            ctx_ids = encode(ctx)
            whole = encode(ctx + cont)
            cont_ids = whole[len(ctx_ids):]
            seq = ctx_ids + cont_ids
            lp = log_probs(cfg, W, seq[:-1])
            total = 0.0
            for j, tok in enumerate(cont_ids):
                total += lp[len(ctx_ids) - 1 + j, tok].item()
            scores.append(total)
        lengths = [len(c.encode("utf-8")) for c in item["choices"]]
        pred = max(range(len(scores)), key=lambda i: (scores[i], -i))
        pred_norm = max(range(len(scores)), key=lambda i: (scores[i] / lengths[i], -i))
        out.append({"logprobs": scores, "pred": pred, "pred_norm": pred_norm,
                    "acc": float(pred == item["answer"]), "acc_norm": float(pred_norm == item["answer"])})
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
