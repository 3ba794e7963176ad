"""What each hygiene rule would change now, changing nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy.orm as so

from listserver.hygiene import rules
from listserver.models._types import utcnow


@dataclass(frozen=True)
class Forecast:
    rule: str
    why: str
    contacts: int  # how many the rule would change if it ran now


def preview(session: so.Session, policy: rules.Policy, now: dt.datetime | None = None) -> list[Forecast]:
    """Each rule that is on, in the order a run applies them, with how many contacts it would change.

    Each count is taken as if the rules before it had not run: a contact may show under two.
    """
    now = now or utcnow()
    return [Forecast(rule.name, rule.why(policy), rules.count(session, rule, policy, now))
            for rule in rules.rules_on(policy)]
