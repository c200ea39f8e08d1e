"""Engines, sessions and the schema check. Nothing else in the package creates an engine."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.errors import DatabaseError, SchemaError

# What a failing database looks like from here (read-only, disk full, file gone, server
# unreachable, schema behind): the CLI exits 3 with one line, the daemon logs one line and
# retries. Programming errors (IntegrityError, ProgrammingError) are not in the list.
DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InternalError,
    sa.exc.InterfaceError,
    SchemaError,
    DatabaseError,
    OSError,
)


def _alembic_dir() -> Path:
    """The migrations: `alembic/` of the checkout, or the copy a non-editable install carries."""
    checkout = Path(__file__).resolve().parents[3] / "alembic"
    if (checkout / "env.py").is_file():
        return checkout
    return Path(sys.prefix) / "share" / "deadline-watch" / "alembic"


ALEMBIC_DIR = _alembic_dir()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this product relies on for each backend."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise SchemaError(f"数据库地址无效: {url}", f"invalid database URL: {url}") from None
    if sa_url.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = sa.create_engine(sa_url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that a
        # write transaction starts with BEGIN IMMEDIATE and concurrent writers queue
        # on busy_timeout instead of failing with "database is locked" mid-transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # SQLAlchemy batches an executemany INSERT .. RETURNING into multi-row VALUES; psycopg
    # re-parses each batch's SQL for its parameters, uncached above 50 of them, and at the
    # default 1,000 rows that parsing was 10 of the 18 s of a 100,000-row import (issue 17).
    # 100 rows per statement: 12.9 s.
    kwargs.setdefault("insertmanyvalues_page_size", 100)
    return sa.create_engine(sa_url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _is_memory(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    try:
        rows = cursor.execute("PRAGMA database_list").fetchall()
    finally:
        cursor.close()
    return any(row[1] == "main" and not row[2] for row in rows)


def after_commit(session: Session, callback: Any) -> None:
    """Run `callback` once the session's transaction has committed (never on a rollback):
    log lines that claim a change ("escalation.opened", "sms.sent") must not precede it."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def log_after_commit(session: Session, log_level: str, event_name: str, /, **values: Any) -> None:
    """A log line emitted only when (and once) the change it announces is committed."""
    from deadline_watch.core.logs import get_logger

    after_commit(session, lambda: getattr(get_logger(), log_level)(event_name, **values))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


def insert_ignore(session: Session, table: sa.Table, rows: list[dict], *conflict_columns: str) -> int:
    """INSERT .. ON CONFLICT (conflict_columns) DO NOTHING; returns how many rows were new."""
    return len(insert_new(session, table, rows, *conflict_columns))


def insert_new(session: Session, table: sa.Table, rows: list[dict], *conflict_columns: str,
               returning: tuple[sa.ColumnElement, ...] = ()) -> list[sa.Row]:
    """INSERT .. ON CONFLICT (conflict_columns) DO NOTHING in one executemany; returns the
    new rows' `returning` columns (the primary key by default), in no particular order."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported backends reach here
        raise SchemaError(f"不支持的数据库: {dialect}", f"unsupported database: {dialect}")
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    result = session.execute(statement.returning(*(returning or table.primary_key.columns)), rows)
    return result.fetchall()


def in_values(session: Session, column: sa.ColumnElement, values: list) -> sa.ColumnElement[bool]:
    """`column IN values` with the values bound as one parameter, however many: a JSON
    array read by `json_each` on SQLite, an array compared with `= ANY` on PostgreSQL; both
    still search the column's index. SQLAlchemy renders an ordinary IN's values one by one
    at every execution, which cost more than the queries for the scan's 10,000 keys (issue 17).
    The values are ints or strings."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.Text()))
    return column.in_(sa.select(sa.column("value")).select_from(listed))


def insert_ignore_many(session: Session, table: sa.Table, rows: list[dict], *conflict_columns: str) -> int:
    """`insert_ignore` for many rows as one driver-level executemany, without RETURNING;
    returns how many rows were new (the driver's summed row count).

    For the scan's outbox rows (issue 17): SQLAlchemy's per-row statement building and bind
    processing cost as much as rendering the SMS. Each column's bind processor still runs
    (the same conversions as an ORM insert), once per distinct value object.
    Every row carries the same keys; column defaults are not applied, so a column with a
    default must be given (ValueError otherwise).
    """
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    missing = [column.key for column in table.columns if column.default is not None and column.key not in keys]
    if missing:
        raise ValueError(f"insert_ignore_many needs every defaulted column: {missing}")
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(table.c[key].name) for key in keys)})"
        f" VALUES ({', '.join([marker] * len(keys))})"
        f" ON CONFLICT ({', '.join(quote(name) for name in conflict_columns)}) DO NOTHING"
    )
    # column by column: one list per column, not a generator per row
    columns = [_bound([row[key] for row in rows], table.c[key].type, dialect) for key in keys]
    parameters = list(zip(*columns, strict=True))
    return max(connection.exec_driver_sql(sql, parameters).rowcount, 0)


def insert_many(session: Session, table: sa.Table, rows: list[dict], *, json_text: tuple[str, ...] = ()) -> None:
    """Many rows inserted straight through the driver, in the session's transaction: one
    executemany INSERT on SQLite, one COPY on PostgreSQL (triggers and constraints apply
    as to an INSERT).

    Each value goes through its column type's bind processor, exactly what SQLAlchemy would
    send; what is skipped is SQLAlchemy's own per-row executemany work, which cost more than
    the driver's insert for the 100,000-row registry import (issue 17). All rows have the
    keys of the first; columns left out get their scalar Python default, as with
    `insert()`. The `json_text` columns (JSON columns) get text already serialized, stored
    as it is. Nothing is returned (see `max_id` for finding the new rows)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    defaults = {column.name: column.default.arg for column in table.columns
                if column.name not in rows[0] and column.default is not None and column.default.is_scalar}
    names += list(defaults)
    if dialect.name == "sqlite":
        compiled = sa.insert(table).values({
            name: sa.bindparam(name, type_=sa.Text()) if name in json_text else sa.bindparam(name) for name in names
        }).compile(dialect=dialect)
        names = list(compiled.positiontup or ())
    columns = []  # column by column: one map() per column, not a generator per row
    for name in names:
        values = [defaults[name]] * len(rows) if name in defaults else list(map(itemgetter(name), rows))
        columns.append(values if name in json_text else _bound(values, table.c[name].type, dialect))
    params = list(zip(*columns, strict=True))
    if dialect.name == "sqlite":
        connection.exec_driver_sql(compiled.string, params)
        return
    quote = dialect.identifier_preparer.quote
    copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, names))}) FROM STDIN"
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for values in params:
                copy.write_row(values)
    except dialect.loaded_dbapi.Error as exc:  # raised as SQLAlchemy raises it (IntegrityError, ...)
        raise sa.exc.DBAPIError.instance(copy_sql, None, exc, dialect.loaded_dbapi.Error,
                                         dialect=dialect) from exc


def _bound(values: list, type_: sa.types.TypeEngine, dialect: sa.Dialect) -> list:
    """A column's values as SQLAlchemy would send them (the type's bind processor), each
    distinct object converted once: a bulk insert's rows share a few objects (an import's
    `now`, the dates of repeated date texts, a scan's due dates and instants; issue 17).
    Ids are unique while `values` holds the objects."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    distinct = {id(value): value for value in values}
    converted = {object_id: process(value) for object_id, value in distinct.items()}
    return [converted[id(value)] for value in values]


def max_id(session: Session, table: sa.Table) -> int:
    """The highest primary key in `table` (0 when empty): rows inserted after it have larger ids."""
    return session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()


def refresh_statistics(session: Session) -> bool:
    """Give SQLite's planner statistics (ANALYZE): without them it plans a million-row
    database as if every table were small, and some board queries then read every
    milestone. PostgreSQL's autovacuum keeps its own; nothing is done there. True when run."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    session.execute(sa.text("ANALYZE"))
    return True


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise SchemaError(
            f"无法连接数据库: {_short(exc)}", f"cannot reach the database: {_short(exc)}"
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise SchemaError(f"数据库迁移失败: {_short(exc)}", f"migration failed: {_short(exc)}") from None


def require_head(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or not at the migrations' head."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        shown = current or "空 / empty"
        raise SchemaError(
            f"数据库结构版本为 {shown},需要 {head}: 请先运行 `deadline-watch db upgrade`",
            f"database schema is at {current or 'nothing'}, expected {head}: "
            "run `deadline-watch db upgrade` first",
        )


def describe_fault(exc: BaseException) -> str:
    """One line for a database fault: the driver's first line, never a traceback."""
    if isinstance(exc, (SchemaError, DatabaseError)):
        return exc.message
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {_short(exc)}"[:300]


def database_error(exc: BaseException) -> DatabaseError:
    """A database fault as a user error (exit code 3) with one bilingual line."""
    line = describe_fault(exc)
    return DatabaseError(f"数据库错误(只读、磁盘已满、文件丢失或无法连接): {line}",
                         f"database error (read-only, disk full, file gone or unreachable): {line}")


def database_clock(session: Session) -> Any:
    """The database server's clock (PostgreSQL), None on SQLite: there one process decides."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.scalar(sa.text("select clock_timestamp()"))


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
