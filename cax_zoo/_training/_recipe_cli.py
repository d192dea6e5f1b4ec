"""The command line every recipe shares:

``python -m recipes.NAME [--config key=value ...] [--init pretrained|random]
[--pretrained NAME_OR_REPO] [--resume] [--smoke] [--stop-after N] [--push-to-hub REPO_ID]
--out DIR`` (also ``cax-zoo train NAME ...``).

A recipe declares its full-scale (paper) config and its ``--smoke`` config as dicts;
``--config`` overrides entries, typed by the defaults, and rejects unknown keys.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._errors import CaxZooError, ConfigError


@dataclasses.dataclass
class RecipeRun:
    """What a recipe's ``main`` was asked to do."""

    name: str  # the registry name the trained model is released as
    config: dict[str, Any]
    init: str  # "random" or "pretrained"
    pretrained: str | None  # registry name or Hub repo id for --init pretrained
    resume: bool
    smoke: bool
    out: Path
    push_to_hub: str | None
    stop_after: int | None
    progress: bool
    finish_now: bool
    options: argparse.Namespace  # the recipe's own extra arguments
    command: str  # the exact command line, for the model card

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"


def _coerce(key: str, text: str, default: Any) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"--config {key}: expected true or false, got {text!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"--config {key}: expected an integer, got {text!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"--config {key}: expected a number, got {text!r}")
    if isinstance(default, (list, tuple)):
        if isinstance(value, list):
            return value
        raise ConfigError(f"--config {key}: expected a JSON list such as [1,2], got {text!r}")
    return text if isinstance(default, str) else value


def apply_overrides(base: Mapping[str, Any], pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings applied to ``base``; unknown keys and bad values raise ConfigError."""
    config = dict(base)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"bad --config entry {pair!r}: expected key=value")
        if key not in config:
            raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(config))}")
        config[key] = _coerce(key, text, config[key])
    return config


def parse_recipe_args(
    argv: list[str] | None,
    *,
    name: str,
    description: str,
    full: Mapping[str, Any],
    smoke: Mapping[str, Any],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> RecipeRun:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=f"cax-zoo train {name}", description=description)
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a config entry (keys: {', '.join(sorted(full))})")
    parser.add_argument("--init", choices=("random", "pretrained"), default="random",
                        help="start from random weights (default) or fine-tune pretrained ones")
    parser.add_argument("--pretrained", default=None, metavar="NAME_OR_REPO",
                        help=f"weights for --init pretrained: a released name (default {name}) "
                             "or a Hugging Face Hub repo id")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--smoke", action="store_true", help="a tiny config that runs in seconds (CI)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default runs/{name})")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="upload the released folder to this Hub repo when done")
    parser.add_argument("--stop-after", type=int, default=None, metavar="N",
                        help="checkpoint and stop after N steps in total (resume later)")
    parser.add_argument("--finish-now", action="store_true",
                        help="with --resume: skip the remaining steps; evaluate and release the "
                             "checkpoint's model as it is")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.finish_now and not args.resume:
        raise ConfigError("--finish-now needs --resume (it releases the checkpoint of a run)")
    if args.stop_after is not None and args.stop_after < 1:
        raise ConfigError(f"--stop-after must be >= 1, got {args.stop_after}")
    config = apply_overrides(smoke if args.smoke else full, args.config)
    out = args.out if args.out is not None else Path("runs") / name.replace("/", "_")
    command = "cax-zoo train " + " ".join(shlex.quote(a) for a in [name, *argv])
    return RecipeRun(
        name=name, config=config, init=args.init, pretrained=args.pretrained, resume=args.resume,
        smoke=args.smoke, out=out, push_to_hub=args.push_to_hub, stop_after=args.stop_after,
        progress=not args.no_progress, finish_now=args.finish_now, options=args, command=command,
    )


# keys that say how a run is executed, not what it trains: a --config on --resume may change them
RUNTIME_KEYS = ("devices",)


def resolve_resume(run: RecipeRun, saved_config: Mapping[str, Any], given: list[str]) -> None:
    """On --resume the checkpoint's config wins; a conflicting --config is an error
    (except for :data:`RUNTIME_KEYS`, such as the number of devices, which may change)."""
    runtime = {}
    for pair in given:
        key = pair.partition("=")[0].strip()
        if key in RUNTIME_KEYS:
            runtime[key] = run.config[key]
        elif key in saved_config and run.config.get(key) != saved_config[key]:
            raise ConfigError(
                f"--resume: --config {key}={run.config.get(key)!r} differs from the checkpoint's "
                f"{saved_config[key]!r}; start a new --out instead"
            )
    run.config = {**saved_config, **runtime}


def check_fresh_out(run: RecipeRun) -> None:
    """A new run must not silently overwrite the checkpoints of another."""
    from ._checkpoint import has_checkpoint

    if not run.resume and has_checkpoint(run.checkpoint_dir):
        raise ConfigError(
            f"{run.checkpoint_dir} already holds a checkpoint; pass --resume to continue it or "
            "choose another --out"
        )


def run_main(body: Callable[[RecipeRun], int], run_factory: Callable[[], RecipeRun]) -> int:
    """Run a recipe body; user errors end in one line on stderr and exit status 2."""
    try:
        run = run_factory()
        return int(body(run) or 0)
    except CaxZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def initial_model(run: RecipeRun, create: Callable[[], Any]) -> Any:
    """The model a run starts from: ``create()`` for ``--init random``; for
    ``--init pretrained``, ``--pretrained`` (a released name, a Hub repo id or a local
    model folder; default the recipe's own released model)."""
    if run.init == "random":
        return create()
    from .._registry import load, load_pretrained, pretrained_folder

    source = run.pretrained or run.name
    if Path(source).is_dir():  # a folder written by save_pretrained / release
        return load_pretrained(source)
    if source == run.name and pretrained_folder(source) is None:
        raise ConfigError(
            f"--init pretrained: no released weights for {source!r} in weights/; pass "
            "--pretrained NAME_OR_HUB_REPO"
        )
    return load(source)


def begin(run: RecipeRun) -> None:
    """Checks before any work: a new run must not overwrite another's checkpoints; a
    resumed run must have a checkpoint, whose config then replaces ``run.config``."""
    from ._checkpoint import CHECKPOINT_JSON, has_checkpoint

    check_fresh_out(run)
    if not run.resume:
        return
    if not has_checkpoint(run.checkpoint_dir):
        from .._errors import WeightsError

        raise WeightsError(f"no checkpoint in {run.checkpoint_dir} (nothing to resume; run without --resume)")
    try:
        record = json.loads((run.checkpoint_dir / CHECKPOINT_JSON).read_text(encoding="utf-8"))
        saved = dict(record["meta"]["config"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ConfigError(f"{run.checkpoint_dir / CHECKPOINT_JSON} has no readable config: {e}") from None
    resolve_resume(run, saved, run.options.config)
