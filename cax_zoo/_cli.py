"""The ``cax-zoo`` command line: list, info, run, push, train, eval.

Errors a user can cause end in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import CaxZooError, ConfigError

EXIT_USAGE = 2
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1
MAX_FPS = 100.0
# options whose value may look like a flag (``--size -5x5``): passed to argparse as ``--size=-5x5``
_VALUE_OPTIONS = {"--size", "--steps", "--seed", "--every", "--damage-at", "--fps", "--limit", "--rule"}
_NEGATIVE = re.compile(r"^-[0-9.]|^-(nan|inf)", re.IGNORECASE)


def _parse_size(text: str) -> int | tuple[int, ...]:
    try:
        size = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: expected e.g. 256 or 128x128") from None
    if any(s < 1 for s in size):
        raise argparse.ArgumentTypeError(f"bad size {text!r}: extents must be positive")
    return size[0] if len(size) == 1 else size


def _parse_value(text: str) -> Any:
    """``--config key=value`` values: JSON if it parses (numbers, bools, lists), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
    except (ValueError, RecursionError):  # a number beyond Python's 4300 digits, deep nesting
        raise ConfigError(f"--config value {text[:20]!r}... is too long or too deeply nested") from None


def _parse_config(pairs: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError(f"bad --config entry {pair!r}: expected key=value")
        if key == "key":
            raise ConfigError("--config key=...: 'key' is not a config entry (random initial states come "
                              "from --seed)")
        config[key] = _parse_value(value)
    return config


def _check_range(option: str, value: Any, *, minimum: float, maximum: float) -> None:
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{option} must be a finite number, got {value}")
    if not minimum <= value <= maximum:
        raise ConfigError(f"{option} must be between {minimum:g} and {maximum:g}, got {value:g}")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--size -5x5`` -> ``--size=-5x5``, so the value reaches its checker instead of argparse
    reading it as an unknown flag ("expected one argument")."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in _VALUE_OPTIONS and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cax-zoo", description="Cellular automata ready to run: list, inspect, run, train, evaluate."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="list registered models")
    s.add_argument("pattern", nargs="?", default=None, help="shell glob, e.g. 'lenia/*'")
    s.add_argument("--pretrained", action="store_true", help="only models with released weights")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--markdown", action="store_true", help="print the zoo table (docs/zoo.md)")

    s = sub.add_parser("info", help="show a model's description, config and card")
    s.add_argument("name", help="registered name, hf://user/repo or a saved model folder")
    s.add_argument("--revision", default=None, help="Hub revision (for Hub repo ids)")

    s = sub.add_parser("run", help="run a model and write a GIF, PNG or NPZ")
    s.add_argument("name", help="registered name, hf://user/repo or a saved model folder")
    s.add_argument("--rule", default=None, help="rule for rule families (e.g. B36/S23, 110)")
    s.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="extra model config (repeatable)")
    s.add_argument("--revision", default=None, help="Hub revision (for Hub repo ids)")
    s.add_argument("--steps", type=int, default=None, help="steps to run (default 256; with --task, the "
                   "model's own)")
    s.add_argument("--size", type=_parse_size, default=None, help="grid size, e.g. 256 or 128x128")
    s.add_argument("--seed", type=int, default=None, help="random initial state from this seed")
    s.add_argument("--image", type=Path, default=None, help="input image for models that take one "
                   "(mnist_self_classify: a digit, whose predicted label is printed)")
    s.add_argument("--target", default=None, metavar="NAME", help="the target a conditional model grows, by "
                   "name or index (conditional_nca/animals: dog, cat, mouse, hamster, rabbit, fox, bear, panda)")
    s.add_argument("--task", type=Path, default=None, metavar="FILE.json",
                   help="solve this task file and show input, prediction and expected output "
                        "(models that solve tasks, e.g. arc1d_nca with a 1D-ARC task)")
    s.add_argument("--every", type=int, default=None, help="keep a frame every N steps")
    s.add_argument("--damage-at", type=int, default=None, metavar="STEP",
                   help="damage the state at this step, then run on (models that regenerate, "
                        "e.g. growing_nca/lizard)")
    s.add_argument("--fps", type=float, default=20.0)
    s.add_argument("--out", type=Path, required=True, help="output .gif, .png or .npz")
    s.add_argument("--no-progress", action="store_true")

    s = sub.add_parser("push", help="upload a released model folder to the Hugging Face Hub")
    s.add_argument("name", help="registered name or a saved model folder")
    s.add_argument("--repo-id", required=True, help="the Hub repo, namespace/name")
    s.add_argument("--revision", default=None)
    s.add_argument("--private", action="store_true")

    s = sub.add_parser("train", help="train a model with its recipe (options go to the recipe)",
                       add_help=False)
    s.add_argument("name")
    s.add_argument("recipe_args", nargs=argparse.REMAINDER)

    s = sub.add_parser("eval", help="evaluate a model on its benchmark")
    s.add_argument("name", help="a registered model with an evaluation (cax-zoo list)")
    s.add_argument("--data", type=Path, default=None, help="dataset folder (default: $CAX_ZOO_DATA)")
    s.add_argument("--steps", type=int, default=None)
    s.add_argument("--seed", type=int, default=None,
                   help="seed of the evaluation's random draws (default: the evaluation's own, 0); "
                        "refused by evaluations that draw nothing")
    s.add_argument("--limit", type=int, default=None, help="score only the first N examples")
    s.add_argument("--indices", default=None, metavar="A-B|I,J,...",
                   help="score only these instances of each task type (1D-ARC: the release's held-out ones, "
                        "as its card says); refused by evaluations without instances")
    s.add_argument("--json", type=Path, default=None, help="write the metrics here")
    s.add_argument("--revision", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "train":
        if len(argv) == 1 or argv[1] in ("-h", "--help"):
            print(_train_help())
            return 0 if len(argv) > 1 else EXIT_USAGE
    else:
        argv = _join_negative_values(argv)
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except CaxZooError as e:
        print(f"cax-zoo: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # disk full, permission denied, name too long ... while writing
        print(f"cax-zoo: error: {e.strerror or e}{': ' + str(e.filename) if e.filename else ''}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cax-zoo: interrupted", file=sys.stderr)
        return 130


def _cmd_list(args) -> int:
    from ._pretrained import pretrained_folder
    from ._registry import get_entry, list_models

    names = list_models(args.pattern, pretrained=True if args.pretrained else None)
    if args.markdown:
        print(zoo_table(names), end="")
        return 0
    rows = [(n, "yes" if pretrained_folder(n) else "-", get_entry(n).description) for n in names]
    if args.json:
        print(json.dumps([{"name": n, "pretrained": p == "yes", "description": d} for n, p, d in rows], indent=2))
        return 0
    width = max([len(n) for n in names] + [4])
    print(f"{'name':<{width}}  pretrained  description")
    for n, p, d in rows:
        print(f"{n:<{width}}  {p:<10}  {d}")
    return 0


def zoo_table(names: list[str]) -> str:
    """The zoo as a Markdown page: one row per registered model."""
    from ._pretrained import picture_source, pretrained_folder
    from ._registry import get_entry

    lines = [
        "# The zoo",
        "",
        "Generated from the registry by `cax-zoo list --markdown > docs/zoo.md` "
        "(a test keeps it current). Each picture is made by `cax-zoo run` when the docs are "
        "built (`scripts/make_media.py`); a name links to its family's page.",
        "",
        '<div class="zoo-gallery" markdown>',
        "",
        "| | name | pretrained | recipe | evaluation | description | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in names:
        e = get_entry(n)
        stem = n.replace("/", "-")  # an unreleased learned model is shown by its starting state
        picture = f"![{n}](media/zoo/{stem}.gif)" if picture_source(n) else f"![{n}](media/zoo/{stem}-setup.png)"
        cells = [picture, f"[`{n}`](families/{n.split('/')[0]}.md)", "yes" if pretrained_folder(n) else "-",
                 f"`{e.recipe}`" if e.recipe else "-",
                 f"`cax-zoo eval {n}`" if e.evaluate else "-", e.description.replace("|", "/"),
                 (e.paper or "-").replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", "</div>"]) + "\n"


def _cmd_info(args) -> int:
    from ._hub import download
    from ._pretrained import load, pretrained_folder, resolve
    from ._registry import create, get_entry

    kind, target = resolve(args.name)
    if kind != "hub" and args.revision is not None:
        raise ConfigError(f"--revision applies to Hub repo ids (hf://user/repo), not to {args.name!r}")
    if kind == "registry":
        entry = get_entry(target)
        folder = pretrained_folder(target)
        if folder:
            model = load(target)
        else:
            import jax

            model = create(target, key=jax.random.PRNGKey(0) if entry.learned else None)
        print(f"name:        {entry.name}")
        print(f"family:      {type(model).__name__}")
        print(f"description: {entry.description}")
        if entry.paper:
            print(f"paper:       {entry.paper}")
        print(f"pretrained:  {folder if folder else 'no'}")
        print(f"recipe:      {entry.recipe or '-'}")
        print(f"evaluation:  {'cax-zoo eval ' + entry.name if entry.evaluate else '-'}")
    else:
        folder = download(target, revision=args.revision)[0] if kind == "hub" else Path(target)
        model = load(args.name, revision=args.revision)
        from ._registry import family_name

        print(f"name:        {args.name}")
        print(f"family:      {family_name(model)} ({type(model).__name__})")
        print(f"source:      {'Hugging Face Hub, revision ' + (args.revision or 'main') if kind == 'hub' else folder}")
    print("config:      " + json.dumps(model.config(), sort_keys=True))
    card = folder / "README.md" if folder else None
    if card is not None and card.is_file():
        print()
        print(card.read_text(encoding="utf-8", errors="replace"))
    return 0


def _load_image(path: Path) -> np.ndarray:
    from ._image_input import read_image  # bounded (decompression bombs, 1x1 images), RGBA

    return read_image(path)


def _check_run_args(args) -> None:
    """The checks of ``cax-zoo run``'s options, before any model is loaded."""
    from ._atomic import check_output_file

    check_output_file(args.out, suffixes=(".gif", ".png", ".npz"))
    _check_range("--steps", args.steps, minimum=0, maximum=INT32_MAX)
    _check_range("--seed", args.seed, minimum=0, maximum=UINT32_MAX)
    _check_range("--every", args.every, minimum=1, maximum=INT32_MAX)
    _check_range("--fps", args.fps, minimum=1e-3, maximum=MAX_FPS)
    if args.image is not None and not args.image.is_file():
        raise ConfigError(f"--image {args.image} is not a file")
    if args.task is not None:
        clash = [f for f, v in (("--image", args.image), ("--target", args.target), ("--size", args.size),
                                ("--every", args.every),
                                ("--damage-at", args.damage_at)) if v is not None]
        if clash:
            raise ConfigError(f"--task solves a task file; {', '.join(clash)} do not apply to it")
        if not args.task.is_file():
            raise ConfigError(f"--task {args.task} is not a file")


def _cmd_run(args) -> int:
    from ._pretrained import load

    _check_run_args(args)
    config = _parse_config(args.config)
    if args.rule is not None:
        config["rule"] = _parse_value(args.rule) if args.rule.isdigit() else args.rule
    model = load(args.name, revision=args.revision, **config)
    return _run_model(model, args)


def run_to_file(model, name: str, run_args: list[str], out: str | Path) -> Path:
    """Run ``model`` (already built or trained, shown as ``name``) exactly as
    ``cax-zoo run NAME *run_args --out OUT`` would run the model it loads, and write the
    picture to ``out``: the release code makes its preview GIF with this."""
    argv = _join_negative_values(["run", name, *run_args, "--out", str(out), "--no-progress"])
    try:
        with contextlib.redirect_stderr(io.StringIO()) as err:
            args = build_parser().parse_args(argv)
    except SystemExit:
        raise ConfigError(f"bad cax-zoo run arguments {' '.join(run_args)!r}: "
                          f"{(err.getvalue().strip().splitlines() or ['?'])[-1]}") from None
    if args.config or args.rule is not None or args.revision is not None:
        raise ConfigError("run_to_file runs a given model: --config, --rule and --revision do not apply")
    _check_run_args(args)
    with contextlib.redirect_stdout(io.StringIO()):
        _run_model(model, args)
    return Path(out)


def _run_model(model, args) -> int:
    """Everything ``cax-zoo run`` does once the model is loaded."""
    import jax

    from ._atomic import atomic_write
    from ._images import write_gif, write_png

    suffix = args.out.suffix.lower()
    key = None if args.seed is None else jax.random.PRNGKey(args.seed)
    if args.task is not None:
        return _run_task(model, args, suffix)
    steps = 256 if args.steps is None else args.steps
    image = _load_image(args.image) if args.image is not None else None
    target = {} if args.target is None else {"target": args.target}
    if target and "target" not in getattr(model, "cli_options", ()):  # what the family declares it takes
        raise ConfigError(f"{args.name} does not take a --target (conditional models do, e.g. conditional_nca/animals)")
    if hasattr(model, "cli_setup"):
        state, inp = model.cli_setup(size=args.size, key=key, image=image, **target)
    else:
        if image is not None:
            raise ConfigError(f"{args.name} does not take an --image")
        state, inp = model.init_state(args.size, key=key), None
    if args.damage_at is not None:
        if not hasattr(model, "damage_state"):
            raise ConfigError(f"{args.name} has no damage hook; --damage-at is for models that regenerate "
                              "(e.g. growing_nca/lizard)")
        if not 0 < args.damage_at < steps:
            raise ConfigError(f"--damage-at must be between 0 and --steps ({steps}), got {args.damage_at}")
    every = args.every or (max(1, steps // 200) if suffix == ".gif" else steps or 1)
    one_d = getattr(model, "num_spatial_dims", None) == 1
    if suffix == ".png" and one_d and args.every is None:
        every = 1
    want_traj = suffix in (".gif", ".npz") or one_d
    if args.damage_at is None:
        final, traj = _rollout_with_progress(model, state, steps, inp, every, key, want_traj,
                                             show=not args.no_progress)
    else:  # grow, damage, regrow: the damaged state is the first frame of the second part
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        grown, traj1 = _rollout_with_progress(model, state, args.damage_at, inp, every, keys[0], want_traj,
                                              show=not args.no_progress)
        final, traj2 = _rollout_with_progress(model, model.damage_state(grown), steps - args.damage_at,
                                              inp, every, keys[1], want_traj, show=not args.no_progress)
        traj = None if traj1 is None else jax.tree_util.tree_map(
            lambda a, b: np.concatenate([np.asarray(a), np.asarray(b)]), traj1, traj2)
    if suffix == ".npz":
        arrays = {"final": np.asarray(jax.device_get(jax.tree_util.tree_leaves(final)[0]))}
        if traj is not None:
            arrays["trajectory"] = np.asarray(jax.device_get(jax.tree_util.tree_leaves(traj)[0]))
        with atomic_write(args.out) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    elif suffix == ".png":
        image_out = model.render_trajectory(traj)[0] if one_d else model.render(final)
        write_png(args.out, *_with_legend(model, [image_out]))
    else:
        frames = model.render_trajectory(traj)
        write_gif(args.out, _with_legend(model, frames), fps=args.fps)
    print(f"wrote {args.out} ({args.name}, {steps} steps)")
    if hasattr(model, "cli_summary"):  # what the run concluded, e.g. the digit a classifier saw
        line = model.cli_summary(final)
        if line:
            print(line)
    return 0


def _with_legend(model, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Frames enlarged for display, with the model's legend (``cli_legend(width)``: an RGB
    strip, e.g. which colour is which class) under each; unchanged for models without one."""
    if not hasattr(model, "cli_legend"):
        return list(frames)
    from ._images import upscale

    big = [upscale(np.asarray(f)) for f in frames]
    legend = np.asarray(model.cli_legend(big[0].shape[1]), np.uint8)
    return [np.concatenate([f, legend], axis=0) for f in big]


def _run_task(model, args, suffix: str) -> int:
    """``cax-zoo run NAME --task FILE.json``: the model solves the task file (a model with a
    ``cli_task`` hook) and the picture shows input, prediction and expected output."""
    from ._atomic import atomic_write
    from ._images import write_gif, write_png

    if not hasattr(model, "cli_task"):
        raise ConfigError(f"{args.name} does not solve task files; --task is for models such as arc1d_nca")
    result = model.cli_task(args.task, steps=args.steps, seed=0 if args.seed is None else args.seed)
    if suffix == ".npz":
        with atomic_write(args.out) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **result.arrays)
    elif suffix == ".png":
        write_png(args.out, result.image, min_size=0)  # drawn at display size already
    else:
        write_gif(args.out, [result.image], fps=args.fps, min_size=0)
    print(f"wrote {args.out} ({args.name}, task {args.task.name})")
    print(result.summary)
    return 0


def _rollout_with_progress(model, state, steps, inp, every, key, trajectory, *, show: bool):
    """Run in chunks so a progress bar can follow long runs; the chunks join exactly."""
    import jax
    import jax.numpy as jnp
    from tqdm import tqdm

    chunk = max(every, (1000 // every) * every)  # a multiple of every
    sampled = steps - steps % every if trajectory else 0
    parts = []
    if trajectory and sampled == 0:
        parts.append(jax.tree_util.tree_map(lambda x: x[None], state))
    done = 0
    start = time.perf_counter()
    with tqdm(total=steps, unit="step", disable=not show or steps < 2 * chunk, leave=False) as bar:
        while done < steps:
            n = min(chunk, steps - done)
            sub = None
            if key is not None:
                key, sub = jax.random.split(key)
            if done < sampled:
                n = min(n, sampled - done)
                state, traj = model.rollout(state, n, input=inp, every=every, key=sub, trajectory=True)
                parts.append(traj if not parts else jax.tree_util.tree_map(lambda x: x[1:], traj))
            else:
                state = model.rollout(state, n, input=inp, key=sub)
            done += n
            bar.update(n)
    jax.block_until_ready(state)
    if show and steps >= 2 * chunk:
        print(f"{steps} steps in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    traj = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs, axis=0), *parts) if parts else None
    return state, traj


def _cmd_push(args) -> int:
    from ._pretrained import push_to_hub

    url = push_to_hub(args.name, args.repo_id, private=args.private or None, revision=args.revision)
    print(f"pushed {args.name} to {url}")
    return 0


def _trainable() -> list[str]:
    from ._registry import get_entry, list_models

    return [n for n in list_models() if get_entry(n).recipe is not None]


def _train_help() -> str:
    from ._registry import get_entry

    lines = ["usage: cax-zoo train NAME [recipe options] (cax-zoo train NAME --help lists them)", "",
             "Train a model with its recipe; options after NAME go to the recipe.", "",
             "trainable models:"]
    names = _trainable()
    width = max([len(n) for n in names] + [4])
    lines += [f"  {n:<{width}}  {get_entry(n).recipe}" for n in names]
    return "\n".join(lines)


def _cmd_train(args) -> int:
    from ._registry import get_entry

    entry = get_entry(args.name)
    if entry.recipe is None:
        raise ConfigError(f"{args.name} has no training recipe (trainable: {', '.join(_trainable())})")
    try:
        recipe = importlib.import_module(entry.recipe)
    except ModuleNotFoundError as e:
        raise ConfigError(f"recipe module {entry.recipe!r} of {args.name} cannot be imported: {e}") from None
    from ._training._recipe_cli import INVOKED_AS

    token = INVOKED_AS.set(args.name)
    try:
        return int(recipe.main(list(args.recipe_args)) or 0)
    finally:
        INVOKED_AS.reset(token)


def _parse_indices(text: str) -> list[int]:
    """``"21-29"`` (inclusive) or ``"3,5,8"`` as a list of instance indices."""
    problem = ConfigError(f"--indices must be A-B (0 <= A <= B) or I,J,... (non-negative integers); got {text!r}")
    try:
        if "-" in text:
            first, _, last = text.partition("-")
            indices = list(range(int(first), int(last) + 1))
        else:
            indices = [int(part) for part in text.split(",")]
    except ValueError:
        raise problem from None
    if not indices or min(indices) < 0 or max(indices) > 1_000_000:
        raise problem
    return indices


def _cmd_eval(args) -> int:
    from ._atomic import atomic_write_text, check_output_file
    from ._pretrained import load, resolve
    from ._registry import family_name, get_entry

    # a saved folder or Hub repo is scored by its family's evaluation, after the checks
    registered = resolve(args.name)[0] == "registry"
    entry = get_entry(args.name) if registered else None
    if entry is not None and entry.evaluate is None:
        raise ConfigError(f"{args.name} has no evaluation")
    if args.json is not None:
        check_output_file(args.json, what="--json")
    _check_range("--steps", args.steps, minimum=0, maximum=INT32_MAX)
    _check_range("--limit", args.limit, minimum=1, maximum=INT32_MAX)
    _check_range("--seed", args.seed, minimum=0, maximum=INT32_MAX)
    if args.data is not None and not args.data.is_dir():
        raise ConfigError(f"--data {args.data} is not a folder")
    indices = None if args.indices is None else _parse_indices(args.indices)
    if entry is None:
        model = load(args.name, revision=args.revision)
        entry = get_entry(family_name(model))
        if entry.evaluate is None:
            raise ConfigError(f"{args.name} (a {entry.name} model) has no evaluation")
    else:
        model = load(args.name, revision=args.revision, pretrained=True if entry.learned else None)
    options: dict[str, Any] = {}
    if args.limit is not None:
        options["limit"] = args.limit
    if args.seed is not None:
        options["seed"] = args.seed
    if indices is not None:
        options["indices"] = indices
    metrics = entry.evaluate(model, data=args.data, steps=args.steps, **options)
    text = json.dumps(metrics, indent=2, sort_keys=True)
    if args.json is not None:
        atomic_write_text(args.json, text + "\n")
        print(f"wrote {args.json}")
    else:
        print(text)
    return 0


_COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "run": _cmd_run,
    "push": _cmd_push,
    "train": _cmd_train,
    "eval": _cmd_eval,
}
