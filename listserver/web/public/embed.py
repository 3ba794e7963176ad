"""What the embed script on another site talks to: the script itself, the form's definition
(cacheable, the same for everyone) and the next questions for this visitor (never cached)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from flask_babel import get_locale
from flask_babel import gettext as _

from listserver import languages, services
from listserver.capture import profiling
from listserver.capture.bots import HONEYPOT_FIELD, STAMP_FIELD
from listserver.db import get_session
from listserver.forms.versions import PublishedForm
from listserver.web import questions
from listserver.web.http import json_body
from listserver.web.public import cors
from listserver.web.public.context import load_form

bp = Blueprint("embed", __name__)

STATIC = Path(__file__).parents[2] / "static"  # listserver/static, the app's static folder
SCRIPT_MAX_AGE = 300  # a new embed.js reaches host pages within five minutes
DEFINITION_MAX_AGE = 60  # a published form change reaches host pages within a minute


def _messages() -> dict[str, str]:
    """The script's own words, in the visitor's language."""
    return {
        "not_you": _("Not you?"),
        "sending": _("Sending…"),
        "failed": _("We could not reach the server. Please try again in a minute."),
        "close": _("Close"),
        "required": _("This field is required."),
        "optional": _("optional"),
        "choose": _("Choose…"),
        "more": _("A few more questions, so we can send you what suits you."),
        "save": _("Save my answers"),
        "thanks": _("Thank you! Your answers are saved."),
        "check_inbox": _("Check your inbox"),
        "spam": _("Nothing after a few minutes? Look in the spam folder, or fill in the form again to get a new "
                  "email."),
        "privacy": _("Privacy policy"),
        "all_set": _("You are all set"),
        "all_set_text": _("There is nothing more to ask you. Thank you!"),
        "preferences_question": _("Want to change what you receive or what you told us?"),
        "preferences_link": _("Email me a link to my preferences"),
        "suggest": _("Did you mean %(address)s?", address="{suggestion}"),
        "use_suggestion": _("Yes, use it"),
        "keep_typed": _("No, keep what I typed"),
        "get_it": _("Get it now"),
    }


def public_definition(version: PublishedForm, language: str) -> dict:
    definition = version.definition
    magnet = definition.lead_magnet
    return {
        "slug": definition.slug,
        "version": version.number,
        "language": languages.html_lang(language),
        "dir": languages.direction(language),
        "title": definition.title_in(language),
        "intro": definition.intro_in(language),
        "button": _("Sign up"),
        "consent": definition.consent_in(language)[0],
        "privacy_url": definition.privacy_url,
        "when_complete": definition.when_complete,
        "lead_magnet": {key: value for key, value in magnet.shown_in(language).items()
                        if key in ("title", "description")} if magnet else None,
        "fields": [questions.view(spec, language, business_only=definition.business_email_only)
                   for spec in definition.fields],
        "fields_per_view": definition.fields_per_view,
        "display": definition.display.to_json(),
        "honeypot": HONEYPOT_FIELD,
        "stamp_field": STAMP_FIELD,
        "messages": _messages(),
    }


def _rendered(version: PublishedForm, language: str) -> tuple[bytes, str]:
    """The definition as JSON and its ETag, made once per (form version, language): it is the
    same for everyone."""

    def make() -> tuple[bytes, str]:
        body = json.dumps(public_definition(version, language), ensure_ascii=False, separators=(",", ":")).encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    return services.embed_definitions().get_or_make((version.id, language), make)


@bp.get("/f/<slug>/embed.js")
def script(slug: str):
    load_form(slug)  # a script for a form that does not exist would fail later, less clearly
    response = send_from_directory(STATIC, "embed.js", mimetype="text/javascript", max_age=SCRIPT_MAX_AGE)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/f/<slug>/definition")
def definition(slug: str):
    version = load_form(slug)
    if refusal := cors.refuse_foreign(version.definition):
        return refusal
    body, etag = _rendered(version, str(get_locale()))
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = DEFINITION_MAX_AGE
    if version.definition.language == languages.AUTO:  # shared caches must keep one copy per language
        response.vary.add("Accept-Language")
    return response.make_conditional(request)


@bp.post("/f/<slug>/next")
def next_fields(slug: str):
    """The questions this visitor sees now, and a fresh render stamp for the bot check."""
    version = load_form(slug)
    if refusal := cors.refuse_foreign(version.definition):
        return refusal
    data = json_body()
    token = data.get("profile_token") if isinstance(data, dict) else None
    profile = profiling.recognise(get_session(), token, current_app.config["SETTINGS"])
    response = jsonify({
        "fields": [spec.key for spec in profiling.next_fields(version.definition, profile)],
        "stamp": services.bot_guard().stamp(slug),
        "recognised": profile.recognised,
    })
    response.headers["Cache-Control"] = "no-store"
    return response
