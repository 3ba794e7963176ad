"""listserver: lead capture and mailing lists with double opt-in."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from listserver.languages import LANGUAGES  # noqa: F401 - the languages we ship, as listserver.LANGUAGES
from listserver.settings import Settings


def resource_dir(name: str) -> Path:
    """templates/ and migrations/: inside the package when installed, beside it in a checkout."""
    packaged = Path(__file__).parent / name
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / name


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the app: settings, extensions, services, blueprints, error handlers, each domain's jobs."""
    app = Flask(__name__, instance_relative_config=True, template_folder=str(resource_dir("templates")))
    settings = _load_settings(app, config)
    register_settings(app, settings)
    register_extensions(app)
    register_services(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_jobs(app)
    return app


def _load_settings(app: Flask, config: Settings | dict | None) -> Settings:
    if isinstance(config, Settings):
        return config.completed()
    settings = Settings.from_env(instance_path=app.instance_path)
    return settings.replace(**config).completed() if config else settings


def register_settings(app: Flask, settings: Settings) -> None:
    from listserver.web import http

    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_keys[0],
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[1:]),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if settings.redis_url else {},
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,  # Redis away: count in this process, look again later
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.wsgi_app = http.StreamedBodyLimit(app.wsgi_app, settings.max_body_bytes,
                                          wider={"/hooks/": settings.hook_max_bytes})
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                                x_host=settings.proxy_hops)
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    from listserver import languages
    from listserver.extensions import babel, csrf, db, limiter
    from listserver.web import i18n, sessions

    app.session_interface = sessions.CookieSessions()
    db.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   default_translation_directories=str(languages.TRANSLATIONS))
    i18n.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)


def register_services(app: Flask) -> None:
    from listserver import services
    from listserver.bounces.providers.fetcher import Fetcher
    from listserver.bounces.providers.replay import TokenMemory
    from listserver.capture.bots import Guard
    from listserver.forms.versions import FormCache
    from listserver.mail.transport import make_transport
    from listserver.tasks import TaskQueue

    settings = app.config["SETTINGS"]
    services.provide(app, task_queue=TaskQueue(app), mail_transport=make_transport(settings),
                     bot_guard=Guard(settings), form_cache=FormCache(settings.form_cache_seconds),
                     hook_fetcher=Fetcher(), hook_tokens=TokenMemory(settings.redis_url, settings.redis_retry_seconds))


def register_blueprints(app: Flask) -> None:
    from listserver.extensions import csrf
    from listserver.web import admin, api, headers
    from listserver.web.public import cors, embed, forms, hooks, subscriber

    # Public endpoints are reached from other sites and from emails: their signed tokens and
    # render stamps do the work CSRF tokens do for the console. The API takes bearer tokens, and
    # the hooks each provider's own signature.
    for blueprint in (forms.bp, embed.bp, subscriber.bp, hooks.bp, api.bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(admin.bp)
    cors.init_app(app)
    headers.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from listserver.web import errors

    errors.init_app(app)


def register_jobs(app: Flask) -> None:
    """Each domain's actors (run by the workers) and periodic jobs (run by the scheduler)."""
    from listserver import schedule, services
    from listserver.bounces import jobs as bounce_jobs
    from listserver.hygiene import jobs as hygiene_jobs
    from listserver.mail import jobs as mail_jobs

    for domain in (mail_jobs, bounce_jobs, hygiene_jobs):
        services.task_queue(app).declare(domain.ACTORS)
        schedule.declare(app, domain.JOBS)
