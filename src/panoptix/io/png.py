"""Fast label PNG decoding and encoding (the folder evaluations, :func:`panoptix.io.files.read_png`
and ``write_png``, the studio's label store).

Decoding PNGs is most of the work of reading label maps, and general decoders spend it on
things label maps do not need. Here Python walks the chunks, zlib-ng inflates the image
data (stdlib zlib where the ``zlib-ng`` package is missing: same bytes, slower), and the
C extension ``panoptix._speedups`` undoes the row filters. All three release the GIL, so
decoding in threads uses every core from one process.

The fast path takes the PNGs label maps are written as: 8-bit grey, palette (indices),
RGB and RGBA, and 16-bit grey, not interlaced. Everything else, and every PNG when the
extension was not built, goes to Pillow. Either way the array is what
``np.array(PIL.Image.open(...))`` gives.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..core.errors import FormatError
from ..core.labels import MAX_IMAGE_PIXELS

try:  # a small dependency; its inflate and deflate are several times faster on label maps
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - depends on the environment
    _zlib = zlib

try:  # built by setup.py; optional so that installing never needs a compiler
    from .. import _speedups as native
except ImportError:  # pragma: no cover - depends on the build
    native = None

__all__ = ["read_label_png", "decode_png", "encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# glibc maps every block above its mmap threshold (128 KiB at start) afresh and unmaps it on
# free, so each image's ~1 MB buffers would be page-faulted in again (half the decode time).
# The threshold rises to the largest block freed; freeing one 8 MiB block now gets it there at
# once instead of some hundred images later.
_block = np.zeros(8 << 20, np.uint8)  # calloc: the pages are never touched
del _block
#: (colour type, bit depth) -> bytes per pixel, for the PNG kinds the fast path decodes.
_FAST_KINDS = {(0, 8): 1, (3, 8): 1, (2, 8): 3, (6, 8): 4, (0, 16): 2}


def decode_png(data: bytes, *, file=None) -> np.ndarray:
    """Decode PNG bytes to what ``np.array(PIL.Image.open(...))`` gives.

    Grey: (H, W) uint8 or uint16; palette: (H, W) indices; colour: (H, W, 3|4) uint8.
    Broken data raises FormatError naming ``file`` ("not a readable image (...)").

    Examples
    --------
    >>> import io; from PIL import Image
    >>> a = (np.arange(12, dtype=np.uint8) * 20).reshape(3, 4)
    >>> buf = io.BytesIO(); Image.fromarray(a).save(buf, format="PNG")
    >>> bool((decode_png(buf.getvalue()) == a).all())
    True
    """
    if native is not None:
        arr = _decode_fast(data, file)
        if arr is not None:
            return arr
    return _decode_pillow(data, file)


def _decode_fast(data: bytes, file) -> np.ndarray | None:
    """The fast path; None for a PNG kind it does not take (Pillow then decodes it)."""
    if data[:8] != _SIGNATURE:
        return None  # not a PNG at all: Pillow's message says what it is
    view = memoryview(data)
    pos, n = 8, len(data)
    head, idat = None, []
    while True:
        if pos + 8 > n:
            raise FormatError("not a readable image (truncated PNG: it ends before the IEND chunk)", file=file)
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 8 + length
        if end + 4 > n:
            raise FormatError(f"not a readable image (truncated PNG: the {kind.decode('latin-1')!r} chunk is cut "
                              "short)", file=file)
        if zlib.crc32(view[pos + 4:end]) != struct.unpack_from(">I", data, end)[0]:
            raise FormatError(f"not a readable image (broken PNG: bad checksum of the {kind.decode('latin-1')!r} "
                              "chunk)", file=file)
        if kind == b"IHDR":
            head = struct.unpack_from(">IIBBBBB", data, pos + 8)
        elif kind == b"IDAT":
            idat.append(view[pos + 8:end])
        elif kind == b"IEND":
            break
        pos = end + 4
    if head is None:
        raise FormatError("not a readable image (broken PNG: no IHDR chunk)", file=file)
    width, height, depth, colour, _compression, _filter, interlace = head
    bpp = _FAST_KINDS.get((colour, depth))
    if bpp is None or interlace:
        return None
    if width * height > MAX_IMAGE_PIXELS:
        raise FormatError(f"image too large ({width}x{height} pixels, over {MAX_IMAGE_PIXELS}: decompression "
                          "bomb refused)", file=file)
    rowbytes = width * bpp
    expected = height * (rowbytes + 1)
    try:  # never inflate more than the header promises: a small file can hold gigabytes of zeros
        raw = _zlib.decompressobj().decompress(b"".join(idat), expected + 1)
    except (zlib.error, _zlib.error) as exc:
        raise FormatError(f"not a readable image (broken PNG image data: {exc})", file=file) from None
    if len(raw) != expected:
        raise FormatError(f"not a readable image (broken PNG image data: {'more' if len(raw) > expected else 'less'} "
                          f"than the {width}x{height} of its header)", file=file)
    out = np.empty((height, rowbytes), np.uint8)
    try:
        native.unfilter(raw, out, height, rowbytes, bpp)
    except ValueError as exc:
        raise FormatError(f"not a readable image (broken PNG image data: {exc})", file=file) from None
    if depth == 16:
        return out.view(">u2").astype(np.uint16)
    return out if bpp == 1 else out.reshape(height, width, bpp)


def _decode_pillow(data: bytes, file) -> np.ndarray:
    import io

    from PIL import Image

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Image.DecompressionBombError:
        raise FormatError("image too large (decompression bomb refused)", file=file) from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise FormatError(f"not a readable image ({exc})", file=file) from None
    return np.array(img)


def read_label_png(path) -> np.ndarray:
    """Read (local path or fsspec URL) and decode a label PNG as :func:`decode_png` does;
    FormatError naming the file when it is missing or broken."""
    from .files import read_bytes

    return decode_png(read_bytes(path), file=path)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def encode_png(array: np.ndarray, *, palette=None, level: int = 6) -> bytes:
    """PNG bytes of a label array, several times faster than Pillow, and a little smaller.

    ``array``: (H, W) uint8 (grey; palette indices when ``palette``, N×3 colours, is given),
    (H, W) uint16 (16-bit grey) or (H, W, 3|4) uint8 (RGB / RGBA). Every row after the
    first is stored with the Up filter — label maps repeat their rows, which then compress
    to almost nothing — and deflated by zlib-ng at ``level``.

    >>> a = np.array([[0, 1, 1], [0, 1, 2]], np.uint8)
    >>> bool((decode_png(encode_png(a)) == a).all())
    True
    """
    a = np.asarray(array)
    if a.ndim == 2 and a.dtype == np.uint8:
        colour, depth = (3 if palette is not None else 0), 8
    elif a.ndim == 2 and a.dtype == np.uint16:
        colour, depth = 0, 16
        a = a.astype(">u2")  # PNG samples are big-endian
    elif a.ndim == 3 and a.dtype == np.uint8 and a.shape[2] in (3, 4):
        colour, depth = (2 if a.shape[2] == 3 else 6), 8
    else:
        raise ValueError(f"cannot write a {a.dtype} array of shape {a.shape} as a label PNG")
    h, w = a.shape[:2]
    if not h or not w:
        raise ValueError(f"a PNG needs at least one pixel (shape {a.shape})")
    rows = np.ascontiguousarray(a).view(np.uint8).reshape(h, -1)
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[0, 0] = 0  # None: no row above
    filtered[1:, 0] = 2  # Up
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8: wraps modulo 256, as PNG's Up
    parts = [_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))]
    if palette is not None:
        pal = np.zeros((256, 3), np.uint8)  # every index gets a colour, whatever the array holds
        given = np.asarray(palette, np.uint8).reshape(-1, 3)[:256]
        pal[:len(given)] = given
        parts.append(_chunk(b"PLTE", pal.tobytes()))
    parts += [_chunk(b"IDAT", _zlib.compress(filtered, level)), _chunk(b"IEND", b"")]
    return b"".join(parts)
