"""The training loop: jitted steps, a tqdm progress bar with the live loss, periodic
atomic checkpoints, and a clean stop (checkpoint first) on Ctrl-C or ``stop_after``."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ._checkpoint import save_checkpoint

StepFn = Callable[[dict[str, Any], int], tuple[dict[str, Any], Any]]


def train_loop(
    step_fn: StepFn,
    trees: dict[str, Any],
    *,
    start_step: int,
    num_steps: int,
    checkpoint_dir: str | os.PathLike,
    checkpoint_every: int,
    meta: Callable[[int, list], Mapping[str, Any]],
    history: list | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    desc: str = "train",
    log_every: int = 1,
    finish_now: bool = False,
) -> tuple[dict[str, Any], list, bool]:
    """Run ``step_fn(trees, step) -> (trees, loss)`` for steps ``start_step .. num_steps-1``.

    ``trees`` (model, optimiser state, pool, ...) is checkpointed to ``checkpoint_dir``
    every ``checkpoint_every`` completed steps, at the end, when ``stop_after`` steps are
    done, and on KeyboardInterrupt. ``history`` collects ``[step, loss]`` every
    ``log_every`` steps. Returns ``(trees, history, completed)`` where ``completed`` is
    False when the run stopped early. ``finish_now`` runs no step and reports the run
    as completed (to release a checkpoint as it is).
    """
    if finish_now:
        return trees, list(history or []), True
    history = list(history or [])
    end = num_steps if stop_after is None else min(num_steps, int(stop_after))
    checkpoint_dir = Path(checkpoint_dir)

    def save(done: int) -> None:
        save_checkpoint(checkpoint_dir, trees, step=done, meta=meta(done, history))

    bar = tqdm(total=num_steps, initial=start_step, desc=desc, disable=not progress,
               dynamic_ncols=True, mininterval=1.0)
    done = start_step
    t0 = time.time()
    try:
        for step in range(start_step, end):
            trees, loss = step_fn(trees, step)
            done = step + 1
            value = float(loss)
            if not math.isfinite(value):
                raise FloatingPointError(f"loss is {value} at step {step}; lower the learning rate")
            if step % log_every == 0 or done == num_steps:
                history.append([step, value])
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            bar.update(1)
            if done % checkpoint_every == 0 or done == end:
                save(done)
    except KeyboardInterrupt:
        bar.close()
        if done > start_step:
            save(done)
            print(f"\ninterrupted at step {done}; checkpoint saved in {checkpoint_dir} (resume with --resume)")
        else:
            print(f"\ninterrupted before step {start_step + 1} ended; nothing new to checkpoint")
        raise
    finally:
        bar.close()
    if progress and end > start_step:
        print(f"{desc}: steps {start_step}..{end} in {time.time() - t0:.1f}s")
    return trees, history, end == num_steps
