"""Progress dashboard numbers and evaluation against a project's ground truth."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..deps import current_user, get_project, get_session, require_role, state
from ..schemas import EvaluateOut, ProjectStats, UserStats

router = APIRouter(prefix="/api", tags=["stats"])


@router.get("/projects/{project_id}/stats", response_model=ProjectStats)
def stats(project_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    """Images per status, labels and segments per user and class, share of images approved."""
    p = get_project(session, project_id, user)
    by_status = {s: 0 for s in m.STATUSES}
    by_status.update(dict(session.execute(select(m.Image.status, func.count()).where(m.Image.project_id == p.id)
                                          .group_by(m.Image.status)).all()))
    total = sum(by_status.values())
    names = {c.category_id: c.name for c in session.execute(
        select(m.ProjectClass).where(m.ProjectClass.project_id == p.id)).scalars()}
    rows = session.execute(select(m.Label.user_id, m.Label.segments, m.Label.image_id, m.Image.status,
                                  m.Image.submitted_label_id, m.Label.id)
                           .join(m.Image, m.Image.id == m.Label.image_id).where(m.Image.project_id == p.id)).all()
    users = {u.id: u.username for u in session.execute(select(m.User)).scalars()}
    per_user: dict[str, UserStats] = {}
    by_class: dict[str, int] = {}
    labeled, segments = set(), 0
    for uid, segs, image_id, status, submitted_id, label_id in rows:
        labeled.add(image_id)
        segments += len(segs or [])
        for s in segs or []:
            name = names.get(s.get("category_id"), str(s.get("category_id")))
            by_class[name] = by_class.get(name, 0) + 1
        if uid is None:
            continue
        us = per_user.setdefault(users.get(uid, str(uid)), UserStats(username=users.get(uid, str(uid)), labels=0,
                                                                     submitted=0, approved=0))
        us.labels += 1
        if submitted_id == label_id:
            us.submitted += 1
            us.approved += int(status == "approved")
    return ProjectStats(images=total, by_status=by_status, labeled_images=len(labeled), segments=segments,
                        by_class=by_class, users=sorted(per_user.values(), key=lambda u: u.username),
                        progress=(by_status["approved"] / total) if total else 0.0)


@router.post("/projects/{project_id}/evaluate", response_model=EvaluateOut)
def evaluate(project_id: int, user: m.User = Depends(require_role("admin", "reviewer", "annotator")),
             session: Session = Depends(get_session), st=Depends(state)):
    """Score the labels against the project's ground truth (PQ / mean mask IoU / mIoU)."""
    p = get_project(session, project_id, user)
    return S.evaluate_project(session, st.db, st.settings, p)
