"""Log in and out: a random token, returned in the body and set as an HttpOnly cookie."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import models as m
from ..deps import COOKIE, current_user, get_session, state
from ..schemas import LoginIn, LoginOut, UserOut
from ..security import hash_password, hash_token, new_token, verify_password

router = APIRouter(prefix="/api/auth", tags=["auth"])

# Verified when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "h" not in _DUMMY:
        _DUMMY["h"] = hash_password("not a real password")
    return _DUMMY["h"]


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, session: Session = Depends(get_session)):
    throttle = state(request).login_throttle
    client = request.client.host if request.client else "?"
    wait = throttle.retry_after(body.username, client)
    if wait > 0:
        seconds = int(wait) + 1
        raise HTTPException(429, f"too many failed logins: try again in {seconds} s",
                            headers={"Retry-After": str(seconds)})
    user = session.execute(select(m.User).where(m.User.username == body.username)).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else _dummy_hash(), body.password)
    if user is None or not ok or not user.active:
        throttle.failed(body.username, client)
        raise HTTPException(401, "wrong username or password")
    throttle.succeeded(body.username, client)
    settings = state(request).settings
    token = new_token()
    now = m.utcnow()
    session.execute(delete(m.Token).where(m.Token.expires_at < now))  # forget old sessions
    session.add(m.Token(user_id=user.id, token_hash=hash_token(token), created_at=now,
                        expires_at=now + timedelta(hours=settings.token_hours)))
    session.commit()
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies,
                        max_age=int(settings.token_hours * 3600), path="/")
    return LoginOut(token=token, user=UserOut.model_validate(user))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, user: m.User = Depends(current_user),
           session: Session = Depends(get_session)):
    session.execute(delete(m.Token).where(m.Token.id == request.state.token_id))
    session.commit()
    response.delete_cookie(COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut)
def me(user: m.User = Depends(current_user)):
    return user
