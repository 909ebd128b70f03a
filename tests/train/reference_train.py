#!/usr/bin/python3
# Independent PyTorch computation for test_train_core: reads a JSON job from argv[1],
# writes results as JSON to argv[2]. Uses Debian's python3-torch (torch.optim.AdamW,
# F.cross_entropy), not the C++ code under test.
import json, sys
import torch
import torch.nn.functional as F

job = json.load(open(sys.argv[1]))
out = {}
torch.set_num_threads(1)

# AdamW: coupled = torch.optim.AdamW as is; independent = AdamW(weight_decay=0) and then
# p -= wd * p_before_step (decay not scaled by lr).
for mode in ("coupled", "independent"):
    a = job["adamw"]
    params = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in a["params"]]
    wd = a["weight_decay"]
    opt = torch.optim.AdamW(params, lr=1.0, betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                            weight_decay=wd if mode == "coupled" else 0.0)
    for step, (lr, grads) in enumerate(zip(a["lrs"], a["grads"])):
        for g_group in opt.param_groups:
            g_group["lr"] = lr
        before = [p.detach().clone() for p in params]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        if mode == "independent":
            with torch.no_grad():
                for p, b in zip(params, before):
                    p.sub_(wd * b)
    out["adamw_" + mode] = [p.detach().reshape(-1).tolist() for p in params]

l = job["loss"]
logits = torch.tensor(l["logits"], dtype=torch.float32)
targets = torch.tensor(l["targets"], dtype=torch.int64)
for name, lg in (("fp32", logits), ("bf16", logits.bfloat16())):
    lg32 = lg.float().requires_grad_(True)
    ce = F.cross_entropy(lg32.reshape(-1, lg32.shape[-1]), targets.reshape(-1), ignore_index=-100)
    valid = targets.reshape(-1) != -100
    z = torch.logsumexp(lg32.reshape(-1, lg32.shape[-1]), dim=-1)[valid]
    zl = l["coeff"] * (z * z).mean()
    total = ce + zl
    total.backward()
    out["loss_" + name] = {"ce": ce.item(), "z_loss": zl.item(), "loss": total.item(),
                           "grad": lg32.grad.reshape(-1).tolist()}
json.dump(out, open(sys.argv[2], "w"))
