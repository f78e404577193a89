"""Make the pictures of the README's viz section (docs/images/*.png) from the bundled sample.

    .venv/bin/python scripts/make_readme_images.py [OUT_DIR]

Everything is drawn by panoptix.viz from the two COCO val2017 images bundled in
``src/panoptix/data/sample`` (COCO panoptic ground truth). The "prediction" in the
comparison pictures is made here by shifting and relabelling that ground truth, so
that every colour (TP, FP, FN, ignored) shows up; it is not a model's output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from panoptix.convert import panoptic_to_instances, panoptic_to_semantic  # noqa: E402
from panoptix.core import PanopticMap, Segment  # noqa: E402
from panoptix.io import read_dataset  # noqa: E402
from panoptix.io.files import atomic_write  # noqa: E402
from panoptix.viz import annotate as A  # noqa: E402
from panoptix.viz import draw_comparison, draw_sample  # noqa: E402
from panoptix.viz._html import thumbnail  # noqa: E402
from panoptix.viz.show import load_image  # noqa: E402

SAMPLE = REPO / "src" / "panoptix" / "data" / "sample" / "panoptic.json"
IMAGE = "000000439180"


def fake_prediction(pan: PanopticMap, shift: int = 6) -> PanopticMap:
    """The ground truth moved right by ``shift`` pixels, every third thing called a person."""
    ids = np.roll(pan.ids, shift, axis=1)
    ids[:, :shift] = 0
    segs = [Segment(s.id, 1 if (k % 3 == 2 and s.category_id != 1 and s.category_id < 92) else s.category_id)
            for k, s in enumerate(pan.segments)]
    return PanopticMap(ids, segs).with_stats()


def main(out_dir: Path) -> list[Path]:
    ds = read_dataset(SAMPLE)
    tax = ds.taxonomy
    info = ds.find(IMAGE)
    sample = ds.load(info)
    photo = load_image(ds, info)
    written = []

    view = draw_sample(sample, tax, photo)
    out = out_dir / "show.png"
    save(out, thumbnail(view, 1200))
    written.append(out)

    gt = sample.panoptic
    pred = fake_prediction(gt)
    comparisons = [
        A.add_title(draw_comparison(photo, panoptic_to_semantic(gt, tax), panoptic_to_semantic(pred, tax), tax),
                    "semantic: pixels right / wrong"),
        A.add_title(draw_comparison(photo, panoptic_to_instances(gt, tax), _with_scores(panoptic_to_instances(pred, tax)),
                                    tax, labels=False), "instance: COCO matching at IoU 0.5"),
        A.add_title(draw_comparison(photo, gt, pred, tax, labels=False), "panoptic: PQ matching, IoU > 0.5"),
    ]
    out = out_dir / "comparison.png"
    save(out, thumbnail(A.hstack(comparisons), 1200))
    written.append(out)
    return written


def save(path: Path, image: np.ndarray) -> None:
    """PNG with a 256-colour palette: a third of the size, fine for pictures in a README."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).quantize(256, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())


def _with_scores(inst):
    inst.scores = np.linspace(0.95, 0.35, len(inst))
    return inst


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images"
    for path in main(target):
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
