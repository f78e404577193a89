"""Reading and writing files safely: JSON, PNG, images; atomic writes.

Writers go through :func:`atomic_write`: they write a temporary file beside the
target and rename it, so a crash or a full disk never leaves a half-written file.
Readers turn every failure (missing, truncated, wrong format) into one
:class:`~panoptix.core.errors.FormatError` that names the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import orjson
from PIL import Image

from ..core.errors import FormatError, OutputError

__all__ = ["atomic_write", "read_json", "write_json", "read_png", "write_png", "read_image", "image_size",
           "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Refuse decompression bombs: no labeled image needs more than ~16k x 16k pixels.
Image.MAX_IMAGE_PIXELS = 16384 * 16384


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None
        raise


def read_json(path):
    """Parse a JSON file (orjson); FormatError naming the file when missing or invalid."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc}", file=path) from None


def write_json(path, obj, *, indent: bool = False) -> None:
    opts = orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    data = orjson.dumps(obj, option=opts)
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def _open_image(path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
        return img
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except Image.DecompressionBombError:
        raise FormatError("image too large (decompression bomb refused)", file=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise FormatError(f"not a readable image ({exc})", file=path) from None


def read_png(path, *, mode: str | None = None) -> np.ndarray:
    """Read a label PNG as an array, keeping palette indices and 16-bit values as they are.

    ``mode="RGB"`` converts to H×W×3 (COCO panoptic); otherwise a palette PNG gives its
    indices, a grayscale PNG its values (H×W).
    """
    img = _open_image(path)
    if mode is not None and img.mode != mode:
        img = img.convert(mode)
    arr = np.array(img)
    if mode is None and arr.ndim == 3:
        raise FormatError(f"expected a single-channel label PNG, got mode {img.mode}", file=path)
    return arr


def write_png(path, array: np.ndarray, *, palette: np.ndarray | None = None) -> None:
    """Write a label array as PNG atomically (uint8, uint16 or H×W×3)."""
    array = np.asarray(array)
    if array.ndim == 2 and array.dtype.kind in "iu" and array.size and array.max() > 255:
        if array.max() > 65535:
            raise OutputError("label values above 65535 do not fit a PNG", file=path)
        img = Image.fromarray(array.astype(np.uint16))
    else:
        img = Image.fromarray(array.astype(np.uint8))
        if palette is not None and array.ndim == 2:
            img = img.convert("P")
            img.putpalette(np.asarray(palette, np.uint8).ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    with atomic_write(path, "wb") as fh:
        fh.write(buf.getvalue())


def read_image(path) -> np.ndarray:
    """Read a photo as H×W×3 uint8 RGB (grayscale, RGBA and 16-bit converted)."""
    img = _open_image(path)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.array(img).astype(np.float64)
        arr = (arr / max(arr.max(), 1) * 255).astype(np.uint8)
        return np.stack([arr] * 3, axis=-1)
    return np.array(img.convert("RGB"))


def image_size(path) -> tuple[int, int]:
    """``(height, width)`` of an image from its header only (the pixels are not decoded)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise FormatError(f"not a readable image ({exc})", file=path) from None
    return int(height), int(width)
