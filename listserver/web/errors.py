"""Error pages and JSON errors: never a bare 500, and a clear 503 when the database is away."""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Flask, g
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from listserver.web.http import friendly

log = logging.getLogger(__name__)


def _database_unavailable(exc: Exception):
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
            session.close()
        except sqlalchemy.exc.SQLAlchemyError:
            session.invalidate()
    log.error("database unavailable: %s", type(exc).__name__)
    response = friendly(503, _("We are briefly unavailable"),
                        _("Nothing was saved. Please try again in a minute."), error="unavailable")
    response.headers["Retry-After"] = "30"
    return response


def _http_error(exc: HTTPException):
    messages = {
        400: _("The request could not be understood."),
        403: _("Your account may not do this. Ask an administrator if you need to."),
        404: _("There is nothing at this address. The link may be incomplete."),
        405: _("This address does not accept that kind of request."),
        413: _("What was sent is too large."),
        429: _("Too many requests from here. Please wait a little and try again."),
    }
    titles = {
        400: _("Not understood"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not possible here"),
        413: _("Too large"),
        429: _("Too many requests"),
    }
    message = messages.get(exc.code, exc.description or "")
    return friendly(exc.code or 500, titles.get(exc.code, exc.name), message,
                    error=exc.name.lower().replace(" ", "_"))


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error")
    return friendly(500, _("Something went wrong"), _("Please try again later."), error="internal_error")


def init_app(app: Flask) -> None:
    app.register_error_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.InterfaceError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.TimeoutError, _database_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
