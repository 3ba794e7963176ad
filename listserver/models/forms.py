"""Mailing lists, the field library, forms and their immutable published versions."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.db import Base
from listserver.models._types import UTCDateTime, utcnow

form_lists = sa.Table(
    "form_list",
    Base.metadata,
    sa.Column("form_id", sa.ForeignKey("form.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("list_id", sa.ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True),
)


class MailingList(Base):
    __tablename__ = "mailing_list"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    public: so.Mapped[bool] = so.mapped_column(default=True)
    double_opt_in: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Field(Base):
    """A question in the field library; forms refer to fields by key."""

    __tablename__ = "field"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    type: so.Mapped[str] = so.mapped_column(sa.String(20))
    # {"en": "First name", "de": "Vorname"}; help text likewise.
    labels: so.Mapped[dict] = so.mapped_column(default=dict)
    help: so.Mapped[dict] = so.mapped_column(default=dict)
    # Type-specific options: {"max_length": 30}, {"choices": [...]}, {"default_country": "PL"}.
    rules: so.Mapped[dict] = so.mapped_column(default=dict)
    personal: so.Mapped[bool] = so.mapped_column(default=True)


class Form(Base):
    __tablename__ = "form"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    current_version_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("form_version.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    lists: so.Mapped[list[MailingList]] = so.relationship(secondary=form_lists, lazy="selectin")
    current_version: so.Mapped[FormVersion | None] = so.relationship(foreign_keys=[current_version_id])


class FormVersion(Base):
    """A published form, frozen: consent proof points here, so it is never edited."""

    __tablename__ = "form_version"
    __table_args__ = (sa.UniqueConstraint("form_id", "number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    form_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("form.id", ondelete="CASCADE"))
    number: so.Mapped[int] = so.mapped_column()
    # Everything the visitor saw: fields with labels and rules, consent text, lead magnet, lists.
    definition: so.Mapped[dict] = so.mapped_column()
    consent_text_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
