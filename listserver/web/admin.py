"""The marketer console (first cut): sign-in, and the outbox to read what was sent."""

from __future__ import annotations

import email
import email.policy
import functools
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from listserver import outbox as mail, users
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.models import Contact, ContactStatus, OutboxMessage, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        user_id = session.get("user_id")
        user = get_session().get(User, user_id) if user_id else None
        if user is None:
            return redirect(url_for("admin.login", next=request.path))
        g.user = user
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.authenticate(get_session(), form.email.data, form.password.data)
        if user is not None:
            get_session().commit()
            session.clear()
            session["user_id"] = user.id
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/admin") else url_for("admin.home"))
        error = "Wrong email or password."
    return render_template("admin/login.html", form=form, error=error), 200 if error is None else 401


@bp.post("/logout")
def logout():
    form = FlaskForm()
    if form.validate_on_submit():
        session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def home():
    db = get_session()
    counts = dict(db.execute(sa.select(Contact.status, sa.func.count()).group_by(Contact.status)).all())
    return render_template("admin/home.html", counts={s.value: counts.get(s, 0) for s in ContactStatus})


@bp.get("/outbox")
@login_required
def outbox():
    messages = get_session().scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)).all()
    return render_template("admin/outbox.html", messages=messages, overdue=mail.overdue(get_session()))


@bp.get("/outbox/<int:message_id>")
@login_required
def outbox_message(message_id: int):
    message = get_session().get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    mime = _read_mailbox_copy(message)
    parts = {}
    if mime is not None:
        for part in mime.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                parts[part.get_content_type()] = part.get_content()
    return render_template("admin/outbox_message.html", message=message, mime=mime, parts=parts)


def _read_mailbox_copy(message: OutboxMessage):
    """The .eml the embedded mailbox kept of this message, if it was sent there."""
    directory: Path = current_app.config["SETTINGS"].mail_dir
    matches = list(directory.glob(f"{message.idempotency_key}.{message.id}@*.eml")) if directory.is_dir() else []
    if not matches:
        return None
    return email.message_from_bytes(matches[0].read_bytes(), policy=email.policy.default)
