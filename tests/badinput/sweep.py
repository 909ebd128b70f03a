#!/usr/bin/env python3
"""Bad-input sweep: runs the `kanana` CLI on crafted inputs of the 13 kinds of issue 18
(config.json, safetensors, tokenizer.json, recipes, job specs, corpora, filter recipes,
preference JSONL, eval tasks, chat stdin, the workspace database, permissions, special files)
and classifies every outcome:

  clean      non-zero exit with a message, or success where success is right
  crash      killed by a signal, or an uncaught exception / sanitizer report on stderr
  hang       still running after the per-run timeout
  garbage0   exit 0 on an input that must be refused
  dataloss   a pre-existing file the run must not touch changed (or vanished)

  tests/badinput/sweep.py --kanana build/bin/kanana [--quick] [--timeout S] [--keep DIR]

Prints one line per case that is not clean, then the counts per class; exits 1 if any case is
not clean. --quick runs the CI subset (no model training, a few seconds)."""
import argparse, gzip, hashlib, json, os, shutil, signal, struct, subprocess, sys, tempfile, time
from pathlib import Path

CRASH_MARKERS = ("terminate called", "AddressSanitizer", "runtime error:", "Segmentation fault", "core dumped",
                 "Aborted", "std::bad_alloc", "LeakSanitizer", "what():")


def sha(path):
    p = Path(path)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(p.rglob("*")):
            # hidden entries (.partial/, locks) are a run's scratch state, not its results
            if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                h.update(str(f.relative_to(p)).encode()); h.update(f.read_bytes())
        return h.hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None


class Sweep:
    def __init__(self, kanana, work, timeout):
        self.kanana, self.work, self.timeout = kanana, Path(work), timeout
        self.results = []  # (kind, name, cls, detail)

    def run(self, kind, name, args, expect="error", stdin=None, protect=(), timeout=None, env=None,
            signal_after=None):
        """expect: 'error' (must be refused), 'ok' (must succeed), 'any' (either, if clean)."""
        before = {str(p): sha(p) for p in protect}
        e = dict(os.environ, KANANA_LOG_LEVEL="warning", **(env or {}))
        t = timeout or self.timeout
        proc = subprocess.Popen([self.kanana] + [str(a) for a in args], cwd=self.work, env=e,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            if signal_after is not None:
                time.sleep(signal_after)
                proc.send_signal(signal.SIGTERM)
                t = 2.0  # must stop within a second or two of being told
            out, err = proc.communicate(input=stdin.encode() if isinstance(stdin, str) else stdin, timeout=t)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.results.append((kind, name, "hang", f"still running after {t:.0f}s"))
            return None
        err_text = err.decode(errors="replace")
        changed = [p for p, h in before.items() if sha(p) != h]
        if signal_after is not None and rc == -signal.SIGTERM and not changed and not any(m in err_text for m in CRASH_MARKERS):
            # Ended by the SIGTERM it was sent, before its handler was installed (a slow start on
            # a loaded machine: loading the libraries takes longer than signal_after): it stopped.
            cls, detail = "clean", "stopped by the SIGTERM before installing its handler"
        elif rc < 0 or any(m in err_text for m in CRASH_MARKERS):
            cls, detail = "crash", f"rc {rc}: " + err_text.strip()[-300:]
        elif changed:
            cls, detail = "dataloss", "changed: " + ", ".join(changed)
        elif rc == 0 and expect == "error":
            cls, detail = "garbage0", (out.decode(errors="replace") + err_text).strip()[-200:]
        elif rc != 0 and expect == "ok":
            cls, detail = "clean", "(refused a valid run) " + err_text.strip()[-200:]
            cls = "unexpected-error"
        elif rc != 0 and not err_text.strip():
            cls, detail = "garbage0", f"rc {rc} without any message"
        else:
            cls, detail = "clean", err_text.strip().splitlines()[-1][:200] if err_text.strip() else ""
        self.results.append((kind, name, cls, detail))
        return rc, out.decode(errors="replace"), err_text


def write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def byte_tokenizer(drop_bytes=0):
    """A byte-level BPE tokenizer.json with all 256 byte tokens (minus the first `drop_bytes`)."""
    cps, extra = [], 0
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        cps.append(b if printable else 256 + extra)
        extra += 0 if printable else 1
    vocab = {chr(cp): i for i, cp in enumerate(cps) if i >= drop_bytes}
    n = 256
    for extra_tok in ["ab", "abc"]:
        vocab[extra_tok] = n; n += 1
    added = [{"id": n + i, "content": c, "special": True} for i, c in
             enumerate(["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"])]
    pre = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    return {"normalizer": None, "pre_tokenizer": pre, "decoder": {"type": "ByteLevel"}, "added_tokens": added,
            "model": {"type": "BPE", "vocab": vocab, "merges": ["a b", "ab c"]}}


def safetensors_tensor_span(path, name):
    data = Path(path).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    b, e = header[name]["data_offsets"]
    return 8 + n + b, 8 + n + e, header[name]["dtype"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kanana", required=True)
    ap.add_argument("--quick", action="store_true", help="the CI subset")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--keep", help="work in this folder and keep it")
    a = ap.parse_args()
    kanana = str(Path(a.kanana).resolve())
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kanana-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    s = Sweep(kanana, work, a.timeout)
    W = lambda *p: work.joinpath(*p)

    # ---- fixtures: a byte tokenizer, a tiny model, a workspace --------------------------
    write(W("tok/tokenizer.json"), json.dumps(byte_tokenizer()))
    s.run("config.json", "model init (fixture)", ["model", "init", "--preset", "tiny", "--out", "model",
                                                  "--tokenizer", "tok/tokenizer.json"], expect="ok", timeout=120)
    cfg = json.loads(W("model/config.json").read_text())

    def model_with(name, **changes):
        d = W(name)
        shutil.copytree(W("model"), d)
        c = dict(cfg); c.update(changes)
        write(d / "config.json", json.dumps(c))
        return d

    # 1. config.json
    for key, val in [("num_hidden_layers", 2**62), ("hidden_size", 2**40), ("vocab_size", -1), ("num_hidden_layers", 1e999),
                     ("head_dim", "sixty-four"), ("num_attention_heads", 2**64 - 1)]:
        d = W(f"cfg-{key}-{abs(hash(str(val))) % 1000}")
        shutil.copytree(W("model"), d)
        text = json.dumps({**cfg, key: val}).replace("Infinity", "1e999")
        write(d / "config.json", text)
        s.run("config.json", f"model info, {key}={val}", ["model", "info", d])
    d = W("cfg-deep"); shutil.copytree(W("model"), d); write(d / "config.json", "[" * 100000 + "]" * 100000)
    s.run("config.json", "deeply nested", ["model", "info", d])
    d = W("cfg-trunc"); shutil.copytree(W("model"), d); write(d / "config.json", json.dumps(cfg)[:40])
    s.run("config.json", "truncated", ["model", "info", d])

    # 2. safetensors
    st = W("model/model.safetensors")
    for name, mutate in [("truncated", lambda b: b[: len(b) // 2]), ("header length huge", lambda b: struct.pack("<Q", 2**62) + b[8:]),
                         ("header garbage", lambda b: b[:8] + b"\xff" * 64 + b[72:]), ("empty", lambda b: b"")]:
        d = W("st-" + name.replace(" ", "-")); shutil.copytree(W("model"), d)
        write(d / "model.safetensors", mutate(st.read_bytes()))
        s.run("safetensors", f"model info, {name}", ["model", "info", d])
    d = W("st-nan"); shutil.copytree(W("model"), d)
    b, e, dt = safetensors_tensor_span(d / "model.safetensors", "model.norm.weight")
    raw = bytearray((d / "model.safetensors").read_bytes())
    raw[b:b + 4] = struct.pack("<f", float("nan")) if dt == "F32" else b"\xc0\x7f\xc0\x7f"
    write(d / "model.safetensors", bytes(raw))
    s.run("safetensors", "NaN weight: model info", ["model", "info", d])
    if not a.quick:
        s.run("safetensors", "NaN weight: generate", ["generate", "--model", d, "--prompt", "ab", "--max-new-tokens", "3"], timeout=120)
    d = W("st-missing"); shutil.copytree(W("model"), d)
    write(d / "model.safetensors.index.json", json.dumps({"weight_map": {"model.norm.weight": "nope.safetensors"}}))
    (d / "model.safetensors").unlink()
    s.run("safetensors", "index names a missing shard", ["model", "info", d])

    # 3. tokenizer.json
    tokcases = {
        "number out of range": json.dumps(byte_tokenizer()).replace('"ab": 256', '"ab": 1e999'),
        "wrong type model.type": json.dumps({**byte_tokenizer(), "model": {**byte_tokenizer()["model"], "type": 5}}),
        "id near 2^30": json.dumps({**byte_tokenizer(), "model": {**byte_tokenizer()["model"],
                                                                  "vocab": {**byte_tokenizer()["model"]["vocab"], "zz": 2**30 - 1}}}),
        "added id 2^32+5": json.dumps({**byte_tokenizer(), "added_tokens": [{"id": 2**32 + 5, "content": "<q>"}]}),
        "not json": "tokenizer",
        "deep": "{\"model\":" + "[" * 100000,
    }
    for name, text in tokcases.items():
        write(W("tokbad", name.replace(" ", "_"), "tokenizer.json"), text)
        s.run("tokenizer.json", name, ["tokenize", "--tokenizer", W("tokbad", name.replace(" ", "_"))], stdin="hello\n")
    s.run("tokenizer.json", "decode out-of-range id", ["tokenize", "--tokenizer", W("tok"), "--decode"], stdin="1 2 99999999\n")
    s.run("tokenizer.json", "decode negative id", ["tokenize", "--tokenizer", W("tok"), "--decode"], stdin="-5\n")
    write(W("tok-nobytes/tokenizer.json"), json.dumps(byte_tokenizer(drop_bytes=200)))
    r = s.run("tokenizer.json", "missing byte tokens (warns)", ["tokenize", "--tokenizer", W("tok-nobytes")], stdin="hello\n", expect="any")
    if r and r[0] == 0 and "missing" not in r[2]:
        s.results[-1] = ("tokenizer.json", "missing byte tokens (warns)", "garbage0", "no warning about missing byte tokens")

    # 4. recipes
    recipe = json.loads((Path(__file__).resolve().parents[2] / "resources/recipes/train/tiny-cpu-demo.json").read_text())
    recipe["model"] = {"config": str(W("model/config.json"))}
    for name, change in [("seq_len 1e999", '"seq_len": 1e999'), ("seq_len string", '"seq_len": "long"'),
                         ("micro_batch 2^63", '"micro_batch_size": 9223372036854775807'),
                         ("name ../../x", '"name": "../../escaped"'), ("name a/b", '"name": "a/b"')]:
        key = change.split(":")[0].strip('"')
        text = json.dumps({k: v for k, v in recipe.items() if k != key})[:-1] + ", " + change + "}"
        write(W("recipes", name.replace(" ", "_").replace("/", "_") + ".json"), text)
        s.run("recipes", name, ["train", "--recipe", W("recipes", name.replace(" ", "_").replace("/", "_") + ".json")])
    s.run("recipes", "/dev/zero as recipe", ["train", "--recipe", "/dev/zero"], timeout=20)
    s.run("recipes", "directory as recipe", ["train", "--recipe", W("recipes")])
    write(W("recipes/deep.json"), "{\"a\":" * 100000)
    s.run("recipes", "deep nesting", ["train", "--recipe", W("recipes/deep.json")])

    # 5. job specs
    job = {"name": "j", "kind": "data", "command": ["/bin/true"], "run_dir": str(W("runs/j1")), "target": {"kind": "local"}}
    s.run("workspace", "workspace init (fixture)", ["workspace", "init", W("ws")], expect="ok")
    for name, spec in [("nproc 2^32+1", {**job, "resources": {"nproc_per_node": 2**32 + 1}}),
                       ("nproc 1e999", json.dumps(job)[:-1] + ', "resources": {"nproc_per_node": 1e999}}'),
                       ("port string", {**job, "target": {"kind": "ssh", "host": "h", "port": "22"}}),
                       ("command not a list", {**job, "command": "rm -rf /"}),
                       ("env bad name", {**job, "env": {"A B": "x"}})]:
        p = write(W("jobs", name.replace(" ", "_") + ".json"), spec if isinstance(spec, str) else json.dumps(spec))
        s.run("job specs", name, ["runs", "launch", "--spec", p, "--workspace", W("ws")])
    # a finished run's folder must not be rewritten by a new launch
    p = write(W("jobs/ok.json"), json.dumps({**job, "run_dir": str(W("runs/done"))}))
    s.run("job specs", "launch (fixture)", ["runs", "launch", "--spec", p, "--workspace", W("ws")], expect="ok")
    time.sleep(1.5)
    s.run("job specs", "launch into a finished run_dir", ["runs", "launch", "--spec", p, "--workspace", W("ws")],
          protect=[W("runs/done/job.json")])

    # 6. corpora
    docs = "\n".join(json.dumps({"id": i, "text": f"문서 {i}. This is a reasonably long English sentence number {i} for the filters."})
                     for i in range(50)) + "\n"
    write(W("corpus/good.jsonl"), docs)
    write(W("corpus/random.zst"), os.urandom(4096))
    write(W("corpus/random.jsonl.gz"), os.urandom(4096))
    write(W("corpus/trunc.jsonl.gz"), gzip.compress(docs.encode())[:200])
    s.run("corpora", "random bytes .zst", ["data", "scan", W("corpus/random.zst"), "--out", "scan-zst", "--no-lid", "-q"])
    s.run("corpora", "random bytes .gz", ["data", "scan", W("corpus/random.jsonl.gz"), "--out", "scan-gz", "--no-lid", "-q"])
    s.run("corpora", "truncated .gz", ["data", "scan", W("corpus/trunc.jsonl.gz"), "--out", "scan-tr", "--no-lid", "-q"])
    s.run("corpora", "pii (fixture)", ["data", "pii", W("corpus/good.jsonl"), "--out", "pii-out", "-q"], expect="ok")
    s.run("corpora", "pii re-run into existing --out", ["data", "pii", W("corpus/good.jsonl"), "--out", "pii-out", "-q"],
          protect=[W("pii-out")])
    s.run("corpora", "pii failing re-run (--overwrite, bad input)", ["data", "pii", W("corpus/random.zst"), "--out", "pii-out",
                                                                     "-q", "--overwrite"], protect=[W("pii-out")])
    s.run("corpora", "filter own output into same folder", ["data", "filter", W("pii-out/anonymized.jsonl"), "--out", "pii-out",
                                                            "-q", "--overwrite"], protect=[W("pii-out/anonymized.jsonl")])
    s.run("corpora", "dedup (fixture)", ["data", "dedup", W("corpus/good.jsonl"), "--out", "dd-out", "-q"], expect="ok")
    s.run("corpora", "dedup its own kept.jsonl in place", ["data", "dedup", W("dd-out/kept.jsonl"), "--out", "dd-out", "-q",
                                                           "--overwrite"], protect=[W("dd-out/kept.jsonl")])

    # 7. filter recipes
    for name, text in [("threshold 1e999", '{"name": "x", "rules": [{"name": "r", "signal": "chars", "min": 1e999}]}'),
                       ("rules not array", '{"name": "x", "rules": 5}'), ("empty file", ""),
                       ("deep", "{\"rules\":" + "[" * 100000)]:
        p = write(W("filters", name.replace(" ", "_") + ".json"), text)
        s.run("filter recipes", name, ["data", "filter", W("corpus/good.jsonl"), "--recipe", p, "--out", W("f-" + name.replace(" ", "_")), "-q"])
    p = write(W("filters/keep-nothing.json"), json.dumps({"name": "strict", "rules": [
        {"name": "too-strict", "signal": "chars", "min": 10**9}]}))
    r = s.run("filter recipes", "keeps nothing (must say so)", ["data", "filter", W("corpus/good.jsonl"), "--recipe", p, "--out", "f-none", "-q"],
              expect="any")
    if r and r[0] == 0 and "removed every" not in r[2]:
        s.results[-1] = ("filter recipes", "keeps nothing (must say so)", "garbage0", "no warning that every document was removed")

    # 8. preference JSONL
    s.run("preference JSONL", "deeply nested line", ["prefs", "import", write(W("prefs/deep.jsonl"), '{"prompt": ' + "[" * 70000 + "]" * 70000 + "}\n"),
                                                     "--workspace", W("ws"), "--strict"])
    s.run("preference JSONL", "wrong types", ["prefs", "import", write(W("prefs/types.jsonl"), '{"prompt": 5, "chosen": [1], "rejected": {}}\n'),
                                              "--workspace", W("ws"), "--strict"])
    s.run("preference JSONL", "1e999", ["prefs", "import", write(W("prefs/num.jsonl"), '{"prompt": "a", "chosen": "b", "rejected": "c", "score": 1e999}\n'),
                                        "--workspace", W("ws"), "--strict"])
    s.run("preference JSONL", "/dev/zero", ["prefs", "import", "/dev/zero", "--workspace", W("ws")], timeout=20)

    # 9. eval tasks
    task = write(W("tasks/mc.jsonl"), "\n".join(json.dumps({"question": f"q{i}?", "choices": ["a", "b"], "answer": 0}) for i in range(3)) + "\n")
    before = task.read_bytes()
    s.run("eval tasks", "--output is the task file", ["eval", "mc", "--model", W("model"), "--task", task, "--output", task], protect=[task])
    write(W("tasks/spec.json"), '{"name": "t", "data": "mc.jsonl", "num_fewshot": 1e999}')
    s.run("eval tasks", "task spec 1e999", ["eval", "mc", "--model", W("model"), "--task", W("tasks/spec.json")])
    write(W("tasks/deep.json"), "[" * 100000)
    s.run("eval tasks", "task spec deep", ["eval", "mc", "--model", W("model"), "--task", W("tasks/deep.json")])
    write(W("results.json"), "{}")
    s.run("eval tasks", "--output exists", ["eval", "mc", "--model", W("model"), "--task", task, "--output", W("results.json")],
          protect=[W("results.json")])

    # 10. chat stdin
    if not a.quick:
        s.run("chat stdin", "binary garbage on stdin", ["chat", "--model", W("model"), "--max-new-tokens", "2"], stdin=os.urandom(2000), expect="any", timeout=120)
        s.run("chat stdin", "invalid UTF-8 line", ["chat", "--model", W("model"), "--max-new-tokens", "2"], stdin=b"\xff\xfe\n", expect="any", timeout=120)

    # 11. workspace database
    for name, mutate in [("0-byte", lambda p: p.write_bytes(b"")),
                         ("random bytes", lambda p: p.write_bytes(os.urandom(8192))),
                         ("table dropped", None)]:
        d = W("ws-" + name.replace(" ", "-"))
        shutil.copytree(W("ws"), d)
        db = d / "workspace.db"
        if mutate:
            mutate(db)
        else:
            import sqlite3
            con = sqlite3.connect(db); con.execute("PRAGMA foreign_keys=OFF"); con.execute("DROP TABLE judgements"); con.commit(); con.close()
        s.run("workspace database", f"{name}: workspace info", ["workspace", "info", d], protect=[db])
        s.run("workspace database", f"{name}: workspace check", ["workspace", "check", d], protect=[db])

    # 12. permissions
    if os.geteuid() != 0:
        p = write(W("perm/config.json"), json.dumps(cfg)); p.chmod(0)
        s.run("permissions", "unreadable recipe", ["train", "--recipe", p])
    d = W("perm-dir"); d.mkdir(exist_ok=True)
    s.run("permissions", "--out is a file", ["data", "scan", W("corpus/good.jsonl"), "--out", W("corpus/good.jsonl"), "--no-lid", "-q"],
          protect=[W("corpus/good.jsonl")])
    s.run("permissions", "model init over an existing model", ["model", "init", "--preset", "tiny", "--out", W("model")],
          protect=[W("model/model.safetensors")])

    # 13. special files
    fifo = W("fifo.jsonl")
    if not fifo.exists():
        os.mkfifo(fifo)
    s.run("special files", "FIFO as a corpus (SIGTERM after 1 s)", ["data", "scan", fifo, "--out", "scan-fifo", "--no-lid", "-q"], signal_after=1.0)
    s.run("special files", "/dev/zero as a corpus (SIGTERM after 1 s)", ["data", "scan", "/dev/zero", "--out", "scan-zero", "--no-lid", "-q"],
          signal_after=1.0)
    s.run("special files", "/dev/zero as config", ["model", "info", "/dev/zero"], timeout=20)
    s.run("special files", "FIFO as tokenizer", ["tokenize", "--tokenizer", fifo], stdin="a\n", timeout=10)
    s.run("special files", "directory as task", ["eval", "mc", "--model", W("model"), "--task", W("tasks")])

    # ---- report ---------------------------------------------------------------------------
    counts = {}
    for kind, name, cls, detail in s.results:
        counts[cls] = counts.get(cls, 0) + 1
        if cls != "clean":
            print(f"{cls:10} [{kind}] {name}: {detail}")
    kinds = sorted({k for k, *_ in s.results})
    print(f"\n{len(s.results)} runs over {len(kinds)} kinds of input")
    for cls in ["clean", "crash", "hang", "garbage0", "dataloss", "unexpected-error"]:
        print(f"  {cls:17} {counts.get(cls, 0)}")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r[2] == "clean" for r in s.results) else 1


if __name__ == "__main__":
    sys.exit(main())
