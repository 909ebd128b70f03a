#!/usr/bin/python3
"""Independent PyTorch reference for the Llama forward pass, written from the model's
equations (RMSNorm, rotary embeddings with rotate_half, llama3 frequency scaling, grouped-query
attention, SwiGLU), not from the C++ code. Reads a Hugging Face folder (config.json +
model.safetensors, parsed with json/struct only) and token ids, and writes fp32 logits.

usage: reference_llama.py MODEL_DIR IDS_JSON OUT_BIN
IDS_JSON: {"input_ids": [[...], ...], "attention_mask": [[...], ...]} (mask optional, 1 = real)
OUT_BIN: raw little-endian float32 logits (batch, seq, vocab)
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = bytearray(data[base + b:base + e])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if e > b else torch.zeros(0, dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def inv_frequencies(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    # The C++ side follows transformers in computing the table in float32.
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    rs = cfg.get("rope_scaling")
    if rs and (rs.get("rope_type") or rs.get("type")) == "llama3":
        factor = rs["factor"]
        lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        out = []
        for f in inv.tolist():
            wavelen = 2 * math.pi / f
            if wavelen < old / hi:            # high frequency: unchanged
                out.append(f)
            elif wavelen > old / lo:          # low frequency: interpolated
                out.append(f / factor)
            else:                             # blend between the two
                smooth = (old / wavelen - lo) / (hi - lo)
                out.append((1 - smooth) * f / factor + smooth * f)
        inv = torch.tensor(out, dtype=torch.float32)
    elif rs:
        raise SystemExit("reference supports rope_scaling null or llama3 only")
    return inv.to(torch.float64)


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def main():
    model_dir, ids_path, out_path = sys.argv[1:4]
    cfg = json.load(open(f"{model_dir}/config.json"))
    W = read_safetensors(f"{model_dir}/model.safetensors")
    spec = json.load(open(ids_path))
    ids = torch.tensor(spec["input_ids"], dtype=torch.long)
    B, S = ids.shape
    mask = torch.tensor(spec.get("attention_mask", [[1] * S] * B), dtype=torch.long)
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim") or H // nh
    eps = cfg.get("rms_norm_eps", 1e-6)

    # Positions count only real tokens, so a left-padded row sees the same positions as unpadded.
    pos = (mask.cumsum(1) - 1).clamp(min=0).to(torch.float64)
    ang = pos[..., None] * inv_frequencies(cfg, hd)[None, None, :]
    ang = torch.cat([ang, ang], dim=-1)  # (B, S, hd)
    cos, sin = ang.cos()[:, None], ang.sin()[:, None]

    causal = torch.tril(torch.ones(S, S, dtype=torch.bool))
    allowed = causal[None, None] & mask.bool()[:, None, None, :]  # (B, 1, S, S)

    x = W["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(B, S, nh, hd).transpose(1, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(B, S, nkv, hd).transpose(1, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(B, S, nkv, hd).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~allowed, -1e300)
        a = torch.softmax(scores, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, S, nh * hd)
        x = x + a @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (g * torch.sigmoid(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    logits = (x @ head.T).to(torch.float32).contiguous()
    with open(out_path, "wb") as f:
        f.write(logits.numpy().tobytes())


if __name__ == "__main__":
    main()
