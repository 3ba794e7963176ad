"""What the public views share: the bot guard and the published form a URL names, kept per app."""

from __future__ import annotations

from flask import abort, current_app, g

from listserver.capture.bots import Guard
from listserver.db import get_db
from listserver.forms import publishing
from listserver.web import i18n


def guard() -> Guard:
    guard = current_app.extensions.get("listserver.guard")
    if guard is None:
        guard = current_app.extensions["listserver.guard"] = Guard(current_app.config["SETTINGS"])
    return guard


def load_form(slug: str) -> publishing.PublishedForm:
    cache = current_app.extensions.get("listserver.forms")
    if cache is None:
        ttl = current_app.config["SETTINGS"].form_cache_seconds
        cache = current_app.extensions["listserver.forms"] = publishing.FormCache(ttl)
    version = cache.published(get_db().engine, slug)
    if version is None:
        abort(404)
    g.form_language = i18n.form_language(version.definition)
    g.form_definition = version.definition
    return version
