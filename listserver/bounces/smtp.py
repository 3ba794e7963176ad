"""Our own sends refused by the receiving server: the refusal as stored (ReportSource.SMTP) and its reader."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from listserver.bounces.classify import classify, read_status
from listserver.bounces.reports import Report


@dataclass(frozen=True)
class Refusal:
    """A receiving server's no to one recipient, at RCPT or after DATA, as its reply said it."""

    stage: str  # "RCPT" or "DATA"
    code: int
    reply: str
    recipient: str


def record(refusal: Refusal, return_path: str, at: dt.datetime) -> str:
    """The raw report of a refusal: the reply, and the return path that names our email."""
    return json.dumps({**asdict(refusal), "return_path": return_path, "at": at.isoformat()})


def read(raw: str) -> list[Report]:
    """What a stored refusal says: the classifier reads the reply as it reads any bounce."""
    data = json.loads(raw)
    status, reply = str(data["code"]), data["reply"]
    return [Report(classify(status, reply), recipient=data["recipient"], status=read_status(status, reply),
                   reason=f"{status} {reply}", message_ref=data["return_path"],
                   occurred_at=dt.datetime.fromisoformat(data["at"]))]
