"""A circuit breaker for Redis on the request path: after a failure, stop waiting on it for a while.

A Redis that stops answering costs every request its socket timeout, and a few sync workers
each waiting seconds per submission is the whole site down. A sign-up can do without Redis for
a while (its rate limits allow it; its email waits in the outbox for the relay, which never runs
in a request), so after one failure the request path skips Redis for `cool_down` seconds, then
tries it again.
"""

from __future__ import annotations

import time


class Breaker:
    def __init__(self, cool_down: float):
        self.cool_down = cool_down
        self._open_until = 0.0

    @property
    def open(self) -> bool:
        """True while the service is skipped, after a recent failure."""
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cool_down

