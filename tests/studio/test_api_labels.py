"""Saving and loading labels: versions, conflicts, validation, the three kinds."""

from __future__ import annotations

import threading

import numpy as np

from panoptix.studio.labelstore import crop_to_mask, runs_decode


def _ids(h=12, w=16):
    ids = np.zeros((h, w), np.int64)
    ids[:, :5] = 3      # grass (stuff)
    ids[2:6, 6:10] = 1  # cat
    ids[7:11, 9:14] = 2  # another cat
    return ids


SEGS = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 1, "locked": True}, {"id": 3, "category_id": 7}]


def _decode(doc):
    m = doc["map"]
    return runs_decode(m["values"], m["lengths"], doc["width"] * doc["height"]).reshape(doc["height"], doc["width"])


def test_panoptic_save_load_roundtrip_and_versions(studio, helpers):
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}})
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    with studio.admin as c:
        empty = c.get(url).json()
        assert empty["id"] is None and empty["version"] == 0 and empty["source"] == "empty"
        assert _decode(empty).max() == 0
        r = c.put(url, json={"version": 0, "segments": SEGS, "map": helpers.runs(_ids())})
        assert r.status_code == 200, r.text
        saved = r.json()
        assert saved["version"] == 1 and saved["status"] == "in_progress"
        doc = c.get(url).json()
        assert doc["id"] == saved["id"] and doc["version"] == 1 and doc["source"] == "own"
        assert np.array_equal(_decode(doc), _ids())
        assert [s["id"] for s in doc["segments"]] == [1, 2, 3] and doc["segments"][1]["locked"] is True
        # Saving again from version 1 gives version 2; a save from the stale version 1 is refused.
        ids2 = _ids()
        ids2[0, 15] = 1
        q = f"{url}?label_id={saved['id']}"
        assert c.put(q, json={"version": 1, "segments": SEGS, "map": helpers.runs(ids2)}).json()["version"] == 2
        stale = c.put(q, json={"version": 1, "segments": SEGS, "map": helpers.runs(_ids())})
        assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
        assert np.array_equal(_decode(c.get(url).json()), ids2)
        # Saving your own label again "from scratch" (version 0) is a conflict too.
        assert c.put(url, json={"version": 0, "segments": SEGS, "map": helpers.runs(_ids())}).status_code == 409


def test_concurrent_saves_one_wins(studio, helpers):
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}})
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    with studio.admin as c:
        first = c.put(url, json={"version": 0, "segments": SEGS, "map": helpers.runs(_ids())}).json()
    results = []
    barrier = threading.Barrier(4)

    def save(k):
        ids = _ids()
        ids[11, k] = 1
        with studio.admin as cc:
            barrier.wait()
            r = cc.put(f"{url}?label_id={first['id']}", json={"version": 1, "segments": SEGS, "map": helpers.runs(ids)})
            results.append(r.status_code)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409, 409, 409]
    with studio.admin as c:
        assert c.get(url).json()["version"] == 2


def test_invalid_labels_are_refused_with_their_segment(studio, helpers):
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}})
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    ids = _ids()
    cases = [
        ([{"id": 1, "category_id": 1}, {"id": 2, "category_id": 1}, {"id": 3, "category_id": 99}], ids,
         "segment 3: unknown category id 99"),
        ([{"id": 1, "category_id": 1}, {"id": 2, "category_id": 7}, {"id": 3, "category_id": 7}], ids,
         "segment 3: two segments (2 and 3) of class 'grass'"),
        ([{"id": 1, "category_id": 1}, {"id": 3, "category_id": 7}], ids, "segment 2: pixels of a segment that is not"),
        ([{"id": 1, "category_id": 1}, {"id": 1, "category_id": 2}, {"id": 3, "category_id": 7}], ids,
         "duplicate segment id"),
    ]
    with studio.admin as c:
        for segs, m, message in cases:
            r = c.put(url, json={"version": 0, "segments": segs, "map": helpers.runs(m)})
            assert r.status_code == 422, r.text
            assert message in r.json()["detail"] and f"image {image['id']}" in r.json()["detail"]
        short = helpers.runs(ids)
        short["lengths"][-1] -= 1
        r = c.put(url, json={"version": 0, "segments": SEGS, "map": short})
        assert r.status_code == 422 and "cover 191 pixels, the image has 192" in r.json()["detail"]
        r = c.put(url, json={"version": 0, "segments": [{"id": 0, "category_id": 1}], "map": None})
        assert r.status_code == 422
        # Nothing was stored by the refused saves.
        assert c.get(url).json()["id"] is None


def test_instance_labels_may_overlap(studio, helpers):
    p = studio.project("instance", images={"a.png": {"size": (16, 12)}})
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    a = np.zeros((12, 16), bool)
    a[1:8, 1:9] = True
    b = np.zeros((12, 16), bool)
    b[4:11, 5:15] = True
    body = {"version": 0, "segments": [{"id": 5, "category_id": 1}, {"id": 9, "category_id": 2, "iscrowd": True}],
            "masks": {"5": helpers.crop(a), "9": helpers.crop(b)}}
    with studio.admin as c:
        assert c.put(url, json=body).status_code == 200
        doc = c.get(url).json()
        assert doc["map"] is None and set(doc["masks"]) == {"5", "9"}
        assert np.array_equal(crop_to_mask(doc["masks"]["5"], 12, 16), a)
        assert np.array_equal(crop_to_mask(doc["masks"]["9"], 12, 16), b)
        assert doc["segments"][1]["iscrowd"] is True
        outside = {"version": 1, "segments": body["segments"], "masks": {"5": {"bbox": [10, 0, 10, 2], "counts": [20]}}}
        r = c.put(f"{url}?label_id={doc['id']}", json=outside)
        assert r.status_code == 422 and "segment 5" in r.json()["detail"]


def test_semantic_labels_one_segment_per_class(studio, helpers):
    p = studio.project("semantic", images={"a.png": {"size": (16, 12)}})
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    ids = np.zeros((12, 16), int)
    ids[:6] = 1
    ids[6:] = 2
    with studio.admin as c:
        bad = c.put(url, json={"version": 0, "segments": [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 1}],
                               "map": helpers.runs(ids)})
        assert bad.status_code == 422 and "two segments" in bad.json()["detail"]
        ok = c.put(url, json={"version": 0, "segments": [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 7}],
                              "map": helpers.runs(ids)})
        assert ok.status_code == 200


def test_annotators_start_from_imported_or_submitted_labels(studio, helpers):
    name, _, annotator = studio.user("annotator")
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}}, members=[name])
    image = studio.images(p["id"])[0]
    url = f"/api/images/{image['id']}/label"
    with studio.admin as c:
        admin_label = c.put(url, json={"version": 0, "segments": SEGS, "map": helpers.runs(_ids())}).json()
    with annotator as a:
        doc = a.get(url).json()
        # Someone else's label opens as a starting point: saving makes the annotator's own label.
        assert doc["id"] is None and doc["version"] == 0 and doc["source"] == "other" and doc["author"] == "admin"
        assert np.array_equal(_decode(doc), _ids())
        mine = a.put(url, json={"version": 0, "segments": doc["segments"], "map": doc["map"]}).json()
        assert mine["id"] != admin_label["id"]
        # An annotator cannot overwrite the admin's label nor read it by id.
        r = a.put(f"{url}?label_id={admin_label['id']}", json={"version": 1, "segments": SEGS,
                                                               "map": helpers.runs(_ids())})
        assert r.status_code == 403
        assert a.get(f"{url}?label_id={admin_label['id']}").status_code == 404
        assert [x["id"] for x in a.get(f"/api/images/{image['id']}/labels").json()] == [mine["id"]]
