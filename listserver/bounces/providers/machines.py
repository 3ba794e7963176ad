"""Opens and clicks made by machines, not people: stored as such, never counted as engagement.

Apple Mail Privacy Protection fetches every image of every email as it arrives, through a proxy
that sends the bare user agent "Mozilla/5.0". Mail security gateways and link checkers follow
links before anyone reads them, with user agents of their own. A provider that tells these apart
(SendGrid's sg_machine_open, Mailgun's client-info.bot) is believed first; this reads the rest.
Gmail's and Yahoo's image proxies fetch when the reader opens the email: those are people.
"""

from __future__ import annotations

import re

APPLE_PRIVACY_PROXY = "Mozilla/5.0"

_MACHINES = re.compile(
    r"bot\b|crawler|spider|scanner|python-|curl/|wget/|go-http-client|java/|okhttp|libwww|httpclient|axios/"
    r"|node-fetch|headless|phantomjs|bingpreview|existence discovery|barracuda|mimecast|proofpoint|urldefense"
    r"|symantec|messagelabs|trend ?micro|forti(net|guard)|sophos|ironport|zscaler|forcepoint|appriver",
    re.IGNORECASE)


def by_machine(user_agent: str | None) -> bool:
    """Whether an open or a click came from a machine, by its user agent (None: not reported, a person)."""
    if user_agent is None:
        return False
    agent = user_agent.strip()
    return agent in ("", APPLE_PRIVACY_PROXY) or _MACHINES.search(agent) is not None
