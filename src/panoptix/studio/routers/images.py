"""Images: reference a folder, upload files, list, serve the pixels, move through the workflow."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...core.errors import PanoptixError
from .. import models as m
from .. import services as S
from ..deps import current_user, get_image, get_project, get_session, require_role, state
from ..schemas import FolderImportIn, ImageOut, ImagePage, ImportOut, ReviewOut, StatusIn

router = APIRouter(prefix="/api", tags=["images"])


@router.get("/projects/{project_id}/images", response_model=ImagePage)
def list_images(project_id: int, status: str | None = None, q: str | None = None,
                offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000),
                user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    query = select(m.Image).where(m.Image.project_id == project_id)
    if status:
        query = query.where(m.Image.status.in_(status.split(",")))
    if q:
        query = query.where(m.Image.path.contains(q, autoescape=True))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = session.execute(query.order_by(m.Image.id).offset(offset).limit(limit)).scalars().all()
    return ImagePage(total=total, items=items)


@router.post("/projects/{project_id}/images/folder", response_model=ImportOut, status_code=201)
def import_folder(project_id: int, body: FolderImportIn, user: m.User = Depends(require_role("admin")),
                  session: Session = Depends(get_session)):
    """Reference the images of a folder under the project's image root (files are not copied)."""
    p = get_project(session, project_id, user)
    added, skipped, messages = S.add_folder(session, p, body.folder, body.recursive)
    session.commit()
    return ImportOut(added=len(added), skipped=skipped, images=added, messages=messages)


@router.post("/projects/{project_id}/images/upload", response_model=ImportOut, status_code=201)
def upload(project_id: int, files: list[UploadFile] = File(...), user: m.User = Depends(require_role("admin")),
           session: Session = Depends(get_session), st=Depends(state)):
    """Upload image files (each checked by decoding it; size-limited; decompression bombs refused)."""
    p = get_project(session, project_id, user)
    limit = st.settings.max_upload_bytes
    added = []
    for f in files:
        data = f.file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{f.filename}: file is larger than the {limit} byte upload limit")
        added.append(S.save_upload(session, st.settings, p, f.filename or "image", data))
    session.commit()
    return ImportOut(added=len(added), skipped=0, images=added)


@router.get("/images/{image_id}", response_model=ImageOut)
def read_image(image_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    return get_image(session, image_id, user)[0]


@router.get("/images/{image_id}/neighbors")
def neighbors(image_id: int, status: str | None = None, user: m.User = Depends(current_user),
              session: Session = Depends(get_session)) -> dict:
    """Ids of the previous and next images of the project (optionally among some statuses)."""
    image, _ = get_image(session, image_id, user)
    base = select(m.Image.id).where(m.Image.project_id == image.project_id)
    if status:
        base = base.where(m.Image.status.in_(status.split(",")))
    prev = session.execute(base.where(m.Image.id < image.id).order_by(m.Image.id.desc()).limit(1)).scalar()
    nxt = session.execute(base.where(m.Image.id > image.id).order_by(m.Image.id).limit(1)).scalar()
    return {"prev": prev, "next": nxt}


@router.get("/images/{image_id}/file")
def image_file(image_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    """The image's bytes (path re-checked under the image root on every request)."""
    image, project = get_image(session, image_id, user)
    try:
        loc = S.image_location(project, image.path)
    except PanoptixError as exc:
        raise HTTPException(404, str(exc)) from None
    media = mimetypes.guess_type(image.path)[0] or "application/octet-stream"
    if isinstance(loc, Path):
        if not loc.is_file():
            raise HTTPException(404, f"{image.path}: image file is missing")
        return FileResponse(loc, media_type=media, headers={"Cache-Control": "private, max-age=3600"})
    return Response(S.read_image_bytes(project, image.path), media_type=media)


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: int, user: m.User = Depends(require_role("admin")), session: Session = Depends(get_session)):
    """Forget an image and its labels (the file itself stays)."""
    image, _ = get_image(session, image_id, user)
    session.delete(image)
    session.commit()


@router.post("/images/{image_id}/status", response_model=ImageOut)
def set_status(image_id: int, body: StatusIn, user: m.User = Depends(current_user),
               session: Session = Depends(get_session)):
    """Workflow: submit (annotator), approve / reject with a comment (reviewer), reopen."""
    image, _ = get_image(session, image_id, user)
    return S.set_status(session, image, user, body.status, body.comment, body.label_id)


@router.get("/images/{image_id}/reviews", response_model=list[ReviewOut])
def reviews(image_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    image, _ = get_image(session, image_id, user)
    rows = session.execute(select(m.Review, m.User.username).outerjoin(m.User, m.User.id == m.Review.user_id)
                           .where(m.Review.image_id == image.id).order_by(m.Review.id)).all()
    return [ReviewOut(id=r.id, user=name, status=r.status, comment=r.comment, created_at=r.created_at)
            for r, name in rows]
