"""Small composable annotators: each takes an H×W×3 uint8 picture and returns a new one.

They are the pieces :func:`~panoptix.viz.draw_semantic` and friends are made of, and
can be chained to make any other picture::

    >>> import numpy as np
    >>> ids = np.zeros((6, 6), int); ids[2:4, 2:4] = 1
    >>> img = canvas(None, ids.shape)
    >>> img = fill_ids(img, ids, {1: (255, 0, 0)}, alpha=1.0)
    >>> img = outline(img, ids, color=(255, 255, 255))
    >>> img[2, 2].tolist(), img[0, 0].tolist()
    ([255, 255, 255], [160, 160, 160])

Everything is vectorised over pixels: region edges come from comparing an id map
with itself shifted by one pixel, colours from lookup tables indexed by ids.
"""

from __future__ import annotations

import functools
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.errors import SizeMismatchError, ValidationError
from .colors import VOID_COLOR, text_color

__all__ = [
    "canvas", "boundaries", "mask_edges", "blend", "paint", "fill_ids", "fill_masks", "outline_masks", "outline",
    "grey_out", "draw_labels", "draw_legend", "add_title", "hstack", "grid", "font", "default_font_size",
]

#: Background grey used when there is no photo.
CANVAS_GREY = 160


# --------------------------------------------------------------------------- pictures
def canvas(image, shape: Sequence[int] | None = None) -> np.ndarray:
    """A fresh H×W×3 uint8 copy of ``image`` to draw on (grey when ``image`` is None).

    Grayscale, RGBA and float images in [0, 1] are accepted. ``shape`` (H, W), when
    given, must agree with the image.

    Examples
    --------
    >>> canvas(None, (2, 3)).shape
    (2, 3, 3)
    >>> canvas(np.ones((2, 2))).tolist()[0][0]
    [255, 255, 255]
    """
    if image is None:
        if shape is None:
            raise SizeMismatchError("need an image or a shape to draw on")
        return np.full((int(shape[0]), int(shape[1]), 3), CANVAS_GREY, np.uint8)
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise SizeMismatchError(f"an image must be H×W, H×W×3 or H×W×4, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype.kind == "f":
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        arr = np.clip(np.nan_to_num(arr) * scale, 0, 255).round()
    elif arr.dtype == np.uint16:
        arr = arr // 257
    elif arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if shape is not None and tuple(arr.shape[:2]) != (int(shape[0]), int(shape[1])):
        raise SizeMismatchError(f"image is {arr.shape[0]}x{arr.shape[1]} but the labels are "
                                f"{int(shape[0])}x{int(shape[1])}")
    return arr.copy()


def boundaries(ids: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood holds another id (both sides of every edge).

    Examples
    --------
    >>> ids = np.array([[1, 1, 2, 2]])
    >>> boundaries(ids).astype(int).tolist()
    [[0, 1, 1, 0]]
    """
    ids = np.asarray(ids)
    out = np.zeros(ids.shape, bool)
    dx = ids[:, 1:] != ids[:, :-1]
    dy = ids[1:, :] != ids[:-1, :]
    out[:, 1:] |= dx
    out[:, :-1] |= dx
    out[1:, :] |= dy
    out[:-1, :] |= dy
    return out


def mask_edges(mask: np.ndarray) -> np.ndarray:
    """The inner edge of a binary mask: mask pixels with a 4-neighbour outside it (or off the picture).

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
    >>> int(mask_edges(m).sum()), bool(mask_edges(m)[2, 2])
    (8, False)
    """
    m = np.asarray(mask, bool)
    # outside the picture counts as outside the mask: objects cut by the border get an edge there
    p = np.pad(m, 1)
    inner = m & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m & ~inner


def blend(image: np.ndarray, colors: np.ndarray, where: np.ndarray, alpha: float) -> np.ndarray:
    """``image`` with ``colors`` (H×W×3 or one RGB) laid over the pixels in ``where`` at ``alpha``."""
    out = np.array(image, dtype=np.uint8, copy=True)
    where = np.asarray(where, bool)
    if not where.any():
        return out
    src = out[where].astype(np.float32)
    col = np.asarray(colors, dtype=np.float32)
    col = col[where] if col.ndim == 3 else col.reshape(1, 3)
    out[where] = np.clip(np.rint(src * (1.0 - alpha) + col * alpha), 0, 255).astype(np.uint8)
    return out


def paint(image: np.ndarray, where: np.ndarray, color) -> np.ndarray:
    """``image`` with the pixels in ``where`` set to ``color`` (opaque)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    out[np.asarray(where, bool)] = np.asarray(color, np.uint8)[:3]
    return out


def _lut(ids: np.ndarray, palette) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 colours, H×W bool known) from an id map and ``{id: colour}``."""
    uniq, inverse = np.unique(ids, return_inverse=True)
    table = np.zeros((len(uniq), 3), np.uint8)
    known = np.zeros(len(uniq), bool)
    for j, v in enumerate(uniq.tolist()):
        c = palette.get(v)
        if c is not None:
            table[j] = c
            known[j] = True
    inverse = inverse.reshape(ids.shape)
    return table[inverse], known[inverse]


def fill_ids(image: np.ndarray, ids: np.ndarray, palette: dict, alpha: float = 0.5) -> np.ndarray:
    """Colour every pixel whose id is in ``palette`` (``{id: RGB}``) with that colour at ``alpha``.

    Ids that are not in the palette are left as they are.
    """
    ids = np.asarray(ids)
    _check_shape(image, ids.shape)
    colors, known = _lut(ids, palette)
    return blend(image, colors, known, alpha)


def _box(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice] | None:
    """The bounding slices of a binary mask (grown by ``pad``), None when it is empty."""
    rows = np.flatnonzero(mask.any(1))
    if not len(rows):
        return None
    cols = np.flatnonzero(mask.any(0))
    h, w = mask.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)))


def fill_masks(image: np.ndarray, masks: Iterable[np.ndarray], colors: Sequence, alpha: float = 0.5
               ) -> np.ndarray:
    """Lay binary masks over ``image``; where masks overlap their colours are averaged.

    One vectorised pass per mask over its bounding box (never per pixel), so overlaps
    stay visible as a mixed colour instead of the last mask hiding the others.

    Examples
    --------
    >>> a = np.zeros((4, 4), bool); a[:, :3] = True
    >>> b = np.zeros((4, 4), bool); b[:, 1:] = True
    >>> out = fill_masks(np.zeros((4, 4, 3), np.uint8), [a, b], [(200, 0, 0), (0, 0, 200)], alpha=1.0)
    >>> out[0, 0].tolist(), out[0, 1].tolist(), out[0, 3].tolist()
    ([200, 0, 0], [100, 0, 100], [0, 0, 200])
    """
    image = np.asarray(image)
    h, w = image.shape[:2]
    acc = np.zeros((h, w, 3), np.float32)
    count = np.zeros((h, w), np.float32)
    for m, c in zip(masks, colors):
        m = np.asarray(m, bool)
        _check_shape(image, m.shape)
        box = _box(m)
        if box is None:
            continue
        mc = m[box]
        acc[box][mc] += np.asarray(c, np.float32)[:3]
        count[box][mc] += 1
    where = count > 0
    mean = acc / np.maximum(count, 1)[..., None]
    return blend(image, mean, where, alpha)


def outline_masks(image: np.ndarray, masks: Iterable[np.ndarray], colors: Sequence) -> np.ndarray:
    """Paint the inner edge of each binary mask in its colour (later masks on top)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    for m, c in zip(masks, colors):
        m = np.asarray(m, bool)
        _check_shape(out, m.shape)
        box = _box(m, pad=1)
        if box is None:
            continue
        out[box][mask_edges(m[box])] = np.asarray(c, np.uint8)[:3]
    return out


def outline(image: np.ndarray, ids: np.ndarray, color=(255, 255, 255), where: np.ndarray | None = None
            ) -> np.ndarray:
    """Paint the edges between different ids of ``ids`` (optionally only inside ``where``)."""
    ids = np.asarray(ids)
    _check_shape(image, ids.shape)
    edge = boundaries(ids)
    if where is not None:
        edge &= np.asarray(where, bool)
    return paint(image, edge, color)


def grey_out(image: np.ndarray, where: np.ndarray, *, hatch: bool = True, spacing: int = 6,
             color=VOID_COLOR) -> np.ndarray:
    """Make the pixels in ``where`` grey (their brightness kept, faded toward ``color``),
    crossed by diagonal hatch lines in a darker grey when ``hatch``. Every such pixel
    ends with R = G = B.

    Examples
    --------
    >>> img = np.zeros((8, 8, 3), np.uint8); img[..., 0] = 255
    >>> out = grey_out(img, np.ones((8, 8), bool))
    >>> bool((out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all())
    True
    """
    where = np.asarray(where, bool)
    _check_shape(image, where.shape)
    out = np.array(image, dtype=np.uint8, copy=True)
    if not where.any():
        return out
    rows, cols = np.nonzero(where)
    g = out[rows, cols].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    g = 0.5 * g + 0.5 * float(np.mean(color))
    if hatch:
        lines = ((rows + cols) % max(int(spacing), 2)) == 0
        g = np.where(lines, g * 0.45, g)
    out[rows, cols] = np.clip(np.rint(g), 0, 255).astype(np.uint8)[:, None]
    return out


# --------------------------------------------------------------------------- text
def default_font_size(shape: Sequence[int]) -> int:
    """A readable font size for a picture of ``shape`` (about 1/32 of its short side, 10..28)."""
    return int(np.clip(round(min(shape[0], shape[1]) / 32), 10, 28))


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled default font at ``size`` (no system font needed)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed-size bitmap font
        return ImageFont.load_default()


def _text_box(draw: ImageDraw.ImageDraw, text: str, fnt) -> tuple[int, int, int, int]:
    return draw.textbbox((0, 0), text, font=fnt)


def draw_labels(image: np.ndarray, labels: Iterable[tuple], *, font_size: int | None = None) -> np.ndarray:
    """Write text tags: ``labels`` holds ``(x, y, text, background_rgb)`` with (x, y) the
    tag's top-left corner (moved inside the picture when it would leave it).
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    labels = list(labels)
    if not labels:
        return out
    h, w = out.shape[:2]
    fnt = font(font_size or default_font_size(out.shape))
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    pad = 2
    for x, y, text, bg in labels:
        x0, y0, x1, y1 = _text_box(draw, text, fnt)
        tw, th = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
        x = int(np.clip(x, 0, max(w - tw, 0)))
        y = int(np.clip(y, 0, max(h - th, 0)))
        bg = tuple(int(v) for v in bg[:3])
        draw.rectangle([x, y, x + tw - 1, y + th - 1], fill=bg)
        draw.text((x + pad - x0, y + pad - y0), text, fill=text_color(bg), font=fnt)
    return np.asarray(pil).copy()


def draw_legend(image: np.ndarray, entries: Sequence[tuple[str, tuple]], *, font_size: int | None = None,
                max_entries: int = 16, loc: str = "top-left") -> np.ndarray:
    """A legend box of colour swatches and names over a corner of the picture.

    Each swatch is a square of exactly the entry's colour; beyond ``max_entries`` a
    last line says how many more there are.

    Examples
    --------
    >>> img = draw_legend(np.zeros((120, 160, 3), np.uint8), [("sky", (70, 130, 180))])
    >>> bool(((img == (70, 130, 180)).all(-1)).sum() >= 25)
    True
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    entries = list(entries)
    if not entries:
        return out
    h, w = out.shape[:2]
    size = font_size or default_font_size(out.shape)
    fnt = font(size)
    shown = entries[:max_entries]
    lines = [(name, tuple(int(v) for v in c[:3])) for name, c in shown]
    if len(entries) > max_entries:
        lines.append((f"+{len(entries) - max_entries} more", None))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [_text_box(probe, name, fnt)[2] for name, _ in lines]
    m, sw, row = 4, size, size + 4
    box_w = min(w, m * 3 + sw + max(widths))
    box_h = min(h, m * 2 + row * len(lines) - 4)
    x0 = 4 if loc.endswith("left") else max(w - box_w - 4, 0)
    y0 = 4 if loc.startswith("top") else max(h - box_h - 4, 0)
    region = np.zeros((h, w), bool)
    region[y0:y0 + box_h, x0:x0 + box_w] = True
    out = blend(out, (0, 0, 0), region, 0.6)
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    for i, (name, color) in enumerate(lines):
        y = y0 + m + i * row
        tx = x0 + m
        if color is not None:
            draw.rectangle([x0 + m, y, x0 + m + sw - 1, y + sw - 1], fill=color)
            tx = x0 + 2 * m + sw
        tb = _text_box(draw, name, fnt)
        draw.text((tx - tb[0], y + (sw - (tb[3] - tb[1])) // 2 - tb[1]), name, fill=(255, 255, 255), font=fnt)
    return np.asarray(pil).copy()


def add_title(image: np.ndarray, title: str, *, font_size: int | None = None,
              background=(255, 255, 255)) -> np.ndarray:
    """The picture with a band above it holding ``title`` (so the result is taller)."""
    image = np.asarray(image, np.uint8)
    size = font_size or max(default_font_size(image.shape), 14)
    fnt = font(size)
    band = size + 12
    out = np.empty((image.shape[0] + band, image.shape[1], 3), np.uint8)
    out[:band] = np.asarray(background, np.uint8)
    out[band:] = image
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    tb = _text_box(draw, title, fnt)
    draw.text((6 - tb[0], (band - (tb[3] - tb[1])) // 2 - tb[1]), title, fill=text_color(background), font=fnt)
    return np.asarray(pil).copy()


# --------------------------------------------------------------------------- layout
def hstack(images: Sequence[np.ndarray], *, gap: int = 6, background=(255, 255, 255)) -> np.ndarray:
    """Pictures side by side, top-aligned, on ``background``.

    Examples
    --------
    >>> hstack([np.zeros((2, 3, 3), np.uint8), np.zeros((4, 1, 3), np.uint8)], gap=1).shape
    (4, 5, 3)
    """
    images = [np.asarray(i, np.uint8) for i in images]
    if not images:
        raise ValidationError("nothing to lay out")
    h = max(i.shape[0] for i in images)
    w = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    out = np.empty((h, w, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    x = 0
    for i in images:
        out[:i.shape[0], x:x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out


def grid(images: Sequence[np.ndarray], *, ncols: int = 4, gap: int = 6, background=(255, 255, 255)) -> np.ndarray:
    """Pictures in rows of ``ncols`` (a contact sheet)."""
    images = list(images)
    if not images:
        raise ValidationError("nothing to lay out")
    rows = [hstack(images[i:i + ncols], gap=gap, background=background) for i in range(0, len(images), ncols)]
    w = max(r.shape[1] for r in rows)
    h = sum(r.shape[0] for r in rows) + gap * (len(rows) - 1)
    out = np.empty((h, w, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    y = 0
    for r in rows:
        out[y:y + r.shape[0], :r.shape[1]] = r
        y += r.shape[0] + gap
    return out


def _check_shape(image: np.ndarray, shape) -> None:
    if tuple(np.asarray(image).shape[:2]) != tuple(shape):
        raise SizeMismatchError(f"image is {image.shape[0]}x{image.shape[1]} but the labels are "
                                f"{shape[0]}x{shape[1]}")
