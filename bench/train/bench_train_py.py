#!/usr/bin/python3
"""Plain PyTorch training loop, the baseline for bench_train: the same Llama shape (read from
the preset numbers passed on the command line), random tokens, the same loss (CE + z-loss in
fp32), torch.optim.AdamW, total-norm clipping, one optimizer step per batch.

usage: bench_train_py.py HIDDEN FFN LAYERS HEADS KV_HEADS HEAD_DIM VOCAB SEQ BATCH STEPS THREADS
Prints one JSON line with the median step time and tokens/s (first step excluded)."""
import json, math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

H, FFN, L, NH, NKV, HD, V, S, B, STEPS, THREADS = map(int, sys.argv[1:12])
torch.set_num_threads(THREADS)
torch.manual_seed(0)


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(H, NH * HD, bias=False)
        self.k = nn.Linear(H, NKV * HD, bias=False)
        self.v = nn.Linear(H, NKV * HD, bias=False)
        self.o = nn.Linear(NH * HD, H, bias=False)
        self.gate = nn.Linear(H, FFN, bias=False)
        self.up = nn.Linear(H, FFN, bias=False)
        self.down = nn.Linear(FFN, H, bias=False)
        self.n1, self.n2 = RMSNorm(H), RMSNorm(H)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, NH, HD).transpose(1, 2)
        k = self.k(h).view(b, s, NKV, HD).transpose(1, 2)
        v = self.v(h).view(b, s, NKV, HD).transpose(1, 2)
        rot = lambda t: torch.cat([-t[..., HD // 2:], t[..., :HD // 2]], -1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k = k.repeat_interleave(NH // NKV, 1)
        v = v.repeat_interleave(NH // NKV, 1)
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(HD)).masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, s, NH * HD))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, H)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.norm = RMSNorm(H)
        inv = 1.0 / (10000.0 ** (torch.arange(0, HD, 2).float() / HD))
        ang = torch.arange(S).float()[:, None] * inv[None]
        ang = torch.cat([ang, ang], -1)
        self.register_buffer("cos", ang.cos()[None, None])
        self.register_buffer("sin", ang.sin()[None, None])
        self.register_buffer("mask", torch.tril(torch.ones(S, S, dtype=torch.bool))[None, None])

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        return self.norm(x) @ self.embed.weight.T  # tied head


model = Llama()
# Hugging Face Llama initialisation (what the C++ init_model does): N(0, 0.02) weights, norms 1.
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() == 2:
            p.normal_(0.0, 0.02)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=1e-4)
times = []
for step in range(STEPS):
    data = torch.randint(1, V, (B, S + 1))
    t0 = time.perf_counter()
    logits = model(data[:, :-1]).float()
    z = torch.logsumexp(logits, -1)
    ce = F.cross_entropy(logits.reshape(-1, V), data[:, 1:].reshape(-1))
    loss = ce + 5e-6 * (z * z).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    times.append(time.perf_counter() - t0)
med = sorted(times[1:])[len(times[1:]) // 2] if len(times) > 1 else times[0]
print(json.dumps({"impl": "python", "torch": torch.__version__, "threads": THREADS, "median_step_s": round(med, 4),
                  "tokens_per_s": round(B * S / med, 1), "final_loss": round(loss.item(), 4)}))
