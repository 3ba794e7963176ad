"""Bot defences for public forms: signed render stamps, a honeypot, rate limits, proof of work.

Only a certain sign of a bot (a filled honeypot) drops a submission silently. A doubtful one (a
stamp too young, too old or not ours; a network or address over its limit) is asked for a second
step that a person passes without thinking: the views decide which (public._second_step).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from listserver.breaker import Breaker
from listserver.capture.challenge import SOLUTION_FIELD, Challenge, ProofOfWork
from listserver.settings import Settings
from listserver.tokens import Key, Purpose, Signer, TokenExpired, TokenInvalid

log = logging.getLogger(__name__)

HONEYPOT_FIELD = "_hp"
STAMP_FIELD = "_ts"


class Verdict(enum.StrEnum):
    HUMAN = "human"
    HONEYPOT = "honeypot"
    TOO_FAST = "too_fast"
    TOO_OLD = "too_old"
    UNSTAMPED = "unstamped"  # no stamp field at all: a plain HTML form on another site (or a bot)
    NO_STAMP = "no_stamp"  # a stamp that is not ours, or for another form
    RATE_LIMITED = "rate_limited"
    SOLVED = "solved"  # over a limit, or not, with a challenge answered: this one submission goes through
    UNSOLVED = "unsolved"  # an answer to a challenge that is wrong, expired or used before


DOUBTFUL_STAMPS = frozenset({Verdict.TOO_FAST, Verdict.TOO_OLD, Verdict.UNSTAMPED, Verdict.NO_STAMP})
CHALLENGED = frozenset({Verdict.RATE_LIMITED, Verdict.UNSOLVED})


class Tally(enum.StrEnum):
    """What the console counts, per day, of the submissions the defences did not simply take."""

    DROPPED = "dropped"  # a certain bot: answered like a person, nothing kept or sent
    SECOND_STEP = "second_step"  # a doubtful stamp: the form again (or the embed resends by itself)
    CHALLENGED = "challenged"  # over a limit: proof of work asked
    PASSED = "passed"  # a challenge answered
    FAILED = "failed"  # a challenge answered wrongly, too late, or a second time


TALLY_DAYS = 7


class Guard:
    """Decides whether a submission looks human; shared by the hosted form and the API."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.signer = Signer(settings)
        self.limiter: FixedWindowRateLimiter | None = None  # connected on first use (_using_store)
        self.breaker = Breaker(settings.redis_retry_seconds)  # the only use of Redis in a request
        self.ip_limits = parse_many(settings.ratelimit_ip)
        self.address_limits = parse_many(settings.ratelimit_address)
        self.proof_of_work = ProofOfWork(settings.secret_keys[0], settings.challenge_max_number)

    def stamp(self, slug: str) -> str:
        """A token proving when the form was rendered, and for which form."""
        # The signature's timestamp has whole seconds; with the milliseconds a submission 1.2 s
        # after the render is not taken for 2 s old (up to a second too old without them).
        return self.signer.sign(Purpose.FORM_RENDER, {Key.FORM: slug, Key.MILLISECONDS: int(time.time() % 1 * 1000)})

    def check(self, slug: str, answers: dict, ip: str | None) -> Verdict:
        if answers.get(HONEYPOT_FIELD):
            return Verdict.HONEYPOT
        if STAMP_FIELD not in answers:
            return Verdict.UNSTAMPED
        token = answers.get(STAMP_FIELD)
        if not isinstance(token, str) or not token:
            return Verdict.NO_STAMP
        try:
            payload, age = self.signer.load_with_age(Purpose.FORM_RENDER, token)
        except TokenExpired:
            return Verdict.TOO_OLD
        except TokenInvalid:
            return Verdict.NO_STAMP
        if payload.get(Key.FORM) != slug:
            return Verdict.NO_STAMP
        if isinstance(ms := payload.get(Key.MILLISECONDS), int):
            age -= ms / 1000
        if age < self.settings.form_min_seconds:
            return Verdict.TOO_FAST
        if solution := answers.get(SOLUTION_FIELD):  # only a submission sent again after a challenge
            return Verdict.SOLVED if self.redeem(solution) else Verdict.UNSOLVED
        if ip and not self._hit(self.ip_limits, "ip", ip):
            return Verdict.RATE_LIMITED
        return Verdict.HUMAN

    def allow_address(self, email_key: str) -> bool:
        return self._hit(self.address_limits, "address", email_key)

    def challenge(self) -> Challenge:
        """Work for the visitor's browser, about a second's on a phone."""
        return self.proof_of_work.issue()

    def redeem(self, solution: object) -> bool:
        """Whether `solution` answers one of our challenges, and for the first time."""
        solved = self.proof_of_work.check(solution)
        if solved is None:
            return False
        ttl = max(1, int(solved.expires - time.time()) + 1)  # remembered until the challenge expires anyway
        return self._using_store(lambda store: store.incr(f"listserver/pow/{solved.nonce}", ttl) == 1,
                                 otherwise=True)

    def count(self, tally: Tally) -> None:
        """One more of `tally` today (in Redis when configured, else in this process's memory)."""
        key = _tally_key(dt.datetime.now(dt.UTC).date(), tally)
        self._using_store(lambda store: store.incr(key, (TALLY_DAYS + 1) * 86400), otherwise=None)

    def tallies(self) -> dict[Tally, tuple[int, int]]:
        """Each tally's count today and over the last TALLY_DAYS days (UTC); zeros when unknown."""
        today = dt.datetime.now(dt.UTC).date()
        days = [today - dt.timedelta(days=n) for n in range(TALLY_DAYS)]
        counts = self._using_store(
            lambda store: {tally: [store.get(_tally_key(day, tally)) for day in days] for tally in Tally},
            otherwise=None) or {tally: [0] for tally in Tally}
        return {tally: (per_day[0], sum(per_day)) for tally, per_day in counts.items()}

    def _hit(self, items, scope: str, identity: str) -> bool:
        return self._using_store(
            lambda store: all(self.limiter.hit(item, "listserver", scope, identity) for item in items), otherwise=True)

    def _using_store(self, use, *, otherwise):
        """`use(store)`, or `otherwise` while the store is failing: an outage must not lose sign-ups."""
        if self.breaker.open:  # the store failed a moment ago: without waiting on it again
            return otherwise
        try:
            self.limiter = self.limiter or FixedWindowRateLimiter(self._storage())
            return use(self.limiter.storage)
        except Exception as exc:  # noqa: BLE001
            self.breaker.trip()
            log.warning("rate limit store unavailable (%s); allowing requests for %g s", type(exc).__name__,
                        self.breaker.cool_down)
            return otherwise

    def _storage(self):
        if not self.settings.redis_url:
            return storage_from_string("memory://")
        # One connection, no pool: a worker makes its checks one after another, and a pool's
        # check-out (a lock, a poll of the socket) costs about as much as the INCR itself. The
        # connection is made here, so an outage at start-up is met in _using_store like any other.
        return storage_from_string(self.settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5,
                                   single_connection_client=True)


def _tally_key(day: dt.date, tally: Tally) -> str:
    return f"listserver/bots/{day.isoformat()}/{tally.value}"
