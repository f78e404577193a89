"""Export a project in any format ``panoptix.io`` writes, as a zip download."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..deps import get_project, get_session, require_role, state
from ..schemas import ExportIn

router = APIRouter(prefix="/api", tags=["export"])


@router.get("/export/formats")
def formats(user: m.User = Depends(require_role("admin", "reviewer", "annotator"))) -> list[str]:
    return list(S.write_formats())


@router.post("/projects/{project_id}/export")
def export(project_id: int, body: ExportIn, background: BackgroundTasks,
           user: m.User = Depends(require_role("admin", "reviewer")), session: Session = Depends(get_session),
           st=Depends(state)):
    """Write the project's labels with ``panoptix.io.write_dataset`` and send them zipped."""
    p = get_project(session, project_id, user)
    tmp = Path(tempfile.mkdtemp(prefix="panoptix-export-"))
    background.add_task(shutil.rmtree, tmp, True)
    out = tmp / "export"
    S.write_export(st.db, p.id, body.format, out, body.statuses)
    archive = tmp / f"{S.slugify(p.name)}-{body.format}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        if out.is_file():
            zf.write(out, out.name)
        else:
            for f in sorted(out.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(out).as_posix())
    return FileResponse(archive, media_type="application/zip", filename=archive.name)
