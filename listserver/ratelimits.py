"""Rate limits: fixed-window counters in Redis in production, in memory when embedded.

A limit may have several windows ("30/minute;500/day"); one hit counts against all of them in a
single round trip to Redis. When the store cannot be reached the request is let through: a
rate-limit outage must not lose sign-ups.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

import redis
from flask import Flask, abort, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

KEY_PREFIX = "LIMITS:"  # the prefix of the `limits` library, so keys look as they always did

# Counts one hit in each window in turn and stops at the first that is full, as separate checks
# would; 1 if every window had room. A window starts with its first hit and expires with it.
_HIT_WINDOWS = """
for i, key in ipairs(KEYS) do
    local count = redis.call('incr', key)
    if count == 1 then redis.call('expire', key, ARGV[2 * i - 1]) end
    if count > tonumber(ARGV[2 * i]) then return 0 end
end
return 1
"""


class RateLimits:
    """The counters of one app: Redis when a URL is given, else this process's memory."""

    def __init__(self, redis_url: str = ""):
        self._script = self._memory = None
        if redis_url:
            client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
            self._script = client.register_script(_HIT_WINDOWS)
        else:
            self._memory = FixedWindowRateLimiter(MemoryStorage())

    def hit(self, windows: Sequence[RateLimitItem], *identity: str) -> bool:
        """Count one request of `identity` against every window; False if one was already full."""
        try:
            if self._script is None:
                return all(self._memory.hit(window, *identity) for window in windows)
            keys = [KEY_PREFIX + window.key_for(*identity) for window in windows]
            args = [n for window in windows for n in (window.get_expiry(), window.amount)]
            return self._script(keys=keys, args=args) == 1
        except Exception as exc:  # noqa: BLE001 - a rate-limit store outage must not lose sign-ups
            log.warning("rate limit store unavailable (%s); allowing the request", type(exc).__name__)
            return True


class RouteLimiter:
    """Per-client limits on single views, checked only when such a view is called:

        @limiter.limit("5/hour", methods=["POST"])
    """

    def init_app(self, app: Flask) -> None:
        app.extensions["listserver.ratelimits"] = RateLimits(app.config["SETTINGS"].redis_url)

    def limit(self, value: str, *, methods: Sequence[str] | None = None) -> Callable:
        windows = parse_many(value)

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def limited(*args, **kwargs):
                if methods is None or request.method in methods:
                    limits = current_app.extensions["listserver.ratelimits"]
                    if not limits.hit(windows, "route", request.endpoint or view.__name__,
                                      request.remote_addr or "-"):
                        abort(429)
                return view(*args, **kwargs)

            return limited

        return decorator
