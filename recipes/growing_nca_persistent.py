"""Recipe: the growing NCA's "persistent" experiment (Mordvintsev et al. 2020): the lizard
grown from a sample pool, with no damage, so that it learns to keep its shape once grown.

    cax-zoo train growing_nca/lizard_persistent --out runs/persistent   # the paper's config
    python -m recipes.growing_nca_persistent --smoke --out /tmp/smoke   # seconds (CI)

The growing NCA recipe (recipes/growing_nca.py) with ``damage`` 0: the same model, pool,
rollouts, loss and optimiser; its release is ``growing_nca/lizard_persistent``. Asked for
``damage`` > 0 it is the regenerating experiment again, released as ``growing_nca/lizard``.
"""

from __future__ import annotations

from typing import Any

from cax_zoo.training import parse_recipe_args, run_main

from recipes import growing_nca

NAME = growing_nca.PERSISTENT
FULL: dict[str, Any] = {**growing_nca.FULL, "damage": 0}
SMOKE: dict[str, Any] = {**growing_nca.SMOKE, "damage": 0}


def main(argv: list[str] | None = None) -> int:
    return run_main(growing_nca.train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE,
        add_arguments=growing_nca.add_arguments))


if __name__ == "__main__":
    raise SystemExit(main())
