"""A fresh, migrated PostgreSQL schema for a benchmark's data set (shared by the benchmarks)."""

from __future__ import annotations

from deadline_watch.core import db


def migrated_schema(url: str, schema: str) -> str:
    """Drop and recreate `schema` at `url`, run the migrations in it; returns the engine URL
    whose search_path is that schema."""
    admin = db.make_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    admin.dispose()
    scoped = f"{url}?options=-csearch_path%3D{schema}"
    engine = db.make_engine(scoped)
    db.upgrade(engine)
    engine.dispose()
    return scoped
