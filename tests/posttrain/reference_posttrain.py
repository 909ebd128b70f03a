#!/usr/bin/python3
# Independent PyTorch computation for test_posttrain_losses, written from the equations
# (DPO: Rafailov et al. 2023 eq. 7; conservative DPO label smoothing; IPO: Azar et al. 2023
# eq. 17; Bradley-Terry), not from the C++ code. Reads a JSON job from argv[1], writes the
# results as JSON to argv[2]. Uses Debian's python3-torch, float64 throughout.
import json, sys
import torch

job = json.load(open(sys.argv[1]))
out = {}
torch.set_num_threads(1)
t = lambda v: torch.tensor(v, dtype=torch.float64)

def log_sigmoid(x):
    # log σ(x) = −log(1 + e^{−x}), stable form
    return -torch.nn.functional.softplus(-x)

for case in job["dpo"]:
    pc = t(case["policy_chosen"]).requires_grad_(True)
    pr = t(case["policy_rejected"]).requires_grad_(True)
    rc = t(case["reference_chosen"])
    rr = t(case["reference_rejected"])
    beta, eps = case["beta"], case["label_smoothing"]
    pi_logratio = pc - pr
    ref_logratio = rc - rr
    h = pi_logratio - ref_logratio
    if case["type"] == "ipo":
        losses = (h - 1.0 / (2.0 * beta)) ** 2
    else:
        losses = -(1.0 - eps) * log_sigmoid(beta * h) - eps * log_sigmoid(-beta * h)
    loss = losses.mean()
    loss.backward()
    chosen_rewards = beta * (pc.detach() - rc)
    rejected_rewards = beta * (pr.detach() - rr)
    out[case["name"]] = {
        "loss": loss.item(),
        "losses": losses.detach().tolist(),
        "grad_chosen": pc.grad.tolist(),
        "grad_rejected": pr.grad.tolist(),
        "chosen_rewards": chosen_rewards.tolist(),
        "rejected_rewards": rejected_rewards.tolist(),
        "margins": (chosen_rewards - rejected_rewards).tolist(),
        "accuracy": (chosen_rewards > rejected_rewards).double().mean().item(),
    }

bt = job["bradley_terry"]
r_c = t(bt["chosen"]).requires_grad_(True)
r_r = t(bt["rejected"]).requires_grad_(True)
loss = -log_sigmoid(r_c - r_r).mean()
loss.backward()
out["bradley_terry"] = {"loss": loss.item(), "grad_chosen": r_c.grad.tolist(), "grad_rejected": r_r.grad.tolist(),
                        "accuracy": ((r_c - r_r) > 0).double().mean().item()}

# Sequence log-probs: sum over labelled positions of log softmax(logits)[label].
sq = job["sequence"]
logits = t(sq["logits"]).requires_grad_(True)
labels = torch.tensor(sq["labels"], dtype=torch.int64)
weights = t(sq["weights"])
logp = torch.log_softmax(logits, dim=-1)
seq = []
for b in range(labels.shape[0]):
    total = torch.zeros((), dtype=torch.float64)
    for i in range(labels.shape[1]):
        if labels[b, i] != -100:
            total = total + logp[b, i, labels[b, i]]
    seq.append(total)
seq = torch.stack(seq)
(seq * weights).sum().backward()
out["sequence"] = {"logps": seq.detach().tolist(), "grad": logits.grad.reshape(-1).tolist()}
json.dump(out, open(sys.argv[2], "w"))
