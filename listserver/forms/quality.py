"""Data-quality marks on what visitors typed, for the marketer to filter on: never a refusal.

A real person may well be called Test or Bar, so a likely fake name is kept as typed and only
marked; the mark follows the stored names (it goes when the person corrects them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from listserver.forms.definition import FieldSpec

FAKE_NAME = "fake_name"

# Words people type to get past a name question. Not "Na", "No", "Bar", "Mario", "Yoda": those
# are real people's names (Korean, Hebrew, Italian, Japanese).
_PLACEHOLDERS = frozenset("""
    test tester testing asdf asdfg qwerty qwertz azerty foo foobar xxx xyz abc abcd
    none null nil nobody noone anonymous anon fake dummy sample example user admin blah lorem ipsum
    name firstname lastname surname unknown nope nothing
""".split())
# Cartoon, film and book characters people hide behind.
_CHARACTERS = frozenset("""
    mickey mouse|minnie mouse|donald duck|daffy duck|bugs bunny|john doe|jane doe|joe bloggs|max mustermann|
    erika mustermann|jan kowalski|homer simpson|bart simpson|harry potter|darth vader|luke skywalker|
    james bond|sherlock holmes|santa claus|peter pan|spider man|bruce wayne|clark kent|tony stark|
    batman|superman|spiderman|pikachu
""".replace("\n", "").replace("  ", "").split("|"))
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "yxcvbnm", "azertyuiop", "qsdfghjklm",
                  "wxcvbn", "1234567890", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")


def _words(text: str) -> list[str]:
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))
    for mark in "-'’.·":
        folded = folded.replace(mark, " ")
    return folded.split()


def _keyboard_run(word: str) -> bool:
    """Four or more keys side by side on one keyboard row (asdf, qwerty, lkjh)."""
    return len(word) >= 4 and any(word in row or word in row[::-1] for row in _KEYBOARD_ROWS)


def looks_fake(names: Iterable[str]) -> bool:
    """Whether these names (first, last…) together look made up rather than someone's."""
    words = [word for name in names for word in _words(name)]
    if not words:
        return False
    if " ".join(words) in _CHARACTERS or any(word in _CHARACTERS for word in words):
        return True
    if any(word in _PLACEHOLDERS or _keyboard_run(word) for word in words):
        return True
    if len(words) > 1 and len(set(words)) == 1:
        return True  # test test, John John
    # aaa, xxxx: one letter held down (a two-letter name like "Ng" or "Oo" is real)
    return any(len(word) >= 3 and len(set(word)) == 1 for word in words)


def name_keys(specs: Iterable[FieldSpec]) -> list[str]:
    """The name questions among these, in form order: what a fake-name mark is judged on."""
    return [spec.key for spec in specs if spec.type == "name"]


def name_flags(flags: Iterable[str], attributes: Mapping[str, object], name_keys: Iterable[str]) -> list[str]:
    """`flags` with the fake-name mark set or cleared for the names now stored in `attributes`."""
    names = [value for key in name_keys if isinstance(value := attributes.get(key), str)]
    kept = [flag for flag in flags if flag != FAKE_NAME]
    return kept + [FAKE_NAME] if looks_fake(names) else kept
