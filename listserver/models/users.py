"""Marketers who log in to the console."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.db import Base
from listserver.models._types import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a console user may do (stored in user_account.role)."""

    ADMIN = "admin"
    MARKETER = "marketer"
    VIEWER = "viewer"  # reads the console with personal data masked


class User(Base):
    __tablename__ = "user_account"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(320), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(200))
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default=Role.ADMIN)  # a Role
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # Signed into every console cookie; a new number (sign-out, new password) makes older
    # cookies worthless, which a signed cookie alone cannot do.
    session_version: so.Mapped[int] = so.mapped_column(default=1)


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    prefix: so.Mapped[str] = so.mapped_column(sa.String(12))  # shown in lists, enough to tell tokens apart
    scopes: so.Mapped[list] = so.mapped_column(default=list)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_used_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
