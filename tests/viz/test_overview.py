"""The dataset overview page: statistics, a self-contained file, and how it renders in Chromium."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from panoptix.core import FormatError, Instances, OutputError, PanopticMap, SemanticMap
from panoptix.io.dataset import Dataset, ImageInfo, Sample
from panoptix.viz.overview import dataset_stats, write_overview


def _dataset(tax, n=5, source="") -> Dataset:
    samples = []
    for i in range(n):
        ids = np.zeros((48, 64), np.int64)
        ids[:16] = 10  # sky
        ids[20:40, 5 + i:25 + i] = 1  # a person
        ids[20:40, 30:50] = 2  # another person
        pan = PanopticMap.from_ids(ids, {10: 184, 1: 1, 2: 1})
        samples.append(Sample(ImageInfo(100 + i, f"img{i}.jpg", 48, 64), panoptic=pan))
    m = np.zeros((1, 48, 64), bool)
    m[0, 10:20, 10:20] = True
    samples.append(Sample(ImageInfo(200, "inst.jpg", 48, 64), instances=Instances.from_masks(m, [3], iscrowd=[1])))
    samples.append(Sample(ImageInfo(300, "sem.png", 48, 64), semantic=SemanticMap(np.full((48, 64), 7))))
    samples.append(Sample(ImageInfo(400, "none.jpg", 48, 64)))
    return Dataset.from_samples(tax, samples, source=source, format="test")


def test_stats_count_objects_images_and_areas(tax):
    st = dataset_stats(_dataset(tax))
    assert st["images"] == 8 and st["unlabeled"] == 1
    assert st["objects"] == {184: 5, 1: 10, 3: 1} and {k: v for k, v in st["crowd"].items() if v} == {3: 1}
    assert st["images_with"] == {184: 5, 1: 5, 3: 1, 7: 1}
    assert st["pixels"][7] == 48 * 64 and st["pixels"][1] == 10 * 400
    assert sorted(set(st["areas"])) == [100, 400, 1024]
    assert st["kinds"] == {"panoptic": 5, "instances": 1, "semantic": 1}


def _images(html: str) -> list[np.ndarray]:
    out = []
    for b64 in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html):
        out.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB")))
    return out


@pytest.fixture(scope="module")
def overview(tmp_path_factory):
    """One page shared by the tests that only read it."""
    from panoptix.core import Category, Taxonomy

    tax = Taxonomy([Category(1, "person", True, (220, 20, 60)), Category(3, "car", True, (0, 0, 142)),
                    Category(7, "road", False, (128, 64, 128)), Category(184, "sky", False, (70, 130, 180))])
    folder = tmp_path_factory.mktemp("overview") / "sub"
    return write_overview(_dataset(tax), folder / "overview.html", max_samples=4)


def test_overview_file_is_self_contained(tax, overview):
    html = overview.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    imgs = _images(html)
    assert len(imgs) == 2 + 4  # two plots, four samples spread over the eight images
    for im in imgs[:-1]:  # the last sample has no labels: plain grey
        assert im.shape[0] > 40 and im.shape[1] > 40 and im.std() > 5  # not blank
    assert imgs[-1].std() == 0
    assert "img0.jpg (id 100)" in html and "none.jpg (id 400)" in html  # first and last picked
    assert html.count("<tr>") == 1 + len(tax)  # header + one row per class
    assert [p.name for p in overview.parent.iterdir()] == ["overview.html"]  # no temporary left


def test_overview_renders_in_chromium(overview, page):
    page.goto(overview.as_uri())
    page.wait_for_load_state("load")
    widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) == 6 and all(w > 0 for w in widths)
    first = lambda: page.evaluate("document.querySelector('#classes tbody tr td:nth-child(2)').textContent")
    assert first() == "person"  # most objects first
    page.click("#classes th:nth-child(2)")
    assert first() == "car"  # alphabetical
    page.click("#classes th:nth-child(2)")
    assert first() == "sky"
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L"))
    assert shot.shape[0] > 900 and shot.std() > 10
    assert all(u.startswith(("file:", "data:")) for u in page.requests_seen)


def test_overview_uses_photos_beside_the_dataset(tax, tmp_path, overview):
    (tmp_path / "images").mkdir()
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[..., 2] = 255  # pure blue photo: shows through the colours laid over it
    Image.fromarray(photo).save(tmp_path / "images" / "img0.jpg", quality=100)
    ds = _dataset(tax, source=str(tmp_path / "labels.json"))
    html = write_overview(ds, tmp_path / "o.html", max_samples=1).read_text()
    thumb = _images(html)[-1]
    assert thumb[5, 30, 2] > 200 and thumb[5, 30, 0] < 60  # sky laid over the blue photo
    grey = _images(overview.read_text())[2]  # the same sample without a photo
    assert grey[5, 30, 2] < 190 and grey[5, 30, 0] > 90  # sky laid over grey


def test_overview_errors_name_the_image_and_write_nothing(tax, tmp_path):
    def broken(info):
        raise FormatError("truncated PNG", file="labels/bad.png")

    ds = Dataset(tax, [ImageInfo(7, "bad.jpg", 4, 4)], broken, source="labels.json")
    with pytest.raises(FormatError, match="labels/bad.png, image 7: truncated PNG"):
        write_overview(ds, tmp_path / "o.html")
    assert not (tmp_path / "o.html").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        write_overview(_dataset(tax), tmp_path / "file" / "o.html")
    with pytest.raises(OutputError, match="is a folder"):
        write_overview(_dataset(tax), tmp_path)
