"""One-off: rename the weight keys of the released neural CA for the shared NCA core
(``cax_zoo.nca``, issue 11) and record the new sha256s in ``weights/manifest.json``.

    python scripts/convert_weights_nca_core.py [NAME ...]   # default: all three

Old key -> new key (the arrays themselves are unchanged):

- growing_nca/lizard:  mlp.*             -> update.mlp.*
- mnist_self_classify: perceive_weight   -> perceive.weight, perceive_bias -> perceive.bias,
                       mlp.*             -> update.mlp.*
- arc1d_nca:           w1 -> perceive.weight, b1 -> perceive.bias,
                       w2 -> update.mlp.weights.0, b2 -> update.mlp.biases.0

A file already in the new layout is left alone. The converted file is checked by filling
the new model skeleton with it (every key, shape and dtype must match) before it is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax

import cax_zoo
from cax_zoo._weights import (
    CONFIG_FILE, WEIGHTS_FILE, fill_arrays, read_config, read_weights, record_in_manifest, save_weights,
)

ROOT = Path(__file__).resolve().parents[1] / "weights"


def _growing(key: str) -> str:
    return "update." + key if key.startswith("mlp.") else key


def _mnist(key: str) -> str:
    fixed = {"perceive_weight": "perceive.weight", "perceive_bias": "perceive.bias"}
    return fixed.get(key, "update." + key if key.startswith("mlp.") else key)


def _arc(key: str) -> str:
    return {"w1": "perceive.weight", "b1": "perceive.bias", "w2": "update.mlp.weights.0",
            "b2": "update.mlp.biases.0"}.get(key, key)


RENAMES = {"growing_nca/lizard": _growing, "mnist_self_classify": _mnist, "arc1d_nca": _arc}


def convert(name: str) -> bool:
    """Convert ``weights/<name>``; return whether the file changed."""
    folder = ROOT / name
    arrays = read_weights(folder / WEIGHTS_FILE)
    renamed = {RENAMES[name](k): v for k, v in arrays.items()}
    if renamed.keys() == arrays.keys():
        print(f"{name}: already converted")
        return False
    data = read_config(folder / CONFIG_FILE)
    skeleton = cax_zoo.create(data["family"], key=jax.random.PRNGKey(0), **data["config"])
    model = fill_arrays(skeleton, renamed, source=f"{name} (converted)")
    save_weights(model, folder / WEIGHTS_FILE)
    record_in_manifest(ROOT, name, folder)
    print(f"{name}: {sorted(arrays)} -> {sorted(renamed)}")
    return True


def main(argv: list[str]) -> int:
    for name in argv or list(RENAMES):
        convert(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
