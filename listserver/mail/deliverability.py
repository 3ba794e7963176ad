"""Whether an address's domain can receive mail, asked of DNS with a timeout (worker only)."""

from __future__ import annotations

import threading
import time

import dns.exception
import dns.resolver
from email_validator import EmailUndeliverableError
from email_validator.deliverability import validate_email_deliverability

from listserver.models import Deliverability
from listserver.settings import Settings

# How long the canary's verdict on a resolver stands: a burst of dead domains asks it once, and a
# resolver that is repaired (or breaks) is noticed within a minute.
CANARY_SECONDS = 60.0


def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    if settings.dns_nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        # "host[:port]" entries; the port of the first applies to all (tests run DNS on a high port).
        resolver.nameservers = [entry.partition(":")[0] for entry in settings.dns_nameservers]
        resolver.port = int(settings.dns_nameservers[0].partition(":")[2] or 53)
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = settings.dns_timeout
    resolver.lifetime = settings.dns_timeout
    return resolver


def check_domain(domain: str, settings: Settings) -> Deliverability:
    """Whether `domain` accepts mail; UNDELIVERABLE only when the resolver is known to tell the truth."""
    try:
        info = validate_email_deliverability(domain, domain, dns_resolver=make_resolver(settings))
    except EmailUndeliverableError as exc:
        # email-validator also turns unexpected resolver failures (no network at all) into this
        # error; those say nothing about the domain, so they must not clean anyone.
        if not (isinstance(exc.__cause__, (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)) or exc.__cause__ is None):
            return Deliverability.UNKNOWN
        # An offline box, a captive portal or a broken resolver says "no such domain" about every
        # name: a "no" is only believed from a resolver that finds a domain known to exist.
        return Deliverability.UNDELIVERABLE if _canary.answers(settings) else Deliverability.UNKNOWN
    if "unknown-deliverability" in info:
        return Deliverability.UNKNOWN
    return Deliverability.DELIVERABLE


class _Canary:
    """Whether a resolver finds the mail servers of settings.dns_canary, remembered for CANARY_SECONDS."""

    def __init__(self):
        self.lock = threading.Lock()
        self.verdicts: dict[tuple, tuple[bool, float]] = {}

    def answers(self, settings: Settings) -> bool:
        key = (settings.dns_nameservers, settings.dns_canary)
        # Held while asking, so that worker threads that all meet dead domains at once ask once.
        with self.lock:
            verdict, until = self.verdicts.get(key, (False, 0.0))
            if time.monotonic() < until:
                return verdict
            verdict = _has_mail_servers(settings.dns_canary, settings)
            self.verdicts[key] = (verdict, time.monotonic() + CANARY_SECONDS)
            return verdict


def _has_mail_servers(domain: str, settings: Settings) -> bool:
    try:
        answer = make_resolver(settings).resolve(domain, "MX")
    except (dns.exception.DNSException, ValueError):
        return False
    # A resolver that answers every name with an empty "yes" would pass a bare existence test.
    return any(str(record.exchange) != "." for record in answer)


_canary = _Canary()
