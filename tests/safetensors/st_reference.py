#!/usr/bin/python3
"""Independent safetensors reader/writer for the C++ tests, written from the format spec with
only json + struct + torch (the `safetensors` package is not in Debian).

  st_reference.py write FILE   write the known tensors below the way the reference writer does
  st_reference.py check FILE   parse FILE by hand, check the layout rules and compare values

Keep EXPECTED in step with expected_tensors() in test_safetensors.cpp.
"""
import json
import struct
import sys

import torch

# name -> tensor; values chosen to be exact in their dtype (bf16/f16 included).
EXPECTED = {
    "model.a.f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0,
    "model.b.bf16": torch.tensor([1.0, -2.5, 3.140625, -0.0, 65280.0], dtype=torch.bfloat16),
    "model.c.f16": torch.tensor([[0.5, -1.25], [1024.0, 6.103515625e-05]], dtype=torch.float16),
    "model.d.i64": torch.tensor([-1, 2 ** 40, 7], dtype=torch.int64),
    "model.e.i32": torch.tensor([[-2 ** 31, 2 ** 31 - 1]], dtype=torch.int32),
    "model.f.i16": torch.tensor([-300, 300], dtype=torch.int16),
    "model.g.i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
    "model.h.u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
    "model.i.bool": torch.tensor([True, False, True], dtype=torch.bool),
    "model.j.f64": torch.tensor([3.141592653589793, -1e300], dtype=torch.float64),
    "scalar": torch.tensor(42.0, dtype=torch.float32),
    "empty": torch.zeros(0, 4, dtype=torch.float32),
}
METADATA = {"format": "pt", "source": "st_reference.py"}

NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
         torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
         torch.uint8: "U8", torch.bool: "BOOL"}
DTYPES = {v: k for k, v in NAMES.items()}
# Position in the reference implementation's Dtype enum; the writer sorts by it, descending.
RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "F16": 7, "BF16": 8, "I32": 9, "F32": 11, "F64": 12, "I64": 13}
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "F16": 2, "BF16": 2, "I32": 4, "F32": 4, "F64": 8, "I64": 8}


def to_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.view(torch.int16)  # numpy has no bfloat16; the bytes are what matter
    return t.numpy().tobytes()


def from_bytes(raw, dtype_name, shape):
    dtype = DTYPES[dtype_name]
    if dtype in (torch.bfloat16, torch.float16):
        t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(dtype) if raw else torch.zeros(0, dtype=dtype)
    else:
        t = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
    return t.reshape(shape)


def write(path):
    order = sorted(EXPECTED, key=lambda n: (-RANK[NAMES[EXPECTED[n].dtype]], n))
    header, offset, blobs = {"__metadata__": METADATA}, 0, []
    for name in order:
        raw = to_bytes(EXPECTED[name])
        header[name] = {"dtype": NAMES[EXPECTED[name].dtype], "shape": list(EXPECTED[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check(path):
    errors = []
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    raw_header = data[8:8 + n]
    if n % 8 != 0:
        errors.append(f"header length {n} is not a multiple of 8")
    stripped = raw_header.rstrip(b" ")
    if len(raw_header) - len(stripped) >= 8:
        errors.append("more than 7 padding spaces")
    if not stripped.startswith(b'{"__metadata__":'):
        errors.append("__metadata__ is not the first key")
    header = json.loads(raw_header.decode("utf-8"))
    if header.pop("__metadata__", None) != METADATA:
        errors.append("metadata differs")
    names = list(header)
    want_order = sorted(names, key=lambda k: (-RANK[header[k]["dtype"]], k))
    if names != want_order:
        errors.append(f"tensor order {names} != reference order {want_order}")
    body, cursor = data[8 + n:], 0
    for name in names:
        info = header[name]
        b, e = info["data_offsets"]
        if b != cursor:
            errors.append(f"{name}: begins at {b}, expected {cursor}")
        cursor = e
        numel = 1
        for d in info["shape"]:
            numel *= d
        if e - b != numel * SIZE[info["dtype"]]:
            errors.append(f"{name}: byte span does not match shape/dtype")
            continue
        if name not in EXPECTED:
            errors.append(f"unexpected tensor {name}")
            continue
        want = EXPECTED[name]
        got = from_bytes(body[b:e], info["dtype"], info["shape"])
        if got.dtype != want.dtype or list(got.shape) != list(want.shape) or to_bytes(got) != to_bytes(want):
            errors.append(f"{name}: values differ: {got} vs {want}")
    if cursor != len(body):
        errors.append(f"data section {len(body)} bytes, tensors cover {cursor}")
    if set(names) != set(EXPECTED):
        errors.append(f"tensor names {sorted(names)} != {sorted(EXPECTED)}")
    for e in errors:
        print("MISMATCH:", e)
    print("checked", len(names), "tensors")
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
