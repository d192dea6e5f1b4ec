"""Release Lenia's registered creatures as offline folders (no training: Chan's catalogue,
his tutorial's Tessellatium, CAX's stored patterns).

    python -m recipes.lenia_creatures --out /tmp/w --only orbium --steps 200   # quick
    CAX_ZOO_DATA=/path/to/datasets python -m recipes.lenia_creatures --package-weights

For each ``lenia/<name>`` preset: build it from its source, run it on its default grid,
measure mass and speed, and release it (``model.safetensors`` holds the rule arrays and
the pattern, ``config.json`` only their shapes; ``README.md`` is the model card with the
measured facts; ``preview.gif`` shows it as ``cax-zoo run lenia/<name> *PREVIEWS[name]``
does), so that ``cax_zoo.load("lenia/<name>")`` works without the data
files. Writing into the package's own ``weights/`` takes the explicit ``--package-weights``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

import jax

import cax_zoo
from cax_zoo import lenia
from cax_zoo.training import release_run


LICENCES = {
    "tessellatium": "MIT (OpenLenia/Lenia-Tutorial, (c) 2021 Open Science Lenia); this folder only "
                    "repackages the pattern and rule.",
    **{name: "MIT (CAX, github.com/maxencefaldor/cax, (c) Maxence Faldor); this folder only repackages "
             "the pattern and rule." for name, spec in lenia.CREATURES.items() if "cax" in spec},
}
"""Per-creature licence lines (default: Chan's Lenia repository, where the catalogue lives)."""

NOTES = {
    "tessellatium": (
        "Behaviour: a self-replicator, not a soliton that keeps its mass. Our update is the "
        "notebook's line for line (`A <- clip(A + 1/T sum_k h_k G_k, 0, 1)` per target channel; "
        "a float64 numpy restatement of its cell agrees to 3e-4 over 100 steps on 128^2), and "
        "under it the seed divides: here it becomes two joined bodies (mass x2.3) that glide "
        "in a straight line, hence `survived: false` (mass not within 50 % of the seed's). In "
        "the notebook's own setting (64^2 world, pattern zoomed x0.9) the copies keep dividing "
        "until they fill the world; at x2 (R=24, 256^2) the mass reaches x10.6 in 600 steps; "
        "at x5 (R=60, 256^2, the notebook's four-panel cell) it divides once (x2.1 after 300 "
        "steps). No turning was seen at any of these scales."
    ),
    "cax_vt049w": (
        "Behaviour: CAX's VT049W is Tessellatium gyrans (the same 15 kernels and 18x24x3 cells as "
        "`lenia/tessellatium`, to float32 rounding) run at `state_scale` 2 as CAX's Lenia notebook "
        "runs it. Like `lenia/tessellatium` it is a self-replicator under this rule: its copies "
        "keep dividing and fill the 128^2 grid (mass x8.6 by step 1000), hence `survived: false`."
    ),
}
"""Per-creature notes for the model card (facts measured with this recipe's code)."""


PREVIEWS: dict[str, list[str]] = {
    **{name: ["--steps", "320", "--every", "20"]  # 17 frames over 32 time units
       for name in ("orbium", "orbium_bicaudatus", "scutium", "gyrorbium", "cax_orbium", "cax_gyrorbium")},
    "hydrogeminium": ["--steps", "160", "--every", "10"],
    "tessellatium": ["--steps", "160", "--every", "10"],
    "cax_vt049w": ["--steps", "64", "--every", "5"],  # the first division; 13 busy 3-channel frames
    "5n7kkm": ["--steps", "96", "--every", "6"],
    "5n7kkm_gyrating": ["--steps", "96", "--every", "6"],
    "5n7kkm_twin": ["--steps", "90", "--every", "9"],
    "life_glider": ["--size", "24", "--steps", "40", "--every", "2"],
    "diguttome": ["--steps", "400", "--every", "20"],
    "sphaerome": ["--steps", "400", "--every", "20"],  # a still sphere: its max projection never changes
}
"""The ``cax-zoo run`` arguments of each creature's ``preview.gif`` (after its name; on its
default grid unless ``--size`` says otherwise): it moving, in under 80 KB."""


def card(name: str, model: lenia.Lenia, creature, metrics: dict) -> str:
    ks = creature.kernels
    rule = {"R": creature.R, "T": creature.T, "state_scale": model.state_scale,
            "kernel_core": creature.kernel_core, "growth": creature.growth,
            "kernels": [{"b": list(k.b), "m": k.m, "s": k.s, "h": k.h, "r": k.r, "c0": k.c0, "c1": k.c1}
                        for k in ks]}
    lines = [
        f"# lenia/{name}: {creature.name}", "",
        f"{lenia.DESCRIPTIONS[name]}.", "",
        (f"- CAX pattern: `{creature.code}`, run with the settings of CAX's `examples/20_lenia.ipynb`"
         if "cax" in lenia.CREATURES[name] else
         f"- Catalogue code: `{creature.code}`" + (f" ({creature.cname})" if creature.cname else "")),
        f"- Source: {creature.source}",
        "- Licence: " + LICENCES.get(
            name, "MIT (Bert Chan's Lenia repository); this folder only repackages the pattern and rule."),
        f"- Pattern: {list(creature.cells.shape)} cells (*spatial, channels), values in [0, 1]",
        f"- Channels: {creature.num_channels}, kernels: {len(ks)}, dimensions: {creature.num_spatial_dims}",
        "", "## Rule", "", "```json",
        json.dumps({k: v for k, v in rule.items() if k != "kernels"})[:-1] + ', "kernels": [',
        ",\n".join("  " + json.dumps(k) for k in rule["kernels"]) + "]}", "```", "",
        "## Measured (cax_zoo, float32, "
        f"{jax.default_backend()} {platform.machine()})", "",
        "| quantity | value |", "|---|---|",
    ]
    lines += [f"| {k} | {json.dumps(v)} |" for k, v in metrics.items()]
    lines += ["", "Speed is the centre of mass displacement per unit time (T steps), in grid cells "
              "(a `state_scale` of 2 doubles a creature's size and speed in cells), measured on a "
              f"periodic grid with `cax-zoo eval lenia/{name}`."]
    if name in NOTES:
        lines += ["", NOTES[name]]
    lines += ["", "## Usage", "", "```python",
              "import cax_zoo", f'model = cax_zoo.load("lenia/{name}")',
              "final = model.rollout(model.init_state(), 1000)", "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", default=None, help="weights root to write the release folders into")
    where.add_argument("--package-weights", action="store_true",
                       help="write into the package's own weights/ (and its manifest)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing release folders")
    parser.add_argument("--only", nargs="*", default=None, help="creature names (default: all)")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    names = args.only or list(lenia.CREATURES)
    unknown = sorted(set(names) - set(lenia.CREATURES))
    if unknown:
        parser.error(f"unknown creature(s) {unknown}; known: {', '.join(lenia.CREATURES)}")
    for name in names:
        creature = lenia.creature(name)
        model = cax_zoo.create(f"lenia/{name}")
        metrics = lenia.evaluate_creature(model, steps=args.steps)
        folder = release_run(model, f"lenia/{name}", card=card(name, model, creature, metrics),
                             metrics=metrics, root=args.out, overwrite=args.overwrite,
                             run_args=PREVIEWS[name])
        print(f"lenia/{name}: {folder} {metrics}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
