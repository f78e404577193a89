"""One router per resource: auth, users, projects, classes, images, labels, assist, export, stats."""

from . import assist, auth, classes, export, images, labels, projects, stats, users

ROUTERS = [auth.router, users.router, projects.router, classes.router, images.router, labels.router,
           assist.router, export.router, stats.router]

__all__ = ["ROUTERS"]
