"""Passwords, login tokens and safe paths.

* Passwords are hashed with Argon2id (argon2-cffi); the hash string carries its own
  salt and parameters, so old hashes keep verifying after the defaults change.
* A login token is 32 random bytes (URL-safe text); only its SHA-256 is stored, so a
  leaked database gives no usable session. The token travels as
  ``Authorization: Bearer <token>`` (API clients) or in an HttpOnly cookie (the UI).
* Image paths are resolved (symlinks followed) and must stay under the project's image
  root: ``..``, absolute paths and symlinks that lead outside are refused.
* Failed logins are throttled (:class:`LoginThrottle`) so that passwords cannot be guessed
  at the speed of the server.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import secrets
import threading
import time
from collections import deque
from pathlib import Path, PurePosixPath

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..core.errors import PanoptixError

__all__ = ["hash_password", "verify_password", "set_hash_params", "new_token", "hash_token", "LoginThrottle", "PathError",
           "is_remote", "check_relative", "resolve_under", "join_remote", "local_root", "is_under"]

_hasher = PasswordHasher()


class LoginThrottle:
    """Failed logins in a sliding window, per (username, client address) and per client address.

    After ``per_user`` failures for one username from one address, or ``per_client``
    failures from one address, within ``window_s`` seconds, further attempts are refused
    (even with the right password) until the oldest failure leaves the window. Keying the
    username by address keeps a stranger from locking a user out everywhere. In memory, per
    server process; thread-safe.

    >>> now = [0.0]
    >>> t = LoginThrottle(per_user=2, per_client=10, window_s=60, clock=lambda: now[0])
    >>> t.failed("ann", "10.0.0.1"); t.failed("ann", "10.0.0.1")
    >>> t.retry_after("ann", "10.0.0.1"), t.retry_after("ann", "10.0.0.2")
    (60.0, 0.0)
    >>> now[0] = 61.0; t.retry_after("ann", "10.0.0.1")
    0.0
    """

    def __init__(self, *, per_user: int = 5, per_client: int = 30, window_s: float = 900.0, clock=time.monotonic):
        self.per_user, self.per_client, self.window_s = per_user, per_client, window_s
        self._clock = clock
        self._failures: dict[tuple, deque] = {}
        self._lock = threading.Lock()

    def _wait(self, key, limit: int, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        return times[0] + self.window_s - now if len(times) >= limit else 0.0

    def retry_after(self, username: str, client: str) -> float:
        """Seconds until ``username`` may try again from ``client`` (0: now)."""
        with self._lock:
            now = self._clock()
            return max(self._wait(("user", username, client), self.per_user, now),
                       self._wait(("client", client), self.per_client, now))

    def failed(self, username: str, client: str) -> None:
        with self._lock:
            now = self._clock()
            if len(self._failures) > 100_000:  # random usernames must not grow memory without end
                for key in [k for k, v in self._failures.items() if v[-1] <= now - self.window_s]:
                    del self._failures[key]
            for key in (("user", username, client), ("client", client)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, client: str) -> None:
        """A right password: that username's failures from that address are forgotten."""
        with self._lock:
            self._failures.pop(("user", username, client), None)


def set_hash_params(*, time_cost: int | None = None, memory_cost: int | None = None,
                    parallelism: int | None = None) -> None:
    """Change the Argon2 cost of *new* hashes (existing hashes keep verifying: each carries its own).

    The defaults are argon2-cffi's (RFC 9106 low-memory profile); tests lower them to stay fast.
    """
    global _hasher
    d = PasswordHasher()
    _hasher = PasswordHasher(time_cost=time_cost or d.time_cost, memory_cost=memory_cost or d.memory_cost,
                             parallelism=parallelism or d.parallelism)


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (salted).

    Examples
    --------
    >>> h = hash_password("correct horse")
    >>> verify_password(h, "correct horse"), verify_password(h, "wrong")
    (True, False)
    """
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    """True when ``password`` matches ``hashed``; never raises on a bad hash."""
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh random session token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the database stores (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PathError(PanoptixError):
    """A path that leaves its allowed root (``..``, absolute, symlink outside) or does not exist."""


def is_remote(root: str) -> bool:
    """True for an fsspec URL with a non-local protocol (``s3://``, ``memory://``, ``http://``...)."""
    if "://" not in str(root):
        return False
    return str(root).split("://", 1)[0].lower() not in ("file", "local")


def local_root(root: str) -> Path:
    """A local root (plain path or ``file://`` URL) as a resolved Path."""
    root = str(root)
    if root.lower().startswith("file://"):
        root = root[7:]
    return Path(os.path.realpath(os.path.expanduser(root)))


def check_relative(rel: str) -> str:
    """Normalise a relative POSIX path; PathError for absolute paths, ``..`` and empty names.

    Examples
    --------
    >>> check_relative("a/./b.jpg")
    'a/b.jpg'
    >>> check_relative("../etc/passwd")
    Traceback (most recent call last):
    ...
    panoptix.studio.security.PathError: ../etc/passwd: path leaves the image root
    """
    raw = str(rel).replace("\\", "/")
    if "\x00" in raw:
        raise PathError("path contains a NUL byte", file=repr(raw))
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "://" in raw:
        raise PathError("absolute paths are not allowed; give a path relative to the image root", file=raw)
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathError("path leaves the image root", file=raw)
    return posixpath.join(*parts) if parts else ""


def resolve_under(root: str, rel: str, *, must_exist: bool = True) -> Path:
    """``root/rel`` with symlinks resolved, refused unless it stays under ``root``.

    Parameters
    ----------
    root : str
        A local folder (or ``file://`` URL).
    rel : str
        Relative POSIX path.
    must_exist : bool
        Raise PathError when the target does not exist.
    """
    base = local_root(root)
    clean = check_relative(rel)
    target = Path(os.path.realpath(base / clean)) if clean else base
    try:
        target.relative_to(base)
    except ValueError:
        raise PathError("path leaves the image root (symlink?)", file=rel) from None
    if must_exist and not target.exists():
        raise PathError("no such file or folder under the image root", file=rel)
    return target


def join_remote(root: str, rel: str) -> str:
    """``root/rel`` for an fsspec URL root (``rel`` checked like a local path)."""
    clean = check_relative(rel)
    return str(root).rstrip("/") + ("/" + clean if clean else "")


def is_under(path, roots) -> bool:
    """True when the resolved ``path`` lies under one of the resolved ``roots``."""
    p = Path(os.path.realpath(path))
    for r in roots:
        try:
            p.relative_to(Path(os.path.realpath(r)))
            return True
        except ValueError:
            continue
    return False

