"""Mail providers' webhooks: `POST /hooks/<provider>` stores what a provider reports, for processing.

Each provider's own check decides whether a request is the provider's (listserver.bounces.providers):
one that fails it stores nothing (401). What is stored is read and acted on in the background, so
a provider never waits on it; a retry of an event already stored is answered as the first was.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request

from listserver import services
from listserver.bounces import intake, jobs
from listserver.bounces.providers import PROVIDERS
from listserver.bounces.providers.common import Hook
from listserver.bounces.providers.fetcher import FetchFailed
from listserver.db import get_session
from listserver.errors import NotFound
from listserver.web.errors import api_error

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)


@bp.post("/hooks/<name>")
def receive(name: str):
    settings = current_app.config["SETTINGS"]
    provider = PROVIDERS.get(name)
    if provider is None or not provider.configured(settings):
        raise NotFound("no hook here: unknown provider, or its secret is not set")
    request.max_content_length = settings.hook_max_bytes  # a batch of events is larger than a form
    hook = Hook(request.headers, request.get_data(cache=False), settings, time.time(), services.hook_fetcher(),
                services.hook_tokens().first_use)
    try:
        events = provider.accept(hook)
    except FetchFailed as exc:
        log.warning("hook %s: the provider's server did not answer (%s)", name, exc)
        return api_error(503, "unavailable", "The provider's server could not be reached; send again later.",
                         **{"Retry-After": "60"})
    session = get_session()
    stored = intake.receive(session, [intake.Arrival(provider.SOURCE, event.external_id, event.raw)
                                      for event in events])
    session.commit()
    if stored:
        jobs.wake()
    log.info("hook %s: %d events, %d new", name, len(events), stored)
    return jsonify(status="ok", stored=stored)
