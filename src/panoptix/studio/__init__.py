"""panoptix studio: a browser labeling tool for semantic, instance and panoptic segmentation.

One layered model per image (a segment id map with one class per segment, or
overlapping object masks for instance projects), stored compressed and versioned in
SQLite or PostgreSQL, edited in the browser, exported with ``panoptix.io``.

Start it with ``panoptix studio PROJECT_DIR`` or from Python::

    from panoptix.studio import StudioSettings, serve
    serve(StudioSettings("my-project"), port=8000)
"""

from .config import StudioSettings
from .labelstore import LabelDoc

__all__ = ["StudioSettings", "LabelDoc", "create_app", "serve", "Database"]


def __getattr__(name):
    # The web stack is imported only when asked for, so `import panoptix.studio` stays light.
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "serve":
        from .server import serve

        return serve
    if name == "Database":
        from .db import Database

        return Database
    raise AttributeError(name)
