"""Unbound extension objects; the app factory binds them."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from listserver.db import DatabaseExtension

db = DatabaseExtension()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
