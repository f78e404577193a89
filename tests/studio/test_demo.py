"""The demo loop: a panoptic project over the bundled sample, labels, export, evaluation vs ground truth."""

from __future__ import annotations

import secrets

import numpy as np

from panoptix.io import read_dataset
from panoptix.studio.labelstore import LabelDoc
from panoptix.studio.server import SAMPLE, setup_demo


def test_demo_project_label_export_evaluate(studio, tmp_path):
    name = f"demo-{secrets.token_hex(3)}"
    pid = setup_demo(studio.db, studio.settings, name=name)
    assert setup_demo(studio.db, studio.settings, name=name) == pid  # opening it again reuses it
    gt = read_dataset(SAMPLE / "panoptic.json", format="coco-panoptic")
    with studio.admin as c:
        project = c.get(f"/api/projects/{pid}").json()
        assert project["kind"] == "panoptic" and project["images"] == 2 and project["ground_truth"]
        images = c.get(f"/api/projects/{pid}/images").json()["items"]
        assert {i["source_id"] for i in images} == {"142238", "439180"}
        # Label the first image exactly as the ground truth, the second with its ground truth minus one segment.
        for k, im in enumerate(images):
            sample = gt.sample(im["path"])
            doc = LabelDoc.from_sample(sample, "panoptic", gt.taxonomy)
            body = doc.to_api()
            if k == 1:
                drop = body["segments"].pop()["id"]
                ids = doc.ids.copy()
                ids[ids == drop] = 0
                body["map"] = LabelDoc("panoptic", doc.height, doc.width, body["segments"], ids=ids).to_api()["map"]
            r = c.put(f"/api/images/{im['id']}/label", json={"version": 0, **body})
            assert r.status_code == 200, r.text
        ev = c.post(f"/api/projects/{pid}/evaluate").json()
        assert ev["metric"] == "PQ" and ev["images"] == 2
        assert 0.9 < ev["summary"]["PQ"] < 1.0  # one missed segment out of 50
        r = c.post(f"/api/projects/{pid}/export", json={"format": "coco-panoptic"})
        assert r.status_code == 200
    import io
    import zipfile

    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path)
    out = read_dataset(tmp_path / "panoptic.json", format="coco-panoptic")
    assert sorted(i.id for i in out.images) == [142238, 439180]  # COCO ids kept for evaluation
    first = out.sample("000000142238.jpg").panoptic
    assert first.problems(out.taxonomy) == []
    truth = gt.sample("000000142238.jpg").panoptic
    assert np.array_equal(first.ids > 0, truth.ids > 0)
