"""Semantic label PNGs: one PNG per image whose pixel value is the class id.

Reading accepts grayscale (8- or 16-bit) and palette PNGs (the palette index is the class
id), and colour-coded RGB PNGs (a colour per class, taken from the taxonomy). The taxonomy
comes from, in this order: ``taxonomy=`` (a Taxonomy, a preset name or a categories JSON),
``categories.json`` beside the PNGs (a COCO ``categories`` list, as :func:`write` leaves it),
Datumaro's ``dataset_meta.json``, VOC's ``labelmap.txt``, or the preset the folder layout
implies. Folder layouts understood:

===========================  ==========================================  ===================
layout                       labels / images                             taxonomy
===========================  ==========================================  ===================
plain                        ``*.png`` anywhere under the folder         ``categories.json``
Pascal VOC                   ``SegmentationClass/`` / ``JPEGImages/``    ``voc`` preset
ADE20K (SceneParse150)       ``annotations/`` / ``images/``              ``ade20k`` preset
common (Datumaro)            ``masks/`` / ``images/``                    ``dataset_meta.json``
ADE20K full (2017/2021)      ``*_seg.png`` + ``*_atr.txt`` or ``*.json``  names in the files
===========================  ==========================================  ===================

Options: ``ignore_index`` (file value of unlabeled pixels, default the taxonomy's, 255),
``reduce_zero_label`` (ADE20K: file value 0 is "other" -> ignore, class ``k`` is stored as
``k + 1``; on by default with the ``ade20k`` preset), ``split`` (a subfolder, or VOC's
``ImageSets/Segmentation/<split>.txt``).

Samples are named after the image (``JPEGImages/x.jpg``) when the folder has it, else after
the PNG. Writing gives one PNG per image named like the image with ``.png``
(``000000142238.jpg`` -> ``000000142238.png``), unlabeled pixels set to the ignore value, and
``categories.json`` last; ``palette=True`` writes palette PNGs coloured with the class colours.

Examples
--------
>>> import numpy as np, tempfile
>>> from panoptix.core import Category, SemanticMap, Taxonomy
>>> from panoptix.io.dataset import Dataset, ImageInfo, Sample
>>> tax = Taxonomy([Category(0, "ground", isthing=False), Category(1, "tree", isthing=False)])
>>> sem = SemanticMap(np.array([[0, 1], [1, 255]]))
>>> ds = Dataset.from_samples(tax, [Sample(ImageInfo(1, "a.jpg", 2, 2), semantic=sem)])
>>> out = tempfile.mkdtemp()
>>> write(ds, out)
>>> next(iter(read(out))).semantic.labels.tolist()
[[0, 1], [1, 255]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import FormatError, OutputError, SizeMismatchError, ValidationError
from ..core.labels import SemanticMap
from ..core.taxonomy import Category, Taxonomy
from . import _common as C
from .dataset import Dataset, ImageInfo, Sample
from .files import _open_image, as_path, image_sizes, read_json, write_png
from .taxonomies import PRESETS, VOC_BORDER_COLOR, preset

__all__ = ["read", "write", "decode_label_png"]

FORMAT = "semantic-png"
KIND = "semantic"


# --------------------------------------------------------------------------- reading
def read(path, *, images=None, taxonomy=None, ignore_index: int | None = None,
         reduce_zero_label: bool | None = None, split: str | None = None) -> Dataset:
    """Read a folder of semantic label PNGs (see the module docstring for layouts and options)."""
    root = as_path(path)
    if not root.is_dir():
        raise FormatError("expected a folder of label PNGs", file=root)
    seg = C.list_files(root, (".png",), endswith="_seg.png")
    if seg and any(p.with_name(p.name[:-8] + s).is_file() for p in seg[:1] for s in ("_atr.txt", ".json")):
        return _read_ade20k_full(root, seg, taxonomy=taxonomy, ignore_index=ignore_index)
    layout = _layout(root, split)
    labels_dir, image_dir = layout["labels"], as_path(images) if images is not None else layout["images"]
    files = [p for p in C.list_files(labels_dir, (".png",)) if layout["keep"](p)]
    if not files:
        raise C.no_data(root, "label PNGs")

    preset_name = taxonomy if isinstance(taxonomy, str) and taxonomy in PRESETS else None
    tax = C.resolve_taxonomy(taxonomy) or _taxonomy_in(root, labels_dir)
    if tax is None and layout["preset"]:
        preset_name = layout["preset"]
        tax = preset(preset_name)
    if tax is None:
        raise FormatError("no categories.json (or dataset_meta.json) found: pass taxonomy= (a Taxonomy, "
                          "a categories JSON, or a preset: voc, ade20k, cityscapes, cityscapes-train)", file=root)
    if reduce_zero_label is None:
        reduce_zero_label = preset_name == "ade20k"
    ignore = tax.ignore_index if ignore_index is None else int(ignore_index)
    colors = _color_table(tax, extra_ignore=layout["ignore_colors"], ignore=ignore)

    by_stem = C.image_index(image_dir)
    infos, pngs = [], {}
    for png, (h, w) in zip(files, image_sizes(files)):
        stem = C.relative_stem(png, labels_dir)
        info = ImageInfo(stem, by_stem.get(stem, png.relative_to(labels_dir).as_posix()), h, w)
        infos.append(info)
        pngs[stem] = png

    def load(info: ImageInfo) -> Sample:
        png = pngs[info.id]
        labels = decode_label_png(png, colors=colors, ignore_index=ignore, reduce_zero_label=reduce_zero_label)
        if labels.shape != (info.height, info.width):
            raise SizeMismatchError(f"label PNG is {labels.shape[1]}x{labels.shape[0]}, expected "
                                    f"{info.width}x{info.height}", file=png, image_id=info.id)
        return Sample(info, semantic=SemanticMap(labels, ignore_index=ignore))

    return Dataset(tax, infos, load, image_root=image_dir if by_stem else None, source=str(root), format=FORMAT)


def decode_label_png(png, *, colors: dict[int, int] | None = None, ignore_index: int = 255,
                     reduce_zero_label: bool = False) -> np.ndarray:
    """A label PNG -> H×W int64 class ids (palette indices, gray values, or colours via ``colors``,
    ``{0xRRGGBB: class id}``)."""
    img = _open_image(png)
    if img.mode in ("RGB", "RGBA"):
        rgb = np.asarray(img.convert("RGB"), dtype=np.int64)
        if not colors:
            raise FormatError("colour-coded label PNG, but the taxonomy gives no distinct class colours", file=png)
        packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        uniq, inverse = np.unique(packed, return_inverse=True)
        values = np.empty(len(uniq), np.int64)
        for j, c in enumerate(uniq.tolist()):
            if c not in colors:
                raise FormatError(f"colour {(c >> 16, (c >> 8) & 255, c & 255)} is no class colour", file=png)
            values[j] = colors[c]
        return values[inverse].reshape(packed.shape)
    if img.mode == "LA":
        img = img.convert("L")
    elif img.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        raise FormatError(f"unsupported label PNG mode {img.mode}", file=png)
    raw = np.asarray(img).astype(np.int64)
    if raw.ndim != 2:
        raise FormatError(f"expected a single-channel label PNG, got shape {raw.shape}", file=png)
    if reduce_zero_label:
        labels = raw - 1
        labels[(raw == 0) | (raw == ignore_index)] = ignore_index
        return labels
    return raw


def _layout(root: Path, split: str | None) -> dict:
    """Where the labels and images of a folder are, by its layout."""
    def sub(p: Path) -> Path:
        return p / split if split and (p / split).is_dir() else p

    out = {"labels": sub(root), "images": None, "preset": None, "ignore_colors": (), "keep": lambda p: True}
    if (root / "SegmentationClass").is_dir():  # Pascal VOC
        out.update(labels=root / "SegmentationClass", images=root / "JPEGImages", preset="voc",
                   ignore_colors=(VOC_BORDER_COLOR,))
        if split:
            listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
            if not listing.is_file():
                raise FormatError(f"no split {split!r}", file=listing)
            wanted = {ln.split()[0] for ln in listing.read_text().splitlines() if ln.strip()}
            out["keep"] = lambda p: p.stem in wanted
    elif (root / "masks").is_dir():  # Datumaro's common semantic segmentation layout
        out.update(labels=sub(root / "masks"), images=sub(root / "images"))
    elif (root / "annotations").is_dir() and (root / "images").is_dir():  # ADEChallengeData2016
        out.update(labels=sub(root / "annotations"), images=sub(root / "images"), preset="ade20k")
    if out["images"] is not None and not out["images"].is_dir():
        out["images"] = None
    return out


def _taxonomy_in(root: Path, labels_dir: Path) -> Taxonomy | None:
    for folder in dict.fromkeys((labels_dir, root)):
        if (folder / C.CATEGORIES_FILE).is_file():
            return C.read_categories(folder / C.CATEGORIES_FILE)
    if (root / "dataset_meta.json").is_file():
        return _datumaro_meta(root / "dataset_meta.json")
    if (root / "labelmap.txt").is_file():
        return _voc_labelmap(root / "labelmap.txt")
    return None


def _datumaro_meta(path: Path) -> Taxonomy:
    """Datumaro's ``dataset_meta.json``: ``label_map`` ``{"id": name}`` and ``segmentation_colors``."""
    meta = read_json(path)
    label_map = meta.get("label_map") if isinstance(meta, dict) else None
    if not isinstance(label_map, dict):
        raise FormatError("dataset_meta.json has no 'label_map' object", file=path)
    colors = meta.get("segmentation_colors") or []
    try:
        ids = sorted(int(k) for k in label_map)
        return Taxonomy([Category(i, str(label_map[str(i)]), isthing=False,
                                  color=tuple(colors[k]) if k < len(colors) else None)
                         for k, i in enumerate(ids)])
    except (ValueError, TypeError, KeyError) as exc:
        raise FormatError(f"bad dataset_meta.json: {exc}", file=path) from None


def _voc_labelmap(path: Path) -> Taxonomy:
    """VOC ``labelmap.txt`` (``name:r,g,b:parts:actions``); ids in line order, ``ignored`` is VOID."""
    cats = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        if name == "ignored":
            continue
        rgb = rest.split(":")[0]
        try:
            color = tuple(int(v) for v in rgb.split(",")) if rgb else None
        except ValueError:
            raise FormatError(f"bad colour in line {line!r}", file=path) from None
        cats.append(Category(len(cats), name, isthing=len(cats) > 0, color=color))
    return Taxonomy(cats)


def _color_table(tax: Taxonomy, *, extra_ignore=(), ignore: int = 255) -> dict[int, int] | None:
    """``{0xRRGGBB: class id}`` from the class colours, or None when two classes share a colour."""
    table: dict[int, int] = {}
    for c in tax:
        key = (c.color[0] << 16) | (c.color[1] << 8) | c.color[2]
        if key in table:
            return None
        table[key] = c.id
    for rgb in extra_ignore:
        table.setdefault((rgb[0] << 16) | (rgb[1] << 8) | rgb[2], ignore)
    return table


# --------------------------------------------------------------------------- ADE20K full format
def _read_ade20k_full(root: Path, files: list[Path], *, taxonomy=None, ignore_index=None) -> Dataset:
    """ADE20K's own release (2017 ``*_seg.png`` + ``*_atr.txt``; 2021 ``*_seg.png`` + ``*.json``):
    the class of a pixel is the name of the whole object it belongs to (parts are left out)."""
    objects: dict[str, tuple[str, dict]] = {}  # stem -> ("instance" | "class", {key: name})
    for png in files:
        stem = png.name[: -len("_seg.png")]
        atr, js = png.with_name(stem + "_atr.txt"), png.with_name(stem + ".json")
        if js.is_file():
            data = read_json(js)
            try:
                objs = data["annotation"]["object"]
                table = {int(o["name_ndx"]): str(o["raw_name"]) for o in objs
                         if int(o.get("parts", {}).get("part_level", 0)) == 0}
            except (KeyError, TypeError, ValueError) as exc:
                raise FormatError(f"not an ADE20K annotation ({exc})", file=js) from None
            objects[str(png)] = ("class", table)
        elif atr.is_file():
            table = {}
            for line in atr.read_text().splitlines():
                cols = [c.strip() for c in line.split("#")]
                if len(cols) < 5:
                    continue
                try:
                    inst, level = int(cols[0]), int(cols[1])
                except ValueError:
                    raise FormatError(f"bad line {line!r}", file=atr) from None
                if level == 0:
                    table[inst] = cols[4]
            objects[str(png)] = ("instance", table)
        else:
            raise FormatError("no *_atr.txt or .json beside the ADE20K mask", file=png)

    tax = C.resolve_taxonomy(taxonomy)
    if tax is None and (root / "dataset_meta.json").is_file():
        tax = _datumaro_meta(root / "dataset_meta.json")
    tax = C.taxonomy_by_names((n for _, t in objects.values() for n in t.values()), tax, file=root)
    ignore = tax.ignore_index if ignore_index is None else int(ignore_index)
    infos, pngs = [], {}
    for png, (h, w) in zip(files, image_sizes(files)):
        rel = png.relative_to(root).as_posix()[: -len("_seg.png")]
        suffix = ".png" if png.with_name(png.name[:-8] + ".png").is_file() else ".jpg"
        infos.append(ImageInfo(rel, rel + suffix, h, w))
        pngs[rel] = png

    def load(info: ImageInfo) -> Sample:
        png = pngs[info.id]
        kind, table = objects[str(png)]
        rgb = np.asarray(_open_image(png).convert("RGB"), dtype=np.int64)
        if kind == "class":
            key = (rgb[..., 0] // 10) * 256 + rgb[..., 1]
        else:
            key = np.unique(rgb[..., 2], return_inverse=True)[1].reshape(rgb.shape[:2])
        lut = {k: tax[name].id for k, name in table.items()}
        uniq, inverse = np.unique(key, return_inverse=True)
        values = np.array([lut.get(k, ignore) for k in uniq.tolist()], np.int64)
        return Sample(info, semantic=SemanticMap(values[inverse].reshape(key.shape), ignore_index=ignore))

    return Dataset(tax, infos, load, image_root=root, source=str(root), format=FORMAT)


# --------------------------------------------------------------------------- writing
def write(dataset: Dataset, dst, *, palette: bool = False, ignore_index: int | None = None,
          reduce_zero_label: bool = False, progress=None) -> None:
    """Write one label PNG per image and ``categories.json``.

    Parameters
    ----------
    palette : bool
        Palette PNGs whose colours are the class colours (values must fit 8 bits).
    ignore_index : int, optional
        File value of unlabeled pixels (default the taxonomy's, 255).
    reduce_zero_label : bool
        Store class ``k`` as ``k + 1`` and unlabeled pixels as 0 (ADE20K).
    """
    root = C.output_dir(dst)
    tax = dataset.taxonomy
    ignore = tax.ignore_index if ignore_index is None else int(ignore_index)
    names = C.OutputNames()
    lut = None
    if palette:  # file value -> class colour; unlabeled pixels get VOC's border colour
        lut = np.zeros((256, 3), np.uint8)
        for c in tax:
            v = c.id + 1 if reduce_zero_label else c.id
            if v < 256:
                lut[v] = c.color
        file_ignore = 0 if reduce_zero_label else ignore
        if file_ignore < 256:
            lut[file_ignore] = VOC_BORDER_COLOR
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            name = names(info, ".png")
            sem = C.map_of(sample, "semantic", tax)
            sem.validate(tax)
            unlabeled = sem.labels == sem.ignore_index
            if reduce_zero_label:
                out = sem.labels + 1
                out[unlabeled] = 0
            else:
                if ignore != sem.ignore_index and bool(np.any(sem.labels == ignore)):
                    raise ValidationError(f"class {ignore} is also the ignore value: pass another ignore_index")
                out = sem.labels.copy()
                out[unlabeled] = ignore
            if lut is not None and out.size and int(out.max()) > 255:
                raise OutputError(f"class id {int(out.max())} does not fit a palette PNG (8 bits)")
            write_png(root / name, out, palette=lut)
    C.write_categories(root / C.CATEGORIES_FILE, tax)
