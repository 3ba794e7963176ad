"""Values as people and programs send them: read strictly, the same way in a spec, a form and a query."""

from __future__ import annotations


def whole_number(text: object) -> int | None:
    """A count or an id sent as ASCII digits; None for anything else."""
    # str.isdigit() admits "²" and "٣", which int() refuses or reads, and int() refuses 5,000 digits.
    if isinstance(text, str) and 0 < len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return None
