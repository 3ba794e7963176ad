"""The signing tokens the hooks have seen: a token signs the body it first came with, and no other.

Mailgun signs a timestamp and a token, not the event: without this, one captured request would
let anyone post any event for five minutes. Kept in Redis when configured (every web process
sees it), else, and while Redis fails, in this process.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from listserver.breaker import Breaker
from listserver.bounces.providers.common import MAX_AGE_SECONDS

log = logging.getLogger(__name__)

# A token is refused by its timestamp once it is older than MAX_AGE_SECONDS (either way of our clock).
KEEP_SECONDS = 2 * MAX_AGE_SECONDS
LOCAL_LIMIT = 100_000


class TokenMemory:
    def __init__(self, redis_url: str, retry_seconds: float):
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5) \
            if redis_url else None
        self.breaker = Breaker(retry_seconds)
        self.local: dict[str, tuple[str, float]] = {}  # token -> (digest of its body, when first seen)
        self.lock = threading.Lock()

    def first_use(self, token: str, digest: str) -> bool:
        """True if `token` is new, or came before with this same body (a retry); False if with another."""
        if self.redis is not None and not self.breaker.open:
            key = f"listserver/hook-token/{token}"
            try:
                if self.redis.set(key, digest, nx=True, ex=KEEP_SECONDS):
                    return True
                return self.redis.get(key) == digest.encode()
            except redis.RedisError as exc:
                self.breaker.trip()
                log.warning("hook token memory: Redis unavailable (%s); remembering in this process for %g s",
                            type(exc).__name__, self.breaker.cool_down)
        return self._first_use_here(token, digest)

    def _first_use_here(self, token: str, digest: str) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.local:  # oldest first: drop what no timestamp check would let through any more
                oldest = next(iter(self.local))
                if now - self.local[oldest][1] < KEEP_SECONDS and len(self.local) < LOCAL_LIMIT:
                    break
                del self.local[oldest]
            seen = self.local.setdefault(token, (digest, now))
        return seen[0] == digest
