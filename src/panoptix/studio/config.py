"""Settings of one studio server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .db import default_url

__all__ = ["StudioSettings"]


@dataclass
class StudioSettings:
    """What ``panoptix studio`` was started with.

    Parameters
    ----------
    project_dir : path
        Folder of the studio: the SQLite database lives here by default and new
        projects keep their images under ``project_dir/images/<project>``.
    db_url : str, optional
        SQLAlchemy URL; ``sqlite:///project_dir/panoptix-studio.db`` by default.
    roots : list of path, optional
        Folders image roots and imports may point into (``project_dir`` is always one).
    max_upload_bytes : int
        Largest accepted upload (one file).
    max_request_bytes : int
        Largest accepted request body (uploads of several files, label saves).
    token_hours : float
        Lifetime of a login.
    sam_model : str, optional
        SAM checkpoint or Hugging Face id for the point/box assist (off when None).
    text_model : str, optional
        Text-prompt segmentation model (off when None).
    allow_remote : bool
        Accept fsspec URLs (``s3://``, ``gs://``...) as image roots.
    secure_cookies : bool
        Mark the login cookie ``Secure`` (serve behind HTTPS).
    password_cost : dict, optional
        Argon2 ``time_cost`` / ``memory_cost`` (KiB) / ``parallelism`` for new password hashes
        (argon2-cffi's defaults when None).
    login_failures, login_failures_per_client, login_window_s : int, int, float
        Failed logins allowed per username and client address, and per client address, within
        the window (seconds) before logins from there get 429 (see ``security.LoginThrottle``).
    """

    project_dir: Path
    db_url: str | None = None
    roots: list[Path] = field(default_factory=list)
    max_upload_bytes: int = 64 * 1024 * 1024
    max_request_bytes: int = 256 * 1024 * 1024
    token_hours: float = 24 * 7
    sam_model: str | None = None
    text_model: str | None = None
    allow_remote: bool = True
    secure_cookies: bool = False
    password_cost: dict | None = None
    login_failures: int = 5
    login_failures_per_client: int = 30
    login_window_s: float = 900.0

    def __post_init__(self):
        self.project_dir = Path(os.path.realpath(Path(self.project_dir).expanduser()))
        if self.db_url is None:
            self.db_url = default_url(self.project_dir)
        roots = [self.project_dir] + [Path(os.path.realpath(Path(r).expanduser())) for r in self.roots]
        self.roots = list(dict.fromkeys(roots))
