"""scripts/device_train.sh, the prepared training call for a lent accelerator machine, run
here on the CPU: a call that stops early returns its checkpoint; a second call resumes
that checkpoint and returns the release, flat, as the device tool can bring it back. (Its
time limit is `timeout -s INT`; the trainer's checkpoint on an interrupt is tested in
tests/test_reliability_files.py.)"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _call(tmp_path: Path, out: str, *args: str, limit: int, resume: Path | None = None):
    env = {**os.environ, "OUT": str(tmp_path / out), "RUN": str(tmp_path / f"{out}_run"), "LIMIT": str(limit),
           "PYTHON": sys.executable, "RESUME": str(resume or tmp_path / "none")}
    return subprocess.run(["bash", "scripts/device_train.sh", "growing_nca", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=limit + 240)


def test_device_train_stops_in_time_then_resumes_and_releases(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[2:6, 2:6] = [255, 0, 0, 255]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    args = ("--smoke", "--target", str(tmp_path / "t.png"), "--config", "steps=50")
    first = _call(tmp_path, "out1", *args, "--stop-after", "3", limit=300)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    log = (tmp_path / "out1" / "log.txt").read_text()
    assert "stopped after step 3" in log and "+ cax-zoo train growing_nca" in log
    record = json.loads((tmp_path / "out1" / "ckpt" / "checkpoint.json").read_text())
    assert record["step"] == 3 and sorted(p.name for p in (tmp_path / "out1" / "ckpt").iterdir()) == [
        "checkpoint.json", record["file"]]
    assert not (tmp_path / "out1" / "release").exists()

    resume = tmp_path / "resume"
    shutil.copytree(tmp_path / "out1" / "ckpt", resume / "checkpoints")
    second = _call(tmp_path, "out2", *args, "--finish-now", limit=200, resume=resume)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"resumed from step {record['step']}" in second.stdout
    release = tmp_path / "out2" / "release"
    assert {"README.md", "config.json", "model.safetensors", "target.png"} <= {p.name for p in release.iterdir()}
    metrics = json.loads((release / "config.json").read_text())["metrics"]
    assert metrics["train_steps"] == record["step"]
    assert not (tmp_path / "out2" / "ckpt").exists()
