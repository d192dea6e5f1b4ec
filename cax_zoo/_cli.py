"""The ``cax-zoo`` command line: list, info, run, push, train, eval.

Errors a user can cause end in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import CaxZooError, ConfigError, StateError

EXIT_USAGE = 2


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


def _parse_config(pairs: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError(f"bad --config entry {pair!r}: expected key=value")
        config[key] = _parse_value(value)
    return config


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
    s.add_argument("name")

    s = sub.add_parser("run", help="run a model and write a GIF, PNG or NPZ")
    s.add_argument("name")
    s.add_argument("--rule", default=None, help="rule for rule families (e.g. B36/S23, 110)")
    s.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="extra model config (repeatable)")
    s.add_argument("--revision", default=None, help="Hub revision (for Hub repo ids)")
    s.add_argument("--steps", type=int, default=256)
    s.add_argument("--size", type=_parse_size, default=None, help="grid size, e.g. 256 or 128x128")
    s.add_argument("--seed", type=int, default=None, help="random initial state from this seed")
    s.add_argument("--image", type=Path, default=None, help="input image for models that take one")
    s.add_argument("--every", type=int, default=None, help="keep a frame every N steps")
    s.add_argument("--damage-at", type=int, default=None, metavar="STEP",
                   help="damage the state at this step, then run on (models that regenerate, "
                        "e.g. growing_nca/lizard)")
    s.add_argument("--fps", type=float, default=20.0)
    s.add_argument("--out", type=Path, required=True, help="output .gif, .png or .npz")
    s.add_argument("--no-progress", action="store_true")

    s = sub.add_parser("push", help="upload a released model folder to the Hugging Face Hub")
    s.add_argument("name", help="registered name or a saved model folder")
    s.add_argument("--repo-id", required=True)
    s.add_argument("--revision", default=None)
    s.add_argument("--private", action="store_true")

    s = sub.add_parser("train", help="train a model with its recipe (options go to the recipe)",
                       add_help=False)
    s.add_argument("name")
    s.add_argument("recipe_args", nargs=argparse.REMAINDER)

    s = sub.add_parser("eval", help="evaluate a model on its benchmark")
    s.add_argument("name")
    s.add_argument("--data", type=Path, default=None, help="dataset folder (default: $CAX_ZOO_DATA)")
    s.add_argument("--steps", type=int, default=None)
    s.add_argument("--limit", type=int, default=None, help="score only the first N examples")
    s.add_argument("--json", type=Path, default=None, help="write the metrics here")
    s.add_argument("--revision", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except CaxZooError as e:
        print(f"cax-zoo: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cax-zoo: interrupted", file=sys.stderr)
        return 130


def _cmd_list(args) -> int:
    from ._registry import get_entry, list_models, pretrained_folder

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
    from ._registry import get_entry, pretrained_folder

    lines = [
        "# The zoo",
        "",
        "Generated from the registry by `cax-zoo list --markdown > docs/zoo.md` "
        "(a test keeps it current).",
        "",
        "| name | pretrained | recipe | evaluation | description | paper |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        e = get_entry(n)
        cells = [f"`{n}`", "yes" if pretrained_folder(n) else "-", f"`{e.recipe}`" if e.recipe else "-",
                 f"`cax-zoo eval {n}`" if e.evaluate else "-", e.description.replace("|", "/"),
                 (e.paper or "-").replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cmd_info(args) -> int:
    from ._registry import create, get_entry, load, pretrained_folder

    entry = get_entry(args.name)
    folder = pretrained_folder(args.name)
    model = load(args.name) if folder else create(args.name)
    print(f"name:        {entry.name}")
    print(f"family:      {type(model).__name__}")
    print(f"description: {entry.description}")
    if entry.paper:
        print(f"paper:       {entry.paper}")
    print(f"pretrained:  {folder if folder else 'no'}")
    print(f"recipe:      {entry.recipe or '-'}")
    print(f"evaluation:  {'cax-zoo eval ' + entry.name if entry.evaluate else '-'}")
    print("config:      " + json.dumps(model.config(), sort_keys=True))
    if folder:
        print()
        print((folder / "README.md").read_text(encoding="utf-8"))
    return 0


def _load_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "L"))
    except (OSError, UnidentifiedImageError) as e:
        raise StateError(f"cannot read image {path}: {e}") from None


def _cmd_run(args) -> int:
    import jax

    from ._images import write_gif, write_png
    from ._registry import load

    suffix = args.out.suffix.lower()
    if suffix not in (".gif", ".png", ".npz"):
        raise ConfigError(f"--out must end in .gif, .png or .npz, got {args.out.name!r}")
    if args.steps < 0:
        raise ConfigError(f"--steps must be >= 0, got {args.steps}")
    if not args.out.parent.exists():
        raise ConfigError(f"output folder {args.out.parent} does not exist")
    config = _parse_config(args.config)
    if args.rule is not None:
        config["rule"] = _parse_value(args.rule) if args.rule.isdigit() else args.rule
    model = load(args.name, revision=args.revision, **config)
    key = None if args.seed is None else jax.random.PRNGKey(args.seed)
    image = _load_image(args.image) if args.image is not None else None
    if hasattr(model, "cli_setup"):
        state, inp = model.cli_setup(size=args.size, key=key, image=image)
    else:
        if image is not None:
            raise ConfigError(f"{args.name} does not take an --image")
        state, inp = model.init_state(args.size, key=key), None
    if args.damage_at is not None:
        if not hasattr(model, "damage_state"):
            raise ConfigError(f"{args.name} has no damage hook; --damage-at is for models that regenerate "
                              "(e.g. growing_nca/lizard)")
        if not 0 < args.damage_at < args.steps:
            raise ConfigError(f"--damage-at must be between 0 and --steps ({args.steps}), got {args.damage_at}")
    every = args.every or (max(1, args.steps // 200) if suffix == ".gif" else args.steps or 1)
    one_d = getattr(model, "num_spatial_dims", None) == 1
    if suffix == ".png" and one_d and args.every is None:
        every = 1
    want_traj = suffix in (".gif", ".npz") or one_d
    if args.damage_at is None:
        final, traj = _rollout_with_progress(model, state, args.steps, inp, every, key, want_traj,
                                             show=not args.no_progress)
    else:  # grow, damage, regrow: the damaged state is the first frame of the second part
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        grown, traj1 = _rollout_with_progress(model, state, args.damage_at, inp, every, keys[0], want_traj,
                                              show=not args.no_progress)
        final, traj2 = _rollout_with_progress(model, model.damage_state(grown), args.steps - args.damage_at,
                                              inp, every, keys[1], want_traj, show=not args.no_progress)
        traj = None if traj1 is None else jax.tree_util.tree_map(
            lambda a, b: np.concatenate([np.asarray(a), np.asarray(b)]), traj1, traj2)
    if suffix == ".npz":
        arrays = {"final": np.asarray(jax.device_get(jax.tree_util.tree_leaves(final)[0]))}
        if traj is not None:
            arrays["trajectory"] = np.asarray(jax.device_get(jax.tree_util.tree_leaves(traj)[0]))
        np.savez_compressed(args.out, **arrays)
    elif suffix == ".png":
        image_out = model.render_trajectory(traj)[0] if one_d else model.render(final)
        write_png(args.out, image_out)
    else:
        frames = model.render_trajectory(traj)
        write_gif(args.out, frames, fps=args.fps)
    print(f"wrote {args.out} ({args.name}, {args.steps} steps)")
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
    from ._hub import push_to_hub

    url = push_to_hub(args.name, args.repo_id, private=args.private or None, revision=args.revision)
    print(f"pushed {args.name} to {url}")
    return 0


def _cmd_train(args) -> int:
    from ._registry import get_entry

    entry = get_entry(args.name)
    if entry.recipe is None:
        raise ConfigError(f"{args.name} has no training recipe (rule families need none)")
    try:
        recipe = importlib.import_module(entry.recipe)
    except ModuleNotFoundError as e:
        raise ConfigError(f"recipe module {entry.recipe!r} of {args.name} cannot be imported: {e}") from None
    return int(recipe.main(list(args.recipe_args)) or 0)


def _cmd_eval(args) -> int:
    from ._registry import get_entry, load

    entry = get_entry(args.name)
    if entry.evaluate is None:
        raise ConfigError(f"{args.name} has no evaluation")
    model = load(args.name, revision=args.revision)
    options: dict[str, Any] = {}
    if args.limit is not None:
        options["limit"] = args.limit
    metrics = entry.evaluate(model, data=args.data, steps=args.steps, **options)
    text = json.dumps(metrics, indent=2, sort_keys=True)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
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
