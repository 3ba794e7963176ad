"""Cross-origin access for the embed script: only the origins a form allows.

A script on another site reads our JSON only if we say so with `Access-Control-Allow-Origin`,
and its JSON posts need a preflight first; both are granted per form, from its allow-list.
A plain HTML form posted from any site is not a CORS request and stays possible: the bot
defences protect it, as they protect the hosted page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, make_response, request
from flask_babel import gettext as _

from listserver.forms.definition import FormDefinition
from listserver.web.public.context import load_form

# The endpoints the embed script calls; everything else stays same-origin.
ENDPOINTS = ("public.submit_form", "embed.definition", "embed.next_fields")
PREFLIGHT_MAX_AGE = 600


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed(definition: FormDefinition, origin: str | None) -> bool:
    """Whether a request from `origin` may use this form's JSON endpoints (no Origin: not a browser's
    cross-origin request, so nothing to decide)."""
    if not origin:
        return True
    origin = origin.rstrip("/").lower()
    own = _origin_of(current_app.config["SETTINGS"].base_url)
    allow_list = definition.allowed_origins
    return origin == own or origin == _origin_of(request.host_url) or origin in allow_list or "*" in allow_list


def refusal() -> Response:
    response = make_response(jsonify({
        "status": "error", "error": "origin_not_allowed",
        "message": _("This form may not be used from this website. Its owner can allow the website "
                     "in the form's settings."),
    }), 403)
    response.vary.add("Origin")
    return response


def refuse_foreign(definition: FormDefinition) -> Response | None:
    """The refusal for a cross-origin call from a site the form does not allow, else None."""
    return None if allowed(definition, request.headers.get("Origin")) else refusal()


def _preflight():
    # An OPTIONS request is routed to the URL's first rule: for /f/<slug> that is the GET page.
    if request.method != "OPTIONS" or request.blueprint not in ("public", "embed") or "slug" not in (
            request.view_args or {}):
        return None
    definition = load_form(request.view_args["slug"]).definition
    origin = request.headers.get("Origin")
    if not origin or not allowed(definition, origin):
        return refusal()
    response = make_response("", 204)
    response.headers.update({
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
    })
    response.vary.add("Origin")
    return response


def _grant(response: Response) -> Response:
    if request.endpoint not in ENDPOINTS:
        return response
    response.vary.add("Origin")
    origin, definition = request.headers.get("Origin"), g.get("form_definition")
    if origin and definition is not None and allowed(definition, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def init_app(app: Flask) -> None:
    app.before_request(_preflight)
    app.after_request(_grant)
