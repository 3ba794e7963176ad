"""What subscribers reach from their emails: preferences, unsubscribe, keep me subscribed, their data."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from listserver.accounts import redaction
from listserver.contacts import lifecycle, serialize
from listserver.contacts.links import LinkRevoked, Links, contact_for_link, list_id_of
from listserver.db import get_session
from listserver.extensions import limiter
from listserver.forms import fields
from listserver.inputs import whole_number
from listserver.models import ConsentMethod, Contact, EmailKind
from listserver.subscriber import preferences, rights
from listserver.tokens import Purpose, TokenExpired, TokenInvalid
from listserver.web.errors import status_of
from listserver.web.http import client_ip, friendly

bp = Blueprint("subscriber", __name__)

DONE_MESSAGES = {
    "topics": lambda: _("Your topics and frequency are saved."),
    "paused": lambda: _("Paused. We will not write to you until the date shown."),
    "resumed": lambda: _("Welcome back: your emails start again."),
    "profile": lambda: _("Your details are saved."),
    "data": lambda: _("We have sent a download link to your address. It works for 24 hours."),
    "erase": lambda: _("We have sent a link to your address. Open it to confirm the erasure."),
    "limit": lambda: _("We have already sent you several links today. Please use the newest one."),
}


def _settings():
    return current_app.config["SETTINGS"]


def _proof(method: ConsentMethod = ConsentMethod.PREFERENCE_CENTER) -> lifecycle.Proof:
    return lifecycle.Proof(method, client_ip(), request.user_agent.string)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _link_problem(exc: TokenInvalid | TokenExpired | LinkRevoked):
    """Every broken subscriber link ends on a page that can email a fresh one."""
    if isinstance(exc, TokenInvalid):
        return friendly(status_of(exc), _("This link does not work"),
                        _("It may be incomplete. Enter your address and we will email you a new link."),
                        error="invalid_link", template="public/new_link.html")
    return friendly(status_of(exc), _("This link has expired"),
                    _("For your safety, links stop working after a while. Enter your address and we will "
                      "email you a new one."), error="expired", template="public/new_link.html")


def _contact_or_problem(purpose: Purpose, token: str, *, lock: bool = False) -> Contact:
    try:
        contact = contact_for_link(get_session(), purpose, token, _settings(), lock=lock)
    except (TokenInvalid, TokenExpired, LinkRevoked) as exc:
        get_session().rollback()
        abort(_link_problem(exc))
    if contact is None:
        abort(friendly(404, _("Nothing is stored for this link"),
                       _("The data this link was for has been erased."), error="gone"))
    g.form_language = contact.language
    return contact


def _back(token: str, done: str):
    return redirect(url_for("subscriber.show_preferences", token=token, done=done), code=303)


@bp.get("/preferences/<token>")
def show_preferences(token: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    contact = _contact_or_problem(Purpose.PREFERENCES, token)
    session = get_session()
    done = DONE_MESSAGES.get(request.args.get("done", ""))
    return _no_store(make_response(render_template(
        "public/preferences.html",
        token=token,
        masked_email=redaction.mask_local_part(contact.email),
        contact=contact,
        topics=preferences.topics(session, contact),
        fields=preferences.profile_fields(session, contact),
        values=serialize.readable(values if values is not None else contact.attributes),
        errors=errors or {},
        done=done() if done else None,
        pause_months=preferences.PAUSE_MONTHS,
        confirmed=contact.confirmed_at is not None,
    ), status))


@bp.post("/preferences/<token>/topics")
def save_topics(token: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    wanted = {n for n in map(whole_number, request.form.getlist("topic")) if n is not None}
    # A pending contact: preferences.NotConfirmed, answered by web.errors (409).
    preferences.save_topics(get_session(), contact, wanted, request.form.get("frequency", ""), _proof())
    get_session().commit()
    return _back(token, "topics")


@bp.post("/preferences/<token>/pause")
def pause(token: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    months = whole_number(request.form.get("months"))
    if months not in preferences.PAUSE_MONTHS:
        abort(400)
    preferences.pause(get_session(), contact, months, _proof())
    get_session().commit()
    return _back(token, "paused")


@bp.post("/preferences/<token>/resume")
def resume(token: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    preferences.resume(get_session(), contact, _proof())
    get_session().commit()
    return _back(token, "resumed")


@bp.post("/preferences/<token>/profile")
def save_profile(token: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    answers = fields.nest_parts({key: (values if len(values) > 1 else values[0])
                                 for key, values in request.form.lists()})
    errors = preferences.save_profile(get_session(), contact, answers)
    if errors:
        get_session().rollback()
        return show_preferences(token, errors=errors, values=answers, status=422)
    get_session().commit()
    return _back(token, "profile")


@bp.post("/preferences/<token>/unsubscribe")
def unsubscribe_everything(token: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    preferences.unsubscribe(get_session(), contact, None, _proof())
    get_session().commit()
    return _no_store(make_response(render_template("public/unsubscribed.html", token=token, everything=True,
                                                   preferences_url=None)))


@bp.post("/preferences/<token>/<any(data, erase):kind>")
def request_data_rights(token: str, kind: str):
    contact = _contact_or_problem(Purpose.PREFERENCES, token, lock=True)
    email_kind = {"data": EmailKind.DATA_EXPORT, "erase": EmailKind.ERASE_REQUEST}[kind]
    sent = preferences.send_link(get_session(), contact, email_kind)
    get_session().commit()
    return _back(token, kind if sent else "limit")


@bp.route("/preferences/new-link", methods=["GET", "POST"])
@limiter.limit("5/hour", methods=["POST"])
def new_link():
    if request.method == "POST":
        preferences.send_fresh_link(get_session(), request.form.get("email", ""))
        get_session().commit()
        return friendly(200, _("Check your inbox"),
                        _("If this address is on one of our lists, a new link is on its way."))
    return render_template("public/new_link.html", title=_("Manage your subscription"),
                           message=_("Enter your address and we will email you a link to your preferences."))


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    contact = _contact_or_problem(Purpose.UNSUBSCRIBE, token)
    list_id = list_id_of(token, _settings())
    mailing_list = next((s.mailing_list for s in contact.subscriptions if s.list_id == list_id), None)
    return _no_store(make_response(render_template(
        "public/unsubscribe.html", token=token, mailing_list=mailing_list,
        preferences_url=Links(_settings()).preferences(contact))))


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    """RFC 8058 one-click: no cookies, no CSRF token, 200 without a redirect, the same when repeated."""
    try:
        contact = contact_for_link(get_session(), Purpose.UNSUBSCRIBE, token, _settings(), lock=True)
    except (TokenInvalid, TokenExpired, LinkRevoked) as exc:
        get_session().rollback()
        return _link_problem(exc)
    preferences_url = None
    if contact is not None:  # an erased contact: nothing to do, and nothing to tell
        preferences.unsubscribe(get_session(), contact, list_id_of(token, _settings()),
                                _proof(ConsentMethod.ONE_CLICK if request.form.get("List-Unsubscribe")
                                       else ConsentMethod.UNSUBSCRIBE_PAGE))
        get_session().commit()
        preferences_url = Links(_settings()).preferences(contact)
        g.form_language = contact.language
    return friendly(200, _("You are unsubscribed"), _("You will not receive these emails any more."),
                    template="public/unsubscribed.html", everything=False, preferences_url=preferences_url)


@bp.get("/keep/<token>")
def keep_page(token: str):
    """The sunset email's button leads here; only the POST keeps them (mail scanners GET every link)."""
    contact = _contact_or_problem(Purpose.KEEP_SUBSCRIBED, token)
    return _no_store(make_response(render_template(
        "public/keep_subscribed.html", ask=True, title=_("Still want our letters?"),
        message=_("Press the button and we keep writing to you. If you do nothing, we stop in a few weeks."),
        preferences_url=Links(_settings()).preferences(contact))))


@bp.post("/keep/<token>")
@limiter.limit("20/minute")
def keep_subscribed(token: str):
    contact = _contact_or_problem(Purpose.KEEP_SUBSCRIBED, token, lock=True)
    kept = lifecycle.keep_subscribed(get_session(), contact, _proof(ConsentMethod.REPERMISSION_LINK))
    get_session().commit()
    preferences_url = Links(_settings()).preferences(contact)
    if not kept:
        return friendly(409, _("You are not subscribed"),
                        _("To hear from us again, sign up on our form, or choose your topics here."),
                        error="not_subscribed", template="public/keep_subscribed.html", ask=False,
                        preferences_url=preferences_url)
    return _no_store(friendly(200, _("You stay subscribed"), _("Thank you. We will keep writing to you."),
                              template="public/keep_subscribed.html", ask=False, preferences_url=preferences_url))


@bp.get("/data/<token>")
def data_page(token: str):
    _contact_or_problem(Purpose.DATA_EXPORT, token)
    return _no_store(make_response(render_template("public/data_rights.html", action="data")))


@bp.post("/data/<token>")
def download_data(token: str):
    contact = _contact_or_problem(Purpose.DATA_EXPORT, token)
    body = json.dumps(rights.export_data(get_session(), contact), indent=2, ensure_ascii=False)
    get_session().commit()
    response = make_response(body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return _no_store(response)


@bp.get("/erase/<token>")
def erase_page(token: str):
    _contact_or_problem(Purpose.ERASE, token)
    return _no_store(make_response(render_template("public/data_rights.html", action="erase")))


@bp.post("/erase/<token>")
def erase(token: str):
    contact = _contact_or_problem(Purpose.ERASE, token, lock=True)
    erasure = rights.erase(get_session(), contact)
    get_session().commit()
    erasure.remove_copies(_settings())
    return friendly(200, _("Your data is erased"),
                    _("We have deleted your subscriptions, profile and history. You will not hear from us again "
                      "unless you sign up anew."))
