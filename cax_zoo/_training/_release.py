"""Finishing a training run: the model card (metrics, exact command, config), the
released folder (``cax_zoo.release`` under ``--out``) and the optional Hub upload."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax


def model_card(
    title: str,
    *,
    summary: str,
    paper: str,
    command: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    notes: str = "",
    usage: str = "",
    name: str | None = None,
    tags: tuple[str, ...] = (),
) -> str:
    """A model card stating what was trained, how, and what was measured: Hub YAML front
    matter (``library_name``, licence, tags, datasets, ``model-index`` from ``metrics``;
    see ``cax_zoo/_training/_card.py``) above the Markdown. ``name`` (default: the first
    word of ``title``) is the released name; machine-local paths in ``command`` are made
    relative."""
    from ._card import card_data, eval_command, portable_command, with_front_matter

    name = name or title.split()[0].rstrip(":")
    family = name.split("/")[0]
    command = portable_command(command, name)
    device = f"{jax.default_backend()} ({platform.processor() or platform.machine()})"
    lines = [
        f"# {title}", "", summary, "", f"Paper: {paper}", "",
        "## Metrics (measured at the end of training)", "",
        "| metric | value |", "|---|---|",
    ]
    for k, v in metrics.items():
        lines.append(f"| {k} | {json.dumps(v) if not isinstance(v, float) else f'{v:.6g}'} |")
    reproduce = eval_command(name, family, metrics)
    if reproduce:
        lines += ["", f"Reproduce them: `{reproduce}`."]
    lines += ["", "## How it was trained", "", "```", command, "```", "",
              f"Device: {device}.", "", "Config:", "", "```json",
              json.dumps(dict(config), indent=2, sort_keys=True), "```", ""]
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    if usage:
        lines += ["## Usage", "", "```python", usage.strip(), "```", ""]
    return with_front_matter("\n".join(lines), card_data(name, family, metrics, paper=paper, tags=tags))


def release_run(module, name: str, *, root: str | Path, card: str, metrics: Mapping[str, Any],
                push_to_hub: str | None = None, overwrite: bool | None = None,
                files: Mapping[str, bytes] | None = None) -> Path:
    """Release ``module`` as ``root/<name>/`` (with a manifest entry) and optionally push it.

    An existing release there is replaced only with ``overwrite`` (default: the
    ``--overwrite`` flag of the run that :func:`begin` started on ``root``)."""
    from .._pretrained import push_to_hub as push, release
    from ._recipe_cli import begun_run

    if overwrite is None:
        run = begun_run(root)
        overwrite = bool(run is not None and run.overwrite)
    folder = release(module, name, card=card, metrics=dict(metrics), root=root, overwrite=overwrite,
                     files=files)
    print(f"released {name} to {folder}")
    if push_to_hub:
        url = push(folder, push_to_hub)
        print(f"pushed to {url}")
    return folder
