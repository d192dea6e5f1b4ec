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
) -> str:
    """A Markdown model card stating what was trained, how, and what was measured."""
    device = f"{jax.default_backend()} ({platform.processor() or platform.machine()})"
    lines = [
        f"# {title}", "", summary, "", f"Paper: {paper}", "",
        "## Metrics (measured at the end of training)", "",
        "| metric | value |", "|---|---|",
    ]
    for k, v in metrics.items():
        lines.append(f"| {k} | {json.dumps(v) if not isinstance(v, float) else f'{v:.6g}'} |")
    lines += ["", "## How it was trained", "", "```", command, "```", "",
              f"Device: {device}.", "", "Config:", "", "```json",
              json.dumps(dict(config), indent=2, sort_keys=True), "```", ""]
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    if usage:
        lines += ["## Usage", "", "```python", usage.strip(), "```", ""]
    return "\n".join(lines)


def release_run(module, name: str, *, root: str | Path, card: str, metrics: Mapping[str, Any],
                push_to_hub: str | None = None) -> Path:
    """Release ``module`` as ``root/<name>/`` (with a manifest entry) and optionally push it."""
    from .._registry import release

    folder = release(module, name, card=card, metrics=dict(metrics), root=root)
    print(f"released {name} to {folder}")
    if push_to_hub:
        from .._hub import push_to_hub as push

        url = push(folder, push_to_hub)
        print(f"pushed to {url}")
    return folder
