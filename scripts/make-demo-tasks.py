#!/usr/bin/env python3
"""Builds the items of the demo evaluation tasks whose specs ship in resources/eval/demo/
(faq-mc.json, faq-next.json) from the Debian FAQ question/answer pairs in the demo data cache
(corpora/faq_qa_{ko,en}.jsonl, written by `kanana data import-demo`), and copies the specs
next to them. The FAQ text stays out of the repository, like all third-party text: see
docs/demo-data.md for the sources and their licences.

  faq-mc.jsonl    multiple choice: a FAQ question, four answer openings of the same language
                  (its own and three of other questions), gold = its own. Chance = 25 %.
  faq-next.jsonl  generative: a FAQ question and the first words of its answer; the gold is the
                  next word. Chance is ~0: any exact match is knowledge of the FAQ.
Both are small on purpose (a tiny CPU model is evaluated on every stage of the demo loop).
Deterministic: the same cache gives the same files.

  scripts/make-demo-tasks.py [--cache DIR] [--out DIR (default: <cache>/eval/demo)] [--per-lang N]
"""
import argparse, json, os, random, re, shutil

ap = argparse.ArgumentParser()
ap.add_argument("--cache", default=os.environ.get("KANANA_DATA_CACHE", os.path.expanduser("~/.cache/kanana-workbench")))
ap.add_argument("--out", default="")
ap.add_argument("--per-lang", type=int, default=60)
ap.add_argument("--seed", type=int, default=14)
a = ap.parse_args()
specs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "eval", "demo")
out_dir = a.out or os.path.join(a.cache, "eval", "demo")


def opening(text, limit):
    """The answer's first words, cut at a word boundary (never mid-word)."""
    first = text.strip().split("\n")[0]
    words, out = first.split(), []
    for w in words:
        if len(" ".join(out + [w])) > limit:
            break
        out.append(w)
    return " ".join(out)


mc, gen = [], []
for lang in ("ko", "en"):
    path = os.path.join(a.cache, "corpora", f"faq_qa_{lang}.jsonl")
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    rows = [r for r in rows if r.get("question") and len(r.get("text", "").split()) >= 8]
    rng = random.Random(f"{a.seed}-{lang}")
    rng.shuffle(rows)
    rows = rows[: a.per_lang]
    limit = 40 if lang == "ko" else 60
    openings = [opening(r["text"], limit) for r in rows]
    for i, r in enumerate(rows):
        others = [j for j in range(len(rows)) if j != i and openings[j] != openings[i]]
        picks = rng.sample(others, 3)
        choices = [openings[j] for j in picks]
        gold = rng.randrange(4)
        choices.insert(gold, openings[i])
        mc.append({"id": r["id"], "lang": lang, "question": r["question"], "choices": choices, "answer": gold})
        words = r["text"].split()
        k = 3
        gen.append({"id": r["id"], "lang": lang, "question": r["question"],
                    "prefix": " ".join(words[:k]), "answer": re.sub(r"[.,:;!?]+$", "", words[k])})

os.makedirs(out_dir, exist_ok=True)
for name, items in (("faq-mc.jsonl", mc), ("faq-next.jsonl", gen)):
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
for spec in ("faq-mc.json", "faq-next.json"):
    shutil.copyfile(os.path.join(specs, spec), os.path.join(out_dir, spec))
print(f"{len(mc)} multiple-choice items, {len(gen)} generative items in {out_dir}")
