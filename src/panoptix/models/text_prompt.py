"""Segmentation from text: CLIPSeg (``CLIPSegForImageSegmentation``).

For each class name CLIPSeg gives a probability map; panoptix thresholds it and
splits it into connected components, one instance each (score = mean probability
over the component). The semantic task takes, per pixel, the class of highest
probability where it reaches the threshold (ignore index elsewhere).

The classes come from ``classes=["cat", "remote control"]`` or a categories file
(``categories=``: the names are the prompts, the ids and thing/stuff flags are kept).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from ..core.errors import ValidationError
from ..core.labels import Instances, SemanticMap
from ..core.taxonomy import Taxonomy
from .base import DEFAULT_MAX_SIDE, BaseSegmenter, Prediction, load_image
from ._hf import hub_kwargs, load_processor, read_categories, require_torch, resolve_device

__all__ = ["TextPromptSegmenter", "components_to_instances"]


def components_to_instances(prob: np.ndarray, category_id: int, *, threshold: float = 0.5, min_area: int = 1,
                            connectivity: int = 8) -> Instances:
    """One instance per connected region of ``prob >= threshold`` (score: mean probability).

    Examples
    --------
    >>> p = np.zeros((4, 6)); p[:2, :2] = 0.9; p[2:, 4:] = 0.7
    >>> inst = components_to_instances(p, 3, threshold=0.5)
    >>> len(inst), inst.category_ids.tolist(), inst.scores.round(2).tolist()
    (2, [3, 3], [0.9, 0.7])
    """
    prob = np.asarray(prob, np.float64)
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    lab, n = ndimage.label(prob >= threshold, structure=structure)
    if n == 0:
        return Instances.empty(*prob.shape, with_scores=True)
    flat = lab.ravel()
    areas = np.bincount(flat, minlength=n + 1)
    sums = np.bincount(flat, weights=prob.ravel(), minlength=n + 1)
    keep = np.flatnonzero(areas[1:] >= max(min_area, 1)) + 1
    if len(keep) == 0:
        return Instances.empty(*prob.shape, with_scores=True)
    masks = lab[None] == keep[:, None, None]
    return Instances.from_masks(masks, [category_id] * len(keep), scores=sums[keep] / areas[keep])


class TextPromptSegmenter(BaseSegmenter):
    """CLIPSeg behind the :class:`Segmenter` interface.

    Parameters
    ----------
    model, processor
        ``CLIPSegForImageSegmentation`` (eval mode) and ``CLIPSegProcessor``.
    device : torch.device
    classes : sequence of str, optional
        Class names (ids 1..K, all things); or give ``taxonomy``.
    taxonomy : Taxonomy, optional
        Classes with their ids; the names are the prompts.
    threshold : float
        Probability from which a pixel belongs to a class.
    min_area : int
        Smaller components are dropped (pixels).
    template : str
        Prompt text, ``"{}"`` replaced by the class name (e.g. ``"a photo of a {}"``).
    """

    def __init__(self, model, processor, *, device, classes: Sequence[str] | None = None,
                 taxonomy: Taxonomy | None = None, threshold: float = 0.5, min_area: int = 16,
                 template: str = "{}", connectivity: int = 8, batch_size: int = 1,
                 max_side: int | None = DEFAULT_MAX_SIDE, name: str = "clipseg", task: str | None = None):
        if taxonomy is None:
            taxonomy = Taxonomy.from_names(list(classes or []))
        super().__init__(taxonomy, tasks=("semantic", "instance"), default_task=task or "instance",
                         batch_size=batch_size, max_side=max_side)
        self.model, self.processor, self.device, self.name = model, processor, device, name
        self.threshold, self.min_area, self.template = float(threshold), int(min_area), template
        self.connectivity = int(connectivity)

    @classmethod
    def from_pretrained(cls, path, *, config=None, task=None, device="auto", categories=None, classes=None,
                        **options):
        """Load model + processor from a folder or hub name (see :func:`panoptix.models.load`)."""
        require_torch()
        from transformers import CLIPSegForImageSegmentation

        dev = resolve_device(device)
        model = CLIPSegForImageSegmentation.from_pretrained(str(path), **hub_kwargs()).to(dev).eval()
        processor = load_processor(path)
        taxonomy = read_categories(categories) if categories is not None else None
        return cls(model, processor, device=dev, classes=classes, taxonomy=taxonomy, name=str(path), task=task,
                   **options)

    def probabilities(self, images: list[np.ndarray], prompts: Sequence[str]) -> list[np.ndarray]:
        """Per image, a (K, H, W) float32 array: the probability of each prompt at each pixel."""
        torch = require_torch()
        prompts = list(prompts)
        if not prompts:
            raise ValidationError("no class names to prompt with: give classes=[...] or categories=FILE")
        texts = [self.template.format(p) for p in prompts]
        pairs_img = [im for im in images for _ in texts]
        pairs_txt = texts * len(images)
        inputs = self.processor(text=pairs_txt, images=pairs_img, padding=True, return_tensors="pt")
        feed = {k: v.to(self.device) for k, v in inputs.items() if hasattr(v, "to")}
        with torch.inference_mode():
            logits = self.model(**feed).logits.float()
            logits = logits.reshape(len(images), len(texts), *logits.shape[-2:])
            out = []
            for im, lg in zip(images, logits):
                up = torch.nn.functional.interpolate(lg[None], size=im.shape[:2], mode="bilinear",
                                                     align_corners=False)[0]
                out.append(torch.sigmoid(up).cpu().numpy().astype(np.float32))
        return out

    def segment(self, image, text: str, *, category_id: int = 1, threshold: float | None = None) -> Instances:
        """Instances of one free-text class in one image."""
        arr = load_image(image)[0]
        prob = self.probabilities([arr], [text])[0][0]
        return components_to_instances(prob, category_id, threshold=self.threshold if threshold is None else threshold,
                                       min_area=self.min_area, connectivity=self.connectivity)

    def _predict_batch(self, images, task):
        cats = list(self.taxonomy)
        probs = self.probabilities(images, [c.name for c in cats])
        ids = np.array([c.id for c in cats], np.int64)
        out = []
        for p in probs:
            pred = Prediction(taxonomy=self.taxonomy)
            if task in ("semantic", "all"):
                best = p.argmax(0)
                ignore = self.taxonomy.ignore_index
                lab = np.where(p.max(0) >= self.threshold, ids[best], ignore)
                top = max(int(ids.max()), ignore)
                pred.semantic = SemanticMap(lab.astype(np.uint8 if top <= 255 else np.int32), ignore)
            if task in ("instance", "all"):
                parts = [components_to_instances(p[k], int(ids[k]), threshold=self.threshold, min_area=self.min_area,
                                                 connectivity=self.connectivity)
                         for k in range(len(cats)) if cats[k].isthing]
                pred.instances = _concat(parts, p.shape[1:])
            out.append(pred)
        return out


def _concat(parts: list[Instances], shape) -> Instances:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Instances.empty(*shape, with_scores=True)
    rles = [r for p in parts for r in p.rles]
    inst = Instances(rles, shape[0], shape[1], np.concatenate([p.category_ids for p in parts]),
                     scores=np.concatenate([p.scores for p in parts]))
    inst._rles = rles
    return inst
