"""Who may use listserver: console users (argon2 passwords) and API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
import sqlalchemy.orm as so
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from listserver.errors import Invalid
from listserver.models import ApiToken, Role, User
from listserver.models._types import utcnow

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("listserver-timing-equaliser")


# Who may see personal data (full addresses, live links in emails); a viewer sees them masked.
SEES_PERSONAL_DATA = frozenset({Role.ADMIN, Role.MARKETER})


def account_name(email: str) -> str:
    """A console user's address as stored and looked up; the per-account sign-in limit counts by it too."""
    return email.strip().lower()


def _checked_password(password: str) -> str:
    if len(password) < 12:
        raise Invalid("password must have at least 12 characters", field="password")
    return password


def create_user(session: so.Session, email: str, password: str, role: Role | str = Role.ADMIN) -> User:
    if role not in tuple(Role):
        raise Invalid(f"role must be one of {', '.join(Role)}", field="role")
    user = User(email=account_name(email), password_hash=_hasher.hash(_checked_password(password)), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: so.Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    user.last_login_at = utcnow()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def find_user(session: so.Session, email: str) -> User | None:
    """The console user with this address, if any."""
    return session.scalar(sa.select(User).where(User.email == account_name(email)))


def set_password(session: so.Session, user: User, password: str) -> None:
    """A new password; every console session of the user ends (a stolen cookie with it)."""
    user.password_hash = _hasher.hash(_checked_password(password))
    end_sessions(session, user)


def end_sessions(session: so.Session, user: User) -> None:
    """Make every console cookie issued to the user so far worthless."""
    user.session_version = User.session_version + 1  # in SQL: two sign-outs at once both count
    session.flush()
    session.refresh(user, ["session_version"])


API_SCOPES = ("contacts:read",)


def _token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_token(session: so.Session, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new token; the plaintext is returned once and never stored."""
    unknown = set(scopes) - set(API_SCOPES)
    if unknown or not scopes:
        raise Invalid(f"scopes must be among {', '.join(API_SCOPES)}", field="scopes")
    plaintext = "ls_" + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_token_hash(plaintext), prefix=plaintext[:10], scopes=list(scopes))
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate_api_token(session: so.Session, plaintext: str) -> ApiToken | None:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(plaintext),
                                                     ApiToken.revoked_at.is_(None)))
    if token is not None:
        token.last_used_at = utcnow()
    return token
