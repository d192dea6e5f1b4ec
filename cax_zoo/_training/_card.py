"""Model cards on the Hugging Face Hub's conventions: YAML front matter (``library_name``,
``license``, ``tags``, ``datasets``, ``model-index`` with the measured results) built with
``huggingface_hub.ModelCardData``, above the Markdown body a release writes.

What a model reports (which metrics become ``model-index`` results, on which dataset and
task, and the command that reproduces them) is a :class:`CardSpec` that its family declares
when it registers (``register(..., card=CardSpec(...))``) or that a caller passes; a model
without one still gets the library, licence and tags. Nothing here knows any family.
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


def eval_with_steps(name: str, metrics: Mapping[str, Any]) -> str:
    """``cax-zoo eval NAME --steps N`` with the ``steps`` the metrics were measured at (a
    :attr:`CardSpec.eval_command` for evaluations that record them)."""
    steps = metrics.get("steps")
    return f"cax-zoo eval {name}" + (f" --steps {int(steps)}" if isinstance(steps, int) else "")


def plain_eval(name: str, metrics: Mapping[str, Any]) -> str:
    """``cax-zoo eval NAME``: for evaluations whose defaults are the card's settings."""
    return f"cax-zoo eval {name}"


def eval_on_heldout(name: str, metrics: Mapping[str, Any]) -> str:
    """``cax-zoo eval NAME --indices A-B``: scored on the instances the card reports as held
    out (``heldout_indices``), never the ones it trained on."""
    held = metrics.get("heldout_indices")
    return f"cax-zoo eval {name}" + (f" --indices {held}" if held else "")


def card_spec(name: str, family: str | None = None) -> CardSpec | None:
    """The :class:`CardSpec` that the released model ``name`` declares at registration
    (``register(..., card=...)``), else its family's (``family``, default the first part
    of ``name``); None when neither declares one or ``name`` is not registered."""
    from .._errors import UnknownModelError
    from .._registry import get_entry

    for n in dict.fromkeys((name, family or name.split("/")[0])):
        try:
            spec = get_entry(n).card
        except UnknownModelError:
            continue
        if spec is not None:
            if not isinstance(spec, CardSpec):
                raise TypeError(f"{n}: register(card=...) must be a CardSpec, got {type(spec).__name__}")
            return spec
    return None


def _lookup(metrics: Mapping[str, Any], key: str) -> Any:
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def card_data(name: str, family: str, metrics: Mapping[str, Any], *, paper: str | None = None,
              tags: Sequence[str] = (), license: str = LICENSE, spec: CardSpec | None = None):
    """The Hub metadata (``huggingface_hub.ModelCardData``) of the released model ``name``
    of ``family``, with its measured ``metrics`` as ``model-index`` results (and an
    ``arxiv:`` tag for each arXiv id that ``paper`` quotes); ``spec`` defaults to
    :func:`card_spec`."""
    from huggingface_hub import EvalResult, ModelCardData

    spec = spec if spec is not None else card_spec(name, family)
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


def with_pictures(card: str, pictures: Mapping[str, str]) -> str:
    """``card`` with a Markdown image for each ``{file name: alt text}`` of ``pictures``
    (files of the release folder; the Hub shows them) under its title, unless the card
    links the file already."""
    body = card_body(card)
    links = [f"![{alt}]({name})" for name, alt in pictures.items() if f"]({name})" not in body]
    if not links:
        return card
    head = card[: len(card) - len(body)]
    title, sep, rest = body.partition("\n")
    if not title.startswith("#"):
        title, sep, rest = "", "", body
    return head + title + sep + "\n" + "\n\n".join(links) + "\n" + rest


def with_notes(card: str, notes: str | None) -> str:
    """``card`` with ``notes`` (a run's ``--notes``) as the last paragraph of its
    ``## Notes`` section, made (before ``## Usage``, else at the end) when it has none;
    unchanged when ``notes`` is empty or that section quotes it already."""
    notes = (notes or "").strip()
    if not notes:
        return card
    body = card_body(card)
    head = card[: len(card) - len(body)]
    lines = body.split("\n")
    sections, fenced = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            sections.append((i, line[3:].strip()))
    start = next((i for i, title in sections if title == "Notes"), None)
    if start is None:
        at = next((i for i, title in sections if title == "Usage"), len(lines))
        block = ["## Notes", "", notes]
    else:
        at = next((i for i, _ in sections if i > start), len(lines))
        if notes in "\n".join(lines[start:at]):
            return card
        block = [notes]
    while at > 0 and not lines[at - 1].strip():  # after the last text above, one blank line apart
        at -= 1
    rest = lines[at:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return head + "\n".join(lines[:at] + ["", *block, ""] + rest)


def config_differences(config: Mapping[str, Any], reference: Mapping[str, Any], *,
                       source: str = "CAX's notebook config", short: str = "CAX",
                       ignore: Sequence[str] = ("checkpoint_every",)) -> str:
    """One sentence for a card: ``config`` is ``source`` (the recipe's full config,
    ``reference``), or which fields differ from it and how (``short`` names it in the
    parentheses); fields in ``ignore`` (how a run is executed, not what it trains) are left out."""
    changed = [f"`{k}` {config[k]!r} ({short}: {reference[k]!r})" for k in reference
               if k not in ignore and k in config and config[k] != reference[k]]
    if not changed:
        return f"This is {source}."
    return f"It differs from {source} in " + ", ".join(changed) + "."


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


def eval_command(name: str, family: str, metrics: Mapping[str, Any], *,
                 spec: CardSpec | None = None) -> str | None:
    """The ``cax-zoo eval`` command that reproduces a card's figures (``None`` for a
    model without an evaluation spec); ``spec`` defaults to :func:`card_spec`."""
    spec = spec if spec is not None else card_spec(name, family)
    return spec.eval_command(name, metrics) if spec and spec.eval_command else None
