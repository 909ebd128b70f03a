#!/usr/bin/python3
"""Independent PyTorch reference for the Llama forward pass, written from the model's
equations (RMSNorm, rotary embeddings with rotate_half, llama3/YaRN/dynamic-NTK scaling, grouped-query
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


def inv_frequencies(cfg, head_dim, seq_len):
    """Rotary inverse frequencies and the attention (cos/sin) scale, from the papers:
    llama3 (Llama 3.1 frequency bands), YaRN (Peng et al. 2023: NTK-by-parts ramp between
    interpolation and extrapolation, attention scale 0.1·ln(s)+1) and dynamic NTK (base grows
    with the sequence beyond the trained length)."""
    theta = cfg.get("rope_theta", 10000.0)
    # The C++ side follows transformers in computing the table in float32.
    exponents = torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim
    inv = 1.0 / (theta ** exponents)
    scale = 1.0
    rs = cfg.get("rope_scaling")
    kind = (rs.get("rope_type") or rs.get("type")) if rs else None
    if kind == "llama3":
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
    elif kind == "yarn":
        s = rs["factor"]
        trained = cfg["max_position_embeddings"]
        if rs.get("original_max_position_embeddings"):
            trained = rs["original_max_position_embeddings"]
            s = cfg["max_position_embeddings"] / trained
        beta_fast, beta_slow = rs.get("beta_fast") or 32.0, rs.get("beta_slow") or 1.0
        # dimension index whose wavelength makes `r` rotations over the trained context
        def dim_for(r):
            return head_dim * math.log(trained / (r * 2 * math.pi)) / (2 * math.log(theta))
        lo, hi = math.floor(dim_for(beta_fast)), math.ceil(dim_for(beta_slow))
        lo, hi = max(lo, 0), min(hi, head_dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(head_dim // 2, dtype=torch.float32) - lo) / (hi - lo)).clamp(0, 1)
        extrapolate = 1 - ramp                  # 1: keep the frequency, 0: interpolate by s
        inv = (inv / s) * (1 - extrapolate) + inv * extrapolate
        scale = rs.get("attention_factor") or (0.1 * math.log(s) + 1.0 if s > 1 else 1.0)
    elif kind == "dynamic":
        trained = cfg["max_position_embeddings"]
        s = rs["factor"]
        L = max(seq_len, trained)
        base = theta * ((s * L / trained) - (s - 1)) ** (head_dim / (head_dim - 2))
        inv = 1.0 / (base ** exponents)
    elif kind not in (None, "default"):
        raise SystemExit("reference supports rope_scaling null, llama3, yarn or dynamic, not " + str(kind))
    return inv.to(torch.float64), scale


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
    inv, scale = inv_frequencies(cfg, hd, int(pos.max().item()) + 1)
    ang = pos[..., None] * inv[None, None, :]
    ang = torch.cat([ang, ang], dim=-1)  # (B, S, hd)
    cos, sin = scale * ang.cos()[:, None], scale * ang.sin()[:, None]

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
