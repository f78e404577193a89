"""Assisted labeling: points and boxes in, one proposed mask out.

============  ====================================================================
tool          what it does
============  ====================================================================
grabcut       GrabCut from a box (or the positive points' surroundings); positive
              points are sure foreground, negative points sure background
superpixel    SLIC superpixels: those under positive points (or mostly inside the
              box) are taken, those under negative points dropped
magic_wand    flood fill of similar colours from each positive point (``tolerance``:
              Euclidean RGB distance, 0..441), minus the fill from each negative
              point; clipped to the box
sam           Segment Anything from points/box (when the server has a SAM model)
text          a text prompt (when the server has a text-prompted model)
============  ====================================================================

The classical tools are those of :mod:`panoptix.models.classical`, run on a crop around
the prompt so that their cost does not grow with the image. SAM and the text tool are
:class:`panoptix.models.SamSegmenter` / :class:`panoptix.models.TextPromptSegmenter`
loaded once per server with :func:`panoptix.models.load` (``--sam`` / ``--text-model``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import threading

import numpy as np

from ..core.errors import ValidationError
from ..models import classical

__all__ = ["Prompt", "CLASSICAL_TOOLS", "run_tool", "available_tools"]

CLASSICAL_TOOLS = ("grabcut", "superpixel", "magic_wand")


@dataclass
class Prompt:
    """What the user gave: points ``(x, y, positive)``, a box ``(x0, y0, x1, y1)``, text, options."""

    points: list[tuple[float, float, bool]] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None
    text: str | None = None
    tolerance: float = 32.0
    superpixel_size: int = 400

    def positives(self) -> np.ndarray:
        return np.array([(x, y) for x, y, pos in self.points if pos], dtype=np.float64).reshape(-1, 2)

    def negatives(self) -> np.ndarray:
        return np.array([(x, y) for x, y, pos in self.points if not pos], dtype=np.float64).reshape(-1, 2)


def _clip_box(box, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    return x0, y0, x1, y1


def _region(prompt: Prompt, w: int, h: int, margin: float) -> tuple[int, int, int, int]:
    """The crop to work in: the box (or the points' hull) grown by ``margin`` of its size."""
    if prompt.box is not None:
        x0, y0, x1, y1 = _clip_box(prompt.box, w, h)
    else:
        pts = np.array([(x, y) for x, y, _ in prompt.points], dtype=np.float64).reshape(-1, 2)
        if not len(pts):
            raise ValidationError("give at least one point or a box")
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0) + 1
        pad = max(32, 0.15 * max(w, h))  # points alone: look around them
        x0, y0, x1, y1 = _clip_box((x0 - pad, y0 - pad, x1 + pad, y1 + pad), w, h)
    mx, my = int((x1 - x0) * margin) + 8, int((y1 - y0) * margin) + 8
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def _in_crop(pts: np.ndarray, x0: int, y0: int, cw: int, ch: int) -> np.ndarray:
    p = np.floor(pts).astype(int) - [x0, y0]
    ok = (p[:, 0] >= 0) & (p[:, 1] >= 0) & (p[:, 0] < cw) & (p[:, 1] < ch)
    return p[ok]


def _discs(shape, pts: np.ndarray, radius: int) -> np.ndarray | None:
    """A scribble mask: discs of ``radius`` around points (None when there are none)."""
    if not len(pts):
        return None
    h, w = shape
    yy, xx = np.ogrid[:h, :w]
    out = np.zeros((h, w), bool)
    for x, y in pts:
        out |= (xx - x) ** 2 + (yy - y) ** 2 <= radius * radius
    return out


def _grabcut(image: np.ndarray, prompt: Prompt) -> np.ndarray:
    h, w = image.shape[:2]
    cx0, cy0, cx1, cy1 = _region(prompt, w, h, margin=0.2)
    crop = image[cy0:cy1, cx0:cx1, :3]
    ch, cw = crop.shape[:2]
    box = None
    if prompt.box is not None:
        bx0, by0, bx1, by1 = _clip_box(prompt.box, w, h)
        box = (bx0 - cx0, by0 - cy0, bx1 - cx0, by1 - cy0)
    r = max(2, min(cw, ch) // 100)
    pos = _in_crop(prompt.positives(), cx0, cy0, cw, ch)
    neg = _in_crop(prompt.negatives(), cx0, cy0, cw, ch)
    if box is None and not len(pos):
        raise ValidationError("GrabCut needs a box or a positive point")
    fg = _discs((ch, cw), pos, r)
    if box is None:
        # Points alone: a larger disc around each positive point is surely object; GrabCut grows from it.
        fg = _discs((ch, cw), pos, max(r, min(cw, ch) // 12))
    mask = classical.grabcut(crop, box=box, foreground=fg, background=_discs((ch, cw), neg, r))
    out = np.zeros((h, w), bool)
    out[cy0:cy1, cx0:cx1] = mask
    return out


def _superpixel(image: np.ndarray, prompt: Prompt) -> np.ndarray:
    h, w = image.shape[:2]
    cx0, cy0, cx1, cy1 = _region(prompt, w, h, margin=0.1)
    crop = image[cy0:cy1, cx0:cx1, :3]
    ch, cw = crop.shape[:2]
    n = max(4, (ch * cw) // max(16, int(prompt.superpixel_size)))
    sp = classical.slic(crop, n_segments=n)
    take = np.zeros(int(sp.max()) + 1, bool)
    if prompt.box is not None:
        bx0, by0, bx1, by1 = _clip_box(prompt.box, w, h)
        inside = np.zeros((ch, cw), bool)
        inside[by0 - cy0:by1 - cy0, bx0 - cx0:bx1 - cx0] = True
        tot = np.bincount(sp.ravel(), minlength=len(take))
        ins = np.bincount(sp.ravel(), weights=inside.ravel(), minlength=len(take))
        take |= ins > 0.5 * np.maximum(tot, 1)
    for x, y in _in_crop(prompt.positives(), cx0, cy0, cw, ch):
        take[sp[y, x]] = True
    for x, y in _in_crop(prompt.negatives(), cx0, cy0, cw, ch):
        take[sp[y, x]] = False
    take[0] = False
    out = np.zeros((h, w), bool)
    out[cy0:cy1, cx0:cx1] = take[sp]
    return out


def _magic_wand(image: np.ndarray, prompt: Prompt) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = _clip_box(prompt.box, w, h) if prompt.box is not None else (0, 0, w, h)
    crop = image[y0:y1, x0:x1, :3]
    ch, cw = crop.shape[:2]

    def fill(pts) -> np.ndarray:
        acc = np.zeros((ch, cw), bool)
        for x, y in _in_crop(pts, x0, y0, cw, ch):
            acc |= classical.magic_wand(crop, (int(x), int(y)), prompt.tolerance)
        return acc

    pos = prompt.positives()
    if not len(pos):
        raise ValidationError("the magic wand needs at least one positive point")
    out = np.zeros((h, w), bool)
    out[y0:y1, x0:x1] = fill(pos) & ~fill(prompt.negatives())
    return out


_TOOLS = {"grabcut": _grabcut, "superpixel": _superpixel, "magic_wand": _magic_wand}


def available_tools(settings) -> list[dict]:
    """The tools this server can run, for the editor's toolbar."""
    out = [{"name": t, "kind": "classical", "needs": "points" if t == "magic_wand" else "box or points"}
           for t in CLASSICAL_TOOLS]
    if settings is not None and settings.sam_model:
        out.append({"name": "sam", "kind": "model", "needs": "box or points", "model": str(settings.sam_model)})
    if settings is not None and settings.text_model:
        out.append({"name": "text", "kind": "model", "needs": "text", "model": str(settings.text_model)})
    return out


_MODELS: dict[str, object] = {}
_MODELS_LOCK = threading.Lock()


def _model(name: str):
    """A prompt model loaded once per server (``panoptix.models.load``), shared by all requests."""
    with _MODELS_LOCK:
        if name not in _MODELS:
            from .. import models

            _MODELS[name] = models.load(name)
        return _MODELS[name]


def _sam(image: np.ndarray, prompt: Prompt, model: str, key: str | None) -> np.ndarray:
    pts = [(x, y) for x, y, _ in prompt.points]
    labels = [1 if pos else 0 for _, _, pos in prompt.points]
    res = _model(model).segment(image, points=pts or None, labels=labels or None, box=prompt.box, key=key)
    return np.asarray(res.best, bool)


def _text(image: np.ndarray, prompt: Prompt, model: str) -> np.ndarray:
    inst = _model(model).segment(image, prompt.text)
    if not len(inst):
        return np.zeros(image.shape[:2], bool)
    return inst.masks().any(axis=0)  # every region the text finds, as one proposal


def run_tool(tool: str, image: np.ndarray, prompt: Prompt, settings=None, *, key: str | None = None) -> np.ndarray:
    """Run one assist tool on an H×W×3 uint8 image; an H×W bool mask.

    ``key`` names the image for SAM's embedding cache (each further click on the same image
    then costs only the mask decoder).

    Examples
    --------
    >>> img = np.zeros((40, 40, 3), np.uint8); img[10:30, 10:30] = 200
    >>> m = run_tool("magic_wand", img, Prompt(points=[(20, 20, True)]))
    >>> int(m.sum())
    400
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if tool in _TOOLS:
        mask = _TOOLS[tool](image, prompt)
    elif tool == "sam":
        if settings is None or not settings.sam_model:
            raise ValidationError("no SAM model is configured on this server (panoptix studio --sam MODEL)")
        if not prompt.points and prompt.box is None:
            raise ValidationError("SAM needs points or a box")
        mask = _sam(image, prompt, settings.sam_model, key)
    elif tool == "text":
        if settings is None or not settings.text_model:
            raise ValidationError("no text-prompt model is configured on this server (--text-model MODEL)")
        if not prompt.text:
            raise ValidationError("the text tool needs a prompt")
        mask = _text(image, prompt, settings.text_model)
    else:
        raise ValidationError(f"unknown assist tool {tool!r}")
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise ValidationError(f"assist tool {tool!r} returned a {mask.shape} mask for a {image.shape[:2]} image")
    return mask
