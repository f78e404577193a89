"""Projects: create (kind given or advised), list, change, delete; members; the advice."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..deps import current_user, get_project, get_session, require_role, state
from ..schemas import AdviseIn, AdviseOut, MemberIn, ProjectCreate, ProjectOut, ProjectUpdate, UserOut

router = APIRouter(prefix="/api", tags=["projects"])


def project_out(session: Session, p: m.Project) -> ProjectOut:
    rows = session.execute(select(m.Image.status, func.count()).where(m.Image.project_id == p.id)
                           .group_by(m.Image.status)).all()
    by_status = {s: 0 for s in m.STATUSES}
    by_status.update({s: n for s, n in rows})
    out = ProjectOut.model_validate(p)
    out.images = sum(by_status.values())
    out.by_status = by_status
    return out


@router.post("/advise", response_model=AdviseOut)
def advise(body: AdviseIn, user: m.User = Depends(current_user)):
    """Which technique? Semantic, instance or panoptic from the answers (``panoptix.viz.advise``)."""
    a = S.advise(body.model_dump())
    return AdviseOut(kind=a.kind, reason=a.reason, annotation=a.annotation, metric=a.metric, notes=list(a.notes))


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    q = select(m.Project).order_by(m.Project.id)
    if user.role != "admin":
        q = q.join(m.Member, m.Member.project_id == m.Project.id).where(m.Member.user_id == user.id)
    return [project_out(session, p) for p in session.execute(q).scalars().all()]


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectCreate, user: m.User = Depends(require_role("admin")),
                   session: Session = Depends(get_session), st=Depends(state)):
    p = S.create_project(session, st.settings, body, user)
    session.commit()
    return project_out(session, p)


@router.get("/projects/{project_id}", response_model=ProjectOut)
def read_project(project_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    return project_out(session, get_project(session, project_id, user))


@router.patch("/projects/{project_id}", response_model=ProjectOut)
def update_project(project_id: int, body: ProjectUpdate, user: m.User = Depends(require_role("admin")),
                   session: Session = Depends(get_session), st=Depends(state)):
    p = get_project(session, project_id, user)
    if body.name is not None and body.name != p.name:
        if session.execute(select(m.Project).where(m.Project.name == body.name)).scalar_one_or_none():
            raise HTTPException(409, f"a project named {body.name!r} already exists")
        p.name = body.name
    if body.description is not None:
        p.description = body.description
    if body.ground_truth is not None:
        S.check_server_path(st.settings, body.ground_truth.path)
        p.ground_truth = body.ground_truth.model_dump()
    session.commit()
    return project_out(session, p)


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: int, user: m.User = Depends(require_role("admin")),
                   session: Session = Depends(get_session)):
    """Delete a project and its labels from the database (image files are never touched)."""
    p = get_project(session, project_id, user)
    session.delete(p)
    session.commit()


@router.get("/projects/{project_id}/members", response_model=list[UserOut])
def list_members(project_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    return session.execute(select(m.User).join(m.Member, m.Member.user_id == m.User.id)
                           .where(m.Member.project_id == project_id).order_by(m.User.id)).scalars().all()


@router.post("/projects/{project_id}/members", response_model=UserOut, status_code=201)
def add_member(project_id: int, body: MemberIn, user: m.User = Depends(require_role("admin")),
               session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    target = session.execute(select(m.User).where(m.User.username == body.username)).scalar_one_or_none()
    if target is None:
        raise HTTPException(404, f"no user {body.username!r}")
    if session.get(m.Member, (project_id, target.id)) is None:
        session.add(m.Member(project_id=project_id, user_id=target.id))
        session.commit()
    return target


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: int, user_id: int, user: m.User = Depends(require_role("admin")),
                  session: Session = Depends(get_session)):
    get_project(session, project_id, user)
    row = session.get(m.Member, (project_id, user_id))
    if row is None:
        raise HTTPException(404, f"user {user_id} is not a member")
    session.delete(row)
    session.commit()
