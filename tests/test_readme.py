"""The README stays true: its set-up commands are the ones CI runs, and its Python quick
start runs and prints what it says."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_install_run_test():
    first = _blocks("bash")[0].strip().splitlines()
    assert first[0].startswith("pip install -e")
    assert first[1].startswith("cax-zoo run ")
    assert first[2].split()[0] == "pytest"
    assert README.index("```bash") < README.index("```python")


def test_readme_run_command_works(tmp_path):
    cmd = _blocks("bash")[0].strip().splitlines()[1].split()
    assert cmd[0] == "cax-zoo"
    r = subprocess.run([sys.executable, "-m", "cax_zoo", *cmd[1:]], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / cmd[cmd.index("--out") + 1]
    assert out.stat().st_size > 1000


def test_readme_python_quick_start():
    code = _blocks("python")[0]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "README.md", "exec"), {})
    printed = buf.getvalue().splitlines()
    # each print(...)  # -> TEXT  in the README prints exactly TEXT, in order
    expected = [m.group(1).strip() for m in re.finditer(r"print\(.*\)\s+# -> (.*)$", code, flags=re.M)]
    assert len(expected) >= 3
    assert printed == expected
