"""Addresses and links masked: what a console user without access to personal data sees instead, and how
a person's own pages name their address."""

from __future__ import annotations

import re

# Links in our emails carry signed tokens that confirm, change preferences, export or erase;
# anyone holding one acts as the person. A viewer gets none of them; rather than tell token
# links from harmless ones, every link is hidden.
LINK_PLACEHOLDER = "[link hidden]"
_LINK = re.compile(r"""(?:https?|mailto):[^\s<>"'`]+""", re.IGNORECASE)
_ADDRESS = re.compile(r"""[^\s<>"'`(),;:@\[\]]+@[^\s<>"'`(),;:@\[\]]+\.[^\s<>"'`(),;:@\[\]]+""")


def mask_address(address: str) -> str:
    """`anna@gmail.com` as `an***@g***.com`: enough to tell rows apart, not to write to anyone."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}***@{domain[:1]}***" + (f".{tld}" if tld else "")


def mask_local_part(address: str) -> str:
    """`anna@example.com` as `a•••@example.com`, on pages opened from a personal link: the person knows
    their domain, while a forwarded email's reader learns little."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}{'•' * min(max(len(local) - 1, 2), 6)}@{domain}"


def redact(text: str) -> str:
    """The text with every link replaced by a placeholder and every address masked."""
    text = _LINK.sub(LINK_PLACEHOLDER, text)
    return _ADDRESS.sub(lambda match: mask_address(match.group(0)), text)
