"""What the public views share: the published form a URL names."""

from __future__ import annotations

from flask import abort, g

from listserver import services
from listserver.db import get_db
from listserver.forms.versions import PublishedForm
from listserver.web import i18n


def load_form(slug: str) -> PublishedForm:
    version = services.form_cache().published(get_db().engine, slug)
    if version is None:
        abort(404)
    g.form_language = i18n.form_language(version.definition)
    g.form_definition = version.definition
    return version
