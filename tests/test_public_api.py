"""What users read imports only public names: no ``cax_zoo._private`` module in the README,
the docs (pages and notebooks), the model cards, the recipes or the benchmarks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"\bcax_zoo\._(?!_)\w+|\bfrom\s+cax_zoo\S*\s+import\s+\(?\s*_(?!_)\w+")
USER_FACING = ["README.md", "docs/**/*.md", "docs/**/*.ipynb", "weights/**/README.md",
               "recipes/**/*.py", "benchmarks/**/*.py", "benchmarks/**/*.md"]


def private_references(root: Path = ROOT) -> list[str]:
    """``path:line: name`` of every mention of a private cax_zoo module under ``root``."""
    found = []
    for pattern in USER_FACING:
        for path in sorted(root.glob(pattern)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                found += [f"{path.relative_to(root)}:{number}: {m}" for m in PRIVATE.findall(line)]
    return found


def test_user_facing_files_use_public_names_only():
    found = private_references()
    assert not found, "private names in user-facing files:\n" + "\n".join(found)


def test_the_check_sees_a_private_import(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "r.py").write_text("import cax_zoo\nfrom cax_zoo._training import x\n"
                                              "from cax_zoo import _families\n")
    (tmp_path / "README.md").write_text("cax_zoo.load, cax_zoo.blocks, cax_zoo.__version__: public\n")
    assert private_references(tmp_path) == ["recipes/r.py:2: cax_zoo._training",
                                            "recipes/r.py:3: from cax_zoo import _families"]
