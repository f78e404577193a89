"""The label PNG decoder of the evaluation folder paths: same pixels as Pillow for every PNG
kind, clear errors on broken files, and the id arithmetic on raw bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from panoptix.core.errors import FormatError
from panoptix.metrics import _png
from panoptix.metrics.panoptic import _ids24, _swap_rb


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _cases():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (13, 17, 3)).astype(np.uint8)
    rgb[4:9] = rgb[3]  # some flat rows, as label maps have
    grey = rng.integers(0, 40, (13, 17)).astype(np.uint8)
    grey16 = rng.integers(0, 65536, (13, 17)).astype(np.int32)
    pal = Image.frombytes("P", (17, 13), grey.tobytes())
    pal.putpalette(list(rng.integers(0, 256, 768)))
    return {
        "rgb": _png_bytes(Image.fromarray(rgb)),
        "rgba": _png_bytes(Image.fromarray(np.dstack([rgb, rgb[..., :1]]))),
        "grey": _png_bytes(Image.fromarray(grey)),
        "grey16": _png_bytes(Image.fromarray(grey16).convert("I;16")),
        "palette": _png_bytes(pal),
        "grey_alpha": _png_bytes(Image.fromarray(np.dstack([grey, grey]), mode="LA")),
        "interlaced_rgb": _interlaced(rgb),
        "level0": _png_bytes(Image.fromarray(rgb), compress_level=0),
    }


def _interlaced(rgb) -> bytes:
    """An Adam7-interlaced RGB PNG written by hand (Pillow and OpenCV do not write them)."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    h, w, _ = rgb.shape
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("kind", ["rgb", "rgba", "grey", "grey16", "palette", "grey_alpha", "interlaced_rgb",
                                  "level0"])
@pytest.mark.parametrize("with_cv2", [True, False])
def test_same_pixels_as_pillow(kind, with_cv2, monkeypatch):
    if not with_cv2:
        monkeypatch.setattr(_png, "_cv2", None)  # the path taken where OpenCV is not installed
    data = _cases()[kind]
    ref = np.array(Image.open(io.BytesIO(data)))
    arr, bgr = _png.decode_png(data, allow_bgr=True)
    if bgr:
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    assert arr.dtype == ref.dtype and arr.shape == ref.shape
    assert np.array_equal(arr, ref)
    plain, bgr = _png.decode_png(data)  # without allow_bgr the order is always Pillow's
    assert not bgr and np.array_equal(plain, ref)


@pytest.mark.parametrize("with_cv2", [True, False])
def test_broken_files_are_format_errors_naming_the_file(tmp_path, with_cv2, monkeypatch, capfd):
    if not with_cv2:
        monkeypatch.setattr(_png, "_cv2", None)
    good = _cases()["rgb"]
    broken = {
        "truncated.png": good[: len(good) // 2],
        "crc.png": good[:40] + bytes([good[40] ^ 0xFF]) + good[41:],
        "text.png": b"hello",
        "empty.png": b"",
    }
    for name, data in broken.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FormatError, match=name):
            _png.read_label_png(path, allow_bgr=True)
    with pytest.raises(FormatError, match="file not found"):
        _png.read_label_png(tmp_path / "missing.png")
    with pytest.raises(FormatError, match="folder"):
        _png.read_label_png(tmp_path)
    assert capfd.readouterr().err == ""  # no libpng chatter on stderr


def test_ids24_reads_rgb_and_rgba_bytes():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (7, 9, 3)).astype(np.uint8)
    r = rgb.astype(np.int64)
    expect = r[..., 0] + 256 * r[..., 1] + 65536 * r[..., 2]
    assert np.array_equal(_ids24(rgb), expect.ravel())
    rgba = np.dstack([rgb, rng.integers(0, 256, (7, 9, 1)).astype(np.uint8)])
    assert np.array_equal(_ids24(rgba), expect.ravel())
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    assert np.array_equal(_swap_rb(_ids24(bgr).astype(np.int64)), expect.ravel())
    assert _ids24(np.zeros((0, 5, 3), np.uint8)).size == 0
