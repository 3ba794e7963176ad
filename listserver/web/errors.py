"""Error pages and JSON errors: never a bare 500, and a clear 503 when the database is away.

The one place where the domain's errors (listserver.errors) become HTTP: each kind has one
status, and each error's `code` (and `field`, for Invalid) goes to scripts as JSON.
"""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Flask, Response, g, jsonify, make_response, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, default_exceptions

from listserver.errors import Conflict, DomainError, Gone, Invalid, NotFound, TooMany, Unauthenticated
from listserver.web.http import friendly, wants_json

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


# Each kind of refusal answers with one status, wherever in the domain it is raised.
STATUS: dict[type[DomainError], int] = {NotFound: 404, Invalid: 422, Conflict: 409, Gone: 410, TooMany: 429,
                                       Unauthenticated: 401}


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error: its kind's (an Expired is a Gone: 410)."""
    return next((STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS), 400)


def _pages() -> dict[str, tuple[str, str]]:
    """What a person reads for a refusal that no view answers itself: {code: (title, message)}."""
    return {
        "not_confirmed": (_("Please confirm your address first"),
                          _("Open the confirmation email we sent you; then you can choose topics here.")),
    }


def api_error(status: int, error: str, message: str, *, field: str | None = None, **headers) -> Response:
    """The API's JSON error: {"error": code, "message": ..., "field": ... when one is at fault}."""
    body = {"error": error, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def _domain_error(exc: DomainError):
    response = _domain_answer(exc)
    if isinstance(exc, Unauthenticated) and exc.scheme:
        response.headers["WWW-Authenticate"] = f'{exc.scheme} realm="listserver"'
    return response


def _domain_answer(exc: DomainError) -> Response:
    status = status_of(exc)
    if request.blueprint in ("api", "hooks"):  # read by programs only
        return api_error(status, exc.code, str(exc), field=exc.field)
    title, message = _pages().get(exc.code) or _http_texts(default_exceptions[status]())
    if wants_json():
        body = {"status": "error", "error": exc.code, "message": message}
        if exc.field is not None:
            body["field"] = exc.field
        return make_response(jsonify(body), status)
    return friendly(status, title, message, error=exc.code)


def _http_texts(exc: HTTPException) -> tuple[str, str]:
    messages = {
        400: _("The request could not be understood."),
        401: _("We could not tell who sent this."),
        403: _("Your account may not do this. Ask an administrator if you need to."),
        404: _("There is nothing at this address. The link may be incomplete."),
        405: _("This address does not accept that kind of request."),
        413: _("What was sent is too large."),
        429: _("Too many requests from here. Please wait a little and try again."),
    }
    titles = {
        400: _("Not understood"),
        401: _("Not recognised"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not possible here"),
        413: _("Too large"),
        429: _("Too many requests"),
    }
    return titles.get(exc.code, exc.name), messages.get(exc.code, exc.description or "")


def _http_error(exc: HTTPException):
    title, message = _http_texts(exc)
    return friendly(exc.code or 500, title, message, error=exc.name.lower().replace(" ", "_"))


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
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected)
