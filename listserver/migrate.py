"""Running the Alembic migrations of migrations/ against the configured database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from listserver import resource_dir
from listserver.settings import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["database_url"] = settings.database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def revision(settings: Settings, message: str) -> None:
    """Draft a migration from the models; review it by hand before committing."""
    command.revision(alembic_config(settings), message=message, autogenerate=True)
