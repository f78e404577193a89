"""Workflow: submit, approve/reject with comments, who may do what; the dashboard; agreement."""

from __future__ import annotations

import numpy as np


def _label(helpers, shift=0, h=12, w=16):
    ids = np.zeros((h, w), np.int64)
    ids[:, :5] = 3
    ids[2:8, 6 + shift:12 + shift] = 1
    return {"segments": [{"id": 1, "category_id": 1}, {"id": 3, "category_id": 7}], "map": helpers.runs(ids)}


def test_submit_review_cycle(studio, helpers):
    ann, _, annotator = studio.user("annotator")
    rev, _, reviewer = studio.user("reviewer")
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}}, members=[ann, rev])
    image = studio.images(p["id"])[0]
    iid = image["id"]
    with annotator as a, reviewer as r:
        assert a.post(f"/api/images/{iid}/status", json={"status": "submitted"}).status_code == 422  # nothing saved
        saved = a.put(f"/api/images/{iid}/label", json={"version": 0, **_label(helpers)}).json()
        assert saved["status"] == "in_progress"
        # Annotators cannot approve, reviewers must say why they reject.
        assert a.post(f"/api/images/{iid}/status", json={"status": "approved"}).status_code == 403
        sub = a.post(f"/api/images/{iid}/status", json={"status": "submitted"})
        assert sub.status_code == 200 and sub.json()["status"] == "submitted"
        assert r.post(f"/api/images/{iid}/status", json={"status": "rejected"}).status_code == 422
        rej = r.post(f"/api/images/{iid}/status", json={"status": "rejected", "comment": "cat is too wide"})
        assert rej.json()["status"] == "rejected" and rej.json()["review_comment"] == "cat is too wide"
        # The reviewer opens the submitted label and edits it in place.
        doc = r.get(f"/api/images/{iid}/label").json()
        assert doc["source"] == "submitted" and doc["id"] == saved["id"] and doc["editable"]
        # The annotator fixes it: the image goes back in progress, then is submitted again.
        fixed = a.put(f"/api/images/{iid}/label?label_id={saved['id']}", json={"version": 1, **_label(helpers, 1)})
        assert fixed.json()["status"] == "in_progress"
        assert a.post(f"/api/images/{iid}/status", json={"status": "submitted"}).status_code == 200
        ok = r.post(f"/api/images/{iid}/status", json={"status": "approved", "comment": "good"})
        assert ok.json()["status"] == "approved"
        # Approved labels are closed to the annotator.
        blocked = a.put(f"/api/images/{iid}/label?label_id={saved['id']}", json={"version": 2, **_label(helpers)})
        assert blocked.status_code == 403
        assert a.get(f"/api/images/{iid}/label").json()["editable"] is False
        assert a.post(f"/api/images/{iid}/status", json={"status": "in_progress"}).status_code == 403
        history = r.get(f"/api/images/{iid}/reviews").json()
        assert [h["status"] for h in history] == ["submitted", "rejected", "submitted", "approved"]
        assert history[1]["user"] == rev and history[1]["comment"] == "cat is too wide"
        # A reviewer may reopen.
        assert r.post(f"/api/images/{iid}/status", json={"status": "in_progress"}).json()["status"] == "in_progress"


def test_dashboard_counts(studio, helpers):
    ann, _, annotator = studio.user("annotator")
    p = studio.project("panoptic", images={f"{k}.png": {"size": (16, 12)} for k in "abc"}, members=[ann])
    images = studio.images(p["id"])
    with annotator as a:
        for im in images[:2]:
            a.put(f"/api/images/{im['id']}/label", json={"version": 0, **_label(helpers)})
        a.post(f"/api/images/{images[0]['id']}/status", json={"status": "submitted"})
    with studio.admin as c:
        c.post(f"/api/images/{images[0]['id']}/status", json={"status": "approved"})
        st = c.get(f"/api/projects/{p['id']}/stats").json()
    assert st["images"] == 3 and st["labeled_images"] == 2 and st["segments"] == 4
    assert st["by_status"] == {"new": 1, "in_progress": 1, "submitted": 0, "approved": 1, "rejected": 0}
    assert st["by_class"] == {"cat": 2, "grass": 2}
    assert st["users"] == [{"username": ann, "labels": 2, "submitted": 1, "approved": 1}]
    assert abs(st["progress"] - 1 / 3) < 1e-9


def test_agreement_of_two_annotators(studio, helpers):
    a_name, _, a = studio.user("annotator")
    b_name, _, b = studio.user("annotator")
    p = studio.project("panoptic", images={"a.png": {"size": (16, 12)}}, members=[a_name, b_name])
    iid = studio.images(p["id"])[0]["id"]
    with a as ca, b as cb:
        la = ca.put(f"/api/images/{iid}/label", json={"version": 0, **_label(helpers)}).json()
        lb = cb.put(f"/api/images/{iid}/label", json={"version": 0, **_label(helpers, 2)}).json()
        assert ca.get(f"/api/images/{iid}/agreement", params={"a": la["id"], "b": lb["id"]}).status_code == 403
    with studio.admin as c:
        same = c.get(f"/api/images/{iid}/agreement", params={"a": la["id"], "b": la["id"]}).json()
        assert same["metric"] == "PQ" and same["value"] == 1.0
        r = c.get(f"/api/images/{iid}/agreement", params={"a": la["id"], "b": lb["id"]}).json()
        # Grass identical (IoU 1). The cat is shifted by 2 of its 6 columns; as in COCO PQ, B's pixels
        # where A is unlabeled do not count, so IoU = 24 / (48 - 12) = 2/3 > 0.5: a match. PQ = (1 + 2/3) / 2.
        assert r["metric"] == "PQ" and abs(r["value"] - 5 / 6) < 1e-9
        assert r["a"]["author"] == a_name and r["b"]["author"] == b_name
        assert c.get(f"/api/images/{iid}/agreement", params={"a": la["id"], "b": 999999}).status_code == 404


def test_agreement_instance_and_semantic(studio, helpers):
    pi = studio.project("instance", images={"a.png": {"size": (16, 12)}})
    ps = studio.project("semantic", images={"a.png": {"size": (16, 12)}})
    m1 = np.zeros((12, 16), bool)
    m1[0:6, 0:8] = True
    m2 = np.zeros((12, 16), bool)
    m2[0:6, 0:6] = True
    n1, _, u1 = studio.user("annotator")
    with studio.admin as c:
        c.post(f"/api/projects/{pi['id']}/members", json={"username": n1})
        c.post(f"/api/projects/{ps['id']}/members", json={"username": n1})
    ii = studio.images(pi["id"])[0]["id"]
    si = studio.images(ps["id"])[0]["id"]
    sem_a = np.zeros((12, 16), int)
    sem_a[:, :8] = 1
    sem_b = np.zeros((12, 16), int)
    sem_b[:, :4] = 1
    with studio.admin as c, u1 as u:
        x = c.put(f"/api/images/{ii}/label", json={"version": 0, "segments": [{"id": 1, "category_id": 1}],
                                                  "masks": {"1": helpers.crop(m1)}}).json()
        y = u.put(f"/api/images/{ii}/label", json={"version": 0, "segments": [{"id": 1, "category_id": 1}],
                                                  "masks": {"1": helpers.crop(m2)}}).json()
        r = c.get(f"/api/images/{ii}/agreement", params={"a": x["id"], "b": y["id"]}).json()
        assert r["metric"] == "mean mask IoU" and abs(r["value"] - 36 / 48) < 1e-9
        x = c.put(f"/api/images/{si}/label", json={"version": 0, "segments": [{"id": 1, "category_id": 1}],
                                                  "map": helpers.runs(sem_a)}).json()
        y = u.put(f"/api/images/{si}/label", json={"version": 0, "segments": [{"id": 1, "category_id": 1}],
                                                  "map": helpers.runs(sem_b)}).json()
        r = c.get(f"/api/images/{si}/agreement", params={"a": x["id"], "b": y["id"]}).json()
        assert r["metric"] == "mIoU" and abs(r["value"] - 0.5) < 1e-9
