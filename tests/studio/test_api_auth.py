"""Login, tokens, cookies, roles and project membership, over real HTTP."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select


def test_login_wrong_password_and_unknown_user(studio):
    with studio.client() as c:
        assert c.post("/api/auth/login", json={"username": "admin", "password": "nope"}).status_code == 401
        assert c.post("/api/auth/login", json={"username": "ghost", "password": "nope"}).status_code == 401
        assert c.get("/api/projects").status_code == 401


def test_bearer_token_is_stored_hashed_and_logout_revokes_it(studio):
    from panoptix.studio import models as m

    name, password, client = studio.user("annotator")
    with client as c:
        token = c.headers["Authorization"].split()[1]
        me = c.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["username"] == name and me.json()["role"] == "annotator"
        with studio.db.session() as s:
            stored = s.execute(select(m.Token.token_hash)).scalars().all()
            user = s.execute(select(m.User).where(m.User.username == name)).scalar_one()
        assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
        assert password not in user.password_hash and user.password_hash.startswith("$argon2")
        assert c.post("/api/auth/logout").status_code == 204
        assert c.get("/api/auth/me").status_code == 401


def test_cookie_login_needs_csrf_header_for_changes(studio):
    name, password, _ = studio.user("admin")
    with httpx.Client(base_url=studio.url) as c:
        r = c.post("/api/auth/login", json={"username": name, "password": password})
        cookie = r.headers["set-cookie"]
        assert "panoptix_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert c.get("/api/auth/me").json()["username"] == name  # cookie alone reads
        body = {"name": "csrf-probe", "kind": "semantic"}
        refused = c.post("/api/projects", json=body)
        assert refused.status_code == 403 and "X-Panoptix-Request" in refused.json()["detail"]
        ok = c.post("/api/projects", json=body, headers={"X-Panoptix-Request": "1"})
        assert ok.status_code == 201, ok.text


def test_roles_guard_admin_routes(studio):
    _, _, annotator = studio.user("annotator")
    _, _, reviewer = studio.user("reviewer")
    with annotator as a, reviewer as r:
        assert a.post("/api/projects", json={"name": "x", "kind": "panoptic"}).status_code == 403
        assert r.post("/api/projects", json={"name": "x", "kind": "panoptic"}).status_code == 403
        assert a.post("/api/users", json={"username": "u1", "password": "12345678"}).status_code == 403
        assert r.post("/api/users", json={"username": "u1", "password": "12345678"}).status_code == 403
        assert a.get("/api/users").status_code == 403
        assert r.get("/api/users").status_code == 200
        # An annotator may change their own password, not their role.
        me = a.get("/api/auth/me").json()
        assert a.patch(f"/api/users/{me['id']}", json={"role": "admin"}).status_code == 403
        assert a.patch(f"/api/users/{me['id']}", json={"password": "another-pass"}).status_code == 200


def test_projects_are_visible_to_members_only(studio):
    name, _, annotator = studio.user("annotator")
    p = studio.project("panoptic", images={"a.png": {}})
    with annotator as a:
        assert all(x["id"] != p["id"] for x in a.get("/api/projects").json())
        # Not a member: the project, its images and their labels are hidden as if absent.
        assert a.get(f"/api/projects/{p['id']}").status_code == 404
        image_id = studio.images(p["id"])[0]["id"]
        assert a.get(f"/api/images/{image_id}/label").status_code == 404
        assert a.get(f"/api/images/{image_id}/file").status_code == 404
        with studio.admin as c:
            assert c.post(f"/api/projects/{p['id']}/members", json={"username": name}).status_code == 201
        assert any(x["id"] == p["id"] for x in a.get("/api/projects").json())
        assert a.get(f"/api/images/{image_id}/file").status_code == 200
        # Members who are annotators still cannot manage the project.
        assert a.post(f"/api/projects/{p['id']}/classes", json=[{"name": "bird"}]).status_code == 403
        assert a.post(f"/api/projects/{p['id']}/images/folder", json={}).status_code == 403
        assert a.post(f"/api/projects/{p['id']}/export", json={"format": "coco-panoptic"}).status_code == 403


def test_disabled_user_loses_access(studio):
    name, password, client = studio.user("annotator")
    with studio.admin as c:
        uid = next(u["id"] for u in c.get("/api/users").json() if u["username"] == name)
        assert c.patch(f"/api/users/{uid}", json={"active": False}).status_code == 200
    with client as a:
        assert a.get("/api/auth/me").status_code == 401
    with studio.client() as c:
        assert c.post("/api/auth/login", json={"username": name, "password": password}).status_code == 401


def test_openapi_docs_are_served(studio):
    with studio.client() as c:
        spec = c.get("/openapi.json").json()
        assert "/api/images/{image_id}/label" in spec["paths"]
        assert c.get("/docs").status_code == 200
        index = c.get("/")
        assert index.status_code == 200 and "script-src 'self'" in index.headers["content-security-policy"]


def test_failed_logins_are_throttled_per_user_and_address(studio):
    name, password, _ = studio.user("annotator")
    with studio.client() as c:
        for _ in range(studio.settings.login_failures):
            assert c.post("/api/auth/login", json={"username": name, "password": "guess"}).status_code == 401
        # Locked out now, even with the right password: guessing cannot go on at server speed.
        r = c.post("/api/auth/login", json={"username": name, "password": password})
        assert r.status_code == 429
        assert 0 < int(r.headers["Retry-After"]) <= studio.settings.login_window_s + 1
        assert "try again in" in r.json()["detail"]
        # Other users from the same address are not locked out by it.
        other, other_password, _ = studio.user("annotator")
        assert c.post("/api/auth/login", json={"username": other, "password": other_password}).status_code == 200


def test_failed_logins_from_one_address_are_throttled_across_usernames(tmp_path, helpers):
    from panoptix.studio.app import create_app
    from panoptix.studio.config import StudioSettings
    from panoptix.studio.db import Database
    from panoptix.studio.services import ensure_admin

    settings = StudioSettings(tmp_path, login_failures_per_client=3,
                              password_cost={"time_cost": 1, "memory_cost": 1024, "parallelism": 1})
    db = Database(settings.db_url)
    app = create_app(settings, db=db)
    ensure_admin(db, "admin-password-2")
    port = helpers.free_port()
    server = helpers.ServerThread(app, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for name in ("ann", "bob", "cid"):
                assert c.post("/api/auth/login", json={"username": name, "password": "x"}).status_code == 401
            r = c.post("/api/auth/login", json={"username": "admin", "password": "admin-password-2"})
            assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    finally:
        server.stop()
        db.dispose()
