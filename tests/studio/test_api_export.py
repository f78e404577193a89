"""Export through the API and the CLI in every format panoptix.io writes; re-import gives the same labels."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from panoptix.core import masks as M
from panoptix.io import read_dataset
from panoptix.studio.labelstore import crop_to_mask, runs_decode
from panoptix.studio.services import write_export, write_formats

H, W = 24, 32


def _pan_ids():
    ids = np.zeros((H, W), np.int64)
    ids[:, :10] = 3           # grass
    ids[3:12, 12:22] = 1      # cat
    ids[14:22, 18:30] = 2     # dog
    ids[14:20, 2:8] = 4       # second cat, on the grass
    return ids


PAN_SEGS = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}, {"id": 3, "category_id": 7},
            {"id": 4, "category_id": 1}]


def same_up_to_ids(a_ids, a_cat, b_ids, b_cat) -> bool:
    """Two segment maps hold the same segments (same pixels, same classes), whatever their ids."""
    pairs = np.unique(np.stack([np.asarray(a_ids).ravel(), np.asarray(b_ids).ravel()]), axis=1)
    fa, fb = {}, {}
    for x, y in pairs.T.tolist():
        if fa.setdefault(x, y) != y or fb.setdefault(y, x) != x:
            return False
    if fa.get(0, 0) != 0:
        return False
    return all(a_cat[x] == b_cat[y] for x, y in fa.items() if x)


def _panoptic_project(studio, helpers, status=None):
    p = studio.project("panoptic", images={"a.png": {"size": (W, H)}, "b.png": {"size": (W, H)},
                                           "c.png": {"size": (W, H)}})
    images = studio.images(p["id"])
    with studio.admin as c:
        for im in images[:2]:
            r = c.put(f"/api/images/{im['id']}/label", json={"version": 0, "segments": PAN_SEGS,
                                                              "map": helpers.runs(_pan_ids())})
            assert r.status_code == 200, r.text
        if status:
            c.post(f"/api/images/{images[0]['id']}/status", json={"status": status})
    return p, images


def _unzip(content: bytes, dst):
    zipfile.ZipFile(io.BytesIO(content)).extractall(dst)
    return dst


def _import_dir(studio, name):
    """A folder the server may read imports from (under its allowed roots)."""
    import secrets

    return studio.data_dir / f"{name}-{secrets.token_hex(3)}"


def test_api_export_coco_panoptic_validates_and_reimports(studio, helpers):
    p, images = _panoptic_project(studio, helpers)
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/export", json={"format": "coco-panoptic"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        out = _unzip(r.content, _import_dir(studio, "export"))
    ds = read_dataset(out / "panoptic.json", format="coco-panoptic")
    assert sorted(i.file_name for i in ds.images) == ["a.png", "b.png"]  # c.png has no labels
    tax = ds.taxonomy
    assert {c.id: c.isthing for c in tax} == {1: True, 2: True, 7: False}
    for sample in ds:
        pan = sample.panoptic
        assert pan.problems(tax, image_id=sample.image.id) == []
        cats = {s.id: s.category_id for s in pan.segments}
        assert same_up_to_ids(_pan_ids(), {s["id"]: s["category_id"] for s in PAN_SEGS}, pan.ids, cats)
    # Re-import into a fresh project over the same images: the labels come back unchanged.
    q = studio.project("panoptic", classes=[], images={"a.png": {"size": (W, H)}, "b.png": {"size": (W, H)}})
    with studio.admin as c:
        r = c.post(f"/api/projects/{q['id']}/labels/import", json={"path": str(out / "panoptic.json"),
                                                                  "format": "coco-panoptic"})
        assert r.status_code == 201 and r.json()["added"] == 2, r.text
        names = {x["name"] for x in c.get(f"/api/projects/{q['id']}/classes").json()}
        assert names == {"cat", "dog", "grass"}
        for im in studio.images(q["id"]):
            doc = c.get(f"/api/images/{im['id']}/label").json()
            assert doc["source"] == "imported" and doc["id"] is None
            ids = runs_decode(doc["map"]["values"], doc["map"]["lengths"], H * W).reshape(H, W)
            assert same_up_to_ids(_pan_ids(), {s["id"]: s["category_id"] for s in PAN_SEGS}, ids,
                                  {s["id"]: s["category_id"] for s in doc["segments"]})


def test_export_status_filter_and_errors(studio, helpers):
    p, images = _panoptic_project(studio, helpers, status="approved")
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/export", json={"format": "semantic-png", "statuses": ["approved"]})
        assert r.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert sorted(n for n in names if n.endswith(".png")) == ["a.png"]
        bad = c.post(f"/api/projects/{p['id']}/export", json={"format": "pascal-voc"})
        assert bad.status_code == 422 and "unknown export format" in bad.json()["detail"]
        none = c.post(f"/api/projects/{p['id']}/export", json={"format": "coco-panoptic", "statuses": ["submitted"]})
        assert none.status_code == 422 and "nothing to export" in none.json()["detail"]
        assert c.get("/api/export/formats").json() == list(write_formats())


@pytest.mark.parametrize("fmt", list(write_formats()))
def test_every_format_round_trips(studio, helpers, tmp_path, fmt):
    p, _ = _panoptic_project(studio, helpers)
    out = tmp_path / fmt
    write_export(studio.db, p["id"], fmt, out)
    kwargs = {"format": fmt}
    path = out / "panoptic.json" if fmt == "coco-panoptic" else out / "instances.json" if fmt == "coco-instances" \
        else out
    ds = read_dataset(path, **kwargs)
    assert len(ds) == 2
    ref_ids = _pan_ids()
    ref_cat = {s["id"]: s["category_id"] for s in PAN_SEGS}
    for sample in ds:
        if sample.panoptic is not None:
            cats = {s.id: s.category_id for s in sample.panoptic.segments}
            assert same_up_to_ids(ref_ids, ref_cat, sample.panoptic.ids, cats), fmt
        if sample.semantic is not None:
            lut = np.full(5, ds.taxonomy.ignore_index)
            for sid, cid in ref_cat.items():
                lut[sid] = cid
            assert np.array_equal(sample.semantic.labels, lut[ref_ids]), fmt
        if sample.instances is not None:
            inst = sample.instances
            # Things only (the grass is stuff); polygon formats trace the masks, so compare by IoU.
            got = sorted(zip(inst.category_ids.tolist(), [M.area(r) for r in inst.rles]))
            assert [c for c, _ in got] == [1, 1, 2], fmt
            for sid in (1, 2, 4):
                want = M.encode(ref_ids == sid)
                best = max(float(M.iou([r], [want], [0])[0, 0]) for r in inst.rles)
                assert best > (0.999 if fmt == "coco-instances" else 0.75), (fmt, sid, best)


def test_instance_project_exports_overlaps_exactly(studio, helpers, tmp_path):
    dst = _import_dir(studio, "inst")
    p = studio.project("instance", images={"a.png": {"size": (W, H)}})
    im = studio.images(p["id"])[0]
    a = np.zeros((H, W), bool)
    a[2:15, 2:20] = True
    b = np.zeros((H, W), bool)
    b[8:22, 10:30] = True
    with studio.admin as c:
        c.put(f"/api/images/{im['id']}/label", json={"version": 0, "segments": [
            {"id": 1, "category_id": 2}, {"id": 2, "category_id": 1}],
            "masks": {"1": helpers.crop(a), "2": helpers.crop(b)}})
        out = _unzip(c.post(f"/api/projects/{p['id']}/export", json={"format": "coco-instances"}).content,
                     dst)
    ds = read_dataset(out / "instances.json")
    inst = next(iter(ds)).instances
    masks = inst.masks()
    assert inst.category_ids.tolist() == [2, 1]
    assert np.array_equal(masks[0], a) and np.array_equal(masks[1], b) and (masks[0] & masks[1]).any()
    # The semantic export puts the first object of the list on top.
    write_export(studio.db, p["id"], "semantic-png", tmp_path / "sem")
    sem = next(iter(read_dataset(tmp_path / "sem", format="semantic-png"))).semantic.labels
    assert sem[10, 15] == 2 and sem[20, 25] == 1 and sem[0, 0] == 255
    # Re-import into the studio: the same overlapping masks.
    q = studio.project("instance", classes=[], images={"a.png": {"size": (W, H)}})
    with studio.admin as c:
        r = c.post(f"/api/projects/{q['id']}/labels/import", json={"path": str(out / "instances.json")})
        assert r.json()["added"] == 1, r.text
        doc = c.get(f"/api/images/{studio.images(q['id'])[0]['id']}/label").json()
    got = [crop_to_mask(doc["masks"][str(s["id"])], H, W) for s in doc["segments"]]
    assert [s["category_id"] for s in doc["segments"]] == [2, 1]
    assert np.array_equal(got[0], a) and np.array_equal(got[1], b)


def test_semantic_project_round_trip(studio, helpers):
    tmp_path = _import_dir(studio, "semantic")
    classes = [{"category_id": 0, "name": "background", "isthing": False},
               {"category_id": 5, "name": "road", "isthing": False}]
    p = studio.project("semantic", classes=classes, images={"a.png": {"size": (W, H)}})
    im = studio.images(p["id"])[0]
    ids = np.zeros((H, W), int)
    ids[:, :16] = 1
    ids[:, 16:30] = 2
    with studio.admin as c:
        c.put(f"/api/images/{im['id']}/label", json={"version": 0, "segments": [
            {"id": 1, "category_id": 0}, {"id": 2, "category_id": 5}], "map": helpers.runs(ids)})
    write_export(studio.db, p["id"], "semantic-png", tmp_path / "sem")
    sem = next(iter(read_dataset(tmp_path / "sem", format="semantic-png"))).semantic
    expect = np.where(ids == 1, 0, np.where(ids == 2, 5, 255))
    assert np.array_equal(sem.labels, expect)
    q = studio.project("semantic", classes=classes, images={"a.png": {"size": (W, H)}})
    with studio.admin as c:
        assert c.post(f"/api/projects/{q['id']}/labels/import",
                      json={"path": str(tmp_path / "sem"), "format": "semantic-png"}).json()["added"] == 1
        doc = c.get(f"/api/images/{studio.images(q['id'])[0]['id']}/label").json()
    got = runs_decode(doc["map"]["values"], doc["map"]["lengths"], H * W).reshape(H, W)
    cats = {s["id"]: s["category_id"] for s in doc["segments"]}
    assert same_up_to_ids(ids, {1: 0, 2: 5}, got, cats)


def test_import_refuses_paths_outside_the_allowed_roots(studio, tmp_path):
    p = studio.project("panoptic")
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/labels/import", json={"path": "/etc/passwd"})
        assert r.status_code == 400 and "outside" in r.json()["detail"]
        r = c.post(f"/api/projects/{p['id']}/labels/import", json={"path": str(tmp_path)})
        assert r.status_code == 400


def _cli(*args):
    from typer.testing import CliRunner

    from panoptix.cli.main import app

    return CliRunner().invoke(app, ["studio", *map(str, args)], env={"COLUMNS": "200"})


def test_cli_export_errors_are_one_red_line(studio, helpers, tmp_path):
    p, _ = _panoptic_project(studio, helpers)
    db = [] if studio.backend == "sqlite" else ["--db", studio.settings.db_url]
    ok = _cli("export", studio.project_dir, tmp_path / "ok.json", "--to", "coco-panoptic", "--project", p["name"], *db)
    assert ok.exit_code == 0, ok.stderr
    ds = read_dataset(tmp_path / "ok.json", format="coco-panoptic")
    assert len(ds) == 2 and all(s.panoptic.problems(ds.taxonomy) == [] for s in ds)
    ok = _cli("export", studio.project_dir, tmp_path / "ok", "--to", "semantic-png", "--project", str(p["id"]), *db)
    assert ok.exit_code == 0, ok.stderr
    assert sorted(f.name for f in (tmp_path / "ok").glob("*.png")) == ["a.png", "b.png"]
    cases = [
        (["--to", "coco-panoptic"], "several projects"),
        (["--to", "coco-panoptic", "--project", "nope"], "no project 'nope'"),
        (["--to", "voc", "--project", p["name"]], "unknown export format"),
        (["--to", "coco-panoptic", "--project", p["name"], "--status", "done"], "unknown status 'done'"),
    ]
    for k, (args, message) in enumerate(cases):
        out = tmp_path / f"out{k}"
        r = _cli("export", studio.project_dir, out, *args, *db)
        assert r.exit_code == 2 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not out.exists()
    nodb = _cli("export", tmp_path / "empty", tmp_path / "w.json", "--to", "coco-panoptic")
    assert nodb.exit_code == 2 and "no studio database" in nodb.stderr
