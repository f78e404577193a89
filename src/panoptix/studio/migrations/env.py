"""Alembic environment of the studio: run programmatically by :func:`panoptix.studio.db.upgrade`.

The caller passes an open connection in ``config.attributes["connection"]``; running
``alembic`` from the command line with ``-x url=...`` works too.
"""

from alembic import context
from sqlalchemy import create_engine

from panoptix.studio.models import Base

target_metadata = Base.metadata
# None when this file is merely imported (e.g. by doctest collection) rather than run by Alembic.
config = getattr(context, "config", None)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = None if config is None else config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif config is not None:  # command line: alembic -x url=sqlite:///panoptix-studio.db upgrade head
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
