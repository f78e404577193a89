"""Migrations (up and down, on each backend) and crash safety of saves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from panoptix.studio import models as m
from panoptix.studio.db import Database
from panoptix.studio.labelstore import LabelDoc

TABLES = {"users", "tokens", "projects", "project_members", "classes", "images", "labels", "reviews"}


def test_migrations_up_down_up(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    assert TABLES <= set(db.tables()) and "alembic_version" in db.tables()
    db.downgrade("base")
    assert not (TABLES & set(db.tables()))
    db.upgrade()
    assert TABLES <= set(db.tables())
    db.dispose()


def test_migrations_on_the_test_backend(studio):
    # The session's server already migrated its database (SQLite file or PostgreSQL schema).
    assert TABLES <= set(studio.db.tables())
    with studio.db.session() as s:
        assert s.execute(select(m.User).where(m.User.username == "admin")).scalar_one().role == "admin"


def test_bad_database_url_is_one_clear_error(tmp_path):
    from panoptix.core import PanoptixError

    with pytest.raises(PanoptixError, match="bad database URL"):
        Database("nosuchdriver://x")


def test_cli_server_demo_and_killed_server_leaves_whole_labels(tmp_path, helpers):
    """``panoptix studio DIR --demo`` in a real process: first admin, demo project, then labels saved in
    a loop and the server killed with SIGKILL mid-way: every stored label still decodes whole."""
    root = tmp_path / "studio"
    img_dir = root / "images" / "p"
    helpers.write_image(img_dir / "a.png", size=(64, 48))
    port = helpers.free_port()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "panoptix", "studio", str(root), "--port", str(port),
                             "--admin-password", "crash-test-pw", "--demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline and proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.2)
        tok = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": "crash-test-pw"}).json()["token"]
        c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
        demo = c.get("/api/projects").json()
        assert [(d["name"], d["kind"], d["images"]) for d in demo] == [("demo", "panoptic", 2)]
        assert len(c.get(f"/api/projects/{demo[0]['id']}/classes").json()) == 133
        p = c.post("/api/projects", json={"name": "p", "kind": "panoptic", "image_root": str(img_dir),
                                          "classes": [{"name": "cat"}]}).json()
        c.post(f"/api/projects/{p['id']}/images/folder", json={})
        iid = c.get(f"/api/projects/{p['id']}/images").json()["items"][0]["id"]
        version, label_id, done = 0, None, []
        stop = threading.Event()

        def saver():
            nonlocal version, label_id
            rng = np.random.default_rng(0)
            while not stop.is_set():
                ids = (rng.random((48, 64)) < 0.5).astype(int)  # noisy maps: long PNGs, slow writes
                q = f"?label_id={label_id}" if label_id else ""
                try:
                    r = c.put(f"/api/images/{iid}/label{q}", json={"version": version, "segments": [
                        {"id": 1, "category_id": 1}], "map": helpers.runs(ids)})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    version, label_id = r.json()["version"], r.json()["id"]
                    done.append(version)

        t = threading.Thread(target=saver)
        t.start()
        while len(done) < 3 and t.is_alive():
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        stop.set()
        t.join(timeout=20)
        c.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert len(done) >= 3
    out = proc.stdout.read().decode()
    assert "created user 'admin'" in out and f"http://127.0.0.1:{port}/#/projects/1" in out
    db = Database(f"sqlite:///{root / 'panoptix-studio.db'}")
    with db.session() as s:
        rows = s.execute(select(m.Label)).scalars().all()
        image = s.get(m.Image, iid)
    assert len(rows) == 1 and rows[0].version >= done[-1]
    doc = LabelDoc.from_db("panoptic", image.height, image.width, rows[0].data, rows[0].segments)
    assert doc.ids.shape == (48, 64) and set(np.unique(doc.ids)) <= {0, 1}
    db.dispose()
