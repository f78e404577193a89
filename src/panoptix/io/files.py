"""Reading and writing files safely: JSON, PNG, images; atomic writes; local paths and URLs.

Every function here takes a local path (``str`` or :class:`pathlib.Path`) or an fsspec URL
(``s3://bucket/key``, ``gs://...``, ``memory://...``, ``file:///...``). :func:`as_path` turns
either into a path object: a plain :class:`pathlib.Path` for local paths (and ``file://``
URLs), so the local hot path never goes through fsspec, or a :class:`RemotePath` for the
other URLs, which offers the part of the ``pathlib`` API the format modules use (``/``,
``name``, ``parent``, ``is_file()``, ``glob()``...) on top of an fsspec filesystem.

Writers go through :func:`atomic_write`, so nothing is ever half-written:

- local files are written to a temporary file beside the target and renamed over it;
- remote objects are buffered in memory and stored with one ``put`` when the writer
  finishes (object stores such as S3 and GCS make an object visible all at once, multipart
  uploads included); a writer that fails stores nothing.

Readers turn every failure (missing, truncated, wrong format, unreachable store) into one
:class:`~panoptix.core.errors.FormatError` that names the file or URL.

Credentials and endpoints of remote stores come from fsspec's usual places: the store's own
environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``...), fsspec's configuration
(``FSSPEC_S3_ENDPOINT_URL=...``, ``fsspec.config.conf``), or ``as_path(url, **storage_options)``
whose result is passed on in place of the URL.

Examples
--------
>>> import numpy as np
>>> write_png("memory://doc/labels/a.png", np.array([[0, 1], [2, 255]], np.uint8))
>>> read_png("memory://doc/labels/a.png").tolist()
[[0, 1], [2, 255]]
>>> p = as_path("memory://doc/labels")
>>> [q.name for q in p.glob("*.png")], image_size(p / "a.png")
(['a.png'], (2, 2))
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
import orjson
from PIL import Image

from ..core.errors import FormatError, OutputError, PanoptixError
from ..core.labels import MAX_IMAGE_PIXELS

__all__ = ["as_path", "is_url", "RemotePath", "walk_files", "atomic_write", "read_json", "write_json",
           "read_png", "write_png", "read_image", "image_size", "image_sizes", "read_bytes", "copy_file", "relpath",
           "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Pillow warns above this and refuses twice this (decompression bombs).
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# "s3://...", "gs://...", "memory://...", and chained URLs ("simplecache::s3://...").
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*(://|::)")
_LOCAL_PROTOCOLS = ("file", "local")
# Bytes fetched to read an image header remotely (PNG's IHDR is first; JPEG's SOF follows EXIF).
_HEADER_BYTES = 1 << 16


# --------------------------------------------------------------------------- paths and URLs
def is_url(path) -> bool:
    """Whether ``path`` is an fsspec URL (``s3://``, ``memory://``...) or a :class:`RemotePath`.

    >>> is_url("s3://bucket/x.json"), is_url("data/x.json"), is_url(Path("C:/data"))
    (True, False, False)
    """
    return isinstance(path, RemotePath) or (isinstance(path, str) and ":" in path and _URL.match(path) is not None)


def as_path(path, **storage_options):
    """A local :class:`pathlib.Path`, or a :class:`RemotePath` for an fsspec URL.

    Parameters
    ----------
    path : str, os.PathLike or RemotePath
        A local path, a ``file://`` URL (both give a ``Path``), or any other fsspec URL.
    **storage_options
        Passed to the fsspec filesystem of a URL (``endpoint_url``, ``key``, ``anon``...).

    Raises
    ------
    FormatError
        The URL's protocol is unknown, or the package that implements it (``s3fs``,
        ``gcsfs``) or fsspec itself is not installed.

    Examples
    --------
    >>> as_path("file:///tmp/x.json")
    PosixPath('/tmp/x.json')
    >>> as_path("memory://bucket/x.json")
    RemotePath('memory://bucket/x.json')
    """
    if isinstance(path, (Path, RemotePath)):
        return path
    if isinstance(path, str) and ":" in path and _URL.match(path):
        return _url_path(path, storage_options)
    return Path(path)


def _where(path):
    """A RemotePath for a URL, else ``path`` unchanged: the local functions below hand a local
    ``str``/``Path`` to Python and PIL exactly as given (no conversion on the hot path)."""
    if isinstance(path, RemotePath):
        return path
    if isinstance(path, str) and ":" in path and _URL.match(path):
        return _url_path(path, {})
    return path


def _url_path(url: str, storage_options: dict):
    try:
        import fsspec.core
    except ImportError:
        raise FormatError("reading and writing URLs needs fsspec (pip install fsspec)", file=url) from None
    try:
        fs, inner = fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as exc:  # e.g. "Install s3fs to access S3"
        raise FormatError(f"cannot open this URL: {exc}", file=url) from None
    except (ValueError, TypeError, OSError) as exc:  # unknown protocol, bad options
        raise FormatError(f"cannot open this URL: {exc}", file=url) from None
    if "::" not in url and set(_protocols(fs)) & set(_LOCAL_PROTOCOLS):
        return Path(inner)  # file:// is the local disk: keep the fast path and atomic renames
    return RemotePath(fs, inner)


def _protocols(fs) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


class RemotePath:
    """A file or folder on an fsspec filesystem, with the ``pathlib`` API the readers use.

    Pure operations (``/``, ``name``, ``stem``, ``suffix``, ``parent``, ``with_suffix``,
    ``relative_to``) work on the path string; the others ask the filesystem. ``str()`` gives
    the URL, which errors name. Make one with :func:`as_path`.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem (it carries the storage options, and pickles with them).
    path : str
        The path inside ``fs``, without the protocol (``bucket/key`` on S3).

    Examples
    --------
    >>> p = as_path("memory://bucket/ann/panoptic.json")
    >>> p.parent.name, p.with_suffix("").name, str(p.parent / "x.png")
    ('ann', 'panoptic', 'memory://bucket/ann/x.png')
    >>> p.relative_to(as_path("memory://bucket")).as_posix()
    'ann/panoptic.json'
    """

    __slots__ = ("fs", "path")

    def __init__(self, fs, path: str):
        self.fs = fs
        path = str(path)
        self.path = posixpath.normpath(path) if path not in ("", "/") else path
        if self.path == ".":
            self.path = ""

    # ---- pure path operations
    @property
    def url(self) -> str:
        protocol = _protocols(self.fs)[0]
        if protocol == "memory":  # memory paths are "/a/b"; users write memory://a/b
            return "memory://" + self.path.lstrip("/")
        return self.fs.unstrip_protocol(self.path)

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RemotePath) and self.path == other.path and self.fs == other.fs

    def __hash__(self) -> int:
        return hash((self.path, type(self.fs).__name__))

    def __lt__(self, other: "RemotePath") -> bool:
        return str(self) < str(other)

    def __truediv__(self, other) -> "RemotePath":
        return self.joinpath(other)

    def joinpath(self, *others) -> "RemotePath":
        path = self.path
        for other in others:
            other = str(other).replace("\\", "/")
            path = other.lstrip("/") if not path else posixpath.join(path, other.lstrip("/"))
        return RemotePath(self.fs, path)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix if self.name else ""

    @property
    def suffixes(self) -> list[str]:
        return PurePosixPath(self.name).suffixes if self.name else []

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem if self.name else ""

    @property
    def parent(self) -> "RemotePath":
        parent = posixpath.dirname(self.path.rstrip("/"))
        if not parent or parent == self.path:  # a bucket or the root is its own parent, as "/" is
            return self
        return RemotePath(self.fs, parent)

    @property
    def parents(self) -> list["RemotePath"]:
        out, p = [], self
        while p.parent is not p:
            p = p.parent
            out.append(p)
        return out

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(part for part in self.path.split("/") if part)

    def with_name(self, name: str) -> "RemotePath":
        if not self.name:
            raise ValueError(f"{self!r} has an empty name")
        return RemotePath(self.fs, posixpath.join(posixpath.dirname(self.path), name))

    def with_suffix(self, suffix: str) -> "RemotePath":
        return self.with_name(str(PurePosixPath(self.name).with_suffix(suffix)))

    def relative_to(self, other) -> PurePosixPath:
        """The path below ``other`` (a RemotePath on the same filesystem), as a PurePosixPath."""
        if not isinstance(other, RemotePath) or other.fs != self.fs:
            raise ValueError(f"{self} is not below {other}")
        base = other.path.rstrip("/")
        if self.path == base:
            return PurePosixPath(".")
        if not base:
            return PurePosixPath(self.path.lstrip("/"))
        if not self.path.startswith(base + "/"):
            raise ValueError(f"{self} is not below {other}")
        return PurePosixPath(self.path[len(base) + 1:])

    def as_posix(self) -> str:
        return self.url

    def is_absolute(self) -> bool:
        return True

    # ---- filesystem operations (errors other than "not found" name the URL)
    def _ask(self, fn, *args, _writing: bool = False, **kw):
        """``fn(*args)``; a failure of the store other than "not found" becomes one FormatError
        (OutputError when writing) that names this URL."""
        try:
            return fn(*args, **kw)
        except (FileNotFoundError, PanoptixError):
            raise
        except Exception as exc:  # botocore, aiohttp...: any failure of the store, named once
            if _writing:
                raise OutputError(f"cannot write: {_why(exc)}", file=self) from None
            raise FormatError(f"cannot read: {_why(exc)}", file=self) from None

    def exists(self) -> bool:
        return bool(self._ask(self.fs.exists, self.path))

    def is_file(self) -> bool:
        try:
            return bool(self._ask(self.fs.isfile, self.path))
        except FileNotFoundError:
            return False

    def is_dir(self) -> bool:
        try:
            return bool(self._ask(self.fs.isdir, self.path))
        except FileNotFoundError:
            return False

    def iterdir(self) -> Iterator["RemotePath"]:
        for p in sorted(self._ask(self.fs.ls, self.path, detail=False)):
            p = self.fs._strip_protocol(p)
            if p.rstrip("/") != self.path.rstrip("/"):
                yield RemotePath(self.fs, p)

    def glob(self, pattern: str) -> Iterator["RemotePath"]:
        """Matches of a ``*``/``?`` pattern below this folder (sorted)."""
        found = self._ask(self.fs.glob, posixpath.join(self.path, pattern))
        for p in sorted(found):
            yield RemotePath(self.fs, self.fs._strip_protocol(p))

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Make the folder (object stores have no folders: a no-op below a bucket there)."""
        self._ask(self.fs.makedirs, self.path, exist_ok=True, _writing=True)

    def read_bytes(self) -> bytes:
        return self._ask(self.fs.cat_file, self.path)

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    def write_bytes(self, data: bytes) -> int:
        self._ask(self.fs.pipe_file, self.path, bytes(data), _writing=True)
        return len(data)

    def write_text(self, data: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(data.encode(encoding))

    def open(self, mode: str = "rb", **kw):
        """The fsspec file object (writes are committed when it closes: prefer atomic_write)."""
        return self._ask(self.fs.open, self.path, mode, **kw)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self._ask(self.fs.rm_file, self.path, _writing=True)
        except FileNotFoundError:
            if not missing_ok:
                raise


def _why(exc: BaseException) -> str:
    """One line saying why a store refused (fsspec often puts only the path in the message)."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "a file is in the way (a file where a folder is needed)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, NotImplementedError):
        return "this filesystem cannot do that (read-only?)"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:300]


def walk_files(root) -> Iterator[Path | RemotePath]:
    """Files below a folder, recursively, as ``os.walk`` visits them in sorted order (the files
    of a folder, then its subfolders), hidden files and folders skipped.

    Locally the folder is walked lazily (callers that stop at the first match read little);
    on a remote store the whole listing is one request (``fs.find``) and is then sorted the
    same way.
    """
    root = as_path(root)
    if isinstance(root, Path):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in sorted(filenames):
                if not f.startswith("."):
                    yield Path(dirpath) / f
        return
    try:
        found = root._ask(root.fs.find, root.path, withdirs=False)
    except FileNotFoundError:
        return
    base = root.path.rstrip("/")
    keyed = []
    for p in found:
        p = root.fs._strip_protocol(p)
        if base and not p.startswith(base + "/"):  # the folder itself, or a sibling "pan2/" of "pan"
            continue
        rel = p[len(base):].lstrip("/")
        if not rel:
            continue
        parts = rel.split("/")
        if any(part.startswith(".") for part in parts):
            continue
        # os.walk order: at each level the files (0) before the subfolders (1), each sorted
        keyed.append((tuple((1, d) for d in parts[:-1]) + ((0, parts[-1]),), p))
    for _, p in sorted(keyed):
        yield RemotePath(root.fs, p)


def relpath(target, start) -> str:
    """``target`` relative to the folder ``start`` (``../images/a.jpg``); the target's URL when
    the two are on different filesystems."""
    target, start = as_path(target), as_path(start)
    if isinstance(target, Path) and isinstance(start, Path):
        return Path(os.path.relpath(target, start)).as_posix()
    if isinstance(target, RemotePath) and isinstance(start, RemotePath) and target.fs == start.fs:
        return posixpath.relpath(target.path or "/", start.path or "/")
    return str(target)


# --------------------------------------------------------------------------- writing
# The process umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a file to write ``path``; ``path`` changes only when the block succeeds.

    A local file is written to a temporary file beside ``path`` and renamed over it. A remote
    object (a URL) is buffered in memory and stored in one put at the end; nothing is stored
    when the block raises. Text modes write UTF-8 to remote stores.
    """
    path = _where(path)
    if isinstance(path, RemotePath):
        yield from _remote_atomic_write(path, mode)
        return
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None
        raise


def _remote_atomic_write(path: RemotePath, mode: str):
    buf = io.BytesIO()
    fh = buf if "b" in mode else io.TextIOWrapper(buf, encoding="utf-8", newline="")
    yield fh
    if fh is not buf:
        fh.flush()
        fh.detach()
    try:
        # One put: the object appears whole or not at all (no parent folders needed).
        path._ask(path.fs.pipe_file, path.path, buf.getvalue(), _writing=True)
    except FileNotFoundError:  # no such bucket
        raise OutputError("cannot write: no such bucket or folder", file=path) from None


def write_json(path, obj, *, indent: bool = False) -> None:
    """Write ``obj`` as JSON (orjson; numpy arrays and scalars allowed), atomically."""
    opts = orjson.OPT_SERIALIZE_NUMPY | (orjson.OPT_INDENT_2 if indent else 0)
    data = orjson.dumps(obj, option=opts)
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def write_png(path, array: np.ndarray, *, palette: np.ndarray | None = None) -> None:
    """Write a label array as PNG atomically (uint8, uint16 or H×W×3)."""
    from .png import encode_png

    array = np.asarray(array)
    try:
        if array.ndim == 2 and array.dtype.kind in "iu" and array.size and array.max() > 255:
            if array.max() > 65535:
                raise OutputError("label values above 65535 do not fit a PNG", file=path)
            data = encode_png(array.astype(np.uint16))
        else:
            data = encode_png(array.astype(np.uint8), palette=palette if array.ndim == 2 else None)
    except ValueError as exc:
        raise OutputError(str(exc), file=path) from None
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def copy_file(src, dst) -> None:
    """Copy a file between any two places (local or URL); ``dst`` is written atomically."""
    src = _where(src)
    if not isinstance(src, RemotePath):
        try:
            with open(src, "rb") as fh_in, atomic_write(dst, "wb") as fh_out:
                shutil.copyfileobj(fh_in, fh_out)
        except FileNotFoundError:
            raise FormatError("file not found", file=src) from None
        return
    data = read_bytes(src)
    with atomic_write(dst, "wb") as fh:
        fh.write(data)


# --------------------------------------------------------------------------- reading
def read_bytes(path, *, start: int | None = None, end: int | None = None) -> bytes:
    """The bytes of a file (``start:end`` only, when given); FormatError naming it on failure."""
    path = _where(path)
    try:
        if isinstance(path, RemotePath):
            return path._ask(path.fs.cat_file, path.path, start=start, end=end)
        if start is None and end is None:
            return Path(path).read_bytes()
        with open(path, "rb") as fh:
            fh.seek(start or 0)
            return fh.read(None if end is None else max(end - (start or 0), 0))
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except IsADirectoryError:
        raise FormatError("is a folder, not a file", file=path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None


def read_json(path):
    """Parse a JSON file (orjson); FormatError naming the file when missing or invalid."""
    path = _where(path)
    data = read_bytes(path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc}", file=path) from None


def _open_image(path, data: bytes | None = None) -> Image.Image:
    """The decoded image (PIL), FormatError naming the file when it is not one.

    ``data``: the file's bytes when already read."""
    path = _where(path)
    if data is not None:
        source = io.BytesIO(data)
    else:
        source = io.BytesIO(read_bytes(path)) if isinstance(path, RemotePath) else path
    try:
        img = Image.open(source)
        img.load()
        return img
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except Image.DecompressionBombError:
        raise FormatError("image too large (decompression bomb refused)", file=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise FormatError(f"not a readable image ({exc})", file=path) from None


def read_png(path, *, mode: str | None = None) -> np.ndarray:
    """Read a label PNG as an array, keeping palette indices and 16-bit values as they are.

    ``mode="RGB"`` converts to H×W×3 (COCO panoptic); otherwise a palette PNG gives its
    indices, a grayscale PNG its values (H×W). Decoded by :mod:`panoptix.io.png` (Pillow
    for the PNG kinds it leaves to it); other ``mode`` values go through Pillow's ``convert``.
    """
    from .png import decode_png

    path = _where(path)
    if mode not in (None, "RGB"):
        return np.array(_open_image(path).convert(mode))
    data = read_bytes(path)
    arr = decode_png(data, file=path)
    if mode == "RGB":
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            return arr if arr.shape[2] == 3 else np.ascontiguousarray(arr[..., :3])  # alpha dropped, as Pillow
        return np.array(_open_image(path, data).convert("RGB"))  # grey or palette: Pillow maps the colours
    if arr.ndim == 3:
        kind = {2: "LA", 3: "RGB", 4: "RGBA"}.get(arr.shape[2], f"{arr.shape[2]} channels")
        raise FormatError(f"expected a single-channel label PNG, got mode {kind}", file=path)
    return arr


def read_image(path) -> np.ndarray:
    """Read a photo as H×W×3 uint8 RGB (grayscale, RGBA and 16-bit converted)."""
    img = _open_image(path)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.array(img).astype(np.float64)
        arr = (arr / max(arr.max(), 1) * 255).astype(np.uint8)
        return np.stack([arr] * 3, axis=-1)
    return np.array(img.convert("RGB"))


@contextlib.contextmanager
def image_header(path):
    """The image opened lazily (size and mode known, pixels not decoded). Remotely only the
    first 64 KiB are fetched, or the whole file when the header runs past them."""
    path = _where(path)
    try:
        if not isinstance(path, RemotePath):
            img = Image.open(path)
        else:
            head = read_bytes(path, start=0, end=_HEADER_BYTES)
            try:
                img = Image.open(io.BytesIO(head))
            except (OSError, SyntaxError, ValueError):
                if len(head) < _HEADER_BYTES:
                    raise
                img = Image.open(io.BytesIO(read_bytes(path)))
    except PanoptixError:  # read_bytes named the file already
        raise
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise FormatError(f"not a readable image ({exc})", file=path) from None
    with img:
        yield img


def image_size(path) -> tuple[int, int]:
    """``(height, width)`` of an image from its header only (the pixels are not decoded)."""
    with image_header(path) as img:
        width, height = img.size
    return int(height), int(width)


def image_sizes(paths) -> list[tuple[int, int]]:
    """``(height, width)`` of many images from their headers, in order.

    Local files are opened one after the other. On a remote store the headers of files on
    one filesystem are fetched concurrently (``fs.cat_ranges``: one ranged GET each, in
    flight together on S3/GCS), which turns minutes of round trips into seconds for a
    folder of thousands of label PNGs.

    >>> import numpy as np
    >>> write_png("memory://doc/sizes/a.png", np.zeros((3, 5), np.uint8))
    >>> write_png("memory://doc/sizes/b.png", np.zeros((2, 2), np.uint8))
    >>> image_sizes(["memory://doc/sizes/a.png", as_path("memory://doc/sizes/b.png")])
    [(3, 5), (2, 2)]
    """
    paths = [_where(p) for p in paths]
    out: list = [None] * len(paths)
    remote: dict = {}
    for k, p in enumerate(paths):
        if isinstance(p, RemotePath):
            remote.setdefault(id(p.fs), []).append(k)
        else:
            out[k] = image_size(p)
    for ks in remote.values():
        fs = paths[ks[0]].fs
        heads = paths[ks[0]]._ask(fs.cat_ranges, [paths[k].path for k in ks], [0] * len(ks),
                                  [_HEADER_BYTES] * len(ks), on_error="return")
        for k, head in zip(ks, heads):
            if isinstance(head, BaseException):  # a missing file or a failed request: say which
                out[k] = image_size(paths[k])
                continue
            try:
                with Image.open(io.BytesIO(head)) as img:
                    width, height = img.size
                out[k] = (int(height), int(width))
            except (OSError, SyntaxError, ValueError):
                out[k] = image_size(paths[k])  # a header past 64 KiB, or not an image: the full path
    return out
