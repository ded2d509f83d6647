#!/usr/bin/env python3
"""Writes the benchmark's data: a training checkpoint in two versions, and many small files.

  gen_ckpt.py OUT [--mib 1024] [--seed 1] [--small-files 10000] [--small-bytes 100]

OUT/v1, OUT/v2: 12 safetensors shards, 4 per kind of tensor, each kind a transformer of 50
float32 tensors (an embedding, 8 layers of qkv/o/up/down/ln1/ln2, a final norm):
  model-0000k-of-00004.safetensors       weights              N(0, 0.02); norms 1 + N(0, 0.01)
  exp_avg-0000k-of-00004.safetensors     Adam first moments   N(0, 1e-4)
  exp_avg_sq-0000k-of-00004.safetensors  Adam second moments  log-normal, median 1e-8, sigma 1.5
v2 is v1 after a fine-tuning step that trains only the last layer and the final norm: those
7 of 50 tensors per kind (about 11 % of the bytes) change in every element, every other
tensor is byte-identical at the same offset. --mib 1024 (the default) is hidden size 1024:
1.07 GB per version; other sizes scale the hidden size, keeping the shape and the share.
OUT/small: --small-files files of --small-bytes random bytes each (10,000 x 100 B).
Prints one JSON line with the byte counts. Needs numpy (Debian: python3-numpy).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

LAYERS = 8


def shape_for(mib):
    """Hidden, feed-forward and vocabulary sizes whose three kinds total about mib MiB."""
    h = max(64, int(round(1024 * math.sqrt(mib / 1024.0) / 64)) * 64)
    return h, int(round(h * 2.75 / 64)) * 64, int(round(h * 9.25 / 64)) * 64


def tensors(h, ff, vocab):
    """(name, shape, shard 0-3) of one kind, in file order."""
    out = [("embed.weight", (vocab, h), 0)]
    for i in range(LAYERS):
        p, s = "layers.%d." % i, min(i // 2, 3)
        out += [(p + "attn.qkv.weight", (3 * h, h), s), (p + "attn.o.weight", (h, h), s),
                (p + "mlp.up.weight", (ff, h), s), (p + "mlp.down.weight", (h, ff), s),
                (p + "ln1.weight", (h,), s), (p + "ln2.weight", (h,), s)]
    out.append(("final_norm.weight", (h,), 3))
    return out


def trained_in_v2(name):
    return name.startswith("layers.%d." % (LAYERS - 1)) or name.startswith("final_norm")


def values(kind, name, n, rng):
    f = np.float32
    if kind == "model":
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or "norm" in name:
            return f(1) + rng.standard_normal(n, dtype=f) * f(0.01)
        return rng.standard_normal(n, dtype=f) * f(0.02)
    if kind == "exp_avg":
        return rng.standard_normal(n, dtype=f) * f(1e-4)
    return np.exp(rng.standard_normal(n, dtype=f) * f(1.5) + f(math.log(1e-8))).astype(f)


def step(kind, a, rng):
    """One more optimizer step on a trained tensor: every element changes."""
    f = np.float32
    g = rng.standard_normal(a.size, dtype=f)
    if kind == "model":
        return (a + g * f(2e-4)).astype(f)
    if kind == "exp_avg":
        return (f(0.9) * a + f(0.1) * g * f(1e-3)).astype(f)
    return (f(0.999) * a + f(0.001) * (g * f(1e-4)) ** 2).astype(f)


def write_shard(path, named):
    """safetensors: u64 little-endian header length, JSON header (padded to 8), raw data."""
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, a in named:
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, a in named:
            f.write(a.astype("<f4", copy=False).tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--mib", type=float, default=1024, help="size of one version in MiB (about; default 1024)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--small-files", type=int, default=10000)
    ap.add_argument("--small-bytes", type=int, default=100)
    a = ap.parse_args()
    h, ff, vocab = shape_for(a.mib)
    for d in ("v1", "v2", "small"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    stats = {"hidden": h, "bytes": 0, "changed_bytes": 0, "tensors": 0, "changed_tensors": 0}
    specs = tensors(h, ff, vocab)
    for k, kind in enumerate(("model", "exp_avg", "exp_avg_sq")):
        rng = np.random.default_rng([a.seed, k])
        rng2 = np.random.default_rng([a.seed, k, 2])
        for shard in range(4):
            v1, v2 = [], []
            for name, shape, s in specs:
                if s != shard:
                    continue
                t = values(kind, name, int(np.prod(shape)), rng)
                v1.append((name, shape, t))
                stats["bytes"] += t.nbytes
                stats["tensors"] += 1
                if trained_in_v2(name):
                    v2.append((name, shape, step(kind, t, rng2)))
                    stats["changed_bytes"] += t.nbytes
                    stats["changed_tensors"] += 1
                else:
                    v2.append((name, shape, t))
            fn = "%s-%05d-of-00004.safetensors" % (kind, shard + 1)
            write_shard(os.path.join(a.out, "v1", fn), v1)
            write_shard(os.path.join(a.out, "v2", fn), v2)
    rnd = np.random.default_rng([a.seed, 99])
    width = len(str(max(a.small_files - 1, 0)))
    for i in range(a.small_files):
        with open(os.path.join(a.out, "small", "f%0*d.bin" % (width, i)), "wb") as f:
            f.write(rnd.bytes(a.small_bytes))
    stats["changed_bytes_pct"] = round(100.0 * stats["changed_bytes"] / stats["bytes"], 2)
    stats["small_files"] = a.small_files
    stats["small_bytes"] = a.small_bytes
    print(json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main())
