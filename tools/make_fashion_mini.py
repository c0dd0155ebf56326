"""Build the embedded Fashion-MNIST-mini dataset (bnnlab/data/_embedded/).

A stratified subsample of the official Fashion-MNIST files: ``--train-per-class`` images of every
class from the official training file and ``--test-per-class`` from the official test file, drawn
without replacement by ``numpy.random.default_rng(--seed)`` (classes in order 0..9, training file
first; indices kept in increasing order). Writes, atomically:

- ``fashion-mnist-mini.npz`` (``numpy.savez_compressed``: x_train, y_train, train_index, x_test,
  y_test, test_index; images uint8 (N, 28, 28), labels uint8, indices int32 into the official files),
- ``fashion-mnist-mini.json`` (machine-readable provenance, array SHA-256 checked on load),
- ``PROVENANCE.md`` (the same for people, with the MIT licence of the data).

Usage::

    python tools/make_fashion_mini.py [--root DIR] [--seed 20171128]

The output is a deterministic function of the source files and the seed (the array hashes, not the
zip container bytes, which carry timestamps).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bnnlab._io import atomic_path, atomic_write_json, atomic_write_text
from bnnlab.data import _fashion, _mini, load

OUT = Path(__file__).resolve().parents[1] / "bnnlab" / "data" / _mini.EMBEDDED
SEED = 20171128

MIT = """\
The MIT License (MIT) Copyright © [2017] Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the “Software”), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def stratified(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` samples of every class, without replacement, sorted."""
    picks = [
        rng.choice(np.flatnonzero(labels == c), size=per_class, replace=False)
        for c in range(int(labels.max()) + 1)
    ]
    return np.sort(np.concatenate(picks)).astype(np.int32)


def build(root: str | None, seed: int, train_per_class: int, test_per_class: int) -> dict:
    rng = np.random.default_rng(seed)
    spec = _fashion.FASHION_MNIST
    arrays: dict[str, np.ndarray] = {}
    sources = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        images, labels = load("fashion-mnist", split, root=root)
        index = stratified(labels, per_class, rng)
        arrays[f"x_{split}"] = images[index]
        arrays[f"y_{split}"] = labels[index].astype(np.uint8)
        arrays[f"{split}_index"] = index
        for f in spec.splits[split]:
            sources[f.name] = {
                "sha256_decompressed": f.sha256,
                "sha256_gz_official": f.download_sha256,
            }
    arrays = {k: arrays[k] for k in _mini.ARRAYS}
    with atomic_path(OUT / _mini.NPZ_NAME) as tmp:
        np.savez_compressed(tmp, **arrays)
    manifest = {
        "name": "fashion-mnist-mini",
        "description": (
            f"Stratified subsample of Fashion-MNIST: {train_per_class} images per class from the "
            f"official training file, {test_per_class} per class from the official test file"
        ),
        "source": "https://github.com/zalandoresearch/fashion-mnist",
        "source_files": sources,
        "selection": {
            "script": "tools/make_fashion_mini.py",
            "seed": seed,
            "rule": (
                "rng = numpy.random.default_rng(seed); for split in (train, test), for class c in "
                "0..9: rng.choice(indices of class c, per_class, replace=False); indices sorted"
            ),
            "train_per_class": train_per_class,
            "test_per_class": test_per_class,
        },
        "arrays": {
            k: {"dtype": v.dtype.str, "shape": list(v.shape), "sha256": _mini.array_digest(v)}
            for k, v in arrays.items()
        },
        "licence": "MIT, Copyright (c) 2017 Zalando SE (Zalando Research); see PROVENANCE.md",
    }
    atomic_write_json(OUT / _mini.MANIFEST_NAME, manifest)
    atomic_write_text(OUT / "PROVENANCE.md", provenance_text(manifest))
    return manifest


def provenance_text(manifest: dict) -> str:
    sel = manifest["selection"]
    files = "\n".join(
        f"| {name} | {h['sha256_decompressed']} | {h['sha256_gz_official']} |"
        for name, h in manifest["source_files"].items()
    )
    arrays = "\n".join(
        f"| {k} | {np.dtype(v['dtype']).name} | {tuple(v['shape'])} | {v['sha256']} |"
        for k, v in manifest["arrays"].items()
    )
    return f"""# Fashion-MNIST-mini: provenance

`fashion-mnist-mini.npz` is a subset of **Fashion-MNIST** (H. Xiao, K. Rasul, R. Vollgraf,
"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
arXiv:1708.07747, 2017; {manifest["source"]}), redistributed under its MIT licence (below).

{manifest["description"]}.

## Source files

Identified by the SHA-256 of their decompressed bytes (the official `.gz` SHA-256 for reference):

| file | SHA-256 (decompressed) | SHA-256 (official .gz) |
|---|---|---|
{files}

## Selection

- script: `{sel["script"]}` (in the bnnlab repository), seed `{sel["seed"]}`
- rule: {sel["rule"]}
- `train_index` / `test_index` are the row numbers in the official training / test files.

## Arrays (SHA-256 of dtype, shape and C-order bytes; checked on every load)

| array | dtype | shape | SHA-256 |
|---|---|---|---|
{arrays}

## Licence

{MIT}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=None, help="directory with the official files")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    args = parser.parse_args()
    manifest = build(args.root, args.seed, args.train_per_class, args.test_per_class)
    size = (OUT / _mini.NPZ_NAME).stat().st_size
    print(json.dumps(manifest["arrays"], indent=1))
    print(f"wrote {OUT / _mini.NPZ_NAME} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
