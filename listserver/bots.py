"""Bot defences for public forms: signed render stamps, a honeypot, rate limits."""

from __future__ import annotations

import enum

from limits import parse_many

from listserver.ratelimits import RateLimits
from listserver.settings import Settings
from listserver.tokens import Purpose, Signer, TokenExpired, TokenInvalid

HONEYPOT_FIELD = "_hp"
STAMP_FIELD = "_ts"


class Verdict(enum.StrEnum):
    HUMAN = "human"
    HONEYPOT = "honeypot"
    TOO_FAST = "too_fast"
    TOO_OLD = "too_old"
    NO_STAMP = "no_stamp"
    RATE_LIMITED = "rate_limited"


class Guard:
    """Decides whether a submission looks human; shared by the hosted form and the API."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.signer = Signer(settings)
        self.limits = RateLimits(settings.redis_url)
        self.ip_limits = parse_many(settings.ratelimit_ip)
        self.address_limits = parse_many(settings.ratelimit_address)

    def stamp(self, slug: str) -> str:
        """A token proving when the form was rendered, and for which form."""
        return self.signer.sign(Purpose.FORM_RENDER, {"f": slug})

    def check(self, slug: str, answers: dict, ip: str | None) -> Verdict:
        if answers.get(HONEYPOT_FIELD):
            return Verdict.HONEYPOT
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
        if ip and not self.limits.hit(self.ip_limits, "listserver", "ip", ip):
            return Verdict.RATE_LIMITED
        return Verdict.HUMAN

    def allow_address(self, email_key: str) -> bool:
        return self.limits.hit(self.address_limits, "listserver", "address", email_key)
