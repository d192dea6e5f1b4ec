"""The notebooks in docs/notebooks/ run from top to bottom without an error (nbclient), as
a reader would run them; each stays small (CI runs them all)."""

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "docs" / "notebooks").glob("*.ipynb"))
SECONDS_EACH = 60  # a notebook that needs longer has grown out of "tiny settings"


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {"getting_started", "fine_tuning", "mnist_self_classify", "growing_nca_lizard",
            "arc1d_nca"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), \
        f"{path.name} is committed with outputs; clear them (the docs show the code, CI runs it)"
    t0 = time.perf_counter()
    client = NotebookClient(book, timeout=SECONDS_EACH * 2, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # the kernel inherits os.environ
    client.execute()
    seconds = time.perf_counter() - t0
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {}) or "image/gif" in o.get("data", {})]
    assert images, f"{path.name} shows no picture"
    assert seconds < SECONDS_EACH, f"{path.name} took {seconds:.0f} s"
