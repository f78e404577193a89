"""Built-in taxonomies of the usual datasets: Pascal VOC, ADE20K (SceneParse150), Cityscapes.

:func:`preset` gives one by name; the readers use them when a folder of label PNGs
carries no ``categories.json``.

=====================  ==========================================  ==========  ==============
name                   classes (id: meaning)                       ignore      notes
=====================  ==========================================  ==========  ==============
``voc``                0 background, 1..20 the VOC objects         255         palette = VOC colormap
``ade20k``             0..149 (wall .. flag)                       255         ``reduce_zero_label``
``cityscapes``         labelIds 0..33 (the official label table)   255         ``*_labelIds.png``
``cityscapes-train``   trainIds 0..18                              255         ``*_labelTrainIds.png``
=====================  ==========================================  ==========  ==============

ADE20K's thing/stuff split is the one of ADE20K panoptic (MaskFormer, Mask2Former, OneFormer).

Examples
--------
>>> preset("voc")[15].name
'person'
>>> len(preset("ade20k")), preset("ade20k")[0].name
(150, 'wall')
>>> preset("cityscapes")[26].name, preset("cityscapes-train")[13].name
('car', 'car')
"""

from __future__ import annotations

from typing import NamedTuple

from ..core.errors import PanoptixError
from ..core.taxonomy import Category, Taxonomy

__all__ = ["PRESETS", "preset", "CityscapesLabel", "CITYSCAPES_LABELS", "voc_colormap"]


# --------------------------------------------------------------------------- Pascal VOC
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
#: Colour of the 255 "border / difficult" pixels in VOC's colour-coded PNGs.
VOC_BORDER_COLOR = (224, 224, 192)


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """The Pascal VOC palette: colour ``k`` spreads the bits of ``k`` over R, G and B.

    >>> voc_colormap()[1], voc_colormap()[255]
    ((128, 0, 0), (224, 224, 192))
    """
    out = []
    for k in range(n):
        r = g = b = 0
        c = k
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out


def _voc() -> Taxonomy:
    cmap = voc_colormap(len(VOC_CLASSES))
    return Taxonomy([Category(i, name, isthing=i > 0, color=cmap[i]) for i, name in enumerate(VOC_CLASSES)])


# --------------------------------------------------------------------------- ADE20K (SceneParse150)
# (name, isthing, colour) for ids 0..149, the order of ADEChallengeData2016's objectInfo150
# minus one (``reduce_zero_label``: file value k is class k-1, file value 0 is "other" -> ignore).
_ADE20K = (
    ("wall", 0, (120, 120, 120)), ("building", 0, (180, 120, 120)), ("sky", 0, (6, 230, 230)),
    ("floor", 0, (80, 50, 50)), ("tree", 0, (4, 200, 3)), ("ceiling", 0, (120, 120, 80)),
    ("road", 0, (140, 140, 140)), ("bed", 1, (204, 5, 255)), ("windowpane", 1, (230, 230, 230)),
    ("grass", 0, (4, 250, 7)), ("cabinet", 1, (224, 5, 255)), ("sidewalk", 0, (235, 255, 7)),
    ("person", 1, (150, 5, 61)), ("earth", 0, (120, 120, 70)), ("door", 1, (8, 255, 51)),
    ("table", 1, (255, 6, 82)), ("mountain", 0, (143, 255, 140)), ("plant", 0, (204, 255, 4)),
    ("curtain", 1, (255, 51, 7)), ("chair", 1, (204, 70, 3)), ("car", 1, (0, 102, 200)),
    ("water", 0, (61, 230, 250)), ("painting", 1, (255, 6, 51)), ("sofa", 1, (11, 102, 255)),
    ("shelf", 1, (255, 7, 71)), ("house", 0, (255, 9, 224)), ("sea", 0, (9, 7, 230)),
    ("mirror", 1, (220, 220, 220)), ("rug", 0, (255, 9, 92)), ("field", 0, (112, 9, 255)),
    ("armchair", 1, (8, 255, 214)), ("seat", 1, (7, 255, 224)), ("fence", 1, (255, 184, 6)),
    ("desk", 1, (10, 255, 71)), ("rock", 0, (255, 41, 10)), ("wardrobe", 1, (7, 255, 255)),
    ("lamp", 1, (224, 255, 8)), ("bathtub", 1, (102, 8, 255)), ("railing", 1, (255, 61, 6)),
    ("cushion", 1, (255, 194, 7)), ("base", 0, (255, 122, 8)), ("box", 1, (0, 255, 20)),
    ("column", 1, (255, 8, 41)), ("signboard", 1, (255, 5, 153)), ("chest of drawers", 1, (6, 51, 255)),
    ("counter", 1, (235, 12, 255)), ("sand", 0, (160, 150, 20)), ("sink", 1, (0, 163, 255)),
    ("skyscraper", 0, (140, 140, 200)), ("fireplace", 1, (250, 10, 15)), ("refrigerator", 1, (20, 255, 0)),
    ("grandstand", 0, (31, 255, 0)), ("path", 0, (255, 31, 0)), ("stairs", 1, (255, 224, 0)),
    ("runway", 0, (153, 255, 0)), ("case", 1, (0, 0, 255)), ("pool table", 1, (255, 71, 0)),
    ("pillow", 1, (0, 235, 255)), ("screen door", 1, (0, 173, 255)), ("stairway", 0, (31, 0, 255)),
    ("river", 0, (11, 200, 200)), ("bridge", 0, (255, 82, 0)), ("bookcase", 1, (0, 255, 245)),
    ("blind", 0, (0, 61, 255)), ("coffee table", 1, (0, 255, 112)), ("toilet", 1, (0, 255, 133)),
    ("flower", 1, (255, 0, 0)), ("book", 1, (255, 163, 0)), ("hill", 0, (255, 102, 0)),
    ("bench", 1, (194, 255, 0)), ("countertop", 1, (0, 143, 255)), ("stove", 1, (51, 255, 0)),
    ("palm", 1, (0, 82, 255)), ("kitchen island", 1, (0, 255, 41)), ("computer", 1, (0, 255, 173)),
    ("swivel chair", 1, (10, 0, 255)), ("boat", 1, (173, 255, 0)), ("bar", 0, (0, 255, 153)),
    ("arcade machine", 1, (255, 92, 0)), ("hovel", 0, (255, 0, 255)), ("bus", 1, (255, 0, 245)),
    ("towel", 1, (255, 0, 102)), ("light", 1, (255, 173, 0)), ("truck", 1, (255, 0, 20)),
    ("tower", 0, (255, 184, 184)), ("chandelier", 1, (0, 31, 255)), ("awning", 1, (0, 255, 61)),
    ("streetlight", 1, (0, 71, 255)), ("booth", 1, (255, 0, 204)), ("television receiver", 1, (0, 255, 194)),
    ("airplane", 1, (0, 255, 82)), ("dirt track", 0, (0, 10, 255)), ("apparel", 1, (0, 112, 255)),
    ("pole", 1, (51, 0, 255)), ("land", 0, (0, 194, 255)), ("bannister", 1, (0, 122, 255)),
    ("escalator", 0, (0, 255, 163)), ("ottoman", 1, (255, 153, 0)), ("bottle", 1, (0, 255, 10)),
    ("buffet", 0, (255, 112, 0)), ("poster", 0, (143, 255, 0)), ("stage", 0, (82, 0, 255)),
    ("van", 1, (163, 255, 0)), ("ship", 1, (255, 235, 0)), ("fountain", 1, (8, 184, 170)),
    ("conveyer belt", 0, (133, 0, 255)), ("canopy", 0, (0, 255, 92)), ("washer", 1, (184, 0, 255)),
    ("plaything", 1, (255, 0, 31)), ("swimming pool", 0, (0, 184, 255)), ("stool", 1, (0, 214, 255)),
    ("barrel", 1, (255, 0, 112)), ("basket", 1, (92, 255, 0)), ("waterfall", 0, (0, 224, 255)),
    ("tent", 0, (112, 224, 255)), ("bag", 1, (70, 184, 160)), ("minibike", 1, (163, 0, 255)),
    ("cradle", 0, (153, 0, 255)), ("oven", 1, (71, 255, 0)), ("ball", 1, (255, 0, 163)),
    ("food", 1, (255, 204, 0)), ("step", 1, (255, 0, 143)), ("tank", 0, (0, 255, 235)),
    ("trade name", 1, (133, 255, 0)), ("microwave", 1, (255, 0, 235)), ("pot", 1, (245, 0, 255)),
    ("animal", 1, (255, 0, 122)), ("bicycle", 1, (255, 245, 0)), ("lake", 0, (10, 190, 212)),
    ("dishwasher", 1, (214, 255, 0)), ("screen", 1, (0, 204, 255)), ("blanket", 0, (20, 0, 255)),
    ("sculpture", 1, (255, 255, 0)), ("hood", 1, (0, 153, 255)), ("sconce", 1, (0, 41, 255)),
    ("vase", 1, (0, 255, 204)), ("traffic light", 1, (41, 0, 255)), ("tray", 1, (41, 255, 0)),
    ("ashcan", 1, (173, 0, 255)), ("fan", 1, (0, 245, 255)), ("pier", 0, (71, 0, 255)),
    ("crt screen", 0, (122, 0, 255)), ("plate", 1, (0, 255, 184)), ("monitor", 1, (0, 92, 255)),
    ("bulletin board", 1, (184, 255, 0)), ("shower", 0, (0, 133, 255)), ("radiator", 1, (255, 214, 0)),
    ("glass", 1, (25, 194, 194)), ("clock", 1, (102, 255, 0)), ("flag", 1, (92, 0, 255)),
)


def _ade20k() -> Taxonomy:
    return Taxonomy([Category(i, name, isthing=bool(thing), color=color)
                     for i, (name, thing, color) in enumerate(_ADE20K)])


# --------------------------------------------------------------------------- Cityscapes
class CityscapesLabel(NamedTuple):
    """One row of the Cityscapes label table (cityscapesScripts ``labels.py``)."""

    name: str
    id: int
    train_id: int
    category: str
    category_id: int
    has_instances: bool
    ignore_in_eval: bool
    color: tuple[int, int, int]


_L = CityscapesLabel
#: The 34 Cityscapes labels (``license plate``, id -1, is drawn only in polygons and never stored).
CITYSCAPES_LABELS: tuple[CityscapesLabel, ...] = (
    _L("unlabeled", 0, 255, "void", 0, False, True, (0, 0, 0)),
    _L("ego vehicle", 1, 255, "void", 0, False, True, (0, 0, 0)),
    _L("rectification border", 2, 255, "void", 0, False, True, (0, 0, 0)),
    _L("out of roi", 3, 255, "void", 0, False, True, (0, 0, 0)),
    _L("static", 4, 255, "void", 0, False, True, (0, 0, 0)),
    _L("dynamic", 5, 255, "void", 0, False, True, (111, 74, 0)),
    _L("ground", 6, 255, "void", 0, False, True, (81, 0, 81)),
    _L("road", 7, 0, "flat", 1, False, False, (128, 64, 128)),
    _L("sidewalk", 8, 1, "flat", 1, False, False, (244, 35, 232)),
    _L("parking", 9, 255, "flat", 1, False, True, (250, 170, 160)),
    _L("rail track", 10, 255, "flat", 1, False, True, (230, 150, 140)),
    _L("building", 11, 2, "construction", 2, False, False, (70, 70, 70)),
    _L("wall", 12, 3, "construction", 2, False, False, (102, 102, 156)),
    _L("fence", 13, 4, "construction", 2, False, False, (190, 153, 153)),
    _L("guard rail", 14, 255, "construction", 2, False, True, (180, 165, 180)),
    _L("bridge", 15, 255, "construction", 2, False, True, (150, 100, 100)),
    _L("tunnel", 16, 255, "construction", 2, False, True, (150, 120, 90)),
    _L("pole", 17, 5, "object", 3, False, False, (153, 153, 153)),
    _L("polegroup", 18, 255, "object", 3, False, True, (153, 153, 153)),
    _L("traffic light", 19, 6, "object", 3, False, False, (250, 170, 30)),
    _L("traffic sign", 20, 7, "object", 3, False, False, (220, 220, 0)),
    _L("vegetation", 21, 8, "nature", 4, False, False, (107, 142, 35)),
    _L("terrain", 22, 9, "nature", 4, False, False, (152, 251, 152)),
    _L("sky", 23, 10, "sky", 5, False, False, (70, 130, 180)),
    _L("person", 24, 11, "human", 6, True, False, (220, 20, 60)),
    _L("rider", 25, 12, "human", 6, True, False, (255, 0, 0)),
    _L("car", 26, 13, "vehicle", 7, True, False, (0, 0, 142)),
    _L("truck", 27, 14, "vehicle", 7, True, False, (0, 0, 70)),
    _L("bus", 28, 15, "vehicle", 7, True, False, (0, 60, 100)),
    _L("caravan", 29, 255, "vehicle", 7, True, True, (0, 0, 90)),
    _L("trailer", 30, 255, "vehicle", 7, True, True, (0, 0, 110)),
    _L("train", 31, 16, "vehicle", 7, True, False, (0, 80, 100)),
    _L("motorcycle", 32, 17, "vehicle", 7, True, False, (0, 0, 230)),
    _L("bicycle", 33, 18, "vehicle", 7, True, False, (119, 11, 32)),
)
del _L


def _cityscapes(evaluated_only: bool = False) -> Taxonomy:
    return Taxonomy([Category(lab.id, lab.name, isthing=lab.has_instances, color=lab.color,
                              supercategory=lab.category)
                     for lab in CITYSCAPES_LABELS if not (evaluated_only and lab.ignore_in_eval)])


def _cityscapes_train() -> Taxonomy:
    return Taxonomy([Category(lab.train_id, lab.name, isthing=lab.has_instances, color=lab.color,
                              supercategory=lab.category)
                     for lab in CITYSCAPES_LABELS if lab.train_id != 255])


PRESETS = {
    "voc": _voc,
    "ade20k": _ade20k,
    "cityscapes": _cityscapes,
    "cityscapes-train": _cityscapes_train,
}


def preset(name: str) -> Taxonomy:
    """A built-in taxonomy by name (see the module table); PanoptixError for an unknown name."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise PanoptixError(f"unknown taxonomy preset {name!r} (known: {', '.join(PRESETS)})") from None
