"""The language of each page and email: chosen per request, handed to the templates."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import get_locale

from listserver import languages
from listserver.forms.definition import FormDefinition
from listserver.web import questions


def select_locale() -> str:
    """A view's choice (g.form_language: a form's or a contact's language), else the browser's.

    The console is not translated yet: English, whatever the browser asks.
    """
    if has_request_context() and request.blueprint == "admin":
        return languages.DEFAULT
    chosen = g.get("form_language")
    if chosen in languages.LANGUAGES:
        return chosen
    if not has_request_context():
        return languages.DEFAULT
    return languages.negotiate(request.accept_languages.values()) or languages.DEFAULT


def form_language(definition: FormDefinition) -> str:
    """The language this request shows a form in: fixed by the form, or ?lang= / the browser's."""
    setting = definition.language
    if setting != languages.AUTO:  # fixed: nothing of the request to read
        return languages.choose(setting)
    return languages.choose(setting, requested=request.args.get("lang"), accepted=request.accept_languages.values())


def current() -> str:
    """The language being rendered: the request's, or the one forced for an email."""
    locale = get_locale()
    return str(locale) if locale is not None else languages.DEFAULT


def _template_context() -> dict:
    language = current()
    return {
        "html_lang": languages.html_lang(language),
        "html_dir": languages.direction(language),
        "consent": lambda definition: definition.consent_in(current())[0],
    }


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    # {{ form.title|localized }}: a plain string, or the current language's entry of a {language: text}.
    app.add_template_filter(lambda texts: languages.pick(texts, current()), "localized")
    # {% set q = question(field) %}: label, help, choices, input type… in the current language, for
    # the form being shown (a business-only form asks for a work address).
    app.add_template_global(lambda spec: questions.view(spec, current(), business_only=_business_only()), "question")


def _business_only() -> bool:
    definition = g.get("form_definition")
    return definition is not None and definition.business_email_only
