"""Whether an address's domain can receive mail, asked of DNS with a timeout (worker only)."""

from __future__ import annotations

import enum

import dns.resolver
from email_validator import EmailUndeliverableError
from email_validator.deliverability import validate_email_deliverability

from listserver.settings import Settings


class Deliverability(enum.StrEnum):
    DELIVERABLE = "deliverable"
    UNDELIVERABLE = "undeliverable"
    UNKNOWN = "unknown"  # DNS did not answer in time: we send, and bounces will tell


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
    try:
        info = validate_email_deliverability(domain, domain, dns_resolver=make_resolver(settings))
    except EmailUndeliverableError as exc:
        # email-validator also turns unexpected resolver failures (no network at all) into this
        # error; those say nothing about the domain, so they must not clean anyone.
        if isinstance(exc.__cause__, (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)) or exc.__cause__ is None:
            return Deliverability.UNDELIVERABLE
        return Deliverability.UNKNOWN
    if "unknown-deliverability" in info:
        return Deliverability.UNKNOWN
    return Deliverability.DELIVERABLE
