"""The migrations are the schema: they must agree with the models on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from deadline_watch.core import db
from deadline_watch.domain.models import Base, declared_in_models


def test_migrated_schema_matches_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": declared_in_models})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrated_database_is_at_head(engine):
    assert db.current_revision(engine) == db.head_revision(engine)
    db.require_head(engine)


def test_every_model_table_exists(engine):
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_then_upgrade_round_trips(engine):
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    assert db.current_revision(engine) is None
    assert "milestones" not in sa.inspect(engine).get_table_names()
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision(engine)
