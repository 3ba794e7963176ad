"""Unbound extension objects; the app factory binds them."""

import flask_limiter
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from listserver.db import DatabaseExtension


class RouteLimiter(flask_limiter.Limiter):
    """Flask-Limiter for the routes that declare a limit, and no other request.

    Every limit is a route decorator, and the decorator checks it. The app-wide check that
    Flask-Limiter runs before every request is for default and application limits, which we do
    not have; on a form submission (counted by bots.Guard) it cost about 19 us for nothing.
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if not in_middleware:
            super()._check_request_limit(callable_name, in_middleware)


db = DatabaseExtension()
babel = Babel()
csrf = CSRFProtect()
limiter = RouteLimiter(key_func=get_remote_address)
