"""Which technique? Semantic, instance or panoptic segmentation from five yes/no questions.

============================  ==========================================================
question                      what it means
============================  ==========================================================
``every_pixel``               every pixel of the image needs a label (background too)
``separate_objects``          objects of one class must be told apart (counted, tracked)
``overlaps``                  objects may overlap and each needs its whole shape
``scores``                    each object needs a confidence (ranking, thresholds)
``countable_and_background``  the classes mix countable things (cars) and amorphous
                              background (road, sky)
============================  ==========================================================

The rules (:func:`advise`), first match wins:

1. objects need not be told apart → **semantic** (one class per pixel; mIoU);
2. objects overlap, or need a confidence → **instance** (panoptic forbids both; mask AP);
3. every pixel needs a label, or things and background both matter → **panoptic** (PQ);
4. otherwise (separate objects, nothing else) → **instance** (mask AP).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Advice", "advise", "QUESTIONS", "advice_table"]

#: (parameter, question asked by ``panoptix advise``)
QUESTIONS = [
    ("every_pixel", "Does every pixel of the image need a label (background included)?"),
    ("separate_objects", "Must objects of the same class be told apart (counted, tracked, measured one by one)?"),
    ("overlaps", "Can objects overlap, with each one needing its whole shape?"),
    ("scores", "Does each object need a confidence score (to rank or threshold detections)?"),
    ("countable_and_background",
     "Do your classes mix countable things (people, cars) and amorphous background (road, sky, grass)?"),
]

_ANNOTATION = {
    "semantic": "one label map per image: a class id per pixel (PNG), unlabeled pixels at the ignore index 255",
    "instance": "one mask per object (COCO polygons or RLE) with its class; predictions add a score per object",
    "panoptic": "one segment-id map per image (COCO panoptic PNG) plus a class per segment: one segment per "
                "object for things, one per class for stuff, 0 = VOID",
}
_METRIC = {
    "semantic": "mIoU (mean intersection-over-union over classes), with pixel accuracy and Dice "
                "(`panoptix eval semantic`)",
    "instance": "mask AP / AR, COCO style: AP averaged over IoU 0.50:0.95, AP50, AP75, by object size "
                "(`panoptix eval instance`)",
    "panoptic": "PQ = SQ × RQ over things and stuff (`panoptix eval panoptic`)",
}


@dataclass(frozen=True)
class Advice:
    """What :func:`advise` recommends.

    Attributes
    ----------
    kind : str
        ``"semantic"``, ``"instance"`` or ``"panoptic"``.
    reason : str
        Why, in one sentence built from the answers.
    annotation : str
        The annotation this kind needs.
    metric : str
        The metric to judge predictions by.
    notes : tuple of str
        Caveats raised by the answers.
    """

    kind: str
    reason: str
    annotation: str
    metric: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


def advise(every_pixel: bool, separate_objects: bool, overlaps: bool = False, scores: bool = False,
           countable_and_background: bool = False) -> Advice:
    """Recommend semantic, instance or panoptic segmentation (rules in the module docstring).

    Examples
    --------
    >>> advise(every_pixel=True, separate_objects=False).kind
    'semantic'
    >>> advise(every_pixel=True, separate_objects=True).kind
    'panoptic'
    >>> advise(every_pixel=False, separate_objects=True, overlaps=True).kind
    'instance'
    """
    every_pixel, separate_objects, overlaps, scores, countable_and_background = (
        bool(every_pixel), bool(separate_objects), bool(overlaps), bool(scores), bool(countable_and_background))
    notes: list[str] = []
    if not separate_objects:
        kind = "semantic"
        reason = ("objects of one class need not be told apart, so one class per pixel says everything "
                  "you need" + (", including the background" if every_pixel else ""))
        if not every_pixel:
            notes.append("pixels you do not care about get the ignore index (255) and are left out of the metric")
        if overlaps:
            notes.append("a semantic map holds one class per pixel: where objects overlap, the front one wins")
        if scores:
            notes.append("semantic models give per-pixel class probabilities, not per-object confidences")
        if countable_and_background:
            notes.append("countable things become plain classes; if you later need to count them, label "
                         "panoptic instead (it converts back to semantic)")
    elif overlaps or scores:
        kind = "instance"
        why = " and ".join(w for w, on in (("objects overlap", overlaps), ("each object needs a confidence", scores))
                           if on)
        reason = f"objects must be told apart and {why}, which panoptic labels cannot hold (no overlaps, no scores)"
        if every_pixel or countable_and_background:
            notes.append("instance masks cover things only: add a semantic map for the background, or label "
                         "panoptic (overlaps resolved, no scores) if you can")
    elif every_pixel or countable_and_background:
        kind = "panoptic"
        why = " and ".join(w for w, on in (("every pixel needs a label", every_pixel),
                                           ("both countable things and background matter", countable_and_background))
                           if on)
        reason = (f"objects must be told apart and {why}: panoptic gives every pixel a class and every "
                  "thing its own id, without overlaps")
        if not countable_and_background:
            notes.append("with no background classes, panoptic and instance labels hold the same masks; "
                         "panoptic still checks every pixel is covered")
    else:
        kind = "instance"
        reason = ("objects must be told apart but the background does not matter, so masks of the objects "
                  "alone are enough")
    if kind == "instance" and not scores:
        notes.append("mask AP ranks predictions by score: a model without scores gets one constant score, "
                     "which makes AP a single precision/recall point")
    return Advice(kind, reason, _ANNOTATION[kind], _METRIC[kind], tuple(notes))


def advice_table() -> list[dict]:
    """Every combination of answers with its recommendation (the README guide)."""
    import itertools

    rows = []
    names = [q for q, _ in QUESTIONS]
    for values in itertools.product([False, True], repeat=len(names)):
        answers = dict(zip(names, values))
        rows.append({**answers, "kind": advise(**answers).kind})
    return rows
