"""What users read imports only public names: no ``cax_zoo._private`` module in the README,
the docs (pages and notebooks), the model cards, the recipes or the benchmarks, and no
private attribute of what recipes and benchmarks import (``recipe._fresh``)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"\bcax_zoo\._(?!_)\w+|\bfrom\s+cax_zoo\S*\s+import\s+\(?\s*_(?!_)\w+")
USER_FACING = ["README.md", "docs/**/*.md", "docs/**/*.ipynb", "weights/**/README.md",
               "recipes/**/*.py", "benchmarks/**/*.py", "benchmarks/**/*.md"]


def _files(root: Path, patterns: list[str]):
    """``(path relative to root, text)`` of every file matching ``patterns``."""
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            yield path.relative_to(root), path.read_text(encoding="utf-8")


def private_references(root: Path = ROOT) -> list[str]:
    """``path:line: name`` of every mention of a private cax_zoo module under ``root``."""
    found = []
    for path, text in _files(root, USER_FACING):
        for number, line in enumerate(text.splitlines(), start=1):
            found += [f"{path}:{number}: {m}" for m in PRIVATE.findall(line)]
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


CODE = ["recipes/**/*.py", "benchmarks/**/*.py"]
OURS = ("cax_zoo", "recipes")


def _imported_names(tree: ast.Module) -> tuple[set[str], list[tuple[int, str]]]:
    """The names a module binds by importing ``cax_zoo``/``recipes`` modules or their
    members, and ``(line, name)`` of every private name it imports from them."""
    names, private = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in OURS):
            for alias in node.names:
                names.add(alias.asname or alias.name)
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    private.append((node.lineno, f"from {'.' * node.level}{node.module or ''} import {alias.name}"))
    return names, private


def private_attribute_uses(root: Path = ROOT) -> list[str]:
    """``path:line: name._attr`` wherever a recipe or benchmark reaches a private attribute
    of something it imported from ``cax_zoo`` or ``recipes`` (``recipe._fresh``,
    ``cax_zoo.lenia._x``), and every private name it imports from them. Attributes of its
    own objects (CAX's ``cs._step`` in a comparison) are not ours and pass."""
    found = []
    for path, text in _files(root, CODE):
        tree = ast.parse(text, filename=str(path))
        names, uses = _imported_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in names:
                    uses.append((node.lineno, ast.unparse(node)))
        found += [f"{path}:{line}: {use}" for line, use in sorted(uses)]
    return found


def test_recipes_and_benchmarks_use_public_attributes_only():
    found = private_attribute_uses()
    assert not found, "private attributes in recipes/benchmarks:\n" + "\n".join(found)


def test_the_check_sees_private_attribute_access(tmp_path):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "b.py").write_text(
        "import cax_zoo\nfrom recipes import mnist_self_classify as recipe\nfrom cax_zoo import Life\n"
        "pool = recipe._fresh(1)\nloss = recipe.per_sample_loss(1)\ncs = object()\ncs._step(1)\n"
        "cax_zoo.lenia._radius\nLife._update\nfrom recipes.growing_nca import _loss\nrecipe.__name__\n")
    assert private_attribute_uses(tmp_path) == [
        "benchmarks/b.py:4: recipe._fresh", "benchmarks/b.py:8: cax_zoo.lenia._radius",
        "benchmarks/b.py:9: Life._update", "benchmarks/b.py:10: from recipes.growing_nca import _loss"]
