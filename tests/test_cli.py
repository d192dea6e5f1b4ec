"""The cax-zoo command line, run as a user runs it (a subprocess) and in-process."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cax_zoo._cli import main


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cax_zoo", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_run_life_gif_in_subprocess(tmp_path):
    out = tmp_path / "life.gif"
    r = cli("run", "life", "--steps", "64", "--size", "32x48", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.n_frames > 10 and im.size[0] > im.size[1]


def test_run_elementary_png_is_spacetime(tmp_path):
    out = tmp_path / "r90.png"
    assert main(["run", "elementary", "--rule", "90", "--steps", "31", "--size", "63", "--out", str(out)]) == 0
    img = np.asarray(Image.open(out).convert("L"))
    # 32 rows (initial + 31 steps) x 63 cells, upscaled by an integer factor
    factor = img.shape[1] // 63
    assert img.shape == (32 * factor, 63 * factor)
    cells = img[::factor, ::factor] > 127
    # rule 90 from one cell: row t is Pascal's triangle mod 2 (the Sierpinski triangle)
    from math import comb

    for t in range(32):
        expected = np.zeros(63, bool)
        for k in range(t + 1):
            if comb(t, k) % 2:
                expected[31 - t + 2 * k] = True
        np.testing.assert_array_equal(cells[t], expected)


def test_run_npz(tmp_path):
    out = tmp_path / "x.npz"
    assert main(["run", "life", "--steps", "10", "--size", "16", "--every", "5", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["trajectory"].shape == (3, 16, 16, 1) and data["final"].shape == (16, 16, 1)
    np.testing.assert_array_equal(data["trajectory"][-1], data["final"])


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "life", "--rule", "B9/S23", "--steps", "3", "--out", "x.gif"], "B9"),
        (["run", "life", "--rule", "B3S23x", "--steps", "3", "--out", "x.gif"], "B3S23x"),
        (["run", "lief", "--steps", "3", "--out", "x.gif"], "did you mean 'life'"),
        (["run", "../weights/life", "--steps", "3", "--out", "x.gif"], "looks like a path"),
        (["run", "life", "--steps", "3", "--size", "4x4x4", "--out", "x.gif"], "(4, 4, 4)"),
        (["run", "life", "--steps", "3", "--out", "x.bmp"], ".gif, .png or .npz"),
        (["run", "elementary", "--rule", "256", "--steps", "3", "--out", "x.png"], "256 out of range"),
        (["run", "life", "--config", "nonsense", "--steps", "3", "--out", "x.gif"], "key=value"),
        (["info", "nope"], "unknown model 'nope'"),
        (["train", "life"], "no training recipe"),
        (["eval", "life"], "no evaluation"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cax-zoo: error:"), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr


def test_list_and_info(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"life", "elementary"} <= {r["name"] for r in rows}
    assert main(["info", "life"]) == 0
    out = capsys.readouterr().out
    assert "B3/S23" in out and "family:" in out


def test_zoo_page_is_current():
    """docs/zoo.md is what the registry says (regenerate: cax-zoo list --markdown > docs/zoo.md)."""
    from pathlib import Path

    from cax_zoo import list_models
    from cax_zoo._cli import zoo_table

    page = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"
    assert page.read_text() == zoo_table(list_models())
