"""The label PNG decoder (panoptix.io.png) and the C extension under it: the same pixels as
Pillow for every PNG kind and every row filter, on the C path and on the Pillow fallback; clear
errors on broken files; read_png's modes."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from panoptix.core.errors import FormatError
from panoptix.io import png as _png
from panoptix.io.files import read_png


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
    h, w, _ = rgb.shape
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _encode(arr: np.ndarray, filters, *, idat_parts: int = 1) -> bytes:
    """A PNG written by hand with the given row filter types (cycled), for every filter path.

    Encoders pick filters adaptively, so a decoder must handle any mix; Pillow and OpenCV
    give no way to choose them.
    """
    h, w = arr.shape[:2]
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    colour, depth = {1: 0, 3: 2, 4: 6}[channels], 8 * arr.dtype.itemsize
    rows = arr.astype(arr.dtype.newbyteorder(">")).view(np.uint8).reshape(h, -1).astype(np.int64)
    bpp = channels * arr.dtype.itemsize
    prior = np.zeros(rows.shape[1], np.int64)
    out = []
    for y, row in enumerate(rows):
        f = filters[y % len(filters)]
        left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), prior[:-bpp]])
        predictor = [0, left, prior, (left + prior) // 2, _paeth(left, prior, upleft)][f]
        out.append(bytes([f]) + ((row - predictor) % 256).astype(np.uint8).tobytes())
        prior = row
    stream = zlib.compress(b"".join(out))
    cut = np.linspace(0, len(stream), idat_parts + 1).astype(int)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + b"".join(_chunk(b"IDAT", stream[a:b]) for a, b in zip(cut[:-1], cut[1:])) + _chunk(b"IEND", b""))


def _with_header(png: bytes, width: int, height: int, *, colour: int = 0) -> bytes:
    """``png`` with its IHDR replaced (8-bit, the given size and colour type)."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
    return png[:8] + ihdr + png[33:]


def test_the_extension_is_built():
    # make test installs with a compiler; without one the slow path would pass every test here.
    assert _png.native is not None


@pytest.mark.parametrize("kind", ["rgb", "rgba", "grey", "grey16", "palette", "grey_alpha", "interlaced_rgb",
                                  "level0"])
def test_same_pixels_as_pillow(kind, speedups):
    data = _cases()[kind]
    ref = np.array(Image.open(io.BytesIO(data)))
    arr = _png.decode_png(data)
    assert arr.dtype == ref.dtype and arr.shape == ref.shape
    assert np.array_equal(arr, ref)


@pytest.mark.parametrize("shape,dtype", [((9, 11), np.uint8), ((9, 11, 3), np.uint8), ((9, 11, 4), np.uint8),
                                         ((9, 11), np.uint16), ((6, 1, 3), np.uint8), ((1, 7), np.uint8)])
@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0], [3, 1, 4, 2]])
def test_every_row_filter_decodes_as_pillow_does(shape, dtype, filters):
    rng = np.random.default_rng(len(filters) * 31 + shape[0])
    arr = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    arr[shape[0] // 2:] = arr[0]  # flat stretches as well as noise
    data = _encode(arr, filters, idat_parts=3)
    ref = np.array(Image.open(io.BytesIO(data)))
    out = _png.decode_png(data)
    assert out.dtype == ref.dtype and np.array_equal(out, ref)
    assert np.array_equal(out, arr)


def test_broken_files_are_format_errors_naming_the_file(tmp_path, speedups, capfd):
    good = _cases()["rgb"]
    rng = np.random.default_rng(2)
    arr = rng.integers(0, 256, (5, 6, 3)).astype(np.uint8)
    bad_filter = _encode(arr, [1])
    stream = zlib.decompress(bad_filter[41:bad_filter.index(b"IEND") - 8])
    bad_stream = stream[:19] + b"\x07" + stream[20:]  # the second row's filter byte: no such type
    head = bad_filter[:33]
    broken = {
        "truncated.png": good[: len(good) // 2],
        "crc.png": good[:40] + bytes([good[40] ^ 0xFF]) + good[41:],
        "text.png": b"hello",
        "empty.png": b"",
        "filter.png": head + _chunk(b"IDAT", zlib.compress(bad_stream)) + _chunk(b"IEND", b""),
        "short.png": head + _chunk(b"IDAT", zlib.compress(stream[:-7])) + _chunk(b"IEND", b""),
        "zlib.png": head + _chunk(b"IDAT", zlib.compress(stream)[:-9]) + _chunk(b"IEND", b""),
    }
    # A header of 30,000 × 20,000 pixels: refused before inflating anything (by Pillow too, at
    # twice the limit it warns at).
    broken["bomb.png"] = _with_header(_encode(np.zeros((2, 2), np.uint8), [0]), 30_000, 20_000)
    if speedups == "native":  # Pillow accepts both of these
        broken["noiend.png"] = good[:good.index(b"IEND") - 4]  # cut just before IEND
        # 5 rows of data under a header of 4: inflating stops where the header says.
        broken["long.png"] = _with_header(_encode(arr, [1]), 6, 4, colour=2)
    for name, data in broken.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FormatError, match=name):
            _png.read_label_png(path)
    with pytest.raises(FormatError, match="file not found"):
        _png.read_label_png(tmp_path / "missing.png")
    with pytest.raises(FormatError, match="folder"):
        _png.read_label_png(tmp_path)
    assert capfd.readouterr().err == ""  # no decoder chatter on stderr


def test_the_extension_checks_its_arguments():
    native = _png.native
    with pytest.raises(ValueError, match="expected"):
        native.unfilter(b"\x00" * 9, bytearray(8), 2, 4, 1)
    with pytest.raises(ValueError, match="differ"):
        native.count_u8_pairs(b"ab", b"abc")
    with pytest.raises(ValueError, match="differ"):
        native.count_id_pairs(b"abcdef", b"abc", 3, 3)
    with pytest.raises(TypeError):
        native.unfilter(b"\x00" * 10, b"read-only", 1, 9, 1)


@pytest.mark.parametrize("kind", ["rgb", "rgba", "grey", "grey16", "palette"])
def test_read_png_modes_match_pillow(kind, speedups, tmp_path):
    path = tmp_path / f"{kind}.png"
    path.write_bytes(_cases()[kind])
    with Image.open(path) as img:
        as_rgb = np.array(img.convert("RGB"))
        plain = np.array(img)
    assert np.array_equal(read_png(path, mode="RGB"), as_rgb)
    if plain.ndim == 3:
        with pytest.raises(FormatError, match=rf"{kind}.png: expected a single-channel label PNG, got mode RGB"):
            read_png(path)
    else:
        got = read_png(path)
        assert got.dtype == plain.dtype and np.array_equal(got, plain)


@pytest.mark.parametrize("shape,dtype", [((48, 64), np.uint8), ((48, 64), np.uint16), ((48, 64, 3), np.uint8),
                                         ((48, 64, 4), np.uint8), ((1, 1), np.uint8), ((5, 1, 3), np.uint8)])
def test_encode_png_is_read_back_by_pillow_opencv_and_us(shape, dtype):
    import cv2

    rng = np.random.default_rng(shape[0])
    arr = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    arr[shape[0] // 3:] = arr[0]  # repeated rows, as label maps have
    data = _png.encode_png(arr)
    assert np.array_equal(np.array(Image.open(io.BytesIO(data))), arr)
    assert np.array_equal(_png.decode_png(data), arr)
    via_cv2 = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)  # libpng
    if arr.ndim == 3:
        via_cv2 = via_cv2[..., [2, 1, 0, 3][:arr.shape[2]]]  # OpenCV's BGR(A)
    assert np.array_equal(via_cv2, arr)


def test_write_png_keeps_values_palette_and_refuses_what_does_not_fit(tmp_path):
    from panoptix.core.errors import OutputError
    from panoptix.io.files import write_png

    labels = np.array([[0, 1, 2], [2, 2, 40]], np.int64)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0]], np.uint8)
    write_png(tmp_path / "p.png", labels, palette=palette)
    with Image.open(tmp_path / "p.png") as img:
        assert img.mode == "P" and np.array_equal(np.array(img), labels)
        assert np.array_equal(np.array(img.convert("RGB"))[0], palette[[0, 1, 2]])
    write_png(tmp_path / "w.png", labels * 1000)  # over 255: 16-bit
    assert np.array_equal(read_png(tmp_path / "w.png"), labels * 1000)
    with pytest.raises(OutputError, match="65535"):
        write_png(tmp_path / "big.png", labels * 10**6)
    with pytest.raises(OutputError, match="at least one pixel"):
        write_png(tmp_path / "empty.png", np.zeros((0, 4), np.uint8))
    assert not (tmp_path / "big.png").exists() and not (tmp_path / "empty.png").exists()
