"""``panoptix show``: one image with its three views, on the real COCO panoptic sample and on
datasets written in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from panoptix.cli.main import app
from panoptix.core import Category, PanopticMap, SemanticMap, Taxonomy
from panoptix.io import Dataset, ImageInfo, Sample, write_dataset
from panoptix.viz.show import draw_sample, find_image

runner = CliRunner()
GAP = 6
H, W = 48, 64
TAX = Taxonomy([Category(1, "person", True, (220, 20, 60)), Category(184, "sky", False, (70, 130, 180)),
                Category(7, "road", False, (128, 64, 128))])


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    for n in needles:
        assert n in lines[0], res.output
    assert "Traceback" not in res.output


def panels(img: np.ndarray, width: int, n: int = 4) -> list[np.ndarray]:
    return [img[:, k * (width + GAP): k * (width + GAP) + width] for k in range(n)]


def test_show_real_panoptic_sample(shared_data, tmp_path):
    folder = shared_data / "coco-panoptic-sample"
    out = tmp_path / "view.png"
    res = runner.invoke(app, ["show", str(folder / "panoptic_examples.json"), "--image", "000000142238",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "no photo" not in res.output
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[1] == 4 * 640 + 3 * GAP and img.shape[0] > 427
    photo = np.asarray(Image.open(folder / "input_images" / "000000142238.jpg").convert("RGB"))
    image_panel, sem, inst, pan = panels(img[-427:], 640)
    assert np.array_equal(image_panel, photo)  # the photo, found in input_images/ beside the JSON
    for view in (sem, inst, pan):
        assert view.std() > 20 and not np.array_equal(view, photo)
    assert (img[:-427, :100] != 255).any()  # a title above each panel
    person = (220, 20, 60)  # the panoptic sample's person colour, in the legends
    assert (pan == person).all(-1).sum() >= 100 and (sem == person).all(-1).sum() >= 100


def test_show_without_photo_draws_on_grey_then_finds_images_dir(tmp_path):
    ids = np.zeros((H, W), np.int64)
    ids[:20] = 2
    ids[30:] = 3
    ids[20:30, 10:30] = 1
    pan = PanopticMap.from_ids(ids, {1: 1, 2: 184, 3: 7})
    write_dataset(Dataset.from_samples(TAX, [Sample(ImageInfo(5, "street.jpg", H, W), panoptic=pan)]),
                  tmp_path / "ds" / "panoptic.json", "coco-panoptic")
    out = tmp_path / "a.png"
    res = runner.invoke(app, ["show", str(tmp_path / "ds" / "panoptic.json"), "--image", "street", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "no photo found" in res.output
    first = panels(np.asarray(Image.open(out).convert("RGB"))[-H:], W)[0]
    assert (first == 160).all()

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((H, W, 3), (10, 200, 10), np.uint8)).save(photos / "street.png")
    res = runner.invoke(app, ["show", str(tmp_path / "ds" / "panoptic.json"), "--image", "5", "--out", str(out),
                              "--images", str(photos)])
    assert res.exit_code == 0, res.output
    first = panels(np.asarray(Image.open(out).convert("RGB"))[-H:], W)[0]
    assert (first == (10, 200, 10)).all()


def test_draw_sample_derives_missing_kinds(tmp_path):
    labels = np.full((H, W), 184)
    labels[30:] = 7
    labels[10:25, 10:20] = 1
    labels[10:25, 40:50] = 1
    sample = Sample(ImageInfo(1, "x.jpg", H, W), semantic=SemanticMap(labels))
    pic = draw_sample(sample, TAX)
    assert pic.shape[1] == 4 * W + 3 * GAP
    _, sem, inst, pan = panels(pic[-H:], W)
    # instances derived by connected components: two people, two shades of the person colour
    assert not np.array_equal(inst[15, 15], inst[15, 45])
    assert np.array_equal(pan[15, 15], inst[15, 15]) or pan[15, 15].tolist() != sem[40, 40].tolist()
    only = draw_sample(sample, TAX, kinds=("panoptic",), with_image=False)
    assert only.shape[1] == W


def test_find_image_beside_coco_json(tmp_path):
    (tmp_path / "val2017").mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "val2017" / "000001.jpg")
    ds = Dataset(TAX, [ImageInfo(1, "000001.jpg", H, W)], lambda i: Sample(i), source=str(tmp_path / "x.json"))
    assert find_image(ds, ds.images[0]) == tmp_path / "val2017" / "000001.jpg"
    assert find_image(ds, ImageInfo(2, "missing.jpg", H, W)) is None


def test_show_semantic_folder(tmp_path):
    labels = np.full((H, W), 184, np.int64)
    labels[24:] = 7
    ds = Dataset.from_samples(TAX, [Sample(ImageInfo("a", "a.png", H, W), semantic=SemanticMap(labels))])
    write_dataset(ds, tmp_path / "sem", "semantic-png")
    out = tmp_path / "v.png"
    res = runner.invoke(app, ["show", str(tmp_path / "sem"), "--image", "a", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert Image.open(out).size == (4 * W + 3 * GAP, Image.open(out).size[1])


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def coco(tmp_path):
    ids = np.ones((H, W), np.int64)
    pan = PanopticMap.from_ids(ids, {1: 184})
    path = tmp_path / "ds" / "panoptic.json"
    write_dataset(Dataset.from_samples(TAX, [Sample(ImageInfo(9, "p.jpg", H, W), panoptic=pan)]), path,
                  "coco-panoptic")
    return path


def test_show_unknown_image(coco, tmp_path):
    res = runner.invoke(app, ["show", str(coco), "--image", "nope", "--out", str(tmp_path / "o.png")])
    one_line_error(res, "no image 'nope'", str(coco))
    assert not (tmp_path / "o.png").exists()


def test_show_corrupt_label_png(coco, tmp_path):
    png = next((coco.parent / "panoptic").glob("*.png"))
    png.write_bytes(png.read_bytes()[:40])
    res = runner.invoke(app, ["show", str(coco), "--image", "9", "--out", str(tmp_path / "o.png")])
    one_line_error(res, png.name, "image 9")
    assert not (tmp_path / "o.png").exists()


def test_show_photo_of_wrong_size(coco, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(photos / "p.jpg")
    res = runner.invoke(app, ["show", str(coco), "--image", "9", "--out", str(tmp_path / "o.png"),
                              "--images", str(photos)])
    one_line_error(res, "p.jpg", "image 9", "10x10")
    assert not (tmp_path / "o.png").exists()


def test_show_unwritable_output(coco, tmp_path):
    (tmp_path / "file").write_text("")
    res = runner.invoke(app, ["show", str(coco), "--image", "9", "--out", str(tmp_path / "file" / "o.png")])
    one_line_error(res, "cannot write")


def test_show_missing_dataset(tmp_path):
    res = runner.invoke(app, ["show", str(tmp_path / "none.json"), "--image", "1", "--out", str(tmp_path / "o.png")])
    assert res.exit_code == 2 and "Traceback" not in res.output
