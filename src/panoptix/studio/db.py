"""The database: one engine, one session factory, migrations run at startup.

SQLite (the default, ``PROJECT_DIR/panoptix-studio.db``) and PostgreSQL
(``postgresql+psycopg://user:pass@host/db``) are supported. The schema is owned by
the Alembic migrations in ``panoptix/studio/migrations``; :func:`upgrade` applies
them programmatically, so ``panoptix studio`` needs no separate migration step.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..core.errors import PanoptixError

__all__ = ["Database", "MIGRATIONS", "default_url"]

#: Folder of the Alembic environment and revisions (inside the package).
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_url(project_dir) -> str:
    """``sqlite:///PROJECT_DIR/panoptix-studio.db``."""
    return f"sqlite:///{(Path(project_dir).resolve() / 'panoptix-studio.db').as_posix()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL: readers never block the writer, and a killed server leaves no half-written page.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Database:
    """Engine + session factory for one database URL.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``).

    Examples
    --------
    >>> db = Database("sqlite://")
    >>> db.upgrade()
    >>> "labels" in db.tables()
    True
    """

    def __init__(self, url: str):
        self.url = str(url)
        try:
            if self.url.startswith("sqlite"):
                from sqlalchemy.pool import StaticPool

                kw = {"connect_args": {"check_same_thread": False}}
                if self.url in ("sqlite://", "sqlite:///:memory:"):
                    kw["poolclass"] = StaticPool  # one shared in-memory database
                self.engine: Engine = create_engine(self.url, **kw)
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise PanoptixError(f"bad database URL {self._safe_url()}: {exc}") from None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _safe_url(self) -> str:
        # Never print a password.
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return "<unparsable url>"

    def alembic_config(self):
        from alembic.config import Config  # imported here: Alembic is only needed to migrate

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (creates it on a fresh database)."""
        from alembic import command

        cfg = self.alembic_config()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except OperationalError as exc:
            raise PanoptixError(f"cannot open database {self._safe_url()}: {exc.orig}") from None

    def downgrade(self, revision: str = "base") -> None:
        """Step the schema back to ``revision`` (``"base"``: drop every studio table)."""
        from alembic import command

        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def tables(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on any error."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
