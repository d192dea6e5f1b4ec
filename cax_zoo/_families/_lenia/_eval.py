"""``cax-zoo eval lenia/<name>``: a creature's mass and speed over a rollout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import MAX_STEPS, check_int, refuse_options


def evaluate_creature(model: Any, *, data: Any = None, steps: int | None = None,
                      **options: Any) -> dict[str, Any]:
    """Run the creature ``steps`` (default 1000) steps on its default grid and report its
    mass (start, end, range after the first quarter, largest drift from the start over the
    first half), whether it survived (mass within 50 % of the start throughout) and its
    speed in cells per unit time (mean and spread after the first quarter). ``data`` is
    unused (the creature carries its pattern)."""
    refuse_options(options)
    steps = 1000 if steps is None else check_int("steps", steps, minimum=4, maximum=MAX_STEPS)
    every = max(1, steps // 20)
    state = model.init_state()
    _, traj = model.rollout(state, steps, every=every, trajectory=True)
    met = model.metrics(traj, every=every)
    mass, speed = met["mass"], met["speed"]
    settled, moving = mass[len(mass) // 4:], speed[len(speed) // 4:]
    half = mass[: len(mass) // 2 + 1]
    return {
        "grid": list(state.shape[:-1]),
        "steps": steps,
        "sample_every": every,
        "initial_mass": round(float(mass[0]), 4),
        "final_mass": round(float(mass[-1]), 4),
        "mass_min_max_after_first_quarter": [round(float(settled.min()), 4), round(float(settled.max()), 4)],
        "max_mass_change_first_half": round(float(np.max(np.abs(half / mass[0] - 1))), 4),
        "survived": bool(np.all(np.abs(mass / mass[0] - 1) < 0.5)),
        "mean_speed_cells_per_unit_time": round(float(np.mean(moving)), 4),
        "speed_std": round(float(np.std(moving)), 4),
    }
