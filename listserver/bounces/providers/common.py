"""What every provider's hook shares: the request as it came, the events it carries, and checks on both."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from listserver.bounces.providers.fetcher import Fetcher
from listserver.errors import Invalid, Unauthenticated
from listserver.settings import Settings

# A signed timestamp further than this from our clock is refused: a captured request cannot be
# sent again later, and providers sign each attempt (SNS signs once, and retries within a minute).
MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Hook:
    """One webhook request as the provider sent it, and what checking it needs.

    `headers` is looked up case-insensitively (werkzeug's Headers); `body` is the exact bytes the
    signature covers. `first_use(key, digest)` tells whether a signing token is new, or was used
    before for the same body (replay protection, for providers whose signature does not cover it).
    """

    headers: Mapping[str, str]
    body: bytes
    settings: Settings
    now: float  # seconds since the epoch
    fetcher: Fetcher
    first_use: Callable[[str, str], bool]


@dataclass(frozen=True)
class RawEvent:
    """One provider event as it is stored: `external_id` is what the provider's retry of it carries again."""

    external_id: str
    raw: str


def fresh(signed_at: object, now: float) -> None:
    """Refuse a signed time (seconds since the epoch) that is not within MAX_AGE_SECONDS of now."""
    try:
        moment = float(signed_at)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Unauthenticated("the signed time is missing or not a number") from None
    if not math.isfinite(moment) or abs(now - moment) > MAX_AGE_SECONDS:
        raise Unauthenticated("the signed time is more than five minutes away from now")


def document(body: bytes) -> Any:
    """The JSON document of a body; Invalid if it is not one."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid("the body is not a JSON document", code="invalid_json") from None


def digest(data: bytes | str) -> str:
    """A name for content without an id of its own: a retry of the same bytes gets the same name."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def text(value: object, limit: int = 1000) -> str:
    """A field as text, whatever type the provider sent (providers' documents are not schemas)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:limit]


def mapping(value: object) -> dict:
    """A field that should be an object: itself, or an empty one."""
    return value if isinstance(value, dict) else {}


def moment(value: object) -> dt.datetime | None:
    """An ISO 8601 time or seconds since the epoch, in UTC; None if it is neither."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str) and value:
            found = dt.datetime.fromisoformat(value)
            return found.astimezone(dt.UTC) if found.tzinfo else found.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def reference(return_path: object, message_id: object) -> str | None:
    """What ties a report to our email: the return path when it is our VERP address, else the Message-ID."""
    path = text(return_path)
    if "bounces+" in path.lower():
        return path
    return text(message_id) or None
