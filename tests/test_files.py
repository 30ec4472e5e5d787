"""Atomic writes: a file is replaced only by a complete one."""

import os

import pytest

from pixelrnn_keras.files import atomic_path, partial_path


def test_the_partial_name_keeps_the_extensions():
    assert partial_path(os.path.join("runs", "x", "final.weights.h5")) == os.path.join(
        "runs", "x", "final.partial.weights.h5"
    )
    assert partial_path("state.json") == "state.partial.json"
    assert partial_path("out") == "out.partial"
    assert partial_path(".hidden") == ".hidden.partial"


def test_a_file_is_replaced_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "state.json"
    with atomic_path(target) as partial, open(partial, "w") as f:
        f.write("1")
        assert not target.exists()
    assert target.read_text() == "1"
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_path(target) as partial, open(partial, "w") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "1" and os.listdir(tmp_path) == ["state.json"]
