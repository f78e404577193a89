"""Projects, the "which technique?" advice, classes."""

from __future__ import annotations

import secrets


def _name(prefix="p"):
    return f"{prefix}-{secrets.token_hex(4)}"


def test_create_project_from_answers_uses_the_advice(studio):
    with studio.admin as c:
        advice = c.post("/api/advise", json={"every_pixel": True, "separate_objects": True}).json()
        assert advice["kind"] == "panoptic" and advice["reason"]
        answers = {"every_pixel": False, "separate_objects": True, "overlaps": True}
        r = c.post("/api/projects", json={"name": _name(), "answers": answers})
        assert r.status_code == 201 and r.json()["kind"] == "instance"
        r = c.post("/api/projects", json={"name": _name(), "answers": {"every_pixel": True, "separate_objects": False}})
        assert r.json()["kind"] == "semantic"
        missing = c.post("/api/projects", json={"name": _name()})
        assert missing.status_code == 422 and "kind" in missing.json()["detail"]


def test_default_image_root_and_duplicate_names(studio):
    name = _name()
    with studio.admin as c:
        p = c.post("/api/projects", json={"name": name, "kind": "semantic"}).json()
        assert p["image_root"].startswith(str(studio.project_dir)) and p["images"] == 0
        dup = c.post("/api/projects", json={"name": name, "kind": "semantic"})
        assert dup.status_code == 409 and name in dup.json()["detail"]
        bad = c.post("/api/projects", json={"name": _name(), "kind": "blobs"})
        assert bad.status_code == 422


def test_classes_ids_colours_hotkeys(studio):
    p = studio.project("panoptic", classes=[])
    base = f"/api/projects/{p['id']}/classes"
    with studio.admin as c:
        r = c.post(base, json=[{"name": "person", "hotkey": "1"}, {"name": "sky", "isthing": False, "color": "#4682B4"},
                               {"category_id": 90, "name": "toothbrush"}])
        assert r.status_code == 201, r.text
        rows = {x["name"]: x for x in c.get(base).json()}
        assert rows["person"]["category_id"] == 1 and rows["sky"]["category_id"] == 2
        assert rows["toothbrush"]["category_id"] == 90 and rows["sky"]["color"] == "#4682b4"
        assert rows["sky"]["isthing"] is False and rows["person"]["hotkey"] == "1"
        assert rows["person"]["color"].startswith("#") and len(rows["person"]["color"]) == 7
        assert c.post(base, json=[{"category_id": 90, "name": "other"}]).status_code == 409
        assert c.post(base, json=[{"name": "person"}]).status_code == 409
        assert c.post(base, json=[{"name": "x", "hotkey": "1"}]).status_code == 409
        # Tool keys cannot become class hotkeys; id 0 is VOID in panoptic projects.
        reserved = c.post(base, json=[{"name": "y", "hotkey": "b"}])
        assert reserved.status_code == 422 and "taken by a tool" in reserved.text
        assert c.post(base, json=[{"category_id": 0, "name": "void"}]).status_code == 422
        assert c.post(base, json=[{"name": "z", "color": "red"}]).status_code == 422
        upd = c.patch(f"{base}/{rows['person']['id']}", json={"name": "human", "color": "#112233"})
        assert upd.status_code == 200 and upd.json()["name"] == "human"
        assert c.delete(f"{base}/{rows['toothbrush']['id']}").status_code == 204
        assert "toothbrush" not in {x["name"] for x in c.get(base).json()}


def test_instance_projects_refuse_stuff_classes(studio):
    p = studio.project("instance", classes=[])
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/classes", json=[{"name": "sky", "isthing": False}])
        assert r.status_code == 422 and "things only" in r.json()["detail"]


def test_semantic_projects_may_use_class_zero(studio):
    p = studio.project("semantic", classes=[{"category_id": 0, "name": "background", "isthing": False}])
    with studio.admin as c:
        assert c.get(f"/api/projects/{p['id']}/classes").json()[0]["category_id"] == 0


def test_class_in_use_cannot_be_deleted(studio, helpers):
    import numpy as np

    p = studio.project("panoptic", images={"a.png": {"size": (8, 4)}})
    image = studio.images(p["id"])[0]
    ids = np.zeros((4, 8), int)
    ids[:, :4] = 1
    with studio.admin as c:
        r = c.put(f"/api/images/{image['id']}/label", json={"version": 0, "segments": [{"id": 1, "category_id": 1}],
                                                            "map": helpers.runs(ids)})
        assert r.status_code == 200, r.text
        cat = next(x for x in c.get(f"/api/projects/{p['id']}/classes").json() if x["category_id"] == 1)
        r = c.delete(f"/api/projects/{p['id']}/classes/{cat['id']}")
        assert r.status_code == 409 and "used by labels" in r.json()["detail"]
        r = c.patch(f"/api/projects/{p['id']}/classes/{cat['id']}", json={"isthing": False})
        assert r.status_code == 409


def test_members_and_project_deletion(studio):
    name, _, annotator = studio.user("annotator")
    p = studio.project("semantic", members=[name])
    with studio.admin as c:
        members = c.get(f"/api/projects/{p['id']}/members").json()
        assert [u["username"] for u in members] == [name]
        assert c.post(f"/api/projects/{p['id']}/members", json={"username": "nobody-here"}).status_code == 404
        uid = members[0]["id"]
        assert c.delete(f"/api/projects/{p['id']}/members/{uid}").status_code == 204
    with annotator as a:
        assert a.get(f"/api/projects/{p['id']}").status_code == 404
    with studio.admin as c:
        assert c.delete(f"/api/projects/{p['id']}").status_code == 204
        assert c.get(f"/api/projects/{p['id']}").status_code == 404
