"""The polygon tracer behind LabelMe/YOLO writing, and writers converting samples of another kind."""

import numpy as np
import pytest
from scipy import ndimage

from panoptix.core import Instances, masks as M
from panoptix.io import read_dataset, write_dataset
from panoptix.io._polygons import bridge, mask_to_polygons
from panoptix.io.dataset import Dataset, ImageInfo, Sample

from .conftest import COCO_TINY, dataset, instances_sample, need, panoptic_sample, semantic_sample, taxonomy


def _random_masks(n, seed=0):
    rng = np.random.default_rng(seed)
    for t in range(n):
        h, w = rng.integers(1, 40, 2)
        m = rng.random((h, w)) < rng.uniform(0.05, 0.9)
        yield ndimage.binary_opening(m) if t % 3 == 0 else m


def test_traced_polygons_rasterise_to_the_same_pixels():
    for m in _random_masks(120):
        polys = mask_to_polygons(m)
        got = M.decode(M.to_rle(polys, *m.shape)) if polys else np.zeros(m.shape, bool)
        assert np.array_equal(got, m)
        if polys:  # joined into one polygon (YOLO): still the same pixels
            assert np.array_equal(M.decode(M.to_rle([bridge(polys)], *m.shape)), m)


def test_polygons_are_outlines_along_pixel_edges():
    m = np.zeros((4, 5), bool)
    m[1:3, 1:4] = True
    assert mask_to_polygons(m) == [[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 1.0, 3.0]]
    assert mask_to_polygons(np.zeros((3, 3), bool)) == []
    diag = np.eye(3, dtype=bool)  # 8-connected: one part, touching corners joined
    assert len(mask_to_polygons(diag)) == 1


def test_unlabeled_images_write_empty_labels(tmp_path):
    ds = Dataset.from_samples(taxonomy(), [Sample(ImageInfo(1, "a.jpg", 3, 4))])
    write_dataset(ds, tmp_path / "sem", "semantic-png")
    assert read_dataset(tmp_path / "sem").sample("a").semantic.labels.tolist() == [[255] * 4] * 3
    write_dataset(ds, tmp_path / "p.json", "coco-panoptic")
    assert read_dataset(tmp_path / "p.json").sample(1).panoptic.segments == []
    write_dataset(ds, tmp_path / "i.json", "coco-instances")
    assert len(read_dataset(tmp_path / "i.json").sample(1).instances) == 0


def test_writers_convert_other_kinds(tmp_path):
    import panoptix.convert  # noqa: F401
    from panoptix.convert import panoptic_to_instances, panoptic_to_semantic

    pan = panoptic_sample()
    tax = taxonomy()
    write_dataset(dataset(pan), tmp_path / "sem", "semantic-png")  # panoptic -> semantic: exact
    sem = read_dataset(tmp_path / "sem").sample("a").semantic
    assert np.array_equal(sem.labels, panoptic_to_semantic(pan.panoptic, tax).labels)
    write_dataset(dataset(pan), tmp_path / "i.json", "coco-instances")  # panoptic -> instances: exact
    inst = read_dataset(tmp_path / "i.json").sample(1).instances
    ref = panoptic_to_instances(pan.panoptic, tax)
    assert np.array_equal(inst.masks(), ref.masks()) and inst.iscrowd.tolist() == ref.iscrowd.tolist()
    write_dataset(dataset(semantic_sample()), tmp_path / "c", "cityscapes")  # semantic -> panoptic
    back = read_dataset(tmp_path / "c").sample("a").panoptic
    assert {s.category_id for s in back.segments} == {1, 7, 9}
    write_dataset(dataset(instances_sample()), tmp_path / "lm", "labelme")  # instances as they are
    assert len(read_dataset(tmp_path / "lm").sample("a").instances) == 3


def test_fuse_options_reach_the_conversion(tmp_path):
    import panoptix.convert  # noqa: F401
    s = instances_sample()
    inst = s.instances
    scored = Instances(inst.segmentations, inst.height, inst.width, inst.category_ids, scores=[0.9, 0.2, 0.6],
                       iscrowd=inst.iscrowd)
    ds = dataset(Sample(s.image, instances=scored))
    write_dataset(ds, tmp_path / "a.json", "coco-panoptic", fuse_opts={"score_threshold": 0.5})
    write_dataset(ds, tmp_path / "b.json", "coco-panoptic", fuse_opts={"score_threshold": 0.1})
    n = [len(read_dataset(tmp_path / f"{x}.json").sample(1).panoptic.segments) for x in "ab"]
    assert n == [2, 3]


def test_coco_tiny_instances_to_semantic_png(tmp_path):
    import panoptix.convert  # noqa: F401
    from panoptix.convert import instances_to_semantic

    src = read_dataset(need(COCO_TINY))
    small = Dataset(src.taxonomy, src.images[:4], src.load, image_root=src.image_root)
    write_dataset(small, tmp_path, "semantic-png", palette=True)
    back = read_dataset(tmp_path)
    for s in small:
        ref = instances_to_semantic(s.instances, src.taxonomy)
        assert np.array_equal(back.sample(s.image.file_name[:-4]).semantic.labels, ref.labels)
