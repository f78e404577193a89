"""A project's classes: name, colour, thing/stuff, hotkey, order."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..deps import current_user, get_project, get_session, require_role
from ..schemas import ClassIn, ClassOut, ClassUpdate

router = APIRouter(prefix="/api/projects/{project_id}/classes", tags=["classes"])


def _rows(session: Session, project_id: int):
    return session.execute(select(m.ProjectClass).where(m.ProjectClass.project_id == project_id)
                           .order_by(m.ProjectClass.position, m.ProjectClass.id)).scalars().all()


def _used(session: Session, project_id: int, category_id: int) -> bool:
    labels = session.execute(select(m.Label.segments).join(m.Image, m.Image.id == m.Label.image_id)
                             .where(m.Image.project_id == project_id)).scalars()
    return any(any(s.get("category_id") == category_id for s in segs or []) for segs in labels)


@router.get("", response_model=list[ClassOut])
def list_classes(project_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    return _rows(session, project_id)


@router.post("", response_model=list[ClassOut], status_code=201)
def add_classes(project_id: int, body: list[ClassIn], user: m.User = Depends(require_role("admin")),
                session: Session = Depends(get_session)):
    """Add one or more classes (ids default to the next free one)."""
    p = get_project(session, project_id, user)
    rows = S.add_classes(session, p, body)
    session.commit()
    return rows


@router.patch("/{class_id}", response_model=ClassOut)
def update_class(project_id: int, class_id: int, body: ClassUpdate, user: m.User = Depends(require_role("admin")),
                 session: Session = Depends(get_session)):
    p = get_project(session, project_id, user)
    row = session.get(m.ProjectClass, class_id)
    if row is None or row.project_id != project_id:
        raise HTTPException(404, f"no class {class_id}")
    others = [r for r in _rows(session, project_id) if r.id != row.id]
    if body.name is not None:
        if any(r.name == body.name for r in others):
            raise HTTPException(409, f"class name {body.name!r} already exists")
        row.name = body.name
    if body.color is not None:
        row.color = body.color.lower()
    if body.hotkey is not None:
        if body.hotkey and any(r.hotkey == body.hotkey for r in others):
            raise HTTPException(409, f"hotkey {body.hotkey!r} is already used by another class")
        row.hotkey = body.hotkey or None
    if body.isthing is not None and body.isthing != row.isthing:
        if p.kind == "instance" and not body.isthing:
            raise HTTPException(422, "instance projects label things only")
        if _used(session, project_id, row.category_id):
            raise HTTPException(409, f"class {row.name!r} is used by labels; thing/stuff cannot change now")
        row.isthing = body.isthing
    if body.position is not None:
        row.position = body.position
    session.commit()
    return row


@router.delete("/{class_id}", status_code=204)
def delete_class(project_id: int, class_id: int, user: m.User = Depends(require_role("admin")),
                 session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    row = session.get(m.ProjectClass, class_id)
    if row is None or row.project_id != project_id:
        raise HTTPException(404, f"no class {class_id}")
    if _used(session, project_id, row.category_id):
        raise HTTPException(409, f"class {row.name!r} is used by labels; relabel those segments first")
    session.delete(row)
    session.commit()
