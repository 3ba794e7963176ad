"""Alembic environment: the URL comes from listserver's settings, never from a file."""

from alembic import context

from listserver.db import Base, make_engine
from listserver import models  # noqa: F401 - registers every table on Base.metadata
from listserver.models._types import UTCDateTime
from listserver.settings import Settings

config = context.config


def _render_item(type_, obj, autogen_context):
    # Migrations store plain timezone-aware timestamps; UTCDateTime is a Python-side wrapper.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True, render_as_batch=True,
                      render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        # SQLite cannot ALTER most things; batch mode rebuilds tables there and is a no-op elsewhere.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
