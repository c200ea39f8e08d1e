"""Alembic environment: runs against the engine deadline_watch hands it (see db.upgrade)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from deadline_watch.domain.models import Base, declared_in_models

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: url from alembic.ini / -x
        engine = engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=declared_in_models,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `deadline-watch db upgrade`")
run_migrations_online()
