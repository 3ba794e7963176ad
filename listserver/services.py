"""Each app's services: built once when the app is made, looked up by a typed accessor.

Views, actors, jobs and commands ask here (`services.bot_guard()`) and never build their own.
Each is kept in app.extensions under its own name, so every app of a process (tests make many)
has its own. The app factory builds them (it is the one place that knows every domain); this
module only names them, so code of any layer may use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from listserver.memo import Memo
from listserver.tasks import TaskQueue

if TYPE_CHECKING:  # the types the accessors return
    from listserver.bounces.providers.fetcher import Fetcher
    from listserver.bounces.providers.replay import TokenMemory
    from listserver.capture.bots import Guard
    from listserver.forms.versions import FormCache
    from listserver.mail.transport import Transport


def provide(app: Flask, *, task_queue: TaskQueue, mail_transport: Transport, bot_guard: Guard,
            form_cache: FormCache, hook_fetcher: Fetcher, hook_tokens: TokenMemory) -> None:
    """Keep the services the factory built, and the caches of pages that are the same for everyone."""
    app.extensions.update({
        "listserver.tasks": task_queue,
        "listserver.transport": mail_transport,
        "listserver.guard": bot_guard,
        "listserver.forms": form_cache,
        "listserver.hook_fetcher": hook_fetcher,
        "listserver.hook_tokens": hook_tokens,
        # Pages and definitions that are the same for every visitor of a form version, rendered once.
        "listserver.check_inbox_pages": Memo(256),
        "listserver.definitions": Memo(512),
    })


def _service(name: str, app: Flask | None):
    return (app or current_app).extensions[f"listserver.{name}"]


def task_queue(app: Flask | None = None) -> TaskQueue:
    """The broker and the actors bound to it."""
    return _service("tasks", app)


def mail_transport(app: Flask | None = None) -> Transport:
    """SMTP, or the local mailbox when no relay is configured."""
    return _service("transport", app)


def bot_guard(app: Flask | None = None) -> Guard:
    """Decides whether a submission looks human (hosted form and API)."""
    return _service("guard", app)


def form_cache(app: Flask | None = None) -> FormCache:
    """Published form versions, read once per process."""
    return _service("forms", app)


def hook_fetcher(app: Flask | None = None) -> Fetcher:
    """What the hooks fetch from providers' servers (AWS's certificates, SNS confirmations)."""
    return _service("hook_fetcher", app)


def hook_tokens(app: Flask | None = None) -> TokenMemory:
    """The signing tokens the hooks have seen (a token signs only the event it came with)."""
    return _service("hook_tokens", app)


def check_inbox_pages(app: Flask | None = None) -> Memo:
    """The rendered "check your inbox" page per form version, language and layout."""
    return _service("check_inbox_pages", app)


def embed_definitions(app: Flask | None = None) -> Memo:
    """The embed script's form definition per form version and language."""
    return _service("definitions", app)
