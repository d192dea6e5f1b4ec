"""Give every released model card (``weights/<name>/README.md``) the Hub's YAML front matter,
built by the release code (``cax_zoo.training.card_data``) from the metrics recorded in the
folder's ``config.json`` and the card spec the model's family declares when it registers
(``cax_zoo.training.card_spec``); the card's body is kept, except that machine-local paths in its
commands are made relative and, where the body quotes no ``cax-zoo eval`` command, the one
that reproduces its figures is added under the title.

    python scripts/card_front_matter.py [--check]

``--check`` changes nothing and exits 1 if a card is not current (``tests/test_docs.py``
runs the same check). The manifest is refreshed through the project's manifest function
(it records the weights and config, which this script does not touch).
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import cax_zoo
from cax_zoo.training import card_body, card_data, eval_command, portable_command, with_front_matter

_CODE = re.compile(r"(```[^\n]*\n)(.*?)(```)", re.S)


def current_card(name: str) -> str:
    """The card of the released model ``name`` as this script writes it."""
    folder = cax_zoo.weights_root() / name
    card = (folder / "README.md").read_text(encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    metrics = config.get("metrics", {})
    family = name.split("/")[0]
    body = _CODE.sub(lambda m: m.group(1) + portable_command(m.group(2).rstrip("\n"), name) + "\n" + m.group(3),
                     card_body(card))
    command = eval_command(name, family, metrics)
    if command and "cax-zoo eval" not in body:
        title, _, rest = body.partition("\n")
        body = f"{title}\n\nReproduce the figures below: `{command}`.\n{rest}"
    return with_front_matter(body, card_data(name, family, metrics, paper=cax_zoo.get_entry(name).paper))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="report stale cards, change nothing")
    args = p.parse_args(argv)
    stale = []
    for name in cax_zoo.list_models(pretrained=True):
        path = cax_zoo.weights_root() / name / "README.md"
        new = current_card(name)
        if path.read_text(encoding="utf-8") == new:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(new, encoding="utf-8")
            from cax_zoo._weights import record_in_manifest  # the project's manifest function

            record_in_manifest(cax_zoo.weights_root(), name, path.parent)
            print(f"updated {path}")
    if args.check and stale:
        print("stale model cards (run python scripts/card_front_matter.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
