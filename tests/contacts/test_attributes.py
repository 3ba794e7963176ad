"""Profile answers and their provenance, as forms and the preference center store them."""

from __future__ import annotations

import datetime as dt

from listserver.contacts.attributes import Answers, form_sources, merged, preference_center_sources
from listserver.forms.definition import FieldSpec

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc)
EARLIER = {"source": "preference_center", "at": "2026-11-01T08:00:00+00:00"}


def spec(key: str) -> FieldSpec:
    return FieldSpec(key=key, type="text", labels={}, help={})


def test_a_question_left_blank_is_noted_so_it_is_not_asked_again_and_the_address_never_is():
    sources = form_sources([spec("email"), spec("first_name"), spec("company")], {"first_name": "Pia"}, 7, NOW)
    assert sources == {"first_name": {"form_version_id": 7, "at": "2026-12-01T09:30:00+00:00"},
                       "company": {"form_version_id": 7, "at": "2026-12-01T09:30:00+00:00", "skipped": True}}


def test_answers_written_and_cleared_carry_where_they_came_from_and_others_keep_theirs():
    current = Answers({"first_name": "Pia", "company": "Acme", "city": "Graz"},
                      {"first_name": EARLIER, "company": EARLIER, "city": EARLIER}, [])
    saved = merged(current, {"first_name": "Pina", "role": "buyer"}, preference_center_sources(
        ["first_name", "role", "company"], NOW), cleared=["company"])
    assert saved.attributes == {"first_name": "Pina", "city": "Graz", "role": "buyer"}
    mine = {"source": "preference_center", "at": "2026-12-01T09:30:00+00:00"}
    assert saved.sources == {"first_name": mine, "company": mine, "city": EARLIER, "role": mine}
    assert current.attributes["first_name"] == "Pia"  # the stored answers are replaced, never changed in place


def test_the_fake_name_mark_follows_the_names_written_only():
    marked = Answers({"first_name": "asdf"}, {"first_name": EARLIER}, ["fake_name"])
    assert merged(marked, {"company": "Acme"}, {}, name_keys=["first_name"]).quality_flags == ["fake_name"]
    assert merged(marked, {"first_name": "Pia"}, {}, name_keys=["first_name"]).quality_flags == []
    assert merged(Answers({}, {}, []), {"first_name": "asdf"}, {}, name_keys=["first_name"]).quality_flags == [
        "fake_name"]
