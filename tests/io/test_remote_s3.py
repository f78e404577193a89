"""Remote data over real HTTP: COCO panoptic and semantic PNGs round-tripped through an S3-compatible
server (moto's, on 127.0.0.1) with s3fs, the way a dataset on S3 or MinIO is used."""

from __future__ import annotations

import logging
import uuid

import fsspec
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

from panoptix.core import FormatError
from panoptix.io import coco_panoptic, detect_format, read_dataset, write_dataset
from panoptix.io.files import RemotePath, as_path, copy_file, read_bytes, read_png, walk_files

from .conftest import PANOPTIC_SAMPLE, dataset, need, panoptic_sample, semantic_sample


@pytest.fixture(scope="module")
def s3():
    """Storage options of a moto S3 server on a free local port (any key/secret is accepted)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log in the test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    opts = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing",
            "client_kwargs": {"region_name": "eu-west-1"}}
    yield opts
    server.stop()


@pytest.fixture
def bucket(s3, monkeypatch):
    """A fresh bucket, reachable by plain ``s3://`` URLs through fsspec's configuration (what
    ``FSSPEC_S3_ENDPOINT_URL=...`` in the environment gives a CLI user)."""
    monkeypatch.setitem(fsspec.config.conf, "s3", s3)
    name = f"px-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3").mkdir(name)
    return f"s3://{name}"


def tree(root) -> dict[str, bytes]:
    root = as_path(root)
    return {p.relative_to(root).as_posix(): read_bytes(p) for p in walk_files(root)}


def test_coco_panoptic_round_trip_over_s3(bucket, tmp_path):
    ds = dataset(panoptic_sample(1, "a.jpg"), panoptic_sample(2, "sub/b.jpg"))
    write_dataset(ds, f"{bucket}/pan", "coco-panoptic")
    write_dataset(ds, tmp_path / "pan", "coco-panoptic")
    assert tree(f"{bucket}/pan") == tree(tmp_path / "pan")  # the same objects as files on disk
    assert detect_format(f"{bucket}/pan") == "coco-panoptic"
    back = read_dataset(f"{bucket}/pan")
    assert back.source == f"{bucket}/pan/panoptic.json"
    assert [s.panoptic for s in back] == [s.panoptic for s in ds]
    with pytest.raises(FormatError, match=rf"^{bucket}/elsewhere/a.png, image 1: file not found"):
        coco_panoptic.read(f"{bucket}/pan/panoptic.json", png_dir=f"{bucket}/elsewhere").sample(1)


def test_semantic_png_round_trip_over_s3(bucket, tmp_path):
    ds = dataset(semantic_sample(1, "a.jpg"), semantic_sample(2, "sub/b.jpg", h=9, w=11))
    write_dataset(ds, f"{bucket}/sem", "semantic-png", palette=True)
    write_dataset(ds, tmp_path / "sem", "semantic-png", palette=True)
    assert tree(f"{bucket}/sem") == tree(tmp_path / "sem")
    back = read_dataset(f"{bucket}/sem")  # image sizes from ranged GETs of the PNG headers
    assert back.format == "semantic-png" and [(i.id, i.height, i.width) for i in back.images] == \
        [("a", 6, 8), ("sub/b", 9, 11)]
    assert [s.semantic for s in back] == [s.semantic for s in ds]


def test_panopticapi_sample_on_s3_with_storage_options_on_the_path(s3, tmp_path):
    local = need(PANOPTIC_SAMPLE)
    root = as_path(f"s3://px-{uuid.uuid4().hex[:12]}", **s3)  # options carried by the path itself
    assert isinstance(root, RemotePath)
    root.mkdir()
    for p in walk_files(local.parent):
        copy_file(p, root / p.relative_to(local.parent).as_posix())
    ref = read_dataset(local)
    back = read_dataset(root / local.name)
    assert back.format == "coco-panoptic" and back.taxonomy == ref.taxonomy
    for a, b in zip(ref, back):
        assert b.panoptic == a.panoptic
    png = next(iter((root / local.stem).glob("*.png")))
    assert np.array_equal(read_png(png, mode="RGB"), read_png(local.parent / local.stem / png.name, mode="RGB"))
