"""Shared fixtures: real SQLite files and the real PostgreSQL, both built by the migrations.

PostgreSQL tests run in a schema of their own so parallel or repeated runs never see
each other. Without a server they skip on a laptop; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core import db
from deadline_watch.core.config import Settings

# CI runs the property tests with a fixed seed, so a red build reproduces with the same
# examples; local runs draw new examples each time and keep finding new cases.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") in ("true", "1"):
    hypothesis_settings.load_profile("ci")

PG_URL = os.environ.get(
    "DEADLINE_WATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_pg_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers, else the reason (cached for the session)."""
    if "reason" not in _pg_state:
        try:
            engine = db.make_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(sa.text("select 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # any failure to connect means "not here"
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"
    return _pg_state["reason"]


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def postgres_schema_engine(schema: str, **kwargs) -> Engine:
    connect_args = {"options": f"-csearch_path={schema}"}
    return db.make_engine(PG_URL, connect_args=connect_args, **kwargs)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI test configures logging (level,
    stream) for its process, and that must not leak into the tests after it."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite quick)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class MigratedSchemas:
    """PostgreSQL schemas built by the Alembic migrations, reused across the tests of a session.

    Migrating costs about a second per schema; emptying it costs a few milliseconds: one
    round trip of DELETEs (children first; cheaper than TRUNCATE, which makes new files for
    every table and index) and sequence restarts. A test gets a schema no other test is
    using, with empty tables and ids starting at 1, exactly as a freshly migrated one; a
    schema whose tables changed (or that cannot be emptied at once) is dropped instead of
    reused. tests/test_migrations.py still checks that the migrations build the models.
    """

    def __init__(self) -> None:
        self.admin = db.make_engine(PG_URL)
        self.free: list[str] = []
        self.made: dict[str, set[str]] = {}  # schema -> its tables right after migrating
        self.emptying: dict[str, str] = {}  # schema -> the SQL that empties it

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = postgres_schema_engine(schema)
        db.upgrade(engine)
        engine.dispose()
        self.made[schema] = self._tables(schema)
        self.emptying[schema] = self._emptying_sql(schema)
        return schema

    def give_back(self, schema: str) -> None:
        try:
            tables = self._tables(schema)
            if tables != self.made[schema]:
                raise RuntimeError("tables changed")
            with self.admin.begin() as connection:
                connection.exec_driver_sql(self.emptying[schema])
        except Exception:  # left locked or altered by the test: never reuse it
            self.drop(schema)
            return
        self.free.append(schema)

    def drop(self, schema: str) -> None:
        self.made.pop(schema, None)
        self.emptying.pop(schema, None)
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def close(self) -> None:
        for schema in list(self.made):
            self.drop(schema)
        self.admin.dispose()

    def _emptying_sql(self, schema: str) -> str:
        from deadline_watch.domain.models import Base

        tables = self.made[schema] - {"alembic_version"}
        ordered = [table.name for table in reversed(Base.metadata.sorted_tables) if table.name in tables]
        statements = ["SET LOCAL lock_timeout = '2s'"]
        if set(ordered) != tables:  # a table the models do not know: its foreign keys are unknown too
            names = ", ".join(f'"{schema}"."{table}"' for table in sorted(tables))
            return f"{statements[0]}; TRUNCATE {names} RESTART IDENTITY CASCADE"
        statements += [f'DELETE FROM "{schema}"."{table}"' for table in ordered]
        with self.admin.connect() as connection:
            sequences = connection.execute(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :schema"), {"schema": schema}
            ).scalars()
            statements += [f'ALTER SEQUENCE "{schema}"."{name}" RESTART' for name in sequences]
        return "; ".join(statements)

    def _tables(self, schema: str) -> set[str]:
        with self.admin.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
            )
            return {row.tablename for row in rows}


@pytest.fixture(scope="session")
def migrated_schemas() -> Iterator[MigratedSchemas]:
    require_postgres()
    schemas = MigratedSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated database on the parametrized backend (the schema rides in the URL)."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "deadline-watch.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    require_postgres()
    schemas: MigratedSchemas = request.getfixturevalue("migrated_schemas")
    schema = schemas.take()
    request.addfinalizer(lambda: schemas.give_back(schema))
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def settings() -> Settings:
    return Settings()
