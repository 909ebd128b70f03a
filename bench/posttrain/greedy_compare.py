#!/usr/bin/env python3
"""Greedy chat replies of several models on the same held-out prompts (bench/posttrain/dpo_demo.sh).

For each model: `kanana generate --chat --greedy` on the first N prompts of a preference
JSONL, the share of replies written mostly in Korean (Hangul letters > Latin letters), and a
few replies side by side. Writes everything to --json as well.
"""
import argparse, json, re, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--kanana", required=True)
ap.add_argument("--prompts", required=True)
ap.add_argument("--model", action="append", required=True, help="NAME=DIR (repeatable)")
ap.add_argument("-n", type=int, default=40)
ap.add_argument("--show", type=int, default=6)
ap.add_argument("--max-new-tokens", type=int, default=48)
ap.add_argument("--json")
a = ap.parse_args()

prompts = [json.loads(l)["prompt"] for l in open(a.prompts, encoding="utf-8") if l.strip()][: a.n]
hangul, latin = re.compile("[가-힣]"), re.compile("[A-Za-z]")

def korean(text):
    h, l = len(hangul.findall(text)), len(latin.findall(text))
    return h > l

results = {}
for spec in a.model:
    name, path = spec.split("=", 1)
    replies = []
    for p in prompts:
        r = subprocess.run([a.kanana, "generate", "--model", path, "--chat", "--greedy", "--max-new-tokens",
                            str(a.max_new_tokens), "--threads", "2", "--prompt", p],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"kanana generate failed for {path}: {r.stderr}")
        replies.append(r.stdout.strip())
    share = sum(korean(t) for t in replies) / len(replies)
    results[name] = {"korean_share": share, "replies": replies}
    print(f"{name}: {share * 100:.1f}% of {len(replies)} greedy replies mostly Korean")

names = [s.split("=", 1)[0] for s in a.model]
for i, p in enumerate(prompts[: a.show]):
    print(f"\nprompt: {p}")
    for n in names:
        print(f"  {n:>8}: {results[n]['replies'][i][:160]}")
if a.json:
    json.dump({"prompts": prompts, "models": results}, open(a.json, "w"), ensure_ascii=False, indent=1)
