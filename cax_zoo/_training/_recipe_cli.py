"""The command line every recipe shares:

``python -m recipes.NAME [--config key=value ...] [--init pretrained|random]
[--pretrained NAME_OR_REPO] [--resume] [--smoke] [--stop-after N] [--push-to-hub REPO_ID]
[--overwrite] [--notes TEXT] [--data DIR] --out DIR`` (also ``cax-zoo train NAME ...``;
``--data`` for recipes that read a data set). ``--notes`` goes into the model card's
Notes once, by :func:`~cax_zoo.training.finish`.

A recipe declares its full-scale (paper) config and its ``--smoke`` config as dicts;
``--config`` overrides entries, typed by the defaults, and rejects unknown keys; values
are range-checked (:func:`check_recipe_config`). Before any work, :func:`begin` checks the
output folder, takes a lock on it (two runs cannot share an ``--out``) and refuses to
replace a release there without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import contextvars
import dataclasses
import json
import math
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._atomic import FolderLock, check_output_folder
from .._errors import CaxZooError, ConfigError, WeightsError

INT32_MAX = 2**31 - 1
# tighter ranges for the config keys recipes share: (minimum, maximum) inclusive
KNOWN_RANGES: dict[str, tuple[float, float]] = {
    "steps": (1, 10**8), "train_steps": (1, 10**8), "batch_size": (1, 1 << 16), "pool_size": (0, 1 << 20),
    "checkpoint_every": (1, INT32_MAX), "seed": (0, 2**32 - 1), "devices": (0, 1 << 16),
    "max_live": (0, 1 << 24), "rollout_min": (1, 1 << 20), "rollout_max": (1, 1 << 20),
    "lr_decay": (0.0, 1.0), "damage": (0, 1 << 16), "hidden_units": (1, 1 << 16),
    "num_channels": (1, 4096), "target_size": (1, 4096), "padding": (0, 4096),
    "active_cells": (0.0, 1.0),
}


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
    overwrite: bool = False  # --overwrite: a release in --out may be replaced
    lock: FolderLock | None = None  # held on --out from begin() to the end of run_main
    created_out: bool = False  # begin() made --out (removed again if the run leaves nothing in it)

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
            if not math.isfinite(float(value)):
                raise ConfigError(f"--config {key}: expected a finite number, got {text!r}")
            return float(value)
        raise ConfigError(f"--config {key}: expected a number, got {text!r}")
    if isinstance(default, (list, tuple)):
        if isinstance(value, list):
            return value
        raise ConfigError(f"--config {key}: expected a JSON list such as [1,2], got {text!r}")
    return text if isinstance(default, str) else value


def _config_key(pair: str) -> str:
    """The key of a ``--config key=value`` string."""
    return pair.partition("=")[0].strip()


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
    return check_recipe_config(config)


def check_recipe_config(config: Mapping[str, Any], *, source: str = "--config") -> dict[str, Any]:
    """Range checks for a recipe config (from defaults, ``--config`` or a checkpoint):
    numbers finite, integers within int32 and >= 0, learning rates in (0, 10], and the
    shared keys of :data:`KNOWN_RANGES` within their ranges."""
    for key, value in config.items():
        where = f"{source} {key}"
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{where}: must be finite, got {value}")
            if isinstance(value, int) and not 0 <= value <= INT32_MAX:
                raise ConfigError(f"{where}: must be in [0, {INT32_MAX}], got {value}")
            lo, hi = KNOWN_RANGES.get(key, (None, None))
            if key == "lr" or key.endswith("_lr"):
                lo, hi = 0.0, 10.0
                if not lo < value <= hi:
                    raise ConfigError(f"{where}: learning rate must be in (0, 10], got {value}")
            elif lo is not None and not lo <= value <= hi:
                raise ConfigError(f"{where}: must be in [{lo}, {hi}], got {value}")
        elif isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, float) and not math.isfinite(v):
                    raise ConfigError(f"{where}: values must be finite, got {v}")
                if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT32_MAX:
                    raise ConfigError(f"{where}: values must be within int32, got {v}")
    return dict(config)


def parse_recipe_args(
    argv: list[str] | None,
    *,
    name: str,
    description: str,
    full: Mapping[str, Any],
    smoke: Mapping[str, Any],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    data: str | None = None,
) -> RecipeRun:
    """The :class:`RecipeRun` that ``argv`` asks for: the shared options of the module
    docstring, ``--data DIR`` when the recipe reads a data set (``data``: its folder under
    ``$CAX_ZOO_DATA``, e.g. ``"mnist"``; the recipe reads ``run.options.data``, None for
    the default), and the recipe's own options (``add_arguments(parser)``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    invoked = INVOKED_AS.get() or name
    parser = argparse.ArgumentParser(prog=f"cax-zoo train {invoked}", description=description)
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a config entry (keys: {', '.join(sorted(full))})")
    parser.add_argument("--init", choices=("random", "pretrained"), default="random",
                        help="start from random weights (default) or fine-tune pretrained ones")
    parser.add_argument("--pretrained", default=None, metavar="NAME_OR_REPO",
                        help=f"weights for --init pretrained: a released name (default {name}), "
                             "hf://user/repo or a saved model folder")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--smoke", action="store_true", help="a tiny config that runs in seconds (CI)")
    default_out = Path("runs") / name.replace("/", "_")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default {default_out}/)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a release already in --out (refused otherwise)")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="upload the released folder to this Hub repo when done")
    parser.add_argument("--stop-after", type=int, default=None, metavar="N",
                        help="checkpoint and stop after N steps in total (resume later)")
    parser.add_argument("--finish-now", action="store_true",
                        help="with --resume: skip the remaining steps; evaluate and release the "
                             "checkpoint's model as it is")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--notes", default=None, help="text added to the model card (under Notes)")
    if data is not None:
        parser.add_argument("--data", default=None, metavar="DIR",
                            help=f"the {data} data set folder (default $CAX_ZOO_DATA/{data})")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.finish_now and not args.resume:
        raise ConfigError("--finish-now needs --resume (it releases the checkpoint of a run)")
    if args.stop_after is not None and not 1 <= args.stop_after <= INT32_MAX:
        raise ConfigError(f"--stop-after must be in [1, {INT32_MAX}], got {args.stop_after}")
    config = apply_overrides(smoke if args.smoke else full, args.config)
    out = args.out if args.out is not None else default_out
    command = "cax-zoo train " + " ".join(shlex.quote(a) for a in [invoked, *argv])
    return RecipeRun(
        name=name, config=config, init=args.init, pretrained=args.pretrained, resume=args.resume,
        smoke=args.smoke, out=out, push_to_hub=args.push_to_hub, stop_after=args.stop_after,
        progress=not args.no_progress, finish_now=args.finish_now, options=args, command=command,
        overwrite=args.overwrite,
    )


# the name `cax-zoo train NAME` was given (for the recipe's --help and the card's command)
INVOKED_AS: contextvars.ContextVar[str | None] = contextvars.ContextVar("cax_zoo_recipe_invoked_as", default=None)


# keys that say how a run is executed, not what it trains: a --config on --resume may change them
RUNTIME_KEYS = ("devices", "active_cells")


def resolve_resume(run: RecipeRun, saved_config: Mapping[str, Any], given: list[str]) -> None:
    """On --resume the checkpoint's config wins; a conflicting --config is an error
    (except for :data:`RUNTIME_KEYS`, such as the number of devices, which may change).
    A field the checkpoint predates (added to the recipe since) takes the run's value, its
    default unless given, so an older checkpoint still resumes."""
    runtime = {}
    for key in map(_config_key, given):
        if key in RUNTIME_KEYS:
            runtime[key] = run.config[key]
        elif key in saved_config and run.config.get(key) != saved_config[key]:
            raise ConfigError(
                f"--resume: --config {key}={run.config.get(key)!r} differs from the checkpoint's "
                f"{saved_config[key]!r}; start a new --out instead"
            )
    predates = {k: v for k, v in run.config.items() if k not in saved_config}  # fields added since it was saved
    run.config = check_recipe_config({**predates, **saved_config, **runtime}, source="checkpoint config")


def check_fresh_out(run: RecipeRun) -> None:
    """A new run must not silently overwrite the checkpoints of another."""
    from ._checkpoint import has_checkpoint

    if not run.resume and has_checkpoint(run.checkpoint_dir):
        raise ConfigError(
            f"{run.checkpoint_dir} already holds a checkpoint; pass --resume to continue it or "
            "choose another --out"
        )


def run_main(body: Callable[[RecipeRun], int], run_factory: Callable[[], RecipeRun]) -> int:
    """Run a recipe body; user errors end in one line on stderr and exit status 2. The
    lock that :func:`begin` takes on ``--out`` is released at the end."""
    run = None
    try:
        run = run_factory()
        return int(body(run) or 0)
    except CaxZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if run is not None and run.lock is not None:
            _remove_if_unused(run)  # while still holding the lock
            run.lock.release()
            run.lock = None
            _BEGUN.pop(_out_key(run.out), None)


def _remove_if_unused(run: RecipeRun) -> None:
    """A run that failed before writing anything leaves no empty --out behind."""
    from .._atomic import LOCK_FILE

    if not run.created_out:
        return
    try:
        if [p.name for p in run.out.iterdir()] == [LOCK_FILE]:
            (run.out / LOCK_FILE).unlink()
            run.out.rmdir()
    except OSError:
        pass


def _released_of_family(family_type: type) -> list[str]:
    """Released names whose model is a ``family_type`` (read from their config.json)."""
    from .._pretrained import pretrained_folder
    from .._registry import _FAMILY_OF_CLASS, list_models
    from .._weights import CONFIG_FILE, read_config

    family = _FAMILY_OF_CLASS.get(family_type)
    names = []
    for n in list_models(pretrained=True):
        try:
            if read_config(pretrained_folder(n) / CONFIG_FILE)["family"] == family:
                names.append(n)
        except (CaxZooError, TypeError):
            continue
    return names


# static config fields that say how long a model runs by default (its evaluation's and
# ``cax-zoo run``'s step count): a fine-tuned model takes them from the recipe's config
STEP_FIELDS = ("steps", "default_steps")


def initial_model(run: RecipeRun, create: Callable[[], Any], *,
                  from_config: tuple[str, ...] = STEP_FIELDS, widen_fields: tuple[str, ...] = ()) -> Any:
    """The model a run starts from: ``create()`` for ``--init random``; for
    ``--init pretrained``, ``--pretrained`` (a released name, ``hf://user/repo`` or a
    local model folder; default the recipe's own released model), which must be of the
    family that ``create()`` builds. The static fields named in ``from_config`` (default
    :data:`STEP_FIELDS`, how many steps the model runs by default) are set to the values
    ``create()`` gives them, so a model fine-tuned to another rollout length runs, and is
    evaluated, as long as this run trains it; its arrays stay the pretrained ones. Where
    the config makes fields named in ``widen_fields`` (layer widths whose growth the
    family keeps function-preserving, see :func:`widen`) larger than the pretrained
    model's, the pretrained model is grown into ``create()``'s wider one. A field the user
    gave with ``--config`` is applied when the pretrained arrays fit it (e.g.
    ``residual_noise=0``) and is a ConfigError when it would reshape them; other
    differences from the recipe's own config (``--smoke``'s sizes) keep the pretrained
    values."""
    if run.init == "random":
        return create()
    import equinox as eqx

    from .._pretrained import load, pretrained_folder
    from .._registry import family_name

    try:  # what create() builds, without computing its parameters
        expected = eqx.filter_eval_shape(create)
    except CaxZooError:
        raise
    except Exception:  # a constructor that needs concrete values: build it for real
        expected = create()
    source = run.pretrained or run.name
    if run.pretrained is None and pretrained_folder(source) is None:
        others = _released_of_family(type(expected))
        if others:
            from .._weights import CONFIG_FILE, read_config

            cfg = read_config(pretrained_folder(others[0]) / CONFIG_FILE)["config"]
            shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(cfg.items()))
            hint = (f"; pass --pretrained {others[0]} (released: {', '.join(others)}), and --config "
                    f"values that give its architecture ({others[0]}: {shown})")
        else:
            hint = "; pass --pretrained NAME, hf://user/repo or a saved folder"
        raise ConfigError(f"--init pretrained: {source!r} has no released weights{hint}")
    model = load(source)
    if type(model) is not type(expected):
        raise ConfigError(
            f"--pretrained {source}: a {family_name(model)} model ({type(model).__name__}); this recipe "
            f"trains {type(expected).__name__}"
        )
    wanted, have = expected.config(), model.config()
    changes = {k: wanted[k] for k in from_config if k in wanted and k in have and wanted[k] != have[k]}
    model = with_config(model, **changes)
    grown = [k for k in widen_fields if k in wanted and k in have and wanted[k] > have[k]]
    model = _apply_given_config(run, model, source, wanted, have, skip=(*from_config, *grown))
    if not grown:
        return model
    from ._widen import widen

    return widen(model, create())


def _apply_given_config(run: RecipeRun, model: Any, source: str, wanted: Mapping[str, Any],
                        have: Mapping[str, Any], *, skip: tuple[str, ...]) -> Any:
    """``model`` with the fields the user gave by ``--config`` set to their values (a run
    trains, and its card lists, what was asked). One that would reshape the pretrained
    arrays is a ConfigError naming it; ``--smoke``'s own differences are left alone."""
    given = {_config_key(pair) for pair in (getattr(run.options, "config", None) or [])}
    for k in sorted(given):
        if k in skip or k not in wanted or k not in have or wanted[k] == have[k]:
            continue
        try:
            model = with_config(model, **{k: wanted[k]})
        except WeightsError:
            raise ConfigError(
                f"--init pretrained: --config {k}={json.dumps(wanted[k])} would change the shape of {source}'s "
                f"arrays (pretrained: {k}={json.dumps(have[k])}); keep its value or train with --init random"
            ) from None
    return model


def with_config(model: Any, **changes: Any) -> Any:
    """``model`` rebuilt with its config entries ``changes`` (static fields such as
    ``steps``, validated by its family's constructor) and every array of ``model``: the
    way ``cax_zoo.load(name, **changes)`` rebuilds a release. A change that would alter
    an array's shape is refused (WeightsError)."""
    if not changes:
        return model
    from .._pretrained import _rebuild
    from .._registry import family_name
    from .._weights import fill_arrays, module_arrays

    family = family_name(model)
    skeleton = _rebuild({"family": family, "config": model.config()}, dict(changes),
                        f"{family} model with {', '.join(sorted(changes))} changed")
    return fill_arrays(skeleton, module_arrays(model), source=f"the {family} model's own arrays")


# the runs that begin() started in this process, by --out (release_run finds --overwrite here)
_BEGUN: dict[str, RecipeRun] = {}


def _out_key(out: Path) -> str:
    return str(Path(out).resolve())


def begun_run(out: str | Path) -> RecipeRun | None:
    """The run begun (by :func:`begin`) on output folder ``out`` in this process, if any."""
    return _BEGUN.get(_out_key(Path(out)))


def begin(run: RecipeRun) -> None:
    """Checks before any work: ``--out`` is a folder that can be written (made if needed)
    and no other run holds it (a lock is taken until the run ends); a release in it is not
    replaced without ``--overwrite``; a new run must not overwrite another's checkpoints;
    a resumed run must have a valid checkpoint, whose config then replaces ``run.config``."""
    from .._weights import has_release
    from ._checkpoint import CHECKPOINT_JSON, has_checkpoint, read_record

    if not run.out.exists():
        run.created_out = True
    check_output_folder(run.out)
    if run.lock is None:
        run.lock = FolderLock(run.out).acquire()
        _BEGUN[_out_key(run.out)] = run
    if not run.overwrite and has_release(run.name, run.out):
        raise WeightsError(f"{run.out / run.name} already holds a release of {run.name}; pass --overwrite "
                           "to replace it, or choose another --out")
    check_fresh_out(run)
    if not run.resume:
        return
    if not has_checkpoint(run.checkpoint_dir):
        raise WeightsError(f"no checkpoint in {run.checkpoint_dir} (nothing to resume; run without --resume)")
    _, _, _, meta = read_record(run.checkpoint_dir / CHECKPOINT_JSON)
    saved = meta.get("config")
    if not isinstance(saved, dict):
        raise ConfigError(f"{run.checkpoint_dir / CHECKPOINT_JSON} has no readable config (meta field 'config')")
    resolve_resume(run, saved, run.options.config)
