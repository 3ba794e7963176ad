"""Unbound extension objects; the app factory binds them."""

from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from listserver.db import DatabaseExtension
from listserver.ratelimits import RouteLimiter

db = DatabaseExtension()
babel = Babel()
csrf = CSRFProtect()
limiter = RouteLimiter()
