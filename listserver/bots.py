"""Bot defences for public forms: signed render stamps, a honeypot, rate limits."""

from __future__ import annotations

import enum
import logging

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from listserver.breaker import Breaker
from listserver.settings import Settings
from listserver.tokens import Purpose, Signer, TokenExpired, TokenInvalid

log = logging.getLogger(__name__)

HONEYPOT_FIELD = "_hp"
STAMP_FIELD = "_ts"


class Verdict(enum.StrEnum):
    HUMAN = "human"
    HONEYPOT = "honeypot"
    TOO_FAST = "too_fast"
    TOO_OLD = "too_old"
    UNSTAMPED = "unstamped"  # no stamp field at all: a plain HTML form on another site (or a bot)
    NO_STAMP = "no_stamp"  # a stamp that is not ours, or for another form
    RATE_LIMITED = "rate_limited"


class Guard:
    """Decides whether a submission looks human; shared by the hosted form and the API."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.signer = Signer(settings)
        self.limiter: FixedWindowRateLimiter | None = None  # connected on first use (_hit)
        self.breaker = Breaker(settings.redis_retry_seconds)  # the only use of Redis in a request
        self.ip_limits = parse_many(settings.ratelimit_ip)
        self.address_limits = parse_many(settings.ratelimit_address)

    def stamp(self, slug: str) -> str:
        """A token proving when the form was rendered, and for which form."""
        return self.signer.sign(Purpose.FORM_RENDER, {"f": slug})

    def check(self, slug: str, answers: dict, ip: str | None) -> Verdict:
        if answers.get(HONEYPOT_FIELD):
            return Verdict.HONEYPOT
        if STAMP_FIELD not in answers:
            return Verdict.UNSTAMPED
        token = answers.get(STAMP_FIELD)
        if not isinstance(token, str) or not token:
            return Verdict.NO_STAMP
        try:
            payload, age = self.signer.load_with_age(Purpose.FORM_RENDER, token)
        except TokenExpired:
            return Verdict.TOO_OLD
        except TokenInvalid:
            return Verdict.NO_STAMP
        if payload.get("f") != slug:
            return Verdict.NO_STAMP
        if age < self.settings.form_min_seconds:
            return Verdict.TOO_FAST
        if ip and not self._hit(self.ip_limits, "ip", ip):
            return Verdict.RATE_LIMITED
        return Verdict.HUMAN

    def allow_address(self, email_key: str) -> bool:
        return self._hit(self.address_limits, "address", email_key)

    def _hit(self, items, scope: str, identity: str) -> bool:
        if self.breaker.open:  # the store failed a moment ago: allow, without waiting on it again
            return True
        try:
            self.limiter = self.limiter or FixedWindowRateLimiter(self._storage())
            return all(self.limiter.hit(item, "listserver", scope, identity) for item in items)
        except Exception as exc:  # noqa: BLE001 - a rate-limit store outage must not lose sign-ups
            self.breaker.trip()
            log.warning("rate limit store unavailable (%s); allowing requests for %g s", type(exc).__name__,
                        self.breaker.cool_down)
            return True

    def _storage(self):
        if not self.settings.redis_url:
            return storage_from_string("memory://")
        # One connection, no pool: a worker makes its checks one after another, and a pool's
        # check-out (a lock, a poll of the socket) costs about as much as the INCR itself. The
        # connection is made here, so an outage at start-up is met in _hit like any other.
        return storage_from_string(self.settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5,
                                   single_connection_client=True)
