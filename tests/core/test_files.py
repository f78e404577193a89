import os

import numpy as np
import pytest

from panoptix.core import FormatError, OutputError
from panoptix.io.files import atomic_write, read_image, read_json, read_png, write_json, write_png


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_unwritable_output_is_output_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "x").write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        write_json(ro / "x" / "y.json", {})   # parent is a file


def test_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="bad.json: invalid JSON"):
        read_json(bad)
    with pytest.raises(FormatError, match="missing.json: file not found"):
        read_json(tmp_path / "missing.json")


def test_png_round_trip_and_truncated_png(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_png(tmp_path / "a.png", arr)
    assert np.array_equal(read_png(tmp_path / "a.png"), arr)
    wide = np.array([[0, 300]], dtype=np.int64)
    write_png(tmp_path / "w.png", wide)
    assert read_png(tmp_path / "w.png").tolist() == [[0, 300]]
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="t.png: not a readable image"):
        read_png(tmp_path / "t.png")
    (tmp_path / "n.png").write_text("hello")
    with pytest.raises(FormatError, match="n.png"):
        read_png(tmp_path / "n.png")


def test_read_image_converts_gray_rgba_and_16bit(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((2, 3), 7, np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(np.zeros((2, 3, 4), np.uint8), "RGBA").save(tmp_path / "r.png")
    Image.fromarray(np.full((2, 3), 4000, np.uint16)).save(tmp_path / "s.png")
    for name in ("g.png", "r.png", "s.png"):
        img = read_image(tmp_path / name)
        assert img.shape == (2, 3, 3) and img.dtype == np.uint8
