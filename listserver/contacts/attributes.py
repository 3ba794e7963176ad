"""A contact's profile answers and where each came from, written together.

Every answer in `attributes` has its provenance in `attribute_sources` (which form version or the
preference center, and when); the data-quality marks follow the name answers. Forms (sign-up and
progressive profiling) and the preference center decide what to write; this is how it is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from listserver.forms import quality
from listserver.forms.definition import FieldSpec
from listserver.models import ConsentMethod


@dataclass(frozen=True)
class Answers:
    attributes: dict
    sources: dict
    quality_flags: list


def form_sources(asked: list[FieldSpec], values: Mapping[str, object], version_id: int, now: dt.datetime) -> dict:
    """Where each answer came from; a question left blank is noted too, so it is not asked again."""
    at = now.isoformat()
    return {spec.key: {"form_version_id": version_id, "at": at} if spec.key in values else
            {"form_version_id": version_id, "at": at, "skipped": True}
            for spec in asked if spec.key != "email"}


def preference_center_sources(keys: Iterable[str], now: dt.datetime) -> dict:
    """The person changed these answers themselves, in the preference center."""
    at = now.isoformat()
    return {key: {"source": ConsentMethod.PREFERENCE_CENTER, "at": at} for key in keys}


def merged(current: Answers, written: Mapping[str, object], noted: Mapping[str, dict], *,
          cleared: Collection[str] = (), name_keys: Collection[str] = ()) -> Answers:
    """`current` with answers written and cleared, and the provenance `noted`; the data-quality marks
    are worked out again when a name (`name_keys`) is among the answers written or cleared."""
    attributes = {k: v for k, v in {**current.attributes, **written}.items() if k not in cleared}
    changed = set(written) | set(cleared)
    flags = (quality.name_flags(current.quality_flags, attributes, name_keys) if changed & set(name_keys)
             else current.quality_flags)
    return Answers(attributes, {**current.sources, **noted}, flags)
