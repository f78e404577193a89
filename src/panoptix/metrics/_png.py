"""Label PNG decoding for the evaluation folder paths.

Decoding PNGs is most of the work of a folder evaluation. OpenCV's decoder (libpng) is
about twice as fast as Pillow's on label maps, so it is used when ``cv2`` is installed, for
the PNG kinds where it returns exactly what Pillow returns (8/16-bit grey, 8-bit RGB and
RGBA, not interlaced); everything else goes to Pillow. Colour images come back in
OpenCV's BGR(A) order (``bgr=True``): callers that only need ids read the bytes in that order.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..core.errors import FormatError

__all__ = ["read_label_png", "decode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"

try:  # optional: the `models` and `studio` extras install it
    import cv2 as _cv2

    _cv2.setNumThreads(1)
    _cv2.utils.logging.setLogLevel(_cv2.utils.logging.LOG_LEVEL_SILENT)
except ImportError:  # pragma: no cover - depends on the environment
    _cv2 = None


def _header(data: bytes):
    """(bit depth, colour type, interlace) from the IHDR chunk, or None."""
    if len(data) < 33 or data[:8] != _SIGNATURE or data[12:16] != b"IHDR":
        return None
    depth, color, _comp, _filter, interlace = struct.unpack_from(">BBBBB", data, 24)
    return depth, color, interlace


def _intact(data: bytes) -> bool:
    """Every chunk complete with a good CRC, up to IEND (cheap: the compressed data is small).

    libpng prints to stderr on broken files; those go to Pillow, whose error becomes ours.
    """
    pos, n = 8, len(data)
    while pos + 12 <= n:
        length, = struct.unpack_from(">I", data, pos)
        end = pos + 8 + length
        if end + 4 > n:
            return False
        if zlib.crc32(data[pos + 4:end]) != struct.unpack_from(">I", data, end)[0]:
            return False
        if data[pos + 4:pos + 8] == b"IEND":
            return True
        pos = end + 4
    return False


def decode_png(data: bytes, *, file=None, allow_bgr: bool = False) -> tuple[np.ndarray, bool]:
    """Decode PNG bytes; returns ``(array, is_bgr)``.

    The array is what ``np.array(PIL.Image.open(...))`` gives (grey: (H, W) uint8/uint16;
    palette: (H, W) indices; colour: (H, W, 3|4)), except that with ``allow_bgr=True``
    colour channels may come in BGR(A) order, which ``is_bgr`` says.

    Examples
    --------
    >>> import io; from PIL import Image
    >>> a = (np.arange(12, dtype=np.uint8) * 20).reshape(3, 4)
    >>> buf = io.BytesIO(); Image.fromarray(a).save(buf, format="PNG")
    >>> arr, bgr = decode_png(buf.getvalue())
    >>> bool((arr == a).all()), bgr
    (True, False)
    """
    head = _header(data)
    if _cv2 is not None and head is not None and head[2] == 0 and _intact(data):
        depth, color, _ = head
        if (color == 0 and depth in (8, 16)) or (allow_bgr and color in (2, 6) and depth == 8):
            arr = _cv2.imdecode(np.frombuffer(data, np.uint8), _cv2.IMREAD_UNCHANGED)
            if arr is not None:
                return arr, arr.ndim == 3
    return _decode_pillow(data, file), False


def _decode_pillow(data: bytes, file) -> np.ndarray:
    import io

    from PIL import Image

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # Pillow raises many types for broken files
        raise FormatError(f"not a readable PNG ({exc})", file=file) from None
    return np.array(img)


def read_label_png(path, *, allow_bgr: bool = False) -> tuple[np.ndarray, bool]:
    """Read and decode a label PNG (FormatError naming the file when missing or broken)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except IsADirectoryError:
        raise FormatError("is a folder, not a PNG file", file=path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    return decode_png(data, file=path, allow_bgr=allow_bgr)
