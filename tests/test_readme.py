"""The README's Python examples run as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_training_example_runs_as_written(tmp_path, monkeypatch):
    block = next(b for b in python_blocks() if "model.fit" in b)
    os.makedirs(tmp_path / "tests")
    os.symlink(os.path.join(ROOT, "tests", "data"), tmp_path / "tests" / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "my_model.keras").is_file()
