"""What visitors and subscribers reach: hosted forms, submissions, confirmation links."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _

from listserver import forms, signup
from listserver.bots import HONEYPOT_FIELD, STAMP_FIELD, Guard, Verdict
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.fields import country_names
from listserver.tokens import Purpose, Signer, TokenExpired, TokenInvalid
from listserver.web.http import client_ip, friendly, wants_json

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)

EMAIL_CHECKED_FIELD = "_email_checked"  # the address the visitor kept after seeing a suggestion
USE_SUGGESTION_FIELD = "_use_suggestion"  # the suggested address, when the visitor took it


def _guard() -> Guard:
    guard = current_app.extensions.get("listserver.guard")
    if guard is None:
        guard = current_app.extensions["listserver.guard"] = Guard(current_app.config["SETTINGS"])
    return guard


def _load_form(slug: str) -> forms.PublishedForm:
    cache = current_app.extensions.get("listserver.forms")
    if cache is None:
        ttl = current_app.config["SETTINGS"].form_cache_seconds
        cache = current_app.extensions["listserver.forms"] = forms.FormCache(ttl)
    version = cache.published(get_session(), slug)
    if version is None:
        abort(404)
    g.form_language = version.definition["language"]
    return version


def _render_form(version, *, values=None, errors=None, suggestions=None, status=200):
    definition = version.definition
    response = make_response(render_template(
        "public/form.html",
        form=definition,
        fields=signup.view_fields(version),
        values=values or {},
        errors=errors or {},
        suggestions=suggestions or {},
        stamp=_guard().stamp(definition["slug"]),
        honeypot=HONEYPOT_FIELD,
        stamp_field=STAMP_FIELD,
        email_checked_field=EMAIL_CHECKED_FIELD,
        use_suggestion_field=USE_SUGGESTION_FIELD,
        countries=country_names(definition["language"]),
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _submitted_answers() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(friendly(400, _("Not understood"), _("Send a JSON object of field names and values."),
                           error="invalid_json"))
        return data
    return {key: (values if len(values) > 1 else values[0]) for key, values in request.form.lists()}


def _check_inbox(version):
    message = version.definition.get("success_message") or _(
        "Almost done: we have sent you an email. Open it and press the button inside to confirm."
    )
    if wants_json():
        return jsonify({"status": "check_inbox", "message": message})
    return render_template("public/check_inbox.html", form=version.definition, message=message)


@bp.get("/f/<slug>")
def show_form(slug: str):
    return _render_form(_load_form(slug))


@bp.post("/f/<slug>")
def submit_form(slug: str):
    version = _load_form(slug)
    answers = _submitted_answers()
    if isinstance(answers.get(USE_SUGGESTION_FIELD), str):
        answers["email"] = answers[USE_SUGGESTION_FIELD]
    verdict = _guard().check(slug, answers, client_ip())
    if verdict != Verdict.HUMAN:
        # Bots get exactly what people get, so they learn nothing; no email is sent.
        log.info("form %s: submission dropped (%s)", slug, verdict.value)
        return _check_inbox(version)
    typed = answers.get("email")
    result = signup.submit(
        get_session(), version, answers,
        signup.Visitor(client_ip(), request.user_agent.string, "api" if request.is_json else "form"),
        current_app.config["SETTINGS"],
        allow_address=_guard().allow_address,
        typed_email_confirmed=isinstance(typed, str) and typed == answers.get(EMAIL_CHECKED_FIELD),
    )
    if result.outcome == signup.Outcome.ACCEPTED:
        return _check_inbox(version)
    if wants_json():
        return jsonify({"status": result.outcome.value, "errors": result.errors,
                        "suggestions": result.suggestions}), 422
    values = {k: v for k, v in answers.items() if isinstance(v, (str, list))}
    return _render_form(version, values=values, errors=result.errors, suggestions=result.suggestions, status=422)


def _link_problem(exc: Exception, token: str):
    if isinstance(exc, TokenExpired):
        return friendly(410, _("This link has expired"),
                        _("Confirmation links work for a limited time. We can send you a fresh one."),
                        error="expired", template="public/link_expired.html", token=token)
    if isinstance(exc, signup.LinkUsed) and exc.contact is not None and exc.contact.confirmed_at is not None:
        g.form_language = exc.version.definition["language"] if exc.version else None
        return friendly(200, _("You are already confirmed"), _("This link has done its job: your address is confirmed."),
                        error="already_confirmed", template="public/confirmed.html",
                        form=exc.version.definition if exc.version else None)
    return friendly(404 if isinstance(exc, TokenInvalid) else 410, _("This link does not work"),
                    _("It may be incomplete or already used. Sign up again on the form and we will send a new link."),
                    error="invalid_link")


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    try:
        found = signup.inspect_confirmation(get_session(), token, current_app.config["SETTINGS"])
    except (TokenInvalid, TokenExpired, signup.LinkUsed) as exc:
        return _link_problem(exc, token)
    g.form_language = found.version.definition["language"]
    response = make_response(render_template("public/confirm.html", form=found.version.definition, token=token))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/confirm/<token>")
@limiter.limit("20/minute")
def confirm(token: str):
    visitor = signup.Visitor(client_ip(), request.user_agent.string, "confirmation_link")
    try:
        found = signup.confirm(get_session(), token, visitor, current_app.config["SETTINGS"])
    except (TokenInvalid, TokenExpired, signup.LinkUsed) as exc:
        get_session().rollback()
        return _link_problem(exc, token)
    g.form_language = found.version.definition["language"]
    if wants_json():
        return jsonify({"status": "confirmed", "lead_magnet": found.version.definition.get("lead_magnet")})
    return render_template("public/confirmed.html", form=found.version.definition,
                           title=_("You are subscribed"), message=None)


@bp.post("/confirm/<token>/resend")
@limiter.limit("5/hour")
def resend_confirmation(token: str):
    settings = current_app.config["SETTINGS"]
    try:
        payload = Signer(settings).load(Purpose.CONFIRM, token)
    except TokenExpired as exc:
        payload = exc.payload
    except TokenInvalid:
        payload = {}
    signup.resend_confirmation(get_session(), payload, settings)
    return friendly(200, _("Check your inbox"),
                    _("If this address is still waiting for confirmation, a fresh link is on its way."))
