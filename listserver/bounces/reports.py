"""What a parser makes of one report: the shape every input (provider, bounce mail, SMTP reply) shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from listserver.models import ReportKind


@dataclass(frozen=True)
class Report:
    """One finding about one email to one recipient.

    `recipient` is the address as the report gives it; `message_ref` is what ties it to our outbox
    message when the report carries it (the VERP token of the return path, or our Message-ID).
    `status` is an RFC 3463 code ("5.1.1") where there is one, else the SMTP reply code ("550").
    `reason` is the diagnostic text, short. `machine` marks an open or click made by a machine
    (Apple Mail Privacy Protection, a link scanner): stored, never counted as engagement.
    """

    kind: ReportKind
    recipient: str | None = None
    status: str | None = None
    reason: str = ""
    message_ref: str | None = None
    occurred_at: dt.datetime | None = None
    machine: bool = False
