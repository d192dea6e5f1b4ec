"""Model cards on the Hugging Face Hub's conventions: YAML front matter (``library_name``,
``license``, ``tags``, ``datasets``, ``model-index`` with the measured results) built with
``huggingface_hub.ModelCardData``, above the Markdown body a release writes.

What a family reports (which metrics become ``model-index`` results, on which dataset and
task) is one :class:`CardSpec` per family in :data:`CARD_SPECS`; a family without one still
gets the library, licence and tags.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

LIBRARY_NAME = "cax_zoo"
LICENSE = "mit"
BASE_TAGS = ("cax_zoo", "cellular-automata", "jax", "equinox")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.S)
_PATH_OPTIONS = ("--out", "--pretrained", "--data", "--json", "--target")


@dataclasses.dataclass(frozen=True)
class CardResult:
    """One ``model-index`` result: ``metrics[key]`` (``a.b`` reaches into a nested dict),
    times ``scale``, reported as ``metric_type`` / ``metric_name``."""

    key: str
    metric_type: str
    metric_name: str
    scale: float = 1.0


@dataclasses.dataclass(frozen=True)
class CardSpec:
    """What a family's cards declare: task and dataset of its results, Hub tags and
    dataset ids, the results themselves, and the command that reproduces them."""

    task_type: str
    task_name: str
    dataset_type: str
    dataset_name: str
    results: tuple[CardResult, ...] = ()
    dataset_split: str | None = None
    datasets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    eval_command: Callable[[str, Mapping[str, Any]], str] | None = None


def _eval_with_steps(name: str, metrics: Mapping[str, Any]) -> str:
    steps = metrics.get("steps")
    return f"cax-zoo eval {name}" + (f" --steps {int(steps)}" if isinstance(steps, int) else "")


CARD_SPECS: dict[str, CardSpec] = {
    "mnist_self_classify": CardSpec(
        task_type="image-classification", task_name="Image classification",
        dataset_type="ylecun/mnist", dataset_name="MNIST", dataset_split="test",
        datasets=("ylecun/mnist",), tags=("neural-cellular-automata", "self-classifying-mnist"),
        results=(
            CardResult("accuracy_by_step.100", "accuracy", "accuracy after 100 steps (majority vote)"),
            CardResult("accuracy_by_step.200", "accuracy", "accuracy after 200 steps (majority vote)"),
            CardResult("pixel_accuracy_by_step.100", "accuracy", "pixel agreement after 100 steps"),
        ),
        eval_command=_eval_with_steps,
    ),
    "growing_nca": CardSpec(
        task_type="image-to-image", task_name="Growing and regenerating an image",
        dataset_type="emoji-lizard", dataset_name="Lizard emoji U+1F98E (Noto Color Emoji)",
        tags=("neural-cellular-automata", "growing-nca", "self-organisation"),
        results=(
            CardResult("loss", "mse", "RGBA MSE after growing from the seed"),
            CardResult("loss_after_damage", "mse", "RGBA MSE right after a cut"),
            CardResult("loss_after_regrow", "mse", "RGBA MSE after regrowing"),
        ),
        eval_command=_eval_with_steps,
    ),
    "arc1d_nca": CardSpec(
        task_type="other", task_name="1D-ARC abstract reasoning (exact match)",
        dataset_type="1d-arc", dataset_name="1D-ARC (Xu et al. 2023), held-out instances",
        dataset_split="test",
        tags=("neural-cellular-automata", "arc", "abstract-reasoning", "test-time-training"),
        results=(CardResult("heldout_overall", "accuracy", "exact match, held-out instances"),),
        eval_command=lambda name, metrics: f"cax-zoo eval {name}",
    ),
    "lenia": CardSpec(
        task_type="other", task_name="Lenia creature (continuous cellular automaton)",
        dataset_type="lenia-catalogue", dataset_name="Bert Chan's Lenia catalogue (animals.json)",
        tags=("lenia", "artificial-life"),
        results=(CardResult("mean_speed_cells_per_unit_time", "speed", "centre-of-mass speed (cells per unit time)"),),
        eval_command=_eval_with_steps,
    ),
}


def _lookup(metrics: Mapping[str, Any], key: str) -> Any:
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def card_data(name: str, family: str, metrics: Mapping[str, Any], *, paper: str | None = None,
              tags: Sequence[str] = (), license: str = LICENSE):
    """The Hub metadata (``huggingface_hub.ModelCardData``) of the released model ``name``
    of ``family``, with its measured ``metrics`` as ``model-index`` results (and an
    ``arxiv:`` tag for each arXiv id that ``paper`` quotes)."""
    from huggingface_hub import EvalResult, ModelCardData

    spec = CARD_SPECS.get(family)
    all_tags = list(dict.fromkeys([*BASE_TAGS, family, *(spec.tags if spec else ()), *tags]))
    results = []
    for r in spec.results if spec else ():
        value = _lookup(metrics, r.key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            results.append(EvalResult(
                task_type=spec.task_type, task_name=spec.task_name, dataset_type=spec.dataset_type,
                dataset_name=spec.dataset_name, dataset_split=spec.dataset_split,
                metric_type=r.metric_type, metric_name=r.metric_name,
                metric_value=round(float(value) * r.scale, 6)))
    all_tags += [f"arxiv:{a}" for a in re.findall(r"arXiv:(\d{4}\.\d{4,5})", paper or "", flags=re.I)
                 if f"arxiv:{a}" not in all_tags]
    return ModelCardData(
        library_name=LIBRARY_NAME, license=license, tags=all_tags,
        datasets=list(spec.datasets) if spec and spec.datasets else None,
        model_name=name if results else None, eval_results=results or None)


def with_front_matter(card: str, data) -> str:
    """``card`` with ``data`` (a ``ModelCardData``) as its YAML front matter; front matter
    already there is replaced, the body is kept as it is."""
    body = _FRONT_MATTER.sub("", card, count=1)
    return f"---\n{data.to_yaml()}\n---\n\n{body}"


def card_body(card: str) -> str:
    """The Markdown of ``card`` below its front matter."""
    return _FRONT_MATTER.sub("", card, count=1)


def read_card_data(card: str):
    """The ``ModelCardData`` of a card's front matter (empty when it has none)."""
    from huggingface_hub import ModelCard

    return ModelCard(card, ignore_metadata_errors=True).data


def portable_command(command: str, name: str | None = None) -> str:
    """``command`` with machine-local paths made relative: an absolute path given to
    ``--out``, ``--pretrained``, ``--data``, ``--json`` or ``--target`` becomes
    ``runs/<its last part>`` (``runs/<run>/<name>`` for the release folder of model ``name``
    inside a run folder; ``$CAX_ZOO_DATA`` for ``--data``), so a reader can paste it."""
    def fix(line: str) -> str:
        try:
            tokens = shlex.split(line, comments=False)
        except ValueError:
            return line
        if not tokens or tokens[0].startswith("#"):
            return line
        out = []
        for i, tok in enumerate(tokens):
            opt, eq, val = tok.partition("=")
            if eq and opt in _PATH_OPTIONS and val.startswith("/"):
                tok = f"{opt}={_relative(opt, val, name)}"
            elif i and tokens[i - 1] in _PATH_OPTIONS and tok.startswith("/"):
                tok = _relative(tokens[i - 1], tok, name)
            out.append(tok)
        if out == tokens:
            return line  # nothing machine-local: keep the line exactly as written
        return " ".join(t if t.startswith("$CAX_ZOO_DATA") else shlex.quote(t) for t in out)

    return "\n".join(fix(line) for line in command.splitlines())


def _relative(option: str, path: str, name: str | None) -> str:
    if option == "--data":
        return "$CAX_ZOO_DATA"
    path = path.rstrip("/")
    if name and path.endswith("/" + name):  # a release folder inside a run folder
        run = PurePosixPath(path[: -len(name) - 1]).name
        return f"runs/{run}/{name}"
    return f"runs/{PurePosixPath(path).name}"


def eval_command(name: str, family: str, metrics: Mapping[str, Any]) -> str | None:
    """The ``cax-zoo eval`` command that reproduces a card's figures (``None`` for a
    family without an evaluation spec)."""
    spec = CARD_SPECS.get(family)
    return spec.eval_command(name, metrics) if spec and spec.eval_command else None
