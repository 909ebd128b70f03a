#!/usr/bin/env python3
"""Synthetic bilingual post-training data for the DPO demo (bench/posttrain/dpo_demo.sh).

From the aligned LibreOffice help paragraphs (ko/en by paragraph id, the data cache's
corpora/ko_en_libreoffice_aligned.jsonl) it writes, into OUT:
  sft.jsonl            chat SFT data: every training prompt twice, answered once in Korean and
                       once in English, so the SFT model speaks both
  prefs_train.jsonl    TRL preference pairs: chosen = the Korean answer, rejected = the English one
  prefs_heldout.jsonl  the same for paragraphs of help pages never seen in training
  tokenizer_text.txt   the text to train the demo tokenizer on
The prompt asks about a help paragraph by its first English words. Held-out pages are chosen
by a hash of the page name, so no held-out paragraph shares a page with a training one.
"""
import argparse, hashlib, json, random, re, sys

ap = argparse.ArgumentParser()
ap.add_argument("--corpus", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--train", type=int, default=4000)
ap.add_argument("--heldout", type=int, default=300)
ap.add_argument("--seed", type=int, default=7)
a = ap.parse_args()

hangul = re.compile("[가-힣]")
rows = []
for line in open(a.corpus, encoding="utf-8"):
    d = json.loads(line)
    ko, en = d.get("text", ""), d.get("en", "")
    if not d.get("translated") or not hangul.search(ko):
        continue
    if not (30 <= len(en) <= 200 and 15 <= len(ko) <= 150):
        continue
    page = d["id"].split("#")[0]
    words = en.split()
    if len(words) < 6:
        continue
    prompt = "LibreOffice help: " + " ".join(words[:5]) + " ..."
    held = int(hashlib.sha1(page.encode()).hexdigest(), 16) % 10 == 0
    rows.append({"prompt": prompt, "ko": ko, "en": en, "held": held, "id": d["id"]})

rng = random.Random(a.seed)
rng.shuffle(rows)
train = [r for r in rows if not r["held"]][: a.train]
held = [r for r in rows if r["held"]][: a.heldout]
if len(train) < a.train or len(held) < a.heldout:
    sys.exit(f"not enough paragraphs: {len(train)} train, {len(held)} held-out")

def chat(p, answer):
    return {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": answer}]}

with open(f"{a.out}/sft.jsonl", "w", encoding="utf-8") as f:
    sft = [chat(r["prompt"], r["ko"]) for r in train] + [chat(r["prompt"], r["en"]) for r in train]
    rng.shuffle(sft)
    for s in sft:
        f.write(json.dumps(s, ensure_ascii=False) + "\n")
for name, part in (("prefs_train", train), ("prefs_heldout", held)):
    with open(f"{a.out}/{name}.jsonl", "w", encoding="utf-8") as f:
        for r in part:
            f.write(json.dumps({"prompt": r["prompt"], "chosen": r["ko"], "rejected": r["en"], "id": r["id"]},
                               ensure_ascii=False) + "\n")
with open(f"{a.out}/tokenizer_text.txt", "w", encoding="utf-8") as f:
    for r in train:
        f.write(r["prompt"] + "\n" + r["ko"] + "\n" + r["en"] + "\n")
print(f"{len(train)} training paragraphs ({2 * len(train)} SFT conversations, {len(train)} pairs), "
      f"{len(held)} held-out pairs from unseen pages")
