"""Every ```python block in docs/ runs, and prints what it says (```py blocks are shown, not
run: Hub, long jobs).

A statement whose line ends in ``# -> TEXT`` must print exactly ``TEXT`` (as in the
README); a ``print(...)`` line that ends in any other comment fails, so a value quoted in a
comment is always one that is checked. Notes about a value go on the line above it.
"""

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text())
ARROW = re.compile(r"#\s*->\s?(.*?)\s*$")
PRINT_WITH_COMMENT = re.compile(r"^\s*print\(.*\)\s*#(?!\s*->)")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every ```python block of a page."""
    out = []
    for m in re.finditer(r"```python\n(.*?)```", text, flags=re.S):
        out.append((text.count("\n", 0, m.start(1)) + 1, m.group(1)))
    return out


def expected_outputs(code: str) -> dict[int, str]:
    """``{line number in the block: text}`` for every ``# -> text`` comment."""
    out = {}
    for i, line in enumerate(code.splitlines(), start=1):
        m = ARROW.search(line)
        if m and "#" in line:
            out[i] = m.group(1)
    return out


def run_checked(code: str, filename: str, first_line: int, namespace: dict) -> None:
    """Run ``code`` a top-level statement at a time, comparing each ``# ->`` comment with
    what its statement printed."""
    lines = code.splitlines()
    bare = [first_line + i for i, line in enumerate(lines) if PRINT_WITH_COMMENT.match(line)]
    assert not bare, (f"{filename}: line(s) {bare} end a print(...) in a comment that is not "
                      "'# -> printed text' (put notes on the line above)")
    expected = expected_outputs(code)
    tree = ast.parse(code, filename)
    claimed = set()
    for stmt in tree.body:
        end = stmt.end_lineno  # in the block; the statement is renumbered to the page's lines
        module = ast.Module(body=[stmt], type_ignores=[])
        ast.increment_lineno(module, first_line - 1)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(module, filename, "exec"), namespace)
        if end in expected and not hasattr(stmt, "body"):  # not inside a loop or a def
            claimed.add(end)
            printed = buf.getvalue().rstrip("\n")
            want = expected[end]
            assert printed == want, (f"{filename}:{first_line + end - 1}: printed "
                                     f"{printed!r}, the page says {want!r}")
    stray = sorted(first_line + n - 1 for n in set(expected) - claimed)
    assert not stray, f"{filename}: '# ->' comment(s) on line(s) {stray} do not end a top-level statement"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_docs_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for first_line, block in python_blocks(page.read_text()):
        # blocks of a page share one namespace, as a reader's session would
        run_checked(block, str(page), first_line, namespace)


def test_checker_catches_a_wrong_value():
    ok = "x = 2\nprint(x + 1)   # -> 3\n"
    run_checked(ok, "ok.md", 1, {})
    with pytest.raises(AssertionError, match="printed '3', the page says '4'"):
        run_checked(ok.replace("-> 3", "-> 4"), "bad.md", 1, {})
    with pytest.raises(AssertionError, match="not '# -> printed text'"):
        run_checked("print(1)   # 1\n", "bare.md", 1, {})
    with pytest.raises(AssertionError, match="do not end a top-level statement"):
        run_checked("for i in range(2):\n    print(i)   # -> 0\n", "loop.md", 1, {})


# ---------------------------------------------------------------- pictures, API pages, cards

ROOT = DOCS.parent


def _script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"cax_zoo_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_family_page_gets_pictures_of_every_model():
    """The docs hook puts the pictures of all the family's models under each family page's
    title; every registered model belongs to a family that has a page."""
    import cax_zoo

    hooks, media = _script("docs_hooks"), _script("make_media")
    pages = {p.stem for p in (DOCS / "families").glob("*.md")}
    assert {n.split("/")[0] for n in cax_zoo.list_models()} <= pages
    for family in sorted(pages):
        strip = hooks.family_pictures(family)
        for name in cax_zoo.list_models():
            if name.split("/")[0] == family and not media.borrowed(name):
                if media.pictured(name):
                    assert f"(../media/zoo/{name.replace('/', '-')}.gif)" in strip
                    assert f"cax-zoo run {name} " in strip
                else:  # a learned model without weights: said, not drawn
                    assert f"`{name}` has no released weights yet" in strip and f"{name.replace('/', '-')}.gif" not in strip
                    assert f"(../media/zoo/{name.replace('/', '-')}-setup.png)" in strip


def test_api_pages_cover_every_public_module():
    hooks = _script("docs_hooks")
    modules = hooks.public_modules()
    assert {"cax_zoo", "cax_zoo.blocks", "cax_zoo.training"} <= set(modules)
    assert not [m for m in modules if "._" in m]
    page = hooks.api_page("cax_zoo.blocks")
    assert page.startswith("# `cax_zoo.blocks`\n\n::: cax_zoo.blocks\n") and "        - pack\n" in page
    assert "load" in hooks.public_names("cax_zoo") and "annotations" not in hooks.public_names("cax_zoo.training")


def test_zoo_pictures_come_from_cax_zoo_run(tmp_path):
    """Two real pictures through the same path the docs build takes: `cax-zoo run`, then a
    thumbnail under the size limit."""
    from PIL import Image

    media = _script("make_media")
    (tmp_path / "zoo").mkdir()
    seconds, errors = media._run_pictures(str(tmp_path), ["life/highlife", "elementary"])
    assert not errors, errors
    for name in ("life-highlife", "elementary"):
        path = tmp_path / "zoo" / f"{name}.gif"
        assert 0 < path.stat().st_size <= media.MAX_BYTES
        with Image.open(path) as im:
            assert max(im.size) <= media.THUMB_SIDE and getattr(im, "n_frames", 1) <= media.THUMB_FRAMES
    assert media.command("life/highlife").startswith("cax-zoo run life/highlife --size 64 ")
    assert media.command("growing_nca") == media.command("growing_nca/lizard")


def test_plots_of_release_metrics(tmp_path):
    media = _script("make_media")
    for make, name in ((media.mnist_accuracy_plot, "m.png"), (media.arc1d_bars, "a.png")):
        make(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_loss_curve_png():
    from cax_zoo.training import TRAINING_PLOT, loss_curve_png, training_figures

    history = [[i, 1.0 / (1 + i)] for i in range(200)]
    png = loss_curve_png(history, title="t")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert set(training_figures(history)) == {TRAINING_PLOT}
    with pytest.warns(UserWarning, match="no finite loss"):
        assert training_figures([[0, float("nan")]]) == {}


def test_card_front_matter_follows_hub_conventions():
    from huggingface_hub import ModelCard

    from cax_zoo.training import card_data, portable_command, read_card_data, with_front_matter

    metrics = {"accuracy_by_step": {"100": 0.95, "200": 0.9475}, "pixel_accuracy_by_step": {"100": 0.94},
               "steps": 100}
    data = card_data("mnist_self_classify", "mnist_self_classify", metrics, paper="x (arXiv:2410.02651)")
    card = with_front_matter("# mnist_self_classify\n\nbody\n", data)
    parsed = ModelCard(card).data.to_dict()
    assert parsed["library_name"] == "cax_zoo" and parsed["license"] == "mit"
    assert parsed["datasets"] == ["ylecun/mnist"] and "arxiv:2410.02651" in parsed["tags"]
    values = [m["value"] for m in parsed["model-index"][0]["results"][0]["metrics"]]
    assert values == [0.95, 0.9475, 0.94]
    again = with_front_matter(card, data)  # front matter is replaced, the body kept
    assert again == card and again.endswith("# mnist_self_classify\n\nbody\n")
    assert read_card_data(card).to_dict() == parsed
    assert portable_command("cax-zoo train x --out /work/train/x --config a=1") == \
        "cax-zoo train x --out runs/x --config a=1"
    assert portable_command("cax-zoo eval x --data /home/me/data") == "cax-zoo eval x --data $CAX_ZOO_DATA"
    assert portable_command("cax-zoo train a/b --pretrained /w/run3/a/b --out=/w/run4", "a/b") == \
        "cax-zoo train a/b --pretrained runs/run3/a/b --out=runs/run4"
    assert portable_command("cax-zoo train x --config 'lr_boundaries=[700]'") == \
        "cax-zoo train x --config 'lr_boundaries=[700]'"


def test_released_model_cards_are_current():
    """Each weights/*/README.md carries the front matter the release code builds from its
    recorded metrics, and no machine-local path (regenerate: python scripts/card_front_matter.py)."""
    import cax_zoo

    cards = _script("card_front_matter")
    stale = [n for n in cax_zoo.list_models(pretrained=True)
             if (cax_zoo.weights_root() / n / "README.md").read_text(encoding="utf-8") != cards.current_card(n)]
    assert not stale, f"stale model cards: {stale} (run python scripts/card_front_matter.py)"
    local = [n for n in cax_zoo.list_models(pretrained=True)
             if re.search(r"(^|\s)/(work|home|tmp|Users)/", (cax_zoo.weights_root() / n / "README.md").read_text())]
    assert not local, f"machine-local paths in the cards of {local}"
