"""The marketer console (first cut): sign-in, and the outbox to read what was sent."""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from listserver import services
from listserver.accounts import redaction, users
from listserver.contacts import queries
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.mail import outbox as mail
from listserver.models import ContactStatus, OutboxMessage, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Wrong passwords for one account, whatever address they come from (the per-IP limit alone let
# 15 addresses try 28 passwords a minute). An account that does not exist is counted the same,
# so the limit tells nobody which accounts exist.
ACCOUNT_LIMIT = "5/minute;30/hour"
OUTBOX_PAGE = 200  # the newest emails the outbox page lists
# An email's HTML in the console: its own inline styles, nothing fetched, no script, links open
# outside the console (a sandbox without allow-same-origin).
EMAIL_PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
                        "sandbox allow-popups allow-popups-to-escape-sandbox")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def console(*roles: Role):
    """Every console route passes here: a signed-in user, with a current session, in one of `roles`
    (all roles when none are named). Checks the console adds later (an audit) belong here too."""
    allowed = roles or tuple(Role)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = _signed_in_user()
            if user is None:
                if "user_id" in session:  # ended elsewhere (sign-out, new password): forget it here too
                    session.clear()
                return redirect(url_for("admin.login", next=request.path if request.method == "GET" else None))
            if user.role not in allowed:
                abort(403)
            g.user = user
            return view(*args, **kwargs)

        wrapped.console_roles = allowed  # for tests/test_admin.py, which walks every route as every role
        return wrapped

    return decorate


def _signed_in_user() -> User | None:
    user_id = session.get("user_id")
    user = get_session().get(User, user_id) if isinstance(user_id, int) else None
    # A cookie from before a sign-out or a password change carries an older version.
    if user is None or session.get("session_version") != user.session_version:
        return None
    return user


def sees_personal_data() -> bool:
    """Whether the signed-in user may see full addresses and live links."""
    user = g.get("user")
    return user is not None and user.role in users.SEES_PERSONAL_DATA


@bp.app_template_filter("personal")
def personal(text: object) -> str:
    """Text with personal data in it, as the signed-in user may see it: whole, or masked for a viewer."""
    text = "" if text is None else str(text)
    return text if sees_personal_data() else redaction.redact(text)


def _account_key() -> str:
    # Hashed: the limiter's store (Redis) need not hold the addresses people type.
    # Named as users.find_user finds it, so no spelling of one account gets a count of its own.
    typed = users.account_name(request.form.get("email", ""))
    return "account:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def _refused(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@limiter.limit(ACCOUNT_LIMIT, methods=["POST"], key_func=_account_key, deduct_when=_refused)
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.authenticate(get_session(), form.email.data, form.password.data)
        if user is not None:
            get_session().commit()
            session.clear()
            session["user_id"] = user.id
            session["session_version"] = user.session_version
            return redirect(_console_page(request.args.get("next")))
        error = "Wrong email or password."
    return render_template("admin/login.html", form=form, error=error), 200 if error is None else 401


def _console_page(target: str | None) -> str:
    """Where to go after signing in: `target` if it is a console page of this site, else the console's home."""
    home = url_for("admin.home")
    # Control characters would break the Location header; a backslash is a slash to browsers.
    if not target or not target.isprintable() or "\\" in target:
        return home
    parts = urlsplit(target)
    path = unquote(parts.path)
    console_root = request.script_root + "/admin"
    if (parts.scheme or parts.netloc or not path.isprintable()
            or not (path == console_root or path.startswith(console_root + "/"))
            or "//" in path or any(segment in (".", "..") for segment in path.split("/"))):
        return home
    return urlunsplit(("", "", parts.path, parts.query, ""))


@bp.post("/logout")
@console()
def logout():
    users.end_sessions(get_session(), g.user)  # a copy of the cookie stops working too
    get_session().commit()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@console()
def home():
    counts = queries.count_by_status(get_session())
    return render_template("admin/home.html", counts={s.value: counts.get(s, 0) for s in ContactStatus},
                           bots=services.bot_guard().tallies())


@bp.get("/outbox")
@console()
def outbox():
    messages = mail.latest(get_session(), OUTBOX_PAGE)
    return render_template("admin/outbox.html", messages=messages, overdue=mail.overdue(get_session()))


@bp.get("/outbox/<int:message_id>")
@console()
def outbox_message(message_id: int):
    message = _message(message_id)
    mime = _read_mailbox_copy(message)
    return render_template("admin/outbox_message.html", message=message, mime=mime, parts=_parts(mime))


@bp.get("/outbox/<int:message_id>/html")
@console()
def outbox_message_html(message_id: int):
    """The email's HTML alone, for the frame on the email's page: under a policy of its own, since
    emails carry inline styles that the console's policy refuses."""
    html = _parts(_read_mailbox_copy(_message(message_id))).get("text/html")
    if html is None:
        abort(404)
    response = make_response('<base target="_blank">' + personal(html))
    response.headers["Content-Security-Policy"] = EMAIL_PREVIEW_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(message_id: int) -> OutboxMessage:
    message = get_session().get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return message


def _parts(mime) -> dict[str, str]:
    parts = {}
    if mime is not None:
        for part in mime.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                parts[part.get_content_type()] = part.get_content()
    return parts


def _read_mailbox_copy(message: OutboxMessage):
    """The .eml the embedded mailbox kept of this message, if it was sent there."""
    directory: Path = current_app.config["SETTINGS"].mail_dir
    matches = list(directory.glob(f"{message.idempotency_key}.{message.id}@*.eml")) if directory.is_dir() else []
    if not matches:
        return None
    return email.message_from_bytes(matches[0].read_bytes(), policy=email.policy.default)
