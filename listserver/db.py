"""Database engine, sessions and the declarative base."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict: sa.JSON, list: sa.JSON}


def make_engine(url: str) -> sa.Engine:
    """An engine tuned for the backend: SQLite serialises writers, PostgreSQL pools."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)
        _make_sqlite_transactions_immediate(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No pre-ping: it costs a round trip per request. A connection lost to a database restart
    # fails one request with a 503, and SQLAlchemy then discards every older pooled connection.
    return sa.create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
        hide_parameters=True,  # errors reach the logs; their parameters would carry addresses
    )


def _make_sqlite_transactions_immediate(engine: sa.Engine) -> None:
    # pysqlite begins transactions lazily, so two writers can both read and then deadlock on the
    # upgrade to a write lock; taking the write lock at BEGIN makes them queue on busy_timeout.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def execute_alone(engine: sa.Engine, sql: str, params: dict) -> tuple | None:
    """Run one PostgreSQL statement in autocommit on a pooled connection, straight on psycopg.

    For the hottest statement only (lifecycle.sign_up_new_address), where the ORM session and
    SQLAlchemy's execution context cost more CPU than the statement. `sql` is compiled for
    psycopg (%(name)s parameters); the first row comes back as a tuple. Driver errors are raised
    as SQLAlchemy's (the app answers those with a 503), and a broken connection leaves the pool.
    """
    pooled = None
    try:
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            return driver.execute(sql, params).fetchone()
        finally:
            if not driver.broken:
                driver.autocommit = False
    except psycopg.Error as exc:
        if pooled is not None and pooled.driver_connection.broken:
            pooled.invalidate()
        raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error, hide_parameters=True) from exc
    finally:
        if pooled is not None:
            pooled.close()


class Database:
    """The engine and session factory of one app; request sessions live on `g`."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = so.sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[so.Session]:
        """A session for work outside a request (actors, CLI, scheduler)."""
        with self.sessionmaker() as session:
            yield session


class DatabaseExtension:
    """The unbound extension: each app gets a Database of its own in `app.extensions`."""

    def init_app(self, app: Flask) -> Database:
        database = Database(app.config["SETTINGS"].database_url)
        app.extensions["listserver.db"] = database
        # Per request, not per app context: an app context may outlive many requests (tests, shells).
        app.teardown_request(_close_request_session)
        app.teardown_appcontext(_close_request_session)
        return database

    @contextmanager
    def session(self) -> Iterator[so.Session]:
        """A session of the current app for work outside a request (actors, CLI, scheduler).

        The actor, command or job commits; what it leaves uncommitted is rolled back on leaving.
        """
        with get_db().session() as session:
            yield session


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["listserver.db"]


def get_session() -> so.Session:
    """The session of the current request, opened on first use.

    The view commits the request's unit of work; domain functions only flush. What is not
    committed when the request ends is rolled back as the session closes.
    """
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


def _close_request_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
