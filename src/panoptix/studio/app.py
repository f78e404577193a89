"""The FastAPI application: routers, error mapping, the static editor, startup migrations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from ..core.errors import PanoptixError
from .config import StudioSettings
from .db import Database
from .routers import ROUTERS
from .security import LoginThrottle, PathError, set_hash_params
from .services import ConflictError, NotAllowedError

__all__ = ["StudioState", "create_app", "STATIC"]

STATIC = Path(__file__).resolve().parent / "static"

_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@dataclass
class StudioState:
    settings: StudioSettings
    db: Database
    login_throttle: LoginThrottle


def _status_of(exc: PanoptixError) -> int:
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, NotAllowedError):
        return 403
    if isinstance(exc, PathError):
        return 400
    return 422


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes (413), counted as they arrive."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                return await self._too_large(send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send):
        body = b'{"detail":"request body too large"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def create_app(settings: StudioSettings, *, db: Database | None = None, migrate: bool = True) -> FastAPI:
    """Build the studio app (runs the migrations first unless ``migrate=False``).

    Examples
    --------
    >>> import tempfile
    >>> app = create_app(StudioSettings(tempfile.mkdtemp(), db_url="sqlite://"))
    >>> "/api/auth/login" in app.openapi()["paths"]
    True
    """
    if settings.password_cost:
        set_hash_params(**settings.password_cost)
    db = db or Database(settings.db_url)
    if migrate:
        db.upgrade()
    app = FastAPI(title="panoptix studio", version="0.1.0",
                  description="Label semantic, instance and panoptic segmentation on one layered model.",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    throttle = LoginThrottle(per_user=settings.login_failures, per_client=settings.login_failures_per_client,
                             window_s=settings.login_window_s)
    app.state.studio = StudioState(settings, db, throttle)

    @app.exception_handler(PanoptixError)
    async def _panoptix_error(request: Request, exc: PanoptixError):
        return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        # One readable line per problem, without echoing megabytes of label runs back.
        problems = []
        for e in exc.errors()[:10]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return JSONResponse({"detail": "; ".join(problems), "errors": len(exc.errors())}, status_code=422)

    for router in ROUTERS:
        app.include_router(router)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict:
        return {"ok": True, "kind": "panoptix-studio"}

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", _CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(GZipMiddleware, minimum_size=2048)
    # Labels of a 4K image with hundreds of objects stay far below the default; uploads have their own limit.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    return app
