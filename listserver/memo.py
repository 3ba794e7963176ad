"""What a process works out once and keeps: a bounded number of entries, the oldest out first."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

_MISSING = object()


class Memo:
    def __init__(self, size: int = 256):
        self.size, self.entries = size, {}

    def get(self, key: Hashable, default: Any = None) -> Any:
        return self.entries.get(key, default)

    def put(self, key: Hashable, value: Any) -> Any:
        if key not in self.entries and len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        found = self.entries.get(key, _MISSING)
        return self.put(key, make()) if found is _MISSING else found

    def clear(self) -> None:
        self.entries.clear()
