"""What visitors and subscribers reach: hosted forms, submissions, confirmation links."""

from __future__ import annotations

import logging
import math

from flask import Blueprint, abort, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _

from listserver import services
from listserver.capture import profiling, signup
from listserver.capture.bots import CHALLENGED, HONEYPOT_FIELD, STAMP_FIELD, Tally, Verdict
from listserver.capture.challenge import SOLUTION_FIELD
from listserver.contacts import lifecycle
from listserver.contacts.links import Links
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.forms import fields
from listserver.models import ConsentMethod
from listserver.tokens import Purpose, Signer, TokenExpired, TokenInvalid
from listserver.web.errors import status_of
from listserver.web.http import client_ip, friendly, json_body, wants_json
from listserver.web.public import cors
from listserver.web.public.context import load_form

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)


EMAIL_CHECKED_FIELD = "_email_checked"  # the address the visitor kept after seeing a suggestion
USE_SUGGESTION_FIELD = "_use_suggestion"  # the suggested address, when the visitor took it


def _render_form(version, *, values=None, errors=None, suggestions=None, status=200,
                 profile: profiling.Profile = profiling.NEW_VISITOR, profile_token: str | None = None, notice=None,
                 second_step: dict | None = None):
    definition = version.definition
    response = make_response(render_template(
        "public/form.html",
        form=definition,
        fields=profiling.next_fields(definition, profile),
        profile_token=profile_token if profile.recognised else None,
        frame=_in_frame(),
        notice=notice,
        second_step=second_step,
        values=values or {},
        errors=errors or {},
        suggestions=suggestions or {},
        stamp=services.bot_guard().stamp(definition.slug),
        honeypot=HONEYPOT_FIELD,
        stamp_field=STAMP_FIELD,
        email_checked_field=EMAIL_CHECKED_FIELD,
        use_suggestion_field=USE_SUGGESTION_FIELD,
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return _framing_policy(response, definition)


def _in_frame() -> bool:
    return request.endpoint in ("public.show_frame", "public.submit_frame")


def _framing_policy(response, definition):
    """The iframe variant may be framed by the form's allowed sites; the hosted page by nobody else."""
    ancestors = ["'self'"]
    if _in_frame():
        allow = definition.allowed_origins
        ancestors = ["*"] if "*" in allow else ancestors + list(allow)
    response.headers["Content-Security-Policy"] = f"frame-ancestors {' '.join(ancestors)}"
    return response


def _submitted_answers() -> dict:
    if request.is_json:
        data = json_body()
        if not isinstance(data, dict):
            abort(friendly(400, _("Not understood"), _("Send a JSON object of field names and values."),
                           error="invalid_json"))
        return data
    return fields.nest_parts({key: (values if len(values) > 1 else values[0])
                              for key, values in request.form.lists()})


def _check_inbox(version, contact: lifecycle.ContactRow | None = None):
    """The answer to a sign-up, the same whether it was taken or dropped (bots learn nothing)."""
    if wants_json():
        token = profiling.token_after_signup(current_app.config["SETTINGS"], version.definition, contact)
        return jsonify({"status": "check_inbox", "message": _success_message(version), "profile_token": token,
                        "next": [spec.key for spec in version.definition.after_first_view()]})
    return _framing_policy(make_response(_check_inbox_page(version)), version.definition)


def _success_message(version) -> str:
    return version.definition.success_message_in(g.form_language) or _(
        "Almost done: we have sent you an email. Open it and press the button inside to confirm."
    )


def _check_inbox_page(version) -> str:
    """The page is the same for every visitor of a form version, language and layout: render it once.

    So check_inbox.html and base.html may use nothing per request (no CSRF token, nonce or
    request data) beyond what the key holds; tests/test_bots.py compares it with a fresh render.
    """
    def render() -> str:
        return render_template("public/check_inbox.html", form=version.definition,
                               message=_success_message(version), frame=_in_frame())

    if current_app.jinja_env.auto_reload:  # templates being edited: show the edit
        return render()
    # g.form_language is always a shipped language, so it is also the page's locale (i18n.select_locale).
    key = (version.id, g.form_language, _in_frame(), request.script_root)
    return services.check_inbox_pages().get_or_make(key, render)


def _saved(version, step: profiling.Step):
    message = _("Thank you! Your answers are saved.")
    if wants_json():
        return jsonify({"status": "saved", "message": message, "profile_token": step.token,
                        "next": [spec.key for spec in step.next],
                        "lead_magnet": step.lead_magnet.shown_in(g.form_language) if step.lead_magnet else None})
    return _framing_policy(make_response(render_template(
        "public/profile_saved.html", form=version.definition, message=message, lead_magnet=step.lead_magnet,
        more=bool(step.next), profile_token=step.token, frame=_in_frame())), version.definition)


def _profile(token: object, *, lock: bool = False) -> profiling.Profile:
    return profiling.recognise(get_session(), token, current_app.config["SETTINGS"], lock=lock)


@bp.get("/f/<slug>")
@bp.get("/f/<slug>/frame", endpoint="show_frame")
def show_form(slug: str):
    """The hosted form; with `ls_pt` (a link from one of our emails) the next questions instead."""
    token = request.args.get("ls_pt")
    version = load_form(slug)
    profile = _profile(token)
    if profile.recognised and not profiling.next_fields(version.definition, profile):
        return _all_set(version)
    return _render_form(version, profile=profile, profile_token=token)


def _all_set(version):
    """A recognised visitor with nothing left to answer: a word of thanks, not an empty form.

    The page offers to email a preference link rather than showing one: a profile token proves
    nothing about who holds it (the embed's come from typing any address, and a link we emailed
    may be forwarded or read by scripts of the page it lands on), while a preference link opens
    the person's data. listserver's own new-link page sends it to the mailbox, and only there.
    In an iframe the form's `when_complete: nothing` leaves the host page's frame empty.
    """
    quiet = _in_frame() and version.definition.when_complete == "nothing"
    response = make_response(render_template("public/all_set.html", form=version.definition,
                                             frame=_in_frame(), quiet=quiet))
    response.headers["Cache-Control"] = "no-store"
    return _framing_policy(response, version.definition)


@bp.post("/f/<slug>")
@bp.post("/f/<slug>/frame", endpoint="submit_frame")
def submit_form(slug: str):
    version = load_form(slug)
    if request.is_json and (refusal := cors.refuse_foreign(version.definition)):
        return refusal
    answers = _submitted_answers()
    if isinstance(answers.get(USE_SUGGESTION_FIELD), str):
        answers["email"] = answers[USE_SUGGESTION_FIELD]
    settings = current_app.config["SETTINGS"]
    verdict = services.bot_guard().check(slug, answers, client_ip())
    if verdict != Verdict.HUMAN and verdict != Verdict.SOLVED:
        return _second_step(version, answers, verdict)
    if verdict == Verdict.SOLVED:
        _tally(slug, Tally.PASSED, verdict)
    visitor = signup.Visitor(client_ip(), request.user_agent.string,
                             ConsentMethod.API if request.is_json else ConsentMethod.FORM,
                             language=g.form_language)
    if fields.is_blank(answers.get("email")):  # no address: answers for a visitor the token names
        profile = _profile(answers.get("profile_token"), lock=True)
        if profile.recognised:
            return _profiling_step(version, profile, answers, visitor)
    typed = answers.get("email")
    result = signup.submit(
        get_session(), version, answers, visitor, settings,
        allow_address=_always if verdict == Verdict.SOLVED else services.bot_guard().allow_address,
        typed_email_confirmed=isinstance(typed, str) and typed == answers.get(EMAIL_CHECKED_FIELD),
    )
    if result.outcome == signup.Outcome.ACCEPTED:
        if get_session().in_transaction():  # else a new address's one statement committed itself
            get_session().commit()
        return _check_inbox(version, result.contact)
    if result.outcome == signup.Outcome.RATE_LIMITED:
        get_session().rollback()  # the address came back too often: nothing it sent is kept
        return _second_step(version, answers, Verdict.RATE_LIMITED)
    return _invalid(version, answers, result.outcome.value, result.errors, result.suggestions)


def _always(key: str) -> bool:
    return True


def _second_step(version, answers: dict, verdict: Verdict):
    """The answer to a submission the bot checks did not take.

    A certain bot (a filled honeypot) gets exactly what a person gets, so it learns nothing, and
    nothing is stored or sent. Anything else may be a person (autofill pressed at once, a tab
    kept for days, a plain HTML form on another site, forty people behind one address): nothing
    is stored yet, and they are asked for a second step. A page shows the form again, filled in,
    with a fresh stamp ("One more step"), where static/challenge.js waits out the stamp's
    minimum age and solves a challenge; the embed script gets the same as JSON and does it unseen.
    """
    slug = version.definition.slug
    if verdict == Verdict.HONEYPOT:
        _tally(slug, Tally.DROPPED, verdict)
        return _check_inbox(version)
    challenge = None
    if verdict in CHALLENGED:
        if verdict == Verdict.UNSOLVED:
            _tally(slug, Tally.FAILED, verdict)
        _tally(slug, Tally.CHALLENGED, verdict)
        challenge = services.bot_guard().challenge().as_json()
    else:
        _tally(slug, Tally.SECOND_STEP, verdict)
    # A fresh stamp is young: what is sent with it waits until the form's minimum age has passed.
    # A challenge comes after the stamp checks passed, so the embed keeps its stamp and need not wait.
    min_age_ms = math.ceil(current_app.config["SETTINGS"].form_min_seconds * 1000)
    notice = _("One more step: check your details and press the button to sign up.")
    if wants_json():
        body = {"status": "challenge", "challenge": challenge, "field": SOLUTION_FIELD} if challenge else {
            "status": "retry", "after_ms": min_age_ms, "stamp": services.bot_guard().stamp(slug)}
        response = jsonify({**body, "message": notice})
        response.headers["Cache-Control"] = "no-store"
        return response
    values = {k: v for k, v in answers.items() if isinstance(v, (str, list, dict)) and not k.startswith("_")}
    token = answers.get("profile_token")  # a recognised visitor's next questions, not the first form
    return _render_form(version, values=values, notice=notice, profile=_profile(token), profile_token=token,
                        second_step={"wait_ms": min_age_ms, "challenge": challenge, "field": SOLUTION_FIELD})


def _tally(slug: str, tally: Tally, verdict: Verdict) -> None:
    services.bot_guard().count(tally)
    log.info("form %s: bot check %s (%s)", slug, tally.value, verdict.value)


def _profiling_step(version, profile: profiling.Profile, answers: dict, visitor: signup.Visitor):
    proof = visitor.proof(version, g.form_language, method=ConsentMethod.PROFILING)
    step = profiling.save_step(get_session(), version, profile, answers, proof, current_app.config["SETTINGS"])
    if step.errors:
        get_session().rollback()
        return _invalid(version, answers, signup.Outcome.INVALID.value, step.errors, {}, profile=profile)
    get_session().commit()
    return _saved(version, step)


def _invalid(version, answers: dict, status: str, errors: dict, suggestions: dict,
             profile: profiling.Profile = profiling.NEW_VISITOR):
    if wants_json():
        return jsonify({"status": status, "errors": errors, "suggestions": suggestions}), 422
    values = {k: v for k, v in answers.items() if isinstance(v, (str, list, dict))}
    return _render_form(version, values=values, errors=errors, suggestions=suggestions, status=422,
                        profile=profile, profile_token=answers.get("profile_token"))


def _link_problem(exc: TokenInvalid | TokenExpired | signup.LinkUsed, token: str):
    if isinstance(exc, TokenExpired):
        return friendly(status_of(exc), _("This link has expired"),
                        _("Confirmation links work for a limited time. We can send you a fresh one."),
                        error="expired", template="public/link_expired.html", token=token)
    if isinstance(exc, signup.LinkUsed) and exc.contact is not None and exc.contact.confirmed_at is not None:
        g.form_language = exc.contact.language  # the language of the email the link came in
        return friendly(200, _("You are already confirmed"),
                        _("This link has done its job: your address is confirmed."),
                        error="already_confirmed", template="public/confirmed.html",
                        form=exc.version.definition if exc.version else None)
    return friendly(status_of(exc), _("This link does not work"),
                    _("It may be incomplete or already used. Sign up again on the form and we will send a new link."),
                    error="invalid_link")


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    try:
        found = signup.inspect_confirmation(get_session(), token, current_app.config["SETTINGS"])
    except (TokenInvalid, TokenExpired, signup.LinkUsed) as exc:
        return _link_problem(exc, token)
    g.form_language = found.contact.language  # as the email was; the proof hashes this consent text
    response = make_response(render_template("public/confirm.html", form=found.version.definition, token=token))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/confirm/<token>")
@limiter.limit("20/minute")
def confirm(token: str):
    visitor = signup.Visitor(client_ip(), request.user_agent.string, ConsentMethod.CONFIRMATION_LINK)
    try:
        found = signup.confirm(get_session(), token, visitor, current_app.config["SETTINGS"])
    except (TokenInvalid, TokenExpired, signup.LinkUsed) as exc:
        get_session().rollback()
        return _link_problem(exc, token)
    # Committed before the page is made: the confirmation stands even if showing it fails.
    get_session().commit()
    g.form_language = found.contact.language
    if wants_json():
        magnet = found.version.definition.lead_magnet
        return jsonify({"status": "confirmed", "lead_magnet": magnet.shown_in(g.form_language) if magnet else None})
    return render_template("public/confirmed.html", form=found.version.definition,
                           title=_("You are subscribed"), message=None,
                           site_url=Links(current_app.config["SETTINGS"]).site(found.contact,
                                                                                found.version.definition.site_url))


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
    get_session().commit()
    return friendly(200, _("Check your inbox"),
                    _("If this address is still waiting for confirmation, a fresh link is on its way."))
