"""List health: what receiving servers said of our emails lately, against the mailbox providers' limits.

Rates are per email sent: those our outbox sent (or the relay refused for good), plus those a
provider reported on that did not leave through our outbox (a marketer's campaign sent through
the provider: each delivery or bounce stands for one email). Blocks (policy, spam, reputation,
rate limits) never count against a person; here they are counted per receiving domain, because
they say how that domain sees the sender.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.models import DeliveryReport, OutboxMessage, OutboxStatus, ReportKind
from listserver.models._types import utcnow
from listserver.settings import Settings

# What the report counts, by name, and the report kind each counts.
MEASURES = {"hard": ReportKind.HARD, "soft": ReportKind.SOFT, "blocked": ReportKind.OTHER,
            "complaints": ReportKind.COMPLAINT}
STATUSES_SHOWN = 3  # per domain, the most frequent status codes of its blocks


@dataclass(frozen=True)
class DomainBlocks:
    domain: str
    blocks: int
    statuses: dict[str, int]  # the most frequent status codes (or SMTP replies), most frequent first


@dataclass(frozen=True)
class Health:
    since: dt.datetime
    until: dt.datetime
    sent: int
    counts: dict[str, int]  # by MEASURES name
    limits: dict[str, float]  # percent, by MEASURES name: the providers' thresholds
    blocks_by_domain: list[DomainBlocks]

    def percent(self, measure: str) -> float | None:
        """The measure's rate in percent of emails sent; None when nothing was sent."""
        return 100 * self.counts[measure] / self.sent if self.sent else None

    @property
    def over(self) -> list[str]:
        """The measures at or over their limit."""
        return [name for name, limit in self.limits.items()
                if (rate := self.percent(name)) is not None and rate >= limit]

    def as_json(self) -> dict:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(),
            "days": round((self.until - self.since) / dt.timedelta(days=1)),
            "sent": self.sent, "counts": self.counts,
            "percent": {name: _rounded(self.percent(name)) for name in MEASURES},
            "limits_percent": self.limits, "over_limit": self.over, "ok": not self.over,
            "blocks_by_domain": [{"domain": d.domain, "blocks": d.blocks, "statuses": d.statuses}
                                 for d in self.blocks_by_domain],
        }


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 3)


def limits_of(settings: Settings) -> dict[str, float]:
    # Bounces against the limit are hard ones, as the providers count them (a full mailbox is not).
    return {"hard": settings.health_max_bounce_percent, "complaints": settings.health_max_complaint_percent}


def health(session: so.Session, settings: Settings, now: dt.datetime | None = None) -> Health:
    until = now or utcnow()
    since = until - dt.timedelta(days=settings.health_days)
    at = sa.func.coalesce(DeliveryReport.occurred_at, DeliveryReport.received_at)
    in_window = sa.and_(at >= since, at < until)
    # Emails sent: our outbox's, and those providers told us about that were not ours.
    ours = session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.FAILED)),
               sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) >= since,
               sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < until))
    theirs = session.scalar(
        sa.select(sa.func.count()).select_from(DeliveryReport)
        .where(in_window, DeliveryReport.outbox_message_id.is_(None),
               DeliveryReport.kind.in_((ReportKind.DELIVERY, ReportKind.HARD, ReportKind.SOFT, ReportKind.OTHER))))
    # How often each kind was reported.
    by_kind = dict(session.execute(
        sa.select(DeliveryReport.kind, sa.func.count()).where(in_window, DeliveryReport.kind.in_(MEASURES.values()))
        .group_by(DeliveryReport.kind)).all())
    # Blocks per receiving domain and status code.
    blocks = session.execute(
        sa.select(DeliveryReport.recipient_domain, DeliveryReport.status, sa.func.count())
        .where(in_window, DeliveryReport.kind == ReportKind.OTHER)
        .group_by(DeliveryReport.recipient_domain, DeliveryReport.status)).all()
    return Health(since, until, ours + theirs, {name: by_kind.get(kind, 0) for name, kind in MEASURES.items()},
                  limits_of(settings), _per_domain(blocks))


def _per_domain(rows) -> list[DomainBlocks]:
    statuses: dict[str, Counter] = {}
    for domain, status, n in rows:
        statuses.setdefault(domain or "(unknown)", Counter())[status or "(none)"] += n
    return sorted((DomainBlocks(domain, sum(counts.values()), dict(counts.most_common(STATUSES_SHOWN)))
                   for domain, counts in statuses.items()), key=lambda d: (-d.blocks, d.domain))
