"""Remote data: every reader and writer on fsspec URLs (``memory://``, ``file://``), compared with
the same work on the local disk."""

from __future__ import annotations

import io
import pickle
import shutil
import uuid
import warnings
from pathlib import Path

import fsspec
import numpy as np
import pytest
from PIL import Image

from panoptix.core import FormatError, OutputError, ValidationError
from panoptix.io import FORMATS, coco_panoptic, detect_format, read_dataset, write_dataset
from panoptix.io.dataset import Dataset
from panoptix.io.files import (RemotePath, as_path, atomic_write, copy_file, image_size, image_sizes, is_url,
                               read_bytes, read_image, read_json, read_png, relpath, walk_files, write_json,
                               write_png)

from .conftest import (COCO_TINY, PANOPTIC_SAMPLE, dataset, instances_sample, need, panoptic_sample,
                       semantic_sample, truncate, write_image)

MEM = fsspec.filesystem("memory")


@pytest.fixture
def mem():
    """A fresh folder on fsspec's in-memory filesystem, removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    yield f"memory://{name}"
    if MEM.exists(f"/{name}"):
        MEM.rm(f"/{name}", recursive=True)


def tree(root) -> dict[str, bytes]:
    """``{relative path: bytes}`` of every file below a local folder or a URL."""
    root = as_path(root)
    return {p.relative_to(root).as_posix(): read_bytes(p) for p in walk_files(root)}


def same(a, b) -> bool:
    """Labels equal: SemanticMap and PanopticMap compare by value; Instances by their COCO records
    and their masks."""
    if a is None or b is None:
        return a is b
    if hasattr(a, "to_coco") and hasattr(a, "masks"):
        return a.to_coco(0) == b.to_coco(0) and np.array_equal(a.masks(), b.masks())
    return a == b


def upload(local: Path, url: str) -> None:
    """Copy a local file or folder to a URL with panoptix's own copy."""
    if local.is_file():
        copy_file(local, url)
        return
    for p in walk_files(local):
        copy_file(p, f"{url}/{p.relative_to(local).as_posix()}")


# --------------------------------------------------------------------------- paths
def test_as_path_keeps_local_paths_local_and_wraps_urls(tmp_path):
    assert as_path(str(tmp_path)) == tmp_path and type(as_path(str(tmp_path))) is type(tmp_path)
    assert as_path(f"file://{tmp_path}/x.json") == tmp_path / "x.json"  # file:// is the local fast path
    p = as_path("memory://bucket/ann/panoptic.json")
    assert isinstance(p, RemotePath) and as_path(p) is p
    assert (str(p), p.name, p.stem, p.suffix) == ("memory://bucket/ann/panoptic.json", "panoptic.json", "panoptic",
                                                 ".json")
    assert str(p.with_suffix("")) == "memory://bucket/ann/panoptic"
    assert [str(q) for q in p.parents] == ["memory://bucket/ann", "memory://bucket", "memory://"]
    assert p.relative_to(as_path("memory://bucket")).as_posix() == "ann/panoptic.json"
    with pytest.raises(ValueError):
        p.relative_to(as_path("memory://other"))
    assert str(p.parent / "sub\\b.png") == "memory://bucket/ann/sub/b.png"
    assert sorted([p, p.parent]) == [p.parent, p] and len({p, as_path(str(p))}) == 1
    assert is_url("gs://b/k") and is_url(p) and not is_url(str(tmp_path)) and not is_url("C:/data")
    back = pickle.loads(pickle.dumps(p))  # Dask ships paths to workers
    assert back == p and str(back) == str(p)


def test_relpath_within_and_across_filesystems(tmp_path):
    assert relpath("memory://b/images/a.jpg", "memory://b/labelme") == "../images/a.jpg"
    assert relpath(tmp_path / "images" / "a.jpg", tmp_path / "labelme") == "../images/a.jpg"
    assert relpath("memory://b/images/a.jpg", tmp_path) == "memory://b/images/a.jpg"


def test_unknown_protocol_and_missing_backend_name_the_url():
    with pytest.raises(FormatError, match=r"^nosuchproto://x/y.json: cannot open this URL"):
        read_dataset("nosuchproto://x/y.json")
    with pytest.raises(FormatError, match=r"^nosuchproto://x/y.png: cannot open this URL"):
        read_png("nosuchproto://x/y.png")


def test_walk_files_lists_like_os_walk(mem, tmp_path):
    names = ["z.png", "a/b.png", "a/b/c.png", "a/z.png", ".hidden/x.png", "a/.h.png", "m.json"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_bytes(n.encode())
        as_path(f"{mem}/{n}").write_bytes(n.encode())
    local = [p.relative_to(tmp_path).as_posix() for p in walk_files(tmp_path)]
    remote = [p.relative_to(as_path(mem)).as_posix() for p in walk_files(mem)]
    assert local == remote == ["m.json", "z.png", "a/b.png", "a/z.png", "a/b/c.png"]
    assert list(walk_files(f"{mem}/nothing-here")) == []
    as_path(f"{mem}/a2/x.png").write_bytes(b"sibling")  # "a2/" shares the prefix "a" but is not below it
    assert [p.name for p in walk_files(f"{mem}/a")] == ["b.png", "z.png", "c.png"]


# --------------------------------------------------------------------------- files
def test_files_round_trip_through_memory(mem):
    arr16 = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    write_png(f"{mem}/a/b16.png", arr16)
    write_json(f"{mem}/a/x.json", {"k": [1, 2], "n": np.int64(3)})
    assert np.array_equal(read_png(f"{mem}/a/b16.png"), arr16)
    assert read_json(f"{mem}/a/x.json") == {"k": [1, 2], "n": 3}
    assert image_size(f"{mem}/a/b16.png") == (3, 4)
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    write_png(f"{mem}/a/rgb.png", rgb)
    assert np.array_equal(read_image(f"{mem}/a/rgb.png"), rgb)
    assert as_path(f"{mem}/a").is_dir() and as_path(f"{mem}/a/x.json").is_file()
    assert [p.name for p in as_path(f"{mem}/a").glob("*.png")] == ["b16.png", "rgb.png"]
    with atomic_write(f"{mem}/a/t.txt", "w") as fh:
        fh.write("naïve\n")
    assert as_path(f"{mem}/a/t.txt").read_text() == "naïve\n"


def test_image_size_reads_past_a_large_header(mem, tmp_path):
    # A JPEG whose ICC profile (several APP2 segments) pushes the frame header past 64 KiB.
    buf = io.BytesIO()
    Image.new("RGB", (33, 21), (10, 20, 30)).save(buf, format="JPEG", icc_profile=bytes(200_000))
    as_path(f"{mem}/big.jpg").write_bytes(buf.getvalue())
    write_png(f"{mem}/small.png", np.zeros((4, 9), np.uint8))
    assert image_size(f"{mem}/big.jpg") == (21, 33)
    write_png(tmp_path / "local.png", np.zeros((2, 3), np.uint8))
    assert image_sizes([f"{mem}/small.png", tmp_path / "local.png", f"{mem}/big.jpg"]) == [(4, 9), (2, 3), (21, 33)]
    with pytest.raises(FormatError, match=rf"^{mem}/missing.png: file not found"):
        image_sizes([f"{mem}/small.png", f"{mem}/missing.png"])
    as_path(f"{mem}/junk.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match=rf"^{mem}/junk.png: not a readable image"):
        image_sizes([f"{mem}/junk.png"])


def test_remote_writes_are_all_or_nothing(mem):
    write_json(f"{mem}/keep.json", {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(f"{mem}/keep.json", "wb") as fh:
            fh.write(b'{"v": 2, "half')
            raise RuntimeError("crash while writing")
    assert read_json(f"{mem}/keep.json") == {"v": 1}
    with pytest.raises(RuntimeError):
        with atomic_write(f"{mem}/new.json", "w") as fh:
            fh.write("{")
            raise RuntimeError("crash while writing")
    assert not as_path(f"{mem}/new.json").exists()


def test_remote_write_failure_is_an_output_error_naming_the_url(mem):
    write_json(f"{mem}/f.json", {})
    with pytest.raises(OutputError, match=rf"^{mem}/f.json/out: cannot write: a file is in the way"):
        write_dataset(dataset(semantic_sample(1, "a.jpg")), f"{mem}/f.json/out", "semantic-png")
    with pytest.raises(OutputError, match=rf"^{mem}/f.json/a.png: cannot write: a file is in the way"):
        write_png(f"{mem}/f.json/a.png", np.zeros((2, 2), np.uint8))
    assert read_json(f"{mem}/f.json") == {}


# --------------------------------------------------------------------------- every format
def _samples(fmt: str):
    if fmt in ("coco-panoptic", "cityscapes"):
        return [panoptic_sample(1, "a.jpg"), panoptic_sample(2, "sub/b.jpg")]
    if fmt == "semantic-png":
        return [semantic_sample(1, "a.jpg"), semantic_sample(2, "sub/b.jpg")]
    return [instances_sample(1, "a.jpg"), instances_sample(2, "sub/b.jpg")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_through_memory_like_the_local_disk(fmt, mem, tmp_path):
    images = None
    if fmt == "yolo-seg":  # YOLO needs the images (sizes come from their headers): copied from disk
        for s in _samples(fmt):
            write_image(tmp_path / "images" / s.image.file_name, s.image.height, s.image.width)
        images = tmp_path / "images"
    ds = dataset(*_samples(fmt), image_root=images)
    dst = "instances.json" if fmt == "coco-instances" else "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # YOLO's "crowd regions left out", the same on both sides
        write_dataset(ds, tmp_path / "local" / dst, fmt)
        write_dataset(ds, f"{mem}/{dst}", fmt)
    local, remote = tree(tmp_path / "local"), tree(mem)
    assert sorted(remote) == sorted(local) and remote == local  # byte for byte the same files
    src = f"{mem}/{dst}"
    assert detect_format(src) == fmt
    back_local, back = read_dataset(tmp_path / "local" / dst), read_dataset(src)
    assert back.format == back_local.format == fmt
    assert back.source == back_local.source.replace(str(tmp_path / "local"), mem)
    assert back.taxonomy == back_local.taxonomy
    assert [i.to_coco() for i in back.images] == [i.to_coco() for i in back_local.images]
    kind = {"semantic-png": "semantic", "coco-panoptic": "panoptic", "cityscapes": "panoptic"}.get(fmt, "instances")
    for a, b in zip(back_local, back):
        assert same(getattr(b, kind), getattr(a, kind))
    if fmt == "yolo-seg":
        assert isinstance(back.image_root, RemotePath)
        assert np.array_equal(read_image(back.image_path(back.images[1])),
                              read_image(tmp_path / "images" / "sub" / "b.jpg"))


def test_labelme_image_paths_relative_on_one_store_plain_names_across_stores(mem, tmp_path):
    s = instances_sample(1, "a.jpg")
    write_image(tmp_path / "img.jpg", 20, 30)
    copy_file(tmp_path / "img.jpg", f"{mem}/images/a.jpg")
    ds = dataset(s, image_root=f"{mem}/images")
    assert isinstance(ds.image_root, RemotePath)
    write_dataset(ds, f"{mem}/labelme", "labelme")
    write_dataset(ds, tmp_path / "labelme", "labelme")
    assert read_json(f"{mem}/labelme/a.json")["imagePath"] == "../images/a.jpg"
    assert read_json(tmp_path / "labelme" / "a.json")["imagePath"] == "a.jpg"  # no local path to a URL
    back = read_dataset(f"{mem}/labelme")
    assert back.format == "labelme" and same(back.sample(back.images[0].id).instances,
                                             read_dataset(tmp_path / "labelme").sample("a").instances)


def test_read_dataset_detects_each_format_given_a_folder_url(mem):
    write_dataset(dataset(*_samples("coco-instances")), f"{mem}/coco/annotations/instances_val.json",
                  "coco-instances")
    write_dataset(dataset(*_samples("coco-panoptic")), f"{mem}/pan", "coco-panoptic")
    write_dataset(dataset(*_samples("semantic-png")), f"{mem}/sem", "semantic-png", palette=True)
    assert read_dataset(f"{mem}/coco").format == "coco-instances"  # one COCO JSON in annotations/
    assert read_dataset(f"{mem}/pan").format == "coco-panoptic"
    sem = read_dataset(f"{mem}/sem")
    assert sem.format == "semantic-png" and sem.sample("a").semantic == semantic_sample().semantic
    with pytest.raises(FormatError, match=rf"^{mem}/nothing: no such file or folder"):
        read_dataset(f"{mem}/nothing")


# --------------------------------------------------------------------------- COCO panoptic + PNG folder
def test_coco_panoptic_sample_read_from_memory_equals_the_local_read(mem):
    local = need(PANOPTIC_SAMPLE)
    upload(local.parent, f"{mem}/panoptic")
    url = f"{mem}/panoptic/{local.name}"
    back, ref = read_dataset(url), read_dataset(local)
    assert back.format == "coco-panoptic" and len(back) == len(ref) == 2 and back.taxonomy == ref.taxonomy
    for a, b in zip(ref, back):
        assert b.panoptic == a.panoptic and np.array_equal(b.panoptic.ids, a.panoptic.ids)
    # the PNG folder elsewhere: png_dir= a URL, also with the JSON on the local disk
    MEM.mv(as_path(f"{mem}/panoptic/{local.stem}").path, as_path(f"{mem}/moved").path, recursive=True)
    with pytest.raises(FormatError, match=rf"^{mem}/panoptic/{local.stem}/\S+\.png, image \d+: file not found"):
        read_dataset(url).sample(back.images[0].id)
    moved = read_dataset(url, png_dir=f"{mem}/moved")
    mixed = coco_panoptic.read(local, png_dir=f"{mem}/moved")
    for a, b, c in zip(ref, moved, mixed):
        assert b.panoptic == a.panoptic and c.panoptic == a.panoptic


def test_coco_panoptic_errors_name_the_png_url_and_the_image(mem, tmp_path):
    write_dataset(dataset(*_samples("coco-panoptic")), tmp_path / "pan.json", "coco-panoptic")
    upload(tmp_path, mem)
    truncate_url = f"{mem}/pan/sub/b.png"
    data = read_bytes(truncate_url)
    as_path(truncate_url).write_bytes(data[: len(data) // 2])
    ds = read_dataset(f"{mem}/pan.json")
    assert ds.sample(1).panoptic == panoptic_sample().panoptic
    with pytest.raises(FormatError, match=rf"^{mem}/pan/sub/b.png, image 2: not a readable image"):
        ds.sample(2)
    as_path(f"{mem}/pan.json").write_bytes(b'{"images": [')
    with pytest.raises(FormatError, match=rf"^{mem}/pan.json: invalid JSON"):
        read_dataset(f"{mem}/pan.json")


def test_a_failed_remote_write_leaves_no_index(mem):
    bad = panoptic_sample(2, "b.jpg")
    bad.panoptic.segments[0] = type(bad.panoptic.segments[0])(bad.panoptic.segments[0].id, 42)  # unknown category
    with pytest.raises(ValidationError, match=r"image 2, segment \d+: unknown category id 42"):
        write_dataset(dataset(panoptic_sample(1, "a.jpg"), bad), mem, "coco-panoptic")
    assert not as_path(f"{mem}/panoptic.json").exists()  # the JSON is written last


# --------------------------------------------------------------------------- real data, images
def test_coco_instances_with_images_on_memory(mem):
    local = need(COCO_TINY)
    ref = read_dataset(local)
    copy_file(local, f"{mem}/coco/{local.name}")
    first = ref.images[0]
    copy_file(ref.image_path(first), f"{mem}/coco/val2017/{first.file_name}")
    ds = read_dataset(f"{mem}/coco/{local.name}")
    assert ds.format == "coco-instances" and len(ds) == len(ref) == 80
    assert str(ds.image_root) == f"{mem}/coco/val2017"  # guessed beside the JSON, as on disk
    assert ds.sample(first.id).instances.areas.tolist() == ref.sample(first.id).instances.areas.tolist()
    assert np.array_equal(read_image(ds.image_path(first)), read_image(ref.image_path(first)))


def test_file_urls_read_and_write_the_local_disk(tmp_path):
    ds = dataset(*_samples("coco-panoptic"))
    write_dataset(ds, f"file://{tmp_path}/out", "coco-panoptic")
    assert (tmp_path / "out" / "panoptic.json").is_file() and (tmp_path / "out" / "panoptic" / "a.png").is_file()
    back = read_dataset(f"file://{tmp_path}/out")
    assert isinstance(back, Dataset) and back.source == str(tmp_path / "out" / "panoptic.json")
    assert [s.panoptic for s in back] == [s.panoptic for s in ds]
    shutil.rmtree(tmp_path / "out" / "panoptic")
    with pytest.raises(FormatError, match=rf"^{tmp_path}/out/panoptic/a.png, image 1: file not found"):
        back.sample(1)


def test_truncated_local_png_still_reported(tmp_path):  # the local path did not change
    write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    truncate(tmp_path / "a.png")
    with pytest.raises(FormatError, match=rf"^{tmp_path}/a.png: not a readable image"):
        read_png(tmp_path / "a.png")
