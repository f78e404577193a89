"""The interface pieces that need no model: images in, Prediction out, sizes, tasks."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from panoptix.core import Category, FormatError, PanoptixError, Taxonomy, ValidationError
from panoptix.core.labels import Instances, PanopticMap, SemanticMap
from panoptix.io.dataset import ImageInfo
from panoptix.models import ImageResizedWarning, Prediction, Segmenter, as_rgb, load_image, normalize_task
from panoptix.models.base import BaseSegmenter, image_info_for, resize_nearest, restore_size

TAX = Taxonomy([Category(1, "cat"), Category(2, "dog"), Category(9, "sky", isthing=False)])


# --------------------------------------------------------------------------- images
def test_as_rgb_converts_gray_rgba_16bit_float_bool():
    gray = np.array([[0, 128]], np.uint8)
    assert as_rgb(gray).shape == (1, 2, 3) and as_rgb(gray)[0, 1].tolist() == [128, 128, 128]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    assert as_rgb(rgba).shape == (2, 2, 3) and as_rgb(rgba)[0, 0, 0] == 200
    deep = np.array([[0, 1000, 4000]], np.uint16)
    assert as_rgb(deep)[0, :, 0].tolist() == [0, 64, 255]
    assert as_rgb(np.array([[0.0, 1.0]]))[0, :, 0].tolist() == [0, 255]
    assert as_rgb(np.array([[True, False]]))[0, :, 0].tolist() == [255, 0]
    assert as_rgb(np.zeros((3, 3, 1), np.uint8)).shape == (3, 3, 3)


def test_as_rgb_rejects_bad_shapes_and_nan():
    with pytest.raises(FormatError, match="H×W"):
        as_rgb(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(FormatError, match="NaN"):
        as_rgb(np.array([[np.nan, 0.5]]))
    with pytest.raises(FormatError):
        as_rgb(np.zeros((0, 4), np.uint8))


def test_load_image_from_files_of_every_kind(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((6, 8), 7, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 200)).save(tmp_path / "deep.png")
    for name in ("rgb", "gray", "rgba", "deep"):
        arr, source = load_image(tmp_path / f"{name}.png")
        assert arr.shape == (6, 8, 3) and arr.dtype == np.uint8, name
        assert source.endswith(f"{name}.png")
    assert np.array_equal(load_image(tmp_path / "rgba.png")[0], rgb)
    arr, source = load_image(Image.fromarray(rgb))
    assert source is None and np.array_equal(arr, rgb)


def test_unreadable_images_name_the_file(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(FormatError, match="broken.jpg"):
        load_image(tmp_path / "broken.jpg")
    with pytest.raises(FormatError, match="missing.png.*not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(FormatError, match="cannot read an image from a dict"):
        load_image({"not": "an image"})


# --------------------------------------------------------------------------- tasks
def test_normalize_task():
    assert normalize_task("instances") == "instance"
    assert normalize_task(None, default="semantic") == "semantic"
    assert normalize_task("ALL") == "all"
    with pytest.raises(ValidationError, match="unknown task"):
        normalize_task("depth")
    with pytest.raises(ValidationError, match="does not do panoptic"):
        normalize_task("panoptic", supported=("semantic",))


# --------------------------------------------------------------------------- Prediction
def test_prediction_derives_missing_kinds_with_convert():
    ids = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3]])
    pan = PanopticMap.from_ids(ids, {1: 1, 2: 1, 3: 9})
    pred = Prediction(panoptic=pan, taxonomy=TAX, image=ImageInfo(5, "a.jpg", 3, 4))
    assert pred.kinds == ["panoptic"] and pred.shape == (3, 4)
    sem = pred.get("semantic")
    assert sem.labels.tolist() == [[1, 1, 1, 1], [1, 1, 1, 1], [9, 9, 9, 9]]
    inst = pred.get("instance")
    assert len(inst) == 2 and inst.category_ids.tolist() == [1, 1]
    full = pred.with_kind("semantic")
    assert full.kinds == ["semantic", "panoptic"] and full.image.id == 5
    assert pred.problems() == []
    sample = pred.to_sample()
    assert sample.image.file_name == "a.jpg" and sample.kinds == ["panoptic"]


def test_prediction_problems_report_unknown_classes():
    pred = Prediction(semantic=SemanticMap(np.array([[1, 42]])), taxonomy=TAX, image=ImageInfo(3, "x.png", 1, 2))
    problems = pred.problems()
    assert len(problems) == 1 and "42" in str(problems[0]) and "image 3" in str(problems[0])


def test_empty_prediction_has_no_shape():
    with pytest.raises(ValidationError, match="empty prediction"):
        Prediction(taxonomy=TAX).shape


# --------------------------------------------------------------------------- sizes
def test_resize_nearest_keeps_ids():
    a = np.arange(12).reshape(3, 4)
    up = resize_nearest(a, (6, 8))
    assert up.shape == (6, 8) and set(np.unique(up)) == set(range(12))
    assert resize_nearest(up, (3, 4)).tolist() == a.tolist()


def test_restore_size_scales_every_kind():
    ids = np.zeros((4, 4), np.int64)
    ids[:2, :2] = 1
    ids[2:, :] = 2
    pan = PanopticMap.from_ids(ids, {1: 1, 2: 9})
    inst = Instances.from_masks(np.stack([ids == 1, ids > 0]), [1, 2], scores=[0.9, 0.4])
    pred = Prediction(SemanticMap(np.where(ids == 2, 9, 1).astype(np.uint8)), inst, pan, TAX)
    big = restore_size(pred, (8, 12))
    assert big.shape == (8, 12)
    assert big.panoptic.segment(1).area == 4 * 6 and big.panoptic.segment(2).area == 4 * 12
    assert big.instances.areas.tolist() == [24.0, 72.0] and big.instances.scores.tolist() == [0.9, 0.4]
    assert big.semantic.labels.shape == (8, 12) and big.extra["resized_from"] == (4, 4)
    assert big.problems() == []


class _Echo(BaseSegmenter):
    """A segmenter whose 'model' labels every pixel with class 1: exercises the shared machinery."""

    name = "echo"

    def __init__(self, **kw):
        super().__init__(TAX, tasks=("semantic",), default_task="semantic", **kw)
        self.seen = []

    def _predict_batch(self, images, task):
        self.seen.append([im.shape for im in images])
        return [Prediction(semantic=SemanticMap(np.ones(im.shape[:2], np.uint8)), taxonomy=TAX) for im in images]


def test_base_segmenter_batches_shrinks_and_restores(tmp_path):
    seg = _Echo(batch_size=2, max_side=32)
    assert isinstance(seg, Segmenter)
    big = np.zeros((40, 80, 3), np.uint8)
    Image.fromarray(big).save(tmp_path / "000000000042.png")
    with pytest.warns(ImageResizedWarning, match="80x40 is larger than max_side=32"):
        preds = seg.predict([tmp_path / "000000000042.png", np.zeros((10, 12), np.uint8), big])
    assert [p.shape for p in preds] == [(40, 80), (10, 12), (40, 80)]
    assert seg.seen == [[(16, 32, 3), (10, 12, 3)], [(16, 32, 3)]]  # batches of 2, shrunk inputs
    assert preds[0].image.id == 42 and preds[0].image.file_name == "000000000042.png"
    assert preds[1].image.id == 1 and preds[0].extra["resized_from"] == (16, 32)
    single = seg.predict(np.zeros((5, 5, 3), np.uint8))
    assert isinstance(single, Prediction) and single.shape == (5, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small images: no warning
        seg.predict(np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ValidationError, match="does not do panoptic"):
        seg.predict(big, task="panoptic")
    with pytest.raises(ValidationError, match="batch_size"):
        _Echo(batch_size=0)


def test_a_failing_model_becomes_one_clear_error():
    class Broken(_Echo):
        def _predict_batch(self, images, task):
            raise RuntimeError("shape mismatch deep inside torch")

    with pytest.raises(PanoptixError, match="echo failed on 0: RuntimeError: shape mismatch"):
        Broken().predict(np.zeros((4, 4, 3), np.uint8))


def test_image_info_ids_from_coco_names():
    assert image_info_for("/x/000000139.jpg", 0, (2, 3)).id == 139
    info = image_info_for("/x/frame_a.png", 4, (2, 3))
    assert info.id == "frame_a" and (info.height, info.width) == (2, 3)
    assert image_info_for(None, 7, (1, 1)).id == 7


def test_import_without_torch_and_a_clear_error_from_load(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model_type": "segformer"}')
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\nsys.modules['transformers'] = None\n"
        "import panoptix.models as m\n"
        "from panoptix.models import classical\n"
        "import numpy as np\n"
        "assert classical.magic_wand(np.zeros((4, 4, 3), np.uint8), (0, 0)).all()\n"
        "from panoptix.core import PanoptixError\n"
        "try:\n"
        f"    m.load({str(tmp_path / 'm')!r})\n"
        "except PanoptixError as e:\n"
        "    print('ERR', e)\n"
        "assert 'torch' not in [k for k, v in sys.modules.items() if v is not None]\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "ERR" in res.stdout and "pip install 'panoptix[models]'" in res.stdout
