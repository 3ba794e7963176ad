"""Proof of work for a submission over a rate limit, in ALTCHA's scheme, checked without state.

The challenge is SHA-256(salt + number) for a secret random number up to `max_number`; the
browser finds the number by trying them (static/challenge.js), about half of them on average.
The salt carries its expiry and ends with a delimiter, so digits cannot move between the expiry
and the number; the server signs the challenge with a key of its own, so it remembers nothing
until a solution comes back. Only the memory of used solutions (Guard.redeem) is kept, until
each one's expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SOLUTION_FIELD = "_pow"
ALGORITHM = "SHA-256"
KEY_SALT = b"listserver.proof-of-work.v1"  # derives this purpose's key from the secret key
LIFETIME_SECONDS = 30 * 60  # a person may read the one-more-step page a while before pressing


@dataclass(frozen=True)
class Challenge:
    """What the browser is asked: the number behind `challenge`, with our signature of it."""

    salt: str
    challenge: str
    signature: str
    max_number: int

    def as_json(self) -> dict:
        """ALTCHA's field names, for the browser."""
        return {"algorithm": ALGORITHM, "challenge": self.challenge, "salt": self.salt,
                "signature": self.signature, "maxnumber": self.max_number}


@dataclass(frozen=True)
class Solved:
    """A solution that checks out: `nonce` names it for the memory of used ones."""

    nonce: str
    expires: int


class ProofOfWork:
    """Makes challenges and checks their solutions, with a key derived from the secret key."""

    def __init__(self, secret_key: str, max_number: int):
        self.key = hmac.new(secret_key.encode(), KEY_SALT, hashlib.sha256).digest()
        self.max_number = max_number

    def issue(self, now: float | None = None) -> Challenge:
        """A new challenge, valid for LIFETIME_SECONDS."""
        expires = int((now or time.time()) + LIFETIME_SECONDS)
        salt = f"{secrets.token_hex(12)}.{expires}."
        number = secrets.randbelow(self.max_number + 1)
        challenge = hashlib.sha256(f"{salt}{number}".encode()).hexdigest()
        return Challenge(salt, challenge, self._sign(challenge), self.max_number)

    def check(self, solution: object, now: float | None = None) -> Solved | None:
        """The solution's nonce and expiry if it answers a challenge of ours that is still valid."""
        if not isinstance(solution, str) or len(solution) > 200:
            return None
        parts = solution.split(".")
        if len(parts) != 4 or not all(part.isascii() and part.isalnum() for part in parts):
            return None
        nonce, expires, number, signature = parts
        if not (expires.isdigit() and number.isdigit()) or int(expires) < (now or time.time()):
            return None
        challenge = hashlib.sha256(f"{nonce}.{expires}.{number}".encode()).hexdigest()
        if not hmac.compare_digest(self._sign(challenge), signature):
            return None
        return Solved(nonce, int(expires))

    def _sign(self, challenge: str) -> str:
        return hmac.new(self.key, challenge.encode(), hashlib.sha256).hexdigest()

