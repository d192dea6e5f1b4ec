"""The wheel ships the library, the recipes and every released weight folder, so load()
works from an installed package with no network."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_weights_and_recipes(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("cax_zoo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cax_zoo/__init__.py" in names and "recipes/__init__.py" in names
    assert "cax_zoo/weights/manifest.json" in names
    manifest = json.loads((ROOT / "weights" / "manifest.json").read_text())
    for name, files in manifest.items():
        for filename in list(files) + ["README.md"]:
            assert f"cax_zoo/weights/{name}/{filename}" in names


def test_weights_root_prefers_the_packaged_folder(tmp_path, monkeypatch):
    import cax_zoo
    from cax_zoo import _weights

    monkeypatch.delenv("CAX_ZOO_WEIGHTS", raising=False)
    assert cax_zoo.weights_root() == ROOT / "weights"  # editable install / source checkout
    fake_pkg = tmp_path / "cax_zoo"
    (fake_pkg / "weights").mkdir(parents=True)
    monkeypatch.setattr(_weights, "__file__", str(fake_pkg / "_weights.py"))
    assert cax_zoo.weights_root() == fake_pkg / "weights"  # installed wheel
