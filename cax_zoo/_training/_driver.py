"""The recipe driver: what every recipe does around its training step, written once.

A recipe builds its model, optimiser state and data, then::

    begin(run)                                   # checks, lock, resume config (before any work)
    ...                                          # build trees = {"model": ..., "opt_state": ...}
    trained = drive(run, trees, one_step, num_steps=cfg["steps"],
                    checkpoint_every=cfg["checkpoint_every"], desc="name",
                    mesh=mesh, shard=("pool",),     # data parallel (mesh None: one device)
                    meta={"seed": cfg["seed"], "key_data": key_data(key)})
    if not trained.completed:
        return 0                                 # stopped early: resume later
    ...                                          # evaluate trained.model, write the card
    finish(run, model, card=card, metrics=metrics)

``drive`` resumes from the checkpoint in ``--out`` (checked: sha256, step within the run,
meta well typed), places the trees on a mesh (replicated, the ``shard`` ones split along
their leading axis), runs the loop with periodic checkpoints, and
reports the loss history and wall time; ``finish`` releases into ``--out`` (never over
another release without ``--overwrite``) and pushes to the Hub if asked.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jax.sharding import Mesh

from .._errors import WeightsError
from ._checkpoint import load_checkpoint
from ._data_parallel import replicate, shard_leading, to_host_default
from ._loop import StepFn, train_loop
from ._recipe_cli import RecipeRun
from ._release import release_run


@dataclasses.dataclass
class Trained:
    """What :func:`drive` hands back."""

    trees: dict[str, Any]  # as the loop left them (on the mesh when data parallel)
    model: Any  # trees["model"] on the default device (None when there is no "model" tree)
    history: list  # [[step, loss], ...] over the whole run, resumed parts included
    completed: bool  # False when --stop-after stopped the run early
    start_step: int  # the step the run (re)started from
    steps_done: int  # steps trained in total
    train_seconds: float  # wall time over the whole run, resumed parts included

    def final_loss(self, last: int = 50) -> float | None:
        """Mean of the last ``last`` logged losses (None before any): a card's ``final_train_loss``."""
        tail = [loss for _, loss in self.history[-last:]]
        return float(sum(tail) / len(tail)) if tail else None


def drive(
    run: RecipeRun,
    trees: dict[str, Any],
    step_fn: StepFn,
    *,
    num_steps: int,
    checkpoint_every: int,
    desc: str,
    meta: Mapping[str, Any] | None = None,
    place: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    mesh: Mesh | None = None,
    shard: tuple[str, ...] = (),
    log_every: int = 1,
) -> Trained:
    """Resume, place, loop, checkpoint: run ``step_fn(trees, step) -> (trees, loss)`` for
    the steps of ``run`` that are not done yet.

    ``trees`` are the fresh trees (the skeletons a checkpoint is read into on ``--resume``);
    ``mesh`` (data parallel; None: one device) gets the trees replicated after resuming,
    except those named in ``shard`` (sample pools), split along their leading axis;
    ``place`` moves them instead when a recipe needs another placement;
    ``meta`` is stored in every checkpoint beside the config, command, loss history and
    training time.
    """
    start, history, elapsed = 0, [], 0.0
    if run.resume:
        trees, start, saved = load_checkpoint(run.checkpoint_dir, trees)
        if start > num_steps:
            raise WeightsError(f"the checkpoint in {run.checkpoint_dir} is at step {start}, beyond this "
                               f"run's {num_steps} steps")
        history = list(saved.get("history", []))
        elapsed = float(saved.get("train_seconds", 0.0))
        if isinstance(saved.get("command"), str):  # the card names the command that began the run,
            run.command = _uninterrupted(saved["command"])  # as if never stopped: resuming is exact
        print(f"resumed from step {start} of {num_steps}")
    if mesh is not None and place is None:
        trees = {k: shard_leading(v, mesh) if k in shard else replicate(v, mesh) for k, v in trees.items()}
        print(f"data parallel over {mesh.size} devices: {mesh.devices.ravel().tolist()}")
    elif place is not None:
        trees = place(trees)
    t0 = time.time()
    extra = dict(meta or {})

    def meta_fn(done: int, hist: list) -> dict[str, Any]:
        return {"config": run.config, "command": run.command, "history": hist,
                "train_seconds": elapsed + time.time() - t0, **extra}

    trees, history, completed = train_loop(
        step_fn, trees, start_step=start, num_steps=num_steps, checkpoint_dir=run.checkpoint_dir,
        checkpoint_every=checkpoint_every, meta=meta_fn, history=history, stop_after=run.stop_after,
        progress=run.progress, desc=desc, log_every=log_every, finish_now=run.finish_now)
    if not completed:
        print(f"stopped after step {run.stop_after}; continue with --resume")
    steps_done = start if run.finish_now else (num_steps if completed else min(num_steps, run.stop_after or 0))
    train_seconds = round(elapsed + time.time() - t0, 1)
    model = trees.get("model")
    if completed and mesh is not None and model is not None:
        model = to_host_default(model)
    return Trained(trees=trees, model=model, history=history, completed=completed, start_step=start,
                   steps_done=steps_done, train_seconds=train_seconds)


def _uninterrupted(command: str) -> str:
    """``command`` without ``--stop-after N``: what trains the same run in one go."""
    import shlex

    words = shlex.split(command)
    kept = [w for i, w in enumerate(words)
            if not (w == "--stop-after" or w.startswith("--stop-after=") or (i and words[i - 1] == "--stop-after"))]
    return " ".join(shlex.quote(w) for w in kept)


def finish(run: RecipeRun, model: Any, *, card: str, metrics: Mapping[str, Any], name: str | None = None,
           files: Mapping[str, bytes] | None = None, history: list | None = None,
           run_args: list[str] | None = None) -> Path:
    """Release ``model`` as ``name`` (default ``run.name``) into ``--out``, with its card,
    metrics, media (``training.png`` from ``history``, the loss history of
    :class:`Trained`; ``preview.gif`` made as ``cax-zoo run NAME *run_args`` makes it) and
    extra ``files``; push it if ``--push-to-hub`` was given. The run's ``--notes`` end the
    card's Notes section (once: a Notes section that quotes them already is left as it is)."""
    from ._card import with_notes

    card = with_notes(card, getattr(run.options, "notes", None))
    return release_run(model, name or run.name, root=run.out, card=card, metrics=metrics,
                       push_to_hub=run.push_to_hub, overwrite=run.overwrite, files=files,
                       history=history, run_args=run_args)
