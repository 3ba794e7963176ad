"""Migrations run both ways on the test backend and match the models exactly."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from listserver import migrate
from listserver.db import Base, make_engine


def test_downgrade_and_upgrade_again(settings):
    migrate.downgrade(settings, "base")
    engine = make_engine(settings.database_url)
    assert "contact" not in sa.inspect(engine).get_table_names()
    migrate.upgrade(settings)
    assert {"contact", "subscription", "consent_record", "event", "suppression", "outbox_message", "form",
            "form_version", "field", "mailing_list", "user_account"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_agree(settings):
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []
