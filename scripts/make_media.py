"""Every picture of the documentation, made with the project's own ``cax-zoo run`` commands
and its public Python API.

    python scripts/make_media.py OUT_DIR [--only NAME ...]

writes

- ``OUT_DIR/zoo/<slug>.gif``: one animation per registered model (the zoo gallery and the
  family pages), made by the ``cax-zoo run`` command in :data:`RUNS` (a model missing from
  it gets ``--steps 64 --seed 0``, so a new entry still has its picture);
- ``OUT_DIR/plots/*.png``: figures read better as pictures (MNIST accuracy against CA
  steps, 1D-ARC per task type beside GPT-4 and CAX, held-out 1D-ARC tasks solved, the
  lizard's grow / cut / regrow strip, Lenia creatures' mass and speed over time), from the
  released models and the metrics recorded in their ``config.json``.

The docs build runs this (``scripts/docs_hooks.py``, declared in ``mkdocs.yml``), so the
published pictures always come from the code being documented; nothing here is committed.
Needs ``CAX_ZOO_DATA`` (the 1D-ARC tasks, MNIST digits).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

# ``cax-zoo run`` arguments (after the name) of each model's picture; ``--out`` is added.
# Small grids and few frames keep every file small and the whole set under a minute or two.
RUNS: dict[str, list[str]] = {
    # a held-out task solved by the released model (input, prediction, expected)
    "arc1d_nca": ["--task", "$CAX_ZOO_DATA/1d-arc/1d_move_1p/1d_move_1p_21.json", "--seed", "0"],
    "boids": ["--steps", "192", "--every", "4", "--seed", "0"],
    "diffusing_nca/lizard": ["--steps", "64", "--damage-at", "32", "--every", "2", "--seed", "0"],
    "elementary": ["--rule", "110", "--size", "96", "--steps", "64", "--seed", "0"],
    "flow_lenia": ["--size", "64", "--steps", "240", "--every", "8", "--seed", "0"],
    "growing_nca/lizard": ["--steps", "160", "--damage-at", "80", "--every", "4", "--seed", "0"],
    "growing_nca/lizard_persistent": ["--steps", "240", "--every", "6", "--seed", "0"],
    "langton_ant": ["--size", "64", "--steps", "4000", "--every", "100"],
    "langton_ant/llrr": ["--size", "64", "--steps", "4000", "--every", "100"],
    "langton_ant/rlr": ["--size", "64", "--steps", "4000", "--every", "100"],
    "lenia": ["--size", "64", "--steps", "120", "--every", "3", "--seed", "0"],
    "lenia/diguttome": ["--steps", "80", "--every", "2"],
    "lenia/gyrorbium": ["--steps", "240", "--every", "6"],
    "lenia/hydrogeminium": ["--steps", "160", "--every", "4"],
    "lenia/life_glider": ["--size", "24", "--steps", "40", "--every", "1"],
    "lenia/orbium": ["--steps", "240", "--every", "6"],
    "lenia/orbium_bicaudatus": ["--steps", "240", "--every", "6"],
    "lenia/scutium": ["--steps", "240", "--every", "6"],
    "lenia/sphaerome": ["--steps", "80", "--every", "2"],
    "lenia/tessellatium": ["--steps", "120", "--every", "3"],
    "mnist_self_classify": ["--steps", "80", "--every", "2", "--seed", "3"],
    "particle_lenia": ["--steps", "400", "--every", "10", "--seed", "0"],
    "particle_life/cax": ["--steps", "12", "--seed", "0"],
    "particle_life": ["--steps", "240", "--every", "6", "--seed", "0"],
    "reaction_diffusion": ["--size", "80", "--steps", "6000", "--every", "200", "--seed", "0"],
    "reaction_diffusion/coral": ["--size", "80", "--steps", "6000", "--every", "200", "--seed", "0"],
    "reaction_diffusion/mitosis": ["--size", "80", "--steps", "6000", "--every", "200", "--seed", "0"],
    "reaction_diffusion/spots": ["--size", "80", "--steps", "6000", "--every", "200", "--seed", "0"],
    "sandpile": ["--size", "65", "--steps", "1200", "--every", "30"],
}
MAX_BYTES = 300_000  # per picture; the docs build fails above it
THUMB_SIDE, THUMB_FRAMES = 160, 32
LIFE_LIKE = ["--size", "64", "--steps", "96", "--every", "2", "--seed", "0"]
DEFAULT = ["--steps", "64", "--seed", "0"]
FLOW_LENIA = ["--size", "64", "--steps", "120", "--every", "4", "--seed", "0"]
LENIA_2D = ["orbium", "orbium_bicaudatus", "scutium", "gyrorbium", "hydrogeminium", "tessellatium"]


def pictured(name: str) -> bool:
    """Whether ``name`` gets a picture (:func:`cax_zoo.picture_source`): every classic
    model, and a learned one once it (or, for a family, one of its entries) has released
    weights; an untrained network draws nothing worth showing, so its family page says it
    has no weights yet."""
    import cax_zoo

    return cax_zoo.picture_source(name) is not None


def borrowed(name: str) -> bool:
    """Whether ``name``'s picture is another model's (a family shown by its released entry)."""
    import cax_zoo

    return cax_zoo.picture_source(name) not in (None, name)


def _source(name: str) -> str:
    import cax_zoo

    return cax_zoo.picture_source(name) or name


def setup_picture(name: str, out: Path) -> Path:
    """An unreleased learned model's starting state (what it is given, before any
    training) as ``out/zoo/<slug>-setup.png``: its family page shows the set-up, not an
    untrained network's output."""
    import jax

    import cax_zoo

    model = cax_zoo.create(name, key=jax.random.PRNGKey(0))
    path = Path(out) / "zoo" / f"{slug(name)}-setup.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    cax_zoo.write_png(path, model.render(model.init_state(key=jax.random.PRNGKey(0))))
    return path


def slug(name: str) -> str:
    """File name stem of a model's picture: ``lenia/orbium`` -> ``lenia-orbium``."""
    return name.replace("/", "-")


def run_args(name: str) -> list[str]:
    """The ``cax-zoo run`` arguments of ``name``'s picture (without ``--out``)."""
    name = _source(name)
    if name in RUNS:
        return RUNS[name]
    if name == "life" or name.startswith("life/"):
        return LIFE_LIKE
    return FLOW_LENIA if name.startswith("flow_lenia/") else DEFAULT


def command(name: str) -> str:
    """The shell command that makes ``name``'s picture, as the docs quote it."""
    name = _source(name)
    return " ".join(["cax-zoo", "run", name, *run_args(name), "--out", f"{slug(name)}.gif"])


def _cax_zoo_command():
    """The ``cax-zoo`` console script's function (the installed entry point, run in-process)."""
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "cax-zoo"]
    return ep.load()


def thumbnail(path: Path, *, side: int = THUMB_SIDE, max_frames: int = THUMB_FRAMES) -> None:
    """Shrink the GIF at ``path`` in place: at most ``max_frames`` evenly spaced frames (the
    same total duration), reduced by a whole factor to about ``side`` pixels, on one shared
    palette of 64 colours, so the gallery stays light."""
    from PIL import Image

    with Image.open(path) as im:
        n = getattr(im, "n_frames", 1)
        duration = im.info.get("duration", 50)
        factor = max(1, -(-max(im.size) // side))
        keep = sorted({round(i * (n - 1) / max(1, max_frames - 1)) for i in range(min(n, max_frames))})
        frames = []
        for i in keep:
            im.seek(i)
            frames.append(im.convert("RGB").reduce(factor))
    w, h = frames[0].size
    sample = frames[:: max(1, len(frames) // 8)]
    mosaic = Image.new("RGB", (w, h * len(sample)))
    for j, frame in enumerate(sample):
        mosaic.paste(frame, (0, j * h))
    palette = mosaic.quantize(64, method=Image.Quantize.MEDIANCUT)
    small = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    step_ms = max(20, int(duration * n / len(small)))
    small[0].save(path, save_all=True, append_images=small[1:], duration=step_ms, loop=0, optimize=False)


def _run_pictures(out: str, names: list[str]) -> tuple[dict[str, float], list[str]]:
    """``cax-zoo run`` each name into ``out/zoo/`` (in a worker process)."""
    cax_zoo_cli = _cax_zoo_command()
    seconds, errors = {}, []
    for name in names:
        t0 = time.perf_counter()
        path = Path(out) / "zoo" / f"{slug(name)}.gif"
        argv = ["run", name, *map(os.path.expandvars, run_args(name)), "--no-progress", "--out", str(path)]
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = cax_zoo_cli(argv)
            except Exception as e:  # noqa: BLE001 - reported with the others
                code, err = 1, io.StringIO(f"{type(e).__name__}: {e}")
        if code != 0:
            errors.append(f"`{command(name)}` failed ({err.getvalue().strip().splitlines()[-1:]})")
        else:
            thumbnail(path)
            if path.stat().st_size > MAX_BYTES:
                errors.append(f"`{command(name)}` made a {path.stat().st_size:,}-byte picture (more "
                              f"than {MAX_BYTES:,}): use fewer frames (--every) or a smaller grid")
        seconds[name] = time.perf_counter() - t0
    return seconds, errors


def _importable_by_workers() -> bool:
    """Whether spawned worker processes can import this module to run :func:`_run_pictures`."""
    if __name__ == "__main__":
        return True
    try:
        return importlib.util.find_spec(__name__) is not None
    except (ImportError, ValueError):
        return False


def zoo_pictures(out: Path, names: list[str], errors: list[str], workers: int = 2,
                 meanwhile=None) -> dict[str, float]:
    """Run ``cax-zoo run`` for each name, ``workers`` processes at a time (calling
    ``meanwhile()`` in this process while they work); returns the seconds each took and
    appends what failed to ``errors``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    (out / "zoo").mkdir(parents=True, exist_ok=True)
    own = [n for n in names if not borrowed(n)]
    seconds: dict[str, float] = {}
    if workers > 1 and len(own) > 1 and _importable_by_workers():
        chunks = [own[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_pictures, str(out), chunk) for chunk in chunks]
            if meanwhile is not None:
                meanwhile()
            parts = [f.result() for f in futures]
    else:  # loaded from a path that worker processes could not import: one process
        if meanwhile is not None:
            meanwhile()
        parts = [_run_pictures(str(out), own)]
    for part_seconds, part_errors in parts:
        seconds.update(part_seconds)
        errors += part_errors
    for name in names:
        if borrowed(name):
            source = out / "zoo" / f"{slug(_source(name))}.gif"
            if not source.is_file():
                _run_pictures(str(out), [_source(name)])
            (out / "zoo" / f"{slug(name)}.gif").write_bytes(source.read_bytes())
    return seconds


# ---------------------------------------------------------------- plots (matplotlib)

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _release_metrics(name: str) -> dict:
    import cax_zoo

    return json.loads((cax_zoo.weights_root() / name / "config.json").read_text())["metrics"]


def mnist_accuracy_plot(path: Path) -> None:
    """Test-set accuracy (majority vote) and pixel agreement against CA steps, from the
    metrics that ``cax-zoo eval mnist_self_classify`` recorded in the release."""
    plt = _pyplot()
    m = _release_metrics("mnist_self_classify")
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for key, label in (("accuracy_by_step", "accuracy (majority vote)"),
                       ("pixel_accuracy_by_step", "pixel agreement (live pixels voting right)")):
        steps = sorted(int(s) for s in m[key])
        ax.plot(steps, [100 * m[key][str(s)] for s in steps], "o-", label=label)
    ax.set_xscale("log")
    ticks = sorted(int(s) for s in m["accuracy_by_step"])
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("CA steps")
    ax.set_ylabel(f"% of {m['num_images']:,} test digits")
    ax.set_title("mnist_self_classify on the MNIST test set")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# The Distill article's published figures (Randazzo et al. 2020, final model: L2 loss and
# residual noise; per-cell accuracy at its best step and at 200, total agreement at 200;
# the cross-entropy model's per-cell peak), in % of the MNIST test set.
DISTILL_MNIST = {"per-cell": {65: 95.4, 200: 95.3}, "agreement": {200: 88.1}, "cross-entropy peak": 96.2}


def mnist_distill_plot(path: Path) -> None:
    """Per-cell accuracy and total agreement against CA steps, as the Distill article
    measures them, from the metrics that ``cax-zoo eval mnist_self_classify`` recorded in
    the release, beside the article's published figures (left: every step; right: from
    step 50, magnified)."""
    plt = _pyplot()
    m = _release_metrics("mnist_self_classify")
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), dpi=100, gridspec_kw={"width_ratios": [2, 3]})
    for i, ax in enumerate(axes):
        shown = []
        for key, label, colour in (("pixel_accuracy_by_step", "per-cell accuracy", "C0"),
                                   ("agreement_by_step", "total agreement (every live cell right)", "C1")):
            steps = [s for s in sorted(int(s) for s in m[key]) if i == 0 or s >= 50]
            values = [100 * m[key][str(s)] for s in steps]
            shown += values
            ax.plot(steps, values, "o-", color=colour, label=f"this release: {label}")
        for key, colour in (("per-cell", "C0"), ("agreement", "C1")):
            ref = DISTILL_MNIST[key]
            shown += list(ref.values())
            ax.plot(list(ref), list(ref.values()), "*", ms=11, color=colour, markeredgecolor="black",
                    label=f"Distill article: {key}" + "".join(f", {v}% @{s}" for s, v in ref.items()))
        ax.axhline(DISTILL_MNIST["cross-entropy peak"], color="grey", ls=":",
                   label=f"Distill cross-entropy model, per-cell peak {DISTILL_MNIST['cross-entropy peak']}%")
        if i == 1:
            ax.set_ylim(min(shown) - 1, DISTILL_MNIST["cross-entropy peak"] + 1)
        ticks = [s for s in sorted(int(s) for s in m["pixel_accuracy_by_step"]) if i == 0 or s >= 50]
        ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=8)
        ax.set_xlabel("CA steps")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"% (MNIST test set, {m['num_images']:,} digits)")
    axes[1].set_title("from step 50", fontsize=9)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle("mnist_self_classify, measured as the Distill article measures it", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _arc1d_baselines():
    try:
        from cax_zoo.arc1d import CAX_NCA_PER_TYPE, GPT4_PER_TYPE  # the public module, once it exists
    except ImportError:
        from cax_zoo._data._arc1d_baselines import CAX_NCA_PER_TYPE, GPT4_PER_TYPE
    return GPT4_PER_TYPE, CAX_NCA_PER_TYPE


def arc1d_bars(path: Path) -> None:
    """Exact-match accuracy per 1D-ARC task type: the released model on held-out instances
    beside GPT-4 and CAX's NCA (as printed in CAX's Table 2)."""
    plt = _pyplot()
    m = _release_metrics("arc1d_nca")
    ours = m["heldout_per_task_type"]
    gpt4, cax = _arc1d_baselines()
    types = sorted(ours)
    x = np.arange(len(types))
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    w = 0.27
    ax.bar(x - w, [gpt4.get(t) or 0 for t in types], w, label="GPT-4 (Xu et al., via CAX Table 2)", color="#bbbbbb")
    ax.bar(x, [cax.get(t) or 0 for t in types], w, label="CAX NCA (Table 2)", color="#7aa6d6")
    ax.bar(x + w, [100 * ours[t] for t in types], w,
           label=f"arc1d_nca, held-out {m['heldout_indices']} ({100 * m['heldout_overall']:.1f}% overall)",
           color="#d6604d")
    ax.set_xticks(x, [t.removeprefix("1d_") for t in types], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("exact match (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7, loc="lower left", ncol=3, bbox_to_anchor=(0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# the usual ARC colours, 0 (black) to 9
ARC_COLOURS = np.array([[0, 0, 0], [0, 116, 217], [255, 65, 54], [46, 204, 64], [255, 220, 0],
                        [170, 170, 170], [240, 18, 190], [255, 133, 27], [127, 219, 255], [135, 12, 37]],
                       np.uint8)
ARC_TASKS = ["1d_move_1p", "1d_fill", "1d_hollow", "1d_denoising_1c", "1d_pcopy_1c", "1d_recolor_cmp"]


def arc1d_tasks(path: Path, *, index: int = 21, ttt_steps: int = 40, votes: int = 2) -> None:
    """Held-out 1D-ARC tasks (instance ``index`` of six types) solved by the released model
    with a short test-time training: input, prediction and expected output of each."""
    import cax_zoo
    from cax_zoo import arc1d

    model = cax_zoo.load("arc1d_nca")
    tasks = arc1d.load_arc1d(task_types=ARC_TASKS, indices=[index])
    preds = arc1d.solve(model, tasks, ttt_steps=ttt_steps, restarts=1, votes=votes)
    plt = _pyplot()
    fig, axes = plt.subplots(len(tasks), 1, figsize=(6, 0.75 * len(tasks)), dpi=100)
    for ax, task, pred in zip(axes, tasks, preds):
        test_in, expected = task.test[0]
        width = max(len(test_in), len(pred[0]), len(expected))
        rows = np.zeros((3, width, 3), np.uint8) + 255
        for r, row in enumerate((test_in, pred[0], expected)):
            rows[r, : len(row)] = ARC_COLOURS[np.asarray(row)]
        ok = np.array_equal(pred[0], expected)
        ax.imshow(rows, interpolation="nearest", aspect="equal")
        ax.set_yticks([0, 1, 2], ["input", "prediction", "expected"], fontsize=6)
        ax.set_xticks([])
        ax.set_title(f"{task.name}: {'solved' if ok else 'wrong'}", fontsize=7, loc="left",
                     color="#1a7f37" if ok else "#cf222e")
    fig.tight_layout(pad=0.3)
    fig.savefig(path)
    plt.close(fig)


def lizard_strip(path: Path) -> None:
    """The released lizard growing from its seed, cut, and regrowing (one PNG strip)."""
    import jax
    import cax_zoo

    model = cax_zoo.load("growing_nca/lizard")
    key = jax.random.PRNGKey(0)
    k1, k2 = jax.random.split(key)
    state = model.init_state()
    grown, traj = model.rollout(state, 64, every=16, key=k1, trajectory=True)
    cut = model.damage_state(grown)
    _, regrow = model.rollout(cut, 64, every=16, key=k2, trajectory=True)
    frames = [traj[i] for i in range(len(traj))] + [cut] + [regrow[i] for i in range(1, len(regrow))]
    labels = [f"grow {16 * i}" for i in range(len(traj))] + ["cut"] + [f"regrow +{16 * i}" for i in range(1, len(regrow))]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(frames), figsize=(1.1 * len(frames), 1.45), dpi=100)
    for ax, frame, label in zip(axes, frames, labels):
        ax.imshow(np.asarray(model.render(frame)), interpolation="nearest")
        ax.set_title(label, fontsize=7)
        ax.axis("off")
    fig.tight_layout(pad=0.2)
    fig.savefig(path)
    plt.close(fig)


def _digit_rows(path: Path, rows: list[tuple[str, np.ndarray]]) -> None:
    """Grey digit images ``(N, S, S)`` in [0, 1], one labelled row each, as one PNG."""
    plt = _pyplot()
    n = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(0.8 * n, 0.9 * len(rows)), dpi=100, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(images):
                ax.imshow(np.clip(np.asarray(images[c]), 0, 1), cmap="gray_r", vmin=0, vmax=1,
                          interpolation="nearest")
        axes[r, 0].set_title(label, fontsize=7, loc="left")
    fig.tight_layout(pad=0.2)
    fig.savefig(path)
    plt.close(fig)


def unsupervised_samples(path: Path, n: int = 10) -> None:
    """The released unsupervised NCA: test digits, their reconstructions (encoded, grown
    from the seed), and digits grown from latents drawn from the prior."""
    import jax

    import cax_zoo
    from cax_zoo.mnist import load_mnist

    model = cax_zoo.load("unsupervised_nca/mnist")
    images, _ = load_mnist("test")
    digits = images[:n]
    rec = model.reconstruct(digits, key=jax.random.PRNGKey(1))
    prior = model.sample(jax.random.PRNGKey(2), n)
    _digit_rows(path, [("test digits", digits / 255.0), ("grown from their codes", rec),
                       ("grown from codes drawn from the prior", prior)])


def attention_inpainting(path: Path, n: int = 10) -> None:
    """The released attention NCA: test digits, with half their pixels hidden, and inpainted."""
    import jax

    import cax_zoo
    from cax_zoo.mnist import load_mnist

    model = cax_zoo.load("attention_nca/mnist_inpaint")
    images, _ = load_mnist("test")
    state = model.initial_state(images[:n], key=jax.random.PRNGKey(3))
    final = model.rollout(state, model.steps, key=jax.random.PRNGKey(4))
    _digit_rows(path, [("test digits", images[:n] / 255.0), ("half the pixels hidden", model.reconstruction(state)),
                       (f"inpainted in {model.steps} steps", model.reconstruction(final))])


def conditional_interpolation(path: Path, pairs: tuple[tuple[str, str], ...] = (("dog", "panda"), ("cat", "fox")),
                              alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> None:
    """The released conditional NCA grown from its seed under mixed labels
    ``(1 - alpha) label(a) + alpha label(b)``: CAX's latent interpolation, one row per pair."""
    import jax
    import jax.numpy as jnp

    import cax_zoo

    model = cax_zoo.load("conditional_nca/animals")
    plt = _pyplot()
    fig, axes = plt.subplots(len(pairs), len(alphas), figsize=(1.2 * len(alphas), 1.35 * len(pairs)), dpi=100,
                             squeeze=False)
    for r, (a, b) in enumerate(pairs):
        labels = jnp.stack([model.interpolate(a, b, alpha) for alpha in alphas])
        seeds = model.init_state(batch_size=len(alphas))
        final = model.rollout(seeds, model.steps, input=labels, key=jax.random.PRNGKey(r))
        for c, alpha in enumerate(alphas):
            ax = axes[r, c]
            ax.imshow(np.asarray(model.render(final[c])), interpolation="nearest")
            ax.set_title(f"{a} {1 - alpha:g} + {b} {alpha:g}" if 0 < alpha < 1 else (a if alpha == 0 else b),
                         fontsize=6)
            ax.axis("off")
    fig.tight_layout(pad=0.2)
    fig.savefig(path)
    plt.close(fig)


def lenia_mass_speed(path: Path, steps: int = 400, every: int = 8) -> None:
    """Mass (relative to the start) and centre-of-mass speed of the 2-D creatures."""
    import cax_zoo

    plt = _pyplot()
    fig, (ax_m, ax_s) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    for name in LENIA_2D:
        model = cax_zoo.load(f"lenia/{name}")
        _, traj = model.rollout(model.init_state(), steps, every=every, trajectory=True)
        facts = model.metrics(traj, every=every)
        mass, speed = np.asarray(facts["mass"]), np.asarray(facts["speed"])
        t = np.arange(len(mass)) * every
        ax_m.plot(t, mass / mass[0], label=name)
        ax_s.plot(t[-len(speed):], speed, label=f"{name} (T={float(model.T):g})")
    ax_m.set_xlabel("steps")
    ax_m.set_ylabel("mass / initial mass")
    ax_s.set_xlabel("steps")
    ax_s.set_ylabel("speed (cells per unit time)")
    for ax in (ax_m, ax_s):
        ax.grid(alpha=0.3)
    ax_s.legend(fontsize=7)
    fig.suptitle(f"Lenia creatures, {steps} steps on their default grids", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def training_curve(path: Path, steps: int = 150) -> None:
    """A real training run's loss curve, as a recipe's ``training.png``: ``cax-zoo train
    growing_nca/lizard --smoke`` for ``steps`` steps (seconds), then its history read back
    from ``checkpoints/checkpoint.json`` and drawn by ``cax_zoo.training.loss_curve_png``."""
    import tempfile

    from cax_zoo.training import loss_curve_png

    with tempfile.TemporaryDirectory() as run:
        argv = ["train", "growing_nca/lizard", "--smoke", "--config", f"steps={steps}", "--config",
                f"checkpoint_every={steps}", "--out", run, "--no-progress"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = _cax_zoo_command()(argv)
        if code != 0:
            raise RuntimeError(f"`cax-zoo {' '.join(argv)}` failed with exit status {code}")
        record = json.loads((Path(run) / "checkpoints" / "checkpoint.json").read_text())
    png = loss_curve_png(record["meta"]["history"],
                         title=f"growing_nca/lizard, --smoke config, {steps} steps")
    path.write_bytes(png)


PLOTS = {
    "mnist_accuracy.png": mnist_accuracy_plot,
    "mnist_distill.png": mnist_distill_plot,
    "arc1d_per_type.png": arc1d_bars,
    "arc1d_tasks.png": arc1d_tasks,
    "lizard_regrow.png": lizard_strip,
    "lenia_mass_speed.png": lenia_mass_speed,
    "training_curve.png": training_curve,
    "attention_inpainting.png": attention_inpainting,
    "conditional_interpolation.png": conditional_interpolation,
    "unsupervised_samples.png": unsupervised_samples,
}


def make_all(out: Path, only: list[str] | None = None, *, verbose: bool = True) -> dict[str, float]:
    """Every picture and plot into ``out``; returns the seconds each took."""
    import cax_zoo

    out = Path(out)
    names = [n for n in cax_zoo.list_models() if pictured(n)]
    todo_models = [n for n in names if not only or n in only]
    errors: list[str] = []
    plot_seconds: dict[str, float] = {}

    def plots() -> None:
        (out / "plots").mkdir(parents=True, exist_ok=True)
        for filename, make in PLOTS.items():
            if only and filename not in only:
                continue
            t0 = time.perf_counter()
            try:
                make(out / "plots" / filename)
            except Exception as e:  # noqa: BLE001 - reported below, with every other failure
                errors.append(f"plots/{filename}: {type(e).__name__}: {e}")
            plot_seconds[f"plots/{filename}"] = time.perf_counter() - t0

    seconds = zoo_pictures(out, todo_models, errors, meanwhile=plots)
    for name in cax_zoo.list_models():
        if not pictured(name) and (not only or name in only):
            t0 = time.perf_counter()
            try:
                setup_picture(name, out)
            except Exception as e:  # noqa: BLE001 - reported below, with every other failure
                errors.append(f"zoo/{slug(name)}-setup.png: {type(e).__name__}: {e}")
            seconds[f"{name} (set-up)"] = time.perf_counter() - t0
    seconds.update(plot_seconds)
    if verbose:
        for k, s in seconds.items():
            print(f"{s:6.1f} s  {k}", file=sys.stderr)
        print(f"{sum(seconds.values()):6.1f} s  in all", file=sys.stderr)
    if errors:
        raise RuntimeError("some pictures could not be made:\n" + "\n".join(errors))
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder to write zoo/ and plots/ into")
    p.add_argument("--only", nargs="*", default=None, help="model names or plot file names")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    make_all(args.out, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
