"""Mail providers' webhooks: one module per provider, each with the same four names.

`SOURCE` (its ReportSource), `configured(settings)` (off until its secret is set),
`accept(hook) -> list[RawEvent]` (checks the request is the provider's, raises Unauthenticated
or Invalid, and splits it into events to store) and `read(raw) -> list[Report]` (what one stored
event says, for processing).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from listserver.bounces.providers import generic, mailgun, postmark, sendgrid, ses
from listserver.bounces.reports import Report
from listserver.models import ReportSource

# By the name in the hook's address: /hooks/<name>.
PROVIDERS: dict[str, ModuleType] = {
    "ses": ses, "postmark": postmark, "mailgun": mailgun, "sendgrid": sendgrid, "generic": generic}

READERS: dict[ReportSource, Callable[[str], list[Report]]] = {
    provider.SOURCE: provider.read for provider in PROVIDERS.values()}
