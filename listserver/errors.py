"""What the domain refuses, by kind. The web layer maps each kind to an HTTP status in one
place (listserver.web.errors); the CLI shows the message.

Each error has a `code` that names it for scripts ("not_confirmed", "unknown_list"), and an
Invalid one may name the `field` at fault. NotFound is a LookupError and Invalid a ValueError,
so callers that catch those keep working.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: object = "", *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.field = field


class NotFound(DomainError, LookupError):
    """What was asked for does not exist (or a link names nothing we know)."""

    code = "not_found"


class Invalid(DomainError, ValueError):
    """What was sent cannot be used; `field` names the part at fault when there is one."""

    code = "invalid"


class Conflict(DomainError):
    """The request is fine, but the thing's current state does not allow it."""

    code = "conflict"


class Gone(DomainError):
    """It was there and did its work, or was revoked: it will not come back."""

    code = "gone"


class Expired(Gone):
    """Genuine, but too old."""

    code = "expired"


class Unauthenticated(DomainError):
    """Who sent it cannot be told: a missing, wrong or stale signature or password.

    `scheme` names the HTTP authentication a client should answer with, where there is one
    ("Basic" for a password); a signature scheme has none to offer.
    """

    code = "unauthenticated"

    def __init__(self, message: object = "", *, scheme: str | None = None):
        super().__init__(message)
        self.scheme = scheme


class TooMany(DomainError):
    """Over a limit for now; trying later works."""

    code = "too_many"
