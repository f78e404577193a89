"""Segment Anything (``SamModel`` + ``SamProcessor``): masks from point and box prompts.

The image encoder is the expensive part, so its embedding is cached per image (keyed
by the pixel content, or a key you give): every further click on the same image runs
only the prompt encoder and the mask decoder. :meth:`SamSegmenter.segment` answers one
prompt; :meth:`SamSegmenter.predict` (the :class:`Segmenter` interface) segments
"everything" by prompting a grid of points and keeping the confident, stable,
non-duplicate masks as class-agnostic instances.

Coordinates are pixels of the original image: points ``(x, y)``, boxes
``(x0, y0, x1, y1)``; point labels 1 = object, 0 = background.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..core import masks as M
from ..core.errors import ValidationError
from ..core.labels import Instances
from ..core.taxonomy import Category, Taxonomy
from .base import DEFAULT_MAX_SIDE, BaseSegmenter, Prediction, load_image
from ._hf import hub_kwargs, load_processor, read_categories, require_torch, resolve_device

__all__ = ["SamSegmenter", "PromptResult"]


@dataclass
class PromptResult:
    """Masks answering one prompt, best first.

    Attributes
    ----------
    masks : (N, H, W) bool array
    scores : (N,) float array
        The model's predicted IoU of each mask.
    """

    masks: np.ndarray
    scores: np.ndarray

    @property
    def best(self) -> np.ndarray:
        """The highest-scoring mask (H×W bool)."""
        return self.masks[int(np.argmax(self.scores))]

    def to_instances(self, category_id: int = 1, *, best_only: bool = True) -> Instances:
        """The best mask (or all) as :class:`~panoptix.core.labels.Instances` with scores."""
        if best_only:
            k = int(np.argmax(self.scores))
            return Instances.from_masks(self.masks[k:k + 1], [category_id], scores=self.scores[k:k + 1])
        return Instances.from_masks(self.masks, [category_id] * len(self.masks), scores=self.scores)


@dataclass
class _Embedding:
    tensor: object  # torch.Tensor (1, C, h, w) on the device
    original_size: tuple[int, int]
    reshaped_size: tuple[int, int]


def _image_key(image: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class SamSegmenter(BaseSegmenter):
    """SAM behind the :class:`Segmenter` interface, with prompt-level access.

    Parameters
    ----------
    model, processor
        ``SamModel`` (eval mode) and ``SamProcessor``.
    device : torch.device
    taxonomy : Taxonomy, optional
        Default: one thing class ``1 "object"``; masks get ``category_id`` (default: the
        first class).
    cache_size : int
        Image embeddings kept (least recently used dropped first).
    points_per_side : int
        "Everything" mode: the prompt grid is ``points_per_side``² points.
    points_per_batch : int
        Prompts decoded together.
    pred_iou_thresh, stability_score_thresh : float
        "Everything" mode: keep masks whose predicted IoU / stability score reach these.
    nms_thresh : float
        "Everything" mode: drop a mask overlapping a better one above this mask IoU.
    min_mask_area : int
        "Everything" mode: drop smaller masks (pixels).
    """

    def __init__(self, model, processor, *, device, taxonomy: Taxonomy | None = None, category_id: int | None = None,
                 cache_size: int = 8, points_per_side: int = 16, points_per_batch: int = 64,
                 pred_iou_thresh: float = 0.88, stability_score_thresh: float = 0.95, nms_thresh: float = 0.7,
                 min_mask_area: int = 0, batch_size: int = 1, max_side: int | None = DEFAULT_MAX_SIDE,
                 name: str = "sam", task: str | None = None):
        taxonomy = taxonomy or Taxonomy([Category(1, "object")])
        super().__init__(taxonomy, tasks=("instance",), default_task="instance", batch_size=batch_size,
                         max_side=max_side)
        self.model, self.processor, self.device, self.name = model, processor, device, name
        self.category_id = int(category_id if category_id is not None else taxonomy.ids[0])
        self.cache_size = int(cache_size)
        self.points_per_side, self.points_per_batch = int(points_per_side), int(points_per_batch)
        self.pred_iou_thresh, self.stability_score_thresh = float(pred_iou_thresh), float(stability_score_thresh)
        self.nms_thresh, self.min_mask_area = float(nms_thresh), int(min_mask_area)
        self._cache: OrderedDict[str, _Embedding] = OrderedDict()
        self._hits = self._misses = 0

    @classmethod
    def from_pretrained(cls, path, *, config=None, task=None, device="auto", categories=None, **options):
        """Load model + processor from a folder or hub name (see :func:`panoptix.models.load`)."""
        require_torch()
        from transformers import SamModel

        dev = resolve_device(device)
        model = SamModel.from_pretrained(str(path), **hub_kwargs()).to(dev).eval()
        processor = load_processor(path)
        taxonomy = read_categories(categories) if categories is not None else None
        return cls(model, processor, device=dev, taxonomy=taxonomy, name=str(path), **options)

    # -- embedding cache ---------------------------------------------------------
    def cache_info(self) -> dict:
        """``{"hits", "misses", "size", "maxsize"}`` of the image-embedding cache."""
        return {"hits": self._hits, "misses": self._misses, "size": len(self._cache), "maxsize": self.cache_size}

    def clear_cache(self) -> None:
        self._cache.clear()

    def embed(self, image, *, key: str | None = None) -> _Embedding:
        """The image embedding (computed once per image; later calls hit the cache)."""
        torch = require_torch()
        arr = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
            and image.shape[2] == 3 else load_image(image)[0]
        key = key or _image_key(arr)
        hit = self._cache.get(key)
        if hit is not None:
            self._hits += 1
            self._cache.move_to_end(key)
            return hit
        self._misses += 1
        inputs = self.processor(images=arr, return_tensors="pt")
        with torch.inference_mode():
            emb = self.model.get_image_embeddings(inputs["pixel_values"].to(self.device))
        reshaped = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
        entry = _Embedding(emb, (arr.shape[0], arr.shape[1]), reshaped)
        self._cache[key] = entry
        while len(self._cache) > max(self.cache_size, 1):
            self._cache.popitem(last=False)
        return entry

    # -- prompts ----------------------------------------------------------------------
    def _scale(self, emb: _Embedding, xy: np.ndarray) -> np.ndarray:
        (h, w), (rh, rw) = emb.original_size, emb.reshaped_size
        out = np.asarray(xy, np.float64).copy()
        out[..., 0] *= rw / w
        out[..., 1] *= rh / h
        return out

    def _decode(self, emb: _Embedding, points=None, labels=None, boxes=None, multimask=True):
        """Run prompt encoder + mask decoder; returns (low-res logits (P, K, h, w), iou (P, K))."""
        torch = require_torch()
        kw = {}
        if points is not None:
            kw["input_points"] = torch.as_tensor(self._scale(emb, points)[None], dtype=torch.float32,
                                                 device=self.device)
            kw["input_labels"] = torch.as_tensor(np.asarray(labels)[None], dtype=torch.long, device=self.device)
        if boxes is not None:
            kw["input_boxes"] = torch.as_tensor(self._scale(emb, np.asarray(boxes, np.float64).reshape(-1, 2, 2))
                                                .reshape(-1, 4)[None], dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            out = self.model(image_embeddings=emb.tensor, multimask_output=multimask, **kw)
        return out.pred_masks[0].float().cpu(), out.iou_scores[0].float().cpu()

    def _upsample(self, emb: _Embedding, low_res) -> np.ndarray:
        """Low-res logits (P, K, h, w) -> (P, K, H, W) bool at the original size."""
        masks = self.processor.image_processor.post_process_masks(
            [low_res], [list(emb.original_size)], [list(emb.reshaped_size)], binarize=True)[0]
        return masks.numpy().astype(bool)

    def segment(self, image, *, points=None, labels=None, box=None, multimask: bool = True,
                key: str | None = None) -> PromptResult:
        """Masks for one object from clicks and/or a box.

        Parameters
        ----------
        image : path, array or PIL image
        points : sequence of (x, y), optional
            Clicks in original-image pixels.
        labels : sequence of int, optional
            1 for a click on the object, 0 for a click on the background (default all 1).
        box : (x0, y0, x1, y1), optional
        multimask : bool
            Three candidate masks (ambiguous prompts) instead of one.
        key : str, optional
            Cache key for the image (default: a hash of its pixels).

        Returns
        -------
        PromptResult
            Masks sorted by predicted IoU, best first.
        """
        if points is None and box is None:
            raise ValidationError("SAM needs a prompt: points and/or a box")
        pts = lab = boxes = None
        emb = self.embed(image, key=key)
        h, w = emb.original_size
        if points is not None:
            pts = np.asarray(points, np.float64).reshape(-1, 2)
            lab = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels, np.int64).reshape(-1)
            if len(lab) != len(pts):
                raise ValidationError(f"{len(pts)} points but {len(lab)} labels")
            if not np.isin(lab, (0, 1)).all():
                raise ValidationError("point labels must be 1 (object) or 0 (background)")
            if (pts < 0).any() or (pts[:, 0] > w).any() or (pts[:, 1] > h).any():
                raise ValidationError(f"a point lies outside the {w}x{h} image")
            pts, lab = pts[None], lab[None]  # one object
        if box is not None:
            boxes = np.asarray(box, np.float64).reshape(-1)
            if boxes.shape != (4,) or boxes[2] <= boxes[0] or boxes[3] <= boxes[1]:
                raise ValidationError(f"a box is (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {box!r}")
            boxes = boxes[None]
        low, iou = self._decode(emb, pts, lab, boxes, multimask)
        masks, scores = self._upsample(emb, low)[0], iou[0].numpy().astype(np.float64)
        order = np.argsort(-scores, kind="stable")
        return PromptResult(masks[order], scores[order])

    # -- everything mode (the Segmenter interface) ---------------------------------------
    def _predict_batch(self, images, task):
        return [self._everything(im) for im in images]

    def _everything(self, image: np.ndarray) -> Prediction:
        torch = require_torch()
        emb = self.embed(image)
        h, w = emb.original_size
        n = self.points_per_side
        grid = (np.arange(n) + 0.5) / n
        xy = np.stack(np.meshgrid(grid * w, grid * h), -1).reshape(-1, 2)
        cand_rles, cand_scores = [], []
        for start in range(0, len(xy), self.points_per_batch):
            pts = xy[start:start + self.points_per_batch][:, None, :]  # (P, 1, 2): one point per prompt
            low, iou = self._decode(emb, pts, np.ones(pts.shape[:2], np.int64), None, True)
            # Stability: how much the mask changes when its logit threshold moves by +-1.
            hi = (low > 1.0).flatten(2).sum(-1).float()
            lo = (low > -1.0).flatten(2).sum(-1).float()
            stability = torch.where(lo > 0, hi / lo.clamp(min=1), torch.zeros_like(hi))
            keep = (iou >= self.pred_iou_thresh) & (stability >= self.stability_score_thresh)
            if not bool(keep.any()):
                continue
            p_idx, k_idx = torch.nonzero(keep, as_tuple=True)
            chosen = low[p_idx, k_idx][:, None]  # (N, 1, h, w)
            masks = self._upsample(emb, chosen)[:, 0]
            for m, s in zip(masks, iou[p_idx, k_idx].tolist()):
                if m.sum() > max(self.min_mask_area, 0):
                    cand_rles.append(M.encode(m))
                    cand_scores.append(float(s))
        rles, scores = _mask_nms(cand_rles, np.asarray(cand_scores), self.nms_thresh)
        inst = Instances(rles, h, w, [self.category_id] * len(rles), scores=scores)
        inst._rles = rles
        return Prediction(instances=inst, taxonomy=self.taxonomy)


def _mask_nms(rles: list[dict], scores: np.ndarray, thresh: float) -> tuple[list[dict], np.ndarray]:
    """Greedy non-maximum suppression by mask IoU (best score first)."""
    if not rles:
        return [], np.zeros(0)
    order = np.argsort(-scores, kind="stable")
    ious = M.iou([rles[i] for i in order], [rles[i] for i in order], [0] * len(order))
    kept: list[int] = []
    for a in range(len(order)):
        if all(ious[a, b] <= thresh for b in kept):
            kept.append(a)
    return [rles[order[a]] for a in kept], scores[order[kept]]
